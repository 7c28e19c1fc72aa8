#ifndef dapsmriReconstruction_h
#define dapsmriReconstruction_h

// The torch-free facade between the ITK layer and the engine. Everything here is plain C++:
// LibTorch, FFTW and CUDA stay inside the DAPSMRI library.
#include "DAPSMRIExport.h"
#include "dapsmriDAPSConfig.h"

#include <complex>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dapsmri
{

class Denoiser;

/** A prior for DAPS: a TorchScript model file or an exact analytic prior. A cheap, copyable
 * handle; the model is loaded once and shared. */
class DAPSMRI_EXPORT Prior
{
public:
  Prior() = default;

  /** Loads a TorchScript prior that follows the contract (README "Model contract").
   * Throws itk::ExceptionObject naming the file and what is wrong with it. */
  static Prior Load(const std::string & path, const std::string & device = "cpu");
  /** The shipped brain prior: next to an installed library (<datadir>/dapsmri/models, found from
   * where libDAPSMRI was loaded, so a moved or unpacked install tree still finds it), else in the
   * source tree of this build. Empty when neither exists. */
  static std::string ShippedModelPath();
  /** Exact isotropic Gaussian prior N(mean, std^2) for every real and imaginary part. */
  static Prior Gaussian(std::complex<float> mean, double standardDeviation);
  /** Exact Gaussian mixture of images: means[k] has height * width pixels (row-major). */
  static Prior GaussianMixture(const std::vector<std::vector<std::complex<float>>> & means, int64_t height,
                               int64_t width, const std::vector<double> & weights,
                               const std::vector<double> & standardDeviations);

  bool        IsSet() const { return m_Denoiser != nullptr; }
  std::string Name() const;
  std::string Description() const;
  std::string TrainingData() const;
  /** "p99_magnitude" or "none" (see the model contract). */
  std::string Normalization() const;
  double      SigmaData() const;
  int64_t     DownsamplingFactor() const;

  const std::shared_ptr<const Denoiser> & GetDenoiser() const { return m_Denoiser; }

private:
  std::shared_ptr<const Denoiser> m_Denoiser;
};

/** Multi-coil Cartesian data in ITK's memory layout: k-space and coil maps pixel-interleaved
 * ([y][x][coil], x fastest), the mask [y][x]. Coil maps may be null for single-coil data. */
struct MultiCoilData
{
  const std::complex<float> * kSpace = nullptr;
  const std::complex<float> * coilMaps = nullptr;
  const unsigned char *       mask = nullptr;
  int64_t                     height = 0;
  int64_t                     width = 0;
  int64_t                     coils = 1;
};

/** Most threads a reconstruction accepts (a typo such as 100000 would otherwise start them all). */
constexpr int MaximumThreads = 1024;
/** Most slices one batch accepts. */
constexpr int MaximumSliceBatch = 4096;

/** Sets the number of threads LibTorch and FFTW use while it lives, and restores the previous
 * count afterwards (the count is process-wide). 0 means every core this process may run on:
 * LibTorch's own default is a single thread on some machines. Throws itk::ExceptionObject for a
 * count outside 0..MaximumThreads. Reconstruct() and the other calls here hold one; wrap coil
 * calibration in one to run it on more than LibTorch's default. */
class DAPSMRI_EXPORT ThreadCountScope
{
public:
  explicit ThreadCountScope(int threads);
  ~ThreadCountScope();
  ThreadCountScope(const ThreadCountScope &) = delete;
  ThreadCountScope & operator=(const ThreadCountScope &) = delete;

private:
  int m_Previous;
};

struct ReconstructionSettings
{
  DAPSConfig daps;
  int        threads = 0;          ///< 0: every core (see ThreadCountScope); at most MaximumThreads
  double     intensityScale = 0.0; ///< 0: estimate from the calibration region for p99-normalised priors
  /** Known k-space noise std per real part, in the data's units (after prewhitening: sqrt(1/2)).
   * When set, tau becomes this value in normalised units and the step size is scaled by
   * (new tau / configured tau)^2, which keeps Langevin's stability ratio step size / tau^2. */
  double noiseStandardDeviation = 0.0;
  /** Slices that ReconstructSlices runs as one batch (one network call for all of them); 0: as
   * many as 4 (CPU) or 32 (GPU) images of 256 x 256 pixels per chain. */
  int sliceBatch = 0;
};

struct ReconstructionResult
{
  std::vector<std::complex<float>> mean;              ///< posterior mean (the sample when samples == 1)
  std::vector<float>               standardDeviation; ///< per-pixel posterior std; empty when samples == 1
  double                           intensityScale = 1.0;
  double                           relativeResidual = 0.0; ///< ||A mean - y|| / ||y||
  double                           tau = 0.0;              ///< the data-term noise level used (normalised units)
  DAPSStatistics                   statistics; ///< of the run (for ReconstructSlices: of the slice's whole batch)
  int                              batch = 0;  ///< ReconstructSlices: the batch that ran this slice
};

/** What the results of several slices add up to, as the ITK filters report it: each batch's cost
 * once (consecutive results of one `batch` share it), the largest relative residual and intensity
 * scale, the smallest tau. */
struct ResultsSummary
{
  DAPSStatistics statistics;
  double         largestRelativeResidual = 0.0;
  double         largestIntensityScale = 0.0;
  double         smallestTau = 0.0;
};

/** The summary of results[first, last) (all of them by default). */
DAPSMRI_EXPORT ResultsSummary Summarise(const std::vector<ReconstructionResult> & results, size_t first = 0,
                                        size_t last = static_cast<size_t>(-1));

/** Called after every annealing step with (done, total); return false to abort, which throws
 * itk::ProcessAborted. */
using ProgressFunction = std::function<bool(int, int)>;

/** Checks the data (sizes, finite values, a non-empty mask, non-zero coil maps) and runs DAPS.
 * Throws itk::ExceptionObject with an actionable message. */
DAPSMRI_EXPORT ReconstructionResult Reconstruct(const Prior & prior, const MultiCoilData & data,
                                                const ReconstructionSettings & settings,
                                                const ProgressFunction & progress = {});

/** Reconstructs the slices of a volume (each with its own k-space, maps and mask, all of one
 * size), settings.sliceBatch of them at a time as one batch of independent problems: one network
 * call serves them all. Each slice keeps its own intensity scale and data term; with a known
 * noise level, the batch runs at its smallest tau with the others' data terms weighted to keep
 * their own (so Langevin's step size is the one of that slice). `progress` counts the annealing
 * steps of all batches together. Results are reproducible for a given seed, device, thread count
 * and slice batch; a batch of one slice gives Reconstruct()'s result. */
DAPSMRI_EXPORT std::vector<ReconstructionResult> ReconstructSlices(const Prior & prior,
                                                                   const std::vector<MultiCoilData> & slices,
                                                                   const ReconstructionSettings & settings,
                                                                   const ProgressFunction & progress = {});

/** Draws `count` images of height x width from the prior alone (DAPS with no measurement),
 * in the prior's normalised units. Returns count * height * width values, image after image. */
DAPSMRI_EXPORT std::vector<std::complex<float>> SamplePrior(const Prior & prior, int64_t height, int64_t width,
                                                            int count, const ReconstructionSettings & settings,
                                                            const ProgressFunction & progress = {});

/** The zero-filled SENSE-adjoint image sum_c conj(S_c) F^H (M y_c), the classical baseline. */
DAPSMRI_EXPORT std::vector<std::complex<float>> ZeroFilledImage(const MultiCoilData & data, int threads = 0);

/** An exception thrown by this library, described for callers that do not include ITK (the Python
 * module): what kind of error it is and the one-line message the command-line tools print. */
struct ErrorDescription
{
  enum class Kind
  {
    InvalidInput, ///< bad data, settings or files (std::invalid_argument, itk::InvalidArgumentError)
    Aborted,      ///< a progress function returned false (itk::ProcessAborted)
    Failure       ///< anything else
  };
  Kind        kind = Kind::Failure;
  std::string message;
};
DAPSMRI_EXPORT ErrorDescription DescribeError(const std::exception & error);

} // namespace dapsmri

#endif
