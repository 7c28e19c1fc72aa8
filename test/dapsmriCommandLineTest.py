"""Command-line tests of daps-recon, daps-restore, daps-simulate and daps-prior-samples (run by CTest).

usage: python3 dapsmriCommandLineTest.py BIN_DIR TINY_MODEL BROKEN_MODEL ISMRMRD_GENERATOR BROKEN_ISMRMRD_WRITER
"""
import gzip
import hashlib
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET
import zlib

BIN, TINY, BROKEN, GENERATOR, BROKEN_WRITER = sys.argv[1:6]
RECON = os.path.join(BIN, "daps-recon")
UNDERSAMPLE = os.path.join(BIN, "daps-undersample")
SIMULATE = os.path.join(BIN, "daps-simulate")
PRIOR_SAMPLES = os.path.join(BIN, "daps-prior-samples")
RESTORE = os.path.join(BIN, "daps-restore")
FAST = ["--steps", "2", "--ode-steps", "1", "--mcmc-steps", "2"]


def run(*args):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    # In a sanitizer build (scripts/sanitize.sh) a report fails the test even when the tool was
    # expected to fail: a leak or an overrun after the message would otherwise pass unseen.
    for report in ("Sanitizer", "runtime error:"):
        if report in result.stderr:
            raise AssertionError("%s reported by %s:\n%s" % (report, " ".join(map(str, args)), result.stderr))
    return result


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_mha(path, sizes, element_type, data):
    """A MetaImage with its (uncompressed) data inside."""
    header = "ObjectType = Image\nNDims = %d\nDimSize = %s\nElementType = %s\nElementDataFile = LOCAL\n" % (
        len(sizes), " ".join(str(n) for n in sizes), element_type)
    with open(path, "wb") as f:
        f.write(header.encode() + data)


def nrrd_bytes(path):
    """The pixel bytes of a raw or gzip NRRD file with its data inside."""
    with open(path, "rb") as f:
        data = f.read()
    end = data.index(b"\n\n") + 2
    header = data[:end].decode("latin-1")
    return gzip.decompress(data[end:]) if "encoding: gzip" in header else data[end:]


class CommandLine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.case = os.path.join(cls.dir, "case")
        r = run(SIMULATE, os.path.join(cls.dir, "sim.nii.gz"), "--size", "32", "--coils", "4",
                "--save-inputs", cls.case, *FAST)
        assert r.returncode == 0, r.stderr
        cls.other = os.path.join(cls.dir, "other")  # 3 coils: for coil-count mismatches
        r = run(SIMULATE, os.path.join(cls.dir, "other.nii.gz"), "--size", "32", "--coils", "3",
                "--save-inputs", cls.other, *FAST)
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def inputs(self, prefix=None, maps=None):
        prefix = prefix or self.case
        return ["--kspace", prefix + "_kspace.mha", "--coil-maps", (maps or prefix) + "_maps.mha",
                "--mask", prefix + "_mask.nrrd"]

    def assertFailsCleanly(self, result, output, needle):
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(needle, result.stderr)
        self.assertFalse(os.path.exists(output), "a failed run left an output file")
        self.assertEqual([f for f in os.listdir(self.dir) if ".partial" in f], [])

    def test_restore_simulates_measures_and_restores_each_task(self):
        clean = self.case + "_reference.nii.gz"  # 32 x 32
        for task, extra, measured in (("super-resolution", ["--factor", "2"], "16 16"),
                                      ("inpainting", ["--box", "8,8,10,10"], "32 32"),
                                      ("deblurring", ["--kernel-size", "9", "--blur-sigma", "1.5"], "32 32"),
                                      ("phase-retrieval", ["--mcmc-steps", "2"], "64 64"),
                                      ("hdr", ["--mcmc-steps", "2"], "32 32")):
            out = os.path.join(self.dir, "restored_%s.nrrd" % task)
            measurement = os.path.join(self.dir, "measured_%s.nrrd" % task)
            r = run(RESTORE, clean, out, "--task", task, "--simulate", "--model", TINY, "--steps", "2",
                    "--ode-steps", "1", "--measurement-output", measurement, *extra)
            self.assertEqual(r.returncode, 0, task + ": " + r.stderr)
            self.assertIn("PSNR against the clean image", r.stderr)
            self.assertEqual(nrrd_header(out)["sizes"], "32 32", task)
            self.assertEqual(nrrd_header(measurement)["sizes"], measured, task)
        # A measurement restores to the size it implies: 16 x 16 at factor 2 gives 32 x 32.
        out = os.path.join(self.dir, "restored_from_measurement.nrrd")
        r = run(RESTORE, os.path.join(self.dir, "measured_super-resolution.nrrd"), out, "--task", "super-resolution",
                "--factor", "2", "--model", TINY, *FAST)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(nrrd_header(out)["sizes"], "32 32")

    def test_restore_refuses_bad_parameters_before_any_work(self):
        clean = self.case + "_reference.nii.gz"
        out = os.path.join(self.dir, "restore_refused.nrrd")
        for extra, needle in ((["--task", "super-resolution", "--factor", "3"], "divisor of the image size"),
                              (["--task", "inpainting", "--box", "0,0,32,32"], "shows no pixel"),
                              (["--task", "deblurring", "--kernel-size", "41"], "larger than the image"),
                              (["--task", "hdr", "--alpha", "-1"], "alpha must be positive"),
                              (["--task", "hdr", "--mcmc", "mean"], "nonlinear"),
                              (["--task", "denoising"], "unknown task"),
                              (["--task", "deblurring", "--kernel", "box"], "unknown kernel"),
                              (["--task", "super-resolution", "--std-output", out + "_std.nrrd"], "--samples > 1")):
            r = run(RESTORE, clean, out, "--simulate", "--model", TINY, *FAST, *extra)
            self.assertFailsCleanly(r, out, needle)
        # A mask file of another size than the image is refused (its pixels are never read past).
        small_mask = os.path.join(self.dir, "small_mask.mha")
        write_mha(small_mask, [16, 8], "MET_UCHAR", bytes([1]) * 128)
        for mode in (["--simulate"], []):
            r = run(RESTORE, clean, out, "--task", "inpainting", "--mask", small_mask, "--model", TINY, *FAST, *mode)
            self.assertFailsCleanly(r, out, "must have one size")
        # An output that would replace the input is refused and the input kept.
        before = digest(clean)
        r = run(RESTORE, clean, clean, "--task", "hdr", "--simulate", "--model", TINY, *FAST)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(digest(clean), before)

    def check_slicer_xml(self, tool, tool_only, indexed_names):
        r = run(tool, "--xml")
        self.assertEqual(r.returncode, 0)
        root = ET.fromstring(r.stdout)
        self.assertEqual(root.tag, "executable")
        flags = [e.text for e in root.iter("longflag")]
        self.assertGreaterEqual(len(flags), 10)
        usage = run(tool, "--help").stdout
        for flag in flags:
            self.assertRegex(usage, r"--%s\b" % re.escape(flag))
        for parameter in root.iter():
            if parameter.find("name") is not None:  # every parameter is labelled and described
                self.assertTrue(parameter.find("label").text)
                self.assertTrue(parameter.find("description").text)
        # Slicer passes every parameter, so each default must be the command line's own.
        for parameter in root.iter():
            flag, default = parameter.find("longflag"), parameter.find("default")
            if flag is None or default is None:
                continue
            entry = re.search(r"\n  --%s\b((?:(?!\n  --).)*)" % re.escape(flag.text), usage, re.S)
            stated = entry and re.search(r"\(default ([^)]*)\)", entry.group(1))
            if stated and not stated.group(1).startswith(("all", "the", '"')):
                try:
                    self.assertEqual(float(default.text), float(stated.group(1)), flag.text)
                except ValueError:
                    self.assertEqual(default.text, stated.group(1), flag.text)
        # And the other way: every flag of the tool is in the XML, except those in tool_only.
        for flag in re.findall(r"\n  --([a-z][a-z0-9-]*)", usage):
            if flag not in tool_only:
                self.assertIn(flag, flags, "--%s is missing from the Slicer XML of %s" % (flag, tool))
        # Slicer passes the indexed parameters positionally, in this order.
        indexed = sorted((int(p.find("index").text), p.find("name").text) for p in root.iter()
                         if p.find("index") is not None)
        self.assertEqual([name for _, name in indexed], indexed_names)
        # The Execution Model's rules: unique names; an index or a longflag (lower case, digits,
        # dashes) for every parameter but the output scalars, which have neither and come back in
        # the --returnparameterfile; file and image parameters say their channel.
        parameters = [p for group in root.iter("parameters") for p in group if p.find("name") is not None]
        names = [p.find("name").text for p in parameters]
        self.assertEqual(len(names), len(set(names)))
        for p in parameters:
            output_scalar = p.tag in ("integer", "double", "float", "string", "boolean") and \
                p.findtext("channel") == "output"
            has_flag = p.find("longflag") is not None or p.find("index") is not None
            self.assertEqual(has_flag, not output_scalar, p.find("name").text)
            if p.find("longflag") is not None:
                self.assertRegex(p.findtext("longflag"), r"^[a-z][a-z0-9-]*$")
            if p.tag in ("image", "file"):
                self.assertIn(p.findtext("channel"), ("input", "output"), p.find("name").text)
            # A <file> names the extensions Slicer's file dialog offers: ".ext" or ".ext.gz", comma-separated.
            if p.tag == "file":
                self.assertTrue(p.get("fileExtensions"), p.find("name").text)
            for extension in filter(None, p.get("fileExtensions", "").split(",")):
                self.assertRegex(extension, r"^\.[a-z0-9]+(\.gz)?$", p.find("name").text)
        return [p.find("name").text for p in parameters if p.find("longflag") is None and p.find("index") is None]

    def test_xml_is_valid_and_every_flag_exists(self):
        # Not in daps-recon's XML: switches, the ISMRMRD dataset name, single-slice exports, and
        # --preset: Slicer passes every value, so a preset there would be overridden at once.
        # --returnparameterfile is Slicer's own flag: the XML declares the parameters it fills.
        self.check_slicer_xml(RECON, {"xml", "help", "complex", "keep-repetitions", "no-prewhitening",
                                      "adjoint-only", "dataset", "save-coil-maps", "save-kspace", "preset",
                                      "returnparameterfile"},
                              ["output"])
        # daps-restore's XML leaves the sampler to the task's preset (Slicer would pass the mri
        # preset's values, which do not fit the nonlinear tasks): only samples and seed, which
        # every preset shares, are there.
        sampler = set(re.findall(r"\n  --([a-z][a-z0-9-]*)", run(RECON, "--help").stdout.split("--preset")[1]))
        self.check_slicer_xml(RESTORE, {"xml", "help", "complex", "preset", "returnparameterfile"} |
                              (sampler - {"samples", "seed", "threads"}), ["input", "output"])

    def test_the_return_parameter_file_holds_the_xml_output_parameters(self):
        for tool, arguments in ((RECON, [*self.inputs(), "--model", TINY, *FAST]),
                                (RESTORE, [self.case + "_reference.nii.gz", "--task", "hdr", "--simulate", "--model",
                                           TINY, *FAST])):
            outputs = self.check_slicer_xml(tool, set(re.findall(r"\n  --([a-z][a-z0-9-]*)", run(tool, "--help").stdout)),
                                            ["output"] if tool == RECON else ["input", "output"])
            returned = os.path.join(self.dir, "returned.txt")
            out = os.path.join(self.dir, "returned_out.nrrd")
            positional = [out] if tool == RECON else [arguments[0], out]
            r = run(tool, *(arguments if tool == RECON else arguments[1:]), *positional, "--returnparameterfile", returned)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(returned) as f:
                values = dict(line.split(" = ") for line in f.read().splitlines())
            self.assertEqual(sorted(values), sorted(outputs))
            self.assertGreater(float(values["denoiserEvaluations"]), 0)
            self.assertGreater(float(values["seconds"]), 0)
            self.assertGreaterEqual(float(values["relativeResidual"]), 0)

    def test_slicer_style_run_writes_outputs_and_reports_progress(self):
        out = os.path.join(self.dir, "slicer_out.nrrd")
        std = os.path.join(self.dir, "slicer_std.nrrd")
        r = run(RECON, *self.inputs(), "--model", TINY, "--samples", "2", "--std-output", std,
                "--mcmc", "exact", "--seed", "3", *FAST, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.getsize(out) > 0 and os.path.getsize(std) > 0)
        self.assertIn("<filter-start>", r.stdout)
        self.assertEqual(r.stdout.count("<filter-progress>"), 2)
        self.assertIn("<filter-end>", r.stdout)
        self.assertRegex(r.stderr, r"NFE \d+")

    def test_missing_input_file(self):
        out = os.path.join(self.dir, "missing.nrrd")
        r = run(RECON, "--kspace", "/nonexistent/k.mha", "--mask", self.case + "_mask.nrrd",
                "--model", TINY, out)
        self.assertFailsCleanly(r, out, "/nonexistent/k.mha")

    def test_wrong_coil_count(self):
        out = os.path.join(self.dir, "coils.nrrd")
        r = run(RECON, *self.inputs(maps=self.other), "--model", TINY, *FAST, out)
        self.assertFailsCleanly(r, out, "coils")

    def test_model_that_breaks_the_contract(self):
        out = os.path.join(self.dir, "broken.nrrd")
        r = run(RECON, *self.inputs(), "--model", BROKEN, *FAST, out)
        self.assertFailsCleanly(r, out, "contract")

    def test_corrupt_kspace_file(self):
        corrupt = os.path.join(self.dir, "corrupt_kspace.mha")
        with open(self.case + "_kspace.mha", "rb") as f:
            data = f.read()
        with open(corrupt, "wb") as f:
            f.write(data[: len(data) // 2])
        out = os.path.join(self.dir, "corrupt.nrrd")
        r = run(RECON, "--kspace", corrupt, "--coil-maps", self.case + "_maps.mha",
                "--mask", self.case + "_mask.nrrd", "--model", TINY, *FAST, out)
        self.assertFailsCleanly(r, out, "corrupt_kspace.mha")

    def test_bad_output_folder_is_refused_before_work(self):
        out = os.path.join(self.dir, "no", "such", "folder.nrrd")
        r = run(RECON, *self.inputs(), "--model", TINY, out)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("does not exist", r.stderr)

    def test_bad_values_and_unknown_flags(self):
        out = os.path.join(self.dir, "bad.nrrd")
        for extra, needle in ((["--steps", "many"], "integer"), (["--mcmc", "gibbs"], "MCMC method"),
                              (["--frobnicate", "1"], "unknown option"), (["--tau", "0"], "tau")):
            r = run(RECON, *self.inputs(), "--model", TINY, *extra, out)
            self.assertFailsCleanly(r, out, needle)

    def test_outputs_never_overwrite_inputs_or_each_other(self):
        kspace = self.case + "_kspace.mha"
        before = digest(kspace)
        r = run(RECON, *self.inputs(), "--model", TINY, *FAST, kspace)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("it is an input", r.stderr)
        self.assertEqual(digest(kspace), before)
        out = os.path.join(self.dir, "twice.nrrd")
        r = run(RECON, *self.inputs(), "--model", TINY, "--samples", "2", "--std-output", out, *FAST, out)
        self.assertFailsCleanly(r, out, "two outputs are the same file")
        folder = os.path.join(self.dir, "folder.nrrd")
        os.makedirs(folder, exist_ok=True)
        r = run(RECON, *self.inputs(), "--model", TINY, *FAST, folder)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("it is a folder", r.stderr)
        self.assertEqual(digest(kspace), before)

    def test_inputs_of_the_wrong_kind_are_refused(self):
        mask = self.case + "_mask.nrrd"
        real = os.path.join(self.dir, "real_kspace.mha")
        write_mha(real, (32, 32, 4), "MET_FLOAT", bytes(32 * 32 * 4 * 4))
        bytes8 = os.path.join(self.dir, "uchar_kspace.mha")
        write_mha(bytes8, (32, 32, 4), "MET_UCHAR", bytes(32 * 32 * 4))
        for kspace in (real, bytes8):
            out = os.path.join(self.dir, "kind.nrrd")
            r = run(RECON, "--kspace", kspace, "--coil-maps", self.case + "_maps.mha", "--mask", mask,
                    "--model", TINY, *FAST, out)
            self.assertFailsCleanly(r, out, "complex float")
        volume = os.path.join(self.dir, "mask3d.mha")
        write_mha(volume, (32, 32, 2), "MET_UCHAR", bytes([1]) * (32 * 32 * 2))
        out = os.path.join(self.dir, "mask3d.nrrd")
        r = run(RECON, "--kspace", self.case + "_kspace.mha", "--coil-maps", self.case + "_maps.mha",
                "--mask", volume, "--model", TINY, *FAST, out)
        self.assertFailsCleanly(r, out, "one 2-D scalar image")
        nan_mask = os.path.join(self.dir, "nan_mask.mha")
        write_mha(nan_mask, (32, 32), "MET_FLOAT", struct.pack("<f", float("nan")) * (32 * 32))
        r = run(RECON, "--kspace", self.case + "_kspace.mha", "--coil-maps", self.case + "_maps.mha",
                "--mask", nan_mask, "--model", TINY, *FAST, out)
        self.assertFailsCleanly(r, out, "NaN or Inf")
        r = run(RECON, "--kspace", self.case + "_kspace.mha", "--model", TINY, out)
        self.assertFailsCleanly(r, out, "--kspace needs --mask")

    def test_a_half_valued_mask_marks_samples_and_adjoint_only_skips_daps(self):
        # A float mask of 0.5 where the saved mask is 1 is the same mask, and --adjoint-only with
        # image inputs writes the zero-filled image: no network, the same image for any seed.
        ones = nrrd_bytes(self.case + "_mask.nrrd")
        self.assertEqual(len(ones), 32 * 32)
        half = os.path.join(self.dir, "half_mask.mha")
        write_mha(half, (32, 32), "MET_FLOAT", b"".join(struct.pack("<f", 0.5 if v else 0.0) for v in ones))
        images = []
        for mask, seed in ((self.case + "_mask.nrrd", "1"), (half, "2")):
            out = os.path.join(self.dir, "adjoint_%s.mha" % seed)
            r = run(RECON, "--kspace", self.case + "_kspace.mha", "--coil-maps", self.case + "_maps.mha",
                    "--mask", mask, "--adjoint-only", "--seed", seed, "--model", TINY, out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("NFE", r.stderr)
            images.append(mha_floats(out))
        self.assertEqual(images[0], images[1])
        self.assertGreater(max(images[0]), 0.0)

    def test_detached_header_outputs_name_their_final_data_files(self):
        for name, field in (("detached.mhd", "ElementDataFile = "), ("detached.nhdr", "data file: ")):
            out = os.path.join(self.dir, name)
            r = run(RECON, *self.inputs(), "--adjoint-only", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                header = f.read().decode("latin-1")
            data = header.split(field, 1)[1].split("\n", 1)[0].strip()
            self.assertTrue(data.startswith("detached."), header)
            self.assertTrue(os.path.getsize(os.path.join(self.dir, data)) > 0)
        self.assertEqual([f for f in os.listdir(self.dir) if ".partial" in f], [])

    def test_a_signal_leaves_the_previous_outputs_or_all_new_ones(self):
        # Runs stopped by SIGINT, SIGTERM or SIGHUP at times spread over the end of a run (work,
        # writing, renaming, done): no temporary file stays, and the image and its detached std
        # map are either both the previous ones or both complete new ones.
        out, std = os.path.join(self.dir, "sig.nrrd"), os.path.join(self.dir, "sig_std.mhd")
        raw = os.path.join(self.dir, "sig_std.zraw")
        args = [RECON, *self.inputs(), "--model", TINY, *FAST, "--samples", "2", "--std-output", std, out]
        self.assertEqual(run(*args, "--seed", "1").returncode, 0)
        old = [digest(p) for p in (out, std, raw)]
        start = time.monotonic()
        self.assertEqual(run(*args, "--seed", "2").returncode, 0)
        duration = time.monotonic() - start
        new = [digest(p) for p in (out, std, raw)]
        self.assertNotEqual(old, new)
        signals = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
        trials = 18
        for trial in range(trials):
            self.assertEqual(run(*args, "--seed", "1").returncode, 0)  # the previous outputs again
            process = subprocess.Popen([str(a) for a in args] + ["--seed", "2"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(duration * (0.75 + 0.4 * trial / (trials - 1)))
            sent = signals[trial % len(signals)]
            process.send_signal(sent)
            _, stderr = process.communicate(timeout=300)
            self.assertNotIn("Sanitizer", stderr)
            self.assertIn(process.returncode, (0, -sent), stderr)
            self.assertEqual([f for f in os.listdir(self.dir) if ".partial" in f], [], "trial %d" % trial)
            self.assertIn([digest(p) for p in (out, std, raw)], (old, new), "trial %d" % trial)

    def test_a_full_disk_keeps_the_previous_file(self):
        # A 200 KB tmpfs with one page free: every format must fail with a message and leave the file
        # that was there (the writers report short writes on stderr only, or not at all).
        disk = os.path.join(self.dir, "small")
        os.makedirs(disk, exist_ok=True)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", disk],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a small tmpfs here (needs root with mount rights)")
        try:
            extensions = ("mha", "mhd", "nii", "nii.gz", "nrrd", "nhdr")
            for ext in extensions:
                with open(os.path.join(disk, "out." + ext), "w") as f:
                    f.write("previous")
            free = os.statvfs(disk)
            with open(os.path.join(disk, "filler"), "wb") as f:  # one 4 KB page left; an output needs 8 KB
                f.write(bytes(free.f_bavail * free.f_frsize - 4096))
            for ext in extensions:
                out = os.path.join(disk, "out." + ext)
                r = run(RECON, *self.inputs(), "--adjoint-only", "--complex", out)
                self.assertNotEqual(r.returncode, 0, ext)
                self.assertIn("out." + ext, r.stderr)
                with open(out) as f:
                    self.assertEqual(f.read(), "previous", ext)
                self.assertEqual([f for f in os.listdir(disk) if ".partial" in f], [], ext)
        finally:
            subprocess.run(["umount", disk], capture_output=True)

    def test_limits_are_checked_before_any_work(self):
        out = os.path.join(self.dir, "limits.nrrd")
        for extra, needle in ((["--threads", "100000"], "--threads must be between 0 and 1024"),
                              (["--mcmc", "langevin", "--step-size", "1e30"], "unstable")):
            r = run(RECON, *self.inputs(), "--model", TINY, *FAST, *extra, out)
            self.assertFailsCleanly(r, out, needle)
        big = os.path.join(self.dir, "big.nii.gz")
        r = run(SIMULATE, big, "--size", "20000")
        self.assertFailsCleanly(r, big, "--size must be between 8 and 4096")

    def test_prior_samples_montage_size_and_zoom(self):
        out = os.path.join(self.dir, "samples.png")
        r = run(PRIOR_SAMPLES, out, "--model", TINY, "--size", "16", "--count", "3", "--columns", "2",
                "--zoom", "3", *FAST)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        # 2 columns x 2 rows of 48x48 panels (16 pixels, each 3x3), 4-pixel gaps.
        self.assertEqual(struct.unpack(">II", head[16:24]), (2 * 48 + 4, 2 * 48 + 4))
        bad = os.path.join(self.dir, "bad_zoom.png")
        self.assertFailsCleanly(run(PRIOR_SAMPLES, bad, "--model", TINY, "--zoom", "0"), bad, "--zoom")


def nrrd_header(path):
    """The text header of an (uncompressed or gzip) NRRD file as a dict."""
    fields = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("latin-1").rstrip("\n")
            if not line:
                break
            if ": " in line:
                key, value = line.split(": ", 1)
                fields[key] = value
    return fields


def mha_floats(path):
    """The pixel values of a float MetaImage with its data inside (compressed or not)."""
    with open(path, "rb") as f:
        data = f.read()
    marker = b"ElementDataFile = LOCAL\n"
    header, body = data[:data.index(marker)], data[data.index(marker) + len(marker):]
    if b"CompressedData = True" in header:
        body = zlib.decompress(body)
    return struct.unpack("<%df" % (len(body) // 4), body)


class RawDataInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.raw = os.path.join(cls.dir, "raw.h5")
        r = run(GENERATOR, "-m", "32", "-c", "4", "-a", "2", "-w", "16", "-C", "-o", cls.raw)
        assert r.returncode == 0, r.stdout + r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_ismrmrd_to_a_volume_with_scanner_geometry(self):
        out = os.path.join(self.dir, "volume.nrrd")
        r = run(RECON, self.raw, out, "--model", TINY, "--keep-repetitions", *FAST)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("prewhitened", r.stderr)
        header = nrrd_header(out)
        self.assertEqual(header["sizes"], "32 32 2")  # x, y and one slice per kept repetition
        origin = [float(v) for v in header["space origin"].strip("()").split(",")]
        self.assertAlmostEqual(origin[0], -150.0, places=3)  # 300 mm FOV, image centre at pixel 16
        self.assertAlmostEqual(origin[1], -150.0, places=3)
        directions = header["space directions"].split(") (")
        self.assertAlmostEqual(float(directions[0].strip("(").split(",")[0]), 300.0 / 32, places=4)
        self.assertIn("slices 1-2 of 2", r.stderr)  # both slices in one batch
        # One slice per batch gives the same volume; a bad batch size is refused before any work.
        single = os.path.join(self.dir, "volume_single.nrrd")
        r = run(RECON, self.raw, single, "--model", TINY, "--keep-repetitions", "--slice-batch", "1", *FAST)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(nrrd_header(single)["sizes"], "32 32 2")
        bad = os.path.join(self.dir, "volume_bad.nrrd")
        r = run(RECON, self.raw, bad, "--model", TINY, "--slice-batch", "-1", *FAST)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--slice-batch must be between 0 and 4096", r.stderr)
        self.assertFalse(os.path.exists(bad))

    def test_prewhitened_image_keeps_the_input_units(self):
        # The generator's coils have independent noise of equal power: whitening may not rescale the
        # image (it used to divide it by the noise std, about 20x here).
        raw = os.path.join(self.dir, "units.h5")
        self.assertEqual(run(GENERATOR, "-m", "128", "-c", "4", "-C", "-o", raw).returncode, 0)
        means = []
        for extra in ([], ["--no-prewhitening"]):
            out = os.path.join(self.dir, "units%d.mha" % len(extra))
            r = run(RECON, raw, out, "--adjoint-only", *extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            values = mha_floats(out)
            means.append(sum(values) / len(values))
        self.assertAlmostEqual(means[0] / means[1], 1.0, delta=0.05)

    def test_presets_and_single_flags_over_them(self):
        # The reference preset's 5 ODE steps per level, with the level count from --steps.
        out = os.path.join(self.dir, "preset.nrrd")
        r = run(RECON, self.raw, out, "--model", TINY, "--preset", "reference", "--steps", "2", "--mcmc-steps", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("NFE 10,", r.stderr)
        r = run(RECON, self.raw, out, "--model", TINY, "--preset", "reference", "--steps", "2", "--ode-steps", "1",
                "--mcmc", "mean")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("NFE 2,", r.stderr)
        r = run(RECON, self.raw, os.path.join(self.dir, "preset2.nrrd"), "--model", TINY, "--preset", "fastest")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("mri or reference", r.stderr)

    def test_slicer_style_ismrmrd_option(self):
        out = os.path.join(self.dir, "slicer.nrrd")
        r = run(RECON, "--ismrmrd", self.raw, "--model", TINY, *FAST, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(nrrd_header(out)["sizes"], "32 32 1")  # repetitions averaged

    def test_broken_or_unsupported_raw_files(self):
        for kind, needle in (("empty", "no acquisitions"), ("disagreeing", "disagrees"), ("radial", "not Cartesian")):
            raw = os.path.join(self.dir, kind + ".h5")
            self.assertEqual(run(BROKEN_WRITER, kind, raw).returncode, 0)
            out = os.path.join(self.dir, kind + ".nrrd")
            r = run(RECON, raw, out, "--model", TINY, *FAST)
            self.assertNotEqual(r.returncode, 0, kind)
            self.assertIn(needle, r.stderr)
            self.assertFalse(os.path.exists(out))
        out = os.path.join(self.dir, "dataset.nrrd")
        r = run(RECON, self.raw, out, "--dataset", "nosuchdataset", "--model", TINY, *FAST)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nosuchdataset", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_raw_input_is_never_written(self):
        before, mtime = digest(self.raw), os.stat(self.raw).st_mtime_ns
        out = os.path.join(self.dir, "other.nrrd")
        r = run(RECON, self.raw, out, "--dataset", "other", "--model", TINY, *FAST)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("dataset", r.stderr)
        r = run(UNDERSAMPLE, self.raw, self.raw)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("it is an input", r.stderr)
        self.assertEqual((digest(self.raw), os.stat(self.raw).st_mtime_ns), (before, mtime))
        self.assertEqual([f for f in os.listdir(self.dir) if ".partial" in f], [])

    def test_geometry_that_cannot_form_a_volume(self):
        for kind, needle in (("nan-fov", "field of view along y"), ("same-position", "same position")):
            raw = os.path.join(self.dir, kind + ".h5")
            self.assertEqual(run(BROKEN_WRITER, kind, raw).returncode, 0)
            out = os.path.join(self.dir, kind + ".nrrd")
            r = run(RECON, raw, out, "--model", TINY, *FAST)
            self.assertNotEqual(r.returncode, 0, kind)
            self.assertGreater(r.returncode, 0, "killed by a signal")
            self.assertIn(needle, r.stderr)
            self.assertFalse(os.path.exists(out))

    def test_truncated_raw_file(self):
        truncated = os.path.join(self.dir, "truncated.h5")
        with open(self.raw, "rb") as f:
            data = f.read()
        with open(truncated, "wb") as f:
            f.write(data[: len(data) // 3])
        out = os.path.join(self.dir, "truncated.nrrd")
        r = run(RECON, truncated, out, "--model", TINY, *FAST)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("truncated", r.stderr)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[6:], verbosity=2)
