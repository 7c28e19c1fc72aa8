"""Phase retrieval on anatomy the prior never saw: DAPS (daps-restore with the shipped prior)
against Fienup's hybrid input-output with error-reduction polishing (HIO + ER), the classical
method, over several seeds: the success rate (PSNR above a threshold) and the median PSNR.

Cases: the brain slices of the independent validation set (python/dapsmri_prior/independent.py),
normalised to their 99th percentile, centre-cropped to --size pixels at their native resolution.
The measurement is |FFT| of the crop zero-padded to twice its size (orthonormal), plus Gaussian
noise (--noise), written by daps-restore --simulate and given to both methods. Both keep the best
of --restarts runs by data fit, as the DAPS paper does. A real image and its 180-degree rotation
have the same Fourier magnitudes, so each result is scored against the better-fitting of the two;
PSNR is over the whole crop, peak = the crop's maximum; a run succeeds above each threshold.

  apt-get install insighttoolkit5-examples python3-dipy
  /usr/bin/python3 benchmarks/compare_phase_retrieval.py --bin build
"""
import argparse
import os
import subprocess
import sys
import time

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
from dapsmri_prior.independent import load_cases  # noqa: E402
from compare_bart import psnr  # noqa: E402

# The task's defaults (dapsmri::DefaultConfig): from an HIO + ER start, 50 levels from sigma 0.2 to
# 0.02 of 1 ODE step and 50 Langevin steps (step size 5e-5).
DAPS_FLAGS = []


def hio_er(magnitude, size, seed, restarts, hio=300, er=50, rounds=3, beta=0.9):
    """HIO + ER with support (the size x size corner of the padded grid) and positivity; of
    `restarts` random starts, the one whose magnitudes fit best."""
    rng = np.random.default_rng(seed)
    n = magnitude.shape[0]
    support = np.zeros((n, n), bool)
    support[:size, :size] = True
    best, best_fit = None, np.inf
    for _ in range(restarts):
        g = np.where(support, rng.random((n, n)), 0.0)
        for _ in range(rounds):
            for step in range(hio + er):
                G = np.fft.fft2(g, norm="ortho")
                projected = np.real(np.fft.ifft2(magnitude * np.exp(1j * np.angle(G)), norm="ortho"))
                keep = support & (projected >= 0)
                if step < hio:
                    g = np.where(keep, projected, g - beta * projected)
                else:
                    g = np.where(keep, projected, 0.0)
        fit = np.linalg.norm(np.abs(np.fft.fft2(g, norm="ortho")) - magnitude)
        if fit < best_fit:
            best, best_fit = g[:size, :size].copy(), fit
    return best


def score(image, clean):
    """PSNR against the clean crop or its 180-degree rotation, whichever fits the image better."""
    peak = clean.max()
    return max(psnr(image, clean, peak), psnr(image, clean[::-1, ::-1], peak))


def read(path):
    return np.asarray(nib.load(path).dataobj, np.float64).squeeze().T  # (x, y) on disk -> [y][x]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default="build", help="the build folder")
    parser.add_argument("--size", type=int, default=128, help="centre crop of the 256 x 256 slices")
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--thresholds", default="25,30", help="PSNRs (dB) that count as a success")
    parser.add_argument("--cases", type=int, default=0, help="the first N cases only (0: all)")
    parser.add_argument("--out", default="output/phase_retrieval")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    restore = os.path.join(args.bin, "apps", "daps-restore")
    cases = [c for c in load_cases(size=256, colin27=0, abdomen=False) if c["brain"]]
    if args.cases:
        cases = cases[:args.cases]
    scores = {"DAPS": [], "HIO + ER": []}
    seconds = {"DAPS": 0.0, "HIO + ER": 0.0}
    lo = (256 - args.size) // 2
    for case in cases:
        clean = np.abs(case["image"])[lo:lo + args.size, lo:lo + args.size].astype(np.float32)
        stem = os.path.join(args.out, case["name"])
        nib.save(nib.Nifti1Image(clean.T, np.eye(4)), stem + "_clean.nii.gz")
        for seed in range(args.seeds):
            start = time.time()
            r = subprocess.run([restore, stem + "_clean.nii.gz", stem + "_daps.nii.gz", "--task", "phase-retrieval",
                                "--simulate", "--noise", str(args.noise), "--seed", str(seed), "--restarts",
                                str(args.restarts), "--measurement-output", stem + "_measured.nii.gz",
                                *DAPS_FLAGS], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(r.stderr)
            seconds["DAPS"] += time.time() - start
            daps = score(read(stem + "_daps.nii.gz"), clean)
            start = time.time()
            hio = score(hio_er(read(stem + "_measured.nii.gz"), args.size, seed, args.restarts), clean)
            seconds["HIO + ER"] += time.time() - start
            scores["DAPS"].append(daps)
            scores["HIO + ER"].append(hio)
            print("%-26s seed %2d   DAPS PSNR %6.2f   HIO + ER PSNR %6.2f" % (case["name"], seed, daps, hio), flush=True)
    runs = len(scores["DAPS"])
    thresholds = [float(t) for t in args.thresholds.split(",")]
    print("\n%d cases x %d seeds, %d x %d crops, noise %g, best of %d restarts\n"
          % (len(cases), args.seeds, args.size, args.size, args.noise, args.restarts))
    print("| method | %s | median PSNR (dB) | seconds per run |" % " | ".join("PSNR >= %g dB" % t for t in thresholds))
    print("|---|%s---|---|" % ("---|" * len(thresholds)))
    for method, values in scores.items():
        values = np.array(values)
        rates = " | ".join("%d / %d" % (int((values >= t).sum()), runs) for t in thresholds)
        print("| %s | %s | %.2f | %.1f |" % (method, rates, np.median(values), seconds[method] / runs))


if __name__ == "__main__":
    main()
