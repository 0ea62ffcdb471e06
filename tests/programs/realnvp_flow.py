"""A RealNVP-style normalizing flow on 2-D toy data, as flow tutorials write it: masked affine
coupling layers (checkerboard masks kept with ``register_buffer``, a scale net ending in ``Tanh``
and a translation net), log-determinants summed over the layers, a
``torch.distributions.MultivariateNormal`` base with ``log_prob`` and ``sample``, maximum
likelihood by Adam with ``clip_grad_norm_`` and ``ExponentialLR``; then checks: the inverse
undoes the forward pass, ``torch.autograd.functional.jacobian`` (per point, and for a batch at
once through the sum over points) agrees with the log-determinant by ``torch.linalg.slogdet``
and ``torch.logdet`` (and ``torch.func.vmap(torch.func.jacrev(...))`` gives the same
Jacobians), the base density equals an ``Independent`` ``Normal``'s, and
samples pushed back through the inverse land on the data (their mean and ``torch.cov``). The
data: two interleaved half-moons.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np


def _moons(n: int, seed: int, noise: float = 0.08):
    """Two interleaving half circles, standardised."""
    rng = np.random.default_rng(seed)
    half = n // 2
    t = rng.random(n) * math.pi
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], 1)
    lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], 1)
    x = np.concatenate([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    x = (x - x.mean(0)) / x.std(0)
    return x[rng.permutation(n)].astype(np.float32)


def main(torch, steps: int = 200, seed: int = 0) -> dict:
    """Train for ``steps`` batches; returns the negative log-likelihood's ends and the
    checks' numbers."""
    nn = torch.nn
    MultivariateNormal = torch.distributions.MultivariateNormal
    torch.manual_seed(seed)
    data = torch.from_numpy(_moons(1024, seed))

    class Coupling(nn.Module):
        def __init__(self, mask, hidden=32):
            super().__init__()
            self.register_buffer("mask", mask)
            self.scale_net = nn.Sequential(
                nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden), nn.LeakyReLU(),
                nn.Linear(hidden, 2), nn.Tanh())
            self.translate_net = nn.Sequential(
                nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden), nn.LeakyReLU(),
                nn.Linear(hidden, 2))
            self.scale = nn.Parameter(torch.zeros(1, 2))  # starts the layer as the identity

        def _st(self, x_masked):
            s = self.scale_net(x_masked) * self.scale.exp() * (1 - self.mask)
            t = self.translate_net(x_masked) * (1 - self.mask)
            return s, t

        def forward(self, x):
            """data -> latent; returns the log-determinant of the step too."""
            x_masked = x * self.mask
            s, t = self._st(x_masked)
            z = x_masked + (1 - self.mask) * (x * torch.exp(s) + t)
            return z, s.sum(dim=1)

        def inverse(self, z):
            z_masked = z * self.mask
            s, t = self._st(z_masked)
            return z_masked + (1 - self.mask) * ((z - t) * torch.exp(-s))

    class RealNVP(nn.Module):
        def __init__(self, n_layers=4):
            super().__init__()
            masks = [torch.tensor([1.0, 0.0]) if i % 2 == 0 else torch.tensor([0.0, 1.0])
                     for i in range(n_layers)]
            self.layers = nn.ModuleList([Coupling(m) for m in masks])
            self.register_buffer("loc", torch.zeros(2))
            self.register_buffer("cov", torch.eye(2))

        @property
        def prior(self):
            return MultivariateNormal(self.loc, covariance_matrix=self.cov)

        def forward(self, x):
            log_det = torch.zeros(x.shape[0], device=x.device)
            for layer in self.layers:
                x, ld = layer(x)
                log_det = log_det + ld
            return x, log_det

        def inverse(self, z):
            for layer in reversed(self.layers):
                z = layer.inverse(z)
            return z

        def log_prob(self, x):
            z, log_det = self(x)
            return self.prior.log_prob(z) + log_det

        def sample(self, n):
            return self.inverse(self.prior.sample((n,)))

    flow = RealNVP()
    optimizer = torch.optim.Adam(flow.parameters(), lr=5e-3)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.99)
    losses = []
    for _ in range(steps):
        batch = data[torch.randint(0, len(data), (128,))]
        loss = -flow.log_prob(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 5.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())

    flow.eval()
    with torch.no_grad():
        test_nll = -flow.log_prob(data).mean().item()
        z, _ = flow(data[:256])
        round_trip = (flow.inverse(z) - data[:256]).abs().max().item()
        samples = flow.sample(2000)
        # the base density against an Independent Normal: the same numbers
        independent = torch.distributions.Independent(
            torch.distributions.Normal(torch.zeros(2), torch.ones(2)), 1)
        base_gap = (flow.prior.log_prob(z) - independent.log_prob(z)).abs().max().item()

    # The change of variables, checked on a few points against autograd's Jacobian.
    points = data[:5].detach()
    ld_gaps = []
    for point in points:
        jac = torch.autograd.functional.jacobian(lambda p: flow(p.unsqueeze(0))[0].squeeze(0),
                                                 point)
        sign, logabsdet = torch.linalg.slogdet(jac)
        _, log_det = flow(point.unsqueeze(0))
        ld_gaps.append(abs(logabsdet.item() - log_det.item()))
        assert sign.item() == 1.0  # coupling layers keep orientation
    # all five at once: the Jacobian of the summed outputs is each point's own Jacobian
    batched = torch.autograd.functional.jacobian(lambda p: flow(p)[0].sum(0), points,
                                                 vectorize=False)
    batched = batched.permute(1, 0, 2)  # (point, out, in)
    batch_ld = torch.logdet(batched)
    batch_gap = (batch_ld - flow(points)[1]).abs().max().item()
    # and as torch.func writes it: per-sample Jacobians by vmap over jacrev
    per_sample = torch.func.vmap(torch.func.jacrev(
        lambda p: flow(p.unsqueeze(0))[0].squeeze(0)))(points)
    vmap_gap = (per_sample - batched).abs().max().item()

    sample_mean = samples.mean(0)
    sample_cov = torch.cov(samples.T)
    data_cov = torch.cov(data.T)
    return {
        "initial_loss": float(np.mean(losses[:5])),
        "final_loss": float(np.mean(losses[-20:])),
        "test_nll": test_nll,
        "round_trip": round_trip,
        "base_gap": base_gap,
        "logdet_gap": max(ld_gaps),
        "batch_logdet_gap": batch_gap,
        "vmap_jacobian_gap": vmap_gap,
        "jacobian_shape": tuple(batched.shape),
        "mean_gap": sample_mean.abs().max().item(),
        "cov_gap": (sample_cov - data_cov).abs().max().item(),
        "sample_shape": tuple(samples.shape),
        "lr_end": scheduler.get_last_lr()[0],
        "buffers": sorted(name for name, _ in flow.named_buffers()),
    }


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
