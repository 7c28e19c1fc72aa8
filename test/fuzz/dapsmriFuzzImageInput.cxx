// Fuzz target: any bytes as a k-space, coil-map or mask image for daps-recon. The first byte
// picks the format (MetaImage, NRRD, NIfTI), the rest is the file. The readers must return an
// image or throw an exception with a message; a crash or a sanitizer report is a bug.
#include "dapsmriAppUtilities.h"
#include "dapsmriFuzzFile.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  static const dapsmri::fuzz::ScratchFile files[] = { dapsmri::fuzz::ScratchFile(".mha"),
                                                      dapsmri::fuzz::ScratchFile(".nrrd"),
                                                      dapsmri::fuzz::ScratchFile(".nii") };
  if (size == 0)
    return 0;
  const auto & file = files[data[0] % 3];
  file.Write(data + 1, size - 1);
  try
  {
    dapsmri::app::ReadMultiCoil(file.Path());
  }
  catch (const std::exception &) // itk::ExceptionObject too
  {
  }
  try
  {
    dapsmri::app::ReadMask(file.Path());
  }
  catch (const std::exception &) // itk::ExceptionObject too
  {
  }
  return 0;
}
