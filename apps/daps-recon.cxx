// daps-recon: reconstruct raw MRI data (ISMRMRD) or multi-coil k-space files with DAPS. Also a
// 3D Slicer CLI module: `daps-recon --xml` prints its Slicer Execution Model description.
#include "dapsmriAppUtilities.h"
#include "dapsmriISMRMRDReader.h"
#include "dapsmriRawDataImages.h"
#include "dapsmriRawDataReconstruction.h"
#include "dapsmriRecon.xml.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

namespace
{
const char * const Usage = R"(usage: daps-recon INPUT.h5 OUTPUT [options]
       daps-recon --kspace K.mha --mask MASK.nrrd [--coil-maps MAPS.mha] OUTPUT [options]

Reconstructs undersampled multi-coil Cartesian MRI data with a diffusion prior (DAPS) and writes
the magnitude image (or the complex image with --complex) in any ITK format. ISMRMRD input gives
a volume (x, y, slice) with the scanner geometry; the noise scans, if any, prewhiten the coils
and set the data-term noise level (tau) unless --tau is given.

  --ismrmrd PATH         the ISMRMRD input, as an option (the form 3D Slicer uses)
  --kspace PATH          centred k-space, a complex image (x, y, coil)
  --mask PATH            sampling mask (x, y), nonzero where acquired
  --coil-maps M          espirit (default for ISMRMRD) or walsh, estimated from the calibration
                         lines, or a complex image (x, y, coil); optional for one coil
  --dataset NAME         ISMRMRD dataset (default "dataset")
  --keep-repetitions     reconstruct each repetition instead of their average
  --no-prewhitening      ignore the noise scans
  --adjoint-only         write the zero-filled SENSE image (sum_c conj(S_c) F^H y_c) instead of running DAPS
  --std-output PATH      per-pixel posterior standard deviation (needs --samples > 1)
  --save-coil-maps PATH  also write the coil maps used, complex (x, y, coil) (one slice only)
  --save-kspace PATH     also write the prewhitened k-space, complex (x, y, coil), and its mask
                         as PATH's stem + _mask.nrrd (one slice only)
  --complex              write the complex reconstruction instead of its magnitude
  --model PATH           TorchScript prior (default: the shipped brain prior)
  --device D             cpu | cuda:N: where the whole DAPS loop runs (default cpu)
  --slice-batch N        slices of a volume run as one batch; 0: 4 slices of 256 x 256 per sample
                         on the CPU, 32 on a GPU (default 0)
  --returnparameterfile PATH  write the run's figures as "name = value" lines (3D Slicer's
                         output parameters: NFE, data gradients, seconds, residual, intensity scale)
  --xml                  print the 3D Slicer module description and exit
)";

using namespace dapsmri;
using Volume = itk::Image<float, 3>;
using ComplexVolume = itk::Image<std::complex<float>, 3>;

int
ReconstructISMRMRD(const app::Arguments & args, const std::string & input, const std::string & output)
{
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  RawDataReconstructionOptions options;
  options.settings.sliceBatch = args.Int("slice-batch", 0, MaximumSliceBatch); // checked before any work
  options.settings.threads = args.Int("threads", 0, MaximumThreads);
  options.settings.daps = app::SamplerConfig(args);
  options.prewhiten = !args.Has("no-prewhitening");
  options.noiseFromScans = !args.Given("tau");
  options.adjointOnly = args.Has("adjoint-only");
  auto               start = Clock::now();
  ISMRMRDReadOptions readOptions;
  readOptions.dataset = args.Get("dataset");
  readOptions.keepRepetitions = args.Has("keep-repetitions");
  RawData      data = ReadISMRMRD(input, readOptions);
  const double readSeconds = since(start);
  const size_t slices = data.slices.size();
  if ((args.Has("save-coil-maps") || args.Has("save-kspace")) && slices > 1)
    throw std::invalid_argument("--save-coil-maps and --save-kspace need a single-slice file");
  const std::string mapsChoice = args.Has("coil-maps") ? args.Get("coil-maps") : "espirit";
  if (mapsChoice == "espirit" || mapsChoice == "walsh")
    options.coilMaps = mapsChoice;
  else if (slices > 1)
    throw std::invalid_argument("coil maps from a file fit one slice; this file has " + std::to_string(slices) +
                                " (use --coil-maps espirit or walsh)");
  else
  {
    const auto &  s = data.slices.front();
    const auto    image = app::ReadMultiCoil(mapsChoice);
    const auto    size = image->GetLargestPossibleRegion().GetSize();
    if (size[0] != static_cast<itk::SizeValueType>(s.width) || size[1] != static_cast<itk::SizeValueType>(s.height) ||
        image->GetNumberOfComponentsPerPixel() != static_cast<unsigned int>(s.coils))
      throw std::invalid_argument(
        "the coil maps in " + mapsChoice + " are " + std::to_string(size[0]) + " x " + std::to_string(size[1]) + " x " +
        std::to_string(image->GetNumberOfComponentsPerPixel()) + "; the k-space is " + std::to_string(s.width) + " x " +
        std::to_string(s.height) + " x " + std::to_string(s.coils) + " (x, y, coil): they must match");
    options.coilMapsGiven.emplace_back(image->GetBufferPointer(),
                                       image->GetBufferPointer() + s.width * s.height * s.coils);
  }

  Prior       prior;
  std::string model = "none (zero-filled)";
  if (!options.adjointOnly)
  {
    model = app::ModelPath(args, true);
    prior = Prior::Load(model, args.Get("device"));
  }
  app::ProgressReport report("DAPS reconstruction");
  if (!options.adjointOnly)
    report.Start();
  const auto result = ReconstructRawData(prior, data, options, report.Function());
  if (!options.adjointOnly)
    report.End();
  for (const auto & g : result.groups)
  {
    const auto part = Summarise(result.slices, g.first, g.last);
    std::cerr << "slices " << g.first + 1 << "-" << g.last << " of " << slices << ": "
              << part.statistics.totalSeconds << " s, largest residual " << part.largestRelativeResidual
              << ", smallest tau " << part.smallestTau << '\n';
  }

  start = Clock::now();
  const auto & first = data.slices.front();
  const auto   H = first.height, W = first.width, C = first.coils;
  if (args.Has("save-coil-maps")) // the coil maps used and the (prewhitened) k-space, one slice
    app::WriteMultiCoil(app::ToImage<app::MultiCoilImage>(result.coilMaps.front(), H, W, C), args.Get("save-coil-maps"));
  if (args.Has("save-kspace"))
  {
    const std::string path = args.Get("save-kspace");
    app::WriteMultiCoil(app::ToImage<app::MultiCoilImage>(first.kSpace, H, W, C), path);
    const auto name = std::filesystem::path(path).filename().string();
    app::WriteImageAtomically(app::ToImage<app::MaskImage>(first.mask, H, W, 1).GetPointer(),
                              (std::filesystem::path(path).parent_path() / (name.substr(0, name.find('.')) + "_mask.nrrd")).string());
  }
  auto         magnitude = AllocateVolume<Volume>(data.slices);
  auto         complexVolume = AllocateVolume<ComplexVolume>(data.slices);
  auto         deviation = AllocateVolume<Volume>(data.slices);
  const size_t plane = static_cast<size_t>(H * W);
  deviation->FillBuffer(0.0f);
  for (size_t i = 0; i < slices; ++i)
  {
    const auto & r = result.slices[i];
    std::copy(r.mean.begin(), r.mean.end(), complexVolume->GetBufferPointer() + i * plane);
    std::transform(r.mean.begin(), r.mean.end(), magnitude->GetBufferPointer() + i * plane,
                   [](std::complex<float> z) { return std::abs(z); });
    std::copy(r.standardDeviation.begin(), r.standardDeviation.end(), deviation->GetBufferPointer() + i * plane);
  }
  std::vector<std::unique_ptr<OutputFile>> outputs;
  if (args.Has("complex"))
    outputs.push_back(app::WriteImageToTemporary(complexVolume.GetPointer(), output));
  else
    outputs.push_back(app::WriteImageToTemporary(magnitude.GetPointer(), output));
  if (args.Has("std-output"))
    outputs.push_back(app::WriteImageToTemporary(deviation.GetPointer(), args.Get("std-output")));
  const auto & total = result.summary;
  if (args.Has("returnparameterfile"))
    outputs.push_back(app::ReturnParametersToTemporary(args.Get("returnparameterfile"), total.statistics,
                                                       total.largestRelativeResidual, total.largestIntensityScale));
  OutputFile::CommitAll(outputs);
  std::cerr << "time: reader " << readSeconds << " s, prewhitening + coil maps " << result.calibrationSeconds
            << " s, DAPS " << result.reconstructionSeconds << " s, writer " << since(start) << " s\n";
  std::cerr << "prior " << model << "; " << slices << " slice(s), " << data.coils << " coils"
            << (result.prewhitened ? ", prewhitened" : "") << "; NFE " << total.statistics.denoiserEvaluations
            << ", data gradients " << total.statistics.dataGradients << ", " << total.statistics.totalSeconds
            << " s; largest data residual " << total.largestRelativeResidual << " (relative); wrote " << output << '\n';
  return 0;
}

/** --adjoint-only with image inputs: the zero-filled SENSE image, written like a reconstruction. */
int
ZeroFilledFromImages(const app::Arguments & args, const std::string & output)
{
  const auto    kSpace = app::ReadMultiCoil(args.Get("kspace"));
  const auto    mask = app::ReadMask(args.Get("mask"));
  const auto    size = kSpace->GetLargestPossibleRegion().GetSize();
  const int64_t width = static_cast<int64_t>(size[0]), height = static_cast<int64_t>(size[1]);
  const int64_t coils = kSpace->GetNumberOfComponentsPerPixel();
  if (mask->GetLargestPossibleRegion().GetSize() != size)
    throw std::invalid_argument("the mask is " + std::to_string(mask->GetLargestPossibleRegion().GetSize()[0]) + " x " +
                                std::to_string(mask->GetLargestPossibleRegion().GetSize()[1]) + ", the k-space " +
                                std::to_string(width) + " x " + std::to_string(height) + "; they must match");
  app::MultiCoilImage::Pointer maps;
  if (args.Has("coil-maps"))
  {
    maps = app::ReadMultiCoil(args.Get("coil-maps"));
    if (maps->GetLargestPossibleRegion().GetSize() != size || maps->GetNumberOfComponentsPerPixel() != coils)
      throw std::invalid_argument("the coil maps must have the k-space's size and coil count (" + std::to_string(width) +
                                  " x " + std::to_string(height) + " x " + std::to_string(coils) + ")");
  }
  else if (coils == 1)
  {
    maps = app::MultiCoilImage::New();
    maps->SetRegions(kSpace->GetLargestPossibleRegion());
    maps->SetNumberOfComponentsPerPixel(1);
    maps->Allocate();
    std::fill_n(maps->GetBufferPointer(), width * height, std::complex<float>(1.0f, 0.0f));
  }
  else
    throw std::invalid_argument("--adjoint-only with " + std::to_string(coils) + " coils needs --coil-maps FILE");
  const MultiCoilData d{ kSpace->GetBufferPointer(), maps->GetBufferPointer(), mask->GetBufferPointer(), height, width, coils };
  const auto          image = ZeroFilledImage(d, args.Int("threads", 0, MaximumThreads));
  std::vector<std::unique_ptr<OutputFile>> outputs;
  if (args.Has("complex"))
  {
    auto out = app::ToImage<itk::Image<std::complex<float>, 2>>(image, height, width, 1);
    out->CopyInformation(kSpace);
    outputs.push_back(app::WriteImageToTemporary(out.GetPointer(), output));
  }
  else
  {
    auto magnitude = app::Magnitude(image, height, width);
    magnitude->CopyInformation(kSpace);
    outputs.push_back(app::WriteImageToTemporary(magnitude.GetPointer(), output));
  }
  if (args.Has("returnparameterfile")) // no DAPS run: zero figures
    outputs.push_back(app::ReturnParametersToTemporary(args.Get("returnparameterfile"), DAPSStatistics{}, 0.0, 0.0));
  OutputFile::CommitAll(outputs);
  std::cerr << "zero-filled (adjoint) image of " << coils << " coil(s); wrote " << output << '\n';
  return 0;
}

int
ReconstructImages(const app::Arguments & args, const std::string & output)
{
  if (args.Has("adjoint-only"))
    return ZeroFilledFromImages(args, output);
  auto filter = app::FilterType::New();
  filter->SetKSpace(app::ReadMultiCoil(args.Get("kspace")));
  if (args.Has("coil-maps"))
  {
    if (args.Get("coil-maps") == "walsh" || args.Get("coil-maps") == "espirit")
      throw std::invalid_argument("--coil-maps " + args.Get("coil-maps") +
                                  " needs ISMRMRD input (calibration lines); pass a maps file");
    filter->SetCoilSensitivities(app::ReadMultiCoil(args.Get("coil-maps")));
  }
  filter->SetMask(app::ReadMask(args.Get("mask")));
  const std::string model = app::ConfigureFilter(filter.GetPointer(), args, false);
  app::ObserveProgress(filter.GetPointer(), "DAPS reconstruction");
  filter->Update();

  const auto *                             image = filter->GetOutput();
  std::vector<std::unique_ptr<OutputFile>> outputs;
  if (args.Has("complex"))
    outputs.push_back(app::WriteImageToTemporary(image, output));
  else
  {
    const auto size = image->GetLargestPossibleRegion().GetSize();
    std::vector<std::complex<float>> values(image->GetBufferPointer(), image->GetBufferPointer() + size[0] * size[1]);
    auto magnitude = app::Magnitude(values, static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]));
    magnitude->CopyInformation(image);
    outputs.push_back(app::WriteImageToTemporary(magnitude.GetPointer(), output));
  }
  if (args.Has("std-output"))
    outputs.push_back(app::WriteImageToTemporary(filter->GetStandardDeviationOutput(), args.Get("std-output")));
  const auto & stats = filter->GetStatistics();
  if (args.Has("returnparameterfile"))
    outputs.push_back(app::ReturnParametersToTemporary(args.Get("returnparameterfile"), stats,
                                                       filter->GetRelativeResidual(),
                                                       filter->GetEstimatedIntensityScale()));
  OutputFile::CommitAll(outputs);
  std::cerr << "prior " << model << "; NFE " << stats.denoiserEvaluations << " (" << stats.denoiserSeconds
            << " s), data gradients " << stats.dataGradients << " (MCMC " << stats.mcmcSeconds << " s), total "
            << stats.totalSeconds << " s; data residual " << filter->GetRelativeResidual()
            << " (relative); intensity scale " << filter->GetEstimatedIntensityScale() << "; wrote " << output << '\n';
  return 0;
}
} // namespace

int
main(int argc, char * argv[])
{
  return dapsmri::app::Main("daps-recon", [&] {
    auto defaults = app::SamplerFlagDefaults();
    defaults.insert({ { "kspace", "" }, { "coil-maps", "" }, { "mask", "" }, { "std-output", "" }, { "dataset", "dataset" },
                      { "ismrmrd", "" },
                      { "save-coil-maps", "" },
                      { "save-kspace", "" },
                      { "slice-batch", "0" },
                      { "returnparameterfile", "" } });
    app::Arguments args(argc, argv, defaults, { "xml", "help", "complex", "keep-repetitions", "no-prewhitening", "adjoint-only" });
    if (args.Has("xml"))
    {
      std::cout << SlicerModuleDescription;
      return 0;
    }
    auto positional = args.Positional();
    if (args.Has("ismrmrd"))
      positional.insert(positional.begin(), args.Get("ismrmrd"));
    const bool ismrmrd = positional.size() == 2 && !args.Has("kspace");
    const bool images = positional.size() == 1 && args.Has("kspace") && args.Has("mask");
    if (!args.Has("help") && args.Has("kspace") && !args.Has("mask"))
      throw std::invalid_argument("--kspace needs --mask MASK (a 2-D image, nonzero where k-space was acquired)");
    if (args.Has("help") || (!ismrmrd && !images))
    {
      (args.Has("help") ? std::cout : std::cerr) << Usage << app::SamplerFlagUsage();
      return args.Has("help") ? 0 : 2;
    }
    const std::string output = positional.back();
    app::CheckImageOutputPath(output, true);
    // Every output apart from every input and from each other, in writable folders, before any work.
    std::string kSpaceMask;
    if (args.Has("save-kspace"))
    {
      const std::filesystem::path saved(args.Get("save-kspace"));
      const auto                  name = saved.filename().string();
      kSpaceMask = (saved.parent_path() / (name.substr(0, name.find('.')) + "_mask.nrrd")).string();
      app::CheckImageOutputPath(args.Get("save-kspace"), true);
    }
    if (args.Has("save-coil-maps"))
      app::CheckImageOutputPath(args.Get("save-coil-maps"), true);
    const bool mapsFile = args.Get("coil-maps") != "walsh" && args.Get("coil-maps") != "espirit";
    CheckOutputPaths({ output, args.Get("std-output"), args.Get("save-coil-maps"), args.Get("save-kspace"), kSpaceMask,
                       args.Get("returnparameterfile") },
                     { ismrmrd ? positional.front() : "", args.Get("kspace"), args.Get("mask"),
                       mapsFile ? args.Get("coil-maps") : "", args.Get("model") });
    if (args.Has("std-output"))
    {
      app::CheckImageOutputPath(args.Get("std-output"), true);
      if (args.Int("samples") < 2)
        throw std::invalid_argument("--std-output needs --samples 2 or more");
    }
    return ismrmrd ? ReconstructISMRMRD(args, positional.front(), output) : ReconstructImages(args, output);
  });
}
