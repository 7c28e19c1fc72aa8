#ifndef dapsmriSampler_h
#define dapsmriSampler_h

#include "dapsmriDAPSConfig.h"
#include "dapsmriDenoiser.h"
#include "dapsmriOperator.h"

#include <functional>
#include <stdexcept>
#include <vector>

namespace dapsmri
{

/** Thrown when the progress callback asks to stop. */
class Aborted : public std::runtime_error
{
public:
  Aborted()
    : std::runtime_error("the reconstruction was aborted")
  {}
};

/** While one lives, glibc keeps freed memory for reuse instead of handing it back to the
 * kernel. The network's activations (tens of MB per image) otherwise come back as fresh pages on
 * every call, and the kernel zeroing them made a batch of four 256 x 256 images cost twice as
 * much per image as one. DAPSSampler::Run holds one; the outermost scope restores glibc's
 * settings and returns the memory when it ends. */
class HeapReuseScope
{
public:
  HeapReuseScope();
  ~HeapReuseScope();
  HeapReuseScope(const HeapReuseScope &) = delete;
  HeapReuseScope & operator=(const HeapReuseScope &) = delete;
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
 * All `samples` chains run together as one batch, on the prior's device (the operator must
 * take tensors there), with the noise drawn there by a seeded generator: nothing goes back to
 * the host inside an annealing level. Reproducible for a given seed, device and thread count. */
class DAPSSampler
{
public:
  DAPSSampler(const Denoiser & prior, const Operator & op, DAPSConfig config);

  /** y: the measurement of one image, without batch dimension (for SENSE: [C, H, W]), on any
   * device; for a StackedOperator of S problems the S measurements stacked ([S, C, H, W]).
   * Returns the samples [S x samples, H, W] (problem after problem) on the prior's device. */
  torch::Tensor Run(const torch::Tensor & y, const ProgressCallback & progress = {});

  /** Starts the annealing at x_T = start + sigma_max n instead of sigma_max n (start: [H, W], or
   * [S, H, W] for S stacked problems; undefined: the plain start). With a small sigma_max the
   * start's coarse content survives and the prior refines it: a warm start from a classical
   * estimate, for gaps wider than the network's receptive field. */
  void SetStart(torch::Tensor start) { m_Start = std::move(start); }

  /** Holds every x0 real and nonnegative (projects it after each MCMC step): for images known to
   * be so, such as magnitude images, whose measurement alone (phase retrieval) leaves the phase
   * and sign free. */
  void SetRealNonnegative(bool on) { m_RealNonnegative = on; }

  const DAPSStatistics & Statistics() const { return m_Statistics; }
  const DAPSConfig &     Config() const { return m_Config; }

private:
  torch::Tensor Noise(const std::vector<int64_t> & shape);
  torch::Tensor Denoise(const torch::Tensor & x, double sigma);
  torch::Tensor ProbabilityFlow(torch::Tensor x, double sigma);
  torch::Tensor Langevin(const torch::Tensor & x0hat, const torch::Tensor & y, double r, double lr);
  torch::Tensor HMC(const torch::Tensor & x0hat, const torch::Tensor & y, double r, double lr);
  torch::Tensor ExactGaussian(const torch::Tensor & x0hat, const torch::Tensor & y, double r, bool draw);
  /** ||A^H A|| by power iteration. */
  double NormalOperatorNorm() const;
  /** Throws std::invalid_argument when Langevin or HMC with step size `lr` would diverge on the
   * Gaussian posterior of annealing level `level` (checked for every level before the run). */
  void CheckStepSizeIsStable(double lr, double r, double normalNorm, int level) const;
  torch::Tensor PosteriorGradient(const torch::Tensor & x, const torch::Tensor & x0hat, const torch::Tensor & y,
                                  double r);

  const Denoiser & m_Prior;
  const Operator & m_Operator;
  DAPSConfig       m_Config;
  DAPSStatistics   m_Statistics;
  torch::Device    m_Device; // the prior's: the whole loop runs there
  at::Generator    m_Generator;
  torch::Tensor    m_Start;
  bool             m_RealNonnegative = false;
};

} // namespace dapsmri

#endif
