"""A small convolutional denoising autoencoder trained the way long jobs are: interrupted and
resumed from a checkpoint. The model: ``Conv2d`` + ``BatchNorm2d`` + ``LeakyReLU`` down by
strides, back up by ``ConvTranspose2d`` and by ``nn.Upsample`` + ``Conv2d``, a skip connection
resized with ``F.interpolate``, a ``Sigmoid`` output; ``model.apply(init_fn)`` with
``nn.init.kaiming_normal_``/``zeros_``/``ones_``; Adam with a ``LinearLR`` warmup stepped
every batch of the first epoch, then ``ReduceLROnPlateau`` on the validation loss; the
forward in ``torch.autocast("cpu", dtype=torch.bfloat16)`` with the loss taken in float32,
and forward hooks on every ``BatchNorm2d`` found by ``model.modules()`` noting the dtypes
they see under autocast.

Midway a checkpoint dict (model, optimizer and both schedulers' ``state_dict()``, the epoch,
the global RNG state and the loader's generator state) goes through ``torch.save`` to a temp
file; a fresh model, optimizer and schedulers ``torch.load`` it (``weights_only=True``),
``load_state_dict`` and ``set_rng_state`` it, and carry on. Their losses must be exactly those
of the run that was never interrupted.

The task: recover 12x12 images of bright rectangles from Gaussian noise. Written once against
the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np


def images(n: int, seed: int) -> np.ndarray:
    """``n`` 1x12x12 float32 images, each a bright rectangle on a dark ground."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 1, 12, 12), np.float32)
    for k in range(n):
        top, left = rng.integers(0, 7, 2)
        height, width = rng.integers(3, 6, 2)
        out[k, 0, top:top + height, left:left + width] = 1.0
    return out


def main(torch, epochs: int = 8, resume_at: int = 3, seed: int = 0, lr: float = 1e-2) -> dict:
    """Train for ``epochs`` uninterrupted, then again stopping after ``resume_at`` epochs and
    resuming from the checkpoint; returns both runs' epoch losses, the validation losses of
    the clean run (and of the noisy input itself), and the learning rates at the end."""
    nn, F = torch.nn, torch.nn.functional

    class Denoiser(nn.Module):
        def __init__(self, width: int = 8):
            super().__init__()
            self.down1 = nn.Sequential(nn.Conv2d(1, width, 3, padding=1, bias=False),
                                       nn.BatchNorm2d(width), nn.LeakyReLU(0.1))
            self.down2 = nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1,
                                                 bias=False),
                                       nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.1))
            self.bottom = nn.Sequential(nn.Conv2d(2 * width, 2 * width, 3, stride=2,
                                                  padding=1),
                                        nn.LeakyReLU(0.1))
            self.up1 = nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1)
            self.up2 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                     nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.1))
            self.out = nn.Sequential(nn.Conv2d(2 * width, 1, 1), nn.Sigmoid())

        def forward(self, x):
            skip = self.down1(x)
            h = self.up2(self.up1(self.bottom(self.down2(skip))))
            if h.shape[-2:] != skip.shape[-2:]:
                h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear",
                                  align_corners=False)
            return self.out(torch.cat([h, skip], dim=1))

    def init_weights(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu",
                                    a=0.1)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    clean = torch.from_numpy(images(192, seed))
    val_clean = torch.from_numpy(images(64, seed + 1))
    gen = torch.Generator().manual_seed(seed + 7)
    val_noisy = (val_clean + 0.4 * torch.randn(val_clean.shape, generator=gen)).clamp(0, 1)

    def build():
        model = Denoiser()
        model.apply(init_weights)
        nn.init.zeros_(model.out[0].weight)  # start from a flat grey output, not saturated
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=6)
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5,
                                                             patience=1, threshold=0.01)
        generator = torch.Generator().manual_seed(seed)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(clean),
                                             batch_size=32, shuffle=True, generator=generator)
        return model, opt, warm, plateau, generator, loader

    def run_epoch(epoch, model, opt, warm, loader):
        model.train()
        total = 0.0
        for target, in loader:
            noisy = (target + 0.4 * torch.randn_like(target)).clamp(0.0, 1.0)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = model(noisy)
            loss = F.mse_loss(out.float(), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if epoch == 0:
                warm.step()
            total += loss.item() * target.size(0)
        return total / len(loader.dataset)

    def note_dtypes(module, inputs, output):
        bn_dtypes.add((str(inputs[0].dtype).split(".")[-1], str(output.dtype).split(".")[-1]))

    def validate(model):
        model.eval()
        hooks = [m.register_forward_hook(note_dtypes) for m in model.modules()
                 if isinstance(m, nn.BatchNorm2d)]
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(val_noisy)
        for hook in hooks:
            hook.remove()
        dtypes.add(str(out.dtype).split(".")[-1])
        return F.mse_loss(out.float(), val_clean).item()

    def train(model, opt, warm, plateau, loader, first, last, losses, val_losses):
        for epoch in range(first, last):
            losses.append(run_epoch(epoch, model, opt, warm, loader))
            val_losses.append(validate(model))
            plateau.step(val_losses[-1])

    dtypes, bn_dtypes = set(), set()

    # The uninterrupted run.
    torch.manual_seed(seed)
    model, opt, warm, plateau, _, loader = build()
    losses, val_losses = [], []
    train(model, opt, warm, plateau, loader, 0, epochs, losses, val_losses)
    lr_end = opt.param_groups[0]["lr"]

    # The same run, stopped after ``resume_at`` epochs and resumed from a checkpoint file.
    torch.manual_seed(seed)
    model, opt, warm, plateau, generator, loader = build()
    first_losses, first_val = [], []
    train(model, opt, warm, plateau, loader, 0, resume_at, first_losses, first_val)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.pt")
        torch.save({"epoch": resume_at, "model": model.state_dict(),
                    "optimizer": opt.state_dict(), "warmup": warm.state_dict(),
                    "plateau": plateau.state_dict(), "rng_state": torch.get_rng_state(),
                    "loader_rng": generator.get_state()}, path)
        del model, opt, warm, plateau, generator, loader
        torch.manual_seed(seed + 100)  # a fresh process would start elsewhere
        model, opt, warm, plateau, generator, loader = build()
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    opt.load_state_dict(checkpoint["optimizer"])
    warm.load_state_dict(checkpoint["warmup"])
    plateau.load_state_dict(checkpoint["plateau"])
    torch.set_rng_state(checkpoint["rng_state"])
    generator.set_state(checkpoint["loader_rng"])
    resumed_losses, resumed_val = list(first_losses), list(first_val)
    train(model, opt, warm, plateau, loader, checkpoint["epoch"], epochs, resumed_losses,
          resumed_val)
    with torch.no_grad():
        noise_loss = F.mse_loss(val_noisy, val_clean).item()
    return {"initial_loss": losses[0], "final_loss": losses[-1], "losses": losses,
            "val_losses": val_losses, "resumed_losses": resumed_losses,
            "resumed_val_losses": resumed_val, "noise_loss": noise_loss, "lr_end": lr_end,
            "resumed_lr_end": opt.param_groups[0]["lr"],
            "num_bad_epochs": plateau.num_bad_epochs, "warmup_done": warm.last_epoch,
            "autocast_dtypes": sorted(dtypes), "bn_dtypes": sorted(bn_dtypes),
            "out_dtype": str(model(val_noisy[:2]).dtype).split(".")[-1]}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
