#!/usr/bin/python3
"""The Python peers of `make bench`: numpy (its BLAS, OpenBLAS when
libopenblas0-pthread is installed) and PyTorch, timed the way kiln-run
--bench times kiln: one first run, max(2, N/5) warm-up runs, then the median
of N timed runs. N is chosen per measurement so that the timed runs take
about BUDGET seconds, between 3 and MAX_RUNS.

    peers.py matmul    --impl numpy|torch
    peers.py attention --impl torch --case full|causal|baseline
    peers.py families  --impl torch [NAME...]

Prints `RESULT <case> <runs> <median_ms>` per case."""
import argparse
import math
import os
import statistics
import sys
import time


def measure(fn, budget, max_runs):
    fn()  # first run (allocations, lazy init)
    t0 = time.perf_counter()
    fn()
    probe = time.perf_counter() - t0
    runs = max(3, min(max_runs, int(budget / max(probe, 1e-9))))
    for _ in range(max(2, runs // 5) - 1):
        fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return runs, statistics.median(ms)


def report(case, runs, ms):
    print(f"RESULT {case} {runs} {ms:.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("bench", choices=["matmul", "attention", "families"])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--impl", required=True, choices=["numpy", "torch"])
    ap.add_argument("--case")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--budget", type=float, default=4.0)
    ap.add_argument("--max-runs", type=int, default=50)
    a = ap.parse_args()
    # BLAS and OpenMP pools size themselves when loaded: set them first.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import numpy as np
    import models

    def timed(fn):
        return measure(fn, a.budget, a.max_runs)

    if a.impl == "torch":
        import torch
        torch.set_num_threads(a.threads)
        torch.set_grad_enabled(False)

    if a.bench == "matmul":
        rng = np.random.default_rng(0)
        for name, m, n, k, _ in models.MATMULS:
            x = rng.uniform(-1, 1, (m, k)).astype(np.float32)
            w = rng.uniform(-1, 1, (k, n)).astype(np.float32)
            if a.impl == "torch":
                x, w = torch.from_numpy(x), torch.from_numpy(w)
            report(name, *timed(lambda: x @ w))
        if a.impl == "torch":
            for name, m, n, k in models.MATMULS_BF16:
                x = torch.rand(m, k).bfloat16()
                w = torch.rand(k, n).bfloat16()
                report(name, *timed(lambda: x @ w))
    elif a.bench == "attention":
        b, h, s, d = (models.ATTN[k] for k in "BHSD")
        q, k, v = (torch.rand(b, h, s, d) * 2 - 1 for _ in range(3))
        if a.case == "baseline":
            fn = lambda: q + k + v
        else:
            scale = 1.0 / math.sqrt(d)
            mask = torch.triu(torch.full((s, s), float("-inf")), diagonal=1)
            if a.case == "causal":
                fn = lambda: torch.softmax(
                    q @ k.transpose(-2, -1) * scale + mask, dim=-1) @ v
            else:
                fn = lambda: torch.softmax(
                    q @ k.transpose(-2, -1) * scale, dim=-1) @ v
        report(a.case, *timed(fn))
    else:
        for name in a.names or list(models.FAMILIES):
            model, args, _ = models.family(name)
            report(name, *timed(lambda: model(*args)))


if __name__ == "__main__":
    main()
