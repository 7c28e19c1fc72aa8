#ifndef dapsmriSimulation_h
#define dapsmriSimulation_h

// Simulated multi-coil acquisitions for examples, tests and benchmarks. Plain C++ interface;
// images are row-major [y][x], multi-coil data pixel-interleaved [y][x][coil] as in ITK.
#include "DAPSMRIExport.h"

#include <complex>
#include <cstdint>
#include <string>
#include <vector>

namespace dapsmri
{

/** The modified Shepp-Logan phantom (Toft's intensities), values in [0, 1]. */
DAPSMRI_EXPORT std::vector<float> SheppLoganPhantom(int64_t height, int64_t width);

/** Smooth coil sensitivities of `coils` loops spaced evenly around the field of view, with a
 * linear phase per coil, normalised so that sum_c |S_c|^2 = 1 at every pixel. */
DAPSMRI_EXPORT std::vector<std::complex<float>> SimulatedCoilMaps(int64_t coils, int64_t height, int64_t width);

/** A fastMRI-style Cartesian mask: fully sampled phase-encode rows (y) around the centre
 * (centerFraction of them) plus rows chosen at random (or equispaced) so that the overall
 * rate is 1 / acceleration. Seeded. [height][width], 0 / 1. */
DAPSMRI_EXPORT std::vector<unsigned char> FastMRIMask(int64_t height, int64_t width, double acceleration,
                                                      double centerFraction, uint64_t seed, bool equispaced = false);

/** Variable-density random phase-encode rows: the centre block fully sampled, the other rows
 * drawn with probability ~ (1 - |ky| / (H/2))^power, scaled so that the overall rate is
 * 1 / acceleration. Seeded. [height][width], 0 / 1. */
DAPSMRI_EXPORT std::vector<unsigned char> VariableDensityMask(int64_t height, int64_t width, double acceleration,
                                                              double centerFraction, uint64_t seed, double power = 2.0);

/** A 2-D variable-density Poisson-disc mask (as `bart poisson`), for simulated 2-D phase
 * encoding: no two samples closer than a radius that grows with the distance from the centre,
 * a fully sampled centre square of side `calibration`, the radius chosen so the rate is
 * 1 / acceleration (within 5 %). Seeded. [height][width], 0 / 1. */
DAPSMRI_EXPORT std::vector<unsigned char> PoissonDiscMask(int64_t height, int64_t width, double acceleration,
                                                          int64_t calibration, uint64_t seed);

/** A sampling mask [height][width] by name: "random" or "equispaced" (FastMRIMask),
 * "variable-density" (VariableDensityMask) or "poisson" (PoissonDiscMask with a calibration
 * square of side centerFraction x height). Throws std::invalid_argument for other names. */
DAPSMRI_EXPORT std::vector<unsigned char> UndersamplingMask(const std::string & type, int64_t height, int64_t width,
                                                            double acceleration, double centerFraction, uint64_t seed);

/** k-space y_c = M F (S_c x) + noise (complex Gaussian, std noiseStd per real part on sampled
 * entries), pixel-interleaved [y][x][coil]. */
DAPSMRI_EXPORT std::vector<std::complex<float>> SimulateKSpace(const std::vector<std::complex<float>> & image,
                                                               const std::vector<std::complex<float>> & coilMaps,
                                                               int64_t coils, int64_t height, int64_t width,
                                                               const std::vector<unsigned char> & mask,
                                                               double noiseStd, uint64_t seed);

/** PSNR in dB of |image| against |reference|, with the reference's maximum as the peak. */
DAPSMRI_EXPORT double MagnitudePSNR(const std::vector<std::complex<float>> & image,
                                    const std::vector<std::complex<float>> & reference);

} // namespace dapsmri

#endif
