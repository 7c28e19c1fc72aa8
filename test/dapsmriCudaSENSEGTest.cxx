// The cuFFT SENSE kernels against the FFTW operator, through their plain C++ prototypes and the
// CUDA runtime alone (no CUDA LibTorch needed). Built with -DDAPSMRI_USE_CUDA=ON; the tests that
// need a GPU skip with the runtime's reason where there is none.
#include "dapsmriCudaSENSE.h"
#include "dapsmriSENSEOperator.h"
#include "dapsmriTestUtilities.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

namespace cuda = dapsmri::cuda;
namespace t = dapsmri::testing;

namespace
{
/** A device copy of a contiguous CPU tensor, freed on destruction. */
class DeviceBuffer
{
public:
  explicit DeviceBuffer(const torch::Tensor & host)
    : m_Host(host.contiguous())
  {
    m_Bytes = static_cast<size_t>(m_Host.numel()) * m_Host.element_size();
    EXPECT_EQ(cudaMalloc(&m_Data, m_Bytes), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(m_Data, m_Host.data_ptr(), m_Bytes, cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(m_Data); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer & operator=(const DeviceBuffer &) = delete;

  std::complex<float> * Complex() { return static_cast<std::complex<float> *>(m_Data); }
  float *               Float() { return static_cast<float *>(m_Data); }
  /** The device contents, shaped and typed like the tensor it was made from. */
  torch::Tensor Download()
  {
    auto out = torch::empty_like(m_Host);
    EXPECT_EQ(cudaMemcpy(out.data_ptr(), m_Data, m_Bytes, cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }

private:
  torch::Tensor m_Host;
  void *        m_Data = nullptr;
  size_t        m_Bytes = 0;
};

bool
NoDevice(std::string & reason)
{
  return cuda::DeviceCount(&reason) == 0;
}

struct Shape
{
  int64_t batch, coils, height, width;
};

class CudaSENSE : public ::testing::TestWithParam<Shape>
{};
} // namespace

TEST(CudaSENSE, DeviceCountGivesAReasonWhenThereIsNone)
{
  std::string reason;
  if (cuda::DeviceCount(&reason) == 0)
    EXPECT_FALSE(reason.empty());
}

TEST(CudaSENSE, RefusesMissingBuffersBeforeTouchingTheDevice)
{
  // Checked on the host: this runs (and must throw) without a GPU too.
  std::complex<float> fake[1];
  float               mask[1];
  const cuda::SENSEShape shape{ 1, 1, 1, 1 };
  EXPECT_THROW(cuda::RunSENSE(cuda::SENSEChain::Forward, shape, fake, mask, nullptr, nullptr, fake, fake, nullptr),
               std::invalid_argument);
  EXPECT_THROW(cuda::RunSENSE(cuda::SENSEChain::Gradient, shape, fake, mask, fake, nullptr, fake, fake, nullptr),
               std::invalid_argument);
  EXPECT_THROW(
    cuda::RunSENSE(cuda::SENSEChain::Adjoint, { 1, 0, 1, 1 }, fake, mask, nullptr, fake, fake, fake, nullptr),
    std::invalid_argument);
}

TEST_P(CudaSENSE, MatchesTheFFTWOperator)
{
  std::string reason;
  if (NoDevice(reason))
    GTEST_SKIP() << "no CUDA device: " << reason;
  const auto [B, C, H, W] = GetParam();
  const auto maps = t::RandomComplex({ C, H, W }, 31);
  const auto mask = (torch::rand({ H, W }, at::detail::createCPUGenerator(32)) < 0.4).to(torch::kFloat);
  const auto x = t::RandomComplex({ B, H, W }, 33);
  const auto y = t::RandomComplex({ B, C, H, W }, 34) * mask;
  dapsmri::SENSEOperator fftw(maps, mask);

  DeviceBuffer dMaps(maps), dMask(mask), dX(x), dY(y);
  DeviceBuffer kSpace(torch::zeros({ B, C, H, W }, torch::kComplexFloat));
  DeviceBuffer image(torch::zeros({ B, H, W }, torch::kComplexFloat));
  DeviceBuffer work(torch::zeros({ B, C, H, W }, torch::kComplexFloat));
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  const cuda::SENSEShape shape{ B, C, H, W };
  const auto run = [&](cuda::SENSEChain chain, DeviceBuffer & out) {
    cuda::RunSENSE(chain, shape, dMaps.Complex(), dMask.Float(), dX.Complex(), dY.Complex(), out.Complex(),
                   work.Complex(), stream);
    EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    return out.Download();
  };
  EXPECT_LT(t::RelativeError(run(cuda::SENSEChain::Forward, kSpace), fftw.Forward(x)), 1e-5);
  EXPECT_LT(t::RelativeError(run(cuda::SENSEChain::Adjoint, image), fftw.Adjoint(y)), 1e-5);
  const auto gradient = run(cuda::SENSEChain::Gradient, image);
  EXPECT_LT(t::RelativeError(gradient, fftw.DataGradient(x, y)), 1e-5);
  EXPECT_LT(t::RelativeError(run(cuda::SENSEChain::Normal, image), fftw.Normal(x)), 1e-5);
  // Deterministic (the coil sum has a fixed order), and the same on the legacy default stream.
  EXPECT_TRUE(torch::equal(run(cuda::SENSEChain::Gradient, image), gradient));
  cuda::RunSENSE(cuda::SENSEChain::Gradient, shape, dMaps.Complex(), dMask.Float(), dX.Complex(), dY.Complex(),
                 image.Complex(), work.Complex(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_TRUE(torch::equal(image.Download(), gradient));
  cudaStreamDestroy(stream);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaSENSE,
                         ::testing::Values(Shape{ 1, 1, 8, 8 }, Shape{ 2, 3, 7, 5 }, Shape{ 1, 8, 16, 12 },
                                           Shape{ 3, 2, 9, 9 }, Shape{ 1, 4, 1, 6 }, Shape{ 4, 8, 256, 256 }),
                         [](const ::testing::TestParamInfo<Shape> & info) {
                           const auto & s = info.param;
                           return "B" + std::to_string(s.batch) + "C" + std::to_string(s.coils) + "_" +
                                  std::to_string(s.height) + "x" + std::to_string(s.width);
                         });
