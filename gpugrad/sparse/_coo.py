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
from .._tensor_metadata import NoDenseArray
from .._typeinfo import sparse_coo
from ..autograd.function import Function
from ..size import Size
from ..tensor import Tensor
from ._coords import _linear, _merge

__all__ = ["SparseCooTensor"]


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
        from ._repr import sparse_repr

        return sparse_repr(self)

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
        from ._math import transpose

        return transpose(self, dim0, dim1)

    def index_select(self, dim: int, index) -> SparseCooTensor:
        from ._math import index_select

        return index_select(self, dim, index)

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
        from ._math import added

        return added(self, other if alpha == 1 else other * alpha)

    def __sub__(self, other):
        return self.sub(other)

    def sub(self, other, *, alpha=1):
        if not isinstance(other, SparseCooTensor):
            raise RuntimeError("sub(sparse, dense) is not supported. Use sub(dense, sparse) "
                               "instead.")
        from ._math import added

        return added(self, other * -alpha)

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
