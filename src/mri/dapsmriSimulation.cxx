#include "dapsmriSimulation.h"

#include "dapsmriErrors.h"
#include "dapsmriSENSEOperator.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace dapsmri
{

std::vector<float>
SheppLoganPhantom(int64_t height, int64_t width)
{
  struct Ellipse
  {
    double value, a, b, x0, y0, degrees;
  };
  // Toft's modified Shepp-Logan: the central ellipses get contrasts visible on a [0, 1] scale.
  static const Ellipse ellipses[] = {
    { 1.0, 0.69, 0.92, 0.0, 0.0, 0.0 },        { -0.8, 0.6624, 0.8740, 0.0, -0.0184, 0.0 },
    { -0.2, 0.1100, 0.3100, 0.22, 0.0, -18.0 }, { -0.2, 0.1600, 0.4100, -0.22, 0.0, 18.0 },
    { 0.1, 0.2100, 0.2500, 0.0, 0.35, 0.0 },    { 0.1, 0.0460, 0.0460, 0.0, 0.1, 0.0 },
    { 0.1, 0.0460, 0.0460, 0.0, -0.1, 0.0 },    { 0.1, 0.0460, 0.0230, -0.08, -0.605, 0.0 },
    { 0.1, 0.0230, 0.0230, 0.0, -0.606, 0.0 },  { 0.1, 0.0230, 0.0460, 0.06, -0.605, 0.0 },
  };
  std::vector<float> image(static_cast<size_t>(height * width), 0.0f);
  for (int64_t iy = 0; iy < height; ++iy)
  {
    for (int64_t ix = 0; ix < width; ++ix)
    {
      const double x = (2.0 * ix - (width - 1)) / width, y = (2.0 * iy - (height - 1)) / height;
      double       v = 0.0;
      for (const auto & e : ellipses)
      {
        const double t = e.degrees * M_PI / 180.0, dx = x - e.x0, dy = -y - e.y0;
        const double u = (dx * std::cos(t) + dy * std::sin(t)) / e.a, w = (-dx * std::sin(t) + dy * std::cos(t)) / e.b;
        if (u * u + w * w <= 1.0)
          v += e.value;
      }
      image[static_cast<size_t>(iy * width + ix)] = static_cast<float>(std::max(0.0, v));
    }
  }
  return image;
}

std::vector<std::complex<float>>
SimulatedCoilMaps(int64_t coils, int64_t height, int64_t width)
{
  std::vector<std::complex<float>> maps(static_cast<size_t>(coils * height * width));
  for (int64_t iy = 0; iy < height; ++iy)
  {
    for (int64_t ix = 0; ix < width; ++ix)
    {
      const double x = (2.0 * ix - (width - 1)) / width, y = (2.0 * iy - (height - 1)) / height;
      double       sumSquares = 0.0;
      auto *       pixel = &maps[static_cast<size_t>((iy * width + ix) * coils)];
      for (int64_t c = 0; c < coils; ++c)
      {
        const double angle = 2.0 * M_PI * static_cast<double>(c) / static_cast<double>(coils);
        const double d2 = std::pow(x - 1.2 * std::cos(angle), 2) + std::pow(y - 1.2 * std::sin(angle), 2);
        const double magnitude = std::exp(-d2 / 0.3);
        pixel[c] = std::polar(static_cast<float>(magnitude), static_cast<float>(angle + 0.4 * x - 0.3 * y));
        sumSquares += magnitude * magnitude;
      }
      for (int64_t c = 0; c < coils; ++c)
        pixel[c] /= static_cast<float>(std::sqrt(sumSquares));
    }
  }
  return maps;
}

std::vector<unsigned char>
FastMRIMask(int64_t height, int64_t width, double acceleration, double centerFraction, uint64_t seed, bool equispaced)
{
  return TranslateErrors("dapsmri::FastMRIMask", [&] {
    if (!(acceleration >= 1.0) || !(centerFraction > 0.0) || centerFraction > 1.0 || height < 1 || width < 1)
      throw std::invalid_argument("FastMRIMask: need acceleration >= 1, 0 < centre fraction <= 1 and a positive size");
    const int64_t    center = std::max<int64_t>(1, std::llround(height * centerFraction));
    const int64_t    start = (height - center + 1) / 2;
    std::vector<int> rows(static_cast<size_t>(height), 0);
    std::fill(rows.begin() + start, rows.begin() + start + center, 1);
    // fastMRI: the outer rows are sampled with the probability that brings the total to H / R.
    const double outer = std::max(0.0, (height / acceleration - center) / static_cast<double>(height - center));
    if (equispaced)
    {
      const int64_t spacing = std::max<int64_t>(1, std::llround(1.0 / std::max(outer, 1e-9)));
      for (int64_t r = (seed % static_cast<uint64_t>(spacing)); r < height; r += spacing)
        rows[static_cast<size_t>(r)] = 1;
    }
    else
    {
      std::mt19937_64                        engine(seed);
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      for (auto & r : rows)
        if (uniform(engine) < outer)
          r = 1;
    }
    std::vector<unsigned char> mask(static_cast<size_t>(height * width));
    for (int64_t y = 0; y < height; ++y)
      std::fill_n(mask.begin() + y * width, width, static_cast<unsigned char>(rows[static_cast<size_t>(y)]));
    return mask;
  });
}

std::vector<unsigned char>
VariableDensityMask(int64_t height, int64_t width, double acceleration, double centerFraction, uint64_t seed,
                    double power)
{
  return TranslateErrors("dapsmri::VariableDensityMask", [&] {
    if (!(acceleration >= 1.0) || !(centerFraction > 0.0) || centerFraction > 1.0 || height < 1 || width < 1 ||
        !(power >= 0.0))
      throw std::invalid_argument("VariableDensityMask: need acceleration >= 1, 0 < centre fraction <= 1, power >= 0");
    const int64_t       center = std::max<int64_t>(1, std::llround(height * centerFraction));
    const int64_t       start = (height - center + 1) / 2;
    std::vector<double> density(static_cast<size_t>(height));
    double              outerSum = 0.0;
    for (int64_t y = 0; y < height; ++y)
    {
      const double distance = std::abs(static_cast<double>(y - height / 2)) / std::max<double>(1.0, height / 2.0);
      density[static_cast<size_t>(y)] = std::pow(std::max(0.0, 1.0 - distance), power);
      if (y < start || y >= start + center)
        outerSum += density[static_cast<size_t>(y)];
    }
    // Scale the outer densities so that their expected count brings the total to H / R.
    const double wanted = std::max(0.0, height / acceleration - center);
    const double scale = outerSum > 0.0 ? wanted / outerSum : 0.0;
    std::mt19937_64                        engine(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<unsigned char>             mask(static_cast<size_t>(height * width), 0);
    for (int64_t y = 0; y < height; ++y)
    {
      const bool inside = y >= start && y < start + center;
      if (inside || uniform(engine) < std::min(1.0, scale * density[static_cast<size_t>(y)]))
        std::fill_n(mask.begin() + y * width, width, 1);
    }
    return mask;
  });
}

namespace
{
/** Bridson's dart throwing with a radius r(p) = base * (1 + 2 * distance from the centre). */
std::vector<unsigned char>
PoissonDisc(int64_t H, int64_t W, double base, int64_t calibration, uint64_t seed)
{
  std::mt19937_64                        engine(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<unsigned char>             mask(static_cast<size_t>(H * W), 0);
  std::vector<std::pair<double, double>> points, active;
  const auto radius = [&](double y, double x) {
    const double dy = (y - H / 2) / (H / 2.0), dx = (x - W / 2) / (W / 2.0);
    return base * (1.0 + 2.0 * std::sqrt(dy * dy + dx * dx));
  };
  // A grid of cells smaller than the smallest radius holds at most one point each, so a
  // candidate only needs the cells within the largest radius around it.
  const double          cell = base / std::sqrt(2.0);
  const int64_t         rowsOfCells = static_cast<int64_t>(H / cell) + 1, columnsOfCells = static_cast<int64_t>(W / cell) + 1;
  std::vector<int64_t>  grid(static_cast<size_t>(rowsOfCells * columnsOfCells), -1);
  const int64_t         reach = static_cast<int64_t>(std::ceil(base * (1.0 + 2.0 * std::sqrt(2.0)) / cell));
  const auto farEnough = [&](double y, double x) {
    const double  r = radius(y, x);
    const int64_t cy = static_cast<int64_t>(y / cell), cx = static_cast<int64_t>(x / cell);
    for (int64_t gy = std::max<int64_t>(0, cy - reach); gy <= std::min(rowsOfCells - 1, cy + reach); ++gy)
      for (int64_t gx = std::max<int64_t>(0, cx - reach); gx <= std::min(columnsOfCells - 1, cx + reach); ++gx)
      {
        const int64_t index = grid[static_cast<size_t>(gy * columnsOfCells + gx)];
        if (index < 0)
          continue;
        const auto & p = points[static_cast<size_t>(index)];
        if ((p.first - y) * (p.first - y) + (p.second - x) * (p.second - x) < r * r)
          return false;
      }
    return true;
  };
  const auto add = [&](double y, double x) {
    points.push_back({ y, x });
    active.push_back(points.back());
    grid[static_cast<size_t>(static_cast<int64_t>(y / cell) * columnsOfCells + static_cast<int64_t>(x / cell))] =
      static_cast<int64_t>(points.size()) - 1;
  };
  add(H / 2.0, W / 2.0);
  while (!active.empty())
  {
    const size_t i = static_cast<size_t>(uniform(engine) * active.size()) % active.size();
    const auto   centre = active[i];
    bool         placed = false;
    for (int attempt = 0; attempt < 30 && !placed; ++attempt)
    {
      const double r = radius(centre.first, centre.second) * (1.0 + uniform(engine));
      const double angle = 2.0 * M_PI * uniform(engine);
      const double y = centre.first + r * std::sin(angle), x = centre.second + r * std::cos(angle);
      if (y < 0 || y >= H || x < 0 || x >= W || !farEnough(y, x))
        continue;
      add(y, x);
      placed = true;
    }
    if (!placed)
      active.erase(active.begin() + static_cast<long>(i));
  }
  for (const auto & p : points)
    mask[static_cast<size_t>(static_cast<int64_t>(p.first) * W + static_cast<int64_t>(p.second))] = 1;
  const int64_t y0 = (H - calibration + 1) / 2, x0 = (W - calibration + 1) / 2;
  for (int64_t y = std::max<int64_t>(0, y0); y < std::min(H, y0 + calibration); ++y)
    for (int64_t x = std::max<int64_t>(0, x0); x < std::min(W, x0 + calibration); ++x)
      mask[static_cast<size_t>(y * W + x)] = 1;
  return mask;
}
} // namespace

std::vector<unsigned char>
PoissonDiscMask(int64_t height, int64_t width, double acceleration, int64_t calibration, uint64_t seed)
{
  return TranslateErrors("dapsmri::PoissonDiscMask", [&] {
    if (!(acceleration > 1.0) || height < 2 || width < 2 || calibration < 0 ||
        calibration * calibration * acceleration > static_cast<double>(height * width))
      throw std::invalid_argument("PoissonDiscMask: need acceleration > 1 and a calibration square smaller than the "
                                  "sampled fraction");
    // Bisection on the base radius: the sampled fraction falls as the radius grows.
    double lo = 0.3, hi = 0.5 * std::max(height, width), bestError = 1e300;
    std::vector<unsigned char> best;
    for (int iteration = 0; iteration < 30 && bestError >= 0.05; ++iteration)
    {
      const double mid = 0.5 * (lo + hi);
      auto         mask = PoissonDisc(height, width, mid, calibration, seed);
      const double rate = static_cast<double>(std::count(mask.begin(), mask.end(), 1)) / static_cast<double>(mask.size());
      if (std::abs(rate * acceleration - 1.0) < bestError)
      {
        bestError = std::abs(rate * acceleration - 1.0);
        best = std::move(mask);
      }
      (rate * acceleration > 1.0 ? lo : hi) = mid;
    }
    return best;
  });
}

std::vector<std::complex<float>>
SimulateKSpace(const std::vector<std::complex<float>> & image, const std::vector<std::complex<float>> & coilMaps,
               int64_t coils, int64_t height, int64_t width, const std::vector<unsigned char> & mask, double noiseStd,
               uint64_t seed)
{
  return TranslateErrors("dapsmri::SimulateKSpace", [&] {
    const auto n = static_cast<size_t>(height * width);
    if (image.size() != n || coilMaps.size() != n * static_cast<size_t>(coils) || mask.size() != n)
      throw std::invalid_argument("SimulateKSpace: image, coil maps and mask sizes do not agree");
    torch::NoGradGuard noGrad;
    auto x = torch::from_blob(const_cast<std::complex<float> *>(image.data()), { 1, height, width }, torch::kComplexFloat);
    auto maps = torch::from_blob(const_cast<std::complex<float> *>(coilMaps.data()), { height, width, coils },
                                 torch::kComplexFloat)
                  .permute({ 2, 0, 1 });
    auto m = torch::from_blob(const_cast<unsigned char *>(mask.data()), { height, width }, torch::kUInt8).to(torch::kFloat);
    auto generator = at::detail::createCPUGenerator(seed);
    auto noise = torch::view_as_complex(torch::randn({ coils, height, width, 2 }, generator, torch::kFloat));
    auto y = (CenteredFFT2(x * maps) + noiseStd * noise) * m;
    y = y.permute({ 1, 2, 0 }).contiguous();
    const auto * p = reinterpret_cast<const std::complex<float> *>(y.data_ptr<c10::complex<float>>());
    return std::vector<std::complex<float>>(p, p + y.numel());
  });
}

double
MagnitudePSNR(const std::vector<std::complex<float>> & image, const std::vector<std::complex<float>> & reference)
{
  if (image.size() != reference.size() || reference.empty())
    throw std::invalid_argument("MagnitudePSNR: the image has " + std::to_string(image.size()) +
                                " pixels, the reference " + std::to_string(reference.size()));
  double peak = 0.0, se = 0.0;
  for (size_t i = 0; i < reference.size(); ++i)
  {
    peak = std::max(peak, static_cast<double>(std::abs(reference[i])));
    const double d = std::abs(image[i]) - std::abs(reference[i]);
    se += d * d;
  }
  return 10.0 * std::log10(peak * peak / std::max(1e-30, se / static_cast<double>(reference.size())));
}

std::vector<unsigned char>
UndersamplingMask(const std::string & type, int64_t height, int64_t width, double acceleration, double centerFraction,
         uint64_t seed)
{
  if (type == "random" || type == "equispaced")
    return FastMRIMask(height, width, acceleration, centerFraction, seed, type == "equispaced");
  if (type == "variable-density")
    return VariableDensityMask(height, width, acceleration, centerFraction, seed);
  if (type == "poisson")
    return PoissonDiscMask(height, width, acceleration, std::llround(centerFraction * height), seed);
  throw std::invalid_argument("unknown mask \"" + type + "\" (choose random, equispaced, variable-density or poisson)");
}

} // namespace dapsmri
