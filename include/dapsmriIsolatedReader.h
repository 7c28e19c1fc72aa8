#ifndef dapsmriIsolatedReader_h
#define dapsmriIsolatedReader_h

// Untrusted files are parsed by libraries (HDF5, ITK's image readers) that crash or loop forever
// on some corrupt inputs, which no check made beforehand can rule out (found by fuzzing).
// IsolatedReader runs such parsing in a child process that sends what it read through a pipe;
// this process only receives bytes, with a limit on how long the child may make no progress,
// and turns a crash or a stall of the child into an error message.
#include "DAPSMRIExport.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace dapsmri
{

class DAPSMRI_EXPORT IsolatedReader
{
public:
  /** The child's end: Send() what was read, in the order the parent receives it. */
  class Sender
  {
  public:
    explicit Sender(int fd)
      : m_Fd(fd)
    {}
    /** Sends `size` bytes; throws (ending the child) when the parent has gone. */
    void Send(const void * data, uint64_t size) const;

  private:
    int m_Fd;
  };

  /** Starts `serve` in a child process. An exception thrown there reaches Receive() in this
   * process as std::invalid_argument with the same message. `stallSeconds` <= 0: 10 s plus 1 s
   * per 20 MB of `file`. */
  IsolatedReader(const std::string & file, double stallSeconds, const std::function<void(const Sender &)> & serve);
  /** Stops the child if it still runs. */
  ~IsolatedReader();
  IsolatedReader(const IsolatedReader &) = delete;
  IsolatedReader & operator=(const IsolatedReader &) = delete;

  /** Receives the next `size` bytes the child sent. Throws std::invalid_argument with the
   * child's error message, or naming the file as corrupt when the child crashed, stopped early
   * or made no progress for the stall limit. */
  void Receive(void * data, uint64_t size);

  /** What the child is reading now, for the messages ("acquisition 3"). */
  void SetPlace(const std::string & place) { m_Place = place; }

  /** Stops the child and closes the pipe. */
  void Close();

private:
  [[noreturn]] void ChildFailed();
  void              ReadExactly(void * data, uint64_t size);

  std::string               m_File, m_Place;
  std::chrono::milliseconds m_Patience{ 10000 };
  int                       m_Pipe = -1;
  int                       m_Child = -1;
  uint64_t                  m_FrameLeft = 0; // bytes of the current data frame not yet received
};

} // namespace dapsmri

#endif
