#!/usr/bin/env python3
"""Regenerates the demo's bundled files: a small Llama-style decoder exported
to ONNX (tiny_llama.onnx), a token-id input (input_ids.npy) and PyTorch's
logits for it (logits.npy). The model code is test/e2e/models/families.py."""
import pathlib
import sys

import numpy as np
import torch

here = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(here.parents[1] / "test" / "e2e" / "models"))
from families import Llama  # noqa: E402

torch.manual_seed(7)
model = Llama(vocab=256, d=128, heads=4, kv_heads=2, ffn=256, layers=2).eval()
ids = torch.randint(0, 256, (1, 32))
with torch.no_grad():
    logits = model(ids)
    torch.onnx.export(model, (ids,), str(here / "tiny_llama.onnx"),
                      input_names=["input_ids"], output_names=["logits"],
                      opset_version=17)
np.save(here / "input_ids.npy", ids.numpy())
np.save(here / "logits.npy", logits.numpy())
print("wrote tiny_llama.onnx, input_ids.npy, logits.npy")
