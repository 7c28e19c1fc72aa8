#include "dapsmriSENSEOperator.h"

#ifdef DAPSMRI_CUDA_SENSE_OPERATOR
#  include "dapsmriCudaSENSEOperator.h"
#endif

#include <ATen/Parallel.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace dapsmri
{

namespace
{
using Complex = std::complex<float>;

// The element-wise kernels below are compiled twice, for baseline x86-64 and for AVX2 + FMA,
// and the loader picks one at start-up: they run once per coil image on each side of every
// FFT, and with SSE2 alone they would cost as much as a third of the FFTs.
#if defined(__x86_64__) && defined(__has_attribute)
#  if __has_attribute(target_clones)
#    define DAPSMRI_VECTOR_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#  endif
#endif
#ifndef DAPSMRI_VECTOR_KERNEL
#  define DAPSMRI_VECTOR_KERNEL
#endif

// Plain complex products: std::complex's operator* checks for NaN / Inf (Annex G) and calls
// a library routine, several times slower in these memory-bound loops.
inline Complex
Mul(Complex a, Complex b)
{
  return { a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real() };
}
inline Complex
ConjMul(Complex a, Complex b) // conj(a) * b
{
  return { a.real() * b.real() + a.imag() * b.imag(), a.real() * b.imag() - a.imag() * b.real() };
}

DAPSMRI_VECTOR_KERNEL void
CoilProduct(Complex * out, const Complex * s, const Complex * x, int64_t n) // out = s x
{
  for (int64_t i = 0; i < n; ++i)
    out[i] = Mul(s[i], x[i]);
}

DAPSMRI_VECTOR_KERNEL void
MaskScale(Complex * out, const float * m, const Complex * k, float scale, int64_t n) // out = m scale k
{
  for (int64_t i = 0; i < n; ++i)
    out[i] = (m[i] * scale) * k[i];
}

DAPSMRI_VECTOR_KERNEL void
MaskResidual(Complex * k, const float * m, const Complex * y, float scale, int64_t n) // k = m (scale k - y)
{
  for (int64_t i = 0; i < n; ++i)
    k[i] = m[i] * (scale * k[i] - y[i]);
}

DAPSMRI_VECTOR_KERNEL void
CoilCombine(Complex * out, const Complex * s, const Complex * w, float scale, bool add, int64_t n) // out (+)= scale conj(s) w
{
  if (add)
    for (int64_t i = 0; i < n; ++i)
      out[i] += scale * ConjMul(s[i], w[i]);
  else
    for (int64_t i = 0; i < n; ++i)
      out[i] = scale * ConjMul(s[i], w[i]);
}

// A centered row of length n and its FFT-native (ifftshifted) position are a cyclic shift:
// centered [0, n/2) lands at native [ceil(n/2), n), centered [n/2, n) at native [0, ceil(n/2)).
// Calls f(centeredStart, nativeStart, length) for the two contiguous pieces.
template <typename F>
inline void
ForEachShiftedPiece(int64_t n, F && f)
{
  const int64_t half = n / 2, rest = n - half;
  f(0, rest, half);
  f(half, 0, rest);
}
} // namespace

void
CheckSENSEInputs(const torch::Tensor & coilMaps, const torch::Tensor & mask)
{
  if (coilMaps.dim() != 3 || !coilMaps.is_complex())
  {
    std::ostringstream msg;
    msg << "coil sensitivities must be a complex tensor [coils, H, W], got " << coilMaps.sizes();
    throw std::invalid_argument(msg.str());
  }
  if (mask.dim() != 2 || mask.size(0) != coilMaps.size(1) || mask.size(1) != coilMaps.size(2))
  {
    std::ostringstream msg;
    msg << "the sampling mask must be [H, W] = [" << coilMaps.size(1) << ", " << coilMaps.size(2)
        << "] like the coil sensitivities, got " << mask.sizes();
    throw std::invalid_argument(msg.str());
  }
}

void
CheckKSpaceBatch(const torch::Tensor & y, int64_t batch, int64_t coils, int64_t height, int64_t width)
{
  if (y.scalar_type() != torch::kComplexFloat || y.dim() != 4 || y.size(0) != batch || y.size(1) != coils ||
      y.size(2) != height || y.size(3) != width)
  {
    std::ostringstream msg;
    msg << "k-space must be a complex float tensor [" << batch << ", " << coils << ", " << height << ", "
        << width << "], got " << y.scalar_type() << " " << y.sizes();
    throw std::invalid_argument(msg.str());
  }
}

SENSEOperator::SENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask, int threads)
  : m_Threads(threads)
{
  CheckSENSEInputs(coilMaps, mask);
  m_Coils = coilMaps.size(0);
  m_Height = coilMaps.size(1);
  m_Width = coilMaps.size(2);
  m_CoilMaps = coilMaps.to(torch::kCPU, torch::kComplexFloat).contiguous();
  m_Mask = (mask.to(torch::kCPU) != 0).to(torch::kFloat).contiguous();
  m_Support = SensitiveRegion(m_CoilMaps);
  const auto sampled = m_Mask.sum(1);
  for (int64_t y = 0; y < m_Height; ++y)
  {
    m_RowSampled.push_back(sampled[y].item<float>() > 0.0f);
  }
}

std::vector<SENSEOperator::Worker> &
SENSEOperator::WorkersFor(int64_t batch) const
{
  // Enough shares to keep every thread busy; a transform gets the threads left over when
  // there are fewer (image, coil) pairs than threads (one coil, one image).
  const int64_t threads = m_Threads > 0 ? m_Threads : DefaultThreadCount();
  const int64_t pairs = batch * m_Coils;
  const int64_t shares = std::min(threads, pairs);
  if (static_cast<int64_t>(m_Workers.size()) != shares || m_WorkersBatch != batch)
  {
    const int fftThreads = static_cast<int>(std::max<int64_t>(1, threads / shares));
    std::vector<Worker> workers(static_cast<size_t>(shares));
    for (auto & w : workers)
    {
      w.fft = std::make_unique<CenteredFFT>(1, m_Height, m_Width, fftThreads);
      w.partial.resize(static_cast<size_t>(batch * m_Height * m_Width));
      w.wrote.resize(static_cast<size_t>(batch));
    }
    m_Workers = std::move(workers);
    m_WorkersBatch = batch;
  }
  return m_Workers;
}

void
SENSEOperator::Run(Chain chain, const Complex * x, const Complex * y, Complex * out, int64_t batch) const
{
  auto &          workers = WorkersFor(batch);
  const int64_t   shares = static_cast<int64_t>(workers.size());
  const int64_t   H = m_Height, W = m_Width, C = m_Coils, pairs = batch * C;
  const Complex * maps = reinterpret_cast<const Complex *>(m_CoilMaps.data_ptr<c10::complex<float>>());
  const float *   mask = m_Mask.data_ptr<float>();
  const float     scale = workers.front().fft->Scale();
  const auto &    rows = workers.front().fft->RowToNative();

  // One (image b, coil c) pair on one worker; `first` when it starts that worker's sum for b.
  auto runPair = [&](Worker & worker, int64_t b, int64_t c, bool first) {
    CenteredFFT & fft = *worker.fft;
    Complex *     work = fft.Workspace();
    if (chain == Chain::Adjoint)
    {
      // Masked k-space into native order; unsampled rows are zero.
      for (int64_t ky = 0; ky < H; ++ky)
      {
        Complex *       w = work + rows[ky] * W;
        const float *   m = mask + ky * W;
        const Complex * ys = y + ((b * C + c) * H + ky) * W;
        if (!m_RowSampled[static_cast<size_t>(ky)])
          std::fill(w, w + W, Complex(0.0f, 0.0f));
        else
          ForEachShiftedPiece(W, [&](int64_t from, int64_t to, int64_t len) {
            MaskScale(w + to, m + from, ys + from, 1.0f, len);
          });
      }
    }
    else
    {
      // S_c x_b into native order, then to k-space.
      for (int64_t row = 0; row < H; ++row)
      {
        const Complex * xs = x + (b * H + row) * W;
        const Complex * s = maps + (c * H + row) * W;
        Complex *       w = work + rows[row] * W;
        ForEachShiftedPiece(W, [&](int64_t from, int64_t to, int64_t len) { CoilProduct(w + to, s + from, xs + from, len); });
      }
      fft.ExecuteForward();
      // Scale and mask (and subtract y for the gradient) in place, or into y for Forward.
      for (int64_t ky = 0; ky < H; ++ky)
      {
        Complex *     w = work + rows[ky] * W;
        const float * m = mask + ky * W;
        Complex *     dst = chain == Chain::Forward ? out + ((b * C + c) * H + ky) * W : w;
        if (!m_RowSampled[static_cast<size_t>(ky)])
        {
          std::fill(dst, dst + W, Complex(0.0f, 0.0f));
          continue;
        }
        ForEachShiftedPiece(W, [&](int64_t from, int64_t to, int64_t len) {
          if (chain == Chain::Forward)
            MaskScale(dst + from, m + from, w + to, scale, len);
          else if (chain == Chain::Gradient)
            MaskResidual(w + to, m + from, y + ((b * C + c) * H + ky) * W + from, scale, len);
          else
            MaskScale(w + to, m + from, w + to, scale, len);
        });
      }
      if (chain == Chain::Forward)
        return;
    }
    fft.ExecuteInverse();
    // sum_c conj(S_c) w into this worker's partial image for b.
    Complex * sum = worker.partial.data() + b * H * W;
    for (int64_t row = 0; row < H; ++row)
    {
      const Complex * s = maps + (c * H + row) * W;
      const Complex * w = work + rows[row] * W;
      Complex *       dst = sum + row * W;
      ForEachShiftedPiece(W, [&](int64_t from, int64_t to, int64_t len) {
        CoilCombine(dst + from, s + from, w + to, scale, !first, len);
      });
    }
  };

  // Worker k takes the contiguous pairs [k * pairs / shares, (k + 1) * pairs / shares).
  at::parallel_for(0, shares, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k)
    {
      Worker & worker = workers[static_cast<size_t>(k)];
      std::fill(worker.wrote.begin(), worker.wrote.end(), false);
      for (int64_t pair = k * pairs / shares; pair < (k + 1) * pairs / shares; ++pair)
      {
        const int64_t b = pair / C;
        runPair(worker, b, pair % C, !worker.wrote[static_cast<size_t>(b)]);
        worker.wrote[static_cast<size_t>(b)] = true;
      }
    }
  });
  if (chain == Chain::Forward)
    return;
  // Add up the workers' partial sums.
  at::parallel_for(0, batch * H, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
    {
      const int64_t b = r / H;
      Complex *     dst = out + r * W;
      bool          any = false;
      for (const auto & worker : workers)
      {
        if (!worker.wrote[static_cast<size_t>(b)])
          continue;
        const Complex * src = worker.partial.data() + r * W;
        for (int64_t i = 0; i < W; ++i)
          dst[i] = any ? dst[i] + src[i] : src[i];
        any = true;
      }
    }
  });
}

torch::Tensor
SENSEOperator::Forward(const torch::Tensor & xIn) const
{
  CheckImageBatch(xIn, ImageShape(), "the image");
  const auto    x = xIn.contiguous();
  const int64_t B = x.size(0);
  auto          y = torch::empty({ B, m_Coils, m_Height, m_Width }, x.options());
  Run(Chain::Forward, reinterpret_cast<const Complex *>(x.data_ptr<c10::complex<float>>()), nullptr,
      reinterpret_cast<Complex *>(y.data_ptr<c10::complex<float>>()), B);
  return y;
}

torch::Tensor
SENSEOperator::Adjoint(const torch::Tensor & yIn) const
{
  CheckKSpaceBatch(yIn, yIn.dim() == 4 ? yIn.size(0) : 1, m_Coils, m_Height, m_Width);
  const auto    y = yIn.contiguous();
  const int64_t B = y.size(0);
  auto          x = torch::empty({ B, m_Height, m_Width }, y.options());
  Run(Chain::Adjoint, nullptr, reinterpret_cast<const Complex *>(y.data_ptr<c10::complex<float>>()),
      reinterpret_cast<Complex *>(x.data_ptr<c10::complex<float>>()), B);
  return x;
}

torch::Tensor
SENSEOperator::DataGradient(const torch::Tensor & xIn, const torch::Tensor & yIn) const
{
  CheckImageBatch(xIn, ImageShape(), "the image");
  CheckKSpaceBatch(yIn, xIn.size(0), m_Coils, m_Height, m_Width);
  CountGradient();
  const auto x = xIn.contiguous();
  const auto y = yIn.contiguous();
  auto       grad = torch::empty_like(x);
  Run(Chain::Gradient, reinterpret_cast<const Complex *>(x.data_ptr<c10::complex<float>>()),
      reinterpret_cast<const Complex *>(y.data_ptr<c10::complex<float>>()),
      reinterpret_cast<Complex *>(grad.data_ptr<c10::complex<float>>()), x.size(0));
  return grad;
}

torch::Tensor
SENSEOperator::Normal(const torch::Tensor & xIn) const
{
  CheckImageBatch(xIn, ImageShape(), "the image");
  CountGradient();
  const auto x = xIn.contiguous();
  auto       out = torch::empty_like(x);
  Run(Chain::Normal, reinterpret_cast<const Complex *>(x.data_ptr<c10::complex<float>>()), nullptr,
      reinterpret_cast<Complex *>(out.data_ptr<c10::complex<float>>()), x.size(0));
  return out;
}

// ---------------------------------------------------------------------------------------------
torch::Tensor
SensitiveRegion(const torch::Tensor & coilMaps)
{
  const auto sensitive = coilMaps.abs().sum(0) > 0.0f;
  return sensitive.all().item<bool>() ? torch::Tensor() : sensitive.to(torch::kFloat);
}

torch::Tensor
CenteredFFT2(const torch::Tensor & x)
{
  const std::vector<int64_t> dims{ -2, -1 };
  return torch::fft::fftshift(torch::fft::fft2(torch::fft::ifftshift(x, dims), {}, dims, "ortho"), dims);
}

torch::Tensor
CenteredIFFT2(const torch::Tensor & k)
{
  const std::vector<int64_t> dims{ -2, -1 };
  return torch::fft::fftshift(torch::fft::ifft2(torch::fft::ifftshift(k, dims), {}, dims, "ortho"), dims);
}

TorchSENSEOperator::TorchSENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask)
{
  CheckSENSEInputs(coilMaps, mask);
  m_CoilMaps = coilMaps.to(torch::kComplexFloat).contiguous();
  m_Mask = (mask != 0).to(coilMaps.device(), torch::kFloat);
  m_Support = SensitiveRegion(m_CoilMaps);
}

torch::Tensor
TorchSENSEOperator::Forward(const torch::Tensor & x) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  return CenteredFFT2(x.unsqueeze(1) * m_CoilMaps) * m_Mask;
}

torch::Tensor
TorchSENSEOperator::Adjoint(const torch::Tensor & y) const
{
  return (CenteredIFFT2(y * m_Mask) * m_CoilMaps.conj()).sum(1);
}

std::unique_ptr<Operator>
MakeSENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask, const torch::Device & device, int threads)
{
  if (device.is_cpu())
    return std::make_unique<SENSEOperator>(coilMaps, mask, threads);
#ifdef DAPSMRI_CUDA_SENSE_OPERATOR
  if (device.is_cuda())
    return std::make_unique<CudaSENSEOperator>(coilMaps, mask, device);
#endif
  return std::make_unique<TorchSENSEOperator>(coilMaps.to(device), mask.to(device));
}

} // namespace dapsmri
