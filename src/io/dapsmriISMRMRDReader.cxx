#include "dapsmriISMRMRDReader.h"

#include "dapsmriErrors.h"

#include <hdf5.h>
#include <ismrmrd/dataset.h>
#include <ismrmrd/xml.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>

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

bool
IsZero(const float * v)
{
  return v[0] == 0.0f && v[1] == 0.0f && v[2] == 0.0f;
}

std::array<double, 3>
Vector(const float * v)
{
  return { v[0], v[1], v[2] };
}

/** Sums of readout lines per (slice, repetition) before averaging. */
struct Accumulator
{
  torch::Tensor         sum;   // [H, C, Nx] complex, encoded readout length
  std::vector<int>      count; // per line
  std::vector<bool>     imaging, calibration;
  std::array<double, 3> position{}, read{ { 1, 0, 0 } }, phase{ { 0, 1, 0 } }, slice{ { 0, 0, 1 } };
  int                   sliceIndex = 0, repetition = -1;
};
} // namespace

RawData
ReadISMRMRD(const std::string & path, const ISMRMRDReadOptions & options)
{
  return TranslateErrors("dapsmri::ReadISMRMRD", [&] {
    if (!std::filesystem::exists(path))
      Fail("cannot read " + path + ": no such file");
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); // errors are reported here, not printed by HDF5
    if (H5Fis_hdf5(path.c_str()) <= 0)
      Fail(path + " is not an ISMRMRD (HDF5) file, or it is truncated");

    std::unique_ptr<ISMRMRD::Dataset> dataset;
    std::string                       xml;
    try
    {
      dataset = std::make_unique<ISMRMRD::Dataset>(path.c_str(), options.dataset.c_str(), false);
      dataset->readHeader(xml);
    }
    catch (const std::exception &)
    {
      Fail(path + " has no ISMRMRD dataset \"" + options.dataset + "\" with an XML header (is the dataset name right?)");
    }
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

    uint32_t acquisitions = 0;
    try
    {
      acquisitions = dataset->getNumberOfAcquisitions();
    }
    catch (const std::exception &)
    {
      Fail(path + ": the acquisition list cannot be read (the file is truncated or corrupt)");
    }
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
    ISMRMRD::Acquisition                       acq;
    for (uint32_t i = 0; i < acquisitions; ++i)
    {
      try
      {
        dataset->readAcquisition(i, acq);
      }
      catch (const std::exception &)
      {
        Fail(path + ": acquisition " + std::to_string(i) + " of " + std::to_string(acquisitions) +
             " cannot be read (the file is truncated or corrupt)");
      }
      const int64_t C = acq.active_channels(), N = acq.number_of_samples();
      if (data.coils == 0)
        data.coils = C;
      if (C != data.coils)
        Fail(path + ": acquisition " + std::to_string(i) + " has " + std::to_string(C) + " channels, earlier ones " +
             std::to_string(data.coils));
      if (header.acquisitionSystemInformation && header.acquisitionSystemInformation->receiverChannels &&
          *header.acquisitionSystemInformation->receiverChannels != C)
        Fail(path + ": the header disagrees with the data: " +
             std::to_string(*header.acquisitionSystemInformation->receiverChannels) + " receiver channels, acquisition " +
             std::to_string(i) + " has " + std::to_string(C));
      auto line = torch::from_blob(acq.getDataPtr(), { C, N }, torch::kComplexFloat);
      if (acq.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_NOISE_MEASUREMENT))
      {
        noise.push_back(line.t().clone()); // [N, C]
        data.noiseDwellTime = acq.sample_time_us();
        continue;
      }
      if (acq.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_NAVIGATION_DATA) || acq.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_PHASECORR_DATA) ||
          acq.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_DUMMYSCAN_DATA))
        continue;
      if (acq.idx().kspace_encode_step_2 != 0 && encoding.encodedSpace.matrixSize.z <= 1)
        Fail(path + ": acquisition " + std::to_string(i) + " has a second encoding step; 3-D data is not supported");
      const int64_t y = static_cast<int64_t>(acq.idx().kspace_encode_step_1) - centerY + H / 2;
      if (y < 0 || y >= H)
        Fail(path + ": the header disagrees with the data: acquisition " + std::to_string(i) + " has phase-encode step " +
             std::to_string(acq.idx().kspace_encode_step_1) + ", outside the encoded matrix of " + std::to_string(H));
      if (N > encodedX || acq.center_sample() >= encodedX || acq.center_sample() > N)
        Fail(path + ": the header disagrees with the data: acquisition " + std::to_string(i) + " has " +
             std::to_string(N) + " samples (centre " + std::to_string(acq.center_sample()) +
             ") for an encoded readout of " + std::to_string(encodedX));
      data.dataDwellTime = acq.sample_time_us();

      const int repetition = options.keepRepetitions ? acq.idx().repetition : -1;
      auto &    g = groups[{ acq.idx().slice, repetition }];
      if (!g.sum.defined())
      {
        g.sum = torch::zeros({ H, C, encodedX }, torch::kComplexFloat);
        g.count.assign(static_cast<size_t>(H), 0);
        g.imaging.assign(static_cast<size_t>(H), false);
        g.calibration.assign(static_cast<size_t>(H), false);
        g.sliceIndex = acq.idx().slice;
        g.repetition = repetition;
        g.position = Vector(acq.position());
        if (!IsZero(acq.read_dir()) && !IsZero(acq.phase_dir()) && !IsZero(acq.slice_dir()))
        {
          g.read = Vector(acq.read_dir());
          g.phase = Vector(acq.phase_dir());
          g.slice = Vector(acq.slice_dir());
        }
      }
      // Asymmetric echo: the centre sample goes to the middle of the encoded readout.
      const int64_t offset = encodedX / 2 - acq.center_sample();
      if (offset < 0 || offset + N > encodedX)
        Fail(path + ": acquisition " + std::to_string(i) + " does not fit the encoded readout (centre sample " +
             std::to_string(acq.center_sample()) + ", " + std::to_string(N) + " samples, matrix " +
             std::to_string(encodedX) + ")");
      g.sum[y].narrow(1, offset, N).add_(line);
      g.count[static_cast<size_t>(y)] += 1;
      const bool calibration = acq.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION) ||
                               acq.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING);
      const bool calibrationOnly = acq.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION);
      g.calibration[static_cast<size_t>(y)] = g.calibration[static_cast<size_t>(y)] || calibration;
      g.imaging[static_cast<size_t>(y)] = g.imaging[static_cast<size_t>(y)] || !calibrationOnly || calibrationIsData;
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
    for (auto & [key, g] : groups)
    {
      auto counts = torch::tensor(std::vector<int64_t>(g.count.begin(), g.count.end())).clamp_min(1);
      auto lines = g.sum / counts.reshape({ H, 1, 1 }).to(torch::kFloat);
      if (encodedX > W)
      {
        // Readout oversampling: to image space along x, keep the central W samples, back.
        auto image = torch::fft::fftshift(torch::fft::ifft(torch::fft::ifftshift(lines, dims), c10::nullopt, -1, "ortho"), dims);
        image = image.narrow(2, (encodedX - W) / 2, W);
        lines = torch::fft::fftshift(torch::fft::fft(torch::fft::ifftshift(image, dims), c10::nullopt, -1, "ortho"), dims);
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
      for (int64_t y = 0; y < H; ++y)
      {
        const bool acquired = g.count[static_cast<size_t>(y)] > 0;
        std::fill_n(s.mask.begin() + y * W, W, acquired && g.imaging[static_cast<size_t>(y)] ? 1 : 0);
        std::fill_n(s.calibration.begin() + y * W, W, acquired && g.calibration[static_cast<size_t>(y)] ? 1 : 0);
      }
      s.spacing = { encoding.reconSpace.fieldOfView_mm.x / static_cast<double>(W),
                    encoding.reconSpace.fieldOfView_mm.y / static_cast<double>(H) };
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
    ISMRMRD::Dataset in(input.c_str(), datasetName.c_str(), false);
    std::string      xml;
    in.readHeader(xml);
    ISMRMRD::IsmrmrdHeader header;
    ISMRMRD::deserialize(xml.c_str(), header);
    const auto &  encoding = header.encoding[0];
    const int64_t centerY = encoding.encodingLimits.kspace_encoding_step_1
                              ? static_cast<int64_t>(encoding.encodingLimits.kspace_encoding_step_1->center)
                              : static_cast<int64_t>(encoding.encodedSpace.matrixSize.y) / 2;

    const auto target = std::filesystem::path(output);
    const auto temporary = target.parent_path() / ("." + target.filename().string() + ".partial");
    std::filesystem::remove(temporary);
    int64_t kept = 0;
    try
    {
      ISMRMRD::Dataset out(temporary.string().c_str(), datasetName.c_str(), true);
      out.writeHeader(xml);
      ISMRMRD::Acquisition acq;
      for (uint32_t i = 0, n = in.getNumberOfAcquisitions(); i < n; ++i)
      {
        in.readAcquisition(i, acq);
        if (!acq.isFlagSet(ISMRMRD::ISMRMRD_ACQ_IS_NOISE_MEASUREMENT))
        {
          const int64_t y = static_cast<int64_t>(acq.idx().kspace_encode_step_1) - centerY + H / 2;
          if (y < 0 || y >= H || !keepLine[static_cast<size_t>(y)])
            continue;
          acq.clearFlag(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION);
          if (y >= lo && y <= hi && keepLine[static_cast<size_t>(H / 2)])
            acq.setFlag(ISMRMRD::ISMRMRD_ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING);
          if (acq.idx().slice == 0 && acq.idx().repetition == 0)
            ++kept;
        }
        out.appendAcquisition(acq);
      }
    }
    catch (...)
    {
      std::filesystem::remove(temporary);
      throw;
    }
    std::filesystem::rename(temporary, target);
    return kept;
  });
}

} // namespace dapsmri
