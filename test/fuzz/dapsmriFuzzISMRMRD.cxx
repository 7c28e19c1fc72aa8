// Fuzz target: any bytes as an ISMRMRD file. The reader must return data or throw
// itk::ExceptionObject; anything else (a crash, a sanitizer report, another exception) is a bug.
#include "dapsmriFuzzFile.h"
#include "dapsmriISMRMRDReader.h"

#include "itkMacro.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  static const dapsmri::fuzz::ScratchFile file(".h5");
  file.Write(data, size);
  try
  {
    dapsmri::ISMRMRDReadOptions options;
    options.stallSeconds = 1.0; // HDF5 loops forever on some inputs: give up on them quickly
    dapsmri::ReadISMRMRD(file.Path(), options);
  }
  catch (const itk::ExceptionObject &)
  {
  }
  return 0;
}
