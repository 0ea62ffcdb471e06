"""PyTorch's submodules of torch.distributions importable from gpugrad.distributions: each
name of the submodule's ``__all__`` there, the same object as the package-level name here."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import pytest
import torch.distributions as td

import gpugrad.distributions as gd
from gpugrad.distributions._submodules import ALIASES

TORCH_SUBMODULES = sorted(m.name for m in pkgutil.iter_modules(td.__path__))


def test_torch_has_submodules():
    assert {"normal", "studentT", "transforms", "utils"} <= set(TORCH_SUBMODULES)


@pytest.mark.parametrize("name", TORCH_SUBMODULES)
def test_submodule_imports(name):
    torch_module = importlib.import_module(f"torch.distributions.{name}")
    module = importlib.import_module(f"gpugrad.distributions.{name}")
    assert sys.modules[f"gpugrad.distributions.{name}"] is module
    assert getattr(gd, name) is module
    names = torch_module.__all__
    for attr in names:
        obj = getattr(module, attr)
        # a package-level object in PyTorch: the same object here
        if getattr(td, attr, None) is getattr(torch_module, attr):
            assert obj is getattr(gd, attr), (name, attr)
    # a real file here may hold more (categorical.py holds Bernoulli too); an alias module
    # holds exactly PyTorch's names
    assert set(names) <= set(module.__all__)
    if name in ALIASES:
        assert module.__all__ == list(names)


def test_from_imports():
    import gpugrad.distributions.bernoulli
    from gpugrad.distributions.normal import Normal
    from gpugrad.distributions.one_hot_categorical import OneHotCategoricalStraightThrough
    from gpugrad.distributions.relaxed_bernoulli import LogitRelaxedBernoulli

    from gpugrad.distributions.utils import logits_to_probs
    assert Normal is gd.Normal
    assert OneHotCategoricalStraightThrough is gd.OneHotCategoricalStraightThrough
    assert LogitRelaxedBernoulli.__name__ == "LogitRelaxedBernoulli"
    assert logits_to_probs is gd.utils.logits_to_probs
    assert gpugrad.distributions.bernoulli.Bernoulli is gd.Bernoulli
    assert gd.studentT.__all__ == ["StudentT"]
    assert "Normal" in gd.normal.__doc__
