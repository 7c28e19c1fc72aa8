#include "dapsmriTaskOperators.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

namespace dapsmri
{

namespace
{
void
CheckSize(int64_t height, int64_t width)
{
  if (height < 1 || width < 1)
    throw std::invalid_argument("the image size must be positive, got " + std::to_string(width) + " x " +
                                std::to_string(height));
}

/** [B, H, W] complex -> [B, 2, H, W] real (channels real, imaginary), and back. */
torch::Tensor
Planar(const torch::Tensor & x)
{
  return torch::view_as_real(x).permute({ 0, 3, 1, 2 });
}
torch::Tensor
FromPlanar(const torch::Tensor & p)
{
  return torch::view_as_complex(p.permute({ 0, 2, 3, 1 }).contiguous());
}

/** A^H y of a linear map by autograd: the gradient of Re <A x, y> in x (at x = 0). */
template <typename F>
torch::Tensor
AdjointByAutograd(F && forward, const torch::Tensor & y, std::vector<int64_t> imageShape)
{
  torch::AutoGradMode enable(true);
  imageShape.insert(imageShape.begin(), y.size(0));
  auto x = torch::zeros(imageShape, y.options()).requires_grad_(true);
  auto inner = torch::real((forward(x).conj() * y).sum());
  return torch::autograd::grad({ inner }, { x })[0].detach();
}

/** Laplace's equation on [N, 1, H, W] by Jacobi sweeps where `free`, the other pixels fixed. */
torch::Tensor
JacobiSweeps(torch::Tensor image, const torch::Tensor & free, int sweeps)
{
  namespace F = torch::nn::functional;
  const auto neighbours =
    torch::tensor({ 0.0f, 0.25f, 0.0f, 0.25f, 0.0f, 0.25f, 0.0f, 0.25f, 0.0f }, image.options()).view({ 1, 1, 3, 3 });
  for (int sweep = 0; sweep < sweeps; ++sweep)
  {
    const auto mean = F::conv2d(F::pad(image, F::PadFuncOptions({ 1, 1, 1, 1 }).mode(torch::kReplicate)), neighbours);
    image = torch::where(free, mean, image);
  }
  return image;
}

/** A harmonic fill on [N, 1, H, W] by a coarse-to-fine pyramid: masked block means on the way
 * down (weights: the seen fraction of each block), and on the way up the coarser solution
 * bilinearly up-sampled into the unseen pixels and relaxed there by Jacobi sweeps. */
torch::Tensor
PyramidFill(const torch::Tensor & values, const torch::Tensor & weights)
{
  namespace F = torch::nn::functional;
  const auto estimate = values / weights.clamp_min(1e-12);
  if (values.size(2) <= 2 || values.size(3) <= 2)
    return JacobiSweeps(estimate, weights == 0, 50);
  const auto pool = F::AvgPool2dFuncOptions(2).ceil_mode(true).count_include_pad(false);
  const auto coarse = PyramidFill(F::avg_pool2d(values, pool), F::avg_pool2d(weights, pool));
  const auto up = F::interpolate(coarse, F::InterpolateFuncOptions()
                                           .size(std::vector<int64_t>{ values.size(2), values.size(3) })
                                           .mode(torch::kBilinear)
                                           .align_corners(false));
  return JacobiSweeps(weights * estimate + (1.0 - weights) * up, weights == 0, 1000);
}
} // namespace

torch::Tensor
SmoothFill(const torch::Tensor & image, const torch::Tensor & mask)
{
  torch::NoGradGuard noGrad;
  const auto         seen = (mask != 0).to(torch::kFloat).unsqueeze(0).unsqueeze(0);
  const auto         parts = torch::view_as_real(image.to(torch::kComplexFloat)).permute({ 2, 0, 1 }).unsqueeze(1);
  const auto         filled = PyramidFill(parts * seen, seen.expand_as(parts).contiguous());
  return torch::view_as_complex(filled.squeeze(1).permute({ 1, 2, 0 }).contiguous());
}

torch::Tensor
HybridInputOutput(const torch::Tensor & magnitude, int64_t height, int64_t width, uint64_t seed, int rounds)
{
  torch::NoGradGuard noGrad;
  const auto         y = torch::real(magnitude).to(torch::kFloat);
  auto               support = torch::zeros_like(y, torch::kBool);
  support.narrow(0, 0, height).narrow(1, 0, width).fill_(true);
  auto generator = at::detail::createCPUGenerator(seed);
  auto g = torch::where(support, torch::rand(y.sizes(), generator, y.options()), torch::zeros_like(y));
  for (int round = 0; round < rounds; ++round)
    for (int step = 0; step < 350; ++step)
    {
      const auto spectrum = torch::fft::fft2(g, {}, { -2, -1 }, "ortho");
      const auto projected = torch::real(torch::fft::ifft2(torch::polar(y, torch::angle(spectrum)), {}, { -2, -1 }, "ortho"));
      const auto keep = support.logical_and(projected >= 0);
      g = torch::where(keep, projected, step < 300 ? g - 0.9 * projected : torch::zeros_like(g));
    }
  return torch::complex(g.narrow(0, 0, height).narrow(1, 0, width).contiguous(),
                        torch::zeros({ height, width }, y.options()));
}

// ---------------------------------------------------------------------------------------------
DownsamplingOperator::DownsamplingOperator(int64_t height, int64_t width, int64_t factor, Method method)
  : m_Height(height)
  , m_Width(width)
  , m_Factor(factor)
  , m_Method(method)
{
  CheckSize(height, width);
  if (factor < 1 || height % factor != 0 || width % factor != 0)
  {
    std::ostringstream msg;
    msg << "the down-sampling factor must be a positive divisor of the image size " << width << " x " << height
        << ", got " << factor;
    throw std::invalid_argument(msg.str());
  }
}

torch::Tensor
DownsamplingOperator::Forward(const torch::Tensor & x) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  const int64_t B = x.size(0), f = m_Factor;
  if (m_Method == Method::Area)
    return x.reshape({ B, m_Height / f, f, m_Width / f, f }).mean({ 2, 4 });
  namespace F = torch::nn::functional;
  return FromPlanar(F::interpolate(Planar(x), F::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{ m_Height / f, m_Width / f })
                                                .mode(torch::kBicubic)
                                                .align_corners(false)
                                                .antialias(true)));
}

torch::Tensor
DownsamplingOperator::Adjoint(const torch::Tensor & y) const
{
  if (m_Method == Method::Area)
  {
    const double area = static_cast<double>(m_Factor * m_Factor);
    return y.repeat_interleave(m_Factor, 1).repeat_interleave(m_Factor, 2) / area;
  }
  return AdjointByAutograd([this](const torch::Tensor & x) { return Forward(x); }, y, ImageShape());
}

// ---------------------------------------------------------------------------------------------
InpaintingOperator::InpaintingOperator(const torch::Tensor & mask)
{
  if (mask.dim() != 2 || mask.numel() == 0)
    throw std::invalid_argument("the inpainting mask must be a non-empty 2-D image");
  m_Mask = (mask != 0).to(torch::kFloat);
  if (m_Mask.sum().item<float>() == 0.0f)
    throw std::invalid_argument("the inpainting mask shows no pixel: nothing would be measured");
}

torch::Tensor
InpaintingOperator::Forward(const torch::Tensor & x) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  return x * m_Mask.to(x.device());
}

// ---------------------------------------------------------------------------------------------
BlurOperator::BlurOperator(int64_t height, int64_t width, const torch::Tensor & kernel)
  : m_Height(height)
  , m_Width(width)
{
  CheckSize(height, width);
  if (kernel.dim() != 2 || kernel.is_complex() || kernel.numel() == 0)
    throw std::invalid_argument("the blur kernel must be a real 2-D image");
  const int64_t kh = kernel.size(0), kw = kernel.size(1);
  if (kh > height || kw > width)
  {
    std::ostringstream msg;
    msg << "the blur kernel (" << kw << " x " << kh << ") is larger than the image (" << width << " x " << height
        << ")";
    throw std::invalid_argument(msg.str());
  }
  const auto k = kernel.to(torch::kCPU, torch::kFloat);
  if (!torch::isfinite(k).all().item<bool>())
    throw std::invalid_argument("the blur kernel contains NaN or Inf");
  // The kernel on an H x W grid with its centre at the origin, wrapped around.
  auto wrapped = torch::zeros({ height, width }, torch::kFloat);
  wrapped.narrow(0, 0, kh).narrow(1, 0, kw).copy_(k);
  wrapped = torch::roll(wrapped, { -(kh / 2), -(kw / 2) }, { 0, 1 });
  m_Spectrum = torch::fft::fft2(wrapped.to(torch::kComplexFloat));
}

torch::Tensor
BlurOperator::Forward(const torch::Tensor & x) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  return torch::fft::ifft2(torch::fft::fft2(x) * m_Spectrum.to(x.device()));
}

torch::Tensor
BlurOperator::Adjoint(const torch::Tensor & y) const
{
  CheckImageBatch(y, ImageShape(), "the blurred image");
  return torch::fft::ifft2(torch::fft::fft2(y) * m_Spectrum.to(y.device()).conj());
}

torch::Tensor
GaussianKernel(int64_t size, double sigma)
{
  if (size < 1 || !(sigma > 0.0) || !std::isfinite(sigma))
    throw std::invalid_argument("a Gaussian kernel needs a positive size and standard deviation");
  const auto r = torch::arange(size, torch::kDouble) - static_cast<double>(size / 2);
  const auto g = torch::exp(-r * r / (2.0 * sigma * sigma));
  const auto k = g.unsqueeze(1) * g.unsqueeze(0);
  return (k / k.sum()).to(torch::kFloat);
}

torch::Tensor
MotionKernel(int64_t size, double intensity, uint64_t seed)
{
  if (size < 3 || intensity < 0.0 || intensity > 1.0)
    throw std::invalid_argument("a motion kernel needs a size of at least 3 and an intensity in [0, 1]");
  // The camera drifts with momentum and turns at random, more with the intensity.
  std::mt19937_64                  random(seed);
  std::normal_distribution<double> normal;
  const int                        steps = 4 * static_cast<int>(size);
  double                           angle = 2.0 * M_PI * std::uniform_real_distribution<double>()(random);
  std::vector<double>              xs{ 0.0 }, ys{ 0.0 };
  for (int i = 0; i < steps; ++i)
  {
    angle += intensity * 0.5 * normal(random);
    xs.push_back(xs.back() + std::cos(angle));
    ys.push_back(ys.back() + std::sin(angle));
  }
  // Centre the path and scale it into the kernel, then splat every point bilinearly.
  const auto [xMin, xMax] = std::minmax_element(xs.begin(), xs.end());
  const auto [yMin, yMax] = std::minmax_element(ys.begin(), ys.end());
  const double span = std::max({ *xMax - *xMin, *yMax - *yMin, 1e-9 }), scale = (size - 1) / span;
  const double xMid = 0.5 * (*xMax + *xMin), yMid = 0.5 * (*yMax + *yMin), centre = 0.5 * (size - 1);
  auto         kernel = torch::zeros({ size, size }, torch::kDouble);
  auto         k = kernel.accessor<double, 2>();
  for (size_t i = 0; i < xs.size(); ++i)
  {
    const double  x = centre + (xs[i] - xMid) * scale, y = centre + (ys[i] - yMid) * scale;
    const int64_t x0 = std::min<int64_t>(static_cast<int64_t>(x), size - 2);
    const int64_t y0 = std::min<int64_t>(static_cast<int64_t>(y), size - 2);
    const double  fx = x - x0, fy = y - y0;
    k[y0][x0] += (1 - fx) * (1 - fy);
    k[y0][x0 + 1] += fx * (1 - fy);
    k[y0 + 1][x0] += (1 - fx) * fy;
    k[y0 + 1][x0 + 1] += fx * fy;
  }
  return (kernel / kernel.sum()).to(torch::kFloat);
}

// ---------------------------------------------------------------------------------------------
PhaseRetrievalOperator::PhaseRetrievalOperator(int64_t height, int64_t width, int64_t oversampling)
  : m_Height(height)
  , m_Width(width)
  , m_Oversampling(oversampling)
{
  CheckSize(height, width);
  if (oversampling < 1)
    throw std::invalid_argument("the oversampling of phase retrieval must be at least 1, got " +
                                std::to_string(oversampling));
}

torch::Tensor
PhaseRetrievalOperator::Forward(const torch::Tensor & x) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  const std::vector<int64_t> size{ m_Oversampling * m_Height, m_Oversampling * m_Width };
  return torch::fft::fft2(x, size, { -2, -1 }, "ortho").abs().to(x.scalar_type());
}

// ---------------------------------------------------------------------------------------------
HDROperator::HDROperator(int64_t height, int64_t width, double alpha)
  : m_Height(height)
  , m_Width(width)
  , m_Alpha(alpha)
{
  CheckSize(height, width);
  if (!(alpha > 0.0) || !std::isfinite(alpha))
    throw std::invalid_argument("the HDR factor alpha must be positive and finite, got " + std::to_string(alpha));
}

torch::Tensor
HDROperator::Forward(const torch::Tensor & x) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  return torch::view_as_complex(torch::clamp(m_Alpha * torch::view_as_real(x), -1.0, 1.0));
}

torch::Tensor
HDROperator::DataGradient(const torch::Tensor & x, const torch::Tensor & y) const
{
  CountGradient();
  return m_Alpha * (Forward(x) - y);
}

torch::Tensor
HDROperator::DataPotential(const torch::Tensor & x, const torch::Tensor & y) const
{
  const auto u = m_Alpha * torch::view_as_real(x.to(torch::kComplexDouble));
  const auto c = torch::where(u.abs() <= 1.0, 0.5 * u * u, u.abs() - 0.5);
  return (c - u * torch::view_as_real(y.to(torch::kComplexDouble))).flatten(1).sum(1);
}

} // namespace dapsmri
