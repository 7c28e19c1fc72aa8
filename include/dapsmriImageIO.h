#ifndef dapsmriImageIO_h
#define dapsmriImageIO_h

// Image files for the DAPS filters: multi-coil k-space and coil maps, masks and real images read
// from untrusted files with limits and in a child process, and outputs written completely or not
// at all. Every function throws itk::ExceptionObject naming the file and what is wrong.
#include "DAPSMRIExport.h"
#include "dapsmriOutputFile.h"

#include "itkImage.h"
#include "itkImageFileWriter.h"
#include "itkVectorImage.h"

#include <complex>
#include <memory>
#include <string>

namespace dapsmri
{

using RealImage = itk::Image<float, 2>;
using MultiCoilImage = itk::VectorImage<std::complex<float>, 2>;
using MaskImage = itk::Image<unsigned char, 2>;

/** An ITK exception's description for a user: its first line, without object addresses. */
DAPSMRI_EXPORT std::string Describe(const itk::ExceptionObject & e);

/** Multi-coil data on disk: a complex 3-D image (x, y, coil), which every ITK format with
 * complex pixels can hold (ITK cannot write a VectorImage of complex values). The geometry of x
 * and y is kept. Reading refuses files beyond sane sizes or the machine's memory, truncated
 * files, and anything that makes ITK's readers crash or hang (they run in a child process). */
DAPSMRI_EXPORT MultiCoilImage::Pointer ReadMultiCoil(const std::string & path);
/** Writes atomically (see WriteImageAtomically). */
DAPSMRI_EXPORT void WriteMultiCoil(const MultiCoilImage * image, const std::string & path);
/** A sampling or inpainting mask: any nonzero value (0.5 too) is 1; `what` names it in errors. */
DAPSMRI_EXPORT MaskImage::Pointer ReadMask(const std::string & path, const std::string & what = "sampling mask");
/** A 2-D scalar image as float (a 3-D file with one slice too); refuses other shapes and NaN /
 * Inf, naming `what` and the file. */
DAPSMRI_EXPORT RealImage::Pointer ReadScalarImage(const std::string & path, const std::string & what);

/** Throws unless `path` can be written as an image: its folder exists and ITK knows the format
 * from the extension; with floatingPoint, the format must also hold float and complex volumes
 * (NIfTI, NRRD, MetaImage, VTK), which PNG / JPEG / BMP cannot. Call before a long computation. */
DAPSMRI_EXPORT void CheckImageOutputPath(const std::string & path, bool floatingPoint = false);

/** Reads back a just written image and throws unless it holds `dimension` axes of the given
 * sizes and all its pixels can be read (a full disk). */
DAPSMRI_EXPORT void CheckWrittenImage(const std::string & written, const std::string & target,
                                      const itk::SizeValueType * size, unsigned int dimension);

/** Writes `image` to the temporary file of `path` (OutputFile) and checks that its pixels read
 * back as the image; Commit() of the result puts it in place. Several outputs of one run are
 * written this way first and committed together (OutputFile::CommitAll), so a failing one
 * leaves none. */
template <typename TImage>
std::unique_ptr<OutputFile>
WriteImageToTemporary(const TImage * image, const std::string & path)
{
  auto target = std::make_unique<OutputFile>(path);
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(target->TemporaryPath());
  writer->UseCompressionOn();
  writer->Update();
  CheckWrittenImage(target->TemporaryPath(), path, image->GetLargestPossibleRegion().GetSize().m_InternalArray,
                    TImage::ImageDimension);
  return target;
}

/** One output, complete or absent: a file that was there stays as it was when writing fails. */
template <typename TImage>
void
WriteImageAtomically(const TImage * image, const std::string & path)
{
  WriteImageToTemporary(image, path)->Commit();
}

} // namespace dapsmri

#endif
