#!/usr/bin/env python3
"""Reconstructs an ISMRMRD file with DAPS and writes the magnitude volume as NIfTI with the
scanner's geometry: daps-recon's main job from Python.

    python3 reconstruct_ismrmrd.py scan.h5 recon.nii.gz [steps=20 samples=4 ...]

Each KEY=VALUE is a DAPS keyword (dapsmri.parameters() lists them).
"""
import os
import sys

import nibabel
import numpy as np

import dapsmri


def main(raw_path, output, *settings):
    keywords = {}
    for setting in settings:
        key, value = setting.split("=", 1)
        kind = next(p["type"] for p in dapsmri.parameters() if p["keyword"] == key)
        keywords[key] = {"int": int, "float": float, "str": str}[kind](value)

    def progress(done, total):
        print(f"\rDAPS {done}/{total}", end="" if done < total else "\n", file=sys.stderr)
        return True  # False would cancel (dapsmri.Cancelled)

    volume = dapsmri.reconstruct_ismrmrd(raw_path, progress=progress, **keywords)
    # ITK and ISMRMRD are LPS, NIfTI is RAS; the arrays are (slice, y, x), NIfTI's (x, y, slice).
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    affine = np.eye(4)
    affine[:3, :3] = lps_to_ras @ volume.direction @ np.diag(volume.spacing)
    affine[:3, 3] = lps_to_ras @ np.asarray(volume.origin)
    magnitude = np.hypot(volume.mean.real, volume.mean.imag).transpose(2, 1, 0)  # daps-recon's |z|, to the bit
    # All of the file or none of it: written next to the target, then renamed over it.
    folder, name = os.path.split(os.path.abspath(output))
    partial = os.path.join(folder, "." + name + ".partial" + (".nii.gz" if name.endswith(".gz") else ".nii"))
    try:
        nibabel.save(nibabel.Nifti1Image(magnitude, affine), partial)
        os.replace(partial, output)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    print(f"NFE {volume.statistics['denoiser_evaluations']}, residual {volume.relative_residual:.4f}; wrote {output}",
          file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
