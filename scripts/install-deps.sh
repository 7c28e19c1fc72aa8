#!/usr/bin/env bash
# Installs every build, test and run dependency from Debian 12 packages.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# libopenblas0-openmp becomes the BLAS and LAPACK that LibTorch loads (Debian's default is the
# reference BLAS, with which the prior's attention took a quarter of its time), on OpenMP threads
# like LibTorch's own, so --threads holds for both.
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config help2man \
  libinsighttoolkit5-dev libtorch-dev libfftw3-dev libopenblas0-openmp \
  libismrmrd-dev ismrmrd-tools zlib1g-dev \
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev pybind11-dev python3-pytest \
  python3 python3-numpy python3-torch python3-nibabel python3-h5py python3-pil \
  mricron-data bart insighttoolkit5-examples python3-dipy python3-scipy >/dev/null
