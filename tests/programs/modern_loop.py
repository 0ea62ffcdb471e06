"""A current-style image classifier training loop: device selection, ``cudnn.benchmark`` and
``set_float32_matmul_precision``, ``random_split`` by fractions with a seeded ``Generator``, a
residual block in ``channels_last``, AdamW with decay and no-decay parameter groups, a
warmup-then-cosine ``LambdaLR``, ``autocast`` in bfloat16 with a ``GradScaler`` (disabled off
CUDA), gradient accumulation, ``clip_grad_norm_``, ``zero_grad(set_to_none=True)``, an EMA copy
of the model updated with ``torch._foreach_lerp_``, and evaluation of the EMA model under
``inference_mode``. The task: four classes read off channel means of random 8x8 images.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import copy
import math

import numpy as np


def main(torch, steps: int = 40, seed: int = 0) -> dict:
    """Train for ``steps`` optimizer steps; returns the mean loss of the first and last steps,
    the EMA model's validation accuracy, the final learning rate and the last gradient norm."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = True
    torch.set_float32_matmul_precision("high")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((400, 3, 8, 8)).astype(np.float32)
    y = ((x[:, 0, :4].mean((1, 2)) > x[:, 1, 4:].mean((1, 2))).astype(np.int64)
         + 2 * (x[:, 2].mean((1, 2)) > 0))
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    g = torch.Generator().manual_seed(42)
    train_ds, val_ds = torch.utils.data.random_split(ds, [0.8, 0.2], generator=g)
    train_dl = torch.utils.data.DataLoader(train_ds, batch_size=32, shuffle=True, generator=g,
                                           pin_memory=device == "cuda", num_workers=0)
    val_dl = torch.utils.data.DataLoader(val_ds, batch_size=64)

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)), inplace=True)
            out = self.bn2(self.conv2(out))
            return F.relu(out + x)

    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                          Block(16), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1),
                          nn.Linear(16, 4)).to(device, memory_format=torch.channels_last)
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
    warmup = 5
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5
        * (1 + math.cos(math.pi * min(s, steps) / steps)))
    scaler = torch.amp.GradScaler(device, enabled=(device == "cuda"))
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    accum = 2
    step = 0
    losses = []
    model.train()
    while step < steps:
        for i, (xb, yb) in enumerate(train_dl):
            xb = xb.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            yb = yb.to(device, non_blocking=True)
            with torch.autocast(device_type=device, dtype=torch.bfloat16):
                logits = model(xb)
                loss = crit(logits, yb) / accum
            scaler.scale(loss).backward()
            if (i + 1) % accum == 0:
                scaler.unscale_(opt)
                gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(opt)
                scaler.update()
                opt.zero_grad(set_to_none=True)
                sched.step()
                with torch.no_grad():
                    ema_params = list(ema.parameters())
                    torch._foreach_lerp_(ema_params, list(model.parameters()), 0.1)
                    for be, bm in zip(ema.buffers(), model.buffers()):
                        be.copy_(bm)
                losses.append(loss.item() * accum)
                step += 1
                if step >= steps:
                    break
    model.eval()
    correct = total = 0
    with torch.inference_mode():
        for xb, yb in val_dl:
            pred = ema(xb.to(device)).argmax(dim=1)
            correct += (pred == yb.to(device)).sum().item()
            total += yb.numel()
    return {"initial_loss": float(np.mean(losses[:3])), "final_loss": float(np.mean(losses[-5:])),
            "acc": correct / total, "lr": sched.get_last_lr()[0], "gn": float(gn)}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
