#ifndef dapsmriTestUtilities_h
#define dapsmriTestUtilities_h

// Helpers shared by the engine tests: random data and dense references.
#include "dapsmriOperator.h"

#include <torch/torch.h>

#include <cmath>
#include <complex>

namespace dapsmri::testing
{

inline torch::Tensor
RandomComplex(std::vector<int64_t> shape, uint64_t seed)
{
  auto generator = at::detail::createCPUGenerator(seed);
  shape.push_back(2);
  return torch::view_as_complex(torch::randn(shape, generator, torch::kFloat)).clone();
}

/** Smooth, unit-sum-of-squares coil maps [C, H, W] (Gaussian blobs around the image, random phase). */
inline torch::Tensor
SmoothCoilMaps(int64_t C, int64_t H, int64_t W)
{
  auto y = torch::linspace(-1.0, 1.0, H).reshape({ H, 1 });
  auto x = torch::linspace(-1.0, 1.0, W).reshape({ 1, W });
  std::vector<torch::Tensor> maps;
  for (int64_t c = 0; c < C; ++c)
  {
    const double angle = 2.0 * M_PI * static_cast<double>(c) / static_cast<double>(C);
    auto         magnitude = torch::exp(-((x - 1.5 * std::cos(angle)).pow(2) + (y - 1.5 * std::sin(angle)).pow(2)) / 2.0);
    auto         phase = angle + 0.5 * x - 0.3 * y;
    maps.push_back(torch::polar(magnitude, phase.expand({ H, W })));
  }
  auto stack = torch::stack(maps);
  return stack / stack.abs().pow(2).sum(0, true).sqrt();
}

/** Column j of the real matrix of a complex-linear map f: R^{2n} -> R^{2m}, built by
 * applying f to the unit vectors e_j and i e_j. Returns [2m, 2n] in double precision. */
template <typename F>
torch::Tensor
DenseRealMatrix(F && f, int64_t H, int64_t W)
{
  const int64_t n = H * W;
  std::vector<torch::Tensor> columns;
  for (int part = 0; part < 2; ++part)
  {
    for (int64_t j = 0; j < n; ++j)
    {
      auto e = torch::zeros({ 1, H, W }, torch::kComplexFloat);
      e.view({ -1 })[j] = part == 0 ? c10::complex<float>(1.0f, 0.0f) : c10::complex<float>(0.0f, 1.0f);
      auto out = f(e).reshape({ -1 });
      columns.push_back(torch::cat({ torch::real(out), torch::imag(out) }).to(torch::kDouble));
    }
  }
  return torch::stack(columns, 1);
}

/** [re; im] of a complex tensor, flattened, double. */
inline torch::Tensor
RealVector(const torch::Tensor & z)
{
  auto flat = z.reshape({ -1 });
  return torch::cat({ torch::real(flat), torch::imag(flat) }).to(torch::kDouble);
}

inline double
RelativeError(const torch::Tensor & a, const torch::Tensor & b)
{
  return (a - b).abs().max().item<double>() / std::max(1e-30, b.abs().max().item<double>());
}

} // namespace dapsmri::testing

#endif
