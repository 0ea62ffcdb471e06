"""``gpugrad.sparse``: sparse COO tensors and PyTorch's ``torch.sparse`` functions on them.

A sparse tensor holds coordinates and values (``gpugrad.sparse_coo_tensor``,
``Tensor.to_sparse``); its products with dense tensors (``mm``, ``addmm``, and ``gpugrad.mm``,
``matmul``, ``spmm``, ``@``), sums and softmaxes are compositions of dense ops on the values, so
they differentiate in the values and in the dense operands (``_coo.py`` holds the layout).
"""

from __future__ import annotations

import math
import sys
import warnings

from .. import _dtype as dt
from ..tensor import Tensor
from ._build import sparse_coo_tensor, to_sparse
from ._coo import SparseCooTensor
from ._coords import _groups, _merge

__all__ = ["mm", "addmm", "sum", "softmax", "log_softmax", "check_sparse_tensor_invariants",
           "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
           "IntTensor", "ShortTensor", "CharTensor", "ByteTensor"]

# PyTorch's ``torch.sparse`` holds the ``torch`` module itself, and programs reach through it
# (``torch.sparse.torch.eye(n)`` for one-hot rows, in capsule networks): here, gpugrad.
torch = sys.modules[__name__.rpartition(".")[0]]

# ``Tensor.to_sparse``: the one way into the layout from a dense tensor.
Tensor.to_sparse = to_sparse
Tensor.to_sparse_coo = to_sparse


def _dense_to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
    """A dense tensor's ``to_dense()``: the tensor itself (in ``dtype`` where given), as
    PyTorch's, so that code written for either layout runs on both."""
    return self if dtype is None else self.to(dtype)


Tensor.to_dense = _dense_to_dense


def _sparse_arg(t, fn: str) -> SparseCooTensor:
    if not isinstance(t, SparseCooTensor):
        raise RuntimeError(f"{fn}: expected a sparse COO tensor, got a tensor of layout "
                           f"{getattr(t, 'layout', type(t).__name__)}")
    return t


def mm(mat1, mat2) -> Tensor:
    """The product of a sparse COO matrix and a dense one (or the reverse): dense."""
    from ..ops.linalg import mm as dense_mm

    return dense_mm(mat1, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` for a sparse ``mat1``."""
    from ..ops.products import addmm as dense_addmm

    return dense_addmm(mat, _sparse_arg(mat1, "sparse.addmm"), mat2, beta=beta, alpha=alpha)


def sum(input, dim=None, dtype=None):
    """The sum of a sparse tensor's elements: all of them (a 0-d dense tensor), or along
    ``dim`` (a sparse tensor while sparse dims remain, else dense)."""
    s = _sparse_arg(input, "sparse.sum")
    values = s._values_t if dtype is None else s._values_t.to(dtype)
    if dim is None:
        return values.sum()
    dims = sorted({s._wrap_dim(d) for d in ((dim,) if isinstance(dim, int) else dim)})
    n = s.sparse_dim()
    dense_dims = tuple(d - n + 1 for d in dims if d >= n)
    if dense_dims:
        values = values.sum(dense_dims)
    kept = [d for d in range(n) if d not in dims]
    size = [s._size[d] for d in kept] + [s._size[d] for d in range(n, s.ndim) if d not in dims]
    if not kept:
        return values.sum(0)
    indices, summed = _merge(s._indices_t, values, s._size, kept)
    return SparseCooTensor._wrap(indices, summed, size, True)


def _grouped(s: SparseCooTensor, dim: int):
    """For softmax along sparse ``dim``: the coalesced tensor, each entry's group (the entries
    that share every other sparse coordinate) and the number of groups."""
    c = s.coalesce()
    others = [d for d in range(c.sparse_dim()) if d != dim]
    unique, group = _groups(c._indices_t, c._size, others)
    return c, group, len(unique)


def _softmax(input, dim: int, dtype, log: bool, fn: str) -> SparseCooTensor:
    s = _sparse_arg(input, fn)
    if dtype is not None:
        s = s.to(dtype)
    if not s.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating point sparse tensor, got {s.dtype}")
    dim = s._wrap_dim(dim)
    n = s.sparse_dim()
    if dim >= n:  # along a dense dim: each entry's values on their own
        c = s.coalesce()
        v = c._values_t
        out = v.log_softmax(dim - n + 1) if log else v.softmax(dim - n + 1)
        return c._with_values(out)
    c, group, count = _grouped(s, dim)
    v = c._values_t
    # Unlisted entries count as -inf: each group's softmax runs over its listed entries only.
    index = group.view((-1,) + (1,) * (v.ndim - 1)).expand(v.shape)
    peak = v.new_full((count,) + tuple(v.shape[1:]), -math.inf).scatter_reduce(
        0, index, v.detach(), "amax")
    shifted = v - peak.index_select(0, group)
    exp = shifted.exp()
    total = exp.new_zeros(peak.shape).index_add(0, group, exp)
    out = shifted - total.log().index_select(0, group) if log else \
        exp / total.index_select(0, group)
    return c._with_values(out)


def softmax(input, dim: int, *, dtype=None) -> SparseCooTensor:
    """Softmax along ``dim`` over the listed entries of each slice (unlisted ones are -inf);
    the result has the input's (coalesced) coordinates."""
    return _softmax(input, dim, dtype, False, "sparse.softmax")


def log_softmax(input, dim: int, *, dtype=None) -> SparseCooTensor:
    """``log(softmax(input, dim))`` over the listed entries."""
    return _softmax(input, dim, dtype, True, "sparse.log_softmax")


class check_sparse_tensor_invariants:
    """PyTorch's switch for checking sparse coordinates. gpugrad always checks them, so
    enabling or disabling it changes nothing; it is kept for programs that call it."""

    _enabled = False

    def __init__(self, enable: bool = True):
        self.state = enable

    @staticmethod
    def is_enabled() -> bool:
        return check_sparse_tensor_invariants._enabled

    @staticmethod
    def enable() -> None:
        check_sparse_tensor_invariants._enabled = True

    @staticmethod
    def disable() -> None:
        check_sparse_tensor_invariants._enabled = False

    def __enter__(self):
        self._saved = check_sparse_tensor_invariants._enabled
        check_sparse_tensor_invariants._enabled = self.state
        return self

    def __exit__(self, *exc) -> None:
        check_sparse_tensor_invariants._enabled = self._saved

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with check_sparse_tensor_invariants(self.state):
                return fn(*args, **kwargs)

        return wrapper


_DEPRECATED = {  # PyTorch warns once a process for each form
    "values": "gpugrad.sparse.SparseTensor(indices, values, shape, *, device=) is deprecated.  "
              "Please use gpugrad.sparse_coo_tensor(indices, values, shape, dtype=, device=).",
    "shape": "gpugrad.sparse.SparseTensor(shape, *, device=) is deprecated.  Please use "
             "gpugrad.sparse_coo_tensor(shape, dtype=, device=).",
}
_warned = set()


def _deprecated(form: str) -> None:
    if form not in _warned:
        _warned.add(form)
        warnings.warn(_DEPRECATED[form], UserWarning, stacklevel=3)


def _legacy(name: str, dtype):
    """``torch.sparse.FloatTensor(indices, values[, size])`` or ``(*sizes)`` (empty)."""

    def make(*args, device=None):
        if args and isinstance(args[0], Tensor):
            if len(args) not in (2, 3) or not isinstance(args[1], Tensor):
                raise TypeError(f"{name}(): expected (indices, values) or (indices, values, "
                                "size) tensors, or sizes")
            _deprecated("values")
            return sparse_coo_tensor(*args, device=device)
        _deprecated("shape")
        sizes = args[0] if len(args) == 1 and not isinstance(args[0], int) else args
        return sparse_coo_tensor(tuple(int(n) for n in sizes), dtype=dtype, device=device)

    make.__name__ = make.__qualname__ = name
    return make


FloatTensor = _legacy("FloatTensor", dt.float32)
DoubleTensor = _legacy("DoubleTensor", dt.float64)
HalfTensor = _legacy("HalfTensor", dt.float16)
BFloat16Tensor = _legacy("BFloat16Tensor", dt.bfloat16)
LongTensor = _legacy("LongTensor", dt.int64)
IntTensor = _legacy("IntTensor", dt.int32)
ShortTensor = _legacy("ShortTensor", dt.int16)
CharTensor = _legacy("CharTensor", dt.int8)
ByteTensor = _legacy("ByteTensor", dt.uint8)
