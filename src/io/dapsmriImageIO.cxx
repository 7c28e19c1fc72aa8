#include "dapsmriImageIO.h"

#include "dapsmriIsolatedReader.h"
#include "dapsmriReconstruction.h" // DescribeError
#include "dapsmriStandardErrors.h"
#include "itkImageFileReader.h"
#include "itkImageIOFactory.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <unistd.h>
#include <zlib.h>

namespace dapsmri
{

std::string
Describe(const itk::ExceptionObject & e)
{
  const std::string  text = e.GetDescription();
  static const std::regex address(R"( ?\(0x[0-9a-fA-F]+\))");
  return std::regex_replace(text.substr(0, text.find('\n')), address, "");
}

ErrorDescription
DescribeError(const std::exception & error)
{
  ErrorDescription d;
  d.message = error.what();
  if (const auto * e = dynamic_cast<const itk::ExceptionObject *>(&error))
  {
    d.message = Describe(*e);
    if (dynamic_cast<const itk::ProcessAborted *>(e))
      d.kind = ErrorDescription::Kind::Aborted;
    else if (dynamic_cast<const itk::InvalidArgumentError *>(e))
      d.kind = ErrorDescription::Kind::InvalidInput;
  }
  else if (dynamic_cast<const std::invalid_argument *>(&error))
    d.kind = ErrorDescription::Kind::InvalidInput;
  return d;
}

namespace
{
void CheckMetaImageLength(const std::string & path, const char * what);

/** Whether a gzip file decompresses to its end, to at least `bytes` bytes: NIfTI's writer
 * reports a short write (a full disk) on stderr only, and its reader reads what is there. */
bool
GzipHoldsAtLeast(const std::string & path, double bytes)
{
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
    return false;
  std::vector<char> buffer(1 << 16);
  double            total = 0.0;
  int               got = 0;
  while ((got = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0)
    total += got;
  int error = Z_OK;
  gzerror(file, &error);
  const bool ended = got == 0 && (error == Z_OK || error == Z_STREAM_END);
  return gzclose_r(file) == Z_OK && ended && total >= bytes;
}
} // namespace

void
CheckWrittenImage(const std::string & written, const std::string & target, const itk::SizeValueType * size,
                  unsigned int dimension)
{
  TranslateStandardErrors("dapsmri::CheckWrittenImage", [&] {
    auto io = itk::ImageIOFactory::CreateImageIO(written.c_str(), itk::ImageIOFactory::ReadMode);
    bool complete = io != nullptr;
    try
    {
      // MetaImage reports a short write (and a short read) on stderr only.
      const auto extension = std::filesystem::path(written).extension();
      if (complete && (extension == ".mha" || extension == ".mhd"))
        CheckMetaImageLength(written, "written image");
      if (complete)
      {
        io->SetFileName(written);
        io->ReadImageInformation();
        complete = io->GetNumberOfDimensions() >= dimension;
        for (unsigned int d = 0; complete && d < dimension; ++d)
          complete = io->GetDimensions(d) == size[d];
        // All the pixels too: a compressed file cut short by a full disk has a complete header.
        itk::ImageIORegion region(io->GetNumberOfDimensions());
        for (unsigned int d = 0; d < io->GetNumberOfDimensions(); ++d)
          region.SetSize(d, io->GetDimensions(d));
        io->SetIORegion(region);
        std::vector<char> pixels(complete ? io->GetImageSizeInBytes() : 0);
        if (complete)
          io->Read(pixels.data());
        const std::string & name = written;
        if (complete && name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0)
          complete = GzipHoldsAtLeast(written, static_cast<double>(pixels.size()));
        if (complete && std::filesystem::path(written).extension() == ".nii") // header (348 bytes) + pixels
          complete = std::filesystem::file_size(written) >= pixels.size() + 348;
      }
    }
    catch (const std::exception &) // itk::ExceptionObject too
    {
      complete = false;
    }
    if (!complete)
      throw std::runtime_error("could not write " + target +
                               ": the written file does not read back as the image (is the disk full?); the previous "
                               "file, if any, is unchanged");
  });
}

void
CheckImageOutputPath(const std::string & path, bool floatingPoint)
{
  TranslateStandardErrors("dapsmri::CheckImageOutputPath", [&] {
    CheckOutputPaths({ path }, {}); // the folder exists and is writable, the path is no folder
    if (!itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::WriteMode))
      throw std::invalid_argument("cannot write " + path + ": unknown image format (use .nii.gz, .nrrd or .mha)");
    if (floatingPoint)
    {
      static const char * const volumes[] = { ".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".vtk" };
      const auto endsWith = [&](const char * suffix) {
        const std::string s(suffix);
        return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
      };
      if (std::none_of(std::begin(volumes), std::end(volumes), endsWith))
        throw std::invalid_argument("cannot write " + path +
                                    ": the reconstruction is a floating-point volume; use .nii.gz, .nrrd or .mha");
    }
  });
}

namespace
{
using Complex3D = itk::Image<std::complex<float>, 3>;

/** ITK's MetaImage reader accepts a truncated .mha without an error; check the length of the
 * local data block against its header (CompressedDataSize, or the raw size). */
void
CheckMetaImageLength(const std::string & path, const char * what)
{
  std::ifstream file(path, std::ios::binary);
  std::string   line;
  std::map<std::string, std::string> header;
  while (std::getline(file, line))
  {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos)
      break;
    header[line.substr(0, eq)] = line.substr(eq + 3);
    if (line.rfind("ElementDataFile", 0) == 0)
      break;
  }
  // The data inside (LOCAL) or in one file beside a .mhd header (lists and patterns: unchecked).
  const std::string dataFile = header["ElementDataFile"];
  if (dataFile.empty() || dataFile == "LIST" || dataFile.find('%') != std::string::npos)
    return;
  const auto number = [&](const std::string & text) -> std::uintmax_t {
    try
    {
      return std::stoull(text);
    }
    catch (const std::exception &)
    {
      throw std::invalid_argument("cannot read the " + std::string(what) + " " + path +
                                  ": its MetaImage header is corrupt (\"" + text + "\")");
    }
  };
  std::error_code      error;
  const auto           dataPath = std::filesystem::path(path).parent_path() / dataFile;
  const std::uintmax_t available =
    dataFile == "LOCAL" ? std::filesystem::file_size(path) - static_cast<std::uintmax_t>(file.tellg())
                        : std::filesystem::file_size(dataPath, error);
  if (error)
    throw std::invalid_argument("cannot read the " + std::string(what) + " " + path + ": its data file " +
                                dataPath.string() + " is missing");
  std::uintmax_t expected = 0;
  if (header["CompressedData"] == "True")
    expected = number(header["CompressedDataSize"]);
  else
  {
    static const std::map<std::string, std::uintmax_t> bytes{ { "MET_UCHAR", 1 }, { "MET_CHAR", 1 }, { "MET_SHORT", 2 },
                                                               { "MET_USHORT", 2 }, { "MET_INT", 4 }, { "MET_UINT", 4 },
                                                               { "MET_FLOAT", 4 }, { "MET_DOUBLE", 8 } };
    std::istringstream dims(header["DimSize"]);
    expected = bytes.count(header["ElementType"]) ? bytes.at(header["ElementType"]) : 0;
    expected *= header.count("ElementNumberOfChannels") ? number(header["ElementNumberOfChannels"]) : 1;
    for (std::uintmax_t d; dims >> d;)
      expected *= d;
  }
  if (available < expected)
    throw std::invalid_argument("cannot read the " + std::string(what) + " " + path + ": the file is truncated (" +
                                std::to_string(available) + " of " + std::to_string(expected) + " data bytes)");
}

/** Whether an image file holds its own pixels: NIfTI (.nii, .nii.gz), MetaImage .mha, and NRRD
 * .nrrd unless its header names a data file. */
bool
HoldsItsPixels(const std::string & path)
{
  const auto endsWith = [&](const std::string & suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (endsWith(".nii") || endsWith(".nii.gz") || endsWith(".mha"))
    return true;
  if (!endsWith(".nrrd"))
    return false;
  std::ifstream file(path, std::ios::binary);
  std::string   head(4096, '\0');
  file.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(file.gcount()));
  head = head.substr(0, head.find("\n\n")); // the text header ends at the first empty line
  return head.find("data file:") == std::string::npos && head.find("datafile:") == std::string::npos;
}

/** An image file's header, read without its pixels, after checks that keep a broken or hostile
 * file from costing more than the machine has: sizes 1..65536 per axis (4096 in-plane) and the
 * pixel data within 80 % of the physical memory. */
itk::ImageIOBase::Pointer
ReadHeader(const std::string & path, const char * what)
{
  const std::string prefix = "cannot read the " + std::string(what) + " " + path + ": ";
  if (!std::filesystem::exists(path))
    throw std::invalid_argument(prefix + "no such file");
  const auto extension = std::filesystem::path(path).extension();
  if (extension == ".mha" || extension == ".mhd")
    CheckMetaImageLength(path, what);
  auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::ReadMode);
  if (!io)
    throw std::invalid_argument(prefix + "not an image file ITK can read (or it is corrupt)");
  io->SetFileName(path);
  try
  {
    io->ReadImageInformation();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw std::invalid_argument(prefix + Describe(e));
  }
  double bytes = static_cast<double>(io->GetComponentSize()) * io->GetNumberOfComponents();
  for (unsigned d = 0; d < io->GetNumberOfDimensions(); ++d)
  {
    const auto size = io->GetDimensions(d);
    if (size < 1 || size > (d < 2 ? 4096u : 65536u))
      throw std::invalid_argument(prefix + "axis " + std::to_string(d) + " has " + std::to_string(size) +
                                  " pixels; the limit is " + (d < 2 ? "4096" : "65536"));
    bytes *= static_cast<double>(size);
  }
  // A file holding its pixels cannot expand beyond zlib's ratio (about 1032:1), however its
  // header is forged: refuse before allocating. (Detached data files are not counted.)
  const double fileBytes = static_cast<double>(std::filesystem::file_size(path));
  if (HoldsItsPixels(path) && bytes > 1100.0 * fileBytes + 65536.0)
    throw std::invalid_argument(prefix + "its header declares " + std::to_string(static_cast<int64_t>(bytes)) +
                                " bytes of pixels, more than the file (" +
                                std::to_string(static_cast<int64_t>(fileBytes)) + " bytes) can hold; it is corrupt");
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (memory > 0.0 && bytes > 0.8 * memory)
    throw std::invalid_argument(prefix + "its pixels need " + std::to_string(static_cast<int64_t>(bytes / 1048576.0)) +
                                " MiB, more than this machine's memory");
  return io;
}

template <typename TImage>
typename TImage::Pointer
ReadImage(const std::string & path, const char * what)
{
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  try
  {
    reader->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw std::invalid_argument("cannot read the " + std::string(what) + " " + path + ": " +
                                Describe(e));
  }
  return reader->GetOutput();
}
/** Copies the x and y geometry (spacing, origin, direction) of `from` onto `to`, whose other axes
 * keep theirs: multi-coil data are 2-D images on disk as a 3-D volume with coils along z. */
template <typename TFrom, typename TTo>
void
CopyInPlaneGeometry(const TFrom * from, TTo * to)
{
  auto spacing = to->GetSpacing();
  auto origin = to->GetOrigin();
  auto direction = to->GetDirection();
  for (unsigned i = 0; i < 2; ++i)
  {
    spacing[i] = from->GetSpacing()[i];
    origin[i] = from->GetOrigin()[i];
    for (unsigned j = 0; j < 2; ++j)
      direction(i, j) = from->GetDirection()(i, j);
  }
  to->SetSpacing(spacing);
  to->SetOrigin(origin);
  to->SetDirection(direction);
}

} // namespace

/** Reads an untrusted image file as TImage in a child process (IsolatedReader), which sends
 * its geometry and pixels: ITK's readers crash or loop forever on some corrupt headers (found by
 * fuzzing: a NIfTI orientation of NaNs sends its SVD into an endless loop). `checkHeader` runs
 * in the child on the header (after ReadHeader's limits) and throws to refuse the file. */
template <typename TImage>
typename TImage::Pointer
ReadImageInChildProcess(const std::string & path, const char * what,
                        const std::function<void(const itk::ImageIOBase &)> & checkHeader)
{
  constexpr unsigned Dimension = TImage::ImageDimension;
  struct Geometry
  {
    uint64_t size[Dimension];
    double   spacing[Dimension], origin[Dimension], direction[Dimension * Dimension];
  };
  const auto serve = [&](const IsolatedReader::Sender & out) {
    checkHeader(*ReadHeader(path, what));
    const auto image = ReadImage<TImage>(path, what);
    Geometry   g{};
    for (unsigned i = 0; i < Dimension; ++i)
    {
      g.size[i] = image->GetLargestPossibleRegion().GetSize()[i];
      g.spacing[i] = image->GetSpacing()[i];
      g.origin[i] = image->GetOrigin()[i];
      for (unsigned j = 0; j < Dimension; ++j)
        g.direction[i * Dimension + j] = image->GetDirection()(i, j);
    }
    out.Send(&g, sizeof g);
    out.Send(image->GetBufferPointer(),
             image->GetLargestPossibleRegion().GetNumberOfPixels() * sizeof(typename TImage::PixelType));
  };
  IsolatedReader reader(path, 0.0, serve);
  Geometry       g{};
  reader.Receive(&g, sizeof g);
  typename TImage::SizeType      size;
  typename TImage::SpacingType   spacing;
  typename TImage::PointType     origin;
  typename TImage::DirectionType direction;
  double                         pixels = 1.0;
  for (unsigned i = 0; i < Dimension; ++i)
  {
    size[i] = g.size[i];
    pixels *= static_cast<double>(g.size[i]);
    spacing[i] = g.spacing[i];
    origin[i] = g.origin[i];
    for (unsigned j = 0; j < Dimension; ++j)
      direction(i, j) = g.direction[i * Dimension + j];
  }
  if (pixels > 65536.0 * 4096.0 * 4096.0) // the child applied ReadHeader's limits; trust no more
    throw std::invalid_argument("cannot read the " + std::string(what) + " " + path + ": the reading process sent garbage");
  auto image = TImage::New();
  image->SetRegions(size);
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  reader.Receive(image->GetBufferPointer(),
                 image->GetLargestPossibleRegion().GetNumberOfPixels() * sizeof(typename TImage::PixelType));
  return image;
}

MultiCoilImage::Pointer
ReadMultiCoil(const std::string & path)
{
  return TranslateStandardErrors("dapsmri::ReadMultiCoil", [&] {
    const char * what = "multi-coil image (complex, x y coil)";
    const auto   check = [&](const itk::ImageIOBase & io) {
      // Complex pixels, or two floating-point components (how MetaImage stores complex images).
      const bool complexPixels = io.GetPixelType() == itk::IOPixelEnum::COMPLEX || io.GetNumberOfComponents() == 2;
      if (!complexPixels ||
          (io.GetComponentType() != itk::IOComponentEnum::FLOAT && io.GetComponentType() != itk::IOComponentEnum::DOUBLE))
        throw std::invalid_argument("cannot read the " + std::string(what) + " " + path + ": it holds " +
                                    itk::ImageIOBase::GetPixelTypeAsString(io.GetPixelType()) + " " +
                                    itk::ImageIOBase::GetComponentTypeAsString(io.GetComponentType()) +
                                    " pixels; k-space and coil maps must be complex float images");
      if (io.GetNumberOfDimensions() > 3 || (io.GetNumberOfDimensions() == 3 && io.GetDimensions(2) > 1024))
        throw std::invalid_argument("cannot read the " + std::string(what) + " " + path + ": it has " +
                                    std::to_string(io.GetNumberOfDimensions()) +
                                    " axes; give x, y and at most 1024 coils along the third");
    };
    auto       volume = ReadImageInChildProcess<Complex3D>(path, what, check);
    const auto size = volume->GetLargestPossibleRegion().GetSize();
    auto       image = MultiCoilImage::New();
    MultiCoilImage::SizeType planeSize{ { size[0], size[1] } };
    image->SetRegions(planeSize);
    image->SetNumberOfComponentsPerPixel(static_cast<unsigned int>(size[2]));
    CopyInPlaneGeometry(volume.GetPointer(), image.GetPointer());
    image->Allocate();
    const size_t plane = size[0] * size[1], coils = size[2];
    const auto * in = volume->GetBufferPointer();
    auto *       out = image->GetBufferPointer();
    for (size_t c = 0; c < coils; ++c)
      for (size_t p = 0; p < plane; ++p)
        out[p * coils + c] = in[c * plane + p];
    return image;
  });
}

void
WriteMultiCoil(const MultiCoilImage * image, const std::string & path)
{
  TranslateStandardErrors("dapsmri::WriteMultiCoil", [&] {
    const auto size = image->GetLargestPossibleRegion().GetSize();
    const size_t coils = image->GetNumberOfComponentsPerPixel(), plane = size[0] * size[1];
    auto         volume = Complex3D::New();
    Complex3D::SizeType volumeSize{ { size[0], size[1], coils } };
    volume->SetRegions(volumeSize);
    CopyInPlaneGeometry(image, volume.GetPointer()); // z: unit spacing, zero origin, identity
    volume->Allocate();
    const auto * in = image->GetBufferPointer();
    auto *       out = volume->GetBufferPointer();
    for (size_t c = 0; c < coils; ++c)
      for (size_t p = 0; p < plane; ++p)
        out[c * plane + p] = in[p * coils + c];
    WriteImageAtomically(volume.GetPointer(), path);
  });
}

RealImage::Pointer
ReadScalarImage(const std::string & path, const std::string & what)
{
  return TranslateStandardErrors("dapsmri::ReadScalarImage", [&] {
    const auto check = [&](const itk::ImageIOBase & io) {
      if (io.GetNumberOfComponents() != 1 || io.GetNumberOfDimensions() > 3 ||
          (io.GetNumberOfDimensions() == 3 && io.GetDimensions(2) != 1))
        throw std::invalid_argument("cannot read the " + what + " " + path + ": it must be one 2-D scalar image (x, y); " +
                                    "this file has " + std::to_string(io.GetNumberOfDimensions()) + " axes of " +
                                    std::to_string(io.GetNumberOfComponents()) + "-component pixels");
    };
    auto         image = ReadImageInChildProcess<RealImage>(path, what.c_str(), check);
    const size_t n = image->GetLargestPossibleRegion().GetNumberOfPixels();
    if (!std::all_of(image->GetBufferPointer(), image->GetBufferPointer() + n, [](float v) { return std::isfinite(v); }))
      throw std::invalid_argument("cannot read the " + what + " " + path + ": it holds NaN or Inf values");
    return image;
  });
}

MaskImage::Pointer
ReadMask(const std::string & path, const std::string & what)
{
  return TranslateStandardErrors("dapsmri::ReadMask", [&] {
    // Read as float: any nonzero value (0.5 too) marks a sample.
    const auto values = ReadScalarImage(path, what);
    auto       mask = MaskImage::New();
    mask->CopyInformation(values);
    mask->SetRegions(values->GetLargestPossibleRegion());
    mask->Allocate();
    const size_t n = values->GetLargestPossibleRegion().GetNumberOfPixels();
    std::transform(values->GetBufferPointer(), values->GetBufferPointer() + n, mask->GetBufferPointer(),
                   [](float v) { return v != 0.0f ? 1 : 0; });
    return mask;
  });
}

} // namespace dapsmri
