"""Diffusion-prior (DAPS) MRI reconstruction, from Python.

numpy arrays in and out; the work runs in the DAPSMRI C++ library (LibTorch prior, FFTW
operator) with the GIL released, so other Python threads keep running.

    import dapsmri
    raw = dapsmri.read_ismrmrd("scan.h5")                    # RawData: slices, noise, header
    volume = dapsmri.reconstruct_ismrmrd("scan.h5", seed=1)  # what daps-recon scan.h5 writes
    image = dapsmri.reconstruct(kspace, mask, coil_maps, steps=20).mean
    low = dapsmri.measure(image, "super-resolution", factor=4)       # restoration tasks too
    high = abs(dapsmri.restore(low, "super-resolution", factor=4).mean)

The DAPS settings are keywords named after daps-recon's flags (steps, sigma_max, mcmc, tau,
samples, seed, ...: see parameters()), applied over a preset ("mri" by default, or
"reference"). Errors raise ValueError (bad input: the message says what to pass instead) or
RuntimeError, with the text daps-recon prints; a progress callback that returns False cancels
a run with Cancelled.
"""

from ._dapsmri import (
    Cancelled,
    Prior,
    RawData,
    RawSlice,
    Reconstruction,
    VolumeReconstruction,
    box_mask,
    gaussian_blur_kernel,
    load_prior,
    measure,
    motion_blur_kernel,
    parameters,
    random_mask,
    read_ismrmrd,
    reconstruct,
    reconstruct_ismrmrd,
    restore,
    zero_filled,
)

__all__ = [
    "Cancelled",
    "Prior",
    "RawData",
    "RawSlice",
    "Reconstruction",
    "VolumeReconstruction",
    "box_mask",
    "gaussian_blur_kernel",
    "load_prior",
    "measure",
    "motion_blur_kernel",
    "parameters",
    "random_mask",
    "read_ismrmrd",
    "reconstruct",
    "reconstruct_ismrmrd",
    "restore",
    "zero_filled",
]

for _name in __all__:  # dapsmri.Prior rather than dapsmri._dapsmri.Prior in reprs and help()
    try:
        globals()[_name].__module__ = __name__
    except (AttributeError, TypeError):
        pass
del _name
