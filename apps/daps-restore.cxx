// daps-restore: image restoration with the DAPS engine (super-resolution, inpainting, deblurring,
// phase retrieval, HDR) on image files, with the sampler flags and progress of daps-recon.
#include "dapsmriAppUtilities.h"

#include "dapsmriRestoration.h"
#include "dapsmriSimulation.h"

#include <iostream>
#include <random>
#include <sstream>

namespace
{
const char * const Usage = R"(usage: daps-restore INPUT OUTPUT --task TASK [options]

Restores an image with a diffusion prior (DAPS). INPUT is the measurement: the low-resolution,
masked, blurred, clipped image, or the Fourier magnitudes (phase retrieval); with --simulate it
is a clean image that is put through the forward model first, and the PSNR against it is shown.
OUTPUT is the restored image (the magnitude; --complex for the complex image).

  --task T               super-resolution | inpainting | deblurring | phase-retrieval | hdr
  --simulate             INPUT is a clean image: measure it, restore, report PSNR
  --noise S              with --simulate: Gaussian noise std added to the measurement (default 0)
  --measurement-output PATH  also write the measurement
  --mask-output PATH     inpainting: also write the mask used (1 where seen)
  --kernel-output PATH   deblurring: also write the kernel used
  --factor F             super-resolution factor, a divisor of the size (default 4)
  --bicubic              super-resolution by bicubic down-sampling (default: block means)
  --mask PATH            inpainting: mask image, nonzero where seen (default: --box)
  --box X,Y,W,H          inpainting: the hidden box (default: the centre quarter of the image)
  --random-fraction P    inpainting: hide this fraction of the pixels at random instead
  --kernel K             deblurring: gaussian | motion (default gaussian)
  --kernel-size N        deblurring kernel size (default 61)
  --blur-sigma S         Gaussian kernel std in pixels (default 3)
  --motion-intensity I   motion kernel turning, 0 to 1 (default 0.5)
  --oversampling S       phase retrieval: Fourier oversampling (default 2)
  --alpha A              HDR: y = clip(alpha x, -1, 1) (default 2)
  --restarts N           runs of which the best-fitting one is kept (default 1)
  --intensity-scale S    data units per prior unit (default 0: the 99th percentile of |y| for the
                         linear tasks, 1 for phase retrieval and HDR)
  --std-output PATH      per-pixel posterior standard deviation (needs --samples > 1)
  --complex              write the complex image
  --model PATH           TorchScript prior (default: the shipped brain prior)
  --device D             cpu | cuda:N: where the whole DAPS loop runs (default cpu)
Phase retrieval and HDR are nonlinear: without --preset they run the reference preset (Langevin).
)";

using namespace dapsmri;

std::vector<int64_t>
ParseBox(const std::string & text)
{
  std::vector<int64_t> box;
  std::stringstream    stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    box.push_back(std::stoll(item));
  if (box.size() != 4 || box[2] < 1 || box[3] < 1)
    throw std::invalid_argument("--box needs X,Y,W,H with a positive width and height, got \"" + text + "\"");
  return box;
}

/** The forward model the flags describe, for an image of height x width. */
RestorationProblem
ProblemFromFlags(const app::Arguments & args, int64_t height, int64_t width, uint64_t seed)
{
  RestorationProblem p;
  p.task = ParseRestorationTask(args.Get("task"));
  p.height = height;
  p.width = width;
  p.factor = args.Int("factor", 1, 64);
  p.bicubic = args.Has("bicubic");
  p.oversampling = args.Int("oversampling", 1, 8);
  p.alpha = args.Double("alpha");
  if (p.task == RestorationTask::Inpainting)
  {
    p.mask.assign(static_cast<size_t>(height * width), 1);
    if (args.Has("mask"))
    {
      const auto mask = app::ReadMask(args.Get("mask"));
      const auto size = mask->GetLargestPossibleRegion().GetSize();
      if (static_cast<int64_t>(size[0]) != width || static_cast<int64_t>(size[1]) != height)
        throw std::invalid_argument("the mask is " + std::to_string(size[0]) + " x " + std::to_string(size[1]) +
                                    ", the image " + std::to_string(width) + " x " + std::to_string(height));
      p.mask.assign(mask->GetBufferPointer(), mask->GetBufferPointer() + height * width);
    }
    else if (args.Double("random-fraction") > 0.0)
    {
      const double fraction = args.Double("random-fraction");
      if (fraction >= 1.0)
        throw std::invalid_argument("--random-fraction must lie in (0, 1)");
      std::mt19937_64                       random(seed);
      std::uniform_real_distribution<double> uniform;
      for (auto & seen : p.mask)
        seen = uniform(random) >= fraction;
    }
    else
    {
      const auto box = args.Has("box") ? ParseBox(args.Get("box"))
                                       : std::vector<int64_t>{ width / 4, height / 4, width / 2, height / 2 };
      for (int64_t y = std::max<int64_t>(0, box[1]); y < std::min(height, box[1] + box[3]); ++y)
        for (int64_t x = std::max<int64_t>(0, box[0]); x < std::min(width, box[0] + box[2]); ++x)
          p.mask[static_cast<size_t>(y * width + x)] = 0;
    }
  }
  if (p.task == RestorationTask::Deblurring)
  {
    const int64_t size = args.Int("kernel-size", 3, 1025);
    p.kernelHeight = p.kernelWidth = size;
    if (args.Get("kernel") == "gaussian")
      p.kernel = GaussianBlurKernel(size, args.Double("blur-sigma"));
    else if (args.Get("kernel") == "motion")
      p.kernel = MotionBlurKernel(size, args.Double("motion-intensity"), seed);
    else
      throw std::invalid_argument("unknown kernel \"" + args.Get("kernel") + "\" (choose gaussian or motion)");
  }
  return p;
}

} // namespace

int
main(int argc, char * argv[])
{
  return app::Main("daps-restore", [&] {
    auto defaults = app::SamplerFlagDefaults();
    defaults.insert({ { "task", "" },
                      { "noise", "0" },
                      { "measurement-output", "" },
                      { "mask-output", "" },
                      { "kernel-output", "" },
                      { "factor", "4" },
                      { "mask", "" },
                      { "box", "" },
                      { "random-fraction", "0" },
                      { "kernel", "gaussian" },
                      { "kernel-size", "61" },
                      { "blur-sigma", "3" },
                      { "motion-intensity", "0.5" },
                      { "oversampling", "2" },
                      { "alpha", "2" },
                      { "restarts", "1" },
                      { "intensity-scale", "0" },
                      { "std-output", "" } });
    app::Arguments args(argc, argv, defaults, { "help", "simulate", "bicubic", "complex" });
    if (args.Has("help") || args.Positional().size() != 2 || !args.Has("task"))
    {
      std::cout << Usage << app::SamplerFlagUsage();
      return args.Has("help") ? 0 : 2;
    }
    const std::string input = args.Positional()[0], output = args.Positional()[1];
    // Everything that can be checked is checked before the work: no output may replace an input.
    CheckOutputPaths({ output, args.Get("std-output"), args.Get("measurement-output"), args.Get("mask-output"),
                       args.Get("kernel-output") },
                     { input, args.Get("mask"), args.Get("model") });
    app::CheckImageOutputPath(output, true);
    for (const char * flag : { "std-output", "measurement-output", "mask-output", "kernel-output" })
      if (args.Has(flag))
        app::CheckImageOutputPath(args.Get(flag), true);
    const auto   task = ParseRestorationTask(args.Get("task"));
    if (args.Has("mask-output") && task != RestorationTask::Inpainting)
      throw std::invalid_argument("--mask-output needs --task inpainting");
    if (args.Has("kernel-output") && task != RestorationTask::Deblurring)
      throw std::invalid_argument("--kernel-output needs --task deblurring");
    if (args.Has("std-output") && args.Int("samples") < 2)
      throw std::invalid_argument("--std-output needs --samples > 1");
    const int    restarts = args.Int("restarts", 1, 64);
    const double noise = args.Double("noise"), scale = args.Double("intensity-scale");
    if (!(noise >= 0.0) || !(scale >= 0.0))
      throw std::invalid_argument("--noise and --intensity-scale must not be negative");
    ReconstructionSettings settings;
    settings.daps = app::SamplerConfig(args, IsLinear(task) ? "mri" : "reference");
    settings.threads = args.Int("threads", 0, MaximumThreads);
    settings.intensityScale = scale;

    const auto    image = app::ReadScalarImage(input, args.Has("simulate") ? "clean image" : "measurement");
    const auto    size = image->GetLargestPossibleRegion().GetSize();
    const int64_t inWidth = static_cast<int64_t>(size[0]), inHeight = static_cast<int64_t>(size[1]);
    const std::vector<float> values(image->GetBufferPointer(), image->GetBufferPointer() + inWidth * inHeight);
    // The image to restore: the input's size with --simulate, else what the measurement implies.
    int64_t height = inHeight, width = inWidth;
    if (!args.Has("simulate") && task == RestorationTask::SuperResolution)
    {
      height *= args.Int("factor", 1, 64);
      width *= args.Int("factor", 1, 64);
    }
    if (!args.Has("simulate") && task == RestorationTask::PhaseRetrieval)
    {
      const int64_t s = args.Int("oversampling", 1, 8);
      if (inHeight % s != 0 || inWidth % s != 0)
        throw std::invalid_argument("the Fourier magnitudes (" + std::to_string(inWidth) + " x " +
                                    std::to_string(inHeight) + ") are not a multiple of --oversampling " +
                                    std::to_string(s));
      height /= s;
      width /= s;
    }
    const auto problem = ProblemFromFlags(args, height, width, settings.daps.seed);
    const auto measured = MeasurementSize(problem);
    std::vector<float> measurement = values;
    if (args.Has("simulate"))
    {
      measurement = Measure(problem, values);
      if (noise > 0.0)
      {
        std::mt19937_64                  random(settings.daps.seed + 1);
        std::normal_distribution<double> gaussian(0.0, noise);
        for (auto & v : measurement)
          v += static_cast<float>(gaussian(random));
      }
    }

    const std::string model = args.Has("model") ? args.Get("model") : app::DefaultModelPath();
    if (model.empty())
      throw std::invalid_argument("no prior: pass --model PATH (no shipped model was found)");
    const Prior   prior = Prior::Load(model, args.Get("device"));
    app::ProgressLine progress("DAPS " + ToString(task));
    const auto    result = Restore(prior, problem, measurement, settings, restarts, [&](int done, int total) {
      progress.Update(done, total);
      return true;
    });
    progress.Finish();

    std::vector<std::unique_ptr<OutputFile>> outputs;
    auto restored = app::Magnitude(result.mean, height, width);
    if (args.Has("complex"))
    {
      auto complexImage = itk::Image<std::complex<float>, 2>::New();
      complexImage->SetRegions(restored->GetLargestPossibleRegion());
      complexImage->Allocate();
      std::copy(result.mean.begin(), result.mean.end(), complexImage->GetBufferPointer());
      outputs.push_back(app::WriteImageToTemporary(complexImage.GetPointer(), output));
    }
    else
      outputs.push_back(app::WriteImageToTemporary(restored.GetPointer(), output));
    const auto add = [&](const std::vector<float> & values, int64_t h, int64_t w, const char * flag) {
      if (args.Has(flag))
        outputs.push_back(
          app::WriteImageToTemporary(app::ToImage<app::MagnitudeImage>(values, h, w).GetPointer(), args.Get(flag)));
    };
    add(result.standardDeviation, height, width, "std-output");
    add(measurement, measured[0], measured[1], "measurement-output");
    add(std::vector<float>(problem.mask.begin(), problem.mask.end()), height, width, "mask-output");
    add(problem.kernel, problem.kernelHeight, problem.kernelWidth, "kernel-output");
    OutputFile::CommitAll(outputs);

    std::cerr << ToString(task) << " of a " << width << " x " << height << " image with prior " << model << ": NFE "
              << result.statistics.denoiserEvaluations << ", " << result.statistics.totalSeconds
              << " s, relative data residual " << result.relativeResidual << ", intensity scale "
              << result.intensityScale << "; wrote " << output << '\n';
    if (args.Has("simulate"))
    {
      const std::vector<std::complex<float>> truth(values.begin(), values.end());
      std::cerr << "PSNR against the clean image: restored " << MagnitudePSNR(result.mean, truth) << " dB\n";
    }
    return 0;
  });
}
