// Writes small broken or unsupported ISMRMRD files for the command-line tests:
//   dapsmriBrokenISMRMRD KIND PATH   with KIND = empty | disagreeing | radial
#include <ismrmrd/dataset.h>
#include <ismrmrd/xml.h>

#include <iostream>
#include <sstream>
#include <string>

int
main(int argc, char * argv[])
{
  if (argc != 3)
  {
    std::cerr << "usage: dapsmriBrokenISMRMRD empty|disagreeing|radial PATH\n";
    return 2;
  }
  const std::string      kind = argv[1];
  ISMRMRD::Dataset       d(argv[2], "dataset", true);
  ISMRMRD::IsmrmrdHeader h;
  ISMRMRD::Encoding      e;
  e.encodedSpace.matrixSize = ISMRMRD::MatrixSize(8, 8, 1);
  e.encodedSpace.fieldOfView_mm = { 200.0f, 200.0f, 5.0f };
  e.reconSpace = e.encodedSpace;
  e.trajectory = kind == "radial" ? ISMRMRD::TrajectoryType::RADIAL : ISMRMRD::TrajectoryType::CARTESIAN;
  e.encodingLimits.kspace_encoding_step_1 = ISMRMRD::Limit(0, 7, 4);
  h.encoding.push_back(e);
  ISMRMRD::AcquisitionSystemInformation system;
  system.receiverChannels = kind == "disagreeing" ? 4 : 2; // the data below have 2 channels
  h.acquisitionSystemInformation = system;
  std::ostringstream xml;
  ISMRMRD::serialize(h, xml);
  d.writeHeader(xml.str());
  for (uint16_t line = 0; kind != "empty" && line < 8; ++line)
  {
    ISMRMRD::Acquisition a(8, 2);
    a.idx().kspace_encode_step_1 = line;
    a.center_sample() = 4;
    d.appendAcquisition(a);
  }
  return 0;
}
