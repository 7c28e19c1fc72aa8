#ifndef dapsmriRawDataReconstruction_h
#define dapsmriRawDataReconstruction_h

// Whole-file reconstruction of raw data read by ReadISMRMRD: noise prewhitening, coil maps and
// DAPS (or the zero-filled image) for every slice, as daps-recon and the Python module's
// reconstruct_ismrmrd run it. Plain C++: no ITK, no LibTorch.
#include "DAPSMRIExport.h"
#include "dapsmriISMRMRDReader.h"
#include "dapsmriReconstruction.h"

#include <array>
#include <complex>
#include <string>
#include <vector>

namespace dapsmri
{

/** Where the slices of raw data lie as one volume (x, y, slice), in patient coordinates (LPS,
 * mm), as AllocateVolume (dapsmriRawDataImages.h) gives its images: in-plane spacing and origin
 * from the first slice, the slice spacing from the distance of the first two slices (the slice
 * thickness for one slice or stacked repetitions). */
struct VolumeGeometry
{
  std::array<double, 3> spacing{ { 1.0, 1.0, 1.0 } };
  std::array<double, 3> origin{ { 0.0, 0.0, 0.0 } };
  /** Row-major 3 x 3: its columns are the read, phase and slice directions. */
  std::array<double, 9> direction{ { 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0 } };
};

/** The geometry of slices that stack (see CheckStackable); throws itk::ExceptionObject for none. */
DAPSMRI_EXPORT VolumeGeometry StackGeometry(const std::vector<RawSlice> & slices);

struct RawDataReconstructionOptions
{
  /** DAPS settings, threads (also for the coil maps), intensity scale and slice batch. Its noise
   * level counts only where noiseFromScans does not set one. */
  ReconstructionSettings settings;
  bool                   prewhiten = true; ///< whiten the coils with the noise scans, when the file has them
  /** Set the data-term noise level from the noise scans after prewhitening (divided by
   * sqrt(averages) of each slice); false keeps settings.daps.tau (daps-recon's --tau). */
  bool        noiseFromScans = true;
  std::string coilMaps = "espirit"; ///< "espirit" or "walsh", estimated from each slice's calibration lines
  /** One map per slice ([y][x][coil], as RawSlice::kSpace) instead of estimating them; empty: estimate. */
  std::vector<std::vector<std::complex<float>>> coilMapsGiven;
  bool adjointOnly = false; ///< the zero-filled SENSE image of every slice instead of DAPS (no prior needed)
};

/** Consecutive slices with the same number of averages: one noise level, one ReconstructSlices run. */
struct SliceGroup
{
  size_t first = 0, last = 0;             ///< slices [first, last)
  double noiseStandardDeviation = 0.0;    ///< given to that run (0: unknown, tau as configured)
};

struct RawDataReconstruction
{
  /** One per slice of the data, in data units. Their `batch` counts over the whole file. For
   * adjointOnly: mean only, with intensity scale, tau and residual 0. */
  std::vector<ReconstructionResult>             slices;
  std::vector<std::vector<std::complex<float>>> coilMaps; ///< per slice, [y][x][coil], as used
  VolumeGeometry                                geometry;
  bool                                          prewhitened = false;
  double noiseStandardDeviation = 0.0; ///< k-space noise std per real part after prewhitening; 0 without
  std::vector<SliceGroup> groups;      ///< empty for adjointOnly
  ResultsSummary          summary;     ///< of all slices
  double                  calibrationSeconds = 0.0;    ///< prewhitening and coil maps
  double                  reconstructionSeconds = 0.0; ///< DAPS (or the zero-filled images)
};

/** Reconstructs every slice of `data` (from ReadISMRMRD): prewhitens the coils in place when
 * asked and the file has noise scans (so `data` afterwards holds the k-space that was used),
 * estimates or takes the coil maps (inside a ThreadCountScope of settings.threads), then runs
 * ReconstructSlices once per run of consecutive slices with the same number of averages, with
 * the noise level of the scans divided by sqrt(averages). The prior may be unset for
 * adjointOnly. `progress` counts the annealing steps of all runs together; returning false
 * aborts with itk::ProcessAborted. Throws itk::ExceptionObject with an actionable message:
 * slices that do not stack (CheckStackable), an unknown coil-map method, coilMapsGiven of the
 * wrong count or size, or anything ReconstructSlices refuses. */
DAPSMRI_EXPORT RawDataReconstruction ReconstructRawData(const Prior & prior, RawData & data,
                                                        const RawDataReconstructionOptions & options,
                                                        const ProgressFunction & progress = {});

} // namespace dapsmri

#endif
