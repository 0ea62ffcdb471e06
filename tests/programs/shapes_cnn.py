"""An image classifier in the style of the small-vision scripts people adapt from tutorials:
the device boilerplate that wraps the model in ``nn.DataParallel`` when several GPUs are
visible, images resized with antialiased ``F.interpolate``, a CNN with an ``LPPool2d`` and a
``FractionalMaxPool2d``, ``NAdam`` under a warm-up then cosine-with-restarts schedule
(``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingWarmRestarts``), and an evaluation that
builds a confusion matrix with ``torch.bincount`` and reads per-class recall off its
``diag``, with class counts from ``torch.unique``.

The task: which of three shapes (a filled square, a cross, a ring) is drawn, at a random place
and size, on a noisy 32x32 canvas. Written once against the module ``torch`` passed to
``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

CLASSES = 3


def canvases(n: int, seed: int):
    """``n`` noisy 32x32 drawings (float32 NumPy, one channel) and their labels."""
    rng = np.random.default_rng(seed)
    images = 0.3 * rng.standard_normal((n, 1, 32, 32)).astype(np.float32)
    labels = rng.integers(0, CLASSES, n)
    rows, cols = np.mgrid[0:32, 0:32]
    for image, label in zip(images, labels):
        r = rng.integers(6, 11)
        cy, cx = rng.integers(r + 1, 31 - r, 2)
        if label == 0:
            mask = (abs(rows - cy) <= r) & (abs(cols - cx) <= r)
        elif label == 1:
            mask = ((abs(rows - cy) <= 1) & (abs(cols - cx) <= r)) | \
                   ((abs(cols - cx) <= 1) & (abs(rows - cy) <= r))
        else:
            d = np.hypot(rows - cy, cols - cx)
            mask = (d <= r) & (d >= r - 2)
        image[0][mask] += 1.0
    return images, labels


def main(torch, epochs: int = 6, seed: int = 0) -> dict:
    """Train; returns the first and last epoch losses, held-out accuracy and per-class recall."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    images, labels = canvases(480, seed)
    x = F.interpolate(torch.from_numpy(images), size=(16, 16), mode="bilinear",
                      antialias=True, align_corners=False)
    y = torch.from_numpy(labels)
    train = torch.utils.data.TensorDataset(x[:384], y[:384])
    loader = torch.utils.data.DataLoader(train, batch_size=32, shuffle=True)
    x_test, y_test = x[384:].to(device), y[384:].to(device)

    class ShapeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                nn.LPPool2d(2, kernel_size=2),  # 16 -> 8
                nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                nn.FractionalMaxPool2d(2, output_size=(5, 5)))
            self.classifier = nn.Linear(16 * 5 * 5, CLASSES)

        def forward(self, batch):
            return self.classifier(torch.flatten(self.features(batch), 1))

    model = ShapeNet()
    if torch.cuda.device_count() > 1:
        model = nn.DataParallel(model)
    model.to(device)

    optimizer = torch.optim.NAdam(model.parameters(), lr=4e-3)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.2, total_iters=2)
    restarts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2)
    scheduler = torch.optim.lr_scheduler.SequentialLR(
        optimizer, schedulers=[warmup, restarts], milestones=[2])
    criterion = nn.CrossEntropyLoss()

    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for batch, targets in loader:
            batch, targets = batch.to(device), targets.to(device)
            optimizer.zero_grad()
            loss = criterion(model(batch), targets)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        scheduler.step()
        losses.append(total / len(loader.dataset))

    model.eval()
    with torch.no_grad():
        predicted = model(x_test).argmax(dim=1)
    confusion = torch.bincount(y_test * CLASSES + predicted,
                               minlength=CLASSES * CLASSES).reshape(CLASSES, CLASSES)
    classes, counts = torch.unique(y_test, return_counts=True)
    recall = (torch.diag(confusion).float() / counts.float()).tolist()
    return {"initial_loss": losses[0], "final_loss": losses[-1],
            "accuracy": (predicted == y_test).float().mean().item(), "recall": recall,
            "classes": classes.tolist(), "lr_after": scheduler.get_last_lr()[0]}
