#ifndef dapsmriScratchPath_h
#define dapsmriScratchPath_h

// A path for files a test writes, deleted with everything under it when the object goes, so that
// repeated test runs leave nothing behind in the temporary folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

namespace dapsmri::testing
{

class ScratchPath
{
public:
  /** TempDir/STEM_PID.EXTENSION: the process id keeps CTest's parallel processes apart. */
  explicit ScratchPath(const std::string & stem, const std::string & extension = "")
    : m_Path(std::filesystem::path(::testing::TempDir()) / (stem + "_" + std::to_string(getpid()) + extension))
  {}
  ~ScratchPath()
  {
    std::error_code ignored;
    std::filesystem::remove_all(m_Path, ignored);
  }
  ScratchPath(const ScratchPath &) = delete;
  ScratchPath & operator=(const ScratchPath &) = delete;

  const std::filesystem::path &
  Path() const
  {
    return m_Path;
  }

private:
  std::filesystem::path m_Path;
};

} // namespace dapsmri::testing

#endif
