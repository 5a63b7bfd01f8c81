"""Each model family, exported from PyTorch to ONNX at test time, compiled
by kiln (ahead of time and through the JIT) and compared with PyTorch."""
import pytest

from conftest import npy_args, run, tool
from families import FAMILIES, export

# What the graph stage must recognize in each family's export (per model:
# each has 2 layers, the UNet and DiT blocks 1): exactly one kiln.attention
# per attention layer, and no softmax, erf, tanh, pow, sigmoid or mean
# left over from the decomposed spellings.
RECOGNIZED = {
    "gpt2": {"attention": 2, "layer_norm": 5, "gelu": 2},
    "llama": {"attention": 2, "rms_norm": 5, "rotary": 4, "silu": 2},
    "llama_decode": {"attention": 2, "rms_norm": 5, "rotary": 4, "silu": 2},
    "vit": {"attention": 2, "layer_norm": 5, "gelu": 2},
    "unet": {"attention": 1, "group_norm": 3, "silu": 3},
    "dit": {"attention": 1, "layer_norm": 2, "gelu": 1, "silu": 1},
    # The unrolled scan re-rolls into one kiln.selective_scan per layer
    # (its silu(z) gate folded in) and the padded depthwise conv with its
    # silu into one kiln.causal_conv1d.
    "mamba": {"selective_scan": 1, "causal_conv1d": 1, "silu": 0},
    "mamba_lm": {"rms_norm": 3, "selective_scan": 2, "causal_conv1d": 2,
                 "silu": 0},
}
LEFTOVERS = ["softmax", "erf", "tanh", "pow", "sigmoid", "sqrt"]
# Micro-kernels a family's CPU code must call: the decode step's attention
# reads the past cache and the new keys in place (no concatenation).
UKERNELS = {"llama_decode": ["kiln_uk_attention_kv2_f32"]}


@pytest.mark.parametrize("family", FAMILIES)
def test_family(tmp_path, family):
    onnx_path = tmp_path / f"{family}.onnx"
    inputs, outputs = export(family, onnx_path)
    args = npy_args(tmp_path, inputs, outputs, 1e-4, 1e-3)
    kiln_ir = run([tool("kiln-compile"), str(onnx_path), "--emit=kiln"]).stdout
    for op, count in RECOGNIZED[family].items():
        assert kiln_ir.count(f"kiln.{op} ") == count, (op, kiln_ir)
    for op in LEFTOVERS:
        assert f"kiln.{op} " not in kiln_ir, (op, kiln_ir)
    if family in UKERNELS:
        kernels = run([tool("kiln-compile"), str(onnx_path),
                       "--emit=kernels"]).stdout
        for name in UKERNELS[family]:
            assert f'"{name}"' in kernels, name
    jit = run([tool("kiln-run"), str(onnx_path), *args])
    assert " ok" in jit.stdout
    so = tmp_path / f"{family}.so"
    run([tool("kiln-compile"), str(onnx_path), "-o", str(so)])
    aot = run([tool("kiln-run"), str(so), *args])
    assert " ok" in aot.stdout
