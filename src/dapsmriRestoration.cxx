#include "dapsmriRestoration.h"

#include "dapsmriErrors.h"
#include "dapsmriSampleSummary.h"
#include "dapsmriSampler.h"
#include "dapsmriTaskOperators.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

namespace dapsmri
{

namespace
{
[[noreturn]] void
Fail(const std::string & message)
{
  throw std::invalid_argument(message);
}

const std::pair<RestorationTask, const char *> TaskNames[] = { { RestorationTask::SuperResolution, "super-resolution" },
                                                               { RestorationTask::Inpainting, "inpainting" },
                                                               { RestorationTask::Deblurring, "deblurring" },
                                                               { RestorationTask::PhaseRetrieval, "phase-retrieval" },
                                                               { RestorationTask::HDR, "hdr" } };

/** The inpainting mask as a [height, width] uint8 tensor (a view of the problem's). */
torch::Tensor
MaskTensor(const RestorationProblem & p)
{
  return torch::from_blob(const_cast<unsigned char *>(p.mask.data()), { p.height, p.width }, torch::kUInt8);
}

/** The problem's forward model; its constructor refuses bad parameters. */
std::unique_ptr<Operator>
MakeOperator(const RestorationProblem & p)
{
  switch (p.task)
  {
    case RestorationTask::SuperResolution:
      return std::make_unique<DownsamplingOperator>(p.height, p.width, p.factor,
                                                    p.bicubic ? DownsamplingOperator::Method::Bicubic
                                                              : DownsamplingOperator::Method::Area);
    case RestorationTask::Inpainting:
      if (static_cast<int64_t>(p.mask.size()) != p.height * p.width)
        Fail("the inpainting mask has " + std::to_string(p.mask.size()) + " pixels, the image " +
             std::to_string(p.height * p.width) + ": they must have one size");
      return std::make_unique<InpaintingOperator>(MaskTensor(p).clone());
    case RestorationTask::Deblurring:
      if (p.kernelHeight < 1 || p.kernelWidth < 1 ||
          static_cast<int64_t>(p.kernel.size()) != p.kernelHeight * p.kernelWidth)
        Fail("the blur kernel must hold kernelHeight x kernelWidth values");
    {
      const auto kernel = torch::from_blob(const_cast<float *>(p.kernel.data()), { p.kernelHeight, p.kernelWidth },
                                           torch::kFloat);
      return std::make_unique<BlurOperator>(p.height, p.width, kernel.clone());
    }
    case RestorationTask::PhaseRetrieval:
      return std::make_unique<PhaseRetrievalOperator>(p.height, p.width, p.oversampling);
    case RestorationTask::HDR:
      break;
  }
  return std::make_unique<HDROperator>(p.height, p.width, p.alpha);
}

/** The measurement's {height, width}; refuses a non-positive size and bad size parameters (a
 * factor that does not divide the size, an oversampling below 1) with the operators' messages. */
std::vector<int64_t>
SizeOfMeasurement(const RestorationProblem & p)
{
  if (p.height < 1 || p.width < 1)
    Fail("the image size must be positive, got " + std::to_string(p.width) + " x " + std::to_string(p.height));
  if (p.task == RestorationTask::SuperResolution)
  {
    DownsamplingOperator(p.height, p.width, p.factor, DownsamplingOperator::Method::Area);
    return { p.height / p.factor, p.width / p.factor };
  }
  if (p.task == RestorationTask::PhaseRetrieval)
  {
    PhaseRetrievalOperator(p.height, p.width, p.oversampling);
    return { p.oversampling * p.height, p.oversampling * p.width };
  }
  return { p.height, p.width };
}

/** A real buffer as a complex tensor [1, h, w]. */
torch::Tensor
ComplexImage(const std::vector<float> & values, int64_t h, int64_t w)
{
  return torch::from_blob(const_cast<float *>(values.data()), { 1, h, w }, torch::kFloat).to(torch::kComplexFloat);
}

std::vector<float>
RealValues(const torch::Tensor & t)
{
  const auto real = torch::real(t).to(torch::kFloat).contiguous();
  return std::vector<float>(real.data_ptr<float>(), real.data_ptr<float>() + real.numel());
}

/** The 99th percentile of |y| over the entries `where` is nonzero (all if undefined). */
double
Percentile99(const torch::Tensor & y, const torch::Tensor & where)
{
  auto values = y.abs().flatten();
  if (where.defined())
    values = values.masked_select(where.flatten() != 0);
  if (values.numel() == 0)
    return 0.0;
  const auto sorted = std::get<0>(values.sort());
  return sorted[static_cast<int64_t>(0.99 * static_cast<double>(values.numel() - 1))].item<double>();
}
} // namespace

std::string
ToString(RestorationTask task)
{
  for (const auto & [value, name] : TaskNames)
    if (value == task)
      return name;
  return "unknown";
}

RestorationTask
ParseRestorationTask(const std::string & name)
{
  for (const auto & [value, text] : TaskNames)
    if (name == text)
      return value;
  throw std::invalid_argument("unknown task \"" + name +
                              "\" (choose super-resolution, inpainting, deblurring, phase-retrieval or hdr)");
}

bool
IsLinear(RestorationTask task)
{
  return task != RestorationTask::PhaseRetrieval && task != RestorationTask::HDR;
}

DAPSConfig
DefaultConfig(RestorationTask task)
{
  if (task == RestorationTask::Inpainting)
  {
    DAPSConfig c;
    c.sigmaMax = 0.3; // from the warm start (see RestorationProblem::warmStart)
    return c;
  }
  if (IsLinear(task))
    return DAPSConfig{};
  DAPSConfig c = Preset("reference");
  c.stepSize = task == RestorationTask::HDR ? 2e-5 : 5e-5;
  if (task == RestorationTask::PhaseRetrieval)
  {
    // From the HIO + ER warm start (see RestorationProblem::warmStart): a short anneal that
    // refines it, down to a lower noise level than the reference's 0.1.
    c.sigmaMax = 0.2;
    c.sigmaMin = 0.02;
    c.annealingSteps = 50;
    c.odeSteps = 1;
    c.mcmcSteps = 50;
  }
  return c;
}

std::vector<int64_t>
MeasurementSize(const RestorationProblem & problem)
{
  return TranslateErrors("dapsmri::MeasurementSize", [&] { return SizeOfMeasurement(problem); });
}

std::vector<int64_t>
ImageSize(const RestorationProblem & problem, int64_t measurementHeight, int64_t measurementWidth)
{
  return TranslateErrors("dapsmri::ImageSize", [&] {
    RestorationProblem p = problem;
    p.height = measurementHeight;
    p.width = measurementWidth;
    if (p.task == RestorationTask::SuperResolution && p.factor >= 1)
    {
      p.height *= p.factor;
      p.width *= p.factor;
    }
    if (p.task == RestorationTask::PhaseRetrieval && p.oversampling >= 1)
    {
      if (p.height % p.oversampling != 0 || p.width % p.oversampling != 0)
        Fail("the Fourier magnitudes (" + std::to_string(p.width) + " x " + std::to_string(p.height) +
             ") are not a multiple of the oversampling " + std::to_string(p.oversampling));
      p.height /= p.oversampling;
      p.width /= p.oversampling;
    }
    SizeOfMeasurement(p); // checks the parameters
    return std::vector<int64_t>{ p.height, p.width };
  });
}

void
CheckProblem(const RestorationProblem & problem)
{
  TranslateErrors("dapsmri::CheckProblem", [&] { MakeOperator(problem); });
}

std::vector<float>
Measure(const RestorationProblem & problem, const std::vector<float> & image)
{
  return TranslateErrors("dapsmri::Measure", [&] {
    const auto op = MakeOperator(problem);
    if (static_cast<int64_t>(image.size()) != problem.height * problem.width)
      Fail("the image has " + std::to_string(image.size()) + " pixels, the problem " +
           std::to_string(problem.height * problem.width));
    if (!std::all_of(image.begin(), image.end(), [](float v) { return std::isfinite(v); }))
      Fail("the image contains NaN or Inf");
    torch::NoGradGuard noGrad;
    return RealValues(op->Forward(ComplexImage(image, problem.height, problem.width)));
  });
}

std::vector<unsigned char>
BoxMask(int64_t height, int64_t width, int64_t x, int64_t y, int64_t boxWidth, int64_t boxHeight)
{
  return TranslateErrors("dapsmri::BoxMask", [&] {
    if (height < 1 || width < 1 || boxWidth < 1 || boxHeight < 1)
      Fail("a box mask needs a positive image size and box size, got a " + std::to_string(boxWidth) + " x " +
           std::to_string(boxHeight) + " box in a " + std::to_string(width) + " x " + std::to_string(height) +
           " image");
    std::vector<unsigned char> mask(static_cast<size_t>(height * width), 1);
    for (int64_t row = std::max<int64_t>(0, y); row < std::min(height, y + boxHeight); ++row)
      for (int64_t column = std::max<int64_t>(0, x); column < std::min(width, x + boxWidth); ++column)
        mask[static_cast<size_t>(row * width + column)] = 0;
    return mask;
  });
}

std::vector<unsigned char>
RandomMask(int64_t height, int64_t width, double fraction, uint64_t seed)
{
  return TranslateErrors("dapsmri::RandomMask", [&] {
    if (height < 1 || width < 1 || !(fraction >= 0.0 && fraction < 1.0))
      Fail("a random mask needs a positive image size and a hidden fraction in [0, 1), got " +
           std::to_string(fraction));
    std::mt19937_64                        random(seed);
    std::uniform_real_distribution<double> uniform;
    std::vector<unsigned char>             mask(static_cast<size_t>(height * width));
    for (auto & seen : mask)
      seen = uniform(random) >= fraction;
    return mask;
  });
}

std::vector<float>
GaussianBlurKernel(int64_t size, double sigma)
{
  return TranslateErrors("dapsmri::GaussianBlurKernel", [&] { return RealValues(GaussianKernel(size, sigma)); });
}

std::vector<float>
MotionBlurKernel(int64_t size, double intensity, uint64_t seed)
{
  return TranslateErrors("dapsmri::MotionBlurKernel", [&] { return RealValues(MotionKernel(size, intensity, seed)); });
}

ReconstructionResult
Restore(const Prior & prior, const RestorationProblem & problem, const std::vector<float> & measurement,
        const ReconstructionSettings & settings, int restarts, const ProgressFunction & progress)
{
  return TranslateErrors("dapsmri::Restore", [&] {
    if (!prior.IsSet())
      Fail("no prior is set: load a model (--model) or give an analytic prior");
    Validate(settings.daps);
    if (restarts < 1)
      Fail("the number of restarts must be at least 1");
    const auto op = MakeOperator(problem);
    const auto size = SizeOfMeasurement(problem);
    if (static_cast<int64_t>(measurement.size()) != size[0] * size[1])
      Fail("the measurement has " + std::to_string(measurement.size()) + " values; " + ToString(problem.task) +
           " of a " + std::to_string(problem.width) + " x " + std::to_string(problem.height) + " image measures " +
           std::to_string(size[1]) + " x " + std::to_string(size[0]));
    for (float v : measurement)
      if (!std::isfinite(v))
        Fail("the measurement contains NaN or Inf");
    if (!IsLinear(problem.task) && (settings.daps.mcmc == MCMCMethod::ConditionalMean ||
                                    settings.daps.mcmc == MCMCMethod::ExactGaussian))
      Fail(ToString(problem.task) + " is nonlinear: use --mcmc langevin or hmc (or --preset reference)");
    const ThreadCountScope threads(settings.threads);
    torch::NoGradGuard     noGrad;

    const auto y = ComplexImage(measurement, size[0], size[1]);
    double     scale = settings.intensityScale;
    if (scale <= 0.0)
    {
      const torch::Tensor seen = problem.task == RestorationTask::Inpainting ? MaskTensor(problem) : torch::Tensor();
      scale = IsLinear(problem.task) ? Percentile99(y, seen) : 1.0;
      if (!(scale > 0.0))
        Fail("the measurement is zero: there is nothing to restore");
    }
    const auto yNormalised = (y / scale)[0];
    DAPSConfig config = settings.daps;
    if (settings.noiseStandardDeviation > 0.0)
      config = WithNoiseLevel(config, settings.noiseStandardDeviation / scale);

    const torch::Tensor fill = problem.task == RestorationTask::Inpainting && problem.warmStart
                                 ? SmoothFill(yNormalised, MaskTensor(problem))
                                 : torch::Tensor();
    ReconstructionResult best;
    double               bestResidual = INFINITY;
    DAPSStatistics       statistics;
    const int            steps = config.annealingSteps;
    for (int run = 0; run < restarts; ++run)
    {
      config.seed = settings.daps.seed + static_cast<uint64_t>(run);
      DAPSSampler sampler(*prior.GetDenoiser(), *op, config);
      sampler.SetRealNonnegative(problem.task == RestorationTask::PhaseRetrieval);
      if (problem.task == RestorationTask::PhaseRetrieval && problem.warmStart)
        sampler.SetStart(HybridInputOutput(yNormalised, problem.height, problem.width, config.seed));
      else
        sampler.SetStart(fill);
      const auto  samples = sampler.Run(yNormalised, [&](int done, int) {
                               return !progress || progress(run * steps + done, restarts * steps);
                             }).to(torch::kCPU);
      statistics += sampler.Statistics();
      const double residual = RelativeResidual(*op, samples.mean(0), yNormalised);
      if (residual >= bestResidual)
        continue;
      bestResidual = residual;
      SummariseSamples(samples, scale, best);
      best.relativeResidual = residual;
    }
    best.intensityScale = scale;
    best.tau = config.tau;
    best.statistics = statistics;
    return best;
  });
}

} // namespace dapsmri
