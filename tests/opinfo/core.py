"""The op registry: one ``OpSpec`` per op, looped over by the generic tests.

A spec names the op once as ``op(m, *args)`` where ``m`` is ``gpugrad`` or ``torch``: the two
spell their functional API the same way, so one lambda runs on both. Samples are NumPy arrays
(or Python scalars); the generic tests build tensors from them in each dtype, as contiguous
tensors and as non-contiguous views with poisoned (NaN) gaps, and compare values and gradients
with PyTorch, then run gradcheck and gradgradcheck in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Sample:
    """Positional args (arrays become tensors; anything else passes as is) and kwargs."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    # Indices of array args that require grad (default: every float array arg).
    grad_args: tuple | None = None
    note: str = ""


@dataclass
class ErrorCase:
    args: tuple
    exc: type
    match: str
    kwargs: dict = field(default_factory=dict)


@dataclass
class OpSpec:
    name: str
    op: Callable[..., Any]
    samples: Callable[[np.random.Generator], list]
    errors: list = field(default_factory=list)
    dtypes: tuple = ("float64", "float32")
    differentiable: bool = True
    gradgrad: bool = True
    # Tolerances for float32 comparisons with PyTorch (float64 uses tight defaults).
    atol32: float = 1e-5
    rtol32: float = 1e-4
    # Values too close to a kink make finite differences meaningless; samples avoid them.
    gradcheck_atol: float = 1e-5
    # Some ops return tuples (values, indices): which outputs to compare and differentiate.
    outputs: Callable[[Any], tuple] | None = None


def randn(rng, *shape, lo=None, hi=None):
    """Random float64 values; ``lo``/``hi`` give a uniform range instead."""
    if lo is not None:
        return rng.uniform(lo, hi, size=shape)
    return rng.standard_normal(shape)


def away_from(values, points, margin=0.05):
    """Push values away from kinks (e.g. 0 for abs/relu) so finite differences are valid."""
    values = np.array(values, dtype=np.float64)
    for p in points:
        close = np.abs(values - p) < margin
        values[close] = p + np.where(values[close] >= p, margin, -margin) * 2
    return values


REGISTRY: list[OpSpec] = []


def register(*specs: OpSpec) -> None:
    REGISTRY.extend(specs)
