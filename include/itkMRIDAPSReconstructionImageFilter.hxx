#ifndef itkMRIDAPSReconstructionImageFilter_hxx
#define itkMRIDAPSReconstructionImageFilter_hxx

#include "itkMRIDAPSReconstructionImageFilter.h"

#include "itkEventObject.h"

#include <algorithm>

namespace itk
{

template <typename TKSpaceImage, typename TOutputImage>
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::MRIDAPSReconstructionImageFilter()
{
  this->AddOptionalInputName("CoilSensitivities");
  this->AddRequiredInputName("Mask");
  this->SetNumberOfRequiredOutputs(2);
  this->SetNthOutput(1, this->MakeOutput(1));
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::SetDAPSConfig(const dapsmri::DAPSConfig & c)
{
  m_DAPSConfig = c;
  this->Modified();
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::SetPreset(const std::string & name)
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

template <typename TKSpaceImage, typename TOutputImage>
DataObject::Pointer
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::MakeOutput(DataObjectPointerArraySizeType index)
{
  if (index == 1)
  {
    return StandardDeviationImageType::New().GetPointer();
  }
  return Superclass::MakeOutput(index);
}

template <typename TKSpaceImage, typename TOutputImage>
auto
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::GetStandardDeviationOutput()
  -> StandardDeviationImageType *
{
  return dynamic_cast<StandardDeviationImageType *>(this->ProcessObject::GetOutput(1));
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::SetPrior(const dapsmri::Prior & prior)
{
  m_Prior = prior;
  m_PriorFromFile = false;
  m_LoadedModelKey.clear();
  this->Modified();
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  if (!m_Prior.IsSet() && m_ModelFileName.empty())
  {
    itkExceptionMacro(<< "No prior: call SetModelFileName() with a TorchScript prior (for example the shipped "
                         "models/brain_prior.pt) or SetPrior() with an analytic one.");
  }
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::VerifyInputInformation() const
{
  const KSpaceImageType * kSpace = this->GetInput();
  const auto              size = kSpace->GetLargestPossibleRegion().GetSize();
  const auto              coils = kSpace->GetNumberOfComponentsPerPixel();
  if (const CoilSensitivityImageType * maps = this->GetCoilSensitivities())
  {
    if (maps->GetLargestPossibleRegion().GetSize() != size)
    {
      itkExceptionMacro(<< "The coil sensitivities are " << maps->GetLargestPossibleRegion().GetSize()
                        << " pixels but the k-space is " << size << ": both must share one matrix size.");
    }
    if (maps->GetNumberOfComponentsPerPixel() != coils)
    {
      itkExceptionMacro(<< "The k-space has " << coils << " coils but the coil sensitivities have "
                        << maps->GetNumberOfComponentsPerPixel()
                        << ": estimate the maps from the same acquisition, one per coil.");
    }
  }
  else if (coils != 1)
  {
    itkExceptionMacro(<< "The k-space has " << coils
                      << " coils but no coil sensitivities were given: call SetCoilSensitivities().");
  }
  if (this->GetMask()->GetLargestPossibleRegion().GetSize() != size)
  {
    itkExceptionMacro(<< "The sampling mask is " << this->GetMask()->GetLargestPossibleRegion().GetSize()
                      << " pixels but the k-space is " << size << ".");
  }
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation();
  const ImageBase<ImageDimension> * geometry = this->GetInput();
  if (const CoilSensitivityImageType * maps = this->GetCoilSensitivities())
  {
    geometry = maps;
  }
  OutputImageType * output = this->GetOutput();
  output->CopyInformation(geometry);
  output->SetLargestPossibleRegion(this->GetInput()->GetLargestPossibleRegion());
  StandardDeviationImageType * deviation = this->GetStandardDeviationOutput();
  deviation->CopyInformation(output);
  deviation->SetLargestPossibleRegion(output->GetLargestPossibleRegion());
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::GenerateInputRequestedRegion()
{
  // Every k-space sample touches every pixel: the whole of each input is needed.
  for (auto & name : this->GetInputNames())
  {
    if (auto * input = dynamic_cast<ImageBase<ImageDimension> *>(this->ProcessObject::GetInput(name)))
    {
      input->SetRequestedRegionToLargestPossibleRegion();
    }
  }
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::EnlargeOutputRequestedRegion(DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TKSpaceImage, typename TOutputImage>
dapsmri::ReconstructionSettings
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::Settings() const
{
  dapsmri::ReconstructionSettings s;
  s.daps = m_DAPSConfig;
  s.threads = m_NumberOfThreads;
  s.sliceBatch = m_SliceBatch;
  s.intensityScale = m_IntensityScale;
  s.noiseStandardDeviation = m_NoiseStandardDeviation;
  return s;
}

template <typename TKSpaceImage, typename TOutputImage>
dapsmri::DAPSConfig
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::GetDAPSConfig() const
{
  return m_DAPSConfig;
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::GenerateData()
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
  const KSpaceImageType *          kSpace = this->GetInput();
  const CoilSensitivityImageType * maps = this->GetCoilSensitivities();
  const auto                       size = kSpace->GetLargestPossibleRegion().GetSize();
  const int64_t                    width = static_cast<int64_t>(size[0]), height = static_cast<int64_t>(size[1]);
  const int64_t                    coils = static_cast<int64_t>(kSpace->GetNumberOfComponentsPerPixel());
  const int64_t                    plane = width * height;
  // An empty image goes on as one slice, which the facade refuses with its message.
  const int64_t slices =
    plane > 0 ? static_cast<int64_t>(kSpace->GetLargestPossibleRegion().GetNumberOfPixels()) / plane : 1;
  std::vector<dapsmri::MultiCoilData> data(static_cast<size_t>(slices));
  for (int64_t s = 0; s < slices; ++s)
  {
    auto & d = data[static_cast<size_t>(s)];
    d.kSpace = kSpace->GetBufferPointer() + s * plane * coils;
    d.coilMaps = maps ? maps->GetBufferPointer() + s * plane * coils : nullptr;
    d.mask = this->GetMask()->GetBufferPointer() + s * plane;
    d.width = width;
    d.height = height;
    d.coils = coils;
  }

  this->UpdateProgress(0.0f);
  const auto results = dapsmri::ReconstructSlices(m_Prior, data, Settings(), [this](int done, int total) {
    this->UpdateProgress(static_cast<float>(done) / static_cast<float>(total));
    this->InvokeEvent(IterationEvent());
    return !this->GetAbortGenerateData();
  });

  // Outputs are allocated and written only after a successful run.
  OutputImageType * output = this->GetOutput();
  output->SetBufferedRegion(output->GetRequestedRegion());
  output->Allocate();
  StandardDeviationImageType * deviation = this->GetStandardDeviationOutput();
  deviation->SetBufferedRegion(deviation->GetLargestPossibleRegion());
  deviation->Allocate();
  deviation->FillBuffer(0.0f);
  m_EstimatedIntensityScale = 0.0;
  m_RelativeResidual = 0.0;
  m_UsedTau = results.front().tau;
  m_Statistics = dapsmri::DAPSStatistics{};
  for (int64_t s = 0; s < slices; ++s)
  {
    const auto & r = results[static_cast<size_t>(s)];
    std::copy(r.mean.begin(), r.mean.end(), output->GetBufferPointer() + s * plane);
    std::copy(r.standardDeviation.begin(), r.standardDeviation.end(), deviation->GetBufferPointer() + s * plane);
    m_EstimatedIntensityScale = std::max(m_EstimatedIntensityScale, r.intensityScale);
    m_RelativeResidual = std::max(m_RelativeResidual, r.relativeResidual);
    m_UsedTau = std::min(m_UsedTau, r.tau);
    if (s == 0 || r.batch != results[static_cast<size_t>(s) - 1].batch) // each batch's cost once
      m_Statistics += r.statistics;
  }
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
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
     << indent << "SliceBatch: " << m_SliceBatch << '\n'
     << indent << "IntensityScale: " << m_IntensityScale << '\n'
     << indent << "NoiseStandardDeviation: " << m_NoiseStandardDeviation << '\n'
     << indent << "EstimatedIntensityScale: " << m_EstimatedIntensityScale << '\n'
     << indent << "UsedTau: " << m_UsedTau << '\n'
     << indent << "RelativeResidual: " << m_RelativeResidual << '\n';
}

} // namespace itk

#endif
