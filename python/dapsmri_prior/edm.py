"""EDM preconditioning (Karras et al. 2022), training loss and weight EMA.

The exported prior is `EDMDenoiser`:  forward(x [B,2,H,W], sigma [B]) -> D(x; sigma).
"""
import copy
from typing import Tuple, Union

import torch
from torch import nn

SIGMA_DATA = 0.5
SIGMA_MIN = 0.002
SIGMA_MAX = 80.0
P_MEAN = -1.2
P_STD = 1.2


def preconditioning(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA
                    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """c_skip, c_out, c_in, c_noise for a tensor of noise levels (same shape as sigma)."""
    s2 = sigma * sigma
    d2 = sigma_data * sigma_data
    c_skip = d2 / (s2 + d2)
    c_out = sigma * sigma_data / torch.sqrt(s2 + d2)
    c_in = 1.0 / torch.sqrt(s2 + d2)
    c_noise = torch.log(sigma) / 4.0
    return c_skip, c_out, c_in, c_noise


class EDMDenoiser(nn.Module):
    """D(x; sigma) = c_skip x + c_out F(c_in x, c_noise).  This is the prior contract."""

    def __init__(self, net: nn.Module, sigma_data: float = SIGMA_DATA):
        super().__init__()
        self.net = net
        self.sigma_data = sigma_data

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        sigma = sigma.to(x.dtype).reshape(-1)
        c_skip, c_out, c_in, c_noise = preconditioning(sigma, self.sigma_data)
        c_skip = c_skip.reshape(-1, 1, 1, 1)
        c_out = c_out.reshape(-1, 1, 1, 1)
        c_in = c_in.reshape(-1, 1, 1, 1)
        return c_skip * x + c_out * self.net(c_in * x, c_noise)


def sample_sigma(batch: int, generator: torch.Generator, p_mean: Union[float, torch.Tensor] = P_MEAN,
                 p_std: Union[float, torch.Tensor] = P_STD) -> torch.Tensor:
    """Log-normal training noise levels: ln(sigma) ~ N(p_mean, p_std^2); p_mean and p_std
    may be tensors [batch] (one distribution per image)."""
    return torch.exp(p_mean + p_std * torch.randn(batch, generator=generator))


def loss_weight(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA) -> torch.Tensor:
    """lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2: unit effective loss weight."""
    return (sigma ** 2 + sigma_data ** 2) / (sigma * sigma_data) ** 2


def edm_loss(denoiser: EDMDenoiser, x: torch.Tensor, sigma: torch.Tensor,
             noise: torch.Tensor) -> torch.Tensor:
    """Weighted denoising loss for clean images x, noise levels sigma [B], unit noise."""
    s = sigma.reshape(-1, 1, 1, 1)
    d = denoiser(x + s * noise, sigma)
    return (loss_weight(s) * (d - x) ** 2).mean()


class EMA:
    """Exponential moving average of the weights, with the usual short warm-up
    (decay grows as (1+n)/(10+n)) so early averages are not dominated by the init."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.num_updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.num_updates += 1
        d = min(self.decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))
        for pe, p in zip(self.model.parameters(), model.parameters()):
            pe.mul_(d).add_(p.detach(), alpha=1.0 - d)
        for be, b in zip(self.model.buffers(), model.buffers()):
            be.copy_(b)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "num_updates": self.num_updates,
                "model": self.model.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.decay = state["decay"]
        self.num_updates = state["num_updates"]
        self.model.load_state_dict(state["model"])

