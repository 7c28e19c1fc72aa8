#ifndef dapsmriAppUtilities_h
#define dapsmriAppUtilities_h

// Small pieces the command-line tools share: flag parsing, atomic image writing, a
// progress line, and a PNG montage for side-by-side comparisons.
#include "itkImage.h"
#include "itkMRIDAPSReconstructionImageFilter.h"
#include "itkImageFileWriter.h"
#include "itkVectorImage.h"
#include "dapsmriImageIO.h"

#include <complex>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace dapsmri::app
{

/** Runs a tool's body and turns every error into "name: message" on stderr and exit code 1. */
int Main(const char * name, const std::function<int()> & body);

/** "--name value" flags and positional arguments; every flag must be declared. */
class Arguments
{
public:
  Arguments(int argc, char * argv[], const std::map<std::string, std::string> & defaults,
            const std::vector<std::string> & switches = {});
  std::string                      Get(const std::string & name) const;
  int                              Int(const std::string & name) const;
  /** The integer value of `name`, refused with a message unless low <= value <= high. */
  int                              Int(const std::string & name, int low, int high) const;
  double                           Double(const std::string & name) const;
  bool                             Has(const std::string & name) const;
  /** Whether the flag was on the command line (rather than left at its default). */
  bool                             Given(const std::string & name) const { return m_Given.count(name) > 0; }
  const std::vector<std::string> & Positional() const { return m_Positional; }

private:
  std::map<std::string, std::string> m_Values;
  std::map<std::string, bool>        m_Switches;
  std::set<std::string>              m_Given;
  std::vector<std::string>           m_Positional;
};

using dapsmri::CheckImageOutputPath;
using dapsmri::CheckWrittenImage;
using dapsmri::Describe;
using dapsmri::ReadMask;
using dapsmri::ReadMultiCoil;
using dapsmri::ReadScalarImage;
using dapsmri::WriteImageAtomically;
using dapsmri::WriteImageToTemporary;
using dapsmri::WriteMultiCoil;
using MagnitudeImage = dapsmri::RealImage;
using dapsmri::MaskImage;
using dapsmri::MultiCoilImage;

/** |z| of a row-major [height][width] complex buffer as an ITK image. */
MagnitudeImage::Pointer Magnitude(const std::vector<std::complex<float>> & image, int64_t height, int64_t width);

/** Panels in a grid as one 8-bit PNG, all on one grey scale so intensities compare directly:
 * `white` maps to white, or, when it is 0, the 99.5th percentile of the first panel does.
 * `zoom` repeats every pixel zoom x zoom times (small images stay legible). */
void WriteMontagePNG(const std::vector<MagnitudeImage::Pointer> & panels, const std::string & path,
                     size_t columns = 0 /* 0: all in one row */, float white = 0.0f, size_t zoom = 1);

/** A row-major [height][width] buffer (components per pixel, interleaved) as a 2-D ITK image. */
template <typename TImage, typename TValue>
typename TImage::Pointer
ToImage(const std::vector<TValue> & values, int64_t height, int64_t width, int64_t components = 1)
{
  auto                      image = TImage::New();
  typename TImage::SizeType size{ { static_cast<itk::SizeValueType>(width), static_cast<itk::SizeValueType>(height) } };
  image->SetRegions(size);
  image->SetNumberOfComponentsPerPixel(static_cast<unsigned int>(components)); // 1 for scalar images
  image->Allocate();
  std::copy(values.begin(), values.end(), image->GetBufferPointer());
  return image;
}

using FilterType = itk::MRIDAPSReconstructionImageFilter<>;

/** The sampler flags the tools share (--model --device --preset --steps ... --seed --threads)
 * with their defaults (the default preset's values). */
std::map<std::string, std::string> SamplerFlagDefaults();

/** Their usage text, defaults included. */
std::string SamplerFlagUsage();

/** The DAPS settings those flags ask for: the --preset (else `defaults`: the default preset, or
 * a filter's own task defaults), then each flag given on the command line. */
DAPSConfig SamplerConfig(const Arguments & args, const DAPSConfig & defaults = DAPSConfig{});

/** --model, else the shipped prior; "" when there is neither, unless `required`: then it throws
 * "no prior: pass --model PATH". */
std::string ModelPath(const Arguments & args, bool required);

/** Applies those flags to a DAPS filter, over the filter's own defaults; the prior is ModelPath,
 * else (when allowGaussianFallback) an analytic Gaussian prior. Returns the model path used
 * ("" if none). Instantiated for the 2-D MRI filter and the
 * restoration filters (real in, real or complex out). */
template <typename TInputImage, typename TOutputImage>
std::string ConfigureFilter(itk::DAPSImageFilterBase<TInputImage, TOutputImage> * filter, const Arguments & args,
                            bool allowGaussianFallback);

/** The run's figures for 3D Slicer (`--returnparameterfile PATH`): "name = value" lines, one per
 * output parameter of the tools' XML (denoiserEvaluations, dataGradients, seconds,
 * relativeResidual, usedIntensityScale), written to the temporary file of `path` and committed with
 * the images (OutputFile::CommitAll). */
std::unique_ptr<OutputFile> ReturnParametersToTemporary(const std::string & path, const DAPSStatistics & statistics,
                                                        double relativeResidual, double intensityScale);

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

/** A run's progress for its user: the ProgressLine on stderr, and 3D Slicer's <filter-start>,
 * <filter-progress> and <filter-end> lines on stdout when it is not a terminal (as when Slicer
 * runs the tool). Fed by a filter's events (ObserveProgress) or by a library call's
 * ProgressFunction (Function()). */
class ProgressReport
{
public:
  explicit ProgressReport(std::string name);
  void Start();
  void Update(int done, int total);
  void End();
  /** Update() as a ProgressFunction that never aborts; valid while this object lives. */
  ProgressFunction Function();

private:
  ProgressLine m_Line;
  std::string  m_Name;
  bool         m_Slicer;
  double       m_Start;
};

/** Reports the filter's progress (its start, iteration and end events) with a ProgressReport. */
template <typename TInputImage, typename TOutputImage>
void ObserveProgress(itk::DAPSImageFilterBase<TInputImage, TOutputImage> * filter, const std::string & name);

} // namespace dapsmri::app

#endif
