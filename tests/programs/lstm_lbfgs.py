"""Sine-wave sequence prediction with two stacked LSTM cells trained by L-BFGS, in the style
of PyTorch's time-sequence-prediction example: float64 throughout (``.double()``), data made
with NumPy and handed over with ``from_numpy``, the sequence walked step by step with
``split``, a closure that returns the loss, and predictions run past the input ("future").

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np


def make_waves(n: int = 24, length: int = 40, period: float = 20.0, seed: int = 2):
    """``n`` sine waves with random phase shifts, sampled every step: (n, length)."""
    rng = np.random.default_rng(seed)
    x = np.arange(length) + rng.integers(-4 * period, 4 * period, n).reshape(n, 1)
    return np.sin(x / period * 2 * np.pi)


def main(torch, steps: int = 4, hidden: int = 16, seed: int = 0) -> dict:
    """Fit the waves for ``steps`` L-BFGS steps; returns the training loss before and after, the
    test loss, and the shape of the predictions with 10 future steps."""
    nn = torch.nn
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = nn.LSTMCell(1, hidden)
            self.lstm2 = nn.LSTMCell(hidden, hidden)
            self.linear = nn.Linear(hidden, 1)

        def forward(self, input, future=0):
            outputs = []
            h_t = torch.zeros(input.size(0), hidden, dtype=torch.double, device=input.device)
            c_t = torch.zeros(input.size(0), hidden, dtype=torch.double, device=input.device)
            h_t2 = torch.zeros(input.size(0), hidden, dtype=torch.double, device=input.device)
            c_t2 = torch.zeros(input.size(0), hidden, dtype=torch.double, device=input.device)
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _ in range(future):  # feed the predictions back in
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            return torch.cat(outputs, dim=1)

    data = make_waves()
    input = torch.from_numpy(data[3:, :-1]).to(device)
    target = torch.from_numpy(data[3:, 1:]).to(device)
    test_input = torch.from_numpy(data[:3, :-1]).to(device)
    test_target = torch.from_numpy(data[:3, 1:]).to(device)

    seq = Sequence().double().to(device)
    criterion = nn.MSELoss()
    optimizer = torch.optim.LBFGS(seq.parameters(), lr=0.8, max_iter=10)

    with torch.no_grad():
        initial = criterion(seq(input), target).item()
    for _ in range(steps):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            loss.backward()
            return loss

        optimizer.step(closure)
    with torch.no_grad():
        final = criterion(seq(input), target).item()
        future = 10
        pred = seq(test_input, future=future)
        test_loss = criterion(pred[:, :-future], test_target).item()
    return {"initial_loss": initial, "final_loss": final, "test_loss": test_loss,
            "prediction_shape": tuple(pred.shape)}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), args.steps))
