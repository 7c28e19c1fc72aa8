"""Export the EMA weights of a training checkpoint as a TorchScript prior.

  PYTHONPATH=python /usr/bin/python3 -m dapsmri_prior.export \
      --checkpoint models/train_run/checkpoint.pt --out models/brain_prior.pt

The archive holds the scripted EDMDenoiser (forward(x [B,2,H,W], sigma [B])) and
the extra file dapsmri.json with the metadata the C++ loader checks.
"""
import argparse
import json
import os

import torch

from .edm import SIGMA_DATA, SIGMA_MAX, SIGMA_MIN, EDMDenoiser
from .unet import UNet, count_parameters

METADATA_FILE = "dapsmri.json"
TRAINING_DATA = ("Colin27 T1 template (mricron ch2better.nii.gz), skull-stripped, 1 mm and 0.5 mm, "
                 "slices in 3 orientations, axial validation slab z=84..107 (1 mm) held out; "
                 "random contrast curves, bias fields, smooth phase, rotations, scalings")


def make_metadata(net: UNet, name: str, description: str, training_data: str = TRAINING_DATA) -> dict:
    return {"format": "dapsmri-prior", "version": 1, "name": name, "description": description,
            "training_data": training_data, "normalization": "p99_magnitude",
            "sigma_data": float(SIGMA_DATA), "sigma_min": float(SIGMA_MIN),
            "sigma_max": float(SIGMA_MAX), "downsampling_factor": int(net.downsampling_factor),
            "channels": 2, "parameters": int(count_parameters(net))}


SYNTHETIC_DATA = ("Colin27 (mricron ch2better.nii.gz, skull-stripped, 1 mm and 0.5 mm; ch2.nii.gz with skull, "
                  "1 mm) and synthetic heads from mricron's label atlases (aal, AICHA, HarvardOxford, JHU, "
                  "brodmann, natbrainlab, jhu189) over the template's tissue classes, each with its own random "
                  "contrast, texture, resolution and noise; slices in 3 orientations, anisotropic scalings "
                  "0.7-1.4 and elastic warps; axial validation slab z=84..107 (1 mm) held out of every volume")


def training_data(run_args: dict) -> str:
    """What a run was trained on, from its arguments: the template, synthetic heads, or the user's images."""
    paths = run_args.get("data")
    if not paths:
        if not run_args.get("synthetic"):
            return TRAINING_DATA
        start = run_args.get("init")
        return SYNTHETIC_DATA + (f"; started from {os.path.basename(start)}" if start else "")
    names = [os.path.basename(os.path.normpath(p)) for p in paths]
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    text = (f"images ({listed}), magnitudes, slice by slice; random contrast curves, bias fields, "
            "smooth phase, rotations, scalings")
    if run_args.get("init"):
        text += f"; started from {os.path.basename(run_args['init'])}"
    return text


def save_prior(net: UNet, path: str, metadata: dict) -> torch.jit.ScriptModule:
    scripted = torch.jit.script(EDMDenoiser(net.cpu().float()).eval())
    torch.jit.save(scripted, path, _extra_files={METADATA_FILE: json.dumps(metadata, indent=1)})
    return scripted


def verify_prior(path: str, sizes=((64, 64), (96, 80))) -> dict:
    """Reload the archive; check metadata keys and output shapes.  Returns the metadata."""
    extra = {METADATA_FILE: ""}
    m = torch.jit.load(path, map_location="cpu", _extra_files=extra)
    meta = json.loads(extra[METADATA_FILE])
    expected = {"format", "version", "name", "description", "training_data", "normalization",
                "sigma_data", "sigma_min", "sigma_max", "downsampling_factor", "channels", "parameters"}
    assert set(meta) == expected, f"metadata keys {sorted(meta)}"
    assert meta["format"] == "dapsmri-prior" and meta["version"] == 1 and meta["channels"] == 2
    with torch.no_grad():
        for h, w in sizes:
            x = torch.randn(2, 2, h, w)
            y = m(x, torch.tensor([0.1, 5.0]))
            assert y.shape == x.shape and y.dtype == torch.float32, f"{tuple(y.shape)} for {h}x{w}"
            assert torch.isfinite(y).all()
    return meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default=None, help="default: colin27-edm-unet, or edm-unet for a run on --data")
    ap.add_argument("--description", default=None)
    ap.add_argument("--raw", action="store_true", help="export the raw (non-EMA) weights")
    args = ap.parse_args(argv)

    ck = torch.load(args.checkpoint, map_location="cpu")
    net = UNet(**ck["config"])
    net.load_state_dict(ck["model"] if args.raw else ck["ema"]["model"])
    desc = args.description or (
        f"EDM-preconditioned U-Net denoiser, channels {ck['config']['channels']}, "
        f"{ck['config']['num_blocks']} res-blocks/level, "
        f"{'self-attention at the lowest level, ' if ck['config'].get('attention') else ''}"
        f"{'raw' if args.raw else 'EMA'} weights "
        f"after {ck['step']} steps of batch {ck['args']['batch']} x {ck['args']['patch']}^2 patches")
    run_args = ck.get("args", {})
    name = args.name or ("edm-unet" if run_args.get("data") else "colin27-edm-unet")
    save_prior(net, args.out, make_metadata(net, name, desc, training_data(run_args)))
    meta = verify_prior(args.out)
    print(json.dumps(meta, indent=1))
    print(f"wrote and verified {args.out}")


if __name__ == "__main__":
    main()
