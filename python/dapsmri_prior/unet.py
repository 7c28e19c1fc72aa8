"""Small, fully convolutional U-Net for 2-channel (real, imaginary) images.

The network is the raw function F(c_in * x, c_noise) of the EDM parameterisation
(see edm.py).  No layer depends on the image size, so any H, W that is a
multiple of `downsampling_factor` works.  Everything is torch.jit.script-able.
"""
import math
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _groups(channels: int) -> int:
    # At least 4 channels per group, at most 32 groups (EDM's choice).
    return max(1, min(32, channels // 4))


class NoiseEmbedding(nn.Module):
    """Fourier features of c_noise followed by a 2-layer MLP."""

    def __init__(self, emb_dim: int, num_freqs: int = 16):
        super().__init__()
        # Fixed log-spaced frequencies (0.1 .. 10 cycles per unit of c_noise):
        # c_noise = log(sigma)/4 spans about [-1.6, 1.1] for sigma in [0.002, 80].
        freqs = 2.0 * math.pi * torch.logspace(-1.0, 1.0, num_freqs)
        self.register_buffer("freqs", freqs)
        self.mlp = nn.Sequential(
            nn.Linear(2 * num_freqs, emb_dim), nn.SiLU(),
            nn.Linear(emb_dim, emb_dim), nn.SiLU())

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        arg = c_noise.reshape(-1, 1) * self.freqs.reshape(1, -1)
        return self.mlp(torch.cat([torch.cos(arg), torch.sin(arg)], dim=1))


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice; the noise embedding sets scale/shift of the second norm."""

    def __init__(self, cin: int, cout: int, emb_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * cout)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        # Zero init: each block starts as (almost) the identity, which keeps deep
        # stacks stable at the start of training.
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = F.silu(self.norm2(h) * (1.0 + scale) + shift)
        h = self.conv2(h)
        return (h + self.skip(x)) * (1.0 / math.sqrt(2.0))


class SelfAttention(nn.Module):
    """Global multi-head self-attention; only used at the lowest resolution."""

    def __init__(self, channels: int, head_dim: int = 64):
        super().__init__()
        self.heads = max(1, channels // head_dim)
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        d = c // self.heads
        qkv = self.qkv(self.norm(x)).reshape(b * self.heads, 3, d, h * w)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        att = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(d), dim=-1)
        out = torch.bmm(v, att.transpose(1, 2)).reshape(b, c, h, w)
        return (x + self.proj(out)) * (1.0 / math.sqrt(2.0))


class EncoderLevel(nn.Module):
    def __init__(self, cin: int, cout: int, num_blocks: int, emb_dim: int, down: bool):
        super().__init__()
        self.blocks = nn.ModuleList(
            [ResBlock(cin if i == 0 else cout, cout, emb_dim) for i in range(num_blocks)])
        self.down = nn.Conv2d(cout, cout, 3, stride=2, padding=1) if down else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> List[torch.Tensor]:
        for blk in self.blocks:
            x = blk(x, emb)
        return [x, self.down(x)]  # (skip, input of the next level)


class DecoderLevel(nn.Module):
    def __init__(self, cin: int, cout: int, num_blocks: int, emb_dim: int, up: bool):
        super().__init__()
        self.has_up = up
        # Nearest upsampling + conv (no transposed conv: avoids checkerboard artefacts).
        self.up = nn.Conv2d(cin, cout, 3, padding=1) if up else nn.Identity()
        self.blocks = nn.ModuleList(
            [ResBlock(2 * cout if i == 0 else cout, cout, emb_dim) for i in range(num_blocks)])

    def forward(self, x: torch.Tensor, skip: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        if self.has_up:
            x = self.up(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        x = torch.cat([x, skip], dim=1)
        for blk in self.blocks:
            x = blk(x, emb)
        return x


class UNet(nn.Module):
    """F(x, c_noise): x [B, in_ch, H, W], c_noise [B] -> [B, out_ch, H, W]."""

    def __init__(self, channels: Sequence[int] = (32, 64, 128), num_blocks: int = 2,
                 emb_dim: int = 128, attention: bool = False, in_ch: int = 2, out_ch: int = 2):
        super().__init__()
        channels = [int(c) for c in channels]
        self.config = dict(channels=channels, num_blocks=num_blocks, emb_dim=emb_dim,
                           attention=attention, in_ch=in_ch, out_ch=out_ch)
        self.downsampling_factor = 2 ** (len(channels) - 1)
        n = len(channels)
        self.embed = NoiseEmbedding(emb_dim)
        self.conv_in = nn.Conv2d(in_ch, channels[0], 3, padding=1)
        self.encoder = nn.ModuleList([
            EncoderLevel(channels[max(i - 1, 0)], channels[i], num_blocks, emb_dim, down=i < n - 1)
            for i in range(n)])
        c = channels[-1]
        self.mid1 = ResBlock(c, c, emb_dim)
        self.attn = SelfAttention(c) if attention else nn.Identity()
        self.mid2 = ResBlock(c, c, emb_dim)
        self.decoder = nn.ModuleList([
            DecoderLevel(channels[min(i + 1, n - 1)], channels[i], num_blocks, emb_dim, up=i < n - 1)
            for i in reversed(range(n))])
        self.norm_out = nn.GroupNorm(_groups(channels[0]), channels[0])
        self.conv_out = nn.Conv2d(channels[0], out_ch, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        emb = self.embed(c_noise)
        h = self.conv_in(x)
        skips: List[torch.Tensor] = []
        for level in self.encoder:
            skip_and_next = level(h, emb)
            skips.append(skip_and_next[0])
            h = skip_and_next[1]
        h = self.mid2(self.attn(self.mid1(h, emb)), emb)
        for level in self.decoder:
            h = level(h, skips.pop(), emb)
        return self.conv_out(F.silu(self.norm_out(h)))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_into_deeper(model: UNet, state: dict, old_levels: int) -> List[str]:
    """Copy the weights of a trained U-Net with `old_levels` levels into `model`, which
    has the same leading channels and more levels (a coarser bottom, optionally with
    attention).  Encoder level i and the middle blocks keep their names; decoder index i
    of the old net becomes i + (new levels - old levels), as the decoder runs from the
    bottom up.  New upsampling convolutions start as the identity on their first
    min(C_in, C_out) channels, so the copied decoder first sees (much of) its old input.
    Returns the names of the tensors that were not copied (new or reshaped)."""
    shift = len(model.config["channels"]) - old_levels
    own = model.state_dict()
    fresh = set(own)
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "decoder":
            parts[1] = str(int(parts[1]) + shift)
        name = ".".join(parts)
        if name in own and own[name].shape == value.shape:
            own[name] = value.clone()
            fresh.discard(name)
    for name in sorted(fresh):
        if name.endswith("up.weight"):
            nn.init.dirac_(own[name])
            own[name.replace("weight", "bias")].zero_()
    model.load_state_dict(own)
    return sorted(fresh)
