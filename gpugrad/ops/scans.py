"""Scans and differences along a dim: ``cummax``, ``cummin``, ``cumprod``, ``logcumsumexp``,
``diff``, ``trapezoid`` / ``trapz``, ``cumulative_trapezoid``.

The scans run on arrays by doubling (``scan_last``: log2(n) elementwise steps, so the same code
serves NumPy and CuPy, which has no general ``ufunc.accumulate``). Their gradients:

    cummax / cummin:  d input = scatter-add of grad at the indices picked
    cumprod:          d x_i = sum_{j>=i} grad_j * prod_{m<=j, m!=i} x_m  (O(n) on arrays,
                      exact at zeros; an O(n^2) polynomial form under create_graph)
    logcumsumexp:     d x_i = sum_{j>=i} grad_j * exp(x_i - out_j), summed in log space
                      separately for the positive and negative parts of grad (no overflow)

written in Tensor ops, so they serve create_graph as they are (cumprod's array path
is its own, held equal by the registry). ``diff`` and the trapezoid rules
are compositions of slices, sums and products.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._dtype import FLOAT_KINDS
from ..autograd.function import Function
from ._return_types import result, return_types
from ._util import Tensor, check_tensor, math_ns, wrap_dim
from .indexing import ScatterAdd
from .join import cat, narrow
from .reduction import cumsum, in_asked_dtype
from .repeat import flip
from .statistics import _torch_name

__all__ = ["cummax", "cummin", "cumprod", "logcumsumexp", "diff", "trapezoid", "trapz",
           "cumulative_trapezoid"]

result("cummax")
result("cummin")


def scan_last(xp, values: tuple, combine) -> tuple:
    """Inclusive scan of the arrays ``values`` along their last axis by doubling:
    ``combine(earlier, later)`` (tuples of arrays) must be associative."""
    n = values[0].shape[-1]
    shift = 1
    while shift < n:
        merged = combine(tuple(v[..., :-shift] for v in values),
                         tuple(v[..., shift:] for v in values))
        values = tuple(xp.concatenate([v[..., :shift], m], axis=-1)
                       for v, m in zip(values, merged))
        shift *= 2
    return values


# ---------------------------------------------------------------------- cummax, cummin
def _running_extreme(xp, data, axis: int, largest: bool):
    """Values and int64 indices of the running max (or min) along ``axis``: NaN wins and stays,
    ties move to the later index (PyTorch's ``>=`` / ``<=``)."""
    moved = xp.moveaxis(data, axis, -1)
    if moved.dtype.kind == "b":
        moved = moved.astype(np.uint8)
    idx = xp.broadcast_to(xp.arange(moved.shape[-1], dtype=np.int64), moved.shape)
    is_float = moved.dtype.kind in FLOAT_KINDS

    def combine(earlier, later):
        (a, ia), (b, ib) = earlier, later
        take_later = b >= a if largest else b <= a
        if is_float:
            take_later = xp.isnan(b) | (take_later & ~xp.isnan(a))
        return xp.where(take_later, b, a), xp.where(take_later, ib, ia)

    values, indices = scan_last(xp, (moved, idx), combine)
    return (xp.moveaxis(values.astype(data.dtype), -1, axis),
            xp.ascontiguousarray(xp.moveaxis(indices, -1, axis)))


class Cummax(Function):
    """The running extreme's values, picked at the int64 ``indices`` that ``cummax`` found
    (one output, as PyTorch's node: the indices are not among its outputs); the gradient
    adds up at those indices, which it saves (version-checked)."""

    node_name = "CummaxBackward0"

    @staticmethod
    def forward(ctx, x, axis, values, indices):
        ctx.shape, ctx.axis = x._data.shape, axis
        ctx.save_for_backward(indices)
        return x._new(values)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        if not ctx.shape:
            return grad, None, None, None
        return ScatterAdd.apply(grad, ctx.shape, ctx.axis, indices), None, None, None


class Cummin(Cummax):
    node_name = "CumminBackward0"


def _cum_extreme(name, cls, input: Tensor, dim: int, largest: bool):
    check_tensor(input, name)
    data = input._data
    axis = wrap_dim(dim, data.ndim)
    work = data.reshape(1) if data.ndim == 0 else data
    values, indices = _running_extreme(input._backend.xp, work, axis, largest)
    indices = input._new(indices.reshape(data.shape))
    values = cls.apply(input, axis, values.reshape(data.shape), indices)
    return getattr(return_types, name)(values, indices)


def cummax(input: Tensor, dim: int):
    """``(values, indices)`` of the running maximum along ``dim`` (the latest index among ties;
    NaN, once seen, stays)."""
    return _cum_extreme("cummax", Cummax, input, dim, True)


def cummin(input: Tensor, dim: int):
    """``(values, indices)`` of the running minimum along ``dim`` (as ``cummax``)."""
    return _cum_extreme("cummin", Cummin, input, dim, False)


# ---------------------------------------------------------------------- cumprod
class Cumprod(Function):
    node_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        data = x._data
        out = x._backend.cumprod(data.reshape(1) if data.ndim == 0 else data, axis)
        result = x._new(out.reshape(data.shape))
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph): the O(n^2) form, a polynomial in x, so that every higher
        # derivative is exact at zeros too: C[i, j] = prod_{m<=j, m!=i} x_m is the cumprod of
        # the slab of x with x_i replaced by 1 in row i; d x_i = sum_{j>=i} grad_j C[i, j].
        x, _ = ctx.saved_tensors
        if x._data.ndim == 0 or x._data.size == 0:
            return grad.clone(), None
        m = math_ns()
        xp = x._backend.xp
        xm, gm = x.movedim(ctx.axis, -1), grad.movedim(ctx.axis, -1)
        n = xm._data.shape[-1]
        slab = xm.unsqueeze(-2).expand(xm._data.shape[:-1] + (n, n))
        slab = m.where(x._new(xp.eye(n, dtype=bool)), 1, slab)
        others = Cumprod.apply(slab, slab._data.ndim - 1)
        later = x._new(xp.triu(xp.ones((n, n), dtype=bool)))
        gx = (m.where(later, others, 0) * gm.unsqueeze(-2)).sum(-1)
        return gx.movedim(-1, ctx.axis), None

    def _array_backward(self, grad):
        # On arrays, O(n): revcumsum(grad * out) / x before the slice's first zero k; at k,
        # revcumsum(grad * cumprod(x with x_k = 1)); 0 after. The registry's create_graph test
        # holds this equal to ``backward``.
        x, out = self.saved_arrays()
        if x.ndim == 0 or x.size == 0:
            return grad.copy(), None
        backend, axis = self._backend, self.axis
        xp = backend.xp
        n = x.shape[axis]
        shape = [1] * x.ndim
        shape[axis] = n
        positions = xp.arange(n, dtype=np.int64).reshape(shape)
        first_zero = xp.where(x == 0, positions, n).min(axis=axis, keepdims=True)
        before, at_zero = positions < first_zero, positions == first_zero

        plain = backend.cumsum(grad * out, axis, reverse=True) / xp.where(before, x, 1)
        skipped = backend.cumprod(xp.where(at_zero, 1, x), axis)
        gx = xp.where(before, plain,
                      xp.where(at_zero, backend.cumsum(grad * skipped, axis, reverse=True), 0))
        return gx.astype(x.dtype, copy=False), None


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative product along ``dim``; integer and bool inputs accumulate into int64. The
    gradient is exact where the input holds zeros."""
    check_tensor(input, "cumprod")
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(dt.int64)
    return in_asked_dtype(Cumprod.apply(input, wrap_dim(dim, input._data.ndim)), dtype)


# ---------------------------------------------------------------------- logcumsumexp
def _logcumsumexp_array(xp, data, axis: int):
    moved = xp.moveaxis(data, axis, -1)
    (out,) = scan_last(xp, (moved,), lambda a, b: (xp.logaddexp(a[0], b[0]),))
    return xp.moveaxis(out, -1, axis)


class Logcumsumexp(Function):
    node_name = "LogcumsumexpBackward0"

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        data = x._data
        out = _logcumsumexp_array(x._backend.xp, data.reshape(1) if data.ndim == 0 else data,
                                  axis)
        result = x._new(out.reshape(data.shape))
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if x._data.ndim == 0:
            return grad.clone(), None
        m = math_ns()
        axis = ctx.axis
        lowest = float(np.finfo(x._data.dtype).min)
        log_abs = grad.abs().log()
        parts = []
        for sign in (grad > 0, grad < 0):
            logs = m.where(sign, log_abs, lowest) - out
            total = flip(Logcumsumexp.apply(flip(logs, (axis,)), axis), (axis,))
            parts.append((total + x).exp())
        return parts[0] - parts[1], None


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input), dim))``, computed without overflow."""
    check_tensor(input, "logcumsumexp")
    if not input.is_floating_point():
        raise NotImplementedError(
            f"\"logcumsumexp_out_cpu\" not implemented for '{_torch_name(input)}'")
    return Logcumsumexp.apply(input, wrap_dim(dim, input._data.ndim))


# ---------------------------------------------------------------------- diff, trapezoid
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``out[i] = x[i + 1] - x[i]``, xor for
    bool), after concatenating ``prepend`` and ``append`` along ``dim``."""
    check_tensor(input, "diff")
    data = input._data
    if data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = wrap_dim(dim, data.ndim)
    for extra in (prepend, append):
        if extra is None:
            continue
        check_tensor(extra, "diff", "prepend" if extra is prepend else "append")
        if extra._data.ndim != data.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        for k, (a, b) in enumerate(zip(data.shape, extra._data.shape)):
            if k != axis and a != b:
                raise RuntimeError(
                    "diff expects the shape of tensor to prepend or append to match that of "
                    f"input except along the differencing dimension; input.size({k}) = {a}, "
                    f"but got tensor.size({k}) = {b}")
    if n == 0 and prepend is None and append is None:
        return input.clone()
    if prepend is not None or append is not None:
        input = cat([t for t in (prepend, input, append) if t is not None], axis)
    m = math_ns()
    for _ in range(n):
        size = input._data.shape[axis]
        if size == 0:
            break
        later, earlier = narrow(input, axis, 1, size - 1), narrow(input, axis, 0, size - 1)
        input = m.logical_xor(later, earlier) if input.dtype == dt.bool else later - earlier
    return input


def _trapezoid_args(name: str, y: Tensor, x, dx, dim):
    check_tensor(y, name, "y")
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments: pass either "
                        "x or dx, not both")
    axis = wrap_dim(dim, y._data.ndim)
    if y._data.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not y.is_floating_point():
        y = y.to(dt.get_default_dtype())
    return y, axis


def _spacing(name: str, y: Tensor, x: Tensor, axis: int) -> Tensor:
    """``diff(x)`` along ``axis``, a 1-D ``x`` laid along it."""
    check_tensor(x, name, "x")
    if x._data.ndim == 1:
        if x._data.shape[0] != y._data.shape[axis]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y._data.ndim
        shape[axis] = -1
        x = x.reshape(shape)
        return diff(x, dim=axis)
    return diff(x, dim=axis - y._data.ndim)


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: sample points ``x`` (a tensor) or a constant
    spacing ``dx`` (default 1)."""
    y, axis = _trapezoid_args("trapezoid", y, x, dx, dim)
    n = y._data.shape[axis]
    if n == 0:  # (nothing to differentiate, as in PyTorch)
        return y.sum(axis).detach() * 0
    later, earlier = narrow(y, axis, 1, n - 1), narrow(y, axis, 0, n - 1)
    if x is not None:
        return (_spacing("trapezoid", y, x, axis) * (later + earlier)).sum(axis) / 2
    spacing = 1 if dx is None else dx
    ends = narrow(y, axis, 0, 1).squeeze(axis) + narrow(y, axis, n - 1, 1).squeeze(axis)
    return (y.sum(axis) - ends * 0.5) * spacing


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """``trapezoid`` (its older name)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal rule along ``dim`` (one entry fewer than ``y`` there)."""
    y, axis = _trapezoid_args("cumulative_trapezoid", y, x, dx, dim)
    n = y._data.shape[axis]
    if n == 0:
        return cumsum(narrow(y, axis, 0, 0), axis)
    later, earlier = narrow(y, axis, 1, n - 1), narrow(y, axis, 0, n - 1)
    if x is not None:
        areas = _spacing("cumulative_trapezoid", y, x, axis) * (later + earlier) / 2
    else:
        areas = (1 if dx is None else dx) * (later + earlier) / 2
    return cumsum(areas, axis)


METHODS = {"cummax": cummax, "cummin": cummin, "cumprod": cumprod,
           "logcumsumexp": logcumsumexp, "diff": diff}
