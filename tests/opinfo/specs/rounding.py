"""Specs for ``round(decimals=)``, ``frexp`` and ``as_strided``."""

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _round_samples(rng):
    # Values away from the rounding boundaries at 2 and -1 decimals, so that float32 and
    # float64 round alike.
    x = np.round(randn(rng, 3, 4) * 300, 2) + 0.0031
    return [Sample((x,), {"decimals": 2}), Sample((x,), {"decimals": -1}),
            Sample((x[:, ::2],), {"decimals": 1}), Sample((x[:0],), {"decimals": 3})]


def _frexp_samples(rng):
    return [Sample((randn(rng, 3, 4) * 100,)), Sample((randn(rng, 4, 3)[::2].T,)),
            Sample((np.array([0.3, -3.5, 3.0, 1.5e-3]),)),  # (away from powers of two)
            Sample((randn(rng, 0, 2),))]


register(
    OpSpec("round_decimals", lambda m, x, **kw: m.round(x, **kw), _round_samples, errors=[
        ErrorCase((np.array([15]),), NotImplementedError, "round", {"decimals": -1}),
    ]),
    OpSpec("Tensor.round_decimals", lambda m, x, **kw: x.round(**kw), _round_samples),
    OpSpec("frexp", lambda m, x: m.frexp(x), _frexp_samples, outputs=tuple, errors=[
        ErrorCase((np.array([1]),), RuntimeError, "only supports floating-point"),
    ]),
)


def _as_strided_samples(rng):
    x = randn(rng, 4, 3)
    return [Sample((x, (3, 3), (2, 1))),  # overlapping windows: gradients add up
            Sample((x, (2, 2), (1, 3), 1)), Sample((x, (2, 0), (1, 1))),
            Sample((randn(rng, 0, 3), (0,), (1,)))]


register(
    # (on x.contiguous(): as_strided reads memory, and the registry's strided layouts put
    # different memory under the same values for each library; tests/ops/test_strided.py
    # compares strided memory)
    OpSpec("as_strided", lambda m, x, *a: m.as_strided(x.contiguous(), *a),
           _as_strided_samples, errors=[
        ErrorCase((np.ones(4), (3,), (2,)), RuntimeError, "out of bounds for storage"),
        ErrorCase((np.ones(4), (2,), (-1,)), RuntimeError, "Negative strides"),
        ErrorCase((np.ones(4), (2, 2), (1,)), RuntimeError, "mismatch in length"),
    ]),
    OpSpec("Tensor.as_strided", lambda m, x: x.contiguous().as_strided((2, 2), (2, 1)),
           lambda rng: [Sample((randn(rng, 2, 3),))]),
)
