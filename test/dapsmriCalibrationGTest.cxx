// Noise prewhitening and adaptive coil maps.
#include "dapsmriCalibration.h"
#include "dapsmriScratchPath.h"

#include <ismrmrd/dataset.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

using Complex = std::complex<float>;

TEST(Prewhitening, MakesCorrelatedNoiseWhiteInTheInputUnits)
{
  // Noise n = M z with a known mixing M (correlated, unequal coils); the image data are noise of
  // the same statistics, so after whitening their coil covariance must be s^2 times the identity,
  // s^2 = trace(M M^H) / C: the mean noise power of the coils, which keeps the input's units.
  const int64_t C = 3, N = 20000;
  const std::complex<double> M[3][3] = { { 1.0, 0.0, 0.0 }, { { 0.5, 0.3 }, 2.0, 0.0 }, { { -0.2, 0.1 }, { 0.4, -0.6 }, 0.7 } };
  std::mt19937                     engine(3);
  std::normal_distribution<double> normal(0.0, std::sqrt(0.5));
  auto mixed = [&] {
    std::vector<Complex> v(C);
    std::complex<double> z[3];
    for (auto & zi : z)
      zi = { normal(engine), normal(engine) };
    for (int i = 0; i < C; ++i)
    {
      std::complex<double> s = 0.0;
      for (int j = 0; j < C; ++j)
        s += M[i][j] * z[j];
      v[static_cast<size_t>(i)] = Complex(s);
    }
    return v;
  };
  dapsmri::RawData data;
  data.coils = C;
  for (int64_t i = 0; i < N; ++i)
    for (auto v : mixed())
      data.noise.push_back(v);
  dapsmri::RawSlice slice;
  slice.height = 100;
  slice.width = 100;
  slice.coils = C;
  for (int64_t i = 0; i < 100 * 100; ++i)
    for (auto v : mixed())
      slice.kSpace.push_back(v);
  data.slices.push_back(slice);
  double power = 0.0; // trace(M M^H) / C
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < C; ++j)
      power += std::norm(M[i][j]) / C;
  // The estimate of the power has a relative standard error of about 1 / sqrt(N) = 0.007.
  EXPECT_NEAR(dapsmri::PrewhitenCoils(data), std::sqrt(0.5 * power), 0.03 * std::sqrt(0.5 * power));
  std::complex<double> covariance[3][3] = {};
  const auto &         k = data.slices[0].kSpace;
  const size_t         samples = k.size() / C;
  for (size_t s = 0; s < samples; ++s)
    for (int i = 0; i < C; ++i)
      for (int j = 0; j < C; ++j)
        covariance[i][j] += std::complex<double>(k[s * C + i]) * std::conj(std::complex<double>(k[s * C + j]));
  // Each entry's standard error is about power / sqrt(samples) = 0.01 power; allow 5 of them.
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < C; ++j)
      EXPECT_NEAR(std::abs(covariance[i][j] / static_cast<double>(samples) / power - (i == j ? 1.0 : 0.0)), 0.0, 0.05)
        << i << "," << j;
}

TEST(Prewhitening, LeavesDataAloneWithoutNoiseScans)
{
  dapsmri::RawData data;
  data.coils = 2;
  EXPECT_EQ(dapsmri::PrewhitenCoils(data), 0.0);
}

namespace
{
struct MapsCase
{
  const char * method;
  int          acceleration, calibrationLines, matrix;
};
class CoilMaps : public ::testing::TestWithParam<MapsCase>
{};
} // namespace

// Maps from one undersampled repetition's calibration lines against the generator's true
// sensitivities, where the phantom is not empty, up to one phase per pixel, with noise as in the
// main job. 6-8 lines is what an 8x fastMRI-style mask leaves at 150-200 phase-encode steps (here
// at 64); acceleration 1 is a fully sampled 128 x 128 scan, whose calibration region is all of it.
TEST_P(CoilMaps, AgreeWithTheTrueSensitivitiesInsideTheObject)
{
  namespace fs = std::filesystem;
  const auto     param = GetParam();
  const dapsmri::testing::ScratchPath scratch(
    "dapsmri_maps_" + std::string(param.method) + "_" + std::to_string(param.calibrationLines), ".h5");
  const fs::path & file = scratch.Path();
  const std::string command = std::string(ISMRMRD_GENERATOR) + " -m " + std::to_string(param.matrix) + " -c 8 -n 0.02 -a " + std::to_string(param.acceleration) +
                              " -w " + std::to_string(param.calibrationLines) + " -o " + file.string() + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  dapsmri::ISMRMRDReadOptions keep;
  keep.keepRepetitions = true;
  const auto   data = dapsmri::ReadISMRMRD(file.string(), keep);
  const auto & s = data.slices.front();
  const auto   maps = std::string(param.method) == "walsh" ? dapsmri::WalshCoilMaps(s) : dapsmri::ESPIRiTCoilMaps(s);

  ISMRMRD::Dataset                      d(file.string().c_str(), "dataset", false);
  ISMRMRD::NDArray<std::complex<float>> csm, phantom;
  d.readNDArray("csm", 0, csm); // x fastest, then y, then coil
  d.readNDArray("phantom", 0, phantom);
  const int64_t H = s.height, W = s.width, C = s.coils;
  ASSERT_EQ(static_cast<int64_t>(csm.getNumberOfElements()), H * W * C);
  double sum = 0.0;
  int    inside = 0, covered = 0;
  for (int64_t p = 0; p < H * W; ++p)
  {
    if (std::abs(phantom.getDataPtr()[p]) < 0.1)
      continue;
    ++inside;
    std::complex<double> dot = 0.0;
    double               a = 0.0, b = 0.0;
    for (int64_t c = 0; c < C; ++c)
    {
      const std::complex<double> ours = maps[static_cast<size_t>(p * C + c)];
      const std::complex<double> truth = csm.getDataPtr()[c * H * W + p];
      dot += std::conj(ours) * truth;
      a += std::norm(ours);
      b += std::norm(truth);
    }
    if (a == 0.0)
      continue; // ESPIRiT's crop
    ++covered;
    sum += std::abs(dot) / std::sqrt(a * b);
  }
  ASSERT_GT(inside, 500);
  EXPECT_GT(covered, 0.97 * inside); // the maps cover the object
  EXPECT_GT(sum / covered, 0.98);    // mean |cosine| between estimated and true coil vectors
  // |cosine| ignores each pixel's phase; the image sees it. Neighbouring coil vectors must agree
  // in phase too (Re <S(p), S(p + 1)> near 1), or the reconstruction would carry phase noise.
  double smooth = 0.0;
  int    pairs = 0;
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x + 1 < W; ++x)
    {
      const int64_t p = y * W + x;
      if (std::abs(phantom.getDataPtr()[p]) < 0.1 || std::abs(phantom.getDataPtr()[p + 1]) < 0.1)
        continue;
      std::complex<double> dot = 0.0;
      double               a = 0.0, b = 0.0;
      for (int64_t c = 0; c < C; ++c)
      {
        const std::complex<double> u = maps[static_cast<size_t>(p * C + c)], v = maps[static_cast<size_t>((p + 1) * C + c)];
        dot += std::conj(u) * v;
        a += std::norm(u);
        b += std::norm(v);
      }
      if (a == 0.0 || b == 0.0)
        continue;
      smooth += dot.real() / std::sqrt(a * b);
      ++pairs;
    }
  ASSERT_GT(pairs, 500);
  EXPECT_GT(smooth / pairs, 0.95);
}

INSTANTIATE_TEST_SUITE_P(Methods, CoilMaps,
                         ::testing::Values(MapsCase{ "walsh", 4, 24, 64 }, MapsCase{ "espirit", 4, 24, 64 },
                                           MapsCase{ "walsh", 8, 8, 64 }, MapsCase{ "espirit", 8, 8, 64 },
                                           MapsCase{ "espirit", 8, 6, 64 }, MapsCase{ "walsh", 1, 128, 128 },
                                           MapsCase{ "espirit", 1, 128, 128 }),
                         [](const ::testing::TestParamInfo<MapsCase> & info) {
                           return std::string(info.param.method) + "_" + std::to_string(info.param.calibrationLines) +
                                  "lines";
                         });
