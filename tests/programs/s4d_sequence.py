"""A small diagonal state-space sequence classifier of the kind the S4D line of work made
popular: each channel is a linear recurrence with complex poles, applied as a long convolution
whose kernel is computed in complex numbers from real parameters. The poles are
``-exp(log_decay) + i frequency``; the output weights are kept as a real ``(channels, modes,
2)`` parameter read through ``torch.view_as_complex`` (optimizers take real parameters). Over
``L`` steps, with ``d = poles * exp(log_step)``::

    K[c, l] = 2 Re sum_m w[c, m] (exp(d) - 1) / poles * exp(d * l)

(the zero-order-hold discretisation, summed with the implied conjugate poles), written with
``torch.exp``, complex ``+ - * /``, a Python ``1j`` times a real tensor, ``unsqueeze``, a
complex tensor times ``torch.arange(L)``, ``torch.einsum`` and ``.real``.

Such models apply the kernel with an FFT; there is none here, so the kernel is applied as a
causal depthwise convolution: ``F.conv1d`` with ``groups`` = channels on the input left-padded
by ``L - 1`` zeros, the kernel flipped in time, as a user without an FFT would write it. Around
it: a skip term, GELU, a 1x1 ``Conv1d`` to twice the channels and ``GLU``, ``Dropout`` with
rate 0 (runs are deterministic), ``LayerNorm`` before or after each residual block
(``prenorm``), a ``Linear`` in and, after a mean over time, a ``Linear`` out.

The task: classify a noisy sine wave (random phase, amplitude and noise) of ``L = 32`` samples
by its frequency, one of four, with cross entropy. Training uses ``AdamW`` with the
state-space parameters (``log_step``, ``log_decay``, ``frequency``) in a group of their own
(their own learning rate, no weight decay; each carries its settings as an ``optim_settings``
attribute) and ``CosineAnnealingLR``.

The batches come from NumPy's generator (seeded by ``seed``), so two runs from the same
``initial_state`` see the same data whatever library runs them. ``dtype="float64"`` runs the
whole model, the complex kernel included (``complex128``), in double precision.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

FREQUENCIES = (1.0, 2.0, 3.0, 4.0)  # cycles per sequence, one class each
LENGTH = 32


def causal_conv(torch, u, k):
    """``y[b, h, t] = sum_{s <= t} k[h, s] u[b, h, t - s]`` for ``u`` (B, H, L) and ``k``
    (H, L): a depthwise convolution (``groups=H``) over the input padded with L - 1 zeros on
    the left, the kernel flipped in time (``conv1d`` correlates)."""
    F = torch.nn.functional
    H, L = k.shape
    return F.conv1d(F.pad(u, (L - 1, 0)), k.flip(-1).unsqueeze(1), groups=H)


def build(torch):
    """The model classes for ``torch``: returns ``(DiagonalSSM, SSMBlock, SSMClassifier)``."""
    nn = torch.nn

    class DiagonalSSM(nn.Module):
        """The (channels, L) convolution kernel of ``channels`` diagonal state spaces with
        ``modes`` complex poles each (their conjugates implied), from real parameters: the
        poles ``-exp(log_decay) + i frequency``, the step ``exp(log_step)`` and the output
        weights ``readout`` (stored as real pairs)."""

        def __init__(self, channels: int, modes: int = 8, step_range=(1e-3, 1e-1),
                     lr: float | None = None):
            super().__init__()
            lo, hi = (math.log(v) for v in step_range)
            weights = torch.randn(channels, modes, dtype=torch.cfloat)  # unit variance
            self.readout = nn.Parameter(torch.view_as_real(weights))
            self.log_step = nn.Parameter(lo + (hi - lo) * torch.rand(channels))
            self.log_decay = nn.Parameter(torch.full((channels, modes), math.log(0.5)))
            self.frequency = nn.Parameter(math.pi * torch.arange(modes).float().repeat(
                channels, 1))
            settings = {"weight_decay": 0.0, **({} if lr is None else {"lr": lr})}
            for p in (self.log_step, self.log_decay, self.frequency):
                p.optim_settings = settings  # its own optimizer group (setup_optimizer)

        def forward(self, length: int):
            poles = 1j * self.frequency - torch.exp(self.log_decay)
            discrete = poles * torch.exp(self.log_step).unsqueeze(-1)
            weights = torch.view_as_complex(self.readout) * (torch.exp(discrete) - 1.0) / poles
            steps = torch.arange(length, device=poles.device)
            powers = torch.exp(discrete.unsqueeze(-1) * steps)  # (channels, modes, length)
            return 2 * torch.einsum("cm,cml->cl", weights, powers).real

    class SSMBlock(nn.Module):
        """The SSM convolution of each channel plus a skip term, GELU, then a 1x1 convolution
        to twice the channels gated back by GLU. Input and output (B, channels, L)."""

        def __init__(self, channels: int, modes: int, dropout: float = 0.0,
                     lr: float | None = None):
            super().__init__()
            self.ssm = DiagonalSSM(channels, modes, lr=lr)
            self.skip = nn.Parameter(torch.randn(channels))
            self.mix = nn.Sequential(nn.GELU(), nn.Dropout(dropout),
                                     nn.Conv1d(channels, 2 * channels, kernel_size=1),
                                     nn.GLU(dim=-2))

        def forward(self, u):
            y = causal_conv(torch, u, self.ssm(u.shape[-1]))
            return self.mix(y + u * self.skip[:, None])

    class SSMClassifier(nn.Module):
        """A ``Linear`` in, ``depth`` residual SSM blocks with ``LayerNorm`` (before the block
        with ``prenorm``, after the residual sum without), a mean over time, a ``Linear`` out.
        Input (B, L, inputs), output (B, classes)."""

        def __init__(self, inputs: int, classes: int, channels: int = 16, modes: int = 8,
                     depth: int = 2, dropout: float = 0.0, prenorm: bool = False,
                     lr: float | None = None):
            super().__init__()
            self.prenorm = prenorm
            self.embed = nn.Linear(inputs, channels)
            self.blocks = nn.ModuleList([SSMBlock(channels, modes, dropout, lr)
                                         for _ in range(depth)])
            self.norms = nn.ModuleList([nn.LayerNorm(channels) for _ in range(depth)])
            self.head = nn.Linear(channels, classes)

        def forward(self, x):
            h = self.embed(x).transpose(1, 2)  # (B, channels, L)
            for block, norm in zip(self.blocks, self.norms):
                def normed(t, norm=norm):
                    return norm(t.transpose(1, 2)).transpose(1, 2)
                h = h + block(normed(h) if self.prenorm else h)
                if not self.prenorm:
                    h = normed(h)
            return self.head(h.mean(dim=-1))

    return DiagonalSSM, SSMBlock, SSMClassifier


def kernel_of(torch, log_step, readout, log_decay, frequency, length: int):
    """The (channels, length) kernel of ``DiagonalSSM.forward`` for the given real parameter
    tensors (``readout`` as its real (channels, modes, 2) storage), through
    ``torch.func.functional_call``: the module's own forward, as a function of its parameters
    (for finite differences)."""
    DiagonalSSM, _, _ = build(torch)
    channels, modes = log_decay.shape
    module = DiagonalSSM(channels, modes).to(log_step.dtype)
    params = {"log_step": log_step, "readout": readout, "log_decay": log_decay,
              "frequency": frequency}
    return torch.func.functional_call(module, params, (length,))


def setup_optimizer(torch, model, lr: float, weight_decay: float):
    """AdamW over the parameters without ``optim_settings``, plus one group for each distinct
    settings (the state-space parameters: their own lr, no weight decay)."""
    params = list(model.parameters())
    optimizer = torch.optim.AdamW([p for p in params if not hasattr(p, "optim_settings")],
                                  lr=lr, weight_decay=weight_decay)
    distinct = []
    for p in params:
        settings = getattr(p, "optim_settings", None)
        if settings is not None and settings not in distinct:
            distinct.append(settings)
    for settings in distinct:
        group = [p for p in params if getattr(p, "optim_settings", None) == settings]
        optimizer.add_param_group({"params": group, **settings})
    return optimizer


def make_batch(rng, batch: int, length: int = LENGTH, noise: float = 0.3):
    """Noisy sine waves (batch, length, 1) as float32 and their frequency classes (batch,)."""
    labels = rng.integers(0, len(FREQUENCIES), size=batch)
    cycles = np.asarray(FREQUENCIES)[labels][:, None]
    phase = rng.uniform(0, 2 * np.pi, size=(batch, 1))
    amplitude = rng.uniform(0.5, 1.5, size=(batch, 1))
    t = np.arange(length)[None, :] / length
    x = amplitude * np.sin(2 * np.pi * cycles * t + phase)
    x = x + noise * rng.standard_normal((batch, length))
    return x[..., None].astype(np.float32), labels.astype(np.int64)


def make_model(torch, dtype: str = "float32", initial_state=None, prenorm: bool = False,
               ssm_lr: float | None = 1e-2):
    """A fresh model (2 blocks, 16 channels, 8 complex modes each) in ``dtype``, with
    ``initial_state`` (a state_dict) loaded if given."""
    _, _, SSMClassifier = build(torch)
    model = SSMClassifier(inputs=1, classes=len(FREQUENCIES), channels=16, modes=8, depth=2,
                          prenorm=prenorm, lr=ssm_lr)
    model = model.to(getattr(torch, dtype))
    if initial_state is not None:
        model.load_state_dict(initial_state)
    return model


def main(torch, steps: int = 150, seed: int = 0, initial_state=None, dtype: str = "float32",
         batch: int = 32, lr: float = 1e-2, weight_decay: float = 0.01, prenorm: bool = False,
         ssm_lr: float | None = 1e-2) -> dict:
    """Train for ``steps`` AdamW steps (from ``initial_state``, a state_dict, if given);
    returns the mean loss of the first and of the last five steps, every step's loss, the
    accuracy on a held-out batch of 256 (after training, and before it), the SSM parameters'
    change, and whether every parameter got a gradient."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = make_model(torch, dtype, initial_state, prenorm, ssm_lr)
    optimizer = setup_optimizer(torch, model, lr, weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    real = getattr(torch, dtype)
    test_x, test_y = make_batch(np.random.default_rng(seed + 1000), 256)
    test_x = torch.from_numpy(test_x).to(real)
    test_y = torch.from_numpy(test_y)

    def accuracy():
        model.eval()
        with torch.no_grad():
            predicted = model(test_x).argmax(dim=-1)
        model.train()
        return float((predicted == test_y).float().mean())

    param_groups = [(len(g["params"]), g["lr"], g["weight_decay"])
                    for g in optimizer.param_groups]
    ssm_before = {n: p.detach().clone() for n, p in model.named_parameters()
                  if n.split(".")[-1] in ("log_step", "log_decay", "frequency")}
    initial_accuracy = accuracy()
    losses = []
    model.train()
    for _ in range(steps):
        x, y = make_batch(rng, batch)
        x, y = torch.from_numpy(x).to(real), torch.from_numpy(y)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    grads_set = all(p.grad is not None and bool((p.grad != 0).any())
                    for p in model.parameters())
    params = dict(model.named_parameters())
    ssm_change = max(float((params[n].detach() - before).abs().max())
                     for n, before in ssm_before.items())
    return {
        "initial_loss": sum(losses[:5]) / 5,
        "final_loss": sum(losses[-5:]) / 5,
        "losses": losses,
        "initial_accuracy": initial_accuracy,
        "accuracy": accuracy(),
        "grads_set": grads_set,
        "ssm_change": ssm_change,
        "param_groups": param_groups,
    }


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--prenorm", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    result = main(importlib.import_module(args.lib), steps=args.steps, dtype=args.dtype,
                  prenorm=args.prenorm)
    result.pop("losses")
    print(result, f"{time.perf_counter() - start:.1f}s")
