"""Reconstruction quality on held-out brain slices: zero-filled, BART (ESPIRiT + L1-wavelet
`pics`, lambda tuned on the same slices) and DAPS (daps-recon), 8 simulated coils, fastMRI-style
random masks, complex Gaussian noise at a stated SNR.

Both iterative methods get the same ESPIRiT maps from `bart ecalib`. The slices are the prior's
validation slab (never used in training). Prints a Markdown table (PSNR / SSIM of magnitudes,
peak = reference maximum) and writes per-case images to --out.

  apt-get install bart
  PYTHONPATH=python /usr/bin/python3 benchmarks/compare_bart.py --bin build/apps --slices 4 \
      --daps-args "--steps 50 --samples 4"
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import nibabel as nib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from dapsmri_prior.data import validation_images  # noqa: E402


def fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def coil_maps(coils, h, w):
    """Loops evenly spaced around the field of view, sum of squares 1 (as dapsmri::SimulatedCoilMaps)."""
    y = ((2 * np.arange(h) - (h - 1)) / h)[:, None]
    x = ((2 * np.arange(w) - (w - 1)) / w)[None, :]
    maps = []
    for c in range(coils):
        a = 2 * np.pi * c / coils
        magnitude = np.exp(-((x - 1.2 * np.cos(a)) ** 2 + (y - 1.2 * np.sin(a)) ** 2) / 0.3)
        maps.append(magnitude * np.exp(1j * (a + 0.4 * x - 0.3 * y)))
    maps = np.array(maps)
    return (maps / np.sqrt((np.abs(maps) ** 2).sum(0))).astype(np.complex64)


def fastmri_mask(h, w, acceleration, center_fraction, rng):
    """Random phase-encode rows (y) with a fully sampled centre, overall rate 1 / acceleration."""
    center = max(1, round(h * center_fraction))
    rows = np.zeros(h, bool)
    start = (h - center + 1) // 2
    rows[start:start + center] = True
    p = max(0.0, (h / acceleration - center) / (h - center))
    rows |= rng.random(h) < p
    return np.repeat(rows[:, None], w, 1)


def ssim(a, b, peak):
    """Mean SSIM with a 7x7 uniform window (the fastMRI / scikit-image convention)."""
    def box(z):
        k = 7
        c = np.cumsum(np.cumsum(np.pad(z, ((1, 0), (1, 0))), 0), 1)
        return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / k ** 2
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mu_a, mu_b = box(a), box(b)
    va = box(a * a) - mu_a ** 2
    vb = box(b * b) - mu_b ** 2
    cov = (box(a * b) - mu_a * mu_b) * 49 / 48
    va, vb = va * 49 / 48, vb * 49 / 48
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2))
    return float(s.mean())


def psnr(a, b, peak):
    return float(10 * np.log10(peak ** 2 / np.mean((a - b) ** 2)))


def save_montage(path, panels, peak):
    """reference | zero-filled | BART | DAPS on one grey scale."""
    from PIL import Image
    row = np.concatenate([np.clip(p / peak, 0, 1) for p in panels], axis=1)
    Image.fromarray((255 * row).astype(np.uint8)).save(path)


def write_cfl(path, array):
    """BART's .cfl/.hdr: column-major complex64 with a text header of dimensions."""
    dims = list(array.shape) + [1] * (16 - array.ndim)
    with open(path + ".hdr", "w") as f:
        f.write("# Dimensions\n" + " ".join(map(str, dims)) + "\n")
    np.asarray(array, np.complex64).ravel(order="F").tofile(path + ".cfl")


def read_cfl(path):
    with open(path + ".hdr") as f:
        f.readline()
        dims = [int(d) for d in f.readline().split()]
    return np.fromfile(path + ".cfl", np.complex64).reshape(dims[:4], order="F")  # x, y, z, coil


def write_nifti_xyc(path, array_cyx):
    """(coil, y, x) -> a complex image (x, y, coil) that daps-recon reads."""
    nib.save(nib.Nifti1Image(np.ascontiguousarray(np.transpose(array_cyx, (2, 1, 0))).astype(np.complex64),
                             np.eye(4)), path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/apps", help="folder with daps-recon")
    ap.add_argument("--model", default="", help="TorchScript prior (default: daps-recon's)")
    ap.add_argument("--out", default="output/compare_bart")
    ap.add_argument("--slices", type=int, default=4)
    ap.add_argument("--coils", type=int, default=8)
    ap.add_argument("--accelerations", default="4:0.08,8:0.04", help="R:centre fraction pairs")
    ap.add_argument("--snr", type=float, default=30.0, help="image-domain SNR in dB (signal rms / noise std)")
    ap.add_argument("--lambdas", default="0.0003,0.001,0.003,0.01,0.03,0.1")
    ap.add_argument("--daps-args", default="", help="extra daps-recon flags, e.g. '--steps 50'")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    images = validation_images()
    picks = np.linspace(0, len(images) - 1, args.slices).round().astype(int)
    rows = []
    for spec in args.accelerations.split(","):
        R, cf = float(spec.split(":")[0]), float(spec.split(":")[1])
        results = {"zero-filled": [], "BART": {}, "DAPS": []}
        for i in picks:
            x = images[i, 0] + 1j * images[i, 1]
            h, w = x.shape
            maps = coil_maps(args.coils, h, w)
            # Mask and noise depend only on (seed, acceleration, slice): runs split by acceleration
            # give the same cases as one run.
            rng = np.random.default_rng([args.seed, round(100 * R), int(i)])
            mask = fastmri_mask(h, w, R, cf, rng)
            signal_rms = np.sqrt(np.mean(np.abs(x[np.abs(x) > 0.05]) ** 2))
            sigma = signal_rms / 10 ** (args.snr / 20) / np.sqrt(2)  # per real part
            noise = sigma * (rng.standard_normal((args.coils, h, w)) + 1j * rng.standard_normal((args.coils, h, w)))
            k = ((fft2c(maps * x) + noise) * mask).astype(np.complex64)
            ref = np.abs(x)
            peak = ref.max()
            case = os.path.join(args.out, f"R{R:g}_slice{i}")
            # BART: ESPIRiT maps, then pics with each lambda.
            write_cfl(case + "_k", np.transpose(k, (2, 1, 0))[:, :, None, :])  # x, y, z, coil
            # Calibrate on the whole fully sampled block (every readout column x the ACS rows) with a
            # kernel at most half the ACS rows tall: BART's default (a 24x24 region, 6x6 kernel) has
            # fewer equations than unknowns with the 6 calibration rows of 8x and returns maps that
            # are wrong or cropped to zero (BART at 8x: 12.5 dB with those maps, 18.6 dB with these).
            acs = max(1, round(h * cf))
            calibration = ["-r", f"{w}:{acs}:1", "-k", f"6:{min(6, max(2, acs // 2))}:1"]
            subprocess.run(["bart", "ecalib", "-m1"] + calibration + [case + "_k", case + "_espirit"], check=True,
                           stdout=subprocess.DEVNULL)
            espirit = read_cfl(case + "_espirit")[:, :, 0, :]  # x, y, coil
            zf = (np.conj(np.transpose(espirit, (2, 1, 0))) * np.fft.fftshift(np.fft.ifft2(
                np.fft.ifftshift(k, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))).sum(0)
            results["zero-filled"].append((psnr(np.abs(zf), ref, peak), ssim(np.abs(zf), ref, peak)))
            for lam in args.lambdas.split(","):
                subprocess.run(["bart", "pics", "-S", "-R", f"W:7:0:{lam}", case + "_k", case + "_espirit",
                                case + "_bart"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                b = np.abs(read_cfl(case + "_bart")[:, :, 0, 0].T)
                results["BART"].setdefault(lam, []).append((psnr(b, ref, peak), ssim(b, ref, peak)))
            # DAPS with the same maps.
            write_nifti_xyc(case + "_k.nii.gz", k)
            write_nifti_xyc(case + "_maps.nii.gz", np.transpose(espirit, (2, 1, 0)))
            nib.save(nib.Nifti1Image(np.ascontiguousarray(mask.T).astype(np.uint8), np.eye(4)), case + "_mask.nii.gz")
            cmd = [os.path.join(args.bin, "daps-recon"), "--kspace", case + "_k.nii.gz", "--coil-maps",
                   case + "_maps.nii.gz", "--mask", case + "_mask.nii.gz", case + "_daps.nii.gz"]
            cmd += (["--model", args.model] if args.model else []) + args.daps_args.split()
            start = time.time()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            d = np.asarray(nib.load(case + "_daps.nii.gz").dataobj).T
            results["DAPS"].append((psnr(d, ref, peak), ssim(d, ref, peak)))
            best_so_far = max(results["BART"], key=lambda lam: results["BART"][lam][-1][0])
            subprocess.run(["bart", "pics", "-S", "-R", f"W:7:0:{best_so_far}", case + "_k", case + "_espirit",
                            case + "_bart"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            b = np.abs(read_cfl(case + "_bart")[:, :, 0, 0].T)
            save_montage(case + ".png", [ref, np.abs(zf), b, d], peak)
            print(f"R={R:g} slice {i}: DAPS {results['DAPS'][-1][0]:.2f} dB in {time.time() - start:.0f} s",
                  file=sys.stderr)
        best = max(results["BART"], key=lambda lam: np.mean([p for p, _ in results["BART"][lam]]))
        for name, values in (("zero-filled", results["zero-filled"]), (f"BART W lambda={best}", results["BART"][best]),
                             ("DAPS", results["DAPS"])):
            v = np.array(values)
            rows.append(f"| {R:g}x ({cf:g} ACS) | {name} | {v[:, 0].mean():.2f} | {v[:, 1].mean():.4f} |")
    print(f"\n{args.slices} validation slices, {args.coils} coils, SNR {args.snr:g} dB, seed {args.seed}\n")
    print("| acceleration | method | PSNR (dB) | SSIM |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
