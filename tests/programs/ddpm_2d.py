"""A denoising diffusion probabilistic model (DDPM) on 2-D toy data, as diffusion tutorials
write it: a linear or cosine beta schedule (``torch.linspace``, ``torch.cumprod``, the shifted
``alphas_cumprod_prev`` by ``F.pad``), per-timestep coefficients gathered by index
(``a.gather(-1, t)`` reshaped to broadcast), sinusoidal time embeddings, an MLP noise predictor,
the forward process by ``torch.randn_like``, training by MSE on the noise with Adam (under
``CosineAnnealingLR``), then
ancestral sampling from pure noise under ``torch.no_grad()``. The reductions use NumPy's
keyword spellings, as such programs often do (``x.sum(axis=1, keepdims=True)``,
``torch.mean(x, axis=0)``). The data: points on a ring.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

RADIUS = 2.0


def _ring(n: int, seed: int, noise: float = 0.05):
    """Points on a circle of radius ``RADIUS``, jittered radially."""
    rng = np.random.default_rng(seed)
    angle = rng.random(n) * 2 * math.pi
    radius = RADIUS + noise * rng.standard_normal(n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1).astype(np.float32)


def noise_schedule(torch, schedule: str, timesteps: int) -> dict:
    """The forward process's coefficients, one per timestep (float32): betas from a linear
    schedule (the 1000-step schedule's ends, stretched to fewer steps) or a cosine one (betas
    from the ratios of a cos^2 alpha_bar, clipped), and what training and sampling read."""
    F = torch.nn.functional
    if schedule == "linear":
        scale = 1000 / timesteps
        betas = torch.linspace(scale * 1e-4, scale * 0.02, timesteps)
    else:
        s = 0.008
        x = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64)
        alphas_cumprod = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
        alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
        betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
        betas = torch.clip(betas, 0.0001, 0.9999).float()
    alphas = 1.0 - betas
    alphas_cumprod = torch.cumprod(alphas, axis=0)
    alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
    return {
        "betas": betas,
        "alphas_cumprod": alphas_cumprod,
        "sqrt_recip_alphas": torch.sqrt(1.0 / alphas),
        "sqrt_alphas_cumprod": torch.sqrt(alphas_cumprod),
        "sqrt_one_minus_alphas_cumprod": torch.sqrt(1.0 - alphas_cumprod),
        # the variance of q(x_{t-1} | x_t, x_0)
        "posterior_variance": betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod),
    }


def main(torch, schedule: str = "cosine", steps: int = 1000, timesteps: int = 50,
         batch_size: int = 256, lr: float = 5e-3, seed: int = 0) -> dict:
    """Train for ``steps`` batches; returns the held-out noise-prediction loss before and after
    training and the statistics of 1000 samples."""
    nn = torch.nn
    F = nn.functional
    torch.manual_seed(seed)
    data = torch.from_numpy(_ring(2048, seed))

    coefficients = noise_schedule(torch, schedule, timesteps)
    betas = coefficients["betas"]
    sqrt_recip_alphas = coefficients["sqrt_recip_alphas"]
    sqrt_alphas_cumprod = coefficients["sqrt_alphas_cumprod"]
    sqrt_one_minus_alphas_cumprod = coefficients["sqrt_one_minus_alphas_cumprod"]
    posterior_variance = coefficients["posterior_variance"]

    def extract(table, t, x_shape):
        """``table[t]`` for each timestep of the batch, with ``x``'s other dims as 1s."""
        picked = table.gather(-1, t)
        return picked.view(-1, *[1] * (len(x_shape) - 1))

    def q_sample(x_start, t, noise=None):
        """Diffuse ``x_start`` to step ``t`` in one jump: sqrt(a_bar) x0 + sqrt(1-a_bar) eps."""
        if noise is None:
            noise = torch.randn_like(x_start)
        return (extract(sqrt_alphas_cumprod, t, x_start.shape) * x_start
                + extract(sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

    # ------------------------------------------------------------------ the noise predictor
    class SinusoidalPositionEmbeddings(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dim = dim

        def forward(self, time):
            half = self.dim // 2
            # geometric frequencies from 1 down to 1/10000, a sine and a cosine of each
            freqs = torch.exp(
                torch.arange(half, device=time.device) * (-math.log(10000) / (half - 1)))
            angles = time.unsqueeze(1) * freqs.unsqueeze(0)
            return torch.cat([torch.sin(angles), torch.cos(angles)], axis=-1)

    class Denoiser(nn.Module):
        def __init__(self, hidden=128, time_dim=32):
            super().__init__()
            self.time_mlp = nn.Sequential(SinusoidalPositionEmbeddings(time_dim),
                                          nn.Linear(time_dim, hidden), nn.SiLU())
            self.net = nn.Sequential(
                nn.Linear(2 + hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                nn.Linear(hidden, 2))

        def forward(self, x, time):
            return self.net(torch.cat([x, self.time_mlp(time.float())], dim=1))

    model = Denoiser()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))

    def p_losses(x_start, t, noise=None):
        if noise is None:
            noise = torch.randn_like(x_start)
        predicted = model(q_sample(x_start, t, noise), t)
        return F.mse_loss(noise, predicted)

    # A held-out loss on fixed noise (each library's own), every timestep equally: steadier
    # than the training batches' losses, which draw one timestep per point.
    held_out = data[:1000].repeat(2, 1)
    held_t = torch.arange(timesteps).repeat_interleave(2000 // timesteps + 1)[:2000]
    held_noise = torch.randn_like(held_out)

    def evaluate():
        with torch.no_grad():
            return p_losses(held_out, held_t, held_noise).item()

    initial = evaluate()
    losses = []
    for _ in range(steps):
        batch = data[torch.randint(0, len(data), (batch_size,))]
        t = torch.randint(0, timesteps, (batch.shape[0],), device=batch.device).long()
        loss = p_losses(batch, t)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    final = evaluate()

    # ------------------------------------------------------------------ ancestral sampling
    @torch.no_grad()
    def p_sample(x, t, t_index):
        """One reverse step x_t -> x_{t-1}: the posterior mean from the predicted noise, plus
        the posterior's noise except at the last step."""
        eps = model(x, t)
        mean = extract(sqrt_recip_alphas, t, x.shape) * (
            x - extract(betas, t, x.shape) * eps / extract(sqrt_one_minus_alphas_cumprod, t,
                                                             x.shape))
        if t_index == 0:
            return mean
        return mean + extract(posterior_variance, t, x.shape).sqrt() * torch.randn_like(x)

    @torch.no_grad()
    def sample(n):
        model.eval()
        x = torch.randn(n, 2)  # pure noise at t = T
        for i in reversed(range(timesteps)):
            x = p_sample(x, torch.full((n,), i, dtype=torch.long), i)
        return x

    samples = sample(1000)
    radius = torch.sqrt((samples ** 2).sum(axis=1, keepdims=True)).squeeze(1)
    on_ring = ((radius - RADIUS).abs() < 0.3).float()
    centre = torch.mean(samples, axis=0)
    return {
        "initial_loss": initial,
        "final_loss": final,
        "train_start": float(np.mean(losses[:10])),
        "train_end": float(np.mean(losses[-100:])),
        "mean_radius": radius.mean().item(),
        "radius_std": radius.std().item(),
        "on_ring": on_ring.mean().item(),
        "centre": centre.abs().max().item(),
        "sample_shape": tuple(samples.shape),
        "lr_end": scheduler.get_last_lr()[0],
        "finite": bool(torch.isfinite(samples).all()),
    }


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
