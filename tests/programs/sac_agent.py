"""Soft Actor-Critic (SAC) with automatic entropy tuning, written the way the common
single-file PyTorch SAC implementations write it, on a small task made up here: a point in
the plane that must be moved to a goal (NumPy dynamics, no gym).

Idioms: a squashed-Gaussian actor (an ``nn.Sequential`` trunk with two ``nn.Linear`` heads
for the mean and ``log_std``, the latter bounded by ``torch.clamp(log_std, -20, 2)``),
``torch.distributions.Normal(mu, std)`` and its reparameterized ``rsample()``,
``log_prob(u).sum(-1, keepdim=True)`` corrected for the ``tanh`` squashing either by
``torch.log(1 - a.pow(2) + 1e-6)`` or by the stable ``2 * (log 2 - u - F.softplus(-2 u))``;
twin Q networks fed ``torch.cat([obs, act], dim=-1)``; target critics made by
``copy.deepcopy`` and frozen with ``p.requires_grad_(False)``, moved by Polyak averaging under
``torch.no_grad()`` in one of three ways (``p_targ.data.mul_(polyak)`` +
``p_targ.data.add_((1 - polyak) * p.data)``; ``torch._foreach_mul_`` +
``torch._foreach_add_(..., alpha=1 - polyak)``; ``p_targ.lerp_(p, 1 - polyak)``); the
entropy temperature learned through ``log_alpha = torch.zeros(1, requires_grad=True)`` with
its own Adam and ``log_alpha.exp().item()``; a NumPy replay buffer sampled by
``np.random.randint`` and handed over by ``torch.as_tensor(..., dtype=torch.float32)``; the
clipped double-Q target computed under ``no_grad`` with ``torch.min``; ``F.mse_loss``
critic losses; one critic optimizer over ``itertools.chain(q1.parameters(),
q2.parameters())``; the Q parameters frozen (``p.requires_grad = False``) during the actor
update and thawed afterwards; random warm-up actions, then stochastic ones from
``actor(torch.as_tensor(o).unsqueeze(0))`` under ``no_grad``; deterministic evaluation with
``torch.tanh(mu)``; and a checkpoint of the networks, the optimizers and ``log_alpha``
written by ``torch.save`` into an ``io.BytesIO`` and read back by ``torch.load`` into a fresh
agent.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch. Given
``noise`` (an array of standard normals), the actor draws ``mu + std * noise`` instead of
``rsample()``, so that two libraries started from the same weights and fed the same batch can
be compared number for number.
"""

from __future__ import annotations

import copy
import io
import itertools
import math

import numpy as np

OBS_DIM, ACT_DIM = 4, 2
EPISODE_STEPS = 25
SPEED = 0.2  # how far a unit action moves the point in one step
LOG_STD_MIN, LOG_STD_MAX = -20, 2


class PointGoal:
    """A point and a goal, both drawn in [-1, 1]^2 at the start of an episode. An action in
    [-1, 1]^2 moves the point by ``SPEED`` times itself; the reward is minus the distance
    left. The observation is (point, goal - point). Episodes last ``EPISODE_STEPS`` steps
    (a time limit, not a terminal state: ``done`` stays False)."""

    def __init__(self, rng):
        self.rng = rng

    def reset(self) -> np.ndarray:
        self.point = self.rng.uniform(-1, 1, 2)
        self.goal = self.rng.uniform(-1, 1, 2)
        self.t = 0
        return self._observe()

    def _observe(self) -> np.ndarray:
        return np.concatenate([self.point, self.goal - self.point])

    def step(self, action: np.ndarray):
        action = np.clip(action, -1.0, 1.0)
        self.point = np.clip(self.point + SPEED * action, -1.5, 1.5)
        reward = -float(np.linalg.norm(self.goal - self.point))
        self.t += 1
        return self._observe(), reward, False, self.t >= EPISODE_STEPS


class ReplayBuffer:
    """A FIFO buffer of transitions in preallocated NumPy arrays."""

    def __init__(self, obs_dim: int, act_dim: int, size: int):
        self.obs_buf = np.zeros((size, obs_dim), dtype=np.float32)
        self.obs2_buf = np.zeros((size, obs_dim), dtype=np.float32)
        self.act_buf = np.zeros((size, act_dim), dtype=np.float32)
        self.rew_buf = np.zeros((size, 1), dtype=np.float32)
        self.done_buf = np.zeros((size, 1), dtype=np.float32)
        self.ptr, self.size, self.max_size = 0, 0, size

    def store(self, obs, act, rew, next_obs, done) -> None:
        self.obs_buf[self.ptr] = obs
        self.obs2_buf[self.ptr] = next_obs
        self.act_buf[self.ptr] = act
        self.rew_buf[self.ptr] = rew
        self.done_buf[self.ptr] = done
        self.ptr = (self.ptr + 1) % self.max_size
        self.size = min(self.size + 1, self.max_size)

    def sample_batch(self, torch, batch_size: int = 64, dtype=None) -> dict:
        idxs = np.random.randint(0, self.size, size=batch_size)
        batch = dict(obs=self.obs_buf[idxs], obs2=self.obs2_buf[idxs], act=self.act_buf[idxs],
                     rew=self.rew_buf[idxs], done=self.done_buf[idxs])
        dtype = dtype or torch.float32
        return {k: torch.as_tensor(v, dtype=dtype) for k, v in batch.items()}


def build_actor(torch, hidden: int = 64):
    nn = torch.nn
    F = torch.nn.functional
    Normal = torch.distributions.Normal

    class SquashedGaussianActor(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(OBS_DIM, hidden), nn.ReLU(),
                                     nn.Linear(hidden, hidden), nn.ReLU())
            self.mu_layer = nn.Linear(hidden, ACT_DIM)
            self.log_std_layer = nn.Linear(hidden, ACT_DIM)

        def forward(self, obs, deterministic=False, with_logprob=True, stable=False,
                    noise=None):
            h = self.net(obs)
            mu = self.mu_layer(h)
            log_std = self.log_std_layer(h)
            log_std = torch.clamp(log_std, LOG_STD_MIN, LOG_STD_MAX)
            std = torch.exp(log_std)

            pi_distribution = Normal(mu, std)
            if deterministic:
                u = mu
            elif noise is not None:
                u = mu + std * noise
            else:
                u = pi_distribution.rsample()

            if with_logprob:
                logp_pi = pi_distribution.log_prob(u).sum(-1, keepdim=True)
                if stable:
                    logp_pi = logp_pi - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(
                        dim=-1, keepdim=True)
            else:
                logp_pi = None

            a = torch.tanh(u)
            if with_logprob and not stable:
                logp_pi = logp_pi - torch.log(1 - a.pow(2) + 1e-6).sum(-1, keepdim=True)
            return a, logp_pi

    return SquashedGaussianActor()


def build_critic(torch, hidden: int = 64):
    nn = torch.nn

    class QNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(OBS_DIM + ACT_DIM, hidden)
            self.fc2 = nn.Linear(hidden, hidden)
            self.fc3 = nn.Linear(hidden, 1)

        def forward(self, obs, act):
            x = torch.cat([obs, act], dim=-1)
            x = torch.relu(self.fc1(x))
            x = torch.relu(self.fc2(x))
            return self.fc3(x)

    return QNetwork()


class SAC:
    """The actor, the twin critics, their frozen copies, the temperature and the three
    optimizers, with the update of one minibatch split in the usual three parts."""

    def __init__(self, torch, hidden: int = 64, lr: float = 3e-3, alpha_lr: float = 3e-3,
                 gamma: float = 0.99, polyak: float = 0.995, polyak_mode: str = "data",
                 stable_logprob: bool = False, dtype=None):
        self.torch = torch
        self.gamma, self.polyak = gamma, polyak
        self.polyak_mode, self.stable = polyak_mode, stable_logprob
        dtype = dtype or torch.float32
        self.actor = build_actor(torch, hidden).to(dtype)
        self.q1 = build_critic(torch, hidden).to(dtype)
        self.q2 = build_critic(torch, hidden).to(dtype)
        self.q1_targ = copy.deepcopy(self.q1)
        self.q2_targ = copy.deepcopy(self.q2)
        for p in itertools.chain(self.q1_targ.parameters(), self.q2_targ.parameters()):
            p.requires_grad_(False)
        self.q_params = list(itertools.chain(self.q1.parameters(), self.q2.parameters()))

        self.target_entropy = -float(ACT_DIM)
        self.log_alpha = torch.zeros(1, requires_grad=True, dtype=dtype)
        self.alpha = self.log_alpha.exp().item()

        self.pi_optimizer = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.q_optimizer = torch.optim.Adam(
            itertools.chain(self.q1.parameters(), self.q2.parameters()), lr=lr)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=alpha_lr)

    def compute_loss_q(self, data, noise=None):
        torch, F = self.torch, self.torch.nn.functional
        o, a, r, o2, d = data["obs"], data["act"], data["rew"], data["obs2"], data["done"]
        q1 = self.q1(o, a)
        q2 = self.q2(o, a)
        with torch.no_grad():
            a2, logp_a2 = self.actor(o2, stable=self.stable, noise=noise)
            q1_pi_targ = self.q1_targ(o2, a2)
            q2_pi_targ = self.q2_targ(o2, a2)
            q_pi_targ = torch.min(q1_pi_targ, q2_pi_targ)
            backup = r + self.gamma * (1 - d) * (q_pi_targ - self.alpha * logp_a2)
        loss_q1 = F.mse_loss(q1, backup)
        loss_q2 = F.mse_loss(q2, backup)
        return loss_q1 + loss_q2, {"q1": q1.detach().mean().item(),
                                   "q2": q2.detach().mean().item()}

    def compute_loss_pi(self, data, noise=None):
        torch = self.torch
        o = data["obs"]
        pi, logp_pi = self.actor(o, stable=self.stable, noise=noise)
        q_pi = torch.min(self.q1(o, pi), self.q2(o, pi))
        loss_pi = (self.alpha * logp_pi - q_pi).mean()
        return loss_pi, logp_pi

    def polyak_update(self) -> None:
        torch, polyak = self.torch, self.polyak
        pairs = [(self.q1, self.q1_targ), (self.q2, self.q2_targ)]
        with torch.no_grad():
            if self.polyak_mode == "data":
                for net, targ in pairs:
                    for p, p_targ in zip(net.parameters(), targ.parameters()):
                        p_targ.data.mul_(polyak)
                        p_targ.data.add_((1 - polyak) * p.data)
            elif self.polyak_mode == "foreach":
                for net, targ in pairs:
                    targ_params = list(targ.parameters())
                    torch._foreach_mul_(targ_params, polyak)
                    torch._foreach_add_(targ_params, list(net.parameters()), alpha=1 - polyak)
            elif self.polyak_mode == "lerp":
                for net, targ in pairs:
                    for p, p_targ in zip(net.parameters(), targ.parameters()):
                        p_targ.lerp_(p, 1 - polyak)
            else:
                raise ValueError(self.polyak_mode)

    def update(self, data, noise=None, noise_pi=None) -> dict:
        """One SAC step on the minibatch ``data``: the critics, then (with the critics
        frozen) the actor, then the temperature, then the target critics."""
        self.q_optimizer.zero_grad()
        loss_q, q_info = self.compute_loss_q(data, noise)
        loss_q.backward()
        self.q_optimizer.step()

        for p in self.q_params:
            p.requires_grad = False

        self.pi_optimizer.zero_grad()
        loss_pi, logp_pi = self.compute_loss_pi(data, noise_pi)
        loss_pi.backward()
        self.pi_optimizer.step()

        for p in self.q_params:
            p.requires_grad = True

        alpha_loss = -(self.log_alpha * (logp_pi + self.target_entropy).detach()).mean()
        self.alpha_optimizer.zero_grad()
        alpha_loss.backward()
        self.alpha_optimizer.step()
        self.alpha = self.log_alpha.exp().item()

        self.polyak_update()
        return {"loss_q": loss_q.item(), "loss_pi": loss_pi.item(),
                "alpha_loss": alpha_loss.item(), "alpha": self.alpha,
                "entropy": -logp_pi.detach().mean().item(), **q_info}

    def act(self, o: np.ndarray, deterministic: bool = False) -> np.ndarray:
        torch = self.torch
        with torch.no_grad():
            obs = torch.as_tensor(o, dtype=torch.float32).unsqueeze(0)
            a, _ = self.actor(obs.to(self.log_alpha.dtype), deterministic=deterministic,
                              with_logprob=False)
        return a.squeeze(0).numpy()

    def deterministic_action(self, obs):
        """``tanh(mu)``, the evaluation action, written out from the actor's layers."""
        torch = self.torch
        with torch.no_grad():
            mu = self.actor.mu_layer(self.actor.net(obs))
            return torch.tanh(mu)

    def checkpoint(self) -> dict:
        return {"actor": self.actor.state_dict(), "q1": self.q1.state_dict(),
                "q2": self.q2.state_dict(), "q1_targ": self.q1_targ.state_dict(),
                "q2_targ": self.q2_targ.state_dict(), "log_alpha": self.log_alpha,
                "pi_optimizer": self.pi_optimizer.state_dict(),
                "q_optimizer": self.q_optimizer.state_dict(),
                "alpha_optimizer": self.alpha_optimizer.state_dict()}

    def restore(self, ckpt: dict) -> None:
        self.actor.load_state_dict(ckpt["actor"])
        self.q1.load_state_dict(ckpt["q1"])
        self.q2.load_state_dict(ckpt["q2"])
        self.q1_targ.load_state_dict(ckpt["q1_targ"])
        self.q2_targ.load_state_dict(ckpt["q2_targ"])
        with self.torch.no_grad():
            self.log_alpha.copy_(ckpt["log_alpha"])
        self.alpha = self.log_alpha.exp().item()
        self.pi_optimizer.load_state_dict(ckpt["pi_optimizer"])
        self.q_optimizer.load_state_dict(ckpt["q_optimizer"])
        self.alpha_optimizer.load_state_dict(ckpt["alpha_optimizer"])


def evaluate(agent: SAC, episodes: int = 10, seed: int = 123) -> float:
    """Mean return of the deterministic policy ``tanh(mu)`` over ``episodes`` fresh episodes."""
    env = PointGoal(np.random.default_rng(seed))
    total = 0.0
    for _ in range(episodes):
        o, done = env.reset(), False
        while not done:
            o, r, _, done = env.step(agent.act(o, deterministic=True))
            total += r
    return total / episodes


def main(torch, total_steps: int = 800, start_steps: int = 200, update_after: int = 200,
         update_every: int = 25, batch_size: int = 32, hidden: int = 32, seed: int = 0,
         polyak_mode: str = "data", stable_logprob: bool = False) -> dict:
    """Collect ``total_steps`` environment steps (random actions for the first
    ``start_steps``), updating every ``update_every`` steps as many times as steps were taken.
    Returns the first and last episodes' returns, the deterministic evaluation return before
    and after training, the last update's numbers, the alpha history, and the checks of the
    ``io.BytesIO`` checkpoint round trip."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    env = PointGoal(np.random.default_rng(seed))
    agent = SAC(torch, hidden=hidden, polyak_mode=polyak_mode, stable_logprob=stable_logprob)
    buffer = ReplayBuffer(OBS_DIM, ACT_DIM, size=total_steps)
    initial_eval = evaluate(agent)

    o, ep_ret = env.reset(), 0.0
    episode_returns, alphas, info = [], [], {}
    for t in range(total_steps):
        if t < start_steps:
            a = np.random.uniform(-1, 1, ACT_DIM)
        else:
            a = agent.act(o)
        o2, r, d, timeout = env.step(a)
        ep_ret += r
        buffer.store(o, a, r, o2, d)
        o = o2
        if timeout:
            episode_returns.append(ep_ret)
            o, ep_ret = env.reset(), 0.0
        if t >= update_after and t % update_every == 0:
            for _ in range(update_every):
                info = agent.update(buffer.sample_batch(torch, batch_size))
                alphas.append(info["alpha"])

    final_eval = evaluate(agent)

    # checkpoint round trip through an in-memory file, into a freshly built agent
    f = io.BytesIO()
    torch.save(agent.checkpoint(), f)
    f.seek(0)
    ckpt = torch.load(f)
    fresh = SAC(torch, hidden=hidden, polyak_mode=polyak_mode, stable_logprob=stable_logprob)
    fresh.restore(ckpt)
    probe = torch.as_tensor(np.random.default_rng(7).uniform(-1, 1, (16, OBS_DIM)),
                            dtype=torch.float32)
    same_actions = bool(torch.equal(agent.deterministic_action(probe),
                                    fresh.deterministic_action(probe)))
    same_targets = all(bool(torch.equal(p, q)) for p, q in zip(agent.q1_targ.parameters(),
                                                              fresh.q1_targ.parameters()))
    pi_state = fresh.pi_optimizer.state_dict()
    first = pi_state["state"][0]

    window = max(1, len(episode_returns) // 6)
    return {
        "early_return": float(np.mean(episode_returns[:window])),
        "late_return": float(np.mean(episode_returns[-window:])),
        "initial_eval": initial_eval, "final_eval": final_eval,
        "episodes": len(episode_returns), "updates": len(alphas),
        "alphas": alphas, "last": info,
        "restored_same_actions": same_actions, "restored_same_targets": same_targets,
        "restored_alpha": fresh.alpha, "alpha": agent.alpha,
        "restored_adam_step": float(first["step"]),
        "targets_frozen": not any(p.requires_grad for p in agent.q1_targ.parameters()),
        "q_thawed": all(p.requires_grad for p in agent.q_params),
        "eval_action_range": float(agent.deterministic_action(probe).abs().max()),
    }


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--polyak", default="data", choices=("data", "foreach", "lerp"))
    args = parser.parse_args()
    result = main(importlib.import_module(args.lib), polyak_mode=args.polyak)
    result.pop("alphas")
    print(result)
