"""Specs of the functions of ``torch.special`` in ``backend/formulas_special.py``: ``i1``,
``i0e``, ``i1e``, ``erfcx`` (both branches of each: |x| up to 25), ``zeta`` (differentiable in
``q`` only) and the ones PyTorch does not differentiate."""

from __future__ import annotations

import numpy as np

from ..core import OpSpec, Sample, randn, register


def _samples(lo, hi):
    def make(rng):
        return [Sample((randn(rng, 3, 4, lo=lo, hi=hi),)), Sample((np.array(0.7),)),
                Sample((randn(rng, 2, 0, 3),)), Sample((randn(rng, 4, 3, lo=lo, hi=hi).T,))]
    return make


def special(name, lo, hi, **kw):
    return OpSpec(f"special.{name}", lambda m, x, _n=name: getattr(m.special, _n)(x),
                  _samples(lo, hi), **kw)


def _zeta_samples(rng):
    return [Sample((randn(rng, 3, 4, lo=0.2, hi=8),)), Sample((randn(rng, 2, 0, lo=1, hi=2),)),
            Sample((np.array(1.3),))]


register(
    special("i1", -6, 6), special("i0e", -25, 25), special("i1e", -25, 25),
    special("erfcx", -1.5, 8),
    OpSpec("special.zeta", lambda m, q: m.special.zeta(2.5, q), _zeta_samples),
    OpSpec("special.zeta_tensors", lambda m, x, q: m.special.zeta(x, q),
           lambda rng: [Sample((randn(rng, 3, 1, lo=1.5, hi=4), randn(rng, 4, lo=0.5, hi=9)))],
           differentiable=False),
    special("spherical_bessel_j0", -20, 20, differentiable=False),
    special("modified_bessel_i0", -6, 6, differentiable=False),
    special("modified_bessel_i1", -6, 6, differentiable=False),
)
