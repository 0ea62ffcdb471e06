"""An autoregressive PixelCNN on tiny 4-level images (8 x 8 synthetic shapes drawn with NumPy),
in the style of public PixelCNN code.

Idioms: a ``MaskedConv2d(nn.Conv2d)`` subclass that builds its mask in ``__init__`` with
``self.register_buffer('mask', self.weight.data.clone())``, ``self.mask.fill_(1)`` and two
slice assignments (``self.mask[:, :, kH // 2, kW // 2 + (mask_type == 'B'):] = 0``,
``self.mask[:, :, kH // 2 + 1:] = 0``) and in ``forward`` multiplies ``self.weight.data *=
self.mask`` in place before ``super().forward(x)`` (or, in a subclass, masks inside the graph
by ``self._conv_forward(x, self.weight * self.mask, self.bias)``); a stack of mask-A then
mask-B convolutions with ``nn.BatchNorm2d``/``nn.ReLU`` and a final 1x1 ``nn.Conv2d`` to ``K``
logits per pixel; a gated variant with a vertical and a horizontal stack (rectangular kernels
on ``F.pad``-ed inputs, a down shift of the vertical stack, the current column removed by
zeroing ``weight.data[:, :, :, -1]`` in the first layer, ``torch.chunk(x, 2, dim=1)`` and
``torch.tanh(a) * torch.sigmoid(b)`` gates, a residual 1x1 conv on the horizontal stack); the
loss ``F.cross_entropy`` on 4-D logits ``(N, K, H, W)`` against ``(N, H, W)`` long targets
(uint8 images from ``torch.from_numpy`` made ``.long()``), and the same with
``reduction='none'`` summed by ``.sum(dim=(1, 2)).mean()`` and reported in bits per dim with
``math.log(2)``; training by ``Adam`` with ``nn.utils.clip_grad_norm_`` and
``torch.optim.lr_scheduler.StepLR`` over a ``DataLoader``; sampling pixel by pixel under
``model.eval()`` and ``torch.no_grad()`` with ``F.softmax(logits[:, :, i, j], dim=1)`` and
``torch.multinomial(probs, 1, generator=g)`` (a seeded ``torch.Generator``) written into
``sample[:, :, i, j]``; a check that the receptive field is causal (``torch.autograd.grad`` of
output pixel (i, j) w.r.t. an input that requires grad is zero at and after (i, j) in raster
order); and ``torch.save``/``torch.load`` of the state dict through ``io.BytesIO`` into a fresh
model, the mask buffers restored.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import io
import math

import numpy as np

SIZE = 8
LEVELS = 4


def make_shapes(n: int, size: int = SIZE, levels: int = LEVELS, seed: int = 0) -> np.ndarray:
    """``n`` images (n, size, size) of uint8 levels in [0, levels): on a blank background, a
    filled rectangle, a hollow rectangle or a horizontal bar, each at a random place and in one
    random non-zero level."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size), dtype=np.uint8)
    for img in images:
        kind = rng.integers(3)
        level = rng.integers(1, levels)
        h, w = rng.integers(3, size - 1, size=2)
        top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        if kind == 0:
            img[top:top + h, left:left + w] = level
        elif kind == 1:
            img[top:top + h, left:left + w] = level
            img[top + 1:top + h - 1, left + 1:left + w - 1] = 0
        else:
            img[top, :] = level
    return images


def build(torch, kind: str = "masked", channels: int = 16, n_layers: int = 3,
          levels: int = LEVELS):
    """A PixelCNN (``kind='masked'``), the same with the mask applied inside the graph
    (``kind='masked_in_graph'``) or a gated PixelCNN (``kind='gated'``) mapping a
    (N, 1, H, W) float image in [0, 1] to (N, levels, H, W) logits."""
    nn = torch.nn
    F = torch.nn.functional

    class MaskedConv2d(nn.Conv2d):
        """A convolution whose kernel sees only the pixels above and to the left of the
        centre ('A'), or those and the centre too ('B')."""

        def __init__(self, mask_type, *args, **kwargs):
            super().__init__(*args, **kwargs)
            assert mask_type in ("A", "B")
            self.register_buffer('mask', self.weight.data.clone())
            _, _, kH, kW = self.weight.size()
            self.mask.fill_(1)
            self.mask[:, :, kH // 2, kW // 2 + (mask_type == 'B'):] = 0
            self.mask[:, :, kH // 2 + 1:] = 0

        def forward(self, x):
            self.weight.data *= self.mask
            return super().forward(x)

    class GraphMaskedConv2d(MaskedConv2d):
        """The same mask multiplied into the kernel inside the graph, so the masked taps get
        no gradient (``nn.Conv2d._conv_forward`` with the masked weight)."""

        def forward(self, x):
            return self._conv_forward(x, self.weight * self.mask, self.bias)

    class PixelCNN(nn.Module):
        def __init__(self):
            super().__init__()
            conv = GraphMaskedConv2d if kind == "masked_in_graph" else MaskedConv2d
            layers = [conv('A', 1, channels, 5, 1, 2, bias=False),
                      nn.BatchNorm2d(channels), nn.ReLU(True)]
            for _ in range(n_layers - 1):
                layers += [conv('B', channels, channels, 3, 1, 1, bias=False),
                           nn.BatchNorm2d(channels), nn.ReLU(True)]
            layers.append(nn.Conv2d(channels, levels, 1))
            self.net = nn.Sequential(*layers)

        def forward(self, x):
            return self.net(x)

    class GatedLayer(nn.Module):
        """One gated layer: the vertical stack sees every column of the rows up to the current
        one; shifted down a row it feeds the horizontal stack, which sees the current row up to
        (layer 'A': before) the current column."""

        def __init__(self, mask_type, c_in, dim, k=3):
            super().__init__()
            self.mask_type, self.k = mask_type, k
            self.v_conv = nn.Conv2d(c_in, 2 * dim, (k // 2 + 1, k))
            self.v_to_h = nn.Conv2d(2 * dim, 2 * dim, 1)
            self.h_conv = nn.Conv2d(c_in, 2 * dim, (1, k // 2 + 1))
            self.h_out = nn.Conv2d(dim, dim, 1)

        @staticmethod
        def gate(x):
            a, b = torch.chunk(x, 2, dim=1)
            return torch.tanh(a) * torch.sigmoid(b)

        def forward(self, x_v, x_h):
            if self.mask_type == 'A':
                self.h_conv.weight.data[:, :, :, -1] = 0
            p = self.k // 2
            v = self.v_conv(F.pad(x_v, (p, p, p, 0)))
            v_down = F.pad(v, (0, 0, 1, 0))[:, :, :-1, :]
            h = self.h_conv(F.pad(x_h, (p, 0, 0, 0)))
            out_h = self.h_out(self.gate(h + self.v_to_h(v_down)))
            if self.mask_type == 'B':
                out_h = out_h + x_h
            return self.gate(v), out_h

    class GatedPixelCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(
                [GatedLayer('A', 1, channels, k=5)]
                + [GatedLayer('B', channels, channels) for _ in range(n_layers - 1)])
            self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, 32, 1), nn.ReLU(),
                                      nn.Conv2d(32, levels, 1))

        def forward(self, x):
            x_v, x_h = x, x
            for layer in self.layers:
                x_v, x_h = layer(x_v, x_h)
            return self.head(x_h)

    return GatedPixelCNN() if kind == "gated" else PixelCNN()


def to_input(levels_tensor, levels: int = LEVELS):
    """(N, H, W) or (N, 1, H, W) integer levels to a (N, 1, H, W) float image in [0, 1]."""
    x = levels_tensor.float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x / (levels - 1)


def nll(torch, model, target):
    """Mean per-pixel cross-entropy (nats) of the model on (N, H, W) long targets (the
    levels themselves, as ``.long()`` makes them of the stored uint8 images)."""
    logits = model(to_input(target))
    return torch.nn.functional.cross_entropy(logits, target)


def bits_per_dim(torch, logits, target):
    """Summed per-image negative log-likelihood, averaged over the batch, in bits per pixel."""
    F = torch.nn.functional
    per_pixel = F.cross_entropy(logits, target, reduction='none')
    nll_image = per_pixel.sum(dim=(1, 2)).mean()
    return nll_image / (target.shape[1] * target.shape[2] * math.log(2))


def causal_leaks(torch, model, i: int, j: int, seed: int = 0):
    """The gradient of output pixel (i, j)'s logits w.r.t. a random input: the number of input
    pixels at or after (i, j) in raster order with a non-zero gradient (must be 0), and the
    number before it with one (the pixels the model does see)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 1, SIZE, SIZE, generator=g).requires_grad_(True)
    out = model(x)
    grad = torch.autograd.grad(out[0, :, i, j].sum(), x)[0]
    seen = (grad[0, 0] != 0).flatten().cpu().numpy()
    position = i * SIZE + j
    return int(seen[position:].sum()), int(seen[:position].sum())


def sample(torch, model, n: int, seed: int = 0, levels: int = LEVELS):
    """``n`` images drawn pixel by pixel in raster order, as (n, 1, H, W) float levels."""
    F = torch.nn.functional
    device = next(model.parameters()).device
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    sample = torch.zeros(n, 1, SIZE, SIZE, device=device)
    model.eval()
    with torch.no_grad():
        for i in range(SIZE):
            for j in range(SIZE):
                logits = model(sample / (levels - 1))
                probs = F.softmax(logits[:, :, i, j], dim=1)
                sample[:, :, i, j] = torch.multinomial(probs, 1, generator=g).float()
    return sample


def main(torch, kind: str = "masked", epochs: int = 6, seed: int = 0) -> dict:
    """Train on 256 shapes; returns the loss history's ends, the held-out bits per dim, the
    causality check, sample statistics and the save/load round trip."""
    nn = torch.nn
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    images = make_shapes(320, seed=seed)
    train = torch.utils.data.TensorDataset(torch.from_numpy(images[:256]))
    loader = torch.utils.data.DataLoader(train, batch_size=32, shuffle=True)
    test = torch.from_numpy(images[256:]).to(device).long()

    model = build(torch, kind).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

    history, norms = [], []
    for _ in range(epochs):
        model.train()
        for (batch,) in loader:
            batch = batch.to(device).long()
            optimizer.zero_grad()
            loss = nll(torch, model, batch)
            loss.backward()
            norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)))
            optimizer.step()
            history.append(loss.item())
        scheduler.step()

    model.eval()
    with torch.no_grad():
        logits = model(to_input(test))
        test_bpd = bits_per_dim(torch, logits, test).item()
        test_nll = nn.functional.cross_entropy(logits, test).item()

    leaks = [causal_leaks(torch, model, i, j) for i, j in ((0, 0), (3, 4), (7, 7))]

    drawn = sample(torch, model, 16, seed=seed)
    again = sample(torch, model, 16, seed=seed)
    drawn_np = drawn.cpu().numpy()

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer)
    torch.manual_seed(seed + 1)
    fresh = build(torch, kind).to(device)
    for name, buf in fresh.named_buffers():
        if name.endswith("mask"):
            buf.zero_()
    fresh.load_state_dict(state)
    fresh.eval()
    with torch.no_grad():
        restored_logits = fresh(to_input(test))
    masks = {name: buf.cpu().numpy() for name, buf in model.named_buffers()
             if name.endswith("mask")}
    restored_masks = {name: buf.cpu().numpy() for name, buf in fresh.named_buffers()
                      if name.endswith("mask")}

    return {
        "initial_loss": history[0], "final_loss": float(np.mean(history[-8:])),
        "steps": len(history), "lr_end": optimizer.param_groups[0]["lr"],
        "max_norm": max(norms), "test_bpd": test_bpd, "test_nll": test_nll,
        "logits_shape": tuple(logits.shape), "leaks": leaks,
        "sample_shape": tuple(drawn.shape), "sample_levels": sorted(set(drawn_np.ravel())),
        "sample_background": float((drawn_np == 0).mean()),
        "data_background": float((images == 0).mean()),
        "sample_reproducible": bool(torch.equal(drawn, again)),
        "state_keys": list(state), "masks_restored": sorted(restored_masks) == sorted(masks)
        and all(np.array_equal(masks[k], restored_masks[k]) for k in masks),
        "restored_max_diff": float((restored_logits - logits).abs().max()),
    }


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--kind", default="masked", choices=("masked", "gated"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), args.kind))
