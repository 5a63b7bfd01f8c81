"""Writes malformed or unsupported ONNX models into a directory, one per
error the importer must report (see ../errors.test)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
F, I8, I64 = TensorProto.FLOAT, TensorProto.INT8, TensorProto.INT64


def vi(name, ty, shape):
    return helper.make_tensor_value_info(name, ty, shape)


def save(name, nodes, inputs, outputs, inits=(), opset=17, domains=()):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v)
                                              for d, v in domains]
    m = helper.make_model(g, opset_imports=ops)
    with open(f"{out}/{name}.onnx", "wb") as f:
        f.write(m.SerializeToString())


x4 = vi("x", F, [2, 4])
y4 = vi("y", F, [2, 4])

with open(f"{out}/garbage.onnx", "wb") as f:
    f.write(b"\x12\xff\xff\xff\xff\x0fnot a model")
save("unsupported", [helper.make_node("Bernoulli", ["x"], ["y"])], [x4], [y4])
save("domain", [helper.make_node("Foo", ["x"], ["y"], domain="com.acme")],
     [x4], [y4], domains=[("com.acme", 1)])
save("int-tan", [helper.make_node("Tan", ["x"], ["y"])], [vi("x", I8, [3])],
     [vi("y", I8, [3])])
save("undefined-input", [helper.make_node("Relu", ["nope"], ["y"])], [x4],
     [y4])
save("not-ssa", [helper.make_node("Relu", ["x"], ["y"]),
                 helper.make_node("Relu", ["x"], ["y"])], [x4], [y4])
save("no-output", [helper.make_node("Relu", ["x"], ["z"])], [x4], [y4])
save("dynamic", [helper.make_node("Relu", ["x"], ["y"])],
     [vi("x", F, ["batch", 4])], [vi("y", F, ["batch", 4])])
save("unknown-attr", [helper.make_node("Relu", ["x"], ["y"], bogus=3)], [x4],
     [y4])
save("bad-axis", [helper.make_node("Softmax", ["x"], ["y"], axis=5)], [x4],
     [y4])
save("reshape", [helper.make_node("Reshape", ["x", "s"], ["y"])], [x4],
     [vi("y", F, [3, 3])], [numpy_helper.from_array(np.array([3, 3]), "s")])
save("broadcast", [helper.make_node("Add", ["x", "b"], ["y"])], [x4], [y4],
     [numpy_helper.from_array(np.zeros([3], np.float32), "b")])
save("onehot-depth", [helper.make_node("OneHot", ["i", "d", "v"], ["y"])],
     [vi("i", I64, [2])], [vi("y", F, [2, 0])],
     [numpy_helper.from_array(np.array([1e300]), "d"),
      numpy_helper.from_array(np.array([0, 1], np.float32), "v")])
save("resize-nan", [helper.make_node("Resize", ["x", "", "sc"], ["y"])],
     [x4], [y4], [numpy_helper.from_array(
         np.array([1, np.nan], np.float32), "sc")], opset=13)
save("batchnorm-params", [helper.make_node(
    "BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])],
    [vi("x", F, [1, 3, 2])], [vi("y", F, [1, 3, 2])],
    [numpy_helper.from_array(np.ones([k], np.float32), n)
     for n, k in [("s", 3), ("b", 3), ("m", 2), ("v", 3)]])
save("shape-input", [helper.make_node("Reshape", ["x", "s"], ["y"])],
     [x4, vi("s", I64, [2])], [y4])
# Opset 5's Add broadcast only when told to, with an attribute kiln lacks.
save("old-opset", [helper.make_node("Add", ["x", "x"], ["y"], broadcast=1)],
     [x4], [y4], opset=5)
# A truncated copy of a valid model.
with open(f"{out}/unsupported.onnx", "rb") as f:
    data = f.read()
with open(f"{out}/truncated.onnx", "wb") as f:
    f.write(data[: len(data) // 2])
