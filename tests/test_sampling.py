"""Random factories (``rand``, ``randn``, ``randint``, ``randperm``, ``*_like``) against torch:
signatures, dtypes, shapes, errors, and ``generator=``."""

from __future__ import annotations

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
