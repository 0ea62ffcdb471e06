"""``gpugrad.compile`` with ``GPUGRAD_KERNELS=interpret`` (CPU tensors running the Triton kernels
under Triton's interpreter): a tiny compiled MLP step equals the eager step in that mode, bit for
bit, in a subprocess (the kernel mode is fixed when gpugrad is imported)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import warnings
warnings.simplefilter("error", UserWarning)  # a fallback warning fails the run
from gpugrad.backend import cpu_backend
assert type(cpu_backend()).__name__ == "InterpretBackend", type(cpu_backend())
from compiler._helpers import batches, compare_runs, setup, train_step_of
data = batches(6, (4, 6), 4, seed=70)
result = compare_runs(lambda: setup("mlp", "adam"), train_step_of, data)
assert result.fn.stats.fallbacks == [], result.fn.stats.fallbacks
print("ok", vars(result.fn.stats))
"""


@pytest.fixture(scope="module")
def interpreted_run():
    """The subprocess's stats line: it asserts equality with eager itself (exit status)."""
    pytest.importorskip("triton")
    env = dict(os.environ, GPUGRAD_KERNELS="interpret", GPUGRAD_DEVICE="cpu")
    done = subprocess.run([sys.executable, "-c", _SCRIPT.format(tests=TESTS)], env=env,
                          capture_output=True, text=True, timeout=300)
    return done


def test_compiled_mlp_step_under_the_interpreter_equals_eager(interpreted_run):
    done = interpreted_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.startswith("ok"), done.stdout


@pytest.mark.xfail(strict=True, reason="gpugrad.compile captures only on the NumPy backend: under "
                   "GPUGRAD_KERNELS=interpret every call runs eagerly, without a warning")
def test_compiled_mlp_step_under_the_interpreter_replays(interpreted_run):
    stats = ast.literal_eval(interpreted_run.stdout.split(" ", 1)[1])
    assert stats["replays"] > 0, stats
