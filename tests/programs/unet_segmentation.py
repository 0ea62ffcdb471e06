"""A tiny U-Net segmenter as the segmentation tutorials write it: ``DoubleConv`` blocks, max-pool
downsampling, one decoder stage upsampled by ``nn.ConvTranspose2d`` and one by
``F.interpolate(mode="bilinear")``, skip connections joined with ``torch.cat`` (padded with
``F.pad`` when the sizes differ), a 1x1 head under ``nn.utils.parametrizations.spectral_norm``
and a middle conv under ``parametrizations.weight_norm``; the loss ``BCEWithLogitsLoss`` with a
``pos_weight`` from the foreground share plus a soft Dice loss written by hand; Adam under
``ReduceLROnPlateau`` stepped on the validation IoU; IoU with ``logical_and``/``logical_or``.
The data: noisy 15x15 images holding a disc or a square, to be segmented from the background.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np


def _shapes(n: int, size: int, seed: int):
    """Images with one bright disc or square (radius 2..4) on a noisy background; the mask is
    the shape's pixels. Odd ``size`` so the decoder must pad its upsampled maps."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = np.empty((n, 1, size, size), np.float32)
    masks = np.empty((n, 1, size, size), np.float32)
    for i in range(n):
        r = rng.integers(2, 5)
        cy, cx = rng.integers(r, size - r, 2)
        if rng.random() < 0.5:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        else:
            mask = (abs(yy - cy) <= r - 1) & (abs(xx - cx) <= r - 1)
        masks[i, 0] = mask
        images[i, 0] = 0.8 * mask + rng.normal(0.0, 0.35, (size, size))
    return images, masks


def main(torch, epochs: int = 10, seed: int = 0) -> dict:
    """Train for ``epochs`` over 128 images; returns the loss curve's ends, validation IoU and
    Dice, the learning rates the plateau scheduler chose, and a few shape/norm checks."""
    nn, F = torch.nn, torch.nn.functional
    P = nn.utils.parametrizations
    torch.manual_seed(seed)
    x_np, y_np = _shapes(168, 15, seed)
    x_all, y_all = torch.from_numpy(x_np), torch.from_numpy(y_np)
    train_set = torch.utils.data.TensorDataset(x_all[:128], y_all[:128])
    x_val, y_val = x_all[128:], y_all[128:]
    loader = torch.utils.data.DataLoader(train_set, batch_size=32, shuffle=True)

    class DoubleConv(nn.Module):
        """(conv => BN => ReLU) * 2"""

        def __init__(self, in_channels, out_channels, mid_channels=None):
            super().__init__()
            mid_channels = mid_channels or out_channels
            self.double_conv = nn.Sequential(
                nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(mid_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            )

        def forward(self, x):
            return self.double_conv(x)

    class Up(nn.Module):
        def __init__(self, in_channels, out_channels, bilinear):
            super().__init__()
            self.bilinear = bilinear
            if bilinear:
                self.conv = DoubleConv(in_channels + in_channels // 2, out_channels)
            else:
                self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2,
                                             stride=2)
                self.conv = DoubleConv(in_channels, out_channels)

        def forward(self, x1, x2):
            if self.bilinear:
                x1 = F.interpolate(x1, scale_factor=2, mode="bilinear", align_corners=False)
            else:
                x1 = self.up(x1)
            diff_y = x2.size()[2] - x1.size()[2]
            diff_x = x2.size()[3] - x1.size()[3]
            x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
            return self.conv(torch.cat([x2, x1], dim=1))

    class UNet(nn.Module):
        def __init__(self, n_channels=1, n_classes=1, base=8):
            super().__init__()
            self.inc = DoubleConv(n_channels, base)
            self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base, base * 2))
            self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base * 2, base * 4))
            self.mid = P.weight_norm(nn.Conv2d(base * 4, base * 4, 3, padding=1))
            self.up1 = Up(base * 4, base * 2, bilinear=False)
            self.up2 = Up(base * 2, base, bilinear=True)
            self.outc = P.spectral_norm(nn.Conv2d(base, n_classes, kernel_size=1))

        def forward(self, x):
            x1 = self.inc(x)          # 15x15
            x2 = self.down1(x1)       # 7x7
            x3 = self.down2(x2)       # 3x3
            x3 = F.relu(self.mid(x3)) + x3
            x = self.up1(x3, x2)      # 6x6, padded to 7x7
            x = self.up2(x, x1)       # 14x14, padded to 15x15
            return self.outc(x)

    def dice_loss(logits, target, eps=1.0):
        probs = torch.sigmoid(logits)
        dims = (1, 2, 3)
        intersection = (probs * target).sum(dim=dims)
        cardinality = probs.sum(dim=dims) + target.sum(dim=dims)
        return (1.0 - (2.0 * intersection + eps) / (cardinality + eps)).mean()

    def iou(logits, target):
        pred = logits > 0
        truth = target.bool()
        inter = torch.logical_and(pred, truth).sum(dim=(1, 2, 3)).float()
        union = torch.logical_or(pred, truth).sum(dim=(1, 2, 3)).float()
        return (inter / union.clamp(min=1)).mean().item()

    model = UNet()
    foreground = y_all[:128].mean()
    pos_weight = ((1 - foreground) / foreground).sqrt().reshape(1)
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                           patience=1, threshold=0.01,
                                                           threshold_mode="abs")
    losses, val_losses, val_scores, lrs = [], [], [], []
    for _ in range(epochs):
        model.train()
        for images, true_masks in loader:
            masks_pred = model(images)
            loss = criterion(masks_pred, true_masks) + dice_loss(masks_pred, true_masks)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = (criterion(logits, y_val) + dice_loss(logits, y_val)).item()
            val_score = iou(logits, y_val)
        scheduler.step(val_score)  # as the U-Net repositories do: on the validation score
        val_losses.append(val_loss)
        val_scores.append(val_score)
        lrs.append(optimizer.param_groups[0]["lr"])

    model.eval()
    with torch.no_grad():
        logits = model(x_val)
        val_iou = iou(logits, y_val)
        val_dice = 1 - dice_loss(logits * 100, y_val, eps=0.0).item()  # near-hard Dice
        # the spectral-normed head: its weight's largest singular value is about 1
        head = model.outc.weight.reshape(1, -1)
        sigma = torch.linalg.matrix_norm(head, ord=2).item()
    return {
        "initial_loss": float(np.mean(losses[:3])),
        "final_loss": float(np.mean(losses[-6:])),
        "val_losses": val_losses,
        "val_iou": val_iou,
        "val_scores": val_scores,
        "val_dice": val_dice,
        "lrs": lrs,
        "sigma": sigma,
        "out_shape": tuple(logits.shape),
        "pos_weight": pos_weight.item(),
        "n_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "param_names": sorted(name for name, _ in model.named_parameters()
                              if "outc" in name or "mid" in name),
    }


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
