#ifndef dapsmriRawDataImages_h
#define dapsmriRawDataImages_h

// ITK images with the scanner geometry of raw data read by ReadISMRMRD: the slices of a file as
// one volume (x, y, slice), with origin, spacing and direction in patient coordinates (LPS, mm).
#include "DAPSMRIExport.h"
#include "dapsmriISMRMRDReader.h"
#include "dapsmriRawDataReconstruction.h" // StackGeometry

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
 * two slices (the slice thickness for one slice or stacked repetitions): StackGeometry. Call
 * CheckStackable first. */
template <typename TImage>
typename TImage::Pointer
AllocateVolume(const std::vector<RawSlice> & slices, unsigned int components = 1)
{
  const auto &             first = slices.front();
  auto                     volume = TImage::New();
  typename TImage::SizeType size{ { static_cast<itk::SizeValueType>(first.width),
                                    static_cast<itk::SizeValueType>(first.height), slices.size() } };
  volume->SetRegions(size);
  const VolumeGeometry           geometry = StackGeometry(slices);
  typename TImage::SpacingType   spacing;
  typename TImage::PointType     origin;
  typename TImage::DirectionType direction;
  for (unsigned i = 0; i < 3; ++i)
  {
    spacing[i] = geometry.spacing[i];
    origin[i] = geometry.origin[i];
    for (unsigned j = 0; j < 3; ++j)
      direction(i, j) = geometry.direction[3 * i + j];
  }
  volume->SetSpacing(spacing);
  volume->SetOrigin(origin);
  volume->SetDirection(direction);
  volume->SetNumberOfComponentsPerPixel(components); // 1 for scalar images
  volume->Allocate();
  return volume;
}

} // namespace dapsmri

#endif
