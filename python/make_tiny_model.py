"""Write the small TorchScript archives used by the C++ tests (models/test/).

  /usr/bin/python3 python/make_tiny_model.py [--out-dir models/test]

tiny_prior.pt      untrained but contract-conforming prior (U-Net 4-4-4 channels,
                   downsampling factor 4, ~4.7k parameters, seed 0).  The
                   zero-initialised layers get small random weights so the output
                   really depends on the network (not just c_skip * x).
no_metadata.pt     the same module saved without dapsmri.json.
wrong_channels.pt  valid metadata (channels 2) but forward returns 1 channel.
"""
import argparse
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dapsmri_prior.edm import EDMDenoiser  # noqa: E402
from dapsmri_prior.export import make_metadata, save_prior, verify_prior  # noqa: E402
from dapsmri_prior.unet import UNet  # noqa: E402


class FirstChannelOnly(nn.Module):
    """Broken prior: drops the imaginary channel."""

    def __init__(self, denoiser: nn.Module):
        super().__init__()
        self.denoiser = denoiser

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.denoiser(x, sigma)[:, :1]


def tiny_net(seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    net = UNet(channels=(4, 4, 4), num_blocks=1, emb_dim=8)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() > 1 and not p.abs().sum() > 0:  # zero-initialised conv weights
                p.normal_(0.0, 0.05)
    return net.eval()


def main():
    # TorchScript writes module constants in set order; a fixed hash seed makes the
    # archives byte-identical between runs (no spurious diffs of the binary files).
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=os.path.join(here, "..", "models", "test"))
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    net = tiny_net()
    meta = make_metadata(net, "tiny-test-prior",
                         "Untrained tiny U-Net (seed 0) for C++ unit tests; not a useful prior.",
                         training_data="none (random weights)")
    tiny = os.path.join(args.out_dir, "tiny_prior.pt")
    scripted = save_prior(net, tiny, meta)
    verify_prior(tiny)

    torch.jit.save(scripted, os.path.join(args.out_dir, "no_metadata.pt"))

    broken = torch.jit.script(FirstChannelOnly(EDMDenoiser(net)).eval())
    torch.jit.save(broken, os.path.join(args.out_dir, "wrong_channels.pt"),
                   _extra_files={"dapsmri.json": json.dumps(meta, indent=1)})

    for f in ("tiny_prior.pt", "no_metadata.pt", "wrong_channels.pt"):
        path = os.path.join(args.out_dir, f)
        print(f"{os.path.normpath(path)}: {os.path.getsize(path)} bytes")
    print(f"tiny prior parameters: {meta['parameters']}")


if __name__ == "__main__":
    main()
