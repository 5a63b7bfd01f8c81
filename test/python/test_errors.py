"""Errors come back as kiln exceptions carrying the compiler's and the
runtime's messages, with locations; nothing crashes."""
import numpy as np
import pytest
import torch

import kiln


def test_missing_model_file(tmp_path):
    with pytest.raises(kiln.CompileError) as e:
        kiln.compile(tmp_path / "nope.onnx")
    assert e.value.code == "io_error"
    assert "nope.onnx" in str(e.value)


def test_bad_mlir_has_located_diagnostics(tmp_path):
    p = tmp_path / "bad.mlir"
    p.write_text(
        "func.func @main(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> "
        "tensor<2x3xf32> {\n"
        "  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> "
        "tensor<2x3xf32>\n"
        "  return %0 : tensor<2x3xf32>\n}\n")
    with pytest.raises(kiln.CompileError) as e:
        kiln.compile(p)
    assert e.value.code == "format_error"
    assert "bad.mlir:2:8: error: operand shapes do not broadcast: 2x3, 4" in \
        e.value.diagnostics
    # AOT reports the same.
    with pytest.raises(kiln.CompileError, match="bad.mlir:2:8"):
        kiln.compile(p, output=tmp_path / "bad.so")


def test_bad_onnx(tmp_path):
    p = tmp_path / "garbage.onnx"
    p.write_bytes(b"\x08\x07garbage")
    with pytest.raises(kiln.CompileError, match="not a valid ONNX model"):
        kiln.compile(p)
    p = tmp_path / "model.txt"
    p.write_text("hello")
    with pytest.raises(kiln.CompileError, match="unknown model format"):
        kiln.compile(p)


def test_unsupported_onnx_op_names_the_node(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("Bernoulli", ["x"], ["y"], name="coin")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(kiln.CompileError, match=r"Bernoulli.*unsupported op"):
        kiln.compile(model)


def test_bad_options(add_mlir):
    with pytest.raises(kiln.CompileError, match="unknown target 'cuda'") as e:
        kiln.compile(add_mlir, target="cuda")
    assert e.value.code == "invalid_argument"
    with pytest.raises(kiln.CompileError, match="unknown CPU 'pentium9000'"):
        kiln.compile(add_mlir, cpu="pentium9000")
    with pytest.raises(kiln.CompileError, match="out of range"):
        kiln.compile(add_mlir, opt_level=7)
    with pytest.raises(kiln.CompileError, match="out of range"):
        kiln.compile(add_mlir, input_shapes={"x": (-1, 3)})
    with pytest.raises(TypeError, match="expected a model file path"):
        kiln.compile(42)
    with pytest.raises(ValueError, match="needs example_inputs"):
        kiln.compile(torch.nn.ReLU())


def test_save_needs_an_artifact(add_mlir, tmp_path):
    m = kiln.compile(add_mlir)
    with pytest.raises(kiln.Error, match="JIT-compiled"):
        m.save(tmp_path / "x.so")


def test_load_errors(tmp_path):
    with pytest.raises(kiln.RuntimeError) as e:
        kiln.load(tmp_path / "nope.so")
    assert "nope.so" in str(e.value)
    bad = tmp_path / "bad.so"
    bad.write_bytes(b"not an elf file")
    with pytest.raises(kiln.RuntimeError) as e:
        kiln.load(bad)
    assert e.value.code in ("format_error", "io_error")


def test_error_hierarchy():
    assert issubclass(kiln.CompileError, kiln.Error)
    assert issubclass(kiln.RuntimeError, kiln.Error)
    assert issubclass(kiln.RuntimeError, RuntimeError)
    assert issubclass(kiln.InvalidInputError, kiln.RuntimeError)
