#include "dapsmriCalibration.h"

#include "dapsmriErrors.h"
#include "dapsmriIntensityScale.h"
#include "dapsmriSENSEOperator.h"

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
    const auto whitening = torch::linalg_inv(L).to(torch::kComplexFloat); // [C, C]
    for (auto & s : data.slices)
    {
      auto k = torch::from_blob(s.kSpace.data(), { s.height * s.width, C }, torch::kComplexFloat);
      k.copy_(k.matmul(whitening.t())); // each sample's coil vector: L^-1 k
    }
    return std::sqrt(0.5);
  });
}

std::vector<std::complex<float>>
WalshCoilMaps(const RawSlice & slice, int kernelSize)
{
  return TranslateErrors("dapsmri::WalshCoilMaps", [&] {
    if (kernelSize < 1 || kernelSize % 2 == 0)
      throw std::invalid_argument("the Walsh kernel size must be odd and positive");
    torch::NoGradGuard noGrad;
    const int64_t H = slice.height, W = slice.width, C = slice.coils;
    auto k = torch::from_blob(const_cast<std::complex<float> *>(slice.kSpace.data()), { H, W, C }, torch::kComplexFloat)
               .permute({ 2, 0, 1 });
    auto mask = torch::from_blob(const_cast<unsigned char *>(slice.calibration.data()), { H, W }, torch::kUInt8)
                  .to(torch::kFloat);
    auto region = CalibrationRegion(mask.sum().item<float>() > 0 ? mask
                                                                  : torch::from_blob(const_cast<unsigned char *>(slice.mask.data()),
                                                                                     { H, W }, torch::kUInt8)
                                                                      .to(torch::kFloat));
    if (region.sum().item<float>() == 0.0f)
      throw std::invalid_argument("no fully sampled calibration region at the centre of k-space: coil maps cannot be "
                                  "estimated; pass them with --coil-maps");
    // Low-resolution coil images, their local covariance R = sum_window x x^H, its dominant eigenvector.
    auto x = CenteredIFFT2(k * region);                                          // [C, H, W]
    auto outer = x.unsqueeze(1) * x.conj().unsqueeze(0);                         // [C, C, H, W]
    auto smooth = [&](const torch::Tensor & t) {
      return torch::avg_pool2d(t.reshape({ 1, C * C, H, W }), kernelSize, 1, kernelSize / 2, false, true).reshape({ C, C, H, W });
    };
    auto R = torch::complex(smooth(torch::real(outer).contiguous()), smooth(torch::imag(outer).contiguous()));
    auto [values, vectors] = torch::linalg_eigh(R.permute({ 2, 3, 0, 1 }).to(torch::kComplexDouble)); // ascending
    auto maps = vectors.select(-1, C - 1);                                                         // [H, W, C]
    // Remove the arbitrary phase of each eigenvector: reference to the coil with most energy.
    const auto reference = x.abs().pow(2).sum({ 1, 2 }).argmax().item<int64_t>();
    auto phase = maps.select(-1, reference);
    maps = maps * (phase.conj() / phase.abs().clamp_min(1e-30)).unsqueeze(-1);
    maps = (maps / maps.abs().pow(2).sum(-1, true).sqrt().clamp_min(1e-30)).to(torch::kComplexFloat).contiguous();
    const auto * p = reinterpret_cast<const std::complex<float> *>(maps.data_ptr<c10::complex<float>>());
    return std::vector<std::complex<float>>(p, p + maps.numel());
  });
}

} // namespace dapsmri
