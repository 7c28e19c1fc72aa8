// Fuzz target: any bytes as the metadata (dapsmri.json) inside a prior's TorchScript archive.
// The parser must return checked metadata or throw std::invalid_argument.
#include "dapsmriDenoiser.h"

#include <stdexcept>
#include <string>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  try
  {
    dapsmri::ParsePriorMetadata(std::string(reinterpret_cast<const char *>(data), size), "fuzz.pt");
  }
  catch (const std::invalid_argument &)
  {
  }
  return 0;
}
