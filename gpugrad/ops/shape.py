"""Shape ops. Those that can return views do (sharing memory and the version counter)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype as dt
from .._warnings import warn_user, warn_user_once
from ..autograd.function import ViewFunction
from ..autograd.views import track
from ._shape_args import _expanded_shape, _resolve_shape, _shape_args, _viewable
from ._util import Tensor, wrap_dim
from .reinterpret import view_as_dtype

__all__ = [
    "reshape", "expand", "broadcast_to", "transpose", "swapaxes", "swapdims", "permute", "t",
    "flatten", "unflatten", "ravel", "squeeze", "unsqueeze", "movedim", "moveaxis", "adjoint",
]


class Reshape(ViewFunction):
    """A new shape: a view of C-contiguous data (``_reshaped`` sends only those to
    ``apply_view``); elsewhere a view where NumPy's layout rule allows one, else a copy."""

    node_name = "ViewBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        data = x._data
        ctx.shape = data.shape
        return data.reshape(params[0])

    @staticmethod
    def forward(ctx, x, shape):
        data = x._data
        out = Reshape.view_array(ctx, x, (shape,))
        if data.flags.c_contiguous or x._backend.xp.may_share_memory(out, data):
            return x._view(out)
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None

    def _array_backward(self, grad):
        return grad.reshape(self.shape), None


def _reshaped(cls, input: Tensor, shape: tuple) -> Tensor:
    """``input`` in ``shape`` through the Reshape op ``cls``: the one-pass view path for
    C-contiguous data (always a view), the general one (a view or a copy) elsewhere."""
    if input._data.flags.c_contiguous:
        return cls.apply_view(input, shape)
    return track(cls.apply(input, shape), input)


def reshape(input: Tensor, *shape) -> Tensor:
    """The same data with a new shape: a view when the memory layout allows, else a copy."""
    shape = _resolve_shape(shape, input._data.size)
    if shape == input._data.shape and not input._requires_grad:
        return track(input._alias(), input)
    return _reshaped(Reshape, input, shape)


def view(self: Tensor, *shape, dtype=None) -> Tensor:
    """A view with a new shape; fails where the strides do not allow one (use ``reshape``).
    ``view(dtype)``: the same memory read as ``dtype`` (``reinterpret.py``)."""
    data = self._data
    if dtype is not None or (len(shape) == 1 and shape[0].__class__ is not int
                             and not isinstance(shape[0], (tuple, list, np.integer, Tensor))):
        return _view_dtype(self, shape, dtype)
    shape = _resolve_shape(shape, data.size)
    if data.flags.c_contiguous:
        return Reshape.apply_view(self, shape)
    if data.size > 1 and not _viewable(data, shape):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return track(Reshape.apply(self, shape), self)


def _view_dtype(self: Tensor, args: tuple, dtype) -> Tensor:
    if dtype is None and len(args) == 1:
        args, dtype = (), args[0]
    if args or not isinstance(dtype, dt.dtype):
        got = ", ".join(type(a).__name__ for a in args + (() if dtype is None else (dtype,)))
        raise TypeError(f"view() received an invalid combination of arguments - got ({got}), "
                        "but expected one of: (torch.dtype dtype), (tuple of ints size)")
    return view_as_dtype(self, dtype)


def view_as(self: Tensor, other: Tensor) -> Tensor:
    return view(self, other._data.shape)


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, other._data.shape)


class Expand(ViewFunction):
    node_name = "ExpandBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        data = x._data
        ctx.shape = data.shape
        return x._backend.broadcast_view(data, params[0])

    @staticmethod
    def backward(ctx, grad):
        return grad.sum_to_size(ctx.shape), None

    def _array_backward(self, grad):
        return self._backend.sum_to_shape(grad, self.shape), None


_EXPANDED: dict = {}  # (sizes of plain ints, input shape) -> expand's checked shape


def expand(self: Tensor, *sizes) -> Tensor:
    """A broadcast view to ``sizes`` (``-1`` keeps a dim); no memory is copied."""
    have = self._data.shape
    if len(sizes) == 1 and sizes[0].__class__ in (tuple, list):
        sizes = tuple(sizes[0])
    for n in sizes:
        if n.__class__ is not int:
            shape = _expanded_shape(_shape_args(sizes), have)
            break
    else:
        key = (sizes, have)
        shape = _EXPANDED.get(key)
        if shape is None:
            shape = _expanded_shape(sizes, have)
            if len(_EXPANDED) >= 4096:
                _EXPANDED.clear()
            _EXPANDED[key] = shape
    if shape == have and not self._requires_grad:
        return self
    return Expand.apply_view(self, shape)


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other._data.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    return expand(input, tuple(size))


class Permute(ViewFunction):
    node_name = "PermuteBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        ctx.dims = dims = params[0]
        return x._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(_inverse(ctx.dims)), None

    def _array_backward(self, grad):
        return grad.transpose(_inverse(self.dims)), None


def _inverse(dims: tuple) -> tuple:
    """The permutation that undoes ``dims``."""
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return tuple(inverse)


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
    return Permute.apply_view(input, dims)


class Transpose(ViewFunction):
    node_name = "TransposeBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        ctx.pair = (d0, d1) = params
        data = x._data
        return data.swapaxes(d0, d1) if data.ndim else data[...]

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.pair), None, None

    def _array_backward(self, grad):
        return (grad.swapaxes(*self.pair) if grad.ndim else grad), None, None


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with ``dim0`` and ``dim1`` swapped."""
    n = input._data.ndim
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    if n < 2 and d0 == d1 and not input._requires_grad:
        return track(input._alias(), input)
    return Transpose.apply_view(input, d0, d1)


swapaxes = swapdims = transpose


class T(Transpose):
    node_name = "TBackward0"


def t(input: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dims."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    if input._data.ndim < 2:
        return track(T.apply(input, 0, 0), input)
    return track(T.apply(input, 0, 1), input)


_T_DEPRECATED = (
    "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
    "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
    "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
    "tensor.")


def _T(self: Tensor) -> Tensor:
    n = self._data.ndim
    if n > 2:
        warn_user(_T_DEPRECATED)
    elif n == 0:
        warn_user_once("Tensor.T is deprecated on 0-D tensors. This function is the identity in "
                       "these cases.")
    return permute(self, tuple(range(n - 1, -1, -1))) if n >= 2 else transpose(self, 0, 0)


def _mT(self: Tensor) -> Tensor:
    if self._data.ndim < 2:
        raise RuntimeError(
            "tensor.mT is only supported on matrices or batches of matrices. Got "
            f"{self.ndim}-D tensor."
        )
    return transpose(self, -2, -1)


def _conj_transposed(self: Tensor, name: str, warned: str) -> Tensor:
    """``.mH``, ``.H`` and ``adjoint()``: the transpose of the last two dims (a real tensor is
    its own conjugate); a 0-d tensor is itself, with PyTorch's deprecation warning. ``name``
    and ``warned``: the op as PyTorch's error and warning show it."""
    n = self._data.ndim
    if n == 0:
        warnings.warn(f"{warned} is deprecated on 0-D tensors. Consider using x.conj().",
                      stacklevel=3)
        return self
    if n < 2:
        raise RuntimeError(f"{name} is only supported on matrices or batches of matrices. "
                           f"Got {n}-D tensor.")
    return transpose(self, -2, -1)


def _H(self: Tensor) -> Tensor:
    n = self._data.ndim
    if n != 2 and n != 0:
        hint = " For batches of matrices, consider using tensor.mH" if n > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {n}-D "
                           f"tensor.{hint}")
    return _conj_transposed(self, "tensor.H", "Tensor.H")


def _mH(self: Tensor) -> Tensor:
    return _conj_transposed(self, "tensor.mH", "Tensor.mH")


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims: for real tensors, ``transpose(-2, -1)``."""
    return _conj_transposed(input, "tensor.adjoint()", "adjoint()")


class Flatten(Reshape):
    node_name = "ViewBackward0"


class Squeeze(Reshape):
    node_name = "SqueezeBackward1"  # one dim


class SqueezeAll(Reshape):
    node_name = "SqueezeBackward0"


class SqueezeDims(Reshape):
    node_name = "SqueezeBackward2"  # a tuple of dims


class Unsqueeze(Reshape):
    node_name = "UnsqueezeBackward0"


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (a view when the layout allows); a 0-d
    tensor becomes 1-D."""
    shape = input._data.shape
    n = len(shape)
    start, end = wrap_dim(start_dim, n), wrap_dim(end_dim, n)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if n == 0:
        return reshape(input, 1)
    if start == end:
        return track(input._alias(), input) if not input._requires_grad else reshape(input, shape)
    merged = math.prod(shape[start:end + 1])
    return _reshaped(Flatten, input, shape[:start] + (merged,) + shape[end + 1:])


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view when contiguous)."""
    return reshape(input, -1)


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one entry may be -1); a view."""
    shape = input._data.shape
    d = wrap_dim(dim, len(shape))
    sizes = _shape_args((sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in sizes:
        known = math.prod(n for n in sizes if n != -1)
        if known and shape[d] % known == 0:
            sizes = tuple(shape[d] // known if n == -1 else n for n in sizes)
    if math.prod(sizes) != shape[d] or min(sizes) < 0:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} "
            f"({shape[d]}) in the input tensor"
        )
    return _reshaped(Reshape, input, shape[:d] + sizes + shape[d + 1:])


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dims of size 1 (all of them, or those of ``dim``: an int or a tuple); a view."""
    shape = input._data.shape
    n = len(shape)
    if dim is None:
        dims, cls = range(n), SqueezeAll
    elif isinstance(dim, (tuple, list)):
        dims, cls = [wrap_dim(d, n) for d in dim], SqueezeDims
    else:
        dims, cls = [wrap_dim(dim, n)], Squeeze
    new = tuple(s for i, s in enumerate(shape) if not (s == 1 and i in dims))
    if new == shape and not input._requires_grad:
        return track(input._alias(), input)
    return _reshaped(cls, input, new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim`` (in ``[-ndim-1, ndim]``); a view."""
    shape = input._data.shape
    d = wrap_dim(dim, len(shape) + 1)
    return _reshaped(Unsqueeze, input, shape[:d] + (1,) + shape[d:])


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or tuples); the others keep their
    order. A view."""
    n = input._data.ndim
    src = tuple(source) if isinstance(source, (tuple, list)) else (source,)
    dst = tuple(destination) if isinstance(destination, (tuple, list)) else (destination,)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    src = tuple(wrap_dim(d, n) for d in src)
    dst = tuple(wrap_dim(d, n) for d in dst)
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(dims)})")
    order = [d for d in range(n) if d not in src]
    for s_dim, d_dim in sorted(zip(dst, src)):
        order.insert(s_dim, d_dim)
    return permute(input, tuple(order))


moveaxis = movedim


METHODS = {
    "reshape": reshape, "view": view, "view_as": view_as, "reshape_as": reshape_as,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to,
    "permute": permute, "transpose": transpose, "swapaxes": transpose, "swapdims": transpose,
    "t": t, "T": property(_T), "mT": property(_mT), "H": property(_H),
    "mH": property(_mH), "adjoint": adjoint, "flatten": flatten, "ravel": ravel,
    "unflatten": unflatten, "squeeze": squeeze, "unsqueeze": unsqueeze, "movedim": movedim,
    "moveaxis": movedim,
}
