#ifndef dapsmriTaskOperators_h
#define dapsmriTaskOperators_h

// The forward models of the DAPS paper's image-restoration tasks, on complex images [B, H, W]
// (real images are the case of zero imaginary parts). Linear ones have explicit adjoints; the
// nonlinear ones (phase retrieval, HDR) are differentiated by autograd. All run on any device.
// Constructors refuse bad parameters with std::invalid_argument before any work.
#include "dapsmriOperator.h"

#include <cstdint>

namespace dapsmri
{

/** Super-resolution: down-sampling by an integer factor, y: [B, H / f, W / f]. */
class DownsamplingOperator : public LinearOperator
{
public:
  enum class Method
  {
    Area,   ///< the mean of each f x f block (exact adjoint: replication / f^2)
    Bicubic ///< bicubic interpolation with antialiasing (adjoint by autograd)
  };
  DownsamplingOperator(int64_t height, int64_t width, int64_t factor, Method method = Method::Area);

  std::vector<int64_t> ImageShape() const override { return { m_Height, m_Width }; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  torch::Tensor        Adjoint(const torch::Tensor & y) const override;

private:
  int64_t m_Height, m_Width, m_Factor;
  Method  m_Method;
};

/** Inpainting: y = M x with a mask [H, W] (1 where the pixel is seen). */
class InpaintingOperator : public LinearOperator
{
public:
  explicit InpaintingOperator(const torch::Tensor & mask);

  std::vector<int64_t> ImageShape() const override { return { m_Mask.size(0), m_Mask.size(1) }; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  torch::Tensor        Adjoint(const torch::Tensor & y) const override { return Forward(y); }

private:
  torch::Tensor m_Mask; // [H, W] float 0 / 1
};

/** A smooth estimate of the unseen pixels of `image` ([H, W] complex; mask [H, W], nonzero where
 * seen): a harmonic fill (Laplace's equation in the gaps) solved coarse to fine on a pyramid of
 * masked block means. Seen pixels keep their values. The warm start of inpainting. */
torch::Tensor SmoothFill(const torch::Tensor & image, const torch::Tensor & mask);

/** Fienup's hybrid input-output with error-reduction polishing for PhaseRetrievalOperator's
 * measurement (magnitudes [s H, s W]): support (the H x W corner of the padded grid) and a real,
 * nonnegative image; `rounds` of 300 HIO (beta 0.9) and 50 ER iterations from a seeded random
 * start. Returns the [H, W] image (complex, imaginary part 0). The warm start of phase retrieval. */
torch::Tensor HybridInputOutput(const torch::Tensor & magnitude, int64_t height, int64_t width, uint64_t seed,
                                int rounds = 3);

/** Deblurring: y = k * x, circular (periodic) convolution by FFT with a real kernel [kh, kw]
 * whose centre is (kh / 2, kw / 2); the adjoint is the correlation. */
class BlurOperator : public LinearOperator
{
public:
  BlurOperator(int64_t height, int64_t width, const torch::Tensor & kernel);

  std::vector<int64_t> ImageShape() const override { return { m_Height, m_Width }; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  torch::Tensor        Adjoint(const torch::Tensor & y) const override;

private:
  int64_t       m_Height, m_Width;
  torch::Tensor m_Spectrum; // FFT of the kernel wrapped around the origin, [H, W] complex
};

/** A normalised Gaussian kernel [size, size] of standard deviation sigma (pixels). */
torch::Tensor GaussianKernel(int64_t size, double sigma);
/** A normalised motion-blur kernel [size, size]: a seeded random camera path (momentum random
 * walk) drawn with bilinear weights; `intensity` in [0, 1] is how much the path turns. */
torch::Tensor MotionKernel(int64_t size, double intensity, uint64_t seed);

/** Phase retrieval: y = |F pad(x)|, the magnitude of the orthonormal 2-D FFT of the image
 * zero-padded to oversampling x its size; y: [B, s H, s W] (real magnitudes, complex dtype). */
class PhaseRetrievalOperator : public Operator
{
public:
  PhaseRetrievalOperator(int64_t height, int64_t width, int64_t oversampling = 2);

  std::vector<int64_t> ImageShape() const override { return { m_Height, m_Width }; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  /** 1: the padded orthonormal FFT has norm 1 and |.| is 1-Lipschitz. */
  double CurvatureBound() const override { return 1.0; }

private:
  int64_t m_Height, m_Width, m_Oversampling;
};

/** High dynamic range: y = clip(alpha x, -1, 1) on the real and imaginary parts.
 *
 * Its data gradient is alpha (clip(alpha x) - y), not the gradient of 0.5 ||clip(alpha x) - y||^2,
 * which vanishes wherever alpha x is clipped: a sample that overshoots a pixel measured below the
 * clip level would get no pull back from the data and keep the wrong, saturated value. The
 * gradient used is that of the convex potential sum C(alpha x) - alpha x y, C(u) = u^2 / 2 for
 * |u| <= 1 and |u| - 1/2 beyond (see DataPotential): equal to the least-squares term up to a
 * constant where clip(alpha x) is not clipped, and zero exactly where clip(alpha x) = y. */
class HDROperator : public Operator
{
public:
  HDROperator(int64_t height, int64_t width, double alpha = 2.0);

  std::vector<int64_t> ImageShape() const override { return { m_Height, m_Width }; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  torch::Tensor        DataGradient(const torch::Tensor & x, const torch::Tensor & y) const override;
  /** The potential whose gradient DataGradient is, per batch entry: [B] (double). */
  torch::Tensor DataPotential(const torch::Tensor & x, const torch::Tensor & y) const;
  /** alpha^2: the slope of clip(alpha x) is alpha or 0. */
  double CurvatureBound() const override { return m_Alpha * m_Alpha; }

private:
  int64_t m_Height, m_Width;
  double  m_Alpha;
};

} // namespace dapsmri

#endif
