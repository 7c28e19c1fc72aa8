#ifndef dapsmriSENSEOperator_h
#define dapsmriSENSEOperator_h

#include "dapsmriCenteredFFT.h"
#include "dapsmriOperator.h"

#include <memory>
#include <vector>

namespace dapsmri
{

/** Multi-coil Cartesian SENSE: y_c = M F (S_c x) for every coil c, F the centered
 * orthonormal 2-D FFT, M a sampling mask (0 / 1), S_c the coil sensitivities.
 * x: [B, H, W] complex; y: [B, C, H, W] complex, zero where M is zero.
 * Single-coil data is the case C = 1 with S = 1.
 *
 * Everything runs on FFTW with plans cached per shape. Each (image, coil) pair goes through
 * the whole chain (coil product, FFT, mask, inverse FFT, coil combination) while it sits in
 * the core's cache, and the pairs are shared out among the threads; the data gradient
 * A^H (A x - y) costs the bare FFT pair plus three passes over one coil image, without
 * autograd and without temporaries. One object keeps its workspaces: use one operator per
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
  /** Where some coil is sensitive (ESPIRiT maps are zero outside the object); undefined when
   * every pixel is. */
  torch::Tensor ObjectSupport() const override { return m_Support; }

private:
  using Complex = std::complex<float>;

  /** What one pass over the (image, coil) pairs computes. */
  enum class Chain
  {
    Forward,  ///< y = M F S x
    Adjoint,  ///< x = S^H F^H M y
    Gradient, ///< x = S^H F^H M (F S x - y)
    Normal    ///< x = S^H F^H M F S x
  };
  /** Runs `chain` over every (image, coil) pair of a batch of `batch` images. */
  void Run(Chain chain, const Complex * x, const Complex * y, Complex * out, int64_t batch) const;

  /** One share of the (image, coil) pairs: its own FFT workspace and, for the chains that
   * end in image space, its own partial sums over coils. */
  struct Worker
  {
    std::unique_ptr<CenteredFFT> fft;
    std::vector<Complex>         partial; // [batch, H, W]
    std::vector<bool>            wrote;   // partial[b] holds a sum
  };
  std::vector<Worker> & WorkersFor(int64_t batch) const;

  int64_t       m_Coils, m_Height, m_Width;
  int           m_Threads;
  torch::Tensor m_CoilMaps; // [C, H, W] complex, contiguous
  torch::Tensor m_Mask;     // [H, W] float, contiguous, centered order
  std::vector<bool> m_RowSampled;
  torch::Tensor     m_Support; // [H, W] float, or undefined
  mutable std::vector<Worker> m_Workers;
  mutable int64_t             m_WorkersBatch = 0;
};

/** The same SENSE operator written with torch::fft on any device (cuFFT on a GPU through
 * LibTorch). A reference for the FFTW operator and the baseline it is measured against. */
class TorchSENSEOperator : public LinearOperator
{
public:
  TorchSENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask);

  std::vector<int64_t> ImageShape() const override { return { m_CoilMaps.size(1), m_CoilMaps.size(2) }; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  torch::Tensor        Adjoint(const torch::Tensor & y) const override;
  torch::Tensor        ObjectSupport() const override { return m_Support; }

private:
  torch::Tensor m_CoilMaps; // [C, H, W]
  torch::Tensor m_Mask;     // [H, W] float
  torch::Tensor m_Support;  // [H, W] float, or undefined
};

/** Throws std::invalid_argument unless coilMaps is complex [C, H, W] and mask [H, W]. */
void CheckSENSEInputs(const torch::Tensor & coilMaps, const torch::Tensor & mask);
/** Throws std::invalid_argument unless y is complex float k-space [batch, coils, height, width]. */
void CheckKSpaceBatch(const torch::Tensor & y, int64_t batch, int64_t coils, int64_t height, int64_t width);

/** The SENSE operator for `device`: the FFTW one on the CPU, the cuFFT one on a GPU where this
 * build has it (-DDAPSMRI_USE_CUDA=ON with a CUDA LibTorch), else the torch::fft one. */
std::unique_ptr<Operator> MakeSENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask,
                                            const torch::Device & device, int threads = 0);

/** Where some coil is sensitive, [H, W] float 0 / 1; undefined when every pixel is. */
torch::Tensor SensitiveRegion(const torch::Tensor & coilMaps);

/** Centered orthonormal 2-D FFT over the last two dimensions with torch::fft. */
torch::Tensor CenteredFFT2(const torch::Tensor & x);
torch::Tensor CenteredIFFT2(const torch::Tensor & k);

} // namespace dapsmri

#endif
