"""A small one-dimensional neural operator in the Fourier style: it learns the map from an
initial profile ``u0(x)`` on a periodic grid of 64 points to the state ``u(x, T)`` of a
linear advection-diffusion equation ``u_t + c u_x = nu u_xx`` a time ``T`` later, passed
through a mild pointwise nonlinearity (``tanh``), so that the model has more to learn than one
spectral multiplier.

The data: ``u0`` is a random sum of the first four Fourier modes (amplitudes falling as
``1/m``, drawn by NumPy's generator from ``seed``, so every library sees the same profiles).
The target is computed with the library itself: ``torch.fft.rfft`` of ``u0``, each mode times
``exp((-nu k^2 - i c k) T)`` with the angular wavenumbers ``k = 2 pi torch.fft.rfftfreq(n,
d=1/n)``, ``torch.fft.irfft`` back, then ``torch.tanh``. ``evolve_numpy`` is the same in NumPy,
for the tests.

The model: the profile and the grid coordinate, stacked as two channels per point, lifted by
an ``nn.Linear`` to ``width`` channels; then ``depth`` Fourier blocks, each the sum of a
spectral convolution and a pointwise ``nn.Conv1d(width, width, 1)``, followed by GELU (except
after the last); then two ``nn.Linear`` layers with a GELU between them down to one value per
point. The spectral convolution keeps a complex weight ``(in, out, modes)`` as an
``nn.Parameter``; it takes ``torch.fft.rfft`` of its (batch, channels, n) input, mixes the
channels of the lowest ``modes`` frequencies with ``torch.einsum`` into a zero spectrum
(``torch.zeros(..., dtype=complex)`` and a slice assignment) and goes back with
``torch.fft.irfft(..., n=n)``.

Training: ``torch.optim.Adam`` over every parameter, the complex weights included, with
``StepLR``; the loss is the mean relative L2 error ``|pred - y| / |y|`` per sample, written
by hand with ``torch.norm``; minibatches come from a ``DataLoader`` over a ``TensorDataset``
(shuffled unless ``shuffle=False``, which the same-start comparison uses).

``dtype="float64"`` builds every parameter (``complex128`` for the spectral weights) and the
data in double precision.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

GRID = 64  # points on the periodic interval [0, 1)
SPEED, VISCOSITY, HORIZON = 1.0, 2e-3, 0.3  # c, nu and T of the equation
COMPLEX = {"float32": "complex64", "float64": "complex128"}


def initial_profiles(rng, count: int, grid: int = GRID, modes: int = 4):
    """``count`` random smooth periodic profiles (count, grid) in float64: a constant and the
    first ``modes`` sines and cosines with normal coefficients scaled by ``1 / m``."""
    x = np.arange(grid) / grid
    u = 0.3 * rng.standard_normal((count, 1))
    for m in range(1, modes + 1):
        a, b = rng.standard_normal((2, count, 1)) / m
        u = u + a * np.cos(2 * np.pi * m * x) + b * np.sin(2 * np.pi * m * x)
    return u


def evolve(torch, u0, time: float = HORIZON, speed: float = SPEED,
           viscosity: float = VISCOSITY):
    """The advection-diffusion solution after ``time`` from the profiles ``u0`` (..., n) on
    [0, 1), exactly, mode by mode: ``u_hat(k) exp((-nu k^2 - i c k) t)``."""
    n = u0.size(-1)
    k = 2 * math.pi * torch.fft.rfftfreq(n, d=1.0 / n, dtype=u0.dtype)
    propagator = torch.exp((-viscosity * k ** 2 - 1j * speed * k) * time)
    return torch.fft.irfft(torch.fft.rfft(u0) * propagator, n=n)


def evolve_numpy(u0, time: float = HORIZON, speed: float = SPEED,
                 viscosity: float = VISCOSITY):
    """``evolve`` in NumPy (float64), written from the other end: the profile's Fourier series
    is shifted by ``c t`` and damped by ``exp(-nu k^2 t)``."""
    n = u0.shape[-1]
    coefficients = np.fft.fft(u0, axis=-1)
    k = 2 * np.pi * np.fft.fftfreq(n) * n
    return np.fft.ifft(coefficients * np.exp(-viscosity * k ** 2 * time)
                       * np.exp(-1j * k * speed * time), axis=-1).real


def target_of(torch, u0):
    """What the operator should learn: the evolved profile through ``tanh``."""
    return torch.tanh(evolve(torch, u0))


def make_data(torch, count: int, seed: int, dtype: str = "float32"):
    """``count`` pairs: the initial profiles and their targets, (count, GRID) tensors."""
    real = getattr(torch, dtype)
    u0 = torch.from_numpy(initial_profiles(np.random.default_rng(seed), count)).to(real)
    return u0, target_of(torch, u0)


def build(torch):
    """The model classes for ``torch``: returns ``(SpectralMixer, FourierOperator)``."""
    nn = torch.nn
    F = torch.nn.functional

    class SpectralMixer(nn.Module):
        """A convolution applied in frequency space: the lowest ``modes`` rfft coefficients
        of every input channel are mixed into the output channels by a complex weight, one
        (in, out) matrix per frequency; the higher frequencies are dropped."""

        def __init__(self, in_ch: int, out_ch: int, modes: int, dtype=None):
            super().__init__()
            self.modes = modes
            scale = 1.0 / (in_ch * out_ch)
            self.weight = nn.Parameter(
                scale * torch.rand(in_ch, out_ch, modes, dtype=dtype or torch.cfloat))

        def forward(self, x):
            batch, n = x.shape[0], x.size(-1)
            spectrum = torch.fft.rfft(x)
            mixed = torch.zeros(batch, self.weight.shape[1], n // 2 + 1,
                                dtype=spectrum.dtype, device=x.device)
            mixed[:, :, :self.modes] = torch.einsum(
                "bix,iox->box", spectrum[:, :, :self.modes], self.weight)
            return torch.fft.irfft(mixed, n=n)

    class FourierOperator(nn.Module):
        """(batch, n) profiles to (batch, n) predictions: lift (profile, x) to ``width``
        channels, ``depth`` Fourier blocks, project back pointwise."""

        def __init__(self, width: int = 16, modes: int = 12, depth: int = 3,
                     dtype: str = "float32"):
            super().__init__()
            real, cplx = getattr(torch, dtype), getattr(torch, COMPLEX[dtype])
            self.lift = nn.Linear(2, width, dtype=real)
            self.spectral = nn.ModuleList(
                [SpectralMixer(width, width, modes, dtype=cplx) for _ in range(depth)])
            self.pointwise = nn.ModuleList(
                [nn.Conv1d(width, width, 1, dtype=real) for _ in range(depth)])
            self.hidden = nn.Linear(width, 4 * width, dtype=real)
            self.out = nn.Linear(4 * width, 1, dtype=real)

        def forward(self, u0):
            n = u0.size(-1)
            coords = torch.linspace(0, 1, n + 1, dtype=u0.dtype, device=u0.device)[:-1]
            h = torch.stack([u0, coords.expand_as(u0)], dim=-1)  # (batch, n, 2)
            h = self.lift(h).permute(0, 2, 1)  # (batch, width, n)
            last = len(self.spectral) - 1
            for i, (spectral, pointwise) in enumerate(zip(self.spectral, self.pointwise)):
                h = spectral(h) + pointwise(h)
                if i < last:
                    h = F.gelu(h)
            h = F.gelu(self.hidden(h.permute(0, 2, 1)))
            return self.out(h).squeeze(-1)

    return SpectralMixer, FourierOperator


def relative_l2(torch, pred, y):
    """The mean over samples of ``|pred - y| / |y|`` along the grid."""
    return (torch.norm(pred - y, dim=-1) / torch.norm(y, dim=-1)).mean()


def make_model(torch, dtype: str = "float32", initial_state=None, width: int = 16,
               modes: int = 12, depth: int = 3):
    """A fresh model in ``dtype`` (its spectral weights in the matching complex dtype), with
    ``initial_state`` (a state_dict) loaded if given."""
    _, FourierOperator = build(torch)
    model = FourierOperator(width, modes, depth, dtype)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    return model


def main(torch, epochs: int = 10, seed: int = 0, initial_state=None, dtype: str = "float32",
         train_size: int = 200, test_size: int = 100, batch: int = 20, lr: float = 5e-3,
         step_size: int = 4, gamma: float = 0.5, shuffle: bool = True,
         max_steps: int | None = None) -> dict:
    """Train for ``epochs`` epochs of Adam (or until ``max_steps`` steps), the learning rate
    halved every ``step_size`` epochs; returns the relative L2 test error before and after,
    every step's loss, the mean loss of the first and of the last epoch, whether every
    parameter got a gradient, the trained weights (NumPy, by name) and the dtypes seen."""
    torch.manual_seed(seed)
    from_data = torch.utils.data
    model = make_model(torch, dtype, initial_state)
    train_x, train_y = make_data(torch, train_size, seed, dtype)
    test_x, test_y = make_data(torch, test_size, seed + 1000, dtype)
    loader = from_data.DataLoader(from_data.TensorDataset(train_x, train_y),
                                  batch_size=batch, shuffle=shuffle)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)

    def test_error():
        model.eval()
        with torch.no_grad():
            error = relative_l2(torch, model(test_x), test_y).item()
        model.train()
        return error

    initial_error = test_error()
    losses, epoch_losses = [], []
    model.train()
    for _ in range(epochs):
        total = 0.0
        for x, y in loader:
            pred = model(x)
            loss = relative_l2(torch, pred, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            total += loss.item() * x.shape[0]
            if max_steps is not None and len(losses) >= max_steps:
                break
        scheduler.step()
        epoch_losses.append(total / train_size)
        if max_steps is not None and len(losses) >= max_steps:
            break
    grads_set = all(p.grad is not None and bool((p.grad != 0).any())
                    for p in model.parameters())
    return {
        "initial_error": initial_error,
        "error": test_error(),
        "initial_loss": epoch_losses[0],
        "final_loss": epoch_losses[-1],
        "losses": losses,
        "grads_set": grads_set,
        "weights": {name: p.detach().numpy().copy() for name, p in model.named_parameters()},
        "dtypes": sorted({str(p.dtype).split(".")[-1] for p in model.parameters()}
                         | {str(pred.dtype).split(".")[-1]}),
        "lr": optimizer.param_groups[0]["lr"],
    }


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args()
    start = time.perf_counter()
    result = main(importlib.import_module(args.lib), epochs=args.epochs, dtype=args.dtype)
    for key in ("losses", "weights"):
        result.pop(key)
    print(result, f"{time.perf_counter() - start:.1f}s")
