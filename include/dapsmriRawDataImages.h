#ifndef dapsmriRawDataImages_h
#define dapsmriRawDataImages_h

// ITK images with the scanner geometry of raw data read by ReadISMRMRD: the slices of a file as
// one volume (x, y, slice), with origin, spacing and direction in patient coordinates (LPS, mm).
#include "DAPSMRIExport.h"
#include "dapsmriISMRMRDReader.h"

#include "itkImage.h"

#include <vector>

namespace dapsmri
{

/** Throws itk::ExceptionObject unless the slices stack into one volume: one matrix size and
 * orientation, equally spaced along the slice direction and not at one position (or the
 * repetitions of a single slice, ReadISMRMRD with keepRepetitions). */
DAPSMRI_EXPORT void CheckStackable(const std::vector<RawSlice> & slices);

/** An allocated volume (x, y, slice) of TImage (any pixel type; a VectorImage of `components`
 * per pixel for k-space or coil maps) with the slices' geometry: in-plane spacing and
 * read / phase directions from the first slice, the slice spacing from the distance of the first
 * two slices (the slice thickness for one slice or stacked repetitions). Call CheckStackable first. */
template <typename TImage>
typename TImage::Pointer
AllocateVolume(const std::vector<RawSlice> & slices, unsigned int components = 1)
{
  const auto &             first = slices.front();
  auto                     volume = TImage::New();
  typename TImage::SizeType size{ { static_cast<itk::SizeValueType>(first.width),
                                    static_cast<itk::SizeValueType>(first.height), slices.size() } };
  volume->SetRegions(size);
  typename TImage::SpacingType spacing;
  spacing[0] = first.spacing[0];
  spacing[1] = first.spacing[1];
  spacing[2] = first.sliceThickness;
  if (slices.size() > 1)
  {
    double gap = 0.0;
    for (int i = 0; i < 3; ++i)
      gap += (slices[1].position[i] - first.position[i]) * first.sliceDirection[i];
    if (gap > 0.0)
      spacing[2] = gap;
  }
  volume->SetSpacing(spacing);
  typename TImage::PointType     origin;
  typename TImage::DirectionType direction;
  const auto                     o = first.Origin();
  for (unsigned i = 0; i < 3; ++i)
  {
    origin[i] = o[i];
    direction(i, 0) = first.readDirection[i];
    direction(i, 1) = first.phaseDirection[i];
    direction(i, 2) = first.sliceDirection[i];
  }
  volume->SetOrigin(origin);
  volume->SetDirection(direction);
  volume->SetNumberOfComponentsPerPixel(components); // 1 for scalar images
  volume->Allocate();
  return volume;
}

} // namespace dapsmri

#endif
