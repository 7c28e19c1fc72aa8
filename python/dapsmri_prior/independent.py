"""The independent validation set: MR images that the shipped prior never saw, from Debian packages.

Used to validate and tune reconstructions, never to train a prior. Every case is a complex image
(smooth random phase) on a 1 mm grid, zero-padded to a square matrix, with a body mask:

- `t1head-cor-*`, `t1head-ax-*`: a human head T1 with skull (insighttoolkit5-examples,
  KmeansTest_T1UCharRaw.nii.gz, 2 x 2 x 3 mm), coronal slices (its native 2 x 2 mm planes) and
  axial slices (2 x 3 mm planes), upsampled to 1 mm;
- `b0-ax-*`: diffusion b0 brain slices (python3-dipy, S0_10slices.nii.gz, 2 mm), upsampled;
- `abdomen`: an abdominal slice (insighttoolkit5-examples, FatMRISlice.png), off the prior's domain;
- `colin27-*`: the prior's own validation slab (Colin27, held out of training), for comparison.

The upsampling is cubic (scipy.ndimage.zoom, order 3). The brain cases are the ones a median is
taken over; the abdomen and Colin27 are reported apart.
"""
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

from .data import validation_images

EXAMPLES = "/usr/share/doc/insighttoolkit5-examples/examples/Data"
T1_HEAD = os.path.join(EXAMPLES, "KmeansTest_T1UCharRaw.nii.gz")
ABDOMEN = os.path.join(EXAMPLES, "FatMRISlice.png")
DIPY_B0 = "/usr/lib/python3/dist-packages/dipy/data/files/S0_10slices.nii.gz"
PACKAGES = "insighttoolkit5-examples python3-dipy mricron-data"


def body_mask(magnitude):
    """Where the object is: above 6 % of the 99th percentile, closed and hole-filled."""
    inside = magnitude > 0.06 * np.percentile(magnitude, 99)
    inside = ndimage.binary_closing(inside, np.ones((5, 5)), iterations=2)
    inside = ndimage.binary_fill_holes(inside)
    labels, n = ndimage.label(inside)
    if n > 1:  # the largest connected part: drop specks of background
        sizes = ndimage.sum(inside, labels, range(1, n + 1))
        inside = labels == 1 + int(np.argmax(sizes))
    return inside


def smooth_phase(shape, rng, amplitude=np.pi):
    """A random second-order polynomial phase over the field of view, as B0 and receive phase give."""
    y = np.linspace(-1, 1, shape[0])[:, None]
    x = np.linspace(-1, 1, shape[1])[None, :]
    c = rng.uniform(-1, 1, 6) * amplitude / 2
    return c[0] + c[1] * x + c[2] * y + c[3] * x * y + c[4] * x * x + c[5] * y * y


def to_grid(plane, spacing_mm, size):
    """A 2-D magnitude plane with pixel size spacing_mm (rows, columns) -> 1 mm, centred in size x size."""
    plane = np.clip(ndimage.zoom(plane.astype(np.float64), spacing_mm, order=3), 0, None)
    plane = plane[:size, :size]
    out = np.zeros((size, size))
    r0, c0 = (size - plane.shape[0]) // 2, (size - plane.shape[1]) // 2
    out[r0:r0 + plane.shape[0], c0:c0 + plane.shape[1]] = plane
    return out


def _require(path):
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: apt-get install {PACKAGES}")
    return path


def brain_planes():
    """(name, magnitude plane, (row spacing, column spacing) in mm), upright (superior or anterior at the top)."""
    planes = []
    head = np.asarray(nib.load(_require(T1_HEAD)).dataobj, np.float64)  # L, S, A axes (128, 128, 62)
    for a in (24, 30, 36):  # coronal: rows S (top = superior), columns L
        planes.append((f"t1head-cor-{a}", np.flipud(head[:, :, a].T), (2.0, 2.0)))
    for s in (60, 70, 80):  # axial: rows A (top = anterior), columns L
        planes.append((f"t1head-ax-{s}", np.flipud(head[:, s, :].T), (3.0, 2.0)))
    b0 = np.asarray(nib.load(_require(DIPY_B0)).dataobj, np.float64)[..., 0]  # R, A, S (128, 128, 10)
    for s in (3, 5, 7):
        planes.append((f"b0-ax-{s}", np.flipud(b0[:, :, s].T), (2.0, 2.0)))
    return planes


def load_cases(size=256, seed=0, colin27=2, abdomen=True):
    """[{name, image (complex64, size x size), mask (bool), brain (bool)}] in a fixed order."""
    rng = np.random.default_rng(seed)
    cases = []
    for name, plane, spacing in brain_planes():
        cases.append(dict(name=name, magnitude=to_grid(plane, spacing, size), brain=True))
    if abdomen:
        from PIL import Image
        fat = np.asarray(Image.open(_require(ABDOMEN)), np.float64)  # 256 x 256, kept as it is
        cases.append(dict(name="abdomen", magnitude=to_grid(fat, (1.0, 1.0), size),
                          brain=False))
    if colin27 > 0:
        slab = validation_images()
        for i in np.linspace(0, len(slab) - 1, colin27).round().astype(int):
            cases.append(dict(name=f"colin27-{i}", magnitude=to_grid(np.abs(slab[i, 0] + 1j * slab[i, 1]), (1, 1), size),
                              brain=False))
    for case in cases:
        m = case.pop("magnitude")
        m = m / np.percentile(m, 99)
        case["mask"] = body_mask(m)
        case["image"] = (m * np.exp(1j * smooth_phase(m.shape, rng))).astype(np.complex64)
    return cases
