#!/usr/bin/env bash
# The install tree and the Debian package, as a user meets them (CTest: InstallTree, DebianPackage).
#   install SOURCE SCRATCH GENERATOR  builds SOURCE in SCRATCH/build for /usr, installs it to
#       SCRATCH/prefix, packs the .deb into SCRATCH/deb, deletes the build tree; then the installed
#       tools reconstruct raw data, and examples/ configures, builds and runs against the installed
#       package, the Python example with the installed Python module.
#   deb SOURCE SCRATCH GENERATOR      unpacks the .deb into SCRATCH/root, checks Debian's layout and
#       dependencies, and reconstructs raw data with the unpacked tools and Python module.
set -euo pipefail
mode=$1 source=$2 scratch=$3 generator=$4
python=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; exit 1; }

# Simulated raw data (as scripts/demo.sh, smaller): fully sampled, and a 4x subset of its lines.
simulate() {  # BIN_DIR WORK
  mkdir -p "$2"
  "$generator" -m 64 -c 4 -C -n 0.02 -o "$2/full.h5" > /dev/null
  "$1/daps-undersample" "$2/full.h5" "$2/undersampled.h5" --acceleration 4 --center-fraction 0.1
  "$1/daps-recon" "$2/full.h5" "$2/reference.nii.gz" --adjoint-only
  "$1/daps-recon" "$2/undersampled.h5" "$2/zero_filled.nii.gz" --adjoint-only
}

# DAPS with the shipped prior, found by the tool next to itself; the image must beat zero filling.
reconstruct() {  # BIN_DIR WORK EXPECTED_PRIOR
  "$1/daps-recon" "$2/undersampled.h5" "$2/daps.nii.gz" --steps 10 2> "$2/daps.log" || { cat "$2/daps.log"; fail "daps-recon"; }
  grep -q "prior $3" "$2/daps.log" || { cat "$2/daps.log"; fail "daps-recon did not use the installed prior $3"; }
  "$python" - "$2" <<'PY'
import sys, numpy as np, nibabel as nib
w = sys.argv[1]
ref, zf, daps = (np.asarray(nib.load(f"{w}/{n}.nii.gz").dataobj) for n in ("reference", "zero_filled", "daps"))
error = lambda x: np.linalg.norm(x - ref) / np.linalg.norm(ref)
print(f"relative error: zero-filled {error(zf):.3f}, DAPS {error(daps):.3f}")
assert daps.shape == ref.shape and np.isfinite(daps).all(), "DAPS image of the wrong shape or not finite"
assert error(daps) < error(zf), "DAPS does not beat zero filling"
PY
}

# The Python example with the installed module: the same image as daps-recon's, bit for bit.
python_example() {  # PYTHON_PATH WORK
  PYTHONPATH=$1 "$python" -c "import dapsmri, sys; assert dapsmri.__file__.startswith(sys.argv[1]), dapsmri.__file__" "$1"
  PYTHONPATH=$1 "$python" "$source/examples/ReconstructISMRMRD/reconstruct_ismrmrd.py" "$2/undersampled.h5" \
    "$2/python.nii.gz" steps=10
  "$python" -c "import nibabel as nib, numpy as np, sys; a, b = (np.asarray(nib.load(p).dataobj) for p in sys.argv[1:]); \
assert np.array_equal(a, b), 'the Python example differs from daps-recon'" "$2/python.nii.gz" "$2/daps.nii.gz"
}

case "$mode" in
install)
  rm -rf "$scratch" && mkdir -p "$scratch"
  cmake -S "$source" -B "$scratch/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DBUILD_TESTING=OFF -DDAPSMRI_BUILD_BENCHMARKS=OFF -DDAPSMRI_USE_CUDA=OFF > "$scratch/configure.log" 2>&1 \
    || { tail -30 "$scratch/configure.log"; fail "configure"; }
  cmake --build "$scratch/build" -j "$(nproc)" > "$scratch/build.log" 2>&1 || { tail -30 "$scratch/build.log"; fail "build"; }
  cmake --install "$scratch/build" --prefix "$scratch/prefix" > /dev/null
  cpack --config "$scratch/build/CPackConfig.cmake" -B "$scratch/deb" > "$scratch/cpack.log" 2>&1 \
    || { cat "$scratch/cpack.log"; fail "cpack -G DEB"; }
  rm -rf "$scratch/build"

  prefix=$scratch/prefix
  "$prefix/bin/daps-recon" --help > /dev/null
  simulate "$prefix/bin" "$scratch/raw"
  reconstruct "$prefix/bin" "$scratch/raw" "$prefix/share/dapsmri/models/brain_prior.pt"

  cmake -S "$source/examples" -B "$scratch/examples" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
    > "$scratch/examples.log" 2>&1 || { tail -30 "$scratch/examples.log"; fail "examples: configure"; }
  grep -q "$prefix/lib/.*/cmake/DAPSMRI" "$scratch/examples/CMakeCache.txt" || fail "examples: not the installed package"
  cmake --build "$scratch/examples" >> "$scratch/examples.log" 2>&1 || { tail -30 "$scratch/examples.log"; fail "examples: build"; }
  "$prefix/bin/daps-simulate" "$scratch/raw/simulated.nii.gz" --size 64 --coils 4 --steps 2 --save-inputs "$scratch/raw/in" > /dev/null 2>&1
  "$scratch/examples/ReconstructImages/ReconstructImages" "$scratch/raw/in_kspace.mha" "$scratch/raw/in_maps.mha" \
    "$scratch/raw/in_mask.nrrd" "$scratch/raw/example.nii.gz"
  "$python" -c "import nibabel as nib, numpy as np, sys; x = np.asarray(nib.load(sys.argv[1]).dataobj); r = np.asarray(nib.load(sys.argv[2]).dataobj); \
c = np.corrcoef(x.ravel(), r.ravel())[0, 1]; print(f'example: correlation with the phantom {c:.3f}'); assert x.shape[:2] == (64, 64) and c > 0.9" \
    "$scratch/raw/example.nii.gz" "$scratch/raw/in_reference.nii.gz"
  python_path=$(echo "$prefix"/lib/python3*/dist-packages)
  python_example "$python_path" "$scratch/raw"
  echo "install tree: tools, prior, examples and the Python module work without the build tree"
  ;;
deb)
  deb=$(ls "$scratch"/deb/dapsmri_*_*.deb)
  root=$scratch/root
  rm -rf "$root" && dpkg-deb -x "$deb" "$root"
  for path in usr/bin/daps-recon usr/lib/x86_64-linux-gnu/libDAPSMRI.so usr/include/DAPSMRI/itkMRIDAPSReconstructionImageFilter.h \
      usr/lib/x86_64-linux-gnu/cmake/DAPSMRI/DAPSMRIConfig.cmake usr/share/dapsmri/models/brain_prior.pt \
      usr/share/dapsmri/slicer/daps-recon.xml usr/share/doc/dapsmri/copyright usr/share/doc/dapsmri/changelog.gz; do
    [ -e "$root/$path" ] || fail "the package lacks /$path"
  done
  [ -z "$(find "$root" -mindepth 1 -maxdepth 1 ! -name usr)" ] || fail "the package installs outside /usr"
  for tool in daps-recon daps-restore daps-simulate daps-undersample daps-montage daps-prior-samples; do
    zcat "$root/usr/share/man/man1/$tool.1.gz" | grep -q "^\.TH ${tool^^} \"1\"" || fail "no man page of $tool"
  done
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "Depends: $depends"
  for package in libinsighttoolkit5.2 libtorch1.13 libfftw3-single3 libismrmrd1.8; do
    [[ "$depends" == *"$package"* ]] || fail "Depends does not name $package"
  done
  simulate "$root/usr/bin" "$scratch/deb-raw"
  reconstruct "$root/usr/bin" "$scratch/deb-raw" "$root/usr/share/dapsmri/models/brain_prior.pt"
  python_example "$root/usr/lib/python3/dist-packages" "$scratch/deb-raw"
  echo "package: Debian layout and dependencies; the unpacked tools run"
  ;;
*) fail "unknown mode $mode" ;;
esac
