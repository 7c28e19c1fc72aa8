#ifndef dapsmriSENSEOperator_h
#define dapsmriSENSEOperator_h

#include "dapsmriCenteredFFT.h"
#include "dapsmriOperator.h"

#include <memory>
#include <mutex>

namespace dapsmri
{

/** Multi-coil Cartesian SENSE: y_c = M F (S_c x) for every coil c, F the centered
 * orthonormal 2-D FFT, M a sampling mask (0 / 1), S_c the coil sensitivities.
 * x: [B, H, W] complex; y: [B, C, H, W] complex, zero where M is zero.
 * Single-coil data is the case C = 1 with S = 1.
 *
 * Everything runs on FFTW with plans cached per shape; the data gradient A^H (A x - y) is
 * computed in one fused pass on each side of the forward / inverse FFT pair, without
 * autograd and without temporaries. One object keeps one workspace: use one operator per
 * thread. CPU tensors only. */
class SENSEOperator : public Operator
{
public:
  /** coilMaps: [C, H, W] complex float; mask: [H, W], nonzero where k-space was sampled. */
  SENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask, int threads = 0);

  std::vector<int64_t> ImageShape() const override { return { m_Height, m_Width }; }
  int64_t              NumberOfCoils() const { return m_Coils; }
  const torch::Tensor & Mask() const { return m_Mask; }
  const torch::Tensor & CoilMaps() const { return m_CoilMaps; }

  bool          IsLinear() const override { return true; }
  torch::Tensor Forward(const torch::Tensor & x) const override;
  torch::Tensor Adjoint(const torch::Tensor & y) const override;
  torch::Tensor DataGradient(const torch::Tensor & x, const torch::Tensor & y) const override;
  torch::Tensor Normal(const torch::Tensor & x) const override;

private:
  CenteredFFT & FFTFor(int64_t batch) const;
  void          CheckKSpace(const torch::Tensor & y, int64_t batch) const;

  /** Workspace <- S_c x_b for every (b, c), in FFT-native order. */
  void LoadCoilImages(const std::complex<float> * x, int64_t batch) const;
  /** In k-space (native order): w <- M (w * scale - y), or M w * scale when y is null. */
  void ApplyMaskAndResidual(const std::complex<float> * y, int64_t batch) const;
  /** out_b <- scale * sum_c conj(S_c) w_{b,c}. */
  void CombineCoils(std::complex<float> * out, int64_t batch) const;

  int64_t       m_Coils, m_Height, m_Width;
  int           m_Threads;
  torch::Tensor m_CoilMaps; // [C, H, W] complex, contiguous
  torch::Tensor m_Mask;     // [H, W] float, contiguous, centered order
  std::vector<bool> m_RowSampled;
  mutable std::unique_ptr<CenteredFFT> m_FFT;
};

/** The same SENSE operator written with torch::fft on any device (cuFFT on a GPU through
 * LibTorch). A reference for the FFTW operator and the baseline it is measured against. */
class TorchSENSEOperator : public Operator
{
public:
  TorchSENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask);

  std::vector<int64_t> ImageShape() const override { return { m_CoilMaps.size(1), m_CoilMaps.size(2) }; }
  bool                 IsLinear() const override { return true; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  torch::Tensor        Adjoint(const torch::Tensor & y) const override;
  torch::Tensor        DataGradient(const torch::Tensor & x, const torch::Tensor & y) const override;

private:
  torch::Tensor m_CoilMaps; // [C, H, W]
  torch::Tensor m_Mask;     // [H, W] float
};

/** Centered orthonormal 2-D FFT over the last two dimensions with torch::fft. */
torch::Tensor CenteredFFT2(const torch::Tensor & x);
torch::Tensor CenteredIFFT2(const torch::Tensor & k);

} // namespace dapsmri

#endif
