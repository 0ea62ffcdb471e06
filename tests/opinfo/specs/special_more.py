"""Specs of the functions of ``torch.special`` in ``backend/formulas_special.py``: ``i1``,
``i0e``, ``i1e``, ``erfcx`` (both branches of each: |x| up to 25), ``zeta`` (differentiable in
``q`` only), ``gammainc``/``gammaincc`` (in ``other`` only) and the ones PyTorch does not
differentiate (the orthogonal polynomials at a degree each kind's closed form does not take)."""

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
    *(special(name, 0.05, 30, differentiable=False) for name in (
        "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
        "scaled_modified_bessel_k1")),
    # (PyTorch's Y0, Y1 are good to ~1e-6 near x = 5 only: below it here)
    special("bessel_y0", 0.05, 4.9, differentiable=False),
    special("bessel_y1", 0.05, 4.9, differentiable=False),
    special("airy_ai", -2, 8, differentiable=False),
    *(OpSpec(f"special.{name}", lambda m, x, _n=name: getattr(m.special, _n)(x, 5),
             _samples(-1.2, 1.2), differentiable=False) for name in (
        "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
        "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
        "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
        "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
        "legendre_polynomial_p")),
    *(OpSpec(f"special.{name}", lambda m, x, _n=name: getattr(m.special, _n)(
        m.linspace(0.3, 6, x.shape[-1], dtype=x.dtype), x),
        lambda rng: [Sample((randn(rng, 3, 4, lo=0.1, hi=9),)), Sample((np.array([0.7]),)),
                     Sample((randn(rng, 2, 0),))])
      for name in ("gammainc", "gammaincc")),
)
