#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the main job end to end on raw data:
#   1. ismrmrd_generate_cartesian_shepp_logan writes a fully sampled 8-coil ISMRMRD file with
#      noise scans and 2x readout oversampling;
#   2. daps-undersample keeps a fastMRI-style 4x subset of its lines (8 % calibration lines);
#   3. daps-recon reconstructs it with the shipped prior (extra flags are passed on);
#   4. the reference (fully sampled, coil-combined), the zero-filled image and DAPS go into
#      output/comparison.png, with their PSNR.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p output
bin=build/apps
ismrmrd_generate_cartesian_shepp_logan -m 128 -c 8 -C -n 0.02 -o output/full.h5 > /dev/null
"$bin/daps-undersample" output/full.h5 output/undersampled.h5 --acceleration 4 --center-fraction 0.08
"$bin/daps-recon" output/full.h5 output/reference.nii.gz --adjoint-only
"$bin/daps-recon" output/undersampled.h5 output/zero_filled.nii.gz --adjoint-only
"$bin/daps-recon" output/undersampled.h5 output/daps.nii.gz "$@"
"$bin/daps-montage" output/comparison.png output/reference.nii.gz output/zero_filled.nii.gz output/daps.nii.gz
echo "wrote output/daps.nii.gz and output/comparison.png (reference | zero-filled | DAPS)"
