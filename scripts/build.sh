#!/usr/bin/env bash
# Configures and builds the module (Release, Ninja) in ./build against Debian's ITK.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$(nproc)"
