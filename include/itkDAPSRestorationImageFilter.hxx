#ifndef itkDAPSRestorationImageFilter_hxx
#define itkDAPSRestorationImageFilter_hxx

#include "itkDAPSRestorationImageFilter.h"

#include <random>

namespace itk
{

inline void
CoverFieldOfView(const ImageBase<2> * input, const Size<2> & size, ImageBase<2> * output)
{
  const auto              inputSize = input->GetLargestPossibleRegion().GetSize();
  typename ImageBase<2>::SpacingType spacing;
  Vector<double, 2>                  shift;
  for (unsigned int i = 0; i < 2; ++i)
  {
    spacing[i] = input->GetSpacing()[i] * static_cast<double>(inputSize[i]) / static_cast<double>(size[i]);
    shift[i] = 0.5 * (spacing[i] - input->GetSpacing()[i]);
  }
  output->SetDirection(input->GetDirection());
  output->SetSpacing(spacing);
  output->SetOrigin(input->GetOrigin() + input->GetDirection() * shift);
  output->SetLargestPossibleRegion(ImageRegion<2>(size));
}

template <typename TInputImage, typename TOutputImage>
DAPSRestorationImageFilter<TInputImage, TOutputImage>::DAPSRestorationImageFilter(dapsmri::RestorationTask task)
  : m_Task(task)
{
  this->SetDAPSConfig(dapsmri::DefaultConfig(task));
}

template <typename TInputImage, typename TOutputImage>
dapsmri::RestorationProblem
DAPSRestorationImageFilter<TInputImage, TOutputImage>::Problem(bool withPixels) const
{
  dapsmri::RestorationProblem p;
  p.task = m_Task;
  p.warmStart = m_WarmStart;
  this->DescribeTask(p, false);
  const auto size = this->GetInput()->GetLargestPossibleRegion().GetSize();
  const auto image = dapsmri::ImageSize(p, static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]));
  p.height = image[0];
  p.width = image[1];
  if (withPixels)
  {
    this->DescribeTask(p, true);
  }
  return p;
}

template <typename TInputImage, typename TOutputImage>
void
DAPSRestorationImageFilter<TInputImage, TOutputImage>::DefineOutputGeometry(OutputImageType * output)
{
  const auto p = this->Problem(false);
  CoverFieldOfView(this->GetInput(), { { static_cast<SizeValueType>(p.width), static_cast<SizeValueType>(p.height) } },
                   output);
}

template <typename TInputImage, typename TOutputImage>
void
DAPSRestorationImageFilter<TInputImage, TOutputImage>::GenerateData()
{
  const auto             problem = this->Problem(true); // the task's images are checked before the prior loads
  const dapsmri::Prior & prior = this->PriorForRun();
  const auto             result = dapsmri::Restore(prior, problem, PixelValues(this->GetInput()), this->Settings(),
                                       m_NumberOfRestarts, this->ProgressReporter());
  using OutputPixelType = typename OutputImageType::PixelType;
  this->StoreResults({ result }, [](std::complex<float> z) {
    if constexpr (std::is_arithmetic<OutputPixelType>::value)
      return static_cast<OutputPixelType>(std::abs(z));
    else
      return static_cast<OutputPixelType>(z);
  });
}

template <typename TInputImage, typename TOutputImage>
void
DAPSRestorationImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Task: " << dapsmri::ToString(m_Task) << '\n'
     << indent << "NumberOfRestarts: " << m_NumberOfRestarts << '\n'
     << indent << "WarmStart: " << m_WarmStart << '\n';
}

template <typename TInputImage, typename TOutputImage>
RestorationForwardImageFilter<TInputImage, TOutputImage>::RestorationForwardImageFilter(dapsmri::RestorationTask task)
  : m_Task(task)
{}

template <typename TInputImage, typename TOutputImage>
dapsmri::RestorationProblem
RestorationForwardImageFilter<TInputImage, TOutputImage>::Problem(bool withPixels) const
{
  dapsmri::RestorationProblem p;
  p.task = m_Task;
  const auto size = this->GetInput()->GetLargestPossibleRegion().GetSize();
  p.height = static_cast<int64_t>(size[1]);
  p.width = static_cast<int64_t>(size[0]);
  this->DescribeTask(p, withPixels);
  return p;
}

template <typename TInputImage, typename TOutputImage>
void
RestorationForwardImageFilter<TInputImage, TOutputImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  if (!(m_NoiseStandardDeviation >= 0.0) || !std::isfinite(m_NoiseStandardDeviation))
  {
    itkExceptionMacro(<< "The noise standard deviation must be finite and not negative, got "
                      << m_NoiseStandardDeviation << ".");
  }
}

template <typename TInputImage, typename TOutputImage>
void
RestorationForwardImageFilter<TInputImage, TOutputImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation();
  const auto size = dapsmri::MeasurementSize(this->Problem(false));
  CoverFieldOfView(this->GetInput(), { { static_cast<SizeValueType>(size[1]), static_cast<SizeValueType>(size[0]) } },
                   this->GetOutput());
}

template <typename TInputImage, typename TOutputImage>
void
RestorationForwardImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  RequestWholeInputs<2>(this);
}

template <typename TInputImage, typename TOutputImage>
void
RestorationForwardImageFilter<TInputImage, TOutputImage>::EnlargeOutputRequestedRegion(DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TInputImage, typename TOutputImage>
void
RestorationForwardImageFilter<TInputImage, TOutputImage>::GenerateData()
{
  auto measurement = dapsmri::Measure(this->Problem(true), PixelValues(this->GetInput()));
  if (m_NoiseStandardDeviation > 0.0)
  {
    std::mt19937_64                  random(m_Seed);
    std::normal_distribution<double> gaussian(0.0, m_NoiseStandardDeviation);
    for (auto & v : measurement)
      v += static_cast<float>(gaussian(random));
  }
  TOutputImage * output = this->GetOutput();
  output->SetBufferedRegion(output->GetLargestPossibleRegion());
  output->Allocate();
  std::copy(measurement.begin(), measurement.end(), output->GetBufferPointer());
}

template <typename TInputImage, typename TOutputImage>
void
RestorationForwardImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Task: " << dapsmri::ToString(m_Task) << '\n'
     << indent << "NoiseStandardDeviation: " << m_NoiseStandardDeviation << '\n'
     << indent << "Seed: " << m_Seed << '\n';
}

} // namespace itk

#endif
