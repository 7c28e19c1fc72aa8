#ifndef itkDAPSInpaintingImageFilter_h
#define itkDAPSInpaintingImageFilter_h

#include "itkDAPSRestorationImageFilter.h"

namespace itk
{

/** \class InpaintingParameters
 * \brief Inpainting's forward model: the pixels where the mask (SetMask, an
 * Image<unsigned char, 2> of the image's size) is nonzero; the others read 0. dapsmri::BoxMask
 * and dapsmri::RandomMask make masks. \ingroup DAPSMRI */
template <typename TBase>
class InpaintingParameters : public TBase
{
public:
  using MaskImageType = Image<unsigned char, 2>;
  itkSetInputMacro(Mask, MaskImageType);
  itkGetInputMacro(Mask, MaskImageType);

protected:
  InpaintingParameters()
    : TBase(dapsmri::RestorationTask::Inpainting)
  {
    this->AddRequiredInputName("Mask");
  }
  void
  DescribeTask(dapsmri::RestorationProblem & problem, bool withPixels) const override
  {
    if (!withPixels)
      return;
    const MaskImageType * mask = this->GetMask();
    const auto            size = mask->GetLargestPossibleRegion().GetSize();
    if (static_cast<int64_t>(size[0]) != problem.width || static_cast<int64_t>(size[1]) != problem.height)
    {
      itkExceptionMacro(<< "The inpainting mask is " << size[0] << " x " << size[1] << " pixels but the image is "
                        << problem.width << " x " << problem.height << ": they must have one size.");
    }
    problem.mask.assign(mask->GetBufferPointer(), mask->GetBufferPointer() + size[0] * size[1]);
  }
};

/** \class DAPSInpaintingImageFilter
 * \brief Fills the pixels where the mask is zero with DAPS (see DAPSRestorationImageFilter).
 * \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(DAPSInpaintingImageFilter, InpaintingParameters, DAPSRestorationImageFilter);

/** \class InpaintingForwardImageFilter
 * \brief Keeps the pixels where the mask is nonzero and sets the others to 0. \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(InpaintingForwardImageFilter, InpaintingParameters, RestorationForwardImageFilter);

} // namespace itk

#endif
