"""Every model family compiles for NVIDIA GPUs without one: kiln-compile
--target=cuda gives PTX that the CUDA toolkit's ptxas accepts for sm_80 and
sm_90, and an artifact that links. Running the kernels needs a GPU (see
docs/cuda.md); these tests only need the toolkit, and are skipped with the
reason printed where it is missing."""
import os
import pathlib
import subprocess

import pytest

from conftest import run, tool
from families import FAMILIES, export

TOOLKIT = pathlib.Path("/usr/local/cuda")
PTXAS = TOOLKIT / "bin" / "ptxas"
LIBDEVICE = TOOLKIT / "nvvm" / "libdevice" / "libdevice.10.bc"


def _missing_toolkit():
    if not os.access(PTXAS, os.X_OK):
        return f"no ptxas at {PTXAS}"
    if not LIBDEVICE.exists():
        return f"no libdevice at {LIBDEVICE}"
    return None


@pytest.fixture(scope="module")
def toolkit():
    reason = _missing_toolkit()
    if reason:
        print(f"\nskipping the CUDA compile tests: {reason} "
              "(install the CUDA toolkit to run them)")
        pytest.skip(reason)


@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_compile(tmp_path, family, toolkit):
    onnx_path = tmp_path / f"{family}.onnx"
    export(family, onnx_path)
    for arch in ("sm_80", "sm_90"):
        ptx = tmp_path / f"{family}.{arch}.ptx"
        run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
             f"--gpu-arch={arch}", "--emit=ptx", "-o", str(ptx)])
        text = ptx.read_text()
        assert f".target {arch}" in text
        assert ".entry main_kernel0" in text
        p = subprocess.run([str(PTXAS), f"-arch={arch}", str(ptx), "-o",
                            str(tmp_path / f"{family}.{arch}.cubin")],
                           capture_output=True, text=True)
        assert p.returncode == 0, f"ptxas -arch={arch} rejected the PTX:\n" \
            f"{p.stdout}\n{p.stderr}"
    # The artifact (cubin for sm_90, made by ptxas) links and is marked as
    # a CUDA artifact for the runtime.
    so = tmp_path / f"{family}.so"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda", "-o",
         str(so)])
    assert b"kiln-artifact 1\ntarget cuda\n" in so.read_bytes()
