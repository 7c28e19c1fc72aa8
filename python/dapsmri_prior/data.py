"""Training and validation data from the Colin27 T1 template.

The file /usr/share/mricron/templates/ch2better.nii.gz is a skull-stripped
301x370x316 volume at 0.5 mm.  We use it at 1 mm (2x2x2 block mean) and, less
often, at its native 0.5 mm, in all three orientations.

Validation: a contiguous axial slab (15% of z).  The slab plus a 2 mm gap is
zeroed in the training copies of the volumes, so validation voxels are never read
for training, and training patches that would overlap the zeroed band are rejected.

Augmentation (all seeded through one numpy Generator, whose state is checkpointed):
dihedral flips/transposes, rotation +-10 deg, scaling 0.9-1.1, random intensity
curves (gamma, monotone piecewise-linear, occasional inverted "T2-like" contrast),
smooth multiplicative bias field, smooth random phase, random crop position
(zero padding where the patch leaves the slice), p99_magnitude normalisation of
the whole slice, then a global scale factor 0.75-1.33. With `deform` (`train.py --deform`, and
always with `--synthetic`) the scaling is 0.7-1.4 per axis and a smooth elastic warp is added.

Whole-slice views (optional, `coarse_fraction`): a 1 mm axial slice shrunk, after an
anti-aliasing blur, until the whole brain fits in the patch (60-85% of its side), so that
the network sees the global layout of a slice (midline, ventricles, cortex all round)
that no 64x64 crop at full resolution contains. With `whole_upright` these views are only
mirrored left-right (and turned by at most 10 deg): two layouts to learn instead of eight.
With `whole_scales` = n the brain fills 60-85% of the patch, or half, ..., 1/2^(n-1) of that,
so that a net trained on larger patches keeps the layout it learnt at the smaller size.

Your own images (`ImageSlices`, `train.py --data`): NIfTI files, 2D or 3D, magnitude or
complex (the magnitude is used), taken slice by slice along their last axis, and fastMRI
HDF5 files (their `reconstruction_rss` or `reconstruction_esc` images, slice by slice), at
their own pixel size, with the same augmentation and whole-slice views. No validation slab is
held out of them: keep your validation images in other files.
"""
import glob
import math
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import nibabel as nib
import numpy as np
from scipy import ndimage

TEMPLATE = "/usr/share/mricron/templates/ch2better.nii.gz"

# Validation slab in 1 mm voxel coordinates (axial index z, volume is 150x185x158 at 1 mm).
VAL_Z0, VAL_Z1 = 84, 108          # 24 slices = 15% of 158
GAP_MM = 2                        # extra training exclusion on both sides of the slab
P_NATIVE = 0.3                    # probability of drawing from the 0.5 mm volume
MIN_FOREGROUND = 0.08             # skip slices whose brain mask covers less than this


def p99_normalise(z: np.ndarray) -> Tuple[np.ndarray, float]:
    """Divide a complex image by the 99th percentile of its magnitude (the contract)."""
    p = float(np.percentile(np.abs(z), 99.0))
    return z / max(p, 1e-12), p


def load_volumes(path: str = TEMPLATE) -> Tuple[np.ndarray, np.ndarray]:
    """(1 mm volume, 0.5 mm volume), both float32 in [0, 1], cropped to even sizes."""
    v = np.asarray(nib.load(path).dataobj, dtype=np.float32)
    v = v[: v.shape[0] // 2 * 2, : v.shape[1] // 2 * 2, : v.shape[2] // 2 * 2]
    v /= v.max()
    s = v.shape
    v1 = v.reshape(s[0] // 2, 2, s[1] // 2, 2, s[2] // 2, 2).mean(axis=(1, 3, 5))
    return np.ascontiguousarray(v1), v


def brain_mask(vol: np.ndarray) -> np.ndarray:
    """Soft brain mask (closed, holes filled, slightly blurred); includes dark CSF."""
    m = ndimage.binary_closing(vol > 0.03, iterations=2)
    for z in range(m.shape[2]):
        m[:, :, z] = ndimage.binary_fill_holes(m[:, :, z])
    return ndimage.gaussian_filter(m.astype(np.float32), 1.0)


def foreground_mask(vol: np.ndarray) -> np.ndarray:
    """`brain_mask` slice by slice: images with few slices, or objects that reach the edge
    of the volume, must not be eroded away by the 3D closing."""
    m = np.empty(vol.shape, np.float32)
    for z in range(vol.shape[2]):
        s = ndimage.binary_fill_holes(ndimage.binary_closing(vol[:, :, z] > 0.03, iterations=2))
        m[:, :, z] = ndimage.gaussian_filter(s.astype(np.float32), 1.0)
    return m


@dataclass
class SliceRef:
    vol: int                       # index into train_vols (template: 0 = 1 mm, 1 = 0.5 mm)
    axis: int                      # slicing axis of the volume (2 = axial)
    index: int
    bbox: Tuple[int, int, int, int]  # foreground bbox (r0, r1, c0, c1) for patch centres
    forbidden: Optional[Tuple[int, int]]  # zeroed column band (sagittal/coronal) or None


def _take(vol: np.ndarray, axis: int, index: int) -> np.ndarray:
    # For axes 0 and 1 the remaining last axis is z, i.e. the slab lies along columns.
    return np.take(vol, index, axis=axis)


def _poly2(rows: np.ndarray, cols: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return (coef[0] + coef[1] * rows + coef[2] * cols + coef[3] * rows * rows
            + coef[4] * rows * cols + coef[5] * cols * cols)


def random_intensity_curve(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random contrast so that T2/PD-like images are not foreign to the prior."""
    u = rng.random()
    if u < 0.2:
        # Inversion-like (T2-ish): CSF bright, white matter dark; background stays dark.
        a = rng.uniform(0.05, 0.3)
        out = mask * (a + (1.0 - a) * (1.0 - np.clip(img, 0, 1)) ** rng.uniform(0.6, 1.6))
    elif u < 0.6:
        out = np.clip(img, 0, 1) ** rng.uniform(0.6, 1.6)
    else:
        # Monotone piecewise-linear curve through 6 knots with random increments.
        knots_x = np.linspace(0.0, 1.0, 6)
        inc = rng.dirichlet(np.full(5, 2.0))
        knots_y = np.concatenate([[0.0], np.cumsum(inc)])
        out = np.interp(img, knots_x, knots_y)
    return out.astype(np.float32)


ELASTIC_MAX = 3.0  # largest elastic displacement, in patch pixels


def elastic_displacement(p: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random displacement field [2, p, p] in patch pixels: random vectors on a 5x5 grid,
    cubic interpolation, scaled so that the largest displacement is up to ELASTIC_MAX."""
    coarse = rng.normal(0.0, 1.0, size=(2, 5, 5))
    grid = np.linspace(0.0, 4.0, p)
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    field = np.stack([ndimage.map_coordinates(c, [rows, cols], order=3, mode="nearest") for c in coarse])
    return field * (rng.uniform(0.0, ELASTIC_MAX) / max(1e-6, float(np.abs(field).max())))


class SliceSampler:
    """Draws augmented, normalised complex patches [B, 2, P, P] (real, imaginary) from the
    slices listed by a subclass: `train_vols` / `train_masks` (float32, [0, 1]), `slices`
    (groups of SliceRef; `_group` picks one per sample) and `whole_refs` (slices for the
    whole-slice views)."""

    def __init__(self, patch: int, seed: int, coarse_fraction: float, whole_upright: bool, whole_scales: int,
                 deform: bool = False):
        self.patch = patch
        self.deform = deform                # anisotropic scaling 0.7-1.4 and an elastic warp
        self.coarse_fraction = coarse_fraction
        self.whole_upright = whole_upright  # whole-slice views never transposed or flipped top to bottom
        self.whole_scales = whole_scales    # whole-slice views also at 1/2, 1/4, ... of the usual size
        self.rng = np.random.default_rng(seed)
        self.train_vols: List[np.ndarray] = []
        self.train_masks: List[np.ndarray] = []
        self.slices: List[List[SliceRef]] = []
        self.whole_refs: List[SliceRef] = []

    def _group(self) -> List[SliceRef]:
        return self.slices[0]

    def _whole_group(self) -> List[SliceRef]:
        return self.whole_refs

    def _magnitude(self, ref: SliceRef) -> np.ndarray:
        """The slice's magnitude image under a random contrast."""
        img = _take(self.train_vols[ref.vol], ref.axis, ref.index)
        mask = _take(self.train_masks[ref.vol], ref.axis, ref.index)
        return random_intensity_curve(img, mask, self.rng)

    def num_slices(self) -> Tuple[int, ...]:
        return tuple(len(group) for group in self.slices)

    # -- one sample ------------------------------------------------------------
    def _transform(self, ref: SliceRef, whole: bool = False) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Random (matrix, centre) mapping patch coords to slice coords, or None if the
        patch would touch the zeroed validation band. `whole`: the brain fills the patch."""
        rng, p = self.rng, self.patch
        th = math.radians(rng.uniform(-10.0, 10.0))
        if self.deform:  # heads differ in shape, not only in size: stretch each axis on its own
            s = np.exp(rng.uniform(math.log(0.7), math.log(1.4), size=2))
        else:
            s = rng.uniform(0.9, 1.1)
        rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]]) / s
        dihedral = np.diag(rng.choice([-1.0, 1.0], size=2))
        if whole and self.whole_upright:
            dihedral[1, 1] = 1.0  # rows run left-right: a mirror image of a brain is still one
        elif rng.random() < 0.5:
            dihedral = dihedral[::-1]
        a = rot @ dihedral
        r0, r1, c0, c1 = ref.bbox
        if whole:
            extent = max(r1 - r0, c1 - c0)
            fill = rng.uniform(0.6, 0.85)
            if self.whole_scales > 1:  # drawn only then: the stream of one scale stays as it was
                fill /= 2 ** int(rng.integers(self.whole_scales))
            a = a * (extent / (p * fill))
            jitter = 0.03 * extent * rng.uniform(-1.0, 1.0, size=2)
            return a, np.array([(r0 + r1) / 2.0, (c0 + c1) / 2.0]) + jitter
        centre = np.array([rng.uniform(r0, r1), rng.uniform(c0, c1)])
        if ref.forbidden is not None:
            half = (p - 1) / 2.0
            corners = np.array([[-half, -half], [-half, half], [half, -half], [half, half]])
            cols = (corners @ a.T)[:, 1] + centre[1]
            margin = 1 + (math.ceil(ELASTIC_MAX * np.abs(a).sum(axis=1).max()) if self.deform else 0)
            lo, hi = math.floor(cols.min()) - margin, math.ceil(cols.max()) + margin
            if hi >= ref.forbidden[0] and lo < ref.forbidden[1]:
                return None
        return a, centre

    def sample_one(self) -> Tuple[np.ndarray, bool]:
        """One complex image [2, P, P] and whether it is a whole-slice view."""
        rng, p = self.rng, self.patch
        whole = self.coarse_fraction > 0.0 and rng.random() < self.coarse_fraction
        while True:
            refs = self._whole_group() if whole else self._group()
            ref = refs[rng.integers(len(refs))]
            for _ in range(20):
                tr = self._transform(ref, whole)
                if tr is not None:
                    break
            if tr is not None:
                break
        a, centre = tr
        mag = self._magnitude(ref)

        # Smooth bias field on the whole slice (normalised coords in [-1, 1]).
        h, w = mag.shape
        sc = 2.0 / max(h, w)
        rows = (np.arange(h, dtype=np.float32) - h / 2.0)[:, None] * sc
        cols = (np.arange(w, dtype=np.float32) - w / 2.0)[None, :] * sc
        bias_coef = rng.normal(0.0, 0.15, size=6)
        bias_coef[0] = 0.0
        mag = mag * np.exp(_poly2(rows, cols, bias_coef)).astype(np.float32)
        p99 = max(float(np.percentile(mag, 99.0)), 1e-6)  # magnitude is phase-independent
        zoom = math.sqrt(abs(np.linalg.det(a)))
        if zoom > 1.2:  # shrinking: blur first so the resampled patch does not alias
            mag = ndimage.gaussian_filter(mag, 0.45 * zoom)

        # Resample the patch: slice coords = centre + A (patch coords - patch centre).
        half = (p - 1) / 2.0
        offset = centre - a @ np.array([half, half])
        ii, jj = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
        src = np.stack([ii.ravel(), jj.ravel()]).astype(np.float64)
        if self.deform:
            src = src + elastic_displacement(p, rng).reshape(2, -1)
            src = a @ src + offset[:, None]
            patch_mag = ndimage.map_coordinates(mag, src, order=1, mode="constant", cval=0.0).reshape(p, p)
        else:  # the shipped chain's exact arithmetic
            patch_mag = ndimage.affine_transform(mag, a, offset=offset, output_shape=(p, p),
                                                 order=1, mode="constant", cval=0.0)
            src = a @ src + offset[:, None]

        # Smooth phase in slice coordinates: quadratic polynomial + optional coarse field.
        pr = ((src[0] - h / 2.0) * sc).reshape(p, p)
        pc = ((src[1] - w / 2.0) * sc).reshape(p, p)
        coef = rng.normal(0.0, 1.0, size=6) * rng.uniform(0.0, 3.0)
        coef[0] = rng.uniform(-math.pi, math.pi)
        phase = _poly2(pr, pc, coef)
        if rng.random() < 0.5:
            coarse = rng.normal(0.0, rng.uniform(0.0, 1.5), size=(5, 5))
            phase = phase + ndimage.map_coordinates(
                coarse, [(pr + 1.0) * 2.0, (pc + 1.0) * 2.0], order=3, mode="nearest")

        scale = math.exp(rng.uniform(math.log(0.75), math.log(1.33)))
        z = patch_mag * (scale / p99)
        return np.stack([z * np.cos(phase), z * np.sin(phase)]).astype(np.float32), whole

    def sample(self, batch: int) -> Tuple[np.ndarray, np.ndarray]:
        """Images [B, 2, P, P] and a bool [B] marking the whole-slice views."""
        images, whole = zip(*(self.sample_one() for _ in range(batch)))
        return np.stack(images), np.array(whole)


class TemplateSlices(SliceSampler):
    """The Colin27 template at 1 mm and 0.5 mm, three orientations, validation slab held out."""

    def __init__(self, patch: int = 64, seed: int = 0, path: str = TEMPLATE, coarse_fraction: float = 0.0,
                 whole_upright: bool = False, whole_scales: int = 1, deform: bool = False):
        super().__init__(patch, seed, coarse_fraction, whole_upright, whole_scales, deform)
        v1, v05 = load_volumes(path)
        for k, (v, f) in enumerate(((v1, 1), (v05, 2))):
            z0, z1 = f * (VAL_Z0 - GAP_MM), f * (VAL_Z1 + GAP_MM)
            v = v.copy()
            v[:, :, z0:z1] = 0.0  # validation slab (+gap) never reaches training
            m = brain_mask(v)
            self.train_vols.append(v)
            self.train_masks.append(m)
            refs: List[SliceRef] = []
            for axis in range(3):
                for i in range(v.shape[axis]):
                    if axis == 2 and z0 <= i < z1:
                        continue
                    ref = _slice_ref(m, k, axis, i, None if axis == 2 else (z0, z1))
                    if ref is not None:
                        refs.append(ref)
            self.slices.append(refs)
        # Whole-slice views: axial 1 mm slices only (sagittal and coronal ones cross the slab).
        self.whole_refs = [r for r in self.slices[0] if r.axis == 2]

    def _group(self) -> List[SliceRef]:
        return self.slices[1 if self.rng.random() < P_NATIVE else 0]


IMAGE_PATTERNS = ("*.nii", "*.nii.gz", "*.h5")


def image_files(paths: Sequence[str]) -> List[str]:
    """The image files named, folders expanded to the NIfTI and HDF5 files inside them."""
    files: List[str] = []
    for path in paths:
        if os.path.isdir(path):
            inside = sorted(f for pattern in IMAGE_PATTERNS for f in glob.glob(os.path.join(path, pattern)))
            if not inside:
                raise ValueError(f"{path}: no .nii, .nii.gz or .h5 files in this folder")
            files += inside
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise ValueError(f"{path}: no such file or folder")
    return files


class ImageSlices(SliceSampler):
    """Your own images: NIfTI files (2D or 3D, magnitude or complex) or fastMRI HDF5 files,
    each scaled to a maximum of 1 and used slice by slice at its own pixel size."""

    def __init__(self, paths: Sequence[str], patch: int = 64, seed: int = 0, coarse_fraction: float = 0.0,
                 whole_upright: bool = False, whole_scales: int = 1, deform: bool = False):
        super().__init__(patch, seed, coarse_fraction, whole_upright, whole_scales, deform)
        self.files = image_files(paths)
        refs: List[SliceRef] = []
        for k, path in enumerate(self.files):
            v = _read_image(path)
            m = foreground_mask(v)
            self.train_vols.append(v)
            self.train_masks.append(m)
            for i in range(v.shape[2]):
                ref = _slice_ref(m, k, 2, i, None)
                if ref is not None:
                    refs.append(ref)
        if not refs:
            raise ValueError(f"no slice of {len(self.files)} file(s) has {MIN_FOREGROUND:.0%} foreground "
                             "(pixels above 3% of the file's maximum): are these images empty?")
        self.slices.append(refs)
        self.whole_refs = refs


def _read_fastmri(path: str) -> np.ndarray:
    """The reconstructed images of a fastMRI HDF5 file, [slices, H, W] -> [H, W, slices]."""
    try:
        import h5py
    except ImportError:
        raise ValueError(f"{path}: reading HDF5 files needs h5py (Debian: python3-h5py)") from None
    try:
        with h5py.File(path, "r") as f:
            key = next((k for k in ("reconstruction_rss", "reconstruction_esc") if k in f), None)
            if key is None:
                raise ValueError(f"{path}: no reconstruction_rss or reconstruction_esc images (fastMRI "
                                 "test files hold k-space only): reconstruct them and write NIfTI files")
            v = np.asarray(f[key])
    except OSError as e:
        raise ValueError(f"{path}: not a readable HDF5 file ({e})") from None
    if v.ndim != 3:
        raise ValueError(f"{path}: {key} has shape {v.shape}; fastMRI stores [slices, H, W]")
    return np.moveaxis(v, 0, -1)


def _read_image(path: str) -> np.ndarray:
    """A NIfTI or fastMRI image as a float32 [X, Y, Z] magnitude volume scaled to a maximum of 1."""
    if path.endswith(".h5"):
        v = _read_fastmri(path)
    else:
        try:
            v = np.asarray(nib.load(path).dataobj)
        except Exception as e:  # nibabel raises several types for files that are not NIfTI
            raise ValueError(f"{path}: not a readable NIfTI image ({e})") from None
    while v.ndim > 3 and v.shape[-1] == 1:
        v = v[..., 0]
    if v.ndim == 2:
        v = v[:, :, None]
    if v.ndim != 3:
        raise ValueError(f"{path}: a {v.ndim}D image of shape {v.shape}; give 2D or 3D images "
                         "(split time series or echoes into separate files)")
    v = np.abs(v).astype(np.float32)
    if not np.isfinite(v).all():
        raise ValueError(f"{path}: contains NaN or Inf")
    peak = float(v.max())
    if peak <= 0.0:
        raise ValueError(f"{path}: the image is all zero")
    return v / peak


def _slice_ref(mask: np.ndarray, vol: int, axis: int, index: int,
               forbidden: Optional[Tuple[int, int]]) -> Optional[SliceRef]:
    """The slice with its foreground box, or None when it holds too little foreground."""
    ms = _take(mask, axis, index) > 0.5
    if ms.mean() < MIN_FOREGROUND:
        return None
    rr, cc = np.nonzero(ms)
    return SliceRef(vol, axis, index, (rr.min(), rr.max() + 1, cc.min(), cc.max() + 1), forbidden)


def validation_images(path: str = TEMPLATE, multiple: int = 8, seed: int = 1234) -> np.ndarray:
    """Held-out axial slices z in [VAL_Z0, VAL_Z1) at 1 mm as [N, 2, H, W] float32:
    original T1 contrast, a fixed seeded smooth phase per slice, p99-normalised,
    zero-padded (centred) to a multiple of `multiple`."""
    v1, _ = load_volumes(path)
    rng = np.random.default_rng(seed)
    h, w = v1.shape[0], v1.shape[1]
    H, W = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    sc = 2.0 / max(h, w)
    rows = (np.arange(h) - h / 2.0)[:, None] * sc
    cols = (np.arange(w) - w / 2.0)[None, :] * sc
    out = []
    for zi in range(VAL_Z0, VAL_Z1):
        coef = rng.normal(0.0, 1.0, size=6)
        coef[0] = rng.uniform(-math.pi, math.pi)
        z, _ = p99_normalise(v1[:, :, zi] * np.exp(1j * _poly2(rows, cols, coef)))
        pad = np.zeros((H, W), np.complex64)
        r0, c0 = (H - h) // 2, (W - w) // 2
        pad[r0:r0 + h, c0:c0 + w] = z
        out.append(np.stack([pad.real, pad.imag]))
    return np.stack(out).astype(np.float32)
