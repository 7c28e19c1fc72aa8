#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, the CUDA toolkit, CMake and a CUDA PyTorch in
# its python3, but no ITK, FFTW, GoogleTest or network. Builds the engine (-DDAPSMRI_BUILD_ITK=OFF)
# with the cuFFT backend against that PyTorch's LibTorch, runs every engine test (the CUDA ones
# must run, not skip) and the benchmark on the GPU, and writes every log into one folder.
#
#   bash scripts/gpu-debs.sh               # beforehand, where Debian's registry is reachable
#   bash scripts/gpu-check.sh [LOG_DIR]    # on the GPU machine, with .gpu-debs/ carried along
#
# Exits non-zero when a step fails or a CUDA test skipped; LOG_DIR/summary.txt says which.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mkdir -p "${1:-gpu-check-logs}" && cd "${1:-gpu-check-logs}" && pwd)
summary=$logs/summary.txt
: >"$summary"
status=0
step() { # step NAME COMMAND...: runs the command with its output in LOG_DIR/NAME.log
  local name=$1
  shift
  local start=$SECONDS
  if "$@" >"$logs/$name.log" 2>&1; then
    echo "ok     $name ($((SECONDS - start)) s)" | tee -a "$summary"
  else
    echo "FAILED $name ($((SECONDS - start)) s): see $name.log" | tee -a "$summary"
    status=1
  fi
}

# Debian's FFTW, GoogleTest, Google Benchmark and nlohmann-json, unpacked where CMake finds them.
root=$PWD/.gpu-debs/root
if ! ls .gpu-debs/*.deb >/dev/null 2>&1; then
  echo "FAILED no .deb files in .gpu-debs/: run scripts/gpu-debs.sh where Debian's registry is reachable" |
    tee -a "$summary"
  exit 1
fi
rm -rf "$root"
for deb in .gpu-debs/*.deb; do dpkg-deb -x "$deb" "$root"; done

python=$(command -v python3)
torch_prefix=$("$python" -c "import torch; print(torch.utils.cmake_prefix_path)")
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
# Machine code for this GPU only: the build is for this check.
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
{
  nvidia-smi
  "$python" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda,
    'device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)"
  "$nvcc" --version
  cmake --version
} >"$logs/machine.log" 2>&1

build=build-gpu
step configure cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDAPSMRI_BUILD_ITK=OFF \
  -DDAPSMRI_USE_CUDA=ON "-DCMAKE_CUDA_COMPILER=$nvcc" "-DCMAKE_CUDA_ARCHITECTURES=${arch:-90}" \
  "-DCMAKE_PREFIX_PATH=$torch_prefix;$root/usr" "-DPython3_EXECUTABLE=$python"
step build cmake --build "$build" -j "$(nproc)"
step ctest ctest --test-dir "$build" -j 4 --output-on-failure
# The GPU tests once more on their own: on a GPU machine none of them may skip.
gtest=$build/test/DAPSMRIEngineGTestDriver
step gpu-tests "$gtest" --gtest_filter='*CUDA*:*Cuda*:*/cuda'
if grep -q "SKIPPED \]" "$logs/gpu-tests.log" 2>/dev/null; then
  echo "FAILED gpu-tests: some CUDA tests skipped on this machine (see gpu-tests.log)" | tee -a "$summary"
  status=1
fi
step benchmark-gpu "$build/benchmarks/dapsmri-benchmark" --device cuda --sizes 128,256 --coils 8 \
  --benchmark_min_time=0.2
# The same benchmark on this machine's CPU cores, for the side-by-side figure.
step benchmark-cpu "$build/benchmarks/dapsmri-benchmark" --device cpu --sizes 256 --coils 8 \
  --benchmark_filter=DataGradient --benchmark_min_time=0.2
exit $status
