#ifndef dapsmriDenoiser_h
#define dapsmriDenoiser_h

#include <torch/script.h>
#include <torch/torch.h>

#include <atomic>
#include <string>

namespace dapsmri
{

/** What a prior says about itself (for TorchScript models: the archive's dapsmri.json). */
struct PriorMetadata
{
  std::string name;
  std::string description;
  std::string trainingData;
  /** "p99_magnitude": images were divided by the 99th percentile of |x|; "none": raw units. */
  std::string normalization = "none";
  double      sigmaData = 0.5;
  double      sigmaMin = 0.0;
  double      sigmaMax = 0.0;
  int64_t     downsamplingFactor = 1;
  int64_t     parameters = 0;
};

/** The prior as a denoiser D(x; sigma) ~ E[x0 | x0 + sigma n = x] on complex images.
 * x: [B, H, W] complex float; returns a tensor like x. */
class Denoiser
{
public:
  virtual ~Denoiser() = default;
  torch::Tensor                 operator()(const torch::Tensor & x, double sigma) const;
  virtual const PriorMetadata & Metadata() const = 0;
  /** Where the prior computes; DAPS runs its whole loop there. */
  virtual torch::Device Device() const { return torch::kCPU; }
  /** Number of (batched) denoiser evaluations since construction: the NFE. */
  int64_t Evaluations() const { return m_Evaluations.load(); }

protected:
  virtual torch::Tensor Denoise(const torch::Tensor & x, double sigma) const = 0;

private:
  mutable std::atomic<int64_t> m_Evaluations{ 0 };
};

/** Exact denoiser of a Gaussian prior x ~ N(mean, variance) with independent real and
 * imaginary parts: D(x; s) = (variance x + s^2 mean) / (variance + s^2).
 * mean: [H, W] complex (or a scalar); variance: [H, W] (diagonal) or a scalar (isotropic); the
 * prior lives on the mean's device. */
class GaussianDenoiser : public Denoiser
{
public:
  GaussianDenoiser(torch::Tensor mean, torch::Tensor variance);
  const PriorMetadata & Metadata() const override { return m_Metadata; }
  torch::Device         Device() const override { return m_Mean.device(); }

protected:
  torch::Tensor Denoise(const torch::Tensor & x, double sigma) const override;

private:
  torch::Tensor m_Mean, m_Variance;
  PriorMetadata m_Metadata;
};

/** Exact denoiser of a Gaussian mixture sum_k w_k N(mean_k, variance_k I) (per real component).
 * means: [K, H, W] complex; weights, variances: K values. */
class GaussianMixtureDenoiser : public Denoiser
{
public:
  GaussianMixtureDenoiser(torch::Tensor means, std::vector<double> weights, std::vector<double> variances);
  const PriorMetadata & Metadata() const override { return m_Metadata; }
  torch::Device         Device() const override { return m_Means.device(); }

  /** Posterior responsibilities of the components given x at noise level sigma: [B, K]. */
  torch::Tensor Responsibilities(const torch::Tensor & x, double sigma) const;

protected:
  torch::Tensor Denoise(const torch::Tensor & x, double sigma) const override;

private:
  torch::Tensor       m_Means;
  std::vector<double> m_Weights, m_Variances;
  PriorMetadata       m_Metadata;
};

/** A TorchScript prior following the project's contract:
 * forward(x: [B, 2, H, W], sigma: [B]) -> [B, 2, H, W], the EDM-preconditioned denoiser,
 * channels real / imaginary, with the metadata file dapsmri.json inside the archive.
 * Loading checks the metadata and runs the model once to check the contract. Images whose
 * size is not a multiple of the down-sampling factor are zero-padded and cropped back. */
class TorchScriptDenoiser : public Denoiser
{
public:
  static constexpr const char * MetadataFileName = "dapsmri.json";

  explicit TorchScriptDenoiser(const std::string & path, const std::string & device = "cpu");
  const PriorMetadata & Metadata() const override { return m_Metadata; }
  torch::Device         Device() const override { return m_Device; }

protected:
  torch::Tensor Denoise(const torch::Tensor & x, double sigma) const override;

private:
  torch::Tensor RunPlanar(const torch::Tensor & planar, double sigma) const;

  mutable torch::jit::Module m_Module;
  torch::Device              m_Device;
  PriorMetadata              m_Metadata;
  std::string                m_Path;
  torch::MemoryFormat        m_Layout = torch::MemoryFormat::Contiguous; // of the network's input
};

/** Parses the JSON metadata of a TorchScript prior; throws std::invalid_argument naming the
 * missing or wrong field. */
PriorMetadata ParsePriorMetadata(const std::string & json, const std::string & source);

} // namespace dapsmri

#endif
