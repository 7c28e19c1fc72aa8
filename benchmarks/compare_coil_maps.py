"""Coil maps from the calibration lines: ours (ESPIRiT, Walsh) against `bart ecalib`, judged by
the SENSE reconstruction each gives (`bart pics -l2`, the same regulariser for all) against the
root-sum-of-squares image of the fully sampled data.

Raw data: ismrmrd_generate_cartesian_shepp_logan (8 coils), undersampled by daps-undersample
(fastMRI-style random rows). Needs `bart` and the built tools.

  /usr/bin/python3 benchmarks/compare_coil_maps.py --bin build/apps --size 128
"""
import argparse
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_bart import psnr, read_cfl, ssim, write_cfl  # noqa: E402


def load_xyc(path):
    """A complex (x, y, coil) image written by daps-recon, as (x, y, coil)."""
    return np.asarray(nib.load(path).dataobj).astype(np.complex64)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/apps")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--coils", type=int, default=8)
    ap.add_argument("--accelerations", default="4:0.08,8:0.04")
    ap.add_argument("--regularisation", type=float, default=0.01, help="bart pics -l2 -r")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tool = lambda name: os.path.join(args.bin, name)  # noqa: E731
    quiet = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"{args.size}x{args.size}, {args.coils} coils; SENSE (bart pics -l2 -r {args.regularisation}) "
          "PSNR / SSIM against the fully sampled root-sum-of-squares image\n")
    print("| acceleration (lines kept) | maps | PSNR (dB) | SSIM |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        full = os.path.join(work, "full.h5")
        subprocess.run(["ismrmrd_generate_cartesian_shepp_logan", "-m", str(args.size), "-c", str(args.coils),
                        "-C", "-o", full], **quiet)
        subprocess.run([tool("daps-recon"), full, os.path.join(work, "f.nii.gz"), "--adjoint-only",
                        "--save-kspace", os.path.join(work, "fullk.nii.gz")], **quiet)
        fk = load_xyc(os.path.join(work, "fullk.nii.gz"))
        coil_images = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(fk, axes=(0, 1)), axes=(0, 1), norm="ortho"),
                                      axes=(0, 1))
        reference = np.sqrt((np.abs(coil_images) ** 2).sum(-1))
        peak = reference.max()
        for spec in args.accelerations.split(","):
            R, cf = spec.split(":")
            under = os.path.join(work, f"under{R}.h5")
            subprocess.run([tool("daps-undersample"), full, under, "--acceleration", R, "--center-fraction", cf,
                            "--seed", str(args.seed)], **quiet)
            kfile = os.path.join(work, f"k{R}.nii.gz")
            maps = {}
            for method in ("espirit", "walsh"):
                out = os.path.join(work, f"maps_{method}{R}.nii.gz")
                subprocess.run([tool("daps-recon"), under, os.path.join(work, "zf.nii.gz"), "--adjoint-only",
                                "--coil-maps", method, "--save-coil-maps", out, "--save-kspace", kfile], **quiet)
                maps[f"ours, {method}"] = load_xyc(out)
            k = load_xyc(kfile)
            lines = int((np.abs(k).sum(axis=(0, 2)) > 0).sum())
            write_cfl(os.path.join(work, "k"), k[:, :, None, :])
            result = subprocess.run(["bart", "ecalib", "-m1", os.path.join(work, "k"), os.path.join(work, "bartmaps")],
                                    capture_output=True, text=True)
            if result.returncode == 0:
                maps["bart ecalib (defaults)"] = read_cfl(os.path.join(work, "bartmaps"))[:, :, 0, :]
            else:
                print(f"| {R}x ({lines} lines) | bart ecalib (defaults) | failed: {result.stderr.strip()[:60]} | |")
            for name, m in maps.items():
                write_cfl(os.path.join(work, "maps"), m[:, :, None, :])
                subprocess.run(["bart", "pics", "-S", "-l2", "-r", str(args.regularisation), os.path.join(work, "k"),
                                os.path.join(work, "maps"), os.path.join(work, "sense")], **quiet)
                image = np.abs(read_cfl(os.path.join(work, "sense"))[:, :, 0, 0])
                print(f"| {R}x ({lines} lines) | {name} | {psnr(image, reference, peak):.2f} | "
                      f"{ssim(image, reference, peak):.4f} |")


if __name__ == "__main__":
    main()
