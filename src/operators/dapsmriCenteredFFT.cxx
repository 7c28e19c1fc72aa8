#include "dapsmriCenteredFFT.h"

#include <ATen/Parallel.h>
#include <fftw3.h>

#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>

#include <sched.h>

namespace dapsmri
{

namespace
{
std::mutex &
PlannerMutex()
{
  static std::mutex mutex;
  return mutex;
}

void
FreeWorkspace(std::complex<float> * p)
{
  fftwf_free(p);
}
} // namespace

int
DefaultThreadCount()
{
  return std::max(1, at::get_num_threads());
}

int
AvailableCores()
{
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  return std::max(1U, std::thread::hardware_concurrency());
}

struct CenteredFFT::Plans
{
  fftwf_plan forward = nullptr;
  fftwf_plan inverse = nullptr;
  ~Plans()
  {
    std::lock_guard<std::mutex> lock(PlannerMutex());
    fftwf_destroy_plan(forward);
    fftwf_destroy_plan(inverse);
  }
};

namespace
{
using PlanKey = std::tuple<int64_t, int64_t, int64_t, int>;

// Plans are made on a scratch buffer with FFTW_MEASURE, then applied to each object's own
// workspace through the new-array interface (same alignment: both come from fftwf_malloc).
// The cache holds weak references: plans live as long as some object uses them.
std::shared_ptr<CenteredFFT::Plans>
GetPlans(int64_t count, int64_t height, int64_t width, int threads)
{
  static std::map<PlanKey, std::weak_ptr<CenteredFFT::Plans>> cache;
  static bool                                                  threadsInitialised = false;
  std::lock_guard<std::mutex>                                  lock(PlannerMutex());
  const PlanKey                                                key{ count, height, width, threads };
  if (auto found = cache.find(key); found != cache.end())
  {
    if (auto plans = found->second.lock())
    {
      return plans;
    }
  }
  if (!threadsInitialised)
  {
    fftwf_init_threads();
    threadsInitialised = true;
  }
  fftwf_plan_with_nthreads(threads);
  const int      n[2] = { static_cast<int>(height), static_cast<int>(width) };
  const int64_t  total = count * height * width;
  fftwf_complex * scratch = fftwf_alloc_complex(static_cast<size_t>(total));
  if (scratch == nullptr)
  {
    throw std::runtime_error("CenteredFFT: cannot allocate " + std::to_string(total * 8) + " bytes for FFT planning");
  }
  const int  dist = static_cast<int>(height * width);
  fftwf_plan forward = fftwf_plan_many_dft(
    2, n, static_cast<int>(count), scratch, nullptr, 1, dist, scratch, nullptr, 1, dist, FFTW_FORWARD, FFTW_MEASURE);
  fftwf_plan inverse = fftwf_plan_many_dft(
    2, n, static_cast<int>(count), scratch, nullptr, 1, dist, scratch, nullptr, 1, dist, FFTW_BACKWARD, FFTW_MEASURE);
  fftwf_free(scratch);
  if (forward == nullptr || inverse == nullptr)
  {
    // Still under the planner lock: destroy directly (Plans' destructor would take the lock again).
    for (fftwf_plan p : { forward, inverse })
      if (p != nullptr)
        fftwf_destroy_plan(p);
    throw std::runtime_error("CenteredFFT: FFTW could not plan a transform of " + std::to_string(count) + " x " +
                             std::to_string(height) + " x " + std::to_string(width));
  }
  auto plans = std::make_shared<CenteredFFT::Plans>();
  plans->forward = forward;
  plans->inverse = inverse;
  cache[key] = plans;
  return plans;
}

std::vector<int64_t>
IfftshiftTable(int64_t n)
{
  // u = ifftshift(c) means u[j] = c[(j + n/2) % n], so c[i] lands at j = (i + n - n/2) % n.
  // fftshift reads the same positions back: fftshift(v)[i] = v[(i + ceil(n/2)) % n].
  std::vector<int64_t> table(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
  {
    table[static_cast<size_t>(i)] = (i + (n - n / 2)) % n;
  }
  return table;
}
} // namespace

CenteredFFT::CenteredFFT(int64_t count, int64_t height, int64_t width, int threads)
  : m_Count(count)
  , m_Height(height)
  , m_Width(width)
  , m_Scale(1.0f / std::sqrt(static_cast<float>(height * width)))
{
  if (count < 1 || height < 1 || width < 1)
  {
    throw std::invalid_argument("CenteredFFT: sizes must be positive, got " + std::to_string(count) + " x " +
                                std::to_string(height) + " x " + std::to_string(width));
  }
  // Plans first: if planning throws, no workspace has been allocated yet (no destructor runs).
  m_Plans = GetPlans(count, height, width, threads > 0 ? threads : DefaultThreadCount());
  m_Workspace = reinterpret_cast<Complex *>(fftwf_alloc_complex(static_cast<size_t>(count * height * width)));
  if (m_Workspace == nullptr)
  {
    throw std::runtime_error("CenteredFFT: cannot allocate the FFT workspace");
  }
  m_RowToNative = IfftshiftTable(height);
  m_ColumnToNative = IfftshiftTable(width);
}

CenteredFFT::~CenteredFFT()
{
  FreeWorkspace(m_Workspace);
}

void
CenteredFFT::ExecuteForward()
{
  auto * w = reinterpret_cast<fftwf_complex *>(m_Workspace);
  fftwf_execute_dft(m_Plans->forward, w, w);
}

void
CenteredFFT::ExecuteInverse()
{
  auto * w = reinterpret_cast<fftwf_complex *>(m_Workspace);
  fftwf_execute_dft(m_Plans->inverse, w, w);
}

void
CenteredFFT::LoadCentered(const Complex * in)
{
  const int64_t rows = m_Count * m_Height;
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
    {
      const int64_t  image = r / m_Height, y = r % m_Height;
      const Complex * src = in + r * m_Width;
      Complex *       dst = m_Workspace + (image * m_Height + m_RowToNative[y]) * m_Width;
      for (int64_t x = 0; x < m_Width; ++x)
      {
        dst[m_ColumnToNative[x]] = src[x];
      }
    }
  });
}

void
CenteredFFT::StoreCentered(Complex * out, float scale)
{
  const int64_t rows = m_Count * m_Height;
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
    {
      const int64_t  image = r / m_Height, y = r % m_Height;
      const Complex * src = m_Workspace + (image * m_Height + m_RowToNative[y]) * m_Width;
      Complex *       dst = out + r * m_Width;
      for (int64_t x = 0; x < m_Width; ++x)
      {
        dst[x] = src[m_ColumnToNative[x]] * scale;
      }
    }
  });
}

void
CenteredFFT::Forward(const Complex * in, Complex * out)
{
  LoadCentered(in);
  ExecuteForward();
  StoreCentered(out, m_Scale);
}

void
CenteredFFT::Inverse(const Complex * in, Complex * out)
{
  LoadCentered(in);
  ExecuteInverse();
  StoreCentered(out, m_Scale);
}

} // namespace dapsmri
