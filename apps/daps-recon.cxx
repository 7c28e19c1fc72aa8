// daps-recon: reconstruct multi-coil k-space files with DAPS. Also a 3D Slicer CLI module:
// `daps-recon --xml` prints its Slicer Execution Model description (apps/daps-recon.xml).
#include "dapsmriAppUtilities.h"
#include "dapsmriRecon.xml.h"

#include <iostream>

namespace
{
const char * const Usage = R"(usage: daps-recon --kspace K.mha --mask MASK.nrrd [--coil-maps MAPS.mha] OUTPUT [options]

Reconstructs undersampled multi-coil Cartesian k-space with a diffusion prior (DAPS) and writes
the magnitude image (or the complex image with --complex) in any ITK format.

  --kspace PATH          centred k-space, a complex image (x, y, coil)
  --coil-maps PATH       coil sensitivities, complex (x, y, coil); optional for one coil
  --mask PATH            sampling mask (x, y), nonzero where acquired
  --std-output PATH      per-pixel posterior standard deviation (needs --samples > 1)
  --complex              write the complex reconstruction instead of its magnitude
  --model PATH           TorchScript prior (default: the shipped brain prior)
  --device D             cpu | cuda:0 (default cpu)
  --steps N              annealing steps (default 200)
  --ode-steps N          probability-flow ODE steps (default 5)
  --mcmc METHOD          langevin | hmc | exact (default langevin)
  --mcmc-steps N         MCMC steps per annealing step (default 100)
  --step-size LR         MCMC step size (default 1e-4)
  --tau T                data-term noise level, normalised units (default 0.01)
  --samples K            posterior samples (default 1)
  --seed S               random seed (default 0)
  --threads N            threads (default: all cores)
  --xml                  print the 3D Slicer module description and exit
)";
} // namespace

int
main(int argc, char * argv[])
{
  using namespace dapsmri;
  try
  {
    auto defaults = app::SamplerFlagDefaults();
    defaults.insert({ { "kspace", "" }, { "coil-maps", "" }, { "mask", "" }, { "std-output", "" } });
    app::Arguments args(argc, argv, defaults, { "xml", "help", "complex" });
    if (args.Has("xml"))
    {
      std::cout << SlicerModuleDescription;
      return 0;
    }
    if (args.Has("help") || args.Positional().size() != 1 || !args.Has("kspace") || !args.Has("mask"))
    {
      (args.Has("help") ? std::cout : std::cerr) << Usage;
      return args.Has("help") ? 0 : 2;
    }
    const std::string output = args.Positional()[0];
    app::CheckImageOutputPath(output);
    if (args.Has("std-output"))
    {
      app::CheckImageOutputPath(args.Get("std-output"));
      if (args.Int("samples") < 2)
        throw std::invalid_argument("--std-output needs --samples 2 or more");
    }

    auto filter = app::FilterType::New();
    filter->SetKSpace(app::ReadMultiCoil(args.Get("kspace")));
    if (args.Has("coil-maps"))
      filter->SetCoilSensitivities(app::ReadMultiCoil(args.Get("coil-maps")));
    filter->SetMask(app::ReadMask(args.Get("mask")));
    const std::string model = app::ConfigureFilter(filter, args, false);
    app::ObserveProgress(filter, "DAPS reconstruction");
    filter->Update();

    const auto * image = filter->GetOutput();
    if (args.Has("complex"))
      app::WriteImageAtomically(image, output);
    else
    {
      const auto size = image->GetLargestPossibleRegion().GetSize();
      std::vector<std::complex<float>> values(image->GetBufferPointer(), image->GetBufferPointer() + size[0] * size[1]);
      auto magnitude = app::Magnitude(values, static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]));
      magnitude->CopyInformation(image);
      app::WriteImageAtomically(magnitude.GetPointer(), output);
    }
    if (args.Has("std-output"))
      app::WriteImageAtomically(filter->GetStandardDeviationOutput(), args.Get("std-output"));

    const auto & stats = filter->GetStatistics();
    std::cerr << "prior " << model << "; NFE " << stats.denoiserEvaluations << " (" << stats.denoiserSeconds
              << " s), data gradients " << stats.dataGradients << " (MCMC " << stats.mcmcSeconds << " s), total "
              << stats.totalSeconds << " s; data residual " << filter->GetRelativeResidual()
              << " (relative); intensity scale " << filter->GetEstimatedIntensityScale() << "; wrote " << output
              << '\n';
    return 0;
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << "daps-recon: " << e.GetDescription() << '\n';
  }
  catch (const std::exception & e)
  {
    std::cerr << "daps-recon: " << e.what() << '\n';
  }
  return 1;
}
