"""Policy-gradient programs as RL code writes them, on made-up bandits: REINFORCE with a
``Categorical(logits=...)`` policy (``sample``, ``log_prob``, ``entropy``), and a SAC-style
squashed Gaussian policy (``TransformedDistribution(Independent(Normal), TanhTransform)``,
``rsample`` and ``log_prob`` of the squashed action).

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np


def _contexts(rng, n: int, n_contexts: int = 4, dim: int = 8):
    """Noisy context vectors of ``n_contexts`` kinds, and which kind each is."""
    kinds = rng.integers(0, n_contexts, n)
    centers = np.eye(n_contexts, dim) * 2.0
    return (centers[kinds] + rng.normal(0, 0.3, (n, dim))).astype(np.float32), kinds


def reinforce(torch, steps: int = 150, seed: int = 0) -> dict:
    """A 4-armed contextual bandit: arm (kind + 1) % 4 pays 1. Returns the mean reward of the
    first and last 10 steps."""
    nn, dist = torch.nn, torch.distributions
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    policy = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 4))
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.02)
    baseline, rewards = 0.0, []
    for _ in range(steps):
        x, kinds = _contexts(rng, 64)
        pi = dist.Categorical(logits=policy(torch.from_numpy(x)))
        actions = pi.sample()
        reward = (actions.numpy() == (kinds + 1) % 4).astype(np.float32)
        advantage = torch.from_numpy(reward - baseline)
        loss = -(pi.log_prob(actions) * advantage).mean() - 0.01 * pi.entropy().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        baseline = 0.9 * baseline + 0.1 * float(reward.mean())
        rewards.append(float(reward.mean()))
    return {"first": float(np.mean(rewards[:10])), "last": float(np.mean(rewards[-10:]))}


def squashed_gaussian(torch, steps: int = 150, seed: int = 0) -> dict:
    """A continuous bandit: the best 2-d action in (-1, 1)^2 depends on the context. A
    tanh-squashed Gaussian actor maximizes reward - alpha * log_prob by the reparameterized
    gradient. Returns the mean reward of the first and last 10 steps."""
    nn, dist = torch.nn, torch.distributions
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    targets = np.array([[0.5, -0.5], [-0.8, 0.2], [0.1, 0.9], [-0.3, -0.7]], np.float32)
    body = nn.Sequential(nn.Linear(8, 32), nn.ReLU())
    mean_head, log_std_head = nn.Linear(32, 2), nn.Linear(32, 2)
    params = [*body.parameters(), *mean_head.parameters(), *log_std_head.parameters()]
    optimizer = torch.optim.Adam(params, lr=0.01)
    alpha, rewards = 0.01, []
    for _ in range(steps):
        x, kinds = _contexts(rng, 64)
        h = body(torch.from_numpy(x))
        std = log_std_head(h).clamp(-5, 2).exp()
        base = dist.Independent(dist.Normal(mean_head(h), std), 1)
        pi = dist.TransformedDistribution(base, [dist.TanhTransform(cache_size=1)])
        action = pi.rsample()
        log_prob = pi.log_prob(action)
        reward = -((action - torch.from_numpy(targets[kinds])) ** 2).sum(-1)
        loss = (alpha * log_prob - reward).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        rewards.append(float(reward.mean().item()))
    return {"first": float(np.mean(rewards[:10])), "last": float(np.mean(rewards[-10:]))}
