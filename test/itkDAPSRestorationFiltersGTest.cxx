// The restoration tasks as ITK filters: each forward-model filter measures what the facade
// measures, each DAPS filter gives what dapsmri::Restore gives on the same data and seed, the
// geometry round trip, the per-task defaults, and bad parameters refused before any work.
#include "itkDAPSDeblurringImageFilter.h"
#include "itkDAPSHDRImageFilter.h"
#include "itkDAPSInpaintingImageFilter.h"
#include "itkDAPSPhaseRetrievalImageFilter.h"
#include "itkDAPSSuperResolutionImageFilter.h"

#include "dapsmriSimulation.h"
#include "itkExceptionDescription.h"

#include <gtest/gtest.h>

namespace
{
using ImageType = itk::Image<float, 2>;
using ComplexImageType = itk::Image<std::complex<float>, 2>;
constexpr int64_t N = 16;

/** The Shepp-Logan phantom (N x N, values in [0, 1]) with a geometry worth keeping. */
ImageType::Pointer
Phantom()
{
  auto image = ImageType::New();
  image->SetRegions(ImageType::SizeType{ { N, N } });
  image->Allocate();
  const auto values = dapsmri::SheppLoganPhantom(N, N);
  std::copy(values.begin(), values.end(), image->GetBufferPointer());
  image->SetSpacing(itk::Vector<double, 2>(std::vector<double>{ 0.5, 0.75 }.data()));
  image->SetOrigin(itk::Point<double, 2>(std::vector<double>{ -3.0, 7.0 }.data()));
  ImageType::DirectionType direction;
  direction(0, 0) = 0.0;
  direction(0, 1) = 1.0;
  direction(1, 0) = -1.0;
  direction(1, 1) = 0.0;
  image->SetDirection(direction);
  return image;
}

template <typename TImage>
std::vector<typename TImage::PixelType>
Buffer(const TImage * image)
{
  return std::vector<typename TImage::PixelType>(
    image->GetBufferPointer(), image->GetBufferPointer() + image->GetLargestPossibleRegion().GetNumberOfPixels());
}

dapsmri::ReconstructionSettings
ShortSettings(dapsmri::DAPSConfig config)
{
  config.annealingSteps = 6;
  config.mcmcSteps = 10;
  config.samples = 2;
  config.seed = 11;
  dapsmri::ReconstructionSettings s;
  s.daps = config;
  s.threads = 1;
  return s;
}

/** Runs forward filter F and DAPS filter D, both set up by `configure`, on the phantom and checks
 * them against dapsmri::Measure and dapsmri::Restore with the same problem. */
template <typename TForward, typename TDAPS, typename TConfigure>
void
ExpectFiltersMatchTheFacade(dapsmri::RestorationProblem problem, TConfigure && configure)
{
  const auto phantom = Phantom();
  auto       forward = TForward::New();
  forward->SetInput(phantom);
  configure(forward.GetPointer());
  forward->Update();
  problem.height = problem.width = N;
  const auto expected = dapsmri::Measure(problem, dapsmri::SheppLoganPhantom(N, N));
  EXPECT_EQ(Buffer(forward->GetOutput()), expected);

  auto daps = TDAPS::New();
  daps->SetInput(forward->GetOutput());
  configure(daps.GetPointer());
  daps->SetPrior(dapsmri::Prior::Gaussian({ 0.3f, 0.0f }, 0.3));
  const auto settings = ShortSettings(daps->GetDAPSConfig());
  daps->SetDAPSConfig(settings.daps);
  daps->SetNumberOfThreads(1);
  daps->SetNumberOfRestarts(2);
  daps->Update();
  const auto restored =
    dapsmri::Restore(dapsmri::Prior::Gaussian({ 0.3f, 0.0f }, 0.3), problem, expected, settings, 2);
  const auto mean = Buffer(daps->GetOutput());
  ASSERT_EQ(mean.size(), restored.mean.size());
  for (size_t i = 0; i < mean.size(); ++i)
    ASSERT_EQ(mean[i], std::abs(restored.mean[i])) << i;
  EXPECT_EQ(Buffer(daps->GetStandardDeviationOutput()), restored.standardDeviation);
  EXPECT_EQ(daps->GetRelativeResidual(), restored.relativeResidual);
  EXPECT_EQ(daps->GetEstimatedIntensityScale(), restored.intensityScale);
  EXPECT_EQ(daps->GetStatistics().denoiserEvaluations, restored.statistics.denoiserEvaluations);

  // The measurement covers the image's field of view, and the restoration gives it back.
  const auto * out = daps->GetOutput();
  EXPECT_EQ(out->GetLargestPossibleRegion(), phantom->GetLargestPossibleRegion());
  for (unsigned i = 0; i < 2; ++i)
  {
    EXPECT_NEAR(out->GetSpacing()[i], phantom->GetSpacing()[i], 1e-12);
    EXPECT_NEAR(out->GetOrigin()[i], phantom->GetOrigin()[i], 1e-12);
  }
  EXPECT_EQ(out->GetDirection(), phantom->GetDirection());
  EXPECT_EQ(daps->GetStandardDeviationOutput()->GetSpacing(), out->GetSpacing());
}

ImageType::Pointer
ImageOf(const std::vector<float> & values, int64_t size)
{
  auto image = ImageType::New();
  image->SetRegions(ImageType::SizeType{ { static_cast<itk::SizeValueType>(size), static_cast<itk::SizeValueType>(size) } });
  image->Allocate();
  std::copy(values.begin(), values.end(), image->GetBufferPointer());
  return image;
}

itk::Image<unsigned char, 2>::Pointer
CentreBoxMask()
{
  auto mask = itk::Image<unsigned char, 2>::New();
  mask->SetRegions(ImageType::SizeType{ { N, N } });
  mask->Allocate();
  const auto values = dapsmri::BoxMask(N, N, N / 4, N / 4, N / 2, N / 2);
  std::copy(values.begin(), values.end(), mask->GetBufferPointer());
  return mask;
}
} // namespace

TEST(DAPSRestorationFilters, SuperResolutionMatchesTheFacadeAndKeepsTheFieldOfView)
{
  dapsmri::RestorationProblem p;
  p.task = dapsmri::RestorationTask::SuperResolution;
  p.factor = 4;
  p.bicubic = true;
  ExpectFiltersMatchTheFacade<itk::SuperResolutionForwardImageFilter<ImageType>,
                              itk::DAPSSuperResolutionImageFilter<ImageType>>(p, [](auto * f) {
    f->SetFactor(4);
    f->BicubicOn();
  });
  // The low-resolution grid: 4 x the spacing, pixel centres in the middle of their 4 x 4 blocks.
  auto forward = itk::SuperResolutionForwardImageFilter<ImageType>::New();
  const auto phantom = Phantom();
  forward->SetInput(phantom);
  forward->Update();
  const auto * low = forward->GetOutput();
  EXPECT_EQ(low->GetLargestPossibleRegion().GetSize()[0], static_cast<itk::SizeValueType>(N / 4));
  EXPECT_DOUBLE_EQ(low->GetSpacing()[1], 3.0);
  itk::Point<double, 2> blockCentre;
  phantom->TransformContinuousIndexToPhysicalPoint(itk::ContinuousIndex<double, 2>(std::vector<double>{ 1.5, 1.5 }.data()),
                                                   blockCentre);
  for (unsigned i = 0; i < 2; ++i)
    EXPECT_NEAR(low->GetOrigin()[i], blockCentre[i], 1e-12);
}

TEST(DAPSRestorationFilters, InpaintingMatchesTheFacade)
{
  dapsmri::RestorationProblem p;
  p.task = dapsmri::RestorationTask::Inpainting;
  p.mask = dapsmri::BoxMask(N, N, N / 4, N / 4, N / 2, N / 2);
  const auto mask = CentreBoxMask();
  ExpectFiltersMatchTheFacade<itk::InpaintingForwardImageFilter<ImageType>, itk::DAPSInpaintingImageFilter<ImageType>>(
    p, [&](auto * f) { f->SetMask(mask); });
}

TEST(DAPSRestorationFilters, DeblurringMatchesTheFacade)
{
  dapsmri::RestorationProblem p;
  p.task = dapsmri::RestorationTask::Deblurring;
  p.kernel = dapsmri::MotionBlurKernel(7, 0.5, 3);
  p.kernelHeight = p.kernelWidth = 7;
  const auto kernel = ImageOf(p.kernel, 7);
  ExpectFiltersMatchTheFacade<itk::DeblurringForwardImageFilter<ImageType>, itk::DAPSDeblurringImageFilter<ImageType>>(
    p, [&](auto * f) { f->SetKernelImage(kernel); });
}

TEST(DAPSRestorationFilters, PhaseRetrievalMatchesTheFacade)
{
  dapsmri::RestorationProblem p;
  p.task = dapsmri::RestorationTask::PhaseRetrieval;
  p.oversampling = 2;
  ExpectFiltersMatchTheFacade<itk::PhaseRetrievalForwardImageFilter<ImageType>,
                              itk::DAPSPhaseRetrievalImageFilter<ImageType>>(p, [](auto * f) { f->SetOversampling(2); });
}

TEST(DAPSRestorationFilters, HDRMatchesTheFacade)
{
  dapsmri::RestorationProblem p;
  p.task = dapsmri::RestorationTask::HDR;
  p.alpha = 3.0;
  ExpectFiltersMatchTheFacade<itk::HDRForwardImageFilter<ImageType>, itk::DAPSHDRImageFilter<ImageType>>(
    p, [](auto * f) { f->SetAlpha(3.0); });
}

TEST(DAPSRestorationFilters, NonlinearTasksStartWithTheReferencePresetAndComplexOutputsHoldTheMean)
{
  EXPECT_EQ(itk::DAPSHDRImageFilter<ImageType>::New()->GetMCMCMethod(), dapsmri::Preset("reference").mcmc);
  EXPECT_EQ(itk::DAPSHDRImageFilter<ImageType>::New()->GetStepSize(), 2e-5); // stable for alpha 2 at tau 0.01
  EXPECT_EQ(itk::DAPSPhaseRetrievalImageFilter<ImageType>::New()->GetMCMCMethod(), dapsmri::Preset("reference").mcmc);
  EXPECT_EQ(itk::DAPSDeblurringImageFilter<ImageType>::New()->GetMCMCMethod(), dapsmri::DAPSConfig{}.mcmc);
  EXPECT_EQ(itk::DAPSSuperResolutionImageFilter<ImageType>::New()->GetTask(), dapsmri::RestorationTask::SuperResolution);

  auto filter = itk::DAPSInpaintingImageFilter<ImageType, ComplexImageType>::New();
  const auto phantom = Phantom();
  filter->SetInput(phantom);
  filter->SetMask(CentreBoxMask());
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.3f, 0.0f }, 0.3));
  const auto settings = ShortSettings(filter->GetDAPSConfig());
  filter->SetDAPSConfig(settings.daps);
  filter->SetNumberOfThreads(1);
  int events = 0;
  filter->AddObserver(itk::IterationEvent(), [&](const itk::EventObject &) { ++events; });
  filter->Update();
  EXPECT_EQ(events, settings.daps.annealingSteps);
  dapsmri::RestorationProblem p;
  p.task = dapsmri::RestorationTask::Inpainting;
  p.height = p.width = N;
  p.mask = dapsmri::BoxMask(N, N, N / 4, N / 4, N / 2, N / 2);
  const auto restored = dapsmri::Restore(dapsmri::Prior::Gaussian({ 0.3f, 0.0f }, 0.3), p,
                                         dapsmri::SheppLoganPhantom(N, N), settings);
  EXPECT_EQ(Buffer(filter->GetOutput()), restored.mean);
}

TEST(DAPSRestorationFiltersErrors, BadParametersAreRefusedBeforeAnyWork)
{
  const auto phantom = Phantom();
  const auto prior = dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5);
  const auto expectError = [](auto * filter, const std::string & needle) {
    int events = 0;
    filter->AddObserver(itk::IterationEvent(), [&](const itk::EventObject &) { ++events; });
    const auto error = ErrorOf([&] { filter->Update(); });
    EXPECT_NE(error.find(needle), std::string::npos) << error;
    EXPECT_EQ(events, 0) << needle;
  };
  auto down = itk::SuperResolutionForwardImageFilter<ImageType>::New();
  down->SetInput(phantom);
  down->SetFactor(3);
  expectError(down.GetPointer(), "divisor of the image size");
  auto noisy = itk::HDRForwardImageFilter<ImageType>::New();
  noisy->SetInput(phantom);
  noisy->SetNoiseStandardDeviation(-1.0);
  expectError(noisy.GetPointer(), "must be finite and not negative");

  auto broken = ImageOf(std::vector<float>(N * N, 0.5f), N);
  broken->GetBufferPointer()[7] = NAN;
  auto measureBroken = itk::HDRForwardImageFilter<ImageType>::New();
  measureBroken->SetInput(broken);
  expectError(measureBroken.GetPointer(), "NaN or Inf");

  auto inpainting = itk::DAPSInpaintingImageFilter<ImageType>::New();
  inpainting->SetInput(phantom);
  inpainting->SetPrior(prior);
  expectError(inpainting.GetPointer(), "Mask"); // the required input is missing
  auto hidden = itk::Image<unsigned char, 2>::New();
  hidden->SetRegions(ImageType::SizeType{ { N, N } });
  hidden->Allocate();
  hidden->FillBuffer(0);
  inpainting->SetMask(hidden);
  expectError(inpainting.GetPointer(), "shows no pixel");
  auto small = itk::Image<unsigned char, 2>::New();
  small->SetRegions(ImageType::SizeType{ { N, N / 2 } });
  small->Allocate();
  small->FillBuffer(1);
  inpainting->SetMask(small);
  expectError(inpainting.GetPointer(), "must have one size");

  auto deblurring = itk::DAPSDeblurringImageFilter<ImageType>::New();
  deblurring->SetInput(phantom);
  deblurring->SetPrior(prior);
  deblurring->SetKernelImage(ImageOf(dapsmri::GaussianBlurKernel(N + 1, 2.0), N + 1));
  expectError(deblurring.GetPointer(), "larger than the image");

  auto hdr = itk::DAPSHDRImageFilter<ImageType>::New();
  hdr->SetInput(phantom);
  hdr->SetPrior(prior);
  hdr->SetAlpha(0.0);
  expectError(hdr.GetPointer(), "alpha must be positive");
  hdr->SetAlpha(2.0);
  hdr->SetPreset("mri");
  expectError(hdr.GetPointer(), "nonlinear");

  auto retrieval = itk::DAPSPhaseRetrievalImageFilter<ImageType>::New();
  retrieval->SetInput(ImageOf(std::vector<float>(15 * 15, 1.0f), 15));
  retrieval->SetPrior(prior);
  expectError(retrieval.GetPointer(), "not a multiple of the oversampling");

  auto noPrior = itk::DAPSSuperResolutionImageFilter<ImageType>::New();
  noPrior->SetInput(phantom);
  expectError(noPrior.GetPointer(), "No prior");
}
