#!/usr/bin/env bash
# Downloads, on a Debian 12 machine with its package registry, the .deb files that
# scripts/gpu-check.sh unpacks on a GPU machine without ITK, FFTW, GoogleTest, Google Benchmark
# or network. They land in .gpu-debs/ (git-ignored); carry that folder to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libfftw3-dev libfftw3-single3 libfftw3-double3 libfftw3-long3 libfftw3-quad3 libfftw3-bin
  libgtest-dev libgmock-dev googletest libbenchmark-dev libbenchmark1debian nlohmann-json3-dev)
apt-get update -qq
rm -rf .gpu-debs
mkdir -p .gpu-debs
(cd .gpu-debs && apt-get download "${packages[@]}")
ls -l .gpu-debs
