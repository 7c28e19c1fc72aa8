#include "dapsmriDenoiser.h"
#include "dapsmriScratchPath.h"
#include "dapsmriTestUtilities.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace dapsmri;
namespace t = dapsmri::testing;

namespace
{
/** Tweedie: D(x; s) = x + s^2 grad log p_s(x). The score comes from autograd of the log density
 * of the noisy mixture, an independent route to the denoiser's closed form. */
torch::Tensor
TweedieDenoiser(const torch::Tensor & means, const std::vector<double> & weights, const std::vector<double> & variances,
                const torch::Tensor & x, double sigma)
{
  torch::AutoGradMode enable(true);
  auto xr = torch::view_as_real(x).to(torch::kDouble).detach().requires_grad_(true);
  auto mr = torch::view_as_real(means).to(torch::kDouble);
  const double n = 2.0 * static_cast<double>(x.size(1) * x.size(2));
  std::vector<torch::Tensor> terms;
  for (size_t k = 0; k < weights.size(); ++k)
  {
    const double v = variances[k] + sigma * sigma;
    auto d2 = (xr - mr[static_cast<int64_t>(k)]).pow(2).reshape({ x.size(0), -1 }).sum(1);
    terms.push_back(std::log(weights[k]) - d2 / (2 * v) - 0.5 * n * std::log(2 * M_PI * v));
  }
  auto logp = torch::logsumexp(torch::stack(terms, 1), 1).sum();
  auto score = torch::autograd::grad({ logp }, { xr })[0];
  return torch::view_as_complex((xr + sigma * sigma * score).to(torch::kFloat).contiguous()).detach();
}
} // namespace

TEST(GaussianDenoiser, IsTheTweedieDenoiserOfItsPrior)
{
  auto             mean = t::RandomComplex({ 1, 4, 5 }, 1);
  GaussianDenoiser prior(mean[0], torch::tensor(0.7f));
  auto             x = t::RandomComplex({ 3, 4, 5 }, 2) * 3.0;
  for (double sigma : { 0.05, 1.0, 20.0 })
  {
    EXPECT_LT(t::RelativeError(prior(x, sigma), TweedieDenoiser(mean, { 1.0 }, { 0.7 }, x, sigma)), 1e-4) << sigma;
  }
  EXPECT_NEAR(prior.Metadata().sigmaData, std::sqrt(0.7), 1e-6);
  EXPECT_EQ(prior.Evaluations(), 3);
}

TEST(GaussianDenoiser, DiagonalVarianceActsPerPixel)
{
  auto             variance = torch::tensor({ { 0.1f, 1.0f }, { 4.0f, 9.0f } });
  GaussianDenoiser prior(torch::zeros({ 2, 2 }, torch::kComplexFloat), variance);
  auto             x = torch::ones({ 1, 2, 2 }, torch::kComplexFloat);
  auto             expected = (variance / (variance + 1.0)).to(torch::kComplexFloat).unsqueeze(0);
  EXPECT_LT(t::RelativeError(prior(x, 1.0), expected), 1e-6);
  EXPECT_THROW(GaussianDenoiser(torch::zeros({ 2, 2 }, torch::kComplexFloat), torch::zeros({ 2, 2 })),
               std::invalid_argument);
}

TEST(GaussianMixtureDenoiser, IsTheTweedieDenoiserOfItsPrior)
{
  auto                means = t::RandomComplex({ 3, 3, 4 }, 3);
  std::vector<double> weights{ 0.2, 0.5, 0.3 }, variances{ 0.05, 0.2, 0.1 };
  GaussianMixtureDenoiser prior(means, weights, variances);
  auto                    x = means[1].unsqueeze(0) + 0.6 * t::RandomComplex({ 4, 3, 4 }, 4);
  for (double sigma : { 0.1, 0.5, 2.0, 30.0 })
  {
    EXPECT_LT(t::RelativeError(prior(x, sigma), TweedieDenoiser(means, weights, variances, x, sigma)), 1e-4) << sigma;
  }
}

TEST(GaussianMixtureDenoiser, RejectsBadParameters)
{
  auto means = t::RandomComplex({ 2, 3, 3 }, 1);
  EXPECT_THROW(GaussianMixtureDenoiser(means, { 0.5 }, { 1.0, 1.0 }), std::invalid_argument);
  EXPECT_THROW(GaussianMixtureDenoiser(means, { 0.5, -0.5 }, { 1.0, 1.0 }), std::invalid_argument);
  EXPECT_THROW(GaussianMixtureDenoiser(means, { 0.5, 0.5 }, { 1.0, 0.0 }), std::invalid_argument);
}

TEST(Denoiser, RejectsNonPositiveNoiseLevel)
{
  GaussianDenoiser prior(torch::zeros({ 2, 2 }, torch::kComplexFloat), torch::tensor(1.0f));
  auto             x = torch::ones({ 1, 2, 2 }, torch::kComplexFloat);
  EXPECT_THROW(prior(x, 0.0), std::invalid_argument);
  EXPECT_THROW(prior(x, std::nan("")), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
TEST(TorchScriptDenoiser, LoadsTheTinyTestPriorAndChecksItsMetadata)
{
  TorchScriptDenoiser prior(DAPSMRI_TEST_MODELS "/tiny_prior.pt");
  const auto &        meta = prior.Metadata();
  EXPECT_EQ(meta.normalization, "p99_magnitude");
  EXPECT_EQ(meta.downsamplingFactor, 4);
  EXPECT_DOUBLE_EQ(meta.sigmaData, 0.5);
  EXPECT_GT(meta.parameters, 0);
  // Sizes that are not multiples of the down-sampling factor are padded and cropped back.
  auto x = t::RandomComplex({ 2, 10, 14 }, 1);
  auto d = prior(x, 0.5);
  EXPECT_EQ(d.sizes(), x.sizes());
  EXPECT_EQ(d.scalar_type(), torch::kComplexFloat);
  EXPECT_TRUE(torch::isfinite(d).all().item<bool>());
  // EDM preconditioning: at tiny sigma the denoiser returns (almost) its input.
  EXPECT_LT(t::RelativeError(prior(x, 1e-4), x), 1e-2);
}

TEST(TorchScriptDenoiser, LargeBatchesRunInChunksWithTheSameResult)
{
  // Three 256 x 160 images exceed one CPU chunk (256 x 256 pixels): they run one by one, and each
  // must come out as it does alone.
  TorchScriptDenoiser prior(DAPSMRI_TEST_MODELS "/tiny_prior.pt");
  auto                x = t::RandomComplex({ 3, 256, 160 }, 2);
  auto                together = prior(x, 0.7);
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_LT(t::RelativeError(together[i], prior(x.narrow(0, i, 1), 0.7)[0]), 1e-6) << "image " << i;
}

// The network may get its input channels-last (faster with oneDNN): the result must be what
// the module returns for the standard layout, up to float rounding.
TEST(TorchScriptDenoiser, AnswersAsTheModuleDoesOnTheStandardLayout)
{
  for (const char * model : { DAPSMRI_TEST_MODELS "/tiny_prior.pt", DAPSMRI_SOURCE_DIR "/models/brain_prior.pt" })
  {
    TorchScriptDenoiser prior(model);
    auto                module = torch::jit::load(model);
    module.eval();
    torch::NoGradGuard noGrad;
    const auto         x = t::RandomComplex({ 2, 64, 48 }, 3);
    const auto         planar = torch::view_as_real(x).permute({ 0, 3, 1, 2 }).contiguous();
    const auto         expected =
      module.forward({ planar, torch::full({ 2 }, 0.3) }).toTensor().permute({ 0, 2, 3, 1 }).contiguous();
    EXPECT_LT(t::RelativeError(prior(x, 0.3), torch::view_as_complex(expected)), 1e-5) << model;
  }
}

TEST(TorchScriptDenoiser, MissingFileSaysWhichPath)
{
  try
  {
    TorchScriptDenoiser prior("/nonexistent/prior.pt");
    FAIL() << "no exception";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/prior.pt"), std::string::npos) << e.what();
  }
}

TEST(TorchScriptDenoiser, RejectsAFileThatIsNotAnArchive)
{
  const dapsmri::testing::ScratchPath file("not_a_model", ".pt");
  std::ofstream(file.Path()) << "this is not a zip archive";
  EXPECT_THROW(TorchScriptDenoiser prior(file.Path().string()), std::invalid_argument);
}

TEST(TorchScriptDenoiser, RejectsAnArchiveWithoutMetadata)
{
  try
  {
    TorchScriptDenoiser prior(DAPSMRI_TEST_MODELS "/no_metadata.pt");
    FAIL() << "no exception";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("dapsmri.json"), std::string::npos) << e.what();
  }
}

TEST(TorchScriptDenoiser, RejectsAModelThatBreaksTheContract)
{
  try
  {
    TorchScriptDenoiser prior(DAPSMRI_TEST_MODELS "/wrong_channels.pt");
    FAIL() << "no exception";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("contract"), std::string::npos) << e.what();
  }
}

TEST(PriorMetadata, ParsesAndNamesWhatIsWrong)
{
  const std::string good = R"({"format": "dapsmri-prior", "version": 1, "name": "n", "description": "d",
    "training_data": "t", "normalization": "p99_magnitude", "sigma_data": 0.5, "sigma_min": 0.002,
    "sigma_max": 80, "downsampling_factor": 8, "channels": 2, "parameters": 10})";
  const auto meta = ParsePriorMetadata(good, "m.pt");
  EXPECT_EQ(meta.downsamplingFactor, 8);
  EXPECT_DOUBLE_EQ(meta.sigmaMax, 80.0);
  const auto expectError = [](const std::string & json, const std::string & needle) {
    try
    {
      ParsePriorMetadata(json, "m.pt");
      ADD_FAILURE() << "accepted " << json;
    }
    catch (const std::invalid_argument & e)
    {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expectError("{not json", "not valid JSON");
  expectError(R"({"format": "dapsmri-prior", "version": 1})", "channels");
  // The good metadata with one field's text replaced.
  const auto edited = [&good](const std::string & from, const std::string & to) {
    std::string text = good;
    return text.replace(text.find(from), from.size(), to);
  };
  expectError(edited("\"channels\": 2", "\"channels\": 3"), "channels");
  expectError(edited("p99_magnitude", "zscore"), "normalisation");
  expectError(edited("0.5", "\"x\""), "wrong type");
  // Integer fields hold integers that fit: a cast would be undefined or would truncate.
  expectError(edited("\"version\": 1", "\"version\": 1444444444444444444.4"), "must be an integer");
  expectError(edited("\"channels\": 2", "\"channels\": 2.0"), "must be an integer");
  expectError(edited("\"downsampling_factor\": 8", "\"downsampling_factor\": 1e30"), "must be an integer");
  expectError(edited("\"parameters\": 10", "\"parameters\": 18446744073709551615"), "must be an integer");
  // 2^32 + 1, which an int cast reads as 1.
  expectError(edited("\"version\": 1", "\"version\": 4294967297"), "version 4294967297 is not supported");
  // Values a corrupt file could carry: each would allocate without bound or divide by zero.
  for (const auto & [from, to] : { std::pair<const char *, const char *>{ "\"downsampling_factor\": 8", "\"downsampling_factor\": 1000000000" },
                                   { "\"downsampling_factor\": 8", "\"downsampling_factor\": 0" },
                                   { "\"sigma_max\": 80", "\"sigma_max\": 0.001" },
                                   { "\"sigma_min\": 0.002", "\"sigma_min\": 0" },
                                   { "\"sigma_data\": 0.5", "\"sigma_data\": -1" } })
    expectError(edited(from, to), "downsampling_factor between 1 and 256");
}
