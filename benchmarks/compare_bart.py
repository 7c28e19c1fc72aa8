"""Reconstruction quality on anatomy the prior never saw: zero-filled, BART (ESPIRiT + L1-wavelet
`pics`, one lambda tuned on the brain cases, or on all chosen cases when there are none) and DAPS
(daps-recon, with the settings under test), from ISMRMRD raw data as a user would have it.

The cases are the independent validation set (`python/dapsmri_prior/independent.py`: a human head T1 in two
orientations, diffusion b0 slices, an abdominal slice, and the prior's own Colin27 validation slab
for comparison), each a complex image with smooth phase on a 1 mm grid. Each is turned into a fully
sampled 8-coil ISMRMRD file (2x readout oversampling, correlated coil noise at the stated SNR,
noise scans), then `daps-undersample` keeps a fastMRI-style random subset of its lines.
`daps-recon --adjoint-only` gives the zero-filled image and the prewhitened k-space that BART gets
(`bart ecalib` on every readout column of the calibration lines, then `pics -R W` for each lambda);
`daps-recon FILE.h5 OUT` runs DAPS on the raw file itself (prewhitening, ESPIRiT, tau from the noise
scans). Scores: PSNR and SSIM of magnitudes inside the body mask, after a least-squares intensity
fit of each result to the reference (peak = reference maximum in the body). Prints a Markdown table
of medians over the brain cases and writes per-case figures and values to --out.

  apt-get install bart insighttoolkit5-examples python3-dipy
  /usr/bin/python3 benchmarks/compare_bart.py --bin build/apps \
      --daps mri= --daps "reference=--preset reference --threads 2"

Every DAPS run leaves a score record (flags, prior digest, data setup, time, PSNR, SSIM) in
--records; with --reuse a run whose record matches is not repeated, so a long comparison (the
reference preset takes about ten minutes per slice) can be stopped and continued, also from the
records committed in benchmarks/records.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import nibabel as nib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from dapsmri_prior.independent import load_cases  # noqa: E402

SHIPPED_PRIOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "brain_prior.pt")


def fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def coil_maps(coils, h, w, oversampling=1):
    """Loops evenly spaced around the field of view, sum of squares 1 (as dapsmri::SimulatedCoilMaps),
    over a readout (x) field of view `oversampling` times wider than the w x h image."""
    y = ((2 * np.arange(h) - (h - 1)) / h)[:, None]
    x = ((2 * np.arange(w * oversampling) - (w * oversampling - 1)) / w)[None, :]
    maps = []
    for c in range(coils):
        a = 2 * np.pi * c / coils
        magnitude = np.exp(-((x - 1.2 * np.cos(a)) ** 2 + (y - 1.2 * np.sin(a)) ** 2) / 0.3)
        maps.append(magnitude * np.exp(1j * (a + 0.4 * x - 0.3 * y)))
    maps = np.array(maps)
    return (maps / np.sqrt((np.abs(maps) ** 2).sum(0))).astype(np.complex64)

def ssim(a, b, peak, mask=None):
    """Mean SSIM with a 7x7 uniform window (the fastMRI / scikit-image convention), over the
    windows centred in `mask` when given."""
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
    return float(s.mean() if mask is None else s[mask[3:-3, 3:-3]].mean())


def psnr(a, b, peak, mask=None):
    error = (a - b) ** 2
    return float(10 * np.log10(peak ** 2 / (error.mean() if mask is None else error[mask].mean())))


def save_montage(path, panels, peak):
    """Panels side by side on one grey scale."""
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



def write_raw_data(path, image, coils, snr, rng, oversampling=2):
    """A fully sampled Cartesian ISMRMRD file of `image` ([phase-encode y, readout x]) seen by
    `coils` simulated coils: the header, flags and noise scan come from
    ismrmrd_generate_cartesian_shepp_logan, the samples are replaced by this object's k-space
    (readout oversampled) plus correlated complex noise, and the noise scan by the same noise.

    Returns the reference magnitude: |image| times sqrt(S^H Psi^-1 S), the receive profile that any
    SENSE or ESPIRiT reconstruction of prewhitened data keeps (Psi: the coil noise covariance)."""
    h, w = image.shape
    template = path + ".template.h5"
    subprocess.run(["ismrmrd_generate_cartesian_shepp_logan", "-m", str(w), "-c", str(coils), "-O", str(oversampling),
                    "-C", "-n", "0", "-o", template], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    padded = np.zeros((h, w * oversampling), np.complex64)
    padded[:, (w * oversampling - w) // 2:][:, :w] = image
    maps = coil_maps(coils, h, w, oversampling)
    k = fft2c(maps * padded)  # [coil, ky, kx]
    body = np.abs(image) > 0.05 * np.abs(image).max()
    sigma = np.sqrt(np.mean(np.abs(image[body]) ** 2)) / 10 ** (snr / 20)  # complex noise std of one coil
    mixing = np.eye(coils) + 0.15 * (rng.standard_normal((coils, coils)) + 1j * rng.standard_normal((coils, coils)))
    mixing *= sigma / np.sqrt((np.abs(mixing) ** 2).sum(1, keepdims=True))  # each coil's noise std = sigma

    def noise(samples):
        white = (rng.standard_normal((coils, samples)) + 1j * rng.standard_normal((coils, samples))) / np.sqrt(2)
        return mixing @ white

    with h5py.File(template, "r+") as f:
        for extra in ("coil_images", "csm", "phantom"):
            if extra in f["dataset"]:
                del f["dataset"][extra]
        xml = f["dataset/xml"][0].decode()
        for space, width in (("encodedSpace", w * oversampling), ("reconSpace", w)):  # 1 mm pixels
            a = xml.index(f"<{space}>")
            b = xml.index(f"</{space}>")
            block = xml[a:b]
            fov = block[block.index("<fieldOfView_mm>"):block.index("</fieldOfView_mm>")]
            new = f"<fieldOfView_mm>\n\t\t\t\t<x>{width:.1f}</x>\n\t\t\t\t<y>{h:.1f}</y>\n\t\t\t\t<z>3.0</z>\n\t\t\t"
            xml = xml[:a] + block.replace(fov, new) + xml[b:]
        f["dataset/xml"][0] = xml.encode()
        acquisitions = f["dataset/data"][...]
        for a in acquisitions:
            samples = int(a["head"]["number_of_samples"])
            if int(a["head"]["flags"]) & (1 << 18):  # noise measurement
                values = noise(samples)
            else:
                line = int(a["head"]["idx"]["kspace_encode_step_1"])
                values = k[:, line, :] + noise(samples)
            a["data"] = np.stack([values.real, values.imag], -1).astype(np.float32).ravel()
        f["dataset/data"][...] = acquisitions
    os.replace(template, path)
    inside = maps[:, :, (w * oversampling - w) // 2:][:, :, :w]
    profile = np.einsum("cyx,cd,dyx->yx", inside.conj(), np.linalg.inv(mixing @ mixing.conj().T), inside).real
    return np.abs(image) * np.sqrt(profile)


def prior_digest(flags):
    """SHA-256 of the prior a daps-recon run with these flags loads (--model, else the shipped one)."""
    words = flags.split()
    path = words[words.index("--model") + 1] if "--model" in words else SHIPPED_PRIOR
    if not os.path.isfile(path):
        return None  # daps-recon will say what is wrong with the path
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_daps(daps_recon, raw_file, out_stem, flags, record_path, setup, reference, mask, reuse):
    """Runs `daps-recon RAW OUT.nii.gz FLAGS` and scores it; returns (PSNR, SSIM, fitted image or None,
    seconds). The scores go to record_path (JSON: flags, prior digest, data setup, time, scores). With
    `reuse`, a record made with the same flags, prior and data is taken instead of a new run, so a long
    comparison can be stopped and continued, also on another day from committed records (its image is
    then used when it is still there)."""
    key = {"flags": flags, "prior_sha256": prior_digest(flags), "setup": setup}
    if reuse and os.path.exists(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if all(record.get(k) == v for k, v in key.items()):
            image = out_stem + ".nii.gz"
            fitted = score(read_image(image), reference, mask)[2] if os.path.exists(image) else None
            return record["psnr"], record["ssim"], fitted, record["seconds"]
    start = time.time()
    run = subprocess.run([daps_recon, raw_file, out_stem + ".nii.gz"] + flags.split(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["no message"])[-1]
        raise SystemExit(f"daps-recon {raw_file} {flags} failed: {last}")
    seconds = time.time() - start
    p, q, fitted = score(read_image(out_stem + ".nii.gz"), reference, mask)
    with open(record_path + ".tmp", "w") as f:
        json.dump({**key, "seconds": seconds, "psnr": p, "ssim": q, "date": time.strftime("%Y-%m-%d"),
                   "cpus": os.cpu_count()}, f, indent=1)
    os.replace(record_path + ".tmp", record_path)
    return p, q, fitted, seconds


def read_image(path):
    """The first slice of a daps-recon output volume (x, y, slice) as [y, x]."""
    return np.asarray(nib.load(path).dataobj)[:, :, 0].T


def score(result, reference, mask):
    """PSNR and SSIM in the body after the least-squares intensity fit a * result ~ reference."""
    a = float((result[mask] * reference[mask]).sum() / max(1e-30, (result[mask] ** 2).sum()))
    peak = reference[mask].max()
    return psnr(a * result, reference, peak, mask), ssim(a * result, reference, peak, mask), a * result


def summary(values, cases, brain):
    """Median PSNR and SSIM over the cases whose 'brain' flag equals `brain`."""
    v = np.array([x for x, c in zip(values, cases) if c["brain"] == brain]).reshape(-1, 2)
    return (np.median(v[:, 0]), np.median(v[:, 1])) if len(v) else (np.nan, np.nan)


def per_case_table(per_case):
    """PSNR / SSIM of every case and method, one table row per case and acceleration."""
    methods = list(dict.fromkeys(entry["method"] for entry in per_case))
    lines = ["| case | acceleration | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for R in dict.fromkeys(entry["acceleration"] for entry in per_case):
        scores = {entry["method"]: entry["cases"] for entry in per_case if entry["acceleration"] == R}
        for case in scores[methods[0]]:
            cells = [f"{scores[m][case][0]:.2f} / {scores[m][case][1]:.3f}" for m in methods]
            lines.append(f"| {case} | {R}x | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/apps", help="folder with daps-recon and daps-undersample")
    ap.add_argument("--out", default="output/compare_bart")
    ap.add_argument("--size", type=int, default=256, help="matrix size (square, 1 mm pixels)")
    ap.add_argument("--coils", type=int, default=8)
    ap.add_argument("--accelerations", default="4:0.08,8:0.04", help="R:centre fraction pairs")
    ap.add_argument("--snr", type=float, default=30.0, help="image-domain SNR of one coil in dB (body rms / noise std)")
    ap.add_argument("--lambdas", default="0.001,0.002,0.005,0.01,0.02,0.05")
    ap.add_argument("--daps", action="append", default=[],
                    help="NAME=daps-recon flags, one per DAPS setting to compare (default: defaults=)")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--colin27", type=int, default=2, help="Colin27 validation slices to add for comparison")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--records", default="",
                    help="folder for the per-run score records of DAPS (default: --out)")
    ap.add_argument("--reuse", action="store_true",
                    help="take DAPS scores from records made with the same flags, prior and data instead of "
                         "running again (a long comparison can be stopped and continued)")
    args = ap.parse_args()
    records = args.records or args.out
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(records, exist_ok=True)
    tool = lambda name: os.path.join(args.bin, name)  # noqa: E731
    quiet = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    settings = [spec.split("=", 1) for spec in (args.daps or ["defaults="])]
    cases = load_cases(args.size, args.seed, args.colin27)
    for number, case in enumerate(cases):
        case["number"] = number  # seeds the case's noise and mask, whichever cases are chosen
    if args.cases:
        cases = [c for c in cases if c["name"] in args.cases.split(",")]
    lambdas = args.lambdas.split(",")
    table, per_case = [], []
    for spec in args.accelerations.split(","):
        R, cf = spec.split(":")
        zero, bart, daps, seconds = [], {lam: [] for lam in lambdas}, {n: [] for n, _ in settings}, {n: [] for n, _ in settings}
        images = []
        for case in cases:
            number = case["number"]
            rng = np.random.default_rng([args.seed, number])
            base = os.path.join(args.out, case["name"])
            reference, mask = write_raw_data(base + ".h5", case["image"], args.coils, args.snr, rng), case["mask"]
            nib.save(nib.Nifti1Image(np.stack([reference.T.astype(np.float32), mask.T.astype(np.float32)], -1),
                                     np.eye(4)), base + "_reference.nii.gz")  # x, y, (reference, body mask)
            stem = f"{base}_R{R}"
            subprocess.run([tool("daps-undersample"), base + ".h5", stem + ".h5", "--acceleration", R, "--center-fraction",
                            cf, "--seed", str(args.seed * 1000 + number)], **quiet)
            subprocess.run([tool("daps-recon"), stem + ".h5", stem + "_zf.nii.gz", "--adjoint-only", "--save-kspace",
                            stem + "_k.nii.gz"], **quiet)
            zero.append(score(read_image(stem + "_zf.nii.gz"), reference, mask))
            k = np.asarray(nib.load(stem + "_k.nii.gz").dataobj).astype(np.complex64)  # x, y, coil
            write_cfl(stem + "_k", k[:, :, None, :])
            acs = round(k.shape[1] * float(cf))
            # Calibrate on every readout column of the calibration lines, with a kernel at most half
            # their number tall (BART's default 24x24 region fails on the 10 lines of 8x).
            subprocess.run(["bart", "ecalib", "-m1", "-r", f"{k.shape[0]}:{acs}:1", "-k",
                            f"6:{min(6, max(2, acs // 2))}:1", stem + "_k", stem + "_espirit"], **quiet)
            bart_images = {}
            for lam in lambdas:
                subprocess.run(["bart", "pics", "-S", "-R", f"W:7:0:{lam}", stem + "_k", stem + "_espirit",
                                stem + "_bart"], **quiet)
                b = np.abs(read_cfl(stem + "_bart")[:, :, 0, 0].T)
                bart[lam].append(score(b, reference, mask)[:2])
                bart_images[lam] = score(b, reference, mask)[2]
            panels = [reference, zero[-1][2]]
            for name, flags in settings:
                setup = {"size": args.size, "coils": args.coils, "snr": args.snr, "seed": args.seed,
                         "acceleration": R, "center_fraction": cf}
                record = os.path.join(records, f"{case['name']}_R{R}_{name}.json")
                *result, time_taken = run_daps(tool("daps-recon"), stem + ".h5", f"{stem}_{name}", flags, record,
                                               setup, reference, mask, args.reuse)
                seconds[name].append(time_taken)
                daps[name].append(result)
                panels.append(result[2] if result[2] is not None else np.zeros_like(reference))
                print(f"R={R} {case['name']}: {name} {daps[name][-1][0]:.2f} dB / {daps[name][-1][1]:.4f} in "
                      f"{seconds[name][-1]:.0f} s; zero-filled {zero[-1][0]:.2f}; BART best "
                      f"{max(v[-1][0] for v in bart.values()):.2f}", file=sys.stderr, flush=True)
            images.append((base, panels, bart_images, reference[mask].max()))
        tuned_on = [c["brain"] for c in cases] if any(c["brain"] for c in cases) else [True] * len(cases)
        best = max(lambdas, key=lambda lam: np.median([p for (p, _), t in zip(bart[lam], tuned_on) if t]))
        for base, panels, bart_images, peak in images:  # reference | zero-filled | BART | DAPS settings...
            save_montage(f"{base}_R{R}.png", panels[:2] + [bart_images[best]] + panels[2:], peak)
        rows = [("zero-filled", [z[:2] for z in zero], None), (f"BART (lambda {best})", bart[best], None)]
        rows += [(f"DAPS {name}", [d[:2] for d in daps[name]], np.mean(seconds[name])) for name, _ in settings]
        for method, values, time_per_case in rows:
            brain, other = summary(values, cases, True), [v for v, c in zip(values, cases) if not c["brain"]]
            others = " / ".join(f"{p:.2f}" for p, _ in other)
            table.append(f"| {R}x ({cf} ACS) | {method} | {brain[0]:.2f} | {brain[1]:.4f} | {others} | "
                         + (f"{time_per_case:.0f} s |" if time_per_case else "|"))
            per_case.append({"acceleration": R, "method": method.split(" (")[0],  # BART's lambda varies with R
                             "cases": {c["name"]: v for c, v in zip(cases, values)}})
    brains = sum(c["brain"] for c in cases)
    print(f"\n{brains} brain slices (median), {args.size}x{args.size}, {args.coils} coils, SNR {args.snr:g} dB, "
          f"seed {args.seed}; settings: " + "; ".join(f"{n}: '{f}'" for n, f in settings) + "\n")
    print("| acceleration | method | PSNR (dB) | SSIM | " + ", ".join(c["name"] for c in cases if not c["brain"])
          + " PSNR | time per slice |\n|---|---|---|---|---|---|")
    print("\n".join(table))
    print("\nPer case, PSNR (dB) / SSIM:\n\n" + per_case_table(per_case))
    with open(os.path.join(args.out, "scores.json"), "w") as f:
        json.dump(per_case, f, indent=1)


if __name__ == "__main__":
    main()
