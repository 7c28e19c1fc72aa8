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

TEST(Layering, MRIToolsAndRawDataInputStayBelowTheFiltersAndTheTools)
{
  // Data flow one way (DESIGN.md): engine -> operators -> MRI tools -> ITK filters / raw-data
  // input -> applications. The library's layers include nothing from the tools, none of them
  // the ITK filters, and the MRI tools nothing of the raw-data input.
  const std::regex tools(R"(#\s*include\s*[<"](dapsmriAppUtilities|dapsmri[A-Za-z]*\.xml)\.h)");
  const std::regex filters(R"(#\s*include\s*[<"]itk(DAPS|MRIDAPS)[A-Za-z]*\.h)");
  const std::regex input(R"(#\s*include\s*[<"](dapsmriISMRMRD|dapsmriImageIO|dapsmriIsolatedReader|dapsmriOutputFile|dapsmriRawDataImages|ismrmrd/|hdf5))");
  for (const char * dir : { "src/engine", "src/operators", "src/mri", "src/io" })
  {
    for (const auto * rule : { &tools, &filters })
    {
      const auto offenders = FilesIncluding(fs::path(DAPSMRI_SOURCE_DIR) / dir, *rule);
      EXPECT_TRUE(offenders.empty()) << offenders.front();
    }
  }
  const auto offenders = FilesIncluding(fs::path(DAPSMRI_SOURCE_DIR) / "src/mri", input);
  EXPECT_TRUE(offenders.empty()) << offenders.front();
}

TEST(Layering, TheToolsReadAndWriteThroughTheLibrary)
{
  // The IO and geometry C++ users need live in the library, not in apps/: no tool defines its own
  // multi-coil reader, mask factory or volume geometry.
  // (A definition starts its line with the function's name, in the project's format.)
  const std::regex owned(
    R"(^(ReadMultiCoil|WriteMultiCoil|ReadMask|ReadScalarImage|MakeMask|UndersamplingMask|CheckStackable|MakeVolume|AllocateVolume)\s*\()");
  const auto       offenders = FilesIncluding(fs::path(DAPSMRI_SOURCE_DIR) / "apps", owned);
  EXPECT_TRUE(offenders.empty()) << offenders.front();
}

TEST(Layering, ThePythonModuleUsesThePlainFacade)
{
  // The pybind11 module sees only the torch-free, ITK-free headers (dapsmriReconstruction.h,
  // dapsmriRawDataReconstruction.h, ...), none of the headers behind them.
  const std::regex heavy(R"(#\s*include\s*[<"](itk|torch/|ATen/|c10/|cuda|cufft|fftw3|dapsmriRawDataImages|dapsmriImageIO))");
  const auto       offenders = FilesIncluding(fs::path(DAPSMRI_SOURCE_DIR) / "bindings", heavy);
  EXPECT_TRUE(offenders.empty()) << offenders.front();
}
