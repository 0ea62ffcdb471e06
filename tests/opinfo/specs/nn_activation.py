"""Specs of the activations of ``nn.functional`` written as composites (elu ... softmin)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, away_from, randn, register


def F(m):
    return m.nn.functional


def _act(kinks=(), lo=-4, hi=4, kwargs=None):
    """Samples of a (3, 4), a 0-d and a zero-size input in [lo, hi], away from ``kinks``."""
    def make(rng):
        return [Sample((away_from(randn(rng, *shape, lo=lo, hi=hi), kinks),), dict(kwargs or {}))
                for shape in ((3, 4), (), (2, 0, 3))]

    return make


def unary(name, kinks=(), errors=(), lo=-4, hi=4, **kwargs):
    """A spec of ``F.name(x, **kwargs)``."""
    return OpSpec(f"nn.{name}" + "".join(f"_{k}{v}" for k, v in kwargs.items()),
                  lambda m, x, _n=name, **kw: getattr(F(m), _n)(x, **kw),
                  _act(kinks, lo, hi, kwargs), errors=list(errors))


LONG = np.array([1, 2])

register(
    unary("elu", kinks=(0,), errors=[
        ErrorCase((LONG,), NotImplementedError, "\"elu_cpu\" not implemented for 'Long'")]),
    unary("selu", kinks=(0,)),
    unary("celu", kinks=(0,), alpha=2.0, errors=[
        ErrorCase((np.ones(2),), RuntimeError, "alpha cannot be 0 for CELU", {"alpha": 0.0})]),
    unary("softplus", lo=-30, hi=30),
    unary("softplus", kinks=(1.5,), beta=2.0, threshold=3.0, errors=[
        ErrorCase((LONG,), NotImplementedError, "softplus_cpu")]),
    unary("softsign", kinks=(0,)),
    unary("mish", lo=-30, hi=60),
    unary("logsigmoid", lo=-60, hi=60),
    unary("tanhshrink"),
    unary("hardtanh", kinks=(-1, 1), errors=[
        ErrorCase((np.ones(2),), ValueError, "min_val cannot be greater than max_val",
                  {"min_val": 1.0, "max_val": -1.0}),
        ErrorCase((np.array([True]),), RuntimeError, "Bool inputs not supported for hardtanh")]),
    unary("hardtanh", kinks=(-2, 0.5), min_val=-2.0, max_val=0.5),
    unary("relu6", kinks=(0, 6), lo=-3, hi=9),
    unary("hardsigmoid", kinks=(-3, 3), lo=-5, hi=5),
    unary("hardswish", kinks=(-3, 3), lo=-5, hi=5),
    unary("softshrink", kinks=(-0.5, 0.5), errors=[
        ErrorCase((np.ones(2),), RuntimeError, r"lambda must be in range \[0, 1.79769e\+308\] "
                  "for input dtype Double, but found -1", {"lambd": -1.0})]),
    unary("hardshrink", kinks=(-0.5, 0.5)),
    unary("threshold", kinks=(0.3,), threshold=0.3, value=-2.0),
    unary("rrelu", kinks=(0,), lower=0.1, upper=0.3),
    unary("softmin", dim=-1),
)


def _prelu_samples(rng):
    return [
        Sample((away_from(randn(rng, 2, 3, 4), (0,)), randn(rng, 3, lo=0, hi=0.5))),
        Sample((away_from(randn(rng, 2, 3), (0,)), randn(rng, 1, lo=0, hi=0.5))),
        Sample((away_from(randn(rng, 5), (0,)), np.array(0.25))),
        Sample((randn(rng, 0, 3), randn(rng, 3))),
    ]


def _glu_samples(rng):
    return [Sample((randn(rng, 3, 4),)), Sample((randn(rng, 4, 3, 2),), {"dim": 0}),
            Sample((randn(rng, 0, 2),))]


register(
    OpSpec("nn.prelu", lambda m, x, w: F(m).prelu(x, w), _prelu_samples, errors=[
        ErrorCase((np.ones((2, 3, 4)), np.ones(4)), RuntimeError,
                  "Found parameter numbers = 4 and channel size = 3"),
        ErrorCase((np.ones((2, 3)), np.ones((1, 3))), RuntimeError,
                  "Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"),
    ]),
    OpSpec("nn.glu", lambda m, x, **kw: F(m).glu(x, **kw), _glu_samples, errors=[
        ErrorCase((np.ones((2, 3)),), RuntimeError,
                  "Halving dimension must be even, but dimension 1 is size 3"),
        ErrorCase((np.array(1.0),), RuntimeError, "glu does not support scalars"),
    ]),
)
