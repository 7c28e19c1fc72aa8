// ReconstructRawData, what daps-recon and the Python module run on a whole ISMRMRD file, checked
// against its parts run by hand: PrewhitenCoils, the coil maps, ReconstructSlices per group of
// slices with equal averages.
#include "dapsmriCalibration.h"
#include "dapsmriRawDataReconstruction.h"
#include "dapsmriScratchPath.h"

#include "itkExceptionDescription.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace dapsmri;
using Complex = std::complex<float>;
using Maps = std::vector<std::vector<Complex>>;

namespace
{
/** Two repetitions of a generated 32 x 32 Shepp-Logan slice (4 coils, noise scans), kept apart,
 * and a third slice: the second again, as if averaged twice. Two groups: slices 0-1 and 2. */
RawData
ThreeSlices()
{
  static const dapsmri::testing::ScratchPath file("dapsmri_rawdata", ".h5");
  if (!std::filesystem::exists(file.Path()))
  {
    const std::string command =
      std::string(ISMRMRD_GENERATOR) + " -m 32 -c 4 -a 2 -w 16 -C -o " + file.Path().string() + " > /dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
  ISMRMRDReadOptions read;
  read.keepRepetitions = true;
  RawData data = ReadISMRMRD(file.Path().string(), read);
  EXPECT_EQ(data.slices.size(), 2u);
  auto third = data.slices.back();
  third.repetition = 2;
  third.averages = 2;
  data.slices.push_back(third);
  return data;
}

RawDataReconstructionOptions
Fast()
{
  RawDataReconstructionOptions options;
  options.settings.daps.annealingSteps = 3;
  options.settings.daps.seed = 5;
  options.settings.threads = 1;
  return options;
}

const Prior &
TinyPrior()
{
  static const Prior prior = Prior::Load(DAPSMRI_TEST_MODELS "/tiny_prior.pt");
  return prior;
}

MultiCoilData
SliceData(const RawSlice & s, const std::vector<Complex> & maps)
{
  return MultiCoilData{ s.kSpace.data(), maps.data(), s.mask.data(), s.height, s.width, s.coils };
}

Maps
ESPIRiTMaps(const RawData & data)
{
  const ThreadCountScope threads(1);
  Maps                   maps;
  for (const auto & s : data.slices)
    maps.push_back(ESPIRiTCoilMaps(s));
  return maps;
}
} // namespace

TEST(RawDataReconstruction, EqualsItsPartsRunByHandGroupedByAverages)
{
  for (const int sliceBatch : { 0, 1 })
  {
    RawData data = ThreeSlices(), expected = data;
    auto    options = Fast();
    options.settings.sliceBatch = sliceBatch;
    std::vector<std::pair<int, int>> calls;
    const auto r = ReconstructRawData(TinyPrior(), data, options, [&](int done, int total) {
      calls.emplace_back(done, total);
      return true;
    });

    // Prewhitened in place, ESPIRiT maps of the whitened data.
    const double noise = PrewhitenCoils(expected);
    ASSERT_GT(noise, 0.0);
    EXPECT_TRUE(r.prewhitened);
    EXPECT_EQ(r.noiseStandardDeviation, noise);
    for (size_t i = 0; i < data.slices.size(); ++i)
      EXPECT_EQ(data.slices[i].kSpace, expected.slices[i].kSpace);
    const Maps maps = ESPIRiTMaps(expected);
    EXPECT_EQ(r.coilMaps, maps);

    // One ReconstructSlices run per group, with the noise level divided by sqrt(averages).
    ASSERT_EQ(r.groups.size(), 2u);
    std::vector<ReconstructionResult> byHand;
    for (const auto & group : r.groups)
    {
      const int averages = expected.slices[group.first].averages;
      EXPECT_EQ(group.noiseStandardDeviation, noise / std::sqrt(static_cast<double>(averages)));
      std::vector<MultiCoilData> part;
      for (size_t i = group.first; i < group.last; ++i)
        part.push_back(SliceData(expected.slices[i], maps[i]));
      auto settings = options.settings;
      settings.noiseStandardDeviation = group.noiseStandardDeviation;
      for (auto & result : ReconstructSlices(TinyPrior(), part, settings))
        byHand.push_back(std::move(result));
    }
    EXPECT_EQ(r.groups[0].first, 0u);
    EXPECT_EQ(r.groups[0].last, 2u);
    EXPECT_EQ(r.groups[1].last, 3u);
    ASSERT_EQ(r.slices.size(), 3u);
    for (size_t i = 0; i < 3; ++i)
    {
      EXPECT_EQ(r.slices[i].mean, byHand[i].mean) << "slice " << i; // bit for bit
      EXPECT_EQ(r.slices[i].tau, byHand[i].tau);
      EXPECT_EQ(r.slices[i].relativeResidual, byHand[i].relativeResidual);
      EXPECT_EQ(r.slices[i].intensityScale, byHand[i].intensityScale);
    }
    EXPECT_NE(r.slices[0].tau, r.slices[2].tau); // the averaged slice has less noise

    // Batches numbered over the file; each batch's cost counted once; one progress count.
    const std::vector<int> batches = sliceBatch == 1 ? std::vector<int>{ 0, 1, 2 } : std::vector<int>{ 0, 0, 1 };
    const int              total = 3 * (batches.back() + 1); // annealing steps x batches
    for (size_t i = 0; i < 3; ++i)
      EXPECT_EQ(r.slices[i].batch, batches[i]);
    int64_t nfe = 0;
    for (size_t i = 0; i < 3; ++i)
      if (i == 0 || batches[i] != batches[i - 1])
        nfe += byHand[i].statistics.denoiserEvaluations;
    EXPECT_EQ(r.summary.statistics.denoiserEvaluations, nfe);
    EXPECT_EQ(r.summary.smallestTau, std::min(byHand[0].tau, byHand[2].tau));
    ASSERT_EQ(calls.size(), static_cast<size_t>(total));
    for (size_t i = 0; i < calls.size(); ++i)
      EXPECT_EQ(calls[i], std::make_pair(static_cast<int>(i) + 1, total));
  }
}

TEST(RawDataReconstruction, TauAsConfiguredWithoutNoiseLevel)
{
  RawData data = ThreeSlices();
  auto    options = Fast();
  options.noiseFromScans = false; // daps-recon --tau
  const auto r = ReconstructRawData(TinyPrior(), data, options);
  EXPECT_TRUE(r.prewhitened);
  for (const auto & s : r.slices)
    EXPECT_EQ(s.tau, options.settings.daps.tau);
  for (const auto & g : r.groups)
    EXPECT_EQ(g.noiseStandardDeviation, 0.0);
}

TEST(RawDataReconstruction, ZeroFilledWithWalshOrGivenMapsNeedsNoPrior)
{
  RawData    data = ThreeSlices(), unwhitened = data;
  auto       options = Fast();
  options.adjointOnly = true;
  options.prewhiten = false;
  options.coilMaps = "walsh";
  const auto r = ReconstructRawData(Prior{}, data, options);
  EXPECT_FALSE(r.prewhitened);
  EXPECT_EQ(r.noiseStandardDeviation, 0.0);
  EXPECT_TRUE(r.groups.empty());
  EXPECT_EQ(r.summary.largestIntensityScale, 0.0);
  for (size_t i = 0; i < data.slices.size(); ++i)
  {
    EXPECT_EQ(data.slices[i].kSpace, unwhitened.slices[i].kSpace);
    EXPECT_EQ(r.coilMaps[i], WalshCoilMaps(data.slices[i]));
    EXPECT_EQ(r.slices[i].mean, ZeroFilledImage(SliceData(data.slices[i], r.coilMaps[i]), 1));
  }
  options.coilMapsGiven = r.coilMaps;
  options.coilMaps = "not used";
  const auto given = ReconstructRawData(Prior{}, data, options);
  for (size_t i = 0; i < data.slices.size(); ++i)
    EXPECT_EQ(given.slices[i].mean, r.slices[i].mean);
}

TEST(RawDataReconstruction, StackGeometry)
{
  RawData    data = ThreeSlices();
  const auto first = data.slices.front();
  auto       g = StackGeometry(data.slices); // repetitions of one slice: its thickness apart
  EXPECT_EQ(g.spacing[0], first.spacing[0]);
  EXPECT_EQ(g.spacing[1], first.spacing[1]);
  EXPECT_EQ(g.spacing[2], first.sliceThickness);
  EXPECT_EQ(g.origin, first.Origin());
  for (int i = 0; i < 3; ++i)
  {
    EXPECT_EQ(g.direction[3 * i + 0], first.readDirection[i]);
    EXPECT_EQ(g.direction[3 * i + 2], first.sliceDirection[i]);
  }
  for (size_t i = 0; i < data.slices.size(); ++i)
    for (int k = 0; k < 3; ++k)
      data.slices[i].position[k] += 2.5 * static_cast<double>(i) * first.sliceDirection[k];
  EXPECT_NEAR(StackGeometry(data.slices).spacing[2], 2.5, 1e-12);
  EXPECT_NE(ErrorOf([] { StackGeometry({}); }).find("no slices"), std::string::npos);
}

TEST(RawDataReconstruction, ErrorsSayWhatToChange)
{
  const RawData original = ThreeSlices();
  const auto    errorWith = [&](const std::function<void(RawDataReconstructionOptions &, RawData &, Prior &)> & change) {
    RawData data = original;
    auto    options = Fast();
    Prior   prior = TinyPrior();
    change(options, data, prior);
    return ErrorOf([&] { ReconstructRawData(prior, data, options); });
  };
  const std::pair<std::function<void(RawDataReconstructionOptions &, RawData &, Prior &)>, std::string> cases[] = {
    { [](auto & o, auto &, auto &) { o.coilMapsGiven.resize(2); }, "coil maps were given for 2 slice(s) but the data have 3" },
    { [](auto & o, auto & d, auto &) { o.coilMapsGiven = ESPIRiTMaps(d); o.coilMapsGiven[1].pop_back(); },
      "the coil maps given for slice 1 have 4095 values; the slice needs 32 x 32 x 4" },
    { [](auto & o, auto &, auto &) { o.coilMaps = "bogus"; }, "choose espirit or walsh" },
    { [](auto &, auto &, auto & p) { p = Prior{}; }, "no prior is set" },
    { [](auto &, auto & d, auto &) { d.slices.clear(); }, "no slices" },
    { [](auto &, auto & d, auto &) { d.slices[1].kSpace[7] = Complex(NAN, 0.0f); }, "NaN" },
    { [](auto & o, auto &, auto &) { o.settings.threads = -1; }, "thread count" },
  };
  for (const auto & [change, needle] : cases)
    EXPECT_NE(errorWith(change).find(needle), std::string::npos) << errorWith(change);

  // Bad input is told apart from other failures (the Python module raises ValueError for it).
  RawData data = original;
  auto    options = Fast();
  options.coilMaps = "bogus";
  try
  {
    ReconstructRawData(TinyPrior(), data, options);
    ADD_FAILURE() << "no exception";
  }
  catch (const std::exception & e)
  {
    EXPECT_EQ(DescribeError(e).kind, ErrorDescription::Kind::InvalidInput);
    EXPECT_EQ(DescribeError(e).message.find("unknown coil-map method"), 0u) << DescribeError(e).message;
  }

  // A progress function that returns false aborts, once it has been called.
  data = original;
  int calls = 0;
  try
  {
    ReconstructRawData(TinyPrior(), data, Fast(), [&](int, int) { return ++calls < 2; });
    ADD_FAILURE() << "not aborted";
  }
  catch (const itk::ProcessAborted & e)
  {
    EXPECT_EQ(DescribeError(e).kind, ErrorDescription::Kind::Aborted);
  }
  EXPECT_EQ(calls, 2);
}
