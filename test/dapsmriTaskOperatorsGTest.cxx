// The image-restoration forward models against exact references: direct block means, direct
// circular convolution and a direct DFT in double precision, adjoint identities for the linear
// ones, finite differences for the gradients of the nonlinear ones.
#include "dapsmriTaskOperators.h"
#include "dapsmriSampler.h"
#include "dapsmriTestUtilities.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <functional>

using namespace dapsmri;
namespace t = dapsmri::testing;

namespace
{
/** |<A x, y> - <x, A^H y>| relative to ||A x|| ||y||, in double. */
double
AdjointMismatch(const Operator & op, const torch::Tensor & x, const torch::Tensor & y)
{
  const auto ax = op.Forward(x).to(torch::kComplexDouble), yd = y.to(torch::kComplexDouble);
  const auto lhs = (ax.conj() * yd).sum();
  const auto rhs = (x.to(torch::kComplexDouble).conj() * op.Adjoint(y).to(torch::kComplexDouble)).sum();
  const auto scale = ax.abs().pow(2).sum().sqrt() * yd.abs().pow(2).sum().sqrt();
  return (lhs - rhs).abs().item<double>() / scale.item<double>();
}

/** The data gradient against central finite differences of the data term (by default
 * 0.5 ||A(x) - y||^2) along random directions (in double precision around float values). */
double
GradientMismatch(const Operator & op, const torch::Tensor & x, const torch::Tensor & y, uint64_t seed,
                 std::function<double(const torch::Tensor &)> loss = {})
{
  if (!loss)
    loss = [&](const torch::Tensor & v) { return 0.5 * (op.Forward(v) - y).abs().pow(2).sum().item<double>(); };
  const auto gradient = op.DataGradient(x, y);
  double     worst = 0.0;
  for (uint64_t k = 0; k < 4; ++k)
  {
    auto         d = t::RandomComplex(x.sizes().vec(), seed + k);
    d = d / d.abs().pow(2).sum().sqrt();
    const double h = 1e-3;
    const double numeric = (loss(x + h * d) - loss(x - h * d)) / (2.0 * h);
    const double analytic = torch::real(gradient.conj() * d).sum().item<double>(); // Re <g, d>
    worst = std::max(worst, std::abs(numeric - analytic) / std::max(1.0, std::abs(numeric)));
  }
  return worst;
}
} // namespace

TEST(DownsamplingOperator, AreaIsTheBlockMeanAndHasItsAdjoint)
{
  const int64_t        H = 6, W = 9, f = 3;
  DownsamplingOperator op(H, W, f);
  const auto           x = t::RandomComplex({ 2, H, W }, 1);
  const auto           y = op.Forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{ 2, H / f, W / f }));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < H / f; ++i)
      for (int64_t j = 0; j < W / f; ++j)
      {
        const auto block = x[b].narrow(0, i * f, f).narrow(1, j * f, f).to(torch::kComplexDouble).mean();
        EXPECT_LT((y[b][i][j].to(torch::kComplexDouble) - block).abs().item<double>(), 1e-6);
      }
  EXPECT_LT(AdjointMismatch(op, x, t::RandomComplex({ 2, H / f, W / f }, 2)), 1e-6);
  EXPECT_LT(t::RelativeError(op.DataGradient(x, y * 0.5), op.Operator::DataGradient(x, y * 0.5)), 1e-5);
}

TEST(DownsamplingOperator, BicubicIsLinearWithItsAdjoint)
{
  DownsamplingOperator op(16, 12, 4, DownsamplingOperator::Method::Bicubic);
  const auto           x = t::RandomComplex({ 2, 16, 12 }, 3), z = t::RandomComplex({ 2, 16, 12 }, 4);
  EXPECT_LT(t::RelativeError(op.Forward(x + 2.0 * z), op.Forward(x) + 2.0 * op.Forward(z)), 1e-5);
  EXPECT_LT(AdjointMismatch(op, x, t::RandomComplex({ 2, 4, 3 }, 5)), 1e-5);
  // A constant image stays constant (the filter's weights sum to one).
  const auto flat = op.Forward(torch::full({ 1, 16, 12 }, c10::complex<float>(0.5f, -0.25f)));
  EXPECT_LT((flat - c10::complex<float>(0.5f, -0.25f)).abs().max().item<float>(), 1e-5f);
}

TEST(InpaintingOperator, MasksAndIsSelfAdjoint)
{
  const auto         mask = (torch::rand({ 7, 5 }, at::detail::createCPUGenerator(6)) < 0.5).to(torch::kFloat);
  InpaintingOperator op(mask * 3.0); // any nonzero value marks a seen pixel
  const auto         x = t::RandomComplex({ 3, 7, 5 }, 7);
  EXPECT_TRUE(torch::equal(op.Forward(x), x * mask));
  EXPECT_LT(AdjointMismatch(op, x, t::RandomComplex({ 3, 7, 5 }, 8)), 1e-6);
}

TEST(BlurOperator, IsCircularConvolutionWithItsAdjoint)
{
  const int64_t H = 7, W = 6, kh = 3, kw = 5;
  const auto    kernel = torch::rand({ kh, kw }, at::detail::createCPUGenerator(9));
  BlurOperator  op(H, W, kernel);
  const auto    x = t::RandomComplex({ 1, H, W }, 10);
  // Direct periodic convolution with the kernel's centre (kh / 2, kw / 2) at the output pixel.
  auto       reference = torch::zeros({ H, W }, torch::kComplexDouble);
  const auto xd = x[0].to(torch::kComplexDouble);
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j)
      for (int64_t a = 0; a < kh; ++a)
        for (int64_t b = 0; b < kw; ++b)
          reference[i][j] += kernel[a][b].item<double>() * xd[(i - (a - kh / 2) + H) % H][(j - (b - kw / 2) + W) % W];
  EXPECT_LT(t::RelativeError(op.Forward(x)[0].to(torch::kComplexDouble), reference), 1e-5);
  EXPECT_LT(AdjointMismatch(op, t::RandomComplex({ 2, H, W }, 11), t::RandomComplex({ 2, H, W }, 12)), 1e-5);
}

TEST(BlurOperator, KernelsAreNormalisedAndSeeded)
{
  const auto gaussian = GaussianKernel(9, 1.5);
  EXPECT_NEAR(gaussian.sum().item<float>(), 1.0f, 1e-5f);
  EXPECT_TRUE(torch::allclose(gaussian, gaussian.flip({ 0 }))); // symmetric
  EXPECT_GT(gaussian[4][4].item<float>(), gaussian[0][0].item<float>());
  const auto motion = MotionKernel(15, 0.5, 3);
  EXPECT_NEAR(motion.sum().item<float>(), 1.0f, 1e-5f);
  EXPECT_GE(motion.min().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(motion, MotionKernel(15, 0.5, 3)));
  EXPECT_FALSE(torch::equal(motion, MotionKernel(15, 0.5, 4)));
  // A path, not a blob: most of the kernel is empty.
  EXPECT_LT((motion > 0).sum().item<int64_t>(), 15 * 15 / 2);
}

TEST(PhaseRetrievalOperator, IsTheMagnitudeOfTheOversampledDFT)
{
  const int64_t          H = 4, W = 3, s = 2;
  PhaseRetrievalOperator op(H, W, s);
  const auto             x = t::RandomComplex({ 1, H, W }, 13);
  const auto             y = op.Forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{ 1, s * H, s * W }));
  const auto xd = x[0].to(torch::kComplexDouble);
  for (int64_t u = 0; u < s * H; ++u)
    for (int64_t v = 0; v < s * W; ++v)
    {
      c10::complex<double> sum(0.0, 0.0);
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j)
        {
          const double phase =
            -2.0 * M_PI * (static_cast<double>(u * i) / (s * H) + static_cast<double>(v * j) / (s * W));
          sum += xd[i][j].item<c10::complex<double>>() * c10::complex<double>(std::cos(phase), std::sin(phase));
        }
      const double magnitude = std::abs(sum) / std::sqrt(static_cast<double>(s * H * s * W));
      EXPECT_NEAR(y[0][u][v].item<c10::complex<float>>().real(), magnitude, 1e-5);
      EXPECT_EQ(y[0][u][v].item<c10::complex<float>>().imag(), 0.0f);
    }
  EXPECT_FALSE(op.IsLinear());
  EXPECT_LT(GradientMismatch(op, x, op.Forward(t::RandomComplex({ 1, H, W }, 14)), 15), 1e-3);
}

TEST(HDROperator, ClipsAndItsGradientMatchesFiniteDifferences)
{
  HDROperator op(5, 4, 2.0);
  // Values moved away from the kinks at |2 x| = 1, where the loss is not smooth.
  auto parts = torch::view_as_real(0.6 * t::RandomComplex({ 2, 5, 4 }, 16));
  parts = torch::where((parts.mul(2.0).abs() - 1.0).abs() < 0.02, 1.1 * parts, parts);
  const auto x = torch::view_as_complex(parts.contiguous());
  const auto  y = op.Forward(x);
  EXPECT_TRUE(torch::equal(torch::view_as_real(y), torch::clamp(2.0 * torch::view_as_real(x), -1.0, 1.0)));
  EXPECT_LE(torch::view_as_real(y).abs().max().item<float>(), 1.0f);
  const auto away = torch::view_as_real(x).mul(2.0).abs().sub(1.0).abs().min().item<float>();
  ASSERT_GT(away, 2.0f * 2e-3f);
  // The gradient is that of the convex potential, which is the least-squares term up to a
  // constant where nothing is clipped, and vanishes exactly where clip(alpha x) = y.
  const auto measured = 0.3 * t::RandomComplex({ 2, 5, 4 }, 17);
  EXPECT_LT(GradientMismatch(op, x, measured, 18,
                             [&](const torch::Tensor & v) { return op.DataPotential(v, measured).sum().item<double>(); }),
            1e-3);
  const auto inRange = 0.2 * t::RandomComplex({ 1, 5, 4 }, 19);
  EXPECT_LT(GradientMismatch(op, inRange, measured[0].unsqueeze(0), 20), 1e-3);
  EXPECT_EQ(op.DataGradient(x, y).abs().max().item<float>(), 0.0f);
  // A pixel measured below the clip level but sampled far above it is pulled back down (the
  // least-squares gradient would be 0 there).
  auto bright = torch::full({ 1, 5, 4 }, c10::complex<float>(3.0f, 0.0f));
  const auto pull = op.DataGradient(bright, torch::full({ 1, 5, 4 }, c10::complex<float>(0.2f, 0.0f)));
  EXPECT_NEAR(torch::real(pull).min().item<float>(), 2.0f * (1.0f - 0.2f), 1e-6);
}

TEST(TaskOperators, BadParametersAreRefusedBeforeAnyWork)
{
  EXPECT_THROW(DownsamplingOperator(10, 10, 3), std::invalid_argument); // 3 does not divide 10
  EXPECT_THROW(DownsamplingOperator(10, 10, 0), std::invalid_argument);
  EXPECT_THROW(InpaintingOperator(torch::zeros({ 4, 4 })), std::invalid_argument); // empty mask
  EXPECT_THROW(BlurOperator(8, 8, torch::ones({ 9, 3 })), std::invalid_argument);   // kernel taller than the image
  EXPECT_THROW(BlurOperator(8, 8, torch::full({ 3, 3 }, NAN)), std::invalid_argument);
  EXPECT_THROW(HDROperator(8, 8, 0.0), std::invalid_argument);
  EXPECT_THROW(HDROperator(8, 8, -2.0), std::invalid_argument);
  EXPECT_THROW(PhaseRetrievalOperator(8, 8, 0), std::invalid_argument);
  EXPECT_THROW(GaussianKernel(5, 0.0), std::invalid_argument);
  EXPECT_THROW(MotionKernel(15, 1.5, 0), std::invalid_argument);
  // Images of the wrong size are refused by every operator.
  const auto wrong = t::RandomComplex({ 1, 5, 5 }, 19);
  EXPECT_THROW(DownsamplingOperator(8, 8, 2).Forward(wrong), std::invalid_argument);
  EXPECT_THROW(HDROperator(8, 8).Forward(wrong), std::invalid_argument);
  EXPECT_THROW(PhaseRetrievalOperator(8, 8).Forward(wrong), std::invalid_argument);
}

TEST(TaskOperators, NonlinearCurvatureBoundsHoldAndLimitLangevin)
{
  // ||A(x + h v) - A(x)|| / h <= sqrt(bound) ||v|| at random points and directions.
  const PhaseRetrievalOperator retrieval(8, 8, 2);
  const HDROperator            hdr(8, 8, 2.0);
  for (const Operator * op : { static_cast<const Operator *>(&retrieval), static_cast<const Operator *>(&hdr) })
  {
    ASSERT_GT(op->CurvatureBound(), 0.0);
    for (uint64_t k = 0; k < 8; ++k)
    {
      // Differences of size h: |clip(a) - clip(b)| <= alpha |a - b| and ||F u| - |F w|| <=
      // |F (u - w)| hold for any step, so float rounding is the only slack.
      const auto   x = t::RandomComplex({ 1, 8, 8 }, 100 + k);
      const auto   v = t::RandomComplex({ 1, 8, 8 }, 200 + k);
      const double h = 1e-2;
      const double slope = ((op->Forward(x + h * v) - op->Forward(x)).abs().pow(2).sum().sqrt() / h /
                            v.abs().pow(2).sum().sqrt())
                             .item<double>();
      EXPECT_LE(slope * slope, op->CurvatureBound() * (1.0 + 1e-4));
    }
  }
  EXPECT_DOUBLE_EQ(hdr.CurvatureBound(), 4.0);

  // The paper's HDR step size (2e-5 at tau 0.01) is stable; the generic 1e-4 is refused before
  // the run, as it would oscillate with growing amplitude wherever the image is not clipped.
  const GaussianDenoiser prior(torch::zeros({ 8, 8 }, torch::kComplexFloat), torch::full({ 8, 8 }, 0.25));
  DAPSConfig             config = Preset("reference");
  config.annealingSteps = 4;
  config.mcmcSteps = 5;
  const auto y = hdr.Forward(t::RandomComplex({ 1, 8, 8 }, 7) * 0.3)[0];
  try
  {
    DAPSSampler(prior, hdr, config).Run(y);
    ADD_FAILURE() << "no exception";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("unstable"), std::string::npos) << e.what();
  }
  config.stepSize = 2e-5;
  EXPECT_TRUE(torch::isfinite(DAPSSampler(prior, hdr, config).Run(y)).all().item<bool>());
}

TEST(SmoothFill, KeepsSeenPixelsAndFillsAHoleHarmonically)
{
  // A linear ramp solves Laplace's equation: the harmonic fill of a hole in it is the ramp.
  const int64_t H = 40, W = 56;
  const auto    rows = torch::arange(H, torch::kFloat).view({ H, 1 }), columns = torch::arange(W, torch::kFloat).view({ 1, W });
  const auto    ramp = torch::complex(0.02f * rows + 0.01f * columns + 0.3f, -0.015f * columns);
  auto          mask = torch::ones({ H, W }, torch::kUInt8);
  mask.narrow(0, 8, 24).narrow(1, 10, 30).zero_();
  const auto filled = SmoothFill(ramp * mask, mask);
  EXPECT_TRUE(torch::equal(filled.masked_select(mask != 0), ramp.masked_select(mask != 0)));
  EXPECT_LT((filled - ramp).abs().max().item<float>(), 0.02f * 0.3f); // vs the hole's 0 before
}

TEST(DAPSSampler, AStartImageIsWhereTheAnnealingBegins)
{
  // Almost no noise (sigma 0.01 to 0.005) and a broad Gaussian prior: the samples stay at the start.
  const GaussianDenoiser prior(torch::zeros({ 6, 6 }, torch::kComplexFloat), torch::full({ 6, 6 }, 100.0));
  NullOperator           nothing(6, 6);
  DAPSConfig             config;
  config.annealingSteps = 3;
  config.sigmaMax = 0.01;
  config.sigmaMin = 0.005;
  const auto  start = t::RandomComplex({ 6, 6 }, 5);
  DAPSSampler sampler(prior, nothing, config);
  sampler.SetStart(start);
  const auto samples = sampler.Run(torch::zeros({ 6, 6 }, torch::kComplexFloat));
  EXPECT_LT((samples[0] - start).abs().max().item<float>(), 0.05f);
  EXPECT_GT(start.abs().max().item<float>(), 0.5f);
  sampler.SetStart(torch::zeros({ 5, 6 }, torch::kComplexFloat));
  EXPECT_THROW(sampler.Run(torch::zeros({ 6, 6 }, torch::kComplexFloat)), std::invalid_argument);
}

TEST(HybridInputOutput, RecoversAPositiveImageOrItsTwinFromItsMagnitudes)
{
  // A smooth positive 16 x 16 image: its 2x oversampled magnitudes determine it up to the
  // 180-degree rotation (the twin), which has the same magnitudes. HIO often stagnates near the
  // image (which is why DAPS refines it): over 6 seeds every run must land within 20 % of it
  // (a random positive image is about 65 % away) and fit the magnitudes within 1 %, and some run
  // must find it exactly.
  const auto rows = torch::arange(16, torch::kFloat).view({ 16, 1 }), columns = torch::arange(16, torch::kFloat).view({ 1, 16 });
  const auto image = (0.5 + 0.3 * torch::sin(0.4 * rows) * torch::cos(0.25 * columns) + 0.02 * rows).to(torch::kComplexFloat);
  const PhaseRetrievalOperator op(16, 16, 2);
  const auto                   y = op.Forward(image.unsqueeze(0))[0];
  const auto relative = [](const torch::Tensor & a, const torch::Tensor & b) {
    return ((a - b).abs().pow(2).sum() / b.abs().pow(2).sum()).sqrt().item<double>();
  };
  int exact = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed)
  {
    const auto estimate = HybridInputOutput(y, 16, 16, seed);
    ASSERT_EQ(estimate.sizes(), image.sizes());
    EXPECT_EQ(torch::imag(estimate).abs().max().item<float>(), 0.0f);
    EXPECT_GE(torch::real(estimate).min().item<float>(), 0.0f);
    const double error = std::min(relative(estimate, image), relative(estimate, image.flip({ 0, 1 })));
    EXPECT_LT(error, 0.2) << "seed " << seed;
    EXPECT_LT(relative(op.Forward(estimate.unsqueeze(0))[0], y), 0.01) << "seed " << seed;
    exact += error < 1e-4;
  }
  EXPECT_GT(exact, 0);
}

TEST(DAPSSampler, RealNonnegativeSamplesStaySo)
{
  // A prior centred on a complex image with negative real parts, no data: held real and >= 0,
  // the samples are relu of what they would be, with no imaginary part.
  const GaussianDenoiser prior(torch::full({ 6, 6 }, c10::complex<float>(-0.2f, 0.5f)), torch::full({ 6, 6 }, 0.04));
  NullOperator           nothing(6, 6);
  DAPSConfig             config;
  config.annealingSteps = 5;
  config.samples = 3;
  DAPSSampler sampler(prior, nothing, config);
  sampler.SetRealNonnegative(true);
  const auto samples = sampler.Run(torch::zeros({ 6, 6 }, torch::kComplexFloat));
  EXPECT_EQ(torch::imag(samples).abs().max().item<float>(), 0.0f);
  EXPECT_GE(torch::real(samples).min().item<float>(), 0.0f);
  EXPECT_GT(torch::real(samples).max().item<float>(), 0.0f); // not all clipped to zero
}
