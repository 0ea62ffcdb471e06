"""Shape ops. Those that can return views do (sharing memory and the version counter)."""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ._util import Tensor, grad_state, wrap_dim

__all__ = ["reshape", "expand", "broadcast_to", "transpose", "swapaxes", "permute", "t"]


def _shape_args(shape) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for n in shape:
        if isinstance(n, Tensor):
            n = n.item()
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"shape must be a sequence of ints, got {type(n).__name__}")
        out.append(int(n))
    return tuple(out)


def _infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` in ``shape`` and check the element count."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(n < -1 for n in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    if -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if n == -1 else n for n in shape)
    if math.prod(shape) != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Function):
    node_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        data = x._data
        out = data.reshape(shape)
        if x._backend.xp.may_share_memory(out, data):
            return x._view(out)
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


def reshape(input: Tensor, *shape) -> Tensor:
    """The same data with a new shape: a view when the memory layout allows, else a copy."""
    shape = _infer_shape(_shape_args(shape), input._data.size)
    if shape == input._data.shape and not input._requires_grad:
        return input._alias()
    return Reshape.apply(input, shape)


def view(self: Tensor, *shape) -> Tensor:
    """A view with a new shape; fails where the strides do not allow one (use ``reshape``)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer, Tensor)):
        raise NotImplementedError("view(dtype) is not supported; use to(dtype)")
    shape = _infer_shape(_shape_args(shape), self._data.size)
    data = self._data
    if not data.flags.c_contiguous and data.size > 1:
        try:
            probe = data.view()
            probe.shape = shape
        except AttributeError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
    return Reshape.apply(self, shape)


def view_as(self: Tensor, other: Tensor) -> Tensor:
    return view(self, other._data.shape)


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, other._data.shape)


class Expand(Function):
    node_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        return x._view(x._backend.xp.broadcast_to(x._data, shape))

    @staticmethod
    def backward(ctx, grad):
        if grad_state.enabled:
            return grad.sum_to_size(ctx.shape), None
        return grad._new(grad._backend.sum_to_shape(grad._data, ctx.shape)), None


def expand(self: Tensor, *sizes) -> Tensor:
    """A broadcast view to ``sizes`` (``-1`` keeps a dim); no memory is copied."""
    sizes = _shape_args(sizes)
    have = self._data.shape
    if len(sizes) < len(have):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(have)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(have)})"
        )
    lead = len(sizes) - len(have)
    shape = []
    for i, n in enumerate(sizes):
        cur = have[i - lead] if i >= lead else None
        if n == -1:
            if cur is None:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            n = cur
        elif cur is not None and cur != n and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({n}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(have)}"
            )
        shape.append(n)
    shape = tuple(shape)
    if shape == have:
        return self if not self._requires_grad else Expand.apply(self, shape)
    return Expand.apply(self, shape)


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other._data.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    return expand(input, tuple(size))


class Permute(Function):
    node_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._view(x._data.transpose(dims))

    @staticmethod
    def backward(ctx, grad):
        inverse = tuple(np.argsort(ctx.dims).tolist())
        return grad.permute(inverse), None


def permute(input: Tensor, *dims) -> Tensor:
    """A view with the dims reordered."""
    dims = _shape_args(dims)
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    dims = tuple(wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims)


class Transpose(Function):
    node_name = "TransposeBackward0"

    @staticmethod
    def forward(ctx, x, d0, d1):
        ctx.pair = (d0, d1)
        return x._view(x._data.swapaxes(d0, d1))

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.pair), None, None


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with ``dim0`` and ``dim1`` swapped."""
    n = input._data.ndim
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    if n < 2 and d0 == d1:
        return input._alias() if not input._requires_grad else Transpose.apply(input, 0, 0)
    return Transpose.apply(input, d0, d1)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dims."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    if input._data.ndim < 2:
        return transpose(input, 0, 0)
    return transpose(input, 0, 1)


def _T(self: Tensor) -> Tensor:
    n = self._data.ndim
    return permute(self, tuple(range(n - 1, -1, -1))) if n >= 2 else transpose(self, 0, 0)


def _mT(self: Tensor) -> Tensor:
    if self._data.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return transpose(self, -2, -1)


METHODS = {
    "reshape": reshape, "view": view, "view_as": view_as, "reshape_as": reshape_as,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to,
    "permute": permute, "transpose": transpose, "swapaxes": transpose, "swapdims": transpose,
    "t": t, "T": property(_T), "mT": property(_mT),
}
