"""Kernel tests: each launcher against its NumPy twin (and PyTorch where it is the reference).

Without a GPU the kernels run under Triton's interpreter on NumPy arrays; on a GPU (kernels
compiled) the same tests run on CuPy arrays. Sizes are small and odd: the interpreter is slow.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # kernel_helpers

pytest.importorskip("gpugrad.kernels")  # decides interpreted or compiled before triton loads
pytest.importorskip("triton")

from gpugrad.backend.numpy_backend import NumpyBackend  # noqa: E402


@pytest.fixture(scope="session")
def twin():
    return NumpyBackend()
