"""Tests of the prior package.  Run either way:

  /usr/bin/python3 -m pytest python/tests
  /usr/bin/python3 python/tests/test_prior.py
"""
import json
import math
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from dapsmri_prior import edm  # noqa: E402
from dapsmri_prior.export import METADATA_FILE, make_metadata, save_prior, verify_prior  # noqa: E402
from dapsmri_prior.unet import UNet, count_parameters, load_into_deeper  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def small_net(seed=0):
    torch.manual_seed(seed)
    net = UNet(channels=(8, 8, 16), num_blocks=1, emb_dim=16)
    with torch.no_grad():  # break the zero init so F is not identically 0
        for p in net.parameters():
            if p.dim() > 1 and not p.abs().sum() > 0:
                p.normal_(0.0, 0.1)
    return net.eval()


def test_preconditioning_formulas():
    sd = 0.5
    for s in (0.002, 0.1, 0.5, 1.0, 80.0):
        c_skip, c_out, c_in, c_noise = (float(v) for v in edm.preconditioning(torch.tensor(s, dtype=torch.float64), sd))
        assert math.isclose(c_skip, sd ** 2 / (s ** 2 + sd ** 2), rel_tol=1e-12)
        assert math.isclose(c_out, s * sd / math.sqrt(s ** 2 + sd ** 2), rel_tol=1e-12)
        assert math.isclose(c_in, 1.0 / math.sqrt(s ** 2 + sd ** 2), rel_tol=1e-12)
        assert math.isclose(c_noise, math.log(s) / 4.0, rel_tol=1e-12)
        # EDM identities: unit-variance network input and target for data of std sd.
        assert math.isclose(c_in ** 2 * (sd ** 2 + s ** 2), 1.0, rel_tol=1e-12)
        assert math.isclose(c_skip ** 2 * s ** 2 + (1 - c_skip) ** 2 * sd ** 2, c_out ** 2, rel_tol=1e-9)
        # lambda(sigma) = 1 / c_out^2
        assert math.isclose(float(edm.loss_weight(torch.tensor(s, dtype=torch.float64))), 1.0 / c_out ** 2, rel_tol=1e-12)


class _Probe(torch.nn.Module):
    """F that records its inputs and returns a constant, to check the wrapper's algebra."""

    def forward(self, x, c_noise):
        self.last = (x.clone(), c_noise.clone())
        return torch.ones_like(x) * 3.0


def test_edm_wrapper_applies_preconditioning():
    probe = _Probe()
    d = edm.EDMDenoiser(probe)
    x = torch.randn(3, 2, 8, 8)
    sigma = torch.tensor([0.01, 1.0, 20.0])
    out = d(x, sigma)
    c_skip, c_out, c_in, c_noise = edm.preconditioning(sigma)
    r = lambda v: v.reshape(-1, 1, 1, 1)  # noqa: E731
    assert torch.allclose(out, r(c_skip) * x + r(c_out) * 3.0, atol=1e-6)
    assert torch.allclose(probe.last[0], r(c_in) * x)
    assert torch.allclose(probe.last[1], c_noise)


def test_sigma_sampling_is_lognormal():
    g = torch.Generator().manual_seed(0)
    ls = torch.log(edm.sample_sigma(200000, g))
    assert abs(float(ls.mean()) - edm.P_MEAN) < 0.02 and abs(float(ls.std()) - edm.P_STD) < 0.02
    ls = torch.log(edm.sample_sigma(200000, g, p_mean=-0.4, p_std=1.0))
    assert abs(float(ls.mean()) + 0.4) < 0.02 and abs(float(ls.std()) - 1.0) < 0.02
    means, stds = torch.tensor([-1.2, 0.5]).repeat(100000), torch.tensor([1.2, 1.5]).repeat(100000)
    ls = torch.log(edm.sample_sigma(200000, g, p_mean=means, p_std=stds))  # one distribution per image
    for k, (m, sd) in enumerate(((-1.2, 1.2), (0.5, 1.5))):
        assert abs(float(ls[k::2].mean()) - m) < 0.02 and abs(float(ls[k::2].std()) - sd) < 0.02


def test_ema_warmup_and_decay():
    net = torch.nn.Linear(2, 2)
    ema = edm.EMA(net, decay=0.9)
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(net)  # first update: decay (1+1)/(10+1)
    d = 2.0 / 11.0
    expect = d * (net.weight - 1.0) + (1 - d) * net.weight
    assert torch.allclose(ema.model.weight, expect)


def test_unet_is_fully_convolutional_and_scriptable():
    net = small_net()
    assert net.downsampling_factor == 4
    scripted = torch.jit.script(edm.EDMDenoiser(net).eval())
    with torch.no_grad():
        for h, w in ((32, 32), (48, 24), (20, 36)):
            x = torch.randn(2, 2, h, w)
            y = scripted(x, torch.tensor([0.2, 3.0]))
            assert y.shape == x.shape and torch.isfinite(y).all()


def test_default_unet_size():
    n = count_parameters(UNet())
    assert 1_500_000 <= n <= 4_000_000, n


def test_export_round_trip_with_metadata():
    net = small_net()
    meta = make_metadata(net, "test", "round trip")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "prior.pt")
        save_prior(net, path, meta)
        loaded_meta = verify_prior(path)  # also checks 64x64 and 96x80 outputs
        assert loaded_meta == json.loads(json.dumps(meta))
        assert loaded_meta["parameters"] == count_parameters(net)
        assert loaded_meta["downsampling_factor"] == 4
        assert loaded_meta["normalization"] == "p99_magnitude"
        extra = {METADATA_FILE: ""}
        m = torch.jit.load(path, _extra_files=extra)
        x, s = torch.randn(1, 2, 32, 40), torch.tensor([0.7])
        with torch.no_grad():
            assert torch.allclose(m(x, s), edm.EDMDenoiser(net)(x, s), atol=1e-5)


def test_test_models_follow_their_contracts():
    d = os.path.join(REPO, "models", "test")
    if not os.path.exists(os.path.join(d, "tiny_prior.pt")):
        return  # generated by python/make_tiny_model.py
    meta = verify_prior(os.path.join(d, "tiny_prior.pt"))
    assert meta["downsampling_factor"] == 4 and meta["parameters"] < 20000
    assert os.path.getsize(os.path.join(d, "tiny_prior.pt")) < 200_000
    extra = {METADATA_FILE: ""}
    torch.jit.load(os.path.join(d, "no_metadata.pt"), _extra_files=extra)
    assert not extra[METADATA_FILE]  # absent: stays empty
    extra = {METADATA_FILE: ""}
    bad = torch.jit.load(os.path.join(d, "wrong_channels.pt"), _extra_files=extra)
    assert json.loads(extra[METADATA_FILE])["channels"] == 2
    assert bad(torch.zeros(1, 2, 8, 8), torch.ones(1)).shape[1] == 1


def test_p99_normalisation():
    from dapsmri_prior.data import p99_normalise
    z = np.exp(1j * np.linspace(0, 6, 1000)) * np.linspace(0, 10, 1000)
    zn, p = p99_normalise(z)
    assert math.isclose(np.percentile(np.abs(zn), 99), 1.0, rel_tol=1e-9)


def test_whole_slice_views_fit_the_patch():
    from dapsmri_prior.data import TemplateSlices, VAL_Z0, VAL_Z1, GAP_MM
    d = TemplateSlices(patch=64, seed=1, coarse_fraction=1.0)
    assert d.whole_refs and all(r.axis == 2 and r.vol == 0 for r in d.whole_refs)
    assert not any(VAL_Z0 - GAP_MM <= r.index < VAL_Z1 + GAP_MM for r in d.whole_refs)  # never the slab
    images, whole = d.sample(6)
    assert whole.all()
    mag = np.sqrt((images ** 2).sum(1))
    for m in mag:
        ring = np.concatenate([m[:2].ravel(), m[-2:].ravel(), m[:, :2].ravel(), m[:, -2:].ravel()])
        assert ring.mean() < 0.05 * m[16:48, 16:48].mean(), "the whole brain should lie inside the patch"
        assert (m > 0.05).mean() > 0.1, "the brain should fill a good part of the patch"
    mixed = TemplateSlices(patch=32, seed=2, coarse_fraction=0.5)
    images, whole = mixed.sample(40)
    assert images.shape == (40, 2, 32, 32) and 5 < whole.sum() < 35  # both kinds, flagged


def test_upright_whole_slice_views_are_only_mirrored_left_right():
    from dapsmri_prior.data import TemplateSlices

    def layouts(data):
        seen = set()
        for _ in range(200):
            a, _ = data._transform(data.whole_refs[0], whole=True)
            unit = a / math.sqrt(abs(np.linalg.det(a)))  # a turn of at most 10 degrees times a flip
            seen.add(tuple(np.round(unit).astype(int).ravel()))
        return seen

    upright = TemplateSlices(patch=32, seed=4, coarse_fraction=1.0, whole_upright=True)
    assert layouts(upright) == {(1, 0, 0, 1), (-1, 0, 0, 1)}
    assert len(layouts(TemplateSlices(patch=32, seed=4, coarse_fraction=1.0))) == 8  # all turns and flips


def test_whole_slice_views_at_two_scales():
    from dapsmri_prior.data import TemplateSlices

    def fills(data):  # share of the patch side the brain's extent takes, times the random scaling
        ref = data.whole_refs[0]
        extent = max(ref.bbox[1] - ref.bbox[0], ref.bbox[3] - ref.bbox[2])
        return np.array([extent / (data.patch * math.sqrt(abs(np.linalg.det(data._transform(ref, whole=True)[0]))))
                         for _ in range(300)])

    one = fills(TemplateSlices(patch=128, seed=5, coarse_fraction=1.0))
    assert one.min() > 0.6 * 0.9 and one.max() < 0.85 * 1.1  # 60-85 %, scaled by 0.9-1.1
    two = fills(TemplateSlices(patch=128, seed=5, coarse_fraction=1.0, whole_scales=2))
    small, large = two[two < 0.5], two[two >= 0.5]
    assert small.min() > 0.3 * 0.9 and small.max() < 0.425 * 1.1 and large.min() > 0.6 * 0.9
    assert 100 < len(small) < 200  # half of the views at half the size


_SYNTHETIC = {}


def synthetic_heads(**kwargs):
    """One SyntheticHeads per set of arguments (building one takes a few seconds per atlas)."""
    from dapsmri_prior.synthetic import SyntheticHeads
    key = tuple(sorted(kwargs.items()))
    if key not in _SYNTHETIC:
        _SYNTHETIC[key] = SyntheticHeads(patch=32, seed=6, atlases=("aal.nii.gz", "jhu189.nii.gz"), **kwargs)
    return _SYNTHETIC[key]


def test_synthetic_heads_hold_out_the_validation_slab():
    import nibabel as nib
    from dapsmri_prior.data import GAP_MM, TEMPLATE, VAL_Z0, VAL_Z1
    from dapsmri_prior.synthetic import HEAD
    data = synthetic_heads()
    z0, z1 = data.held_out_z
    # Every 0.5 mm template voxel of the slab and its gap lies inside the held-out band of the head grid.
    to_head = np.linalg.inv(nib.load(HEAD).affine) @ nib.load(TEMPLATE).affine
    native = np.arange(2 * (VAL_Z0 - GAP_MM), 2 * (VAL_Z1 + GAP_MM))
    z = (to_head @ np.stack([0 * native, 0 * native, native, 1 + 0 * native]))[2]
    assert z0 <= z.min() - 0.5 and z.max() + 0.5 <= z1
    for volume in [data.train_vols[data.head_vol], data.texture] + data.labels:
        assert not volume[:, :, z0:z1].any(), "the slab must be empty in every training volume"
    refs = [r for group in data.slices[2:] for r in group]
    assert not any(r.axis == 2 and z0 <= r.index < z1 for r in refs)
    # No patch reaches the band, with the elastic warp: make the band 1000 times brighter than the rest
    # and look for it in crops of sagittal and coronal slices (their columns run along z).
    from dapsmri_prior.data import _take

    def band(ref):
        image = np.ones(_take(data.train_vols[data.head_vol], ref.axis, ref.index).shape, np.float32)
        image[:, z0:z1] = 1000.0
        return image

    data._magnitude = band
    data._group = lambda: [r for r in data.slices[2] if r.axis != 2]
    images, _ = data.sample(200)
    assert np.sqrt((images ** 2).sum(1)).max() < 0.01, "a patch touched the held-out slab"
    del data._magnitude, data._group


def test_synthetic_contrasts_vary_and_stay_in_range():
    data = synthetic_heads()
    slices = [data.synthetic_slice(0, 2, 60) for _ in range(12)]
    labels = data.labels[0][:, :, 60]
    for image in slices:
        assert image.min() >= 0.0 and math.isclose(float(image.max()), 1.0, rel_tol=1e-6)
        assert image[labels == 0].mean() < 0.05, "background stays dark"
    brain_means = np.array([[image[np.isin(labels, np.nonzero(data.label_class[0] == c)[0])].mean()
                             for c in (1, 2, 3)] for image in slices])  # CSF, grey, white matter
    assert (brain_means[:, 0] > brain_means[:, 2]).any() and (brain_means[:, 0] < brain_means[:, 2]).any(), \
        "both T1-like and T2-like orderings of CSF and white matter"


def test_deform_stretches_each_axis():
    from dapsmri_prior.data import TemplateSlices, elastic_displacement, ELASTIC_MAX
    plain, deformed = (TemplateSlices(patch=32, seed=3, deform=d) for d in (False, True))

    def stretches(data):
        ref = next(r for r in data.slices[0] if r.axis == 2)  # no held-out band to avoid
        return np.array([np.linalg.svd(data._transform(ref)[0], compute_uv=False) for _ in range(300)])

    s = stretches(plain)
    assert 1 / 1.1 - 1e-9 <= s.min() and s.max() <= 1 / 0.9 + 1e-9 and np.allclose(s[:, 0], s[:, 1])
    s = stretches(deformed)
    assert s.min() < 0.8 and s.max() > 1.3 and (s[:, 0] / s[:, 1]).max() > 1.4
    assert 1 / 1.4 - 1e-9 <= s.min() and s.max() <= 1 / 0.7 + 1e-9
    field = elastic_displacement(32, np.random.default_rng(0))
    assert field.shape == (2, 32, 32) and np.abs(field).max() <= ELASTIC_MAX + 1e-9
    assert np.abs(np.diff(field, axis=2)).max() < 0.5, "the warp is smooth"


def test_grow_into_a_deeper_net():
    old = small_net()
    deep = UNet(channels=(8, 8, 16, 12), num_blocks=1, emb_dim=16, attention=True)
    assert deep.downsampling_factor == 8
    fresh = load_into_deeper(deep, old.state_dict(), old_levels=3)
    state = deep.state_dict()
    for key, value in old.state_dict().items():
        parts = key.split(".")
        if parts[0] == "decoder":  # the decoder runs bottom-up: one more level in front
            parts[1] = str(int(parts[1]) + 1)
        name = ".".join(parts)
        if state[name].shape == value.shape:
            assert torch.equal(state[name], value), name
            assert name not in fresh
        else:
            assert name in fresh  # the middle blocks change width (16 -> 12)
    assert any(k.startswith("encoder.3.") for k in fresh) and any(k.startswith("attn.") for k in fresh)
    # The new upsampling of the old bottom level passes its first channels through.
    up = state["decoder.1.up.weight"]  # 12 -> 16 channels
    x = torch.randn(1, 12, 5, 5)
    y = torch.nn.functional.conv2d(x, up, state["decoder.1.up.bias"], padding=1)
    assert torch.allclose(y[:, :12], x) and torch.equal(y[:, 12:], torch.zeros_like(y[:, 12:]))
    with torch.no_grad():
        out = deep(torch.randn(2, 2, 24, 16), torch.tensor([0.1, -0.5]))
    assert out.shape == (2, 2, 24, 16) and torch.isfinite(out).all()


def test_fine_tune_from_an_exported_prior():
    from dapsmri_prior.train import load_init
    net = UNet(channels=(8, 8, 16, 12), num_blocks=2, emb_dim=16, attention=True)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.1)
    net.eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "prior.pt")
        save_prior(net, path, make_metadata(net, "test", "fine-tune source"))
        ck = load_init(path)
    assert ck["config"] == dict(channels=[8, 8, 16, 12], num_blocks=2, emb_dim=16, attention=True)
    again = UNet(**ck["config"])
    again.load_state_dict(ck["ema"]["model"])
    x, c = torch.randn(1, 2, 16, 24), torch.tensor([0.3])
    with torch.no_grad():
        assert torch.equal(again.eval()(x, c), net(x, c))
    # Anything else is refused with a message, not a traceback.
    class Foreign(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    with tempfile.TemporaryDirectory() as tmp:
        foreign = os.path.join(tmp, "foreign.pt")
        torch.jit.save(torch.jit.script(Foreign()), foreign, _extra_files={METADATA_FILE: "{}"})
        for path, needle in ((os.path.join(tmp, "missing.pt"), "no such file"), (foreign, "not this project's U-Net")):
            try:
                load_init(path)
                raise AssertionError(f"{path} was accepted")
            except SystemExit as e:
                assert needle in str(e), str(e)


def write_phantom_images(folder):
    """A 3D magnitude phantom (5 slices, the last one empty) and a 2D complex one as NIfTI, and
    a fastMRI-style HDF5 file (3 reconstructed slices next to their k-space)."""
    import h5py
    import nibabel as nib
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:40, 0:48]
    head = (((rows - 20) / 16.0) ** 2 + ((cols - 24) / 19.0) ** 2 < 1.0).astype(np.float32)
    inside = (((rows - 20) / 5.0) ** 2 + ((cols - 24) / 4.0) ** 2 < 1.0)
    volume = np.stack([head * (300.0 + 40.0 * z) - 150.0 * inside for z in range(4)] + [np.zeros_like(head)], -1)
    volume += rng.normal(0.0, 1.0, volume.shape).astype(np.float32) * (volume > 0)
    nib.save(nib.Nifti1Image(volume.astype(np.float32), np.eye(4)), os.path.join(folder, "a.nii.gz"))
    disc = (((rows[:36, :36] - 18) / 12.0) ** 2 + ((cols[:36, :36] - 18) / 14.0) ** 2 < 1.0)
    flat = (2.0 * disc * np.exp(1j * 0.05 * rows[:36, :36])).astype(np.complex64)
    nib.save(nib.Nifti1Image(flat, np.eye(4)), os.path.join(folder, "b.nii"))
    with h5py.File(os.path.join(folder, "c.h5"), "w") as f:
        f["reconstruction_rss"] = np.moveaxis(volume[:, :, 1:4], -1, 0)  # fastMRI: [slices, H, W]
        f["kspace"] = np.zeros((3, 4, 40, 48), np.complex64)


def test_train_on_your_own_images():
    import h5py
    import nibabel as nib
    from dapsmri_prior.data import ImageSlices
    from dapsmri_prior.export import main as export_main
    from dapsmri_prior.train import main as train_main
    with tempfile.TemporaryDirectory() as tmp:
        images = os.path.join(tmp, "images")
        os.makedirs(images)
        write_phantom_images(images)
        data = ImageSlices([images], patch=64, seed=0, coarse_fraction=0.5)
        assert data.num_slices() == (8,)  # 4 of the volume (the empty one skipped), the 2D image, 3 HDF5
        assert all(r.axis == 2 for r in data.whole_refs)
        assert np.isclose(data.train_vols[1].max(), 1.0)  # the complex image as its magnitude
        # The HDF5 file holds slices 1-3 of the volume (its brightest, 3, among them: same scale).
        assert np.array_equal(data.train_vols[2], data.train_vols[0][:, :, 1:4])
        batch, whole = data.sample(24)
        assert batch.shape == (24, 2, 64, 64) and np.isfinite(batch).all() and 3 < whole.sum() < 21
        mag = np.sqrt((batch[whole] ** 2).sum(1))
        for m in mag:  # a whole-slice view holds the whole phantom
            ring = np.concatenate([m[:2].ravel(), m[-2:].ravel(), m[:, :2].ravel(), m[:, -2:].ravel()])
            assert ring.mean() < 0.05 * m[16:48, 16:48].mean()
        # A short run on them, then the export says what it was trained on.
        run = os.path.join(tmp, "run")
        train_main(["--out", run, "--data", images, "--steps", "2", "--batch", "2", "--patch", "32",
                    "--channels", "8,8", "--num-blocks", "1", "--emb-dim", "16", "--coarse-fraction", "0.5"])
        out = os.path.join(tmp, "prior.pt")
        export_main(["--checkpoint", os.path.join(run, "checkpoint.pt"), "--out", out])
        meta = verify_prior(out)
        assert "images (images)" in meta["training_data"] and meta["name"] == "edm-unet", meta
        # Files that cannot be trained on are refused with what is wrong.
        nib.save(nib.Nifti1Image(np.zeros((8, 8, 2, 3), np.float32), np.eye(4)), os.path.join(tmp, "4d.nii"))
        nib.save(nib.Nifti1Image(np.zeros((8, 8), np.float32), np.eye(4)), os.path.join(tmp, "zero.nii"))
        nib.save(nib.Nifti1Image(np.full((8, 8), np.nan, np.float32), np.eye(4)), os.path.join(tmp, "nan.nii"))
        with open(os.path.join(tmp, "text.nii"), "w") as f:
            f.write("not an image")
        with open(os.path.join(tmp, "text.h5"), "w") as f:
            f.write("not an image")
        with h5py.File(os.path.join(tmp, "test_set.h5"), "w") as f:
            f["kspace"] = np.zeros((2, 4, 8, 8), np.complex64)
        os.makedirs(os.path.join(tmp, "empty"))
        for path, needle in (("4d.nii", "give 2D or 3D images"), ("zero.nii", "all zero"), ("nan.nii", "NaN or Inf"),
                             ("text.nii", "not a readable NIfTI image"), ("missing.nii", "no such file"),
                             ("text.h5", "not a readable HDF5 file"), ("test_set.h5", "k-space only"),
                             ("empty", "no .nii, .nii.gz or .h5 files")):
            try:
                train_main(["--out", os.path.join(tmp, "bad"), "--data", os.path.join(tmp, path), "--steps", "1"])
                raise AssertionError(f"{path} was accepted")
            except SystemExit as e:
                assert needle in str(e), str(e)


if __name__ == "__main__":
    failed = 0
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            try:
                fn()
                print(f"PASS {name}")
            except Exception as e:  # report all failures, then exit non-zero
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}")
    sys.exit(1 if failed else 0)
