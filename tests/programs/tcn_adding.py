"""A temporal convolutional network on the adding problem, in the style of the public TCN code
for sequence modelling: a ``Chomp1d`` module trims the right padding off a causal
``Conv1d(padding=(k-1)*dilation, dilation=dilation)`` with ``x[:, :, :-chomp].contiguous()``;
each ``TemporalBlock`` stacks two weight-normalised convolutions with ``ReLU`` and ``Dropout``
(rate 0, as the adding-problem settings use), adds a residual (through a 1x1 ``downsample``
convolution where the channel counts differ) and draws initial weights in ``init_weights()``
through ``.data.normal_(0, 0.01)``; the blocks, dilated ``2 ** i``, go into an
``nn.Sequential(*blocks)`` and a ``Linear`` reads the last time step ``y[:, :, -1]``. Training:
mini-batches from a ``randperm`` each epoch, ``F.mse_loss``, ``Adam``, ``clip_grad_norm_``, a
learning-rate scheduler, ``model.train()`` / ``model.eval()`` and evaluation under
``torch.no_grad()``.

Two variants of the weight normalisation. ``"hook"`` is the old, deprecated
``torch.nn.utils.weight_norm`` (it warns; parameters ``weight_g`` and ``weight_v`` and a forward
pre-hook) with ``StepLR``: ``init_weights`` writes to ``conv.weight.data`` as the public code
does, a draw the hook overwrites before the first forward, so the convolutions keep their
default initialisation. ``"parametrizations"`` is ``torch.nn.utils.parametrizations.weight_norm``
(``parametrizations.weight.original0`` and ``original1``) with ``ReduceLROnPlateau``:
``init_weights`` asks ``parametrize.is_parametrized`` and leaves those convolutions alone, which
is what the public code's initialisation amounts to.

The task: each sequence has two channels, values uniform in [0, 1] and a marker that is 1 at two
positions (one in each half); the target is the sum of the two marked values. Always guessing 1
scores a mean squared error of 1/6; the network stays near that for a few hundred steps before
it finds the marked values. Written once against the module ``torch`` passed to ``main``:
``gpugrad`` or PyTorch.
"""
from __future__ import annotations

import numpy as np

VARIANTS = ("hook", "parametrizations")
LENGTH = 50


def adding_problem(n: int, length: int = LENGTH, seed: int = 0) -> tuple:
    """Float32 inputs ``(n, 2, length)`` and targets ``(n, 1)``."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 2, length), np.float32)
    x[:, 0] = rng.uniform(0, 1, (n, length))
    first = rng.integers(0, length // 2, n)
    second = rng.integers(length // 2, length, n)
    rows = np.arange(n)
    x[rows, 1, first] = 1.0
    x[rows, 1, second] = 1.0
    y = (x[rows, 0, first] + x[rows, 0, second]).astype(np.float32)[:, None]
    return x, y


def build(torch, variant: str, input_size: int = 2, output_size: int = 1,
          num_channels=(16, 16, 16), kernel_size: int = 5, dropout: float = 0.0):
    """The TCN (its modules made from ``torch``), weight-normalised the ``variant`` way."""
    nn = torch.nn
    parametrize = torch.nn.utils.parametrize
    if variant == "hook":
        weight_norm = torch.nn.utils.weight_norm
    else:
        weight_norm = torch.nn.utils.parametrizations.weight_norm

    class Chomp1d(nn.Module):
        """Drops the last ``size`` time steps: the right padding of a causal convolution."""

        def __init__(self, size):
            super().__init__()
            self.size = size

        def forward(self, x):
            return x[:, :, :-self.size].contiguous()

    def causal_conv(c_in, c_out, dilation):
        pad = (kernel_size - 1) * dilation
        conv = weight_norm(nn.Conv1d(c_in, c_out, kernel_size, padding=pad, dilation=dilation))
        return [conv, Chomp1d(pad), nn.ReLU(), nn.Dropout(dropout)]

    class TemporalBlock(nn.Module):
        """Two causal dilated convolutions and a residual connection."""

        def __init__(self, c_in, c_out, dilation):
            super().__init__()
            first, second = causal_conv(c_in, c_out, dilation), causal_conv(c_out, c_out, dilation)
            self.conv1, self.conv2 = first[0], second[0]
            self.net = nn.Sequential(*first, *second)
            self.downsample = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None
            self.relu = nn.ReLU()
            self.init_weights()

        def init_weights(self):
            convs = [self.conv1, self.conv2] + ([self.downsample] if self.downsample else [])
            for conv in convs:
                if not parametrize.is_parametrized(conv):
                    conv.weight.data.normal_(0, 0.01)

        def forward(self, x):
            skip = x if self.downsample is None else self.downsample(x)
            return self.relu(self.net(x) + skip)

    class TemporalConvNet(nn.Module):
        def __init__(self, c_in, channels):
            super().__init__()
            blocks = [TemporalBlock(channels[i - 1] if i else c_in, c, dilation=2 ** i)
                      for i, c in enumerate(channels)]
            self.network = nn.Sequential(*blocks)

        def forward(self, x):
            return self.network(x)

    class TCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.tcn = TemporalConvNet(input_size, list(num_channels))
            self.linear = nn.Linear(num_channels[-1], output_size)
            self.linear.weight.data.normal_(0, 0.01)

        def forward(self, x):
            features = self.tcn(x)
            return self.linear(features[:, :, -1])  # the last time step sees the whole input

    return TCN()


def main(torch, variant: str = "hook", epochs: int = 15, batch_size: int = 32,
         lr: float = 5e-3, clip: float = 1.0, seed: int = 0) -> dict:
    """Train for ``epochs`` passes over 1024 sequences; returns the first and last training
    losses (the mean of the first and of the last ten batches) and the test MSE on 256
    held-out sequences before and after training."""
    F = torch.nn.functional
    torch.manual_seed(seed)

    x_train, y_train = adding_problem(1024, seed=1)
    x_test, y_test = adding_problem(256, seed=2)
    X_train, Y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    X_test, Y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)

    model = build(torch, variant)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if variant == "hook":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    else:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5,
                                                               patience=4)

    def evaluate():
        model.eval()
        with torch.no_grad():
            output = model(X_test)
            test_loss = F.mse_loss(output, Y_test)
        return test_loss.item()

    initial_test = evaluate()
    losses, curve = [], []
    for _ in range(epochs):
        model.train()
        permutation = torch.randperm(X_train.size(0))
        for i in range(0, X_train.size(0), batch_size):
            index = permutation[i:i + batch_size]
            x, y = X_train[index], Y_train[index]
            optimizer.zero_grad()
            output = model(x)
            loss = F.mse_loss(output, y)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())
        test_loss = evaluate()
        curve.append(test_loss)
        if variant == "hook":
            scheduler.step()
        else:
            scheduler.step(test_loss)

    return {"initial_loss": float(np.mean(losses[:10])), "final_loss": float(np.mean(losses[-10:])),
            "initial_test": initial_test, "test_loss": test_loss, "curve": curve,
            "lr": optimizer.param_groups[0]["lr"], "steps": len(losses),
            "n_params": sum(p.numel() for p in model.parameters()),
            "output_dtype": str(output.dtype).split(".")[-1]}
