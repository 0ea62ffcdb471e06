"""Pretraining then fine-tuning, in the style of the transfer-learning tutorials and of the
training scripts' helpers. Pretraining: two sources joined by ``ConcatDataset``, split by
``Subset`` over a seeded ``randperm``, an imbalanced label mix rebalanced by a
``WeightedRandomSampler`` (weights from ``bincount``), mixup with ``F.one_hot`` soft targets
fed to ``CrossEntropyLoss``, gradient accumulation with ``loss / accum_steps``, SGD with
Nesterov momentum under ``MultiStepLR``, and the ImageNet script's top-k ``accuracy`` and
``AverageMeter``. Fine-tuning: the backbone frozen by ``requires_grad_(False)``, a new head,
an optimizer over ``filter(lambda p: p.requires_grad, ...)``, then the last block unfrozen by a
``named_parameters()`` filter and added with ``add_param_group`` at a lower rate, under a
``ReduceLROnPlateau`` made before the group was added (so it must take it on); features
read by a ``register_forward_hook`` and a nearest-class-mean classifier by
``F.normalize``, ``torch.where`` and ``topk``.

The tasks: six Gaussian clusters in 16 dimensions to pretrain on; then three new labels (which
pair of clusters a point came from) learned from few examples. Written once against the
module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

CLUSTERS, DIM = 6, 16


def points(n: int, seed: int, weights=None) -> tuple:
    """``n`` float32 points around six fixed centres and their cluster ids."""
    centres = np.random.default_rng(1234).standard_normal((CLUSTERS, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed)
    ids = rng.choice(CLUSTERS, n, p=weights)
    x = centres[ids] * 1.2 + rng.standard_normal((n, DIM)).astype(np.float32)
    return x.astype(np.float32), ids.astype(np.int64)


class AverageMeter:
    """The running mean of a metric (as the ImageNet example keeps them)."""

    def __init__(self):
        self.sum, self.count = 0.0, 0

    def update(self, value: float, n: int = 1):
        self.sum += value * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.sum / max(self.count, 1)


def accuracy(torch, output, target, topk=(1,)):
    """Top-k accuracies in percent, as in the ImageNet example."""
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def main(torch, epochs: int = 4, finetune_steps: int = 40, seed: int = 0) -> dict:
    """Pretrain for ``epochs`` and fine-tune for ``finetune_steps``; returns the pretraining
    losses and accuracies, the probe's and the fine-tuned model's accuracies, and checks on
    what froze."""
    nn, F = torch.nn, torch.nn.functional
    data = torch.utils.data
    torch.manual_seed(seed)

    # Two sources, one of them skewed towards the first clusters.
    xa, ya = points(240, seed)
    xb, yb = points(240, seed + 1, weights=[0.4, 0.3, 0.15, 0.08, 0.05, 0.02])
    full = data.ConcatDataset([data.TensorDataset(torch.from_numpy(xa), torch.from_numpy(ya)),
                               data.TensorDataset(torch.from_numpy(xb), torch.from_numpy(yb))])
    order = torch.randperm(len(full), generator=torch.Generator().manual_seed(seed)).tolist()
    train_set, val_set = data.Subset(full, order[:400]), data.Subset(full, order[400:])
    train_labels = torch.tensor([int(full[i][1]) for i in train_set.indices])
    counts = torch.bincount(train_labels, minlength=CLUSTERS)
    sample_weights = (1.0 / counts.double())[train_labels]
    sampler = data.WeightedRandomSampler(sample_weights, num_samples=len(train_set),
                                         replacement=True)
    train_loader = data.DataLoader(train_set, batch_size=16, sampler=sampler, drop_last=True)
    val_loader = data.DataLoader(val_set, batch_size=40)

    class Net(nn.Module):
        def __init__(self, classes):
            super().__init__()
            self.block1 = nn.Sequential(nn.Linear(DIM, 32), nn.LayerNorm(32), nn.SiLU())
            self.block2 = nn.Sequential(nn.Linear(32, 32), nn.LayerNorm(32), nn.SiLU())
            self.fc = nn.Linear(32, classes)

        def forward(self, x):
            return self.fc(self.block2(self.block1(x)))

    model = Net(CLUSTERS)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                          weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 3], gamma=0.3)
    crit = nn.CrossEntropyLoss()
    accum_steps = 2
    losses, val_top1, val_top2 = [], [], []
    for _ in range(epochs):
        model.train()
        meter = AverageMeter()
        opt.zero_grad()
        for i, (x, y) in enumerate(train_loader):
            # mixup: soft targets from one_hot, mixed with a shuffled copy of the batch
            lam = float(np.random.default_rng(seed + i).beta(0.4, 0.4))
            perm = torch.randperm(x.size(0))
            soft = F.one_hot(y, CLUSTERS).float()
            x_mix = lam * x + (1 - lam) * x[perm]
            y_mix = lam * soft + (1 - lam) * soft[perm]
            loss = crit(model(x_mix), y_mix)
            (loss / accum_steps).backward()
            if (i + 1) % accum_steps == 0:
                opt.step()
                opt.zero_grad()
            meter.update(loss.item(), x.size(0))
        sched.step()
        losses.append(meter.avg)
        model.eval()
        top1, top2 = AverageMeter(), AverageMeter()
        with torch.no_grad():
            for x, y in val_loader:
                acc1, acc2 = accuracy(torch, model(x), y, topk=(1, 2))
                top1.update(acc1.item(), x.size(0))
                top2.update(acc2.item(), x.size(0))
        val_top1.append(top1.avg)
        val_top2.append(top2.avg)

    # Fine-tuning on a new task from 36 examples: which pair of clusters a point came from.
    x_new, c_new = points(36, seed + 2)
    x_test, c_test = points(300, seed + 3)
    x_new, y_new = torch.from_numpy(x_new), torch.from_numpy(c_new) // 2
    x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(c_test) // 2
    x_val, y_val = x_test[:100], y_test[:100]

    model.zero_grad(set_to_none=True)  # (an odd last accumulation left gradients behind)
    features = {}
    handle = model.block2.register_forward_hook(
        lambda module, inputs, output: features.__setitem__("block2", output.detach()))
    model.fc = nn.Linear(32, 3)  # a new head for the new task
    for name, p in model.named_parameters():
        if not name.startswith("fc."):
            p.requires_grad_(False)
    frozen_before = model.block1[0].weight.clone()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=3e-2)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5,
                                                         patience=2, min_lr=1e-4)
    probe_losses = []
    for step in range(finetune_steps):
        if step == finetune_steps // 2:
            block2 = [p for n, p in model.named_parameters() if n.startswith("block2.")]
            for p in block2:
                p.requires_grad_(True)
            opt.add_param_group({"params": block2, "lr": 3e-3})
        model.train()
        loss = F.cross_entropy(model(x_new), y_new)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        probe_losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            val_acc = (model(x_val).argmax(1) == y_val).float().mean()
        plateau.step(val_acc)  # a one-element tensor, as scripts pass it
    model.eval()
    with torch.no_grad():
        test_acc = (model(x_test).argmax(1) == y_test).float().mean().item()
        # Nearest class mean on the hooked, normalized features.
        model(x_new)
        train_feats = F.normalize(features["block2"], dim=1)
        means = torch.stack([train_feats[y_new == k].mean(0) for k in range(3)])
        model(x_test)
        sims = F.normalize(features["block2"], dim=1) @ F.normalize(means, dim=1).t()
        best = sims.topk(1, dim=1).indices.squeeze(1)
        ncm_acc = torch.where(best == y_test, 1.0, 0.0).mean().item()
    handle.remove()
    model(x_test[:1])
    return {"initial_loss": losses[0], "final_loss": losses[-1], "top1": val_top1[-1],
            "top2": val_top2[-1], "probe_initial": probe_losses[0],
            "probe_final": probe_losses[-1], "test_acc": test_acc, "ncm_acc": ncm_acc,
            "trainable": trainable, "frozen_kept": bool(torch.equal(
                frozen_before, model.block1[0].weight)),
            "block1_grad": model.block1[0].weight.grad is None,
            "groups": [len(g["params"]) for g in opt.param_groups],
            "lrs": [g["lr"] for g in opt.param_groups], "hook_removed": len(features) == 1,
            "min_lrs": plateau.min_lrs,
            "sampled_counts": torch.bincount(torch.tensor(list(
                train_labels[i] for i in sampler)), minlength=CLUSTERS).tolist()}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
