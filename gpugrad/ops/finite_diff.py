"""``gradient``: derivatives of sampled values by finite differences (``torch.gradient``).

Second-order central differences inside, one-sided differences of order ``edge_order`` at the
two ends, with uniform spacing or at given coordinates (the non-uniform three-point formulas,
as NumPy's ``gradient``). Built from slices and arithmetic, so it is differentiable in the
values and in the coordinates.
"""

from __future__ import annotations

import numbers

from .. import _dtype as dt
from ._util import Tensor, check_tensor, wrap_dim
from .join import cat

__all__ = ["gradient"]

_PREFIX = "torch.gradient expected spacing to be unspecified, a scalar"


def _dims(input: Tensor, dim) -> list[int]:
    if dim is None:
        return list(range(input.ndim))
    dims = [dim] if isinstance(dim, numbers.Integral) else list(dim)
    dims = [wrap_dim(d, input.ndim) for d in dims]
    for d in dims:
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return dims


def _spacings(spacing, dims: list[int], dim_given: bool) -> list:
    """One spacing per dim: a number (uniform) or a 1-D tensor of coordinates."""
    if isinstance(spacing, Tensor):
        raise TypeError("gradient(): spacing must be a number or a tuple of numbers or of "
                        "1-D tensors, not a Tensor")
    if isinstance(spacing, numbers.Number):
        return [spacing] * len(dims)
    spacing = list(spacing)
    if len(spacing) != len(dims):
        if dim_given:
            raise RuntimeError(f"{_PREFIX} or it's spacing and dim arguments to have the same "
                               f"length, but got a spacing argument of length {len(spacing)} "
                               f"and a dim argument of length {len(dims)}.")
        raise RuntimeError(f"{_PREFIX}, or a list of length equal to 'self.dim() = "
                           f"{len(dims)}', since dim argument was not given, but got a list "
                           f"of length {len(spacing)}")
    if any(isinstance(s, Tensor) for s in spacing):
        for i, s in enumerate(spacing):
            if not isinstance(s, Tensor):
                raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                                f"{type(s).__name__}")
            if s.ndim != 1:
                raise RuntimeError("torch.gradient expected each element of spacing to have "
                                   f"one dimension, but got an element with {s.ndim} "
                                   "dimensions!")
    return spacing


def _uniform(x: Tensor, d: int, h, edge_order: int) -> Tensor:
    n = x.shape[d]

    def at(i, length=1):
        return x.narrow(d, i, length)

    inner = (at(2, n - 2) - at(0, n - 2)) / (2 * h)
    if edge_order == 1:
        first, last = (at(1) - at(0)) / h, (at(n - 1) - at(n - 2)) / h
    else:
        first = (-1.5 * at(0) + 2 * at(1) - 0.5 * at(2)) / h
        last = (0.5 * at(n - 3) - 2 * at(n - 2) + 1.5 * at(n - 1)) / h
    return cat([first, inner, last], d)


def _at_coordinates(x: Tensor, d: int, coords: Tensor, edge_order: int) -> Tensor:
    n = x.shape[d]
    if coords.shape[0] != n:
        raise RuntimeError(f"torch.gradient expected the coordinates along dim {d} to have "
                           f"{n} elements, but got {coords.shape[0]}")
    # the coordinate steps, shaped to broadcast along dim d
    step = (coords[1:] - coords[:-1]).reshape([-1 if i == d else 1 for i in range(x.ndim)])

    def at(i, length=1):
        return x.narrow(d, i, length)

    def h(i, length=1):
        return step.narrow(d, i, length)

    hl, hr = h(0, n - 2), h(1, n - 2)
    inner = (-hr / (hl * (hl + hr)) * at(0, n - 2) + (hr - hl) / (hl * hr) * at(1, n - 2)
             + hl / (hr * (hl + hr)) * at(2, n - 2))
    if edge_order == 1:
        first, last = (at(1) - at(0)) / h(0), (at(n - 1) - at(n - 2)) / h(n - 2)
    else:
        a, b = h(0), h(1)
        first = (-(2 * a + b) / (a * (a + b)) * at(0) + (a + b) / (a * b) * at(1)
                 - a / (b * (a + b)) * at(2))
        a, b = h(n - 3), h(n - 2)
        last = (b / (a * (a + b)) * at(n - 3) - (a + b) / (a * b) * at(n - 2)
                + (2 * b + a) / (b * (a + b)) * at(n - 1))
    return cat([first, inner, last], d)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """The derivative of ``input``'s values along each dim in ``dim`` (all by default), one
    tensor per dim. ``spacing``: a number (the same step along every dim), a list of numbers
    (one step per dim) or a list of 1-D tensors (the sample coordinates along each dim).
    ``edge_order`` (1 or 2): the accuracy of the one-sided differences at the ends."""
    check_tensor(input, "gradient")
    dims = _dims(input, dim)
    spacings = _spacings(spacing, dims, dim is not None)
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if any(input.shape[d] < edge_order + 1 for d in dims):
        raise RuntimeError("torch.gradient expected each dimension size to be at least "
                           "edge_order+1")
    x = input if input.is_floating_point() else input.to(dt.get_default_dtype())
    return tuple(_at_coordinates(x, d, s, edge_order) if isinstance(s, Tensor)
                 else _uniform(x, d, s, edge_order) for d, s in zip(dims, spacings))


METHODS: dict = {}
