#!/usr/bin/env bash
# Long fuzzing runs of the readers of untrusted input (ISMRMRD files, their XML header, k-space /
# coil-map / mask images, a prior's metadata) under AddressSanitizer and UndefinedBehaviorSanitizer:
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 300)
# Builds build-asan/ with -DDAPSMRI_SANITIZE=ON (GCC: Debian's ITK headers refuse Clang, so the
# targets use their own random-mutation driver, not libFuzzer) and runs each target for SECONDS
# from the project-made seeds with a fresh random seed; the first crash stops the script, and the
# input that caused it is the target's scratch file in the temporary folder (dapsmri_fuzz_PID.*).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
bash scripts/install-deps.sh
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAPSMRI_SANITIZE=ON -DDAPSMRI_BUILD_BENCHMARKS=OFF
cmake --build build-asan -j "$(nproc)" --target dapsmriFuzzISMRMRD dapsmriFuzzXMLHeader dapsmriFuzzImageInput dapsmriFuzzPriorMetadata daps-simulate
seeds=build-asan/test/fuzz/seeds
/usr/bin/python3 test/fuzz/make_seeds.py "$seeds" "$(command -v ismrmrd_generate_cartesian_shepp_logan)" \
  build-asan/apps/daps-simulate models/test/tiny_prior.pt
# LibTorch and ITK are not instrumented: ASan must not stop at their one-definition quirks.
export ASAN_OPTIONS=detect_odr_violation=0:detect_leaks=0
export UBSAN_OPTIONS=print_stacktrace=1
run=$(date +%s)
build-asan/test/fuzz/dapsmriFuzzISMRMRD -max_total_time="$seconds" -seed="$run" "$seeds/ismrmrd/raw.h5"
build-asan/test/fuzz/dapsmriFuzzXMLHeader -max_total_time="$seconds" -seed="$run" "$seeds/xml/header.xml"
build-asan/test/fuzz/dapsmriFuzzImageInput -max_total_time="$seconds" -seed="$run" "$seeds"/image/*.seed
build-asan/test/fuzz/dapsmriFuzzPriorMetadata -max_total_time="$seconds" -seed="$run" "$seeds/model/dapsmri.json"
