#ifndef dapsmriSampler_h
#define dapsmriSampler_h

#include "dapsmriDenoiser.h"
#include "dapsmriOperator.h"

#include <functional>
#include <stdexcept>
#include <vector>

namespace dapsmri
{

enum class ODESolver
{
  Euler, ///< the reference's choice
  Heun
};

enum class MCMCMethod
{
  Langevin,     ///< unadjusted Langevin, the reference's default
  HMC,          ///< kinetic Langevin (OBABO) with partial momentum refresh
  ExactGaussian ///< perturb-and-MAP with conjugate gradients: an exact draw for linear operators
};

/** The spread r_t of DAPS's Gaussian approximation p(x0 | x_t) ~ N(x0_hat, r_t^2). */
enum class PriorSpread
{
  Sigma,           ///< r_t = sigma_t, as in the paper and the reference code
  GaussianPosterior ///< r_t = sigma_t sigma_d / sqrt(sigma_t^2 + sigma_d^2): exact for a Gaussian prior
};

/** DAPS hyper-parameters. Defaults follow the reference implementation. */
struct DAPSConfig
{
  int         annealingSteps = 200;
  double      sigmaMax = 100.0;
  double      sigmaMin = 0.1;
  int         odeSteps = 5;
  double      odeSigmaMin = 0.01;
  ODESolver   odeSolver = ODESolver::Euler;
  MCMCMethod  mcmc = MCMCMethod::Langevin;
  int         mcmcSteps = 100;
  double      stepSize = 1e-4;      ///< lr
  double      stepSizeMinRatio = 0.01; ///< lr decays linearly to lr * ratio over the annealing
  double      tau = 0.01;           ///< measurement noise std per real component (normalised units)
  double      hmcMomentum = 0.9;
  int         cgIterations = 20;    ///< ExactGaussian: conjugate-gradient iterations per draw
  PriorSpread priorSpread = PriorSpread::Sigma;
  int         samples = 1;          ///< independent posterior samples, run as one batch
  uint64_t    seed = 0;
};

struct DAPSStatistics
{
  int64_t denoiserEvaluations = 0; ///< NFE (batched calls)
  int64_t dataGradients = 0;       ///< data-gradient / normal-operator evaluations (batched)
  double  denoiserSeconds = 0.0;
  double  mcmcSeconds = 0.0;
  double  totalSeconds = 0.0;
};

/** Thrown when the progress callback asks to stop. */
class Aborted : public std::runtime_error
{
public:
  Aborted()
    : std::runtime_error("the reconstruction was aborted")
  {}
};

/** Called after every annealing step with (done, total); return false to abort. */
using ProgressCallback = std::function<bool(int, int)>;

/** sigma_max -> sigma_min on the EDM polynomial time grid (rho = 7), `steps` values, then
 * sigmaFinal appended (steps + 1 values). */
std::vector<double> PolynomialSigmas(int steps, double sigmaMax, double sigmaMin, double sigmaFinal, double rho = 7.0);

/** Throws std::invalid_argument with a message naming the first bad field. */
void Validate(const DAPSConfig & config);

/** Decoupled Annealing Posterior Sampling (Zhang et al., arXiv 2407.01521).
 * For each annealing level sigma_k: x0_hat from x_t with the probability-flow ODE, then MCMC
 * on ||A x0 - y||^2 / (2 tau^2) + ||x0 - x0_hat||^2 / (2 r^2), then x_t = x0 + sigma_{k+1} n.
 * All `samples` chains run together as one batch. Reproducible for a given seed and thread
 * count. */
class DAPSSampler
{
public:
  DAPSSampler(const Denoiser & prior, const Operator & op, DAPSConfig config);

  /** y: the measurement of one image, without batch dimension (for SENSE: [C, H, W]).
   * Returns the samples [samples, H, W]. */
  torch::Tensor Run(const torch::Tensor & y, const ProgressCallback & progress = {});

  const DAPSStatistics & Statistics() const { return m_Statistics; }
  const DAPSConfig &     Config() const { return m_Config; }

private:
  torch::Tensor Noise(const std::vector<int64_t> & shape);
  torch::Tensor Denoise(const torch::Tensor & x, double sigma);
  torch::Tensor ProbabilityFlow(torch::Tensor x, double sigma);
  torch::Tensor Langevin(const torch::Tensor & x0hat, const torch::Tensor & y, double r, double lr);
  torch::Tensor HMC(const torch::Tensor & x0hat, const torch::Tensor & y, double r, double lr);
  torch::Tensor ExactGaussian(const torch::Tensor & x0hat, const torch::Tensor & y, double r);
  torch::Tensor PosteriorGradient(const torch::Tensor & x, const torch::Tensor & x0hat, const torch::Tensor & y,
                                  double r);

  const Denoiser & m_Prior;
  const Operator & m_Operator;
  DAPSConfig       m_Config;
  DAPSStatistics   m_Statistics;
  at::Generator    m_Generator;
};

} // namespace dapsmri

#endif
