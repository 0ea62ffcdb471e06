"""Self-supervised contrastive pre-training in the style of the public SimCLR code, with the
LARS optimizer written by hand as those repositories write it.

Two augmented views of every image are made with tensor ops: a random-resized crop (one box a
view, cut by slicing and brought back to size by ``F.interpolate``), a random translation by
``torch.roll``, a horizontal ``torch.flip`` of a random subset chosen by a boolean mask
(``x[mask] = x[mask].flip(3)``), a reflect-padded random crop (``F.pad``) and additive
``torch.randn_like`` noise. A small encoder (``Conv2d``, ``BatchNorm2d``, ``ReLU``,
``AdaptiveAvgPool2d``, ``Flatten``) feeds a projection head (``Linear``, ``BatchNorm1d``,
``ReLU``, ``Linear``). The NT-Xent loss: ``F.normalize(torch.cat([z1, z2]), dim=1)``, a
similarity matrix ``z @ z.T / temperature`` whose diagonal is removed by ``masked_fill_`` with a
``torch.eye(..., dtype=torch.bool)`` mask, positives ``torch.arange(n)`` rolled by ``n``, and
``F.cross_entropy``.

``LARS`` subclasses ``torch.optim.Optimizer`` (``defaults`` dict, ``super().__init__``, a
``@torch.no_grad()`` ``step(closure=None)`` over ``self.param_groups``, momentum buffers in
``self.state[p]`` from ``torch.zeros_like``, a tensor ``step`` count, trust ratios from
``torch.norm`` and nested ``torch.where``, ``p.add_(mu, alpha=-lr)``, a ``__setstate__`` that
fills a newer option into old checkpoints' groups). Biases and BatchNorm parameters
(``p.ndim == 1``) go to a second parameter group without weight decay or LARS adaptation; the
same exclusion by name works on a group built from ``model.named_parameters()`` (PyTorch 2.6's
``param_names``), which the tests use. A warm-up-then-cosine ``LambdaLR`` sets the learning
rate; half-way, the optimizer's ``state_dict()`` goes through ``torch.save``/``torch.load`` on an
``io.BytesIO``, into a fresh LARS, and the schedule resumes with
``LambdaLR(..., last_epoch=step - 1)``. The optimizer is logged with ``repr``.

Evaluation: features of the frozen encoder (``model.eval()``, ``torch.no_grad()``) scored by a
weighted k-NN vote (cosine similarities, ``topk``, ``gather`` on expanded labels, one-hot by
``scatter``, ``argsort(descending=True)``) and by a linear probe trained with the library's
``SGD``; both are also taken on the untrained encoder.

Both convolutions and the first projection layer have no bias (BatchNorm follows them), as
ResNet-style code writes them. The data: 12x12 single-channel drawings of four flip-symmetric
shapes (filled square, hollow square, plus, X) at random places and sizes on a noisy
background. Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or
PyTorch.
"""

from __future__ import annotations

import io
import math

import numpy as np

CLASSES = 4
SIZE = 12


def drawings(n: int, seed: int):
    """``n`` noisy 12x12 drawings (float32 NumPy, shape ``(n, 1, 12, 12)``) and their labels."""
    rng = np.random.default_rng(seed)
    images = 0.4 * rng.standard_normal((n, 1, SIZE, SIZE)).astype(np.float32)
    labels = rng.integers(0, CLASSES, n)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    for image, label in zip(images, labels):
        r = rng.integers(2, 4)
        cy, cx = rng.integers(r, SIZE - r, 2)
        dy, dx = abs(rows - cy), abs(cols - cx)
        box = (dy <= r) & (dx <= r)
        if label == 0:
            mask = box
        elif label == 1:
            mask = box & ((dy == r) | (dx == r))
        elif label == 2:
            mask = box & ((dy == 0) | (dx == 0))
        else:
            mask = box & (dy == dx)
        image[0][mask] += rng.uniform(0.8, 1.2)
    return images, labels.astype(np.int64)


def build(torch, feature_dim: int = 32, projection_dim: int = 16):
    """The SimCLR model: ``model.encoder`` (image -> features) and ``model.projector``."""
    nn = torch.nn

    class SimCLR(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                nn.ReLU(inplace=True),
                nn.Conv2d(16, feature_dim, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(feature_dim),
                nn.ReLU(inplace=True),
                nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
            self.projector = nn.Sequential(
                nn.Linear(feature_dim, feature_dim, bias=False), nn.BatchNorm1d(feature_dim),
                nn.ReLU(inplace=True), nn.Linear(feature_dim, projection_dim))

        def forward(self, x):
            return self.projector(self.encoder(x))

    return SimCLR()


def nt_xent(torch, z1, z2, temperature: float = 0.5, fill: float = -9e15):
    """The normalised temperature-scaled cross entropy of SimCLR over 2n embeddings; ``fill``
    removes the self-similarities (-9e15 or ``float("-inf")`` in the public code)."""
    F = torch.nn.functional
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    sim = z @ z.T / temperature
    mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim.masked_fill_(mask, fill)
    labels = torch.roll(torch.arange(2 * n, device=z.device), shifts=n)  # i <-> i + n
    return F.cross_entropy(sim, labels)


def transform(torch, x, box, shift, flip, offsets, noise):
    """The deterministic part of an augmentation: crop ``box = (top, left, size)`` and resize,
    roll by ``shift = (dy, dx)``, flip the rows where the boolean ``flip`` is set, reflect-pad
    by 2 and cut each image at its ``offsets[i] = (oy, ox)``, add ``noise``."""
    F = torch.nn.functional
    top, left, size = box
    x = x[:, :, top:top + size, left:left + size]
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    x = torch.roll(x, shifts=shift, dims=(2, 3))
    x = x.clone()
    x[flip] = x[flip].flip(3)
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    x = torch.stack([padded[i, :, oy:oy + SIZE, ox:ox + SIZE]
                     for i, (oy, ox) in enumerate(offsets.tolist())])
    return x + noise


def augment(torch, x, noise_std: float = 0.1):
    """One random view of the batch ``x``: the random draws, then ``transform``."""
    n = x.shape[0]
    size = int(torch.randint(8, SIZE + 1, (1,)).item())
    top, left = torch.randint(0, SIZE - size + 1, (2,)).tolist()
    shift = tuple(torch.randint(-2, 3, (2,)).tolist())
    flip = torch.rand(n) < 0.5
    offsets = torch.randint(0, 5, (n, 2))
    noise = noise_std * torch.randn_like(x)
    return transform(torch, x, (top, left, size), shift, flip, offsets, noise)


def exclude_from_decay(name: str, p) -> bool:
    """Biases and normalisation parameters: no weight decay, no LARS adaptation."""
    return p.ndim == 1 or "bn" in name


def param_groups(model, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if exclude_from_decay(name, p) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay, "lars_adapt": True},
            {"params": no_decay, "weight_decay": 0.0, "lars_adapt": False}]


def make_lars(torch):
    """The LARS class, subclassing the library's ``torch.optim.Optimizer``."""

    class LARS(torch.optim.Optimizer):
        """SGD with momentum whose step for each weight is scaled by the trust ratio
        ``eta * ||w|| / ||g + wd * w||`` (You et al., 2017). A group without ``lars_adapt``
        takes plain momentum steps without weight decay; a group built from
        ``named_parameters()`` (it carries ``param_names``) also leaves out, by name, what
        ``exclude_from_decay`` picks."""

        def __init__(self, params, lr, momentum=0.9, weight_decay=1e-6, eta=0.001):
            if lr < 0.0:
                raise ValueError(f"Invalid learning rate: {lr}")
            defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta,
                            lars_adapt=True)
            super().__init__(params, defaults)

        def __setstate__(self, state):
            # checkpoints saved before ``lars_adapt`` existed adapt every group
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("lars_adapt", True)

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                names = group.get("param_names", [None] * len(group["params"]))
                for name, p in zip(names, group["params"]):
                    if p.grad is None:
                        continue
                    adapt = group["lars_adapt"] and not (
                        name is not None and exclude_from_decay(name, p))
                    d_p = p.grad
                    if adapt and group["weight_decay"] != 0:
                        d_p = d_p.add(p, alpha=group["weight_decay"])
                    if adapt:
                        param_norm = torch.norm(p)
                        update_norm = d_p.norm()
                        one = torch.ones_like(param_norm)
                        trust = torch.where(
                            param_norm > 0.0,
                            torch.where(update_norm > 0, group["eta"] * param_norm / update_norm,
                                        one),
                            one)
                        d_p = d_p.mul(trust)
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = torch.tensor(0.0)
                        state["mu"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    mu = state["mu"]
                    mu.mul_(group["momentum"]).add_(d_p)
                    state["step"] += 1
                    p.add_(mu, alpha=-group["lr"])
            return loss

    return LARS


def warmup_cosine(total_steps: int, warmup_steps: int):
    def factor(step):
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return factor


def features_of(torch, model, x, batch_size: int = 128):
    model.eval()
    with torch.no_grad():
        out = torch.cat([model.encoder(x[i:i + batch_size])
                         for i in range(0, x.shape[0], batch_size)])
    model.train()
    return out


def knn_accuracy(torch, bank, bank_labels, query, query_labels, k: int = 10, t: float = 0.1):
    """Weighted k-NN vote on cosine similarities, as the SimCLR/MoCo monitors write it."""
    F = torch.nn.functional
    bank, query = F.normalize(bank, dim=1), F.normalize(query, dim=1)
    sim = torch.mm(query, bank.t())
    weight, index = sim.topk(k=k, dim=-1)
    neighbours = torch.gather(bank_labels.expand(query.size(0), -1), dim=-1, index=index)
    weight = (weight / t).exp()
    one_hot = torch.zeros(query.size(0) * k, CLASSES, device=sim.device)
    one_hot = one_hot.scatter(dim=-1, index=neighbours.view(-1, 1), value=1.0)
    scores = torch.sum(one_hot.view(query.size(0), -1, CLASSES) * weight.unsqueeze(-1), dim=1)
    predicted = scores.argsort(dim=-1, descending=True)[:, 0]
    return (predicted == query_labels).float().mean().item()


def linear_probe(torch, train_feats, train_labels, test_feats, test_labels, steps: int = 150):
    """A ``Linear`` on frozen (standardised) features, full-batch SGD with momentum."""
    nn, F = torch.nn, torch.nn.functional
    mean, std = train_feats.mean(0, keepdim=True), train_feats.std(0, keepdim=True) + 1e-6
    train_feats, test_feats = (train_feats - mean) / std, (test_feats - mean) / std
    probe = nn.Linear(train_feats.shape[1], CLASSES)
    optimizer = torch.optim.SGD(probe.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(probe(train_feats), train_labels)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (probe(test_feats).argmax(1) == test_labels).float().mean().item()
    return accuracy, loss.item()


def main(torch, steps: int = 80, batch_size: int = 64, lr: float = 1.0, seed: int = 0) -> dict:
    """Pre-train for ``steps`` batches; returns the NT-Xent loss curve's ends, k-NN and
    linear-probe accuracies before and after, and the resumed optimizer's bookkeeping."""
    torch.manual_seed(seed)
    images, labels = drawings(512, seed)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    x_train, y_train = x_all[:384], y_all[:384]
    x_test, y_test = x_all[384:], y_all[384:]

    model = build(torch)
    LARS = make_lars(torch)

    def evaluate():
        train_f, test_f = features_of(torch, model, x_train), features_of(torch, model, x_test)
        knn = knn_accuracy(torch, train_f, y_train, test_f, y_test)
        probe, _ = linear_probe(torch, train_f, y_train, test_f, y_test)
        return knn, probe

    knn_before, probe_before = evaluate()
    optimizer = LARS(param_groups(model, weight_decay=1e-5), lr=lr, momentum=0.9, eta=0.02)
    schedule = warmup_cosine(steps, warmup_steps=6)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=schedule)

    losses, lrs, resumed = [], [], {}
    model.train()
    step = 0
    while step < steps:
        permutation = torch.randperm(x_train.shape[0])
        for i in range(0, x_train.shape[0] - batch_size + 1, batch_size):
            if step == steps:
                break
            x = x_train[permutation[i:i + batch_size]]
            z1, z2 = model(augment(torch, x)), model(augment(torch, x))
            loss = nt_xent(torch, z1, z2, temperature=0.5)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            losses.append(loss.item())
            lrs.append(optimizer.param_groups[0]["lr"])
            if step == steps // 2:
                # checkpoint the optimizer and resume from the bytes, as a restart would
                buffer = io.BytesIO()
                torch.save({"optimizer": optimizer.state_dict(), "step": step}, buffer)
                buffer.seek(0)
                checkpoint = torch.load(buffer)
                optimizer = LARS(param_groups(model, weight_decay=1e-5), lr=lr, momentum=0.9,
                                 eta=0.02)
                optimizer.load_state_dict(checkpoint["optimizer"])
                scheduler = torch.optim.lr_scheduler.LambdaLR(
                    optimizer, lr_lambda=schedule, last_epoch=checkpoint["step"] - 1)
                first = optimizer.state[optimizer.param_groups[0]["params"][0]]
                resumed = {"repr": repr(optimizer),
                           "lr": optimizer.param_groups[0]["lr"],
                           "initial_lr": optimizer.param_groups[0]["initial_lr"],
                           "step": float(first["step"]),
                           "n_state": len(optimizer.state),
                           "scheduler_last_lr": scheduler.get_last_lr()[0]}

    knn_after, probe_after = evaluate()
    return {
        "initial_loss": float(np.mean(losses[:5])),
        "final_loss": float(np.mean(losses[-5:])),
        "uniform_loss": float(np.log(2 * batch_size - 1)),  # all similarities equal
        "steps": len(losses),
        "knn_before": knn_before, "knn_after": knn_after,
        "probe_before": probe_before, "probe_after": probe_after,
        "lr_peak": max(lrs), "lr_end": lrs[-1],
        "resumed": resumed,
        "finite": bool(np.all(np.isfinite(losses))),
    }


if __name__ == "__main__":
    import importlib
    import sys
    import time

    start = time.perf_counter()
    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
    print(f"{time.perf_counter() - start:.2f} s")
