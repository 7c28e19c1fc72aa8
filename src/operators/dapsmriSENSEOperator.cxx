#include "dapsmriSENSEOperator.h"

#include <ATen/Parallel.h>

#include <sstream>
#include <stdexcept>

namespace dapsmri
{

namespace
{
using Complex = std::complex<float>;

// A centered row of length n and its FFT-native (ifftshifted) position are a cyclic shift:
// centered [0, n/2) lands at native [ceil(n/2), n), centered [n/2, n) at native [0, ceil(n/2)).
// Calls f(centeredStart, nativeStart, length) for the two contiguous pieces.
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

template <typename F>
inline void
ForEachShiftedPiece(int64_t n, F && f)
{
  const int64_t half = n / 2, rest = n - half;
  f(0, rest, half);
  f(half, 0, rest);
}
} // namespace

SENSEOperator::SENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask, int threads)
  : m_Threads(threads)
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
  m_Coils = coilMaps.size(0);
  m_Height = coilMaps.size(1);
  m_Width = coilMaps.size(2);
  m_CoilMaps = coilMaps.to(torch::kCPU, torch::kComplexFloat).contiguous();
  m_Mask = (mask.to(torch::kCPU) != 0).to(torch::kFloat).contiguous();
  const auto sampled = m_Mask.sum(1);
  for (int64_t y = 0; y < m_Height; ++y)
  {
    m_RowSampled.push_back(sampled[y].item<float>() > 0.0f);
  }
}

CenteredFFT &
SENSEOperator::FFTFor(int64_t batch) const
{
  if (!m_FFT || m_FFT->Count() != batch * m_Coils)
  {
    m_FFT = std::make_unique<CenteredFFT>(batch * m_Coils, m_Height, m_Width, m_Threads);
  }
  return *m_FFT;
}

void
SENSEOperator::CheckKSpace(const torch::Tensor & y, int64_t batch) const
{
  if (y.scalar_type() != torch::kComplexFloat || y.dim() != 4 || y.size(0) != batch || y.size(1) != m_Coils ||
      y.size(2) != m_Height || y.size(3) != m_Width)
  {
    std::ostringstream msg;
    msg << "k-space must be a complex float tensor [" << batch << ", " << m_Coils << ", " << m_Height << ", "
        << m_Width << "], got " << y.scalar_type() << " " << y.sizes();
    throw std::invalid_argument(msg.str());
  }
}

void
SENSEOperator::LoadCoilImages(const Complex * x, int64_t batch) const
{
  auto &          fft = FFTFor(batch);
  Complex *       work = fft.Workspace();
  const Complex * maps = reinterpret_cast<const Complex *>(m_CoilMaps.data_ptr<c10::complex<float>>());
  const auto &    rows = fft.RowToNative();
  const int64_t   H = m_Height, W = m_Width, C = m_Coils;
  at::parallel_for(0, batch * C * H, 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
    {
      const int64_t   y = r % H, bc = r / H, c = bc % C, b = bc / C;
      const Complex * xs = x + (b * H + y) * W;
      const Complex * s = maps + (c * H + y) * W;
      Complex *       dst = work + (bc * H + rows[y]) * W;
      ForEachShiftedPiece(W, [&](int64_t from, int64_t to, int64_t len) {
        for (int64_t i = 0; i < len; ++i)
        {
          dst[to + i] = Mul(s[from + i], xs[from + i]);
        }
      });
    }
  });
}

void
SENSEOperator::ApplyMaskAndResidual(const Complex * y, int64_t batch) const
{
  auto &        fft = FFTFor(batch);
  Complex *     work = fft.Workspace();
  const float * mask = m_Mask.data_ptr<float>();
  const float   scale = fft.Scale();
  const auto &  rows = fft.RowToNative();
  const int64_t H = m_Height, W = m_Width, C = m_Coils;
  at::parallel_for(0, batch * C * H, 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
    {
      const int64_t   ky = r % H, bc = r / H;
      const float *   m = mask + ky * W;
      const Complex * ys = y ? y + (bc * H + ky) * W : nullptr;
      Complex *       w = work + (bc * H + rows[ky]) * W;
      if (!m_RowSampled[static_cast<size_t>(ky)])
      {
        std::fill(w, w + W, Complex(0.0f, 0.0f)); // most rows of an undersampled acquisition
        continue;
      }
      ForEachShiftedPiece(W, [&](int64_t from, int64_t to, int64_t len) {
        for (int64_t i = 0; i < len; ++i)
        {
          const Complex v = w[to + i] * scale;
          w[to + i] = m[from + i] * (ys ? v - ys[from + i] : v);
        }
      });
    }
  });
}

void
SENSEOperator::CombineCoils(Complex * out, int64_t batch) const
{
  auto &          fft = FFTFor(batch);
  const Complex * work = fft.Workspace();
  const Complex * maps = reinterpret_cast<const Complex *>(m_CoilMaps.data_ptr<c10::complex<float>>());
  const float     scale = fft.Scale();
  const auto &    rows = fft.RowToNative();
  const int64_t   H = m_Height, W = m_Width, C = m_Coils;
  at::parallel_for(0, batch * H, 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
    {
      const int64_t y = r % H, b = r / H;
      Complex *     dst = out + r * W;
      std::fill(dst, dst + W, Complex(0.0f, 0.0f));
      for (int64_t c = 0; c < C; ++c)
      {
        const Complex * s = maps + (c * H + y) * W;
        const Complex * w = work + ((b * C + c) * H + rows[y]) * W;
        ForEachShiftedPiece(W, [&](int64_t from, int64_t to, int64_t len) {
          for (int64_t i = 0; i < len; ++i)
          {
            dst[from + i] += ConjMul(s[from + i], w[to + i]);
          }
        });
      }
      for (int64_t x = 0; x < W; ++x)
      {
        dst[x] *= scale;
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
  LoadCoilImages(reinterpret_cast<const Complex *>(x.data_ptr<c10::complex<float>>()), B);
  auto & fft = FFTFor(B);
  fft.ExecuteForward();
  ApplyMaskAndResidual(nullptr, B);
  // The mask pass already scaled; copy back to centered order without scaling again.
  fft.StoreCentered(reinterpret_cast<Complex *>(y.data_ptr<c10::complex<float>>()), 1.0f);
  return y;
}

torch::Tensor
SENSEOperator::Adjoint(const torch::Tensor & yIn) const
{
  CheckKSpace(yIn, yIn.dim() == 4 ? yIn.size(0) : 1);
  const auto    y = yIn.contiguous();
  const int64_t B = y.size(0);
  auto &        fft = FFTFor(B);
  // Mask, then back to native order: M y is what the adjoint of "keep the sampled entries" gives.
  auto masked = y * m_Mask.to(y.options().dtype(torch::kFloat));
  fft.LoadCentered(reinterpret_cast<const Complex *>(masked.data_ptr<c10::complex<float>>()));
  fft.ExecuteInverse();
  auto x = torch::empty({ B, m_Height, m_Width }, y.options());
  CombineCoils(reinterpret_cast<Complex *>(x.data_ptr<c10::complex<float>>()), B);
  return x;
}

torch::Tensor
SENSEOperator::DataGradient(const torch::Tensor & xIn, const torch::Tensor & yIn) const
{
  CheckImageBatch(xIn, ImageShape(), "the image");
  CheckKSpace(yIn, xIn.size(0));
  CountGradient();
  const auto    x = xIn.contiguous();
  const auto    y = yIn.contiguous();
  const int64_t B = x.size(0);
  LoadCoilImages(reinterpret_cast<const Complex *>(x.data_ptr<c10::complex<float>>()), B);
  auto & fft = FFTFor(B);
  fft.ExecuteForward();
  ApplyMaskAndResidual(reinterpret_cast<const Complex *>(y.data_ptr<c10::complex<float>>()), B);
  fft.ExecuteInverse();
  auto grad = torch::empty_like(x);
  CombineCoils(reinterpret_cast<Complex *>(grad.data_ptr<c10::complex<float>>()), B);
  return grad;
}

torch::Tensor
SENSEOperator::Normal(const torch::Tensor & xIn) const
{
  CheckImageBatch(xIn, ImageShape(), "the image");
  CountGradient();
  const auto    x = xIn.contiguous();
  const int64_t B = x.size(0);
  LoadCoilImages(reinterpret_cast<const Complex *>(x.data_ptr<c10::complex<float>>()), B);
  auto & fft = FFTFor(B);
  fft.ExecuteForward();
  ApplyMaskAndResidual(nullptr, B);
  fft.ExecuteInverse();
  auto out = torch::empty_like(x);
  CombineCoils(reinterpret_cast<Complex *>(out.data_ptr<c10::complex<float>>()), B);
  return out;
}

// ---------------------------------------------------------------------------------------------
torch::Tensor
CenteredFFT2(const torch::Tensor & x)
{
  const std::vector<int64_t> dims{ -2, -1 };
  return torch::fft::fftshift(torch::fft::fft2(torch::fft::ifftshift(x, dims), c10::nullopt, dims, "ortho"), dims);
}

torch::Tensor
CenteredIFFT2(const torch::Tensor & k)
{
  const std::vector<int64_t> dims{ -2, -1 };
  return torch::fft::fftshift(torch::fft::ifft2(torch::fft::ifftshift(k, dims), c10::nullopt, dims, "ortho"), dims);
}

TorchSENSEOperator::TorchSENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask)
  : m_CoilMaps(coilMaps.to(torch::kComplexFloat).contiguous())
  , m_Mask((mask != 0).to(coilMaps.device(), torch::kFloat))
{
  if (coilMaps.dim() != 3 || mask.dim() != 2 || mask.size(0) != coilMaps.size(1) || mask.size(1) != coilMaps.size(2))
  {
    std::ostringstream msg;
    msg << "coil sensitivities [C, H, W] and mask [H, W] do not match: " << coilMaps.sizes() << " and "
        << mask.sizes();
    throw std::invalid_argument(msg.str());
  }
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

torch::Tensor
TorchSENSEOperator::DataGradient(const torch::Tensor & x, const torch::Tensor & y) const
{
  CountGradient();
  return Adjoint(Forward(x) - y);
}

} // namespace dapsmri
