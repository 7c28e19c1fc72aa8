#include "dapsmriCenteredFFT.h"
#include "dapsmriSENSEOperator.h"
#include "dapsmriTestUtilities.h"

#include <gtest/gtest.h>

#include <complex>
#include <vector>

#include <sched.h>

using dapsmri::CenteredFFT;
using Complex = std::complex<float>;

namespace
{
// Direct centered orthonormal DFT in double precision: the reference.
// X[k, l] = sum_{y, x} img[y, x] exp(-+2 pi i ((y - H/2)(k - H/2) / H + (x - W/2)(l - W/2) / W)) / sqrt(HW)
std::vector<std::complex<double>>
DirectDFT(const Complex * img, int64_t H, int64_t W, double direction)
{
  std::vector<std::complex<double>> out(static_cast<size_t>(H * W));
  const double cy = static_cast<double>(H / 2), cx = static_cast<double>(W / 2);
  for (int64_t k = 0; k < H; ++k)
    for (int64_t l = 0; l < W; ++l)
    {
      std::complex<double> sum = 0.0;
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
        {
          const double phase = direction * 2.0 * M_PI *
                               ((y - cy) * (k - cy) / static_cast<double>(H) + (x - cx) * (l - cx) / static_cast<double>(W));
          sum += std::complex<double>(img[y * W + x]) * std::polar(1.0, phase);
        }
      out[static_cast<size_t>(k * W + l)] = sum / std::sqrt(static_cast<double>(H * W));
    }
  return out;
}

struct Shape
{
  int64_t count, height, width;
};

class CenteredFFTTest : public ::testing::TestWithParam<Shape>
{};
} // namespace

TEST_P(CenteredFFTTest, MatchesDirectDFTBothWays)
{
  const auto [count, H, W] = GetParam();
  auto       input = dapsmri::testing::RandomComplex({ count, H, W }, 7);
  const auto * in = reinterpret_cast<const Complex *>(input.data_ptr<c10::complex<float>>());
  std::vector<Complex> forward(static_cast<size_t>(count * H * W)), inverse(forward.size());
  CenteredFFT fft(count, H, W);
  fft.Forward(in, forward.data());
  fft.Inverse(in, inverse.data());
  for (int64_t i = 0; i < count; ++i)
  {
    const auto refForward = DirectDFT(in + i * H * W, H, W, -1.0);
    const auto refInverse = DirectDFT(in + i * H * W, H, W, +1.0);
    for (int64_t p = 0; p < H * W; ++p)
    {
      EXPECT_NEAR(std::abs(std::complex<double>(forward[static_cast<size_t>(i * H * W + p)]) - refForward[p]), 0.0, 2e-5);
      EXPECT_NEAR(std::abs(std::complex<double>(inverse[static_cast<size_t>(i * H * W + p)]) - refInverse[p]), 0.0, 2e-5);
    }
  }
}

TEST_P(CenteredFFTTest, InverseUndoesForwardAndTorchAgrees)
{
  const auto [count, H, W] = GetParam();
  auto       input = dapsmri::testing::RandomComplex({ count, H, W }, 11);
  auto       k = torch::empty_like(input), back = torch::empty_like(input);
  CenteredFFT fft(count, H, W);
  fft.Forward(reinterpret_cast<const Complex *>(input.data_ptr<c10::complex<float>>()),
              reinterpret_cast<Complex *>(k.data_ptr<c10::complex<float>>()));
  fft.Inverse(reinterpret_cast<const Complex *>(k.data_ptr<c10::complex<float>>()),
              reinterpret_cast<Complex *>(back.data_ptr<c10::complex<float>>()));
  EXPECT_LT(dapsmri::testing::RelativeError(back, input), 1e-5);
  EXPECT_LT(dapsmri::testing::RelativeError(k, dapsmri::CenteredFFT2(input)), 1e-5);
  // Orthonormal: energy is preserved.
  EXPECT_NEAR(k.abs().pow(2).sum().item<double>() / input.abs().pow(2).sum().item<double>(), 1.0, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CenteredFFTTest,
                         ::testing::Values(Shape{ 1, 8, 8 }, Shape{ 3, 5, 7 }, Shape{ 2, 6, 9 }, Shape{ 1, 16, 12 },
                                           Shape{ 2, 1, 5 }),
                         [](const ::testing::TestParamInfo<Shape> & info) {
                           return std::to_string(info.param.count) + "x" + std::to_string(info.param.height) + "x" +
                                  std::to_string(info.param.width);
                         });

TEST(CenteredFFT, RejectsEmptyShapes)
{
  EXPECT_THROW(CenteredFFT(0, 4, 4), std::invalid_argument);
  EXPECT_THROW(CenteredFFT(1, 4, 0), std::invalid_argument);
}

TEST(CenteredFFT, ObjectsOfTheSameShapeShareWorkingPlans)
{
  auto       input = dapsmri::testing::RandomComplex({ 2, 12, 10 }, 3);
  auto       a = torch::empty_like(input), b = torch::empty_like(input);
  CenteredFFT first(2, 12, 10), second(2, 12, 10);
  first.Forward(reinterpret_cast<const Complex *>(input.data_ptr<c10::complex<float>>()),
                reinterpret_cast<Complex *>(a.data_ptr<c10::complex<float>>()));
  second.Forward(reinterpret_cast<const Complex *>(input.data_ptr<c10::complex<float>>()),
                 reinterpret_cast<Complex *>(b.data_ptr<c10::complex<float>>()));
  EXPECT_TRUE(torch::equal(a, b));
}

// "Every core" means the cores this process may run on: pinned to one core, one thread.
TEST(CenteredFFT, AvailableCoresFollowTheAffinity)
{
  cpu_set_t all;
  CPU_ZERO(&all);
  ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
  EXPECT_EQ(dapsmri::AvailableCores(), CPU_COUNT(&all));
  int first = 0;
  while (!CPU_ISSET(first, &all))
    ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const int pinned = dapsmri::AvailableCores();
  ASSERT_EQ(sched_setaffinity(0, sizeof all, &all), 0);
  EXPECT_EQ(pinned, 1);
}
