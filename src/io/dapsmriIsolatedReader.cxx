#include "dapsmriIsolatedReader.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dapsmri
{

namespace
{
// Frames from the child: a tag, a u64 length, the bytes.
constexpr char DataFrame = 'D';
constexpr char ErrorFrame = 'E';

/** Writes everything; false once the reader has gone. */
bool
WriteAll(int fd, const void * data, uint64_t size)
{
  const auto * bytes = static_cast<const char *>(data);
  while (size > 0)
  {
    const ssize_t done = write(fd, bytes, size);
    if (done < 0 && errno == EINTR)
      continue;
    if (done <= 0)
      return false;
    bytes += done;
    size -= static_cast<uint64_t>(done);
  }
  return true;
}

bool
WriteFrame(int fd, char tag, const void * data, uint64_t size)
{
  return WriteAll(fd, &tag, 1) && WriteAll(fd, &size, sizeof size) && WriteAll(fd, data, size);
}

struct ParentGone
{};
} // namespace

void
IsolatedReader::Sender::Send(const void * data, uint64_t size) const
{
  if (!WriteFrame(m_Fd, DataFrame, data, size))
    throw ParentGone{};
}

IsolatedReader::IsolatedReader(const std::string & file, double stallSeconds,
                               const std::function<void(const Sender &)> & serve)
  : m_File(file)
{
  std::error_code error;
  const auto      bytes = std::filesystem::file_size(file, error);
  const double    seconds = stallSeconds > 0.0 ? stallSeconds : 10.0 + (error ? 0.0 : static_cast<double>(bytes) / 20e6);
  m_Patience = std::chrono::milliseconds(static_cast<int64_t>(1000.0 * seconds));
  int ends[2];
  if (pipe(ends) != 0)
    throw std::runtime_error("cannot read " + file + ": no pipe to a reading process (" + std::strerror(errno) + ")");
  std::fflush(nullptr);
  m_Child = fork();
  if (m_Child == 0)
  {
    close(ends[0]);
    try
    {
      serve(Sender(ends[1]));
    }
    catch (const std::exception & e) // itk::ExceptionObject too
    {
      const std::string message = e.what();
      WriteFrame(ends[1], ErrorFrame, message.data(), message.size());
    }
    catch (...)
    {
      // the parent has gone, or something unnamed: the parent reports that the reading stopped
    }
    _exit(0); // no destructors or exit handlers of the parent's state
  }
  close(ends[1]);
  m_Pipe = ends[0];
  if (m_Child < 0)
  {
    Close();
    throw std::runtime_error("cannot read " + file + ": no reading process (" + std::strerror(errno) + ")");
  }
}

IsolatedReader::~IsolatedReader()
{
  Close();
}

void
IsolatedReader::Close()
{
  if (m_Pipe >= 0)
    close(m_Pipe);
  m_Pipe = -1;
  if (m_Child > 0)
  {
    kill(m_Child, SIGKILL);
    while (waitpid(m_Child, nullptr, 0) < 0 && errno == EINTR)
    {
    }
  }
  m_Child = -1;
}

void
IsolatedReader::ReadExactly(void * data, uint64_t size)
{
  auto * bytes = static_cast<char *>(data);
  auto   giveUp = std::chrono::steady_clock::now() + m_Patience;
  while (size > 0)
  {
    if (m_Pipe < 0)
      throw std::invalid_argument(m_File + ": nothing more can be read from it (an earlier error)");
    pollfd    wait{ m_Pipe, POLLIN, 0 };
    const int ready = poll(&wait, 1, 100);
    if (ready > 0)
    {
      const ssize_t done = read(m_Pipe, bytes, size);
      if (done < 0 && errno == EINTR)
        continue;
      if (done <= 0)
        ChildFailed();
      bytes += done;
      size -= static_cast<uint64_t>(done);
      giveUp = std::chrono::steady_clock::now() + m_Patience;
    }
    else if (ready < 0 && errno != EINTR)
      ChildFailed();
    else if (std::chrono::steady_clock::now() > giveUp)
    {
      Close();
      throw std::invalid_argument(m_File + ": the file is corrupt (or the disk extremely slow): reading " +
                                  (m_Place.empty() ? std::string("it") : m_Place) + " made no progress for " +
                                  std::to_string((m_Patience.count() + 999) / 1000) + " s");
    }
  }
}

void
IsolatedReader::Receive(void * data, uint64_t size)
{
  auto * bytes = static_cast<char *>(data);
  while (size > 0)
  {
    if (m_FrameLeft == 0)
    {
      char tag = 0;
      ReadExactly(&tag, 1);
      uint64_t length = 0;
      ReadExactly(&length, sizeof length);
      if (tag == ErrorFrame)
      {
        std::string message(std::min<uint64_t>(length, 1u << 20), '\0');
        ReadExactly(message.data(), message.size());
        Close();
        throw std::invalid_argument(message);
      }
      if (tag != DataFrame)
      {
        Close();
        throw std::invalid_argument(m_File + ": the reading process sent garbage; the file is corrupt");
      }
      m_FrameLeft = length;
      continue;
    }
    const uint64_t part = std::min(size, m_FrameLeft);
    ReadExactly(bytes, part);
    bytes += part;
    size -= part;
    m_FrameLeft -= part;
  }
}

void
IsolatedReader::ChildFailed()
{
  if (m_Pipe >= 0)
    close(m_Pipe);
  m_Pipe = -1;
  int status = 0;
  while (m_Child > 0 && waitpid(m_Child, &status, 0) < 0 && errno == EINTR)
  {
  }
  m_Child = -1;
  const std::string where = m_Place.empty() ? std::string("it") : m_Place;
  if (WIFSIGNALED(status))
    throw std::invalid_argument(m_File + ": the file is corrupt: reading " + where +
                                " made the reading library crash (signal " + std::to_string(WTERMSIG(status)) + ")");
  throw std::invalid_argument(m_File + ": the file is corrupt: its reading process stopped while reading " + where);
}

} // namespace dapsmri
