#ifndef itkMRIDAPSReconstructionImageFilter_hxx
#define itkMRIDAPSReconstructionImageFilter_hxx

#include "itkMRIDAPSReconstructionImageFilter.h"

namespace itk
{

template <typename TKSpaceImage, typename TOutputImage>
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::MRIDAPSReconstructionImageFilter()
{
  this->AddOptionalInputName("CoilSensitivities");
  this->AddRequiredInputName("Mask");
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
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::DefineOutputGeometry(OutputImageType * output)
{
  if (const CoilSensitivityImageType * maps = this->GetCoilSensitivities())
  {
    output->CopyInformation(maps);
  }
  output->SetLargestPossibleRegion(this->GetInput()->GetLargestPossibleRegion());
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::GenerateData()
{
  const dapsmri::Prior &           prior = this->PriorForRun();
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
  auto settings = this->Settings();
  settings.sliceBatch = m_SliceBatch;
  const auto results = dapsmri::ReconstructSlices(prior, data, settings, this->ProgressReporter());
  this->StoreResults(results, [](std::complex<float> z) { return z; });
}

template <typename TKSpaceImage, typename TOutputImage>
void
MRIDAPSReconstructionImageFilter<TKSpaceImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "SliceBatch: " << m_SliceBatch << '\n';
}

} // namespace itk

#endif
