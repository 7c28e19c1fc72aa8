#ifndef dapsmriRestoration_h
#define dapsmriRestoration_h

// Image restoration with the DAPS engine: super-resolution, inpainting, deblurring, phase
// retrieval and HDR, the DAPS paper's tasks, as forward models on one real image. Plain C++ like
// dapsmriReconstruction.h: LibTorch stays inside the library.
#include "DAPSMRIExport.h"
#include "dapsmriReconstruction.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dapsmri
{

enum class RestorationTask
{
  SuperResolution, ///< y = down-sampling by `factor` (block mean, or bicubic)
  Inpainting,      ///< y = the pixels where `mask` is nonzero
  Deblurring,      ///< y = kernel * x (periodic convolution)
  PhaseRetrieval,  ///< y = |FFT of x zero-padded to oversampling x its size|; x held real and >= 0
  HDR              ///< y = clip(alpha x, -1, 1)
};

/** "super-resolution", "inpainting", "deblurring", "phase-retrieval", "hdr", and back (throws
 * std::invalid_argument listing the names). */
DAPSMRI_EXPORT std::string     ToString(RestorationTask task);
DAPSMRI_EXPORT RestorationTask ParseRestorationTask(const std::string & name);

/** One forward model and the size of the image it acts on. Only the task's own fields are read. */
struct RestorationProblem
{
  RestorationTask            task = RestorationTask::SuperResolution;
  int64_t                    height = 0, width = 0; ///< of the image to restore
  int64_t                    factor = 4;            ///< super-resolution: must divide height and width
  bool                       bicubic = false;       ///< super-resolution: bicubic instead of block means
  std::vector<unsigned char> mask;                  ///< inpainting: height x width, nonzero where seen
  /** Start the annealing from a classical estimate plus sigma_max noise rather than from noise
   * alone. Inpainting: a harmonic fill of the unseen pixels (the prior's receptive field is
   * smaller than a large hole, whose middle it would otherwise fill with background). Phase
   * retrieval: hybrid input-output with error reduction (HIO + ER), which DAPS then refines; each
   * restart starts HIO from its own seed. Other tasks ignore it. */
  bool warmStart = true;
  std::vector<float>         kernel;                ///< deblurring: kernelHeight x kernelWidth, row-major
  int64_t                    kernelHeight = 0, kernelWidth = 0;
  int64_t                    oversampling = 2; ///< phase retrieval
  double                     alpha = 2.0;      ///< HDR
};

/** Whether DAPS's Gaussian-step MCMC methods (mean, exact) apply: only to linear tasks. */
DAPSMRI_EXPORT bool IsLinear(RestorationTask task);

/** The task's DAPS defaults, chosen on validation slices: the "mri" preset for the linear tasks
 * (for inpainting with sigma_max 0.3, annealing from the warm start: it gained 4-8 dB over noise
 * alone on a 128 x 128 hole and 1 dB on 70 % random pixels); for phase retrieval and HDR the
 * "reference" preset (Langevin) with the paper's step size for the task (5e-5 and 2e-5: HDR's
 * data term has curvature alpha^2 = 4, and 1e-4 would be unstable at tau 0.01); phase retrieval
 * anneals its HIO + ER start from sigma 0.2 to 0.02 in 50 levels of 1 ODE and 50 Langevin
 * steps. */
DAPSMRI_EXPORT DAPSConfig DefaultConfig(RestorationTask task);

/** The measurement's size {height, width} for the problem's image size, and the image size
 * {height, width} whose measurement is measurementHeight x measurementWidth. Only the size
 * parameters are read (factor, oversampling); throws itk::ExceptionObject when they do not fit
 * (a factor that does not divide the size, Fourier magnitudes that are not a multiple of the
 * oversampling, an empty image). */
DAPSMRI_EXPORT std::vector<int64_t> MeasurementSize(const RestorationProblem & problem);
DAPSMRI_EXPORT std::vector<int64_t> ImageSize(const RestorationProblem & problem, int64_t measurementHeight,
                                              int64_t measurementWidth);

/** Checks every parameter of the problem (also an empty mask, a kernel larger than the image or
 * holding NaN, alpha <= 0) and throws itk::ExceptionObject for the first bad one: call before a
 * long computation. Measure() and Restore() check the same. */
DAPSMRI_EXPORT void CheckProblem(const RestorationProblem & problem);

/** Masks for inpainting, [height][width], 1 where seen: all seen but the box of width x height
 * pixels at column x, row y (clipped to the image), and a seeded random `fraction` hidden. */
DAPSMRI_EXPORT std::vector<unsigned char> BoxMask(int64_t height, int64_t width, int64_t x, int64_t y,
                                                  int64_t boxWidth, int64_t boxHeight);
DAPSMRI_EXPORT std::vector<unsigned char> RandomMask(int64_t height, int64_t width, double fraction, uint64_t seed);

/** y = A(x) for a real image x (height x width, row-major); returns the real measurement. */
DAPSMRI_EXPORT std::vector<float> Measure(const RestorationProblem & problem, const std::vector<float> & image);

/** Normalised kernels (size x size, row-major): Gaussian of std sigma pixels, and a seeded random
 * camera path whose turning grows with intensity in [0, 1] (the paper: 61 x 61, sigma 3, 0.5). */
DAPSMRI_EXPORT std::vector<float> GaussianBlurKernel(int64_t size, double sigma);
DAPSMRI_EXPORT std::vector<float> MotionBlurKernel(int64_t size, double intensity, uint64_t seed);

/** Restores the image from its measurement with DAPS. The intensity scale (the data are divided
 * by it so that the image is in the prior's units) is settings.intensityScale, or, when 0, the
 * 99th percentile of |y| (of the seen pixels for inpainting) for the linear tasks and 1 for phase
 * retrieval and HDR, whose measurements are taken to be in the prior's units already. With
 * restarts > 1 DAPS runs that many times (seeds seed, seed + 1, ...) and the run whose mean fits
 * the data best is kept, as the paper does for phase retrieval. Throws itk::ExceptionObject. */
DAPSMRI_EXPORT ReconstructionResult Restore(const Prior & prior, const RestorationProblem & problem,
                                            const std::vector<float> & measurement,
                                            const ReconstructionSettings & settings, int restarts = 1,
                                            const ProgressFunction & progress = {});

} // namespace dapsmri

#endif
