"""Shared helpers for kiln's end-to-end tests: locate the tools, run them,
compare with references."""
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("KILN_BUILD_DIR", ROOT / "build"))
BIN = BUILD / "bin"


def tool(name):
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make build` first")
    return str(path)


def run(cmd, **kw):
    """Runs a command; on failure, the assertion shows its output."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert p.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n"
        f"{p.stdout}\n{p.stderr}")
    return p


CUDA_TOOLKIT = pathlib.Path("/usr/local/cuda")
PTXAS = CUDA_TOOLKIT / "bin" / "ptxas"
LIBDEVICE = CUDA_TOOLKIT / "nvvm" / "libdevice" / "libdevice.10.bc"


def missing_cuda_toolkit():
    """Why the CUDA compile tests cannot run here, or None."""
    if not os.access(PTXAS, os.X_OK):
        return f"no ptxas at {PTXAS}"
    if not LIBDEVICE.exists():
        return f"no libdevice at {LIBDEVICE}"
    return None


def missing_gpu():
    """Why nothing can run on a GPU here, or None."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "no CUDA driver (libcuda.so.1)"
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or \
            cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or \
            count.value == 0:
        return "the CUDA driver finds no GPU"
    return None


def ptxas(ptx, arch):
    """Asserts that the toolkit's ptxas accepts the PTX file for `arch`."""
    p = subprocess.run([str(PTXAS), f"-arch={arch}", str(ptx), "-o",
                        str(ptx) + f".{arch}.cubin"],
                       capture_output=True, text=True)
    assert p.returncode == 0, f"ptxas -arch={arch} rejected {ptx}:\n" \
        f"{p.stdout}\n{p.stderr}"


def ptx_only_toolkit(tmp_path):
    """A CUDA toolkit folder with libdevice and no ptxas: kiln-compile then
    embeds PTX (for --gpu-arch), which the driver compiles for the GPU at
    hand."""
    root = tmp_path / "toolkit"
    (root / "nvvm").mkdir(parents=True)
    (root / "nvvm" / "libdevice").symlink_to(LIBDEVICE.parent)
    return root


def npy_args(tmp_path, inputs, expected=(), atol=None, rtol=None):
    """kiln-run arguments: each input saved as in{i}.npy (--input), each
    expected output as want{i}.npy (--expect), and the tolerances."""
    args = []
    for flag, name, arrays in (("--input", "in", inputs),
                               ("--expect", "want", expected)):
        for i, a in enumerate(arrays):
            p = tmp_path / f"{name}{i}.npy"
            np.save(p, a)
            args += [flag, str(p)]
    if atol is not None:
        args += ["--atol", str(atol)]
    if rtol is not None:
        args += ["--rtol", str(rtol)]
    return args


def resource_blob(array):
    """The hex string of a builtin dense_resource blob holding `array`."""
    a = np.ascontiguousarray(array)
    align = max(a.dtype.itemsize, 1)
    return "0x" + align.to_bytes(4, "little").hex() + a.tobytes().hex()


def compile_and_run(tmp_path, mlir_text, inputs, expected, atol=1e-4,
                    rtol=1e-3, entry=None, extra_compile=()):
    """Compiles `mlir_text` ahead of time and runs it, runs it through the
    JIT too, checks both against `expected` and against each other
    (bit for bit)."""
    src = tmp_path / "model.mlir"
    src.write_text(mlir_text)
    so = tmp_path / "model.so"
    run([tool("kiln-compile"), str(src), "-o", str(so), *extra_compile])
    args = npy_args(tmp_path, inputs, expected, atol, rtol)
    if entry:
        args += ["--entry", entry]
    outs = {}
    for mode, model in (("aot", so), ("jit", src)):
        d = tmp_path / mode
        run([tool("kiln-run"), str(model), *args, "--output-dir", str(d)])
        outs[mode] = sorted(d.glob("*.npy"))
    for a, j in zip(outs["aot"], outs["jit"]):
        assert np.array_equal(np.load(a), np.load(j), equal_nan=True), \
            f"AOT and JIT outputs differ for {a.name}"
