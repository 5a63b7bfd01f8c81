"""A plain-PyTorch reference of Mamba language models with the parameter
names of Hugging Face's MambaForCausalLM (backbone.embeddings,
backbone.layers.N.norm / mixer.{in_proj, conv1d, x_proj, dt_proj, A_log, D,
out_proj}, backbone.norm_f, lm_head), run strictly as the recurrence: every
token, prompt included, is one step from the conv state (the last K-1
inputs of the conv) and the SSM state h. Checkpoints are written with
reference.save_checkpoint; no transformers or mamba_ssm package."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from reference import RMSNorm


class Mixer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, self.n, self.k = cfg["hidden_size"], cfg["state_size"], \
            cfg["conv_kernel"]
        self.di = cfg["intermediate_size"]
        self.r = cfg["time_step_rank"]
        bias, conv_bias = cfg["use_bias"], cfg["use_conv_bias"]
        self.in_proj = nn.Linear(d, 2 * self.di, bias=bias)
        self.conv1d = nn.Conv1d(self.di, self.di, self.k, groups=self.di,
                                padding=self.k - 1, bias=conv_bias)
        self.x_proj = nn.Linear(self.di, self.r + 2 * self.n, bias=False)
        self.dt_proj = nn.Linear(self.r, self.di, bias=True)
        self.A_log = nn.Parameter(torch.zeros(self.di, self.n))
        self.D = nn.Parameter(torch.ones(self.di))
        self.out_proj = nn.Linear(self.di, d, bias=bias)

    def step(self, x, state):
        """One token x [d]; state = [conv [Di, K-1], h [Di, N]], updated."""
        xz = self.in_proj(x)
        u, z = xz[:self.di], xz[self.di:]
        window = torch.cat([state[0], u[:, None]], dim=1)  # [Di, K]
        w = self.conv1d.weight[:, 0, :]
        u = (window * w).sum(-1)
        if self.conv1d.bias is not None:
            u = u + self.conv1d.bias
        u = F.silu(u)
        state[0] = window[:, 1:]
        dbc = self.x_proj(u)
        dt, B, C = dbc[:self.r], dbc[self.r:self.r + self.n], \
            dbc[self.r + self.n:]
        dt = F.softplus(self.dt_proj(dt))  # [Di]
        A = -torch.exp(self.A_log)
        h = torch.exp(dt[:, None] * A) * state[1] + \
            dt[:, None] * B[None, :] * u[:, None]
        state[1] = h
        y = (h * C[None, :]).sum(-1) + self.D * u
        y = y * F.silu(z)
        return self.out_proj(y)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])
        self.mixer = Mixer(cfg)


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(Block(cfg)
                                    for _ in range(cfg["num_hidden_layers"]))
        self.norm_f = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])


class MambaLM(nn.Module):
    """Parameter names as in MambaForCausalLM."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg)
        self.tied = cfg.get("tie_word_embeddings", True)
        if not self.tied:
            self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"],
                                     bias=False)

    def new_state(self):
        c = self.cfg
        di = c["intermediate_size"]
        return [[torch.zeros(di, c["conv_kernel"] - 1),
                 torch.zeros(di, c["state_size"])]
                for _ in range(c["num_hidden_layers"])]

    def step(self, token, state):
        """Logits [V] after one token."""
        h = self.backbone.embeddings.weight[token]
        for layer, s in zip(self.backbone.layers, state):
            h = h + layer.mixer.step(layer.norm(h), s)
        h = self.backbone.norm_f(h)
        w = self.backbone.embeddings.weight if self.tied else \
            self.lm_head.weight
        return w @ h

    @torch.no_grad()
    def generate(self, prompt, n):
        """Greedy: the n token ids after `prompt` (a list of ids)."""
        state = self.new_state()
        for t in prompt:
            logits = self.step(t, state)
        out = []
        for _ in range(n):
            t = int(torch.argmax(logits))
            out.append(t)
            if len(out) == n:
                break
            logits = self.step(t, state)
        return out


def make_config(vocab=256, d=64, layers=2, state=16, kernel=4, expand=2,
                tied=True, use_bias=False, use_conv_bias=True, rank="auto",
                **extra):
    cfg = {"model_type": "mamba", "vocab_size": vocab, "hidden_size": d,
           "state_size": state, "conv_kernel": kernel, "expand": expand,
           "intermediate_size": expand * d, "time_step_rank": rank,
           "num_hidden_layers": layers, "layer_norm_epsilon": 1e-5,
           "use_bias": use_bias, "use_conv_bias": use_conv_bias,
           "tie_word_embeddings": tied, "hidden_act": "silu",
           "architectures": ["MambaForCausalLM"]}
    cfg.update(extra)
    return cfg


def resolved(cfg):
    """cfg with time_step_rank "auto" made ceil(hidden_size / 16)."""
    c = dict(cfg)
    if c["time_step_rank"] == "auto":
        c["time_step_rank"] = math.ceil(c["hidden_size"] / 16)
    return c


def random_model(cfg, seed=0):
    """Random weights in the ranges Mamba's initialization gives: A_log =
    log(1..N) (+ noise), dt biases the inverse softplus of dt in
    [1e-3, 1e-1], D near 1; norms, conv and projections random."""
    torch.manual_seed(seed)
    m = MambaLM(resolved(cfg)).eval()
    m.cfg = cfg  # what config.json says
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("A_log"):
                n = p.shape[1]
                p.copy_(torch.log(torch.arange(1, n + 1).float())[None, :]
                        + 0.1 * torch.randn_like(p))
            elif name.endswith("dt_proj.bias"):
                dt = torch.exp(torch.rand_like(p) * (math.log(0.1) -
                                                     math.log(1e-3))
                               + math.log(1e-3))
                p.copy_(dt + torch.log(-torch.expm1(-dt)))
            elif name.endswith(".D"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif "norm" in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "embeddings" in name:
                # Tied: small, or the residual stream's own token wins
                # every argmax and generation repeats it.
                p.copy_(torch.randn_like(p) * (0.1 if m.tied else 1.0))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn_like(p) / math.sqrt(fan_in))
    return m
