"""Every kiln op, end to end (AOT and JIT) against numpy or PyTorch, in
fp32 with broadcasting and sizes that are no multiples of the vector width.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import (compile_and_run, missing_cuda_toolkit, npy_args,
                      ptxas, resource_blob, run, tool)

R = np.random.default_rng(1234)
MLIR_TYPES = {np.dtype("float32"): "f32", np.dtype("float16"): "f16",
              np.dtype("int64"): "i64", np.dtype("int32"): "i32",
              np.dtype("int8"): "i8", np.dtype("uint8"): "ui8",
              np.dtype("bool"): "i1"}


def ttype(a):
    a = np.asarray(a)
    shape = "x".join(map(str, a.shape))
    return f"tensor<{shape + 'x' if shape else ''}{MLIR_TYPES[a.dtype]}>"


def randn(*shape, scale=1.0):
    return (R.standard_normal(shape) * scale).astype(np.float32)


def module(inputs, outputs, body, resources=None):
    """A module with one entry point @main(%a0, %a1, ...) whose body ends by
    returning %r0, %r1, ... (the expected outputs' types)."""
    args = ", ".join(f"%a{i}: {ttype(x)}" for i, x in enumerate(inputs))
    rtypes = ", ".join(ttype(y) for y in outputs)
    rets = ", ".join(f"%r{i}" for i in range(len(outputs)))
    text = (f"func.func @main({args}) -> ({rtypes}) {{\n{body}\n"
            f"  return {rets} : {rtypes}\n}}\n")
    if resources:
        blobs = ",\n".join(f"      {k}: \"{resource_blob(v)}\""
                          for k, v in resources.items())
        text += ("{-#\n  dialect_resources: {\n    builtin: {\n" + blobs +
                 "\n    }\n  }\n#-}\n")
    return text


def check(tmp_path, inputs, outputs, body, atol=1e-4, rtol=1e-3, **kw):
    compile_and_run(tmp_path, module(inputs, outputs, body, **kw), inputs,
                    outputs, atol=atol, rtol=rtol)


# --- elementwise -------------------------------------------------------------

X = randn(3, 5, 17)
POS = np.abs(randn(3, 5, 17)) + 0.2
WIDE = np.linspace(-30, 30, 3 * 5 * 17, dtype=np.float32).reshape(3, 5, 17)
HALVES = (np.arange(3 * 5 * 17, dtype=np.float32).reshape(3, 5, 17) - 120) / 2
erf = np.vectorize(math.erf)

UNARY = {
    "neg": (X, lambda x: -x),
    "abs": (X, np.abs),
    "exp": (X * 3, np.exp),
    "log": (POS, np.log),
    "sqrt": (POS, np.sqrt),
    "rsqrt": (POS, lambda x: 1 / np.sqrt(x)),
    "reciprocal": (POS, lambda x: 1 / x),
    "tanh": (X * 3, np.tanh),
    "erf": (X * 2, erf),
    "sigmoid": (WIDE, lambda x: 1 / (1 + np.exp(-x.astype(np.float64)))),
    "relu": (X, lambda x: np.maximum(x, 0)),
    "silu": (WIDE, lambda x: x / (1 + np.exp(-x.astype(np.float64)))),
    "softplus": (WIDE, lambda x: F.softplus(torch.from_numpy(x).double(),
                                            threshold=100).numpy()),
    "sin": (X * 4, np.sin),
    "cos": (X * 4, np.cos),
    "floor": (X * 4, np.floor),
    "ceil": (X * 4, np.ceil),
    "round": (HALVES, np.round),
    "sign": (np.concatenate([X[:, :4], np.zeros((3, 1, 17), np.float32)], 1),
             np.sign),
}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(tmp_path, op):
    x, ref = UNARY[op]
    y = ref(x).astype(np.float32)
    check(tmp_path, [x], [y],
          f"  %r0 = kiln.{op} %a0 : {ttype(x)}", atol=2e-5, rtol=1e-4)


def test_unary_int(tmp_path):
    x = R.integers(-50, 50, (4, 9)).astype(np.int32)
    body = (f"  %r0 = kiln.neg %a0 : {ttype(x)}\n"
            f"  %r1 = kiln.abs %a0 : {ttype(x)}\n"
            f"  %r2 = kiln.relu %a0 : {ttype(x)}\n"
            f"  %r3 = kiln.sign %a0 : {ttype(x)}")
    check(tmp_path, [x], [-x, np.abs(x), np.maximum(x, 0), np.sign(x)], body)


def test_not(tmp_path):
    b = R.random((6, 5)) > 0.5
    check(tmp_path, [b], [~b], f"  %r0 = kiln.not %a0 : {ttype(b)}")


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(tmp_path, approximate):
    x = X * 3
    y = F.gelu(torch.from_numpy(x).double(), approximate=approximate).numpy()
    attr = "" if approximate == "none" else " approximate tanh"
    check(tmp_path, [x], [y.astype(np.float32)],
          f"  %r0 = kiln.gelu %a0{attr} : {ttype(x)}", atol=2e-5)


def test_clamp_leaky_relu(tmp_path):
    x = X * 4
    body = (f"  %r0 = kiln.clamp %a0 {{min = -1.5 : f64, max = 2.0 : f64}} : {ttype(x)}\n"
            f"  %r1 = kiln.clamp %a0 {{max = 0.5 : f64}} : {ttype(x)}\n"
            f"  %r2 = kiln.leaky_relu %a0 {{alpha = 0.1 : f64}} : {ttype(x)}")
    check(tmp_path, [x], [np.clip(x, -1.5, 2.0), np.minimum(x, 0.5),
                          np.where(x >= 0, x, 0.1 * x).astype(np.float32)], body)


def test_cast(tmp_path):
    x = X * 10
    i = R.integers(-1000, 1000, (3, 5, 17)).astype(np.int64)
    b = x > 0
    t = ttype
    body = (f"  %r0 = kiln.cast %a0 : {t(x)} to {t(x.astype(np.int32))}\n"
            f"  %r1 = kiln.cast %a1 : {t(i)} to {t(x)}\n"
            f"  %r2 = kiln.cast %a0 : {t(x)} to {t(b)}\n"
            f"  %r3 = kiln.cast %a2 : {t(b)} to {t(x)}\n"
            f"  %r4 = kiln.cast %a0 : {t(x)} to {t(x.astype(np.float16))}\n"
            f"  %r5 = kiln.cast %a1 : {t(i)} to {t(i.astype(np.int8))}")
    check(tmp_path, [x, i, b],
          [np.trunc(x).astype(np.int32), i.astype(np.float32), x != 0,
           b.astype(np.float32), x.astype(np.float16), i.astype(np.int8)],
          body)


A = randn(3, 1, 17)
B = randn(5, 1)
BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply,
    "div": np.divide, "max": np.maximum, "min": np.minimum,
}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_broadcast(tmp_path, op):
    y = BINARY[op](A, B).astype(np.float32)
    check(tmp_path, [A, B], [y],
          f"  %r0 = kiln.{op} %a0, %a1 : ({ttype(A)}, {ttype(B)}) -> {ttype(y)}",
          rtol=1e-4)


def test_pow(tmp_path):
    base = np.abs(randn(4, 7)) + 0.1
    e = randn(7)
    sq = np.array(2.0, np.float32)
    neg = randn(4, 7)
    t = ttype
    body = (f"  %r0 = kiln.pow %a0, %a1 : ({t(base)}, {t(e)}) -> {t(base)}\n"
            f"  %c2 = kiln.constant dense<2.0> : tensor<f32>\n"
            f"  %r1 = kiln.pow %a2, %c2 : ({t(neg)}, tensor<f32>) -> {t(neg)}\n"
            f"  %c3 = kiln.constant dense<3.0> : tensor<f32>\n"
            f"  %r2 = kiln.pow %a2, %c3 : ({t(neg)}, tensor<f32>) -> {t(neg)}")
    check(tmp_path, [base, e, neg],
          [np.power(base, e), neg ** sq, neg ** np.float32(3)], body, rtol=1e-4)


def test_integer_arith(tmp_path):
    a = R.integers(-100, 100, (4, 6)).astype(np.int64)
    b = R.integers(1, 9, (6,)).astype(np.int64) * R.choice([-1, 1], 6)
    t = ttype
    body = "\n".join(
        f"  %r{k} = kiln.{op} %a0, %a1 : ({t(a)}, {t(b)}) -> {t(a)}"
        for k, op in enumerate(["add", "sub", "mul", "div", "max", "min"]))
    ref = [a + b, a - b, a * b, np.trunc(a / b).astype(np.int64),
           np.maximum(a, b), np.minimum(a, b)]
    check(tmp_path, [a, b], ref, body)


def test_integer_division_by_zero(tmp_path):
    # kiln defines x / 0 = 0 for integers (ONNX leaves it undefined; the
    # CPU would trap).
    a = np.array([7, -7, 3, np.iinfo(np.int32).min], np.int32)
    b = np.array([0, 2, -1, -1], np.int32)
    t = ttype
    check(tmp_path, [a, b], [np.array([0, -3, -3, np.iinfo(np.int32).min],
                                      np.int32)],
          f"  %r0 = kiln.div %a0, %a1 : ({t(a)}, {t(b)}) -> {t(a)}")


def test_logical(tmp_path):
    p = R.random((4, 1)) > 0.5
    q = R.random((6,)) > 0.5
    t = ttype
    out = np.logical_and(p, q)
    body = "\n".join(
        f"  %r{k} = kiln.{op} %a0, %a1 : ({t(p)}, {t(q)}) -> {t(out)}"
        for k, op in enumerate(["and", "or", "xor"]))
    check(tmp_path, [p, q], [p & q, p | q, p ^ q], body)


def test_cmp_select(tmp_path):
    a = np.round(randn(4, 1, 6) * 2)
    b = np.round(randn(5, 6) * 2)
    t = ttype
    preds = {"eq": np.equal, "ne": np.not_equal, "lt": np.less,
             "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}
    outs = [f(a, b) for f in preds.values()]
    body = "\n".join(
        f"  %r{k} = kiln.cmp {p}, %a0, %a1 : ({t(a)}, {t(b)}) -> {t(outs[0])}"
        for k, p in enumerate(preds))
    sel = np.where(outs[2], a, np.float32(-9)).astype(np.float32)
    body += (f"\n  %m9 = kiln.constant dense<-9.0> : tensor<f32>\n"
             f"  %r6 = kiln.select %r2, %a0, %m9 : ({t(outs[2])}, {t(a)}, tensor<f32>) -> {t(sel)}")
    check(tmp_path, [a, b], outs + [sel], body)


def check_cuda_emulated(tmp_path, inputs, outputs, body, flags=(),
                        resources=None, atol=1e-4, rtol=1e-3):
    """Compiles the module for the CUDA target, emulated on the host
    (--cuda-emulate), and checks its outputs; returns the source's path."""
    src = tmp_path / "model.mlir"
    src.write_text(module(inputs, outputs, body, resources))
    so = tmp_path / "model.so"
    run([tool("kiln-compile"), str(src), "-o", str(so), "--target=cuda",
         "--cuda-emulate", *flags])
    args = npy_args(tmp_path, inputs, outputs, atol, rtol)
    assert " ok" in run([tool("kiln-run"), str(so), *args]).stdout
    return src


def cuda_ptx(tmp_path, src, flags=()):
    """The module's PTX for sm_80 (skips without a CUDA toolkit), which
    ptxas accepts for sm_80 and sm_90."""
    if missing_cuda_toolkit():
        pytest.skip(missing_cuda_toolkit())
    ptx = tmp_path / "model.ptx"
    run([tool("kiln-compile"), str(src), "-o", str(ptx), "--target=cuda",
         "--gpu-arch=sm_80", "--emit=ptx", *flags])
    for arch in ("sm_80", "sm_90"):
        ptxas(ptx, arch)
    return ptx.read_text()


# --- matmul, conv, pool ---------------------------------------------------------


def test_matmul_weights(tmp_path):
    x = randn(3, 7, 13)
    w = randn(13, 9)
    y = x @ w
    body = (f"  %w = kiln.constant dense_resource<w> : {ttype(w)}\n"
            f"  %r0 = kiln.matmul %a0, %w : ({ttype(x)}, {ttype(w)}) -> {ttype(y)}")
    check(tmp_path, [x], [y], body, resources={"w": w})


def test_matmul_batch_broadcast(tmp_path):
    a = randn(2, 1, 5, 6)
    b = randn(3, 6, 4)
    y = np.matmul(a, b)
    check(tmp_path, [a, b], [y],
          f"  %r0 = kiln.matmul %a0, %a1 : ({ttype(a)}, {ttype(b)}) -> {ttype(y)}")


def test_matmul_cuda_tiled(tmp_path):
    """The CUDA target's tiled matmuls (a block per 64 x 64 output tile,
    16-deep operand slices in shared memory, barriers between copy and
    use), emulated on the host phase by phase, against numpy: sizes with
    partial tiles in M, N and K, a batch, a batch broadcast against a 2-D
    weight, and a weight used transposed (its contiguous dimension K); and
    decode-shaped products of 1 and 2 rows (the split-K kernel: warps sum
    ranges of K, reduced through shared memory). The PTX has one kernel
    per product and ptxas accepts it."""
    a, b = randn(100, 70), randn(70, 90)
    c, d = randn(3, 37, 45), randn(3, 45, 50)
    e, f = randn(2, 40, 20), randn(20, 33)
    x, w = randn(64, 48), randn(96, 48)
    g, h = randn(1, 300), randn(300, 70)
    p, q = randn(3, 2, 50), randn(50, 40)
    T = ttype
    body = (f"  %r0 = kiln.matmul %a0, %a1 : ({T(a)}, {T(b)}) -> tensor<100x90xf32>\n"
            f"  %r1 = kiln.matmul %a2, %a3 : ({T(c)}, {T(d)}) -> tensor<3x37x50xf32>\n"
            f"  %r2 = kiln.matmul %a4, %a5 : ({T(e)}, {T(f)}) -> tensor<2x40x33xf32>\n"
            f"  %t = kiln.transpose %a7 {{permutation = array<i64: 1, 0>}} : {T(w)} -> tensor<48x96xf32>\n"
            f"  %r3 = kiln.matmul %a6, %t : ({T(x)}, tensor<48x96xf32>) -> tensor<64x96xf32>\n"
            f"  %r4 = kiln.matmul %a8, %a9 : ({T(g)}, {T(h)}) -> tensor<1x70xf32>\n"
            f"  %r5 = kiln.matmul %a10, %a11 : ({T(p)}, {T(q)}) -> tensor<3x2x40xf32>")
    inputs = [a, b, c, d, e, f, x, w, g, h, p, q]
    outputs = [a @ b, c @ d, e @ f, x @ w.T, g @ h, p @ q]
    src = check_cuda_emulated(tmp_path, inputs, outputs, body)
    text = cuda_ptx(tmp_path, src)
    assert text.count(".entry main_matmul") == 6
    assert ".shared" in text and "bar.sync" in text


def test_matmul_cuda_tensor_cores(tmp_path):
    """--dtype=bf16 products on the CUDA target's tensor cores (mma.sync
    m16n8k16, bf16 operands, f32 accumulation), emulated on the host warp
    by warp with the PTX fragment layouts, against numpy on the same
    bf16-rounded operands: partial tiles in M, N and K (K not a multiple
    of 16) and a batch against a 2-D weight. The PTX has the bf16 mma.sync
    instructions and ptxas accepts it for sm_80 and sm_90."""
    x, w = randn(100, 70), randn(70, 90)
    y, v = randn(3, 37, 45), randn(45, 50)
    T = ttype
    body = (f"  %w = kiln.constant dense_resource<w> : {T(w)}\n"
            f"  %v = kiln.constant dense_resource<v> : {T(v)}\n"
            f"  %r0 = kiln.matmul %a0, %w : ({T(x)}, {T(w)}) -> tensor<100x90xf32>\n"
            f"  %r1 = kiln.matmul %a1, %v : ({T(y)}, {T(v)}) -> tensor<3x37x50xf32>")

    def bf16(a):
        return torch.from_numpy(a).bfloat16().float().numpy()
    outputs = [bf16(x) @ bf16(w), bf16(y) @ bf16(v)]
    src = check_cuda_emulated(tmp_path, [x, y], outputs, body,
                              ["--dtype=bf16"], {"w": w, "v": v}, rtol=1e-4)
    text = cuda_ptx(tmp_path, src, ["--dtype=bf16"])
    assert text.count(".entry main_matmul") == 2
    assert "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" in text


def test_matmul_int8(tmp_path):
    a = R.integers(-128, 128, (5, 33)).astype(np.int8)
    b = R.integers(-128, 128, (33, 7)).astype(np.int8)
    y = a.astype(np.int32) @ b.astype(np.int32)
    check(tmp_path, [a, b], [y],
          f"  %r0 = kiln.matmul %a0, %a1 : ({ttype(a)}, {ttype(b)}) -> {ttype(y)}")


@pytest.mark.parametrize("groups,stride,pad,dil", [
    (1, (1, 1), (1, 1, 1, 1), (1, 1)),
    (1, (2, 3), (0, 2, 1, 0), (1, 2)),
    (3, (1, 1), (1, 1, 1, 1), (1, 1)),
    (6, (2, 2), (1, 1, 1, 1), (1, 1)),
])
def test_conv2d(tmp_path, groups, stride, pad, dil):
    x = randn(2, 6, 11, 9)
    w = randn(12, 6 // groups, 3, 3)
    b = randn(12)
    ref = F.conv2d(F.pad(torch.from_numpy(x), (pad[1], pad[3], pad[0], pad[2])),
                   torch.from_numpy(w), torch.from_numpy(b), stride=stride,
                   dilation=dil, groups=groups).numpy()
    attrs = (f"{{strides = array<i64: {stride[0]}, {stride[1]}>, "
             f"padding = array<i64: {', '.join(map(str, pad))}>, "
             f"dilations = array<i64: {dil[0]}, {dil[1]}>, groups = {groups} : i64}}")
    check(tmp_path, [x, w, b], [ref],
          f"  %r0 = kiln.conv %a0, %a1, %a2 {attrs} : ({ttype(x)}, {ttype(w)}, {ttype(b)}) -> {ttype(ref)}",
          atol=1e-4)


@pytest.mark.parametrize("kernel,pad", [((3, 3), (1, 1)), ((5, 3), (2, 1))])
def test_upsample_conv(tmp_path, kernel, pad):
    """A conv after a 2x nearest upsample (spelled as the ONNX importer
    does) runs as four convs at the low resolution (kiln-upsample-conv),
    with folded constant weights; the result is PyTorch's."""
    x = randn(2, 5, 6, 7)
    w = randn(4, 5, *kernel)
    b = randn(4)
    ref = F.conv2d(F.interpolate(torch.from_numpy(x), scale_factor=2.0,
                                 mode="nearest"),
                   torch.from_numpy(w), torch.from_numpy(b),
                   padding=pad).numpy()
    body = (
        f"  %w = kiln.constant dense_resource<w> : {ttype(w)}\n"
        f"  %s1 = kiln.reshape %a0 : {ttype(x)} to tensor<2x5x6x1x7xf32>\n"
        f"  %e1 = kiln.expand %s1 : tensor<2x5x6x1x7xf32> to tensor<2x5x6x2x7xf32>\n"
        f"  %s2 = kiln.reshape %e1 : tensor<2x5x6x2x7xf32> to tensor<2x5x12x7x1xf32>\n"
        f"  %e2 = kiln.expand %s2 : tensor<2x5x12x7x1xf32> to tensor<2x5x12x7x2xf32>\n"
        f"  %u = kiln.reshape %e2 : tensor<2x5x12x7x2xf32> to tensor<2x5x12x14xf32>\n"
        f"  %r0 = kiln.conv %u, %w, %a1 {{padding = array<i64: {pad[0]}, "
        f"{pad[1]}, {pad[0]}, {pad[1]}>}} : (tensor<2x5x12x14xf32>, "
        f"{ttype(w)}, {ttype(b)}) -> {ttype(ref)}")
    check(tmp_path, [x, b], [ref], body, resources={"w": w})


def test_conv1d_depthwise(tmp_path):
    x = randn(2, 5, 19)
    w = randn(5, 1, 4)
    ref = F.conv1d(torch.from_numpy(x), torch.from_numpy(w), padding=3,
                   groups=5).numpy()[..., :19]
    check(tmp_path, [x, w], [ref],
          f"  %r0 = kiln.conv %a0, %a1 {{groups = 5 : i64, padding = array<i64: 3, 0>}} : ({ttype(x)}, {ttype(w)}) -> {ttype(ref)}")


@pytest.mark.parametrize("kind,include", [("max", False), ("avg", False),
                                          ("avg", True)])
def test_pool2d(tmp_path, kind, include):
    x = randn(2, 3, 10, 9)
    t = torch.from_numpy(x)
    if kind == "max":
        ref = F.max_pool2d(t, 3, stride=2, padding=1).numpy()
    else:
        ref = F.avg_pool2d(t, 3, stride=2, padding=1,
                           count_include_pad=include).numpy()
    flag = ", count_include_pad = true" if include else ""
    check(tmp_path, [x], [ref],
          f"  %r0 = kiln.pool {kind} %a0 {{kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, "
          f"padding = array<i64: 1, 1, 1, 1>{flag}}} : {ttype(x)} -> {ttype(ref)}")


def test_pool1d(tmp_path):
    x = randn(2, 3, 13)
    ref = F.max_pool1d(torch.from_numpy(x), 2, stride=2).numpy()
    check(tmp_path, [x], [ref],
          f"  %r0 = kiln.pool max %a0 {{kernel = array<i64: 2>, strides = array<i64: 2>}} : {ttype(x)} -> {ttype(ref)}")


# --- reductions, softmax, norms --------------------------------------------------


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min", "prod"])
def test_reduce(tmp_path, kind):
    x = randn(3, 5, 17) * 0.5 + (1.0 if kind == "prod" else 0.0)
    ref = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min,
           "prod": np.prod}[kind]
    y0 = ref(x, axis=(0, 2)).astype(np.float32)
    y1 = ref(x, axis=1, keepdims=True).astype(np.float32)
    body = (f"  %r0 = kiln.reduce {kind} %a0 {{axes = array<i64: 0, 2>}} : {ttype(x)} -> {ttype(y0)}\n"
            f"  %r1 = kiln.reduce {kind} %a0 {{axes = array<i64: 1>, keepdims = true}} : {ttype(x)} -> {ttype(y1)}")
    check(tmp_path, [x], [y0, y1], body, rtol=1e-4)


def test_reduce_int(tmp_path):
    x = R.integers(-20, 20, (4, 9)).astype(np.int64)
    y = x.sum(1)
    check(tmp_path, [x], [y],
          f"  %r0 = kiln.reduce sum %a0 {{axes = array<i64: 1>}} : {ttype(x)} -> {ttype(y)}")


def test_arg_reduce(tmp_path):
    x = np.round(randn(4, 13) * 2)  # ties
    amax = np.argmax(x, 1)
    amin_last = x.shape[1] - 1 - np.argmin(x[:, ::-1], 1)
    body = (f"  %r0 = kiln.arg_reduce argmax %a0 {{axis = 1 : i64}} : {ttype(x)} -> {ttype(amax)}\n"
            f"  %r1 = kiln.arg_reduce argmin %a0 {{axis = 1 : i64, select_last_index = true}} : {ttype(x)} -> {ttype(amin_last)}")
    check(tmp_path, [x], [amax, amin_last], body)


def test_softmax(tmp_path):
    x = randn(3, 17, 5) * 20
    t = torch.from_numpy(x).double()
    body = (f"  %r0 = kiln.softmax %a0 {{axis = 1 : i64}} : {ttype(x)}\n"
            f"  %r1 = kiln.log_softmax %a0 {{axis = 2 : i64}} : {ttype(x)}")
    check(tmp_path, [x], [torch.softmax(t, 1).float().numpy(),
                          torch.log_softmax(t, 2).float().numpy()], body,
          atol=2e-5)


def test_norms(tmp_path):
    x = randn(2, 7, 13) * 3 + 5
    g = randn(13)
    b = randn(13)
    g2 = randn(7, 13)
    t = torch.from_numpy(x).double()
    ln = F.layer_norm(t, (13,), torch.from_numpy(g).double(),
                      torch.from_numpy(b).double(), 1e-5).numpy()
    ln2 = F.layer_norm(t, (7, 13), torch.from_numpy(g2).double(), None,
                       1e-5).numpy()
    rms = (t / torch.sqrt((t * t).mean(-1, keepdim=True) + 1e-6) *
           torch.from_numpy(g).double()).numpy()
    T = ttype
    body = (f"  %r0 = kiln.layer_norm %a0 scale(%a1) bias(%a2) {{axis = 2 : i64}} : ({T(x)}, {T(g)}, {T(b)}) -> {T(x)}\n"
            f"  %r1 = kiln.layer_norm %a0 scale(%a3) {{axis = 1 : i64}} : ({T(x)}, {T(g2)}) -> {T(x)}\n"
            f"  %r2 = kiln.rms_norm %a0 scale(%a1) {{axis = 2 : i64}} : ({T(x)}, {T(g)}) -> {T(x)}")
    check(tmp_path, [x, g, b, g2], [ln.astype(np.float32),
                                    ln2.astype(np.float32),
                                    rms.astype(np.float32)], body)


def test_group_norm(tmp_path):
    x = randn(2, 6, 5, 3) * 2 + 1
    g = randn(6)
    b = randn(6)
    ref = F.group_norm(torch.from_numpy(x), 3, torch.from_numpy(g),
                       torch.from_numpy(b), 1e-5).numpy()
    inst = F.instance_norm(torch.from_numpy(x), eps=1e-5).numpy()
    T = ttype
    body = (f"  %r0 = kiln.group_norm %a0 scale(%a1) bias(%a2) {{num_groups = 3 : i64}} : ({T(x)}, {T(g)}, {T(b)}) -> {T(x)}\n"
            f"  %r1 = kiln.group_norm %a0 {{num_groups = 6 : i64}} : ({T(x)}) -> {T(x)}")
    check(tmp_path, [x, g, b], [ref, inst], body)


# --- shapes ------------------------------------------------------------------------


def test_shape_ops(tmp_path):
    x = randn(2, 3, 5)
    y = randn(2, 4, 5)
    tbl = randn(10, 6)
    idx = np.array([[0, -1, 3], [9, -10, 5]], np.int64)
    o = randn(3, 1)
    T = ttype
    outs = [
        x.reshape(5, 6),
        x.transpose(2, 0, 1),
        x[:, 2:0:-1, 1:5:2],
        np.concatenate([x, y], 1),
        tbl[np.where(idx < 0, idx + 10, idx)],
        np.broadcast_to(o, (2, 3, 4)).astype(np.float32),
        np.pad(x, ((0, 0), (1, 0), (2, 1)), constant_values=1.5),
    ]
    body = (
        f"  %r0 = kiln.reshape %a0 : {T(x)} to {T(outs[0])}\n"
        f"  %r1 = kiln.transpose %a0 {{permutation = array<i64: 2, 0, 1>}} : {T(x)} -> {T(outs[1])}\n"
        f"  %r2 = kiln.slice %a0 {{starts = array<i64: 0, 2, 1>, sizes = array<i64: 2, 2, 2>, steps = array<i64: 1, -1, 2>}} : {T(x)} -> {T(outs[2])}\n"
        f"  %r3 = kiln.concat %a0, %a1 {{axis = 1 : i64}} : ({T(x)}, {T(y)}) -> {T(outs[3])}\n"
        f"  %r4 = kiln.gather %a2, %a3 {{axis = 0 : i64}} : ({T(tbl)}, {T(idx)}) -> {T(outs[4])}\n"
        f"  %r5 = kiln.expand %a4 : {T(o)} to {T(outs[5])}\n"
        f"  %r6 = kiln.pad %a0 {{pads = array<i64: 0, 1, 2, 0, 0, 1>, value = 1.5 : f64}} : {T(x)} -> {T(outs[6])}")
    check(tmp_path, [x, y, tbl, idx, o], outs, body)


def test_gather_inner_axis_clamps(tmp_path):
    x = randn(3, 7, 2)
    idx = np.array([2, 100, -100, -1], np.int64)  # out of range: clamped
    y = x[:, np.clip(np.where(idx < 0, idx + 7, idx), 0, 6)]
    check(tmp_path, [x, idx], [y],
          f"  %r0 = kiln.gather %a0, %a1 {{axis = 1 : i64}} : ({ttype(x)}, {ttype(idx)}) -> {ttype(y)}")


# --- attention, rotary -------------------------------------------------------------


def attention_ref(q, k, v, scale, causal=False, mask=None):
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    g = q.shape[1] // k.shape[1]
    k = np.repeat(k, g, 1)
    v = np.repeat(v, g, 1)
    s = scale * q @ k.transpose(0, 1, 3, 2)
    sq, skv = s.shape[-2:]
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    if causal:
        keep = np.arange(skv)[None, :] <= np.arange(sq)[:, None] + (skv - sq)
        s = np.where(keep, s, -np.inf)
    m = s.max(-1, keepdims=True)
    p = np.where(np.isneginf(m), 0, np.exp(s - np.where(np.isneginf(m), 0, m)))
    l = p.sum(-1, keepdims=True)
    return np.where(l > 0, (p @ v) / np.where(l > 0, l, 1), 0).astype(np.float32)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_gqa(tmp_path, causal):
    q, k, v = randn(2, 6, 9, 16), randn(2, 2, 13, 16), randn(2, 2, 13, 12)
    y = attention_ref(q, k, v, 0.25, causal)
    flag = ", causal = true" if causal else ""
    T = ttype
    check(tmp_path, [q, k, v], [y],
          f"  %r0 = kiln.attention %a0, %a1, %a2 {{scale = 0.25 : f64{flag}}} : ({T(q)}, {T(k)}, {T(v)}) -> {T(y)}")


def test_attention_masks(tmp_path):
    q, k, v = randn(1, 4, 7, 8), randn(1, 4, 7, 8), randn(1, 4, 7, 8)
    bmask = R.random((7, 7)) > 0.3
    bmask[3] = False  # a fully masked row gives zeros
    fmask = randn(1, 1, 7, 7) * 2
    T = ttype
    body = (f"  %r0 = kiln.attention %a0, %a1, %a2 mask(%a3) {{scale = 0.3 : f64}} : ({T(q)}, {T(k)}, {T(v)}, {T(bmask)}) -> {T(q)}\n"
            f"  %r1 = kiln.attention %a0, %a1, %a2 mask(%a4) {{scale = 0.3 : f64, causal = true}} : ({T(q)}, {T(k)}, {T(v)}, {T(fmask)}) -> {T(q)}")
    check(tmp_path, [q, k, v, bmask, fmask],
          [attention_ref(q, k, v, 0.3, mask=bmask),
           attention_ref(q, k, v, 0.3, True, fmask)], body)


def test_attention_cuda_rows(tmp_path):
    """The CUDA target's attention (a thread per query row, an online
    softmax over its keys), emulated on the host: grouped heads with a
    causal mask over more keys than queries, a boolean mask with a fully
    masked row, a broadcast float mask with causal, and decode-shaped
    attention whose keys are split into ranges, against numpy."""
    q, k, v = randn(2, 6, 9, 16), randn(2, 2, 13, 16), randn(2, 2, 13, 12)
    q2 = randn(1, 4, 7, 8)
    k2, v2 = randn(1, 4, 7, 8), randn(1, 4, 7, 8)
    bmask = R.random((7, 7)) > 0.3
    bmask[3] = False
    fmask = randn(1, 1, 7, 7) * 2
    # Decode-shaped (2 query rows, 600 keys): the keys are split into 4
    # ranges combined after; the boolean mask hides all of the first range
    # for query 0 and all keys for query 1 of head 1.
    q3, k3, v3 = randn(1, 2, 2, 16), randn(1, 1, 600, 16), randn(1, 1, 600, 8)
    bmask3 = R.random((1, 2, 2, 600)) > 0.2
    bmask3[0, :, 0, :150] = False
    bmask3[0, 1, 1, :] = False
    T = ttype
    body = (f"  %r0 = kiln.attention %a0, %a1, %a2 {{scale = 0.25 : f64, causal = true}} : ({T(q)}, {T(k)}, {T(v)}) -> tensor<2x6x9x12xf32>\n"
            f"  %r1 = kiln.attention %a3, %a4, %a5 mask(%a6) {{scale = 0.3 : f64}} : ({T(q2)}, {T(k2)}, {T(v2)}, {T(bmask)}) -> {T(q2)}\n"
            f"  %r2 = kiln.attention %a3, %a4, %a5 mask(%a7) {{scale = 0.3 : f64, causal = true}} : ({T(q2)}, {T(k2)}, {T(v2)}, {T(fmask)}) -> {T(q2)}\n"
            f"  %r3 = kiln.attention %a8, %a9, %a10 {{scale = 0.25 : f64, causal = true}} : ({T(q3)}, {T(k3)}, {T(v3)}) -> tensor<1x2x2x8xf32>\n"
            f"  %r4 = kiln.attention %a8, %a9, %a10 mask(%a11) {{scale = 0.25 : f64}} : ({T(q3)}, {T(k3)}, {T(v3)}, {T(bmask3)}) -> tensor<1x2x2x8xf32>")
    inputs = [q, k, v, q2, k2, v2, bmask, fmask, q3, k3, v3, bmask3]
    outputs = [attention_ref(q, k, v, 0.25, True),
               attention_ref(q2, k2, v2, 0.3, mask=bmask),
               attention_ref(q2, k2, v2, 0.3, True, fmask),
               attention_ref(q3, k3, v3, 0.25, True),
               attention_ref(q3, k3, v3, 0.25, mask=bmask3)]
    assert not outputs[1][0, :, 3].any()  # the fully masked row
    assert not outputs[4][0, 1, 1].any() and outputs[4][0, 0, 0].any()
    check_cuda_emulated(tmp_path, inputs, outputs, body)


def test_attention_cuda_tiled(tmp_path):
    """The CUDA target's flash-attention kernel (kiln-cuda-tile-attention:
    shared-memory key and value tiles, a query's dot products split over
    4 threads and summed by warp shuffles, the online softmax in
    registers), emulated on the host, against numpy: grouped heads, causal,
    with several query blocks and a partial block and key tile; more keys
    than queries (causal offset) with a broadcast float mask and D, Dv not
    multiples of 4; fewer keys than queries (the first causal rows see no
    key: zeros) with a boolean mask that hides a whole row; keys and values
    concatenated from two parts (a cache and new tokens), read in place."""
    q, k, v = randn(2, 4, 100, 64), randn(2, 2, 100, 64), randn(2, 2, 100, 48)
    q2, k2, v2 = randn(1, 2, 20, 6), randn(1, 2, 70, 6), randn(1, 2, 70, 5)
    fmask = randn(1, 1, 20, 70) * 2
    q3, k3, v3 = randn(1, 2, 40, 16), randn(1, 2, 24, 16), randn(1, 2, 24, 16)
    bmask = R.random((1, 2, 40, 24)) > 0.3
    bmask[0, 1, 30] = False
    bmask[0, 0, 16, 0] = True  # row 16 sees key 0 only
    q4 = randn(1, 2, 16, 8)
    kc, kn = randn(1, 2, 24, 8), randn(1, 2, 16, 8)
    vc, vn = randn(1, 2, 24, 8), randn(1, 2, 16, 8)
    T = ttype
    body = (f"  %r0 = kiln.attention %a0, %a1, %a2 {{scale = 0.125 : f64, causal = true}} : ({T(q)}, {T(k)}, {T(v)}) -> tensor<2x4x100x48xf32>\n"
            f"  %r1 = kiln.attention %a3, %a4, %a5 mask(%a6) {{scale = 0.4 : f64, causal = true}} : ({T(q2)}, {T(k2)}, {T(v2)}, {T(fmask)}) -> tensor<1x2x20x5xf32>\n"
            f"  %r2 = kiln.attention %a7, %a8, %a9 mask(%a10) {{scale = 0.25 : f64, causal = true}} : ({T(q3)}, {T(k3)}, {T(v3)}, {T(bmask)}) -> {T(q3)}\n"
            f"  %kk = kiln.concat %a12, %a13 {{axis = 2 : i64}} : ({T(kc)}, {T(kn)}) -> tensor<1x2x40x8xf32>\n"
            f"  %vv = kiln.concat %a14, %a15 {{axis = 2 : i64}} : ({T(vc)}, {T(vn)}) -> tensor<1x2x40x8xf32>\n"
            f"  %r3 = kiln.attention %a11, %kk, %vv {{scale = 0.3 : f64, causal = true}} : ({T(q4)}, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>) -> {T(q4)}")
    inputs = [q, k, v, q2, k2, v2, fmask, q3, k3, v3, bmask, q4, kc, kn, vc, vn]
    kv, vv = np.concatenate([kc, kn], 2), np.concatenate([vc, vn], 2)
    outputs = [attention_ref(q, k, v, 0.125, True),
               attention_ref(q2, k2, v2, 0.4, True, fmask),
               attention_ref(q3, k3, v3, 0.25, True, bmask),
               attention_ref(q4, kv, vv, 0.3, True)]
    assert not outputs[2][0, :, :16].any() and outputs[2][0, 0, 16].any()
    assert not outputs[2][0, 1, 30].any()
    src = check_cuda_emulated(tmp_path, inputs, outputs, body)
    ptx = cuda_ptx(tmp_path, src)
    assert ptx.count(".entry main_attention") == 4
    assert "shfl.sync.bfly" in ptx
    # Off, the same attention is a thread per query row.
    check_cuda_emulated(tmp_path, inputs, outputs, body,
                        flags=["--cuda-tile-attention=false"])
    ptx = cuda_ptx(tmp_path, src, flags=["--cuda-tile-attention=false"])
    assert "main_attention" not in ptx and "shfl.sync" not in ptx


def test_attention_cuda_tensor_cores(tmp_path):
    """With --dtype=bf16 the flash-attention kernel runs both products on
    tensor cores (mma.sync m16n8k16, a warp per 16 queries, the scores'
    accumulators reused as the weights' A fragments), emulated warp by
    warp with the PTX fragment layouts, against numpy on the same
    bf16-rounded queries, keys and values (the weights are rounded to
    bf16 too: 1e-2): grouped heads, causal, partial query blocks and key
    tiles; a broadcast float mask with more keys than queries and Dv 16;
    a boolean mask hiding a whole row with fewer keys than queries. A
    head of 6 (not a multiple of 16) keeps the SIMT kernel."""
    q, k, v = randn(1, 4, 100, 64), randn(1, 2, 100, 64), randn(1, 2, 100, 64)
    q2, k2, v2 = randn(2, 2, 40, 32), randn(2, 2, 70, 32), randn(2, 2, 70, 16)
    fmask = randn(1, 1, 40, 70) * 2
    q3, k3, v3 = randn(1, 2, 40, 16), randn(1, 2, 24, 16), randn(1, 2, 24, 16)
    bmask = R.random((1, 2, 40, 24)) > 0.3
    bmask[0, 1, 30] = False
    q4, k4, v4 = randn(1, 2, 20, 6), randn(1, 2, 30, 6), randn(1, 2, 30, 6)
    T = ttype
    body = (f"  %r0 = kiln.attention %a0, %a1, %a2 {{scale = 0.125 : f64, causal = true}} : ({T(q)}, {T(k)}, {T(v)}) -> {T(q)}\n"
            f"  %r1 = kiln.attention %a3, %a4, %a5 mask(%a6) {{scale = 0.2 : f64}} : ({T(q2)}, {T(k2)}, {T(v2)}, {T(fmask)}) -> tensor<2x2x40x16xf32>\n"
            f"  %r2 = kiln.attention %a7, %a8, %a9 mask(%a10) {{scale = 0.25 : f64, causal = true}} : ({T(q3)}, {T(k3)}, {T(v3)}, {T(bmask)}) -> {T(q3)}\n"
            f"  %r3 = kiln.attention %a11, %a12, %a13 {{scale = 0.4 : f64, causal = true}} : ({T(q4)}, {T(k4)}, {T(v4)}) -> {T(q4)}")

    def bf16(*arrays):
        return [torch.from_numpy(a).bfloat16().float().numpy() for a in arrays]
    inputs = [q, k, v, q2, k2, v2, fmask, q3, k3, v3, bmask, q4, k4, v4]
    outputs = [attention_ref(*bf16(q, k, v), 0.125, True),
               attention_ref(*bf16(q2, k2, v2), 0.2, mask=fmask),
               attention_ref(*bf16(q3, k3, v3), 0.25, True, bmask),
               attention_ref(q4, k4, v4, 0.4, True)]
    assert not outputs[2][0, 1, 30].any()
    src = check_cuda_emulated(tmp_path, inputs, outputs, body, ["--dtype=bf16"],
                              atol=1e-2, rtol=1e-2)
    text = cuda_ptx(tmp_path, src, ["--dtype=bf16"])
    assert text.count(".entry main_attention") == 4
    assert "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" in text


@pytest.mark.parametrize("interleaved", [False, True])
def test_rotary(tmp_path, interleaved):
    x = randn(2, 3, 5, 10)
    ang = randn(5, 5) * 3
    c, s = np.cos(ang), np.sin(ang)
    if interleaved:
        a, b = x[..., 0::2], x[..., 1::2]
        y = np.stack([a * c - b * s, b * c + a * s], -1).reshape(x.shape)
    else:
        a, b = x[..., :5], x[..., 5:]
        y = np.concatenate([a * c - b * s, b * c + a * s], -1)
    flag = " {interleaved = true}" if interleaved else ""
    T = ttype
    check(tmp_path, [x, c, s], [y.astype(np.float32)],
          f"  %r0 = kiln.rotary %a0, %a1, %a2{flag} : ({T(x)}, {T(c)}, {T(s)}) -> {T(x)}")


# --- Mamba -----------------------------------------------------------------------


def scan_ref(u, delta, A, B, C, D=None, z=None, bias=None, h0=None,
             softplus=False):
    u, delta, A, B, C = (a.astype(np.float64) for a in (u, delta, A, B, C))
    bt, di, L = u.shape
    h = np.zeros((bt, di, A.shape[1])) if h0 is None else h0.astype(np.float64)
    ys = []
    for t in range(L):
        dt = delta[:, :, t] + (0 if bias is None else bias)
        if softplus:
            dt = np.log1p(np.exp(dt))
        h = np.exp(dt[..., None] * A) * h + \
            dt[..., None] * B[:, None, :, t] * u[:, :, t, None]
        y = (h * C[:, None, :, t]).sum(-1)
        if D is not None:
            y = y + D * u[:, :, t]
        if z is not None:
            zt = z[:, :, t]
            y = y * zt / (1 + np.exp(-zt))
        ys.append(y)
    return np.stack(ys, -1).astype(np.float32), h.astype(np.float32)


def scan_case(bt, di, n, L):
    """Two selective scans of random operands ([Bt, Di, L] channel-major),
    without and with every optional operand: (inputs, expected outputs,
    module body)."""
    u, dl, z = randn(bt, di, L), randn(bt, di, L) * 0.5, randn(bt, di, L)
    A = -np.abs(randn(di, n))
    B, C = randn(bt, n, L), randn(bt, n, L)
    D, bias, h0 = randn(di), randn(di) * 0.1, randn(bt, di, n)
    y0, s0 = scan_ref(u, dl, A, B, C)
    y1, s1 = scan_ref(u, dl, A, B, C, D, z, bias, h0, softplus=True)
    T = ttype
    sig5 = f"{T(u)}, {T(dl)}, {T(A)}, {T(B)}, {T(C)}"
    outs = f"({T(y0)}, {T(s0)})"
    body = (f"  %r0, %r1 = kiln.selective_scan %a0, %a1, %a2, %a3, %a4 : ({sig5}) -> {outs}\n"
            f"  %r2, %r3 = kiln.selective_scan %a0, %a1, %a2, %a3, %a4 D(%a5) z(%a6) delta_bias(%a7) state(%a8) {{delta_softplus = true}}"
            f" : ({sig5}, {T(D)}, {T(z)}, {T(bias)}, {T(h0)}) -> {outs}")
    return [u, dl, A, B, C, D, z, bias, h0], [y0, s0, y1, s1], body


def test_selective_scan(tmp_path):
    check(tmp_path, *scan_case(2, 5, 3, 11))


def test_selective_scan_cuda(tmp_path):
    """The CUDA target's selective-scan kernel (kiln-cuda-selective-scan: a
    thread per channel with its state in registers, the steps' B and C rows
    in shared memory a chunk at a time), emulated on the host, against
    numpy: 200 channels (two blocks, the second partial) over 70 steps
    (chunks of 32, the last partial), with and without every optional
    operand."""
    src = check_cuda_emulated(tmp_path, *scan_case(2, 200, 4, 70))
    assert cuda_ptx(tmp_path, src).count(".entry main_scan") == 2


def test_causal_conv1d(tmp_path):
    x, w, b, st = randn(2, 5, 9), randn(5, 4), randn(5), randn(2, 5, 3)
    xp = np.concatenate([st, x], 2)
    y = np.stack([(xp[:, :, t:t + 4] * w).sum(-1) for t in range(9)], -1) + b[:, None]
    y_act = y / (1 + np.exp(-y))
    x0 = np.concatenate([np.zeros_like(st), x], 2)
    y0 = np.stack([(x0[:, :, t:t + 4] * w).sum(-1) for t in range(9)], -1)
    T = ttype
    body = (f"  %r0, %r1 = kiln.causal_conv1d %a0, %a1 bias(%a2) state(%a3) activation silu : ({T(x)}, {T(w)}, {T(b)}, {T(st)}) -> ({T(x)}, {T(st)})\n"
            f"  %r2, %r3 = kiln.causal_conv1d %a0, %a1 : ({T(x)}, {T(w)}) -> ({T(x)}, {T(st)})")
    check(tmp_path, [x, w, b, st],
          [y_act.astype(np.float32), xp[:, :, -3:], y0.astype(np.float32),
           x0[:, :, -3:]], body)


# --- quantization --------------------------------------------------------------------


def test_quantize_dequantize(tmp_path):
    x = randn(4, 6) * 3
    s = (np.abs(randn(6)) + 0.05).astype(np.float32)
    zp = R.integers(100, 150, 6).astype(np.uint8)
    q8 = np.clip(np.round(x / s), -128, 127).astype(np.int8)
    qu = np.clip(np.round(x / s) + zp, 0, 255).astype(np.uint8)
    d8 = (q8.astype(np.float32) * s).astype(np.float32)
    du = ((qu.astype(np.float32) - zp) * s).astype(np.float32)
    T = ttype
    body = (f"  %r0 = kiln.quantize %a0, %a1 {{axis = 1 : i64}} : ({T(x)}, {T(s)}) -> {T(q8)}\n"
            f"  %r1 = kiln.quantize %a0, %a1 zero_point(%a2) {{axis = 1 : i64}} : ({T(x)}, {T(s)}, {T(zp)}) -> {T(qu)}\n"
            f"  %r2 = kiln.dequantize %r0, %a1 {{axis = 1 : i64}} : ({T(q8)}, {T(s)}) -> {T(x)}\n"
            f"  %r3 = kiln.dequantize %r1, %a1 zero_point(%a2) {{axis = 1 : i64}} : ({T(qu)}, {T(s)}, {T(zp)}) -> {T(x)}")
    check(tmp_path, [x, s, zp], [q8, qu, d8, du], body)


def test_dequantize_blocks(tmp_path):
    q = R.integers(-8, 8, (64, 5)).astype(np.int8)
    s = (np.abs(randn(2, 5)) + 0.05).astype(np.float32)
    y = (q.astype(np.float32) * np.repeat(s, 32, 0)).astype(np.float32)
    check(tmp_path, [q, s], [y],
          f"  %r0 = kiln.dequantize %a0, %a1 {{axis = 0 : i64, block_size = 32 : i64}} : ({ttype(q)}, {ttype(s)}) -> {ttype(y)}")


# --- indexing ----------------------------------------------------------------------


def test_gathers_and_scatters(tmp_path):
    x = randn(3, 5)
    ie = np.array([[0, 4], [2, -1], [1, 1]], np.int64)
    nd = np.array([[2], [0], [-1]], np.int64)
    upd = randn(3, 2)
    rows = randn(3, 5)
    T = ttype
    ge = np.take_along_axis(x, np.where(ie < 0, ie + 5, ie), 1)
    gn = x[np.where(nd < 0, nd + 3, nd)[:, 0]]
    se = x.copy()
    for r in range(3):  # add-reduction, in order (duplicates accumulate)
        for c in range(2):
            se[r, ie[r, c] % 5] += upd[r, c]
    sn = x.copy()
    for r in range(3):
        sn[nd[r, 0] % 3] = rows[r]
    body = (f"  %r0 = kiln.gather_elements %a0, %a1 {{axis = 1 : i64}} : ({T(x)}, {T(ie)}) -> {T(ge)}\n"
            f"  %r1 = kiln.gather_nd %a0, %a2 : ({T(x)}, {T(nd)}) -> {T(gn)}\n"
            f"  %r2 = kiln.scatter_elements %a0, %a1, %a3 {{axis = 1 : i64, reduction = 1 : i32}} : ({T(x)}, {T(ie)}, {T(upd)}) -> {T(x)}\n"
            f"  %r3 = kiln.scatter_nd %a0, %a2, %a4 : ({T(x)}, {T(nd)}, {T(rows)}) -> {T(x)}\n"
            f"  %r4 = kiln.atan %a0 : {T(x)}")
    check(tmp_path, [x, ie, nd, upd, rows], [ge, gn, se, sn, np.arctan(x)], body)


def test_unsigned_cast(tmp_path):
    q = np.array([0, 7, 128, 255], np.uint8)
    f = np.array([0.4, 200.6, 255.0, 3.0], np.float32)
    T = ttype
    body = (f"  %r0 = kiln.cast %a0 : {T(q)} to {T(q.astype(np.int32))}\n"
            f"  %r1 = kiln.cast %a1 : {T(f)} to {T(q)}")
    check(tmp_path, [q, f], [q.astype(np.int32), f.astype(np.uint8)], body)
