#ifndef dapsmriAppUtilities_h
#define dapsmriAppUtilities_h

// Small pieces the command-line tools share: flag parsing, atomic image writing, a
// progress line, and a PNG montage for side-by-side comparisons.
#include "itkImage.h"
#include "itkImageFileWriter.h"

#include <complex>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace dapsmri::app
{

/** "--name value" flags and positional arguments; every flag must be declared. */
class Arguments
{
public:
  Arguments(int argc, char * argv[], const std::map<std::string, std::string> & defaults,
            const std::vector<std::string> & switches = {});
  std::string                      Get(const std::string & name) const;
  int                              Int(const std::string & name) const;
  double                           Double(const std::string & name) const;
  bool                             Has(const std::string & name) const;
  const std::vector<std::string> & Positional() const { return m_Positional; }

private:
  std::map<std::string, std::string> m_Values;
  std::map<std::string, bool>        m_Switches;
  std::vector<std::string>           m_Positional;
};

/** Throws std::invalid_argument unless `path` can be written as an image: its folder exists and
 * ITK knows the format from the extension. Call before a long computation. */
void CheckImageOutputPath(const std::string & path);

/** Writes through a temporary file in the same folder and renames it into place, so the output
 * is complete or absent. The temporary keeps the extension: ITK picks the format from it. */
template <typename TImage>
void
WriteImageAtomically(const TImage * image, const std::string & path)
{
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::string    name = target.filename().string();
  const auto     dot = name.find('.');
  const std::string stem = name.substr(0, dot), extension = dot == std::string::npos ? "" : name.substr(dot);
  const fs::path temporary = target.parent_path() / ("." + stem + ".partial" + extension);
  try
  {
    auto writer = itk::ImageFileWriter<TImage>::New();
    writer->SetInput(image);
    writer->SetFileName(temporary.string());
    writer->UseCompressionOn();
    writer->Update();
    fs::rename(temporary, target);
  }
  catch (...)
  {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
}

using MagnitudeImage = itk::Image<float, 2>;

/** |z| of a row-major [height][width] complex buffer as an ITK image. */
MagnitudeImage::Pointer Magnitude(const std::vector<std::complex<float>> & image, int64_t height, int64_t width);

/** Panels side by side as one 8-bit PNG, all on one grey scale: the 99.5th percentile of the
 * first panel maps to white, so intensities compare directly. */
void WriteMontagePNG(const std::vector<MagnitudeImage::Pointer> & panels, const std::string & path);

/** A one-line progress bar with the time left, redrawn in place on a terminal. */
class ProgressLine
{
public:
  explicit ProgressLine(std::string label);
  void Update(int done, int total);
  void Finish();

private:
  std::string m_Label;
  double      m_Start;
  bool        m_Terminal;
  int         m_LastPercent = -1;
};

} // namespace dapsmri::app

#endif
