#include "dapsmriSENSEOperator.h"
#ifdef DAPSMRI_CUDA_SENSE_OPERATOR
#  include "dapsmriCudaSENSEOperator.h"
#endif
#include "dapsmriTestUtilities.h"

#include <gtest/gtest.h>

using dapsmri::SENSEOperator;
using dapsmri::TorchSENSEOperator;
namespace t = dapsmri::testing;

namespace
{
struct Case
{
  int64_t batch, coils, height, width;
};

torch::Tensor
RandomMask(int64_t H, int64_t W, uint64_t seed)
{
  auto generator = at::detail::createCPUGenerator(seed);
  return (torch::rand({ H, W }, generator) < 0.4).to(torch::kFloat);
}

class SENSEOperatorTest : public ::testing::TestWithParam<Case>
{};
} // namespace

TEST_P(SENSEOperatorTest, AdjointIdentityHolds)
{
  const auto [B, C, H, W] = GetParam();
  SENSEOperator op(t::RandomComplex({ C, H, W }, 1), RandomMask(H, W, 2));
  auto          x = t::RandomComplex({ B, H, W }, 3);
  auto          y = t::RandomComplex({ B, C, H, W }, 4);
  // <A x, y> = <x, A^H y>, inner products conj(a) . b, in double.
  auto lhs = (op.Forward(x).conj() * y).sum().to(torch::kComplexDouble);
  auto rhs = (x.conj() * op.Adjoint(y)).sum().to(torch::kComplexDouble);
  const double scale = (op.Forward(x).abs().pow(2).sum().sqrt() * y.abs().pow(2).sum().sqrt()).item<double>();
  EXPECT_LT((lhs - rhs).abs().item<double>() / scale, 1e-5);
}

TEST_P(SENSEOperatorTest, MatchesTorchFFTReferenceAndAutograd)
{
  const auto [B, C, H, W] = GetParam();
  auto maps = t::RandomComplex({ C, H, W }, 5);
  auto mask = RandomMask(H, W, 6);
  SENSEOperator      fftw(maps, mask);
  TorchSENSEOperator reference(maps, mask);
  auto               x = t::RandomComplex({ B, H, W }, 7);
  auto               y = t::RandomComplex({ B, C, H, W }, 8) * mask;
  EXPECT_LT(t::RelativeError(fftw.Forward(x), reference.Forward(x)), 1e-5);
  EXPECT_LT(t::RelativeError(fftw.Adjoint(y), reference.Adjoint(y)), 1e-5);
  const auto gradient = fftw.DataGradient(x, y);
  EXPECT_LT(t::RelativeError(gradient, fftw.Adjoint(fftw.Forward(x) - y)), 1e-5);
  // The base class's autograd gradient of 0.5 ||A x - y||^2 is the independent reference.
  EXPECT_LT(t::RelativeError(gradient, reference.Operator::DataGradient(x, y)), 1e-5);
  EXPECT_LT(t::RelativeError(fftw.Normal(x), fftw.Adjoint(fftw.Forward(x))), 1e-5);
}

TEST_P(SENSEOperatorTest, ForwardIsMaskedCoilFFT)
{
  const auto [B, C, H, W] = GetParam();
  auto maps = t::RandomComplex({ C, H, W }, 9);
  auto mask = RandomMask(H, W, 10);
  SENSEOperator op(maps, mask);
  auto          x = t::RandomComplex({ B, H, W }, 11);
  auto          y = op.Forward(x);
  // Unsampled entries are exactly zero; sampled ones are the coil images' spectra.
  EXPECT_EQ((y * (1 - mask)).abs().max().item<float>(), 0.0f);
  EXPECT_LT(t::RelativeError(y, dapsmri::CenteredFFT2(x.unsqueeze(1) * maps) * mask), 1e-5);
}

TEST_P(SENSEOperatorTest, TheOperatorForACUDADeviceMatchesFFTW)
{
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device is available to LibTorch";
  const auto [B, C, H, W] = GetParam();
  auto          maps = t::RandomComplex({ C, H, W }, 12);
  auto          mask = RandomMask(H, W, 13);
  SENSEOperator fftw(maps, mask);
  const auto    gpu = dapsmri::MakeSENSEOperator(maps, mask, torch::kCUDA);
  auto          x = t::RandomComplex({ B, H, W }, 14);
  auto          y = t::RandomComplex({ B, C, H, W }, 15) * mask;
  const auto    onGPU = [](const torch::Tensor & v) { return v.to(torch::kCUDA); };
  EXPECT_LT(t::RelativeError(gpu->Forward(onGPU(x)).cpu(), fftw.Forward(x)), 1e-5);
  EXPECT_LT(t::RelativeError(gpu->Adjoint(onGPU(y)).cpu(), fftw.Adjoint(y)), 1e-5);
  EXPECT_LT(t::RelativeError(gpu->DataGradient(onGPU(x), onGPU(y)).cpu(), fftw.DataGradient(x, y)), 1e-5);
  EXPECT_LT(t::RelativeError(gpu->Normal(onGPU(x)).cpu(), fftw.Normal(x)), 1e-5);
#ifdef DAPSMRI_CUDA_SENSE_OPERATOR
  EXPECT_NE(dynamic_cast<const dapsmri::CudaSENSEOperator *>(gpu.get()), nullptr);
  EXPECT_THROW(gpu->Forward(x), std::invalid_argument); // a host tensor is refused, not copied
#endif
}

TEST(SENSEOperator, TheCPUOperatorIsTheFFTWOne)
{
  const auto op = dapsmri::MakeSENSEOperator(torch::ones({ 2, 4, 4 }, torch::kComplexFloat), torch::ones({ 4, 4 }),
                                             torch::kCPU);
  EXPECT_NE(dynamic_cast<const SENSEOperator *>(op.get()), nullptr);
}

TEST(StackedOperator, IsTheBlockDiagonalOfItsWeightedProblems)
{
  const int64_t H = 6, W = 5, K = 3;
  auto          maps0 = t::RandomComplex({ 2, H, W }, 40), maps1 = t::RandomComplex({ 2, H, W }, 41);
  maps1.select(1, 0).zero_(); // row 0 outside problem 1's coils: it has an object support
  auto mask0 = RandomMask(H, W, 42), mask1 = RandomMask(H, W, 43);
  // torch::fft operators, so that autograd can differentiate through the stack.
  auto op0 = std::make_shared<TorchSENSEOperator>(maps0, mask0);
  auto op1 = std::make_shared<TorchSENSEOperator>(maps1, mask1);
  const double           w0 = 1.0, w1 = 0.25;
  dapsmri::StackedOperator stack({ op0, op1 }, { w0, w1 });
  auto x = t::RandomComplex({ 2 * K, H, W }, 44);
  auto y = t::RandomComplex({ 2 * K, 2, H, W }, 45);
  const auto x0 = x.narrow(0, 0, K), x1 = x.narrow(0, K, K), y0 = y.narrow(0, 0, K), y1 = y.narrow(0, K, K);
  EXPECT_LT(t::RelativeError(stack.Forward(x), torch::cat({ w0 * op0->Forward(x0), w1 * op1->Forward(x1) })), 1e-6);
  EXPECT_LT(t::RelativeError(stack.Adjoint(y), torch::cat({ w0 * op0->Adjoint(y0), w1 * op1->Adjoint(y1) })), 1e-6);
  // The gradient of 0.5 ||w A x - y||^2, against autograd through the stacked forward map.
  EXPECT_LT(t::RelativeError(stack.DataGradient(x, y), stack.Operator::DataGradient(x, y)), 1e-5);
  EXPECT_LT(t::RelativeError(stack.Normal(x), stack.Adjoint(stack.Forward(x))), 1e-5);
  ASSERT_TRUE(stack.ObjectSupport().defined());
  EXPECT_EQ(stack.ObjectSupport().sizes(), (std::vector<int64_t>{ 2, H, W }));
  EXPECT_TRUE(torch::equal(stack.ObjectSupport()[0], torch::ones({ H, W })));
  EXPECT_TRUE(torch::equal(stack.ObjectSupport()[1], op1->ObjectSupport()));
  EXPECT_THROW(stack.Forward(t::RandomComplex({ 3, H, W }, 46)), std::invalid_argument); // not a multiple of 2
  EXPECT_THROW(dapsmri::StackedOperator({ op0 }, { 0.0 }), std::invalid_argument);
  EXPECT_THROW(dapsmri::StackedOperator({ op0, std::make_shared<SENSEOperator>(t::RandomComplex({ 2, 4, 4 }, 47),
                                                                                torch::ones({ 4, 4 })) },
                                        { 1.0, 1.0 }),
               std::invalid_argument); // sizes differ
}

INSTANTIATE_TEST_SUITE_P(Shapes, SENSEOperatorTest,
                         ::testing::Values(Case{ 1, 1, 8, 8 }, Case{ 2, 3, 7, 5 }, Case{ 1, 8, 16, 12 },
                                           Case{ 3, 2, 9, 9 }, Case{ 1, 4, 1, 6 }),
                         [](const ::testing::TestParamInfo<Case> & info) {
                           const auto & c = info.param;
                           return "B" + std::to_string(c.batch) + "C" + std::to_string(c.coils) + "_" +
                                  std::to_string(c.height) + "x" + std::to_string(c.width);
                         });

TEST(SENSEOperator, RejectsMismatchedShapes)
{
  EXPECT_THROW(SENSEOperator(t::RandomComplex({ 2, 8, 8 }, 1), torch::ones({ 8, 7 })), std::invalid_argument);
  EXPECT_THROW(SENSEOperator(torch::ones({ 2, 8, 8 }), torch::ones({ 8, 8 })), std::invalid_argument);
  SENSEOperator op(t::RandomComplex({ 2, 8, 8 }, 1), torch::ones({ 8, 8 }));
  EXPECT_THROW(op.Forward(t::RandomComplex({ 1, 8, 9 }, 2)), std::invalid_argument);
  EXPECT_THROW(op.DataGradient(t::RandomComplex({ 1, 8, 8 }, 2), t::RandomComplex({ 1, 3, 8, 8 }, 3)),
               std::invalid_argument);
  EXPECT_THROW(op.Adjoint(t::RandomComplex({ 2, 8, 8 }, 3)), std::invalid_argument);
}

TEST(SENSEOperator, BatchSizeCanChangeBetweenCalls)
{
  auto          maps = t::SmoothCoilMaps(4, 10, 12);
  SENSEOperator op(maps, torch::ones({ 10, 12 }));
  auto          x = t::RandomComplex({ 3, 10, 12 }, 4);
  auto          all = op.Forward(x);
  auto          one = op.Forward(x.narrow(0, 1, 1));
  EXPECT_LT(t::RelativeError(one, all.narrow(0, 1, 1)), 1e-6);
  // With normalised maps and a full mask, A^H A is the identity.
  EXPECT_LT(t::RelativeError(op.Normal(x), x), 1e-5);
}

TEST(SENSEOperator, ResultDoesNotDependOnTheThreadCount)
{
  // 2 images x 3 coils shared among 1, 2, 4 and 7 workers: shares that split one image's
  // coils, that hold several images, and more workers than pairs.
  auto       maps = t::SmoothCoilMaps(3, 9, 14);
  auto       mask = RandomMask(9, 14, 5);
  auto       x = t::RandomComplex({ 2, 9, 14 }, 6);
  auto       y = t::RandomComplex({ 2, 3, 9, 14 }, 7);
  TorchSENSEOperator reference(maps, mask);
  for (int threads : { 1, 2, 4, 7 })
  {
    SCOPED_TRACE(threads);
    SENSEOperator op(maps, mask, threads);
    EXPECT_LT(t::RelativeError(op.DataGradient(x, y), reference.DataGradient(x, y)), 1e-5);
    EXPECT_LT(t::RelativeError(op.Adjoint(y), reference.Adjoint(y)), 1e-5);
    EXPECT_LT(t::RelativeError(op.Forward(x), reference.Forward(x)), 1e-5);
  }
}
