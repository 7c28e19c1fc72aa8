#ifndef dapsmriISMRMRDReader_h
#define dapsmriISMRMRDReader_h

// Raw Cartesian MRI data from ISMRMRD files, ready for reconstruction. Plain C++ interface;
// libismrmrd and HDF5 stay inside the DAPSMRI library.
#include "DAPSMRIExport.h"

#include <array>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

namespace dapsmri
{

/** One 2-D slice (of one repetition when repetitions are kept apart) of multi-coil k-space. */
struct RawSlice
{
  int64_t height = 0; ///< phase-encode lines (y)
  int64_t width = 0;  ///< readout samples (x), readout oversampling removed
  int64_t coils = 0;
  /** Centred k-space [y][x][coil] (DC at (H/2, W/2)), averaged over averages (and repetitions,
   * unless kept); zero where nothing was acquired (also partial-Fourier / asymmetric-echo gaps). */
  std::vector<std::complex<float>> kSpace;
  /** [y][x]: samples used as data: acquired lines, within the readout range every average of the
   * line measured (asymmetric echoes leave the rest empty). */
  std::vector<unsigned char> mask;
  /** [y][x]: measured samples of lines flagged for parallel-imaging calibration (including lines
   * of a separate calibration scan, which are in kSpace but not in mask). */
  std::vector<unsigned char> calibration;
  /** The fewest acquisitions averaged into one data line: the noise std of the data is at most
   * the single-acquisition std / sqrt(averages). */
  int averages = 1;
  /** Geometry in patient coordinates (LPS, mm): pixel spacing, the position of the slice centre
   * and the read / phase / slice directions (unit vectors; identity when the file has none). */
  std::array<double, 2> spacing{ { 1.0, 1.0 } };
  std::array<double, 3> position{ { 0.0, 0.0, 0.0 } };
  std::array<double, 3> readDirection{ { 1.0, 0.0, 0.0 } };
  std::array<double, 3> phaseDirection{ { 0.0, 1.0, 0.0 } };
  std::array<double, 3> sliceDirection{ { 0.0, 0.0, 1.0 } };
  double                sliceThickness = 1.0;
  int                   sliceIndex = 0; ///< the file's slice counter
  int                   repetition = -1; ///< -1: repetitions averaged

  /** Physical position of pixel (0, 0): the centre minus half the field of view along read and
   * phase (the centred FFT puts the image centre at pixel (W/2, H/2)). */
  std::array<double, 3> Origin() const;
};

struct RawData
{
  std::vector<RawSlice> slices; ///< ordered along the slice direction (then by repetition)
  /** Noise-scan samples [sample][coil] (ACQ_IS_NOISE_MEASUREMENT), empty when the file has none. */
  std::vector<std::complex<float>> noise;
  int64_t                          coils = 0;
  double                           noiseDwellTime = 0.0; ///< us, of the noise scans
  double                           dataDwellTime = 0.0;  ///< us, of the imaging readouts
  std::string                      header;               ///< the XML header
};

struct ISMRMRDReadOptions
{
  std::string dataset = "dataset";
  bool        keepRepetitions = false; ///< one RawSlice per (slice, repetition) instead of their average
  /** Seconds without progress after which the file is called corrupt (0: 10 s plus 1 s per
   * 20 MB of file). HDF5 loops forever on some corrupt files; fuzzing sets a short wait. */
  double stallSeconds = 0.0;
};

/** Reads a Cartesian 2-D (multi-slice) ISMRMRD file, read-only. Throws itk::ExceptionObject
 * naming what is missing, corrupt or unsupported (non-Cartesian trajectories, several encoding
 * spaces, 3-D encoding, a header that disagrees with the data, fields beyond sane limits). HDF5
 * runs in a child process, so a file that makes it crash or hang is refused as corrupt. */
DAPSMRI_EXPORT RawData ReadISMRMRD(const std::string & path, const ISMRMRDReadOptions & options = {});

/** Writes a copy of an ISMRMRD file that keeps only the phase-encode lines where `keepLine`
 * (indexed by the centred matrix row, as RawSlice rows) is nonzero, for simulated undersampling
 * of fully sampled data. Lines of the centred fully sampled block are flagged as calibration and
 * imaging; noise scans are copied. The output is written to a temporary file and renamed.
 * Returns the number of imaging lines kept per slice and repetition. */
DAPSMRI_EXPORT int64_t UndersampleISMRMRD(const std::string & input, const std::string & output,
                                          const std::vector<unsigned char> & keepLine,
                                          const std::string & dataset = "dataset");

} // namespace dapsmri

#endif
