#ifndef dapsmriCenteredFFT_h
#define dapsmriCenteredFFT_h

#include <complex>
#include <cstdint>
#include <memory>
#include <vector>

namespace dapsmri
{

/** Centered, orthonormal 2-D FFT of a stack of images on FFTW (single precision).
 *
 * Convention (fastMRI, InverseBench): fftshift(FFT(ifftshift(x))) / sqrt(H*W).
 * One object owns an aligned in-place workspace of `count` images of H x W and the two
 * FFTW plans for it. Plans are made once per (count, H, W, threads) and cached
 * process-wide; planning is serialised because FFTW's planner is not thread-safe.
 * The shifts are folded into the copies in and out of the workspace, so a transform costs
 * the bare FFT plus one pass over memory on each side.
 * An object is not safe to use from several threads at once (it has one workspace). */
class CenteredFFT
{
public:
  using Complex = std::complex<float>;

  CenteredFFT(int64_t count, int64_t height, int64_t width, int threads = 0);
  ~CenteredFFT();
  CenteredFFT(const CenteredFFT &) = delete;
  CenteredFFT & operator=(const CenteredFFT &) = delete;

  int64_t Count() const { return m_Count; }
  int64_t Height() const { return m_Height; }
  int64_t Width() const { return m_Width; }
  int64_t ImageSize() const { return m_Height * m_Width; }

  /** The workspace: Count() images in FFTW's native (uncentered) order, row-major. */
  Complex * Workspace() { return m_Workspace; }

  /** Bare in-place transforms of the workspace, unscaled (FFTW's own). */
  void ExecuteForward();
  void ExecuteInverse();

  /** Scale that makes a forward + inverse pair orthonormal: 1/sqrt(H*W) per transform. */
  float Scale() const { return m_Scale; }

  /** Position in the workspace (native order) of centered index (y, x): ifftshift. */
  const std::vector<int64_t> & RowToNative() const { return m_RowToNative; }
  const std::vector<int64_t> & ColumnToNative() const { return m_ColumnToNative; }

  /** Out-of-place centered transforms of `Count()` images (convenience; uses the workspace). */
  void Forward(const Complex * in, Complex * out);
  void Inverse(const Complex * in, Complex * out);

  /** Copy `Count()` centered images into the workspace in native order, and back. */
  void LoadCentered(const Complex * in);
  void StoreCentered(Complex * out, float scale);

  struct Plans; ///< the cached FFTW plans (opaque)

private:
  int64_t                m_Count, m_Height, m_Width;
  float                  m_Scale;
  Complex *              m_Workspace = nullptr;
  std::shared_ptr<Plans> m_Plans;
  std::vector<int64_t>   m_RowToNative, m_ColumnToNative;
};

/** Number of threads FFT plans and the engine's loops use when a caller passes 0: LibTorch's
 * current count (ThreadCountScope sets it). */
int DefaultThreadCount();

/** Cores this thread may run on (its CPU affinity; hardware_concurrency where unknown). LibTorch's
 * own default can be a single thread (its core detection fails in some virtual machines). */
int AvailableCores();

} // namespace dapsmri

#endif
