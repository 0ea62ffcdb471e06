"""CatTransform and StackTransform beyond values (tests/distributions/test_transforms.py):
event dims, bijectivity, domains, caching, errors, and biject_to/transform_to of the cat and
stack constraints, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td

import gpugrad
import gpugrad.distributions as gd


def _both(make):
    return make(gd, gpugrad), make(td, torch)


def test_attributes_match_torch():
    cases = [
        lambda lib, mod: lib.transforms.CatTransform(
            [lib.transforms.ExpTransform(), lib.transforms.StickBreakingTransform()], dim=-1,
            lengths=[1, 3]),
        lambda lib, mod: lib.transforms.CatTransform(
            [lib.transforms.ExpTransform(), lib.transforms.SoftmaxTransform()]),
        lambda lib, mod: lib.transforms.StackTransform(
            [lib.transforms.ExpTransform(), lib.transforms.identity_transform], dim=1),
    ]
    for make in cases:
        g, t = _both(make)
        assert g.bijective == t.bijective
        assert g.event_dim == t.event_dim
        assert g.domain.event_dim == t.domain.event_dim
        assert g.codomain.event_dim == t.codomain.event_dim
        assert g.domain.is_discrete == t.domain.is_discrete
        if isinstance(g, gd.CatTransform):
            assert g.length == t.length and g.lengths == t.lengths


def test_cache():
    for cls in (gd.CatTransform, gd.StackTransform):
        t = cls([gd.ExpTransform(), gd.TanhTransform()])
        cached = t.with_cache(1)
        assert cached is not t and cached.with_cache(1) is cached and t.with_cache(0) is t
        assert all(p._cache_size == 1 for p in cached.transforms)
        x = gpugrad.tensor([[0.5], [1.0]])
        y = cached(x)
        assert cached.inv(y) is x


def test_errors():
    for lib, mod in ((gd, gpugrad), (td, torch)):
        with pytest.raises(AssertionError):
            lib.transforms.CatTransform([lib.transforms.ExpTransform(), "exp"])
        with pytest.raises(AssertionError):
            lib.transforms.CatTransform([lib.transforms.ExpTransform()], lengths=[1, 2])
        cat = lib.transforms.CatTransform([lib.transforms.ExpTransform()] * 2)
        with pytest.raises(AssertionError):
            cat(mod.zeros(3))  # size 3 along dim 0, lengths sum to 2
        with pytest.raises(AssertionError):  # dim 1 of a 1-dim tensor
            lib.transforms.CatTransform(cat.transforms, dim=1)(mod.zeros(2))
        stack = lib.transforms.StackTransform([lib.transforms.ExpTransform()] * 2)
        with pytest.raises(AssertionError):
            stack(mod.zeros(3, 2))


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_registry(registry):
    def cat(c):
        return c.cat([c.positive, c.real, c.interval(-1.0, 2.0)], dim=-1, lengths=[1, 2, 1])

    def stack(c):
        return c.stack([c.positive, c.unit_interval, c.real], dim=0)

    x = np.random.default_rng(0).standard_normal((3, 4))
    for make in (cat, stack):
        cg, ct = make(gd.constraints), make(td.constraints)
        tg, tt = getattr(gd, registry)(cg), getattr(td, registry)(ct)
        assert type(tg).__name__ == type(tt).__name__
        assert [repr(p) for p in tg.transforms] == [repr(p) for p in tt.transforms]
        yg, yt = tg(gpugrad.tensor(x)), tt(torch.tensor(x))
        np.testing.assert_allclose(yg.numpy(), yt.numpy(), rtol=1e-12)
        assert bool(cg.check(yg).all())
        np.testing.assert_allclose(tg.log_abs_det_jacobian(gpugrad.tensor(x), yg).numpy(),
                                   tt.log_abs_det_jacobian(torch.tensor(x), yt).numpy(),
                                   rtol=1e-12)
