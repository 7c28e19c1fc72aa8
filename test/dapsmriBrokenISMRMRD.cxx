// Writes small broken or unsupported ISMRMRD files for the command-line tests:
//   dapsmriBrokenISMRMRD KIND PATH
// with KIND = empty | disagreeing | radial | nan-fov | same-position (two slices at one place)
#include <ismrmrd/dataset.h>
#include <ismrmrd/xml.h>

#include <iostream>
#include <limits>
#include <sstream>
#include <string>

int
main(int argc, char * argv[])
{
  if (argc != 3)
  {
    std::cerr << "usage: dapsmriBrokenISMRMRD empty|disagreeing|radial|nan-fov|same-position PATH\n";
    return 2;
  }
  const std::string      kind = argv[1];
  ISMRMRD::Dataset       d(argv[2], "dataset", true);
  ISMRMRD::IsmrmrdHeader h;
  ISMRMRD::Encoding      e;
  e.encodedSpace.matrixSize = ISMRMRD::MatrixSize(8, 8, 1);
  e.encodedSpace.fieldOfView_mm = { 200.0f, 200.0f, 5.0f };
  e.reconSpace = e.encodedSpace;
  if (kind == "nan-fov")
    e.encodedSpace.fieldOfView_mm.y = std::numeric_limits<float>::quiet_NaN();
  e.trajectory = kind == "radial" ? ISMRMRD::TrajectoryType::RADIAL : ISMRMRD::TrajectoryType::CARTESIAN;
  e.encodingLimits.kspace_encoding_step_1 = ISMRMRD::Limit(0, 7, 4);
  h.encoding.push_back(e);
  ISMRMRD::AcquisitionSystemInformation system;
  system.receiverChannels = kind == "disagreeing" ? 4 : 2; // the data below have 2 channels
  h.acquisitionSystemInformation = system;
  std::ostringstream xml;
  ISMRMRD::serialize(h, xml);
  d.writeHeader(xml.str());
  for (uint16_t slice = 0; slice < (kind == "same-position" ? 2 : 1); ++slice)
    for (uint16_t line = 0; kind != "empty" && line < 8; ++line)
    {
      ISMRMRD::Acquisition a(8, 2);
      a.idx().kspace_encode_step_1 = line;
      a.idx().slice = slice;
      a.center_sample() = 4;
      a.data(line % 8, 0) = { 1.0f, 0.0f }; // not all zero
      d.appendAcquisition(a);
    }
  return 0;
}
