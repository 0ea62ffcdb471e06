"""Asynchronous advantage actor-critic (A3C) as the popular PyTorch A3C code writes it, on a
made-up corridor instead of Atari: a shared actor-critic with an ``LSTMCell`` whose parameters
``share_memory()`` moves into shared memory, a ``SharedAdam`` whose moments and step counts are
made by hand and shared the same way, and worker processes that each copy the
shared weights into a local model (``load_state_dict``), roll out a few steps, compute
generalized advantage estimates, hand their gradients to the shared parameters
(``shared_param._grad = param.grad``) and step the shared optimizer; a ``Value`` counts the
steps under a ``Lock``. The processes start the platform's default way, as that code does
(fork on Linux: the children inherit the shared mappings; spawn elsewhere: they get them
pickled, as tests/programs/hogwild.py does).

Written once against the library passed to ``main`` (``gpugrad`` or PyTorch); the processes
get its name and import it. The classes are made per library at module level
(``ActorCritic_gpugrad``, ``SharedAdam_torch``...) so that ``spawn`` can pickle them by
reference.
"""

from __future__ import annotations

import importlib
import math

import numpy as np

LENGTH = 9  # corridor cells; the goal is the last one
MAX_STEPS = 40


class Corridor:
    """Start in cell 0; action 1 moves right, 0 left. Reaching the last cell pays 1 and ends
    the episode; every step costs 0.01; episodes stop after MAX_STEPS steps."""

    def __init__(self, rng):
        self.rng = rng
        self.position, self.steps = 0, 0

    def reset(self) -> np.ndarray:
        self.position, self.steps = 0, 0
        return self.observe()

    def observe(self) -> np.ndarray:
        obs = np.zeros(LENGTH, np.float32)
        obs[self.position] = 1.0
        return obs

    def step(self, action: int):
        self.position = max(0, min(LENGTH - 1, self.position + (1 if action == 1 else -1)))
        self.steps += 1
        done = self.position == LENGTH - 1 or self.steps >= MAX_STEPS
        reward = 1.0 if self.position == LENGTH - 1 else -0.01
        return self.observe(), reward, done


def _classes(torch):
    nn, F = torch.nn, torch.nn.functional

    class ActorCritic(nn.Module):
        def __init__(self, hidden: int = 32):
            super().__init__()
            self.fc = nn.Linear(LENGTH, hidden)
            self.lstm = nn.LSTMCell(hidden, hidden)
            self.critic_linear = nn.Linear(hidden, 1)
            self.actor_linear = nn.Linear(hidden, 2)
            self.lstm.bias_ih.data.fill_(0)
            self.lstm.bias_hh.data.fill_(0)
            self.train()

        def forward(self, inputs):
            inputs, (hx, cx) = inputs
            x = F.elu(self.fc(inputs))
            hx, cx = self.lstm(x, (hx, cx))
            return self.critic_linear(hx), self.actor_linear(hx), (hx, cx)

    class SharedAdam(torch.optim.Adam):
        """Adam whose state exists before the first step, so that it can be shared."""

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
            super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    state["step"] = torch.zeros(1)
                    state["exp_avg"] = p.data.new().resize_as_(p.data).zero_()
                    state["exp_avg_sq"] = p.data.new().resize_as_(p.data).zero_()

        def share_memory(self):
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    state["step"].share_memory_()
                    state["exp_avg"].share_memory_()
                    state["exp_avg_sq"].share_memory_()

        def step(self, closure=None):
            loss = closure() if closure is not None else None
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    state = self.state[p]
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    beta1, beta2 = group["betas"]
                    state["step"] += 1
                    if group["weight_decay"] != 0:
                        grad = grad.add(p.data, alpha=group["weight_decay"])
                    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    denom = exp_avg_sq.sqrt().add_(group["eps"])
                    bias_correction1 = 1 - beta1 ** state["step"].item()
                    bias_correction2 = 1 - beta2 ** state["step"].item()
                    step_size = group["lr"] * math.sqrt(bias_correction2) / bias_correction1
                    p.data.addcdiv_(exp_avg, denom, value=-step_size)
            return loss

    return {"ActorCritic": ActorCritic, "SharedAdam": SharedAdam}


def __getattr__(name: str):
    """``ActorCritic_<library>`` / ``SharedAdam_<library>``, made on first use (in a spawned
    process, when a pickled object names its class)."""
    kind, _, library = name.partition("_")
    if kind not in ("ActorCritic", "SharedAdam") or not library:
        raise AttributeError(name)
    for k, cls in _classes(importlib.import_module(library)).items():
        cls.__name__ = cls.__qualname__ = f"{k}_{library}"
        cls.__module__ = __name__
        globals()[cls.__name__] = cls
    return globals()[name]


def _cls(torch, kind: str):
    return getattr(importlib.import_module(__name__), f"{kind}_{torch.__name__}")


def ensure_shared_grads(model, shared_model) -> None:
    for param, shared_param in zip(model.parameters(), shared_model.parameters()):
        if shared_param.grad is not None:
            return
        shared_param._grad = param.grad


def train(rank, library, shared_model, counter, lock, optimizer, updates, seed, log):
    """One worker: ``updates`` rollouts of up to 5 steps, each an update of the shared model;
    the mean episode return of its first and last quarter go to ``log[rank]``."""
    torch = importlib.import_module(library)
    F = torch.nn.functional
    torch.manual_seed(seed + rank)
    env = Corridor(np.random.default_rng(seed + rank))
    model = _cls(torch, "ActorCritic")()
    state = torch.from_numpy(env.reset())
    done, episode_return, returns = True, 0.0, []
    gamma, gae_lambda, entropy_coef, value_loss_coef = 0.95, 1.0, 0.02, 0.5
    for _ in range(updates):
        model.load_state_dict(shared_model.state_dict())
        if done:
            cx, hx = torch.zeros(1, 32), torch.zeros(1, 32)
        else:
            cx, hx = cx.detach(), hx.detach()
        values, log_probs, rewards, entropies = [], [], [], []
        for _ in range(5):
            value, logit, (hx, cx) = model((state.unsqueeze(0), (hx, cx)))
            prob = F.softmax(logit, dim=-1)
            log_prob = F.log_softmax(logit, dim=-1)
            entropy = -(log_prob * prob).sum(1, keepdim=True)
            entropies.append(entropy)
            action = prob.multinomial(num_samples=1).detach()
            log_prob = log_prob.gather(1, action)
            obs, reward, done = env.step(int(action.item()))
            episode_return += reward
            with lock:
                counter.value += 1
            if done:
                returns.append(episode_return)
                episode_return = 0.0
                obs = env.reset()
            state = torch.from_numpy(obs)
            values.append(value)
            log_probs.append(log_prob)
            rewards.append(reward)
            if done:
                break
        R = torch.zeros(1, 1)
        if not done:
            value, _, _ = model((state.unsqueeze(0), (hx, cx)))
            R = value.detach()
        values.append(R)
        policy_loss, value_loss = 0, 0
        gae = torch.zeros(1, 1)
        for i in reversed(range(len(rewards))):
            R = gamma * R + rewards[i]
            advantage = R - values[i]
            value_loss = value_loss + 0.5 * advantage.pow(2)
            delta_t = rewards[i] + gamma * values[i + 1] - values[i]
            gae = gae * gamma * gae_lambda + delta_t
            policy_loss = policy_loss - log_probs[i] * gae.detach() - entropy_coef * entropies[i]
        optimizer.zero_grad()
        (policy_loss + value_loss_coef * value_loss).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50)
        ensure_shared_grads(model, shared_model)
        optimizer.step()
    quarter = max(1, len(returns) // 4)
    log[rank, 0] = float(np.mean(returns[:quarter])) if returns else 0.0
    log[rank, 1] = float(np.mean(returns[-quarter:])) if returns else 0.0


def greedy_steps(torch, model) -> int:
    """Steps the shared model's most likely actions take to reach the goal (MAX_STEPS: never)."""
    env = Corridor(np.random.default_rng(0))
    state = torch.from_numpy(env.reset())
    hx, cx = torch.zeros(1, 32), torch.zeros(1, 32)
    with torch.no_grad():
        for step in range(1, MAX_STEPS + 1):
            _, logit, (hx, cx) = model((state.unsqueeze(0), (hx, cx)))
            obs, _, done = env.step(int(logit.argmax(dim=1).item()))
            state = torch.from_numpy(obs)
            if done:
                return step if env.position == LENGTH - 1 else MAX_STEPS
    return MAX_STEPS


def main(torch, processes: int = 2, updates: int = 150, seed: int = 0) -> dict:
    """Train with ``processes`` workers; returns the greedy policy's steps to the goal before
    and after, the workers' early and late mean returns, the step count and whether the shared
    state stayed shared."""
    mp = torch.multiprocessing
    torch.manual_seed(seed)
    shared_model = _cls(torch, "ActorCritic")()
    shared_model.share_memory()
    optimizer = _cls(torch, "SharedAdam")(shared_model.parameters(), lr=0.005)
    optimizer.share_memory()
    before = greedy_steps(torch, shared_model)

    counter, lock = mp.Value("i", 0), mp.Lock()
    log = torch.zeros(processes, 2).share_memory_()
    workers = []
    for rank in range(processes):
        p = mp.Process(target=train, args=(rank, torch.__name__, shared_model, counter, lock,
                                           optimizer, updates, seed, log))
        p.start()
        workers.append(p)
    for p in workers:
        p.join()
    if any(p.exitcode != 0 for p in workers):
        raise RuntimeError(f"an A3C worker failed: exit codes {[p.exitcode for p in workers]}")

    steps = [optimizer.state[p]["step"].item() for p in shared_model.parameters()]
    return {"greedy_before": before, "greedy_after": greedy_steps(torch, shared_model),
            "returns": log.tolist(), "counter": counter.value, "optimizer_steps": steps[0],
            "shared": all(t.is_shared() for p in shared_model.parameters()
                          for t in (p, *optimizer.state[p].values()))}
