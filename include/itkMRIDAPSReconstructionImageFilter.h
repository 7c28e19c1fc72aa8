#ifndef itkMRIDAPSReconstructionImageFilter_h
#define itkMRIDAPSReconstructionImageFilter_h

#include "itkDAPSImageFilterBase.h"
#include "itkVectorImage.h"

#include <complex>

namespace itk
{

/** \class MRIDAPSReconstructionImageFilter
 * \brief Reconstructs undersampled multi-coil Cartesian k-space with a diffusion prior (DAPS).
 *
 * Inputs:
 * - k-space (primary input, SetInput / SetKSpace): a VectorImage of std::complex<float>, one
 *   component per coil, in centered k-space order (DC at index (W/2, H/2));
 * - coil sensitivities (SetCoilSensitivities, optional for single-coil data): same type and
 *   size, image space, sum_c |S_c|^2 = 1 inside the object;
 * - sampling mask (SetMask): Image<unsigned char>, nonzero where k-space was acquired.
 *
 * Images are 2-D slices, or 3-D volumes (x, y, slice) whose slices are reconstructed as separate
 * 2-D problems (each with its own mask plane and intensity scale), SliceBatch of them at a time
 * in one batch: one network call serves the whole batch.
 *
 * Outputs:
 * - 0: the reconstruction, Image<std::complex<float>>: the posterior mean of NumberOfSamples
 *   independent DAPS samples (the sample itself when NumberOfSamples is 1);
 * - 1: the per-pixel posterior standard deviation, Image<float> (GetStandardDeviationOutput),
 *   filled when NumberOfSamples > 1 and zero otherwise.
 *
 * The forward model is y_c = M F (S_c x) + n with F the centered orthonormal 2-D FFT.
 * Images are brought to the prior's intensity convention (its metadata) before sampling and
 * back afterwards (IntensityScale, estimated from the calibration region unless set).
 * Spacing, origin and direction of the outputs are those of the coil sensitivities (image
 * space) when given, else those of the k-space input.
 *
 * One ProgressEvent and IterationEvent per annealing step; AbortGenerateDataOn() stops the run
 * at the next step with ProcessAborted, and no output is allocated then.
 *
 * The hyper-parameters default to the "mri" preset (dapsmri::DAPSConfig); SetPreset("reference")
 * gives the reference DAPS implementation's (Zhang et al., arXiv 2407.01521): 200 annealing
 * steps from sigma 100 to 0.1, 5 Euler ODE steps to 0.01, 100 Langevin steps with step size 1e-4
 * decaying to 1e-6, tau 0.01.
 *
 * \ingroup DAPSMRI
 */
template <typename TKSpaceImage = VectorImage<std::complex<float>, 2>,
          typename TOutputImage = Image<std::complex<float>, TKSpaceImage::ImageDimension>>
class ITK_TEMPLATE_EXPORT MRIDAPSReconstructionImageFilter : public DAPSImageFilterBase<TKSpaceImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MRIDAPSReconstructionImageFilter);

  using Self = MRIDAPSReconstructionImageFilter;
  using Superclass = DAPSImageFilterBase<TKSpaceImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkOverrideGetNameOfClassMacro(MRIDAPSReconstructionImageFilter);

  static constexpr unsigned int ImageDimension = TKSpaceImage::ImageDimension;
  static_assert(ImageDimension == 2 || ImageDimension == 3,
                "DAPS reconstruction takes 2-D slices or 3-D volumes of slices (x, y, slice)");
  static_assert(std::is_same<typename TKSpaceImage::InternalPixelType, std::complex<float>>::value,
                "k-space pixels must be std::complex<float>");
  static_assert(std::is_same<typename TOutputImage::PixelType, std::complex<float>>::value,
                "the output pixels must be std::complex<float>");

  using KSpaceImageType = TKSpaceImage;
  using CoilSensitivityImageType = TKSpaceImage;
  using MaskImageType = Image<unsigned char, ImageDimension>;
  using OutputImageType = TOutputImage;
  using typename Superclass::StandardDeviationImageType;

  /** The k-space (same as SetInput). */
  void SetKSpace(const KSpaceImageType * kSpace) { this->SetInput(kSpace); }
  const KSpaceImageType * GetKSpace() const { return this->GetInput(); }
  itkSetInputMacro(CoilSensitivities, CoilSensitivityImageType);
  itkGetInputMacro(CoilSensitivities, CoilSensitivityImageType);
  itkSetInputMacro(Mask, MaskImageType);
  itkGetInputMacro(Mask, MaskImageType);

  /** Slices of a volume run as one batch (0: automatic, see dapsmri::ReconstructionSettings). */
  itkSetMacro(SliceBatch, int);
  itkGetConstMacro(SliceBatch, int);

protected:
  MRIDAPSReconstructionImageFilter();
  ~MRIDAPSReconstructionImageFilter() override = default;

  /** Inputs live in k-space and image space: compare sizes and coil counts, not geometry. */
  void VerifyInputInformation() const override;
  /** The coil sensitivities' geometry (image space) when given, else the k-space's. */
  void DefineOutputGeometry(OutputImageType * output) override;
  void GenerateData() override;
  void PrintSelf(std::ostream & os, Indent indent) const override;

private:
  int m_SliceBatch{ 0 };
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkMRIDAPSReconstructionImageFilter.hxx"
#endif

#endif
