"""ONNX files and protos through kiln.compile, with input shapes and bound
inputs."""
import numpy as np
import onnx
import pytest

import kiln
from conftest import make_onnx_mlp


def reference(x, w, b):
    return np.maximum(x @ w + b, 0)


def test_onnx_file(tmp_path):
    path, w, b = make_onnx_mlp(tmp_path / "mlp.onnx")
    m = kiln.compile(str(path))
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_allclose(m(x), reference(x, w, b), atol=1e-5, rtol=1e-4)


def test_onnx_proto_and_pathlike(tmp_path):
    path, w, b = make_onnx_mlp(tmp_path / "mlp.onnx")
    x = np.ones((4, 8), np.float32)
    m1 = kiln.compile(onnx.load(str(path)))
    m2 = kiln.compile(path)  # a pathlib.Path
    np.testing.assert_array_equal(m1(x), m2(x))
    np.testing.assert_allclose(m1(x), reference(x, w, b), atol=1e-5,
                               rtol=1e-4)


def test_dynamic_dimension_needs_input_shape(tmp_path):
    path, w, b = make_onnx_mlp(tmp_path / "dyn.onnx", dynamic_batch=True)
    try:
        kiln.compile(path)
        raise AssertionError("a dynamic model compiled without a shape")
    except kiln.CompileError as e:
        assert "dynamic dimension" in str(e) and "--input-shape" in str(e)
    m = kiln.compile(path, input_shapes={"x": (3, 8)})
    assert m.inputs[0].shape == (3, 8)
    x = np.arange(24, dtype=np.float32).reshape(3, 8) / 10
    np.testing.assert_allclose(m(x), reference(x, w, b), atol=1e-5, rtol=1e-4)


def test_bind_specializes_an_input(tmp_path, add_mlir):
    path, w, b = make_onnx_mlp(tmp_path / "mlp.onnx")
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8)
    m = kiln.compile(path, bind={"x": x})
    assert m.inputs == () and [o.name for o in m.outputs] == ["y"]
    np.testing.assert_allclose(m(), reference(x, w, b), atol=1e-5, rtol=1e-4)
    # Bindings and input shapes are ONNX import options: an error for MLIR.
    with pytest.raises(kiln.CompileError, match="apply to ONNX models"):
        kiln.compile(add_mlir, bind={"b": np.zeros(3, np.float32)})
    with pytest.raises(kiln.CompileError, match="apply to ONNX models"):
        kiln.compile(add_mlir, input_shapes={"x": (2, 3)})


def test_options(add_mlir):
    x = np.ones((2, 3), np.float32)
    b = np.zeros(3, np.float32)
    want = kiln.compile(add_mlir)(x, b)
    for kw in ({"opt_level": 0}, {"ukernels": False},
               {"lower_fused_ops": False}, {"cpu": "x86-64-v3"}):
        np.testing.assert_array_equal(kiln.compile(add_mlir, **kw)(x, b),
                                      want)
