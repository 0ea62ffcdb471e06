"""A time-series forecaster, in the style of the sequence-to-sequence forecasting tutorials: a
``GRU`` encoder reads histories of different lengths through
``pack_padded_sequence(..., enforce_sorted=False)``, a ``GRUCell`` decoder rolls the forecast
out step by step with teacher forcing whose ratio decays over the epochs (scheduled sampling);
``TensorDataset`` split by ``random_split`` with a seeded ``Generator``, ``DataLoader(shuffle=True,
drop_last=True)``, a per-sample loss weight from ``torch.where`` on two numbers, ``Adam`` with
``ReduceLROnPlateau``, early stopping on the validation loss,
and a checkpoint dict (model, optimizer, scheduler, epoch) written by ``torch.save`` into a
``BytesIO``, from which a fresh model, optimizer and scheduler resume training.

The task: continue noisy sine waves of random frequency, phase and amplitude for ``HORIZON``
steps. Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import io
import math

import numpy as np

HORIZON, MAX_HISTORY = 6, 24


def waves(n: int, seed: int) -> tuple:
    """Right-padded float32 histories ``(n, MAX_HISTORY, 1)``, their int64 lengths (8 to
    ``MAX_HISTORY``) and the next ``HORIZON`` values ``(n, HORIZON)``."""
    rng = np.random.default_rng(seed)
    history = np.zeros((n, MAX_HISTORY, 1), np.float32)
    future = np.zeros((n, HORIZON), np.float32)
    lengths = rng.integers(8, MAX_HISTORY + 1, n)
    for i, length in enumerate(lengths):
        freq, phase, amp = rng.uniform(0.2, 0.6), rng.uniform(0, 2 * math.pi), rng.uniform(0.5, 1.5)
        t = np.arange(length + HORIZON)
        series = amp * np.sin(freq * t + phase) + rng.normal(0, 0.05, t.size)
        history[i, :length, 0] = series[:length]
        future[i] = series[length:]
    return history, lengths, future


def main(torch, max_epochs: int = 12, patience: int = 4, seed: int = 0) -> dict:
    """Train (pausing after three epochs to checkpoint and resume) until the validation loss
    stops improving; returns the first and best validation losses, the free-running forecast
    error of the best checkpoint and what the resumed run read back."""
    nn = torch.nn
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    random_split = torch.utils.data.random_split
    pack_padded_sequence = nn.utils.rnn.pack_padded_sequence
    torch.manual_seed(seed)

    history, lengths, future = waves(512, seed=1)
    dataset = TensorDataset(torch.from_numpy(history), torch.from_numpy(lengths),
                            torch.from_numpy(future))
    train_set, val_set = random_split(dataset, [0.75, 0.25],
                                      generator=torch.Generator().manual_seed(seed))
    train = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True)
    val = DataLoader(val_set, batch_size=64)

    class Seq2Seq(nn.Module):
        def __init__(self, hidden: int = 32):
            super().__init__()
            self.encoder = nn.GRU(1, hidden, batch_first=True)
            self.decoder = nn.GRUCell(1, hidden)
            self.out = nn.Linear(hidden, 1)

        def forward(self, x, lengths, target=None, teacher_forcing: float = 0.0):
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, h_n = self.encoder(packed)
            h = h_n.squeeze(0)
            step = x[torch.arange(x.size(0)), lengths - 1]  # the last observed value, (B, 1)
            outputs = []
            for t in range(HORIZON):
                h = self.decoder(step, h)
                y = self.out(h)
                outputs.append(y)
                if target is not None and teacher_forcing > 0:
                    use_truth = torch.rand(x.size(0), 1) < teacher_forcing
                    step = torch.where(use_truth, target[:, t:t + 1], y.detach())
                else:
                    step = y
            return torch.cat(outputs, dim=1)

    def build():
        model = Seq2Seq()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min",
                                                               factor=0.5, patience=1)
        return model, optimizer, scheduler

    def evaluate(model):
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for x, n, y in val:
                total += nn.functional.mse_loss(model(x, n), y, reduction="sum").item()
                count += y.numel()
        model.train()
        return total / count

    def checkpoint(model, optimizer, scheduler, epoch, best):
        buffer = io.BytesIO()
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch, "best": best}, buffer)
        return buffer.getvalue()

    model, optimizer, scheduler = build()
    val_losses = [evaluate(model)]
    best, best_state, bad_epochs, resumed = math.inf, None, 0, None
    epoch = 0
    while epoch < max_epochs:
        teacher_forcing = max(0.0, 1.0 - epoch / 4)  # scheduled sampling: linear decay
        for x, n, y in train:
            optimizer.zero_grad(set_to_none=True)
            # short histories are harder to continue: their errors count double
            weight = torch.where(n < 12, 2.0, 1.0).unsqueeze(1)
            loss = (weight * (model(x, n, y, teacher_forcing) - y) ** 2).mean()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
        epoch += 1
        val_loss = evaluate(model)
        val_losses.append(val_loss)
        scheduler.step(val_loss)
        if val_loss < best - 1e-4:
            best, bad_epochs = val_loss, 0
            best_state = checkpoint(model, optimizer, scheduler, epoch, best)
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
        if epoch == 3:  # as if the job were interrupted: resume from the last checkpoint
            state = torch.load(io.BytesIO(checkpoint(model, optimizer, scheduler, epoch, best)),
                               weights_only=False)
            model, optimizer, scheduler = build()
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            epoch = state["epoch"]
            resumed = {"epoch": epoch, "resumed_loss": evaluate(model),
                       "state_steps": int(optimizer.state_dict()["state"][0]["step"])}

    final = build()[0]
    final.load_state_dict(torch.load(io.BytesIO(best_state))["model"])
    return {"initial_loss": val_losses[0], "final_loss": best, "best_reloaded": evaluate(final),
            "epochs": epoch, "lr": optimizer.param_groups[0]["lr"], "steps_per_epoch": len(train),
            "split": (len(train_set), len(val_set)), **resumed,
            "val_after_resume": val_losses[3],
            "loss_dtype": str(loss.dtype).split(".")[-1]}
