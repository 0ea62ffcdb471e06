"""A variational autoencoder as tutorials write it: an encoder giving a diagonal Gaussian
posterior, ``Normal(mu, std).rsample()`` (the reparameterization trick), a Bernoulli decoder
(``Independent(Bernoulli(logits=...), 1).log_prob``) and the ``kl_divergence`` to the prior,
on made-up binary patterns.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np


def _patterns(n: int, seed: int):
    """16-pixel binary images: one of four prototypes with 5% of the pixels flipped."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 2, (4, 16))
    x = prototypes[rng.integers(0, 4, n)]
    flips = rng.random(x.shape) < 0.05
    return np.where(flips, 1 - x, x).astype(np.float32)


def main(torch, steps: int = 200, seed: int = 0) -> dict:
    """Train for ``steps``; returns the first and last negative ELBO (per image)."""
    nn, dist = torch.nn, torch.distributions
    torch.manual_seed(seed)
    data = torch.from_numpy(_patterns(512, seed))
    encoder = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    decoder = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 16))
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=0.01)
    losses = []
    for step in range(steps):
        x = data[(step * 64) % 512:(step * 64) % 512 + 64]
        mu, log_std = encoder(x).chunk(2, dim=-1)
        posterior = dist.Normal(mu, log_std.exp())
        z = posterior.rsample()
        likelihood = dist.Independent(dist.Bernoulli(logits=decoder(z)), 1)
        prior = dist.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kl = dist.kl_divergence(posterior, prior).sum(-1)
        loss = (kl - likelihood.log_prob(x)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"initial_loss": float(np.mean(losses[:5])), "final_loss": float(np.mean(losses[-5:]))}
