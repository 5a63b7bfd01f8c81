"""Already-quantized ONNX models (QDQ: DequantizeLinear on int8 / uint8
weight initializers feeding MatMul or Gemm) compile into kiln.qmatmul
(kiln-fold-qdq): outputs match numpy on the dequantized weights, the
artifact keeps the int8 bytes and --report lists the layers."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import run, tool

K, N, HIDDEN = 512, 768, 1024


def quantize_int8(w, axis):
    """Symmetric int8 per channel along `axis` (the output channel)."""
    amax = np.abs(w).max(axis=1 - axis)
    s = (amax / 127).astype(np.float32)
    shape = [1, 1]
    shape[axis] = -1
    q = np.clip(np.rint(w / s.reshape(shape)), -127, 127).astype(np.int8)
    return q, s


def dequant(q, s, z, axis):
    shape = [1, 1]
    shape[axis] = -1
    s = np.asarray(s).reshape(shape if np.ndim(s) else [])
    z = 0 if z is None else np.asarray(z).astype(np.int32).reshape(
        shape if np.ndim(z) else [])
    return ((q.astype(np.int32) - z) * s).astype(np.float32)


def build(tmp_path, layers, name):
    """x [4, K] through `layers`: (q, s, z, axis, form) with form "matmul"
    (q is [K, N]), "linear" (q is [N, K]: DequantizeLinear, Transpose,
    MatMul, as torch Linear exports) or "gemm" (q is [N, K], transB = 1);
    a Relu between layers. Returns the path and numpy's output."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, K)).astype(np.float32)
    nodes, inits = [], []
    cur, ref = "x", x
    for i, (q, s, z, axis, form) in enumerate(layers):
        inits += [numpy_helper.from_array(q, f"w{i}_q"),
                  numpy_helper.from_array(np.asarray(s, np.float32),
                                          f"w{i}_s")]
        ins = [f"w{i}_q", f"w{i}_s"]
        if z is not None:
            inits.append(numpy_helper.from_array(np.asarray(z, q.dtype),
                                                 f"w{i}_z"))
            ins.append(f"w{i}_z")
        nodes.append(helper.make_node("DequantizeLinear", ins, [f"w{i}"],
                                      name=f"dq{i}", axis=axis))
        w = dequant(q, s, z, axis)
        out = f"y{i}"
        if form == "matmul":
            nodes.append(helper.make_node("MatMul", [cur, f"w{i}"], [out],
                                          name=f"layer{i}"))
            ref = ref @ w
        elif form == "linear":
            nodes.append(helper.make_node("Transpose", [f"w{i}"],
                                          [f"w{i}_t"], perm=[1, 0]))
            nodes.append(helper.make_node("MatMul", [cur, f"w{i}_t"], [out],
                                          name=f"layer{i}"))
            ref = ref @ w.T
        else:
            nodes.append(helper.make_node("Gemm", [cur, f"w{i}"], [out],
                                          name=f"layer{i}", transB=1))
            ref = ref @ w.T
        cur = out
        if i + 1 < len(layers):
            nodes.append(helper.make_node("Relu", [cur], [f"r{i}"]))
            cur, ref = f"r{i}", np.maximum(ref, 0)
    out_dim = ref.shape[1]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, K])],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT,
                                       [4, out_dim])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("",
                                                                        17)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    return path, x, ref


def compile_run(tmp_path, path, x, flags=()):
    so = tmp_path / (path.stem + ".so")
    run([tool("kiln-compile"), str(path), "-o", str(so), *flags])
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / ("out_" + path.stem)
    run([tool("kiln-run"), str(so), "--input", str(tmp_path / "x.npy"),
         "--output-dir", str(out)])
    return np.load(sorted(out.glob("*.npy"))[0]), so


def weights(seed, rows, cols):
    return (np.random.default_rng(seed).standard_normal((rows, cols)) *
            0.05).astype(np.float32)


def int8_layers():
    """torch Linear form, ONNX MatMul form and Gemm, per channel and per
    tensor."""
    q0, s0 = quantize_int8(weights(1, HIDDEN, K), axis=0)   # [N, K]
    q1, s1 = quantize_int8(weights(2, HIDDEN, N), axis=1)   # [K, N]
    q2, s2 = quantize_int8(weights(3, 64, N), axis=0)       # [N, K]
    return [(q0, s0, None, 0, "linear"), (q1, s1, None, 1, "matmul"),
            (q2, np.float32(s2.max()), None, 0, "gemm")]


def test_int8_qdq(tmp_path):
    path, x, ref = build(tmp_path, int8_layers(), "qdq_int8")
    ir = run([tool("kiln-compile"), str(path), "--emit=kiln"]).stdout
    assert ir.count("kiln.qmatmul") == 3, ir[:4000]
    assert "kiln.dequantize" not in ir and "kiln.matmul" not in ir, ir[:4000]
    got, so = compile_run(tmp_path, path, x)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    # The fp32 weights would be 4 * (K*HIDDEN + HIDDEN*N + N*64) bytes.
    fp32 = 4 * (K * HIDDEN + HIDDEN * N + N * 64)
    assert so.stat().st_size < fp32 / 3, (so.stat().st_size, fp32)


def test_int8_qdq_reference_lowering(tmp_path):
    """--ukernels=false (kiln.qmatmul through linalg) computes the same."""
    path, x, ref = build(tmp_path, int8_layers(), "qdq_ref")
    got, _ = compile_run(tmp_path, path, x, ["--ukernels=false"])
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_uint8_zero_points(tmp_path):
    """uint8 with zero point 128 is exact; with other zero points (q - z
    beyond int8) the weight is requantized: close, with its error in the
    report."""
    w0 = weights(4, HIDDEN, K)
    q0, s0 = quantize_int8(w0, axis=0)
    u0 = (q0.astype(np.int32) + 128).astype(np.uint8)
    z0 = np.full(HIDDEN, 128, np.uint8)
    w1 = weights(5, HIDDEN, N)
    lo, hi = w1.min(axis=0), w1.max(axis=0)
    s1 = ((hi - lo) / 255).astype(np.float32)
    z1 = np.clip(np.rint(-lo / s1), 0, 255).astype(np.uint8)
    u1 = np.clip(np.rint(w1 / s1) + z1, 0, 255).astype(np.uint8)
    layers = [(u0, s0, z0, 0, "linear"), (u1, s1, z1, 1, "matmul")]
    path, x, ref = build(tmp_path, layers, "qdq_uint8")
    ir = run([tool("kiln-compile"), str(path), "--emit=kiln"]).stdout
    assert ir.count("kiln.qmatmul") == 2, ir[:4000]
    p = run([tool("kiln-compile"), str(path), "--emit=kiln", "--report"])
    rows = {l.split()[0]: l.split() for l in p.stderr.splitlines()
            if l.split() and l.split()[0] in ("layer0", "layer1")}
    assert set(rows) == {"layer0", "layer1"}, p.stderr
    assert float(rows["layer0"][-1]) == 0.0, p.stderr
    assert 0 < float(rows["layer1"][-1]) < 0.01, p.stderr
    got, _ = compile_run(tmp_path, path, x)
    cos = float(got.ravel() @ ref.ravel() /
                (np.linalg.norm(got) * np.linalg.norm(ref)))
    assert cos > 0.9999, cos


def test_report_lists_qdq_layers(tmp_path):
    path, _, _ = build(tmp_path, int8_layers(), "qdq_report")
    p = run([tool("kiln-compile"), str(path), "--emit=kiln", "--report"])
    report = p.stderr
    assert "quantized weights (relative L2 error" in report, report
    for i, shape in enumerate([f"{K}x{HIDDEN}", f"{HIDDEN}x{N}",
                               f"{N}x64"]):
        line = [l for l in report.splitlines()
                if l.strip().startswith(f"layer{i}")]
        assert len(line) == 1 and shape in line[0], report
        assert line[0].split()[-1] == "0.00000", report
    assert "3 products" in report, report


@pytest.mark.parametrize("flags", [["--quantize=int4"], ["--dtype=bf16"]])
def test_qdq_with_other_options(tmp_path, flags):
    """The int8 weights stay int8 under --quantize=int4 or --dtype=bf16."""
    path, x, ref = build(tmp_path, int8_layers(), "qdq_opts")
    ir = run([tool("kiln-compile"), str(path), "--emit=kiln",
              *flags]).stdout
    assert ir.count("bits = 8") == 3, ir[:4000]
    got, _ = compile_run(tmp_path, path, x, flags)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
