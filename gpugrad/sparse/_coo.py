"""Sparse COO tensors: a ``(sparse_dim, nnz)`` int64 tensor of coordinates and a
``(nnz, *dense_dims)`` tensor of values, standing for the dense tensor that is zero elsewhere
and sums the values listed at one coordinate more than once.

Every op on them is a composition of dense ops on the values with index arrays computed from
the coordinates (``index_add`` sums duplicates and scatters, ``index_select`` gathers), so their
gradients, second order and the CUDA path are those ops'. The values tensor is the one place
where a sparse tensor meets the graph: its ``requires_grad``, ``grad_fn`` and ``grad`` are the
values', and a sparse tensor made from values that require grad records one identity node,
named as PyTorch's, between them.

A sparse tensor is a ``Tensor`` (``isinstance`` holds), but it has no dense array: a dense op
reaching for one raises ``NotImplementedError`` naming the layout, where PyTorch raises its
"Could not run ... with arguments from the 'SparseCPU' backend".
"""

from __future__ import annotations

import math

from .. import _dtype as dt
from .._format import _with_suffixes, array_text, shows_dtype
from .._tensor_metadata import NoDenseArray
from .._typeinfo import sparse_coo
from ..autograd.function import Function
from ..size import Size
from ..tensor import Tensor

__all__ = ["SparseCooTensor", "accumulate_grad"]


class SparseCooTensorWithDimsAndTensors(Function):
    """The identity from a values tensor to the sparse tensor built on it (PyTorch's node
    between the two): the gradient that reaches the sparse tensor's values passes on."""

    node_name = "SparseCooTensorWithDimsAndTensorsBackward0"

    @staticmethod
    def forward(ctx, values):
        return values

    @staticmethod
    def backward(ctx, grad):
        return grad


def _no_dense_array(self, value=None):
    raise NoDenseArray(
        "this operation is not supported for sparse COO tensors (layout gpugrad.sparse_coo): "
        "gpugrad's sparse tensors take products (sparse.mm, mm, matmul, addmm, mv), "
        "sparse.sum/softmax/log_softmax, scalar *, /, unary -, + and - with a tensor of the same "
        "size, coalesce, t/transpose and to_dense(); call to_dense() first for other ops")


class SparseCooTensor(Tensor):
    """A tensor of layout ``sparse_coo`` (made by ``gpugrad.sparse_coo_tensor`` or
    ``Tensor.to_sparse``)."""

    _data = property(_no_dense_array, _no_dense_array)
    is_sparse = True
    layout = sparse_coo

    @classmethod
    def _wrap(cls, indices: Tensor, values: Tensor, size, coalesced: bool) -> SparseCooTensor:
        """The sparse tensor on ``indices`` (an int64 Tensor on ``values``' device) and
        ``values`` as they are (no checks, no copies)."""
        t = object.__new__(cls)
        t._backend = values._backend
        t._vc = values._vc
        t._base = t._view_of = None
        t._indices_t, t._values_t = indices, values
        t._size = tuple(size)
        t._coalesced = coalesced
        return t

    # ---------------------------------------------------------------- autograd: the values'
    @property
    def _requires_grad(self):
        return self._values_t._requires_grad

    @property
    def grad_fn(self):
        return self._values_t.grad_fn

    def requires_grad_(self, requires_grad: bool = True) -> SparseCooTensor:
        self._values_t.requires_grad_(requires_grad)
        return self

    @property
    def requires_grad(self) -> bool:
        return bool(self._values_t._requires_grad)

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._values_t.requires_grad = value

    @property
    def grad(self):
        """The gradient of a leaf: a sparse tensor on this one's coordinates, each listed once
        (an entry listed twice gets the gradient of its element once, as in PyTorch)."""
        g = self._values_t.grad
        if g is None or self._coalesced:
            return None if g is None else self._with_values(g)
        lin = _linear(self._indices_t._data, self._size[:self.sparse_dim()])
        _, first = self._backend.xp.unique(lin, return_index=True)
        first = Tensor._make(first, self._backend)
        return SparseCooTensor._wrap(self._indices_t.index_select(1, first),
                                     g.index_select(0, first), self._size, False)

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            raise NotImplementedError("gpugrad: only None can be assigned to a sparse tensor's "
                                      ".grad")
        self._values_t.grad = None

    def zero_(self) -> SparseCooTensor:
        """No entries any more (PyTorch's ``zero_`` of a sparse tensor), in place."""
        xp = self._backend.xp
        v = self._values_t
        self._indices_t = Tensor._make(xp.zeros((self.sparse_dim(), 0), xp.int64),
                                       self._backend)
        self._values_t = Tensor._make(xp.zeros((0,) + tuple(v.shape[1:]), v._data.dtype),
                                      self._backend)
        self._coalesced = True
        return self

    def _write_(self, value) -> None:  # (what Optimizer.zero_grad(set_to_none=False) calls)
        if value != 0:
            raise NotImplementedError("gpugrad: filling a sparse tensor with a nonzero value")
        self.zero_()

    def detach(self) -> SparseCooTensor:
        return self._with_values(self._values_t.detach())

    def clone(self, *, memory_format=None) -> SparseCooTensor:
        return SparseCooTensor._wrap(self._indices_t.clone(), self._values_t.clone(), self._size,
                                     self._coalesced)

    def __deepcopy__(self, memo):
        copy = SparseCooTensor._wrap(self._indices_t.clone(), self._values_t.detach().clone(),
                                     self._size, self._coalesced)
        if self._values_t.is_leaf and self.requires_grad:
            copy.requires_grad_(True)
        memo[id(self)] = copy
        return copy

    def _with_values(self, values: Tensor) -> SparseCooTensor:
        return SparseCooTensor._wrap(self._indices_t, values, self._size, self._coalesced)

    # ------------------------------------------------------------------------- metadata
    @property
    def shape(self):
        return Size(self._size)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._size)
        return self._size[self._wrap_dim(dim)]

    def _wrap_dim(self, dim: int) -> int:
        n = len(self._size)
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, "
                             f"{n - 1}], but got {dim})")
        return dim % n

    @property
    def ndim(self) -> int:
        return len(self._size)

    def dim(self) -> int:
        return len(self._size)

    ndimension = dim

    def numel(self) -> int:
        return math.prod(self._size)

    nelement = numel

    @property
    def dtype(self):
        return self._values_t.dtype

    def is_floating_point(self) -> bool:
        return self._values_t.is_floating_point()

    def is_complex(self) -> bool:
        return self._values_t.is_complex()

    def element_size(self) -> int:
        return self._values_t.element_size()

    def stride(self, dim=None):
        raise RuntimeError("Sparse tensors do not have strides")

    def is_contiguous(self, memory_format=None) -> bool:
        raise RuntimeError("Tensors of type SparseTensorImpl do not have is_contiguous")

    def data_ptr(self) -> int:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def sparse_dim(self) -> int:
        return self._indices_t.shape[0]

    def dense_dim(self) -> int:
        return self._values_t.ndim - 1

    def _nnz(self) -> int:
        return self._values_t.shape[0]

    def is_coalesced(self) -> bool:
        return self._coalesced

    def _indices(self) -> Tensor:
        return self._indices_t

    def _values(self) -> Tensor:
        """The values as stored, outside the graph (PyTorch's ``_values`` is not
        differentiable; ``values()`` is)."""
        return self._values_t.detach()

    def indices(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._indices_t

    def values(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._values_t

    def __len__(self) -> int:
        if not self._size:
            raise TypeError("len() of a 0-d tensor")
        return self._size[0]

    def __repr__(self) -> str:
        return _sparse_repr(self)

    # ---------------------------------------------------------------------- conversions
    def to(self, *args, **kwargs) -> SparseCooTensor:
        """Values (and coordinates, to the values' device) converted as ``Tensor.to``."""
        values = self._values_t.to(*args, **kwargs)
        if values is self._values_t:
            return self
        indices = self._indices_t
        if values._backend is not indices._backend:
            indices = indices.to(values.device)
        return SparseCooTensor._wrap(indices, values, self._size, self._coalesced)

    def cpu(self) -> SparseCooTensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> SparseCooTensor:
        return self.to("cuda" if device is None else device)

    def double(self) -> SparseCooTensor:
        return self.to(dt.float64)

    def float(self) -> SparseCooTensor:
        return self.to(dt.float32)

    def half(self) -> SparseCooTensor:
        return self.to(dt.float16)

    def long(self) -> SparseCooTensor:
        return self.to(dt.int64)

    def int(self) -> SparseCooTensor:
        return self.to(dt.int32)

    def bool(self) -> SparseCooTensor:
        return self.to(dt.bool)

    def type_as(self, other) -> SparseCooTensor:
        return self.to(other.dtype)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor: the values summed into zeros at their coordinates."""
        values = self._values_t
        sizes = self._size[:self.sparse_dim()]
        flat = values.new_zeros((math.prod(sizes),) + tuple(values.shape[1:]))
        position = Tensor._make(_linear(self._indices_t._data, sizes), self._backend)
        out = flat.index_add(0, position, values).view(self._size)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, *args, **kwargs) -> SparseCooTensor:
        return self

    to_sparse_coo = to_sparse

    def coalesce(self) -> SparseCooTensor:
        """Coordinates sorted and unique; the values at a repeated coordinate summed."""
        if self._coalesced:
            return self
        indices, values = _merge(self._indices_t, self._values_t, self._size,
                                 list(range(self.sparse_dim())))
        return SparseCooTensor._wrap(indices, values, self._size, True)

    # -------------------------------------------------------------------- shape and math
    def transpose(self, dim0: int, dim1: int) -> SparseCooTensor:
        d0, d1 = self._wrap_dim(dim0), self._wrap_dim(dim1)
        n = self.sparse_dim()
        if (d0 < n) != (d1 < n):
            raise RuntimeError("transpose: cannot swap a sparse dimension with a dense one")
        size = list(self._size)
        size[d0], size[d1] = size[d1], size[d0]
        if d0 >= n:  # two dense dims: the values' own
            return SparseCooTensor._wrap(self._indices_t,
                                         self._values_t.transpose(d0 - n + 1, d1 - n + 1),
                                         size, self._coalesced)
        order = list(range(n))
        order[d0], order[d1] = order[d1], order[d0]
        indices = self._indices_t[order]
        return SparseCooTensor._wrap(indices, self._values_t, size,
                                     self._coalesced and (d0 == d1 or self._nnz() < 2))

    def index_select(self, dim: int, index) -> SparseCooTensor:
        """The slices at ``index`` (1-D integers, repeats allowed) along ``dim``: along a sparse
        dim, an entry for each (position in ``index``, entry at that coordinate) pair, in that
        order, as PyTorch's."""
        d = self._wrap_dim(dim)
        if not isinstance(index, Tensor) or index.dtype not in (dt.int64, dt.int32):
            raise IndexError("index_select(): Expected dtype int32 or int64 for index")
        if index.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        xp = self._backend.xp
        wanted = index._data.reshape(-1).astype(xp.int64)
        if wanted.size and (int(wanted.min()) < -self._size[d] or
                            int(wanted.max()) >= self._size[d]):
            raise IndexError("index out of range in self")
        wanted = wanted % self._size[d] if wanted.size else wanted
        size = list(self._size)
        size[d] = wanted.size
        n = self.sparse_dim()
        if d >= n:  # a dense dim: the values' own
            return SparseCooTensor._wrap(self._indices_t, self._values_t.index_select(
                d - n + 1, Tensor._make(wanted, self._backend)), size, self._coalesced)
        position, entries = _matches(self._indices_t._data[d], wanted, xp)
        indices = self._indices_t._data[:, entries]
        indices[d] = position
        picked = Tensor._make(entries, self._backend)
        return SparseCooTensor._wrap(Tensor._make(indices, self._backend),
                                     self._values_t.index_select(0, picked), size,
                                     entries.size < 2)

    def t(self) -> SparseCooTensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> SparseCooTensor:
        return self.t()

    def __mul__(self, other):
        from ._math import mul

        return mul(self, other)

    __rmul__ = mul = __mul__

    def __truediv__(self, other):
        if isinstance(other, Tensor) and (other.is_sparse or other.ndim != 0):
            raise RuntimeError(f"Sparse division requires a scalar or zero-dim dense tensor "
                               f"divisor (got shape {list(other.shape)} for divisor)")
        return self._with_values(self._values_t / other)

    div = __truediv__

    def __neg__(self) -> SparseCooTensor:
        return self._with_values(-self._values_t)

    neg = __neg__

    def __pow__(self, exponent):
        from ._math import power

        return power(self, exponent)

    pow = __pow__

    def __getitem__(self, key):
        from ._math import getitem

        return getitem(self, key)

    def select(self, dim: int, index: int):
        from ._math import select

        return select(self, dim, index)

    def unsqueeze(self, dim: int) -> SparseCooTensor:
        from ._math import unsqueeze

        return unsqueeze(self, dim)

    def __add__(self, other):
        return self.add(other)

    def add(self, other, *, alpha=1):
        if not isinstance(other, SparseCooTensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        return _sparse_sum(self, other if alpha == 1 else other * alpha)

    def __sub__(self, other):
        return self.sub(other)

    def sub(self, other, *, alpha=1):
        if not isinstance(other, SparseCooTensor):
            raise RuntimeError("sub(sparse, dense) is not supported. Use sub(dense, sparse) "
                               "instead.")
        return _sparse_sum(self, other * -alpha)

    # A dense tensor on the left: Python asks this subclass's reflected operator first.
    def __radd__(self, other):
        return other + self.to_dense()

    def __rsub__(self, other):
        return other - self.to_dense()

    def mm(self, mat2) -> Tensor:
        from ..ops.linalg import mm

        return mm(self, mat2)

    def matmul(self, other) -> Tensor:
        from ._products import sparse_matmul

        return sparse_matmul(self, other)

    def __matmul__(self, other):
        from ._products import sparse_matmul

        return sparse_matmul(self, other)

    def __rmatmul__(self, other):
        from ._products import sparse_matmul

        return sparse_matmul(other, self)

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        from . import sum as sparse_sum

        if keepdim:
            raise NotImplementedError("gpugrad: sum of a sparse tensor with keepdim=True")
        return sparse_sum(self, dim, dtype=dtype)


def accumulate_grad(t: Tensor, g: SparseCooTensor) -> None:
    """Add the sparse gradient ``g`` into ``t.grad`` (``t`` dense): it stays sparse while
    ``.grad`` is None or sparse (the entries of both listed together, as PyTorch's), and is
    added into a dense ``.grad`` in place."""
    old = t._grad
    if old is None or (old.is_sparse and old._nnz() == 0):
        t._grad = g
    elif old.is_sparse and old.sparse_dim() != g.sparse_dim():
        t._grad = old.to_dense()
        accumulate_grad(t, g)
    elif old.is_sparse:
        t._grad = _joined(old, g)
    else:
        old._backend.add_at(old._data, tuple(g._indices_t._data), g._values_t._data)
        old._vc.value += 1


def _joined(a: SparseCooTensor, b: SparseCooTensor) -> SparseCooTensor:
    """The entries of ``a`` and of ``b`` (one size, one sparse_dim) listed together, in
    ``a``'s dtype: the tensor of ``a + b``, not coalesced."""
    from ..ops.join import cat

    return SparseCooTensor._wrap(cat([a._indices_t, b._indices_t], 1),
                                 cat([a._values_t, b._values_t.to(a.dtype)]), a._size, False)


def _sparse_sum(a: SparseCooTensor, b: SparseCooTensor) -> SparseCooTensor:
    """``a + b`` for two sparse tensors of one size: their entries together, coalesced."""
    if a._size != b._size:
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has "
                           f"size {list(a._size)} while other has size {list(b._size)} (FYI: "
                           "op2-sparse addition does not currently support broadcasting)")
    if a.sparse_dim() != b.sparse_dim():
        raise RuntimeError("add: expected 'self' and 'other' to have the same sparse_dim")
    return _joined(a, b).coalesce()


# ------------------------------------------------------------------------- coordinates
def _linear(data, sizes):
    """Each entry's position in the row-major flattening of the sparse dims ``sizes``, for the
    coordinate array ``data`` (one row per dim of ``sizes``)."""
    lin = data[0] if len(sizes) else data.sum(0)
    for k in range(1, len(sizes)):
        lin = lin * sizes[k] + data[k]
    return lin


def _groups(indices: Tensor, size, dims) -> tuple:
    """The entries grouped by their coordinates along ``dims`` (sparse dims): the distinct
    coordinates' linear positions, sorted, and each entry's group (an int64 Tensor)."""
    xp = indices._backend.xp
    data = indices._data[list(dims)]
    unique, inverse = xp.unique(_linear(data, [size[d] for d in dims]), return_inverse=True)
    return unique, Tensor._make(inverse.reshape(-1), indices._backend)


def _merge(indices: Tensor, values: Tensor, size, dims) -> tuple:
    """The coordinates along ``dims`` (sparse dims) of the distinct entries, sorted, and the
    values of the entries that share them summed (differentiable in ``values``)."""
    sizes = [size[d] for d in dims]
    xp = indices._backend.xp
    unique, group = _groups(indices, size, dims)
    coords = xp.stack(xp.unravel_index(unique, sizes)) if sizes else \
        xp.zeros((0, len(unique)), dtype=unique.dtype)
    new_indices = Tensor._make(coords.astype(xp.int64).reshape(len(sizes), -1), indices._backend)
    summed = values.new_zeros((len(unique),) + tuple(values.shape[1:])).index_add(0, group,
                                                                                  values)
    return new_indices, summed


def _matches(keys, queries, xp) -> tuple:
    """Every (query, entry) pair whose entry's key equals the query: the query positions and
    the entry positions, ordered by query, then by entry."""
    order = xp.argsort(keys, kind="stable")
    ranked = keys[order]
    low = xp.searchsorted(ranked, queries, side="left")
    counts = xp.searchsorted(ranked, queries, side="right") - low
    total = int(counts.sum())
    query = xp.repeat(xp.arange(queries.size), counts)
    first = xp.repeat(low - (xp.cumsum(counts) - counts), counts)
    return query, order[first + xp.arange(total)]


# ------------------------------------------------------------------------------- repr
def _sparse_repr(s: SparseCooTensor) -> str:
    backend = s._backend
    indent = len("tensor(")
    parts = []
    for name, t in (("indices", s._indices_t), ("values", s._values_t)):
        arr = backend.to_numpy(t._data)
        prefix = f"{name}=tensor("
        text = array_text(arr, indent + len(prefix))
        if arr.size == 0:
            text += f", size={tuple(arr.shape)}"
        parts.append(prefix + text + ")")
    suffixes = []
    if s.device.type != "cpu":
        suffixes.append(f"device='{s.device}'")
    suffixes += [f"size={s._size}", f"nnz={s._nnz()}"]
    if shows_dtype(s.dtype):
        suffixes.append(f"dtype=gpugrad.{s.dtype.name}")
    suffixes.append(f"layout={sparse_coo}")
    if s.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(s.grad_fn).__name__}>")
    elif s.requires_grad:
        suffixes.append("requires_grad=True")
    text = "tensor(" + (",\n" + " " * indent).join(parts)
    return _with_suffixes(text, suffixes, indent, newline=True)
