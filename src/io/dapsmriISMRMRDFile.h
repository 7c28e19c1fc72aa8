#ifndef dapsmriISMRMRDFile_h
#define dapsmriISMRMRDFile_h

// Read-only, validating access to an ISMRMRD (HDF5) file, at the level of HDF5 itself.
// libismrmrd opens files for writing (and creates a missing dataset group), and copies each
// acquisition's samples by the sizes its header claims, so a header that disagrees with the
// stored data reads past the end of a buffer. This class opens the file read-only, checks that
// the datasets have ISMRMRD's layout, and checks every acquisition header against the data
// stored for it before anything is copied.
#include <ismrmrd/ismrmrd.h>

#include "dapsmriIsolatedReader.h"

#include <array>
#include <complex>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

namespace dapsmri
{

struct StoredAcquisition
{
  ISMRMRD::ISMRMRD_AcquisitionHeader head{}; ///< packed: read its arrays through the copies below
  std::array<float, 3>               position{}, read{}, phase{}, slice{}; ///< aligned copies
  std::vector<float>               trajectory; ///< [sample][dimension]
  std::vector<std::complex<float>> data;       ///< [coil][sample]

  bool Flag(uint64_t flag) const { return ISMRMRD::ismrmrd_is_flag_set(head.flags, flag); }
};

class ISMRMRDFile
{
public:
  /** Opens `path` read-only; throws std::invalid_argument naming the file and what is wrong
   * (missing, not HDF5, truncated, no such dataset, not ISMRMRD's layout, corrupt enough to
   * crash HDF5 or to make it loop for `stallSeconds` (0: 10 s plus 1 s per 20 MB of file):
   * HDF5 reads the file in a child process, see IsolatedReader). */
  ISMRMRDFile(const std::string & path, const std::string & dataset, double stallSeconds = 0.0);
  ~ISMRMRDFile();
  ISMRMRDFile(const ISMRMRDFile &) = delete;
  ISMRMRDFile & operator=(const ISMRMRDFile &) = delete;

  /** The XML header. */
  const std::string & Header() const { return m_Header; }
  uint64_t            Acquisitions() const { return m_Acquisitions; }

  /** Acquisition `index` (each once, in order), after checking its header against the stored
   * samples (channels, samples, trajectory) and sane limits; throws std::invalid_argument naming
   * the file, the acquisition and the field otherwise. */
  StoredAcquisition Read(uint64_t index);

  /** Most channels per line accepted (ISMRMRD's channel mask holds 1024). */
  static constexpr int MaximumChannels = 1024;

private:
  std::string                     m_Path;
  std::string                     m_Header;
  uint64_t                        m_Acquisitions = 0, m_Next = 0;
  std::unique_ptr<IsolatedReader> m_Reader; // HDF5 runs in its child process
};

} // namespace dapsmri

#endif
