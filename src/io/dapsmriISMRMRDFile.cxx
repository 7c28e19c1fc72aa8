#include "dapsmriISMRMRDFile.h"

#include <hdf5.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <type_traits>

#include <sys/resource.h>
#include <unistd.h>

namespace dapsmri
{

static_assert(std::is_same<hid_t, int64_t>::value, "HDF5 handles are kept as int64_t");

namespace
{
using ISMRMRD::ISMRMRD_AcquisitionHeader;
using ISMRMRD::ISMRMRD_EncodingCounters;

[[noreturn]] void
Fail(const std::string & message)
{
  throw std::invalid_argument(message);
}

/** Closes an HDF5 handle when it goes out of scope. */
class Handle
{
public:
  Handle(hid_t id, herr_t (*close)(hid_t))
    : m_Id(id)
    , m_Close(close)
  {}
  ~Handle()
  {
    if (m_Id >= 0)
      m_Close(m_Id);
  }
  Handle(const Handle &) = delete;
  Handle & operator=(const Handle &) = delete;
  operator hid_t() const { return m_Id; }
  bool Valid() const { return m_Id >= 0; }

private:
  hid_t m_Id;
  herr_t (*m_Close)(hid_t);
};

/** One row of ISMRMRD's acquisition table as it is read into memory. */
struct StoredRow
{
  ISMRMRD_AcquisitionHeader head;
  hvl_t                     traj;
  hvl_t                     data;
};

/** Members of a compound type: name, offset, HDF5 type. */
struct Member
{
  const char * name;
  size_t       offset;
  hid_t        type;
};

void
InsertAll(hid_t compound, std::initializer_list<Member> members)
{
  for (const Member & member : members)
    H5Tinsert(compound, member.name, member.offset, member.type);
}

/** The memory type of ISMRMRD_AcquisitionHeader; HDF5 matches members to the file's by name. */
hid_t
AcquisitionHeaderType()
{
  using H = ISMRMRD_AcquisitionHeader;
  using E = ISMRMRD_EncodingCounters;
  std::deque<Handle> madeHere; // array, vlen and nested types, closed on return (HDF5 copies them)
  const auto         made = [&madeHere](hid_t type) -> hid_t { return madeHere.emplace_back(type, H5Tclose); };
  const auto         array = [&made](hid_t base, hsize_t length) { return made(H5Tarray_create2(base, 1, &length)); };
  const hid_t        u16 = H5T_NATIVE_UINT16, u32 = H5T_NATIVE_UINT32, f32 = H5T_NATIVE_FLOAT;

  const hid_t counters = made(H5Tcreate(H5T_COMPOUND, sizeof(E)));
  InsertAll(counters, { { "kspace_encode_step_1", HOFFSET(E, kspace_encode_step_1), u16 },
                        { "kspace_encode_step_2", HOFFSET(E, kspace_encode_step_2), u16 },
                        { "average", HOFFSET(E, average), u16 },
                        { "slice", HOFFSET(E, slice), u16 },
                        { "contrast", HOFFSET(E, contrast), u16 },
                        { "phase", HOFFSET(E, phase), u16 },
                        { "repetition", HOFFSET(E, repetition), u16 },
                        { "set", HOFFSET(E, set), u16 },
                        { "segment", HOFFSET(E, segment), u16 },
                        { "user", HOFFSET(E, user), array(u16, ISMRMRD::ISMRMRD_USER_INTS) } });

  const hid_t head = made(H5Tcreate(H5T_COMPOUND, sizeof(H)));
  InsertAll(head, { { "version", HOFFSET(H, version), u16 },
                    { "flags", HOFFSET(H, flags), H5T_NATIVE_UINT64 },
                    { "measurement_uid", HOFFSET(H, measurement_uid), u32 },
                    { "scan_counter", HOFFSET(H, scan_counter), u32 },
                    { "acquisition_time_stamp", HOFFSET(H, acquisition_time_stamp), u32 },
                    { "physiology_time_stamp", HOFFSET(H, physiology_time_stamp), array(u32, ISMRMRD::ISMRMRD_PHYS_STAMPS) },
                    { "number_of_samples", HOFFSET(H, number_of_samples), u16 },
                    { "available_channels", HOFFSET(H, available_channels), u16 },
                    { "active_channels", HOFFSET(H, active_channels), u16 },
                    { "channel_mask", HOFFSET(H, channel_mask), array(H5T_NATIVE_UINT64, ISMRMRD::ISMRMRD_CHANNEL_MASKS) },
                    { "discard_pre", HOFFSET(H, discard_pre), u16 },
                    { "discard_post", HOFFSET(H, discard_post), u16 },
                    { "center_sample", HOFFSET(H, center_sample), u16 },
                    { "encoding_space_ref", HOFFSET(H, encoding_space_ref), u16 },
                    { "trajectory_dimensions", HOFFSET(H, trajectory_dimensions), u16 },
                    { "sample_time_us", HOFFSET(H, sample_time_us), f32 },
                    { "position", HOFFSET(H, position), array(f32, 3) },
                    { "read_dir", HOFFSET(H, read_dir), array(f32, 3) },
                    { "phase_dir", HOFFSET(H, phase_dir), array(f32, 3) },
                    { "slice_dir", HOFFSET(H, slice_dir), array(f32, 3) },
                    { "patient_table_position", HOFFSET(H, patient_table_position), array(f32, 3) },
                    { "idx", HOFFSET(H, idx), counters },
                    { "user_int", HOFFSET(H, user_int), array(H5T_NATIVE_INT32, ISMRMRD::ISMRMRD_USER_INTS) },
                    { "user_float", HOFFSET(H, user_float), array(f32, ISMRMRD::ISMRMRD_USER_FLOATS) } });

  const hid_t row = H5Tcreate(H5T_COMPOUND, sizeof(StoredRow));
  InsertAll(row, { { "head", HOFFSET(StoredRow, head), head },
                   { "traj", HOFFSET(StoredRow, traj), made(H5Tvlen_create(f32)) },
                   { "data", HOFFSET(StoredRow, data), made(H5Tvlen_create(f32)) } });
  return row;
}

/** Whether the compound `type` has a member `name` of class `memberClass`. */
bool
HasMember(hid_t type, const char * name, H5T_class_t memberClass)
{
  const int index = H5Tget_member_index(type, name);
  return index >= 0 && H5Tget_member_class(type, static_cast<unsigned>(index)) == memberClass;
}

/** Whether a type read from the file describes itself consistently: every compound member
 * inside its compound, arrays as large as their elements, plain numbers of 1-8 bytes. HDF5
 * trusts these fields when it converts data, so a corrupt member offset reads out of bounds. */
bool
ConsistentLayout(hid_t type, int depth = 0)
{
  const size_t size = H5Tget_size(type);
  if (size == 0 || depth > 8)
    return false;
  switch (H5Tget_class(type))
  {
    case H5T_INTEGER:
    case H5T_FLOAT:
      return size == 1 || size == 2 || size == 4 || size == 8;
    case H5T_COMPOUND:
    {
      const int members = H5Tget_nmembers(type);
      if (members < 1)
        return false;
      for (int i = 0; i < members; ++i)
      {
        const Handle member(H5Tget_member_type(type, static_cast<unsigned>(i)), H5Tclose);
        const size_t offset = H5Tget_member_offset(type, static_cast<unsigned>(i));
        if (!member.Valid() || offset >= size || H5Tget_size(member) > size - offset ||
            !ConsistentLayout(member, depth + 1))
          return false;
      }
      return true;
    }
    case H5T_ARRAY:
    {
      const Handle base(H5Tget_super(type), H5Tclose);
      const int    rank = H5Tget_array_ndims(type);
      hsize_t      dims[H5S_MAX_RANK];
      if (!base.Valid() || rank < 1 || rank > H5S_MAX_RANK || H5Tget_array_dims2(type, dims) < 0)
        return false;
      size_t elements = 1;
      for (int d = 0; d < rank; ++d)
        elements *= dims[d];
      return elements * H5Tget_size(base) == size && ConsistentLayout(base, depth + 1);
    }
    case H5T_VLEN:
    {
      const Handle base(H5Tget_super(type), H5Tclose);
      return base.Valid() && ConsistentLayout(base, depth + 1);
    }
    default:
      return true; // strings and the like: ISMRMRD's acquisitions hold none, and none is read
  }
}

/** Whether the vlen member `name` holds 4-byte floats, as ISMRMRD's traj and data do. */
bool
HoldsFloats(hid_t type, const char * name)
{
  const Handle member(H5Tget_member_type(type, static_cast<unsigned>(H5Tget_member_index(type, name))), H5Tclose);
  const Handle base(member.Valid() ? H5Tget_super(member) : -1, H5Tclose);
  return base.Valid() && H5Tget_class(base) == H5T_FLOAT && H5Tget_size(base) == 4;
}

/** Whether the file's acquisition table has ISMRMRD's layout: head (with the fields a Cartesian
 * reconstruction needs), traj and data (variable-length). */
bool
IsAcquisitionTable(hid_t type)
{
  if (H5Tget_class(type) != H5T_COMPOUND || !ConsistentLayout(type) || !HasMember(type, "head", H5T_COMPOUND) ||
      !HasMember(type, "traj", H5T_VLEN) || !HasMember(type, "data", H5T_VLEN) || !HoldsFloats(type, "traj") ||
      !HoldsFloats(type, "data"))
    return false;
  const Handle head(H5Tget_member_type(type, static_cast<unsigned>(H5Tget_member_index(type, "head"))), H5Tclose);
  for (const char * field : { "flags", "number_of_samples", "active_channels", "center_sample", "trajectory_dimensions",
                              "sample_time_us" })
    if (H5Tget_member_index(head, field) < 0)
      return false;
  return HasMember(head, "idx", H5T_COMPOUND) && HasMember(head, "position", H5T_ARRAY) &&
         HasMember(head, "read_dir", H5T_ARRAY) && HasMember(head, "phase_dir", H5T_ARRAY) &&
         HasMember(head, "slice_dir", H5T_ARRAY);
}

bool
LinkExists(hid_t file, const std::string & name)
{
  return H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0;
}

/** The names at the top of the file, for a message that helps choose --dataset. */
std::string
TopLevelNames(hid_t file)
{
  std::string names;
  H5Literate(
    file, H5_INDEX_NAME, H5_ITER_INC, nullptr,
    [](hid_t, const char * name, const H5L_info_t *, void * out) -> herr_t {
      auto & list = *static_cast<std::string *>(out);
      list += (list.empty() ? "" : ", ") + std::string(name);
      return 0;
    },
    &names);
  return names.empty() ? "nothing" : names;
}

std::string
ReadString(hid_t file, const std::string & name, const std::string & path)
{
  const Handle dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  const Handle type(dataset.Valid() ? H5Dget_type(dataset) : -1, H5Tclose);
  const Handle space(dataset.Valid() ? H5Dget_space(dataset) : -1, H5Sclose);
  if (!type.Valid() || !space.Valid() || H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1)
    Fail(path + ": " + name + " is not a text (one string), as ISMRMRD's XML header is");
  if (H5Tis_variable_str(type) > 0)
  {
    const Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory, H5T_VARIABLE);
    char * text = nullptr;
    if (H5Dread(dataset, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0 || text == nullptr)
      Fail(path + ": the XML header cannot be read (the file is truncated or corrupt)");
    std::string result(text);
    H5Dvlen_reclaim(memory, space, H5P_DEFAULT, &text);
    return result;
  }
  const size_t size = H5Tget_size(type);
  const Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memory, size);
  std::string result(size, '\0');
  if (H5Dread(dataset, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, result.data()) < 0)
    Fail(path + ": the XML header cannot be read (the file is truncated or corrupt)");
  return result.substr(0, result.find('\0'));
}

bool
Finite(const float * v, size_t n)
{
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i]))
      return false;
  return true;
}
/** Caps the child's address space: a corrupt length in the file can make HDF5 allocate and
 * fill gigabytes; one valid acquisition needs at most 512 MiB (1024 channels x 65535 samples). */
void
LimitMemory(const std::string & path)
{
  std::ifstream statm("/proc/self/statm");
  uint64_t      pages = 0;
  if (!(statm >> pages))
    return;
  std::error_code error;
  const uint64_t  inUse = pages * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  const uint64_t  budget = (uint64_t{ 2 } << 30) + 2 * std::filesystem::file_size(path, error);
  const rlimit    limit{ inUse + budget, inUse + budget };
  setrlimit(RLIMIT_AS, &limit);
}

/** HDF5 copies an acquisition by the sizes its storage description claims, past its buffers when
 * they disagree with the file (found by libFuzzer): the storage must fit in the file, and a
 * compact or contiguous table must hold all its rows. */
void
CheckStorage(hid_t data, hid_t type, hsize_t rows, const std::string & path, const std::string & dataset)
{
  std::error_code error;
  const uint64_t  fileBytes = std::filesystem::file_size(path, error);
  const hsize_t   stored = H5Dget_storage_size(data);
  const size_t    rowBytes = H5Tget_size(type);
  const Handle    creation(H5Dget_create_plist(data), H5Pclose);
  const auto      layout = creation.Valid() ? H5Pget_layout(creation) : H5D_LAYOUT_ERROR;
  const bool      packed = layout == H5D_COMPACT || layout == H5D_CONTIGUOUS; // chunked: only what was written
  if (error || layout == H5D_LAYOUT_ERROR || rowBytes == 0 || stored > fileBytes ||
      (packed && stored / rowBytes < rows))
    Fail(path + ": " + dataset + "/data describes storage that the file does not hold (the file is truncated or corrupt)");
}

/** The child's work: opens the file with HDF5 and sends the header, then each acquisition as
 * stored. Only layout checks happen here; the parent checks the rest. */
void
ServeFile(const std::string & path, const std::string & dataset, const IsolatedReader::Sender & out)
{
  LimitMemory(path);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); // failures are reported here, not printed by HDF5
  if (H5Fis_hdf5(path.c_str()) <= 0)
    Fail(path + " is not an ISMRMRD (HDF5) file, or it is truncated");
  const Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.Valid())
    Fail(path + " cannot be opened as HDF5 (the file is truncated or corrupt, or not readable)");
  if (dataset.empty() || !LinkExists(file, dataset) || !LinkExists(file, dataset + "/xml"))
    Fail(path + " has no ISMRMRD dataset \"" + dataset + "\" with an XML header (its top level holds " +
         TopLevelNames(file) + "; choose one with --dataset)");
  const std::string header = ReadString(file, dataset + "/xml", path);
  const uint64_t    headerBytes = header.size();
  out.Send(&headerBytes, sizeof headerBytes);
  out.Send(header.data(), headerBytes);
  if (!LinkExists(file, dataset + "/data"))
  {
    const uint64_t none = 0; // a header without acquisitions; the reader says so
    out.Send(&none, sizeof none);
    return;
  }
  const Handle data(H5Dopen2(file, (dataset + "/data").c_str(), H5P_DEFAULT), H5Dclose);
  const Handle type(data.Valid() ? H5Dget_type(data) : -1, H5Tclose);
  const Handle space(data.Valid() ? H5Dget_space(data) : -1, H5Sclose);
  if (!type.Valid() || !space.Valid())
    Fail(path + ": " + dataset + "/data cannot be opened (the file is truncated or corrupt)");
  if (!IsAcquisitionTable(type) || H5Sget_simple_extent_ndims(space) != 1)
    Fail(path + ": " + dataset + "/data is not a table of ISMRMRD acquisitions (head, traj, data)");
  hsize_t rows = 0;
  H5Sget_simple_extent_dims(space, &rows, nullptr);
  CheckStorage(data, type, rows, path, dataset);
  const uint64_t count = rows;
  out.Send(&count, sizeof count);
  const Handle  memoryType(AcquisitionHeaderType(), H5Tclose);
  const hsize_t one = 1;
  const Handle  memorySpace(H5Screate_simple(1, &one, nullptr), H5Sclose);
  for (hsize_t index = 0; index < rows; ++index)
  {
    StoredRow row{};
    if (H5Sselect_hyperslab(space, H5S_SELECT_SET, &index, nullptr, &one, nullptr) < 0 ||
        H5Dread(data, memoryType, memorySpace, space, H5P_DEFAULT, &row) < 0)
      Fail(path + ": acquisition " + std::to_string(index) + " of " + std::to_string(rows) +
           " cannot be read (the file is truncated or corrupt)");
    const uint64_t trajectoryBytes = row.traj.len * sizeof(float), dataBytes = row.data.len * sizeof(float);
    out.Send(&row.head, sizeof row.head);
    out.Send(&trajectoryBytes, sizeof trajectoryBytes);
    out.Send(row.traj.p, trajectoryBytes);
    out.Send(&dataBytes, sizeof dataBytes);
    out.Send(row.data.p, dataBytes);
    H5Dvlen_reclaim(memoryType, memorySpace, H5P_DEFAULT, &row); // (the child ends soon if Send threw)
  }
}
} // namespace

ISMRMRDFile::ISMRMRDFile(const std::string & path, const std::string & dataset, double stallSeconds)
  : m_Path(path)
{
  // HDF5 1.10 trusts lengths stored in a file's heaps and type descriptions, and copies past its
  // buffers or loops forever on some corrupt files (found by fuzzing): HDF5 runs in a child
  // process (IsolatedReader), and this process checks each acquisition before using it.
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::exists(path, error))
    Fail("cannot read " + path + ": no such file");
  if (!fs::is_regular_file(path, error))
    Fail("cannot read " + path + ": it is not a regular file");
  m_Reader = std::make_unique<IsolatedReader>(
    path, stallSeconds, [&](const IsolatedReader::Sender & out) { ServeFile(path, dataset, out); });
  m_Reader->SetPlace("its header");
  uint64_t headerBytes = 0;
  m_Reader->Receive(&headerBytes, sizeof headerBytes);
  if (headerBytes > (1u << 26))
    Fail(path + ": the XML header is " + std::to_string(headerBytes) + " bytes long; the file is corrupt");
  m_Header.resize(headerBytes);
  m_Reader->Receive(m_Header.data(), headerBytes);
  m_Reader->Receive(&m_Acquisitions, sizeof m_Acquisitions);
}

ISMRMRDFile::~ISMRMRDFile() = default;

StoredAcquisition
ISMRMRDFile::Read(uint64_t index)
{
  const std::string which =
    m_Path + ": acquisition " + std::to_string(index) + " of " + std::to_string(m_Acquisitions);
  if (index >= m_Acquisitions)
    Fail(which + " does not exist");
  if (index != m_Next)
    Fail(which + ": acquisitions are read once, in order");
  m_Reader->SetPlace("acquisition " + std::to_string(index));
  StoredAcquisition result;
  m_Reader->Receive(&result.head, sizeof result.head);
  const auto & h = result.head;
  // The header is packed (2-byte alignment): its float arrays are copied out, not pointed to.
  std::memcpy(result.position.data(), h.position, sizeof result.position);
  std::memcpy(result.read.data(), h.read_dir, sizeof result.read);
  std::memcpy(result.phase.data(), h.phase_dir, sizeof result.phase);
  std::memcpy(result.slice.data(), h.slice_dir, sizeof result.slice);
  const size_t channels = h.active_channels, samples = h.number_of_samples;
  uint64_t     trajectoryBytes = 0, dataBytes = 0;
  std::string  problem;
  m_Reader->Receive(&trajectoryBytes, sizeof trajectoryBytes);
  if (channels == 0 || channels > MaximumChannels)
    problem = "active_channels is " + std::to_string(channels) + "; expected 1 to " + std::to_string(MaximumChannels);
  else if (samples == 0)
    problem = "number_of_samples is 0";
  else if (trajectoryBytes != static_cast<uint64_t>(h.trajectory_dimensions) * samples * sizeof(float))
    problem = "the header says trajectory_dimensions " + std::to_string(h.trajectory_dimensions) + " x " +
              std::to_string(samples) + " samples, but the file stores " + std::to_string(trajectoryBytes / sizeof(float)) +
              " trajectory values for it";
  if (problem.empty())
  {
    result.trajectory.resize(trajectoryBytes / sizeof(float));
    m_Reader->Receive(result.trajectory.data(), trajectoryBytes);
    m_Reader->Receive(&dataBytes, sizeof dataBytes);
    if (dataBytes != 2 * channels * samples * sizeof(float))
      problem = "the header says " + std::to_string(channels) + " channels x " + std::to_string(samples) +
                " samples (number_of_samples, active_channels), but the file stores " +
                std::to_string(dataBytes / (2 * sizeof(float))) + " complex samples for it";
  }
  if (problem.empty())
  {
    result.data.resize(channels * samples);
    m_Reader->Receive(result.data.data(), dataBytes);
    ++m_Next;
    const auto * values = reinterpret_cast<const float *>(result.data.data());
    if (!Finite(result.position.data(), 3) || !Finite(result.read.data(), 3) || !Finite(result.phase.data(), 3) ||
        !Finite(result.slice.data(), 3))
      problem = "its position or directions are not finite numbers";
    else if (!std::isfinite(h.sample_time_us) || h.sample_time_us < 0)
      problem = "sample_time_us is " + std::to_string(h.sample_time_us) + "; expected a finite dwell time >= 0";
    else if (!Finite(values, 2 * result.data.size()) || !Finite(result.trajectory.data(), result.trajectory.size()))
      problem = "its samples or trajectory include NaN or Inf values";
  }
  if (!problem.empty())
  {
    m_Reader->Close(); // the rest is not read
    Fail(which + ": " + problem + " (the file is corrupt or was written by a faulty converter)");
  }
  return result;
}

} // namespace dapsmri
