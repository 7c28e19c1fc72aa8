"""Denoising PSNR of a prior on the held-out validation slab, or on the independent validation
set (`--set independent`: the brain slices of `independent.py`, 256x256, anatomy the prior never
saw), as a Markdown table.

  PYTHONPATH=python /usr/bin/python3 -m dapsmri_prior.evaluate --model models/brain_prior.pt
  PYTHONPATH=python /usr/bin/python3 -m dapsmri_prior.evaluate --model models/brain_prior.pt --set independent
  PYTHONPATH=python /usr/bin/python3 -m dapsmri_prior.evaluate --checkpoint models/train_run/checkpoint.pt

PSNR is computed on the complex image: MSE = mean over pixels of |D - x|^2,
peak = max |x| of that slice; noise has std sigma per real channel.
"""
import argparse

import numpy as np
import torch

from .data import validation_images
from .edm import EDMDenoiser
from .unet import UNet

SIGMAS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def load_denoiser(model: str = None, checkpoint: str = None, raw: bool = False):
    if model:
        return torch.jit.load(model, map_location="cpu").eval()
    ck = torch.load(checkpoint, map_location="cpu")
    net = UNet(**ck["config"])
    net.load_state_dict(ck["model"] if raw else ck["ema"]["model"])
    return EDMDenoiser(net).eval()


def psnr(d: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR [B] for complex images stored as [B, 2, H, W]."""
    mse = ((d - x) ** 2).sum(dim=1).mean(dim=(1, 2))
    peak = (x ** 2).sum(dim=1).sqrt().amax(dim=(1, 2))
    return 10.0 * torch.log10(peak ** 2 / mse)


def independent_images():
    """The brain slices of the independent validation set as [N, 2, 256, 256] float32."""
    from .independent import load_cases
    images = [c["image"] for c in load_cases(256, colin27=0, abdomen=False)]
    return np.stack([np.stack([z.real, z.imag]) for z in images]).astype(np.float32)


@torch.no_grad()
def evaluate(denoiser, sigmas=SIGMAS, batch: int = 8, seed: int = 0, images=None):
    x_all = torch.from_numpy(validation_images() if images is None else images)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for s in sigmas:
        p_in, p_out = [], []
        for i in range(0, len(x_all), batch):
            x = x_all[i:i + batch]
            y = x + s * torch.randn(x.shape, generator=gen)
            d = denoiser(y, torch.full((len(x),), s))
            p_in.append(psnr(y, x))
            p_out.append(psnr(d, x))
        rows.append((s, float(torch.cat(p_in).mean()), float(torch.cat(p_out).mean())))
    return rows, tuple(x_all.shape)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="exported TorchScript prior")
    g.add_argument("--checkpoint", help="training checkpoint (EMA weights unless --raw)")
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--set", choices=("slab", "independent"), default="slab",
                    help="the Colin27 validation slab, or the independent brain slices")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    independent = args.set == "independent"
    rows, shape = evaluate(load_denoiser(args.model, args.checkpoint, args.raw), batch=1 if independent else 8,
                           images=independent_images() if independent else None)
    what = "Independent brain slices (not Colin27)" if independent else "Validation slab: axial slices"
    print(f"{what}: {shape[0]} slices {shape[2]}x{shape[3]} (1 mm), p99-normalised, smooth phase\n")
    print("| sigma | noisy PSNR (dB) | denoised PSNR (dB) | gain (dB) |")
    print("|---:|---:|---:|---:|")
    for s, a, b in rows:
        print(f"| {s:g} | {a:.2f} | {b:.2f} | {b - a:+.2f} |")


if __name__ == "__main__":
    main()
