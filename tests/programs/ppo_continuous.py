"""Proximal policy optimization (PPO) with a Gaussian policy, written the way the common
single-file PyTorch PPO scripts write it, on a made-up continuous task instead of MuJoCo: a
point in the plane that must be steered to a goal.

What the program exercises: an actor-critic ``nn.Module`` whose layers are set up by a
``layer_init`` helper (``nn.init.orthogonal_`` weights, ``nn.init.constant_`` biases),
``nn.Tanh`` bodies, a state-independent ``actor_logstd`` parameter broadcast with
``expand_as``, ``distributions.Normal`` (``sample``, ``log_prob(a).sum(1)``,
``entropy().sum(1)``); rollout buffers made up front with ``torch.zeros((steps, envs) +
shape)`` and written by index under ``no_grad``; generalized advantage estimation run
backwards in a Python loop; several epochs of shuffled minibatches with the clipped
surrogate, the clipped value loss, advantage normalization, the approximate KL and the
clip fraction; ``nn.utils.clip_grad_norm_``; Adam (``eps=1e-5``) whose learning rate is
annealed by writing ``optimizer.param_groups[0]["lr"]``; the explained variance of the value
head through NumPy; and observations normalized by a running mean and variance kept in NumPy.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch. With
``numpy_noise=True`` the policy's Gaussian noise comes from NumPy instead of the library's
generator (``mean + std * eps``), so that two libraries started from the same weights
(``initial_state``) walk the same path and can be compared number for number.
"""

from __future__ import annotations

import numpy as np

OBS_DIM, ACT_DIM = 4, 2
EPISODE_STEPS = 30
SPEED = 0.15  # how far a unit action moves the point in one step
SQRT2 = float(np.sqrt(2))


class PointReach:
    """``num_envs`` copies of the task, stepped together. Each episode starts the point and
    the goal at random spots in [-1, 1]^2; an action in [-1, 1]^2 (clipped) moves the point
    by ``SPEED`` times itself. The observation is (point, goal - point); the reward is minus
    the distance left, less a small cost on the action. Episodes last ``EPISODE_STEPS`` steps
    and restart on their own; ``step`` reports the return of each episode that just ended."""

    def __init__(self, num_envs: int, rng):
        self.n, self.rng = num_envs, rng
        self.point = np.zeros((num_envs, 2))
        self.goal = np.zeros((num_envs, 2))
        self.t = np.zeros(num_envs, np.int64)
        self.ret = np.zeros(num_envs)

    def _start(self, which) -> None:
        k = int(np.count_nonzero(which))
        self.point[which] = self.rng.uniform(-1, 1, (k, 2))
        self.goal[which] = self.rng.uniform(-1, 1, (k, 2))
        self.t[which] = 0
        self.ret[which] = 0.0

    def _observe(self) -> np.ndarray:
        return np.concatenate([self.point, self.goal - self.point], axis=1)

    def reset(self) -> np.ndarray:
        self._start(np.ones(self.n, bool))
        return self._observe()

    def step(self, action: np.ndarray):
        action = np.clip(action, -1.0, 1.0)
        self.point = np.clip(self.point + SPEED * action, -1.5, 1.5)
        reward = -np.linalg.norm(self.goal - self.point, axis=1) - 0.01 * (action ** 2).sum(1)
        self.ret += reward
        self.t += 1
        done = self.t >= EPISODE_STEPS
        finished = self.ret[done].tolist()
        if done.any():
            self._start(done)
        return self._observe(), reward, done, finished


class RunningMeanStd:
    """Mean and variance of everything seen so far, merged batch by batch (parallel
    variance formula)."""

    def __init__(self, shape=(), epsilon: float = 1e-4):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = epsilon

    def update(self, x: np.ndarray) -> None:
        batch_mean, batch_var, batch_count = x.mean(axis=0), x.var(axis=0), x.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = (self.var * self.count + batch_var * batch_count
              + delta ** 2 * self.count * batch_count / total)
        self.var = m2 / total
        self.count = total


class NormalizeObservation:
    """Wraps the environment: every observation updates the running statistics and comes out
    standardized and clipped to [-clip, clip]."""

    def __init__(self, env, clip: float = 10.0, epsilon: float = 1e-8):
        self.env, self.clip, self.epsilon = env, clip, epsilon
        self.obs_rms = RunningMeanStd(shape=(OBS_DIM,))

    def _normalize(self, obs: np.ndarray) -> np.ndarray:
        self.obs_rms.update(obs)
        z = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.epsilon)
        return np.clip(z, -self.clip, self.clip)

    def reset(self) -> np.ndarray:
        return self._normalize(self.env.reset())

    def step(self, action):
        obs, reward, done, finished = self.env.step(action)
        return self._normalize(obs), reward, done, finished


def build_agent(torch, hidden: int = 64):
    nn = torch.nn
    Normal = torch.distributions.Normal

    def layer_init(layer, std=SQRT2, bias_const=0.0):
        torch.nn.init.orthogonal_(layer.weight, std)
        torch.nn.init.constant_(layer.bias, bias_const)
        return layer

    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.critic = nn.Sequential(
                layer_init(nn.Linear(OBS_DIM, hidden)), nn.Tanh(),
                layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
                layer_init(nn.Linear(hidden, 1), std=1.0),
            )
            self.actor_mean = nn.Sequential(
                layer_init(nn.Linear(OBS_DIM, hidden)), nn.Tanh(),
                layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
                layer_init(nn.Linear(hidden, ACT_DIM), std=0.01),
            )
            self.actor_logstd = nn.Parameter(torch.zeros(1, ACT_DIM))

        def get_value(self, x):
            return self.critic(x)

        def get_action_and_value(self, x, action=None, noise=None):
            action_mean = self.actor_mean(x)
            action_logstd = self.actor_logstd.expand_as(action_mean)
            action_std = torch.exp(action_logstd)
            probs = Normal(action_mean, action_std)
            if action is None:
                action = probs.sample() if noise is None else action_mean + action_std * noise
            return (action, probs.log_prob(action).sum(1), probs.entropy().sum(1),
                    self.critic(x))

    return Agent()


def main(torch, num_updates: int = 40, num_envs: int = 4, num_steps: int = 64,
         update_epochs: int = 4, num_minibatches: int = 4, learning_rate: float = 3e-3,
         seed: int = 0, dtype: str = "float32", numpy_noise: bool = False,
         initial_state: dict | None = None) -> dict:
    """Train for ``num_updates`` rollouts of ``num_steps`` steps in ``num_envs`` environments.
    Returns the mean episodic return of the first and last few updates' episodes, the
    last update's losses and statistics, a per-update ``history`` of them and the final
    weights as NumPy arrays."""
    nn = torch.nn
    gamma, gae_lambda, clip_coef, ent_coef, vf_coef, max_grad_norm = 0.99, 0.95, 0.2, 0.0, 0.5, 0.5
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    dt = getattr(torch, dtype)

    np.random.seed(seed)
    torch.manual_seed(seed)
    noise_rng = np.random.default_rng(seed + 1)
    envs = NormalizeObservation(PointReach(num_envs, np.random.default_rng(seed)))
    obs_shape, act_shape = (OBS_DIM,), (ACT_DIM,)

    agent = build_agent(torch).to(dt)
    if initial_state is not None:
        agent.load_state_dict(initial_state)
    optimizer = torch.optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)

    obs = torch.zeros((num_steps, num_envs) + obs_shape, dtype=dt)
    actions = torch.zeros((num_steps, num_envs) + act_shape, dtype=dt)
    logprobs = torch.zeros((num_steps, num_envs), dtype=dt)
    rewards = torch.zeros((num_steps, num_envs), dtype=dt)
    dones = torch.zeros((num_steps, num_envs), dtype=dt)
    values = torch.zeros((num_steps, num_envs), dtype=dt)

    next_obs = torch.tensor(envs.reset(), dtype=dt)
    next_done = torch.zeros(num_envs, dtype=dt)
    episode_returns, history = [], []

    for update in range(1, num_updates + 1):
        frac = 1.0 - (update - 1.0) / num_updates
        lrnow = frac * learning_rate
        optimizer.param_groups[0]["lr"] = lrnow

        finished_now = []
        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                noise = None
                if numpy_noise:
                    noise = torch.from_numpy(noise_rng.standard_normal((num_envs, ACT_DIM))).to(dt)
                action, logprob, _, value = agent.get_action_and_value(next_obs, noise=noise)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs_np, reward, done, finished = envs.step(action.cpu().numpy())
            finished_now.extend(finished)
            rewards[step] = torch.tensor(reward, dtype=dt).view(-1)
            next_obs = torch.tensor(next_obs_np, dtype=dt)
            next_done = torch.tensor(done.astype(np.float64), dtype=dt)
        episode_returns.append(finished_now)

        # generalized advantage estimation, from the last step back
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values

        b_obs = obs.reshape((-1,) + obs_shape)
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,) + act_shape)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)

        b_inds = np.arange(batch_size)
        clipfracs = []
        for _epoch in range(update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, batch_size, minibatch_size):
                end = start + minibatch_size
                mb_inds = b_inds[start:end]

                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()

                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]

                mb_advantages = b_advantages[mb_inds]
                mb_advantages = ((mb_advantages - mb_advantages.mean())
                                 / (mb_advantages.std() + 1e-8))

                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()

                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(
                    newvalue - b_values[mb_inds], -clip_coef, clip_coef)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
                v_loss = 0.5 * v_loss_max.mean()

                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef

                optimizer.zero_grad()
                loss.backward()
                grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()

        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y

        history.append({
            "lr": optimizer.param_groups[0]["lr"],
            "value_loss": v_loss.item(), "policy_loss": pg_loss.item(),
            "entropy": entropy_loss.item(), "old_approx_kl": old_approx_kl.item(),
            "approx_kl": approx_kl.item(), "clipfrac": float(np.mean(clipfracs)),
            "explained_variance": float(explained_var), "grad_norm": float(grad_norm),
            "logstd": agent.actor_logstd.detach().cpu().numpy().copy(),
            "mean_return": float(np.mean(finished_now)) if finished_now else float("nan"),
        })

    window = max(1, num_updates // 5)
    early = [r for rs in episode_returns[:window] for r in rs]
    late = [r for rs in episode_returns[-window:] for r in rs]
    last = history[-1]
    return {
        "early_return": float(np.mean(early)), "late_return": float(np.mean(late)),
        "value_loss": last["value_loss"], "policy_loss": last["policy_loss"],
        "entropy": last["entropy"], "approx_kl": last["approx_kl"],
        "clipfrac": last["clipfrac"], "explained_variance": last["explained_variance"],
        "history": history,
        "obs_mean": envs.obs_rms.mean.copy(),
        "final_state": {k: v.detach().cpu().numpy().copy()
                        for k, v in agent.state_dict().items()},
    }
