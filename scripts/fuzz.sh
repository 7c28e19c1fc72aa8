#!/usr/bin/env bash
# Long fuzzing runs of the readers of untrusted input (ISMRMRD files, their XML header, k-space /
# coil-map / mask images, a prior's metadata), all under AddressSanitizer, UndefinedBehaviorSanitizer
# and LeakSanitizer:
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 300)
# Two builds. build-fuzz/ (Clang, engine only, -DDAPSMRI_LIBFUZZER=ON) runs coverage-guided
# libFuzzer on the targets that need no ITK: the ISMRMRD file layer and the metadata parser.
# build-asan/ (GCC, -DDAPSMRI_SANITIZE=ON) runs the targets that go through ITK (the whole ISMRMRD
# reader, the XML header, image inputs) with the project's random-mutation driver, because
# Debian's ITK headers refuse Clang. An allocation of 2 GB or more by the target's own process
# stops it (libFuzzer's -malloc_limit_mb, ASan's max_allocation_size_mb); the HDF5 and ITK child
# processes are capped at 2 GB plus twice the file by the reader itself, and malloc returns NULL
# there as in a normal build. Logs, crash inputs and the libFuzzer corpora go to
# build-fuzz/runs/TIME/; the script prints one line per target and fails when a target's own
# process crashed or leaked. Reports from child processes are counted by kind: each ends only
# that child, and the reader refuses the file with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
bash scripts/install-deps.sh
# Clang and its libFuzzer / sanitizer runtimes, for this script only.
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAPSMRI_SANITIZE=ON -DDAPSMRI_BUILD_BENCHMARKS=OFF
cmake --build build-asan -j "$(nproc)" --target dapsmriFuzzISMRMRD dapsmriFuzzXMLHeader dapsmriFuzzImageInput daps-simulate
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAPSMRI_BUILD_ITK=OFF \
  -DDAPSMRI_LIBFUZZER=ON -DDAPSMRI_BUILD_BENCHMARKS=OFF
cmake --build build-fuzz -j "$(nproc)" --target dapsmriFuzzISMRMRDFile dapsmriFuzzPriorMetadata
seeds=build-asan/test/fuzz/seeds
/usr/bin/python3 test/fuzz/make_seeds.py "$seeds" "$(command -v ismrmrd_generate_cartesian_shepp_logan)" \
  build-asan/apps/daps-simulate models/test/tiny_prior.pt

run=$(date +%s)
out=build-fuzz/runs/$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$out"
# LibTorch and ITK are not instrumented: ASan must not stop at their one-definition quirks.
export ASAN_OPTIONS=detect_odr_violation=0:detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048
export LSAN_OPTIONS=suppressions=$PWD/test/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1
failed=0
fuzz() { # NAME COMMAND...: runs one target, keeps its log, prints its line of the summary
  local name=$1 status=0
  shift
  "$@" > "$out/$name.log" 2>&1 || status=$?
  local inputs
  inputs=$(grep -oE '(ran [0-9]+ seeds and [0-9]+ mutated inputs|Done [0-9]+ runs)' "$out/$name.log" | tail -1 || true)
  local children
  children=$(grep -ohE '(ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-z-]+|runtime error)' "$out/$name.log" |
    sort | uniq -c | awk '{c=$1; $1=""; printf "%s%s x%s", sep, $0, c; sep=";"}' || true)
  if [ "$status" -ne 0 ] || [ -z "$inputs" ]; then
    failed=1
    echo "$name: FAILED (exit $status; the target's own process crashed or leaked, see $out/$name.log)"
  else
    echo "$name: ${inputs}; reports in child processes:${children:- none}"
  fi
}
mkdir -p "$out/ismrmrd-file" "$out/metadata"
cp "$seeds/ismrmrd/raw.h5" "$out/ismrmrd-file/"
cp "$seeds/model/dapsmri.json" "$out/metadata/"
libfuzzer=(-max_total_time="$seconds" -seed="$run" -rss_limit_mb=2048 -malloc_limit_mb=2048 -artifact_prefix="$out/")
fuzz ISMRMRDFile build-fuzz/test/fuzz/dapsmriFuzzISMRMRDFile "${libfuzzer[@]}" "$out/ismrmrd-file"
fuzz PriorMetadata build-fuzz/test/fuzz/dapsmriFuzzPriorMetadata "${libfuzzer[@]}" "$out/metadata"
fuzz ISMRMRD build-asan/test/fuzz/dapsmriFuzzISMRMRD -max_total_time="$seconds" -seed="$run" "$seeds/ismrmrd/raw.h5"
fuzz XMLHeader build-asan/test/fuzz/dapsmriFuzzXMLHeader -max_total_time="$seconds" -seed="$run" "$seeds/xml/header.xml"
fuzz ImageInput build-asan/test/fuzz/dapsmriFuzzImageInput -max_total_time="$seconds" -seed="$run" "$seeds"/image/*.seed
exit $failed
