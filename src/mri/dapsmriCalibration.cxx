#include "dapsmriCalibration.h"

#include "dapsmriErrors.h"
#include "dapsmriIntensityScale.h"
#include "dapsmriSENSEOperator.h"

#include <algorithm>
#include <cmath>

namespace dapsmri
{

double
PrewhitenCoils(RawData & data)
{
  return TranslateErrors("dapsmri::PrewhitenCoils", [&] {
    if (data.noise.empty())
      return 0.0;
    const int64_t C = data.coils, N = static_cast<int64_t>(data.noise.size()) / C;
    if (N < 2 * C)
      throw std::invalid_argument("only " + std::to_string(N) + " noise samples for " + std::to_string(C) +
                                  " coils: too few to estimate the noise covariance");
    torch::NoGradGuard noGrad;
    auto noise = torch::from_blob(data.noise.data(), { N, C }, torch::kComplexFloat).to(torch::kComplexDouble);
    auto psi = noise.t().matmul(noise.conj()) / static_cast<double>(N); // E[n n^H], [C, C]
    if (data.noiseDwellTime > 0.0 && data.dataDwellTime > 0.0)
      psi = psi * (data.noiseDwellTime / data.dataDwellTime); // noise power scales with bandwidth
    torch::Tensor L;
    try
    {
      L = torch::linalg_cholesky(psi);
    }
    catch (const c10::Error &)
    {
      throw std::invalid_argument("the noise covariance of the noise scans is singular (a dead or duplicated coil?)");
    }
    // s L^-1 with s^2 = trace(Psi) / C, the coils' mean noise power: white noise of the same
    // power, so the image keeps the units of the input data.
    const double power = torch::real(torch::trace(psi)).item<double>() / static_cast<double>(C);
    const auto   whitening = (std::sqrt(power) * torch::linalg_inv(L)).to(torch::kComplexFloat); // [C, C]
    for (auto & s : data.slices)
    {
      auto k = torch::from_blob(s.kSpace.data(), { s.height * s.width, C }, torch::kComplexFloat);
      k.copy_(k.matmul(whitening.t())); // each sample's coil vector: L^-1 k
    }
    return std::sqrt(0.5 * power);
  });
}

namespace
{
torch::Tensor
KSpaceOf(const RawSlice & slice) // [C, H, W]
{
  return torch::from_blob(const_cast<std::complex<float> *>(slice.kSpace.data()), { slice.height, slice.width, slice.coils },
                          torch::kComplexFloat)
    .permute({ 2, 0, 1 });
}

/** The fully sampled centre block, from the calibration flags (or the mask when there are none). */
torch::Tensor
CalibrationOf(const RawSlice & slice)
{
  const auto & flags = std::any_of(slice.calibration.begin(), slice.calibration.end(), [](unsigned char v) { return v; })
                         ? slice.calibration
                         : slice.mask;
  auto region = CalibrationRegion(
    torch::from_blob(const_cast<unsigned char *>(flags.data()), { slice.height, slice.width }, torch::kUInt8).to(torch::kFloat));
  if (region.sum().item<float>() == 0.0f)
    throw std::invalid_argument("no fully sampled calibration region at the centre of k-space: coil maps cannot be "
                                "estimated; pass them with --coil-maps");
  return region;
}

/** Removes the arbitrary per-pixel phase of eigenvectors [H, W, C] by referencing them to the
 * coil with the most energy, and returns them interleaved [y][x][coil]. */
std::vector<std::complex<float>>
PhaseReferenced(torch::Tensor maps, int64_t referenceCoil)
{
  auto phase = maps.select(-1, referenceCoil);
  maps = maps * (phase.conj() / phase.abs().clamp_min(1e-30)).unsqueeze(-1);
  maps = maps.to(torch::kComplexFloat).contiguous();
  const auto * p = reinterpret_cast<const std::complex<float> *>(maps.data_ptr<c10::complex<float>>());
  return std::vector<std::complex<float>>(p, p + maps.numel());
}
} // namespace

std::vector<std::complex<float>>
WalshCoilMaps(const RawSlice & slice, int kernelSize)
{
  return TranslateErrors("dapsmri::WalshCoilMaps", [&] {
    if (kernelSize < 1 || kernelSize % 2 == 0)
      throw std::invalid_argument("the Walsh kernel size must be odd and positive");
    torch::NoGradGuard noGrad;
    const int64_t H = slice.height, W = slice.width, C = slice.coils;
    const auto    k = KSpaceOf(slice);
    const auto    region = CalibrationOf(slice);
    // Low-resolution coil images, their local covariance R = sum_window x x^H, its dominant eigenvector.
    auto x = CenteredIFFT2(k * region);                  // [C, H, W]
    auto outer = x.unsqueeze(1) * x.conj().unsqueeze(0); // [C, C, H, W]
    auto smooth = [&](const torch::Tensor & t) {
      return torch::avg_pool2d(t.reshape({ 1, C * C, H, W }), kernelSize, 1, kernelSize / 2, false, true).reshape({ C, C, H, W });
    };
    auto R = torch::complex(smooth(torch::real(outer).contiguous()), smooth(torch::imag(outer).contiguous()));
    auto [values, vectors] = torch::linalg_eigh(R.permute({ 2, 3, 0, 1 }).to(torch::kComplexDouble)); // ascending
    auto maps = vectors.select(-1, C - 1);                                                         // [H, W, C]
    maps = maps / maps.abs().pow(2).sum(-1, true).sqrt().clamp_min(1e-30);
    return PhaseReferenced(maps, x.abs().pow(2).sum({ 1, 2 }).argmax().item<int64_t>());
  });
}

std::vector<std::complex<float>>
ESPIRiTCoilMaps(const RawSlice & slice, int kernelSize, double threshold, double crop)
{
  return TranslateErrors("dapsmri::ESPIRiTCoilMaps", [&] {
    if (kernelSize < 2 || !(threshold > 0.0 && threshold < 1.0) || !(crop >= 0.0 && crop < 1.0))
      throw std::invalid_argument("ESPIRiT needs a kernel of at least 2, a threshold in (0, 1) and a crop in [0, 1)");
    torch::NoGradGuard noGrad;
    const int64_t H = slice.height, W = slice.width, C = slice.coils;
    const auto    k = KSpaceOf(slice).to(torch::kComplexDouble);
    const auto    region = CalibrationOf(slice);
    const auto    rows = region.sum(1).nonzero().flatten(), columns = region.sum(0).nonzero().flatten();
    // At most a centred 24 x 24 block: more high frequencies (a fully sampled scan) add singular
    // values above the threshold until every pixel has several eigenvalues ~1 and the top
    // eigenvector is an arbitrary mix of coils. With fewer than 24 lines, every readout sample of
    // them keeps the calibration matrix well determined.
    constexpr int64_t maxSide = 24;
    const int64_t     firstLine = rows.min().item<int64_t>(), firstSample = columns.min().item<int64_t>();
    const int64_t     lines = rows.max().item<int64_t>() - firstLine + 1;
    const int64_t     samples = columns.max().item<int64_t>() - firstSample + 1;
    const int64_t     Ly = std::min(lines, maxSide), Lx = lines >= maxSide ? std::min(samples, maxSide) : samples;
    const int64_t     r0 = firstLine + (lines - Ly) / 2, c0 = firstSample + (samples - Lx) / 2;
    // Few calibration lines: a kernel at most half their number tall keeps enough rows of blocks
    // (the kernel still spans `kernelSize` along x).
    const int64_t kh = std::max<int64_t>(1, std::min<int64_t>(kernelSize, Ly / 2));
    const int64_t kw = std::min<int64_t>(kernelSize, Lx);
    auto          calibration = k.narrow(1, r0, Ly).narrow(2, c0, Lx); // [C, Ly, Lx]

    // Calibration matrix: one row per kh x kw block, C * kh * kw columns.
    auto blocks = calibration.unfold(1, kh, 1).unfold(2, kw, 1); // [C, ny, nx, kh, kw]
    auto matrix = blocks.permute({ 1, 2, 0, 3, 4 }).reshape({ -1, C * kh * kw });
    if (matrix.size(0) < matrix.size(1) / 4)
      throw std::invalid_argument("the calibration region is too small for ESPIRiT (" + std::to_string(Ly) + " x " +
                                  std::to_string(Lx) + "); use Walsh maps");
    auto [U, S, Vh] = torch::linalg_svd(matrix, false);
    const auto keep = (S > threshold * S.max()).sum().item<int64_t>();
    auto       kernels = Vh.narrow(0, 0, keep).reshape({ keep, C, kh, kw });

    // Per pixel G = sum_n a_n a_n^H over the kernels' coil vectors a_n in image space (each kernel
    // zero-padded to the matrix, centred orthonormal inverse FFT, scaled by sqrt(H W / (kh kw))).
    // A product of two inverse FFTs is the inverse FFT of a cross-correlation, so G_cd is the
    // inverse FFT of R_cd[m] = sum_n sum_r k_nc[r + m] conj(k_nd[r]), whose (2 kh - 1) x (2 kw - 1)
    // lags sit around the centre (wrapped where the matrix is smaller): C x C image-size FFTs
    // instead of keep x C of them and a small matrix product per pixel.
    auto correlation = torch::zeros({ C, C, H, W }, kernels.options());
    for (int64_t my = 1 - kh; my < kh; ++my)
      for (int64_t mx = 1 - kw; mx < kw; ++mx)
      {
        const int64_t oy = kh - std::abs(my), ox = kw - std::abs(mx);
        // [C, n * oy * ox]: the kernels moved by the lag, and where they overlap the unmoved ones
        const auto moved = kernels.narrow(2, std::max<int64_t>(my, 0), oy).narrow(3, std::max<int64_t>(mx, 0), ox);
        const auto still = kernels.narrow(2, std::max<int64_t>(-my, 0), oy).narrow(3, std::max<int64_t>(-mx, 0), ox);
        const auto lag = moved.transpose(0, 1).reshape({ C, -1 }).matmul(
          still.transpose(0, 1).reshape({ C, -1 }).conj().t());
        correlation.select(2, ((H / 2 + my) % H + H) % H).select(2, ((W / 2 + mx) % W + W) % W).add_(lag);
      }
    const double scale = std::sqrt(static_cast<double>(H * W)) / static_cast<double>(kh * kw);
    auto         G = (CenteredIFFT2(correlation) * scale).permute({ 2, 3, 0, 1 }).contiguous(); // [H, W, C, C]
    auto [values, vectors] = torch::linalg_eigh(G);     // ascending
    auto maps = vectors.select(-1, C - 1);              // [H, W, C]
    auto inside = (values.select(-1, C - 1) > crop).to(maps.dtype()).unsqueeze(-1);
    const auto strongest = CenteredIFFT2(k * region.to(k.dtype())).abs().pow(2).sum({ 1, 2 }).argmax().item<int64_t>();
    return PhaseReferenced(maps * inside, strongest);
  });
}

} // namespace dapsmri
