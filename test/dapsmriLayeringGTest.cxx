// The layering rules of the design, enforced: the engine knows nothing of ITK, and no
// public header pulls in LibTorch, CUDA or FFTW.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

namespace fs = std::filesystem;

namespace
{
std::vector<std::string>
FilesIncluding(const fs::path & dir, const std::regex & pattern)
{
  std::vector<std::string> offenders;
  for (const auto & entry : fs::recursive_directory_iterator(dir))
  {
    if (!entry.is_regular_file())
      continue;
    std::ifstream file(entry.path());
    std::string   line;
    while (std::getline(file, line))
    {
      if (std::regex_search(line, pattern))
      {
        offenders.push_back(entry.path().string() + ": " + line);
      }
    }
  }
  return offenders;
}
} // namespace

TEST(Layering, EngineAndOperatorsIncludeNoITK)
{
  const std::regex itk(R"(#\s*include\s*[<"]itk)");
  for (const char * dir : { "/src/engine", "/src/operators" })
  {
    const auto offenders = FilesIncluding(fs::path(DAPSMRI_SOURCE_DIR) / fs::path(dir).relative_path(), itk);
    EXPECT_TRUE(offenders.empty()) << offenders.front();
  }
}

TEST(Layering, PublicHeadersIncludeNoTorchCudaOrFFTW)
{
  const std::regex heavy(R"(#\s*include\s*[<"](torch/|ATen/|c10/|cuda|cufft|fftw3))");
  const auto       offenders = FilesIncluding(fs::path(DAPSMRI_SOURCE_DIR) / "include", heavy);
  EXPECT_TRUE(offenders.empty()) << offenders.front();
}
