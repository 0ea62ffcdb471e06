"""An N-BEATS-style forecaster on a synthetic series (trend plus two seasonalities plus noise,
made with NumPy), written the way the public PyTorch time-series code writes it.

Idioms: sliding windows as a view by ``Tensor.unfold(0, size, step)`` on a 1-D series and by
``unfold(1, size, step)`` on a 2-D (channels, time) series, then ``.permute(1, 0, 2)`` and
``.contiguous().view(-1, size)`` (channel independence); validation windows by
``torch.stack([series[i:i + n] for i in ...])``; a custom ``Dataset`` over the windows whose
``__getitem__`` returns ``(x, y)`` and a ``DataLoader(..., shuffle=True, drop_last=True,
num_workers=0, collate_fn=None)``; blocks of ``nn.Linear`` layers producing ``theta``; a
polynomial trend basis ``torch.stack([t ** i for i in range(p)])`` with
``t = torch.arange(H) / H`` (forecast) and ``torch.linspace(0, 1, L)`` (backcast), a Fourier
seasonality basis of ``torch.cos(2 * math.pi * i * t)`` and ``torch.sin(...)`` joined by
``torch.cat``, registered as buffers; ``theta @ T`` and ``torch.einsum('bp,pt->bt', theta, S)``;
doubly residual stacking (``x = x - backcast; forecast = forecast + block_forecast``); an
``nn.ModuleList`` in which one block object is appended several times (weights shared across a
stack); sMAPE and MASE written by hand with ``torch.abs``,
``torch.where(denominator == 0, ...)`` and ``nan_to_num``; scaling either by the window's last
value or by instance normalisation (``x.mean(dim=1, keepdim=True)`` / ``std``, RevIN-like with
a learnable affine); ``optim.Adam`` with ``lr_scheduler.OneCycleLR`` or ``CosineAnnealingLR``
(stepped per batch), ``nn.utils.clip_grad_norm_``, early stopping on the validation sMAPE with
``copy.deepcopy(model.state_dict())`` and ``load_state_dict``; and a multi-step
autoregressive rollout under ``torch.inference_mode()`` by
``torch.cat([x[:, 1:], y_hat[:, :1]], dim=1)``.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import copy
import math

import numpy as np

LOOKBACK, HORIZON = 24, 6
PERIOD = 12  # the main seasonality, also MASE's seasonal lag


def make_series(length: int = 360, channels: int = 2, seed: int = 0) -> np.ndarray:
    """``(channels, length)`` float32: a positive level, a gentle trend, a yearly-like and a
    shorter seasonality and a little noise; each channel its own phase and amplitudes."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    out = np.empty((channels, length), np.float32)
    for c in range(channels):
        level, slope = rng.uniform(8, 12), rng.uniform(0.005, 0.02)
        a1, a2 = rng.uniform(1.0, 2.0), rng.uniform(0.2, 0.6)
        phase = rng.uniform(0, 2 * math.pi)
        out[c] = (level + slope * t + a1 * np.sin(2 * math.pi * t / PERIOD + phase)
                  + a2 * np.cos(2 * math.pi * t / 4) + rng.normal(0, 0.1, length))
    return out


def build_dataset(torch):
    Dataset = torch.utils.data.Dataset

    class WindowDataset(Dataset):
        """All windows of ``LOOKBACK + HORIZON`` steps of a (channels, time) series, ``step``
        apart, made as one strided view and copied once into a (windows, size) tensor."""

        def __init__(self, series, lookback=LOOKBACK, horizon=HORIZON, step=1):
            size = lookback + horizon
            windows = series.unfold(1, size, step)  # (channels, n_windows, size), a view
            self.windows = windows.permute(1, 0, 2).contiguous().view(-1, size)
            self.lookback = lookback

        def __len__(self):
            return self.windows.size(0)

        def __getitem__(self, idx):
            w = self.windows[idx]
            return w[:self.lookback], w[self.lookback:]

    return WindowDataset


def stacked_windows(torch, series, lookback=LOOKBACK, horizon=HORIZON, step=HORIZON):
    """Validation windows the other common way: ``torch.stack`` of slices of a 1-D series."""
    n = lookback + horizon
    windows = torch.stack([series[i:i + n] for i in range(0, series.shape[0] - n + 1, step)])
    return windows[:, :lookback], windows[:, lookback:]


def build_model(torch, hidden: int = 32, degree: int = 3, harmonics: int = 4,
                share: bool = True, norm: str = "revin"):
    nn = torch.nn

    class TrendBasis(nn.Module):
        def __init__(self):
            super().__init__()
            t_f = torch.arange(HORIZON) / HORIZON
            t_b = torch.linspace(0, 1, LOOKBACK)
            self.register_buffer("T_f", torch.stack([t_f ** i for i in range(degree)]))
            self.register_buffer("T_b", torch.stack([t_b ** i for i in range(degree)]))
            self.theta_dim = degree

        def forward(self, theta_b, theta_f):
            return theta_b @ self.T_b, theta_f @ self.T_f

    class SeasonalityBasis(nn.Module):
        def __init__(self):
            super().__init__()
            t_b = torch.arange(LOOKBACK, dtype=torch.float32) / PERIOD
            t_f = torch.arange(LOOKBACK, LOOKBACK + HORIZON, dtype=torch.float32) / PERIOD
            self.register_buffer("S_b", self._fourier(t_b))
            self.register_buffer("S_f", self._fourier(t_f))
            self.theta_dim = 2 * harmonics

        @staticmethod
        def _fourier(t):
            cos = torch.stack([torch.cos(2 * math.pi * i * t) for i in range(harmonics)])
            sin = torch.stack([torch.sin(2 * math.pi * (i + 1) * t) for i in range(harmonics)])
            return torch.cat([cos, sin], dim=0)  # (2 * harmonics, len(t))

        def forward(self, theta_b, theta_f):
            return (torch.einsum("bp,pt->bt", theta_b, self.S_b),
                    torch.einsum("bp,pt->bt", theta_f, self.S_f))

    class GenericBasis(nn.Module):
        def __init__(self):
            super().__init__()
            self.theta_dim = hidden // 2
            self.back = nn.Linear(self.theta_dim, LOOKBACK)
            self.fore = nn.Linear(self.theta_dim, HORIZON)

        def forward(self, theta_b, theta_f):
            return self.back(theta_b), self.fore(theta_f)

    class NBeatsBlock(nn.Module):
        def __init__(self, basis):
            super().__init__()
            self.fc = nn.Sequential(nn.Linear(LOOKBACK, hidden), nn.ReLU(),
                                    nn.Linear(hidden, hidden), nn.ReLU())
            self.basis = basis
            self.theta_b_fc = nn.Linear(hidden, basis.theta_dim, bias=False)
            self.theta_f_fc = nn.Linear(hidden, basis.theta_dim, bias=False)

        def forward(self, x):
            h = self.fc(x)
            return self.basis(self.theta_b_fc(h), self.theta_f_fc(h))

    class RevIN(nn.Module):
        """Instance normalisation of each window, undone on the forecast."""

        def __init__(self, eps: float = 1e-5):
            super().__init__()
            self.eps = eps
            self.affine_weight = nn.Parameter(torch.ones(1))
            self.affine_bias = nn.Parameter(torch.zeros(1))

        def normalize(self, x):
            self.mean = x.mean(dim=1, keepdim=True).detach()
            self.stdev = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False)
                                    + self.eps).detach()
            return (x - self.mean) / self.stdev * self.affine_weight + self.affine_bias

        def denormalize(self, y):
            y = (y - self.affine_bias) / (self.affine_weight + self.eps * self.eps)
            return y * self.stdev + self.mean

    class NBeats(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = norm
            self.blocks = nn.ModuleList()
            # interpretable stacks: one block object per stack, repeated (shared weights)
            for basis_cls, repeats in ((TrendBasis, 2), (SeasonalityBasis, 2)):
                block = NBeatsBlock(basis_cls())
                for _ in range(repeats):
                    self.blocks.append(block if share else copy.deepcopy(block))
            self.blocks.append(NBeatsBlock(GenericBasis()))
            if norm == "revin":
                self.revin = RevIN()

        def forward(self, x):
            if self.norm == "revin":
                x = self.revin.normalize(x)
            elif self.norm == "last":
                scale = x[:, -1:].clone()
                x = x / scale
            residuals = x
            forecast = x[:, -1:]  # the level: the blocks forecast the change from it
            for block in self.blocks:
                backcast, block_forecast = block(residuals)
                residuals = residuals - backcast
                forecast = forecast + block_forecast
            if self.norm == "revin":
                forecast = self.revin.denormalize(forecast)
            elif self.norm == "last":
                forecast = forecast * scale
            return forecast

    return NBeats()


def smape_loss(torch, forecast, target):
    """Symmetric MAPE in percent; a zero denominator counts as no error."""
    denominator = torch.abs(forecast) + torch.abs(target)
    ratio = torch.abs(forecast - target) / torch.where(
        denominator == 0, torch.ones_like(denominator), denominator)
    ratio = torch.nan_to_num(ratio, nan=0.0, posinf=0.0)
    return 200.0 * ratio.mean()


def mase_loss(torch, insample, forecast, target, m: int = PERIOD):
    """Mean absolute scaled error against the seasonal naive forecast of each window."""
    scale = torch.abs(insample[:, m:] - insample[:, :-m]).mean(dim=1)
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    errors = torch.abs(forecast - target).mean(dim=1) / scale
    return torch.nan_to_num(errors, nan=0.0, posinf=0.0, neginf=0.0).mean()


def rollout(torch, model, x, steps: int):
    """``steps`` one-step forecasts, each fed back in place of the oldest input."""
    outputs = []
    with torch.inference_mode():
        for _ in range(steps):
            y_hat = model(x)
            outputs.append(y_hat[:, :1])
            x = torch.cat([x[:, 1:], y_hat[:, :1]], dim=1)
    return torch.cat(outputs, dim=1)


def main(torch, max_epochs: int = 8, patience: int = 3, seed: int = 0, sched: str = "onecycle",
         norm: str = "revin", batch_size: int = 32) -> dict:
    nn = torch.nn
    DataLoader = torch.utils.data.DataLoader
    torch.manual_seed(seed)

    raw = torch.from_numpy(make_series(seed=seed))
    split = 270
    train_set = build_dataset(torch)(raw[:, :split], step=2)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=True,
                        num_workers=0, collate_fn=None)
    val_x, val_y = zip(*(stacked_windows(torch, raw[c, split - LOOKBACK:])
                         for c in range(raw.shape[0])))
    val_x, val_y = torch.cat(val_x), torch.cat(val_y)

    model = build_model(torch, norm=norm)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    if sched == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=1e-2, total_steps=max_epochs * len(loader), pct_start=0.3)
    else:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max_epochs * len(loader), eta_min=1e-4)

    def evaluate(m):
        m.eval()
        with torch.no_grad():
            forecast = m(val_x)
            result = (smape_loss(torch, forecast, val_y).item(),
                      mase_loss(torch, val_x, forecast, val_y).item())
        m.train()
        return result

    naive = smape_loss(torch, val_x[:, -1:].expand_as(val_y), val_y).item()
    initial_smape, _ = evaluate(model)
    best, best_state, best_epoch, bad_epochs = math.inf, None, 0, 0
    history, grad_norms = [], []
    for epoch in range(max_epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = smape_loss(torch, model(x), y)
            loss.backward()
            grad_norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
            optimizer.step()
            scheduler.step()
        val_smape, val_mase = evaluate(model)
        history.append(val_smape)
        if val_smape < best:
            best, best_epoch, bad_epochs = val_smape, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    model.load_state_dict(best_state)
    reloaded, reloaded_mase = evaluate(model)

    model.eval()
    steps = HORIZON
    roll = rollout(torch, model, val_x, steps)
    roll_smape = smape_loss(torch, roll, val_y[:, :steps]).item()
    return {"initial_smape": initial_smape, "final_smape": best, "reloaded_smape": reloaded,
            "mase": reloaded_mase, "naive_smape": naive, "rollout_smape": roll_smape,
            "best_epoch": best_epoch, "epochs": len(history), "history": history,
            "batches": len(loader), "train_windows": len(train_set),
            "val_windows": int(val_x.shape[0]), "grad_norms_finite": bool(
                np.all(np.isfinite(grad_norms))),
            "rollout_requires_grad": roll.requires_grad,
            "rollout_is_inference": roll.is_inference(),
            "lr": optimizer.param_groups[0]["lr"]}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--sched", default="onecycle", choices=("onecycle", "cosine"))
    parser.add_argument("--norm", default="revin", choices=("revin", "last", "none"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), sched=args.sched, norm=args.norm))
