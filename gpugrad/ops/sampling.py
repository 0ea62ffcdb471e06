"""Sampling from tensors of probabilities: ``multinomial``."""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._generator import rng_for
from ._util import Tensor, check_tensor, int_arg

__all__ = ["multinomial"]

_MAX_CATEGORIES = 2 ** 24


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Sample category indices from the rows of ``input`` (1-D, or 2-D with one distribution
    per row), whose non-negative weights need not sum to 1. Returns int64 of shape
    ``(num_samples,)`` or ``(rows, num_samples)``; without ``replacement`` no index repeats
    within a row, so ``num_samples`` can be at most the number of categories."""
    check_tensor(input, "multinomial")
    rng = rng_for(generator, input._backend, "multinomial")
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.is_floating_point():
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{dt.SCALAR_TYPE_NAMES[input.dtype.name]}")
    n = int_arg(num_samples, "multinomial", "num_samples", 2)
    if not isinstance(replacement, bool):
        raise TypeError(f"multinomial(): argument 'replacement' (position 3) must be bool, not "
                        f"{type(replacement).__name__}")
    categories = input.shape[-1]
    if n <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and n > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if categories > _MAX_CATEGORIES:
        raise RuntimeError("number of categories cannot exceed 2^24")
    backend = input._backend
    xp = backend.xp
    probs = input._data.reshape(-1, categories).astype(np.float64)
    rows = probs.shape[0]
    if probs.size == 0:
        return Tensor._make(xp.zeros(input.shape[:-1] + (n,), np.int64), backend)
    # One host check, as PyTorch's: every weight finite and >= 0, every row with some mass.
    if not bool(xp.isfinite(probs).all()) or bool((probs < 0).any()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if bool((probs.sum(axis=1) == 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if replacement:
        out = _with_replacement(backend, probs, n, rng)
    else:
        # Exponential races: each category finishes at Exp(1) / p; the first n to finish,
        # in finishing order, are a draw without replacement (zero weights never finish).
        arrival = -xp.log1p(-backend.rand((rows, categories), np.float64, rng))
        positive = probs > 0
        finish = xp.where(positive, arrival / xp.where(positive, probs, 1.0), np.inf)
        out = xp.argsort(finish, axis=1)[:, :n]
    out = out.astype(np.int64, copy=False)
    return Tensor._make(out.reshape(input.shape[:-1] + (n,)), backend)


def _with_replacement(backend, probs, n: int, rng):
    """Inverse-CDF sampling, row by row: the first category whose cumulative weight exceeds
    a uniform draw (so zero-weight categories are never drawn)."""
    xp = backend.xp
    cdf = xp.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]  # the last entry is exactly 1, above every draw in [0, 1)
    draws = backend.rand((probs.shape[0], n), np.float64, rng)
    return xp.stack([xp.searchsorted(c, u, side="right") for c, u in zip(cdf, draws)])


METHODS = {"multinomial": multinomial}
