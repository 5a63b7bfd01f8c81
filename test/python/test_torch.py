"""PyTorch modules compiled through kiln.compile (exported to ONNX) match
PyTorch, JIT and ahead of time."""
import numpy as np
import pytest
import torch

import kiln

ATOL, RTOL = 1e-4, 1e-3


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(16, 32)
        self.norm = torch.nn.LayerNorm(32)
        self.fc2 = torch.nn.Linear(32, 8)

    def forward(self, tokens):
        h = torch.nn.functional.gelu(self.norm(self.fc1(tokens)))
        return torch.softmax(self.fc2(h), dim=-1)


class TwoInTwoOut(torch.nn.Module):
    def forward(self, a, b):
        return a @ b, torch.tanh(a).sum(dim=1)


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    return MLP().eval()


def test_mlp_matches_pytorch(mlp):
    x = torch.randn(4, 16)
    m = kiln.compile(mlp, example_inputs=(x, ))
    with torch.no_grad():
        want = mlp(x).numpy()
    # The forward's parameter name names the input; a single output is
    # returned as an array.
    assert [i.name for i in m.inputs] == ["tokens"]
    assert [o.name for o in m.outputs] == ["output"]
    for _ in range(2):  # same weights, new inputs
        got = m(x.numpy())
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)
        x = torch.randn(4, 16)
        with torch.no_grad():
            want = mlp(x).numpy()


def test_multiple_inputs_and_outputs():
    torch.manual_seed(1)
    a, b = torch.randn(3, 4), torch.randn(4, 5)
    model = TwoInTwoOut()
    m = kiln.compile(model, example_inputs=(a, b))
    assert [i.name for i in m.inputs] == ["a", "b"]
    assert [o.name for o in m.outputs] == ["output_0", "output_1"]
    mm, s = m(a.numpy(), b.numpy())
    np.testing.assert_allclose(mm, (a @ b).numpy(), atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(s, torch.tanh(a).sum(1).numpy(), atol=ATOL,
                               rtol=RTOL)
    # By name, and with torch tensors (converted on the way in).
    mm2, _ = m(b=b, a=a)
    np.testing.assert_array_equal(mm, mm2)


def test_numpy_example_inputs_and_names(mlp):
    x = np.random.default_rng(0).standard_normal((2, 16)).astype(np.float32)
    m = kiln.compile(mlp, x, input_names=["x"], output_names=["probs"])
    assert m.inputs[0].name == "x" and m.outputs[0].name == "probs"
    with torch.no_grad():
        want = mlp(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(m(x), want, atol=ATOL, rtol=RTOL)


def test_aot_output_load_and_save(mlp, tmp_path):
    x = torch.randn(4, 16)
    with torch.no_grad():
        want = mlp(x).numpy()
    so = tmp_path / "mlp.so"
    m = kiln.compile(mlp, example_inputs=(x, ), output=str(so))
    assert so.exists() and m.artifact == str(so)
    np.testing.assert_allclose(m(x.numpy()), want, atol=ATOL, rtol=RTOL)

    loaded = kiln.load(so)
    assert loaded.inputs == m.inputs and loaded.outputs == m.outputs
    np.testing.assert_array_equal(loaded(x.numpy()), m(x.numpy()))

    # aot=True without a path: saved on request.
    m2 = kiln.compile(mlp, example_inputs=(x, ), aot=True)
    m2.save(tmp_path / "copy.so")
    np.testing.assert_array_equal(
        kiln.load(tmp_path / "copy.so")(x.numpy()), m(x.numpy()))

    # AOT and JIT agree bit for bit.
    jit = kiln.compile(mlp, example_inputs=(x, ))
    np.testing.assert_array_equal(jit(x.numpy()), m(x.numpy()))
