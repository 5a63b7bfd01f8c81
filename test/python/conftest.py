"""Shared set-up for the Python package's tests: import kiln from python/
with the libraries of the build under test (KILN_BUILD_DIR, set by
scripts/run-tests.sh; build/ by default)."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("KILN_BUILD_DIR", ROOT / "build"))
PYTHON = "/usr/bin/python3"

# The sanitizer build's libraries need the sanitizer runtime loaded first,
# which a plain python3 does not do. Preloading it (LD_PRELOAD) is no way
# out: with the ASan runtime preloaded, python3 crashes in LLJIT's
# __lljit_run_atexits when a JIT module is destroyed, even with the regular,
# uninstrumented build. The C API under the sanitizers is covered by the
# unit suite, and the runtime by valgrind (test/e2e/test_valgrind.py).
if os.environ.get("KILN_SANITIZE") == "1":
    collect_ignore_glob = ["test_*.py"]

os.environ["KILN_LIBRARY_DIR"] = str(BUILD / "lib")
sys.path.insert(0, str(ROOT / "python"))


def run(cmd, **kw):
    """Runs a command; on failure, the assertion shows its output."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                       **kw)
    assert p.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n"
        f"{p.stdout}\n{p.stderr}")
    return p


ADD_MLIR = """
// y = x * w + b with w = 1..6 as a weight.
func.func @main(%x: tensor<2x3xf32> {kiln.name = "x"},
                %b: tensor<3xf32> {kiln.name = "b"})
    -> (tensor<2x3xf32> {kiln.name = "y"}) {
  %w = kiln.constant dense_resource<w> : tensor<2x3xf32>
  %0 = kiln.mul %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = kiln.add %0, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F0000004000004040000080400000A0400000C040"
    }
  }
#-}
"""
ADD_WEIGHT = [[1, 2, 3], [4, 5, 6]]


@pytest.fixture
def add_mlir(tmp_path):
    """A small .mlir model: y = x * w + b."""
    p = tmp_path / "add.mlir"
    p.write_text(ADD_MLIR)
    return p


def make_onnx_mlp(path, dynamic_batch=False, seed=0):
    """An ONNX model built with onnx.helper: y = relu(x @ W + B) with
    x: [batch, 8] (batch 4, or dynamic); returns (path, W, B)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = rng.standard_normal((8, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    batch = "batch" if dynamic_batch else 4
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"], name="matmul"),
            helper.make_node("Add", ["xw", "B"], ["pre"], name="bias"),
            helper.make_node("Relu", ["pre"], ["y"], name="relu"),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 5])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path, w, b
