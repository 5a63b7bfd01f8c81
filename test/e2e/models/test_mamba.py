"""Mamba prefill and decode through kiln, against PyTorch (mamba.py):

- the block written with kiln's ONNX ops (domain "kiln"), prefill and a
  decode step;
- the block's prefill returning the states a decode step continues from;
- one decode step (x_t, conv_state, ssm_state) -> (y_t, new states), from
  torch.onnx's export of a plain PyTorch step: its conv and L = 1 scan are
  recognized as kiln.causal_conv1d and kiln.selective_scan with states;
- a generation loop: a prefill, then N decode steps through kiln (the
  Python package), each step's states fed to the next, matching PyTorch's
  sequential steps and the prefill of the whole sequence.
"""
import os
import sys

import numpy as np
import pytest
import torch

from conftest import BUILD, ROOT, run, tool
import mamba

os.environ.setdefault("KILN_LIBRARY_DIR", str(BUILD / "lib"))
sys.path.insert(0, str(ROOT / "python"))
import kiln  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning",
                               "ignore::UserWarning"),
    # These drive the Python package, whose libraries a sanitizer build can
    # not load into python3 (see test/python/conftest.py); the same models
    # run under the sanitizers through kiln-run in test_families.py.
    pytest.mark.skipif(os.environ.get("KILN_SANITIZE") == "1",
                       reason="the Python package needs the regular build"),
]
ATOL, RTOL = 1e-4, 1e-3
STEP_IN = ["hidden", "conv_state", "ssm_state"]
STEP_OUT = ["y", "new_conv_state", "new_ssm_state"]


def close(got, want, what):
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL, err_msg=what)


def kiln_ir(path):
    return run([tool("kiln-compile"), str(path), "--emit=kiln"]).stdout


def check_both(path, inputs, want):
    """Runs the ONNX model JIT-compiled and ahead of time through the Python
    package; each output must match `want`, JIT and AOT bit for bit."""
    got = {}
    for mode in ("jit", "aot"):
        m = kiln.compile(str(path), aot=(mode == "aot"))
        got[mode] = m.run(*inputs)
        assert len(got[mode]) == len(want)
        for i, (g, w) in enumerate(zip(got[mode], want)):
            close(g, w, f"{mode} output {i} ({m.outputs[i].name})")
    for a, j in zip(got["aot"], got["jit"]):
        assert np.array_equal(a, j), "AOT and JIT outputs differ"


def states(block, batch=1, seed=1):
    g = torch.Generator().manual_seed(seed)
    k = mamba.kernel_width(block)
    return (torch.randn(batch, block.di, k - 1, generator=g),
            torch.randn(batch, block.di, block.n, generator=g))


def test_kiln_ops_prefill(tmp_path):
    block = mamba.block()
    x = torch.randn(1, 8, 32)
    path = tmp_path / "kiln_ops.onnx"
    mamba.export(mamba.MambaKilnOps(block), (x, ), path, ["hidden"], ["y"])
    ir = kiln_ir(path)
    assert ir.count("kiln.selective_scan ") == 1, ir
    assert "delta_bias(" in ir and "delta_softplus = true" in ir, ir
    assert ir.count("kiln.causal_conv1d ") == 1, ir
    with torch.no_grad():
        want = block(x)  # the plain PyTorch block, same parameters
    check_both(path, [x.numpy()], [want.numpy()])


def test_kiln_ops_decode_step(tmp_path):
    block = mamba.block()
    x = torch.randn(2, 1, 32)
    conv_state, ssm_state = states(block, batch=2)
    path = tmp_path / "kiln_ops_step.onnx"
    mamba.export(mamba.MambaKilnOps(block, decode=True),
                 (x, conv_state, ssm_state), path, STEP_IN, STEP_OUT)
    ir = kiln_ir(path)
    assert "state(%arg1)" in ir and "state(%arg2)" in ir, ir
    with torch.no_grad():
        want = mamba.MambaStep(block)(x, conv_state, ssm_state)
    check_both(path, [x.numpy(), conv_state.numpy(), ssm_state.numpy()],
               [w.numpy() for w in want])


def test_prefill_with_states(tmp_path):
    block = mamba.block()
    x = torch.randn(1, 8, 32)
    path = tmp_path / "prefill.onnx"
    mamba.export(mamba.MambaPrefill(block), (x, ), path, ["hidden"],
                 ["y", "conv_state", "ssm_state"])
    ir = kiln_ir(path)
    assert ir.count("kiln.selective_scan ") == 1, ir
    assert ir.count("kiln.causal_conv1d ") == 1, ir
    # The states returned are the ops' final states (the conv's, not a
    # slice of its input).
    assert "%final_state, %final_state_0 :" in ir, ir
    with torch.no_grad():
        want = mamba.MambaPrefill(block)(x)
        assert torch.allclose(want[0], block(x))
    check_both(path, [x.numpy()], [w.numpy() for w in want])


def test_decode_step(tmp_path):
    """torch.onnx's export of one step is recognized: the conv over
    concat(state, x_t) and the one-step scan from the given state."""
    block = mamba.block()
    x = torch.randn(1, 1, 32)
    conv_state, ssm_state = states(block)
    path = tmp_path / "step.onnx"
    mamba.export(mamba.MambaStep(block), (x, conv_state, ssm_state), path,
                 STEP_IN, STEP_OUT)
    ir = kiln_ir(path)
    assert ir.count("kiln.selective_scan ") == 1, ir
    assert ir.count("kiln.causal_conv1d ") == 1, ir
    for leftover in ["kiln.conv ", "kiln.concat ", "kiln.reduce ", "kiln.silu "]:
        assert leftover not in ir, (leftover, ir)
    # Both states come in as arguments and go out as the ops' final states.
    assert "state(%arg1)" in ir and "state(%arg2)" in ir, ir
    assert "return %" in ir and "%final_state, %final_state_0" in ir, ir
    with torch.no_grad():
        want = mamba.MambaStep(block)(x, conv_state, ssm_state)
    check_both(path, [x.numpy(), conv_state.numpy(), ssm_state.numpy()],
               [w.numpy() for w in want])


@pytest.mark.parametrize("aot", [False, True], ids=["jit", "aot"])
def test_generation_loop(tmp_path, aot):
    """Prefill P tokens, then N decode steps through kiln, each fed the
    states the previous one returned (double-buffered: the step writes the
    new states into the other pair of arrays; see docs)."""
    P, N = 5, 6
    block = mamba.block()
    x = torch.randn(1, P + N, 32)
    mamba.export(mamba.MambaPrefill(block), (x[:, :P], ), tmp_path / "p.onnx",
                 ["hidden"], ["y", "conv_state", "ssm_state"])
    conv0, ssm0 = states(block)
    mamba.export(mamba.MambaStep(block), (x[:, :1], conv0, ssm0),
                 tmp_path / "s.onnx", STEP_IN, STEP_OUT)
    prefill = kiln.compile(str(tmp_path / "p.onnx"), aot=aot)
    step = kiln.compile(str(tmp_path / "s.onnx"), aot=aot)

    # PyTorch: the whole sequence at once, and the same loop step by step.
    with torch.no_grad():
        full = block(x).numpy()
        _, conv_full, ssm_full = mamba.MambaPrefill(block)(x)
        y, conv, ssm = mamba.MambaPrefill(block)(x[:, :P])
        torch_steps = [y]
        for t in range(P, P + N):
            y, conv, ssm = mamba.MambaStep(block)(x[:, t:t + 1], conv, ssm)
            torch_steps.append(y)
    torch_seq = torch.cat(torch_steps, dim=1).numpy()
    np.testing.assert_allclose(torch_seq, full, atol=1e-5, rtol=1e-4)

    xs = x.numpy()
    y, conv, ssm = prefill(np.ascontiguousarray(xs[:, :P]))
    outs = [y]
    spare = [np.empty_like(conv), np.empty_like(ssm)]
    y_t = np.empty((1, 1, 32), np.float32)
    for t in range(P, P + N):
        step.run(np.ascontiguousarray(xs[:, t:t + 1]), conv, ssm,
                 out=[y_t, spare[0], spare[1]])
        (conv, spare[0]), (ssm, spare[1]) = (spare[0], conv), (spare[1], ssm)
        outs.append(y_t.copy())
    seq = np.concatenate(outs, axis=1)
    close(seq, torch_seq, "decode loop vs PyTorch's steps")
    close(seq, full, "decode loop vs the whole sequence")
    close(conv, conv_full.numpy(), "conv state after the loop")
    close(ssm, ssm_full.numpy(), "ssm state after the loop")
