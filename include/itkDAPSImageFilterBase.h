#ifndef itkDAPSImageFilterBase_h
#define itkDAPSImageFilterBase_h

#include "dapsmriConfigure.h"
#include "dapsmriReconstruction.h"

#include "itkImage.h"
#include "itkImageToImageFilter.h"

namespace itk
{

/** Asks for the whole of every image input of `filter`: each output pixel of a DAPS filter or a
 * forward model depends on every input pixel. */
template <unsigned int VDimension>
void
RequestWholeInputs(ProcessObject * filter)
{
  for (auto & object : filter->GetInputs())
  {
    if (auto * input = dynamic_cast<ImageBase<VDimension> *>(object.GetPointer()))
    {
      input->SetRequestedRegionToLargestPossibleRegion();
    }
  }
}

/** \class DAPSImageFilterBase
 * \brief What every DAPS filter shares, whatever its forward model: the prior, the DAPS
 * parameters, the intensity convention, progress and abort, the mean and standard deviation
 * outputs and the run's figures.
 *
 * Subclasses say what the inputs are and how they become a problem for the engine
 * (MRIDAPSReconstructionImageFilter: multi-coil k-space; DAPSRestorationImageFilter: the image
 * restoration tasks), set the output geometry in DefineOutputGeometry() and run the engine in
 * GenerateData() with PriorForRun(), Settings() and ProgressReporter(), then StoreResults().
 *
 * Outputs: 0 the posterior mean of NumberOfSamples DAPS samples (the sample when there is one);
 * 1 the per-pixel posterior standard deviation, Image<float> (GetStandardDeviationOutput), zero
 * when NumberOfSamples is 1. Outputs are allocated only after a successful run: an error or
 * AbortGenerateDataOn() leaves none. One ProgressEvent and IterationEvent per annealing step.
 *
 * \ingroup DAPSMRI
 */
template <typename TInputImage, typename TOutputImage>
class ITK_TEMPLATE_EXPORT DAPSImageFilterBase : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(DAPSImageFilterBase);

  using Self = DAPSImageFilterBase;
  using Superclass = ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  itkOverrideGetNameOfClassMacro(DAPSImageFilterBase);

  static constexpr unsigned int ImageDimension = TOutputImage::ImageDimension;
  using OutputImageType = TOutputImage;
  using StandardDeviationImageType = Image<float, ImageDimension>;
  using DataObjectPointerArraySizeType = typename Superclass::DataObjectPointerArraySizeType;

  StandardDeviationImageType * GetStandardDeviationOutput();

  /** The prior: a model file (loaded on the first Update, reloaded when the name or device
   * changes) or a prior object (which takes precedence). */
  itkSetStringMacro(ModelFileName);
  itkGetStringMacro(ModelFileName);
  itkSetStringMacro(Device);
  itkGetStringMacro(Device);
  void SetPrior(const dapsmri::Prior & prior);
  const dapsmri::Prior & GetPrior() const { return m_Prior; }

  /** All DAPS hyper-parameters at once, and a named set of them: "mri" (tuned for MRI) or
   * "reference" (the paper's algorithm and values). SetPreset keeps the seed. */
  void                SetDAPSConfig(const dapsmri::DAPSConfig & config);
  dapsmri::DAPSConfig GetDAPSConfig() const { return m_DAPSConfig; }
  void                SetPreset(const std::string & name);

  /** DAPS hyper-parameters, one by one: Set/Get of every line of DAPSMRI_DAPS_PARAMETERS
   * (dapsmriDAPSConfig.h), e.g. SetNumberOfAnnealingSteps, SetMCMCMethod, SetTau, SetSeed. */
#define DAPSMRI_FILTER_ACCESSORS(field, Name, type, flag, placeholder, help)                                           \
  virtual void Set##Name(type value)                                                                                   \
  {                                                                                                                    \
    if (m_DAPSConfig.field != value)                                                                                   \
    {                                                                                                                  \
      m_DAPSConfig.field = value;                                                                                      \
      this->Modified();                                                                                                \
    }                                                                                                                  \
  }                                                                                                                    \
  virtual type Get##Name() const { return m_DAPSConfig.field; }
  DAPSMRI_DAPS_PARAMETERS(DAPSMRI_FILTER_ACCESSORS)
#undef DAPSMRI_FILTER_ACCESSORS
  /** Threads for FFTW and LibTorch (0: every core this process may use). */
  itkSetMacro(NumberOfThreads, int);
  itkGetConstMacro(NumberOfThreads, int);
  /** Divide the data by this before sampling and multiply the result back (0: estimate it the
   * subclass's way). */
  itkSetMacro(IntensityScale, double);
  itkGetConstMacro(IntensityScale, double);
  /** Known noise std of the measurement (per real part) in the data's units (0: unknown). When
   * set, Tau is derived from it and the step size scaled to keep step size / tau^2. */
  itkSetMacro(NoiseStandardDeviation, double);
  itkGetConstMacro(NoiseStandardDeviation, double);

  /** After an update: the scale used, ||A x - y|| / ||y|| of the result, tau and the cost. For a
   * volume: the largest scale and residual of its slices, the smallest tau, the cost of all. */
  itkGetConstMacro(EstimatedIntensityScale, double);
  itkGetConstMacro(RelativeResidual, double);
  itkGetConstMacro(UsedTau, double);
  const dapsmri::DAPSStatistics & GetStatistics() const { return m_Statistics; }

protected:
  DAPSImageFilterBase();
  ~DAPSImageFilterBase() override = default;

  using Superclass::MakeOutput;
  DataObject::Pointer MakeOutput(DataObjectPointerArraySizeType index) override;

  void VerifyPreconditions() const override;
  /** Calls DefineOutputGeometry() for output 0 and gives output 1 the same geometry. */
  void GenerateOutputInformation() override;
  /** The geometry of output 0; it starts as a copy of the primary input's. */
  virtual void DefineOutputGeometry(OutputImageType * output) = 0;
  void GenerateInputRequestedRegion() override { RequestWholeInputs<TInputImage::ImageDimension>(this); }
  void EnlargeOutputRequestedRegion(DataObject * output) override;
  void PrintSelf(std::ostream & os, Indent indent) const override;

  /** The prior, the model file loaded (once per file and device) when none was set. */
  const dapsmri::Prior & PriorForRun();
  /** The DAPS parameters, threads, intensity scale and noise level as the engine takes them. */
  dapsmri::ReconstructionSettings Settings() const;
  /** Progress for the engine: ProgressEvent and IterationEvent per step, false once aborted. */
  dapsmri::ProgressFunction ProgressReporter();
  /** Allocates both outputs and writes result s into the s-th block of mean.size() pixels (a
   * slice of a volume); `toPixel` turns a complex mean into an output pixel. Records the run's
   * figures: the largest scale and residual, the smallest tau, each batch's cost once. */
  template <typename TToPixel>
  void StoreResults(const std::vector<dapsmri::ReconstructionResult> & results, TToPixel toPixel);

private:
  std::string             m_ModelFileName;
  std::string             m_Device{ "cpu" };
  dapsmri::Prior          m_Prior;
  bool                    m_PriorFromFile{ false };
  std::string             m_LoadedModelKey;
  dapsmri::DAPSConfig     m_DAPSConfig;
  int                     m_NumberOfThreads{ 0 };
  double                  m_IntensityScale{ 0.0 };
  double                  m_NoiseStandardDeviation{ 0.0 };
  double                  m_EstimatedIntensityScale{ 0.0 };
  double                  m_UsedTau{ 0.0 };
  double                  m_RelativeResidual{ 0.0 };
  dapsmri::DAPSStatistics m_Statistics;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkDAPSImageFilterBase.hxx"
#endif

#endif
