#ifndef dapsmriDAPSConfig_h
#define dapsmriDAPSConfig_h

// The DAPS hyper-parameters, shared by the engine, the ITK filter and the command line.
// Plain C++: no ITK, no LibTorch.
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>

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
  ExactGaussian, ///< perturb-and-MAP with conjugate gradients: an exact draw for linear operators
  /** The mean of that Gaussian conditional (conjugate gradients, no perturbation): the point
   * between x0_hat and the data that weighs each by its noise level. Deterministic; linear
   * operators only. Uses the data fully where they are measured and keeps x0_hat elsewhere. */
  ConditionalMean
};

/** The spread r_t of DAPS's Gaussian approximation p(x0 | x_t) ~ N(x0_hat, r_t^2). */
enum class PriorSpread
{
  Sigma,            ///< r_t = sigma_t, as in the paper and the reference code
  GaussianPosterior ///< r_t = sigma_t sigma_d / sqrt(sigma_t^2 + sigma_d^2): exact for a Gaussian prior
};

/** DAPS hyper-parameters. The defaults are the "mri" preset (see Preset()); the reference
 * implementation's values are the "reference" preset. */
struct DAPSConfig
{
  // The "mri" preset: conditional-mean steps from sigma 10 down to 0.03, chosen on the
  // independent validation set (README "Reconstruction quality against BART").
  int         annealingSteps = 40;
  double      sigmaMax = 10.0;
  double      sigmaMin = 0.03;
  int         odeSteps = 1;
  double      odeSigmaMin = 0.01;
  ODESolver   odeSolver = ODESolver::Euler;
  MCMCMethod  mcmc = MCMCMethod::ConditionalMean;
  int         mcmcSteps = 100;         ///< Langevin / HMC only
  double      stepSize = 1e-4;         ///< lr (Langevin / HMC)
  double      stepSizeMinRatio = 0.01; ///< lr decays linearly to lr * ratio over the annealing
  double      tau = 0.01;              ///< measurement noise std per real component, normalised units
  double      hmcMomentum = 0.9;
  int         cgIterations = 20; ///< ExactGaussian / ConditionalMean: conjugate-gradient iterations per step
  PriorSpread priorSpread = PriorSpread::GaussianPosterior;
  int         samples = 1; ///< independent posterior samples, run as one batch
  uint64_t    seed = 0;
};

/** What a run cost. */
struct DAPSStatistics
{
  int64_t denoiserEvaluations = 0; ///< NFE (batched calls)
  int64_t dataGradients = 0;       ///< data-gradient / normal-operator evaluations (batched)
  double  denoiserSeconds = 0.0;
  double  mcmcSeconds = 0.0;
  double  totalSeconds = 0.0;
};

inline const char *
ToString(MCMCMethod m)
{
  switch (m)
  {
    case MCMCMethod::Langevin:
      return "langevin";
    case MCMCMethod::HMC:
      return "hmc";
    case MCMCMethod::ExactGaussian:
      return "exact";
    case MCMCMethod::ConditionalMean:
      break;
  }
  return "mean";
}
inline const char *
ToString(ODESolver s)
{
  return s == ODESolver::Euler ? "euler" : "heun";
}
inline const char *
ToString(PriorSpread s)
{
  return s == PriorSpread::Sigma ? "sigma" : "gaussian";
}

inline std::ostream &
operator<<(std::ostream & os, MCMCMethod m)
{
  return os << ToString(m);
}
inline std::ostream &
operator<<(std::ostream & os, ODESolver s)
{
  return os << ToString(s);
}
inline std::ostream &
operator<<(std::ostream & os, PriorSpread s)
{
  return os << ToString(s);
}

/** Parse the names above; throws std::invalid_argument listing the choices. */
inline MCMCMethod
ParseMCMCMethod(const std::string & name)
{
  for (auto m : { MCMCMethod::Langevin, MCMCMethod::HMC, MCMCMethod::ExactGaussian, MCMCMethod::ConditionalMean })
    if (name == ToString(m))
      return m;
  throw std::invalid_argument("unknown MCMC method \"" + name + "\" (choose langevin, hmc, exact or mean)");
}
inline ODESolver
ParseODESolver(const std::string & name)
{
  for (auto s : { ODESolver::Euler, ODESolver::Heun })
    if (name == ToString(s))
      return s;
  throw std::invalid_argument("unknown ODE solver \"" + name + "\" (choose euler or heun)");
}
inline PriorSpread
ParsePriorSpread(const std::string & name)
{
  for (auto s : { PriorSpread::Sigma, PriorSpread::GaussianPosterior })
    if (name == ToString(s))
      return s;
  throw std::invalid_argument("unknown prior spread \"" + name + "\" (choose sigma or gaussian)");
}

/** The paper's and the reference implementation's settings (EDM poly-7 annealing from 100 to 0.1
 * in 200 steps, five Euler ODE steps, 100 Langevin steps whose step size decays to 1 %). */
inline DAPSConfig
ReferencePreset()
{
  DAPSConfig c;
  c.annealingSteps = 200;
  c.sigmaMax = 100.0;
  c.sigmaMin = 0.1;
  c.odeSteps = 5;
  c.odeSigmaMin = 0.01;
  c.odeSolver = ODESolver::Euler;
  c.mcmc = MCMCMethod::Langevin;
  c.mcmcSteps = 100;
  c.stepSize = 1e-4;
  c.stepSizeMinRatio = 0.01;
  c.tau = 0.01;
  c.hmcMomentum = 0.9;
  c.cgIterations = 20;
  c.priorSpread = PriorSpread::Sigma;
  c.samples = 1;
  return c;
}

/** The preset names, the default first. */
inline const char * const PresetNames[] = { "mri", "reference" };

/** "mri" (DAPSConfig's defaults) or "reference"; throws std::invalid_argument listing the choices. */
inline DAPSConfig
Preset(const std::string & name)
{
  if (name == "mri")
    return DAPSConfig{};
  if (name == "reference")
    return ReferencePreset();
  throw std::invalid_argument("unknown preset \"" + name + "\" (choose mri or reference)");
}

} // namespace dapsmri

#endif
