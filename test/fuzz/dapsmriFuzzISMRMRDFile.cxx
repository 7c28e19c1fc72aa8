// Fuzz target: any bytes as an ISMRMRD file, at the level below ITK (dapsmri::ISMRMRDFile: the
// layout checks, the framed transfer from the HDF5 child and the per-acquisition checks). It
// needs neither ITK nor LibTorch, so it also builds with Clang and libFuzzer. Every acquisition
// is read; the file layer must return them or throw std::invalid_argument.
#include "dapsmriFuzzFile.h"
#include "dapsmriISMRMRDFile.h"

#include <stdexcept>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  static const dapsmri::fuzz::ScratchFile file(".h5");
  file.Write(data, size);
  try
  {
    dapsmri::ISMRMRDFile raw(file.Path(), "dataset", 1.0); // HDF5 loops on some inputs: 1 s stall limit
    for (uint64_t index = 0; index < raw.Acquisitions(); ++index)
      raw.Read(index);
  }
  catch (const std::invalid_argument &)
  {
  }
  return 0;
}
