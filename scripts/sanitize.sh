#!/usr/bin/env bash
# The whole test suite under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer:
# builds build-asan/ with -DDAPSMRI_SANITIZE=ON (GCC) and runs every CTest test there (about
# 10 minutes on 2 cores). A sanitizer report fails the test that caused it: the GoogleTest
# drivers and fuzz targets abort, and the command-line test refuses any report in a tool's stderr.
#   bash scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAPSMRI_SANITIZE=ON -DDAPSMRI_BUILD_BENCHMARKS=OFF
cmake --build build-asan -j "$(nproc)"
# LibTorch and ITK are not instrumented: ASan must not stop at their one-definition quirks.
export ASAN_OPTIONS=detect_odr_violation=0:detect_leaks=1
export LSAN_OPTIONS=suppressions=$PWD/test/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir build-asan -j "$(nproc)" --output-on-failure --timeout 1800
