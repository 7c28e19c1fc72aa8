// daps-simulate: the end-to-end demonstration. Simulates an undersampled multi-coil acquisition
// of a phantom, reconstructs it with the DAPS filter and writes the image, a comparison PNG
// (reference | zero-filled | DAPS) and the PSNR figures.
#include "dapsmriAppUtilities.h"

#include "dapsmriSimulation.h"
#include "itkMRIDAPSReconstructionImageFilter.h"

#include <filesystem>
#include <iostream>

namespace
{
const char * const Usage = R"(usage: daps-simulate OUTPUT_IMAGE [options]

Simulates an undersampled multi-coil Cartesian acquisition of the Shepp-Logan phantom,
reconstructs it with DAPS and writes the magnitude image (any ITK format: .nii.gz, .nrrd, .mha).

  --model PATH           TorchScript prior (default: the shipped brain prior, else a Gaussian prior)
  --size N               matrix size N x N (default 128)
  --coils C              coils (default 8)
  --acceleration R       undersampling factor (default 4)
  --center-fraction F    fully sampled centre lines (default 0.08)
  --mask TYPE            random | equispaced | variable-density (phase-encode rows) | poisson
                         (2-D Poisson disc) (default random)
  --noise S              k-space noise std per real part (default 0.002)
  --device D             cpu | cuda:N: where the DAPS loop runs (default cpu)
  --png PATH             comparison montage (default: OUTPUT stem + _comparison.png)
  --std-output PATH      write the posterior standard deviation (needs --samples > 1)
  --save-inputs PREFIX   also write PREFIX_kspace.mha and PREFIX_maps.mha (complex x, y, coil),
                         PREFIX_mask.nrrd and PREFIX_reference.nii.gz, inputs for daps-recon
(--seed seeds the simulation too.)
)";

} // namespace

int
main(int argc, char * argv[])
{
  using namespace dapsmri;
  return app::Main("daps-simulate", [&] {
    auto defaults = app::SamplerFlagDefaults();
    defaults.insert({ { "size", "128" },
                      { "coils", "8" },
                      { "acceleration", "4" },
                      { "center-fraction", "0.08" },
                      { "noise", "0.002" },
                      { "png", "" },
                      { "std-output", "" },
                      { "save-inputs", "" },
                      { "mask", "random" } });
    app::Arguments args(argc, argv, defaults, { "help" });
    if (args.Has("help") || args.Positional().size() != 1)
    {
      std::cout << Usage << app::SamplerFlagUsage();
      return args.Has("help") ? 0 : 2;
    }
    const std::string output = args.Positional()[0];
    app::CheckImageOutputPath(output);
    std::string png = args.Get("png");
    if (png.empty())
    {
      const std::filesystem::path p(output);
      const std::string           name = p.filename().string();
      png = (p.parent_path() / (name.substr(0, name.find('.')) + "_comparison.png")).string();
    }
    app::CheckImageOutputPath(png);
    if (args.Has("std-output"))
      app::CheckImageOutputPath(args.Get("std-output"));
    const int64_t     N = args.Int("size", 8, 4096), C = args.Int("coils", 1, 128);
    const auto        seed = static_cast<uint64_t>(args.Int("seed"));

    // Simulate.
    const auto                       phantom = SheppLoganPhantom(N, N);
    std::vector<std::complex<float>> truth(phantom.begin(), phantom.end());
    const auto maps = SimulatedCoilMaps(C, N, N);
    const auto mask = UndersamplingMask(args.Get("mask"), N, N, args.Double("acceleration"), args.Double("center-fraction"), seed + 1);
    const auto kSpace = SimulateKSpace(truth, maps, C, N, N, mask, args.Double("noise"), seed + 2);

    using FilterType = app::FilterType;
    auto                         kSpaceImage = FilterType::KSpaceImageType::New();
    auto                         mapsImage = FilterType::KSpaceImageType::New();
    auto                         maskImage = FilterType::MaskImageType::New();
    FilterType::KSpaceImageType::SizeType size{ { static_cast<itk::SizeValueType>(N), static_cast<itk::SizeValueType>(N) } };
    for (auto * image : { kSpaceImage.GetPointer(), mapsImage.GetPointer() })
    {
      image->SetRegions(size);
      image->SetNumberOfComponentsPerPixel(static_cast<unsigned int>(C));
      image->Allocate();
    }
    std::copy(kSpace.begin(), kSpace.end(), kSpaceImage->GetBufferPointer());
    std::copy(maps.begin(), maps.end(), mapsImage->GetBufferPointer());
    maskImage->SetRegions(size);
    maskImage->Allocate();
    std::copy(mask.begin(), mask.end(), maskImage->GetBufferPointer());
    if (args.Has("save-inputs"))
    {
      const std::string prefix = args.Get("save-inputs");
      app::WriteMultiCoil(kSpaceImage, prefix + "_kspace.mha");
      app::WriteMultiCoil(mapsImage, prefix + "_maps.mha");
      app::WriteImageAtomically(maskImage.GetPointer(), prefix + "_mask.nrrd");
      app::WriteImageAtomically(app::Magnitude(truth, N, N).GetPointer(), prefix + "_reference.nii.gz");
    }

    // Reconstruct: one ITK filter.
    auto filter = FilterType::New();
    filter->SetKSpace(kSpaceImage);
    filter->SetCoilSensitivities(mapsImage);
    filter->SetMask(maskImage);
    const std::string model = app::ConfigureFilter(filter.GetPointer(), args, true);
    if (model.empty())
      std::cerr << "daps-simulate: no trained prior found; using a Gaussian prior (expect a SENSE-like result)\n";
    app::ObserveProgress(filter.GetPointer(), "DAPS");
    filter->Update();

    // Write and report.
    const auto * out = filter->GetOutput();
    std::vector<std::complex<float>> recon(out->GetBufferPointer(), out->GetBufferPointer() + N * N);
    MultiCoilData data{ kSpace.data(), maps.data(), mask.data(), N, N, C };
    const auto    zeroFilled = ZeroFilledImage(data);
    app::WriteImageAtomically(app::Magnitude(recon, N, N).GetPointer(), output);
    if (args.Has("std-output"))
      app::WriteImageAtomically(filter->GetStandardDeviationOutput(), args.Get("std-output"));
    app::WriteMontagePNG({ app::Magnitude(truth, N, N), app::Magnitude(zeroFilled, N, N), app::Magnitude(recon, N, N) },
                         png);

    const auto & stats = filter->GetStatistics();
    std::cout << "prior:              " << filter->GetPrior().Name() << (model.empty() ? "" : " (" + model + ")") << '\n'
              << "acquisition:        " << N << "x" << N << ", " << C << " coils, " << args.Get("acceleration")
              << "x, centre fraction " << args.Get("center-fraction") << '\n'
              << "PSNR zero-filled:   " << MagnitudePSNR(zeroFilled, truth) << " dB\n"
              << "PSNR DAPS:          " << MagnitudePSNR(recon, truth) << " dB\n"
              << "data residual:      " << filter->GetRelativeResidual() << " (relative)\n"
              << "NFE:                " << stats.denoiserEvaluations << " (" << stats.denoiserSeconds << " s)\n"
              << "data gradients:     " << stats.dataGradients << " (MCMC " << stats.mcmcSeconds << " s)\n"
              << "total:              " << stats.totalSeconds << " s\n"
              << "wrote:              " << output << ", " << png << '\n';
    return 0;
  });
}
