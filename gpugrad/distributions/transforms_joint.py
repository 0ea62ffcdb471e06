"""Transforms made of other transforms, each applied to its own piece of a tensor:
``CatTransform`` (consecutive slices of one dim, of given lengths, as ``torch.cat`` joins
them) and ``StackTransform`` (the single slices of one dim, as ``torch.stack`` joins them)."""

from __future__ import annotations

import gpugrad

from . import constraints
from .transform_base import Transform
from .utils import _sum_rightmost

__all__ = ["CatTransform", "StackTransform"]


def _check_transforms(tseq) -> list:
    tseq = list(tseq)
    if not all(isinstance(t, Transform) for t in tseq):
        raise AssertionError("every element of tseq must be a Transform")
    return tseq


def _check_dim(x, dim: int, size: int) -> None:
    if not -x.dim() <= dim < x.dim():
        raise AssertionError(f"dim {dim} is out of range for a tensor of {x.dim()} dims")
    if x.shape[dim] != size:
        raise AssertionError(f"expected size {size} along dim {dim}, got {x.shape[dim]}")


class CatTransform(Transform):
    """Apply ``tseq[i]`` to the i-th consecutive slice (of length ``lengths[i]``, 1 each by
    default) of dim ``dim``, and concatenate the results.

    Example: ``CatTransform([ExpTransform(), identity_transform], dim=0, lengths=[2, 3])``.
    """

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0):
        tseq = _check_transforms(tseq)
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = tseq
        self.lengths = list(lengths) if lengths is not None else [1] * len(tseq)
        if len(self.lengths) != len(self.transforms):
            raise AssertionError("lengths and tseq must have the same length")
        self.dim = dim

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _pieces(self, x):
        """(transform, slice of x) pairs, the slices along ``dim`` in order."""
        _check_dim(x, self.dim, self.length)
        starts = [sum(self.lengths[:i]) for i in range(len(self.lengths))]
        return [(t, x.narrow(self.dim, start, length))
                for t, start, length in zip(self.transforms, starts, self.lengths)]

    def _call(self, x):
        return gpugrad.cat([t(xs) for t, xs in self._pieces(x)], dim=self.dim)

    def _inverse(self, y):
        return gpugrad.cat([t.inv(ys) for t, ys in self._pieces(y)], dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = []
        for (t, xs), (_, ys) in zip(self._pieces(x), self._pieces(y)):
            part = t.log_abs_det_jacobian(xs, ys)
            if t.event_dim < self.event_dim:
                part = _sum_rightmost(part, self.event_dim - t.event_dim)
            parts.append(part)
        # ``dim`` inside the event: the pieces' terms add up; else they stay side by side
        dim = (self.dim - x.dim() if self.dim >= 0 else self.dim) + self.event_dim
        if dim < 0:
            return gpugrad.cat(parts, dim=dim)
        return sum(parts)

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """Apply ``tseq[i]`` to the i-th slice ``x.select(dim, i)`` and stack the results.

    Example: ``StackTransform([ExpTransform(), identity_transform], dim=1)``.
    """

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0):
        tseq = _check_transforms(tseq)
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = tseq
        self.dim = dim

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _pieces(self, x):
        _check_dim(x, self.dim, len(self.transforms))
        return [(t, x.select(self.dim, i)) for i, t in enumerate(self.transforms)]

    def _call(self, x):
        return gpugrad.stack([t(xs) for t, xs in self._pieces(x)], dim=self.dim)

    def _inverse(self, y):
        return gpugrad.stack([t.inv(ys) for t, ys in self._pieces(y)], dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        return gpugrad.stack([t.log_abs_det_jacobian(xs, ys) for (t, xs), (_, ys)
                              in zip(self._pieces(x), self._pieces(y))], dim=self.dim)

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)
