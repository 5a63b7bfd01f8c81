"""The runtime's element types (kiln_dtype) and their numpy equivalents."""
import numpy as np

# kiln_dtype value -> (name, numpy dtype). bfloat16 has no numpy type: its
# tensors are exchanged as uint16 arrays holding the raw bits.
DTYPES = {
    0: ("f32", np.dtype(np.float32)),
    1: ("f16", np.dtype(np.float16)),
    2: ("bf16", np.dtype(np.uint16)),
    3: ("f64", np.dtype(np.float64)),
    4: ("i64", np.dtype(np.int64)),
    5: ("i32", np.dtype(np.int32)),
    6: ("i16", np.dtype(np.int16)),
    7: ("i8", np.dtype(np.int8)),
    8: ("u8", np.dtype(np.uint8)),
    9: ("bool", np.dtype(np.bool_)),
}


def to_numpy(kiln_dtype):
    """(name, numpy dtype) of a kiln_dtype value."""
    try:
        return DTYPES[kiln_dtype]
    except KeyError:
        raise ValueError("unknown kiln dtype %d" % kiln_dtype) from None


def code(name):
    """The kiln_dtype value of a runtime dtype name ("f32", "i64", ...)."""
    for value, (n, _) in DTYPES.items():
        if n == name:
            return value
    raise ValueError("unknown kiln dtype %r" % name)
