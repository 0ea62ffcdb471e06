"""A PyTorch user's compiled training script: a classifier of three noisy rings of points,
``DataLoader`` batches (a short last batch every epoch), a ``train_step`` compiled with
``torch.compile`` that clips the gradients and steps AdamW, a ``StepLR`` schedule per epoch, and
the evaluation through ``model = torch.compile(model)`` under ``torch.no_grad()`` in eval mode.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch. With
``compile=False`` the same script runs eagerly (the compiled run must give its numbers).
"""

from __future__ import annotations

import numpy as np


def _rings(n: int, seed: int):
    """Points on three rings of radius 1, 2 and 3 with noise; the label is the ring."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    radius = labels + 1.0 + rng.normal(0.0, 0.15, n)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return points.astype(np.float32), labels.astype(np.int64)


def main(torch, epochs: int = 8, seed: int = 0, compile: bool = True,
         backend: str = "inductor") -> dict:
    """Train for ``epochs``; returns every training loss, the first and the last epoch's mean
    loss, the test loss and accuracy, and (gpugrad) the compiled step's counters."""
    nn = torch.nn
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    torch.manual_seed(seed)

    train_x, train_y = _rings(240, seed)
    test_x, test_y = _rings(300, seed + 1)
    loader = DataLoader(TensorDataset(torch.from_numpy(train_x), torch.from_numpy(train_y)),
                        batch_size=32, shuffle=True)  # 7 batches of 32 and one of 16

    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 32),
                          nn.Tanh(), nn.Linear(32, 3))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-2, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

    def train_step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        return loss

    eval_model = model
    if compile:
        train_step = torch.compile(train_step, backend=backend)
        eval_model = torch.compile(model, backend=backend)

    losses, epoch_means = [], []
    for _ in range(epochs):
        model.train()
        epoch = [train_step(x, y) for x, y in loader]
        values = [loss.item() for loss in epoch]
        losses += values
        epoch_means.append(sum(values) / len(values))
        scheduler.step()

    model.eval()
    with torch.no_grad():
        logits = eval_model(torch.from_numpy(test_x))
        target = torch.from_numpy(test_y)
        test_loss = float(loss_fn(logits, target))
        accuracy = float((logits.argmax(dim=1) == target).float().mean())
    stats = getattr(train_step, "stats", None)
    return {"losses": losses, "initial_loss": epoch_means[0], "final_loss": epoch_means[-1],
            "test_loss": test_loss, "accuracy": accuracy,
            "replays": None if stats is None else stats.replays,
            "fallbacks": None if stats is None else list(stats.fallbacks)}
