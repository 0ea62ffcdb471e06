"""dtypes, aliases and PyTorch's type promotion."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import gpugrad

DTYPES = ["float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64",
          "bool"]


def test_aliases():
    assert gpugrad.float is gpugrad.float32 and gpugrad.double is gpugrad.float64
    assert gpugrad.half is gpugrad.float16 and gpugrad.long is gpugrad.int64
    assert gpugrad.int is gpugrad.int32 and repr(gpugrad.float32) == "gpugrad.float32"


def _make(m, name, zero_dim):
    shape = () if zero_dim else (2,)
    return m.ones(shape, dtype=getattr(m, name))


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)))
@pytest.mark.parametrize("zero_dim", [(False, False), (True, False), (False, True)])
def test_tensor_tensor_promotion_matches_torch(a, b, zero_dim):
    g = _make(gpugrad, a, zero_dim[0]) + _make(gpugrad, b, zero_dim[1])
    t = _make(torch, a, zero_dim[0]) + _make(torch, b, zero_dim[1])
    assert g.dtype.name == str(t.dtype).removeprefix("torch.")


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("scalar", [True, 2, 2.5])
def test_tensor_scalar_promotion_matches_torch(a, scalar):
    g = _make(gpugrad, a, False) * scalar
    t = _make(torch, a, False) * scalar
    assert g.dtype.name == str(t.dtype).removeprefix("torch.")


@pytest.mark.parametrize("a", ["int32", "int64", "bool", "float16", "bfloat16"])
def test_true_division_of_integers_gives_default_float(a):
    g = _make(gpugrad, a, False) / _make(gpugrad, a, False)
    t = _make(torch, a, False) / _make(torch, a, False)
    assert g.dtype.name == str(t.dtype).removeprefix("torch.")


def test_default_dtype_switch():
    try:
        gpugrad.set_default_dtype(gpugrad.float64)
        assert gpugrad.tensor([1.0]).dtype == gpugrad.float64
        assert (gpugrad.tensor([1]) * 0.5).dtype == gpugrad.float64
    finally:
        gpugrad.set_default_dtype(gpugrad.float32)
    with pytest.raises(TypeError):
        gpugrad.set_default_dtype(gpugrad.int64)


def test_float16_reductions_accumulate_in_float32():
    x = gpugrad.full((4096,), 1.0, dtype=gpugrad.float16) * 0.1
    s = x.sum()
    assert s.dtype == gpugrad.float16
    assert abs(s.item() - float(np.float32(np.float16(0.1)) * 4096)) < 1.0
