// The ISMRMRD reader on real files written by ismrmrd_generate_cartesian_shepp_logan, and on
// broken files written here with libismrmrd.
#include "dapsmriISMRMRDReader.h"
#include "dapsmriScratchPath.h"

#include "itkMacro.h"
#include "itkExceptionDescription.h"

#include <hdf5.h>
#include <ismrmrd/dataset.h>
#include <ismrmrd/xml.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <random>

namespace fs = std::filesystem;
using dapsmri::RawData;
using dapsmri::ReadISMRMRD;
using Complex = std::complex<float>;

namespace
{
fs::path
TestFolder()
{
  // One folder per process, removed when the process ends.
  static const dapsmri::testing::ScratchPath folder("dapsmri_ismrmrd");
  fs::create_directories(folder.Path());
  return folder.Path();
}

/** Runs the generator with `arguments` into a file named after them (once per process). */
std::string
Generate(const std::string & arguments)
{
  std::string name = arguments;
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  const fs::path file = TestFolder() / ("sl" + name + ".h5");
  if (!fs::exists(file))
  {
    const std::string command =
      std::string(ISMRMRD_GENERATOR) + " " + arguments + " -o " + file.string() + " > /dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
  return file.string();
}

size_t
SampledLines(const dapsmri::RawSlice & s)
{
  size_t lines = 0;
  for (int64_t y = 0; y < s.height; ++y)
    lines += s.mask[static_cast<size_t>(y * s.width)] != 0;
  return lines;
}

/** Root-sum-of-squares image of a slice's k-space (centred orthonormal inverse DFT per coil). */
std::vector<double>
RootSumOfSquares(const dapsmri::RawSlice & s)
{
  const int64_t H = s.height, W = s.width, C = s.coils;
  std::vector<double> rss(static_cast<size_t>(H * W), 0.0);
  for (int64_t c = 0; c < C; ++c)
  {
    // Separable DFT: rows then columns, centred indices.
    std::vector<std::complex<double>> tmp(static_cast<size_t>(H * W)), img(static_cast<size_t>(H * W));
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
      {
        std::complex<double> sum = 0.0;
        for (int64_t kx = 0; kx < W; ++kx)
          sum += std::complex<double>(s.kSpace[static_cast<size_t>((y * W + kx) * C + c)]) *
                 std::polar(1.0, 2 * M_PI * (kx - W / 2) * (x - W / 2) / static_cast<double>(W));
        tmp[static_cast<size_t>(y * W + x)] = sum;
      }
    for (int64_t x = 0; x < W; ++x)
      for (int64_t y = 0; y < H; ++y)
      {
        std::complex<double> sum = 0.0;
        for (int64_t ky = 0; ky < H; ++ky)
          sum += tmp[static_cast<size_t>(ky * W + x)] * std::polar(1.0, 2 * M_PI * (ky - H / 2) * (y - H / 2) / static_cast<double>(H));
        rss[static_cast<size_t>(y * W + x)] += std::norm(sum);
      }
  }
  for (auto & v : rss)
    v = std::sqrt(v);
  return rss;
}

/** A small valid Cartesian file written with libismrmrd; `edit` may change header and lines. */
template <typename EditHeader>
std::string
WriteFile(const std::string & name, EditHeader && editHeader, int acquisitions, uint16_t channels = 2,
          uint16_t samples = 8, uint16_t centerSample = 4)
{
  const fs::path file = TestFolder() / name;
  fs::remove(file);
  ISMRMRD::Dataset        d(file.string().c_str(), "dataset", true);
  ISMRMRD::IsmrmrdHeader  h;
  ISMRMRD::Encoding       e;
  e.encodedSpace.matrixSize = ISMRMRD::MatrixSize(8, 8, 1);
  e.encodedSpace.fieldOfView_mm = { 200.0f, 200.0f, 5.0f };
  e.reconSpace = e.encodedSpace;
  e.trajectory = ISMRMRD::TrajectoryType::CARTESIAN;
  ISMRMRD::Limit limit(0, 7, 4);
  e.encodingLimits.kspace_encoding_step_1 = limit;
  h.encoding.push_back(e);
  ISMRMRD::AcquisitionSystemInformation system;
  system.receiverChannels = 2;
  h.acquisitionSystemInformation = system;
  editHeader(h);
  std::ostringstream xml;
  ISMRMRD::serialize(h, xml);
  d.writeHeader(xml.str());
  for (int i = 0; i < acquisitions; ++i)
  {
    ISMRMRD::Acquisition a(samples, channels);
    a.idx().kspace_encode_step_1 = static_cast<uint16_t>(i);
    a.center_sample() = centerSample;
    // Sample s of line i, coil c holds (i, s + 10 c): where each one lands can be checked.
    for (uint16_t c = 0; c < channels; ++c)
      for (uint16_t s = 0; s < samples; ++s)
        a.data(s, c) = Complex(static_cast<float>(i), static_cast<float>(s + 10 * c));
    d.appendAcquisition(a);
  }
  return file.string();
}

/** Replaces /dataset/data by an unwritten contiguous dataset of `rows` elements of `type` (the
 * file's own acquisition type when `type` is negative). */
void
ReplaceDataTable(const std::string & file, hid_t type, hsize_t rows)
{
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t       ownType = -1;
  if (H5Lexists(f, "/dataset/data", H5P_DEFAULT) > 0)
  {
    const hid_t old = H5Dopen2(f, "/dataset/data", H5P_DEFAULT);
    ownType = H5Dget_type(old);
    H5Dclose(old);
    EXPECT_GE(H5Ldelete(f, "/dataset/data", H5P_DEFAULT), 0);
  }
  const hid_t space = H5Screate_simple(1, &rows, nullptr);
  const hid_t d = H5Dcreate2(f, "/dataset/data", type >= 0 ? type : ownType, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
  EXPECT_GE(d, 0);
  H5Dclose(d);
  H5Sclose(space);
  if (ownType >= 0)
    H5Tclose(ownType);
  H5Fclose(f);
}

/** Writes the members of acquisition `row` that `rowType` names (an HDF5 partial compound
 * write: the others stay as stored), as a faulty converter or flipped bytes would leave them. */
void
PatchRow(const std::string & file, hsize_t row, hid_t rowType, const void * value)
{
  const hid_t   f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t   d = H5Dopen2(f, "/dataset/data", H5P_DEFAULT);
  const hid_t   space = H5Dget_space(d);
  const hsize_t count = 1;
  H5Sselect_hyperslab(space, H5S_SELECT_SET, &row, nullptr, &count, nullptr);
  const hid_t memory = H5Screate_simple(1, &count, nullptr);
  EXPECT_GE(H5Dwrite(d, rowType, memory, space, H5P_DEFAULT, value), 0);
  H5Sclose(memory);
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
}

/** Overwrites one header field of acquisition `row`; the stored samples stay as they were. */
template <typename T>
void
PatchHead(const std::string & file, hsize_t row, const char * field, hid_t fieldType, const T & value)
{
  const hid_t head = H5Tcreate(H5T_COMPOUND, sizeof(T));
  H5Tinsert(head, field, 0, fieldType);
  const hid_t rowType = H5Tcreate(H5T_COMPOUND, sizeof(T));
  H5Tinsert(rowType, "head", 0, head);
  PatchRow(file, row, rowType, &value);
  H5Tclose(rowType);
  H5Tclose(head);
}

/** Replaces the stored samples of acquisition `row` (coil-major complex pairs). */
void
PatchSamples(const std::string & file, hsize_t row, std::vector<float> values)
{
  const hid_t vlen = H5Tvlen_create(H5T_NATIVE_FLOAT);
  const hid_t rowType = H5Tcreate(H5T_COMPOUND, sizeof(hvl_t));
  H5Tinsert(rowType, "data", 0, vlen);
  const hvl_t samples{ values.size(), values.data() };
  PatchRow(file, row, rowType, &samples);
  H5Tclose(rowType);
  H5Tclose(vlen);
}

using Vector3 = std::array<float, 3>;

void
PatchVector(const std::string & file, hsize_t row, const char * field, const Vector3 & value)
{
  const hsize_t three = 3;
  const hid_t   type = H5Tarray_create2(H5T_NATIVE_FLOAT, 1, &three);
  PatchHead(file, row, field, type, value);
  H5Tclose(type);
}
} // namespace

TEST(ISMRMRDReader, FullySampledMatchesTheReferenceReconstruction)
{
  // Default readout oversampling 2: the reader must remove it.
  const auto file = Generate("-m 64 -c 4 -n 0.0");
  const RawData data = ReadISMRMRD(file);
  ASSERT_EQ(data.slices.size(), 1u);
  const auto & s = data.slices[0];
  EXPECT_EQ(s.width, 64);
  EXPECT_EQ(s.height, 64);
  EXPECT_EQ(s.coils, 4);
  EXPECT_EQ(SampledLines(s), 64u);

  // ismrmrd_recon_cartesian_2d writes its root-sum-of-squares image into the file ("cpp").
  const std::string recon = std::string(ISMRMRD_RECON) + " " + file + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(recon.c_str()), 0);
  ISMRMRD::Dataset      d(file.c_str(), "dataset", false);
  ISMRMRD::Image<float> reference;
  d.readImage("cpp", 0, reference);
  ASSERT_EQ(reference.getMatrixSizeX(), 64u);
  ASSERT_EQ(reference.getMatrixSizeY(), 64u);
  const auto ours = RootSumOfSquares(s);
  // Same image up to the FFT scaling: compare after the least-squares scale.
  double dot = 0.0, norm = 0.0, refNorm = 0.0;
  for (size_t i = 0; i < ours.size(); ++i)
  {
    dot += ours[i] * reference.getDataPtr()[i];
    norm += ours[i] * ours[i];
    refNorm += static_cast<double>(reference.getDataPtr()[i]) * reference.getDataPtr()[i];
  }
  const double scale = dot / norm;
  double       error = 0.0;
  for (size_t i = 0; i < ours.size(); ++i)
    error += std::pow(scale * ours[i] - reference.getDataPtr()[i], 2);
  EXPECT_LT(std::sqrt(error / refNorm), 1e-4);
}

TEST(ISMRMRDReader, GeometryFromTheHeader)
{
  const RawData data = ReadISMRMRD(Generate("-m 64 -c 4 -n 0.0"));
  const auto &  s = data.slices[0];
  // reconSpace field of view 300 mm over 64 pixels; the generator writes no orientation, so the
  // directions default to the identity and the slice centre to the origin.
  EXPECT_DOUBLE_EQ(s.spacing[0], 300.0 / 64);
  EXPECT_DOUBLE_EQ(s.spacing[1], 300.0 / 64);
  EXPECT_EQ(s.readDirection, (std::array<double, 3>{ 1, 0, 0 }));
  EXPECT_EQ(s.phaseDirection, (std::array<double, 3>{ 0, 1, 0 }));
  const auto origin = s.Origin();
  EXPECT_DOUBLE_EQ(origin[0], -32 * 300.0 / 64);
  EXPECT_DOUBLE_EQ(origin[1], -32 * 300.0 / 64);
  EXPECT_DOUBLE_EQ(origin[2], 0.0);
}

TEST(ISMRMRDReader, AcceleratedWithCalibrationLines)
{
  // -a 2: every other line per repetition (two repetitions interleave), 24 calibration lines.
  const auto file = Generate("-m 64 -c 4 -a 2 -w 24");
  dapsmri::ISMRMRDReadOptions keep;
  keep.keepRepetitions = true;
  const RawData separate = ReadISMRMRD(file, keep);
  ASSERT_EQ(separate.slices.size(), 2u);
  for (const auto & s : separate.slices)
  {
    // 32 accelerated lines + the 12 calibration lines that fall between them.
    EXPECT_EQ(SampledLines(s), 32u + 12u) << "repetition " << s.repetition;
    size_t calibration = 0;
    for (int64_t y = 0; y < s.height; ++y)
      calibration += s.calibration[static_cast<size_t>(y * s.width)] != 0;
    EXPECT_EQ(calibration, 24u);
  }
  EXPECT_EQ(separate.slices[0].repetition, 0);
  EXPECT_EQ(separate.slices[1].repetition, 1);
  // Averaged over repetitions the interleaved lines fill k-space.
  const RawData averaged = ReadISMRMRD(file);
  ASSERT_EQ(averaged.slices.size(), 1u);
  EXPECT_EQ(SampledLines(averaged.slices[0]), 64u);
}

TEST(ISMRMRDReader, NoiseScansAreKept)
{
  const RawData data = ReadISMRMRD(Generate("-m 32 -c 4 -C -n 0.05"));
  ASSERT_FALSE(data.noise.empty());
  EXPECT_EQ(data.noise.size() % 4, 0u);
  double power = 0.0;
  for (auto v : data.noise)
    power += std::norm(v);
  // Complex noise of std 0.05 per real part: E|n|^2 = 2 * 0.05^2 (the generator's noise level).
  // 256 samples: the power estimate has a relative standard error of 1/16; allow 4 of them.
  const double meanPower = power / static_cast<double>(data.noise.size());
  EXPECT_NEAR(meanPower, 2 * 0.05 * 0.05, 0.25 * 2 * 0.05 * 0.05);
  EXPECT_GT(data.noiseDwellTime, 0.0);
  EXPECT_EQ(data.slices.size(), 1u); // noise scans are not image data
}

TEST(ISMRMRDReader, RepetitionsAverageByDefault)
{
  const auto    file = Generate("-m 32 -c 2 -r 3");
  const RawData averaged = ReadISMRMRD(file);
  ASSERT_EQ(averaged.slices.size(), 1u);
  EXPECT_EQ(SampledLines(averaged.slices[0]), 32u);
  EXPECT_EQ(averaged.slices[0].averages, 3); // every line averaged three times: noise std / sqrt(3)
  dapsmri::ISMRMRDReadOptions keep;
  keep.keepRepetitions = true;
  EXPECT_EQ(ReadISMRMRD(file, keep).slices.size(), 3u);
}

// ---------------------------------------------------------------------------------------------
TEST(ISMRMRDReader, PartialFourierAndAsymmetricEchoAreZeroFilledInPlace)
{
  // Phase encoding: 6 of 8 lines acquired, steps 0..5 with the centre at step 4 (partial Fourier):
  // step e lands on row e - 4 + 8/2 = e, rows 6 and 7 stay empty. Readout: 6 samples with the echo
  // centre at sample 2 (asymmetric echo) land on columns 2..7 (centre sample -> column 8/2 = 4).
  const auto file = WriteFile(
    "partial.h5",
    [](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].encodingLimits.kspace_encoding_step_1 = ISMRMRD::Limit(0, 5, 4); }, 6, 2,
    6, 2);
  const RawData data = ReadISMRMRD(file);
  const auto &  s = data.slices.at(0);
  ASSERT_EQ(s.height, 8);
  ASSERT_EQ(s.width, 8);
  for (int64_t y = 0; y < 8; ++y)
  {
    for (int64_t x = 0; x < 8; ++x)
    {
      // Only what was measured is data: the echo's missing start (columns 0, 1) is not.
      EXPECT_EQ(s.mask[static_cast<size_t>(y * 8 + x)], y < 6 && x >= 2 ? 1 : 0) << "row " << y << " column " << x;
      for (int64_t c = 0; c < 2; ++c)
      {
        const Complex v = s.kSpace[static_cast<size_t>((y * 8 + x) * 2 + c)];
        const Complex expected = (y < 6 && x >= 2) ? Complex(static_cast<float>(y), static_cast<float>(x - 2 + 10 * c))
                                                   : Complex(0.0f, 0.0f);
        EXPECT_EQ(v, expected) << "row " << y << " column " << x << " coil " << c;
      }
    }
  }
}

TEST(ISMRMRDReader, SlicesAreOrderedInSpaceWithTheirOrientation)
{
  // Three slices written in the order 2, 0, 1 along a slice direction of (0, 0, -1), with an
  // oblique in-plane orientation: read (0, 1, 0), phase (1, 0, 0).
  const fs::path file = TestFolder() / "slices.h5";
  fs::remove(file);
  {
    ISMRMRD::Dataset       d(file.string().c_str(), "dataset", true);
    ISMRMRD::IsmrmrdHeader h;
    ISMRMRD::Encoding      e;
    e.encodedSpace.matrixSize = ISMRMRD::MatrixSize(4, 4, 1);
    e.encodedSpace.fieldOfView_mm = { 40.0f, 80.0f, 3.0f };
    e.reconSpace = e.encodedSpace;
    e.trajectory = ISMRMRD::TrajectoryType::CARTESIAN;
    e.encodingLimits.kspace_encoding_step_1 = ISMRMRD::Limit(0, 3, 2);
    h.encoding.push_back(e);
    std::ostringstream xml;
    ISMRMRD::serialize(h, xml);
    d.writeHeader(xml.str());
    for (int slice : { 2, 0, 1 })
      for (uint16_t line = 0; line < 4; ++line)
      {
        ISMRMRD::Acquisition a(4, 1);
        a.idx().kspace_encode_step_1 = line;
        a.idx().slice = static_cast<uint16_t>(slice);
        a.center_sample() = 2;
        const float position[3] = { 1.0f, 2.0f, -5.0f * static_cast<float>(slice) }, read[3] = { 0, 1, 0 },
                    phase[3] = { 1, 0, 0 }, normal[3] = { 0, 0, -1 };
        std::copy(position, position + 3, a.position());
        std::copy(read, read + 3, a.read_dir());
        std::copy(phase, phase + 3, a.phase_dir());
        std::copy(normal, normal + 3, a.slice_dir());
        std::fill(a.data_begin(), a.data_end(), Complex(static_cast<float>(slice), 0.0f));
        d.appendAcquisition(a);
      }
  }
  const RawData data = ReadISMRMRD(file.string());
  ASSERT_EQ(data.slices.size(), 3u);
  // Along (0, 0, -1), z = 0, -5, -10 are at 0, 5, 10: file slices 0, 1, 2 in that order.
  for (int i = 0; i < 3; ++i)
  {
    EXPECT_EQ(data.slices[static_cast<size_t>(i)].sliceIndex, i);
    EXPECT_EQ(data.slices[static_cast<size_t>(i)].kSpace[0], Complex(static_cast<float>(i), 0.0f));
  }
  const auto & s = data.slices[1];
  EXPECT_EQ(s.readDirection, (std::array<double, 3>{ 0, 1, 0 }));
  EXPECT_EQ(s.phaseDirection, (std::array<double, 3>{ 1, 0, 0 }));
  EXPECT_EQ(s.spacing, (std::array<double, 2>{ 10.0, 20.0 }));
  // Origin: centre minus 2 pixels along read (10 mm each) and 2 along phase (20 mm each).
  EXPECT_EQ(s.Origin(), (std::array<double, 3>{ 1.0 - 40.0, 2.0 - 20.0, -5.0 }));
}

TEST(ISMRMRDReaderErrors, MissingAndNonHDF5Files)
{
  EXPECT_NE(ErrorOf([] { ReadISMRMRD("/nonexistent/file.h5"); }).find("no such file"), std::string::npos);
  const auto text = (TestFolder() / "text.h5").string();
  std::ofstream(text) << "not an HDF5 file";
  EXPECT_NE(ErrorOf([&] { ReadISMRMRD(text); }).find("not an ISMRMRD"), std::string::npos);
}

TEST(ISMRMRDReaderErrors, TruncatedFile)
{
  const auto    good = Generate("-m 64 -c 4");
  const auto    truncated = (TestFolder() / "truncated.h5").string();
  std::ifstream in(good, std::ios::binary);
  std::string   bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const auto message = ErrorOf([&] { ReadISMRMRD(truncated); });
  EXPECT_TRUE(message.find("truncated") != std::string::npos || message.find("corrupt") != std::string::npos)
    << message;
}

TEST(ISMRMRDReaderErrors, MissingDataset)
{
  const auto               file = Generate("-m 32 -c 2");
  dapsmri::ISMRMRDReadOptions options;
  options.dataset = "nosuchdataset";
  EXPECT_NE(ErrorOf([&] { ReadISMRMRD(file, options); }).find("nosuchdataset"), std::string::npos);
}

TEST(ISMRMRDReaderErrors, EmptyAcquisitionList)
{
  const auto file = WriteFile("empty.h5", [](ISMRMRD::IsmrmrdHeader &) {}, 0);
  EXPECT_NE(ErrorOf([&] { ReadISMRMRD(file); }).find("no acquisitions"), std::string::npos);
}

TEST(ISMRMRDReaderErrors, HeaderThatDisagreesWithTheData)
{
  const auto channels = WriteFile("channels.h5", [](ISMRMRD::IsmrmrdHeader &) {}, 8, 3);
  EXPECT_NE(ErrorOf([&] { ReadISMRMRD(channels); }).find("receiver channels"), std::string::npos);
  const auto lines = WriteFile(
    "lines.h5",
    [](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].encodedSpace.matrixSize.y = 4; h.encoding[0].reconSpace.matrixSize.y = 4; },
    8);
  EXPECT_NE(ErrorOf([&] { ReadISMRMRD(lines); }).find("outside the encoded matrix"), std::string::npos);
  const auto valid = WriteFile("valid.h5", [](ISMRMRD::IsmrmrdHeader &) {}, 8);
  EXPECT_EQ(ReadISMRMRD(valid).slices.size(), 1u); // the same file with a consistent header reads
}

TEST(ISMRMRDReaderErrors, UnsupportedContentIsNamed)
{
  const auto radial = WriteFile(
    "radial.h5", [](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].trajectory = ISMRMRD::TrajectoryType::RADIAL; }, 8);
  EXPECT_NE(ErrorOf([&] { ReadISMRMRD(radial); }).find("not Cartesian"), std::string::npos);
  const auto twoSpaces = WriteFile(
    "two.h5", [](ISMRMRD::IsmrmrdHeader & h) { h.encoding.push_back(h.encoding[0]); }, 8);
  EXPECT_NE(ErrorOf([&] { ReadISMRMRD(twoSpaces); }).find("encoding spaces"), std::string::npos);
  const auto threeD = WriteFile(
    "3d.h5", [](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].encodedSpace.matrixSize.z = 8; }, 8);
  EXPECT_NE(ErrorOf([&] { ReadISMRMRD(threeD); }).find("3-D"), std::string::npos);
}

TEST(ISMRMRDUndersampling, KeepsExactlyTheChosenLines)
{
  const auto                 full = Generate("-m 32 -c 4 -C");
  const auto                 out = (TestFolder() / "undersampled.h5").string();
  std::vector<unsigned char> keep(32, 0);
  for (int y : { 3, 9, 14, 15, 16, 17, 18, 27 })
    keep[static_cast<size_t>(y)] = 1;
  EXPECT_EQ(dapsmri::UndersampleISMRMRD(full, out, keep), 8);
  const RawData data = ReadISMRMRD(out);
  ASSERT_EQ(data.slices.size(), 1u);
  const auto & s = data.slices[0];
  for (int64_t y = 0; y < 32; ++y)
  {
    EXPECT_EQ(s.mask[static_cast<size_t>(y * s.width)], keep[static_cast<size_t>(y)]) << "line " << y;
    // The centred run 14..18 is flagged as calibration.
    EXPECT_EQ(s.calibration[static_cast<size_t>(y * s.width)], y >= 14 && y <= 18 ? 1 : 0) << "line " << y;
  }
  EXPECT_EQ(data.noise.size(), ReadISMRMRD(full).noise.size()); // noise scans are kept
  // The kept lines carry the original data.
  const RawData original = ReadISMRMRD(full);
  EXPECT_EQ(s.kSpace[static_cast<size_t>((16 * s.width + 5) * s.coils + 2)],
            original.slices[0].kSpace[static_cast<size_t>((16 * s.width + 5) * s.coils + 2)]);
  std::vector<unsigned char> wrongSize(31, 1);
  EXPECT_NE(ErrorOf([&] { dapsmri::UndersampleISMRMRD(full, out, wrongSize); }).find("32 phase-encode lines"),
            std::string::npos);
}

TEST(ISMRMRDReaderErrors, AcquisitionHeadersAreCheckedAgainstTheStoredData)
{
  // Each of these made libismrmrd read past its buffers (a crash); each must be refused with a
  // message naming the file, the acquisition and the field.
  const auto  nan = std::numeric_limits<float>::quiet_NaN();
  const hid_t u16 = H5T_NATIVE_UINT16;
  struct Case
  {
    const char *                                   name;
    std::function<void(const std::string &)>       patch;
    const char *                                   needle;
  };
  const std::vector<Case> cases = {
    { "samples_65535", [&](const std::string & f) { PatchHead<uint16_t>(f, 3, "number_of_samples", u16, 65535); }, "number_of_samples" },
    { "samples_fewer", [&](const std::string & f) { PatchHead<uint16_t>(f, 3, "number_of_samples", u16, 4); }, "number_of_samples" },
    { "samples_zero", [&](const std::string & f) { PatchHead<uint16_t>(f, 3, "number_of_samples", u16, 0); }, "number_of_samples is 0" },
    { "channels_1000", [&](const std::string & f) { PatchHead<uint16_t>(f, 3, "active_channels", u16, 1000); }, "active_channels" },
    { "channels_5000", [&](const std::string & f) { PatchHead<uint16_t>(f, 3, "active_channels", u16, 5000); }, "active_channels is 5000" },
    { "channels_zero", [&](const std::string & f) { PatchHead<uint16_t>(f, 3, "active_channels", u16, 0); }, "active_channels is 0" },
    { "trajectory", [&](const std::string & f) { PatchHead<uint16_t>(f, 3, "trajectory_dimensions", u16, 2); }, "trajectory_dimensions" },
    { "position_nan", [&](const std::string & f) { PatchVector(f, 3, "position", { 0, nan, 0 }); }, "not finite" },
    { "dwell_nan", [&](const std::string & f) { PatchHead<float>(f, 3, "sample_time_us", H5T_NATIVE_FLOAT, nan); }, "sample_time_us" },
    { "samples_nan", [&](const std::string & f) {
        std::vector<float> values(2 * 2 * 8, 1.0f);
        values[5] = nan;
        PatchSamples(f, 3, values);
      }, "NaN or Inf" },
    { "samples_missing", [&](const std::string & f) { PatchSamples(f, 3, std::vector<float>(6, 1.0f)); }, "stores 3 complex samples" },
    { "skewed", [&](const std::string & f) {
        PatchVector(f, 3, "read_dir", { 1, 0, 0 });
        PatchVector(f, 3, "phase_dir", { 0.6f, 0.8f, 0 });
        PatchVector(f, 3, "slice_dir", { 0, 0, 1 });
      }, "orthonormal" },
  };
  for (const auto & c : cases)
  {
    const auto file = WriteFile(std::string("patched_") + c.name + ".h5", [](ISMRMRD::IsmrmrdHeader &) {}, 8);
    c.patch(file);
    const auto message = ErrorOf([&] { ReadISMRMRD(file); });
    EXPECT_NE(message.find(c.needle), std::string::npos) << c.name << ": " << message;
    EXPECT_NE(message.find(file + ": acquisition 3"), std::string::npos) << c.name << ": " << message;
  }
  // Controls: consistent edits of the same fields read.
  const auto turned = WriteFile("patched_turned.h5", [](ISMRMRD::IsmrmrdHeader &) {}, 8);
  for (hsize_t row = 0; row < 8; ++row)
  {
    PatchVector(turned, row, "read_dir", { 0, 1, 0 });
    PatchVector(turned, row, "phase_dir", { 1, 0, 0 });
    PatchVector(turned, row, "slice_dir", { 0, 0, -1 });
  }
  EXPECT_EQ(ReadISMRMRD(turned).slices.at(0).readDirection, (std::array<double, 3>{ 0, 1, 0 }));
}

TEST(ISMRMRDReaderErrors, DataThatIsNotAnAcquisitionTable)
{
  const auto file = WriteFile("not_a_table.h5", [](ISMRMRD::IsmrmrdHeader &) {}, 0);
  ReplaceDataTable(file, H5T_NATIVE_FLOAT, 16);
  const auto message = ErrorOf([&] { ReadISMRMRD(file); });
  EXPECT_NE(message.find("not a table of ISMRMRD acquisitions"), std::string::npos) << message;
}

// A table whose storage description disagrees with the file (libFuzzer found chunk sizes beyond
// the file's end that made HDF5 copy past its buffers): here 1000 contiguous rows never stored.
TEST(ISMRMRDReaderErrors, StorageThatTheFileDoesNotHold)
{
  const auto file = WriteFile("unstored.h5", [](ISMRMRD::IsmrmrdHeader &) {}, 2);
  ReplaceDataTable(file, -1, 1000);
  const auto message = ErrorOf([&] { ReadISMRMRD(file); });
  EXPECT_NE(message.find("describes storage that the file does not hold"), std::string::npos) << message;
}

TEST(ISMRMRDReaderErrors, HeaderGeometryWithinSaneLimits)
{
  using Edit = std::function<void(ISMRMRD::IsmrmrdHeader &)>;
  const auto nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::tuple<const char *, Edit, const char *>> cases = {
    { "fov_nan", [&](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].encodedSpace.fieldOfView_mm.x = nan; }, "field of view along x" },
    { "fov_inf", [](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].reconSpace.fieldOfView_mm.y = INFINITY; }, "reconSpace field of view along y" },
    { "fov_negative", [](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].encodedSpace.fieldOfView_mm.x = -200; }, "finite positive" },
    { "fov_zero_thickness", [](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].encodedSpace.fieldOfView_mm.z = 0; }, "along z" },
    { "matrix_huge", [](ISMRMRD::IsmrmrdHeader & h) { h.encoding[0].encodedSpace.matrixSize.y = 60000; }, "encodedSpace matrix is 8 x 60000" },
    { "recon_huge", [](ISMRMRD::IsmrmrdHeader & h) {
        h.encoding[0].reconSpace.matrixSize.x = 60000;
        h.encoding[0].reconSpace.matrixSize.y = 60000;
      }, "reconSpace matrix" },
  };
  for (const auto & [name, edit, needle] : cases)
  {
    const auto file = WriteFile(std::string("header_") + name + ".h5", edit, 8);
    const auto message = ErrorOf([&] { ReadISMRMRD(file); });
    EXPECT_NE(message.find(needle), std::string::npos) << name << ": " << message;
  }
}

TEST(ISMRMRDReaderErrors, CorruptBytesNeverCrash)
{
  // A small fuzzing pass: bytes of a valid file overwritten at random places. Each copy must
  // read or be refused with an exception; a crash or a hang fails the whole test driver.
  const auto    good = WriteFile("fuzz_source.h5", [](ISMRMRD::IsmrmrdHeader &) {}, 8);
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::mt19937  random(7);
  int           refused = 0;
  for (int trial = 0; trial < 300; ++trial)
  {
    std::string corrupt = bytes;
    const int   flips = 1 + trial % 8;
    for (int i = 0; i < flips; ++i)
      corrupt[random() % corrupt.size()] = static_cast<char>(random());
    const auto file = (TestFolder() / "fuzz.h5").string();
    std::ofstream(file, std::ios::binary | std::ios::trunc) << corrupt;
    try
    {
      dapsmri::ISMRMRDReadOptions options;
      options.stallSeconds = 1.0; // HDF5 loops forever on some of these
      const RawData data = ReadISMRMRD(file, options);
      for (const auto & s : data.slices)
        ASSERT_EQ(s.kSpace.size(), static_cast<size_t>(s.width * s.height * s.coils));
    }
    catch (const itk::ExceptionObject & e)
    {
      ++refused;
      ASSERT_NE(std::string(e.GetDescription()).find(file), std::string::npos) << e.GetDescription();
    }
  }
  std::cout << refused << " of 300 corrupt copies refused, the others read\n";
}
