"""Diffusion (EDM) denoiser priors for DAPS MRI reconstruction.

Modules: unet (network), edm (preconditioning, loss, EMA), data (Colin27 patches),
train, export (TorchScript + dapsmri.json), evaluate (validation PSNR).
"""
