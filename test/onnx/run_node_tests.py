#!/usr/bin/env python3
"""Runs ONNX's backend node tests (Debian's libonnx-testdata) through kiln.

Each test is a model.onnx with test_data_set_*/ holding input_*.pb and
output_*.pb tensors. The runner converts them to .npy and runs
`kiln-run model.onnx --input ... --expect ...` (the JIT path) with a
timeout, in parallel. expectations.txt lists the tests expected to fail:
out-of-scope ones (training ops, sequences, strings, optionals, RNNs, control
flow with subgraphs) and in-scope ones kiln does not support yet, each with
a reason. The run fails on an unexpected failure, a crash, a hang, or an
expected failure that now passes (so the list only shrinks).

usage: run_node_tests.py KILN_RUN [--data DIR] [--jobs N] [--only SUBSTR]
"""
import argparse
import concurrent.futures
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_DATA = "/usr/include/onnx/backend/test/data/node"
TIMEOUT = 120


def load_expectations():
    """{test name or glob: (category, reason)} from expectations.txt."""
    rules = []
    for line in (HERE / "expectations.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, category, reason = [p.strip() for p in line.split("|", 2)]
        rules.append((re.compile("^" + pattern.replace("*", ".*") + "$"),
                      category, reason))
    return rules


def expectation(rules, name):
    for pattern, category, reason in rules:
        if pattern.match(name):
            return category, reason
    return None


def to_npy(pb, out):
    t = onnx.TensorProto()
    t.ParseFromString(pb.read_bytes())
    np.save(out, numpy_helper.to_array(t))


# kiln compiles static shapes: a test whose graph inputs decide output
# shapes (a Reshape's target, a ReduceSum's axes) runs with those inputs
# bound to their values (kiln-run --bind), as a user would specialize such a
# model. Passes that needed it are counted apart.
NEEDS_BINDING = re.compile(r"must be known at compile time|must be constant|"
                           r"must be a constant")


def run_kiln(kiln_run, model, inputs, expects, binds):
    args = []
    for name, npy in inputs:
        if name in binds:
            args += ["--bind", f"{name}={npy}"]
        else:
            args += ["--input", str(npy)]
    for npy in expects:
        args += ["--expect", str(npy)]
    try:
        p = subprocess.run([kiln_run, str(model), *args, "--atol", "1e-4",
                            "--rtol", "1e-3", "--threads", "1"],
                           capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "crash", f"timed out after {TIMEOUT}s"
    if p.returncode < 0 or p.returncode > 2:
        return "crash", f"exit {p.returncode}: {p.stderr[-500:]}"
    if p.returncode != 0:
        msg = (p.stderr.strip() or p.stdout.strip()).splitlines()
        return "fail", msg[0][:300] if msg else "failed"
    return "pass", ""


def run_test(kiln_run, test_dir):
    """(status, detail): status is pass, pass-bound, fail or crash."""
    model = test_dir / "model.onnx"
    sets = sorted(test_dir.glob("test_data_set_*"))
    if not sets:
        return "fail", "no test data"
    proto = onnx.load(str(model), load_external_data=False)
    inits = {i.name for i in proto.graph.initializer}
    names = [i.name for i in proto.graph.input if i.name not in inits]
    with tempfile.TemporaryDirectory() as tmp:
        inputs, expects, bindable = [], [], set()
        try:
            pbs = sorted(sets[0].glob("input_*.pb"),
                         key=lambda p: int(p.stem.split("_")[1]))
            for name, pb in zip(names, pbs):
                npy = pathlib.Path(tmp) / (pb.stem + ".npy")
                to_npy(pb, npy)
                value = np.load(npy)
                # shape-like parameters: integers, scalars, short vectors
                # (Resize scales and roi)
                if value.dtype.kind in "iu" or value.ndim == 0 or (
                        value.ndim == 1 and value.size <= 16):
                    bindable.add(name)
                inputs.append((name, npy))
            for pb in sorted(sets[0].glob("output_*.pb"),
                             key=lambda p: int(p.stem.split("_")[1])):
                npy = pathlib.Path(tmp) / (pb.stem + ".npy")
                to_npy(pb, npy)
                expects.append(npy)
        except Exception as e:  # tensors numpy cannot hold (strings, ...)
            return "fail", f"test data: {e}"
        status, detail = run_kiln(kiln_run, model, inputs, expects, set())
        if status == "fail" and bindable and NEEDS_BINDING.search(detail):
            status, detail = run_kiln(kiln_run, model, inputs, expects,
                                      bindable)
            if status == "pass":
                status = "pass-bound"
        return status, detail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kiln_run")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only", default="")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    data = pathlib.Path(args.data)
    if not data.is_dir():
        print(f"node tests not found at {data} (apt-get install libonnx-testdata)")
        print("suite-result: 0 passed, 1 failed")
        return 1
    rules = load_expectations()
    tests = sorted(d for d in data.iterdir()
                   if (d / "model.onnx").exists() and args.only in d.name)
    counts = {"pass": 0, "fail": 0, "xfail": 0, "out-of-scope": 0,
              "xpass": 0, "crash": 0, "bound": 0}
    problems = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        results = ex.map(lambda d: (d.name, run_test(args.kiln_run, d)), tests)
        for name, (status, detail) in results:
            exp = expectation(rules, name)
            if status == "crash":
                counts["crash"] += 1
                problems.append(f"CRASH {name}: {detail}")
            elif status in ("pass", "pass-bound"):
                if status == "pass-bound":
                    counts["bound"] += 1
                if exp:
                    counts["xpass"] += 1
                    problems.append(f"XPASS {name}: passes now; remove it from "
                                    f"expectations.txt")
                else:
                    counts["pass"] += 1
            elif exp:
                counts["out-of-scope" if exp[0] == "out-of-scope" else "xfail"] += 1
                if args.verbose:
                    print(f"xfail {name}: {detail}")
            else:
                counts["fail"] += 1
                problems.append(f"FAIL {name}: {detail}")
    for p in problems:
        print(p)
    in_scope = counts["pass"] + counts["fail"] + counts["xfail"] + counts["crash"]
    rate = 100.0 * counts["pass"] / in_scope if in_scope else 0.0
    print(f"node tests: {len(tests)} total; {counts['out-of-scope']} out of "
          f"scope; in scope: {counts['pass']} passed, {counts['xfail']} "
          f"expected failures, {counts['fail']} unexpected failures, "
          f"{counts['crash']} crashes or hangs ({rate:.1f}% passing)")
    bad = counts["fail"] + counts["crash"] + counts["xpass"]
    print(f"suite-result: {counts['pass']} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
