"""Mamba's block (families.MambaBlock) in the forms a generation loop needs,
written in plain PyTorch so that torch.onnx exports what kiln must
recognize, plus a form that exports kiln's own ONNX ops:

- MambaPrefill: the block over a prompt, also returning the states a decode
  step continues from (conv state: the last K-1 inputs of the conv; SSM
  state: h after the last step).
- MambaStep: one decode step: (x_t [B, 1, D], conv_state [B, Di, K-1],
  ssm_state [B, Di, N]) -> (y_t, new conv_state, new ssm_state), the conv as
  concat(state, x_t) and an unpadded depthwise conv, the scan as the
  reference loop with L = 1 from the given state.
- MambaKilnOps: the block with the scan and the conv as custom ops in the
  "kiln" ONNX domain (kiln.SelectiveScan, kiln.CausalConv1d), the way an
  exporter that knows kiln would write it (mamba_ssm's selective_scan_fn
  signature: delta_bias and delta_softplus inside the op).

All share a MambaBlock's parameters, so their outputs compare with its
forward pass."""
import torch
import torch.nn.functional as F
from torch import nn

from families import MambaBlock


def kernel_width(m):
    return m.conv.kernel_size[0]


def scan_steps(m, x, dt, B, C, h):
    """The reference recurrence over x: [b, L, Di] from state h; returns
    (y [b, L, Di], h)."""
    A = -torch.exp(m.A_log)
    ys = []
    for t in range(x.shape[1]):
        dA = torch.exp(dt[:, t, :, None] * A)
        dBu = dt[:, t, :, None] * B[:, t, None, :] * x[:, t, :, None]
        h = dA * h + dBu
        ys.append((h * C[:, t, None, :]).sum(-1))
    return torch.stack(ys, dim=1), h


def ssm_tail(m, x, z, h):
    """x_proj, dt_proj, the scan from h, the D skip, the gate and out_proj;
    returns (output, final state)."""
    dt, B, C = m.x_proj(x).split([m.r, m.n, m.n], dim=-1)
    dt = F.softplus(m.dt_proj(dt))
    y, h = scan_steps(m, x, dt, B, C, h)
    y = y + x * m.D
    return m.out_proj(y * F.silu(z)), h


class MambaPrefill(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.m = block

    def forward(self, hidden):
        m, L, K = self.m, hidden.shape[1], kernel_width(self.m)
        assert L >= K - 1, "the prompt must hold at least K-1 tokens"
        x, z = m.in_proj(hidden).chunk(2, dim=-1)
        xt = x.transpose(1, 2)
        conv_state = xt[:, :, L - (K - 1):]
        x = F.silu(m.conv(xt)[..., :L]).transpose(1, 2)
        h = torch.zeros(hidden.shape[0], m.di, m.n)
        out, h = ssm_tail(m, x, z, h)
        return out, conv_state, h


class MambaStep(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.m = block

    def forward(self, hidden, conv_state, ssm_state):
        m = self.m
        x, z = m.in_proj(hidden).chunk(2, dim=-1)
        xc = torch.cat([conv_state, x.transpose(1, 2)], dim=2)
        x = F.silu(F.conv1d(xc, m.conv.weight, m.conv.bias,
                            groups=m.di)).transpose(1, 2)
        out, h = ssm_tail(m, x, z, ssm_state)
        return out, xc[:, :, 1:], h


# ---------------------------------------------------------------- kiln ops

class SelectiveScanFn(torch.autograd.Function):
    """kiln.SelectiveScan(u, delta, A, B, C, D, z, delta_bias, [h0]) with
    delta_softplus = 1, channel-major ([b, Di, L], B and C [b, N, L])."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, h0=None):
        dt = F.softplus(delta + delta_bias[:, None])
        h = h0 if h0 is not None else u.new_zeros(u.shape[0], u.shape[1],
                                                  A.shape[1])
        ys = []
        for t in range(u.shape[2]):
            h = torch.exp(dt[:, :, t, None] * A) * h + \
                dt[:, :, t, None] * B[:, None, :, t] * u[:, :, t, None]
            ys.append((h * C[:, None, :, t]).sum(-1))
        y = torch.stack(ys, dim=2) + u * D[:, None]
        return y * F.silu(z), h

    @staticmethod
    def symbolic(g, u, delta, A, B, C, D, z, delta_bias, h0=None):
        ins = [u, delta, A, B, C, D, z, delta_bias]
        if h0 is not None:
            ins.append(h0)
        return g.op("kiln::SelectiveScan", *ins, delta_softplus_i=1,
                    outputs=2)


class CausalConv1dFn(torch.autograd.Function):
    """kiln.CausalConv1d(x, weight [Di, K], bias, [state]) with SiLU."""

    @staticmethod
    def forward(ctx, x, weight, bias, state=None):
        k = weight.shape[1]
        if state is None:
            state = x.new_zeros(x.shape[0], x.shape[1], k - 1)
        xs = torch.cat([state, x], dim=2)
        y = F.conv1d(xs, weight[:, None, :], bias, groups=x.shape[1])
        return F.silu(y), xs[:, :, xs.shape[2] - (k - 1):]

    @staticmethod
    def symbolic(g, x, weight, bias, state=None):
        ins = [x, weight, bias] + ([state] if state is not None else [])
        return g.op("kiln::CausalConv1d", *ins, activation_s="silu",
                    outputs=2)


class MambaKilnOps(nn.Module):
    """The block with kiln's ops; with `decode`, a step from given states
    (inputs hidden, conv_state, ssm_state; outputs y and both states)."""

    def __init__(self, block, decode=False):
        super().__init__()
        self.m, self.decode = block, decode

    def forward(self, hidden, conv_state=None, ssm_state=None):
        m = self.m
        x, z = m.in_proj(hidden).chunk(2, dim=-1)
        w = m.conv.weight[:, 0, :]
        x, conv_state = CausalConv1dFn.apply(x.transpose(1, 2), w,
                                             m.conv.bias, conv_state)
        dt, B, C = m.x_proj(x.transpose(1, 2)).split([m.r, m.n, m.n], dim=-1)
        delta = F.linear(dt, m.dt_proj.weight)
        y, h = SelectiveScanFn.apply(x, delta.transpose(1, 2),
                                     -torch.exp(m.A_log), B.transpose(1, 2),
                                     C.transpose(1, 2), m.D, z.transpose(1, 2),
                                     m.dt_proj.bias, ssm_state)
        out = m.out_proj(y.transpose(1, 2))
        return (out, conv_state, h) if self.decode else out


def block(seed=0, **kw):
    torch.manual_seed(seed)
    return MambaBlock(**kw).eval()


def export(module, args, path, input_names, output_names):
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=input_names,
                          output_names=output_names, opset_version=17,
                          custom_opsets={"kiln": 1})
