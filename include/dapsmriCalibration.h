#ifndef dapsmriCalibration_h
#define dapsmriCalibration_h

// What raw data need before reconstruction: noise prewhitening and coil sensitivities.
#include "DAPSMRIExport.h"
#include "dapsmriISMRMRDReader.h"

namespace dapsmri
{

/** Whitens the coils of every slice with the noise covariance of the noise scans
 * (Psi = L L^H after scaling it by the noise / data dwell-time ratio; k <- s L^-1 k per sample
 * with s^2 = trace(Psi) / C), so that afterwards the noise is white with the coils' mean noise
 * power s^2 per coil: the data, and so the reconstructed image, keep the input's units.
 * Returns the noise standard deviation per real part after whitening (s sqrt(1/2)), or 0 when
 * the file has no noise scans (then nothing changes). Throws when the covariance is singular. */
DAPSMRI_EXPORT double PrewhitenCoils(RawData & data);

/** Adaptive (Walsh / Inati) coil sensitivities from the calibration region of a slice: the
 * dominant eigenvector of the local coil covariance of the low-resolution coil images, phase
 * referenced to the strongest coil, unit sum of squares at every pixel. [y][x][coil]. */
DAPSMRI_EXPORT std::vector<std::complex<float>> WalshCoilMaps(const RawSlice & slice, int kernelSize = 7);

/** ESPIRiT coil sensitivities (Uecker et al., MRM 2014) from the calibration region of a
 * slice: the calibration matrix of kernel x kernel x coil blocks, its dominant right singular
 * vectors (singular values above threshold x the largest), their image-space operator per pixel
 * and its eigenvector of eigenvalue ~1; zero where that eigenvalue is below `crop` (outside the
 * object). The calibration region is the centred 24 x 24 block of the fully sampled centre
 * (a fully sampled scan included) or, with fewer than 24 lines, every readout sample of them
 * with a kernel at most half their number tall, so 6-10 lines (8x fastMRI masks) still give
 * enough blocks.
 * [y][x][coil]; phase referenced to the strongest coil. */
DAPSMRI_EXPORT std::vector<std::complex<float>> ESPIRiTCoilMaps(const RawSlice & slice, int kernelSize = 6,
                                                                double threshold = 0.02, double crop = 0.9);

} // namespace dapsmri

#endif
