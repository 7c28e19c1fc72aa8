#include "dapsmriSENSEOperator.h"
#include "dapsmriSampler.h"
#include "dapsmriTestUtilities.h"

#include <gtest/gtest.h>

using namespace dapsmri;
namespace t = dapsmri::testing;

TEST(PolynomialSigmas, FollowsTheEDMGrid)
{
  const auto s = PolynomialSigmas(200, 100.0, 0.1, 0.0);
  ASSERT_EQ(s.size(), 201u);
  EXPECT_DOUBLE_EQ(s.front(), 100.0);
  EXPECT_NEAR(s[199], 0.1, 1e-12);
  EXPECT_EQ(s.back(), 0.0);
  for (size_t i = 1; i < s.size(); ++i)
  {
    EXPECT_LT(s[i], s[i - 1]);
  }
  // Midpoint of the grid: ((100^(1/7) + 0.1^(1/7)) / 2)^7 at t = 1/2 (steps = 3).
  const auto three = PolynomialSigmas(3, 100.0, 0.1, 0.0);
  EXPECT_NEAR(three[1], std::pow(0.5 * (std::pow(100.0, 1.0 / 7) + std::pow(0.1, 1.0 / 7)), 7.0), 1e-9);
}

TEST(DAPSConfig, PresetsAreTheDefaultsAndThePapersValues)
{
  const auto reference = Preset("reference");
  EXPECT_EQ(reference.annealingSteps, 200);
  EXPECT_EQ(reference.sigmaMax, 100.0);
  EXPECT_EQ(reference.sigmaMin, 0.1);
  EXPECT_EQ(reference.odeSteps, 5);
  EXPECT_EQ(reference.odeSolver, ODESolver::Euler);
  EXPECT_EQ(reference.mcmc, MCMCMethod::Langevin);
  EXPECT_EQ(reference.mcmcSteps, 100);
  EXPECT_EQ(reference.stepSize, 1e-4);
  EXPECT_EQ(reference.stepSizeMinRatio, 0.01);
  EXPECT_EQ(reference.tau, 0.01);
  EXPECT_EQ(reference.priorSpread, PriorSpread::Sigma);
  const auto mri = Preset(PresetNames[0]);
  EXPECT_EQ(mri.annealingSteps, DAPSConfig{}.annealingSteps);
  EXPECT_EQ(mri.mcmc, DAPSConfig{}.mcmc);
  EXPECT_EQ(mri.sigmaMin, DAPSConfig{}.sigmaMin);
  EXPECT_NO_THROW(Validate(mri));
  EXPECT_NO_THROW(Validate(reference));
  try
  {
    Preset("fastest");
    ADD_FAILURE() << "accepted";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("mri or reference"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ParseMCMCMethod("mean"), MCMCMethod::ConditionalMean);
  EXPECT_STREQ(ToString(MCMCMethod::ConditionalMean), "mean");
}

TEST(DAPSConfig, ValidationNamesTheBadField)
{
  const auto expectError = [](DAPSConfig c, const std::string & needle) {
    try
    {
      Validate(c);
      ADD_FAILURE() << "accepted";
    }
    catch (const std::invalid_argument & e)
    {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  DAPSConfig c;
  EXPECT_NO_THROW(Validate(c));
  c.tau = 0.0;
  expectError(c, "tau");
  c = {};
  c.sigmaMin = 200.0;
  expectError(c, "sigma_max");
  c = {};
  c.samples = 0;
  expectError(c, "samples");
  c = {};
  c.annealingSteps = 0;
  expectError(c, "annealing");
  c = {};
  c.stepSize = -1.0;
  expectError(c, "step size");
}

// ---------------------------------------------------------------------------------------------
// Posterior correctness with an exact Gaussian prior and the SENSE operator.
//
// For a Gaussian prior N(mu, s^2) the conditional p(x0 | x_t) is exactly N(D(x_t), r_t^2) with
// r_t = sigma s / sqrt(sigma^2 + s^2) (PriorSpread::GaussianPosterior), and one Euler step of the
// probability-flow ODE to sigma = 0 returns D(x_t). With an exact draw of p(x0 | x_t, y) at every
// level, every x_t is distributed as p(x_t | y) (DAPS's Proposition), so the final x0 are exact
// posterior samples. The reference posterior is computed densely in real coordinates:
// precision P = A^T A / tau^2 + I / s^2, mean = P^-1 (A^T y / tau^2 + mu / s^2).
namespace
{
struct GaussianProblem
{
  int64_t                        H = 6, W = 5, C = 2;
  double                         s = 0.5, tau = 0.5;
  torch::Tensor                  mu, y, maps, mask;
  std::unique_ptr<SENSEOperator> op;
  torch::Tensor                  postMean, postStd, precision;

  explicit GaussianProblem(double tauIn)
    : tau(tauIn)
  {
    maps = t::SmoothCoilMaps(C, H, W);
    auto generator = at::detail::createCPUGenerator(21);
    mask = (torch::rand({ H, W }, generator) < 0.5).to(torch::kFloat);
    op = std::make_unique<SENSEOperator>(maps, mask);
    mu = 0.3 * t::RandomComplex({ H, W }, 22);
    auto truth = mu + s * t::RandomComplex({ 1, H, W }, 23);
    y = (op->Forward(truth) + tau * t::RandomComplex({ 1, C, H, W }, 24) * mask)[0];

    auto A = t::DenseRealMatrix([&](const torch::Tensor & e) { return op->Forward(e); }, H, W);
    const auto n = A.size(1);
    precision = A.t().mm(A) / (tau * tau) + torch::eye(n, torch::kDouble) / (s * s);
    auto covariance = torch::inverse(precision);
    auto rhs = A.t().mv(t::RealVector(y)) / (tau * tau) + t::RealVector(mu) / (s * s);
    postMean = covariance.mv(rhs);
    postStd = covariance.diagonal().sqrt();
  }

  DAPSConfig BaseConfig(int samples) const
  {
    DAPSConfig c = ReferencePreset();
    c.odeSteps = 1;
    c.tau = tau;
    c.priorSpread = PriorSpread::GaussianPosterior;
    c.samples = samples;
    c.seed = 5;
    return c;
  }

  /** The samples [B, H, W] in real coordinates [B, 2 H W] (real parts, then imaginary parts). */
  static torch::Tensor Real(const torch::Tensor & samples)
  {
    return torch::cat({ torch::real(samples).reshape({ samples.size(0), -1 }),
                        torch::imag(samples).reshape({ samples.size(0), -1 }) },
                      1)
      .to(torch::kDouble);
  }

  /** max_i |mean_i - ref_i| / refStd_i and max_i |std_i / refStd_i - 1| over all real components. */
  std::pair<double, double> Errors(const torch::Tensor & samples) const
  {
    auto real = Real(samples);
    auto mean = real.mean(0), std = real.std(0);
    return { ((mean - postMean).abs() / postStd).max().item<double>(), (std / postStd - 1.0).abs().max().item<double>() };
  }
};

// The analytic tests run on every device: the CPU, and a CUDA device where LibTorch has one (the
// cuFFT SENSE operator where this build has it, with the noise drawn on the device).
class DAPSPosterior : public ::testing::TestWithParam<std::string>
{
protected:
  void SetUp() override
  {
    if (GetParam() != "cpu" && !torch::cuda::is_available())
      GTEST_SKIP() << "no CUDA device is available to LibTorch";
  }

  /** DAPS with the problem's Gaussian prior and operator on the parameter's device; the samples
   * come back to the CPU. */
  torch::Tensor Sample(const GaussianProblem & problem, const DAPSConfig & config,
                       DAPSStatistics * statistics = nullptr)
  {
    const torch::Device device(GetParam());
    GaussianDenoiser    prior(problem.mu.to(device), torch::tensor(problem.s * problem.s).to(device));
    auto                op = dapsmri::MakeSENSEOperator(problem.maps, problem.mask, device);
    DAPSSampler         sampler(prior, *op, config);
    auto                samples = sampler.Run(problem.y).to(torch::kCPU);
    if (statistics)
      *statistics = sampler.Statistics();
    return samples;
  }
};
} // namespace

TEST_P(DAPSPosterior, ExactGaussianStepGivesTheAnalyticPosterior)
{
  GaussianProblem problem(0.1);
  const int       B = 4000;
  auto            config = problem.BaseConfig(B);
  config.annealingSteps = 20;
  config.mcmc = MCMCMethod::ExactGaussian;
  config.cgIterations = 60; // 60 real unknowns: CG is exact after at most 60 steps
  DAPSStatistics statistics;
  auto           samples = Sample(problem, config, &statistics);
  const auto [meanError, stdError] = problem.Errors(samples);
  // Monte Carlo only: the standard error of a mean is std / sqrt(B), of a std std / sqrt(2B);
  // 4.5 standard errors over 60 components keep the false-alarm rate below 1e-3.
  EXPECT_LT(meanError, 4.5 / std::sqrt(B));
  EXPECT_LT(stdError, 4.5 / std::sqrt(2.0 * B));
  EXPECT_EQ(statistics.denoiserEvaluations, config.annealingSteps);
}

// The conditional-mean step replaces each draw of p(x0 | x_t, y) by its mean E[x0 | x_t, y]. For a
// Gaussian prior that mean is linear in x_t, equals the posterior mean on average over x_t, and
// has less spread than the posterior (law of total variance). So the average of the final x0 is
// the analytic posterior mean (up to sigma_min-independent terms of order s^2 / sigma_max^2 =
// 2.5e-5), and every per-component std is at most the posterior std; both for the bare method
// and for the default ("mri") preset with this problem's tau.
TEST_P(DAPSPosterior, ConditionalMeanStepAveragesToTheAnalyticPosteriorMean)
{
  GaussianProblem problem(0.1);
  const int       B = 4000;
  auto            bare = problem.BaseConfig(B);
  bare.annealingSteps = 20;
  bare.mcmc = MCMCMethod::ConditionalMean;
  bare.cgIterations = 60;
  auto preset = Preset("mri");
  preset.tau = problem.tau;
  preset.samples = B;
  preset.seed = 6;
  preset.cgIterations = 60; // exact for 60 real unknowns, so only Monte Carlo error remains
  for (const auto & config : { bare, preset })
  {
    DAPSStatistics statistics;
    auto           real = GaussianProblem::Real(Sample(problem, config, &statistics));
    auto mean = real.mean(0), std = real.std(0);
    EXPECT_LT(((mean - problem.postMean).abs() / std.clamp_min(1e-12) * std::sqrt(B)).max().item<double>(), 4.5);
    EXPECT_LT((std / problem.postStd).max().item<double>(), 1.0 + 4.5 / std::sqrt(2.0 * B));
    EXPECT_EQ(statistics.denoiserEvaluations, config.annealingSteps * config.odeSteps);
  }
}

TEST_P(DAPSPosterior, LangevinAndHMCMatchTheAnalyticPosterior)
{
  // Langevin only approximates the Gaussian step: it must mix within each annealing level
  // (lr * lambda_min * steps >> 1) and carries a discretisation bias of relative size
  // lr * lambda_max / 4 on each std (the stationary variance of ULA on a Gaussian is
  // 1 / (lambda (1 - lr lambda / 2))). So: a well-conditioned problem (tau = s), sigma_min
  // 0.5 (DAPS is exact for any sigma_min; a larger one keeps 1 / r^2 moderate), no step-size
  // decay, and the bias bound added to the Monte Carlo tolerance.
  GaussianProblem problem(0.5);
  const int       B = 4000;
  for (auto method : { MCMCMethod::Langevin, MCMCMethod::HMC })
  {
    auto config = problem.BaseConfig(B);
    config.annealingSteps = 15;
    config.sigmaMax = 20.0;
    config.sigmaMin = 0.5;
    config.mcmc = method;
    config.mcmcSteps = method == MCMCMethod::Langevin ? 400 : 150;
    config.stepSize = 0.004;
    config.stepSizeMinRatio = 1.0;
    config.hmcMomentum = 0.8;
    DAPSStatistics statistics;
    auto           samples = Sample(problem, config, &statistics);
    const double   rFinal = 0.5 * problem.s / std::sqrt(0.25 + problem.s * problem.s);
    const double     lambdaMax = torch::linalg_eigvalsh(problem.precision).max().item<double>() -
                             1.0 / (problem.s * problem.s) + 1.0 / (rFinal * rFinal);
    const double bias = config.stepSize * lambdaMax / 4.0;
    const auto [meanError, stdError] = problem.Errors(samples);
    EXPECT_LT(meanError, 4.5 / std::sqrt(B)) << (method == MCMCMethod::HMC ? "HMC" : "Langevin");
    EXPECT_LT(stdError, 4.5 / std::sqrt(2.0 * B) + bias) << (method == MCMCMethod::HMC ? "HMC" : "Langevin");
    EXPECT_EQ(statistics.dataGradients,
              config.annealingSteps * (config.mcmcSteps + (method == MCMCMethod::HMC ? 1 : 0)));
  }
}

// Two problems in one batch (the slices of a volume): the same operator with noise levels 0.1 and
// 0.2, run at the common tau 0.1 with the second data term weighted by 0.1 / 0.2. Each problem's
// samples follow its own analytic posterior.
TEST_P(DAPSPosterior, StackedProblemsEachFollowTheirOwnPosterior)
{
  const GaussianProblem first(0.1), second(0.2);
  const int             B = 2000;
  auto                  config = first.BaseConfig(B);
  config.annealingSteps = 20;
  config.mcmc = MCMCMethod::ExactGaussian;
  config.cgIterations = 60;
  const torch::Device   device(GetParam());
  GaussianDenoiser      prior(first.mu.to(device), torch::tensor(first.s * first.s).to(device));
  const double          weight = 0.1 / 0.2;
  StackedOperator       stack({ dapsmri::MakeSENSEOperator(first.maps, first.mask, device),
                                dapsmri::MakeSENSEOperator(second.maps, second.mask, device) },
                              { 1.0, weight });
  EXPECT_EQ(stack.Problems(), 2);
  DAPSSampler sampler(prior, stack, config);
  const auto  samples = sampler.Run(torch::stack({ first.y, weight * second.y }).to(device)).to(torch::kCPU);
  ASSERT_EQ(samples.size(0), 2 * B);
  for (const auto * problem : { &first, &second })
  {
    const auto [meanError, stdError] = problem->Errors(samples.narrow(0, problem == &first ? 0 : B, B));
    EXPECT_LT(meanError, 4.5 / std::sqrt(B)) << "tau " << problem->tau;
    EXPECT_LT(stdError, 4.5 / std::sqrt(2.0 * B)) << "tau " << problem->tau;
  }
  EXPECT_EQ(sampler.Statistics().denoiserEvaluations, config.annealingSteps); // one network call per step for both
}

INSTANTIATE_TEST_SUITE_P(Devices, DAPSPosterior, ::testing::Values("cpu", "cuda"),
                         [](const ::testing::TestParamInfo<std::string> & info) { return info.param; });

// ---------------------------------------------------------------------------------------------
// A two-component Gaussian mixture whose posterior is bimodal: the modes differ along an image
// u whose k-space lies entirely in the unsampled region, so the data cannot pick one. In the
// second case the first mode also carries a small offset that the data does see, which moves the
// posterior weights away from the prior's. Analytic weights: w_k ~ pi_k N(y; A m_k, (v + tau^2) I)
// on the sampled entries (single coil, unit maps: A A^H = I there).
//
// DAPS is exact only when p(x0 | x_t) is sampled exactly; its Gaussian approximation of that
// (bimodal) conditional at high noise levels shifts the mode frequencies. Measured with the
// reference settings below: 0.23 for an analytic 0.30 (no evidence) and 0.30 for 0.22 (evidence);
// the exact-MCMC variant and the Gaussian-posterior spread move them by similar amounts in either
// direction. Hence the tolerance: 4 binomial standard errors plus 0.10 for the approximation.
namespace
{
struct MixtureCase
{
  double visibleOffset;
  double firstWeight;
};
class BimodalPosterior : public ::testing::TestWithParam<MixtureCase>
{};
} // namespace

TEST_P(BimodalPosterior, SamplesLandInBothModesNearTheAnalyticWeights)
{
  const int64_t H = 8, W = 8;
  auto          mask = torch::zeros({ H, W });
  mask.narrow(0, 2, 4).fill_(1.0f); // sampled rows 2..5 (centered k-space)
  SENSEOperator op(torch::ones({ 1, H, W }, torch::kComplexFloat), mask);

  auto ku = torch::zeros({ H, W }, torch::kComplexFloat); // u lives on unsampled rows 0 and 7
  ku[0][3] = c10::complex<float>(1.0f, 0.0f);
  ku[7][5] = c10::complex<float>(0.0f, 1.0f);
  auto u = CenteredIFFT2(ku);
  u = u / u.abs().pow(2).sum().sqrt();
  auto visible = CenteredIFFT2(mask.to(torch::kComplexFloat) * t::RandomComplex({ H, W }, 3));
  visible = GetParam().visibleOffset * visible / visible.abs().pow(2).sum().sqrt();

  const double        v = 0.01, tau = 0.1, a = 3.0;
  auto                means = torch::stack({ a * u + visible, -a * u });
  std::vector<double> weights{ GetParam().firstWeight, 1.0 - GetParam().firstWeight }, variances{ v, v };
  GaussianMixtureDenoiser prior(means, weights, variances);
  auto y = (op.Forward(torch::zeros({ 1, H, W }, torch::kComplexFloat)) + tau * t::RandomComplex({ 1, 1, H, W }, 4) * mask)[0];

  const double m = 2.0 * mask.sum().item<double>();
  double       logit[2];
  for (int k = 0; k < 2; ++k)
  {
    auto r2 = (op.Forward(means[k].unsqueeze(0))[0] - y).abs().pow(2).sum().item<double>();
    logit[k] = std::log(weights[static_cast<size_t>(k)]) - r2 / (2 * (v + tau * tau)) - 0.5 * m * std::log(v + tau * tau);
  }
  const double w0 = 1.0 / (1.0 + std::exp(logit[1] - logit[0]));

  const int  B = 2000;
  DAPSConfig config = ReferencePreset(); // Langevin, shorter annealing
  config.annealingSteps = 100;
  config.sigmaMax = 20.0;
  config.sigmaMin = 0.05;
  config.tau = tau;
  config.samples = B;
  config.seed = 9;
  DAPSSampler sampler(prior, op, config);
  auto        samples = sampler.Run(y);
  auto         projection = torch::real((u.conj().unsqueeze(0) * samples).sum({ 1, 2 }));
  const double inFirst = (projection > 0).to(torch::kDouble).mean().item<double>();
  const double inEither = (projection.abs() > 0.5 * a).to(torch::kDouble).mean().item<double>();
  EXPECT_GT(inEither, 0.99); // samples sit in the modes, not between them
  EXPECT_GT(inFirst, 0.1);   // and in both of them
  EXPECT_LT(inFirst, 0.9);
  EXPECT_NEAR(inFirst, w0, 4.0 * std::sqrt(w0 * (1 - w0) / B) + 0.10) << "analytic weight " << w0;
}

INSTANTIATE_TEST_SUITE_P(Evidence, BimodalPosterior,
                         ::testing::Values(MixtureCase{ 0.0, 0.3 }, MixtureCase{ 0.15, 0.35 }),
                         [](const ::testing::TestParamInfo<MixtureCase> & info) {
                           return info.param.visibleOffset > 0 ? std::string("DataMovesTheWeights")
                                                               : std::string("DataCannotTellTheModesApart");
                         });

// ---------------------------------------------------------------------------------------------
namespace
{
struct SmallRun
{
  torch::Tensor    maps = t::SmoothCoilMaps(2, 8, 8);
  torch::Tensor    mask = torch::ones({ 8, 8 });
  SENSEOperator    op{ maps, mask };
  GaussianDenoiser prior{ torch::zeros({ 8, 8 }, torch::kComplexFloat), torch::tensor(0.25f) };
  torch::Tensor    y = op.Forward(t::RandomComplex({ 1, 8, 8 }, 1) * 0.5)[0];

  DAPSConfig Config(uint64_t seed) const
  {
    DAPSConfig c = ReferencePreset();
    c.annealingSteps = 5;
    c.odeSteps = 2;
    c.mcmcSteps = 5;
    c.samples = 2;
    c.seed = seed;
    return c;
  }
};
} // namespace

TEST(DAPSSampler, SameSeedSameSamplesOtherSeedOtherSamples)
{
  SmallRun run;
  auto     a = DAPSSampler(run.prior, run.op, run.Config(1)).Run(run.y);
  auto     b = DAPSSampler(run.prior, run.op, run.Config(1)).Run(run.y);
  auto     c = DAPSSampler(run.prior, run.op, run.Config(2)).Run(run.y);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_FALSE(torch::equal(a[0], a[1])); // the batch holds independent chains
}

TEST(DAPSSampler, CountsWorkAndReportsProgress)
{
  SmallRun         run;
  auto             config = run.Config(3);
  config.odeSolver = ODESolver::Heun;
  DAPSSampler      sampler(run.prior, run.op, config);
  std::vector<int> seen;
  sampler.Run(run.y, [&](int done, int total) {
    EXPECT_EQ(total, 5);
    seen.push_back(done);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<int>{ 1, 2, 3, 4, 5 }));
  const auto & stats = sampler.Statistics();
  // Heun: 2 evaluations per ODE step except the last one into sigma = 0.
  EXPECT_EQ(stats.denoiserEvaluations, 5 * 3);
  EXPECT_EQ(stats.dataGradients, 5 * 5);
  EXPECT_GT(stats.totalSeconds, 0.0);
}

TEST(DAPSSampler, AbortStopsAtTheRequestedStep)
{
  SmallRun    run;
  DAPSSampler sampler(run.prior, run.op, run.Config(4));
  int         calls = 0;
  EXPECT_THROW(sampler.Run(run.y,
                           [&](int done, int) {
                             ++calls;
                             return done < 2;
                           }),
               Aborted);
  EXPECT_EQ(calls, 2);
}

TEST(DAPSSampler, UnstableStepSizeIsRefusedBeforeTheRun)
{
  // Full mask: A^H A is the diagonal sum_c |S_c|^2, so Langevin's stability limit on the last
  // level, lr < 2 / (max sum_c |S_c|^2 / tau^2 + 1 / sigma_min^2), is known exactly. A constant
  // step size and sigma_min = tau make the last level the binding one by a factor of 2, so 1.1x
  // its limit passes the first levels and must be refused for the last.
  SmallRun run;
  auto     config = run.Config(5);
  config.stepSizeMinRatio = 1.0;
  config.sigmaMin = config.tau;
  const double lambda = run.maps.abs().pow(2).sum(0).max().item<double>();
  const double limit = 2.0 / (lambda / (config.tau * config.tau) + 1.0 / (config.sigmaMin * config.sigmaMin));
  for (auto method : { MCMCMethod::Langevin, MCMCMethod::HMC })
  {
    config.mcmc = method;
    config.stepSize = 1.1 * limit; // the power iteration may come a few percent short of lambda
    int levels = 0;
    try
    {
      DAPSSampler(run.prior, run.op, config).Run(run.y, [&](int, int) { return ++levels > 0; });
      ADD_FAILURE() << "no exception";
    }
    catch (const std::invalid_argument & e)
    {
      const std::string message = e.what();
      EXPECT_NE(message.find("unstable at annealing step 5 of 5"), std::string::npos) << message;
      EXPECT_NE(message.find("lower the step size below"), std::string::npos) << message;
    }
    EXPECT_EQ(levels, 0); // refused before any level ran
    config.stepSize = 0.9 * limit;
    const auto samples = DAPSSampler(run.prior, run.op, config).Run(run.y);
    EXPECT_TRUE(torch::isfinite(samples).all().item<bool>());
    EXPECT_LT(samples.abs().max().item<double>(), 100.0);
  }
}

TEST(DAPSSampler, HoldsTheImageAtZeroWhereNoCoilIsSensitive)
{
  // Coil maps zero in the left three columns (as ESPIRiT maps are outside the object): the
  // data say nothing there, and the samples are zero there; elsewhere they follow the data.
  SmallRun run;
  auto     maps = run.maps.clone();
  maps.narrow(2, 0, 3).zero_();
  SENSEOperator op(maps, run.mask);
  ASSERT_TRUE(op.ObjectSupport().defined());
  EXPECT_EQ(op.ObjectSupport().sum().item<float>(), 8 * 5);
  EXPECT_FALSE(run.op.ObjectSupport().defined()); // smooth maps: sensitive everywhere
  const auto y = op.Forward(t::RandomComplex({ 1, 8, 8 }, 1) * 0.5)[0];
  for (auto method : { MCMCMethod::Langevin, MCMCMethod::ExactGaussian })
  {
    auto config = run.Config(4);
    config.mcmc = method;
    const auto samples = DAPSSampler(run.prior, op, config).Run(y);
    EXPECT_EQ(samples.narrow(2, 0, 3).abs().max().item<float>(), 0.0f);
    EXPECT_GT(samples.narrow(2, 3, 5).abs().min().item<float>(), 0.0f);
  }
}
