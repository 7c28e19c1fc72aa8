"""Tests of the dapsmri Python module, run by CTest (PythonAPI) with PYTHONPATH at the built module.

Environment: DAPSMRI_TEST_PRIOR (models/test/tiny_prior.pt), DAPSMRI_BROKEN_PRIOR (a model that
breaks the contract), DAPSMRI_ISMRMRD_GENERATOR (ismrmrd_generate_cartesian_shepp_logan) and
DAPSMRI_RECON (the daps-recon binary; the tests that compare with it are skipped without it).
"""
import os
import pydoc
import re
import subprocess
import threading
import time

import numpy as np
import pytest

import dapsmri

PRIOR = os.environ["DAPSMRI_TEST_PRIOR"]
BROKEN_PRIOR = os.environ.get("DAPSMRI_BROKEN_PRIOR")
GENERATOR = os.environ.get("DAPSMRI_ISMRMRD_GENERATOR")
RECON = os.environ.get("DAPSMRI_RECON")
FAST = dict(steps=2, ode_steps=1, mcmc_steps=2, seed=7)  # DAPS keywords of a quick run
needs_recon = pytest.mark.skipif(not RECON, reason="daps-recon was not built (DAPSMRI_BUILD_APPS=OFF)")


@pytest.fixture(scope="session")
def raw(tmp_path_factory):
    """A generated Shepp-Logan file: 32 x 32, 4 coils, 2x undersampled (two repetitions that
    interleave), 16 calibration lines, noise scans."""
    if not GENERATOR:
        pytest.skip("ismrmrd_generate_cartesian_shepp_logan was not found")
    path = tmp_path_factory.mktemp("raw") / "shepp_logan.h5"
    subprocess.run([GENERATOR, "-m", "32", "-c", "4", "-a", "2", "-w", "16", "-C", "-o", str(path)],
                   check=True, capture_output=True)
    return str(path)


@pytest.fixture(scope="session")
def prior():
    return dapsmri.load_prior(PRIOR)


@pytest.fixture(scope="session")
def problem(raw):
    """One slice as arrays: k-space (H, W, C), mask (H, W) and ESPIRiT maps (H, W, C), unwhitened."""
    maps = dapsmri.reconstruct_ismrmrd(raw, adjoint_only=True, prewhiten=False).coil_maps[0]
    s = dapsmri.read_ismrmrd(raw).slices[0]
    return s.kspace, s.mask, maps


def test_help_reads_well():
    text = pydoc.render_doc(dapsmri, renderer=pydoc.plaintext)
    for name in dapsmri.__all__:
        assert getattr(dapsmri, name).__doc__, name
        assert name in text
        if callable(getattr(dapsmri, name)) and not isinstance(getattr(dapsmri, name), type):
            assert getattr(dapsmri, name).__doc__.startswith(name + "("), name  # its signature first
    assert dapsmri.reconstruct_ismrmrd.__doc__.startswith('reconstruct_ismrmrd(path, *, coil_maps="espirit"')
    assert issubclass(dapsmri.Cancelled, RuntimeError)


def test_parameters_are_the_command_line_flags():
    table = dapsmri.parameters()
    assert [p["keyword"] for p in table][:3] == ["steps", "sigma_max", "sigma_min"]
    for p in table:
        assert p["keyword"] == p["flag"][2:].replace("-", "_")
        assert p["type"] in ("int", "float", "str") and p["help"] and p["name"]
        assert isinstance(p["default"], {"int": int, "float": float, "str": str}[p["type"]])
    assert {p["keyword"]: p["default"] for p in dapsmri.parameters("reference")}["steps"] == 200
    with pytest.raises(ValueError, match="mri or reference"):
        dapsmri.parameters("fastest")
    if not RECON:
        return
    usage = subprocess.run([RECON, "--help"], capture_output=True, text=True, check=True).stdout
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^  --([a-z0-9-]+) \S+\s+(.*(?:\n {25}.*)*)", usage, re.M)}
    for p in table:
        assert p["flag"][2:] in lines, p["flag"]
        default = re.search(r"\(default ([^)]*)\)", " ".join(lines[p["flag"][2:]].split())).group(1)
        assert (default == p["default"]) if p["type"] == "str" else float(default) == pytest.approx(p["default"])
    # Every DAPS flag of the tool is in the table (the others are the tool's own).
    sampler = set(lines) - {p["flag"][2:] for p in table}
    assert sampler <= {"preset", "model", "device", "threads", "ismrmrd", "kspace", "mask", "coil-maps", "dataset",
                       "std-output", "save-coil-maps", "save-kspace", "slice-batch", "returnparameterfile"}, sampler


def test_read_ismrmrd(raw):
    data = dapsmri.read_ismrmrd(raw)
    assert data.coils == 4 and len(data.slices) == 1
    s = data.slices[0]
    assert s.kspace.shape == (32, 32, 4) and s.kspace.dtype == np.complex64
    assert s.mask.shape == (32, 32) and s.mask.dtype == np.uint8
    assert s.calibration.shape == (32, 32) and s.calibration.sum() > 0
    assert s.averages >= 1 and s.repetition == -1
    assert len(s.origin()) == 3 and s.spacing == pytest.approx((300.0 / 32, 300.0 / 32))
    assert np.isclose(np.linalg.norm(s.read_direction), 1.0) and len(s.position) == 3 and s.slice_thickness > 0
    assert data.noise.ndim == 2 and data.noise.shape[1] == 4 and data.noise.shape[0] > 0
    assert data.noise.dtype == np.complex64
    assert "ismrmrdHeader" in data.header
    kept = dapsmri.read_ismrmrd(raw, keep_repetitions=True)
    assert [s.repetition for s in kept.slices] == [0, 1]


@needs_recon
def test_bit_for_bit_with_daps_recon(raw, tmp_path):
    nibabel = pytest.importorskip("nibabel")
    out, parameters = tmp_path / "out.nii", tmp_path / "parameters.txt"
    flags = ["--steps", "2", "--ode-steps", "1", "--mcmc-steps", "2", "--seed", "7"]
    r = subprocess.run([RECON, raw, str(out), "--complex", "--keep-repetitions", "--model", PRIOR, "--threads", "1",
                        "--returnparameterfile", str(parameters), *flags], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    v = dapsmri.reconstruct_ismrmrd(raw, keep_repetitions=True, model=PRIOR, threads=1, **FAST)
    image = nibabel.load(str(out))
    written = np.asanyarray(image.dataobj)  # [x, y, slice]
    assert written.dtype == np.complex64 and v.mean.shape == (2, 32, 32)
    assert np.array_equal(written.transpose(2, 1, 0), v.mean)
    # The geometry: NIfTI's affine is in RAS, ITK's (and ours) in LPS.
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    assert np.allclose(image.affine[:3, :3], lps_to_ras @ v.direction @ np.diag(v.spacing), atol=1e-4)
    assert np.allclose(image.affine[:3, 3], lps_to_ras @ np.array(v.origin), atol=1e-3)
    assert v.prewhitened and v.noise_std > 0 and v.coil_maps.shape == (2, 32, 32, 4)
    values = dict(line.split(" = ") for line in parameters.read_text().splitlines())
    assert int(values["denoiserEvaluations"]) == v.statistics["denoiser_evaluations"]
    assert float(values["relativeResidual"]) == pytest.approx(v.relative_residual, rel=1e-8)
    # --tau turns the noise-derived tau off in both.
    r = subprocess.run([RECON, raw, str(out), "--complex", "--model", PRIOR, "--threads", "1", "--tau", "0.02",
                        *flags], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    v = dapsmri.reconstruct_ismrmrd(raw, model=PRIOR, threads=1, tau=0.02, **FAST)
    assert v.tau == pytest.approx(0.02)
    assert np.array_equal(np.asanyarray(nibabel.load(str(out)).dataobj).transpose(2, 1, 0), v.mean)


def test_arrays_in_the_library_layout(raw, problem, prior):
    kspace, mask, maps = problem
    # zero_filled and reconstruct read (H, W, C) arrays as reconstruct_ismrmrd passes its slices.
    adjoint = dapsmri.reconstruct_ismrmrd(raw, adjoint_only=True, prewhiten=False)
    assert np.array_equal(dapsmri.zero_filled(kspace, mask, maps), adjoint.mean[0])
    assert adjoint.statistics["denoiser_evaluations"] == 0 and adjoint.tau == 0
    volume = dapsmri.reconstruct_ismrmrd(raw, prewhiten=False, prior=prior, threads=1, **FAST)
    single = dapsmri.reconstruct(kspace, mask, maps, prior=prior, threads=1, **FAST)
    assert single.mean.shape == (32, 32) and single.mean.dtype == np.complex64 and single.std is None
    assert np.array_equal(single.mean, volume.mean[0])
    # Any numeric, non-contiguous input is converted; every keyword at its default changes nothing.
    defaults = {p["keyword"]: p["default"] for p in dapsmri.parameters()}
    defaults.update(FAST)
    again = dapsmri.reconstruct(kspace.astype(np.complex128)[:, ::-1][:, ::-1], mask.astype(bool), maps.tolist(),
                                model=PRIOR, threads=1, **defaults)
    assert np.array_equal(again.mean, single.mean)
    assert set(single.statistics) == {"denoiser_evaluations", "data_gradients", "denoiser_seconds", "mcmc_seconds",
                                      "total_seconds"}
    assert single.relative_residual > 0 and single.intensity_scale > 0 and single.tau > 0


def test_stacks_and_the_standard_deviation(problem, prior):
    kspace, mask, maps = problem
    r = dapsmri.reconstruct(kspace, mask, maps, prior=prior, threads=1, samples=2, **FAST)
    assert r.std.shape == (32, 32) and r.std.dtype == np.float32
    assert (r.std >= 0).all() and r.std.max() > 0
    stack = dapsmri.reconstruct(np.stack([kspace, kspace]), mask, np.stack([maps, maps]), prior=prior, threads=1,
                                **FAST)
    assert stack.mean.shape == (2, 32, 32) and stack.std is None
    per_slice = dapsmri.reconstruct(np.stack([kspace, kspace]), np.stack([mask, mask]), np.stack([maps, maps]),
                                    prior=prior, threads=1, **FAST)
    assert np.array_equal(per_slice.mean, stack.mean)
    assert dapsmri.zero_filled(np.stack([kspace] * 3), mask, np.stack([maps] * 3)).shape == (3, 32, 32)


def test_progress_counts_and_cancels(problem, prior):
    kspace, mask, maps = problem
    calls = []
    dapsmri.reconstruct(kspace, mask, maps, prior=prior, threads=1, progress=lambda d, t: calls.append((d, t)), **FAST)
    assert calls == [(1, 2), (2, 2)]
    calls.clear()

    def cancel(done, total):
        calls.append(done)
        return False

    with pytest.raises(dapsmri.Cancelled):
        dapsmri.reconstruct(kspace, mask, maps, prior=prior, threads=1, progress=cancel, **FAST)
    assert calls == [1]

    class Stop(Exception):
        pass

    def fail(done, total):
        raise Stop("from the callback")

    with pytest.raises(Stop, match="from the callback"):
        dapsmri.reconstruct(kspace, mask, maps, prior=prior, threads=1, progress=fail, **FAST)
    with pytest.raises(TypeError, match="callable"):
        dapsmri.reconstruct(kspace, mask, maps, prior=prior, progress=3, **FAST)


def test_ismrmrd_progress_counts_every_slice(raw, prior):
    calls = []
    dapsmri.reconstruct_ismrmrd(raw, keep_repetitions=True, slice_batch=1, prior=prior, threads=1,
                                progress=lambda d, t: calls.append((d, t)), **FAST)
    assert calls == [(i, 4) for i in range(1, 5)]  # 2 slices, one batch each, 2 steps


def test_the_gil_is_released(problem, prior):
    kspace, mask, maps = problem
    done = threading.Event()
    elapsed = []

    def work():
        start = time.perf_counter()
        dapsmri.reconstruct(kspace, mask, maps, prior=prior, threads=1, steps=60, mcmc="langevin", mcmc_steps=20)
        elapsed.append(time.perf_counter() - start)
        done.set()

    worker = threading.Thread(target=work)
    ticks = [time.perf_counter()]
    worker.start()
    while not done.is_set():  # pure Python: runs only while the worker has released the GIL
        ticks.append(time.perf_counter())
    worker.join()
    longest_gap = max(np.diff(ticks))
    assert elapsed[0] > 0.2, "the run was too short to tell"
    assert longest_gap < 0.5 * elapsed[0], (longest_gap, elapsed[0])


def test_bad_input_says_what_to_pass(problem, prior, tmp_path):
    kspace, mask, maps = problem
    run = lambda k=kspace, m=mask, c=maps, **kw: dapsmri.reconstruct(k, m, c, **{"prior": prior, **FAST, **kw})
    cases = [
        (dict(k=np.full((32, 32, 4), "x")), ValueError, "kspace must be a complex"),
        (dict(k=kspace[..., 0]), ValueError, r"kspace must be \(H, W, C\).*kspace\[\.\.\., None\]"),
        (dict(m=mask[:16]), ValueError, r"mask must be \(H, W\) = \(32, 32\)"),
        (dict(m=np.full((32, 32), "a")), ValueError, "mask must be a boolean or numeric"),
        (dict(c=maps[..., :3]), ValueError, r"coil_maps must have kspace's shape \(32, 32, 4\)"),
        (dict(c=None), ValueError, "coil_maps is None but kspace has 4 coils"),
        (dict(k=np.where(np.arange(4) == 2, np.nan, kspace)), ValueError, "NaN or Inf at pixel"),
        (dict(m=np.zeros_like(mask)), ValueError, "sampling mask is empty"),
        (dict(m=np.where(mask > 0, np.nan, 0.0)), ValueError, "mask holds NaN or Inf"),
        (dict(mcmc="bogus"), ValueError, "choose langevin, hmc, exact or mean"),
        (dict(steps="3"), TypeError, "steps must be an integer"),
        (dict(steps=0), ValueError, "steps|annealing"),
        (dict(sigma_max=True), TypeError, "sigma_max must be a number"),
        (dict(seed=-1), ValueError, "seed must be between 0"),
        (dict(bogus=1), TypeError, "unexpected keyword argument 'bogus'.*steps, sigma_max"),
        (dict(threads=-1), ValueError, "thread count"),
        (dict(preset="fastest"), ValueError, "mri or reference"),
        (dict(noise_std=0.1, tau=0.1), ValueError, "noise_std or tau, not both"),
        (dict(model=PRIOR), ValueError, "prior or model, not both"),
        (dict(prior=PRIOR), TypeError, "prior must be a dapsmri.Prior"),
    ]
    for arguments, error, message in cases:
        with pytest.raises(error, match=message):
            run(**arguments)
    with pytest.raises(ValueError, match="nonexistent"):
        dapsmri.load_prior(tmp_path / "nonexistent.pt")
    if BROKEN_PRIOR:
        with pytest.raises((ValueError, RuntimeError), match="wrong_channels"):
            dapsmri.load_prior(BROKEN_PRIOR)


def test_bad_files_and_options(raw, tmp_path):
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(open(raw, "rb").read()[: os.path.getsize(raw) // 3])
    with pytest.raises(ValueError, match="truncated"):
        dapsmri.read_ismrmrd(truncated)
    with pytest.raises(ValueError, match="truncated"):
        dapsmri.reconstruct_ismrmrd(truncated, adjoint_only=True)
    with pytest.raises((ValueError, RuntimeError), match="nosuchdataset"):
        dapsmri.read_ismrmrd(raw, dataset="nosuchdataset")
    with pytest.raises((ValueError, RuntimeError), match="missing.h5"):
        dapsmri.read_ismrmrd(tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="choose espirit or walsh"):
        dapsmri.reconstruct_ismrmrd(raw, coil_maps="bart", adjoint_only=True)
    with pytest.raises(ValueError, match=r"coil_maps must be .* \(1, 32, 32, 4\)"):
        dapsmri.reconstruct_ismrmrd(raw, coil_maps=np.ones((32, 32, 3), np.complex64), adjoint_only=True)
    given = dapsmri.reconstruct_ismrmrd(raw, coil_maps="walsh", adjoint_only=True)
    again = dapsmri.reconstruct_ismrmrd(raw, coil_maps=given.coil_maps[0], adjoint_only=True)
    assert np.array_equal(again.mean, given.mean)


def test_priors(prior):
    assert isinstance(prior.name, str) and prior.downsampling_factor >= 1 and prior.sigma_data > 0
    assert prior.normalization in ("p99_magnitude", "none")
    assert repr(prior).startswith("<dapsmri.Prior")


RESTORE = os.environ.get("DAPSMRI_RESTORE")


def phantom(size=32):
    """A smooth real test image in [0, 1]."""
    y, x = np.mgrid[:size, :size] / size
    return (0.5 + 0.4 * np.sin(6 * x) * np.cos(4 * y)).astype(np.float32)


def test_measure_is_each_tasks_forward_model():
    x = phantom()
    low = dapsmri.measure(x, "super-resolution", factor=4)
    assert low.dtype == np.float32 and low.shape == (8, 8)
    assert np.allclose(low, x.reshape(8, 4, 8, 4).mean(axis=(1, 3)), atol=1e-6)
    mask = dapsmri.box_mask(32, 32, 8, 8, 16, 16)
    assert mask.shape == (32, 32) and mask.sum() == 32 * 32 - 16 * 16
    assert np.array_equal(dapsmri.measure(x, "inpainting", mask=mask), x * mask)
    assert np.allclose(dapsmri.measure(x, "hdr", alpha=2.0), np.clip(2 * x, -1, 1))
    padded = np.zeros((64, 64), np.float32)
    padded[:32, :32] = x
    magnitudes = dapsmri.measure(x, "phase-retrieval", oversampling=2)  # of the orthonormal DFT
    assert magnitudes.shape == (64, 64)
    assert np.allclose(magnitudes, np.abs(np.fft.fft2(padded)) / 64, atol=1e-5)
    kernel = dapsmri.gaussian_blur_kernel(5, 1.0)
    assert kernel.shape == (5, 5) and abs(kernel.sum() - 1) < 1e-5
    assert dapsmri.measure(x, "deblurring", kernel=kernel).shape == (32, 32)


def test_restoration_arguments_say_what_to_pass(prior):
    x = phantom()
    with pytest.raises(ValueError, match="super-resolution"):
        dapsmri.measure(x, "denoising")
    with pytest.raises(ValueError, match="mask"):
        dapsmri.restore(x, "inpainting", prior=prior)
    with pytest.raises(ValueError, match="kernel"):
        dapsmri.measure(x, "deblurring")
    with pytest.raises(ValueError, match="divide|factor"):
        dapsmri.measure(x, "super-resolution", factor=5)
    with pytest.raises(ValueError, match="2-D"):
        dapsmri.restore(x[None], "super-resolution", prior=prior)
    with pytest.raises(ValueError):
        dapsmri.random_mask(8, 8, 1.5)


def test_restore_runs_the_tasks_defaults_and_cancels(prior):
    low = dapsmri.measure(phantom(), "super-resolution", factor=4)
    fast = dict(steps=2, mcmc_steps=2, seed=3, threads=1)
    first = dapsmri.restore(low, "super-resolution", factor=4, prior=prior, **fast)
    again = dapsmri.restore(low, "super-resolution", factor=4, prior=prior, **fast)
    assert first.mean.shape == (32, 32) and first.mean.dtype == np.complex64
    assert np.array_equal(first.mean, again.mean) and np.isfinite(first.relative_residual)
    assert first.statistics["denoiser_evaluations"] == 2
    with pytest.raises(dapsmri.Cancelled):
        dapsmri.restore(low, "super-resolution", factor=4, prior=prior, progress=lambda done, total: False, **fast)


@pytest.mark.skipif(not RESTORE, reason="daps-restore was not built (DAPSMRI_BUILD_APPS=OFF)")
def test_restore_equals_daps_restore(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    low = dapsmri.measure(phantom(), "super-resolution", factor=4)
    measurement, out = tmp_path / "low.nii", tmp_path / "restored.nii"
    nibabel.save(nibabel.Nifti1Image(low.T, np.eye(4)), str(measurement))  # NIfTI's first axis is x
    flags = ["--steps", "3", "--mcmc-steps", "2", "--seed", "5", "--threads", "1"]
    r = subprocess.run([RESTORE, str(measurement), str(out), "--task", "super-resolution", "--factor", "4", "--complex",
                        "--model", PRIOR, *flags], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    restored = dapsmri.restore(low, "super-resolution", factor=4, model=PRIOR, steps=3, mcmc_steps=2, seed=5,
                               threads=1)
    written = np.asanyarray(nibabel.load(str(out)).dataobj)
    assert np.array_equal(np.squeeze(written).T, restored.mean)
