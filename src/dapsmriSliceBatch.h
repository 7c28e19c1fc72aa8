#ifndef dapsmriSliceBatch_h
#define dapsmriSliceBatch_h

// How ReconstructSlices splits a volume into batches, for the code in this library that runs it
// several times under one progress count (ReconstructRawData). Torch-free.
#include "dapsmriReconstruction.h"

namespace dapsmri
{

/** The slices of height x width that ReconstructSlices runs as one batch: settings.sliceBatch,
 * else (0) as many as fit the prior's device. The prior must be set. */
int64_t SlicesPerBatch(const Prior & prior, const ReconstructionSettings & settings, int64_t height, int64_t width);

} // namespace dapsmri

#endif
