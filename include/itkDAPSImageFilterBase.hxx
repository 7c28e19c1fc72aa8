#ifndef itkDAPSImageFilterBase_hxx
#define itkDAPSImageFilterBase_hxx

#include "itkDAPSImageFilterBase.h"

#include "itkEventObject.h"

#include <algorithm>

namespace itk
{

template <typename TInputImage, typename TOutputImage>
DAPSImageFilterBase<TInputImage, TOutputImage>::DAPSImageFilterBase()
{
  this->SetNumberOfRequiredOutputs(2);
  this->SetNthOutput(1, this->MakeOutput(1));
}

template <typename TInputImage, typename TOutputImage>
void
DAPSImageFilterBase<TInputImage, TOutputImage>::SetDAPSConfig(const dapsmri::DAPSConfig & c)
{
  m_DAPSConfig = c;
  this->Modified();
}

template <typename TInputImage, typename TOutputImage>
void
DAPSImageFilterBase<TInputImage, TOutputImage>::SetPreset(const std::string & name)
{
  dapsmri::DAPSConfig c;
  try
  {
    c = dapsmri::Preset(name);
  }
  catch (const std::invalid_argument & e)
  {
    itkExceptionMacro(<< e.what());
  }
  c.seed = m_DAPSConfig.seed;
  this->SetDAPSConfig(c);
}

template <typename TInputImage, typename TOutputImage>
DataObject::Pointer
DAPSImageFilterBase<TInputImage, TOutputImage>::MakeOutput(DataObjectPointerArraySizeType index)
{
  if (index == 1)
  {
    return StandardDeviationImageType::New().GetPointer();
  }
  return Superclass::MakeOutput(index);
}

template <typename TInputImage, typename TOutputImage>
auto
DAPSImageFilterBase<TInputImage, TOutputImage>::GetStandardDeviationOutput() -> StandardDeviationImageType *
{
  return dynamic_cast<StandardDeviationImageType *>(this->ProcessObject::GetOutput(1));
}

template <typename TInputImage, typename TOutputImage>
void
DAPSImageFilterBase<TInputImage, TOutputImage>::SetPrior(const dapsmri::Prior & prior)
{
  m_Prior = prior;
  m_PriorFromFile = false;
  m_LoadedModelKey.clear();
  this->Modified();
}

template <typename TInputImage, typename TOutputImage>
void
DAPSImageFilterBase<TInputImage, TOutputImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  if (!m_Prior.IsSet() && m_ModelFileName.empty())
  {
    itkExceptionMacro(<< "No prior: call SetModelFileName() with a TorchScript prior (for example the shipped "
                         "models/brain_prior.pt) or SetPrior() with an analytic one.");
  }
}

template <typename TInputImage, typename TOutputImage>
void
DAPSImageFilterBase<TInputImage, TOutputImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation();
  OutputImageType * output = this->GetOutput();
  this->DefineOutputGeometry(output);
  StandardDeviationImageType * deviation = this->GetStandardDeviationOutput();
  deviation->CopyInformation(output);
  deviation->SetLargestPossibleRegion(output->GetLargestPossibleRegion());
}

template <typename TInputImage, typename TOutputImage>
void
DAPSImageFilterBase<TInputImage, TOutputImage>::EnlargeOutputRequestedRegion(DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TInputImage, typename TOutputImage>
const dapsmri::Prior &
DAPSImageFilterBase<TInputImage, TOutputImage>::PriorForRun()
{
  if (!m_Prior.IsSet() || m_PriorFromFile)
  {
    const std::string key = m_ModelFileName + "@" + m_Device;
    if (key != m_LoadedModelKey)
    {
      m_Prior = dapsmri::Prior::Load(m_ModelFileName, m_Device);
      m_PriorFromFile = true;
      m_LoadedModelKey = key;
    }
  }
  return m_Prior;
}

template <typename TInputImage, typename TOutputImage>
dapsmri::ReconstructionSettings
DAPSImageFilterBase<TInputImage, TOutputImage>::Settings() const
{
  dapsmri::ReconstructionSettings s;
  s.daps = m_DAPSConfig;
  s.threads = m_NumberOfThreads;
  s.intensityScale = m_IntensityScale;
  s.noiseStandardDeviation = m_NoiseStandardDeviation;
  return s;
}

template <typename TInputImage, typename TOutputImage>
dapsmri::ProgressFunction
DAPSImageFilterBase<TInputImage, TOutputImage>::ProgressReporter()
{
  this->UpdateProgress(0.0f);
  return [this](int done, int total) {
    this->UpdateProgress(static_cast<float>(done) / static_cast<float>(total));
    this->InvokeEvent(IterationEvent());
    return !this->GetAbortGenerateData();
  };
}

template <typename TInputImage, typename TOutputImage>
template <typename TToPixel>
void
DAPSImageFilterBase<TInputImage, TOutputImage>::StoreResults(const std::vector<dapsmri::ReconstructionResult> & results,
                                                             TToPixel toPixel)
{
  OutputImageType * output = this->GetOutput();
  output->SetBufferedRegion(output->GetLargestPossibleRegion());
  output->Allocate();
  StandardDeviationImageType * deviation = this->GetStandardDeviationOutput();
  deviation->SetBufferedRegion(deviation->GetLargestPossibleRegion());
  deviation->Allocate();
  deviation->FillBuffer(0.0f);
  for (size_t s = 0; s < results.size(); ++s)
  {
    const auto & r = results[s];
    const size_t offset = s * r.mean.size();
    std::transform(r.mean.begin(), r.mean.end(), output->GetBufferPointer() + offset, toPixel);
    std::copy(r.standardDeviation.begin(), r.standardDeviation.end(), deviation->GetBufferPointer() + offset);
  }
  const auto summary = dapsmri::Summarise(results);
  m_EstimatedIntensityScale = summary.largestIntensityScale;
  m_RelativeResidual = summary.largestRelativeResidual;
  m_UsedTau = summary.smallestTau;
  m_Statistics = summary.statistics;
}

template <typename TInputImage, typename TOutputImage>
void
DAPSImageFilterBase<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "ModelFileName: " << m_ModelFileName << '\n'
     << indent << "Device: " << m_Device << '\n'
     << indent << "Prior: " << (m_Prior.IsSet() ? m_Prior.Name() : std::string("(none)")) << '\n';
#define DAPSMRI_PRINT_PARAMETER(field, Name, type, flag, placeholder, help)                                            \
  os << indent << #Name ": " << dapsmri::ParameterText(m_DAPSConfig.field) << '\n';
  DAPSMRI_DAPS_PARAMETERS(DAPSMRI_PRINT_PARAMETER)
#undef DAPSMRI_PRINT_PARAMETER
  os << indent << "NumberOfThreads: " << m_NumberOfThreads << '\n'
     << indent << "IntensityScale: " << m_IntensityScale << '\n'
     << indent << "NoiseStandardDeviation: " << m_NoiseStandardDeviation << '\n'
     << indent << "EstimatedIntensityScale: " << m_EstimatedIntensityScale << '\n'
     << indent << "UsedTau: " << m_UsedTau << '\n'
     << indent << "RelativeResidual: " << m_RelativeResidual << '\n';
}

} // namespace itk

#endif
