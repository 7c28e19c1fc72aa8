#!/bin/bash
# Train the shipped prior models/brain_prior.pt from scratch: a factor-4 U-Net on 64x64 crops
# (stage 0), grown to factor 8 with self-attention and taught the layout of a whole slice in the
# stages of models/README.md, then shown other heads (stage 9). About 8.6 hours on two CPU cores.
# Every stage resumes from its own checkpoint, so an interrupted run goes on where it stopped when
# the script is run again.
#
#   bash python/train_default_prior.sh [RUN_DIR] [train.py flags for every stage]
#
# RUN_DIR defaults to models/train_run; it ends with RUN_DIR/brain_prior.pt. Trailing flags
# override the stages' own, e.g. `--device cuda --threads 8` (or `--steps 2` for a dry run).
set -euo pipefail
run=
if [[ $# -gt 0 && $1 != -* ]]; then
  run=$(realpath -m "$1") # relative to where the script was called from
  shift
fi
cd "$(dirname "$0")/.."
run=${run:-models/train_run}
export PYTHONPATH=python

train() { # OUT [flags]
  local out=$1
  shift
  mkdir -p "$out"
  /usr/bin/python3 -m dapsmri_prior.train --out "$out" --batch 16 --patch 64 --lr 2e-4 \
    --device cpu --ckpt-minutes 5 --resume "$@" 2>&1 | tee -a "$out/nohup.log"
}
export_prior() { # CHECKPOINT OUT NAME DESCRIPTION
  /usr/bin/python3 -m dapsmri_prior.export --checkpoint "$1" --out "$2" --name "$3" --description "$4"
}
wide=(--channels 32,64,128,96 --attention --threads 2 --warmup 50)

# Stage 0: the factor-4 net on 1 mm and 0.5 mm crops (models/brain_prior_factor4.pt).
train "$run/stage0" --steps 7000 --warmup 200 --seed 0 --threads 1 "$@"
export_prior "$run/stage0/checkpoint.pt" "$run/brain_prior_factor4.pt" colin27-edm-unet \
  "EDM-preconditioned U-Net denoiser, channels [32, 64, 128], 2 res-blocks/level, EMA weights after 7000 steps of batch 16 x 64^2 patches"
# Stages 2-7 of the model card (1 tried 128x128 views and 4 was a diagnostic; neither feeds the net).
train "$run/stage2" --init "$run/brain_prior_factor4.pt" "${wide[@]}" --warmup 100 --seed 4 --steps 1191 \
  --coarse-fraction 0.5 --p-mean -0.8 "$@"
train "$run/stage3" --init "$run/stage2/checkpoint.pt" "${wide[@]}" --seed 5 --steps 2270 \
  --coarse-fraction 0.5 --p-mean -1.2 --whole-p-mean 0.8 "$@"
train "$run/stage5a" --init "$run/stage3/checkpoint.pt" "${wide[@]}" --seed 6 --steps 415 \
  --coarse-fraction 0.6 --p-mean -1.2 --whole-p-mean 0.0 --whole-p-std 1.5 "$@"
train "$run/stage5b" --init "$run/stage5a/checkpoint.pt" "${wide[@]}" --seed 7 --steps 6696 \
  --coarse-fraction 1.0 --p-mean -0.4 --p-std 1.5 "$@"
train "$run/stage6" --init "$run/stage5b/checkpoint.pt" "${wide[@]}" --seed 11 --steps 4847 \
  --coarse-fraction 1.0 --p-mean -0.4 --p-std 1.5 --whole-upright "$@"
train "$run/stage7" --init "$run/stage6/checkpoint.pt" "${wide[@]}" --seed 13 --steps 1782 \
  --coarse-fraction 0.5 --p-mean -1.2 --whole-p-mean -0.4 --whole-p-std 1.5 --whole-upright "$@"
export_prior "$run/stage7/checkpoint.pt" "$run/brain_prior_template.pt" colin27-edm-unet-factor8 \
  "EDM-preconditioned U-Net denoiser, channels [32, 64, 128, 96], 2 res-blocks/level, self-attention at 1/8 resolution; grown from the factor-4 net (7000 steps on 64x64 crops, brain_prior_factor4.pt), then 17201 steps of batch 16 on 64x64 crops and whole axial slices shrunk to 64x64 (EMA weights); see models/README.md"
# Stage 9: heads the template does not show (Colin27 with its skull, synthetic heads from the label
# atlases, anisotropic scalings and elastic warps), started from the template-only prior.
train "$run/stage9" --init "$run/brain_prior_template.pt" "${wide[@]}" --seed 17 --steps 2917 \
  --synthetic --coarse-fraction 0.5 --p-mean -1.2 --whole-p-mean -0.4 --whole-p-std 1.5 --whole-upright "$@"
export_prior "$run/stage9/checkpoint.pt" "$run/brain_prior.pt" colin27-synthetic-edm-unet-factor8 \
  "EDM-preconditioned U-Net denoiser, channels [32, 64, 128, 96], 2 res-blocks/level, self-attention at 1/8 resolution; the template-only prior (24201 steps, see models/README.md) fine-tuned for 2917 steps of batch 16 on 64x64 crops and whole slices of Colin27 with and without skull and synthetic heads from the label atlases, with anisotropic scaling and elastic warps (EMA weights)"
