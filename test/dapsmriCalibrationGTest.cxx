// Noise prewhitening and adaptive coil maps.
#include "dapsmriCalibration.h"

#include <ismrmrd/dataset.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

using Complex = std::complex<float>;

TEST(Prewhitening, MakesCorrelatedNoiseWhite)
{
  // Noise n = M z with a known mixing M (correlated, unequal coils); the image data are noise of
  // the same statistics, so after whitening their coil covariance must be the identity.
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
  EXPECT_NEAR(dapsmri::PrewhitenCoils(data), std::sqrt(0.5), 1e-12);
  std::complex<double> covariance[3][3] = {};
  const auto &         k = data.slices[0].kSpace;
  const size_t         samples = k.size() / C;
  for (size_t s = 0; s < samples; ++s)
    for (int i = 0; i < C; ++i)
      for (int j = 0; j < C; ++j)
        covariance[i][j] += std::complex<double>(k[s * C + i]) * std::conj(std::complex<double>(k[s * C + j]));
  // Each entry's standard error is about 1 / sqrt(samples) = 0.01; allow 5 of them.
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < C; ++j)
      EXPECT_NEAR(std::abs(covariance[i][j] / static_cast<double>(samples) - (i == j ? 1.0 : 0.0)), 0.0, 0.05)
        << i << "," << j;
}

TEST(Prewhitening, NothingToDoWithoutNoiseScans)
{
  dapsmri::RawData data;
  data.coils = 2;
  EXPECT_EQ(dapsmri::PrewhitenCoils(data), 0.0);
}

TEST(WalshCoilMaps, AgreeWithTheTrueSensitivitiesInsideTheObject)
{
  namespace fs = std::filesystem;
  const fs::path file = fs::path(::testing::TempDir()) / "dapsmri_walsh.h5";
  fs::remove(file);
  const std::string command = std::string(ISMRMRD_GENERATOR) + " -m 64 -c 8 -a 4 -w 24 -n 0.0 -o " + file.string() +
                              " > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  dapsmri::ISMRMRDReadOptions keep;
  keep.keepRepetitions = true; // one undersampled repetition: the maps must come from its 24 ACS lines
  const auto data = dapsmri::ReadISMRMRD(file.string(), keep);
  const auto & s = data.slices.front();
  const auto   maps = dapsmri::WalshCoilMaps(s);

  // The generator stores its true coil sensitivities ("csm", x fastest, then y, then coil) and
  // the phantom: compare where the phantom is not empty, up to one phase per pixel.
  ISMRMRD::Dataset                               d(file.string().c_str(), "dataset", false);
  ISMRMRD::NDArray<std::complex<float>>          csm;
  ISMRMRD::NDArray<std::complex<float>>          phantom;
  d.readNDArray("csm", 0, csm);
  d.readNDArray("phantom", 0, phantom);
  const int64_t H = s.height, W = s.width, C = s.coils;
  ASSERT_EQ(static_cast<int64_t>(csm.getNumberOfElements()), H * W * C);
  double sum = 0.0;
  int    inside = 0;
  for (int64_t p = 0; p < H * W; ++p)
  {
    if (std::abs(phantom.getDataPtr()[p]) < 0.1)
      continue;
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
    sum += std::abs(dot) / std::sqrt(a * b);
    ++inside;
  }
  ASSERT_GT(inside, 500);
  EXPECT_GT(sum / inside, 0.98); // mean |cosine| between estimated and true coil vectors
}
