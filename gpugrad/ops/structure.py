"""Structural ops: ``block_diag``, ``rot90``, ``cartesian_prod``, ``combinations``, ``meshgrid``,
``broadcast_tensors`` and ``broadcast_shapes``, the index factories ``tril_indices`` and
``triu_indices``, ``unravel_index``, and the in-place forms ``tril_``, ``triu_`` and the shape
ops ``t_``, ``transpose_`` (``swapaxes_``, ``swapdims_``), ``squeeze_``, ``unsqueeze_``."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from functools import partial

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..size import Size
from . import inplace
from ._inplace_graph import needs_graph
from ._util import Tensor, check_tensor, math_ns, wrap_dim
from .select import tril, triu
from .shape import Squeeze, SqueezeAll, SqueezeDims, T, Transpose, Unsqueeze, expand
from .shape import reshape as _reshape

__all__ = ["block_diag", "rot90", "cartesian_prod", "combinations", "meshgrid",
           "broadcast_tensors", "broadcast_shapes", "tril_indices", "triu_indices",
           "unravel_index"]


# ---------------------------------------------------------------------- block_diag, rot90
class BlockDiag(Function):
    """The blocks on the diagonal of zeros; backward slices each block's gradient out."""

    node_name = "BlockDiagBackward0"

    @staticmethod
    def forward(ctx, dtype, *blocks):
        shapes = [_as_matrix(b._data.shape) for b in blocks]
        ctx.spans = []
        r = c = 0
        for h, w in shapes:
            ctx.spans.append((slice(r, r + h), slice(c, c + w)))
            r, c = r + h, c + w
        xp = blocks[0]._backend.xp
        out = xp.zeros((r, c), dtype=dtype)
        for b, (h, w), span in zip(blocks, shapes, ctx.spans):
            out[span] = b._data.reshape(h, w)
        ctx.shapes = [b._data.shape for b in blocks]
        return blocks[0]._new(out)

    @staticmethod
    def backward(ctx, grad):
        return (None,) + tuple(grad[span].reshape(shape) if need else None
                               for span, shape, need in zip(ctx.spans, ctx.shapes,
                                                            ctx.needs_input_grad[1:]))


def _as_matrix(shape: tuple) -> tuple:
    return (1, 1) if not shape else (1, shape[0]) if len(shape) == 1 else shape


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix of the inputs (0-d and 1-D inputs are one-row matrices), in
    their promoted dtype."""
    for i, t in enumerate(tensors):
        check_tensor(t, "block_diag", f"tensors[{i}]")
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {i} has {t.ndim} dimensions")
    if not tensors:
        return math_ns().zeros(1, 0)
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = dt.promote_types(dtype, t.dtype)
    return BlockDiag.apply(dtype.np, *tensors)


class Rot90(Function):
    node_name = "Rot90Backward0"

    @staticmethod
    def forward(ctx, x, k, dims):
        ctx.k, ctx.dims = k, dims
        return x._new(x._backend.xp.rot90(x._data, k, dims).copy())

    @staticmethod
    def backward(ctx, grad):
        return Rot90.apply(grad, -ctx.k, ctx.dims), None, None

    def _array_backward(self, grad):
        return self._backend.xp.rot90(grad, -self.k, self.dims).copy(), None, None


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """``input`` turned by ``k`` quarter turns in the plane of ``dims``, from the first dim
    towards the second."""
    check_tensor(input, "rot90")
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    if dims[0] == dims[1] or abs(dims[0] - dims[1]) == input.ndim:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    return Rot90.apply_unary(input, int(k) % 4, (d0, d1))


# ---------------------------------------------------------------------- grids and products
def _same_dtype_list(tensors, fn: str) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        check_tensor(t, fn, f"tensors[{i}]")
    if not tensors:
        raise RuntimeError(f"{fn} expects a non-empty TensorList")
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    return tensors


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Grids of coordinates: output ``i`` holds ``tensors[i]`` along dim ``i`` (``'ij'``), the
    first two dims swapped for ``'xy'``; each is an expanded view."""
    tensors = _same_dtype_list(tensors, "meshgrid")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got a {t.ndim}-D tensor")
    sizes = [t.numel() for t in tensors]
    places = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
        places[0], places[1] = 1, 0
    out = []
    for t, p in zip(tensors, places):
        shape = [1] * len(tensors)
        shape[p] = t.numel()
        out.append(expand(_reshape(t, tuple(shape)), tuple(sizes)))
    return tuple(out)


def cartesian_prod(*tensors) -> Tensor:
    """All tuples of one element of each 1-D input, one per row (the last input varying
    fastest); one input comes back as it is."""
    tensors = _same_dtype_list(tensors, "cartesian_prod")
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return math_ns().stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The ``r``-element combinations of a 1-D input's elements, one per row, in order
    (``itertools.combinations``, or ``combinations_with_replacement``)."""
    check_tensor(input, "combinations")
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input[:0]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[input._new(input._backend.asarray(rows))]


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of ``shapes`` (ints or sequences of ints) broadcast to."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    for s in shapes:
        if any(n < 0 for n in s):
            raise ValueError("Attempting to broadcast a dimension with negative length!")
    out = [1] * max((len(s) for s in shapes), default=0)
    for i, s in enumerate(shapes):
        for k in range(1, len(s) + 1):
            have, n = out[-k], s[-k]
            if have == 1:
                out[-k] = n
            elif n != 1 and n != have:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {n} at {-k}! "
                                   f"Mismatching argument at index {i} had {s}; but expected "
                                   f"shape should be broadcastable to {out}")
    return Size(out)


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded (as views) to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        check_tensor(t, "broadcast_tensors", f"tensors[{i}]")
    try:
        shape = tuple(broadcast_shapes(*[t.shape for t in tensors]))
    except RuntimeError:
        shape = None
    if shape is None:
        for a, b in itertools.combinations(tensors, 2):  # PyTorch's message, the first pair
            for k in range(1, min(a.ndim, b.ndim) + 1):
                if a.shape[-k] != b.shape[-k] and 1 not in (a.shape[-k], b.shape[-k]):
                    raise RuntimeError(
                        f"The size of tensor a ({a.shape[-k]}) must match the size of tensor b "
                        f"({b.shape[-k]}) at non-singleton dimension "
                        f"{max(a.ndim, b.ndim) - k}")
    return tuple(t if tuple(t.shape) == shape else expand(t, shape) for t in tensors)


# ---------------------------------------------------------------------- index factories
def _triangle_indices(row: int, col: int, offset: int, dtype, device, upper: bool) -> Tensor:
    name = "triu_indices" if upper else "tril_indices"
    for what, n in (("row", row), ("col", col)):
        if n < 0:
            raise RuntimeError(f"{what} must be non-negative, got{n}")
    dtype = math_ns().int64 if dtype is None else dtype
    if dtype.is_floating_point or dtype.name == "bool":
        raise NotImplementedError(f'"{name}" not implemented for '
                                  f"'{dt.SCALAR_TYPE_NAMES.get(dtype.name, dtype.name)}'")
    pick = np.triu_indices if upper else np.tril_indices
    rows, cols = pick(row, offset, col)
    return math_ns().tensor(np.stack([rows, cols]).reshape(2, -1), dtype=dtype, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The (row, column) coordinates of the lower triangle (on and below diagonal ``offset``)
    of a ``row`` x ``col`` matrix, as a 2 x N tensor in row-major order."""
    return _triangle_indices(row, col, offset, dtype, device, False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The (row, column) coordinates of the upper triangle (on and above diagonal
    ``offset``), as ``tril_indices``."""
    return _triangle_indices(row, col, offset, dtype, device, True)


def unravel_index(indices: Tensor, shape) -> tuple:
    """The coordinates in an array of ``shape`` of the flat (row-major) positions ``indices``
    (an integer tensor), one int64 tensor of ``indices``' shape per dimension. Positions wrap
    modulo each dimension, as PyTorch's: negative or too large positions are not errors."""
    if indices.dtype.is_floating_point or indices.dtype == dt.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    if isinstance(shape, int):  # PyTorch takes Python ints only (not NumPy's)
        shape = (shape,)
    elif not isinstance(shape, Sequence):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    for size in shape:
        if not isinstance(size, int):
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got "
                            f"{type(size)}")
    shape = tuple(int(size) for size in shape)
    if any(size < 0 for size in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    # coordinate k is (index // prod(shape[k+1:])) % shape[k], floor division and modulo
    strides = [math.prod(shape[k + 1:]) for k in range(len(shape))]
    if max(strides + list(shape), default=0) > np.iinfo(np.int64).max:
        raise ValueError("Overflow when unpacking long long")
    ns = math_ns()
    as_long = partial(ns.tensor, dtype=dt.int64, device=indices.device)
    coords = indices.unsqueeze(-1).floor_divide(as_long(strides)) % as_long(shape)
    return coords.unbind(-1)


# ---------------------------------------------------------------------- in-place forms
def tril_(self: Tensor, diagonal: int = 0) -> Tensor:
    """In-place ``tril``."""
    return inplace._apply(self, lambda s: tril(s, diagonal), (), adopt_output=True)


def triu_(self: Tensor, diagonal: int = 0) -> Tensor:
    """In-place ``triu``."""
    return inplace._apply(self, lambda s: triu(s, diagonal), (), adopt_output=True)


class TInplace(T):
    node_name = "TBackward1"


class TransposeInplace(Transpose):
    node_name = "TransposeBackward1"


class UnsqueezeInplace(Unsqueeze):
    node_name = "UnsqueezeBackward1"


class SqueezeAllInplace(SqueezeAll):
    node_name = "SqueezeBackward3"


class SqueezeInplace(Squeeze):
    node_name = "SqueezeBackward4"


class SqueezeDimsInplace(SqueezeDims):
    node_name = "SqueezeBackward5"


def _restride(self: Tensor, node, *params) -> Tensor:
    """Give ``self`` the layout of ``node``'s view of it (the same memory), and, when the write
    is recorded, that node as its history, as PyTorch's in-place view ops do."""
    if needs_graph(self):
        out = node.apply_unary(self, *params)
        self.grad_fn, self._output_nr = out.grad_fn, out._output_nr
    else:
        with no_grad():
            out = node.apply_unary(self, *params)
    self._data = out._data
    self._vc.value += 1
    return self


def t_(self: Tensor) -> Tensor:
    """In-place ``t``: the tensor (at most 2-D) takes its transposed layout."""
    if self.ndim > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return _restride(self, TInplace, 0, 1 if self.ndim == 2 else 0)


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place ``transpose``."""
    n = self.ndim
    return _restride(self, TransposeInplace, wrap_dim(dim0, n), wrap_dim(dim1, n))


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """In-place ``unsqueeze``."""
    shape = tuple(self.shape)
    d = wrap_dim(dim, len(shape) + 1)
    return _restride(self, UnsqueezeInplace, shape[:d] + (1,) + shape[d:])


def squeeze_(self: Tensor, dim=None) -> Tensor:
    """In-place ``squeeze``."""
    shape = tuple(self.shape)
    n = len(shape)
    if dim is None:
        dims, node = range(n), SqueezeAllInplace
    elif isinstance(dim, (tuple, list)):
        dims, node = [wrap_dim(d, n) for d in dim], SqueezeDimsInplace
    else:
        dims, node = [wrap_dim(dim, n)], SqueezeInplace
    new = tuple(s for i, s in enumerate(shape) if not (s == 1 and i in dims))
    return _restride(self, node, new)


METHODS = {
    "rot90": rot90, "tril_": tril_, "triu_": triu_, "t_": t_, "transpose_": transpose_,
    "swapaxes_": transpose_, "swapdims_": transpose_, "unsqueeze_": unsqueeze_,
    "squeeze_": squeeze_,
}
