"""Writes the seed inputs of the fuzz targets into OUTDIR (project-generated data only).

usage: python3 make_seeds.py OUTDIR ISMRMRD_GENERATOR DAPS_SIMULATE TINY_MODEL
  OUTDIR/ismrmrd/raw.h5        a small Cartesian file with noise scans (ismrmrd generator)
  OUTDIR/xml/header.xml        its XML header
  OUTDIR/image/*.seed          first byte: 0 MetaImage, 1 NRRD, 2 NIfTI; then the file
  OUTDIR/model/dapsmri.json    the metadata inside the tiny test prior's archive
"""
import os
import subprocess
import sys
import zipfile

import h5py

out, generator, simulate, model = sys.argv[1:5]
for sub in ("ismrmrd", "xml", "image", "model"):
    os.makedirs(os.path.join(out, sub), exist_ok=True)
raw = os.path.join(out, "ismrmrd", "raw.h5")
subprocess.run([generator, "-m", "16", "-c", "2", "-C", "-o", raw], check=True, capture_output=True)
with h5py.File(raw, "r") as f:
    header = f["dataset/xml"][()]
header = header[0] if hasattr(header, "shape") and header.shape else header
with open(os.path.join(out, "xml", "header.xml"), "wb") as f:
    f.write(header if isinstance(header, bytes) else header.encode())
prefix = os.path.join(out, "image", "case")
subprocess.run([simulate, prefix + ".nii", "--size", "16", "--coils", "2", "--model", model, "--save-inputs", prefix,
                "--steps", "2", "--ode-steps", "1", "--mcmc-steps", "1"], check=True, capture_output=True)
for name, selector in (("_kspace.mha", 0), ("_maps.mha", 0), ("_mask.nrrd", 1), (".nii", 2)):
    with open(prefix + name, "rb") as f:
        data = f.read()
    with open(os.path.join(out, "image", name.strip("_.").replace(".", "_") + ".seed"), "wb") as f:
        f.write(bytes([selector]) + data)
with zipfile.ZipFile(model) as archive:
    name = next(n for n in archive.namelist() if n.endswith("/extra/dapsmri.json"))
    with open(os.path.join(out, "model", "dapsmri.json"), "wb") as f:
        f.write(archive.read(name))
