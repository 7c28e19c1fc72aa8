#include "dapsmriReconstruction.h"

#include "dapsmriCenteredFFT.h"
#include "dapsmriErrors.h"
#include "dapsmriIntensityScale.h"
#include "dapsmriSENSEOperator.h"
#include "dapsmriSampler.h"

#include <cmath>
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

void
CheckFinite(const std::complex<float> * data, const MultiCoilData & d, const char * what)
{
  const int64_t n = d.height * d.width * d.coils;
  for (int64_t i = 0; i < n; ++i)
  {
    if (!std::isfinite(data[i].real()) || !std::isfinite(data[i].imag()))
    {
      const int64_t pixel = i / d.coils;
      std::ostringstream msg;
      msg << "the " << what << " contain NaN or Inf at pixel (x " << pixel % d.width << ", y " << pixel / d.width
          << "), coil " << i % d.coils << ": repair or drop the corrupt data before reconstructing";
      Fail(msg.str());
    }
  }
}

void
CheckData(const MultiCoilData & d)
{
  if (d.kSpace == nullptr || d.mask == nullptr)
    Fail("k-space and sampling mask are both required");
  if (d.height < 1 || d.width < 1 || d.coils < 1)
    Fail("the image size and coil count must be positive");
  if (d.coilMaps == nullptr && d.coils != 1)
    Fail("multi-coil k-space (" + std::to_string(d.coils) +
         " coils) needs coil sensitivity maps; estimate them from the calibration region");
  CheckFinite(d.kSpace, d, "k-space data");
  if (d.coilMaps != nullptr)
    CheckFinite(d.coilMaps, d, "coil sensitivities");
  int64_t sampled = 0;
  for (int64_t i = 0; i < d.height * d.width; ++i)
    sampled += d.mask[i] != 0;
  if (sampled == 0)
    Fail("the sampling mask is empty: no k-space sample would be used");
}

/** [H, W, C] pixel-interleaved (ITK) to [C, H, W] (coil-major, for batched FFTs). */
torch::Tensor
CoilMajor(const std::complex<float> * data, const MultiCoilData & d)
{
  return torch::from_blob(const_cast<std::complex<float> *>(data), { d.height, d.width, d.coils }, torch::kComplexFloat)
    .permute({ 2, 0, 1 })
    .contiguous();
}

struct Problem
{
  torch::Tensor                  y, maps, mask;
  std::unique_ptr<SENSEOperator> op;
};

Problem
MakeProblem(const MultiCoilData & d, int threads)
{
  Problem p;
  p.mask = torch::from_blob(const_cast<unsigned char *>(d.mask), { d.height, d.width }, torch::kUInt8)
             .ne(0)
             .to(torch::kFloat);
  p.maps = d.coilMaps ? CoilMajor(d.coilMaps, d) : torch::ones({ 1, d.height, d.width }, torch::kComplexFloat);
  if (p.maps.abs().max().item<float>() == 0.0f)
    Fail("the coil sensitivity maps are zero everywhere");
  p.y = CoilMajor(d.kSpace, d) * p.mask; // samples outside the mask are not data
  p.op = std::make_unique<SENSEOperator>(p.maps, p.mask, threads);
  return p;
}
} // namespace

ThreadCountScope::ThreadCountScope(int threads)
  : m_Previous(at::get_num_threads())
{
  TranslateErrors("dapsmri::ThreadCountScope", [threads] {
    if (threads < 0 || threads > MaximumThreads)
      Fail("the thread count must be 0 (all cores) to " + std::to_string(MaximumThreads) + ", got " +
           std::to_string(threads));
  });
  at::set_num_threads(threads > 0 ? threads : AvailableCores());
}

ThreadCountScope::~ThreadCountScope()
{
  at::set_num_threads(m_Previous);
}

ReconstructionResult
Reconstruct(const Prior & prior, const MultiCoilData & data, const ReconstructionSettings & settings,
            const ProgressFunction & progress)
{
  return TranslateErrors("dapsmri::Reconstruct", [&] {
    if (!prior.IsSet())
      Fail("no prior is set: load a model (SetModelFileName / --model) or give an analytic prior");
    Validate(settings.daps);
    CheckData(data);
    if (settings.intensityScale < 0.0 || !std::isfinite(settings.intensityScale))
      Fail("the intensity scale must be positive (or 0 to estimate it)");
    if (settings.noiseStandardDeviation < 0.0 || !std::isfinite(settings.noiseStandardDeviation))
      Fail("the noise standard deviation must be positive (or 0 when unknown)");
    const ThreadCountScope threads(settings.threads);
    torch::NoGradGuard     noGrad;
    auto                   problem = MakeProblem(data, settings.threads);

    ReconstructionResult result;
    result.intensityScale = settings.intensityScale > 0.0 ? settings.intensityScale
                            : prior.Normalization() == "p99_magnitude"
                              ? EstimateIntensityScale(*problem.op, problem.y, problem.mask)
                              : 1.0;
    const auto y = problem.y / result.intensityScale;
    DAPSConfig config = settings.daps;
    if (settings.noiseStandardDeviation > 0.0)
    {
      const double tau = settings.noiseStandardDeviation / result.intensityScale;
      config.stepSize *= (tau / config.tau) * (tau / config.tau);
      config.tau = tau;
    }
    result.tau = config.tau;
    // The loop runs on the prior's device with an operator for it; the intensity scale and the
    // residual are computed once on the CPU.
    const auto                device = prior.GetDenoiser()->Device();
    std::unique_ptr<Operator> deviceOperator;
    if (!device.is_cpu())
      deviceOperator = MakeSENSEOperator(problem.maps, problem.mask, device, settings.threads);
    DAPSSampler sampler(*prior.GetDenoiser(), deviceOperator ? *deviceOperator : *problem.op, config);
    auto        samples = sampler.Run(y, progress).to(torch::kCPU);
    result.statistics = sampler.Statistics();

    auto mean = samples.mean(0);
    result.relativeResidual = std::sqrt(problem.op->ResidualNorm2(mean.unsqueeze(0), y.unsqueeze(0)).item<double>() /
                                        std::max(1e-30, y.abs().pow(2).sum().item<double>()));
    mean = (mean * result.intensityScale).contiguous();
    const auto * m = reinterpret_cast<const std::complex<float> *>(mean.data_ptr<c10::complex<float>>());
    result.mean.assign(m, m + mean.numel());
    if (samples.size(0) > 1)
    {
      // Complex std: sqrt(E |x - mean|^2), unbiased over the samples.
      auto std = ((samples - samples.mean(0)).abs().pow(2).sum(0) / (samples.size(0) - 1)).sqrt() *
                 result.intensityScale;
      std = std.to(torch::kFloat).contiguous();
      result.standardDeviation.assign(std.data_ptr<float>(), std.data_ptr<float>() + std.numel());
    }
    return result;
  });
}

std::vector<std::complex<float>>
SamplePrior(const Prior & prior, int64_t height, int64_t width, int count, const ReconstructionSettings & settings,
            const ProgressFunction & progress)
{
  return TranslateErrors("dapsmri::SamplePrior", [&] {
    if (!prior.IsSet())
      Fail("no prior is set");
    if (height < 1 || width < 1 || count < 1)
      Fail("the image size and the number of samples must be positive");
    auto config = settings.daps;
    config.samples = count;
    Validate(config);
    const ThreadCountScope threads(settings.threads);
    torch::NoGradGuard     noGrad;
    NullOperator       nothing(height, width);
    DAPSSampler        sampler(*prior.GetDenoiser(), nothing, config);
    auto samples = sampler.Run(torch::zeros({ 1 }, torch::kComplexFloat), progress).to(torch::kCPU).contiguous();
    const auto *       p = reinterpret_cast<const std::complex<float> *>(samples.data_ptr<c10::complex<float>>());
    return std::vector<std::complex<float>>(p, p + samples.numel());
  });
}

std::vector<std::complex<float>>
ZeroFilledImage(const MultiCoilData & data, int threads)
{
  return TranslateErrors("dapsmri::ZeroFilledImage", [&] {
    CheckData(data);
    const ThreadCountScope scope(threads);
    torch::NoGradGuard     noGrad;
    auto                   problem = MakeProblem(data, threads);
    auto               image = problem.op->Adjoint(problem.y.unsqueeze(0))[0].contiguous();
    const auto *       p = reinterpret_cast<const std::complex<float> *>(image.data_ptr<c10::complex<float>>());
    return std::vector<std::complex<float>>(p, p + image.numel());
  });
}

} // namespace dapsmri
