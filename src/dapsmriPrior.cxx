#include "dapsmriDenoiser.h"
#include "dapsmriErrors.h"
#include "dapsmriReconstruction.h"

#include <dlfcn.h>
#include <filesystem>

namespace dapsmri
{

Prior
Prior::Load(const std::string & path, const std::string & device)
{
  return TranslateErrors("dapsmri::Prior::Load", [&] {
    Prior prior;
    prior.m_Denoiser = std::make_shared<TorchScriptDenoiser>(path, device);
    return prior;
  });
}

std::string
Prior::ShippedModelPath()
{
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  Dl_info library{};
  if (dladdr(reinterpret_cast<const void *>(&Prior::ShippedModelPath), &library) != 0 && library.dli_fname)
    candidates.push_back(fs::path(library.dli_fname).parent_path() / DAPSMRI_MODELS_FROM_LIBDIR / "brain_prior.pt");
  candidates.push_back(fs::path(DAPSMRI_SOURCE_DIR) / "models" / "brain_prior.pt");
  std::error_code error;
  for (const auto & candidate : candidates)
    if (fs::is_regular_file(candidate, error))
      return fs::weakly_canonical(candidate, error).string();
  return {};
}

Prior
Prior::Gaussian(std::complex<float> mean, double standardDeviation)
{
  return TranslateErrors("dapsmri::Prior::Gaussian", [&] {
    Prior prior;
    prior.m_Denoiser = std::make_shared<GaussianDenoiser>(
      torch::tensor(c10::complex<float>(mean.real(), mean.imag())), torch::tensor(standardDeviation * standardDeviation));
    return prior;
  });
}

Prior
Prior::GaussianMixture(const std::vector<std::vector<std::complex<float>>> & means, int64_t height, int64_t width,
                       const std::vector<double> & weights, const std::vector<double> & standardDeviations)
{
  return TranslateErrors("dapsmri::Prior::GaussianMixture", [&] {
    std::vector<torch::Tensor> images;
    for (const auto & m : means)
    {
      if (static_cast<int64_t>(m.size()) != height * width)
      {
        throw std::invalid_argument("each mixture mean must have height * width pixels");
      }
      images.push_back(
        torch::from_blob(const_cast<std::complex<float> *>(m.data()), { height, width }, torch::kComplexFloat).clone());
    }
    std::vector<double> variances;
    for (double s : standardDeviations)
    {
      variances.push_back(s * s);
    }
    Prior prior;
    prior.m_Denoiser = std::make_shared<GaussianMixtureDenoiser>(torch::stack(images), weights, variances);
    return prior;
  });
}

std::string
Prior::Name() const
{
  return m_Denoiser ? m_Denoiser->Metadata().name : std::string();
}
std::string
Prior::Description() const
{
  return m_Denoiser ? m_Denoiser->Metadata().description : std::string();
}
std::string
Prior::TrainingData() const
{
  return m_Denoiser ? m_Denoiser->Metadata().trainingData : std::string();
}
std::string
Prior::Normalization() const
{
  return m_Denoiser ? m_Denoiser->Metadata().normalization : std::string();
}
double
Prior::SigmaData() const
{
  return m_Denoiser ? m_Denoiser->Metadata().sigmaData : 0.0;
}
int64_t
Prior::DownsamplingFactor() const
{
  return m_Denoiser ? m_Denoiser->Metadata().downsamplingFactor : 1;
}

} // namespace dapsmri
