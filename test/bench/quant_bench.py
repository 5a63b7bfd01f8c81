#!/usr/bin/python3
"""Issue 7's decode benchmark: one decode step of a Llama-style decoder
(default d=768, 12 layers, 12 heads, SwiGLU 2048, vocab 32000, batch 1)
with a past KV cache of 128 tokens, exported from PyTorch to ONNX, compiled
by kiln in fp32, --dtype=bf16, --quantize=int8 and --quantize=int4, and
timed side by side in one run: ms per token, speed-up over fp32, and the
effective weight bandwidth (bytes of matmul weights read per token / time)
against this machine's DRAM bandwidth (about 33 GB/s, docs/benchmarks.md).
The outputs of every variant are compared with PyTorch's (cosine of the
logits) before anything is timed.

    test/bench/quant_bench.py [--build BUILD_DIR] [--threads T] [--runs N]
                              [--layers 12] [--work DIR] [--variants ...]

Each variant runs `kiln-run MODEL.so --bench N --threads T` in its own
process (a warm-up run, then the median of N). The variants are timed one
after the other, twice, alternating, and the better median of each kept,
so that a neighbour's burst of load does not land on one variant only."""
import argparse
import math
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]
BANDWIDTH = 33e9  # bytes/s, DRAM (docs/benchmarks.md)
VARIANTS = {
    "fp32": [],
    "bf16": ["--dtype=bf16"],
    "int8": ["--quantize=int8"],
    "int4": ["--quantize=int4", "--quant-group=32"],
}


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(1 + 0.1 * torch.randn(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


class Block(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.gate = nn.Linear(d, ffn, bias=False)
        self.up = nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x, pk, pv, cos, sin):
        b = x.shape[0]
        h = self.n1(x)
        split = lambda t: t.view(b, 1, self.h, self.dh).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        keys, values = torch.cat((pk, k), 2), torch.cat((pv, v), 2)
        s = q @ keys.transpose(-2, -1) / math.sqrt(self.dh)
        a = torch.softmax(s, -1) @ values
        x = x + self.o(a.transpose(1, 2).reshape(b, 1, -1))
        h = self.n2(x)
        x = x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))
        return x, k, v


class Decoder(nn.Module):
    """One decode step: token ids [1, 1] and the past keys and values
    [layers, 1, heads, past, head_dim] -> logits [1, 1, vocab] and this
    step's keys and values [layers, 1, heads, 1, head_dim]."""

    def __init__(self, d=768, layers=12, heads=12, ffn=2048, vocab=32000,
                 past=128):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(
            Block(d, heads, ffn) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        dh = d // heads
        inv = 1.0 / (10000 ** (torch.arange(0, dh, 2).float() / dh))
        ang = past * inv
        emb = torch.cat((ang, ang))
        self.register_buffer("cos", emb.cos().view(1, 1, 1, dh))
        self.register_buffer("sin", emb.sin().view(1, 1, 1, dh))

    def forward(self, ids, past_k, past_v):
        x = self.embed(ids)
        ks, vs = [], []
        for i, blk in enumerate(self.blocks):
            x, k, v = blk(x, past_k[i], past_v[i], self.cos, self.sin)
            ks.append(k)
            vs.append(v)
        return self.head(self.norm(x)), torch.stack(ks), torch.stack(vs)


def weight_bytes(model, variant, group=32):
    """Bytes of the matmul weights (and their scales) one step reads: int8
    has an f32 scale per column, int4 an f16 scale per group (kiln's
    default, --quant-half-scales)."""
    total = 0
    for m in model.modules():
        if isinstance(m, nn.Linear):
            n, k = m.weight.shape
            total += {"fp32": 4 * k * n, "bf16": 2 * k * n,
                      "int8": k * n + 4 * n,
                      "int4": k * n // 2 + 2 * (k // group) * n}[variant]
    return total


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{p.stdout}{p.stderr}")
    return p.stdout


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build",
                    default=os.environ.get("KILN_BUILD_DIR", ROOT / "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--work", default=None)
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    work = pathlib.Path(args.work or build / "bench" / "quant")
    work.mkdir(parents=True, exist_ok=True)
    bin_ = build / "bin"

    torch.manual_seed(0)
    model = Decoder(layers=args.layers).eval()
    heads, dh, past = 12, 64, 128
    ids = torch.tensor([[17]])
    pk = 0.5 * torch.randn(args.layers, 1, heads, past, dh)
    pv = 0.5 * torch.randn(args.layers, 1, heads, past, dh)
    onnx_path = work / f"decoder{args.layers}.onnx"
    with torch.no_grad():
        want = model(ids, pk, pv)[0].numpy()
        if not onnx_path.exists():
            torch.onnx.export(model, (ids, pk, pv), str(onnx_path),
                              input_names=["ids", "past_k", "past_v"],
                              output_names=["logits", "k", "v"],
                              opset_version=17)
    inputs = []
    for name, t in (("ids", ids), ("past_k", pk), ("past_v", pv)):
        np.save(work / f"{name}.npy", t.numpy())
        inputs += ["--input", str(work / f"{name}.npy")]

    sizes, cos = {}, {}
    for v in args.variants:
        so = work / f"decoder{args.layers}_{v}.so"
        run([bin_ / "kiln-compile", onnx_path, "-o", so, *VARIANTS[v]])
        sizes[v] = so.stat().st_size
        out = work / f"out_{v}"
        run([bin_ / "kiln-run", so, *inputs, "--output-dir", out,
             "--threads", str(args.threads)])
        cos[v] = cosine(want, np.load(out / "logits.npy"))

    best = {}
    for _ in range(2):
        for v in args.variants:
            so = work / f"decoder{args.layers}_{v}.so"
            out = run([bin_ / "kiln-run", so, *inputs, "--bench",
                       str(args.runs), "--threads", str(args.threads)])
            ms = float(re.search(r"median_ms=([0-9.]+)", out).group(1))
            best[v] = min(best.get(v, math.inf), ms)

    base = best.get("fp32")
    print(f"decode step, d=768, {args.layers} layers, SwiGLU 2048, vocab "
          f"32000, batch 1, past 128; {args.threads} threads, median of "
          f"{args.runs}")
    print(f"{'variant':8} {'ms/token':>9} {'vs fp32':>8} {'weights MB':>11} "
          f"{'GB/s':>6} {'of DRAM':>8} {'.so MB':>7} {'cos':>9}")
    for v in args.variants:
        wb = weight_bytes(model, v)
        bw = wb / (best[v] * 1e-3)
        speed = f"{base / best[v]:7.2f}x" if base else "       -"
        print(f"{v:8} {best[v]:9.3f} {speed} {wb / 1e6:11.1f} "
              f"{bw / 1e9:6.1f} {100 * bw / BANDWIDTH:7.0f}% "
              f"{sizes[v] / 1e6:7.1f} {cos[v]:9.6f}")


if __name__ == "__main__":
    main()
