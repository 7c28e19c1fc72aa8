#include "dapsmriIntensityScale.h"

#include <stdexcept>

namespace dapsmri
{

torch::Tensor
CalibrationRegion(const torch::Tensor & maskIn)
{
  const auto    mask = (maskIn != 0).to(torch::kCPU);
  const int64_t H = mask.size(0), W = mask.size(1), cy = H / 2, cx = W / 2;
  auto          region = torch::zeros({ H, W });
  const auto    rowFull = mask.all(1), columnFull = mask.all(0);
  // Grow a contiguous run of true entries around `centre` in a 1-D boolean tensor.
  const auto run = [](const torch::Tensor & full, int64_t centre) {
    auto    a = full.accessor<bool, 1>();
    int64_t lo = centre, hi = centre;
    if (!a[centre])
      return std::pair<int64_t, int64_t>{ 0, 0 };
    while (lo > 0 && a[lo - 1])
      --lo;
    while (hi + 1 < full.size(0) && a[hi + 1])
      ++hi;
    return std::pair<int64_t, int64_t>{ lo, hi - lo + 1 };
  };
  if (auto [start, length] = run(rowFull, cy); length >= 2)
  {
    region.narrow(0, start, length).fill_(1.0f);
    return region;
  }
  if (auto [start, length] = run(columnFull, cx); length >= 2)
  {
    region.narrow(1, start, length).fill_(1.0f);
    return region;
  }
  int64_t half = 0;
  while (cy - half - 1 >= 0 && cx - half - 1 >= 0 && cy + half + 1 < H && cx + half + 1 < W &&
         mask.narrow(0, cy - half - 1, 2 * half + 3).narrow(1, cx - half - 1, 2 * half + 3).all().item<bool>())
  {
    ++half;
  }
  if (mask[cy][cx].item<bool>())
  {
    region.narrow(0, cy - half, 2 * half + 1).narrow(1, cx - half, 2 * half + 1).fill_(1.0f);
  }
  return region;
}

double
EstimateIntensityScale(const Operator & op, const torch::Tensor & y, const torch::Tensor & mask)
{
  auto region = CalibrationRegion(mask);
  if (region.sum().item<double>() < 4.0)
  {
    region = (mask != 0).to(torch::kFloat);
  }
  const auto image = op.Adjoint((y * region).unsqueeze(0)).abs().flatten();
  const double scale = torch::quantile(image, 0.99).item<double>();
  if (!(scale > 0.0))
  {
    // p99 of |A^H y| is zero when the data are zero, or when the coil maps vanish over more than
    // 99% of the image (ESPIRiT maps from too few calibration lines can).
    throw std::invalid_argument(
      "the zero-filled image of the calibration data is zero over more than 99% of the field of view: "
      "either the k-space data are zero where they were sampled, or the coil sensitivities are zero almost "
      "everywhere (check the coil maps; ESPIRiT maps estimated from too few calibration lines can vanish)");
  }
  return scale;
}

} // namespace dapsmri
