#!/usr/bin/env python3
"""Mutation test for the kiln dialect's verifiers.

Takes a valid .mlir file, derives variants that each change one tensor type
(a dimension, the rank or the element type) or one integer attribute of one
line, and runs the tool on each. Every variant must be accepted (exit 0) or
rejected with a located diagnostic (exit 1); a crash, an assertion failure or
a rejection without a location fails the test.

usage: mutate_ir.py KILN_OPT FILE.mlir [--limit N]
"""
import concurrent.futures
import random
import re
import subprocess
import sys
import tempfile

TENSOR = re.compile(r"tensor<([0-9x?]*?)x?(f32|f16|bf16|i1|i8|i32|i64|ui8|i4)>")
INTS = re.compile(r"(array<i64: )([-0-9, ]+)(>)|(= )(-?\d+)( : i64)")


def tensor_variants(line):
    out = []
    for m in TENSOR.finditer(line):
        dims = [d for d in m.group(1).split("x") if d] if m.group(1) else []
        et = m.group(2)

        def mk(ds, e=et):
            body = "x".join(ds + [e]) if ds else e
            return line[: m.start()] + "tensor<" + body + ">" + line[m.end():]

        for i, d in enumerate(dims):
            for nd in ("1", "0", "7", "?"):
                if nd != d:
                    out.append(mk(dims[:i] + [nd] + dims[i + 1:]))
            out.append(mk(dims[:i] + dims[i + 1:]))
        out.append(mk(dims + ["3"]))
        for ne in ("f16", "i32", "i1"):
            if ne != et:
                out.append(mk(dims, ne))
    return out


def int_variants(line):
    out = []
    for m in INTS.finditer(line):
        if m.group(1):
            vals = [v.strip() for v in m.group(2).split(",")]
            for i in range(len(vals)):
                for nv in ("-1", "0", "99"):
                    vs = vals[:i] + [nv] + vals[i + 1:]
                    out.append(line[: m.start(2)] + ", ".join(vs) + line[m.end(2):])
            out.append(line[: m.start(2)] + ", ".join(vals[:-1] or ["0"]) + line[m.end(2):])
        else:
            for nv in ("-1", "0", "99"):
                out.append(line[: m.start(5)] + nv + line[m.end(5):])
    return out


def run(tool, texts):
    """Runs the tool once over all variants, split with `// -----`."""
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write("\n// -----\n".join(texts))
        path = f.name
    p = subprocess.run([tool, path, "-split-input-file", "-o", "/dev/null"],
                       capture_output=True, text=True, timeout=600)
    unlocated = [l for l in p.stderr.splitlines()
                 if "error:" in l and not re.match(r"\S+\.mlir:\d+:\d+: error:", l)]
    return p.returncode in (0, 1) and not unlocated, p.returncode, p.stderr


def bisect(tool, texts):
    """Finds the first variant that breaks the tool on its own."""
    while len(texts) > 1:
        half = texts[: len(texts) // 2]
        texts = half if not run(tool, half)[0] else texts[len(texts) // 2:]
    return texts[0]


def main():
    tool, path = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else 0
    lines = open(path).read().split("\n")
    variants = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("//") or "func.func" in s or "dialect_resources" in s:
            continue
        if not (re.match(r"%\S+ = ", s) or s.startswith(":") or s.startswith("->")):
            continue
        for v in tensor_variants(line) + int_variants(line):
            variants.append("\n".join(lines[:i] + [v] + lines[i + 1:]))
    random.Random(0).shuffle(variants)
    if limit:
        variants = variants[:limit]
    chunks = [variants[i:i + 400] for i in range(0, len(variants), 400)]
    bad = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        for chunk, (ok, rc, err) in zip(chunks, ex.map(lambda c: run(tool, c), chunks)):
            if ok:
                continue
            bad += 1
            culprit = bisect(tool, chunk)
            print(f"FAIL (exit {rc}) on this variant:\n{culprit}\n{err[-2000:]}")
    print(f"mutants: {len(variants)}, crashes or unlocated errors: {bad}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
