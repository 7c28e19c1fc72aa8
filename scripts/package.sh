#!/usr/bin/env bash
# Installs the dependencies, builds a release for /usr in ./build-deb and packs it as a Debian
# package: build-deb/dapsmri_VERSION_ARCH.deb (install it with `apt-get install ./build-deb/dapsmri_*.deb`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DBUILD_TESTING=OFF -DDAPSMRI_BUILD_BENCHMARKS=OFF "$@"
cmake --build build-deb -j "$(nproc)"
cpack --config build-deb/CPackConfig.cmake -B build-deb
ls build-deb/dapsmri_*.deb
