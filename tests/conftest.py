"""Test setup: the registry's spec modules, the device under test, markers."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import opinfo.specs  # noqa: E402,F401  (fills the registry)


@pytest.fixture(autouse=True)
def _complex_net_closed_after_each_test():
    """A test that used complex numbers installed the complex net (ops/_complex.py) for the
    whole process: take it down again, so that later tests in the same worker call the ops
    themselves, as a program without complex numbers does."""
    yield
    import gpugrad
    from gpugrad import _dtype

    if _dtype._COMPLEX_GATE.hooks is None:
        gpugrad.ops._complex.uninstall(gpugrad)


def pytest_collection_modifyitems(config, items):
    from gpugrad.backend import cuda_available

    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device seen by CuPy")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
