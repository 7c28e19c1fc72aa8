#include "dapsmriRawDataReconstruction.h"

#include "dapsmriCalibration.h"
#include "dapsmriRawDataImages.h"
#include "dapsmriSliceBatch.h"
#include "dapsmriStandardErrors.h"
#include "dapsmriStopwatch.h"

#include <cmath>
#include <stdexcept>

namespace dapsmri
{

namespace
{
/** Every slice's map: the given ones, checked, or estimated. */
std::vector<std::vector<std::complex<float>>>
CoilMaps(const RawData & data, const RawDataReconstructionOptions & options)
{
  const auto & slices = data.slices;
  if (!options.coilMapsGiven.empty())
  {
    if (options.coilMapsGiven.size() != slices.size())
      throw std::invalid_argument("coil maps were given for " + std::to_string(options.coilMapsGiven.size()) +
                                  " slice(s) but the data have " + std::to_string(slices.size()) +
                                  ": give one per slice, or none to estimate them");
    for (size_t i = 0; i < slices.size(); ++i)
    {
      const auto & s = slices[i];
      if (options.coilMapsGiven[i].size() != static_cast<size_t>(s.height * s.width * s.coils))
        throw std::invalid_argument("the coil maps given for slice " + std::to_string(i) + " have " +
                                    std::to_string(options.coilMapsGiven[i].size()) + " values; the slice needs " +
                                    std::to_string(s.width) + " x " + std::to_string(s.height) + " x " +
                                    std::to_string(s.coils) + " (x, y, coil)");
    }
    return options.coilMapsGiven;
  }
  if (options.coilMaps != "espirit" && options.coilMaps != "walsh")
    throw std::invalid_argument("unknown coil-map method \"" + options.coilMaps + "\" (choose espirit or walsh)");
  std::vector<std::vector<std::complex<float>>> maps;
  const ThreadCountScope                        threads(options.settings.threads); // calibration on every core too
  for (const auto & s : slices)
    maps.push_back(options.coilMaps == "walsh" ? WalshCoilMaps(s) : ESPIRiTCoilMaps(s));
  return maps;
}

MultiCoilData
SliceData(const RawSlice & s, const std::vector<std::complex<float>> & maps)
{
  return MultiCoilData{ s.kSpace.data(), maps.data(), s.mask.data(), s.height, s.width, s.coils };
}

/** DAPS for every slice, one ReconstructSlices run per group of equal averages. */
void
RunDAPS(const Prior & prior, const RawData & data, const RawDataReconstructionOptions & options,
        const ProgressFunction & progress, RawDataReconstruction & r)
{
  const auto & slices = data.slices;
  for (size_t first = 0, last = 0; first < slices.size(); first = last)
  {
    while (last < slices.size() && slices[last].averages == slices[first].averages)
      ++last;
    SliceGroup group{ first, last, options.settings.noiseStandardDeviation };
    if (options.noiseFromScans && r.noiseStandardDeviation > 0.0) // averaging lowers the noise
      group.noiseStandardDeviation = r.noiseStandardDeviation / std::sqrt(static_cast<double>(slices[first].averages));
    r.groups.push_back(group);
  }
  // One progress count over all runs: each runs ceil(slices / slices per batch) batches.
  const int64_t perBatch = SlicesPerBatch(prior, options.settings, slices.front().height, slices.front().width);
  const auto    batches = [perBatch](const SliceGroup & g) {
    return static_cast<int>((static_cast<int64_t>(g.last - g.first) + perBatch - 1) / perBatch);
  };
  const int steps = options.settings.daps.annealingSteps;
  int       total = 0;
  for (const auto & g : r.groups)
    total += batches(g) * steps;
  int batchesBefore = 0;
  for (const auto & g : r.groups)
  {
    std::vector<MultiCoilData> part;
    for (size_t i = g.first; i < g.last; ++i)
      part.push_back(SliceData(slices[i], r.coilMaps[i]));
    auto settings = options.settings;
    settings.noiseStandardDeviation = g.noiseStandardDeviation;
    const int offset = batchesBefore * steps;
    for (auto & result : ReconstructSlices(prior, part, settings, [&](int done, int) {
           return !progress || progress(offset + done, total);
         }))
    {
      result.batch += batchesBefore;
      r.slices.push_back(std::move(result));
    }
    batchesBefore += batches(g);
  }
}
} // namespace

VolumeGeometry
StackGeometry(const std::vector<RawSlice> & slices)
{
  return TranslateStandardErrors("dapsmri::StackGeometry", [&] {
    if (slices.empty())
      throw std::invalid_argument("there are no slices to stack");
    const auto &   first = slices.front();
    VolumeGeometry g;
    g.spacing = { first.spacing[0], first.spacing[1], first.sliceThickness };
    if (slices.size() > 1)
    {
      double gap = 0.0;
      for (int i = 0; i < 3; ++i)
        gap += (slices[1].position[i] - first.position[i]) * first.sliceDirection[i];
      if (gap > 0.0)
        g.spacing[2] = gap;
    }
    g.origin = first.Origin();
    for (int i = 0; i < 3; ++i)
    {
      g.direction[3 * i + 0] = first.readDirection[i];
      g.direction[3 * i + 1] = first.phaseDirection[i];
      g.direction[3 * i + 2] = first.sliceDirection[i];
    }
    return g;
  });
}

RawDataReconstruction
ReconstructRawData(const Prior & prior, RawData & data, const RawDataReconstructionOptions & options,
                   const ProgressFunction & progress)
{
  return TranslateStandardErrors("dapsmri::ReconstructRawData", [&] {
    if (!options.adjointOnly && !prior.IsSet())
      throw std::invalid_argument("no prior is set: load a model, or ask for the zero-filled (adjoint) image");
    CheckStackable(data.slices);
    RawDataReconstruction r;
    r.geometry = StackGeometry(data.slices);
    auto start = Clock::now();
    r.prewhitened = options.prewhiten && !data.noise.empty();
    r.noiseStandardDeviation = r.prewhitened ? PrewhitenCoils(data) : 0.0;
    r.coilMaps = CoilMaps(data, options);
    r.calibrationSeconds = SecondsSince(start);

    start = Clock::now();
    if (options.adjointOnly)
      for (size_t i = 0; i < data.slices.size(); ++i)
      {
        ReconstructionResult result;
        result.mean = ZeroFilledImage(SliceData(data.slices[i], r.coilMaps[i]), options.settings.threads);
        result.intensityScale = 0.0; // no DAPS ran
        r.slices.push_back(std::move(result));
      }
    else
      RunDAPS(prior, data, options, progress, r);
    r.summary = Summarise(r.slices);
    r.reconstructionSeconds = SecondsSince(start);
    return r;
  });
}

} // namespace dapsmri
