#!/usr/bin/env bash
# Time per slice of daps-recon on raw data, split into reader / prewhitening + coil maps /
# DAPS / writer: 8 coils, 256 x 256, 4x fastMRI-style undersampling, noise scans.
#   bash benchmarks/recon_timing.sh [daps-recon flags, e.g. --steps 50 --threads 2]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ismrmrd_generate_cartesian_shepp_logan -m 256 -c 8 -C -o "$work/full.h5" > /dev/null
build/apps/daps-undersample "$work/full.h5" "$work/under.h5" --acceleration 4 --center-fraction 0.08
build/apps/daps-recon "$work/under.h5" "$work/recon.nii.gz" "$@" 2>&1 | grep -E "^(time|prior|slice)"
