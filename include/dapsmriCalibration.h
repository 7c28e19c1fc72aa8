#ifndef dapsmriCalibration_h
#define dapsmriCalibration_h

// What raw data need before reconstruction: noise prewhitening and coil sensitivities.
#include "DAPSMRIExport.h"
#include "dapsmriISMRMRDReader.h"

namespace dapsmri
{

/** Whitens the coils of every slice with the noise covariance of the noise scans
 * (Psi = L L^H, k <- L^-1 k per sample, after scaling Psi by the noise / data dwell-time ratio),
 * so that afterwards the noise is white with unit variance per coil (1/2 per real part).
 * Returns the noise standard deviation per real part after whitening (sqrt(1/2)), or 0 when the
 * file has no noise scans (then nothing changes). Throws when the covariance is singular. */
DAPSMRI_EXPORT double PrewhitenCoils(RawData & data);

/** Adaptive (Walsh / Inati) coil sensitivities from the calibration region of a slice: the
 * dominant eigenvector of the local coil covariance of the low-resolution coil images, phase
 * referenced to the strongest coil, unit sum of squares at every pixel. [y][x][coil]. */
DAPSMRI_EXPORT std::vector<std::complex<float>> WalshCoilMaps(const RawSlice & slice, int kernelSize = 7);

} // namespace dapsmri

#endif
