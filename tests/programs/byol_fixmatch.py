"""Two label-efficient recipes on small synthetic textures, written the way the public PyTorch
code for them is written.

BYOL pre-training: an online network (a small convolutional encoder and an MLP projector) with
an MLP predictor (``Linear``, ``BatchNorm1d``, ``ReLU``, ``Linear``), and a target network
made by ``copy.deepcopy`` of the online one and frozen with ``requires_grad_(False)``. Two views
of each image are made with tensor ops (a crop by slicing brought back to size by
``F.interpolate``, a horizontal ``torch.flip`` picked per image by ``torch.where``, brightness
and contrast jitter by elementwise ops, a cutout hole from ``torch.arange`` comparisons and
``masked_fill``, ``randn`` noise). The loss ``2 - 2 * F.cosine_similarity(p, z.detach()).mean()``
is symmetrised over the two views; the target follows the online weights by an exponential
moving average under ``torch.no_grad()``, written either as a loop over
``zip(online.parameters(), target.parameters())`` with ``t.data.mul_(tau).add_(o.data,
alpha=1 - tau)`` or with ``torch._foreach_mul_``/``torch._foreach_add_``; its rate ``tau``
rises to 1 on a cosine (``math.cos``). SGD with momentum under ``CosineAnnealingLR``. The
frozen encoder is scored by a linear probe (features taken in ``eval()`` under
``torch.no_grad()``, ``nn.Linear``, ``F.cross_entropy``).

FixMatch: a few labelled and many unlabelled images; the unlabelled ones get a weak view
(flip, reflect-padded shift) and a strong one (the BYOL view); the labelled, weak and strong
batches go through the model as one batch, interleaved (``torch.cat`` of strided slices) and
taken back apart (``chunk``, ``torch.stack``); pseudo-labels are the confident
``torch.max`` of ``torch.softmax(logits_u_w.detach() / T)`` above a threshold (``ge``) and
the unlabelled loss is ``(F.cross_entropy(..., reduction='none') * mask).mean()``. SGD with
Nesterov momentum, weight decay left off biases and BatchNorm parameters by name in a second
parameter group, a warm-up-then-cosine ``LambdaLR``; an EMA of the model for evaluation by
``swa_utils.AveragedModel`` with a custom ``avg_fn`` or with ``get_ema_multi_avg_fn``.

The random draws of an augmentation come from the library's generator, or, given a NumPy
``Generator``, from NumPy (so that two libraries can be fed the same views). The data: 12x12
single-channel textures of four kinds (horizontal stripes, vertical stripes, a checkerboard, a
blob) with random phases, periods and contrast on a noisy background. Written once against the
module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import copy
import math

import numpy as np

CLASSES, SIZE = 4, 12


def textures(n: int, seed: int):
    """``n`` float32 textures ``(n, 1, SIZE, SIZE)`` and their int64 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    images = 0.5 * rng.standard_normal((n, 1, SIZE, SIZE)).astype(np.float32)
    for image, label in zip(images, labels):
        period = rng.uniform(3.0, 5.0)
        phase = rng.uniform(0, 2 * np.pi)
        amplitude = rng.uniform(0.5, 0.9)
        if label == 0:
            pattern = np.sin(2 * np.pi * rows / period + phase)
        elif label == 1:
            pattern = np.sin(2 * np.pi * cols / period + phase)
        elif label == 2:
            pattern = np.sin(np.pi * rows / 2 + phase) * np.sin(np.pi * cols / 2 + phase)
            pattern = 2 * pattern
        else:
            cy, cx = rng.uniform(3, SIZE - 3, 2)
            pattern = 2 * np.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / 6.0) - 0.5
        image[0] += amplitude * pattern.astype(np.float32)
    return images, labels.astype(np.int64)


# ---------------------------------------------------------------- augmentations


def draw_strong(torch, n: int, rng=None, jitter: float = 0.4, noise_std: float = 0.1):
    """The random draws of one strong view of ``n`` images: a crop box, flips, brightness and
    contrast factors, a cutout centre and noise, from ``torch``'s generator or from the NumPy
    generator ``rng``."""
    if rng is None:
        size = int(torch.randint(8, SIZE + 1, (1,)).item())
        top, left = torch.randint(0, SIZE - size + 1, (2,)).tolist()
        flip = torch.rand(n) < 0.5
        contrast = 1 + jitter * (2 * torch.rand(n, 1, 1, 1) - 1)
        brightness = jitter * (2 * torch.rand(n, 1, 1, 1) - 1)
        hole = torch.randint(0, SIZE, (n, 2))
        noise = noise_std * torch.randn(n, 1, SIZE, SIZE)
    else:
        size = int(rng.integers(8, SIZE + 1))
        top, left = (int(v) for v in rng.integers(0, SIZE - size + 1, 2))
        flip = torch.from_numpy(rng.random(n) < 0.5)
        contrast = torch.from_numpy(1 + jitter * (2 * rng.random((n, 1, 1, 1)) - 1))
        brightness = torch.from_numpy(jitter * (2 * rng.random((n, 1, 1, 1)) - 1))
        hole = torch.from_numpy(rng.integers(0, SIZE, (n, 2)))
        noise = torch.from_numpy(noise_std * rng.standard_normal((n, 1, SIZE, SIZE)))
    return {"box": (top, left, size), "flip": flip, "contrast": contrast,
            "brightness": brightness, "hole": hole, "noise": noise}


def strong_view(torch, x, draws, hole_size: int = 4):
    """Apply the draws of ``draw_strong`` to the batch ``x``."""
    F = torch.nn.functional
    top, left, size = draws["box"]
    x = x[:, :, top:top + size, left:left + size]
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    x = torch.where(draws["flip"].view(-1, 1, 1, 1), torch.flip(x, dims=[3]), x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * draws["contrast"].to(x.dtype) + mean + draws["brightness"].to(x.dtype)
    rows = torch.arange(SIZE).view(1, 1, SIZE, 1)
    cols = torch.arange(SIZE).view(1, 1, 1, SIZE)
    cy = draws["hole"][:, 0].view(-1, 1, 1, 1)
    cx = draws["hole"][:, 1].view(-1, 1, 1, 1)
    hole = ((rows - cy).abs() < hole_size // 2) & ((cols - cx).abs() < hole_size // 2)
    x = x.masked_fill(hole, 0.0)
    return x + draws["noise"].to(x.dtype)


def draw_weak(torch, n: int, rng=None, pad: int = 2):
    """Flips and one shift ``(dy, dx)`` for the batch."""
    if rng is None:
        flip = torch.rand(n) < 0.5
        dy, dx = torch.randint(0, 2 * pad + 1, (2,)).tolist()
    else:
        flip = torch.from_numpy(rng.random(n) < 0.5)
        dy, dx = (int(v) for v in rng.integers(0, 2 * pad + 1, 2))
    return {"flip": flip, "shift": (dy, dx), "pad": pad}


def weak_view(torch, x, draws):
    F = torch.nn.functional
    flipped = x.flip(3)
    x = torch.where(draws["flip"][:, None, None, None], flipped, x)
    pad = draws["pad"]
    dy, dx = draws["shift"]
    x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    return x[:, :, dy:dy + SIZE, dx:dx + SIZE]


# ---------------------------------------------------------------- BYOL


def mlp(nn, dim_in: int, hidden: int, dim_out: int):
    return nn.Sequential(nn.Linear(dim_in, hidden), nn.BatchNorm1d(hidden),
                         nn.ReLU(inplace=True), nn.Linear(hidden, dim_out))


def make_encoder(nn, width: int = 32):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
        nn.Conv2d(16, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width),
        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def build_byol(torch, width: int = 32, hidden: int = 64, projection: int = 16):
    """``online`` (``.encoder``, ``.projector``), its ``predictor`` and the frozen ``target``."""
    nn = torch.nn

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = make_encoder(nn, width)
            self.projector = mlp(nn, width, hidden, projection)

        def forward(self, x):
            return self.projector(self.encoder(x))

    online = Network()
    predictor = mlp(nn, projection, hidden, projection)
    target = copy.deepcopy(online)
    target.requires_grad_(False)
    return online, predictor, target


def regression_loss(torch, p, z):
    F = torch.nn.functional
    return 2 - 2 * F.cosine_similarity(p, z.detach(), dim=-1).mean()


def update_target(torch, online, target, tau: float, foreach: bool = False):
    """``target <- tau * target + (1 - tau) * online``, parameter by parameter."""
    with torch.no_grad():
        if foreach:
            target_params = [t.data for t in target.parameters()]
            online_params = [o.data for o in online.parameters()]
            torch._foreach_mul_(target_params, tau)
            torch._foreach_add_(target_params, online_params, alpha=1 - tau)
        else:
            for o, t in zip(online.parameters(), target.parameters()):
                t.data.mul_(tau).add_(o.data, alpha=1 - tau)


def tau_at(step: int, total: int, base: float = 0.99) -> float:
    return 1 - (1 - base) * (math.cos(math.pi * step / total) + 1) / 2


def byol_step(torch, online, predictor, target, x, optimizer, tau, rng=None, foreach=False):
    """One BYOL update on the batch ``x``; returns the loss tensor."""
    first = strong_view(torch, x, draw_strong(torch, x.shape[0], rng))
    second = strong_view(torch, x, draw_strong(torch, x.shape[0], rng))
    p1, p2 = predictor(online(first)), predictor(online(second))
    with torch.no_grad():
        z1, z2 = target(first), target(second)
    loss = regression_loss(torch, p1, z2) + regression_loss(torch, p2, z1)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    update_target(torch, online, target, tau, foreach=foreach)
    return loss


def features_of(torch, encoder, x):
    encoder.eval()
    with torch.no_grad():
        feats = encoder(x)
    encoder.train()
    return feats


def linear_probe(torch, train_x, train_y, test_x, test_y, steps: int = 150):
    nn, F = torch.nn, torch.nn.functional
    mean, std = train_x.mean(0, keepdim=True), train_x.std(0, keepdim=True) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    probe = nn.Linear(train_x.shape[1], CLASSES)
    optimizer = torch.optim.Adam(probe.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(probe(train_x), train_y)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (probe(test_x).argmax(dim=1) == test_y).float().mean().item()
    return accuracy, loss.item()


# ---------------------------------------------------------------- FixMatch


def build_classifier(torch, width: int = 32):
    nn, F = torch.nn, torch.nn.functional

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(16, momentum=0.01)
            self.conv2 = nn.Conv2d(16, width, 3, padding=1)
            self.bn2 = nn.BatchNorm2d(width, momentum=0.01)
            self.fc = nn.Linear(width, CLASSES)

        def forward(self, x):
            x = F.leaky_relu(self.bn1(self.conv1(x)), negative_slope=0.1)
            x = F.max_pool2d(x, 2)
            x = F.leaky_relu(self.bn2(self.conv2(x)), negative_slope=0.1)
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.fc(x)

    return Classifier()


def interleave(torch, x, k: int):
    """Reorder the ``k`` equal parts of ``x`` so that every slice of ``len(x) // k`` rows
    takes rows from each part."""
    return torch.cat([x[i::k] for i in range(k)])


def de_interleave(torch, x, k: int):
    """The inverse of ``interleave``."""
    return torch.stack(x.chunk(k), dim=1).reshape(-1, *x.shape[1:])


def fixmatch_groups(model, weight_decay: float):
    no_decay = ["bias", "bn"]
    return [
        {"params": [p for n, p in model.named_parameters()
                    if not any(nd in n for nd in no_decay)], "weight_decay": weight_decay},
        {"params": [p for n, p in model.named_parameters()
                    if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]


def cosine_with_warmup(warmup: int, total: int, cycles: float = 7.0 / 16.0):
    def factor(step):
        if step < warmup:
            return float(step + 1) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        return max(0.0, math.cos(math.pi * cycles * progress))
    return factor


def make_ema(torch, model, decay: float = 0.95, kind: str = "avg_fn"):
    swa_utils = torch.optim.swa_utils
    if kind == "avg_fn":
        def ema_avg(averaged, current, num_averaged):
            return decay * averaged + (1 - decay) * current
        return swa_utils.AveragedModel(model, avg_fn=ema_avg, use_buffers=True)
    return swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(decay),
                                   use_buffers=True)


def fixmatch_loss(torch, model, x_l, y_l, x_u, rng=None, mu: int = 3, T: float = 1.0,
                  threshold: float = 0.8, lambda_u: float = 1.0):
    """The FixMatch loss of one labelled and one unlabelled batch; returns the total, the two
    parts and the fraction of confident pseudo-labels."""
    F = torch.nn.functional
    batch = x_l.shape[0]
    x_l = weak_view(torch, x_l, draw_weak(torch, batch, rng))
    x_u_w = weak_view(torch, x_u, draw_weak(torch, x_u.shape[0], rng))
    x_u_s = strong_view(torch, x_u, draw_strong(torch, x_u.shape[0], rng))
    inputs = interleave(torch, torch.cat((x_l, x_u_w, x_u_s)), 2 * mu + 1)
    logits = de_interleave(torch, model(inputs), 2 * mu + 1)
    logits_x = logits[:batch]
    logits_u_w, logits_u_s = logits[batch:].chunk(2)
    del logits
    loss_x = F.cross_entropy(logits_x, y_l, reduction="mean")
    probs = torch.softmax(logits_u_w.detach() / T, dim=-1)
    max_probs, targets_u = torch.max(probs, dim=-1)
    mask = max_probs.ge(threshold).float()
    loss_u = (F.cross_entropy(logits_u_s, targets_u, reduction="none") * mask).mean()
    return loss_x + lambda_u * loss_u, loss_x, loss_u, mask.mean()


def fixmatch_step(torch, model, ema, optimizer, scheduler, x_l, y_l, x_u, rng=None, **kwargs):
    loss, loss_x, loss_u, mask_rate = fixmatch_loss(torch, model, x_l, y_l, x_u, rng, **kwargs)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    ema.update_parameters(model)
    return loss.item(), loss_x.item(), loss_u.item(), mask_rate.item()


def accuracy(torch, net, x, y):
    net.eval()
    with torch.no_grad():
        correct = (net(x).argmax(dim=-1) == y).float().mean().item()
    net.train()
    return correct


# ---------------------------------------------------------------- the program


def main(torch, byol_steps: int = 40, fixmatch_steps: int = 60, seed: int = 0,
         foreach: bool = False, ema_kind: str = "avg_fn") -> dict:
    """BYOL then a linear probe; FixMatch from 8 labels a class. Returns the losses' ends, the
    probe's accuracy before and after pre-training, FixMatch's accuracy (model and EMA) and the
    bookkeeping of the schedules."""
    torch.manual_seed(seed)
    images, labels = textures(640, seed=1)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    x_train, y_train, x_test, y_test = x_all[:448], y_all[:448], x_all[448:], y_all[448:]

    # ---- BYOL
    online, predictor, target = build_byol(torch)
    probe_before, _ = linear_probe(torch, features_of(torch, online.encoder, x_train), y_train,
                                   features_of(torch, online.encoder, x_test), y_test)
    optimizer = torch.optim.SGD(list(online.parameters()) + list(predictor.parameters()),
                                lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=byol_steps)
    byol_losses, taus, batch = [], [], 64
    step = 0
    while step < byol_steps:
        order = torch.randperm(x_train.shape[0])
        for i in range(0, x_train.shape[0] - batch + 1, batch):
            if step == byol_steps:
                break
            tau = tau_at(step, byol_steps)
            loss = byol_step(torch, online, predictor, target, x_train[order[i:i + batch]],
                             optimizer, tau, foreach=foreach)
            scheduler.step()
            byol_losses.append(loss.item())
            taus.append(tau)
            step += 1
    train_f = features_of(torch, online.encoder, x_train)
    test_f = features_of(torch, online.encoder, x_test)
    probe_after, probe_loss = linear_probe(torch, train_f, y_train, test_f, y_test)
    target_probe, _ = linear_probe(torch, features_of(torch, target.encoder, x_train), y_train,
                                   features_of(torch, target.encoder, x_test), y_test)
    frozen = all(not p.requires_grad and p.grad is None for p in target.parameters())
    byol_lr_end = optimizer.param_groups[0]["lr"]

    # ---- FixMatch: 8 labels a class, the rest unlabelled
    labelled = torch.cat([torch.nonzero(y_train == c).flatten()[:8] for c in range(CLASSES)])
    is_labelled = torch.zeros(x_train.shape[0], dtype=torch.bool)
    is_labelled[labelled] = True
    x_l_all, y_l_all = x_train[labelled], y_train[labelled]
    x_u_all = x_train[~is_labelled]
    model = build_classifier(torch)
    ema = make_ema(torch, model, kind=ema_kind)
    optimizer = torch.optim.SGD(fixmatch_groups(model, 5e-4), lr=0.05, momentum=0.9,
                                nesterov=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, cosine_with_warmup(warmup=5, total=fixmatch_steps))
    mu, batch_l = 3, 16
    fm_losses, mask_rates, lrs = [], [], []
    for _ in range(fixmatch_steps):
        li = torch.randint(0, x_l_all.shape[0], (batch_l,))
        ui = torch.randint(0, x_u_all.shape[0], (mu * batch_l,))
        loss, loss_x, loss_u, mask_rate = fixmatch_step(
            torch, model, ema, optimizer, scheduler, x_l_all[li], y_l_all[li], x_u_all[ui],
            mu=mu, threshold=0.8)
        fm_losses.append(loss)
        mask_rates.append(mask_rate)
        lrs.append(scheduler.get_last_lr()[0])

    return {
        "byol_initial_loss": float(np.mean(byol_losses[:4])),
        "byol_final_loss": float(np.mean(byol_losses[-4:])),
        "probe_before": probe_before, "probe_after": probe_after, "probe_loss": probe_loss,
        "target_probe": target_probe, "target_frozen": frozen,
        "tau_first": taus[0], "tau_last": taus[-1], "byol_lr_end": byol_lr_end,
        "fixmatch_initial_loss": float(np.mean(fm_losses[:5])),
        "fixmatch_final_loss": float(np.mean(fm_losses[-5:])),
        "mask_rate_first": float(np.mean(mask_rates[:5])),
        "mask_rate_last": float(np.mean(mask_rates[-5:])),
        "fixmatch_accuracy": accuracy(torch, model, x_test, y_test),
        "ema_accuracy": accuracy(torch, ema, x_test, y_test),
        "n_averaged": int(ema.n_averaged), "lr_max": max(lrs), "lr_last": lrs[-1],
        "finite": bool(np.isfinite(byol_losses + fm_losses).all()),
    }
