"""Writes the tiny TorchScript priors the C++ tests load (models/test/).

tiny_prior.pt       an untrained, seeded, fully convolutional EDM denoiser that follows the
                    prior contract (down-sampling factor 4), a few thousand parameters;
no_metadata.pt      a valid TorchScript module without the dapsmri.json metadata;
wrong_channels.pt   metadata says 2 channels but forward returns 1.

Run: /usr/bin/python3 python/make_tiny_model.py
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dapsmri_prior.edm import EDMDenoiser  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "test")


class TinyNet(nn.Module):
    """Two 2x down-samplings (factor 4), noise level added as a bias: fully convolutional."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.enc = nn.Conv2d(2, width, 3, padding=1)
        self.down1 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(width, width, 2, stride=2)
        self.up1 = nn.ConvTranspose2d(width, width, 2, stride=2)
        self.noise = nn.Linear(1, width)
        self.out = nn.Conv2d(width, 2, 3, padding=1)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.enc(x) + self.noise(c_noise.reshape(-1, 1)).reshape(x.shape[0], -1, 1, 1))
        d1 = torch.relu(self.down1(h))
        d2 = torch.relu(self.down2(d1))
        u = torch.relu(self.up1(torch.relu(self.up2(d2)) + d1)) + h
        return self.out(u)


class OneChannel(nn.Module):
    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return x[:, :1]


def metadata(parameters: int) -> str:
    return json.dumps({
        "format": "dapsmri-prior", "version": 1, "name": "tiny-test-prior",
        "description": "untrained network for tests of the loading path and the contract",
        "training_data": "none (random weights, seed 0)", "normalization": "p99_magnitude",
        "sigma_data": 0.5, "sigma_min": 0.002, "sigma_max": 80.0, "downsampling_factor": 4,
        "channels": 2, "parameters": parameters})


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = EDMDenoiser(TinyNet()).eval()
    parameters = sum(p.numel() for p in model.parameters())
    scripted = torch.jit.script(model)
    torch.jit.save(scripted, os.path.join(OUT, "tiny_prior.pt"),
                   _extra_files={"dapsmri.json": metadata(parameters)})
    torch.jit.save(scripted, os.path.join(OUT, "no_metadata.pt"))
    torch.jit.save(torch.jit.script(OneChannel()), os.path.join(OUT, "wrong_channels.pt"),
                   _extra_files={"dapsmri.json": metadata(0)})
    # Round trip: the archive loads, carries its metadata and keeps the shape.
    extra = {"dapsmri.json": ""}
    loaded = torch.jit.load(os.path.join(OUT, "tiny_prior.pt"), _extra_files=extra)
    assert json.loads(extra["dapsmri.json"])["downsampling_factor"] == 4
    assert loaded(torch.zeros(1, 2, 12, 16), torch.ones(1)).shape == (1, 2, 12, 16)
    print(f"wrote {OUT}: tiny prior with {parameters} parameters")


if __name__ == "__main__":
    main()
