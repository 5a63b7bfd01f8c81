#!/usr/bin/python3
"""Issue 10's decoder benchmark: a random Llama-style checkpoint (default
d=768, 12 layers, 12 heads, SwiGLU 2048, vocab 32000, fp32) written in the
Hugging Face layout, compiled by kiln from the directory, and generation of
--gen tokens after a --prompt-token prompt, kiln against PyTorch eager
(test/e2e/llm/reference.py, the same KV-cache algorithm) side by side:
prefill tokens/s and decode tokens/s, batch 1, T threads. Also the bound
decode has on this machine: DRAM bandwidth / bytes of weights read per
token (every weight once; the KV cache read is added).

    test/bench/llm_bench.py [--build BUILD_DIR] [--threads T] [--runs N]
                            [--prompt 128] [--gen 128] [--layers 12] [--work DIR]

kiln runs `kiln-run MODEL.so --generate G --prompt-ids ... --bench N` in its
own process (a warm-up generation, then medians of N); PyTorch
(torch.set_num_threads(T)) a warm-up and the medians of N. The greedy token
ids of both must agree before anything is timed."""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test/e2e/llm"))
import reference as R  # noqa: E402

BANDWIDTH = 33e9  # bytes/s, DRAM (docs/benchmarks.md)


def torch_generate(model, prompt, n, max_len):
    """Prefill seconds, decode seconds and the tokens (reference loop)."""
    cache = model.new_cache(max_len)
    with torch.no_grad():
        t0 = time.perf_counter()
        logits = model(torch.tensor(prompt), cache, 0)[-1]
        t1 = time.perf_counter()
        out, pos = [], len(prompt)
        for _ in range(n):
            t = int(torch.argmax(logits))
            out.append(t)
            if len(out) == n:
                break
            logits = model(torch.tensor([t]), cache, pos)[-1]
            pos += 1
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("KILN_BUILD_DIR", ROOT / "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--work", default="/tmp/kiln-llm-bench")
    a = ap.parse_args()
    work = pathlib.Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(a.threads)
    cfg = R.make_config(vocab=32000, d=a.d, layers=a.layers, heads=a.d // 64,
                        kv_heads=a.d // 64, ffn=int(a.d * 8 / 3) // 64 * 64,
                        max_pos=4096)
    model = R.random_model(cfg)
    ckpt = R.save_checkpoint(model, work / "ckpt")
    max_ctx = a.prompt + a.gen
    so = work / "model.so"
    t0 = time.perf_counter()
    subprocess.run([str(pathlib.Path(a.build) / "bin/kiln-compile"), str(ckpt),
                    "-o", str(so), "--max-context", str(max_ctx),
                    "--prefill-length", str(a.prompt)], check=True)
    compile_s = time.perf_counter() - t0
    prompt = [(i * 7919 + 13) % 32000 for i in range(a.prompt)]
    p = subprocess.run([str(pathlib.Path(a.build) / "bin/kiln-run"), str(so),
                        "--generate", str(a.gen), "--prompt-ids",
                        ",".join(map(str, prompt)), "--threads", str(a.threads),
                        "--bench", str(a.runs)],
                       check=True, capture_output=True, text=True)
    lines = dict(ln.split(":", 1) for ln in p.stdout.splitlines() if ":" in ln)
    kiln_tokens = [int(t) for t in lines["tokens"].split(",")]
    kiln_prefill = float(lines["prefill"].split(",")[1].split()[0])
    kiln_decode = float(lines["decode"].split(",")[1].split()[0])

    torch_generate(model, prompt, 4, max_ctx)  # warm-up
    pre, dec, toks = [], [], None
    for _ in range(a.runs):
        tp, td, toks = torch_generate(model, prompt, a.gen, max_ctx)
        pre.append(a.prompt / tp)
        dec.append((a.gen - 1) / td)
    same = toks == kiln_tokens
    first_diff = next((i for i, (x, y) in enumerate(zip(toks, kiln_tokens))
                       if x != y), None)

    d, f, L, V = a.d, cfg["intermediate_size"], a.layers, 32000
    weights = 4 * (L * (4 * d * d + 3 * d * f + 2 * d) + 2 * V * d + d)
    # Per decode step: every weight but the embedding table (one row), plus
    # the KV cache up to the middle of the generation.
    kv = 4 * L * 2 * d * (a.prompt + a.gen // 2)
    per_token = weights - 4 * V * d + kv
    bound = BANDWIDTH / per_token
    print(f"model: d={d} layers={L} ffn={f} vocab={V} fp32, "
          f"{weights / 1e6:.0f} MB of weights; prompt {a.prompt}, "
          f"generate {a.gen}, batch 1, {a.threads} threads; "
          f"kiln compile {compile_s:.1f} s")
    print(f"greedy tokens identical: {same}" +
          ("" if same else f" (first difference at token {first_diff})"))
    print(f"{'':10}{'prefill tok/s':>15}{'decode tok/s':>15}")
    print(f"{'kiln':10}{kiln_prefill:15.1f}{kiln_decode:15.2f}")
    print(f"{'pytorch':10}{statistics.median(pre):15.1f}"
          f"{statistics.median(dec):15.2f}")
    print(f"{'ratio':10}{kiln_prefill / statistics.median(pre):15.2f}"
          f"{kiln_decode / statistics.median(dec):15.2f}")
    print(f"decode bound (33 GB/s / {per_token / 1e6:.0f} MB per token): "
          f"{bound:.1f} tok/s; kiln at {100 * kiln_decode / bound:.0f}%")


if __name__ == "__main__":
    main()
