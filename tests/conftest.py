"""Test setup: the registry's spec modules, the device under test, markers."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import opinfo.specs  # noqa: E402,F401  (fills the registry)


def pytest_collection_modifyitems(config, items):
    from gpugrad.backend import cuda_available

    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device seen by CuPy")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
