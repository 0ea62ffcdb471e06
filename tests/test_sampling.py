"""Random factories (``rand``, ``randn``, ``randint``, ``randperm``, ``*_like``) against torch:
signatures, dtypes, shapes, errors, and ``generator=``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import gpugrad

FACTORIES = [
    ("rand", lambda m, g: m.rand(2, 3, generator=g)),
    ("randn", lambda m, g: m.randn((4,), generator=g, dtype=m.float64)),
    ("randint", lambda m, g: m.randint(3, 9, (5,), generator=g)),
    ("randint_high", lambda m, g: m.randint(9, (2, 2), generator=g, dtype=m.int32)),
    ("randperm", lambda m, g: m.randperm(6, generator=g)),
    ("rand_like", lambda m, g: m.rand_like(m.zeros(2, dtype=m.float64), generator=g)),
    ("randn_like", lambda m, g: m.randn_like(m.zeros(3), generator=g)),
    ("randint_like", lambda m, g: m.randint_like(m.zeros(3), 4, generator=g)),
    ("randint_like_low", lambda m, g: m.randint_like(m.zeros(3, dtype=m.int64), 2, 4,
                                                     generator=g)),
]


@pytest.mark.parametrize("name,make", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_factories_take_a_generator_and_match_torch_shapes_and_dtypes(name, make):
    ours = make(gpugrad, gpugrad.Generator().manual_seed(7))
    again = make(gpugrad, gpugrad.Generator().manual_seed(7))
    theirs = make(torch, torch.Generator().manual_seed(7))
    assert ours.tolist() == again.tolist()
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
    other = make(gpugrad, gpugrad.Generator().manual_seed(8))
    assert ours.numel() < 3 or ours.tolist() != other.tolist()


def test_value_ranges():
    g = gpugrad.Generator().manual_seed(0)
    u = gpugrad.rand(10000, generator=g)
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.02
    n = gpugrad.randn(10000, generator=g)
    assert abs(n.mean().item()) < 0.05 and abs(n.std().item() - 1) < 0.05
    assert set(gpugrad.randint(3, 6, (500,), generator=g).tolist()) == {3, 4, 5}
    assert sorted(gpugrad.randperm(9, generator=g).tolist()) == list(range(9))
    assert gpugrad.rand(2, requires_grad=True).requires_grad


@pytest.mark.parametrize("make,exc,match", [
    (lambda m: m.rand(2, dtype=m.int64), NotImplementedError,
     '"check_uniform_bounds" not implemented for \'Long\''),
    (lambda m: m.randn(2, dtype=m.int64), NotImplementedError,
     '"normal_kernel_cpu" not implemented for \'Long\''),
    (lambda m: m.randint(5, 2, (2,)), RuntimeError, "random_ expects 'from' to be less than"),
])
def test_bad_arguments_raise_like_torch(make, exc, match):
    for m in (gpugrad, torch):
        with pytest.raises(exc, match=match):
            make(m)


_RANDINT_CALLS = {
    "float-high": lambda m: m.randint(5.5, (3,)),
    "whole-float-high": lambda m: m.randint(5.0, (3,)),
    "bool-high": lambda m: m.randint(True, (3,)), "str-high": lambda m: m.randint("5", (3,)),
    "float-tensor-high": lambda m: m.randint(m.tensor(5.0), (3,)),
    "float-high-of-two": lambda m: m.randint(0, 5.5, (3,)),
    "float-low": lambda m: m.randint(1.5, 5, (3,)),
    "inf-high": lambda m: m.randint(0, math.inf, (3,)),
    "int-size": lambda m: m.randint(0, 5, 3), "int-size-of-one": lambda m: m.randint(0, 5),
    "no-size": lambda m: m.randint(5),
    "empty-range": lambda m: m.randint(5, 5, (3,)), "zero-high": lambda m: m.randint(0, (3,)),
    "past-int64": lambda m: m.randint(0, 2 ** 63, (3,)),
    "uint8-high": lambda m: m.randint(0, 300, (3,), dtype=m.uint8),
    "uint8-low": lambda m: m.randint(-1, 5, (3,), dtype=m.uint8),
    "int8-low": lambda m: m.randint(-200, 5, (3,), dtype=m.int8),
    "int32-high": lambda m: m.randint(0, 2 ** 31 + 1, (3,), dtype=m.int32),
    "bool-range": lambda m: m.randint(0, 3, (3,), dtype=m.bool),
    "bool-low": lambda m: m.randint(-1, 1, (3,), dtype=m.bool),
    "like-float": lambda m: m.randint_like(m.ones(3), 5.5),
    "like-floats": lambda m: m.randint_like(m.ones(3), 1.5, 5.5),
}


def _randint_error(m, name):
    with pytest.raises(Exception) as raised:
        _RANDINT_CALLS[name](m)
    message = str(raised.value)
    if "invalid combination" in message:  # PyTorch lists each overload's every keyword
        message = message.split("expected one of")[0]
    return type(raised.value), message


@pytest.mark.parametrize("name", _RANDINT_CALLS)
def test_randint_refuses_floats_and_bad_ranges_as_torch(name):
    assert _randint_error(gpugrad, name) == _randint_error(torch, name)


@pytest.mark.parametrize("call", [
    lambda m: m.randint(m.tensor([5]), (3,)), lambda m: m.randint(np.int32(5), [3]),
    lambda m: m.randint(high=5, size=(3,)), lambda m: m.randint(low=1, high=5, size=(3,)),
    lambda m: m.randint(0, 256, (3,), dtype=m.uint8), lambda m: m.randint(0, 2, (3,), dtype=m.bool),
    lambda m: m.randint(0, 2 ** 31, (3,), dtype=m.int32),
    lambda m: m.randint(-2 ** 63, 2 ** 63 - 1, (3,)),
])
def test_randint_takes_what_torch_takes(call):
    out = [call(m) for m in (gpugrad, torch)]
    assert [str(o.dtype).split(".")[-1] for o in out] == [str(o.dtype).split(".")[-1] for o in
                                                         out[::-1]]
    assert tuple(out[0].shape) == tuple(out[1].shape)


@pytest.mark.parametrize("dtype,high", [("float32", 2 ** 24 + 5), ("float16", 5000),
                                        ("bfloat16", 300), ("float64", 2 ** 53 + 5)])
def test_randint_warns_past_a_floats_exact_integers_as_torch(dtype, high):
    said = []
    for m in (gpugrad, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m.randint(0, high, (2,), dtype=getattr(m, dtype))
        said.append([str(w.message).split(" (Triggered")[0] for w in caught])
    assert said[0] == said[1] and len(said[0]) == 1
