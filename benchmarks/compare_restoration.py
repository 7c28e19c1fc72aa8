"""Image restoration on anatomy the prior never saw: DAPS (daps-restore with the shipped prior)
against what an ITK user would reach for (dapsmri-restore-baselines): B-spline up-sampling for
super-resolution, a diffusion fill for inpainting, Wiener and Richardson-Lucy deconvolution for
deblurring, the clipped input scaled back for HDR.

The cases are the brain slices of the independent validation set (python/dapsmri_prior/independent.py),
magnitudes normalised to their 99th percentile. daps-restore --simulate measures each (plus
Gaussian noise) and writes the measurement, mask and kernel it used; the baselines restore the
same measurement. Scores: PSNR and SSIM inside the body mask against the clean slice (peak = its
maximum there). Prints a Markdown table of medians over the cases.

  apt-get install insighttoolkit5-examples python3-dipy
  /usr/bin/python3 benchmarks/compare_restoration.py --bin build
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
from compare_bart import psnr, ssim  # noqa: E402

NONLINEAR = ["--steps", "50", "--ode-steps", "1", "--mcmc-steps", "50"]  # over the task default: 2500 gradients


def tasks(size, noise):
    """name: (daps-restore flags, [(baseline name, baseline flags)]) with {mask}/{kernel} placeholders."""
    box = "%d,%d,%d,%d" % (size // 4, size // 4, size // 2, size // 2)
    return {
        "super-resolution x4": (["--task", "super-resolution", "--factor", "4"],
                                [("B-spline", ["--task", "super-resolution", "--factor", "4"])]),
        "inpainting (centre box)": (["--task", "inpainting", "--box", box],
                                    [("diffusion fill", ["--task", "inpainting", "--mask", "{mask}"])]),
        "inpainting (70 % random)": (["--task", "inpainting", "--random-fraction", "0.7"],
                                     [("diffusion fill", ["--task", "inpainting", "--mask", "{mask}"])]),
        "Gaussian deblurring (61 px, sigma 3)": (
            ["--task", "deblurring", "--kernel", "gaussian", "--kernel-size", "61", "--blur-sigma", "3"],
            [("Wiener", ["--task", "deblurring", "--kernel", "{kernel}", "--method", "wiener", "--noise", str(noise)]),
             ("Richardson-Lucy", ["--task", "deblurring", "--kernel", "{kernel}", "--method", "richardson-lucy"])]),
        "motion deblurring (61 px, 0.5)": (
            ["--task", "deblurring", "--kernel", "motion", "--kernel-size", "61", "--motion-intensity", "0.5"],
            [("Wiener", ["--task", "deblurring", "--kernel", "{kernel}", "--method", "wiener", "--noise", str(noise)]),
             ("Richardson-Lucy", ["--task", "deblurring", "--kernel", "{kernel}", "--method", "richardson-lucy"])]),
        "HDR (alpha 2)": (["--task", "hdr", "--alpha", "2", *NONLINEAR],
                          [("clipped / alpha", ["--task", "hdr", "--alpha", "2"])]),
    }


def read(path):
    return np.asarray(nib.load(path).dataobj, np.float64).squeeze().T  # (x, y) on disk -> [y][x]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default="build", help="the build folder")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--noise", type=float, default=0.01, help="measurement noise std (image peak about 1)")
    parser.add_argument("--tasks", nargs="*", help="names (prefixes) of the tasks to run")
    parser.add_argument("--out", default="output/restoration")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    restore = os.path.join(args.bin, "apps", "daps-restore")
    baselines = os.path.join(args.bin, "benchmarks", "dapsmri-restore-baselines")
    cases = [c for c in load_cases(size=args.size, colin27=0, abdomen=False) if c["brain"]]
    scores = {}  # (task, method) -> [(psnr, ssim)]
    for name, (flags, methods) in tasks(args.size, args.noise).items():
        if args.tasks and not any(name.startswith(t) for t in args.tasks):
            continue
        for case in cases:
            clean = np.abs(case["image"]).astype(np.float32)
            slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
            stem = os.path.join(args.out, case["name"] + "_" + slug)
            nib.save(nib.Nifti1Image(clean.T, np.eye(4)), stem + "_clean.nii.gz")
            extra = ["--mask-output", stem + "_mask.nii.gz"] if "inpainting" in flags else []
            extra += ["--kernel-output", stem + "_kernel.nii.gz"] if "deblurring" in flags else []
            start = time.time()
            r = subprocess.run([restore, stem + "_clean.nii.gz", stem + "_daps.nii.gz", "--simulate", "--noise",
                                str(args.noise), "--measurement-output", stem + "_measured.nii.gz", *flags, *extra],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(r.stderr)
            results = {"DAPS": (read(stem + "_daps.nii.gz"), time.time() - start)}
            for method, baseline_flags in methods:
                filled = [f.replace("{mask}", stem + "_mask.nii.gz").replace("{kernel}", stem + "_kernel.nii.gz")
                          for f in baseline_flags]
                out = stem + "_" + method.split()[0].lower() + ".nii.gz"
                start = time.time()
                r = subprocess.run([baselines, stem + "_measured.nii.gz", out, *filled], capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(r.stderr)
                results[method] = (read(out), time.time() - start)
            peak = clean[case["mask"]].max()
            for method, (image, seconds) in results.items():
                value = (psnr(image, clean, peak, case["mask"]), ssim(image, clean, peak, case["mask"]), seconds)
                scores.setdefault((name, method), []).append(value)
                print("%-40s %-26s %-16s PSNR %6.2f SSIM %.4f %6.1f s" % (name, case["name"], method, *value),
                      flush=True)
    print("\n| task | method | PSNR (dB) | SSIM | seconds |\n|---|---|---|---|---|")
    for (name, method), values in scores.items():
        v = np.median(np.array(values), axis=0)
        print("| %s | %s | %.2f | %.4f | %.1f |" % (name, method, *v))


if __name__ == "__main__":
    main()
