"""A small image classifier trained with mixup and cutmix, in the style of the image
classification training recipes: per batch either mixup (a ``Beta``-drawn ratio, a
``randperm`` partner and soft one-hot targets) or cutmix (a box cut from the partner images
by slicing, the ratio corrected to the box's area, the two hard-label losses mixed);
``CrossEntropyLoss(label_smoothing=...)`` on both kinds of target; ``SGD`` with Nesterov
momentum under ``SequentialLR`` (a ``LinearLR`` warmup, then ``CosineAnnealingWarmRestarts``
stepped per batch); an EMA of the weights and buffers by ``swa_utils.AveragedModel`` with
``get_ema_multi_avg_fn``.

The task: three kinds of noisy 12x12 pictures: a horizontal bar, a vertical bar, a cross.
Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

CLASSES, SIZE = 3, 12


def pictures(n: int, seed: int) -> tuple:
    """``n`` float32 images ``(n, 1, SIZE, SIZE)`` and their int64 labels."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, CLASSES, n)
    images = rng.normal(0, 0.4, (n, 1, SIZE, SIZE)).astype(np.float32)
    for i, kind in enumerate(label):
        row, col = rng.integers(2, SIZE - 2, 2)
        if kind in (0, 2):
            images[i, 0, row - 1:row + 1, :] += 1.0
        if kind in (1, 2):
            images[i, 0, :, col - 1:col + 1] += 1.0
    return images, label


def main(torch, epochs: int = 6, seed: int = 0) -> dict:
    """Train for ``epochs``; returns the first and last batches' losses, the accuracy of the
    model and of its EMA on held-out pictures, and the learning rates seen."""
    nn, F = torch.nn, torch.nn.functional
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    AveragedModel = torch.optim.swa_utils.AveragedModel
    get_ema_multi_avg_fn = torch.optim.swa_utils.get_ema_multi_avg_fn
    lr_scheduler = torch.optim.lr_scheduler
    torch.manual_seed(seed)

    images, labels = pictures(512, seed=1)
    train = DataLoader(TensorDataset(torch.from_numpy(images), torch.from_numpy(labels)),
                       batch_size=32, shuffle=True)
    test_images, test_labels = (torch.from_numpy(a) for a in pictures(300, seed=2))

    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES))
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.95), use_buffers=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    warmup_steps = len(train)
    scheduler = lr_scheduler.SequentialLR(optimizer, schedulers=[
        lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup_steps),
        lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2 * len(train), eta_min=1e-3),
    ], milestones=[warmup_steps])
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    beta = torch.distributions.Beta(torch.tensor([0.4]), torch.tensor([0.4]))

    def cutmix(x, y):
        lam = beta.sample().item()
        index = torch.randperm(x.size(0))
        cut = math.sqrt(1.0 - lam)
        h, w = int(SIZE * cut), int(SIZE * cut)
        cy, cx = torch.randint(SIZE, (2,)).tolist()
        y1, y2 = max(cy - h // 2, 0), min(cy + h // 2, SIZE)
        x1, x2 = max(cx - w // 2, 0), min(cx + w // 2, SIZE)
        x = x.clone()
        x[:, :, y1:y2, x1:x2] = x[index, :, y1:y2, x1:x2]
        lam = 1.0 - (y2 - y1) * (x2 - x1) / (SIZE * SIZE)  # the area actually kept
        out = model(x)
        return lam * criterion(out, y) + (1.0 - lam) * criterion(out, y[index])

    def mixup(x, y):
        lam = beta.sample()  # shape (1,): broadcasts over the batch
        index = torch.randperm(x.size(0))
        mixed = lam * x + (1 - lam) * x[index]
        target = F.one_hot(y, CLASSES).float()
        soft = lam * target + (1 - lam) * target[index]
        return criterion(model(mixed), soft)

    losses, lrs = [], []
    for _ in range(epochs):
        model.train()
        for x, y in train:
            loss = (cutmix if torch.rand(1).item() < 0.5 else mixup)(x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            ema.update_parameters(model)
            losses.append(loss.item())
            lrs.append(scheduler.get_last_lr()[0])

    def accuracy(net):
        net.eval()
        with torch.no_grad():
            return (net(test_images).argmax(1) == test_labels).float().mean().item()

    return {"initial_loss": float(np.mean(losses[:8])), "final_loss": float(np.mean(losses[-8:])),
            "accuracy": accuracy(model), "ema_accuracy": accuracy(ema),
            "n_averaged": int(ema.n_averaged), "steps": len(losses),
            "max_lr": max(lrs), "first_lr": lrs[0], "restart_lr": lrs[3 * len(train) - 1]}
