#include "dapsmriISMRMRDReader.h"

#include "dapsmriErrors.h"
#include "dapsmriISMRMRDFile.h"
#include "dapsmriOutputFile.h"

#include <ismrmrd/dataset.h>
#include <ismrmrd/xml.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>

#include <unistd.h>

namespace dapsmri
{

std::array<double, 3>
RawSlice::Origin() const
{
  std::array<double, 3> origin = position;
  for (int i = 0; i < 3; ++i)
  {
    origin[i] -= static_cast<double>(width / 2) * spacing[0] * readDirection[i] +
                 static_cast<double>(height / 2) * spacing[1] * phaseDirection[i];
  }
  return origin;
}

namespace
{
[[noreturn]] void
Fail(const std::string & message)
{
  throw std::invalid_argument(message);
}

/** Largest in-plane matrix accepted (readout oversampling included). */
constexpr uint32_t MaximumMatrixSize = 4096;

bool
IsZero(const std::array<float, 3> & v)
{
  return v[0] == 0.0f && v[1] == 0.0f && v[2] == 0.0f;
}

std::array<double, 3>
Vector(const std::array<float, 3> & v)
{
  return { v[0], v[1], v[2] };
}

/** Sums of readout lines before averaging, with the readout range every one of them measured. */
struct Lines
{
  torch::Tensor        sum;    // [H, C, Nx] complex, encoded readout length
  std::vector<int>     count;  // per line
  std::vector<int64_t> lo, hi; // measured samples [lo, hi) on the encoded readout, intersected

  void Add(int64_t y, const torch::Tensor & line, int64_t offset)
  {
    sum[y].narrow(1, offset, line.size(1)).add_(line);
    auto & c = count[static_cast<size_t>(y)];
    lo[static_cast<size_t>(y)] = c == 0 ? offset : std::max(lo[static_cast<size_t>(y)], offset);
    hi[static_cast<size_t>(y)] = c == 0 ? offset + line.size(1) : std::min(hi[static_cast<size_t>(y)], offset + line.size(1));
    ++c;
  }
};

Lines
EmptyLines(int64_t H, int64_t C, int64_t Nx)
{
  return { torch::zeros({ H, C, Nx }, torch::kComplexFloat), std::vector<int>(static_cast<size_t>(H), 0),
           std::vector<int64_t>(static_cast<size_t>(H), 0), std::vector<int64_t>(static_cast<size_t>(H), 0) };
}

/** One (slice, repetition): imaging lines, and calibration lines of a separate calibration scan
 * (kept apart: they may have another contrast; they serve the coil maps only). */
struct Accumulator
{
  Lines                 imaging, separateCalibration;
  std::vector<bool>     calibration; // per line: flagged for calibration
  std::array<double, 3> position{}, read{ { 1, 0, 0 } }, phase{ { 0, 1, 0 } }, slice{ { 0, 0, 1 } };
  int                   sliceIndex = 0, repetition = -1;
};

/** Refuses encoding headers no scanner writes: matrices beyond MaximumMatrixSize, fields of view
 * that are not finite and positive. */
void
CheckEncoding(const ISMRMRD::Encoding & encoding, const std::string & path)
{
  for (const auto & [name, space] : { std::pair<const char *, const ISMRMRD::EncodingSpace *>{ "encodedSpace", &encoding.encodedSpace },
                                      { "reconSpace", &encoding.reconSpace } })
  {
    const auto & m = space->matrixSize;
    if (m.x < 1 || m.y < 1 || m.x > MaximumMatrixSize || m.y > MaximumMatrixSize)
      Fail(path + ": the header's " + name + " matrix is " + std::to_string(m.x) + " x " + std::to_string(m.y) +
           "; each in-plane size must be 1 to " + std::to_string(MaximumMatrixSize));
    const auto & f = space->fieldOfView_mm;
    for (const auto & [axis, value] : { std::pair<const char *, float>{ "x", f.x }, { "y", f.y }, { "z", f.z } })
      if (!std::isfinite(value) || value <= 0.0f)
        Fail(path + ": the header's " + name + " field of view along " + axis + " is " + std::to_string(value) +
             " mm; it must be a finite positive length");
  }
}

/** Unit read, phase and slice directions at right angles, or all three zero (none given). */
void
CheckDirections(const StoredAcquisition & acquisition, const std::string & where)
{
  if (IsZero(acquisition.read) && IsZero(acquisition.phase) && IsZero(acquisition.slice))
    return;
  const auto dot = [](const std::array<float, 3> & a, const std::array<float, 3> & b) {
    return static_cast<double>(a[0]) * b[0] + static_cast<double>(a[1]) * b[1] + static_cast<double>(a[2]) * b[2];
  };
  const std::array<float, 3> d[3] = { acquisition.read, acquisition.phase, acquisition.slice };
  for (int i = 0; i < 3; ++i)
    for (int j = i; j < 3; ++j)
      if (std::abs(dot(d[i], d[j]) - (i == j ? 1.0 : 0.0)) > 1e-3)
        Fail(where + ": read_dir, phase_dir and slice_dir must be unit vectors at right angles (an orthonormal "
                     "orientation); they are not");
}

/** The physical memory of this machine in bytes (0 when unknown). */
double
PhysicalMemory()
{
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && pageSize > 0 ? static_cast<double>(pages) * static_cast<double>(pageSize) : 0.0;
}
} // namespace

RawData
ReadISMRMRD(const std::string & path, const ISMRMRDReadOptions & options)
{
  return TranslateErrors("dapsmri::ReadISMRMRD", [&] {
    ISMRMRDFile       file(path, options.dataset, options.stallSeconds);
    const std::string xml = file.Header();
    ISMRMRD::IsmrmrdHeader header;
    try
    {
      ISMRMRD::deserialize(xml.c_str(), header);
    }
    catch (const std::exception & e)
    {
      Fail(path + ": the XML header is malformed (" + FirstLine(e.what()) + ")");
    }
    if (header.encoding.size() != 1)
      Fail(path + ": " + std::to_string(header.encoding.size()) +
           " encoding spaces; only files with exactly one are supported");
    const auto & encoding = header.encoding[0];
    if (encoding.trajectory != ISMRMRD::TrajectoryType::CARTESIAN)
      Fail(path + ": the trajectory is not Cartesian; only Cartesian sampling is supported");
    if (encoding.encodedSpace.matrixSize.z > 1)
      Fail(path + ": 3-D encoding (" + std::to_string(encoding.encodedSpace.matrixSize.z) +
           " partitions) is not supported; only 2-D multi-slice");
    CheckEncoding(encoding, path);

    const uint64_t acquisitions = file.Acquisitions();
    if (acquisitions == 0)
      Fail(path + ": the file holds no acquisitions");

    const int64_t encodedX = encoding.encodedSpace.matrixSize.x, reconX = encoding.reconSpace.matrixSize.x;
    const int64_t encodedY = encoding.encodedSpace.matrixSize.y;
    const int64_t H = std::max<int64_t>(encodedY, encoding.reconSpace.matrixSize.y);
    const int64_t W = std::min(encodedX, reconX);
    const int64_t centerY = encoding.encodingLimits.kspace_encoding_step_1
                              ? static_cast<int64_t>(encoding.encodingLimits.kspace_encoding_step_1->center)
                              : encodedY / 2;
    const std::string calibrationMode =
      encoding.parallelImaging && encoding.parallelImaging->calibrationMode ? *encoding.parallelImaging->calibrationMode
                                                                            : std::string();
    // Calibration lines measured with the image (embedded / interleaved) are data too; a separate
    // calibration scan is not.
    const bool calibrationIsData = calibrationMode != "separate" && calibrationMode != "external";

    RawData data;
    data.header = xml;
    std::map<std::pair<int, int>, Accumulator> groups;
    std::vector<torch::Tensor>                 noise;
    const double                               memory = PhysicalMemory();
    for (uint64_t i = 0; i < acquisitions; ++i)
    {
      const StoredAcquisition acq = file.Read(i);
      const auto &            head = acq.head;
      const std::string       where = path + ": acquisition " + std::to_string(i);
      const int64_t           C = head.active_channels, N = head.number_of_samples;
      if (data.coils == 0)
        data.coils = C;
      if (C != data.coils)
        Fail(where + " has " + std::to_string(C) + " channels, earlier ones " + std::to_string(data.coils));
      if (header.acquisitionSystemInformation && header.acquisitionSystemInformation->receiverChannels &&
          *header.acquisitionSystemInformation->receiverChannels != C)
        Fail(path + ": the header disagrees with the data: " +
             std::to_string(*header.acquisitionSystemInformation->receiverChannels) + " receiver channels, acquisition " +
             std::to_string(i) + " has " + std::to_string(C));
      auto line = torch::from_blob(const_cast<std::complex<float> *>(acq.data.data()), { C, N }, torch::kComplexFloat);
      if (acq.Flag(ISMRMRD::ISMRMRD_ACQ_IS_NOISE_MEASUREMENT))
      {
        noise.push_back(line.t().clone()); // [N, C]
        data.noiseDwellTime = head.sample_time_us;
        continue;
      }
      if (acq.Flag(ISMRMRD::ISMRMRD_ACQ_IS_NAVIGATION_DATA) || acq.Flag(ISMRMRD::ISMRMRD_ACQ_IS_PHASECORR_DATA) ||
          acq.Flag(ISMRMRD::ISMRMRD_ACQ_IS_DUMMYSCAN_DATA))
        continue;
      if (head.idx.contrast != 0 || head.idx.phase != 0 || head.idx.set != 0)
        Fail(where + " belongs to another contrast, cardiac phase or set; multi-contrast / cine data is not supported");
      if (head.idx.kspace_encode_step_2 != 0 && encoding.encodedSpace.matrixSize.z <= 1)
        Fail(where + " has a second encoding step; 3-D data is not supported");
      CheckDirections(acq, where);
      const int64_t y = static_cast<int64_t>(head.idx.kspace_encode_step_1) - centerY + H / 2;
      if (y < 0 || y >= H)
        Fail(path + ": the header disagrees with the data: acquisition " + std::to_string(i) + " has phase-encode step " +
             std::to_string(head.idx.kspace_encode_step_1) + ", outside the encoded matrix of " + std::to_string(H));
      if (N > encodedX || head.center_sample >= encodedX || head.center_sample > N)
        Fail(path + ": the header disagrees with the data: acquisition " + std::to_string(i) + " has " +
             std::to_string(N) + " samples (centre " + std::to_string(head.center_sample) +
             ") for an encoded readout of " + std::to_string(encodedX));
      data.dataDwellTime = head.sample_time_us;

      const int repetition = options.keepRepetitions ? head.idx.repetition : -1;
      const std::pair<int, int> key{ head.idx.slice, repetition };
      if (groups.count(key) == 0)
      {
        // Each slice holds line sums of imaging and calibration data and the result.
        const double needed = static_cast<double>(groups.size() + 1) * 3.0 * static_cast<double>(H * C * encodedX) * 8.0;
        if (memory > 0.0 && needed > 0.8 * memory)
          Fail(path + ": reading " + std::to_string(groups.size() + 1) + " slices of " + std::to_string(encodedX) +
               " x " + std::to_string(H) + " samples x " + std::to_string(C) + " coils needs about " +
               std::to_string(static_cast<int64_t>(needed / 1073741824.0 + 1.0)) + " GiB; this machine has " +
               std::to_string(static_cast<int64_t>(memory / 1073741824.0)) + " GiB (check the header's matrix size and slice counters)");
      }
      auto & g = groups[key];
      if (!g.imaging.sum.defined())
      {
        g.imaging = EmptyLines(H, C, encodedX);
        g.separateCalibration = EmptyLines(H, C, encodedX);
        g.calibration.assign(static_cast<size_t>(H), false);
        g.sliceIndex = head.idx.slice;
        g.repetition = repetition;
        g.position = Vector(acq.position);
        if (!IsZero(acq.read))
        {
          g.read = Vector(acq.read);
          g.phase = Vector(acq.phase);
          g.slice = Vector(acq.slice);
        }
      }
      // Asymmetric echo: the centre sample goes to the middle of the encoded readout.
      const int64_t offset = encodedX / 2 - head.center_sample;
      if (offset < 0 || offset + N > encodedX)
        Fail(where + " does not fit the encoded readout (centre sample " + std::to_string(head.center_sample) + ", " + std::to_string(N) + " samples, matrix " +
             std::to_string(encodedX) + ")");
      const bool calibration = acq.Flag(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION) ||
                               acq.Flag(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING);
      const bool calibrationOnly = acq.Flag(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION);
      (calibrationOnly && !calibrationIsData ? g.separateCalibration : g.imaging).Add(y, line, offset);
      g.calibration[static_cast<size_t>(y)] = g.calibration[static_cast<size_t>(y)] || calibration;
    }
    if (groups.empty())
      Fail(path + ": the file holds only noise scans, no imaging data");
    if (!noise.empty())
    {
      auto all = torch::cat(noise).contiguous();
      const auto * p = reinterpret_cast<const std::complex<float> *>(all.data_ptr<c10::complex<float>>());
      data.noise.assign(p, p + all.numel());
    }

    const std::vector<int64_t> dims{ -1 };
    // Output readout column j sits at encoded column encodedX/2 + (j - W/2) encodedX / W; after
    // the oversampling crop a truncated edge rings, so one more column is left out there.
    const double ratio = static_cast<double>(encodedX) / static_cast<double>(W);
    const auto   measuredColumns = [&](int64_t lo, int64_t hi) {
      const int64_t margin = encodedX > W ? 1 : 0;
      int64_t       first = lo > 0 ? static_cast<int64_t>(std::ceil(W / 2 + (lo - encodedX / 2) / ratio)) + margin : 0;
      int64_t       last = hi < encodedX ? static_cast<int64_t>(std::floor(W / 2 + (hi - encodedX / 2) / ratio)) - margin : W;
      return std::pair<int64_t, int64_t>{ std::clamp<int64_t>(first, 0, W), std::clamp<int64_t>(last, 0, W) };
    };
    for (auto & [key, g] : groups)
    {
      const auto average = [H](const Lines & l) {
        auto counts = torch::tensor(std::vector<int64_t>(l.count.begin(), l.count.end())).clamp_min(1);
        return l.sum / counts.reshape({ H, 1, 1 }).to(torch::kFloat);
      };
      auto lines = average(g.imaging);
      // Lines only a separate calibration scan measured: kept for the coil maps, not as data.
      auto calibrationLines = average(g.separateCalibration);
      for (int64_t y = 0; y < H; ++y)
        if (g.imaging.count[static_cast<size_t>(y)] == 0 && g.separateCalibration.count[static_cast<size_t>(y)] > 0)
          lines[y].copy_(calibrationLines[y]);
      if (encodedX > W)
      {
        // Readout oversampling: to image space along x, keep the central W samples, back.
        auto image = torch::fft::fftshift(torch::fft::ifft(torch::fft::ifftshift(lines, dims), {}, -1, "ortho"), dims);
        image = image.narrow(2, (encodedX - W) / 2, W);
        lines = torch::fft::fftshift(torch::fft::fft(torch::fft::ifftshift(image, dims), {}, -1, "ortho"), dims);
      }
      RawSlice s;
      s.height = H;
      s.width = W;
      s.coils = data.coils;
      auto interleaved = lines.permute({ 0, 2, 1 }).contiguous(); // [y][x][coil]
      const auto * p = reinterpret_cast<const std::complex<float> *>(interleaved.data_ptr<c10::complex<float>>());
      s.kSpace.assign(p, p + interleaved.numel());
      s.mask.assign(static_cast<size_t>(H * W), 0);
      s.calibration.assign(static_cast<size_t>(H * W), 0);
      s.averages = 0;
      for (int64_t y = 0; y < H; ++y)
      {
        const auto   row = static_cast<size_t>(y);
        const bool   imaging = g.imaging.count[row] > 0;
        const Lines & source = imaging ? g.imaging : g.separateCalibration;
        if (source.count[row] == 0)
          continue;
        const auto [first, last] = measuredColumns(source.lo[row], source.hi[row]);
        if (last <= first)
          continue; // a line shorter than the ringing margin of the oversampling crop
        if (imaging)
        {
          std::fill(s.mask.begin() + y * W + first, s.mask.begin() + y * W + last, 1);
          s.averages = s.averages == 0 ? g.imaging.count[row] : std::min(s.averages, g.imaging.count[row]);
        }
        if (g.calibration[row])
          std::fill(s.calibration.begin() + y * W + first, s.calibration.begin() + y * W + last, 1);
      }
      s.averages = std::max(1, s.averages);
      // Pixel spacing: the readout field of view after the oversampling crop; along y the encoded
      // field of view (zero-filling to a larger matrix interpolates, it does not widen it).
      s.spacing = { (encodedX > reconX ? encoding.reconSpace.fieldOfView_mm.x : encoding.encodedSpace.fieldOfView_mm.x) /
                      static_cast<double>(W),
                    encoding.encodedSpace.fieldOfView_mm.y / static_cast<double>(H) };
      s.sliceThickness = encoding.reconSpace.fieldOfView_mm.z;
      s.position = g.position;
      s.readDirection = g.read;
      s.phaseDirection = g.phase;
      s.sliceDirection = g.slice;
      s.sliceIndex = g.sliceIndex;
      s.repetition = g.repetition;
      data.slices.push_back(std::move(s));
    }
    // Order along the slice direction, then by repetition.
    std::stable_sort(data.slices.begin(), data.slices.end(), [](const RawSlice & a, const RawSlice & b) {
      const auto along = [](const RawSlice & s) {
        return std::inner_product(s.position.begin(), s.position.end(), s.sliceDirection.begin(), 0.0);
      };
      return along(a) != along(b) ? along(a) < along(b) : a.repetition < b.repetition;
    });
    return data;
  });
}

int64_t
UndersampleISMRMRD(const std::string & input, const std::string & output, const std::vector<unsigned char> & keepLine,
                   const std::string & datasetName)
{
  return TranslateErrors("dapsmri::UndersampleISMRMRD", [&] {
    ISMRMRDReadOptions options;
    options.dataset = datasetName;
    const RawData data = ReadISMRMRD(input, options); // validates the file and gives the matrix
    const int64_t H = data.slices.front().height;
    if (static_cast<int64_t>(keepLine.size()) != H)
      Fail("the line mask has " + std::to_string(keepLine.size()) + " entries; the matrix has " + std::to_string(H) +
           " phase-encode lines");
    // The centred run of kept lines is the calibration block.
    int64_t lo = H / 2, hi = H / 2;
    if (keepLine[static_cast<size_t>(H / 2)])
    {
      while (lo > 0 && keepLine[static_cast<size_t>(lo - 1)])
        --lo;
      while (hi + 1 < H && keepLine[static_cast<size_t>(hi + 1)])
        ++hi;
    }
    CheckOutputPaths({ output }, { input });
    ISMRMRDFile            in(input, datasetName);
    ISMRMRD::IsmrmrdHeader header;
    ISMRMRD::deserialize(in.Header().c_str(), header); // ReadISMRMRD checked it
    const auto &  encoding = header.encoding[0];
    const int64_t centerY = encoding.encodingLimits.kspace_encoding_step_1
                              ? static_cast<int64_t>(encoding.encodingLimits.kspace_encoding_step_1->center)
                              : static_cast<int64_t>(encoding.encodedSpace.matrixSize.y) / 2;

    OutputFile target(output);
    int64_t    kept = 0;
    uint64_t   written = 0;
    {
      ISMRMRD::Dataset out(target.TemporaryPath().c_str(), datasetName.c_str(), true);
      out.writeHeader(in.Header());
      for (uint64_t i = 0; i < in.Acquisitions(); ++i)
      {
        const StoredAcquisition stored = in.Read(i);
        ISMRMRD::AcquisitionHeader head;
        static_cast<ISMRMRD::ISMRMRD_AcquisitionHeader &>(head) = stored.head;
        if (!stored.Flag(ISMRMRD::ISMRMRD_ACQ_IS_NOISE_MEASUREMENT))
        {
          const int64_t y = static_cast<int64_t>(head.idx.kspace_encode_step_1) - centerY + H / 2;
          if (y < 0 || y >= H || !keepLine[static_cast<size_t>(y)])
            continue;
          head.clearFlag(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION);
          if (y >= lo && y <= hi && keepLine[static_cast<size_t>(H / 2)])
            head.setFlag(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING);
          if (head.idx.slice == 0 && head.idx.repetition == 0)
            ++kept;
        }
        ISMRMRD::Acquisition acq;
        acq.setHead(head);
        std::copy(stored.data.begin(), stored.data.end(), acq.getDataPtr());
        std::copy(stored.trajectory.begin(), stored.trajectory.end(), acq.getTrajPtr());
        out.appendAcquisition(acq);
        ++written;
      }
    } // closes the file: HDF5 reports nothing here, so the copy is read back below
    if (ISMRMRDFile(target.TemporaryPath(), datasetName).Acquisitions() != written)
      Fail("could not write " + output + ": the copy does not read back complete (is the disk full?)");
    target.Commit();
    return kept;
  });
}

} // namespace dapsmri
