"""Quantization-aware training (QAT) and a binarised network on a small classification task
made up here (three interleaved 2-D spirals, NumPy-made), written the way public PyTorch
QAT/BNN code writes it.

Idioms: straight-through estimators (STE) written three ways: ``(x.round() - x).detach() +
x`` (and the clipped ``(torch.sign(x) - xc).detach() + xc``), a custom
``torch.autograd.Function`` with ``@staticmethod`` ``forward``/``backward`` that keeps the
input with ``ctx.save_for_backward`` and passes the gradient where ``|x| <= 1`` as
``grad_output * (x.abs() <= 1).to(grad_output.dtype)``, and one that writes the mask as
``torch.where(mask, grad, torch.zeros_like(grad))``; fake quantisation
``torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax)`` then dequantisation,
symmetric and asymmetric, and PyTorch's own ``torch.fake_quantize_per_tensor_affine``;
per-channel weight scales from ``w.abs().amax(dim=1, keepdim=True)`` and
``torch.aminmax(..., dim=1)``; observers written as ``nn.Module``s whose ``min_val`` and
``max_val`` are buffers (``register_buffer('min_val', torch.tensor(float('inf')))``) updated
under ``torch.no_grad()`` by ``torch.minimum``/``torch.maximum`` or by an exponential moving
average (``self.min_val.mul_(m).add_((1 - m) * x.min())``); learned step size quantisation
(LSQ) with ``s = nn.Parameter(...)``, the gradient scale ``g = 1.0 / math.sqrt(x.numel() *
qmax)`` applied as ``(s - s * g).detach() + s * g`` and a bool ``initialized`` buffer;
XNOR-style binarisation ``torch.sign(w) * w.abs().mean(dim=1, keepdim=True)`` with the
latent weights clipped by ``p.data.clamp_(-1, 1)`` after each step and ``nn.BatchNorm1d``
before every sign; weight-only quantisation through
``torch.nn.utils.parametrize.register_parametrization(layer, "weight", QuantizeWeight())``
and ``remove_parametrizations(layer, "weight", leave_parametrized=True)``; ``model.apply``
swapping ``nn.Linear``/``nn.Conv2d`` children for quantised subclasses built by a
``from_float`` classmethod; a ``state_dict`` round trip carrying the observer buffers; and
integer-only inference: ``int8`` weights and activations, ``int32`` accumulation
``q_x.to(torch.int32) @ q_w.t().to(torch.int32)``, ``int32`` biases, and requantisation by a
fixed-point multiplier and ``torch.bitwise_right_shift`` (or ``// 2**n``), clamped and cast
``.to(torch.int8)``.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math
import types

import numpy as np

N_CLASSES = 3
SHIFT = 24  # fractional bits of the fixed-point requantisation multipliers
STE_FORMS = ("detach", "function", "where")


def make_spirals(n_per_class: int = 80, noise: float = 0.15, seed: int = 0):
    """Three spiral arms in the plane, one per class, with Gaussian jitter on the angle."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(N_CLASSES):
        r = np.linspace(0.1, 1.0, n_per_class)
        t = np.linspace(c * 2 * np.pi / N_CLASSES, c * 2 * np.pi / N_CLASSES + 3.5,
                        n_per_class) + rng.normal(0, noise, n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, c))
    x = np.concatenate(xs).astype(np.float32) * 2.0
    y = np.concatenate(ys).astype(np.int64)
    perm = rng.permutation(len(y))
    return x[perm], y[perm]


def make_digits(n: int = 16, seed: int = 0):
    """8x8 "digits": four stroke patterns (a bar across, a bar down, a diagonal, a cross)
    drawn at a random offset with noise, one channel."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 4, n)
    for i, c in enumerate(y):
        k = rng.integers(2, 6)
        if c in (0, 3):
            x[i, 0, k, 1:7] = 1.0
        if c in (1, 3):
            x[i, 0, 1:7, k] = 1.0
        if c == 2:
            x[i, 0, np.arange(8), np.arange(8)] = 1.0
    x += rng.normal(0, 0.2, x.shape).astype(np.float32)
    return x, y.astype(np.int64)


def build(torch):
    """The quantisation toolkit written against ``torch``: STE functions, fake quantisers,
    observers, LSQ, quantised and binary layers, the weight parametrization and the models."""
    nn = torch.nn
    F = torch.nn.functional
    parametrize = torch.nn.utils.parametrize

    # ---------------------------------------------------------------- straight-through
    def round_ste(x):
        """Round in the forward pass, identity in the backward pass."""
        return (x.round() - x).detach() + x

    class BinarizeSTE(torch.autograd.Function):
        """sign(x) forward; the gradient passes where |x| <= 1 (hardtanh's derivative)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.sign(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * (x.abs() <= 1).to(grad_output.dtype)

    class BinarizeWhere(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sign()

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            mask = x.abs() <= 1
            return torch.where(mask, grad, torch.zeros_like(grad))

    def binarize(x, ste: str = "function"):
        if ste == "detach":
            xc = torch.clamp(x, -1, 1)
            return (torch.sign(x) - xc).detach() + xc
        if ste == "function":
            return BinarizeSTE.apply(x)
        if ste == "where":
            return BinarizeWhere.apply(x)
        raise ValueError(ste)

    class FakeQuantSTE(torch.autograd.Function):
        """Quantise-dequantise with the gradient passed where the rounded value is in range,
        as ``torch.fake_quantize_per_tensor_affine`` does."""

        @staticmethod
        def forward(ctx, x, scale, zero_point, qmin, qmax):
            q = torch.round(x / scale) + zero_point
            ctx.save_for_backward((q >= qmin) & (q <= qmax))
            return (torch.clamp(q, qmin, qmax) - zero_point) * scale

        @staticmethod
        def backward(ctx, grad_output):
            (mask,) = ctx.saved_tensors
            return grad_output * mask.to(grad_output.dtype), None, None, None, None

    class FakeQuantWhere(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale, zero_point, qmin, qmax):
            q = torch.round(x / scale) + zero_point
            ctx.save_for_backward(q)
            ctx.qmin, ctx.qmax = qmin, qmax
            return (torch.clamp(q, qmin, qmax) - zero_point) * scale

        @staticmethod
        def backward(ctx, grad):
            (q,) = ctx.saved_tensors
            mask = (q >= ctx.qmin) & (q <= ctx.qmax)
            return torch.where(mask, grad, torch.zeros_like(grad)), None, None, None, None

    def fake_quant(x, scale, zero_point, qmin: int, qmax: int, ste: str = "detach"):
        """``x`` rounded onto the integer grid ``scale * (q - zero_point)``, q in [qmin, qmax].
        With ``detach`` the scale may carry a gradient (per-channel weight scales do)."""
        if ste == "detach":
            q = torch.clamp(round_ste(x / scale) + zero_point, qmin, qmax)
            return (q - zero_point) * scale
        if ste == "function":
            return FakeQuantSTE.apply(x, scale, zero_point, qmin, qmax)
        if ste == "where":
            return FakeQuantWhere.apply(x, scale, zero_point, qmin, qmax)
        if ste == "builtin":
            return torch.fake_quantize_per_tensor_affine(x, float(scale), int(zero_point),
                                                         qmin, qmax)
        raise ValueError(ste)

    def quantize_tensor(x, scale, zero_point, qmin: int, qmax: int):
        """The integer codes themselves (what an integer kernel sees)."""
        return torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax)

    def weight_scale(w, bits: int = 8):
        """Symmetric per-output-channel scale: the largest |w| of a row maps to qmax."""
        qmax = 2 ** (bits - 1) - 1
        dims = tuple(range(1, w.dim()))
        return w.abs().amax(dim=dims, keepdim=True).clamp(min=1e-8) / qmax

    def quantize_weight(w, bits: int = 8, ste: str = "detach"):
        qmax = 2 ** (bits - 1) - 1
        scale = weight_scale(w, bits)
        if ste != "detach":
            scale = scale.detach()
        return fake_quant(w, scale, 0, -qmax, qmax, ste)

    # ---------------------------------------------------------------- observers
    class MinMaxObserver(nn.Module):
        """Running min/max of what flows through (plain or moving average) and the affine
        quantisation parameters they give."""

        def __init__(self, qmin: int = -128, qmax: int = 127, momentum: float | None = None,
                     symmetric: bool = False):
            super().__init__()
            self.qmin, self.qmax = qmin, qmax
            self.momentum, self.symmetric = momentum, symmetric
            self.register_buffer("min_val", torch.tensor(float("inf")))
            self.register_buffer("max_val", torch.tensor(float("-inf")))

        @torch.no_grad()
        def forward(self, x):
            x = x.detach()
            if self.momentum is None or torch.isinf(self.min_val).item():
                self.min_val.copy_(torch.minimum(self.min_val, x.min()))
                self.max_val.copy_(torch.maximum(self.max_val, x.max()))
            else:
                m = self.momentum
                self.min_val.mul_(m).add_((1 - m) * x.min())
                self.max_val.mul_(m).add_((1 - m) * x.max())
            return x

        def calculate_qparams(self):
            with torch.no_grad():
                min_neg = torch.clamp(self.min_val, max=0.0)
                max_pos = torch.clamp(self.max_val, min=0.0)
                if self.symmetric:
                    max_abs = torch.maximum(-min_neg, max_pos)
                    scale = max_abs / ((self.qmax - self.qmin) / 2)
                    scale = torch.clamp(scale, min=1e-8)
                    zero_point = torch.zeros_like(scale)
                else:
                    scale = (max_pos - min_neg) / float(self.qmax - self.qmin)
                    scale = torch.clamp(scale, min=1e-8)
                    zero_point = self.qmin - torch.round(min_neg / scale)
                    zero_point = torch.clamp(zero_point, self.qmin, self.qmax)
            return scale, zero_point

    class PerChannelMinMaxObserver(nn.Module):
        """Asymmetric per-output-channel weight ranges through ``torch.aminmax``."""

        def __init__(self, channels: int, qmin: int = -128, qmax: int = 127):
            super().__init__()
            self.qmin, self.qmax = qmin, qmax
            self.register_buffer("min_val", torch.full((channels,), float("inf")))
            self.register_buffer("max_val", torch.full((channels,), float("-inf")))

        def forward(self, w):
            with torch.no_grad():
                lo, hi = torch.aminmax(w.detach().flatten(1), dim=1)
                self.min_val.copy_(torch.minimum(self.min_val, lo))
                self.max_val.copy_(torch.maximum(self.max_val, hi))
            return w

        def calculate_qparams(self):
            min_neg = self.min_val.clamp(max=0)
            max_pos = self.max_val.clamp(min=0)
            scale = ((max_pos - min_neg) / (self.qmax - self.qmin)).clamp(min=1e-8)
            zero_point = (self.qmin - torch.round(min_neg / scale)).clamp(self.qmin, self.qmax)
            return scale, zero_point.to(torch.int32)

    # ---------------------------------------------------------------- LSQ
    class LsqQuantizer(nn.Module):
        """Learned step size quantisation (Esser et al.): the step ``s`` is a parameter,
        initialised from the first batch, with its gradient scaled by ``g``."""

        def __init__(self, bits: int = 4, signed: bool = False):
            super().__init__()
            if signed:
                self.qn, self.qp = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            else:
                self.qn, self.qp = 0, 2 ** bits - 1
            self.s = nn.Parameter(torch.tensor(1.0))
            self.register_buffer("initialized", torch.tensor(False))

        def forward(self, x):
            if not self.initialized:
                with torch.no_grad():
                    self.s.copy_(2 * x.abs().mean() / math.sqrt(self.qp))
                    self.initialized.fill_(True)
            g = 1.0 / math.sqrt(x.numel() * self.qp)
            s_scaled = (self.s - self.s * g).detach() + self.s * g
            x = torch.clamp(x / s_scaled, self.qn, self.qp)
            return round_ste(x) * s_scaled

    # ---------------------------------------------------------------- quantised layers
    class QuantLinear(nn.Linear):
        """8-bit fake-quantised linear layer: per-channel symmetric weights, and the input
        either observed (moving-average min/max, asymmetric) or LSQ-quantised."""

        def __init__(self, in_features, out_features, bias=True, w_bits=8, a_bits=8,
                     ste="detach", momentum=0.9, act="observer", device=None, dtype=None):
            super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
            self.w_bits, self.ste, self.act = w_bits, ste, act
            qmin, qmax = -(2 ** (a_bits - 1)), 2 ** (a_bits - 1) - 1
            if act == "observer":
                self.act_obs = MinMaxObserver(qmin, qmax, momentum=momentum)
            else:
                self.act_quant = LsqQuantizer(a_bits, signed=True)

        @classmethod
        def from_float(cls, mod, **kwargs):
            q = cls(mod.in_features, mod.out_features, mod.bias is not None,
                    dtype=mod.weight.dtype, **kwargs)
            with torch.no_grad():
                q.weight.copy_(mod.weight)
                if mod.bias is not None:
                    q.bias.copy_(mod.bias)
            return q

        def quantize_input(self, x):
            if self.act == "lsq":
                return self.act_quant(x)
            if self.training:
                self.act_obs(x)
            scale, zero_point = self.act_obs.calculate_qparams()
            if self.ste == "builtin":
                return fake_quant(x, scale.item(), zero_point.item(), self.act_obs.qmin,
                                  self.act_obs.qmax, "builtin")
            return fake_quant(x, scale, zero_point, self.act_obs.qmin, self.act_obs.qmax,
                              self.ste)

        def forward(self, x):
            w_ste = "detach" if self.ste == "builtin" else self.ste
            wq = quantize_weight(self.weight, self.w_bits, w_ste)
            return F.linear(self.quantize_input(x), wq, self.bias)

    class QuantConv2d(nn.Conv2d):
        """Fake-quantised convolution: per-channel asymmetric weights from a ``torch.aminmax``
        observer, the input through a min/max observer."""

        @classmethod
        def from_float(cls, mod, ste="detach", **_):
            q = cls(mod.in_channels, mod.out_channels, mod.kernel_size, stride=mod.stride,
                    padding=mod.padding, bias=mod.bias is not None, dtype=mod.weight.dtype)
            q.ste = ste
            q.w_obs = PerChannelMinMaxObserver(mod.out_channels)
            q.act_obs = MinMaxObserver(momentum=0.9)
            with torch.no_grad():
                q.weight.copy_(mod.weight)
                if mod.bias is not None:
                    q.bias.copy_(mod.bias)
            return q

        def forward(self, x):
            if self.training:
                self.act_obs(x)
                self.w_obs(self.weight)
            s_x, zp_x = self.act_obs.calculate_qparams()
            s_w, zp_w = self.w_obs.calculate_qparams()
            xq = fake_quant(x, s_x, zp_x, -128, 127, self.ste)
            wq = fake_quant(self.weight, s_w.view(-1, 1, 1, 1), zp_w.view(-1, 1, 1, 1),
                            -128, 127, "detach")
            return F.conv2d(xq, wq, self.bias, self.stride, self.padding)

    def swap_to_quantized(model, **kwargs):
        """Replace every ``nn.Linear``/``nn.Conv2d`` child, at any depth, by its quantised
        version (``model.apply`` visits children before their parent)."""
        mapping = {nn.Linear: QuantLinear, nn.Conv2d: QuantConv2d}

        def swap(module):
            for name, child in module.named_children():
                if type(child) in mapping:
                    setattr(module, name, mapping[type(child)].from_float(child, **kwargs))

        model.apply(swap)
        return model

    class BinaryLinear(nn.Linear):
        """XNOR-style binary layer: sign of the input, sign of the latent weights scaled by
        the mean |w| of each output row."""

        def __init__(self, in_features, out_features, bias=False, ste="function"):
            super().__init__(in_features, out_features, bias)
            self.ste = ste

        def forward(self, x):
            xb = binarize(x, self.ste)
            alpha = self.weight.abs().mean(dim=(1,), keepdim=True)
            wb = binarize(self.weight, self.ste) * alpha
            return F.linear(xb, wb, self.bias)

    class QuantizeWeight(nn.Module):
        """A parametrization: the weight seen by the layer is its symmetric per-row fake
        quantisation."""

        def __init__(self, bits: int = 4):
            super().__init__()
            self.bits = bits

        def forward(self, w):
            return quantize_weight(w, self.bits)

    # ---------------------------------------------------------------- models
    def float_mlp(hidden: int = 32):
        return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                             nn.ReLU(), nn.Linear(hidden, N_CLASSES))

    def binary_mlp(hidden: int = 64, ste: str = "function"):
        return nn.Sequential(
            nn.Linear(2, hidden, bias=False), nn.BatchNorm1d(hidden),
            BinaryLinear(hidden, hidden, ste=ste), nn.BatchNorm1d(hidden),
            BinaryLinear(hidden, hidden, ste=ste), nn.BatchNorm1d(hidden),
            nn.Linear(hidden, N_CLASSES))

    def digits_cnn(channels: int = 4):
        return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(channels, channels, 3, stride=2), nn.ReLU(),
                             nn.Flatten(), nn.Linear(channels * 9, 4))

    return types.SimpleNamespace(**{k: v for k, v in locals().items() if k != "torch"})


def clip_binary_weights(torch, model) -> None:
    """The BNN rule: latent weights of binary layers live in [-1, 1]."""
    with torch.no_grad():
        for m in model.modules():
            if type(m).__name__ == "BinaryLinear":
                m.weight.data.clamp_(-1, 1)


def integer_inference(torch, model, x):
    """The fake-quantised MLP ``QuantLinear, ReLU, QuantLinear, ReLU, QuantLinear`` (in eval
    mode, observers frozen) run on integers only: int8 codes, int32 accumulation and biases,
    fixed-point requantisation by a right shift, ReLU folded into the clamp. Returns the int8
    codes of each hidden activation and the int32 accumulators of the last layer."""
    layers = [m for m in model if type(m).__name__ == "QuantLinear"]
    s_x, zp_x = layers[0].act_obs.calculate_qparams()
    q_x = quantize_tensor_int8(torch, x, s_x, zp_x)
    codes = []
    for i, layer in enumerate(layers):
        w = layer.weight.detach()
        s_w = w.abs().amax(dim=1).clamp(min=1e-8) / 127
        q_w = torch.clamp(torch.round(w / s_w[:, None]), -127, 127).to(torch.int8)
        q_b = torch.round(layer.bias.detach() / (s_x * s_w)).to(torch.int32)
        acc = (q_x.to(torch.int32) - zp_x.to(torch.int32)) @ q_w.t().to(torch.int32) + q_b
        if i == len(layers) - 1:
            return codes, acc, s_x * s_w
        s_y, zp_y = layers[i + 1].act_obs.calculate_qparams()
        multiplier = torch.round(s_x * s_w / s_y * 2 ** SHIFT).to(torch.int64)
        scaled = acc.to(torch.int64) * multiplier + (1 << (SHIFT - 1))
        y = torch.bitwise_right_shift(scaled, SHIFT) + zp_y.to(torch.int64)
        y_div = scaled // 2 ** SHIFT + zp_y.to(torch.int64)
        assert torch.equal(y, y_div)
        q_x = torch.clamp(y, int(zp_y.item()), 127).to(torch.int8)  # ReLU: codes >= zp
        codes.append(q_x)
        s_x, zp_x = s_y, zp_y
    raise AssertionError("unreachable")


def quantize_tensor_int8(torch, x, scale, zero_point):
    return torch.clamp(torch.round(x / scale) + zero_point, -128, 127).to(torch.int8)


def accuracy(torch, logits, y) -> float:
    return (logits.argmax(dim=1) == y).float().mean().item()


def train(torch, model, x, y, steps: int, lr: float, after_step=None) -> list:
    F = torch.nn.functional
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if after_step is not None:
            after_step()
        losses.append(loss.item())
    return losses


def main(torch, seed: int = 0, float_steps: int = 120, qat_steps: int = 60,
         bnn_steps: int = 120) -> dict:
    """Train a float MLP, swap it to 8-bit QAT and fine-tune, run it on integers; train a
    binarised MLP and an LSQ-quantised one; quantise the float MLP's weights to 4 bits with
    a parametrization and bake it in."""
    import copy
    import io

    Q = build(torch)
    parametrize = torch.nn.utils.parametrize
    torch.manual_seed(seed)
    x_np, y_np = make_spirals(seed=seed)
    xt_np, yt_np = make_spirals(n_per_class=50, seed=seed + 1)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    xt, yt = torch.from_numpy(xt_np), torch.from_numpy(yt_np)
    out: dict = {}

    # float baseline
    model = Q.float_mlp()
    losses = train(torch, model, x, y, float_steps, 2e-2)
    model.eval()
    with torch.no_grad():
        out["float_acc"] = accuracy(torch, model(xt), yt)
    out["float_initial"], out["float_final"] = losses[0], losses[-1]
    float_model = copy.deepcopy(model)

    # 8-bit QAT from the float weights
    qat = Q.swap_to_quantized(copy.deepcopy(float_model), ste="detach")
    out["swapped"] = [type(m).__name__ for m in qat]
    losses = train(torch, qat, x, y, qat_steps, 5e-3)
    qat.eval()
    with torch.no_grad():
        fq_logits = qat(xt)
    out["qat_acc"] = accuracy(torch, fq_logits, yt)
    out["qat_final"] = losses[-1]
    out["observer_ranges"] = [(m.act_obs.min_val.item(), m.act_obs.max_val.item())
                              for m in qat if type(m).__name__ == "QuantLinear"]

    # state_dict round trip (observer buffers included) into a freshly swapped model
    buf = io.BytesIO()
    torch.save(qat.state_dict(), buf)
    buf.seek(0)
    fresh = Q.swap_to_quantized(Q.float_mlp(), ste="detach")
    fresh.load_state_dict(torch.load(buf))
    fresh.eval()
    with torch.no_grad():
        out["restored_same"] = bool(torch.equal(fresh(xt), fq_logits))
    out["state_keys"] = list(qat.state_dict())

    # integer-only inference of the QAT model
    with torch.no_grad():
        _, acc, out_scale = integer_inference(torch, qat, xt)
        int_pred = acc.argmax(dim=1)
        out["int_acc"] = (int_pred == yt).float().mean().item()
        out["int_agrees"] = (int_pred == fq_logits.argmax(dim=1)).float().mean().item()
        out["int_logit_err"] = (acc.to(torch.float32) * out_scale - fq_logits).abs().max().item()
        out["acc_dtype"] = str(acc.dtype)

    # LSQ 4-bit activations
    torch.manual_seed(seed)
    lsq = Q.swap_to_quantized(Q.float_mlp(), ste="detach", act="lsq", a_bits=4, w_bits=4)
    losses = train(torch, lsq, x, y, float_steps, 2e-2)
    lsq.eval()
    with torch.no_grad():
        out["lsq_acc"] = accuracy(torch, lsq(xt), yt)
    out["lsq_initial"], out["lsq_final"] = losses[0], losses[-1]
    out["lsq_steps"] = [m.act_quant.s.item() for m in lsq if hasattr(m, "act_quant")]

    # binarised network
    torch.manual_seed(seed)
    bnn = Q.binary_mlp()
    losses = train(torch, bnn, x, y, bnn_steps, 1e-2,
                   after_step=lambda: clip_binary_weights(torch, bnn))
    bnn.eval()
    with torch.no_grad():
        out["bnn_acc"] = accuracy(torch, bnn(xt), yt)
    out["bnn_initial"], out["bnn_final"] = losses[0], losses[-1]
    out["bnn_weight_range"] = max(m.weight.abs().max().item() for m in bnn.modules()
                                  if type(m).__name__ == "BinaryLinear")

    # 4-bit weight-only quantisation by parametrization, fine-tuned, then baked in
    pq = copy.deepcopy(float_model)
    for m in pq:
        if isinstance(m, torch.nn.Linear):
            parametrize.register_parametrization(m, "weight", Q.QuantizeWeight(bits=4))
    out["param_keys"] = [k for k in pq.state_dict() if k.startswith("0.")]
    losses = train(torch, pq, x, y, qat_steps, 5e-3)
    pq.eval()
    with torch.no_grad():
        before = pq(xt)
    for m in pq:
        if parametrize.is_parametrized(m):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    with torch.no_grad():
        after = pq(xt)
    out["param_acc"] = accuracy(torch, after, yt)
    out["param_same_after_remove"] = bool(torch.equal(before, after))
    w = pq[0].weight.detach()
    levels = w / (w.abs().amax(dim=1, keepdim=True) / 7)
    out["param_levels_integral"] = bool(torch.allclose(levels, levels.round(), atol=1e-4))
    out["param_still_parametrized"] = any(parametrize.is_parametrized(m) for m in pq)
    return out


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib)))
