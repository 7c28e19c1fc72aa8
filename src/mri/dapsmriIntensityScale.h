#ifndef dapsmriIntensityScale_h
#define dapsmriIntensityScale_h

#include "dapsmriOperator.h"

namespace dapsmri
{

/** The fully sampled block at the centre of k-space (the calibration / ACS region) of a
 * mask [H, W]: the contiguous fully sampled rows around the centre row, else such columns,
 * else the largest fully sampled centred square. Empty (all zero) when the centre itself
 * was not sampled. Returns a float mask [H, W]. */
torch::Tensor CalibrationRegion(const torch::Tensor & mask);

/** The scale that brings an image to a prior's "p99_magnitude" convention, estimated from the
 * data: the 99th percentile of |A^H y| over the calibration region alone (a low-resolution
 * image free of aliasing); from all sampled data when there is no calibration region.
 * y: [C, H, W]. Throws std::invalid_argument when the data are zero. */
double EstimateIntensityScale(const Operator & op, const torch::Tensor & y, const torch::Tensor & mask);

} // namespace dapsmri

#endif
