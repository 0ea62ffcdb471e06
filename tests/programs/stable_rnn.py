"""A small recurrent network kept stable by a penalty on the eigenvalues of its recurrent
matrix, as in echo-state-network and stable-RNN code: the loss adds
``sum(relu(|lambda| - margin))`` over the eigenvalues of ``W`` (``torch.linalg.eigvals``), so
that the spectral radius ``torch.linalg.eigvals(W).abs().max()`` is pushed under the
threshold (``THRESHOLD`` = 0.95) while the network learns its task. Both quantities are free of
the eigenvalues' order, which LAPACK does not promise to keep from one library to another.

The task: a damped oscillation ``A exp(-d t) sin(w t + phi)`` (frequency, decay, phase and
amplitude random) is seen through additive noise, one sample per step; at every step the
network predicts the next clean sample. The batches come from NumPy's generator (seeded by
``seed``), so every library sees the same sequences.

The network: plain ``nn.Parameter`` matrices (input ``w_in``, recurrent ``w_rec``, bias,
readout) and a hand-written loop ``h = tanh(x_t w_in^T + h w_rec^T + b)``. ``w_rec`` starts
with spectral radius about ``gain`` = 1.3, above the threshold, so the penalty has work to do.
Training uses ``Adam``, ``torch.nn.utils.clip_grad_norm_`` (its returned norm is recorded)
and a ``CosineAnnealingLR`` schedule.

After training the run reports, from ``torch.linalg.eig``, the magnitudes of the eigenvector
of the slowest mode (the one of largest modulus; its conjugate has the same magnitudes) sorted
from the largest, and its inverse participation ratio ``sum |v|^4`` (1 for a mode living on one
unit, ``1/H`` for one spread evenly).

``dtype="float64"`` runs everything in double precision. Written once against the module
``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

HIDDEN, LENGTH = 24, 40
THRESHOLD = 0.95  # the spectral radius the trained network must stay under
MARGIN = 0.9  # eigenvalue moduli above this are penalised


def make_batch(rng, batch: int, length: int = LENGTH, noise: float = 0.15):
    """Noisy damped oscillations (batch, length) and the next clean sample at every step
    (batch, length), float64."""
    omega = rng.uniform(0.2, 0.7, (batch, 1))  # radians per step
    decay = rng.uniform(0.0, 0.04, (batch, 1))  # per step
    phase = rng.uniform(0, 2 * np.pi, (batch, 1))
    amplitude = rng.uniform(0.5, 1.5, (batch, 1))
    t = np.arange(length + 1)[None, :]
    clean = amplitude * np.exp(-decay * t) * np.sin(omega * t + phase)
    observed = clean[:, :-1] + noise * rng.standard_normal((batch, length))
    return observed, clean[:, 1:]


def build(torch):
    """The model class for ``torch``: returns ``StableRNN``."""
    nn = torch.nn

    class StableRNN(nn.Module):
        """(batch, length) inputs to (batch, length) predictions through a tanh recurrence
        with ``hidden`` units."""

        def __init__(self, hidden: int = HIDDEN, gain: float = 1.3, dtype=None):
            super().__init__()
            self.w_in = nn.Parameter(torch.randn(hidden, 1, dtype=dtype))
            self.w_rec = nn.Parameter(gain / math.sqrt(hidden)
                                      * torch.randn(hidden, hidden, dtype=dtype))
            self.bias = nn.Parameter(torch.zeros(hidden, dtype=dtype))
            self.w_out = nn.Parameter(torch.randn(hidden, dtype=dtype) / math.sqrt(hidden))
            self.b_out = nn.Parameter(torch.zeros((), dtype=dtype))

        def forward(self, x):
            h = x.new_zeros(x.shape[0], self.w_rec.shape[0])
            outputs = []
            for t in range(x.shape[1]):
                h = torch.tanh(x[:, t:t + 1] @ self.w_in.T + h @ self.w_rec.T + self.bias)
                outputs.append(h @ self.w_out + self.b_out)
            return torch.stack(outputs, dim=1)

        def spectral_radius(self):
            return torch.linalg.eigvals(self.w_rec).abs().max()

        def stability_penalty(self, margin: float = MARGIN):
            return torch.relu(torch.linalg.eigvals(self.w_rec).abs() - margin).sum()

    return StableRNN


def slowest_mode(torch, w):
    """The eigenvector magnitudes (sorted, largest first) of the eigenvalue of ``w`` with the
    largest modulus, and their inverse participation ratio."""
    values, vectors = torch.linalg.eig(w)
    magnitudes = vectors[:, values.abs().argmax()].abs()
    return magnitudes.sort(descending=True).values, (magnitudes ** 4).sum()


def make_model(torch, dtype: str = "float32", initial_state=None, gain: float = 1.3):
    """A fresh network in ``dtype``, with ``initial_state`` (a state_dict) loaded if given."""
    model = build(torch)(gain=gain, dtype=getattr(torch, dtype))
    if initial_state is not None:
        model.load_state_dict(initial_state)
    return model


def main(torch, steps: int = 150, seed: int = 0, initial_state=None, dtype: str = "float32",
         batch: int = 32, lr: float = 1e-2, penalty_weight: float = 1.0,
         max_norm: float = 1.0) -> dict:
    """Train for ``steps`` Adam steps on the MSE plus ``penalty_weight`` times the stability
    penalty, gradients clipped to ``max_norm``; returns per step the loss, the MSE, the
    spectral radius and the gradient norm before clipping, the test MSE before and after (and
    of the persistence forecast ``x_t``, for scale), the final spectral radius and eigenvalues
    (NumPy), the slowest mode's eigenvector magnitudes, the trained weights and whether every
    parameter got a gradient."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    real = getattr(torch, dtype)
    model = make_model(torch, dtype, initial_state)
    params = list(model.parameters())
    optimizer = torch.optim.Adam(params, lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    test_x, test_y = (torch.from_numpy(a).to(real)
                      for a in make_batch(np.random.default_rng(seed + 1000), 256))

    def test_mse():
        with torch.no_grad():
            return float(torch.nn.functional.mse_loss(model(test_x), test_y))

    initial_mse = test_mse()
    losses, mses, radii, norms = [], [], [], []
    for _ in range(steps):
        x, y = (torch.from_numpy(a).to(real) for a in make_batch(rng, batch))
        mse = torch.nn.functional.mse_loss(model(x), y)
        penalty = model.stability_penalty()
        loss = mse + penalty_weight * penalty
        optimizer.zero_grad()
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, max_norm)))
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        mses.append(mse.item())
        with torch.no_grad():
            radii.append(model.spectral_radius().item())
    grads_set = all(p.grad is not None and bool((p.grad != 0).any()) for p in params)
    with torch.no_grad():
        eigenvalues = torch.linalg.eigvals(model.w_rec).numpy()
        magnitudes, participation = slowest_mode(torch, model.w_rec)
    return {
        "initial_loss": sum(mses[:5]) / 5,
        "final_loss": sum(mses[-5:]) / 5,
        "losses": losses,
        "mses": mses,
        "radii": radii,
        "norms": norms,
        "initial_mse": initial_mse,
        "mse": test_mse(),
        "persistence_mse": float(((test_x - test_y) ** 2).mean()),
        "radius": radii[-1],
        "eigenvalues": eigenvalues,
        "mode_magnitudes": magnitudes.numpy(),
        "participation": participation.item(),
        "weights": {n: p.detach().numpy().copy() for n, p in model.named_parameters()},
        "grads_set": grads_set,
    }


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args()
    start = time.perf_counter()
    result = main(importlib.import_module(args.lib), steps=args.steps, seed=args.seed,
                  dtype=args.dtype)
    for key in ("losses", "mses", "radii", "norms", "weights", "eigenvalues",
                "mode_magnitudes"):
        result.pop(key)
    print(result, f"{time.perf_counter() - start:.1f}s")
