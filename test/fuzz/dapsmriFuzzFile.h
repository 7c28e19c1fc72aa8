#ifndef dapsmriFuzzFile_h
#define dapsmriFuzzFile_h

// The file a fuzz target hands to a reader that takes a path: one per process, rewritten for
// every input, removed when the process ends.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace dapsmri::fuzz
{

class ScratchFile
{
public:
  explicit ScratchFile(const std::string & extension)
    : m_Path((std::filesystem::temp_directory_path() / ("dapsmri_fuzz_" + std::to_string(getpid()) + extension)).string())
  {}
  ~ScratchFile() { std::remove(m_Path.c_str()); }
  ScratchFile(const ScratchFile &) = delete;
  ScratchFile & operator=(const ScratchFile &) = delete;

  const std::string & Path() const { return m_Path; }

  void
  Write(const uint8_t * data, size_t size) const
  {
    std::ofstream(m_Path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char *>(data),
                                                                     static_cast<std::streamsize>(size));
  }

private:
  std::string m_Path;
};

} // namespace dapsmri::fuzz

#endif
