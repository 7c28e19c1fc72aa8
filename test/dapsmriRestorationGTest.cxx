// Image restoration through the plain-C++ facade: forward models, the intensity convention,
// restarts, and the refusal of bad parameters before any work.
#include "dapsmriRestoration.h"

#include "dapsmriSimulation.h"
#include "itkExceptionDescription.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace dapsmri;

namespace
{
std::vector<std::complex<float>>
AsComplex(const std::vector<float> & v)
{
  return std::vector<std::complex<float>>(v.begin(), v.end());
}

ReconstructionSettings
ShortExactSchedule()
{
  ReconstructionSettings s;
  s.daps.annealingSteps = 20;
  s.daps.mcmc = MCMCMethod::ExactGaussian;
  s.daps.cgIterations = 40;
  s.daps.samples = 8;
  s.daps.tau = 0.01;
  s.intensityScale = 1.0; // the phantom is in the Gaussian prior's units
  return s;
}

RestorationProblem
GaussianDeblurring(int64_t n)
{
  RestorationProblem p;
  p.task = RestorationTask::Deblurring;
  p.height = p.width = n;
  p.kernel = GaussianBlurKernel(9, 1.5);
  p.kernelHeight = p.kernelWidth = 9;
  return p;
}
} // namespace

/** The Cholesky factor L of a symmetric positive definite P (n x n, row-major), in place. */
void
Cholesky(std::vector<double> & P, size_t n)
{
  for (size_t j = 0; j < n; ++j)
  {
    for (size_t k = 0; k < j; ++k)
      P[j * n + j] -= P[j * n + k] * P[j * n + k];
    P[j * n + j] = std::sqrt(P[j * n + j]);
    for (size_t i = j + 1; i < n; ++i)
    {
      for (size_t k = 0; k < j; ++k)
        P[i * n + j] -= P[i * n + k] * P[j * n + k];
      P[i * n + j] /= P[j * n + j];
    }
  }
}

/** Solves L L^T x = b with the factor from Cholesky(). */
std::vector<double>
CholeskySolve(const std::vector<double> & L, std::vector<double> b, size_t n)
{
  for (size_t i = 0; i < n; ++i)
  {
    for (size_t k = 0; k < i; ++k)
      b[i] -= L[i * n + k] * b[k];
    b[i] /= L[i * n + i];
  }
  for (size_t i = n; i-- > 0;)
  {
    for (size_t k = i + 1; k < n; ++k)
      b[i] -= L[k * n + i] * b[k];
    b[i] /= L[i * n + i];
  }
  return b;
}

// With a Gaussian prior N(0, s^2) DAPS with exact Gaussian steps samples the exact posterior; its
// mean is (A^T A / tau^2 + I / s^2)^-1 A^T y / tau^2 with A the blur, built densely here from the
// facade's own forward model applied to unit images. The average of B restorations (the real
// parts) must match it within 4.5 Monte Carlo standard errors (the exact posterior std / sqrt(B)).
TEST(Restoration, DeblurringWithAGaussianPriorGivesTheAnalyticPosteriorMean)
{
  const int64_t n = 12;
  const size_t  N = static_cast<size_t>(n * n);
  const double  s = 0.5, tau = 0.05, B = 1600;
  auto          problem = GaussianDeblurring(n);
  problem.kernel = GaussianBlurKernel(5, 1.0);
  problem.kernelHeight = problem.kernelWidth = 5;
  const auto          truth = SheppLoganPhantom(n, n);
  const auto          y = Measure(problem, truth);
  std::vector<double> A(N * N); // column j: the blurred unit image e_j
  for (size_t j = 0; j < N; ++j)
  {
    std::vector<float> unit(N, 0.0f);
    unit[j] = 1.0f;
    const auto column = Measure(problem, unit);
    for (size_t i = 0; i < N; ++i)
      A[i * N + j] = column[i];
  }
  std::vector<double> P(N * N), mean(N, 0.0);
  for (size_t i = 0; i < N; ++i)
    for (size_t j = 0; j < N; ++j)
    {
      double dot = 0.0;
      for (size_t k = 0; k < N; ++k)
        dot += A[k * N + i] * A[k * N + j];
      P[i * N + j] = dot / (tau * tau) + (i == j ? 1.0 / (s * s) : 0.0);
    }
  for (size_t i = 0; i < N; ++i)
    for (size_t k = 0; k < N; ++k)
      mean[i] += A[k * N + i] * y[k] / (tau * tau);
  Cholesky(P, N);
  mean = CholeskySolve(P, mean, N);
  std::vector<double> std(N); // the posterior std of each pixel: sqrt of diag(P^-1)
  for (size_t i = 0; i < N; ++i)
  {
    std::vector<double> unit(N, 0.0);
    unit[i] = 1.0;
    std[i] = std::sqrt(CholeskySolve(P, unit, N)[i]);
  }

  ReconstructionSettings settings;
  settings.daps = ReferencePreset();
  settings.daps.annealingSteps = 20;
  settings.daps.odeSteps = 1;
  settings.daps.mcmc = MCMCMethod::ExactGaussian;
  settings.daps.cgIterations = 200;
  settings.daps.priorSpread = PriorSpread::GaussianPosterior;
  settings.daps.tau = tau;
  settings.daps.samples = static_cast<int>(B);
  settings.intensityScale = 1.0;
  const auto result = Restore(Prior::Gaussian({ 0.0f, 0.0f }, s), problem, y, settings);
  double     worst = 0.0, blurredOff = 0.0; // in standard errors std / sqrt(B)
  for (size_t i = 0; i < N; ++i)
  {
    worst = std::max(worst, std::abs(result.mean[i].real() - mean[i]) / (std[i] / std::sqrt(B)));
    blurredOff = std::max(blurredOff, std::abs(y[i] - mean[i]) / (std[i] / std::sqrt(B)));
  }
  EXPECT_LT(worst, 4.5);      // 4.5 standard errors over 144 pixels: false alarms below 1e-3
  EXPECT_GT(blurredOff, 9.0); // and the blurred image is far outside: the test tells them apart
  const double psnrBlurred = MagnitudePSNR(AsComplex(y), AsComplex(truth));
  const double psnrRestored = MagnitudePSNR(result.mean, AsComplex(truth));
  std::cout << "largest deviation from the analytic mean " << worst << " standard errors (blurred image "
            << blurredOff << "); PSNR blurred " << psnrBlurred
            << " dB, restored " << psnrRestored << " dB\n";
  EXPECT_EQ(result.standardDeviation.size(), N);
  EXPECT_EQ(result.statistics.denoiserEvaluations, 20);
}

// The estimated intensity scale (99th percentile of |y|) makes the result follow the data's units.
TEST(Restoration, TheResultScalesWithTheMeasurement)
{
  RestorationProblem problem;
  problem.task = RestorationTask::SuperResolution;
  problem.height = problem.width = 16;
  problem.factor = 2;
  const auto truth = SheppLoganPhantom(16, 16);
  auto       y = Measure(problem, truth);
  ASSERT_EQ(y.size(), 64u);
  auto settings = ShortExactSchedule();
  settings.intensityScale = 0.0;
  const auto once = Restore(Prior::Gaussian({ 0.0f, 0.0f }, 0.5), problem, y, settings);
  for (auto & v : y)
    v *= 10.0f;
  const auto tenfold = Restore(Prior::Gaussian({ 0.0f, 0.0f }, 0.5), problem, y, settings);
  EXPECT_NEAR(tenfold.intensityScale, 10.0 * once.intensityScale, 1e-5 * tenfold.intensityScale);
  for (size_t i = 0; i < once.mean.size(); ++i)
    EXPECT_NEAR(std::abs(tenfold.mean[i] - 10.0f * once.mean[i]), 0.0, 1e-4 * (1.0 + std::abs(tenfold.mean[i])));
}

// Phase retrieval keeps, of several runs, the one whose mean fits the data best.
TEST(Restoration, RestartsKeepTheRunThatFitsBest)
{
  RestorationProblem problem;
  problem.task = RestorationTask::PhaseRetrieval;
  problem.height = problem.width = 8;
  const auto truth = SheppLoganPhantom(8, 8);
  const auto y = Measure(problem, truth);
  ASSERT_EQ(y.size(), 256u);
  ReconstructionSettings settings;
  settings.daps.annealingSteps = 10;
  settings.daps.mcmc = MCMCMethod::Langevin;
  settings.daps.mcmcSteps = 20;
  settings.daps.tau = 0.05;
  settings.daps.stepSize = 1e-4;
  const auto prior = Prior::Gaussian({ 0.0f, 0.0f }, 0.5);
  double     smallest = INFINITY;
  for (uint64_t seed = 0; seed < 3; ++seed)
  {
    settings.daps.seed = seed;
    smallest = std::min(smallest, Restore(prior, problem, y, settings).relativeResidual);
  }
  settings.daps.seed = 0;
  int        calls = 0;
  const auto best = Restore(prior, problem, y, settings, 3, [&](int done, int total) {
    ++calls;
    EXPECT_EQ(total, 30);
    return done <= total;
  });
  EXPECT_DOUBLE_EQ(best.relativeResidual, smallest);
  EXPECT_EQ(calls, 30); // one progress count over the three runs
  EXPECT_EQ(best.statistics.denoiserEvaluations, 3 * 10);
}

TEST(Restoration, BadParametersAreRefusedBeforeAnyWork)
{
  const auto prior = Prior::Gaussian({ 0.0f, 0.0f }, 0.5);
  const auto refused = [&](const RestorationProblem & p, const std::vector<float> & y, const std::string & needle,
                           const ReconstructionSettings & s = ReconstructionSettings{}) {
    const auto error = ErrorOf([&] { Restore(prior, p, y, s); });
    EXPECT_NE(error.find(needle), std::string::npos) << error;
  };
  RestorationProblem sr;
  sr.task = RestorationTask::SuperResolution;
  sr.height = sr.width = 10;
  sr.factor = 3;
  refused(sr, std::vector<float>(9, 1.0f), "divisor of the image size");
  RestorationProblem inpainting;
  inpainting.task = RestorationTask::Inpainting;
  inpainting.height = inpainting.width = 4;
  inpainting.mask.assign(16, 0);
  refused(inpainting, std::vector<float>(16, 1.0f), "shows no pixel");
  EXPECT_NE(ErrorOf([&] { CheckProblem(inpainting); }).find("shows no pixel"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { MeasurementSize(sr); }).find("divisor of the image size"), std::string::npos);
  EXPECT_NE(ErrorOf([] { BoxMask(4, 4, 0, 0, 0, 2); }).find("positive"), std::string::npos);
  EXPECT_NE(ErrorOf([] { RandomMask(4, 4, 1.0, 0); }).find("[0, 1)"), std::string::npos);
  auto blur = GaussianDeblurring(8);
  blur.kernel = GaussianBlurKernel(9, 1.0);
  refused(blur, std::vector<float>(64, 1.0f), "larger than the image");
  RestorationProblem hdr;
  hdr.task = RestorationTask::HDR;
  hdr.height = hdr.width = 4;
  hdr.alpha = 0.0;
  refused(hdr, std::vector<float>(16, 0.5f), "alpha must be positive");
  hdr.alpha = 2.0;
  refused(hdr, std::vector<float>(16, 0.5f), "nonlinear"); // the default preset's mean step is for linear tasks
  refused(GaussianDeblurring(16), std::vector<float>(15, 1.0f), "measures 16 x 16");
  std::vector<float> bad(256, 1.0f);
  bad[3] = NAN;
  refused(GaussianDeblurring(16), bad, "NaN or Inf");
  EXPECT_THROW(ParseRestorationTask("denoising"), std::invalid_argument);
  EXPECT_EQ(ParseRestorationTask(ToString(RestorationTask::PhaseRetrieval)), RestorationTask::PhaseRetrieval);
}

TEST(Restoration, MasksHideTheBoxOrTheFraction)
{
  // A box reaching past the image is clipped to it; nothing else is hidden.
  const auto box = BoxMask(6, 8, 5, -1, 10, 3);
  for (int64_t row = 0; row < 6; ++row)
    for (int64_t column = 0; column < 8; ++column)
      EXPECT_EQ(box[static_cast<size_t>(row * 8 + column)], (row < 2 && column >= 5) ? 0 : 1) << row << " " << column;
  // 70 % of 10000 pixels: within 4 standard deviations (46 pixels) of 7000; seeded.
  const auto random = RandomMask(100, 100, 0.7, 3);
  const auto hidden = std::count(random.begin(), random.end(), 0);
  EXPECT_NEAR(static_cast<double>(hidden), 7000.0, 4 * std::sqrt(10000 * 0.7 * 0.3));
  EXPECT_EQ(random, RandomMask(100, 100, 0.7, 3));
  EXPECT_NE(random, RandomMask(100, 100, 0.7, 4));
}
