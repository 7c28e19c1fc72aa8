#ifndef dapsmriCudaSENSE_h
#define dapsmriCudaSENSE_h

// The cuFFT SENSE kernels behind plain C++ prototypes: no CUDA and no torch types here, so the
// callers compile with any C++ compiler and the .cu file with nvcc alone.
#include <complex>
#include <cstdint>
#include <string>

namespace dapsmri::cuda
{

/** CUDA devices this process can use; 0 when there are none, with the runtime's reason in
 * `reason` (no driver, no device, ...). */
int DeviceCount(std::string * reason = nullptr);

/** What one call computes; the same chains as the FFTW SENSEOperator. */
enum class SENSEChain
{
  Forward,  ///< out[B, C, H, W] = M F S x
  Adjoint,  ///< out[B, H, W] = S^H F^H M y
  Gradient, ///< out[B, H, W] = S^H F^H M (F S x - y)
  Normal    ///< out[B, H, W] = S^H F^H M F S x
};

struct SENSEShape
{
  int64_t batch = 1, coils = 1, height = 1, width = 1;
};

/** Runs `chain` on device memory of the current device, asynchronously on `stream` (a
 * cudaStream_t; null for the legacy default stream). Images x [B, H, W], k-space y [B, C, H, W]
 * (centered, like the FFTW operator's), maps [C, H, W], mask [H, W] (0 / 1), all contiguous;
 * unused inputs may be null; workspace holds B x C x H x W complex values. Centered orthonormal FFTs: the shifts are folded into the
 * element-wise kernels, which also do the coil products, the mask, the residual and the coil sum
 * (deterministic, no atomics). One batched cuFFT plan per (device, B x C, H, W) is made on first
 * use and kept. Throws std::runtime_error naming the failing CUDA or cuFFT call. */
void RunSENSE(SENSEChain chain, const SENSEShape & shape, const std::complex<float> * maps, const float * mask,
              const std::complex<float> * x, const std::complex<float> * y, std::complex<float> * out,
              std::complex<float> * workspace, void * stream);

/** One bare, unscaled forward + inverse transform of `count` images of H x W in place with the
 * cached plan: the floor a SENSE chain is measured against (dapsmri-benchmark). */
void RunFFTPair(int64_t count, int64_t height, int64_t width, std::complex<float> * data, void * stream);

} // namespace dapsmri::cuda

#endif
