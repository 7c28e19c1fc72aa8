#!/usr/bin/env bash
# Coverage-guided fuzzing of the readers of untrusted input (ISMRMRD files, their XML header,
# k-space / coil-map / mask images) with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 300)
# Builds with Clang in build-fuzz/, grows a corpus per target in build-fuzz/corpus/ from the
# project-made seeds, and stops at the first crash, leaving the input as build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
bash scripts/install-deps.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDAPSMRI_SANITIZE=ON -DDAPSMRI_LIBFUZZER=ON -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
  -DDAPSMRI_BUILD_BENCHMARKS=OFF
cmake --build build-fuzz -j "$(nproc)" --target dapsmriFuzzISMRMRD dapsmriFuzzXMLHeader dapsmriFuzzImageInput daps-simulate
seeds=build-fuzz/test/fuzz/seeds
/usr/bin/python3 test/fuzz/make_seeds.py "$seeds" "$(command -v ismrmrd_generate_cartesian_shepp_logan)" \
  build-fuzz/apps/daps-simulate models/test/tiny_prior.pt
# LibTorch and ITK are not instrumented: ASan must not stop at their one-definition quirks.
export ASAN_OPTIONS=detect_odr_violation=0:detect_leaks=0:allocator_may_return_null=1
for target in ISMRMRD:ismrmrd XMLHeader:xml ImageInput:image; do
  name=${target%%:*} seed=${target##*:}
  mkdir -p "build-fuzz/corpus/$name"
  echo "== dapsmriFuzz$name, $seconds s"
  (cd build-fuzz && "test/fuzz/dapsmriFuzz$name" -max_total_time="$seconds" -rss_limit_mb=4096 \
    -max_len=65536 "corpus/$name" "../$seeds/$seed")
done
