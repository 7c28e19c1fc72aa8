#ifndef dapsmriDAPSConfig_h
#define dapsmriDAPSConfig_h

// The DAPS hyper-parameters, shared by the engine, the ITK filter and the command line.
// Plain C++: no ITK, no LibTorch.
#include <cstdint>
#include <ostream>
#include <sstream>
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

/** The DAPS parameters, one line each: X(field of DAPSConfig, name of the ITK filter's Set/Get
 * methods, type, command-line flag, its value's placeholder, what it is). The filter's methods,
 * the command-line flags with their usage text and defaults come from this table, and a test
 * checks the Slicer XML against it both ways: a new parameter is a field above and a line here. */
#define DAPSMRI_DAPS_PARAMETERS(X)                                                                                     \
  X(annealingSteps, NumberOfAnnealingSteps, int, "steps", "N", "annealing steps")                                      \
  X(sigmaMax, SigmaMax, double, "sigma-max", "S", "first annealing noise level")                                       \
  X(sigmaMin, SigmaMin, double, "sigma-min", "S", "last annealing noise level")                                        \
  X(odeSteps, NumberOfODESteps, int, "ode-steps", "N", "probability-flow ODE steps per annealing step")                \
  X(odeSigmaMin, ODESigmaMin, double, "ode-sigma-min", "S", "the ODE's last noise level before 0")                     \
  X(odeSolver, ODESolver, ::dapsmri::ODESolver, "ode-solver", "S", "euler | heun")                                     \
  X(mcmc, MCMCMethod, ::dapsmri::MCMCMethod, "mcmc", "METHOD",                                                         \
    "langevin | hmc | exact (Gaussian draw) | mean (its mean, data-consistent)")                                       \
  X(mcmcSteps, NumberOfMCMCSteps, int, "mcmc-steps", "N", "Langevin / HMC steps per annealing step")                   \
  X(stepSize, StepSize, double, "step-size", "LR", "Langevin / HMC step size")                                         \
  X(stepSizeMinRatio, StepSizeMinRatio, double, "step-size-min-ratio", "F",                                            \
    "the step size decays linearly to F times itself")                                                                 \
  X(tau, Tau, double, "tau", "T", "data-term noise level, normalised units")                                           \
  X(hmcMomentum, HMCMomentum, double, "hmc-momentum", "M", "HMC momentum kept per step, in [0, 1)")                    \
  X(cgIterations, NumberOfCGIterations, int, "cg-iterations", "N", "conjugate-gradient iterations of exact / mean")    \
  X(priorSpread, PriorSpread, ::dapsmri::PriorSpread, "prior-spread", "S",                                             \
    "sigma (r_t = sigma_t, the paper) | gaussian")                                                                     \
  X(samples, NumberOfSamples, int, "samples", "K", "posterior samples; their mean is the image")                       \
  X(seed, Seed, uint64_t, "seed", "S", "random seed")

/** What a run cost. */
struct DAPSStatistics
{
  int64_t denoiserEvaluations = 0; ///< NFE (batched calls)
  int64_t dataGradients = 0;       ///< data-gradient / normal-operator evaluations (batched)
  double  denoiserSeconds = 0.0;
  double  mcmcSeconds = 0.0;
  double  totalSeconds = 0.0;

  /** Adds another run's cost (runs one after the other). */
  DAPSStatistics & operator+=(const DAPSStatistics & other)
  {
    denoiserEvaluations += other.denoiserEvaluations;
    dataGradients += other.dataGradients;
    denoiserSeconds += other.denoiserSeconds;
    mcmcSeconds += other.mcmcSeconds;
    totalSeconds += other.totalSeconds;
    return *this;
  }
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

/** The settings for a known data-term noise level tau: the step size is scaled by
 * (tau / configured tau)^2, which keeps Langevin's stability ratio step size / tau^2. */
inline DAPSConfig
WithNoiseLevel(DAPSConfig c, double tau)
{
  c.stepSize *= (tau / c.tau) * (tau / c.tau);
  c.tau = tau;
  return c;
}

/** A parameter's value as the command line writes it, and back; ParseParameter throws
 * std::invalid_argument naming the flag. */
inline std::string
ParameterText(double v)
{
  std::ostringstream s;
  s << v;
  return s.str();
}
inline std::string
ParameterText(int v)
{
  return std::to_string(v);
}
inline std::string
ParameterText(uint64_t v)
{
  return std::to_string(v);
}
template <typename TEnum, typename = decltype(ToString(TEnum{}))>
std::string
ParameterText(TEnum v)
{
  return ToString(v);
}

namespace detail
{
/** The whole of `text` as a number by `parse` (std::stoi, std::stod, ...), or an error naming the flag. */
template <typename T, typename F>
T
ParseNumber(const std::string & text, const char * flag, const char * kind, F && parse)
{
  try
  {
    size_t  used = 0;
    const T v = parse(text, &used);
    if (used == text.size() && !text.empty())
      return v;
  }
  catch (const std::exception &)
  {
  }
  throw std::invalid_argument(std::string("--") + flag + " needs " + kind + ", got \"" + text + "\"");
}
} // namespace detail

inline void
ParseParameter(const std::string & text, int & v, const char * flag)
{
  v = detail::ParseNumber<int>(text, flag, "an integer",
                               [](const std::string & t, size_t * n) { return std::stoi(t, n); });
}
inline void
ParseParameter(const std::string & text, double & v, const char * flag)
{
  v = detail::ParseNumber<double>(text, flag, "a number",
                                  [](const std::string & t, size_t * n) { return std::stod(t, n); });
}
inline void
ParseParameter(const std::string & text, uint64_t & v, const char * flag)
{
  if (text.find('-') != std::string::npos)
    throw std::invalid_argument(std::string("--") + flag + " must not be negative");
  v = detail::ParseNumber<uint64_t>(text, flag, "an integer",
                                    [](const std::string & t, size_t * n) { return std::stoull(t, n); });
}
inline void
ParseParameter(const std::string & text, MCMCMethod & v, const char *)
{
  v = ParseMCMCMethod(text);
}
inline void
ParseParameter(const std::string & text, ODESolver & v, const char *)
{
  v = ParseODESolver(text);
}
inline void
ParseParameter(const std::string & text, PriorSpread & v, const char *)
{
  v = ParsePriorSpread(text);
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
