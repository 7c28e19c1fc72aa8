#include "dapsmriSampler.h"

#include "dapsmriStopwatch.h"

#include <ATen/CPUGeneratorImpl.h>

#include <climits>
#include <cmath>
#include <mutex>
#include <sstream>

#ifdef __GLIBC__
#  include <malloc.h>
#endif

namespace dapsmri
{

namespace
{
/** Re <a, b> per batch entry: the real inner product of complex images, [B, 1, 1]. */
torch::Tensor
RealDot(const torch::Tensor & a, const torch::Tensor & b)
{
  return torch::real(torch::conj(a) * b).reshape({ a.size(0), -1 }).sum(1).reshape({ -1, 1, 1 });
}

std::mutex &
HeapMutex()
{
  static std::mutex mutex;
  return mutex;
}
int heapReuseScopes = 0; // guarded by HeapMutex()

/** A generator of its own for the run's device, seeded: the noise is drawn where it is used. */
at::Generator
MakeGenerator(const torch::Device & device, uint64_t seed)
{
  if (device.is_cpu())
    return at::detail::createCPUGenerator(seed);
  auto generator = at::globalContext().defaultGenerator(device).clone();
  generator.set_current_seed(seed);
  return generator;
}
} // namespace

HeapReuseScope::HeapReuseScope()
{
#ifdef __GLIBC__
  const std::lock_guard<std::mutex> lock(HeapMutex());
  if (heapReuseScopes++ == 0)
  {
    mallopt(M_MMAP_MAX, 0);              // large blocks from the heap, not from fresh mappings
    mallopt(M_TRIM_THRESHOLD, INT_MAX); // and freed ones stay there
  }
#endif
}

HeapReuseScope::~HeapReuseScope()
{
#ifdef __GLIBC__
  const std::lock_guard<std::mutex> lock(HeapMutex());
  if (--heapReuseScopes == 0)
  {
    mallopt(M_MMAP_MAX, 65536);           // glibc's defaults
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    malloc_trim(0);
  }
#endif
}

std::vector<double>
PolynomialSigmas(int steps, double sigmaMax, double sigmaMin, double sigmaFinal, double rho)
{
  std::vector<double> sigmas;
  sigmas.reserve(static_cast<size_t>(steps) + 1);
  const double a = std::pow(sigmaMax, 1.0 / rho), b = std::pow(sigmaMin, 1.0 / rho);
  for (int i = 0; i < steps; ++i)
  {
    const double t = steps > 1 ? static_cast<double>(i) / (steps - 1) : 0.0;
    sigmas.push_back(std::pow(a + t * (b - a), rho));
  }
  sigmas.push_back(sigmaFinal);
  return sigmas;
}

void
Validate(const DAPSConfig & c)
{
  const auto fail = [](const std::string & what) { throw std::invalid_argument("DAPS parameters: " + what); };
  if (c.annealingSteps < 1)
    fail("the number of annealing steps must be at least 1");
  if (!(c.sigmaMax > c.sigmaMin) || !(c.sigmaMin > 0.0))
    fail("need sigma_max > sigma_min > 0 (got " + std::to_string(c.sigmaMax) + ", " + std::to_string(c.sigmaMin) + ")");
  if (c.odeSteps < 1)
    fail("the number of ODE steps must be at least 1");
  if (!(c.odeSigmaMin > 0.0))
    fail("the ODE's final sigma must be positive");
  if (c.mcmcSteps < 0)
    fail("the number of MCMC steps cannot be negative");
  if (!(c.stepSize > 0.0) || !std::isfinite(c.stepSize))
    fail("the MCMC step size must be positive and finite");
  if (!(c.stepSizeMinRatio > 0.0) || c.stepSizeMinRatio > 1.0)
    fail("the step-size decay ratio must lie in (0, 1]");
  if (!(c.tau > 0.0) || !std::isfinite(c.tau))
    fail("tau (the measurement noise level) must be positive and finite");
  if (c.hmcMomentum < 0.0 || c.hmcMomentum >= 1.0)
    fail("the HMC momentum must lie in [0, 1)");
  if (c.cgIterations < 1)
    fail("the number of conjugate-gradient iterations must be at least 1");
  if (c.samples < 1)
    fail("the number of samples must be at least 1");
}

DAPSSampler::DAPSSampler(const Denoiser & prior, const Operator & op, DAPSConfig config)
  : m_Prior(prior)
  , m_Operator(op)
  , m_Config(config)
  , m_Device(prior.Device())
  , m_Generator(MakeGenerator(m_Device, config.seed))
{
  Validate(m_Config);
  if ((m_Config.mcmc == MCMCMethod::ExactGaussian || m_Config.mcmc == MCMCMethod::ConditionalMean) &&
      !m_Operator.IsLinear())
  {
    throw std::invalid_argument(std::string("the ") + ToString(m_Config.mcmc) +
                                " MCMC step needs a linear operator; use Langevin or HMC");
  }
}

torch::Tensor
DAPSSampler::Noise(const std::vector<int64_t> & shape)
{
  // Independent N(0, 1) real and imaginary parts: the real-coordinate noise of the sampler.
  std::vector<int64_t> realShape = shape;
  realShape.push_back(2);
  const auto options = torch::TensorOptions(torch::kFloat).device(m_Device);
  return torch::view_as_complex(torch::randn(realShape, m_Generator, options));
}

torch::Tensor
DAPSSampler::Denoise(const torch::Tensor & x, double sigma)
{
  const auto start = Clock::now();
  auto       out = m_Prior(x, sigma);
  m_Statistics.denoiserSeconds += SecondsSince(start);
  ++m_Statistics.denoiserEvaluations;
  return out;
}

torch::Tensor
DAPSSampler::ProbabilityFlow(torch::Tensor x, double sigma)
{
  // The reference's diffusion scheduler: poly-7 from sigma down to odeSigmaMin, then to 0.
  if (sigma <= m_Config.odeSigmaMin)
  {
    return Denoise(x, sigma);
  }
  const auto s = PolynomialSigmas(m_Config.odeSteps, sigma, m_Config.odeSigmaMin, 0.0);
  for (int i = 0; i < m_Config.odeSteps; ++i)
  {
    const double si = s[static_cast<size_t>(i)], next = s[static_cast<size_t>(i) + 1];
    auto         d = (x - Denoise(x, si)) / si;
    auto         proposal = x + (next - si) * d;
    if (m_Config.odeSolver == ODESolver::Heun && next > 0.0)
    {
      auto d2 = (proposal - Denoise(proposal, next)) / next;
      proposal = x + (next - si) * 0.5 * (d + d2);
    }
    x = proposal;
  }
  return x;
}

torch::Tensor
DAPSSampler::PosteriorGradient(const torch::Tensor & x, const torch::Tensor & x0hat, const torch::Tensor & y,
                               double r)
{
  // In place, no temporaries: this runs mcmcSteps times per annealing level.
  auto g = m_Operator.DataGradient(x, y);
  g.div_(m_Config.tau * m_Config.tau);
  g.add_(x, 1.0 / (r * r)).sub_(x0hat, 1.0 / (r * r));
  return g;
}

torch::Tensor
DAPSSampler::Langevin(const torch::Tensor & x0hat, const torch::Tensor & y, double r, double lr)
{
  auto         x = x0hat.clone();
  const double noise = std::sqrt(2.0 * lr);
  auto epsilon = torch::empty({ x.size(0), x.size(1), x.size(2), 2 }, x.options().dtype(torch::kFloat)); // refilled
  for (int j = 0; j < m_Config.mcmcSteps; ++j)
  {
    auto g = PosteriorGradient(x, x0hat, y, r);
    epsilon.normal_(0.0, 1.0, m_Generator);
    x.add_(g, -lr).add_(torch::view_as_complex(epsilon), noise);
  }
  return x;
}

torch::Tensor
DAPSSampler::HMC(const torch::Tensor & x0hat, const torch::Tensor & y, double r, double lr)
{
  // OBABO with h = sqrt(2 lr): momentum 0 gives back Langevin with step size lr.
  const double h = std::sqrt(2.0 * lr), m = m_Config.hmcMomentum, refresh = std::sqrt(1.0 - m * m);
  auto         x = x0hat.clone();
  auto         p = Noise(x.sizes().vec());
  auto         g = PosteriorGradient(x, x0hat, y, r);
  for (int j = 0; j < m_Config.mcmcSteps; ++j)
  {
    p.mul_(m).add_(Noise(x.sizes().vec()), refresh);
    p.add_(g, -0.5 * h);
    x.add_(p, h);
    g = PosteriorGradient(x, x0hat, y, r);
    p.add_(g, -0.5 * h);
  }
  return x;
}

torch::Tensor
DAPSSampler::ExactGaussian(const torch::Tensor & x0hat, const torch::Tensor & y, double r, bool draw)
{
  // Perturb-and-MAP: the minimiser of ||A x - y~||^2 / (2 tau^2) + ||x - x~||^2 / (2 r^2) with
  // y~ = y + tau n and x~ = x0_hat + r n' is an exact draw of the Gaussian conditional; without
  // the perturbations it is the conditional's mean.
  // Solve (A^H A / tau^2 + I / r^2) x = A^H y~ / tau^2 + x~ / r^2 by conjugate gradients.
  const double tau2 = m_Config.tau * m_Config.tau, r2 = r * r;
  const auto   apply = [&](const torch::Tensor & v) { return m_Operator.Normal(v) / tau2 + v / r2; };
  const auto   yTilde = draw ? y + m_Config.tau * Noise(y.sizes().vec()) : y;
  const auto   xTilde = draw ? x0hat + r * Noise(x0hat.sizes().vec()) : x0hat;
  auto         b = m_Operator.Adjoint(yTilde) / tau2 + xTilde / r2;
  auto         x = x0hat.clone();
  auto         residual = b - apply(x);
  auto         direction = residual.clone();
  auto         rr = RealDot(residual, residual);
  const auto   stop = 1e-12 * RealDot(b, b);
  for (int i = 0; i < m_Config.cgIterations; ++i)
  {
    // The early stop reads a flag on the host; on a GPU that wait would come every iteration, so
    // there CG runs all its iterations (after convergence its updates are at rounding level).
    if (m_Device.is_cpu() && (rr <= stop).all().item<bool>())
    {
      break;
    }
    auto Ad = apply(direction);
    auto alpha = rr / RealDot(direction, Ad).clamp_min(1e-30);
    x.add_(alpha * direction);
    residual.sub_(alpha * Ad);
    auto rrNext = RealDot(residual, residual);
    direction = residual + (rrNext / rr.clamp_min(1e-30)) * direction;
    rr = rrNext;
  }
  return x;
}

double
DAPSSampler::NormalOperatorNorm() const
{
  // Power iteration from a fixed pseudo-random start (its own generator: the sampler's noise
  // stream stays as it was); 30 iterations come within a percent of the largest eigenvalue (of
  // all stacked problems: the one that limits the step size).
  const auto shape = m_Operator.ImageShape();
  auto       v = torch::view_as_complex(torch::randn({ m_Operator.Problems(), shape[0], shape[1], 2 },
                                                    at::detail::createCPUGenerator(20260205), torch::kFloat)
                                         .to(m_Device));
  double norm = 0.0;
  for (int i = 0; i < 30; ++i)
  {
    v = v / torch::linalg_vector_norm(torch::view_as_real(v)).item<double>();
    v = m_Operator.Normal(v);
    norm = torch::linalg_vector_norm(torch::view_as_real(v)).item<double>();
    if (!(norm > 0.0))
      return 0.0;
  }
  return norm;
}

void
DAPSSampler::CheckStepSizeIsStable(double lr, double r, double normalNorm, int level) const
{
  // Langevin (and OBABO HMC) on the Gaussian posterior of one level is stable only while
  // lr times the largest curvature, ||A^H A|| / tau^2 + 1 / r^2, stays below 2. A nonlinear
  // operator gives its curvature bound instead (or 0: then only the prior term is checked).
  const double tau2 = m_Config.tau * m_Config.tau, product = lr * (normalNorm / tau2 + 1.0 / (r * r));
  if (product < 2.0)
    return;
  std::ostringstream msg;
  msg << "the MCMC step size is unstable at annealing step " << level << " of " << m_Config.annealingSteps
      << ": step size " << lr << " x (data curvature " << normalNorm << " / tau^2 + 1 / r^2 with tau "
      << m_Config.tau << ", r " << r << ") = " << product << ", which must stay below 2; lower the step size below "
      << 2.0 / (normalNorm / tau2 + 1.0 / (r * r)) << " or raise tau";
  throw std::invalid_argument(msg.str());
}

torch::Tensor
DAPSSampler::Run(const torch::Tensor & yOne, const ProgressCallback & progress)
{
  torch::NoGradGuard   noGrad;
  const HeapReuseScope heap;
  const auto           start = Clock::now();
  const auto           shape = m_Operator.ImageShape();
  const int64_t      S = m_Operator.Problems(), chains = m_Config.samples, B = S * chains;
  m_Statistics = DAPSStatistics{};
  // The stability check's power iteration is not counted among the run's data gradients.
  const bool    stepped = m_Config.mcmc == MCMCMethod::Langevin || m_Config.mcmc == MCMCMethod::HMC;
  const double  normalNorm =
    !stepped ? 0.0 : m_Operator.IsLinear() ? NormalOperatorNorm() : m_Operator.CurvatureBound();
  const int64_t gradientsBefore = m_Operator.GradientEvaluations();

  if (S > 1 && (yOne.dim() < 1 || yOne.size(0) != S))
  {
    std::ostringstream msg;
    msg << "a stack of " << S << " problems needs its " << S << " measurements stacked on the first dimension, got "
        << yOne.sizes();
    throw std::invalid_argument(msg.str());
  }
  // The chains of each problem, problem after problem: [S x chains, ...].
  const auto y =
    (S > 1 ? yOne : yOne.unsqueeze(0)).to(m_Device, torch::kComplexFloat).repeat_interleave(chains, 0).contiguous();

  const int  K = m_Config.annealingSteps;
  const auto sigmas = PolynomialSigmas(K, m_Config.sigmaMax, m_Config.sigmaMin, 0.0);
  const double sd = m_Prior.Metadata().sigmaData;
  // Level k's Langevin step size (decaying linearly) and the spread r of p(x0 | x_t).
  const auto stepSizeAt = [&](int k) {
    return m_Config.stepSize * (1.0 + static_cast<double>(k) / K * (m_Config.stepSizeMinRatio - 1.0));
  };
  const auto spreadAt = [&](double sigma) {
    return m_Config.priorSpread == PriorSpread::Sigma ? sigma : sigma * sd / std::sqrt(sigma * sigma + sd * sd);
  };
  for (int k = 0; stepped && k < K; ++k)
    CheckStepSizeIsStable(stepSizeAt(k), spreadAt(sigmas[static_cast<size_t>(k)]), normalNorm, k + 1);
  auto xt = m_Config.sigmaMax * Noise({ B, shape[0], shape[1] });
  if (m_Start.defined())
  {
    const auto start = m_Start.dim() == 2 ? m_Start.unsqueeze(0) : m_Start;
    if (start.dim() != 3 || start.size(0) != S || start.size(1) != shape[0] || start.size(2) != shape[1])
    {
      std::ostringstream msg;
      msg << "the start image must be [" << shape[0] << ", " << shape[1] << "] for each of the " << S
          << " problems, got " << m_Start.sizes();
      throw std::invalid_argument(msg.str());
    }
    xt.add_(start.to(m_Device, torch::kComplexFloat).repeat_interleave(chains, 0));
  }
  auto support = m_Operator.ObjectSupport();
  if (support.defined() && support.dim() == 3)
    support = support.repeat_interleave(chains, 0); // one per problem: [S x chains, H, W]
  torch::Tensor x0;
  for (int k = 0; k < K; ++k)
  {
    const double sigma = sigmas[static_cast<size_t>(k)];
    auto         x0hat = ProbabilityFlow(xt, sigma);

    const auto   mcmcStart = Clock::now();
    const double lr = stepSizeAt(k), r = spreadAt(sigma);
    switch (m_Config.mcmc)
    {
      case MCMCMethod::Langevin:
        x0 = Langevin(x0hat, y, r, lr);
        break;
      case MCMCMethod::HMC:
        x0 = HMC(x0hat, y, r, lr);
        break;
      case MCMCMethod::ExactGaussian:
      case MCMCMethod::ConditionalMean:
        x0 = ExactGaussian(x0hat, y, r, m_Config.mcmc == MCMCMethod::ExactGaussian);
        break;
    }
    if (support.defined())
    {
      x0.mul_(support);
    }
    if (m_RealNonnegative)
    {
      x0 = torch::complex(torch::relu(torch::real(x0)), torch::zeros_like(torch::real(x0)));
    }
    m_Statistics.mcmcSeconds += SecondsSince(mcmcStart);
    if (!torch::isfinite(x0).all().item<bool>())
    {
      std::ostringstream msg;
      msg << "the MCMC step diverged at annealing step " << k + 1 << " of " << K << " (sigma " << sigma
          << "): lower the step size (now " << lr << ") or raise tau (now " << m_Config.tau
          << "); Langevin is stable only while step size * ||A||^2 / tau^2 < 2 (coil maps normalised so that "
             "sum_c |S_c|^2 <= 1 give ||A|| <= 1)";
      throw std::runtime_error(msg.str());
    }
    xt = k + 1 < K ? x0 + sigmas[static_cast<size_t>(k) + 1] * Noise({ B, shape[0], shape[1] }) : x0;
    if (progress && !progress(k + 1, K))
    {
      throw Aborted();
    }
  }
  m_Statistics.dataGradients = m_Operator.GradientEvaluations() - gradientsBefore;
  m_Statistics.totalSeconds = SecondsSince(start);
  return x0;
}

} // namespace dapsmri
