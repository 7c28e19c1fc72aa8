#include "dapsmriReconstruction.h"

#include "dapsmriCenteredFFT.h"
#include "dapsmriErrors.h"
#include "dapsmriIntensityScale.h"
#include "dapsmriSampleSummary.h"
#include "dapsmriSENSEOperator.h"
#include "dapsmriSliceBatch.h"
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

/** Runs one batch of slices as one stack of problems and fills their results. */
void
ReconstructBatch(const Prior & prior, const std::vector<MultiCoilData> & slices,
                 const ReconstructionSettings & settings, const ProgressCallback & progress,
                 std::vector<ReconstructionResult> & results)
{
  const int64_t             S = static_cast<int64_t>(slices.size());
  const auto                device = prior.GetDenoiser()->Device();
  DAPSConfig                config = settings.daps;
  std::vector<Problem>      problems;
  std::vector<torch::Tensor> measurements; // y / intensity scale, per slice
  std::vector<double>       taus;
  for (int64_t s = 0; s < S; ++s)
  {
    problems.push_back(MakeProblem(slices[static_cast<size_t>(s)], settings.threads));
    auto & result = results[static_cast<size_t>(s)];
    result.intensityScale = settings.intensityScale > 0.0 ? settings.intensityScale
                            : prior.Normalization() == "p99_magnitude"
                              ? EstimateIntensityScale(*problems.back().op, problems.back().y, problems.back().mask)
                              : 1.0;
    measurements.push_back(problems.back().y / result.intensityScale);
    taus.push_back(settings.noiseStandardDeviation > 0.0 ? settings.noiseStandardDeviation / result.intensityScale
                                                         : config.tau);
  }
  // One tau for the stack: the smallest, with the step size scaled by (tau / configured tau)^2 as
  // for one slice; each slice keeps its own data term through its weight tau / tau_s <= 1.
  const double tau = *std::min_element(taus.begin(), taus.end());
  if (settings.noiseStandardDeviation > 0.0)
    config = WithNoiseLevel(config, tau);
  // The loop runs on the prior's device; the intensity scales and residuals are computed on the CPU.
  std::vector<std::shared_ptr<const Operator>> operators;
  std::vector<double>                          weights;
  std::vector<torch::Tensor>                   weighted;
  for (int64_t s = 0; s < S; ++s)
  {
    auto & p = problems[static_cast<size_t>(s)];
    if (device.is_cpu())
      operators.push_back(std::move(p.op));
    else
      operators.push_back(MakeSENSEOperator(p.maps, p.mask, device, settings.threads));
    weights.push_back(tau / taus[static_cast<size_t>(s)]);
    weighted.push_back(measurements[static_cast<size_t>(s)] * weights.back());
  }
  const StackedOperator stack(operators, weights);
  const Operator &      op = S == 1 ? *operators.front() : stack;
  DAPSSampler           sampler(*prior.GetDenoiser(), op, config);
  const auto            samples = sampler.Run(S == 1 ? measurements.front() : torch::stack(weighted), progress)
                           .to(torch::kCPU)
                           .reshape({ S, config.samples, slices.front().height, slices.front().width });

  for (int64_t s = 0; s < S; ++s)
  {
    auto &       result = results[static_cast<size_t>(s)];
    const auto & y = measurements[static_cast<size_t>(s)];
    const auto & sliceOperator = device.is_cpu() ? *operators[static_cast<size_t>(s)]
                                                 : *problems[static_cast<size_t>(s)].op; // on the CPU
    const auto   chains = samples[s];
    result.statistics = sampler.Statistics();
    result.tau = taus[static_cast<size_t>(s)];
    result.relativeResidual = RelativeResidual(sliceOperator, chains.mean(0), y);
    SummariseSamples(chains, result.intensityScale, result);
  }
}
} // namespace

/** Slices per batch: as set, else as many as fit a budget of pixels per network call (the CPU
 * runs the network in chunks of 256 x 256 pixels anyway; a GPU's memory holds far more). */
int64_t
SlicesPerBatch(const Prior & prior, const ReconstructionSettings & settings, int64_t height, int64_t width)
{
  if (settings.sliceBatch > 0)
    return settings.sliceBatch;
  const int64_t budget = (prior.GetDenoiser()->Device().is_cpu() ? 4 : 32) * 256 * 256;
  return std::max<int64_t>(1, budget / std::max<int64_t>(1, height * width * settings.daps.samples));
}

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

std::vector<ReconstructionResult>
ReconstructSlices(const Prior & prior, const std::vector<MultiCoilData> & slices,
                  const ReconstructionSettings & settings, const ProgressFunction & progress)
{
  return TranslateErrors("dapsmri::ReconstructSlices", [&] {
    if (!prior.IsSet())
      Fail("no prior is set: load a model (SetModelFileName / --model) or give an analytic prior");
    Validate(settings.daps);
    if (slices.empty())
      Fail("there are no slices to reconstruct");
    for (size_t s = 0; s < slices.size(); ++s)
    {
      try
      {
        CheckData(slices[s]);
      }
      catch (const std::invalid_argument & e)
      {
        Fail(slices.size() == 1 ? e.what() : "slice " + std::to_string(s) + ": " + e.what());
      }
      if (slices[s].height != slices.front().height || slices[s].width != slices.front().width)
        Fail("the slices of a volume must have one size: slice " + std::to_string(s) + " is " +
             std::to_string(slices[s].width) + " x " + std::to_string(slices[s].height) + ", slice 0 " +
             std::to_string(slices.front().width) + " x " + std::to_string(slices.front().height));
    }
    if (settings.intensityScale < 0.0 || !std::isfinite(settings.intensityScale))
      Fail("the intensity scale must be positive (or 0 to estimate it)");
    if (settings.noiseStandardDeviation < 0.0 || !std::isfinite(settings.noiseStandardDeviation))
      Fail("the noise standard deviation must be positive (or 0 when unknown)");
    if (settings.sliceBatch < 0 || settings.sliceBatch > MaximumSliceBatch)
      Fail("the slice batch must be 0 (automatic) to " + std::to_string(MaximumSliceBatch) + ", got " +
           std::to_string(settings.sliceBatch));
    const ThreadCountScope threads(settings.threads);
    torch::NoGradGuard     noGrad;

    // Batches of slices, each one stack of problems; one progress count over the whole volume.
    const int64_t perBatch = SlicesPerBatch(prior, settings, slices.front().height, slices.front().width);
    const int64_t count = static_cast<int64_t>(slices.size());
    const int     batches = static_cast<int>((count + perBatch - 1) / perBatch);
    const int     steps = settings.daps.annealingSteps;
    std::vector<ReconstructionResult> results(slices.size());
    for (int b = 0; b < batches; ++b)
    {
      const auto first = slices.begin() + b * perBatch, last = slices.begin() + std::min(count, (b + 1) * perBatch);
      std::vector<ReconstructionResult> part(static_cast<size_t>(last - first));
      ReconstructBatch(prior, std::vector<MultiCoilData>(first, last), settings,
                       [&](int done, int) { return !progress || progress(b * steps + done, batches * steps); }, part);
      for (auto & r : part)
        r.batch = b;
      std::move(part.begin(), part.end(), results.begin() + b * perBatch);
    }
    return results;
  });
}

ReconstructionResult
Reconstruct(const Prior & prior, const MultiCoilData & data, const ReconstructionSettings & settings,
            const ProgressFunction & progress)
{
  return std::move(ReconstructSlices(prior, { data }, settings, progress).front());
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

ResultsSummary
Summarise(const std::vector<ReconstructionResult> & results, size_t first, size_t last)
{
  ResultsSummary summary;
  last = std::min(last, results.size());
  if (first < last)
    summary.smallestTau = results[first].tau;
  for (size_t s = first; s < last; ++s)
  {
    const auto & r = results[s];
    summary.largestIntensityScale = std::max(summary.largestIntensityScale, r.intensityScale);
    summary.largestRelativeResidual = std::max(summary.largestRelativeResidual, r.relativeResidual);
    summary.smallestTau = std::min(summary.smallestTau, r.tau);
    if (s == first || r.batch != results[s - 1].batch) // each batch's cost once
      summary.statistics += r.statistics;
  }
  return summary;
}

} // namespace dapsmri
