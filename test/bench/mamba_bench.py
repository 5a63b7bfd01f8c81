#!/usr/bin/python3
"""Issue 8's Mamba benchmark: a Mamba-130M-shaped block (d_model 768,
d_inner 1536, d_state 16, d_conv 4, dt_rank 48; test/e2e/models/families.py's
MambaBlock) through kiln against PyTorch eager, side by side in one run:

- prefill of L tokens (default 1024), against PyTorch running the reference
  module (its scan a Python loop over time). kiln compiles either
  --form kiln-ops (default): the block exported with kiln's ONNX ops
  (mamba.py's MambaKilnOps: kiln.SelectiveScan with delta_bias and
  softplus, kiln.CausalConv1d), or
  --form unrolled: torch.onnx's export of the reference module itself, the
  loop unrolled L times in the graph and re-rolled by
  kiln-recognize-selective-scan. torch.onnx (1.13) needs minutes for it
  beyond a few hundred steps (its _jit_pass_onnx is superlinear in the
  node count: ~70 s at L = 256 here), hence the default;
- the selective scan alone (kiln.SelectiveScan on time-major inputs)
  against the same reference loop in PyTorch (mamba.py's SelectiveScanFn);
- one decode step (mamba.py's MambaStep: x_t, conv state, SSM state in;
  y_t and both states out; torch.onnx's export, recognized), against the
  same PyTorch step.

    test/bench/mamba_bench.py [--build BUILD_DIR] [--threads T] [--len L]
                              [--form kiln-ops|unrolled] [--runs N]
                              [--rounds R] [--work DIR]

kiln is timed with `kiln-run MODEL.so --random-inputs --bench N --threads T`
(one warm-up run, then the median of N), in its own process so that no
PyTorch thread pool competes with it; PyTorch (torch.set_num_threads(T)) the
same way: a first run, 2 warm-ups, the median of N. R rounds (default 3)
alternate the two, and the ratio reported is the median of the rounds'
ratios (on a shared machine PyTorch's OpenMP pool is far noisier than
kiln). Before timing, kiln's
outputs are checked against PyTorch's on the same inputs. Also printed: the
workspace kiln's memory plan gives each entry point (all its intermediate
tensors), the process peak RSS of kiln-run and of a PyTorch process running
the block once, and whether any tensor with dimensions L, d_inner and
d_state appears in the lowered IR (--emit=linalg)."""
import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "test" / "e2e" / "models"))
SHAPE = dict(d=768, d_state=16, d_conv=4, expand=2, dt_rank=48)


def median_ms(fn, runs):
    fn()
    for _ in range(2):
        fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms), min(ms), max(ms)


def kiln_bench(bin_dir, so, threads, runs):
    """(median ms, peak RSS KiB) of kiln-run --bench."""
    tf = so.with_suffix(".time")
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(tf), str(bin_dir / "kiln-run"),
         str(so), "--random-inputs", "--threads", str(threads), "--bench",
         str(runs)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"median_ms=([0-9.]+)", out)
    return float(m.group(1)), int(tf.read_text().split()[-1])


def torch_peak_kib(length, threads):
    """Peak RSS of a fresh process that builds the block and runs it once."""
    code = (f"import sys, torch; sys.path.insert(0, {str(ROOT / 'test/e2e/models')!r})\n"
            f"import mamba; torch.set_num_threads({threads})\n"
            f"b = mamba.block(**{SHAPE!r})\n"
            f"with torch.no_grad(): b(torch.randn(1, {length}, {SHAPE['d']}))\n")
    tf = tempfile.NamedTemporaryFile(suffix=".time", delete=False).name
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf, sys.executable,
                    "-c", code], check=True, capture_output=True)
    kib = int(open(tf).read().split()[-1])
    os.unlink(tf)
    return kib


def write_scan_model(path, block, length):
    """kiln.SelectiveScan alone (delta_bias, softplus, D, z gate), on
    time-major inputs as a Mamba layer computes them (u, delta, z: [1, L,
    Di]; B, C: [1, L, N]), transposed to the op's channel-major interface
    and back (kiln absorbs the transposes into the kernel call)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    di, n = block.di, block.n

    def vi(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    def init(name, value):
        return numpy_helper.from_array(value.detach().numpy(), name)

    nodes = [helper.make_node("Transpose", [v], [v + "_cm"], perm=[0, 2, 1])
             for v in ("u", "delta", "B", "C", "z")]
    nodes.append(helper.make_node(
        "SelectiveScan", ["u_cm", "delta_cm", "A", "B_cm", "C_cm", "D",
                          "z_cm", "delta_bias"], ["y_cm", "h"], domain="kiln",
        delta_softplus=1))
    nodes.append(helper.make_node("Transpose", ["y_cm"], ["y"], perm=[0, 2, 1]))
    g = helper.make_graph(
        nodes, "scan", [vi("u", [1, length, di]), vi("delta", [1, length, di]),
                        vi("B", [1, length, n]), vi("C", [1, length, n]),
                        vi("z", [1, length, di])],
        [vi("y", [1, length, di]), vi("h", [1, di, n])],
        [init("A", -block.A_log.exp()), init("D", block.D),
         init("delta_bias", block.dt_proj.bias)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("kiln", 1)])
    onnx.save(m, str(path))


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--len", type=int, default=1024)
    ap.add_argument("--form", choices=["kiln-ops", "unrolled"],
                    default="kiln-ops")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work")
    a = ap.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    build = pathlib.Path(a.build).resolve()
    os.environ.setdefault("KILN_LIBRARY_DIR", str(build / "lib"))
    sys.path.insert(0, str(ROOT / "python"))
    import numpy as np
    import torch
    import kiln
    import mamba

    torch.set_num_threads(a.threads)
    work = pathlib.Path(a.work or tempfile.mkdtemp(prefix="kiln-mamba-"))
    work.mkdir(parents=True, exist_ok=True)
    L, d = a.len, SHAPE["d"]
    block = mamba.block(**SHAPE)
    di, n, k = block.di, block.n, mamba.kernel_width(block)
    x = torch.randn(1, L, d)
    xt = torch.randn(1, 1, d)
    conv0, ssm0 = torch.randn(1, di, k - 1), torch.randn(1, di, n) * 0.1
    step = mamba.MambaStep(block)

    print(f"## Mamba block (d_model {d}, d_inner {di}, d_state {n}, d_conv {k},"
          f" dt_rank {SHAPE['dt_rank']}), fp32, batch 1, {a.threads} threads")
    print(f"- load average at start: {open('/proc/loadavg').read().split()[:3]}")
    t0 = time.perf_counter()
    prefill_onnx = work / f"prefill_{a.form}_{L}.onnx"
    step_onnx = work / "step.onnx"
    # The models depend only on the shapes and the seed: a --work directory
    # of an earlier run is reused (torch.onnx takes minutes for long
    # unrolled loops).
    if not prefill_onnx.exists():
        exported = mamba.MambaKilnOps(block) if a.form == "kiln-ops" else block
        mamba.export(exported, (x, ), prefill_onnx, ["hidden"], ["y"])
    if not step_onnx.exists():
        mamba.export(step, (xt, conv0, ssm0), step_onnx,
                     ["hidden", "conv_state", "ssm_state"],
                     ["y", "new_conv_state", "new_ssm_state"])
    print(f"- torch.onnx export: {time.perf_counter() - t0:.1f} s "
          f"(prefill graph: {prefill_onnx.stat().st_size >> 20} MiB)")

    # The scan alone, against the same reference loop in PyTorch (mamba.py's
    # SelectiveScanFn.forward: mamba_ssm's selective_scan_ref semantics).
    scan_onnx = work / f"scan_{L}.onnx"
    if not scan_onnx.exists():
        write_scan_model(scan_onnx, block, L)
    g = torch.Generator().manual_seed(2)
    scan_in = (torch.randn(1, L, di, generator=g),
               torch.randn(1, L, di, generator=g) * 0.5 - 2,
               torch.randn(1, L, n, generator=g),
               torch.randn(1, L, n, generator=g),
               torch.randn(1, L, di, generator=g))
    A = -block.A_log.exp()

    def scan_ref(u, delta, B, C, z):
        tr = lambda v: v.transpose(1, 2)
        y, h = mamba.SelectiveScanFn.forward(None, tr(u), tr(delta), A, tr(B),
                                             tr(C), block.D, tr(z),
                                             block.dt_proj.bias)
        return tr(y), h

    rows = []
    for name, onnx_path, inputs, ref in [
            (f"prefill L={L} ({a.form})", prefill_onnx, (x, ), block),
            (f"scan only L={L}", scan_onnx, scan_in, scan_ref),
            ("decode step", step_onnx, (xt, conv0, ssm0), step)]:
        so = onnx_path.with_suffix(".so")
        t0 = time.perf_counter()
        subprocess.run([str(build / "bin" / "kiln-compile"), str(onnx_path),
                        "-o", str(so)], check=True)
        compile_s = time.perf_counter() - t0
        m = kiln.load(str(so))
        with torch.no_grad():
            want = ref(*inputs)
        want = want if isinstance(want, tuple) else (want, )
        got = m.run(*[i.numpy() for i in inputs])
        err = max(float(np.max(np.abs(g - w.numpy()))) for g, w in zip(got, want))
        ok = all(np.allclose(g, w.numpy(), atol=1e-3, rtol=1e-3)
                 for g, w in zip(got, want))
        ws = m.workspace_bytes
        del m
        # Rounds alternate kiln and PyTorch, so that both see the same
        # machine; the table gives the medians over rounds and the median
        # of the rounds' ratios.
        kiln_ms, torch_ms, ratios = [], [], []
        for _ in range(a.rounds):
            kms, kiln_kib = kiln_bench(build / "bin", so, a.threads, a.runs)
            with torch.no_grad():
                tms = median_ms(lambda: ref(*inputs), a.runs)[0]
            kiln_ms.append(kms)
            torch_ms.append(tms)
            ratios.append(tms / kms)
        rows.append((name, kiln_ms, torch_ms, ratios, compile_s, ws, kiln_kib,
                     err, ok))

    # Anything of L x d_inner x d_state elements in the lowered IR?
    linalg = subprocess.run([str(build / "bin" / "kiln-compile"),
                             str(prefill_onnx), "--emit=linalg", "-o", "-"],
                            capture_output=True, text=True, check=True).stdout
    def has_state_dims(shape):
        dims = [int(v) for v in shape.split("x")]
        for v in (L, di, n):
            if v not in dims:
                return False
            dims.remove(v)
        return True

    big = sorted(s for s in set(re.findall(r"tensor<([0-9x]+)xf32>", linalg))
                 if has_state_dims(s))
    torch_kib = torch_peak_kib(L, a.threads)

    print()
    med = statistics.median
    print(f"Medians over {a.rounds} rounds of (kiln: {a.runs} runs, PyTorch: "
          f"{a.runs} runs); the ratio is the median of the rounds' ratios, "
          f"its range in brackets.")
    print()
    print("| case | kiln ms | PyTorch ms | PyTorch ÷ kiln | kiln compile s "
          "| kiln workspace MiB | max abs err vs PyTorch |")
    print("|---|---|---|---|---|---|---|")
    for name, kms, tms, rs, cs, ws, kib, err, ok in rows:
        print(f"| {name} | {med(kms):.3f} | {med(tms):.3f} | {med(rs):.1f}x "
              f"[{min(rs):.1f}, {max(rs):.1f}] | {cs:.1f} | {ws / 2**20:.2f} "
              f"| {err:.2e}{'' if ok else ' MISMATCH'} |")
    print()
    print(f"- peak RSS: kiln-run prefill {rows[0][6] / 1024:.0f} MiB, "
          f"kiln-run decode {rows[2][6] / 1024:.0f} MiB, PyTorch process "
          f"running the prefill once {torch_kib / 1024:.0f} MiB; one "
          f"[L, d_inner, d_state] fp32 tensor is {L * di * n * 4 / 2**20:.0f} "
          f"MiB, one [L, d_inner] {L * di * 4 / 2**20:.1f} MiB")
    print(f"- tensors with dimensions L, d_inner and d_state in --emit=linalg: "
          f"{big or 'none'}")
    print(f"- load average at end: {open('/proc/loadavg').read().split()[:3]}")
    if not all(r[-1] for r in rows):
        sys.exit("kiln's outputs do not match PyTorch's")


if __name__ == "__main__":
    main()
