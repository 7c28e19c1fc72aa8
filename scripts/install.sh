#!/usr/bin/env bash
# Installs the dependencies, builds a release in ./build-install and installs it under PREFIX
# (default /usr/local): the tools, libDAPSMRI, its headers and CMake package (find_package(DAPSMRI)),
# the shipped prior, the Slicer XMLs and the dapsmri Python module (on Debian's python3 path for
# /usr/local). Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
shift $(( $# > 0 ? 1 : 0 ))
bash scripts/install-deps.sh
cmake -S . -B build-install -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DBUILD_TESTING=OFF -DDAPSMRI_BUILD_BENCHMARKS=OFF "$@"
cmake --build build-install -j "$(nproc)"
cmake --install build-install
