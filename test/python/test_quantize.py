"""kiln.compile(quantize=..., dtype=...): weight quantization and bf16
through the Python package (JIT and ahead of time), against PyTorch."""
import numpy as np
import pytest
import torch

import kiln


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(128, 256)
        self.fc2 = torch.nn.Linear(256, 64)

    def forward(self, x):
        return self.fc2(torch.nn.functional.silu(self.fc1(x)))


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    return MLP().eval()


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("kw,min_cos,exact_ok", [
    ({"quantize": "int8"}, 0.999, False),
    ({"quantize": "int4"}, 0.99, False),
    ({"quantize": "int4", "quant_group": 64, "quant_zero_points": True}, 0.99,
     False),
    ({"dtype": "bf16"}, 0.999, False),
    ({"dtype": torch.bfloat16}, 0.999, False),
    ({"dtype": np.float32}, 0.9999999, True),
    ({"quantize": "int8", "quant_exclude": "fc"}, 0.9999999, True),
])
@pytest.mark.parametrize("aot", [False, True])
def test_matches_pytorch(mlp, kw, min_cos, exact_ok, aot):
    x = torch.randn(3, 128)
    with torch.no_grad():
        want = mlp(x).numpy()
    m = kiln.compile(mlp, example_inputs=(x, ), aot=aot, **kw)
    got = m(x.numpy())
    c = cosine(want, got)
    assert c >= min_cos, (kw, c)
    # Quantized (or bf16) results are not fp32's: the option took effect.
    assert exact_ok or not np.allclose(got, want, atol=1e-6, rtol=0), kw


def test_quantized_artifact_is_smaller(mlp, tmp_path):
    x = torch.randn(1, 128)
    sizes = {}
    for mode in (None, "int8"):
        path = tmp_path / f"{mode}.so"
        kiln.compile(mlp, example_inputs=(x, ), quantize=mode, output=path)
        sizes[mode] = path.stat().st_size
    assert sizes["int8"] < sizes[None]


@pytest.mark.parametrize("kw,match", [
    ({"quantize": "int3"}, "quantize must be None"),
    ({"dtype": "f16"}, "dtype must be None"),
    ({"quantize": "int4", "quant_group": 48}, "group_size 48"),
    ({"quantize": "int8", "quant_zero_points": True}, "zero points"),
    ({"quantize": "int8", "quant_exclude": "("}, "not a regular expression"),
])
def test_bad_values(mlp, kw, match):
    with pytest.raises((ValueError, kiln.CompileError), match=match):
        kiln.compile(mlp, example_inputs=(torch.randn(1, 128), ), **kw)
