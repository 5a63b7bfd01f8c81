"""A plain-PyTorch reference of the Llama family (Llama, Mistral-style
grouped-query attention, Qwen2-style q/k/v biases, tied embeddings) with the
parameter names of Hugging Face checkpoints, a writer of such checkpoints
(config.json + model.safetensors, written by hand: 8-byte header length,
JSON header, raw little-endian data) and greedy generation with a KV cache.
Used by the end-to-end tests and the benchmark; no transformers package."""
import json
import math
import pathlib
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotary_tables(head_dim, theta, positions):
    """cos, sin [len(positions), head_dim / 2], computed in float64 and
    rounded once (kiln does the same)."""
    i = torch.arange(0, head_dim, 2, dtype=torch.float64)
    inv_freq = 1.0 / (theta ** (i / head_dim))
    ang = positions.to(torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rotary(x, cos, sin):
    """Llama's rotate-half on x [B, H, S, D] with cos/sin [S, D/2]."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, self.hq, self.hkv = cfg["hidden_size"], cfg["num_attention_heads"], \
            cfg["num_key_value_heads"]
        self.dh = cfg.get("head_dim", d // self.hq)
        qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
        o_bias = cfg["model_type"] == "llama" and cfg.get("attention_bias", False)
        self.q_proj = nn.Linear(d, self.hq * self.dh, bias=qkv_bias)
        self.k_proj = nn.Linear(d, self.hkv * self.dh, bias=qkv_bias)
        self.v_proj = nn.Linear(d, self.hkv * self.dh, bias=qkv_bias)
        self.o_proj = nn.Linear(self.hq * self.dh, d, bias=o_bias)

    def forward(self, x, cos, sin, cache, pos):
        """x [1, S, d] at positions pos..pos+S-1; cache: (k, v) tensors
        [1, Hkv, max, D] updated in place."""
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.hq, self.dh).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.hkv, self.dh).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.hkv, self.dh).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        kc, vc = cache
        kc[:, :, pos:pos + s] = k
        vc[:, :, pos:pos + s] = v
        n = pos + s
        k = kc[:, :, :n].repeat_interleave(self.hq // self.hkv, dim=1)
        v = vc[:, :, :n].repeat_interleave(self.hq // self.hkv, dim=1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
        # Query i (position pos+i) sees keys 0..pos+i.
        mask = torch.ones(s, n, dtype=torch.bool).tril(diagonal=pos)
        scores = scores.masked_fill(~mask, float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, s, -1))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, f = cfg["hidden_size"], cfg["intermediate_size"]
        bias = cfg.get("mlp_bias", False)
        self.gate_proj = nn.Linear(d, f, bias=bias)
        self.up_proj = nn.Linear(d, f, bias=bias)
        self.down_proj = nn.Linear(f, d, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, cache, pos):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, pos)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6))


class CausalLM(nn.Module):
    """Parameter names as in LlamaForCausalLM / Qwen2ForCausalLM."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.tied = cfg.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def new_cache(self, max_len):
        c = self.cfg
        dh = c.get("head_dim", c["hidden_size"] // c["num_attention_heads"])
        shape = (1, c["num_key_value_heads"], max_len, dh)
        return [(torch.zeros(shape), torch.zeros(shape))
                for _ in range(c["num_hidden_layers"])]

    def forward(self, tokens, cache, pos):
        """Logits [S, V] of tokens [S] at positions pos..pos+S-1."""
        c = self.cfg
        dh = c.get("head_dim", c["hidden_size"] // c["num_attention_heads"])
        s = tokens.shape[0]
        cos, sin = rotary_tables(dh, c.get("rope_theta", 10000.0),
                                 torch.arange(pos, pos + s))
        h = self.model.embed_tokens(tokens)[None]
        for layer, kv in zip(self.model.layers, cache):
            h = layer(h, cos, sin, kv, pos)
        h = self.model.norm(h)[0]
        w = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        return h @ w.t()

    @torch.no_grad()
    def generate(self, prompt, n, max_len):
        """Greedy: the n token ids after `prompt` (a list of ids)."""
        cache = self.new_cache(max_len)
        logits = self(torch.tensor(prompt), cache, 0)[-1]
        out, pos = [], len(prompt)
        for _ in range(n):
            t = int(torch.argmax(logits))
            out.append(t)
            if len(out) == n:
                break
            logits = self(torch.tensor([t]), cache, pos)[-1]
            pos += 1
        return out


def make_config(model_type="llama", vocab=256, d=64, layers=2, heads=4,
                kv_heads=2, ffn=128, tied=False, max_pos=256, **extra):
    cfg = {"model_type": model_type, "vocab_size": vocab, "hidden_size": d,
           "intermediate_size": ffn, "num_hidden_layers": layers,
           "num_attention_heads": heads, "num_key_value_heads": kv_heads,
           "max_position_embeddings": max_pos, "rms_norm_eps": 1e-5,
           "rope_theta": 10000.0, "tie_word_embeddings": tied,
           "hidden_act": "silu"}
    cfg.update(extra)
    return cfg


def random_model(cfg, seed=0):
    """A model with random weights (norm scales and biases too, so that
    every tensor matters), rounded to what `dtype` stores is up to the
    writer."""
    torch.manual_seed(seed)
    m = CausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "embed" in name:
                p.copy_(torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[1]))
    return m


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16",
                      torch.bfloat16: "BF16", torch.int64: "I64"}


def write_safetensors(path, tensors, pad_to=8):
    """Writes {name: torch tensor} in the safetensors layout."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype],
                        "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % pad_to)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def save_checkpoint(model, directory, dtype=torch.float32):
    """config.json + model.safetensors with the weights in `dtype`. The
    model's own weights are rounded to `dtype` too, so that the reference
    computes with exactly what the checkpoint holds."""
    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(model.cfg, indent=1))
    state = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(p.to(dtype).float())
            state[name] = p.detach().to(dtype)
    write_safetensors(d / "model.safetensors", state)
    return d
