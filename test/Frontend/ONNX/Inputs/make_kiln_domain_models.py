"""Writes ONNX models that use kiln's custom ops (domain "kiln":
SelectiveScan, CausalConv1d), well-formed and not, into a directory (see
../kiln-domain.test)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
F = TensorProto.FLOAT
Bt, Di, N, L, K = 1, 4, 2, 5, 3


def vi(name, shape):
    return helper.make_tensor_value_info(name, F, shape)


def save(name, nodes, inputs, outputs, inits=(), version=1):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("kiln",
                                                                version)])
    with open(f"{out}/{name}.onnx", "wb") as f:
        f.write(m.SerializeToString())


def init(name, shape, lo=-1.0):
    return numpy_helper.from_array(
        np.linspace(lo, 1, int(np.prod(shape)), dtype=np.float32)
        .reshape(shape), name)


# The sequence operands are inputs, the parameters initializers.
seq = [vi("u", [Bt, Di, L]), vi("delta", [Bt, Di, L]), vi("B", [Bt, N, L]),
       vi("C", [Bt, N, L]), vi("z", [Bt, Di, L]), vi("h0", [Bt, Di, N])]
params = [init("A", [Di, N]), init("D", [Di], 0.5), init("dt_bias", [Di], 0.25)]
y, h = vi("y", [Bt, Di, L]), vi("h", [Bt, Di, N])
ALL = ["u", "delta", "A", "B", "C", "D", "z", "dt_bias", "h0"]


def scan(inputs, outputs=("y", "h"), name="scan", **attrs):
    return helper.make_node("SelectiveScan", inputs, list(outputs), name=name,
                            domain="kiln", **attrs)


# Every optional operand, softplus on.
save("scan-full", [scan(ALL, delta_softplus=1)], seq, [y, h], params)
# Only the required ones, y only; then D skipped ("") but z given.
save("scan-min", [scan(ALL[:5], outputs=["y"])], seq[:4], [y], params[:1])
save("scan-skip-d", [scan(ALL[:5] + ["", "z"], outputs=["y"])], seq[:5], [y],
     params[:1])

# Causal conv1d: prefill with bias and silu; decode step with a state.
conv_in = [vi("x", [Bt, Di, L]), vi("s0", [Bt, Di, K - 1])]
conv_params = [init("w", [Di, K]), init("b", [Di])]
yc, sc = vi("yc", [Bt, Di, L]), vi("s", [Bt, Di, K - 1])


def conv(inputs, outputs=("yc", "s"), name="conv", **attrs):
    return helper.make_node("CausalConv1d", inputs, list(outputs), name=name,
                            domain="kiln", **attrs)


save("conv-silu", [conv(["x", "w", "b"], activation="silu")], conv_in[:1],
     [yc, sc], conv_params)
save("conv-state", [conv(["x", "w", "", "s0"])], conv_in, [yc, sc],
     conv_params[:1])

# Malformed nodes: each must give a located error.
save("scan-arity", [scan(ALL[:4], outputs=["y"])], seq[:4], [y], params[:1])
save("scan-too-many", [scan(ALL + ["h0"])], seq, [y, h], params)
save("scan-outputs", [scan(ALL[:5], outputs=["y", "h", "extra"])], seq[:4],
     [y], params[:1])
save("scan-attr-type", [scan(ALL[:5], outputs=["y"], delta_softplus=1.0)],
     seq[:4], [y], params[:1])
save("scan-attr-value", [scan(ALL[:5], outputs=["y"], delta_softplus=2)],
     seq[:4], [y], params[:1])
save("scan-attr-unknown", [scan(ALL[:5], outputs=["y"], softplus=1)],
     seq[:4], [y], params[:1])
# A of [N, Di] instead of [Di, N].
save("scan-shape", [scan(["u", "delta", "At", "B", "C"], outputs=["y"])],
     seq[:4], [y], [init("At", [N, Di])])
save("scan-version", [scan(ALL[:5], outputs=["y"])], seq[:4], [y],
     params[:1], version=2)
save("conv-activation", [conv(["x", "w"], activation="relu")], conv_in[:1],
     [yc], conv_params[:1])
save("conv-activation-type", [conv(["x", "w"], activation=1)], conv_in[:1],
     [yc], conv_params[:1])
save("conv-arity", [conv(["x"])], conv_in[:1], [yc])
save("conv-weight", [conv(["x", "w3"], name="")], conv_in[:1], [yc],
     [init("w3", [Di, 1, K])])
save("unknown-op", [helper.make_node("Attention", ["x"], ["yc"],
                                     domain="kiln")], conv_in[:1], [yc])
