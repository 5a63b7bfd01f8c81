"""Mamba checkpoints (MambaForCausalLM layout): kiln-compile on the
directory, kiln-run --generate over prefill and decode with the recurrent
state; greedy token ids must equal those of the plain-PyTorch recurrence
(mamba_reference.py) exactly. Plus bad checkpoints: each a specific error,
exit code 1."""
import json
import pathlib
import subprocess
import sys

import pytest
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from conftest import (missing_cuda_toolkit, missing_gpu,  # noqa: E402
                      ptx_only_toolkit, ptxas, run, tool)
import mamba_reference as M  # noqa: E402
import reference as R  # noqa: E402
from test_llm import PROMPT, generate  # noqa: E402


def compile_ckpt(tmp_path, ckpt, prefill=8, extra=()):
    so = tmp_path / "model.so"
    run([tool("kiln-compile"), str(ckpt) + "/", "-o", str(so),
         "--prefill-length", str(prefill), *extra])
    return so


VARIANTS = {
    # name: (config, dtype)
    "untied_f32": (M.make_config(tied=False), torch.float32),
    "tied_f32": (M.make_config(tied=True), torch.float32),
    "tied_bf16": (M.make_config(tied=True, layers=3), torch.bfloat16),
    "biases_no_conv_bias_f16": (M.make_config(tied=False, use_bias=True,
                                              use_conv_bias=False, rank=8,
                                              state=8, kernel=3, d=48),
                                torch.float16),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_greedy_matches_reference(tmp_path, name):
    cfg, dtype = VARIANTS[name]
    model = M.random_model(cfg, seed=sorted(VARIANTS).index(name))
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt", dtype)
    want = model.generate(PROMPT, 32)
    assert len(set(want)) > 4, want  # a test that can fail
    so = compile_ckpt(tmp_path, ckpt)
    assert generate(so, 32) == want


@pytest.mark.parametrize("name", ["untied_f32", "tied_bf16"])
def test_reference_decomposition(tmp_path, name):
    """--ukernels=false: the scan and the convolution take their reference
    lowerings (the CUDA target's), the decode step a loop of one time
    step over a batch of one."""
    cfg, dtype = VARIANTS[name]
    model = M.random_model(cfg, seed=sorted(VARIANTS).index(name))
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt", dtype)
    prompt = [(i * 37 + 11) % 256 for i in range(11)]
    want = model.generate(prompt, 16)
    assert len(set(want)) > 4, want
    so = compile_ckpt(tmp_path, ckpt, extra=["--ukernels=false"])
    assert generate(so, 16, prompt) == want


def test_cuda(tmp_path):
    """--target=cuda. Emulated (--cuda-emulate), generation gives the
    reference's tokens (the host reads the length and position where the
    caller put them); both entry points compile to PTX that ptxas accepts
    for sm_80 and sm_90; on a GPU the artifact gives the reference's
    tokens too (each skipped, with the reason printed, where it cannot
    run)."""
    cfg, dtype = VARIANTS["untied_f32"]
    model = M.random_model(cfg, seed=5)
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt", dtype)
    prompt = [(i * 37 + 11) % 256 for i in range(11)]
    want = model.generate(prompt, 12)
    assert len(set(want)) > 4, want
    so = compile_ckpt(tmp_path, ckpt,
                      extra=["--target=cuda", "--cuda-emulate"])
    assert generate(so, 12, prompt) == want
    reason = missing_cuda_toolkit()
    if reason:
        print(f"\nskipping the CUDA compilation: {reason}")
        return
    for arch in ("sm_80", "sm_90"):
        ptx = tmp_path / f"{arch}.ptx"
        run([tool("kiln-compile"), str(ckpt) + "/", "--target=cuda",
             f"--gpu-arch={arch}", "--emit=ptx", "-o", str(ptx)])
        ptxas(ptx, arch)
    reason = missing_gpu()
    if reason:
        print(f"\nskipping the Mamba checkpoint on the GPU: {reason}")
        return
    ptx_only = ptx_only_toolkit(tmp_path)
    so = compile_ckpt(tmp_path, ckpt, extra=["--target=cuda",
                                             "--gpu-arch=sm_80",
                                             f"--cuda-toolkit={ptx_only}"])
    assert generate(so, 12, prompt, extra=["--device=cuda"]) == want


@pytest.mark.parametrize("prefill", [1, 8])
def test_chunked_prefill(tmp_path, prefill):
    """A prompt of several chunks, the last partial: the padding after
    `len` must leave both states as they were."""
    cfg = M.make_config(tied=False)
    model = M.random_model(cfg, seed=7)
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt")
    prompt = [(i * 37 + 11) % 256 for i in range(27)]
    want = model.generate(prompt, 8)
    so = compile_ckpt(tmp_path, ckpt, prefill=prefill)
    assert generate(so, 8, prompt) == want
    # A prompt shorter than K-1 tokens in one padded chunk.
    assert generate(so, 8, [3]) == model.generate([3], 8)


def test_jit_from_directory(tmp_path):
    cfg = M.make_config(tied=False, layers=1)
    model = M.random_model(cfg, seed=3)
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt")
    assert generate(ckpt, 8, extra=["--prefill-length", "4"]) == \
        model.generate(PROMPT, 8)


def _state(cfg):
    model = M.random_model(cfg)
    return {n: p.detach().clone() for n, p in model.named_parameters()}


BAD = {
    "missing tensor": (lambda s, c: s.pop("backbone.layers.1.mixer.A_log"),
                       "backbone.layers.1.mixer.A_log"),
    "wrong shape": (lambda s, c: s.update({
        "backbone.layers.0.mixer.x_proj.weight": torch.zeros(7, 128)}),
        "backbone.layers.0.mixer.x_proj.weight"),
    "conv weight rank": (lambda s, c: s.update({
        "backbone.layers.0.mixer.conv1d.weight": torch.zeros(128, 4)}),
        "backbone.layers.0.mixer.conv1d.weight"),
    "extra tensor": (lambda s, c: s.update({"backbone.layers.2.norm.weight":
                                            torch.ones(64)}),
                     "does not use, like 'backbone.layers.2.norm.weight'"),
    "untied without lm_head": (lambda s, c: c.update(
        {"tie_word_embeddings": False}), "lm_head.weight"),
    "bad state_size": (lambda s, c: c.update({"state_size": "16"}),
                       "field 'state_size' must be an integer"),
    "bad time_step_rank": (lambda s, c: c.update({"time_step_rank": 0}),
                           "field 'time_step_rank' must be an integer"),
    "no hidden_size": (lambda s, c: c.pop("hidden_size"),
                       "missing integer field 'hidden_size'"),
    "gelu": (lambda s, c: c.update({"hidden_act": "gelu"}),
             "hidden_act 'gelu' is not supported"),
    "conv kernel 1": (lambda s, c: c.update({"conv_kernel": 1}),
                      "conv_kernel must be at least 2"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_checkpoint(tmp_path, name):
    cfg = M.make_config(tied=True)
    state = _state(cfg)
    edit, msg = BAD[name]
    edit(state, cfg)
    d = tmp_path / "ckpt"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(cfg))
    R.write_safetensors(d / "model.safetensors", state)
    p = subprocess.run([tool("kiln-compile"), str(d) + "/", "-o",
                        str(tmp_path / "m.so")], capture_output=True,
                       text=True)
    assert p.returncode == 1 and msg in p.stderr, p.stderr
    assert "error" in p.stderr
