#include "itkMRIDAPSReconstructionImageFilter.h"

#include "dapsmriSimulation.h"

#include "itkCommand.h"
#include "itkGTest.h"
#include "itkExceptionDescription.h"
#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace
{
using FilterType = itk::MRIDAPSReconstructionImageFilter<>;
using KSpaceImageType = FilterType::KSpaceImageType;
using MaskImageType = FilterType::MaskImageType;
using OutputImageType = FilterType::OutputImageType;
using Complex = std::complex<float>;

KSpaceImageType::Pointer
MakeMultiCoil(const std::vector<Complex> & data, int64_t coils, int64_t height, int64_t width)
{
  auto                       image = KSpaceImageType::New();
  KSpaceImageType::SizeType  size{ { static_cast<itk::SizeValueType>(width), static_cast<itk::SizeValueType>(height) } };
  image->SetRegions(size);
  image->SetNumberOfComponentsPerPixel(static_cast<unsigned int>(coils));
  image->Allocate();
  std::copy(data.begin(), data.end(), image->GetBufferPointer());
  return image;
}

MaskImageType::Pointer
MakeMask(const std::vector<unsigned char> & data, int64_t height, int64_t width)
{
  auto                    image = MaskImageType::New();
  MaskImageType::SizeType size{ { static_cast<itk::SizeValueType>(width), static_cast<itk::SizeValueType>(height) } };
  image->SetRegions(size);
  image->Allocate();
  std::copy(data.begin(), data.end(), image->GetBufferPointer());
  return image;
}

std::vector<Complex>
Buffer(const OutputImageType * image)
{
  const auto n = image->GetBufferedRegion().GetNumberOfPixels();
  return std::vector<Complex>(image->GetBufferPointer(), image->GetBufferPointer() + n);
}

/** A simulated 8-coil acquisition of the Shepp-Logan phantom with a fastMRI-style mask. */
struct Acquisition
{
  int64_t                    H, W, C;
  std::vector<Complex>       truth, maps, kSpace;
  std::vector<unsigned char> mask;
  KSpaceImageType::Pointer   kSpaceImage, mapsImage;
  MaskImageType::Pointer     maskImage;

  /** ||n|| / ||y|| for noise of std `noise` per real part on the measured entries:
   * noise sqrt(2 * measured entries) / ||y||. */
  double RelativeNoiseNorm(double noise) const
  {
    double dataNorm2 = 0.0, measured = 0.0;
    for (size_t i = 0; i < kSpace.size(); ++i)
    {
      dataNorm2 += std::norm(kSpace[i]);
      measured += mask[i / static_cast<size_t>(C)] != 0;
    }
    return noise * std::sqrt(2.0 * measured / dataNorm2);
  }

  Acquisition(int64_t height, int64_t width, int64_t coils, double acceleration, double noise, bool equispaced = false)
    : H(height)
    , W(width)
    , C(coils)
  {
    const auto phantom = dapsmri::SheppLoganPhantom(H, W);
    truth.assign(phantom.begin(), phantom.end());
    maps = dapsmri::SimulatedCoilMaps(C, H, W);
    mask = dapsmri::FastMRIMask(H, W, acceleration, 0.08, 42, equispaced);
    kSpace = dapsmri::SimulateKSpace(truth, maps, C, H, W, mask, noise, 7);
    kSpaceImage = MakeMultiCoil(kSpace, C, H, W);
    mapsImage = MakeMultiCoil(maps, C, H, W);
    maskImage = MakeMask(mask, H, W);
  }

  FilterType::Pointer Filter() const
  {
    auto filter = FilterType::New();
    filter->SetKSpace(kSpaceImage);
    filter->SetCoilSensitivities(mapsImage);
    filter->SetMask(maskImage);
    return filter;
  }

  std::vector<Complex> ZeroFilled() const
  {
    dapsmri::MultiCoilData d;
    d.kSpace = kSpace.data();
    d.coilMaps = maps.data();
    d.mask = mask.data();
    d.height = H;
    d.width = W;
    d.coils = C;
    return dapsmri::ZeroFilledImage(d);
  }
};

/** Short schedules for CI; the exact Gaussian MCMC step keeps a few annealing steps accurate. */
template <typename TFilterPointer> // a raw or smart pointer to a 2-D or 3-D filter
void
UseShortSchedule(const TFilterPointer & filter)
{
  filter->SetNumberOfAnnealingSteps(20);
  filter->SetNumberOfODESteps(1);
  filter->SetMCMCMethod(dapsmri::MCMCMethod::ExactGaussian);
  filter->SetNumberOfCGIterations(30);
}

} // namespace

TEST(MRIDAPSReconstructionImageFilter, DefaultsArePresetMriAndTheReferenceIsOneCallAway)
{
  auto filter = FilterType::New();
  EXPECT_STREQ(filter->GetNameOfClass(), "MRIDAPSReconstructionImageFilter");
  const dapsmri::DAPSConfig defaults = dapsmri::Preset("mri");
  EXPECT_EQ(filter->GetNumberOfAnnealingSteps(), defaults.annealingSteps);
  EXPECT_EQ(filter->GetSigmaMin(), defaults.sigmaMin);
  EXPECT_EQ(filter->GetMCMCMethod(), defaults.mcmc);
  EXPECT_EQ(filter->GetNumberOfSamples(), defaults.samples);
  EXPECT_EQ(filter->GetPriorSpread(), defaults.priorSpread);

  filter->SetSeed(7);
  const auto before = filter->GetMTime();
  filter->SetPreset("reference");
  EXPECT_GT(filter->GetMTime(), before);
  EXPECT_EQ(filter->GetNumberOfAnnealingSteps(), 200);
  EXPECT_DOUBLE_EQ(filter->GetSigmaMax(), 100.0);
  EXPECT_DOUBLE_EQ(filter->GetSigmaMin(), 0.1);
  EXPECT_EQ(filter->GetNumberOfODESteps(), 5);
  EXPECT_EQ(filter->GetNumberOfMCMCSteps(), 100);
  EXPECT_DOUBLE_EQ(filter->GetStepSize(), 1e-4);
  EXPECT_DOUBLE_EQ(filter->GetTau(), 0.01);
  EXPECT_DOUBLE_EQ(filter->GetStepSizeMinRatio(), 0.01);
  EXPECT_EQ(filter->GetMCMCMethod(), dapsmri::MCMCMethod::Langevin);
  EXPECT_EQ(filter->GetSeed(), 7u); // a preset keeps the seed
  EXPECT_EQ(filter->GetDAPSConfig().annealingSteps, 200);
  EXPECT_THROW(filter->SetPreset("fastest"), itk::ExceptionObject);
  std::ostringstream printed;
  filter->Print(printed);
  EXPECT_NE(printed.str().find("NumberOfAnnealingSteps: 200"), std::string::npos);
  EXPECT_NE(filter->GetStandardDeviationOutput(), nullptr);
}

namespace
{
/** A value other than v, of its type. */
int
Other(int v)
{
  return v + 1;
}
double
Other(double v)
{
  return 2.0 * v + 1.0;
}
uint64_t
Other(uint64_t v)
{
  return v + 1;
}
dapsmri::ODESolver
Other(dapsmri::ODESolver v)
{
  return v == dapsmri::ODESolver::Euler ? dapsmri::ODESolver::Heun : dapsmri::ODESolver::Euler;
}
dapsmri::MCMCMethod
Other(dapsmri::MCMCMethod v)
{
  return v == dapsmri::MCMCMethod::HMC ? dapsmri::MCMCMethod::Langevin : dapsmri::MCMCMethod::HMC;
}
dapsmri::PriorSpread
Other(dapsmri::PriorSpread v)
{
  return v == dapsmri::PriorSpread::Sigma ? dapsmri::PriorSpread::GaussianPosterior : dapsmri::PriorSpread::Sigma;
}
} // namespace

// Every line of the parameter table is a Set/Get pair of the filter on its own DAPSConfig field,
// printed by name; a value set is the one the command line would write back.
TEST(MRIDAPSReconstructionImageFilter, EveryParameterOfTheTableIsAFilterParameter)
{
  auto                      filter = FilterType::New();
  const dapsmri::DAPSConfig defaults;
  int                       parameters = 0;
#define DAPSMRI_CHECK_PARAMETER(field, Name, type, flag, placeholder, help)                                          \
  {                                                                                                                \
    ++parameters;                                                                                                  \
    EXPECT_EQ(dapsmri::ParameterText(filter->Get##Name()), dapsmri::ParameterText(defaults.field)) << flag;        \
    const auto before = filter->GetMTime();                                                                        \
    const type value = Other(defaults.field);                                                                      \
    filter->Set##Name(value);                                                                                      \
    EXPECT_GT(filter->GetMTime(), before) << flag;                                                                 \
    EXPECT_EQ(dapsmri::ParameterText(filter->GetDAPSConfig().field), dapsmri::ParameterText(value)) << flag;       \
    type parsed{};                                                                                                 \
    dapsmri::ParseParameter(dapsmri::ParameterText(value), parsed, flag);                                          \
    EXPECT_EQ(dapsmri::ParameterText(parsed), dapsmri::ParameterText(value)) << flag;                              \
    std::ostringstream printed;                                                                                    \
    filter->Print(printed);                                                                                        \
    EXPECT_NE(printed.str().find(#Name ": " + dapsmri::ParameterText(value)), std::string::npos) << flag;          \
  }
  DAPSMRI_DAPS_PARAMETERS(DAPSMRI_CHECK_PARAMETER)
#undef DAPSMRI_CHECK_PARAMETER
  EXPECT_GT(parameters, 0);
}

// An uninformative Gaussian prior makes DAPS a sampler of the regularised SENSE posterior: it
// unfolds what the coils can unfold (2x for these simulated 8 coils; at 4x their g-factor is
// too high for any prior this weak, which is what a learned prior is for). A single sample
// carries the prior's noise in poorly determined directions; the posterior mean of 16 samples is
// the MMSE estimate.
TEST(MRIDAPSReconstructionImageFilter, GaussianPriorBeatsTheZeroFilledImageOnEightCoilsTwofold)
{
  Acquisition acq(64, 64, 8, 2.0, 0.01, true);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  filter->SetTau(0.01);
  filter->SetNumberOfSamples(16);
  UseShortSchedule(filter);
  filter->Update();
  const double psnrZeroFilled = dapsmri::MagnitudePSNR(acq.ZeroFilled(), acq.truth);
  const double psnrDAPS = dapsmri::MagnitudePSNR(Buffer(filter->GetOutput()), acq.truth);
  std::cout << "PSNR zero-filled " << psnrZeroFilled << " dB, DAPS (Gaussian prior) " << psnrDAPS << " dB\n";
  EXPECT_GT(psnrDAPS, psnrZeroFilled + 8.0);
  // The data are fitted down to their noise, and not over-fitted.
  const double noiseFloor = acq.RelativeNoiseNorm(0.01);
  EXPECT_LT(filter->GetRelativeResidual(), 1.5 * noiseFloor);
  EXPECT_GT(filter->GetRelativeResidual(), 0.5 * noiseFloor); // and not over-fitted to the noise
  EXPECT_DOUBLE_EQ(filter->GetEstimatedIntensityScale(), 1.0); // an analytic prior works in raw units
}

TEST(MRIDAPSReconstructionImageFilter, ReferenceLangevinScheduleRunsEndToEnd)
{
  Acquisition acq(48, 48, 8, 2.0, 0.01, true);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  filter->SetPreset("reference");
  filter->SetNumberOfSamples(16);
  filter->SetNumberOfAnnealingSteps(25);
  filter->SetNumberOfMCMCSteps(40);
  filter->Update();
  const double psnrZeroFilled = dapsmri::MagnitudePSNR(acq.ZeroFilled(), acq.truth);
  const double psnrDAPS = dapsmri::MagnitudePSNR(Buffer(filter->GetOutput()), acq.truth);
  std::cout << "PSNR zero-filled " << psnrZeroFilled << " dB, DAPS Langevin " << psnrDAPS << " dB\n";
  EXPECT_GT(psnrDAPS, psnrZeroFilled + 6.0);
  EXPECT_EQ(filter->GetStatistics().denoiserEvaluations, 25 * 5);
  EXPECT_EQ(filter->GetStatistics().dataGradients, 25 * 40);
}

TEST(MRIDAPSReconstructionImageFilter, DefaultPresetRunsEndToEndAndFitsTheData)
{
  // The default ("mri") preset as it ships: conditional-mean steps, one network evaluation and 20
  // CG iterations per level.
  Acquisition acq(48, 48, 8, 2.0, 0.01, true);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  filter->SetTau(0.01);
  filter->Update();
  const double psnrZeroFilled = dapsmri::MagnitudePSNR(acq.ZeroFilled(), acq.truth);
  const double psnrDAPS = dapsmri::MagnitudePSNR(Buffer(filter->GetOutput()), acq.truth);
  std::cout << "PSNR zero-filled " << psnrZeroFilled << " dB, DAPS default preset " << psnrDAPS << " dB\n";
  EXPECT_GT(psnrDAPS, psnrZeroFilled + 6.0);
  const double noiseFloor = acq.RelativeNoiseNorm(0.01);
  EXPECT_LT(filter->GetRelativeResidual(), 1.5 * noiseFloor);
  EXPECT_GT(filter->GetRelativeResidual(), 0.5 * noiseFloor);
  const auto & defaults = dapsmri::Preset("mri");
  EXPECT_EQ(filter->GetStatistics().denoiserEvaluations, defaults.annealingSteps * defaults.odeSteps);
  // One normal-operator pass for the starting residual and one per CG iteration (fewer once converged).
  EXPECT_LE(filter->GetStatistics().dataGradients, defaults.annealingSteps * (defaults.cgIterations + 1));
  EXPECT_GT(filter->GetStatistics().dataGradients, 2 * defaults.annealingSteps);
}

TEST(MRIDAPSReconstructionImageFilter, SeveralSamplesGiveMeanAndStandardDeviation)
{
  Acquisition acq(32, 32, 4, 4.0, 0.01);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  UseShortSchedule(filter);
  filter->SetNumberOfSamples(8);
  filter->Update();
  auto * deviation = filter->GetStandardDeviationOutput();
  double sum = 0.0, maximum = 0.0;
  for (itk::ImageRegionConstIterator<FilterType::StandardDeviationImageType> it(deviation,
                                                                                 deviation->GetBufferedRegion());
       !it.IsAtEnd(); ++it)
  {
    ASSERT_TRUE(std::isfinite(it.Get()));
    sum += it.Get();
    maximum = std::max(maximum, static_cast<double>(it.Get()));
  }
  EXPECT_GT(sum, 0.0);
  // Uncertainty is bounded by the prior's std (sqrt(2) * 0.5 for a complex pixel).
  EXPECT_LT(maximum, std::sqrt(2.0) * 0.5);
}

// Fully sampled single-coil data and a Gaussian prior N(0, s^2): A is the unitary FFT, so every
// pixel's posterior variance per real part is 1 / (1 / tau^2 + 1 / s^2) and the complex std is
// sqrt(2) times its root. With exact steps DAPS samples the posterior exactly; 64 samples give a
// per-pixel std estimate with relative error ~1 / sqrt(2 x 64) = 9 %, and the mean over 256 pixels
// is within 2 % (5 standard errors of that mean).
TEST(MRIDAPSReconstructionImageFilter, StandardDeviationOutputIsThePosteriorStd)
{
  Acquisition acq(16, 16, 1, 1.0, 0.1);
  std::fill(acq.maps.begin(), acq.maps.end(), Complex(1.0f, 0.0f));
  std::fill(acq.mapsImage->GetBufferPointer(), acq.mapsImage->GetBufferPointer() + 256, Complex(1.0f, 0.0f));
  std::fill(acq.maskImage->GetBufferPointer(), acq.maskImage->GetBufferPointer() + 256, 1);
  auto filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  filter->SetTau(0.1);
  filter->SetPriorSpread(dapsmri::PriorSpread::GaussianPosterior);
  UseShortSchedule(filter);
  filter->SetNumberOfSamples(64);
  filter->Update();
  const double expected = std::sqrt(2.0 / (1.0 / 0.01 + 1.0 / 0.25));
  double       mean = 0.0;
  for (int i = 0; i < 256; ++i)
    mean += filter->GetStandardDeviationOutput()->GetBufferPointer()[i] / 256.0;
  EXPECT_NEAR(mean / expected, 1.0, 0.02);
}

TEST(MRIDAPSReconstructionImageFilter, GeometryOfTheCoilMapsPassesThrough)
{
  Acquisition                        acq(16, 20, 2, 2.0, 0.01);
  KSpaceImageType::SpacingType       spacing;
  spacing[0] = 0.8;
  spacing[1] = 1.5;
  KSpaceImageType::PointType         origin;
  origin[0] = -12.0;
  origin[1] = 30.5;
  KSpaceImageType::DirectionType     direction;
  direction(0, 0) = 0.0;
  direction(0, 1) = 1.0;
  direction(1, 0) = -1.0;
  direction(1, 1) = 0.0;
  acq.mapsImage->SetSpacing(spacing);
  acq.mapsImage->SetOrigin(origin);
  acq.mapsImage->SetDirection(direction);
  auto filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  UseShortSchedule(filter);
  filter->SetNumberOfAnnealingSteps(2);
  filter->Update();
  for (auto * image : { static_cast<itk::ImageBase<2> *>(filter->GetOutput()),
                        static_cast<itk::ImageBase<2> *>(filter->GetStandardDeviationOutput()) })
  {
    EXPECT_EQ(image->GetSpacing(), spacing);
    EXPECT_EQ(image->GetOrigin(), origin);
    EXPECT_EQ(image->GetDirection(), direction);
    EXPECT_EQ(image->GetLargestPossibleRegion().GetSize()[0], 20u);
    EXPECT_EQ(image->GetLargestPossibleRegion().GetSize()[1], 16u);
  }
}

TEST(MRIDAPSReconstructionImageFilter, ReportsProgressPerStepAndHonoursAbort)
{
  Acquisition acq(16, 16, 2, 2.0, 0.01);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  UseShortSchedule(filter);
  filter->SetNumberOfAnnealingSteps(6);
  int  iterations = 0;
  auto counter = itk::CStyleCommand::New();
  counter->SetCallback([](itk::Object * caller, const itk::EventObject &, void * data) {
    auto * count = static_cast<int *>(data);
    if (++*count == 3)
    {
      static_cast<itk::ProcessObject *>(caller)->AbortGenerateDataOn();
    }
  });
  counter->SetClientData(&iterations);
  filter->AddObserver(itk::IterationEvent(), counter);
  EXPECT_THROW(filter->Update(), itk::ProcessAborted);
  EXPECT_EQ(iterations, 3);
  EXPECT_EQ(filter->GetOutput()->GetBufferPointer(), nullptr); // nothing half-written

  // A fresh run goes to the end, with one progress event per annealing step (plus the start/end).
  filter->RemoveAllObservers();
  filter->AbortGenerateDataOff();
  int  progressEvents = 0;
  auto progress = itk::CStyleCommand::New();
  progress->SetCallback([](itk::Object *, const itk::EventObject &, void * data) { ++*static_cast<int *>(data); });
  progress->SetClientData(&progressEvents);
  filter->AddObserver(itk::ProgressEvent(), progress);
  filter->Modified();
  filter->Update();
  EXPECT_GE(progressEvents, 6);
  EXPECT_NE(filter->GetOutput()->GetBufferPointer(), nullptr);
}

// A volume of three slices (x, y, slice), each its own problem: another intensity, mask and
// noise. In batches of one slice it is the 2-D filter's result slice by slice, bit for bit; as one
// batch of three it runs one network call per step for all three and is as good.
TEST(MRIDAPSReconstructionImageFilter, AVolumeIsItsSlicesReconstructedInBatches)
{
  using VolumeFilter = itk::MRIDAPSReconstructionImageFilter<itk::VectorImage<Complex, 3>>;
  const int64_t H = 32, W = 32, C = 4, S = 3, plane = H * W;
  const auto    phantom = dapsmri::SheppLoganPhantom(H, W);
  const auto    maps = dapsmri::SimulatedCoilMaps(C, H, W);
  std::vector<std::vector<Complex>>       truths, kSpaces;
  std::vector<std::vector<unsigned char>> masks;
  auto volumeKSpace = VolumeFilter::KSpaceImageType::New(), volumeMaps = VolumeFilter::KSpaceImageType::New();
  auto volumeMask = VolumeFilter::MaskImageType::New();
  const VolumeFilter::KSpaceImageType::SizeType size{ { static_cast<itk::SizeValueType>(W),
                                                        static_cast<itk::SizeValueType>(H),
                                                        static_cast<itk::SizeValueType>(S) } };
  for (auto * image : { volumeKSpace.GetPointer(), volumeMaps.GetPointer() })
  {
    image->SetRegions(size);
    image->SetNumberOfComponentsPerPixel(C);
    image->Allocate();
  }
  volumeMask->SetRegions(size);
  volumeMask->Allocate();
  for (int64_t s = 0; s < S; ++s)
  {
    truths.emplace_back(phantom.begin(), phantom.end());
    for (auto & v : truths.back())
      v *= 1.0f + 0.5f * static_cast<float>(s);
    masks.push_back(dapsmri::FastMRIMask(H, W, 2.0, 0.08, 42 + static_cast<uint64_t>(s), true));
    kSpaces.push_back(
      dapsmri::SimulateKSpace(truths.back(), maps, C, H, W, masks.back(), 0.01, 7 + static_cast<uint64_t>(s)));
    std::copy(kSpaces.back().begin(), kSpaces.back().end(), volumeKSpace->GetBufferPointer() + s * plane * C);
    std::copy(maps.begin(), maps.end(), volumeMaps->GetBufferPointer() + s * plane * C);
    std::copy(masks.back().begin(), masks.back().end(), volumeMask->GetBufferPointer() + s * plane);
  }
  const auto configure = [](auto * filter) {
    filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
    filter->SetTau(0.01);
    filter->SetNumberOfSamples(16); // the mean of 16 chains: little Monte Carlo spread between seeds
    UseShortSchedule(filter);
  };
  std::vector<std::vector<Complex>> slices;
  std::vector<double>               slicePSNR;
  for (int64_t s = 0; s < S; ++s)
  {
    auto filter = FilterType::New();
    filter->SetKSpace(MakeMultiCoil(kSpaces[s], C, H, W));
    filter->SetCoilSensitivities(MakeMultiCoil(maps, C, H, W));
    filter->SetMask(MakeMask(masks[s], H, W));
    configure(filter.GetPointer());
    filter->Update();
    slices.push_back(Buffer(filter->GetOutput()));
    slicePSNR.push_back(dapsmri::MagnitudePSNR(slices.back(), truths[s]));
  }
  for (int batch : { 1, 3 })
  {
    auto volume = VolumeFilter::New();
    volume->SetKSpace(volumeKSpace);
    volume->SetCoilSensitivities(volumeMaps);
    volume->SetMask(volumeMask);
    configure(volume.GetPointer());
    volume->SetSliceBatch(batch);
    int  iterations = 0;
    auto counter = itk::CStyleCommand::New();
    counter->SetCallback([](itk::Object *, const itk::EventObject &, void * data) { ++*static_cast<int *>(data); });
    counter->SetClientData(&iterations);
    volume->AddObserver(itk::IterationEvent(), counter);
    volume->Update();
    EXPECT_EQ(iterations, 20 * (S / batch)) << "batch " << batch; // one progress count for the whole volume
    EXPECT_FLOAT_EQ(volume->GetProgress(), 1.0f);
    EXPECT_EQ(volume->GetStatistics().denoiserEvaluations, 20 * (S / batch)) << "batch " << batch;
    for (int64_t s = 0; s < S; ++s)
    {
      const auto * out = volume->GetOutput()->GetBufferPointer() + s * plane;
      const std::vector<Complex> slice(out, out + plane);
      if (batch == 1)
        EXPECT_EQ(slice, slices[s]) << "slice " << s;
      else
      {
        // A batch draws other noise than three runs: the same quality, not the same pixels. Each
        // slice must be its own (not another slice's, of other intensity) and well above zero-filled.
        const double psnr = dapsmri::MagnitudePSNR(slice, truths[s]);
        dapsmri::MultiCoilData d{ kSpaces[s].data(), maps.data(), masks[s].data(), H, W, C };
        const double zeroFilled = dapsmri::MagnitudePSNR(dapsmri::ZeroFilledImage(d), truths[s]);
        std::cout << "slice " << s << ": PSNR zero-filled " << zeroFilled << " dB, alone " << slicePSNR[s]
                  << " dB, in a batch of 3 " << psnr << " dB\n";
        EXPECT_GT(psnr, zeroFilled + 3.0) << "slice " << s;
        for (int64_t other = 0; other < S; ++other)
          if (other != s)
            EXPECT_GT(psnr, dapsmri::MagnitudePSNR(slice, truths[other]) + 3.0)
              << "slice " << s << " against " << other;
      }
    }
    EXPECT_LT(volume->GetRelativeResidual(), 0.1); // every slice fits its own data
  }
  // A slice whose mask plane is empty is named.
  std::fill_n(volumeMask->GetBufferPointer() + plane, plane, 0);
  volumeMask->Modified();
  auto volume = VolumeFilter::New();
  volume->SetKSpace(volumeKSpace);
  volume->SetCoilSensitivities(volumeMaps);
  volume->SetMask(volumeMask);
  configure(volume.GetPointer());
  const auto error = ErrorOf([&] { volume->Update(); });
  EXPECT_NE(error.find("slice 1: the sampling mask is empty"), std::string::npos) << error;
}

TEST(MRIDAPSReconstructionImageFilter, LoadsATorchScriptPriorFromFile)
{
  Acquisition acq(20, 22, 2, 2.0, 0.01); // not a multiple of the model's factor 4: padded
  auto        filter = acq.Filter();
  filter->SetModelFileName(DAPSMRI_TEST_MODELS "/tiny_prior.pt");
  filter->SetNumberOfAnnealingSteps(3);
  filter->SetNumberOfODESteps(2);
  filter->SetNumberOfMCMCSteps(3);
  filter->SetNumberOfSamples(2);
  filter->Update();
  EXPECT_EQ(filter->GetPrior().Normalization(), "p99_magnitude");
  EXPECT_GT(filter->GetEstimatedIntensityScale(), 0.0);
  for (const auto & v : Buffer(filter->GetOutput()))
  {
    ASSERT_TRUE(std::isfinite(v.real()) && std::isfinite(v.imag()));
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input: a clear itk::ExceptionObject that says what is wrong.
TEST(MRIDAPSReconstructionImageFilterErrors, NoPrior)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  auto        filter = acq.Filter();
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("No prior"), std::string::npos);
}

TEST(MRIDAPSReconstructionImageFilterErrors, MissingModelFile)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  auto        filter = acq.Filter();
  filter->SetModelFileName("/nonexistent/model.pt");
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("/nonexistent/model.pt"), std::string::npos);
}

TEST(MRIDAPSReconstructionImageFilterErrors, ModelThatBreaksTheContract)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  auto        filter = acq.Filter();
  filter->SetModelFileName(DAPSMRI_TEST_MODELS "/wrong_channels.pt");
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("contract"), std::string::npos);
}

TEST(MRIDAPSReconstructionImageFilterErrors, MismatchedSizes)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  Acquisition other(8, 10, 2, 2.0, 0.0);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  filter->SetCoilSensitivities(other.mapsImage);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("matrix size"), std::string::npos);
  filter->SetCoilSensitivities(acq.mapsImage);
  filter->SetMask(other.maskImage);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("sampling mask"), std::string::npos);
}

TEST(MRIDAPSReconstructionImageFilterErrors, WrongCoilCount)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  Acquisition three(8, 8, 3, 2.0, 0.0);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  filter->SetCoilSensitivities(three.mapsImage);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("2 coils"), std::string::npos);
  auto noMaps = FilterType::New();
  noMaps->SetKSpace(acq.kSpaceImage);
  noMaps->SetMask(acq.maskImage);
  noMaps->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  EXPECT_NE(ErrorOf([&] { noMaps->Update(); }).find("SetCoilSensitivities"), std::string::npos);
}

TEST(MRIDAPSReconstructionImageFilterErrors, NaNOrInfInTheData)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  acq.kSpaceImage->GetBufferPointer()[5] = Complex(std::numeric_limits<float>::quiet_NaN(), 0.0f);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("NaN or Inf"), std::string::npos);
  acq.kSpaceImage->GetBufferPointer()[5] = Complex(0.0f, 0.0f);
  acq.mapsImage->GetBufferPointer()[3] = Complex(0.0f, std::numeric_limits<float>::infinity());
  acq.mapsImage->Modified();
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("coil sensitivities contain NaN or Inf"), std::string::npos);
}

TEST(MRIDAPSReconstructionImageFilterErrors, EmptyMask)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  acq.maskImage->FillBuffer(0);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("mask is empty"), std::string::npos);
}

TEST(MRIDAPSReconstructionImageFilterErrors, ZeroDataOrVanishingCoilMaps)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  auto        filter = acq.Filter();
  filter->SetModelFileName(DAPSMRI_TEST_MODELS "/tiny_prior.pt"); // p99 normalisation: scale from the data
  itk::VariableLengthVector<Complex> zero(2);
  zero.Fill(Complex(0.0f, 0.0f));
  acq.kSpaceImage->FillBuffer(zero);
  acq.kSpaceImage->Modified();
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("k-space data are zero"), std::string::npos);

  // Maps that vanish everywhere but at one pixel of 256 (as ESPIRiT maps from too few lines can).
  Acquisition fresh(16, 16, 2, 2.0, 0.0);
  auto        noMaps = fresh.Filter();
  noMaps->SetModelFileName(DAPSMRI_TEST_MODELS "/tiny_prior.pt");
  itk::VariableLengthVector<Complex> one(2);
  one.Fill(Complex(0.7f, 0.0f));
  fresh.mapsImage->FillBuffer(zero);
  fresh.mapsImage->SetPixel({ { 8, 8 } }, one);
  fresh.mapsImage->Modified();
  const std::string error = ErrorOf([&] { noMaps->Update(); });
  EXPECT_NE(error.find("coil sensitivities are zero"), std::string::npos) << error;
}

TEST(MRIDAPSReconstructionImageFilterErrors, EmptyImagesAreRefusedNotDividedBy)
{
  auto filter = FilterType::New();
  filter->SetKSpace(MakeMultiCoil({}, 1, 0, 4));
  filter->SetMask(MakeMask({}, 0, 4));
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  const auto error = ErrorOf([&] { filter->Update(); }); // a message, not a division by zero
  EXPECT_NE(error.find("size and coil count must be positive"), std::string::npos) << error;
}

TEST(MRIDAPSReconstructionImageFilterErrors, BadParameters)
{
  Acquisition acq(8, 8, 2, 2.0, 0.0);
  auto        filter = acq.Filter();
  filter->SetPrior(dapsmri::Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  filter->SetTau(0.0);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("tau"), std::string::npos);
  filter->SetTau(0.01);
  filter->SetNumberOfSamples(0);
  EXPECT_NE(ErrorOf([&] { filter->Update(); }).find("samples"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Undersampling masks.
namespace
{
double
SampledFraction(const std::vector<unsigned char> & mask)
{
  return static_cast<double>(std::count(mask.begin(), mask.end(), 1)) / static_cast<double>(mask.size());
}
} // namespace

TEST(UndersamplingMasks, FastMRIRandomAndEquispacedReachTheRateWithACentreBlock)
{
  for (bool equispaced : { false, true })
  {
    const auto mask = dapsmri::FastMRIMask(256, 64, 4.0, 0.08, 5, equispaced);
    EXPECT_NEAR(SampledFraction(mask), 0.25, 0.04) << equispaced;
    for (int64_t y = 128 - 10; y < 128 + 10; ++y) // 0.08 * 256 = 20 centre lines
      EXPECT_EQ(mask[static_cast<size_t>(y * 64)], 1) << y;
    EXPECT_EQ(mask, dapsmri::FastMRIMask(256, 64, 4.0, 0.08, 5, equispaced)); // seeded
  }
  EXPECT_NE(dapsmri::FastMRIMask(256, 8, 4.0, 0.08, 5), dapsmri::FastMRIMask(256, 8, 4.0, 0.08, 6));
}

TEST(UndersamplingMasks, VariableDensityIsDenserNearTheCentre)
{
  const auto mask = dapsmri::VariableDensityMask(512, 4, 4.0, 0.04, 3);
  EXPECT_NEAR(SampledFraction(mask), 0.25, 0.04);
  int inner = 0, outer = 0;
  for (int64_t y = 0; y < 512; ++y)
  {
    const auto d = std::abs(y - 256);
    if (d > 20 && d < 120)
      inner += mask[static_cast<size_t>(y * 4)];
    if (d >= 156)
      outer += mask[static_cast<size_t>(y * 4)];
  }
  EXPECT_GT(inner, 2 * outer); // 198 and 200 candidate rows: far fewer taken far out
}

TEST(UndersamplingMasks, PoissonDiscKeepsItsDistancesAndRate)
{
  const auto mask = dapsmri::PoissonDiscMask(96, 80, 5.0, 12, 4);
  EXPECT_NEAR(SampledFraction(mask), 0.2, 0.2 * 0.05 + 1e-9);
  for (int64_t y = 48 - 6; y < 48 + 6; ++y) // the calibration square
    for (int64_t x = 40 - 6; x < 40 + 6; ++x)
      EXPECT_EQ(mask[static_cast<size_t>(y * 80 + x)], 1);
  // Samples keep their distance: far fewer right / lower neighbours than a uniform random mask of
  // the same rate would have (2 x rate per sample), and none at all far from the centre, where the
  // radius exceeds 1.5 pixels.
  int touching = 0, samples = 0, farTouching = 0;
  for (int64_t y = 1; y + 1 < 96; ++y)
    for (int64_t x = 1; x + 1 < 80; ++x)
      if (mask[static_cast<size_t>(y * 80 + x)] && (std::abs(y - 48) > 8 || std::abs(x - 40) > 8))
      {
        const int n = mask[static_cast<size_t>(y * 80 + x + 1)] + mask[static_cast<size_t>((y + 1) * 80 + x)];
        touching += n;
        ++samples;
        if (std::abs(y - 48) > 36 || std::abs(x - 40) > 30)
          farTouching += n;
      }
  EXPECT_LT(touching, 0.5 * 2 * 0.2 * samples);
  EXPECT_EQ(farTouching, 0);
  EXPECT_THROW(dapsmri::PoissonDiscMask(16, 16, 1.0, 4, 1), itk::ExceptionObject);
}

// ---------------------------------------------------------------------------------------------
// The shipped prior, end to end: a slice from the prior's validation slab of the Colin27
// template (never used in training, but the same subject as the training slices, so not an
// independent test of generalisation), 8 simulated coils, a fastMRI-style 4x mask with 8 %
// calibration lines. A short schedule keeps it under a minute on two cores.
namespace
{
std::vector<Complex>
ValidationBrainSlice(int64_t & height, int64_t & width)
{
  using VolumeType = itk::Image<float, 3>;
  auto reader = itk::ImageFileReader<VolumeType>::New();
  reader->SetFileName("/usr/share/mricron/templates/ch2better.nii.gz");
  reader->Update();
  const auto * volume = reader->GetOutput();
  const auto   size = volume->GetLargestPossibleRegion().GetSize();
  // Axial slice 95 of the 1 mm grid (2 x 2 x 2 averaging of the 0.5 mm template).
  const itk::IndexValueType z = 2 * 95;
  width = static_cast<int64_t>(size[0] / 2);
  height = static_cast<int64_t>(size[1] / 2);
  std::vector<float> slice(static_cast<size_t>(height * width), 0.0f);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
    {
      float sum = 0.0f;
      for (itk::IndexValueType dz = 0; dz < 2; ++dz)
        for (itk::IndexValueType dy = 0; dy < 2; ++dy)
          for (itk::IndexValueType dx = 0; dx < 2; ++dx)
            sum += volume->GetPixel({ { 2 * x + dx, 2 * y + dy, z + dz } });
      slice[static_cast<size_t>(y * width + x)] = sum / 8.0f;
    }
  std::vector<float> sorted = slice;
  std::sort(sorted.begin(), sorted.end());
  const float p99 = sorted[static_cast<size_t>(0.99 * (sorted.size() - 1))];
  std::vector<Complex> image(slice.size());
  std::transform(slice.begin(), slice.end(), image.begin(), [p99](float v) { return Complex(v / p99, 0.0f); });
  return image;
}
} // namespace

TEST(MRIDAPSReconstructionImageFilter, ShippedPriorBeatsTheZeroFilledImageFourfoldOnAHeldOutBrainSlice)
{
  int64_t    H = 0, W = 0;
  const auto truth = ValidationBrainSlice(H, W);
  const int64_t C = 8;
  const auto maps = dapsmri::SimulatedCoilMaps(C, H, W);
  const auto mask = dapsmri::FastMRIMask(H, W, 4.0, 0.08, 11);
  const auto kSpace = dapsmri::SimulateKSpace(truth, maps, C, H, W, mask, 0.005, 12);
  auto       filter = FilterType::New();
  filter->SetKSpace(MakeMultiCoil(kSpace, C, H, W));
  filter->SetCoilSensitivities(MakeMultiCoil(maps, C, H, W));
  filter->SetMask(MakeMask(mask, H, W));
  filter->SetModelFileName(DAPSMRI_SHIPPED_MODEL);
  filter->SetNumberOfAnnealingSteps(20);
  filter->SetNumberOfODESteps(2);
  filter->SetNumberOfMCMCSteps(20);
  filter->SetSeed(3);
  filter->Update();
  dapsmri::MultiCoilData data{ kSpace.data(), maps.data(), mask.data(), H, W, C };
  const double psnrZeroFilled = dapsmri::MagnitudePSNR(dapsmri::ZeroFilledImage(data), truth);
  const double psnrDAPS = dapsmri::MagnitudePSNR(Buffer(filter->GetOutput()), truth);
  std::cout << "brain slice " << W << "x" << H << ": PSNR zero-filled " << psnrZeroFilled << " dB, DAPS "
            << psnrDAPS << " dB\n";
  EXPECT_GT(psnrDAPS, psnrZeroFilled + 3.0);
  EXPECT_NEAR(filter->GetEstimatedIntensityScale(), 1.0, 0.3); // the calibration estimate of the p99 scale
  // The shipped archive's metadata (its contract was checked on load).
  const auto & prior = filter->GetPrior();
  EXPECT_EQ(prior.Normalization(), "p99_magnitude");
  EXPECT_EQ(prior.DownsamplingFactor(), 8);
  EXPECT_DOUBLE_EQ(prior.SigmaData(), 0.5);
  EXPECT_NE(prior.TrainingData().find("ch2better"), std::string::npos) << prior.TrainingData();
}
