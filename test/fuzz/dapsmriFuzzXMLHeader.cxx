// Fuzz target: any bytes as the XML header of an otherwise valid ISMRMRD file (eight lines of
// eight samples, two coils), which byte mutations of a whole HDF5 file rarely reach.
#include "dapsmriFuzzFile.h"
#include "dapsmriISMRMRDReader.h"

#include "itkMacro.h"

#include <ismrmrd/dataset.h>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  static const dapsmri::fuzz::ScratchFile file(".h5");
  std::remove(file.Path().c_str());
  {
    ISMRMRD::Dataset dataset(file.Path().c_str(), "dataset", true);
    dataset.writeHeader(std::string(reinterpret_cast<const char *>(data), size));
    for (uint16_t line = 0; line < 8; ++line)
    {
      ISMRMRD::Acquisition acquisition(8, 2);
      acquisition.idx().kspace_encode_step_1 = line;
      acquisition.center_sample() = 4;
      acquisition.data(line, 0) = { 1.0f, 0.0f };
      dataset.appendAcquisition(acquisition);
    }
  }
  try
  {
    dapsmri::ISMRMRDReadOptions options;
    options.stallSeconds = 1.0;
    dapsmri::ReadISMRMRD(file.Path(), options);
  }
  catch (const itk::ExceptionObject &)
  {
  }
  return 0;
}
