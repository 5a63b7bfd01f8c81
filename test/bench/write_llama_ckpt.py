#!/usr/bin/python3
"""Writes a random Llama-shaped Hugging Face checkpoint directory
(config.json + model.safetensors) for issue 12's bounded-memory benchmark.

    test/bench/write_llama_ckpt.py DIR [--dtype f16|bf16|f32] [--layers 22]
                                       [--hidden 2048] [--heads 32]
                                       [--kv-heads 4] [--ffn 5632]
                                       [--vocab 32000] [--tied] [--seed 0]

The defaults are TinyLlama-1.1B's shapes (untied lm head): 1.1e9
parameters, 2.2 GB in fp16. Weights are normal * 0.02, norm scales 1 +
normal * 0.02, so activations stay sane. The file is streamed: the header
is computed from the shapes first, then each tensor is generated and
written in chunks, so the writer's memory is a few tens of MB whatever the
model's size (test/e2e/llm/reference.py's writer holds every tensor).
An existing DIR whose config.json and file size match is kept (prints
"kept"), so repeated runs do not rewrite 2 GB."""
import argparse
import json
import os
import pathlib
import struct
import sys

import numpy as np

DTYPES = {"f16": ("F16", 2), "bf16": ("BF16", 2), "f32": ("F32", 4)}
CHUNK = 1 << 22  # elements generated at a time


def llama_config(a):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": a.vocab, "hidden_size": a.hidden,
            "intermediate_size": a.ffn, "num_hidden_layers": a.layers,
            "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads,
            "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0, "tie_word_embeddings": a.tied,
            "hidden_act": "silu",
            "torch_dtype": {"f16": "float16", "bf16": "bfloat16",
                            "f32": "float32"}[a.dtype]}


def tensor_shapes(a):
    """(name, shape) of every tensor, in the file's order."""
    d, hd = a.hidden, a.hidden // a.heads
    kv = a.kv_heads * hd
    out = [("model.embed_tokens.weight", (a.vocab, d))]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (d,)),
                (p + "self_attn.q_proj.weight", (d, d)),
                (p + "self_attn.k_proj.weight", (kv, d)),
                (p + "self_attn.v_proj.weight", (kv, d)),
                (p + "self_attn.o_proj.weight", (d, d)),
                (p + "post_attention_layernorm.weight", (d,)),
                (p + "mlp.gate_proj.weight", (a.ffn, d)),
                (p + "mlp.up_proj.weight", (a.ffn, d)),
                (p + "mlp.down_proj.weight", (d, a.ffn))]
    out.append(("model.norm.weight", (d,)))
    if not a.tied:
        out.append(("lm_head.weight", (a.vocab, d)))
    return out


def encode(x, dtype):
    """float32 array -> raw bytes of `dtype` (bf16: round to nearest even)."""
    if dtype == "f16":
        return x.astype(np.float16).tobytes()
    if dtype == "f32":
        return x.astype(np.float32).tobytes()
    u = x.astype(np.float32).view(np.uint32)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16).tobytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--dtype", choices=DTYPES, default="f16")
    ap.add_argument("--layers", type=int, default=22)
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=5632)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--tied", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    st_name, size = DTYPES[a.dtype]
    shapes = tensor_shapes(a)
    header, offset = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape)) * size
        header[name] = {"dtype": st_name, "shape": list(shape),
                        "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    total = 8 + len(text) + offset
    params = offset // size

    d = pathlib.Path(a.dir)
    cfg = json.dumps(llama_config(a), indent=1)
    st = d / "model.safetensors"
    if (d / "config.json").is_file() and (d / "config.json").read_text() == cfg \
            and st.is_file() and st.stat().st_size == total:
        print(f"kept {d}: {params / 1e9:.3f}e9 parameters, {total / 1e9:.2f} GB")
        return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    tmp = st.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in shapes:
            n = int(np.prod(shape))
            for start in range(0, n, CHUNK):
                x = rng.standard_normal(min(CHUNK, n - start), np.float32)
                x *= 0.02
                if "norm" in name:
                    x += 1
                f.write(encode(x, a.dtype))
    os.replace(tmp, st)
    (d / "config.json").write_text(cfg)
    print(f"wrote {d}: {params / 1e9:.3f}e9 parameters, {total / 1e9:.2f} GB")


if __name__ == "__main__":
    sys.exit(main())
