#ifndef itkDAPSDeblurringImageFilter_h
#define itkDAPSDeblurringImageFilter_h

#include "itkDAPSRestorationImageFilter.h"

namespace itk
{

/** \class DeblurringParameters
 * \brief Deblurring's forward model: periodic convolution with the kernel image
 * (SetKernelImage, an Image<float, 2> no larger than the image, used as given: normalise it to
 * sum 1 to keep the brightness; its centre pixel is the origin of the convolution).
 * dapsmri::GaussianBlurKernel and dapsmri::MotionBlurKernel make kernels. \ingroup DAPSMRI */
template <typename TBase>
class DeblurringParameters : public TBase
{
public:
  using KernelImageType = Image<float, 2>;
  itkSetInputMacro(KernelImage, KernelImageType);
  itkGetInputMacro(KernelImage, KernelImageType);

protected:
  DeblurringParameters()
    : TBase(dapsmri::RestorationTask::Deblurring)
  {
    this->AddRequiredInputName("KernelImage");
  }
  void
  DescribeTask(dapsmri::RestorationProblem & problem, bool withPixels) const override
  {
    if (!withPixels)
      return;
    const KernelImageType * kernel = this->GetKernelImage();
    const auto              size = kernel->GetLargestPossibleRegion().GetSize();
    problem.kernelWidth = static_cast<int64_t>(size[0]);
    problem.kernelHeight = static_cast<int64_t>(size[1]);
    problem.kernel.assign(kernel->GetBufferPointer(), kernel->GetBufferPointer() + size[0] * size[1]);
  }
};

/** \class DAPSDeblurringImageFilter
 * \brief Removes a known blur with DAPS (see DAPSRestorationImageFilter). \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(DAPSDeblurringImageFilter, DeblurringParameters, DAPSRestorationImageFilter);

/** \class DeblurringForwardImageFilter
 * \brief Blurs an image with the kernel (periodic boundary), as DAPSDeblurringImageFilter
 * assumes. \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(DeblurringForwardImageFilter, DeblurringParameters, RestorationForwardImageFilter);

} // namespace itk

#endif
