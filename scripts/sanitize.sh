#!/usr/bin/env bash
# The readers, writers and tools under AddressSanitizer and UndefinedBehaviorSanitizer: builds
# build-asan/ with -DDAPSMRI_SANITIZE=ON (GCC) and runs the input/output tests, the command-line
# tests and the fuzz passes there (the network-heavy sampler tests are left to the normal build).
#   bash scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAPSMRI_SANITIZE=ON -DDAPSMRI_BUILD_BENCHMARKS=OFF
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS=detect_odr_violation=0:detect_leaks=0
export UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir build-asan --output-on-failure --timeout 1800 -R "ISMRMRDReader|ISMRMRDUndersampling|CommandLine|Fuzz"
