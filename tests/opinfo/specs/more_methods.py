"""Specs of the Tensor methods PyTorch has for ops of other topics (``ops/more_methods.py``):
the in-place forms ``cumsum_``, ``cumprod_``, ``fmod_``, ``remainder_``, ``renorm_``,
``logical_not_``, ``logical_xor_``, ``bitwise_not_``, ``mvlgamma_``; ``mvlgamma``; and
``narrow_copy`` and ``nonzero_static`` (``ops/join.py``, ``ops/indexing.py``)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register
from .special import _multigammaln_samples


def _inplace(name):
    """``x.<name>(*args)`` on a non-leaf copy of ``x`` (a leaf that requires grad refuses)."""
    return lambda m, x, *args: getattr(x * 1, name)(*args)


def _shaped(*cases, lo=None, hi=None):
    return lambda rng: [Sample((randn(rng, *shape, lo=lo, hi=hi),) + tuple(extra))
                        for shape, *extra in cases]


def _flags(rng):
    a = (rng.standard_normal((3, 4)) > 0).astype(np.float64)
    return [Sample((a,), grad_args=()), Sample((a.astype(bool),), grad_args=())]


register(
    OpSpec("Tensor.cumsum_", _inplace("cumsum_"), _shaped(((3, 4), 1), ((5,), 0), ((), 0))),
    OpSpec("Tensor.cumprod_", _inplace("cumprod_"), _shaped(((3, 4), 0), ((5,), -1),
                                                            lo=0.5, hi=2)),
    OpSpec("Tensor.fmod_", _inplace("fmod_"), _shaped(((3, 4), 0.7), lo=0.1, hi=3)),
    OpSpec("Tensor.remainder_", _inplace("remainder_"), _shaped(((3, 4), 0.7), lo=0.1, hi=3)),
    OpSpec("Tensor.renorm_", _inplace("renorm_"), _shaped(((3, 4), 2, 0, 1.0)), gradgrad=False),
    OpSpec("Tensor.logical_not_", _inplace("logical_not_"), _flags, differentiable=False),
    OpSpec("Tensor.logical_xor_", lambda m, x: (x * 1).logical_xor_(x[:1]), _flags,
           differentiable=False),
    OpSpec("Tensor.bitwise_not_", lambda m, x: (x > 0).bitwise_not_(), _flags,
           differentiable=False),
    OpSpec("mvlgamma", lambda m, x, p: m.mvlgamma(x, p), _multigammaln_samples,
           errors=[ErrorCase((np.ones(3), 3), RuntimeError, r"greater than \(p-1\)/2")]),
    OpSpec("Tensor.mvlgamma", lambda m, x, p: x.mvlgamma(p), _multigammaln_samples),
    OpSpec("Tensor.mvlgamma_", _inplace("mvlgamma_"), _multigammaln_samples),
    OpSpec("narrow_copy", lambda m, x, *a: m.narrow_copy(x, *a),
           _shaped(((3, 4), 1, 1, 2), ((5,), 0, 3, 2), ((2, 0), 1, 0, 0)),
           errors=[ErrorCase((np.ones(2), 0, 1, 5), RuntimeError, r"exceeds dimension size")]),
    OpSpec("Tensor.narrow_copy", lambda m, x, *a: x.narrow_copy(*a), _shaped(((3, 4), 0, 1, 2))),
    OpSpec("nonzero_static", lambda m, x, **kw: m.nonzero_static(x, **kw), lambda rng: [
        Sample((np.array([[0.0, 1.0], [2.0, 0.0]]),), {"size": n, "fill_value": f})
        for n, f in ((3, 9), (1, -1), (0, -1))] + [Sample((np.array(3.0),), {"size": 2})],
        differentiable=False,
        errors=[ErrorCase((np.ones(2),), RuntimeError, "'size' must be an non-negative",
                          {"size": -1})]),
)

STRUCTURE_DIFFERS = {
    "Tensor.renorm_": "a product with a factor computed from the norm (PyTorch: one node)",
    **dict.fromkeys(["mvlgamma", "Tensor.mvlgamma", "Tensor.mvlgamma_"],
                    "special.multigammaln's composite of lgamma terms (PyTorch: one "
                    "MvlgammaBackward0)"),
}
