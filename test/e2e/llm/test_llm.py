"""Decoder LLMs from Hugging Face-style checkpoints: kiln-compile on a
directory of config.json + model.safetensors, kiln-run --generate over the
prefill and decode entry points; greedy token ids must equal those of the
PyTorch reference (reference.py) exactly. Plus bad checkpoints: each must
give a specific error and exit code 1, never a crash."""
import json
import pathlib
import struct
import sys

import pytest
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from conftest import (missing_cuda_toolkit, missing_gpu,  # noqa: E402
                      ptx_only_toolkit, ptxas, run, tool)
import reference as R  # noqa: E402

PROMPT = [1, 5, 9, 2, 7]


def generate(model_path, n, prompt=PROMPT, extra=()):
    p = run([tool("kiln-run"), str(model_path), "--generate", str(n),
             "--prompt-ids", ",".join(map(str, prompt)), "--threads", "2",
             *extra])
    lines = p.stdout.splitlines()
    tokens = [ln for ln in lines if ln.startswith("tokens:")]
    assert tokens, p.stdout
    assert any(ln.startswith("prefill:") for ln in lines)
    assert any(ln.startswith("decode:") for ln in lines)
    return [int(t) for t in tokens[0].split(":")[1].strip().split(",")]


def compile_ckpt(tmp_path, ckpt, max_context=64, prefill=8, extra=()):
    so = tmp_path / "model.so"
    run([tool("kiln-compile"), str(ckpt) + "/", "-o", str(so),
         "--max-context", str(max_context), "--prefill-length", str(prefill),
         *extra])
    return so


VARIANTS = {
    # name: (config, dtype)
    "llama_gqa_f32": (R.make_config(), torch.float32),
    "llama_f16": (R.make_config(seed_note="f16"), torch.float16),
    "mistral_mqa_bf16": (R.make_config("mistral", kv_heads=1,
                                       sliding_window=4096), torch.bfloat16),
    "qwen2_bias_tied": (R.make_config("qwen2", tied=True, heads=4,
                                      kv_heads=2), torch.float32),
    "llama_all_biases_mha": (R.make_config(kv_heads=4, attention_bias=True,
                                           mlp_bias=True, head_dim=8,
                                           heads=4), torch.float32),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_greedy_matches_reference(tmp_path, name):
    cfg, dtype = VARIANTS[name]
    cfg = {k: v for k, v in cfg.items() if k != "seed_note"}
    model = R.random_model(cfg, seed=sorted(VARIANTS).index(name))
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt", dtype)
    want = model.generate(PROMPT, 32, 64)
    so = compile_ckpt(tmp_path, ckpt)
    assert generate(so, 32) == want


def test_chunked_prefill_and_full_context(tmp_path):
    """A prompt longer than the prefill length runs in chunks; the last
    chunk is moved back to fit a cache that is not a multiple of it, and
    generation fills the cache to its last position."""
    cfg = R.make_config(max_pos=30)
    model = R.random_model(cfg, seed=7)
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt")
    prompt = [(i * 37 + 11) % 256 for i in range(27)]
    want = model.generate(prompt, 4, 30)
    so = compile_ckpt(tmp_path, ckpt, max_context=30, prefill=8)
    assert generate(so, 4, prompt) == want


@pytest.mark.parametrize("name", ["llama_gqa_f32", "mistral_mqa_bf16"])
def test_reference_decomposition(tmp_path, name):
    """--ukernels=false: attention over the cache takes its reference
    decomposition (the CUDA target's), over the cache's static slice masked
    at the dynamic length. A chunked prompt, then generation to the last
    position of the cache."""
    cfg, dtype = VARIANTS[name]
    cfg = {k: v for k, v in cfg.items() if k != "seed_note"}
    cfg["max_position_embeddings"] = 40
    model = R.random_model(cfg, seed=11)
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt", dtype)
    prompt = [(i * 37 + 11) % 256 for i in range(19)]
    want = model.generate(prompt, 21, 40)
    assert len(set(want)) > 4, want
    so = compile_ckpt(tmp_path, ckpt, max_context=40,
                      extra=["--ukernels=false"])
    assert generate(so, 21, prompt) == want


@pytest.mark.parametrize("name", ["llama_gqa_f32", "llama_all_biases_mha"])
def test_cuda(tmp_path, name):
    """--target=cuda. Emulated (--cuda-emulate), generation gives the
    reference's tokens: the host reads the position where the caller put
    it, and the cache the kernels update comes back to the caller; with a
    cache of 300 positions, a decode step splits each head's keys into
    ranges. Both entry points compile to PTX that ptxas accepts for sm_80
    and sm_90, and on a GPU the artifact gives the reference's tokens too
    (each skipped, with the reason printed, where it cannot run)."""
    cfg, dtype = VARIANTS[name]
    cfg = {k: v for k, v in cfg.items() if k != "seed_note"}
    cfg["max_position_embeddings"] = 300
    model = R.random_model(cfg, seed=sorted(VARIANTS).index(name))
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt", dtype)
    prompt = [(i * 37 + 11) % 256 for i in range(11)]
    want = model.generate(prompt, 12, 300)
    assert len(set(want)) > 4, want
    so = compile_ckpt(tmp_path, ckpt, max_context=300,
                      extra=["--target=cuda", "--cuda-emulate"])
    assert generate(so, 12, prompt) == want
    reason = missing_cuda_toolkit()
    if reason:
        print(f"\nskipping the CUDA compilation of {name}: {reason}")
        return
    for arch in ("sm_80", "sm_90"):
        ptx = tmp_path / f"{arch}.ptx"
        run([tool("kiln-compile"), str(ckpt) + "/", "--max-context", "300",
             "--target=cuda", f"--gpu-arch={arch}", "--emit=ptx", "-o",
             str(ptx)])
        ptxas(ptx, arch)
    reason = missing_gpu()
    if reason:
        print(f"\nskipping {name} on the GPU: {reason}")
        return
    # PTX for sm_80 (a toolkit without ptxas): the driver compiles it for
    # the GPU at hand.
    ptx_only = ptx_only_toolkit(tmp_path)
    so = compile_ckpt(tmp_path, ckpt, max_context=300,
                      extra=["--target=cuda", "--gpu-arch=sm_80",
                             f"--cuda-toolkit={ptx_only}"])
    assert generate(so, 12, prompt, extra=["--device=cuda"]) == want


def test_jit_from_directory_and_sampling(tmp_path):
    cfg = R.make_config()
    model = R.random_model(cfg, seed=3)
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt")
    want = model.generate(PROMPT, 8, 64)
    assert generate(ckpt, 8, extra=["--max-context", "64"]) == want
    # Sampling: reproducible for a seed, and top-k 1 is greedy.
    so = compile_ckpt(tmp_path, ckpt)
    a = generate(so, 16, extra=["--temperature", "1.5", "--seed", "5"])
    b = generate(so, 16, extra=["--temperature", "1.5", "--seed", "5"])
    assert a == b and all(0 <= t < 256 for t in a)
    assert generate(so, 8, extra=["--temperature", "2", "--top-k", "1"]) == want
    c = generate(so, 16, extra=["--temperature", "1.5", "--seed", "6"])
    assert c != a


def test_generate_errors(tmp_path):
    cfg = R.make_config(max_pos=32)
    model = R.random_model(cfg)
    ckpt = R.save_checkpoint(model, tmp_path / "ckpt")
    so = compile_ckpt(tmp_path, ckpt, max_context=32)
    cases = [
        (["--generate", "30", "--prompt-ids", "1,2,3,4"], "max context of 32"),
        (["--generate", "2", "--prompt-ids", "1,999"], "outside the vocabulary"),
        (["--generate", "2"], "--generate needs --prompt-ids"),
        (["--generate", "2", "--prompt-ids", "1,x"], "bad token id"),
    ]
    import subprocess
    for args, msg in cases:
        p = subprocess.run([tool("kiln-run"), str(so), *args],
                           capture_output=True, text=True)
        assert p.returncode in (1, 2) and msg in p.stderr, (args, p.stderr)
    # A model that is not a decoder.
    src = tmp_path / "add.mlir"
    src.write_text("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                   "  %0 = kiln.add %a, %a : (tensor<4xf32>, tensor<4xf32>)"
                   " -> tensor<4xf32>\n  return %0 : tensor<4xf32>\n}\n")
    p = subprocess.run([tool("kiln-run"), str(src), "--generate", "2",
                        "--prompt-ids", "1"], capture_output=True, text=True)
    assert p.returncode == 1 and "no 'prefill' entry point" in p.stderr


# --- Bad checkpoints --------------------------------------------------------

def good_checkpoint(d, **cfg_extra):
    cfg = R.make_config(vocab=32, d=16, layers=1, heads=2, kv_heads=1,
                        ffn=32, **cfg_extra)
    return R.save_checkpoint(R.random_model(cfg), d), cfg


def header_and_data(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def rewrite(path, header, data, length=None):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length)
                     + text + data)


def mutate(name, d):
    """Breaks the checkpoint in `d` in one way; returns the expected message."""
    st = d / "model.safetensors"
    cfgp = d / "config.json"
    header, data = header_and_data(st)
    first = "model.embed_tokens.weight"
    if name == "truncated_header":
        st.write_bytes(st.read_bytes()[:5])
        return "too short for a safetensors header"
    if name == "header_length_past_end":
        rewrite(st, header, data, length=1 << 40)
        return "header length"
    if name == "header_not_json":
        st.write_bytes(struct.pack("<Q", 5) + b"{oops" + data)
        return "not valid JSON"
    if name == "offsets_past_end":
        header[first]["data_offsets"][1] += 10 ** 6
        rewrite(st, header, data)
        return "run past the"
    if name == "offsets_size_mismatch":
        header[first]["data_offsets"][1] -= 4
        rewrite(st, header, data)
        return "bytes, its F32 shape needs"
    if name == "negative_dim":
        header[first]["shape"][0] = -1
        rewrite(st, header, data)
        return "non-negative integer"
    if name == "overlap":
        other = "model.norm.weight"
        n = header[other]["data_offsets"][1] - header[other]["data_offsets"][0]
        header[other]["data_offsets"] = [0, n]
        rewrite(st, header, data)
        return "overlap"
    if name == "unknown_dtype":
        header[first]["dtype"] = "F8_E4M3"
        rewrite(st, header, data)
        return "unsupported dtype 'F8_E4M3'"
    if name == "int_weight":
        e = header["model.norm.weight"]
        e["dtype"] = "I32"
        rewrite(st, header, data)
        return "weights must be F32, F16 or BF16"
    if name == "wrong_shape":
        e = header["model.norm.weight"]
        e["shape"] = [2, e["shape"][0] // 2]
        rewrite(st, header, data)
        return "the config implies [16]"
    if name == "missing_tensor":
        del header["model.layers.0.mlp.up_proj.weight"]
        rewrite(st, header, data)
        return "no tensor 'model.layers.0.mlp.up_proj.weight'"
    if name == "extra_tensor":
        header["model.layers.7.mlp.up_proj.weight"] = {
            "dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
        rewrite(st, header, data)
        return "does not use, like 'model.layers.7.mlp.up_proj.weight'"
    if name == "no_safetensors":
        st.unlink()
        return "no *.safetensors file"
    cfg = json.loads(cfgp.read_text())
    if name == "config_not_json":
        cfgp.write_text("{model_type: llama")
        return "config.json is not valid JSON"
    if name == "unknown_model_type":
        cfg["model_type"] = "gpt_neox"
        msg = "model_type 'gpt_neox' is not supported"
    elif name == "missing_field":
        del cfg["hidden_size"]
        msg = "missing integer field 'hidden_size'"
    elif name == "bad_heads":
        cfg["num_key_value_heads"] = 3
        msg = "not a multiple of num_key_value_heads"
    elif name == "rope_scaling":
        cfg["rope_scaling"] = {"type": "linear", "factor": 2.0}
        msg = "rope_scaling is not supported"
    elif name == "negative_field":
        cfg["num_hidden_layers"] = -2
        msg = "'num_hidden_layers' must be an integer"
    elif name == "context_too_long":
        cfg["max_position_embeddings"] = 16
        msg = "max context 64 is outside [1, 16]"
    else:
        raise AssertionError(name)
    cfgp.write_text(json.dumps(cfg))
    return msg


BAD = ["truncated_header", "header_length_past_end", "header_not_json",
       "offsets_past_end", "offsets_size_mismatch", "negative_dim", "overlap",
       "unknown_dtype", "int_weight", "wrong_shape", "missing_tensor",
       "extra_tensor", "no_safetensors", "config_not_json",
       "unknown_model_type", "missing_field", "bad_heads", "rope_scaling",
       "negative_field", "context_too_long"]


@pytest.mark.parametrize("name", BAD)
def test_bad_checkpoint(tmp_path, name):
    import subprocess
    d, _ = good_checkpoint(tmp_path / "ckpt")
    msg = mutate(name, d)
    p = subprocess.run([tool("kiln-compile"), str(d), "-o",
                        str(tmp_path / "m.so"), "--max-context", "64"],
                       capture_output=True, text=True)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert msg in p.stderr, p.stderr
    assert "error:" in p.stderr and str(d) in p.stderr  # located at the file
