"""Heads the template alone does not show: Colin27 with its skull and scalp, and synthetic brains
drawn from the label atlases of mricron-data.

One subject teaches one anatomy and one contrast. To reach heads the prior has never seen, this
sampler mixes four sources, all on the 1 mm grid of `ch2.nii.gz` (181x217x181, MNI space):

- the skull-stripped template of `TemplateSlices` (1 mm and 0.5 mm), as before;
- `ch2.nii.gz`, the same subject with skull, scalp and neck, under the random contrasts of
  `random_intensity_curve`;
- synthetic heads: a label map made of the template's tissue classes (three inside the brain from
  `ch2bet.nii.gz`: CSF, grey and white matter; three outside: bone and air, muscle, fat) split by
  the parcels of one atlas (aal, AICHA, HarvardOxford, JHU white matter, Brodmann, natbrainlab,
  jhu189; each resampled to the grid by nearest neighbour). Every sample draws its own contrast:
  a mean per tissue class from a T1-, T2-, PD- or FLAIR-like ordering or at random, a random offset
  per parcel, the template's own texture mixed in with a random weight, a partial-volume blur for
  a random resolution of 0.5-3 mm per axis, and a little noise.

With `deform` every source is also stretched 0.7-1.4 per axis and warped elastically (see
`SliceSampler`). The Colin27 validation slab (with its 2 mm gap) is zeroed in every volume and
avoided by every patch, as in `TemplateSlices`, so that slab stays a fair comparison.
"""
import math
import os
from typing import List, Tuple

import nibabel as nib
import numpy as np
from scipy import ndimage

from .data import (GAP_MM, TEMPLATE, VAL_Z0, VAL_Z1, SliceRef, SliceSampler, TemplateSlices, _slice_ref,
                   _take, foreground_mask)

TEMPLATES = os.path.dirname(TEMPLATE)
HEAD = os.path.join(TEMPLATES, "ch2.nii.gz")
BRAIN = os.path.join(TEMPLATES, "ch2bet.nii.gz")
ATLASES = ("aal.nii.gz", "AICHAmc.nii.gz", "HarvardOxford-cort-maxprob-thr0-1mm.nii.gz",
           "JHU-WhiteMatter-labels-1mm.nii.gz", "brodmann.nii.gz", "natbrainlab.nii.gz", "jhu189.nii.gz")
# Tissue classes: 0 background, 1-3 CSF / grey / white matter, 4-6 bone and air / muscle / fat.
CLASSES = 7
# Share of each source among the crops: template 1 mm, template 0.5 mm, head with skull, synthetic.
SOURCE_WEIGHTS = (0.2, 0.1, 0.3, 0.4)


def resample_labels(path: str, shape: Tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    """An atlas on the grid (shape, affine), nearest neighbour, through world coordinates."""
    image = nib.load(path)
    labels = np.asarray(image.dataobj)
    to_atlas = np.linalg.inv(image.affine) @ affine
    return ndimage.affine_transform(labels, to_atlas[:3, :3], offset=to_atlas[:3, 3], output_shape=shape,
                                    order=0, mode="constant", cval=0).astype(np.int32)


def kmeans_1d(values: np.ndarray, k: int, iterations: int = 30) -> np.ndarray:
    """Sorted cluster centres of 1-D values (Lloyd's algorithm from quantile starts)."""
    centres = np.quantile(values, (np.arange(k) + 0.5) / k)
    for _ in range(iterations):
        nearest = np.abs(values[:, None] - centres[None, :]).argmin(axis=1)
        centres = np.array([values[nearest == j].mean() if (nearest == j).any() else centres[j] for j in range(k)])
    return np.sort(centres)


def tissue_classes(head: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """The 7 tissue classes of the head volume (brain: a boolean mask of the brain)."""
    fg = ndimage.binary_fill_holes(ndimage.binary_closing(head > 0.03, iterations=3))
    classes = np.zeros(head.shape, np.int32)
    for region, first in ((brain, 1), (fg & ~brain, 4)):
        centres = kmeans_1d(head[region], 3)
        classes[region] = first + np.abs(head[region][:, None] - centres[None, :]).argmin(axis=1)
    return classes


def class_means(rng: np.random.Generator) -> np.ndarray:
    """A mean intensity per tissue class for one sample: a known MR contrast or a random one."""
    means = np.zeros(CLASSES)
    kind = rng.random()
    if kind < 0.25:    # T1: CSF < grey < white
        brain = np.sort(rng.uniform(0.05, 1.0, 3))
    elif kind < 0.5:   # T2: CSF > grey > white
        brain = np.sort(rng.uniform(0.2, 1.0, 3))[::-1]
    elif kind < 0.65:  # PD: all close, CSF a little brighter
        grey = rng.uniform(0.5, 0.9)
        brain = np.array([grey * rng.uniform(1.0, 1.3), grey, grey * rng.uniform(0.75, 0.95)])
    elif kind < 0.8:   # FLAIR: dark CSF, grey above white
        white = rng.uniform(0.3, 0.7)
        brain = np.array([rng.uniform(0.0, 0.15), white * rng.uniform(1.1, 1.5), white])
    else:              # anything
        brain = rng.uniform(0.0, 1.0, 3)
    means[1:4] = brain
    means[4] = rng.uniform(0.0, 0.2)   # cortical bone (and air) give little signal in any sequence
    means[5] = rng.uniform(0.1, 0.8)
    means[6] = rng.uniform(0.3, 1.0)   # fat stays bright unless suppressed
    if rng.random() < 0.2:
        means[6] = rng.uniform(0.0, 0.3)
    return means / max(1e-6, means.max())


class SyntheticHeads(TemplateSlices):
    """The template (`TemplateSlices`), Colin27 with its skull, and synthetic heads from the label
    atlases, with the validation slab held out of all of them (see the module's docstring)."""

    def __init__(self, patch: int = 64, seed: int = 0, coarse_fraction: float = 0.0, whole_upright: bool = False,
                 whole_scales: int = 1, deform: bool = True, atlases=ATLASES):
        super().__init__(patch, seed, TEMPLATE, coarse_fraction, whole_upright, whole_scales, deform)
        image = nib.load(HEAD)
        head = np.asarray(image.dataobj, dtype=np.float32)
        head /= head.max()
        brain = resample_labels(BRAIN, head.shape, image.affine) > 0
        # The template's validation slab (1 mm voxels VAL_Z0..VAL_Z1 of the 0.5 mm file, 2x2x2 means)
        # in this grid's z indices, with the gap, rounded outwards.
        template = nib.load(TEMPLATE).affine
        to_head = np.linalg.inv(image.affine) @ template
        z_ends = [(to_head @ np.array([0.0, 0.0, 2.0 * (z - GAP_MM) + edge, 1.0]))[2]
                  for z, edge in ((VAL_Z0, -0.5), (VAL_Z1 + 2 * GAP_MM, 1.5))]
        z0, z1 = int(math.floor(min(z_ends))), int(math.ceil(max(z_ends))) + 1
        self.held_out_z = (z0, z1)
        head[:, :, z0:z1] = 0.0
        brain[:, :, z0:z1] = False
        classes = tissue_classes(head, brain)
        mean_of_class = np.asarray(ndimage.mean(head, classes, np.arange(CLASSES)))
        self.texture = (head / np.maximum(1e-3, mean_of_class[classes])).astype(np.float32)
        self.texture[classes == 0] = 0.0
        self.head_vol = len(self.train_vols)
        self.train_vols.append(head)
        self.train_masks.append(foreground_mask(head))
        # One label map per atlas: (class, parcel) pairs numbered from 1; parcel 0 = outside the atlas.
        self.labels: List[np.ndarray] = []
        self.label_class: List[np.ndarray] = []
        for name in atlases:
            parcels = resample_labels(os.path.join(TEMPLATES, name), head.shape, image.affine)
            parcels[~brain] = 0
            pairs, numbered = np.unique(classes * 100000 + parcels, return_inverse=True)
            self.labels.append(numbered.reshape(head.shape).astype(np.int32))
            self.label_class.append(pairs // 100000)
        self.synthetic_vols = list(range(len(self.train_vols), len(self.train_vols) + len(atlases)))
        for _ in atlases:  # synthetic slices are made on the fly; the head's mask serves them all
            self.train_vols.append(head)
            self.train_masks.append(self.train_masks[self.head_vol])
        for k in [self.head_vol] + self.synthetic_vols:
            refs = [ref for axis in range(3) for i in range(head.shape[axis]) if not (axis == 2 and z0 <= i < z1)
                    for ref in [_slice_ref(self.train_masks[k], k, axis, i, None if axis == 2 else (z0, z1))]
                    if ref is not None]
            self.slices.append(refs)
        self.template_whole = self.whole_refs
        self.head_whole = [r for r in self.slices[2] if r.axis == 2]
        self.synthetic_whole = [r for group in self.slices[3:] for r in group if r.axis == 2]
        self.whole_refs = self.template_whole + self.head_whole + self.synthetic_whole

    def _source(self) -> int:
        return int(self.rng.choice(len(SOURCE_WEIGHTS), p=SOURCE_WEIGHTS))

    def _group(self) -> List[SliceRef]:
        source = self._source()
        if source < 3:
            return self.slices[source]
        return self.slices[3 + int(self.rng.integers(len(self.synthetic_vols)))]

    def _whole_group(self) -> List[SliceRef]:
        source = self._source()
        return (self.template_whole, self.template_whole, self.head_whole, self.synthetic_whole)[source]

    def _magnitude(self, ref: SliceRef) -> np.ndarray:
        if ref.vol not in self.synthetic_vols:
            return super()._magnitude(ref)
        return self.synthetic_slice(self.synthetic_vols.index(ref.vol), ref.axis, ref.index)

    def synthetic_slice(self, atlas: int, axis: int, index: int) -> np.ndarray:
        """One synthetic slice in a contrast of its own (see the module's docstring)."""
        rng = self.rng
        labels = _take(self.labels[atlas], axis, index)
        label_class = self.label_class[atlas]
        means = class_means(rng)
        spread = rng.uniform(0.0, 0.15)
        lut = means[label_class] * np.exp(rng.normal(0.0, spread, size=len(label_class)))
        lut[label_class == 0] = 0.0
        if rng.random() < 0.15:  # labels with no tissue order at all, as in domain randomisation
            lut = rng.uniform(0.0, 1.0, size=len(label_class)) * (label_class > 0)
        image = lut[labels].astype(np.float32)
        weight = rng.uniform(0.0, 1.0)
        image = image * _take(self.texture, axis, index) ** weight
        # Partial volume and resolution: a blur as wide as a voxel of 0.5-3 mm along each axis.
        resolution = rng.uniform(0.5, 3.0, size=2)
        image = ndimage.gaussian_filter(image, 0.42 * np.maximum(resolution, 0.8))
        if rng.random() < 0.5:
            image = image + rng.uniform(0.0, 0.02) * np.abs(rng.normal(size=image.shape)) * (image > 0.01)
        return np.clip(image / max(1e-6, float(image.max())), 0.0, 1.0).astype(np.float32)
