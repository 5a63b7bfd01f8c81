#!/usr/bin/python3
"""Prints the smallest cosine similarity between the outputs of two kiln
artifacts of one model (fp32 and --dtype=bf16) on the same random inputs.

    bf16_cosine.py KILN_RUN FP32.so BF16.so WORK_DIR

Exits non-zero (printing nothing) when either run fails."""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np


def outputs(kiln_run, so, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    subprocess.run([kiln_run, so, "--random-inputs", "--seed", "7",
                    "--output-dir", out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {os.path.basename(p): np.load(p).astype(np.float64).ravel()
            for p in sorted(glob.glob(os.path.join(out, "*.npy")))}


def main():
    kiln_run, fp32, bf16, work = sys.argv[1:5]
    a = outputs(kiln_run, fp32, os.path.join(work, "fp32"))
    b = outputs(kiln_run, bf16, os.path.join(work, "bf16"))
    if not a or a.keys() != b.keys():
        sys.exit(1)
    worst = min(float(x @ b[k] / (np.linalg.norm(x) * np.linalg.norm(b[k])))
                for k, x in a.items())
    print(f"{worst:.6f}")


if __name__ == "__main__":
    main()
