#include "dapsmriRawDataImages.h"

#include "dapsmriStandardErrors.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace dapsmri
{

namespace
{
/** The slices must stack into one volume: same matrix and orientation, equally spaced (or one
 * slice whose repetitions are stacked, with --keep-repetitions). */
void
CheckSlices(const std::vector<RawSlice> & slices)
{
  const auto & first = slices.front();
  bool         repetitions = false, slicesDiffer = false;
  for (const auto & s : slices)
  {
    if (s.width != first.width || s.height != first.height)
      throw std::invalid_argument("slices of different matrix sizes cannot form one volume");
    if (s.readDirection != first.readDirection || s.phaseDirection != first.phaseDirection ||
        s.sliceDirection != first.sliceDirection)
      throw std::invalid_argument("slices with different orientations cannot form one volume");
    repetitions = repetitions || s.repetition > 0;
    slicesDiffer = slicesDiffer || s.sliceIndex != first.sliceIndex;
  }
  if (repetitions && slicesDiffer)
    throw std::invalid_argument("--keep-repetitions needs a single-slice file (the output stacks the repetitions)");
  double firstGap = 0.0;
  for (int k = 0; slices.size() > 1 && k < 3; ++k)
    firstGap += (slices[1].position[k] - first.position[k]) * first.sliceDirection[k];
  if (!repetitions && slices.size() > 1 && std::abs(firstGap) < 1e-6)
    throw std::invalid_argument("slices " + std::to_string(first.sliceIndex) + " and " + std::to_string(slices[1].sliceIndex) +
                                " lie at the same position; different slices cannot form one volume (are the "
                                "acquisitions' position fields filled in?)");
  for (size_t i = 2; !repetitions && i < slices.size(); ++i)
  {
    double a = 0.0, b = 0.0;
    for (int k = 0; k < 3; ++k)
    {
      a += (slices[1].position[k] - first.position[k]) * first.sliceDirection[k];
      b += (slices[i].position[k] - slices[i - 1].position[k]) * first.sliceDirection[k];
    }
    if (std::abs(a - b) > 1e-3 * std::max(1.0, std::abs(a)) || std::abs(a) < 1e-6)
      throw std::invalid_argument("the slices are not equally spaced; they cannot form one volume");
  }
}

} // namespace

void
CheckStackable(const std::vector<RawSlice> & slices)
{
  TranslateStandardErrors("dapsmri::CheckStackable", [&] {
    if (slices.empty())
      throw std::invalid_argument("there are no slices to stack");
    CheckSlices(slices);
  });
}

} // namespace dapsmri
