"""``gpugrad.compile`` with ``GPUGRAD_KERNELS=interpret`` (CPU tensors running the Triton kernels
under Triton's interpreter): a tiny compiled MLP step equals the eager step in that mode, bit for
bit, in a subprocess (the kernel mode is fixed when gpugrad is imported)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from gpugrad.backend import cpu_backend
assert type(cpu_backend()).__name__ == "InterpretBackend", type(cpu_backend())
from compiler._helpers import batches, compare_runs, setup, train_step_of
data = batches(6, (4, 6), 4, seed=70)
result = compare_runs(lambda: setup("mlp", "adam", dropout=0.2), train_step_of, data)
assert result.fn.stats.replays > 0, vars(result.fn.stats)
assert result.fn.stats.fallbacks == [], result.fn.stats.fallbacks
print("ok", vars(result.fn.stats))
"""


def test_compiled_mlp_step_under_the_interpreter():
    pytest.importorskip("triton")
    env = dict(os.environ, GPUGRAD_KERNELS="interpret", GPUGRAD_DEVICE="cpu")
    done = subprocess.run([sys.executable, "-c", _SCRIPT.format(tests=TESTS)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.startswith("ok"), done.stdout
