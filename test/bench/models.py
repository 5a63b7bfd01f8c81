#!/usr/bin/python3
"""Writes the ONNX models `make bench` measures, and describes them.

    models.py matmul    OUTDIR   # MatMul models, square and decode shapes
    models.py attention OUTDIR   # naive attention, causal and not, + baseline
    models.py families  OUTDIR   # bigger e2e model families (see FAMILIES)

Each command writes OUTDIR/<case>.onnx and prints one line per case:
    CASE <name> <onnx path> <flops or 0> [note, may hold spaces]
run.sh reads those lines. The PyTorch peer (peers.py) rebuilds the same
models through `family()` here, with the same seeds."""
import math
import os
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e" / "models"))

# ---------------------------------------------------------------- matmul
# (name, M, N, K, B as weight initializer?)
MATMULS = [
    ("256x256x256", 256, 256, 256, False),
    ("512x512x512", 512, 512, 512, False),
    ("1024x1024x1024", 1024, 1024, 1024, False),
    ("2048x2048x2048", 2048, 2048, 2048, False),
    ("128x3072x768", 128, 3072, 768, True),  # a transformer FFN: x @ W
    ("1x4096x4096", 1, 4096, 4096, True),  # decode: x[1,K] @ W[K,N]
]
# bf16 MatMul (A and B inputs, bf16 result, fp32 accumulation).
MATMULS_BF16 = [("bf16_2048x2048x2048", 2048, 2048, 2048)]

# ---------------------------------------------------------------- attention
ATTN = dict(B=1, H=8, S=2048, D=64)

# ---------------------------------------------------------------- families
# name -> (family class in test/e2e/models/families.py, constructor kwargs,
# inputs (name, shape, "int" | "float")): the sizes issue 6 names.
FAMILIES = {
    # Llama-style decoder, 4 layers, d=512 (8 heads, 2 KV heads, SwiGLU
    # 1408), prefill of 256 tokens.
    "llama": ("Llama", dict(vocab=4096, d=512, heads=8, kv_heads=2, ffn=1408,
                            layers=4),
              [("input_ids", (1, 256), "int")]),
    # DiT-XL-sized block: hidden 1152, 16 heads, 256 tokens.
    "dit": ("DiTBlock", dict(d=1152, heads=16),
            [("x", (1, 256, 1152), "float"), ("c", (1, 1152), "float")]),
    # SD-style UNet resnet block with spatial attention, 320 channels at
    # 32x32 (then the block's 2x upsample and conv).
    "unet": ("UNetBlock", dict(c=320, temb=1280, groups=32, heads=8),
             [("sample", (1, 320, 32, 32), "float"),
              ("temb", (1, 1280), "float")]),
    # ViT-B/16 at 224x224 (197 tokens): patch embedding, one encoder layer
    # (d=768, 12 heads), head.
    "vit": ("ViT", dict(image=224, patch=16, d=768, heads=12, layers=1,
                        classes=1000),
            [("pixels", (1, 3, 224, 224), "float")]),
    # Mamba block (mixer), d_model 768, d_inner 1536, d_state 16, 256 tokens.
    "mamba": ("MambaBlock", dict(d=768, d_state=16, d_conv=4, expand=2,
                                 dt_rank=48),
              [("hidden", (1, 256, 768), "float")]),
}


def _onnx():
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    return onnx, TensorProto, helper, numpy_helper


def _save(graph, path):
    onnx, _, helper, _ = _onnx()
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def write_matmul(out):
    onnx, TP, helper, numpy_helper = _onnx()
    rng = np.random.default_rng(0)
    for name, m, n, k, weight in MATMULS:
        a = helper.make_tensor_value_info("A", TP.FLOAT, [m, k])
        y = helper.make_tensor_value_info("Y", TP.FLOAT, [m, n])
        inputs, inits = [a], []
        if weight:
            w = rng.uniform(-1, 1, (k, n)).astype(np.float32)
            inits.append(numpy_helper.from_array(w, "B"))
        else:
            inputs.append(helper.make_tensor_value_info("B", TP.FLOAT, [k, n]))
        g = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["Y"])],
                              "matmul", inputs, [y], inits)
        path = out / f"matmul_{name}.onnx"
        _save(g, path)
        note = "B=weight" if weight else "B=input"
        print(f"CASE {name} {path} {2 * m * n * k} {note}")
    for name, m, n, k in MATMULS_BF16:
        a = helper.make_tensor_value_info("A", TP.BFLOAT16, [m, k])
        b = helper.make_tensor_value_info("B", TP.BFLOAT16, [k, n])
        y = helper.make_tensor_value_info("Y", TP.BFLOAT16, [m, n])
        g = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["Y"])],
                              "matmul", [a, b], [y])
        path = out / f"matmul_{name}.onnx"
        _save(g, path)
        print(f"CASE {name} {path} {2 * m * n * k} bf16, fp32 accumulation")


def write_attention(out):
    """softmax(Q K^T * scale [+ causal mask]) V, spelled op by op, as
    exporters emit it; plus a baseline (Q + K + V) with the same inputs and
    output, whose peak RSS is subtracted to get attention's extra memory."""
    onnx, TP, helper, numpy_helper = _onnx()
    b, h, s, d = ATTN["B"], ATTN["H"], ATTN["S"], ATTN["D"]
    shape = [b, h, s, d]
    ins = [helper.make_tensor_value_info(n, TP.FLOAT, shape)
           for n in ("Q", "K", "V")]
    out_vi = helper.make_tensor_value_info("O", TP.FLOAT, shape)
    flops = 4 * b * h * s * s * d  # QK^T and PV, full (not halved if causal)
    for causal in (False, True):
        nodes = [
            helper.make_node("Transpose", ["K"], ["Kt"], perm=[0, 1, 3, 2]),
            helper.make_node("MatMul", ["Q", "Kt"], ["S0"]),
            helper.make_node("Mul", ["S0", "scale"], ["S1"]),
        ]
        inits = [numpy_helper.from_array(
            np.array(1.0 / math.sqrt(d), np.float32), "scale")]
        last = "S1"
        if causal:
            mask = np.triu(np.full((s, s), -np.inf, np.float32), k=1)
            inits.append(numpy_helper.from_array(mask, "mask"))
            nodes.append(helper.make_node("Add", ["S1", "mask"], ["S2"]))
            last = "S2"
        nodes += [helper.make_node("Softmax", [last], ["P"], axis=-1),
                  helper.make_node("MatMul", ["P", "V"], ["O"])]
        g = helper.make_graph(nodes, "attention", ins, [out_vi], inits)
        name = "causal" if causal else "full"
        path = out / f"attention_{name}.onnx"
        _save(g, path)
        print(f"CASE {name} {path} {flops}")
    g = helper.make_graph(
        [helper.make_node("Add", ["Q", "K"], ["T"]),
         helper.make_node("Add", ["T", "V"], ["O"])],
        "baseline", ins, [out_vi])
    path = out / "attention_baseline.onnx"
    _save(g, path)
    print(f"CASE baseline {path} 0 Q+K+V")


def family(name, seed=0):
    """(torch model, example inputs, input names) of a benchmark family."""
    import torch
    import families as fam
    kind, kw, inputs = FAMILIES[name]
    torch.manual_seed(seed)
    model = getattr(fam, kind)(**kw).eval()
    args = tuple(torch.randint(0, 64, shape) if t == "int"
                 else torch.rand(shape) * 2 - 1 for _, shape, t in inputs)
    return model, args, [n for n, _, _ in inputs]


def write_families(out, names):
    import torch
    for name in names:
        model, args, input_names = family(name)
        path = out / f"model_{name}.onnx"
        with torch.no_grad():
            torch.onnx.export(model, args, str(path), input_names=input_names,
                              output_names=["output"], opset_version=17)
        params = sum(p.numel() for p in model.parameters())
        shapes = ",".join("x".join(map(str, a.shape)) for a in args)
        print(f"CASE {name} {path} 0 {params / 1e6:.1f}M params, input {shapes}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    what, out = sys.argv[1], pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    if what == "matmul":
        write_matmul(out)
    elif what == "attention":
        write_attention(out)
    elif what == "families":
        write_families(out, sys.argv[3:] or list(FAMILIES))
    else:
        sys.exit(f"unknown benchmark '{what}'\n{__doc__}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
