"""Specs of ``gpugrad.special`` against ``torch.special``: the entries that are other names of
gpugrad's ops get one sample each (their ops' specs have the rest)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register
from .elementwise import binary, unary_samples


def special(name, lo=None, hi=None, kinks=(), **kw):
    return OpSpec(f"special.{name}", lambda m, x, _n=name: getattr(m.special, _n)(x),
                  unary_samples(lo, hi, kinks), **kw)


def alias(name, lo=None, hi=None):
    """Another name of an op with a spec of its own: one sample shows the name maps to it."""
    return OpSpec(f"special.{name}", lambda m, x, _n=name: getattr(m.special, _n)(x),
                  lambda rng: unary_samples(lo, hi)(rng)[:1])


def _dim_samples(rng):
    return [Sample((randn(rng, 3, 4), 1)), Sample((randn(rng, 3, 4), 0)),
            Sample((randn(rng, 2, 0), 0))]


def _log_ndtr_samples(rng):
    # every piece: the upper tail, the middle, and far below (the asymptotic series)
    return [Sample((np.array([-35.0, -21.5, -12.0, -9.0, -3.0, -0.5, 0.4, 2.0, 6.0, 9.5]),)),
            Sample((randn(rng, 3, 4),)), Sample((randn(rng, 0, 2),))]


def _round_samples(rng):
    x = randn(rng, 3, 4) * 100
    return [Sample((x,), {"decimals": 2}), Sample((x,), {"decimals": -1}), Sample((x,))]


def _multigammaln_samples(rng):
    return [Sample((randn(rng, 3, 4, lo=1.6, hi=5), 3)), Sample((randn(rng, 5, lo=0.2, hi=4), 1)),
            Sample((randn(rng, 0, 2, lo=2, hi=3), 2))]


register(
    alias("expit"), alias("logit", lo=0.05, hi=0.95), alias("erf"), alias("erfc"),
    alias("erfinv", lo=-0.9, hi=0.9), alias("expm1"), alias("exp2"), alias("log1p", lo=-0.5, hi=3),
    alias("gammaln", lo=0.2, hi=6), alias("digamma", lo=0.2, hi=6),
    alias("psi", lo=-0.9, hi=-0.1), alias("i0"), alias("sinc"),
    special("entr", lo=0.05, hi=3), special("ndtr"), special("ndtri", lo=0.02, hi=0.98),
    OpSpec("special.log_ndtr", lambda m, x: m.special.log_ndtr(x), _log_ndtr_samples),
    OpSpec("special.polygamma", lambda m, x: m.special.polygamma(2, x),
           lambda rng: unary_samples(0.3, 5)(rng)[:1]),
    OpSpec("special.logsumexp", lambda m, x, d: m.special.logsumexp(x, d),
           lambda rng: _dim_samples(rng)[:1]),
    OpSpec("special.softmax", lambda m, x, d: m.special.softmax(x, d),
           lambda rng: _dim_samples(rng)[:1]),
    OpSpec("special.log_softmax", lambda m, x, d: m.special.log_softmax(x, d),
           lambda rng: _dim_samples(rng)[:1]),
    OpSpec("special.round", lambda m, x, **kw: m.special.round(x, **kw), _round_samples,
           differentiable=False),
    OpSpec("special.multigammaln", lambda m, x, p: m.special.multigammaln(x, p),
           _multigammaln_samples, errors=[
               ErrorCase((np.ones(3), 3), RuntimeError, r"greater than \(p-1\)/2")]),
    OpSpec("special.entr_edges", lambda m, x: m.special.entr(x),
           lambda rng: [Sample((np.array([0.0, -1.0, 0.5, 2.0]),))], differentiable=False),
    OpSpec("special.xlogy", lambda m, a, b: m.special.xlogy(a, b),
           lambda rng: [Sample((randn(rng, 3, 4), randn(rng, 4, lo=0.2, hi=3)))]),
    binary("special.xlog1py", lambda m, a, b: m.special.xlog1py(a, b), lo_b=-0.8, hi_b=3),
)
