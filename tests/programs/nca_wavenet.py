"""Two small convolutional models in the styles of public PyTorch code: a growing Neural
Cellular Automaton and a tiny WaveNet on a synthetic waveform.

Neural Cellular Automaton idioms: a 16-channel state grid ``(N, 16, 16, 16)`` whose first four
channels are RGBA and whose alpha channel says which cells are alive; a seed of one live cell
(``x[:, 3:, h // 2, w // 2] = 1.0``); perception by fixed depthwise filters built from
``torch.tensor([...])`` and ``torch.outer`` (Sobel ``x``/``y`` and the identity), stacked with
``torch.stack`` and tiled by ``kernel[:, None].repeat(channels, 1, 1, 1)`` for
``F.conv2d(x, filters, padding=1, groups=channels)``, or on a torus by ``F.pad(x, (1, 1, 1, 1),
mode="circular")`` before an unpadded ``F.conv2d``, or by a frozen depthwise ``nn.Conv2d`` with
``padding_mode="circular"`` whose ``weight.data`` is copied from the filters; the update rule as
an MLP of 1x1 ``nn.Conv2d`` layers with its last layer zeroed by ``nn.init.zeros_`` (so the
automaton starts as the identity); a stochastic update mask ``(torch.rand(...) <=
fire_rate).float()``; alive masking before and after the update with ``F.max_pool2d(x[:, 3:4],
3, stride=1, padding=1) > 0.1`` combined by ``&`` and cast by ``.float()``; a forward of
``torch.randint(20, 40, (1,)).item()`` steps in a Python loop; the loss ``F.mse_loss(x[:, :4],
target)`` against a target tiled by ``.repeat``, with per-sample losses ``.mean(dim=(1, 2, 3))``
ranked by ``argsort(descending=True)`` to reseed the worst pool sample; per-parameter gradient
normalisation ``p.grad /= (p.grad.norm() + 1e-8)`` under ``torch.no_grad()``; ``Adam`` with
``lr_scheduler.MultiStepLR``; and a sample pool filled by ``seed.repeat(pool_size, 1, 1, 1)``,
drawn from with ``torch.randperm`` and written back with ``pool[idx] = x.detach()`` under
``torch.no_grad()``.

WaveNet idioms: mu-law companding ``torch.sign(x) * torch.log1p(mu * x.abs()) /
math.log1p(mu)`` and its inverse with ``torch.expm1``; quantisation by ``((y + 1) / 2 * mu +
0.5).long()`` or by ``torch.bucketize(y, boundaries, right=True)``; one-hot inputs by
``F.one_hot(q, classes).permute(0, 2, 1).float()``; causal dilated ``nn.Conv1d`` layers whose
inputs are left-padded by ``F.pad(x, (pad, 0))``; gated activations ``torch.tanh(f) *
torch.sigmoid(g)`` from ``h.chunk(2, dim=1)``; residual and skip 1x1 convolutions, the skips
summed by Python's ``sum(skips)``; ``nn.CrossEntropyLoss`` on ``(N, C, T)`` logits against
``(N, T)`` targets shifted by one step; ``Adam`` with ``clip_grad_norm_``; and autoregressive
sampling under ``torch.no_grad()`` with ``torch.multinomial(F.softmax(logits / temp, -1), 1)``
appended to a growing buffer by ``torch.cat``, fed back through the receptive field only.

Written once against the module ``torch`` passed to ``main_nca``/``main_wavenet``: ``gpugrad``
or PyTorch. ``NCA.forward`` takes a list of fixed update masks instead of drawing them, so that
two libraries started from the same weights compute the same automaton.
"""

from __future__ import annotations

import math

import numpy as np

CHANNELS = 16
SIZE = 16
MU = 63  # quantisation levels - 1 for the WaveNet
CLASSES = MU + 1


def target_image(size: int = SIZE) -> np.ndarray:
    """A float32 RGBA image (4, size, size) made up here: a ring with a warm outer colour, a
    cool filled centre, premultiplied alpha, on a transparent background."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) - (size - 1) / 2
    r = np.sqrt(xx ** 2 + yy ** 2)
    img = np.zeros((4, size, size), np.float32)
    alpha = np.clip(5.0 - r, 0.0, 1.0)
    inner = r < 2.5
    img[0] = np.where(inner, 0.2, 0.9)
    img[1] = np.where(inner, 0.4, 0.5)
    img[2] = np.where(inner, 0.9, 0.1)
    img[:3] *= alpha
    img[3] = alpha
    return img


def perception_filters(torch, channels: int = CHANNELS, dtype=None):
    """The depthwise filters ``(3 * channels, 1, 3, 3)``: identity, Sobel x, Sobel y per
    channel."""
    dtype = dtype or torch.float32
    ident = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    sobel_x = torch.outer(torch.tensor([1.0, 2.0, 1.0], dtype=dtype),
                          torch.tensor([-1.0, 0.0, 1.0], dtype=dtype)) / 8.0
    sobel_y = sobel_x.T
    kernel = torch.stack([ident, sobel_x, sobel_y])
    return kernel[:, None].repeat(channels, 1, 1, 1)


def build_nca(torch, channels: int = CHANNELS, hidden: int = 64, fire_rate: float = 0.5,
              padding: str = "zeros"):
    """The automaton. ``padding``: ``"zeros"`` (``F.conv2d(padding=1)``), ``"circular"``
    (``F.pad(mode="circular")``) or ``"module"`` (a frozen ``nn.Conv2d`` with
    ``padding_mode="circular"``)."""
    nn = torch.nn
    F = torch.nn.functional

    class CAModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.channels, self.fire_rate, self.padding = channels, fire_rate, padding
            self.register_buffer("filters", perception_filters(torch, channels))
            if padding == "module":
                self.perceive_conv = nn.Conv2d(channels, 3 * channels, 3, padding=1,
                                               padding_mode="circular", groups=channels,
                                               bias=False)
                self.perceive_conv.weight.data.copy_(self.filters)
                self.perceive_conv.requires_grad_(False)
            self.update = nn.Sequential(
                nn.Conv2d(3 * channels, hidden, 1),
                nn.ReLU(),
                nn.Conv2d(hidden, channels, 1, bias=False),
            )
            nn.init.zeros_(self.update[-1].weight)

        def alive(self, x):
            return F.max_pool2d(x[:, 3:4, :, :], kernel_size=3, stride=1, padding=1) > 0.1

        def perceive(self, x):
            if self.padding == "zeros":
                return F.conv2d(x, self.filters, padding=1, groups=self.channels)
            if self.padding == "circular":
                return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), self.filters,
                                groups=self.channels)
            return self.perceive_conv(x)

        def step(self, x, mask=None):
            pre_life_mask = self.alive(x)
            y = self.perceive(x)
            dx = self.update(y)
            if mask is None:
                mask = (torch.rand(x[:, :1, :, :].shape, device=x.device) <=
                        self.fire_rate).to(x.dtype)
            x = x + dx * mask
            post_life_mask = self.alive(x)
            life_mask = (pre_life_mask & post_life_mask).float()
            return x * life_mask.to(x.dtype)

        def forward(self, x, steps=None, masks=None):
            if masks is not None:
                for mask in masks:
                    x = self.step(x, mask)
                return x
            for _ in range(steps):
                x = self.step(x)
            return x

    return CAModel()


def make_seed(torch, n: int = 1, channels: int = CHANNELS, size: int = SIZE, dtype=None):
    x = torch.zeros(n, channels, size, size, dtype=dtype or torch.float32)
    x[:, 3:, size // 2, size // 2] = 1.0
    return x


def normalize_grads(torch, model) -> None:
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p.grad /= (p.grad.norm() + 1e-8)


def main_nca(torch, iterations: int = 40, batch: int = 4, pool_size: int = 16,
             padding: str = "zeros", lr: float = 2e-3, min_steps: int = 20, max_steps: int = 40,
             seed: int = 0) -> dict:
    """Grow the target from one live cell with a sample pool; returns the losses, the final
    pool's alive fraction and the learning rate after the scheduler."""
    F = torch.nn.functional
    torch.manual_seed(seed)
    np.random.seed(seed)

    target = torch.from_numpy(target_image())
    pad_target = target.unsqueeze(0).repeat(batch, 1, 1, 1)
    seed_state = make_seed(torch)

    model = build_nca(torch, padding=padding)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=[iterations // 2, 3 * iterations // 4], gamma=0.3)

    pool = seed_state.repeat(pool_size, 1, 1, 1)
    losses, steps_used = [], []
    for _ in range(iterations):
        idx = torch.randperm(pool_size)[:batch]
        x0 = pool[idx]
        with torch.no_grad():
            per_sample = ((x0[:, :4] - pad_target) ** 2).mean(dim=(1, 2, 3))
            loss_rank = per_sample.argsort(descending=True)
            x0 = x0[loss_rank]
            x0[:1] = seed_state
        steps = torch.randint(min_steps, max_steps, (1,)).item()
        x = model(x0, steps)
        loss = F.mse_loss(x[:, :4], pad_target)
        optimizer.zero_grad()
        loss.backward()
        normalize_grads(torch, model)
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            pool[idx[loss_rank]] = x.detach()
        losses.append(loss.item())
        steps_used.append(steps)

    with torch.no_grad():
        grown = model(seed_state, (min_steps + max_steps) // 2)
        grown_loss = F.mse_loss(grown[:, :4], target.unsqueeze(0)).item()
    return {"initial_loss": float(np.mean(losses[:3])), "final_loss": float(np.mean(losses[-5:])),
            "losses": losses, "best_loss": min(losses), "grown_loss": grown_loss,
            "seed_loss": F.mse_loss(seed_state[:, :4], target.unsqueeze(0)).item(),
            "alive_fraction": float((pool[:, 3] > 0.1).float().mean()),
            "steps": steps_used, "lr": optimizer.param_groups[0]["lr"],
            "finite": bool(torch.isfinite(pool).all())}


# --------------------------------------------------------------------------------------------
# WaveNet


def mu_law_encode(torch, x, mu: int = MU, bucketize: bool = False):
    """Waveform in [-1, 1] -> long classes in [0, mu]."""
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    if bucketize:
        boundaries = (torch.arange(1, mu + 1, dtype=y.dtype) - 0.5) * 2 / mu - 1
        return torch.bucketize(y, boundaries, right=True)
    return ((y + 1) / 2 * mu + 0.5).long()


def mu_law_decode(torch, q, mu: int = MU):
    y = 2 * q.float() / mu - 1
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu


def waveform(n: int, length: int, seed: int = 0) -> np.ndarray:
    """``n`` float32 clips of ``length`` samples: two sines with random periods (6-16 samples)
    and phases, and a little noise, scaled into [-0.9, 0.9]."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    clips = []
    for _ in range(n):
        p1, p2 = rng.uniform(6, 16, 2)
        ph1, ph2 = rng.uniform(0, 2 * np.pi, 2)
        s = 0.6 * np.sin(2 * np.pi * t / p1 + ph1) + 0.3 * np.sin(2 * np.pi * t / p2 + ph2)
        s = s + 0.02 * rng.standard_normal(length)
        clips.append(np.clip(s, -0.9, 0.9))
    return np.stack(clips).astype(np.float32)


def build_wavenet(torch, residual: int = 16, skip: int = 32, classes: int = CLASSES,
                  dilations=(1, 2, 4, 8, 1, 2, 4, 8), kernel_size: int = 2):
    nn = torch.nn
    F = torch.nn.functional

    class CausalConv1d(nn.Conv1d):
        """A ``Conv1d`` whose input is padded on the left only."""

        def __init__(self, c_in, c_out, kernel_size, dilation=1):
            super().__init__(c_in, c_out, kernel_size, dilation=dilation)
            self.left = (kernel_size - 1) * dilation

        def forward(self, x):
            return super().forward(F.pad(x, (self.left, 0)))

    class ResidualBlock(nn.Module):
        def __init__(self, dilation):
            super().__init__()
            self.dilated = CausalConv1d(residual, 2 * residual, kernel_size, dilation)
            self.res = nn.Conv1d(residual, residual, 1)
            self.skip = nn.Conv1d(residual, skip, 1)

        def forward(self, x):
            f, g = self.dilated(x).chunk(2, dim=1)
            z = torch.tanh(f) * torch.sigmoid(g)
            return self.res(z) + x, self.skip(z)

    class WaveNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.classes = classes
            self.causal = CausalConv1d(classes, residual, kernel_size)
            self.blocks = nn.ModuleList([ResidualBlock(d) for d in dilations])
            self.end1 = nn.Conv1d(skip, skip, 1)
            self.end2 = nn.Conv1d(skip, classes, 1)
            self.receptive_field = (kernel_size - 1) * (sum(dilations) + 1) + 1

        def forward(self, x):
            x = self.causal(x)
            skips = []
            for block in self.blocks:
                x, s = block(x)
                skips.append(s)
            out = F.relu(sum(skips))
            out = F.relu(self.end1(out))
            return self.end2(out)

    return WaveNet()


def one_hot(torch, q, classes: int = CLASSES):
    return torch.nn.functional.one_hot(q, classes).permute(0, 2, 1).float()


def wavenet_loss(torch, model, q, criterion):
    logits = model(one_hot(torch, q).to(next(model.parameters()).dtype))
    return criterion(logits[:, :, :-1], q[:, 1:])


def generate(torch, model, prime, n: int, temp: float = 1.0):
    """Draw ``n`` samples after ``prime`` (N, T0) long, one at a time."""
    F = torch.nn.functional
    model.eval()
    buffer = prime.clone()
    with torch.no_grad():
        for _ in range(n):
            window = buffer[:, -model.receptive_field:]
            logits = model(one_hot(torch, window))[:, :, -1]
            nxt = torch.multinomial(F.softmax(logits / temp, -1), 1)
            buffer = torch.cat([buffer, nxt], dim=1)
    model.train()
    return buffer


def main_wavenet(torch, iterations: int = 60, batch: int = 8, length: int = 64,
                 lr: float = 1e-2, seed: int = 0, bucketize: bool = False) -> dict:
    """Teacher-forced training on clips of two sines; then sampling continues held-out clips.
    Returns losses, the held-out loss and statistics of the drawn continuation."""
    nn = torch.nn
    torch.manual_seed(seed)
    clips = torch.from_numpy(waveform(64, length, seed=seed))
    held_out = torch.from_numpy(waveform(8, length, seed=seed + 1))
    q_all = mu_law_encode(torch, clips, bucketize=bucketize)
    q_test = mu_law_encode(torch, held_out, bucketize=bucketize)

    model = build_wavenet(torch)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    with torch.no_grad():
        initial_test = wavenet_loss(torch, model, q_test, criterion).item()
    losses = []
    for _ in range(iterations):
        idx = torch.randint(0, q_all.size(0), (batch,))
        q = q_all[idx]
        optimizer.zero_grad()
        loss = wavenet_loss(torch, model, q, criterion)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        test_loss = wavenet_loss(torch, model, q_test, criterion).item()

    drawn = generate(torch, model, q_test[:2, :32], 24, temp=0.7)
    audio = mu_law_decode(torch, drawn)
    roundtrip = mu_law_decode(torch, q_test)
    return {"initial_loss": float(np.mean(losses[:3])), "final_loss": float(np.mean(losses[-5:])),
            "initial_test": initial_test, "test_loss": test_loss,
            "drawn_shape": tuple(drawn.shape), "drawn_dtype": str(drawn.dtype),
            "drawn_range": (int(drawn.min()), int(drawn.max())),
            "audio_max": float(audio.abs().max()),
            "roundtrip_err": float((roundtrip - held_out).abs().max()),
            # a continued sine alternates sign: sign changes in the drawn part
            "sign_changes": int((audio[:, 33:].sign() != audio[:, 32:-1].sign()).sum())}


if __name__ == "__main__":  # pragma: no cover
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    lib = importlib.import_module(args.lib)
    nca = main_nca(lib)
    print({k: v for k, v in nca.items() if k not in ("losses", "steps")})
    print(main_wavenet(lib))
