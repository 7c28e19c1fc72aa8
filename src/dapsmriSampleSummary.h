#ifndef dapsmriSampleSummary_h
#define dapsmriSampleSummary_h

// What the facades report of DAPS's samples: their mean and per-pixel spread, in data units.
#include "dapsmriOperator.h"
#include "dapsmriReconstruction.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace dapsmri
{

/** result.mean = the mean of samples [K, H, W] (CPU) times scale; for K > 1 result.standardDeviation
 * = the complex std sqrt(sum_k |x_k - mean|^2 / (K - 1)) times scale, else empty. */
inline void
SummariseSamples(const torch::Tensor & samples, double scale, ReconstructionResult & result)
{
  const auto mean = samples.mean(0);
  const auto scaled = (mean * scale).contiguous();
  const auto * m = reinterpret_cast<const std::complex<float> *>(scaled.data_ptr<c10::complex<float>>());
  result.mean.assign(m, m + scaled.numel());
  result.standardDeviation.clear();
  if (samples.size(0) > 1)
  {
    const auto std = (((samples - mean).abs().pow(2).sum(0) / (samples.size(0) - 1)).sqrt() * scale)
                       .to(torch::kFloat)
                       .contiguous();
    result.standardDeviation.assign(std.data_ptr<float>(), std.data_ptr<float>() + std.numel());
  }
}

/** ||A(image) - y|| / ||y|| for one image [H, W] and its measurement y (no batch dimension). */
inline double
RelativeResidual(const Operator & op, const torch::Tensor & image, const torch::Tensor & y)
{
  return std::sqrt(op.ResidualNorm2(image.unsqueeze(0), y.unsqueeze(0)).item<double>() /
                   std::max(1e-30, y.abs().pow(2).sum().item<double>()));
}

} // namespace dapsmri

#endif
