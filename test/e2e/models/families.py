"""Small PyTorch models in the style of each family kiln targets, written as
their reference implementations export them with torch.onnx (decomposed
norms, attention as matmul/softmax/matmul, rotary by slicing, the Mamba scan
as a Python loop). Shared by the end-to-end tests and the benchmarks; sizes
are arguments so the benchmarks can build bigger ones."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def causal_attention(q, k, v, causal):
    """softmax(q k^T / sqrt(d) + mask) v with q, k, v as [B, H, S, D]."""
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        n = s.shape[-1]
        mask = torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
        s = s + mask
    return torch.softmax(s, dim=-1) @ v


class MHA(nn.Module):
    def __init__(self, d, heads, causal=False):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (t.reshape(b, s, self.heads, d // self.heads).transpose(1, 2)
                   for t in (q, k, v))
        y = causal_attention(q, k, v, self.causal)
        return self.proj(y.transpose(1, 2).reshape(b, s, d))


def gelu_tanh(x):  # GPT-2's gelu_new
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) *
                                     (x + 0.044715 * torch.pow(x, 3))))


class GPT2Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = MHA(d, heads, causal=True)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.out(gelu_tanh(self.fc(self.ln_2(x))))


class GPT2(nn.Module):
    def __init__(self, vocab=97, d=64, heads=4, layers=2, ctx=32):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(GPT2Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.wte(ids) + self.wpe(pos)
        for blk in self.blocks:
            x = blk(x)
        return self.ln_f(x) @ self.wte.weight.t()


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(1 + 0.1 * torch.randn(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * \
            self.weight


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, d, heads, kv_heads):
        super().__init__()
        self.h, self.kvh, self.hd = heads, kv_heads, d // heads
        self.q = nn.Linear(d, heads * self.hd, bias=False)
        self.k = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o = nn.Linear(heads * self.hd, d, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        self.register_buffer("inv_freq", inv)

    def forward(self, x, past=None):
        """Without `past`, causal attention over x's tokens. With `past`
        (keys, values) of P earlier tokens ([B, kv_heads, P, hd] each), x's
        tokens come after them: returns the output and the keys and values
        of all P + S tokens (the present cache)."""
        b, s, _ = x.shape
        p = 0 if past is None else past[0].shape[2]
        q = self.q(x).view(b, s, self.h, self.hd).transpose(1, 2)
        k = self.k(x).view(b, s, self.kvh, self.hd).transpose(1, 2)
        v = self.v(x).view(b, s, self.kvh, self.hd).transpose(1, 2)
        t = torch.arange(p, p + s).float()
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat((past[0], k), dim=2)
            v = torch.cat((past[1], v), dim=2)
        present = (k, v)
        n = p + s
        rep = self.h // self.kvh  # repeat_kv
        k = k[:, :, None].expand(b, self.kvh, rep, n, self.hd).reshape(
            b, self.h, n, self.hd)
        v = v[:, :, None].expand(b, self.kvh, rep, n, self.hd).reshape(
            b, self.h, n, self.hd)
        y = causal_attention(q, k, v, causal=past is None)
        y = self.o(y.transpose(1, 2).reshape(b, s, self.h * self.hd))
        return y if past is None else (y, present)


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, kv_heads, ffn):
        super().__init__()
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.attn = LlamaAttention(d, heads, kv_heads)
        self.gate = nn.Linear(d, ffn, bias=False)
        self.up = nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def mlp(self, x):
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))

    def forward(self, x):
        return self.mlp(x + self.attn(self.n1(x)))

    def step(self, x, past):
        """One decode step over a past KV cache: (output, present cache)."""
        y, present = self.attn(self.n1(x), past)
        return self.mlp(x + y), present


class Llama(nn.Module):
    def __init__(self, vocab=101, d=64, heads=4, kv_heads=2, ffn=128, layers=2):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(LlamaBlock(d, heads, kv_heads, ffn)
                                    for _ in range(layers))
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        x = self.emb(ids)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x))


class LlamaDecode(Llama):
    """One decode step with a past KV cache, as decoders are exported for
    generation: ids [1, 1] and the stacked cache past_k, past_v
    ([layers, 1, kv_heads, P, hd]) in; logits and the present cache (P + 1
    tokens) out."""

    def forward(self, ids, past_k, past_v):
        x = self.emb(ids)
        ks, vs = [], []
        for i, blk in enumerate(self.blocks):
            x, (k, v) = blk.step(x, (past_k[i], past_v[i]))
            ks.append(k)
            vs.append(v)
        return self.head(self.norm(x)), torch.stack(ks), torch.stack(vs)


class ViT(nn.Module):
    def __init__(self, image=32, patch=8, d=64, heads=4, layers=2, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(3, d, patch, stride=patch)
        n = (image // patch) ** 2
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.1)
        self.pos = nn.Parameter(torch.randn(1, n + 1, d) * 0.1)
        self.layers = nn.ModuleList(
            nn.ModuleDict(dict(n1=nn.LayerNorm(d), attn=MHA(d, heads),
                               n2=nn.LayerNorm(d), fc=nn.Linear(d, 4 * d),
                               out=nn.Linear(4 * d, d)))
            for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

    def forward(self, img):
        x = self.patch(img).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        for l in self.layers:
            x = x + l["attn"](l["n1"](x))
            x = x + l["out"](F.gelu(l["fc"](l["n2"](x))))
        return self.head(self.norm(x)[:, 0])


class UNetBlock(nn.Module):
    """An SD-style resnet block with a time embedding, then spatial
    self-attention, then a nearest-neighbour upsample and a conv."""

    def __init__(self, c=32, temb=16, groups=8, heads=2):
        super().__init__()
        self.n1, self.n2 = nn.GroupNorm(groups, c), nn.GroupNorm(groups, c)
        self.c1, self.c2 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)
        self.t = nn.Linear(temb, c)
        self.na = nn.GroupNorm(groups, c)
        self.attn = MHA(c, heads)
        self.up = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, t):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(F.silu(t))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        x = x + h
        b, c, hh, ww = x.shape
        a = self.na(x).reshape(b, c, hh * ww).transpose(1, 2)
        x = x + self.attn(a).transpose(1, 2).reshape(b, c, hh, ww)
        return self.up(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class PlainLayerNorm(nn.Module):
    """LayerNorm without an affine part, written out (torch 1.13 cannot
    export an affine-free LayerNormalization): the decomposed spelling."""

    def __init__(self, eps=1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        var = (x - mean).pow(2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps)


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class DiTBlock(nn.Module):
    def __init__(self, d=64, heads=4):
        super().__init__()
        self.n1, self.n2 = PlainLayerNorm(), PlainLayerNorm()
        self.attn = MHA(d, heads)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.ada = nn.Linear(d, 6 * d)

    def forward(self, x, c):
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(F.silu(c)).chunk(6, dim=1)
        x = x + g1.unsqueeze(1) * self.attn(modulate(self.n1(x), sh1, sc1))
        h = F.gelu(self.fc(modulate(self.n2(x), sh2, sc2)), approximate="tanh")
        return x + g2.unsqueeze(1) * self.out(h)


class MambaBlock(nn.Module):
    """Mamba's mixer (mamba_simple), with the selective scan written as the
    reference loop over time."""

    def __init__(self, d=32, d_state=8, d_conv=4, expand=2, dt_rank=4):
        super().__init__()
        di = expand * d
        self.di, self.n, self.r = di, d_state, dt_rank
        self.in_proj = nn.Linear(d, 2 * di, bias=False)
        self.conv = nn.Conv1d(di, di, d_conv, groups=di, padding=d_conv - 1)
        self.x_proj = nn.Linear(di, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, di)
        A = torch.arange(1, d_state + 1).float().repeat(di, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(di))
        self.out_proj = nn.Linear(di, d, bias=False)

    def forward(self, hidden):
        b, L, _ = hidden.shape
        x, z = self.in_proj(hidden).chunk(2, dim=-1)
        x = F.silu(self.conv(x.transpose(1, 2))[..., :L]).transpose(1, 2)
        dt, B, C = self.x_proj(x).split([self.r, self.n, self.n], dim=-1)
        dt = F.softplus(self.dt_proj(dt))
        A = -torch.exp(self.A_log)
        h = torch.zeros(b, self.di, self.n)
        ys = []
        for t in range(L):
            dA = torch.exp(dt[:, t, :, None] * A)
            dBu = dt[:, t, :, None] * B[:, t, None, :] * x[:, t, :, None]
            h = dA * h + dBu
            ys.append((h * C[:, t, None, :]).sum(-1))
        y = torch.stack(ys, dim=1) + x * self.D
        return self.out_proj(y * F.silu(z))


class MambaLM(nn.Module):
    def __init__(self, vocab=89, d=32, layers=2, **kw):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(
            nn.ModuleDict(dict(norm=RMSNorm(d), mixer=MambaBlock(d, **kw)))
            for _ in range(layers))
        self.norm, self.head = RMSNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        x = self.emb(ids)
        for l in self.layers:
            x = x + l["mixer"](l["norm"](x))
        return self.head(self.norm(x))


def example(name, seed=0):
    """(model, example inputs, input names) for a family, with fixed seeds."""
    torch.manual_seed(seed)
    if name == "gpt2":
        return GPT2().eval(), (torch.randint(0, 97, (1, 16)),), ["input_ids"]
    if name == "llama":
        return Llama().eval(), (torch.randint(0, 101, (1, 12)),), ["input_ids"]
    if name == "llama_decode":
        past = torch.randn(2, 2, 1, 2, 11, 16)  # (k, v) x layers x [1, 2, P, 16]
        return (LlamaDecode().eval(),
                (torch.randint(0, 101, (1, 1)), past[0], past[1]),
                ["input_ids", "past_k", "past_v"])
    if name == "vit":
        return ViT().eval(), (torch.randn(1, 3, 32, 32),), ["pixels"]
    if name == "unet":
        return (UNetBlock().eval(), (torch.randn(1, 32, 8, 8), torch.randn(1, 16)),
                ["sample", "temb"])
    if name == "dit":
        return DiTBlock().eval(), (torch.randn(2, 16, 64), torch.randn(2, 64)), \
            ["x", "c"]
    if name == "mamba":
        return MambaBlock().eval(), (torch.randn(1, 8, 32),), ["hidden"]
    if name == "mamba_lm":
        return MambaLM().eval(), (torch.randint(0, 89, (1, 8)),), ["input_ids"]
    raise KeyError(name)


FAMILIES = ["gpt2", "llama", "llama_decode", "vit", "unet", "dit", "mamba",
            "mamba_lm"]


def export(name, path, seed=0):
    """Exports a family's model to ONNX; returns (inputs, outputs) as numpy,
    the main output (logits, image, hidden states) first."""
    model, args, names = example(name, seed)
    with torch.no_grad():
        out = model(*args)
        outs = list(out) if isinstance(out, tuple) else [out]
        torch.onnx.export(model, args, str(path), input_names=names,
                          output_names=["output"] + [f"output{i}" for i in
                                                     range(1, len(outs))],
                          opset_version=17)
    return [a.numpy() for a in args], [o.numpy() for o in outs]
