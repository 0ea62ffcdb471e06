"""Specs of softmax, log_softmax and logsumexp: dims, 0-d, zero-size, logits of +-1e4."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

CASES = [
    ((3, 4), {"dim": 1}),
    ((2, 3, 4), {"dim": -1}),
    ((2, 3, 4), {"dim": 0}),
    ((), {"dim": 0}),
    ((5,), {"dim": -1}),
    ((2, 0, 3), {"dim": 1}),
    ((2, 0, 3), {"dim": 2}),
]


def _large(rng):
    """Logits of magnitude 1e4: a naive exp overflows (float32 and float64 alike)."""
    x = randn(rng, 3, 4) * 1e4
    x[0] = [1e4, -1e4, 1e4 - 1.5, 3.0]
    return x


def _samples(with_dtype: bool):
    def make(rng):
        out = [Sample((np.asarray(randn(rng, *shape)),), dict(kw)) for shape, kw in CASES]
        out.append(Sample((_large(rng),), {"dim": 1}, note="large logits"))
        out.append(Sample((_large(rng).T.copy(),), {"dim": 0}, note="large logits"))
        if with_dtype:
            out.append(Sample((randn(rng, 3, 4),), {"dim": 1, "dtype": "float64"}))
        return out

    return make


def _softmax(name):
    def op(m, x, dim, dtype=None):
        return getattr(m, name)(x, dim, dtype=None if dtype is None else getattr(m, dtype))

    return op


INT = np.ones((2, 3), dtype=np.int64)
BAD_DIM = ErrorCase((np.ones((2, 3)),), IndexError,
                    r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)",
                    {"dim": 5})

for _name in ("softmax", "log_softmax"):
    register(
        OpSpec(_name, _softmax(_name), _samples(True), errors=[
            BAD_DIM, ErrorCase((INT,), NotImplementedError, "not implemented for", {"dim": 0})]),
        OpSpec(f"{_name}_method", lambda m, x, dim, _n=_name: getattr(x, _n)(dim),
               _samples(False)),
    )

LSE_CASES = [
    ((3, 4), {"dim": 1}),
    ((2, 3, 4), {"dim": (0, 2)}),
    ((2, 3, 4), {"dim": -1, "keepdim": True}),
    ((2, 3, 4), {"dim": (-1, 0), "keepdim": True}),
    ((), {"dim": 0}),
    ((5,), {"dim": 0}),
    ((2, 0, 3), {"dim": 1}),
    ((2, 0, 3), {"dim": 0}),
]


def _lse_samples(rng):
    out = [Sample((np.asarray(randn(rng, *shape)),), dict(kw)) for shape, kw in LSE_CASES]
    return out + [Sample((_large(rng),), {"dim": 1}, note="large logits"),
                  Sample((_large(rng),), {"dim": (0, 1)}, note="large logits")]


register(
    OpSpec("logsumexp", lambda m, x, **kw: m.logsumexp(x, **kw), _lse_samples, errors=[
        BAD_DIM, ErrorCase((np.ones(3),), TypeError, "dim")]),
    OpSpec("logsumexp_method", lambda m, x: x.logsumexp(-1, True),
           lambda rng: [Sample((randn(rng, 3, 4),))]),
)
