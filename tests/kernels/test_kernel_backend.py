"""The kernels behind a backend: GPUGRAD_KERNELS=interpret end to end, and every kernel compiling
for a real GPU architecture (sm_90) on this CPU-only machine."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from gpugrad.kernels import MODE

HERE = os.path.dirname(__file__)


def _run(script, env_extra, *args, timeout=600):
    env = dict(os.environ, **env_extra)
    result = subprocess.run([sys.executable, os.path.join(HERE, script), *args], env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_interpret_backend_end_to_end_matches_torch():
    # CPU tensors (on a GPU machine the default device would be CUDA)
    out = _run("interpret_e2e.py", {"GPUGRAD_KERNELS": "interpret", "GPUGRAD_DEVICE": "cpu"})
    assert out.startswith("ok"), out


def test_every_kernel_compiles_for_sm90():
    """Compiling catches what the interpreter lets through (types, constexpr rules, layouts)."""
    if MODE == "compiled":
        pytest.skip("a GPU is visible: the kernels compile and run for real in these tests")
    out = _run("aot_driver.py", {"GPUGRAD_TRITON_AOT": "90", "TRITON_DEFAULT_FP_FUSION": "1"},
               "--ptx")
    assert "first elementwise kernel has 16-byte loads: True" in out, out
    assert int(out.strip().splitlines()[-1].split()[1]) > 100, out


def test_interpret_backend_in_process():
    """An InterpretBackend built directly (no environment variable) runs ops on its tensors."""
    if MODE != "interpret":
        return  # kernels compiled here (a GPU is visible): the CUDA tests cover them
    from gpugrad import Tensor
    from gpugrad.backend.interpret_backend import InterpretBackend

    backend = InterpretBackend()
    x = Tensor._make(np.linspace(-2, 2, 12).reshape(3, 4), backend)
    x.requires_grad_()
    y = (x.exp() * x).sum()
    y.backward()
    expected = np.exp(x.detach().numpy()) * (1 + x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    assert x.grad._backend is backend


# The registry's checks that run on the interpreted kernels: float32 (contiguous and strided) and
# bfloat16, which reach every launcher from the ops. float64 is left to the NumPy twins here: the
# kernels' float64 arithmetic is checked against the twins in tests/kernels' own files, and a
# third pass of the registry cost a minute of CI.
REGISTRY_CHECKS = "values_and_grads and not float64"

# The same checks in parts of a few dozen seconds each, so that a parallel run (pytest -n) spreads
# them: each part narrows REGISTRY_CHECKS by a test file and a keyword or its negation, so
# together the parts select exactly what REGISTRY_CHECKS selects in both files.
REGISTRY_PARTS = {
    "float32-contiguous": ("test_opinfo.py", "float32 and contiguous"),
    "float32-strided": ("test_opinfo.py", "float32 and not contiguous"),
    "bfloat16": ("test_bfloat16.py", None),
}


@pytest.mark.parametrize("part", REGISTRY_PARTS)
def test_op_registry_through_the_interpreted_kernels(part):
    """The whole op registry (values and gradients against PyTorch, in float32 and bfloat16)
    with CPU tensors running the Triton kernels under the interpreter instead of the
    NumPy twins."""
    test_file, narrowing = REGISTRY_PARTS[part]
    checks = REGISTRY_CHECKS if narrowing is None else f"({REGISTRY_CHECKS}) and ({narrowing})"
    env = dict(os.environ, GPUGRAD_KERNELS="interpret")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         os.path.join(HERE, "..", test_file), "-k", checks],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout.splitlines()[-1]
