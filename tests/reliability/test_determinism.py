"""Determinism: the same seed gives bit-identical parameters after a training run that draws
random numbers everywhere (initialization, data, minibatch sampling, Dropout masks), on the
NumPy backend, under ``GPUGRAD_KERNELS=interpret`` and on CUDA where present.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import gpugrad
from gpugrad import nn


def train(seed: int, device=None, steps: int = 30, width: int = 32) -> list[np.ndarray]:
    """A short run of an MLP with Dropout and Adam on random data; the final parameters."""
    gpugrad.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, width), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(width, width), nn.Tanh(), nn.Dropout(0.2),
                          nn.Linear(width, 3)).to(device)
    opt = gpugrad.optim.Adam(model.parameters(), lr=1e-2)
    data = gpugrad.randn(64, 6, device=device)
    labels = gpugrad.randint(0, 3, (64,), device=device)
    for _ in range(steps):
        batch = gpugrad.randint(0, 64, (16,), device=device)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(data[batch]), labels[batch])
        loss.backward()
        opt.step()
    return [p.detach().cpu().numpy().copy() for p in model.parameters()]


def _assert_identical(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_same_seed_same_parameters_twice_in_one_process():
    first = train(1234)
    gpugrad.manual_seed(99)  # unrelated draws in between must not matter
    gpugrad.randn(1000)
    _assert_identical(first, train(1234))


def test_another_seed_gives_other_parameters():
    a, b = train(1234), train(1235)
    assert not all(np.array_equal(x, y) for x, y in zip(a, b))


_SUBPROCESS = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("determinism", {path!r})
mod = importlib.util.module_from_spec(spec)
sys.modules["determinism"] = mod
spec.loader.exec_module(mod)
from gpugrad.backend import cpu_backend
assert type(cpu_backend()).__name__ == "InterpretBackend", type(cpu_backend())
runs = [mod.train(7, steps=4, width=8) for _ in range(2)]
np.savez({out!r}, *runs[0], *runs[1])
"""


def test_same_seed_same_parameters_under_the_interpreter(tmp_path):
    """Twice in a subprocess with every kernel interpreted: bit-identical, and within float32
    rounding of the NumPy backend's run (the backends share the random stream)."""
    pytest.importorskip("triton")
    out = tmp_path / "params.npz"
    code = _SUBPROCESS.format(path=__file__, out=str(out))
    env = dict(os.environ, GPUGRAD_KERNELS="interpret")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    saved = np.load(out)
    arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    half = len(arrays) // 2
    _assert_identical(arrays[:half], arrays[half:])
    for interpreted, twin in zip(arrays[:half], train(7, steps=4, width=8)):
        np.testing.assert_allclose(interpreted, twin, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
def test_same_seed_same_parameters_on_cuda():
    first = train(1234, device="cuda")
    _assert_identical(first, train(1234, device="cuda"))
