#ifndef dapsmriCudaSENSEOperator_h
#define dapsmriCudaSENSEOperator_h

#include "dapsmriCudaSENSE.h"
#include "dapsmriOperator.h"

namespace dapsmri
{

/** The SENSE operator of SENSEOperator on an NVIDIA GPU: batched cuFFT plans over images and
 * coils, cached per shape, and the element-wise passes in the project's own kernels
 * (src/cuda/dapsmriCudaSENSE.cu). Works on the tensors' device memory, on LibTorch's current
 * CUDA stream, without a copy to the host or a synchronisation. Built with -DDAPSMRI_USE_CUDA=ON
 * against a LibTorch with CUDA. */
class CudaSENSEOperator : public Operator
{
public:
  /** coilMaps: [C, H, W] complex; mask: [H, W]; both are copied to `device` (a CUDA device). */
  CudaSENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask, const torch::Device & device);

  std::vector<int64_t> ImageShape() const override { return { m_Height, m_Width }; }
  bool                 IsLinear() const override { return true; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  torch::Tensor        Adjoint(const torch::Tensor & y) const override;
  torch::Tensor        DataGradient(const torch::Tensor & x, const torch::Tensor & y) const override;
  torch::Tensor        Normal(const torch::Tensor & x) const override;
  torch::Tensor        ObjectSupport() const override { return m_Support; }

private:
  /** Runs `chain` on a batch of `batch`; x or y may be undefined where the chain needs none. */
  torch::Tensor Run(cuda::SENSEChain chain, const torch::Tensor & x, const torch::Tensor & y, int64_t batch) const;
  void          CheckDevice(const torch::Tensor & t, const char * what) const;

  torch::Device m_Device; // with its index
  int64_t       m_Coils, m_Height, m_Width;
  torch::Tensor m_CoilMaps; // [C, H, W] complex, contiguous, on m_Device
  torch::Tensor m_Mask;     // [H, W] float 0 / 1, on m_Device
  torch::Tensor m_Support;  // [H, W] float, or undefined
};

} // namespace dapsmri

#endif
