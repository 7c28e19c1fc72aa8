// Speed of the SENSE operator (FFTW, or cuFFT on a GPU, against torch::fft), the network's cost
// per image by batch size, the cost breakdown of a DAPS run and the default preset's time per slice
// (one slice, and four as one batch).
//
//   dapsmri-benchmark [--device cpu|cuda:N] [--model PATH] [--sizes 128,256] [--coils 8] [--steps 10]
//                     [--ode-steps 5] [--mcmc-steps 100] [--threads N] [google-benchmark flags]
//
// The floor ratio is total / (NFE x one denoiser forward + gradients x one bare forward+inverse
// FFT pair over all coils), all measured in the same run: 1.0 means the run spends time on
// nothing but the network and the FFTs. GPU timings wait for the device after each call.
#include "dapsmriCenteredFFT.h"
#include "dapsmriDenoiser.h"
#include "dapsmriSENSEOperator.h"
#include "dapsmriSampler.h"
#ifdef DAPSMRI_CUDA_SENSE_OPERATOR
#  include "dapsmriCudaSENSE.h"
#endif

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

namespace
{
using namespace dapsmri;

struct Options
{
  std::string          device = "cpu";
  std::string          model;
  std::vector<int64_t> sizes{ 128, 256 };
  int64_t              coils = 8;
  int                  steps = 10, odeSteps = 5, mcmcSteps = 100, threads = 0;
};

torch::Device device = torch::kCPU; // --device

/** Waits for the GPU's queued work, so that wall time covers it. */
void
Sync()
{
  if (device.is_cuda())
    torch::cuda::synchronize();
}

struct Problem
{
  torch::Tensor                       maps, mask, x, y;
  std::unique_ptr<Operator>           fast; // FFTW on the CPU, cuFFT on a GPU
  std::unique_ptr<TorchSENSEOperator> torchFFT;

  Problem(int64_t C, int64_t N)
  {
    auto g = at::detail::createCPUGenerator(1);
    maps = torch::view_as_complex(torch::randn({ C, N, N, 2 }, g));
    maps = maps / maps.abs().pow(2).sum(0, true).sqrt(); // sum_c |S_c|^2 = 1, as ESPIRiT maps
    mask = (torch::rand({ N, N }, g) < 0.25).to(torch::kFloat);
    x = torch::view_as_complex(torch::randn({ 1, N, N, 2 }, g)).to(device);
    fast = MakeSENSEOperator(maps, mask, device);
    torchFFT = std::make_unique<TorchSENSEOperator>(maps.to(device), mask.to(device));
    y = fast->Forward(x);
  }
};

/** One bare forward + inverse FFT pair over C images of N x N, in place. */
std::function<void()>
BareFFTPair(int64_t C, int64_t N)
{
  if (device.is_cpu())
  {
    auto fft = std::make_shared<CenteredFFT>(C, N, N);
    return [fft] {
      fft->ExecuteForward();
      fft->ExecuteInverse();
    };
  }
  const auto options = torch::TensorOptions(torch::kComplexFloat).device(device);
  auto       data = std::make_shared<torch::Tensor>(torch::zeros({ C, N, N }, options));
#ifdef DAPSMRI_CUDA_SENSE_OPERATOR
  return [data, C, N] {
    cuda::RunFFTPair(C, N, N, reinterpret_cast<std::complex<float> *>(data->data_ptr<c10::complex<float>>()), nullptr);
    Sync();
  };
#else
  return [data] {
    *data = torch::fft::ifft2(torch::fft::fft2(*data));
    Sync();
  };
#endif
}

std::map<int64_t, std::unique_ptr<Problem>> problems;

Problem &
ProblemFor(int64_t C, int64_t N)
{
  auto & p = problems[N * 1000 + C];
  if (!p)
    p = std::make_unique<Problem>(C, N);
  return *p;
}

template <typename F>
double
SecondsPerCall(F && f, int repeats)
{
  f(); // warm-up: plans, caches
  Sync();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i)
    f();
  Sync();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
}

void
RegisterOperatorBenchmarks(const Options & o)
{
  for (int64_t N : o.sizes)
  {
    const int64_t C = o.coils;
    const std::string suffix = "/" + std::to_string(C) + "x" + std::to_string(N) + "x" + std::to_string(N);
    const std::string fastName = device.is_cpu() ? "FFTW" : "CuFFT";
    benchmark::RegisterBenchmark(("Bare" + fastName + "Pair" + suffix).c_str(), [C, N](benchmark::State & state) {
      const auto pair = BareFFTPair(C, N);
      for (auto _ : state)
        pair();
    })->Unit(benchmark::kMillisecond);
    const std::map<std::string, std::function<void(Problem &, bool)>> ops{
      { "Forward",
        [](Problem & p, bool f) { benchmark::DoNotOptimize(f ? p.fast->Forward(p.x) : p.torchFFT->Forward(p.x)); } },
      { "Adjoint",
        [](Problem & p, bool f) { benchmark::DoNotOptimize(f ? p.fast->Adjoint(p.y) : p.torchFFT->Adjoint(p.y)); } },
      { "DataGradient",
        [](Problem & p, bool f) {
          benchmark::DoNotOptimize(f ? p.fast->DataGradient(p.x, p.y) : p.torchFFT->DataGradient(p.x, p.y));
        } },
    };
    for (const auto & [name, op] : ops)
    {
      for (bool useFast : { true, false })
      {
        benchmark::RegisterBenchmark(((useFast ? fastName : std::string("TorchFFT")) + name + suffix).c_str(),
                                     [C, N, op = op, useFast](benchmark::State & state) {
                                       auto & p = ProblemFor(C, N);
                                       for (auto _ : state)
                                       {
                                         op(p, useFast);
                                         Sync();
                                       }
                                     })
          ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

/** The network's cost per image by batch size; on the CPU with glibc's default heap and inside
 * the HeapReuseScope that every DAPS run holds. */
void
RunNetworkBatchTable(const Options & o, const Denoiser & prior)
{
  const bool cpu = device.is_cpu();
  std::printf("\nNetwork time per image (ms) by batch size on %s\n%-10s %6s %14s %14s\n", device.str().c_str(), "size",
              "batch", cpu ? "default_heap" : "", cpu ? "heap_reuse" : "per_image");
  for (int64_t N : o.sizes)
    for (int64_t B : cpu ? std::vector<int64_t>{ 1, 2, 4 } : std::vector<int64_t>{ 1, 2, 4, 8, 16 })
    {
      auto         g = at::detail::createCPUGenerator(2);
      const auto   x = torch::view_as_complex(torch::randn({ B, N, N, 2 }, g)).to(device);
      const double plain = cpu ? SecondsPerCall([&] { prior(x, 1.0); }, 3) : 0.0;
      double       reused = 0.0;
      {
        const HeapReuseScope heap;
        reused = SecondsPerCall([&] { prior(x, 1.0); }, cpu ? 3 : 10);
      }
      const auto name = std::to_string(N) + "x" + std::to_string(N);
      if (cpu)
        std::printf("%-10s %6ld %14.1f %14.1f\n", name.c_str(), static_cast<long>(B), 1e3 * plain / B,
                    1e3 * reused / B);
      else
        std::printf("%-10s %6ld %14s %14.2f\n", name.c_str(), static_cast<long>(B), "", 1e3 * reused / B);
    }
}

void
RunDAPSBreakdown(const Options & o)
{
  std::unique_ptr<Denoiser> prior;
  std::string               model = o.model;
  if (model.empty())
  {
    for (const char * candidate : { DAPSMRI_SOURCE_DIR "/models/brain_prior.pt", DAPSMRI_SOURCE_DIR "/models/test/tiny_prior.pt" })
      if (std::filesystem::exists(candidate))
      {
        model = candidate;
        break;
      }
  }
  prior = std::make_unique<TorchScriptDenoiser>(model, device.str());
  std::printf("\nDAPS cost breakdown (prior %s, %ld parameters; %d annealing x %d ODE steps, %d Langevin steps)\n",
              model.c_str(), static_cast<long>(prior->Metadata().parameters), o.steps, o.odeSteps, o.mcmcSteps);
  RunNetworkBatchTable(o, *prior);
  std::printf("\n%-12s %6s %10s %9s %10s %9s %9s %12s %12s %8s\n", "size", "NFE", "denoise_s", "grads", "mcmc_s",
              "total_s", "net_ms", "fft_pair_ms", "grad_ms", "floor");
  for (int64_t N : o.sizes)
  {
    auto &     p = ProblemFor(o.coils, N);
    DAPSConfig config;
    config.annealingSteps = o.steps;
    config.odeSteps = o.odeSteps;
    config.mcmc = MCMCMethod::Langevin; // the reference schedule's 1:20 ratio of network to FFT work
    config.mcmcSteps = o.mcmcSteps;
    DAPSSampler sampler(*prior, *p.fast, config);
    sampler.Run(p.y[0]);
    const auto & s = sampler.Statistics();
    // Unit costs in the same process, right after the run, with the run's heap settings.
    const HeapReuseScope heap;
    const double         net = SecondsPerCall([&] { (*prior)(p.x, 1.0); }, 5);
    const double pair = SecondsPerCall(BareFFTPair(o.coils, N), 20);
    const double grad = SecondsPerCall([&] { p.fast->DataGradient(p.x, p.y); }, 20);
    const double floor = s.totalSeconds / (s.denoiserEvaluations * net + s.dataGradients * pair);
    std::printf("%-12s %6ld %10.2f %9ld %10.2f %9.2f %9.2f %12.3f %12.3f %8.3f\n",
                (std::to_string(o.coils) + "x" + std::to_string(N) + "x" + std::to_string(N)).c_str(),
                static_cast<long>(s.denoiserEvaluations), s.denoiserSeconds, static_cast<long>(s.dataGradients),
                s.mcmcSeconds, s.totalSeconds, 1e3 * net, 1e3 * pair, 1e3 * grad, floor);
  }
  // The shipped defaults (daps-recon without flags) on one slice, then on 4 slices as one batch
  // (a StackedOperator, as daps-recon runs a volume).
  std::printf("\nDefault preset (%d annealing steps) on %s\n%-12s %8s %12s %14s\n", DAPSConfig{}.annealingSteps,
              device.str().c_str(), "size", "slices", "seconds", "slices_per_s");
  for (int64_t N : o.sizes)
    for (int64_t slices : { 1, 4 })
    {
      auto &                                p = ProblemFor(o.coils, N);
      const std::shared_ptr<const Operator> one(p.fast.get(), [](const Operator *) {}); // not owned
      const StackedOperator                 stack(std::vector<std::shared_ptr<const Operator>>(slices, one),
                                                  std::vector<double>(slices, 1.0));
      const Operator & op = slices == 1 ? static_cast<const Operator &>(*p.fast) : stack;
      DAPSSampler      sampler(*prior, op, DAPSConfig{});
      sampler.Run(slices == 1 ? p.y[0] : p.y[0].unsqueeze(0).expand({ slices, -1, -1, -1 }).contiguous());
      const double seconds = sampler.Statistics().totalSeconds;
      std::printf("%-12s %8ld %12.2f %14.2f\n",
                  (std::to_string(o.coils) + "x" + std::to_string(N) + "x" + std::to_string(N)).c_str(),
                  static_cast<long>(slices), seconds, slices / seconds);
    }
}

std::vector<int64_t>
ParseSizes(const std::string & text)
{
  std::vector<int64_t> sizes;
  std::stringstream    stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    sizes.push_back(std::stoll(item));
  return sizes;
}
} // namespace

int
main(int argc, char * argv[])
{
  Options           o;
  std::vector<char *> rest{ argv[0] };
  for (int i = 1; i < argc; ++i)
  {
    const std::string a = argv[i];
    const bool        hasValue = i + 1 < argc;
    if (a == "--device" && hasValue)
      o.device = argv[++i];
    else if (a == "--model" && hasValue)
      o.model = argv[++i];
    else if (a == "--sizes" && hasValue)
      o.sizes = ParseSizes(argv[++i]);
    else if (a == "--coils" && hasValue)
      o.coils = std::stoll(argv[++i]);
    else if (a == "--steps" && hasValue)
      o.steps = std::stoi(argv[++i]);
    else if (a == "--ode-steps" && hasValue)
      o.odeSteps = std::stoi(argv[++i]);
    else if (a == "--mcmc-steps" && hasValue)
      o.mcmcSteps = std::stoi(argv[++i]);
    else if (a == "--threads" && hasValue)
      o.threads = std::stoi(argv[++i]);
    else
      rest.push_back(argv[i]);
  }
  at::set_num_threads(o.threads > 0 ? o.threads : AvailableCores());
  device = torch::Device(o.device);
  if (device.is_cuda() && !torch::cuda::is_available())
  {
    std::fprintf(stderr, "dapsmri-benchmark: --device %s, but LibTorch sees no CUDA device\n", o.device.c_str());
    return 1;
  }
  std::printf("threads: %d, device: %s\n", DefaultThreadCount(), device.str().c_str());
  int restCount = static_cast<int>(rest.size());
  benchmark::Initialize(&restCount, rest.data());
  RegisterOperatorBenchmarks(o);
  benchmark::RunSpecifiedBenchmarks();
  RunDAPSBreakdown(o);
  return 0;
}
