"""A module's signature: entry points, names, dtypes and shapes, and the
checks calls are held to."""
import numpy as np
import pytest

import kiln
from conftest import ADD_WEIGHT


@pytest.fixture
def add(add_mlir):
    return kiln.compile(add_mlir)


def test_signature(add):
    assert add.name == "main"
    assert add.entry_points == ["main"]
    assert add.inputs == (
        kiln.TensorInfo("x", np.dtype(np.float32), (2, 3), "f32"),
        kiln.TensorInfo("b", np.dtype(np.float32), (3, ), "f32"),
    )
    (y, ) = add.outputs
    assert (y.name, y.dtype, y.shape, y.kiln_dtype) == ("y", np.float32,
                                                        (2, 3), "f32")
    assert add.artifact is None
    assert add.workspace_bytes >= 0
    assert "main" in repr(add) and "JIT" in repr(add)
    assert add.entry("main").inputs == add.inputs


def test_zero_copy_and_out(add):
    x = np.ones((2, 3), np.float32)
    b = np.zeros(3, np.float32)
    out = np.empty((2, 3), np.float32)
    (y, ) = add.run(x, b, out=[out])
    assert y is out
    np.testing.assert_array_equal(out, np.array(ADD_WEIGHT, np.float32))


def test_conversions_and_layouts(add):
    want = add(np.ones((2, 3), np.float32), np.zeros(3, np.float32))
    # Lists and scalars-in-lists convert to the input's dtype.
    np.testing.assert_array_equal(add([[1, 1, 1], [1, 1, 1]], [0, 0, 0]), want)
    # Strided and misaligned arrays are accepted (copied when they must be).
    big = np.ones((4, 6), np.float32)
    np.testing.assert_array_equal(add(big[::2, ::2], np.zeros(3, np.float32)),
                                  want)
    raw = np.zeros(7, np.float32)[1:].reshape(2, 3)
    raw[:] = 1
    np.testing.assert_array_equal(add(raw, np.zeros(3, np.float32)), want)


def test_bad_inputs_raise(add):
    x = np.ones((2, 3), np.float32)
    b = np.zeros(3, np.float32)
    with pytest.raises(kiln.InvalidInputError, match="takes 2 inputs"):
        add(x)
    with pytest.raises(kiln.InvalidInputError,
                       match=r"input 'x' must have dtype float32 \(f32\), "
                       "got float64"):
        add(x.astype(np.float64), b)
    with pytest.raises(kiln.InvalidInputError,
                       match=r"input 'b' must have shape \[3\], got \[4\]"):
        add(x, np.zeros(4, np.float32))
    with pytest.raises(kiln.InvalidInputError, match="no input named 'z'"):
        add(x, z=b)
    with pytest.raises(kiln.InvalidInputError, match="cannot be converted"):
        add(x, ["a", "b", "c"])
    with pytest.raises(kiln.InvalidInputError, match="out array"):
        add.run(x, b, out=[np.empty((3, 2), np.float32).T])
    with pytest.raises(kiln.InvalidInputError, match="has 1 outputs"):
        add.run(x, b, out=[])
    # InvalidInputError is a kiln.RuntimeError and a ValueError.
    with pytest.raises(ValueError):
        add(x)
    with pytest.raises(kiln.RuntimeError):
        add(x)
    with pytest.raises(kiln.Error, match="no entry point 'nope'"):
        add.entry("nope")


def test_integer_inputs_and_outputs(tmp_path):
    """Tensors are passed with their own dtype: i64 ids in, i64 out."""
    p = tmp_path / "gather.mlir"
    p.write_text("""
func.func @main(%t: tensor<4x2xf32> {kiln.name = "table"},
                %ids: tensor<3xi64> {kiln.name = "ids"})
    -> (tensor<3x2xf32> {kiln.name = "rows"},
        tensor<3xi64> {kiln.name = "twice"}) {
  %r = kiln.gather %t, %ids {axis = 0 : i64}
      : (tensor<4x2xf32>, tensor<3xi64>) -> tensor<3x2xf32>
  %d = kiln.add %ids, %ids : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %r, %d : tensor<3x2xf32>, tensor<3xi64>
}
""")
    m = kiln.compile(p)
    assert [i.kiln_dtype for i in m.inputs] == ["f32", "i64"]
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    ids = np.array([3, 0, 2], np.int64)
    rows, twice = m(table, ids)
    np.testing.assert_array_equal(rows, table[ids])
    assert twice.dtype == np.int64
    np.testing.assert_array_equal(twice, 2 * ids)
