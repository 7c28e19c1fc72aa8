#include "dapsmriCudaSENSE.h"

#include <cuda_runtime.h>
#include <cufft.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>
#include <tuple>

namespace dapsmri::cuda
{

namespace
{
void
Check(cudaError_t status, const char * call)
{
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("CUDA: ") + call + " failed: " + cudaGetErrorString(status));
}

void
Check(cufftResult status, const char * call)
{
  if (status != CUFFT_SUCCESS)
    throw std::runtime_error(std::string("cuFFT: ") + call + " failed with status " + std::to_string(int(status)) +
                             (status == CUFFT_ALLOC_FAILED ? " (out of device memory)" : ""));
}

/** Layout of one call: images of H x W, `count` = B x C coil images. Halves are floor(n / 2):
 * native FFT position j holds centered index (j + floor(n / 2)) mod n (ifftshift), and
 * fftshift maps back by the same rule, so one pair of index maps serves both sides. */
struct Layout
{
  int64_t batch, coils, height, width, halfHeight, halfWidth, pixels;
};

__device__ __forceinline__ int64_t
Wrap(int64_t i, int64_t n)
{
  return i >= n ? i - n : i;
}

/** Centered pixel index of native pixel p, and the reverse. */
__device__ __forceinline__ int64_t
CenteredOf(int64_t p, const Layout & l)
{
  const int64_t y = p / l.width, x = p - y * l.width;
  return Wrap(y + l.halfHeight, l.height) * l.width + Wrap(x + l.halfWidth, l.width);
}
__device__ __forceinline__ int64_t
NativeOf(int64_t p, const Layout & l)
{
  const int64_t y = p / l.width, x = p - y * l.width;
  return Wrap(y + l.height - l.halfHeight, l.height) * l.width + Wrap(x + l.width - l.halfWidth, l.width);
}

__device__ __forceinline__ float2
Mul(float2 a, float2 b)
{
  return make_float2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}
__device__ __forceinline__ float2
ConjMul(float2 a, float2 b) // conj(a) * b
{
  return make_float2(a.x * b.x + a.y * b.y, a.x * b.y - a.y * b.x);
}

// Each kernel walks its index space with a grid-stride loop, one element per step.
#define DAPSMRI_FOR_EACH(i, n)                                                                              \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

/** work[b, c] (native) = S_c x_b: the coil images, ifftshifted on the way in. */
__global__ void
ExpandCoils(Layout l, const float2 * __restrict__ maps, const float2 * __restrict__ x, float2 * __restrict__ work)
{
  DAPSMRI_FOR_EACH(i, l.batch * l.coils * l.pixels)
  {
    const int64_t image = i / l.pixels, b = image / l.coils, c = image - b * l.coils;
    const int64_t p = CenteredOf(i - image * l.pixels, l);
    work[i] = Mul(maps[c * l.pixels + p], x[b * l.pixels + p]);
  }
}

/** work (native) = M y: masked k-space into FFT order. */
__global__ void
LoadKSpace(Layout l, const float * __restrict__ mask, const float2 * __restrict__ y, float2 * __restrict__ work)
{
  DAPSMRI_FOR_EACH(i, l.batch * l.coils * l.pixels)
  {
    const int64_t image = i / l.pixels, p = CenteredOf(i - image * l.pixels, l);
    const float2  v = y[image * l.pixels + p];
    work[i] = make_float2(mask[p] * v.x, mask[p] * v.y);
  }
}

/** out (centered) = M scale work: the forward map's result, fftshifted on the way out. */
__global__ void
StoreKSpace(Layout l, const float * __restrict__ mask, const float2 * __restrict__ work, float scale,
            float2 * __restrict__ out)
{
  DAPSMRI_FOR_EACH(i, l.batch * l.coils * l.pixels)
  {
    const int64_t image = i / l.pixels, p = i - image * l.pixels;
    const float   m = mask[p] * scale;
    const float2  v = work[image * l.pixels + NativeOf(p, l)];
    out[i] = make_float2(m * v.x, m * v.y);
  }
}

/** work (native) = M (scale work - y), in place; y null for the normal operator. */
__global__ void
MaskResidual(Layout l, const float * __restrict__ mask, const float2 * __restrict__ y, float scale,
             float2 * __restrict__ work)
{
  DAPSMRI_FOR_EACH(i, l.batch * l.coils * l.pixels)
  {
    const int64_t image = i / l.pixels, p = CenteredOf(i - image * l.pixels, l);
    const float2  k = work[i];
    const float2  d = y ? y[image * l.pixels + p] : make_float2(0.0f, 0.0f);
    work[i] = make_float2(mask[p] * (scale * k.x - d.x), mask[p] * (scale * k.y - d.y));
  }
}

/** out[b] (centered) = scale sum_c conj(S_c) work[b, c]: one thread per pixel sums the coils
 * in order, so the result does not depend on scheduling. */
__global__ void
CombineCoils(Layout l, const float2 * __restrict__ maps, const float2 * __restrict__ work, float scale,
             float2 * __restrict__ out)
{
  DAPSMRI_FOR_EACH(i, l.batch * l.pixels)
  {
    const int64_t b = i / l.pixels, p = i - b * l.pixels, native = NativeOf(p, l);
    float2        sum = make_float2(0.0f, 0.0f);
    for (int64_t c = 0; c < l.coils; ++c)
    {
      const float2 v = ConjMul(maps[c * l.pixels + p], work[(b * l.coils + c) * l.pixels + native]);
      sum.x += v.x;
      sum.y += v.y;
    }
    out[i] = make_float2(scale * sum.x, scale * sum.y);
  }
}

constexpr int ThreadsPerBlock = 256;

unsigned int
BlocksFor(int64_t n)
{
  return static_cast<unsigned int>(std::min<int64_t>((n + ThreadsPerBlock - 1) / ThreadsPerBlock, INT_MAX));
}

/** Batched in-place C2C plans, one per (device, count, H, W), made once and kept for the
 * process's life (cuFFT plans hold device memory; destroying them after the CUDA context has
 * gone at exit would fail). Setting the stream and launching happen under one lock, so threads
 * sharing a plan cannot swap each other's stream. */
class PlanCache
{
public:
  void Execute(int device, int64_t count, int64_t height, int64_t width, float2 * data, int direction,
               cudaStream_t stream)
  {
    const std::lock_guard<std::mutex> lock(m_Mutex);
    const auto                        key = std::make_tuple(device, count, height, width);
    auto                              found = m_Plans.find(key);
    if (found == m_Plans.end())
    {
      if (count > INT_MAX || height > INT_MAX || width > INT_MAX)
        throw std::runtime_error("cuFFT: a batch of " + std::to_string(count) + " images of " +
                                 std::to_string(height) + " x " + std::to_string(width) + " is too large for one plan");
      int           n[2] = { static_cast<int>(height), static_cast<int>(width) };
      const int     distance = static_cast<int>(height * width);
      cufftHandle   plan;
      Check(cufftPlanMany(&plan, 2, n, nullptr, 1, distance, nullptr, 1, distance, CUFFT_C2C, static_cast<int>(count)),
            "cufftPlanMany");
      found = m_Plans.emplace(key, plan).first;
    }
    Check(cufftSetStream(found->second, stream), "cufftSetStream");
    Check(cufftExecC2C(found->second, reinterpret_cast<cufftComplex *>(data), reinterpret_cast<cufftComplex *>(data),
                       direction),
          "cufftExecC2C");
  }

private:
  std::mutex                                                      m_Mutex;
  std::map<std::tuple<int, int64_t, int64_t, int64_t>, cufftHandle> m_Plans;
};

PlanCache &
Plans()
{
  static auto * cache = new PlanCache; // never destroyed: see PlanCache
  return *cache;
}
} // namespace

int
DeviceCount(std::string * reason)
{
  int               count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess)
  {
    cudaGetLastError(); // clear the sticky error so later calls see a clean state
    if (reason)
      *reason = cudaGetErrorString(status);
    return 0;
  }
  if (count == 0 && reason)
    *reason = "no CUDA device";
  return count;
}

void
RunSENSE(SENSEChain chain, const SENSEShape & s, const std::complex<float> * mapsIn, const float * mask,
         const std::complex<float> * xIn, const std::complex<float> * yIn, std::complex<float> * outIn,
         std::complex<float> * workspace, void * streamIn)
{
  if (s.batch < 1 || s.coils < 1 || s.height < 1 || s.width < 1)
    throw std::invalid_argument("cuFFT SENSE: every dimension must be positive");
  const bool needsX = chain != SENSEChain::Adjoint;
  const bool needsY = chain == SENSEChain::Adjoint || chain == SENSEChain::Gradient;
  if (!mapsIn || !mask || !outIn || !workspace || (needsX && !xIn) || (needsY && !yIn))
    throw std::invalid_argument("cuFFT SENSE: a device buffer the chain needs is null");

  const Layout l{ s.batch, s.coils, s.height, s.width, s.height / 2, s.width / 2, s.height * s.width };
  const auto * maps = reinterpret_cast<const float2 *>(mapsIn);
  const auto * x = reinterpret_cast<const float2 *>(xIn);
  const auto * y = reinterpret_cast<const float2 *>(yIn);
  auto *       out = reinterpret_cast<float2 *>(outIn);
  auto *       work = reinterpret_cast<float2 *>(workspace);
  auto         stream = static_cast<cudaStream_t>(streamIn);
  const float  scale = 1.0f / std::sqrt(static_cast<float>(l.pixels));
  const int64_t coilPixels = l.batch * l.coils * l.pixels;
  int           device = 0;
  Check(cudaGetDevice(&device), "cudaGetDevice");
  const auto fft = [&](int direction) {
    Plans().Execute(device, l.batch * l.coils, l.height, l.width, work, direction, stream);
  };

  if (chain == SENSEChain::Adjoint)
    LoadKSpace<<<BlocksFor(coilPixels), ThreadsPerBlock, 0, stream>>>(l, mask, y, work);
  else
  {
    ExpandCoils<<<BlocksFor(coilPixels), ThreadsPerBlock, 0, stream>>>(l, maps, x, work);
    Check(cudaGetLastError(), "ExpandCoils");
    fft(CUFFT_FORWARD);
    if (chain == SENSEChain::Forward)
    {
      StoreKSpace<<<BlocksFor(coilPixels), ThreadsPerBlock, 0, stream>>>(l, mask, work, scale, out);
      Check(cudaGetLastError(), "StoreKSpace");
      return;
    }
    MaskResidual<<<BlocksFor(coilPixels), ThreadsPerBlock, 0, stream>>>(
      l, mask, chain == SENSEChain::Gradient ? y : nullptr, scale, work);
  }
  Check(cudaGetLastError(), chain == SENSEChain::Adjoint ? "LoadKSpace" : "MaskResidual");
  fft(CUFFT_INVERSE);
  CombineCoils<<<BlocksFor(l.batch * l.pixels), ThreadsPerBlock, 0, stream>>>(l, maps, work, scale, out);
  Check(cudaGetLastError(), "CombineCoils");
}

void
RunFFTPair(int64_t count, int64_t height, int64_t width, std::complex<float> * data, void * stream)
{
  if (count < 1 || height < 1 || width < 1 || !data)
    throw std::invalid_argument("cuFFT pair: need a positive shape and a device buffer");
  int device = 0;
  Check(cudaGetDevice(&device), "cudaGetDevice");
  auto * work = reinterpret_cast<float2 *>(data);
  Plans().Execute(device, count, height, width, work, CUFFT_FORWARD, static_cast<cudaStream_t>(stream));
  Plans().Execute(device, count, height, width, work, CUFFT_INVERSE, static_cast<cudaStream_t>(stream));
}

} // namespace dapsmri::cuda
