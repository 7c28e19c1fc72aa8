#include "dapsmriDenoiser.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace dapsmri
{

torch::Tensor
Denoiser::operator()(const torch::Tensor & x, double sigma) const
{
  if (!(sigma > 0.0) || !std::isfinite(sigma))
  {
    throw std::invalid_argument("the denoiser's noise level must be positive and finite, got " +
                                std::to_string(sigma));
  }
  ++m_Evaluations;
  return Denoise(x, sigma);
}

// ---------------------------------------------------------------------------------------------
GaussianDenoiser::GaussianDenoiser(torch::Tensor mean, torch::Tensor variance)
  : m_Mean(mean.to(torch::kComplexFloat))
  , m_Variance(variance.to(mean.device(), torch::kFloat))
{
  if ((m_Variance <= 0).any().item<bool>())
  {
    throw std::invalid_argument("a Gaussian prior's variance must be positive");
  }
  m_Metadata.name = "gaussian";
  m_Metadata.description = "exact denoiser of a Gaussian prior";
  m_Metadata.sigmaData = std::sqrt(m_Variance.mean().item<double>());
}

torch::Tensor
GaussianDenoiser::Denoise(const torch::Tensor & x, double sigma) const
{
  const double s2 = sigma * sigma;
  return (m_Variance * x + s2 * m_Mean) / (m_Variance + s2);
}

// ---------------------------------------------------------------------------------------------
GaussianMixtureDenoiser::GaussianMixtureDenoiser(torch::Tensor means, std::vector<double> weights,
                                                 std::vector<double> variances)
  : m_Means(means.to(torch::kComplexFloat).contiguous())
  , m_Weights(std::move(weights))
  , m_Variances(std::move(variances))
{
  const auto K = static_cast<size_t>(m_Means.size(0));
  if (m_Means.dim() != 3 || m_Weights.size() != K || m_Variances.size() != K)
  {
    throw std::invalid_argument("a Gaussian mixture needs means [K, H, W] and K weights and variances");
  }
  double total = 0.0, second = 0.0;
  for (size_t k = 0; k < K; ++k)
  {
    if (!(m_Weights[k] > 0.0) || !(m_Variances[k] > 0.0))
    {
      throw std::invalid_argument("Gaussian mixture weights and variances must be positive");
    }
    total += m_Weights[k];
  }
  for (size_t k = 0; k < K; ++k)
  {
    m_Weights[k] /= total;
    second += m_Weights[k] * m_Variances[k];
  }
  m_Metadata.name = "gaussian-mixture";
  m_Metadata.description = "exact denoiser of a Gaussian mixture prior";
  m_Metadata.sigmaData = std::sqrt(second);
}

torch::Tensor
GaussianMixtureDenoiser::Responsibilities(const torch::Tensor & x, double sigma) const
{
  // log w_k - ||x - m_k||^2 / (2 v) - n log(2 pi v) / 2 with v = variance_k + sigma^2 and
  // n = 2 H W real dimensions; computed in double, normalised with log-sum-exp.
  const int64_t B = x.size(0), K = m_Means.size(0);
  const double  n = 2.0 * static_cast<double>(x.size(1) * x.size(2));
  auto          logits = torch::empty({ B, K }, x.options().dtype(torch::kDouble));
  for (int64_t k = 0; k < K; ++k)
  {
    const double v = m_Variances[k] + sigma * sigma;
    auto         d2 = (x - m_Means[k]).abs().pow(2).reshape({ B, -1 }).sum(1).to(torch::kDouble);
    logits.select(1, k).copy_(std::log(m_Weights[k]) - d2 / (2.0 * v) - 0.5 * n * std::log(v));
  }
  return torch::softmax(logits, 1);
}

torch::Tensor
GaussianMixtureDenoiser::Denoise(const torch::Tensor & x, double sigma) const
{
  const auto gamma = Responsibilities(x, sigma).to(torch::kFloat);
  auto       out = torch::zeros_like(x);
  const double s2 = sigma * sigma;
  for (int64_t k = 0; k < m_Means.size(0); ++k)
  {
    const double v = m_Variances[static_cast<size_t>(k)];
    out += gamma.select(1, k).reshape({ -1, 1, 1 }) * ((v * x + s2 * m_Means[k]) / (v + s2));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
PriorMetadata
ParsePriorMetadata(const std::string & text, const std::string & source)
{
  nlohmann::json json;
  try
  {
    json = nlohmann::json::parse(text);
  }
  catch (const nlohmann::json::exception & e)
  {
    throw std::invalid_argument(source + ": the metadata file " + TorchScriptDenoiser::MetadataFileName +
                                " is not valid JSON (" + e.what() + ")");
  }
  const auto require = [&](const char * key) -> const nlohmann::json & {
    if (!json.is_object() || !json.contains(key))
    {
      throw std::invalid_argument(source + ": the metadata lacks \"" + key +
                                  "\"; re-export the model with python/dapsmri_prior/export.py");
    }
    return json.at(key);
  };
  // nlohmann converts a number to an integer with a plain cast: undefined for a fraction out of
  // range (found by libFuzzer), truncating for a large integer (4294967297 would read as 1).
  const auto integer = [&](const char * key) -> int64_t {
    const auto & value = require(key);
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{ std::numeric_limits<int64_t>::max() }))
    {
      throw std::invalid_argument(source + ": the metadata's \"" + key + "\" must be an integer, not " + value.dump());
    }
    return value.get<int64_t>();
  };
  PriorMetadata meta;
  try
  {
    if (require("format").get<std::string>() != "dapsmri-prior")
    {
      throw std::invalid_argument(source + ": the metadata's \"format\" must be \"dapsmri-prior\"");
    }
    if (integer("version") != 1)
    {
      throw std::invalid_argument(source + ": metadata version " + json.at("version").dump() +
                                  " is not supported (this build reads version 1)");
    }
    if (integer("channels") != 2)
    {
      throw std::invalid_argument(source + ": the prior has " + json.at("channels").dump() +
                                  " channels; the contract needs 2 (real, imaginary)");
    }
    meta.name = require("name").get<std::string>();
    meta.description = json.value("description", std::string());
    meta.trainingData = require("training_data").get<std::string>();
    meta.normalization = require("normalization").get<std::string>();
    meta.sigmaData = require("sigma_data").get<double>();
    meta.sigmaMin = require("sigma_min").get<double>();
    meta.sigmaMax = require("sigma_max").get<double>();
    meta.downsamplingFactor = integer("downsampling_factor");
    meta.parameters = json.contains("parameters") ? integer("parameters") : 0;
  }
  catch (const nlohmann::json::exception & e)
  {
    throw std::invalid_argument(source + ": a metadata field has the wrong type (" + e.what() + ")");
  }
  if (meta.normalization != "p99_magnitude" && meta.normalization != "none")
  {
    throw std::invalid_argument(source + ": unknown intensity normalisation \"" + meta.normalization +
                                "\" (known: p99_magnitude, none)");
  }
  // Finite noise levels, and a downsampling factor whose contract probe (4 factor pixels wide)
  // and padding stay small: a corrupt or hostile file must not allocate without bound.
  const auto positive = [](double v) { return std::isfinite(v) && v > 0.0; };
  if (!positive(meta.sigmaData) || !positive(meta.sigmaMin) || !positive(meta.sigmaMax) ||
      !(meta.sigmaMax > meta.sigmaMin) || meta.downsamplingFactor < 1 || meta.downsamplingFactor > 256)
  {
    throw std::invalid_argument(source + ": the metadata needs finite sigma_data > 0 and sigma_max > sigma_min > 0, "
                                         "and downsampling_factor between 1 and 256");
  }
  return meta;
}

TorchScriptDenoiser::TorchScriptDenoiser(const std::string & path, const std::string & device)
  : m_Device(torch::kCPU)
  , m_Path(path)
{
  try
  {
    m_Device = torch::Device(device);
  }
  catch (const c10::Error &)
  {
    throw std::invalid_argument("unknown device \"" + device + "\" (use cpu or cuda:N)");
  }
  if (!m_Device.is_cpu() && !m_Device.is_cuda())
  {
    throw std::invalid_argument("unsupported device \"" + device + "\" (use cpu or cuda:N)");
  }
  if (m_Device.is_cuda() && !torch::cuda::is_available())
  {
    throw std::invalid_argument("device " + device + " was requested but no CUDA device is available to LibTorch");
  }
  if (m_Device.is_cuda() && m_Device.index() >= static_cast<int>(torch::cuda::device_count()))
  {
    throw std::invalid_argument("device " + device + " does not exist: LibTorch sees " +
                                std::to_string(torch::cuda::device_count()) + " CUDA devices");
  }
  if (m_Device.is_cuda() && !m_Device.has_index())
  {
    m_Device = torch::Device(torch::kCUDA, 0); // so that tensors and the prior compare equal
  }
  if (!std::ifstream(path).good())
  {
    throw std::invalid_argument("cannot open the prior model file \"" + path + "\": check the path (--model)");
  }
  torch::jit::ExtraFilesMap extra{ { MetadataFileName, "" } };
  try
  {
    m_Module = torch::jit::load(path, m_Device, extra);
  }
  catch (const c10::Error & e)
  {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw std::invalid_argument("\"" + path + "\" is not a TorchScript archive (" + what +
                                "); save the model with torch.jit.save as python/dapsmri_prior/export.py does");
  }
  if (extra[MetadataFileName].empty())
  {
    throw std::invalid_argument("\"" + path + "\" has no " + std::string(MetadataFileName) +
                                " metadata inside the archive; export it with python/dapsmri_prior/export.py");
  }
  m_Metadata = ParsePriorMetadata(extra[MetadataFileName], path);
  m_Module.eval();

  // Check the contract on a small input: same shape out, finite values.
  const int64_t side = 4 * m_Metadata.downsamplingFactor;
  auto          probe = torch::zeros({ 1, 2, side, side });
  torch::Tensor out;
  try
  {
    out = RunPlanar(probe, 1.0);
  }
  catch (const c10::Error & e)
  {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw std::invalid_argument("\"" + path + "\" violates the prior contract: forward(x[1, 2, " +
                                std::to_string(side) + ", " + std::to_string(side) + "], sigma[1]) failed (" + what +
                                ")");
  }
  if (out.sizes() != probe.sizes())
  {
    std::ostringstream msg;
    msg << "\"" << path << "\" violates the prior contract: forward(x" << probe.sizes() << ", sigma[1]) returned "
        << out.sizes() << "; it must return the input's shape (2 channels: real, imaginary)";
    throw std::invalid_argument(msg.str());
  }
  if (!torch::isfinite(out).all().item<bool>())
  {
    throw std::invalid_argument("\"" + path + "\" returns non-finite values on a zero image at sigma 1");
  }
  // oneDNN's convolutions are faster on channels-last input (the shipped prior: about 15 % at
  // 256 x 256 on 2 cores). A model that cannot take that layout, or answers differently, keeps the standard.
  if (m_Device.is_cpu())
  {
    const auto pattern = torch::sin(torch::arange(probe.numel(), torch::kFloat)).reshape(probe.sizes());
    try
    {
      const auto standard = RunPlanar(pattern, 1.0);
      const auto last = RunPlanar(pattern.contiguous(torch::MemoryFormat::ChannelsLast), 1.0);
      if (last.sizes() == standard.sizes() && torch::allclose(last, standard, 1e-4, 1e-5))
        m_Layout = torch::MemoryFormat::ChannelsLast;
    }
    catch (const c10::Error &)
    {
    }
  }
}

torch::Tensor
TorchScriptDenoiser::RunPlanar(const torch::Tensor & planar, double sigma) const
{
  torch::NoGradGuard noGrad;
  auto               sigmas = torch::full({ planar.size(0) }, sigma, torch::TensorOptions(torch::kFloat).device(m_Device));
  auto               output = m_Module.forward({ planar.to(m_Device), sigmas });
  if (!output.isTensor())
  {
    throw std::invalid_argument("\"" + m_Path + "\" violates the prior contract: forward must return one Tensor");
  }
  return output.toTensor();
}

torch::Tensor
TorchScriptDenoiser::Denoise(const torch::Tensor & x, double sigma) const
{
  const int64_t H = x.size(1), W = x.size(2), f = m_Metadata.downsamplingFactor;
  const int64_t padH = (f - H % f) % f, padW = (f - W % f) % f;
  auto          planar = torch::view_as_real(x).permute({ 0, 3, 1, 2 });
  if (padH > 0 || padW > 0)
  {
    // Centre the image in the padded frame so the border the network sees is symmetric.
    planar = torch::constant_pad_nd(planar, { padW / 2, padW - padW / 2, padH / 2, padH - padH / 2 });
  }
  // On the CPU a batch costs about the same per image at 256 x 256 (inside the sampler's
  // HeapReuseScope; 2 threads: 137, 129, 129 ms at batch 1, 2, 4) but its activations grow with
  // it, so large batches go through in chunks of at most 256 x 256 pixels (or one image).
  const int64_t chunk = m_Device.is_cpu() ? std::max<int64_t>(1, (256 * 256) / (planar.size(2) * planar.size(3)))
                                          : planar.size(0);
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < planar.size(0); start += chunk)
  {
    const int64_t n = std::min(chunk, planar.size(0) - start);
    parts.push_back(RunPlanar(planar.narrow(0, start, n).contiguous(m_Layout), sigma).to(x.device(), torch::kFloat));
  }
  auto out = parts.size() == 1 ? parts.front() : torch::cat(parts);
  out = out.narrow(2, padH / 2, H).narrow(3, padW / 2, W);
  return torch::view_as_complex(out.permute({ 0, 2, 3, 1 }).contiguous());
}

} // namespace dapsmri
