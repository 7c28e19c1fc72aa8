#ifndef itkDAPSRestorationImageFilter_h
#define itkDAPSRestorationImageFilter_h

#include "dapsmriRestoration.h"
#include "itkDAPSImageFilterBase.h"

#include <complex>
#include <type_traits>

namespace itk
{

/** \class DAPSRestorationImageFilter
 * \brief DAPS for the image restoration tasks of dapsmri::Restore: the input is the measurement
 * (a real 2-D image), the output the restored image.
 *
 * The task filters (DAPSSuperResolutionImageFilter, DAPSInpaintingImageFilter,
 * DAPSDeblurringImageFilter, DAPSPhaseRetrievalImageFilter, DAPSHDRImageFilter) add their
 * parameters to this class; the matching forward-model filters add the same parameters to
 * RestorationForwardImageFilter, so a pipeline can simulate a measurement and restore it.
 *
 * The output covers the input's field of view (super-resolution: a finer grid over the same
 * extent), so a forward filter and its DAPS filter give back the original geometry. Complex
 * output pixels hold the posterior mean; real ones its magnitude (the prior is complex). The
 * intensity convention is dapsmri::Restore's: the 99th percentile of the measurement (seen
 * pixels for inpainting) for the linear tasks, 1 for phase retrieval and HDR, unless
 * IntensityScale is set. The parameters start at the task's defaults (dapsmri::DefaultConfig);
 * inpainting and phase retrieval anneal from a classical estimate (WarmStart).
 *
 * \ingroup DAPSMRI
 */
template <typename TInputImage, typename TOutputImage>
class ITK_TEMPLATE_EXPORT DAPSRestorationImageFilter : public DAPSImageFilterBase<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(DAPSRestorationImageFilter);

  using Self = DAPSRestorationImageFilter;
  using Superclass = DAPSImageFilterBase<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  itkOverrideGetNameOfClassMacro(DAPSRestorationImageFilter);

  static_assert(TInputImage::ImageDimension == 2 && TOutputImage::ImageDimension == 2,
                "the restoration tasks work on 2-D images");
  static_assert(std::is_arithmetic<typename TInputImage::PixelType>::value, "the measurement must be a real image");
  using typename Superclass::OutputImageType;

  /** Runs of DAPS (seeds Seed, Seed + 1, ...) of which the one fitting the data best is kept. */
  itkSetClampMacro(NumberOfRestarts, int, 1, 64);
  itkGetConstMacro(NumberOfRestarts, int);
  /** Inpainting and phase retrieval: anneal from a classical estimate (a harmonic fill of the
   * hole; HIO + ER) instead of noise alone (dapsmri::RestorationProblem::warmStart). On. */
  itkSetMacro(WarmStart, bool);
  itkGetConstMacro(WarmStart, bool);
  itkBooleanMacro(WarmStart);
  dapsmri::RestorationTask GetTask() const { return m_Task; }

protected:
  explicit DAPSRestorationImageFilter(dapsmri::RestorationTask task);
  ~DAPSRestorationImageFilter() override = default;

  /** Sets the task's parameters in `problem`; with `withPixels` also its images (mask, kernel),
   * which are read only by GenerateData. The image size is already in `problem` then. */
  virtual void DescribeTask(dapsmri::RestorationProblem & problem, bool withPixels) const = 0;
  /** The problem the input measures (its image size from the input's size). */
  dapsmri::RestorationProblem Problem(bool withPixels) const;

  /** A mask or kernel image has its own geometry; sizes are checked with the problem. */
  void VerifyInputInformation() const override {}
  void DefineOutputGeometry(OutputImageType * output) override;
  void GenerateData() override;
  void PrintSelf(std::ostream & os, Indent indent) const override;

private:
  dapsmri::RestorationTask m_Task;
  int                      m_NumberOfRestarts{ 1 };
  bool                     m_WarmStart{ true };
};

/** \class RestorationForwardImageFilter
 * \brief A restoration task's forward model y = A(x) (+ seeded Gaussian noise of
 * NoiseStandardDeviation): the measurement a DAPS restoration filter of the same task takes.
 * The output covers the input's field of view.
 *
 * \ingroup DAPSMRI
 */
template <typename TInputImage, typename TOutputImage>
class ITK_TEMPLATE_EXPORT RestorationForwardImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(RestorationForwardImageFilter);

  using Self = RestorationForwardImageFilter;
  using Superclass = ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  itkOverrideGetNameOfClassMacro(RestorationForwardImageFilter);

  static_assert(TInputImage::ImageDimension == 2 && TOutputImage::ImageDimension == 2,
                "the restoration tasks work on 2-D images");
  static_assert(std::is_arithmetic<typename TInputImage::PixelType>::value &&
                  std::is_floating_point<typename TOutputImage::PixelType>::value,
                "the forward models take a real image and give a floating-point one");

  /** Std of the Gaussian noise added to every measured value (0: none), and its seed. */
  itkSetMacro(NoiseStandardDeviation, double);
  itkGetConstMacro(NoiseStandardDeviation, double);
  itkSetMacro(Seed, uint64_t);
  itkGetConstMacro(Seed, uint64_t);
  dapsmri::RestorationTask GetTask() const { return m_Task; }

protected:
  explicit RestorationForwardImageFilter(dapsmri::RestorationTask task);
  ~RestorationForwardImageFilter() override = default;

  /** As DAPSRestorationImageFilter::DescribeTask. */
  virtual void DescribeTask(dapsmri::RestorationProblem & problem, bool withPixels) const = 0;
  /** The problem whose image is the input. */
  dapsmri::RestorationProblem Problem(bool withPixels) const;

  void VerifyPreconditions() const override;
  void VerifyInputInformation() const override {}
  void GenerateOutputInformation() override;
  void GenerateInputRequestedRegion() override;
  void EnlargeOutputRequestedRegion(DataObject * output) override;
  void GenerateData() override;
  void PrintSelf(std::ostream & os, Indent indent) const override;

private:
  dapsmri::RestorationTask m_Task;
  double                   m_NoiseStandardDeviation{ 0.0 };
  uint64_t                 m_Seed{ 0 };
};

/** Sets `output`'s size and a geometry that covers `input`'s field of view: the same direction,
 * spacing scaled by the size ratio, pixel centres shifted so the outer edges coincide. */
inline void
CoverFieldOfView(const ImageBase<2> * input, const Size<2> & size, ImageBase<2> * output);

/** The input image's pixels as floats, row-major. */
template <typename TImage>
std::vector<float>
PixelValues(const TImage * image)
{
  const auto * begin = image->GetBufferPointer();
  return std::vector<float>(begin, begin + image->GetLargestPossibleRegion().GetNumberOfPixels());
}

} // namespace itk

/** Declares a concrete task filter: `Parameters` (a task's parameter class template, see
 * itkDAPSSuperResolutionImageFilter.h) on `Base` (DAPSRestorationImageFilter or
 * RestorationForwardImageFilter); everything else is ITK's boilerplate. */
#define DAPSMRI_TASK_FILTER(Name, Parameters, Base)                                                                    \
  template <typename TInputImage, typename TOutputImage = TInputImage>                                                 \
  class ITK_TEMPLATE_EXPORT Name : public Parameters<Base<TInputImage, TOutputImage>>                                  \
  {                                                                                                                    \
  public:                                                                                                              \
    ITK_DISALLOW_COPY_AND_MOVE(Name);                                                                                  \
    using Self = Name;                                                                                                 \
    using Superclass = Parameters<Base<TInputImage, TOutputImage>>;                                                    \
    using Pointer = SmartPointer<Self>;                                                                                \
    using ConstPointer = SmartPointer<const Self>;                                                                     \
    itkNewMacro(Self);                                                                                                 \
    itkOverrideGetNameOfClassMacro(Name);                                                                              \
                                                                                                                       \
  protected:                                                                                                           \
    Name() = default;                                                                                                  \
    ~Name() override = default;                                                                                        \
  }

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkDAPSRestorationImageFilter.hxx"
#endif

#endif
