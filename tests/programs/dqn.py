"""A Deep Q-Network in the style of PyTorch's reinforcement-learning tutorial, on a 1-D
corridor written here: a replay buffer of namedtuples in a ``deque`` sampled with
``random.sample``, epsilon-greedy actions under ``no_grad``, ``gather`` of the taken actions'
values, a target network (``load_state_dict``, ``eval``, soft updates of its state dict), a
terminal-state mask, Huber loss, value clipping of the gradients and AdamW with amsgrad.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math
import random
from collections import deque, namedtuple

import numpy as np

Transition = namedtuple("Transition", ("state", "action", "next_state", "reward", "done"))


class Corridor:
    """Cells 0..length-1; the agent starts at 0 and moves left (0) or right (1). Reaching the
    last cell pays 1 and ends the episode; every other step costs 0.01. Episodes end after
    ``limit`` steps. The state is the one-hot of the cell."""

    def __init__(self, length: int = 6, limit: int = 20):
        self.length, self.limit = length, limit

    def reset(self):
        self.position, self.steps = 0, 0
        return self._observe()

    def step(self, action: int):
        self.position = max(0, min(self.length - 1, self.position + (1 if action else -1)))
        self.steps += 1
        at_goal = self.position == self.length - 1
        reward = 1.0 if at_goal else -0.01
        return self._observe(), reward, at_goal, self.steps >= self.limit

    def _observe(self):
        state = np.zeros(self.length, np.float32)
        state[self.position] = 1.0
        return state


def main(torch, episodes: int = 60, seed: int = 0) -> dict:
    """Train for ``episodes`` episodes; returns the greedy policy's return before and after,
    the mean loss of the first and last 50 updates, and the greedy actions per cell."""
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim
    torch.manual_seed(seed)
    random.seed(seed)
    env = Corridor()
    n_states, n_actions = env.length, 2
    batch_size, gamma, tau, lr = 32, 0.9, 0.05, 3e-3
    eps_start, eps_end, eps_decay = 0.9, 0.05, 300

    class DQN(nn.Module):
        def __init__(self, n_observations, n_actions):
            super().__init__()
            self.layer1 = nn.Linear(n_observations, 32)
            self.layer2 = nn.Linear(32, 32)
            self.layer3 = nn.Linear(32, n_actions)

        def forward(self, x):
            x = F.relu(self.layer1(x))
            x = F.relu(self.layer2(x))
            return self.layer3(x)

    policy_net = DQN(n_states, n_actions)
    target_net = DQN(n_states, n_actions)
    target_net.load_state_dict(policy_net.state_dict())
    target_net.eval()
    optimizer = optim.AdamW(policy_net.parameters(), lr=lr, amsgrad=True)
    criterion = nn.SmoothL1Loss()
    memory = deque([], maxlen=2000)
    steps_done, losses = 0, []

    def select_action(state):
        nonlocal steps_done
        eps = eps_end + (eps_start - eps_end) * math.exp(-1.0 * steps_done / eps_decay)
        steps_done += 1
        if random.random() > eps:
            with torch.no_grad():
                return policy_net(state).max(1)[1].view(1, 1)
        return torch.tensor([[random.randrange(n_actions)]], dtype=torch.long)

    def optimize_model():
        if len(memory) < batch_size:
            return
        batch = Transition(*zip(*random.sample(memory, batch_size)))
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.tensor(np.array(batch.reward, dtype=np.float32))
        next_states = torch.stack([torch.from_numpy(s) for s in batch.next_state])
        not_done = ~torch.tensor(batch.done, dtype=torch.bool)

        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(batch_size)
        with torch.no_grad():
            next_state_values[not_done] = target_net(next_states[not_done]).max(1).values
        expected = reward_batch + gamma * next_state_values
        loss = criterion(state_action_values, expected.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        losses.append(loss.item())

    def greedy_return():
        state, total = env.reset(), 0.0
        for _ in range(env.limit):
            with torch.no_grad():
                q = policy_net(torch.tensor(state).unsqueeze(0))
            state, reward, terminated, truncated = env.step(q.argmax(dim=1).item())
            total += reward
            if terminated or truncated:
                break
        return total

    initial_return = greedy_return()
    for _ in range(episodes):
        state = torch.tensor(env.reset(), dtype=torch.float32).unsqueeze(0)
        while True:
            action = select_action(state)
            observation, reward, terminated, truncated = env.step(action.item())
            next_state = torch.tensor(observation, dtype=torch.float32).unsqueeze(0)
            memory.append(Transition(state, action, observation, reward, terminated))
            state = next_state
            optimize_model()
            # soft update of the target network's weights
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = (policy_net_state_dict[key] * tau
                                              + target_net_state_dict[key] * (1 - tau))
            target_net.load_state_dict(target_net_state_dict)
            if terminated or truncated:
                break

    with torch.no_grad():
        cells = torch.eye(n_states)
        greedy_actions = policy_net(cells).argmax(dim=1).tolist()
    return {"initial_return": initial_return, "final_return": greedy_return(),
            "first_loss": float(np.mean(losses[:50])), "last_loss": float(np.mean(losses[-50:])),
            "greedy_actions": greedy_actions, "target_training": target_net.training,
            "updates": len(losses)}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--episodes", type=int, default=60)
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), args.episodes))
