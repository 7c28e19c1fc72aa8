#!/usr/bin/env bash
# Configures and builds the module (Release, Ninja) in ./build against Debian's ITK. Where the CUDA
# toolkit is installed (/usr/local/cuda, or nvcc on PATH) the cuFFT backend is built too; it runs
# only with a CUDA LibTorch and a GPU (scripts/gpu-check.sh), and its tests skip elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
cuda=()
nvcc=$(command -v nvcc || true)
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
if [ -n "$nvcc" ]; then
  cuda=(-DDAPSMRI_USE_CUDA=ON "-DCMAKE_CUDA_COMPILER=$nvcc")
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${cuda[@]}" "$@"
cmake --build build -j "$(nproc)"
