"""The runtime under valgrind's memcheck (issue "Robustness and scale"): an
artifact of a GPT-2-style model runs with its real inputs and with bad ones,
and memcheck must find no invalid read or write, no use of uninitialized
memory and no leak. Valgrind does not decode AVX-512, so the artifact is
compiled for x86-64-v3 (AVX2) and the runtime's micro-kernels take their
portable path (valgrind's CPUID hides AVX-512 from them)."""
import shutil
import subprocess

import numpy as np
import pytest

from conftest import run, tool

import pathlib
import sys
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "models"))
from families import export  # noqa: E402

VALGRIND = shutil.which("valgrind")
pytestmark = pytest.mark.skipif(VALGRIND is None,
                                reason="valgrind is not installed (make deps)")


def memcheck(args):
    cmd = [VALGRIND, "--error-exitcode=99", "--leak-check=full",
           "--errors-for-leak-kinds=definite,indirect",
           "--show-leak-kinds=definite,indirect", "-q", *args]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("valgrind")
    onnx_path = tmp / "gpt2.onnx"
    inputs, outputs = export("gpt2", onnx_path)
    so = tmp / "gpt2.so"
    run([tool("kiln-compile"), str(onnx_path), "--cpu=x86-64-v3", "-o",
         str(so)])
    np.save(tmp / "in0.npy", inputs[0])
    np.save(tmp / "want.npy", outputs[0])
    return tmp, so


def test_run_is_clean(artifact):
    tmp, so = artifact
    p = memcheck([tool("kiln-run"), str(so), "--input", str(tmp / "in0.npy"),
                  "--expect", str(tmp / "want.npy"), "--atol", "1e-4",
                  "--rtol", "1e-3", "--threads", "2"])
    assert p.returncode == 0, p.stdout + p.stderr
    assert " ok" in p.stdout, p.stdout
    assert "==" not in p.stderr, p.stderr  # -q: memcheck prints only errors


@pytest.mark.parametrize("bad,message", [
    ("shape", "must have shape [1x16], got [1x17]"),
    ("dtype", "must be i64, got f32"),
    ("truncated", "truncated"),
])
def test_bad_inputs_are_clean(artifact, bad, message):
    """Bad inputs are rejected with a message, and the rejection itself is
    memcheck-clean (exit code 1 from kiln-run, not valgrind's 99)."""
    tmp, so = artifact
    x = np.load(tmp / "in0.npy")
    path = tmp / f"bad_{bad}.npy"
    if bad == "shape":
        np.save(path, np.zeros((1, x.shape[1] + 1), x.dtype))
    elif bad == "dtype":
        np.save(path, x.astype(np.float32))
    else:
        np.save(path, x)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) - 8])
    p = memcheck([tool("kiln-run"), str(so), "--input", str(path)])
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert message in p.stderr, p.stderr
    assert "==" not in p.stderr, p.stderr
