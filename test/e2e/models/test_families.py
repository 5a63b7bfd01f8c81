"""Each model family, exported from PyTorch to ONNX at test time, compiled
by kiln (ahead of time and through the JIT) and compared with PyTorch."""
import numpy as np
import pytest

from conftest import run, tool
from families import FAMILIES, export


@pytest.mark.parametrize("family", FAMILIES)
def test_family(tmp_path, family):
    onnx_path = tmp_path / f"{family}.onnx"
    inputs, outputs = export(family, onnx_path)
    args = []
    for i, x in enumerate(inputs):
        np.save(tmp_path / f"in{i}.npy", x)
        args += ["--input", str(tmp_path / f"in{i}.npy")]
    np.save(tmp_path / "want.npy", outputs[0])
    args += ["--expect", str(tmp_path / "want.npy"), "--atol", "1e-4",
             "--rtol", "1e-3"]
    jit = run([tool("kiln-run"), str(onnx_path), *args])
    assert " ok" in jit.stdout
    so = tmp_path / f"{family}.so"
    run([tool("kiln-compile"), str(onnx_path), "-o", str(so)])
    aot = run([tool("kiln-run"), str(so), *args])
    assert " ok" in aot.stdout
