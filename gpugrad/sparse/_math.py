"""Elementwise math, concatenation, indexing, transposition and sums of sparse COO tensors,
and the accumulation of a sparse gradient into ``.grad``.

Each is a composition of dense ops on the values (as everything in ``_coo.py``), so gradients
reach the values and any dense operand:

- the unary ops that map 0 to 0 (``abs``, ``sqrt``, ``sin``, ``relu``...) and ``pow`` by a
  nonzero number act on the coalesced values: the result is sparse on the same coordinates.
  The others (``exp``, ``cos``...) would make the tensor dense and are refused, as PyTorch does;
- ``mul`` by a dense tensor (broadcast to the sparse tensor's size) scales each entry by the
  element at its coordinate; by a sparse tensor, it keeps the coordinates both hold;
- ``cat`` joins sparse tensors along a sparse dim (coordinates shifted) or a dense one (the
  values padded with zeros);
- ``s[i]``, ``s[:, i]``, ``s[None]`` and ``select``: an integer along a sparse dim keeps the
  entries at that coordinate (a dense tensor once no sparse dim is left), along a dense dim it
  selects in the values; ``index_select`` lists an entry per (wanted index, entry there) pair;
- ``transpose`` swaps coordinate rows (two sparse dims) or the values' dims (two dense ones);
- ``s + t`` of two sparse tensors lists both's entries, coalesced.

The dense ops route a sparse operand here where its missing dense array stops them
(``NoDenseArray``): the unary ops, the binary arithmetic functions, ``gpugrad.sum`` and ``cat``.
"""

from __future__ import annotations

from .. import _dtype as dt
from ..ops._index_key import _as_int, _scalar_int
from ..tensor import Tensor
from ._coo import SparseCooTensor
from ._coords import _linear, _matches

__all__ = ["unary", "binary", "mul", "power", "cat", "getitem", "select", "unsqueeze",
           "transpose", "index_select", "added", "accumulate_grad"]

# The unary ops whose value at 0 is 0 (PyTorch's sparse COO kernels are these); ``neg`` is
# linear and keeps duplicate coordinates as they are.
ZERO_PRESERVING = frozenset({
    "abs", "asin", "asinh", "atan", "atanh", "ceil", "deg2rad", "erf", "erfinv", "expm1",
    "floor", "frac", "log1p", "rad2deg", "relu", "round", "sgn", "sign", "sin", "sinh", "sqrt",
    "square", "tan", "tanh", "trunc",
})


def _backend_name(s: SparseCooTensor) -> str:
    return "SparseCUDA" if s.device.type == "cuda" else "SparseCPU"


def _not_sparse(name: str, s: SparseCooTensor) -> NotImplementedError:
    return NotImplementedError(
        f"Could not run 'aten::{name}' with arguments from the '{_backend_name(s)}' backend: "
        f"gpugrad's sparse tensors do not take {name} (its result would not be sparse); call "
        "to_dense() first")


def unary(op: str, s: SparseCooTensor) -> SparseCooTensor:
    """The unary op ``op`` (a name of ``ops.elementwise.FUNCTIONS``) of sparse ``s``."""
    from ..ops.elementwise import FUNCTIONS

    if op == "neg":
        return -s
    if op not in ZERO_PRESERVING:
        raise _not_sparse(op, s)
    c = s.coalesce()
    return c._with_values(FUNCTIONS[op](c._values_t))


def power(s: SparseCooTensor, exponent) -> SparseCooTensor:
    """``s ** exponent`` for a number ``exponent`` (not 0, which would fill the zeros)."""
    if isinstance(exponent, Tensor):
        raise _not_sparse("pow.Tensor_Tensor", s)
    if exponent == 0:
        raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would make "
                           "the result tensor dense")
    c = s.coalesce()
    return c._with_values(c._values_t ** exponent)


def mul(s: SparseCooTensor, other) -> SparseCooTensor:
    """``s * other``: ``other`` a number, a 0-d tensor, a dense tensor broadcastable to
    ``s``'s size (each entry times the element at its coordinate) or a sparse tensor of the
    same size (the coordinates both hold)."""
    if not isinstance(other, Tensor) or (not other.is_sparse and other.ndim == 0):
        return s._with_values(s._values_t * other)
    if other.is_sparse:
        return _mul_sparse(s, other)
    from ..ops.structure import broadcast_shapes

    if broadcast_shapes(s.shape, other.shape) != s.shape:
        raise RuntimeError(f"mul: a dense operand of size {list(other.shape)} does not "
                           f"broadcast to the sparse operand's size {list(s.shape)}")
    n = s.sparse_dim()
    full = other.expand(s.shape)
    at = tuple(s._indices_t[k] for k in range(n))  # the element under each entry
    return s._with_values(s._values_t * full[at])


def _mul_sparse(a: SparseCooTensor, b: SparseCooTensor) -> SparseCooTensor:
    if a.shape != b.shape:
        raise RuntimeError(f"mul: sparse operands of sizes {list(a.shape)} and {list(b.shape)} "
                           "differ")
    a, b = a.coalesce(), b.coalesce()
    sizes = a._size[:a.sparse_dim()]
    xp = a._backend.xp
    keys = _linear(b._indices_t._data, sizes)
    queries = _linear(a._indices_t._data, sizes)
    in_a, in_b = _matches(keys, queries, xp)  # coalesced: at most one match each
    in_a = Tensor._make(in_a, a._backend)
    in_b = Tensor._make(in_b, a._backend)
    values = a._values_t.index_select(0, in_a) * b._values_t.index_select(0, in_b)
    return SparseCooTensor._wrap(a._indices_t.index_select(1, in_a), values, a._size, True)


def binary(op: str, a, b):
    """The binary arithmetic op ``op`` where ``a`` or ``b`` is sparse (what the dense ops'
    functions, ``gpugrad.mul(s, x)`` and the like, come to for a sparse operand)."""
    if isinstance(a, SparseCooTensor):
        if op == "mul":
            return mul(a, b)
        if op == "pow":
            return power(a, b)
        if op in ("add", "sub", "div"):
            return getattr(a, op)(b)
    elif op == "mul":  # commutative
        return mul(b, a)
    elif op == "add":
        return b.__radd__(a)
    elif op == "sub":
        return b.__rsub__(a)
    raise _not_sparse(op, a if isinstance(a, SparseCooTensor) else b)


# --------------------------------------------------------------------------------- cat
def cat(tensors, dim: int = 0) -> SparseCooTensor:
    """Sparse ``tensors`` (the same sparse and dense dims, the same sizes but along ``dim``)
    joined along ``dim``."""
    for i, t in enumerate(tensors):
        if not isinstance(t, SparseCooTensor):
            raise RuntimeError(f"Concatenating sparse tensors, but a dense tensor was found at "
                               f"position {i}.")
    first = tensors[0]
    d = first._wrap_dim(dim)
    n = first.sparse_dim()
    for i, t in enumerate(tensors):
        if t.sparse_dim() != n or t.dense_dim() != first.dense_dim():
            raise RuntimeError(f"cat: sparse tensor {i} has {t.sparse_dim()} sparse and "
                               f"{t.dense_dim()} dense dims, tensor 0 {n} and "
                               f"{first.dense_dim()}: they must match")
        for k in range(first.ndim):
            if k != d and t._size[k] != first._size[k]:
                raise RuntimeError(f"cat: sizes of sparse tensors must match except in "
                                   f"dimension {d}; got {t._size[k]} and {first._size[k]} in "
                                   f"dimension {k} (tensor {i})")
    size = list(first._size)
    size[d] = sum(t._size[d] for t in tensors)
    if len(tensors) == 1:
        return first
    from ..ops.join import cat as dense_cat

    indices, values, offset = [], [], 0
    for t in tensors:
        idx, vals = t._indices_t, t._values_t
        if d < n:  # shift the coordinates along d
            shift = idx.new_zeros((n, 1))
            shift[d] = offset
            idx = idx + shift
        else:  # pad the values with zeros before and after along the dense dim
            vd = d - n + 1
            before = list(vals.shape)
            before[vd] = offset
            after = list(vals.shape)
            after[vd] = size[d] - offset - t._size[d]
            vals = dense_cat([vals.new_zeros(before), vals, vals.new_zeros(after)], vd)
        indices.append(idx)
        values.append(vals)
        offset += t._size[d]
    return SparseCooTensor._wrap(dense_cat(indices, 1), dense_cat(values, 0), size, False)


# ---------------------------------------------------------------------------- indexing
def _int_key(k):
    """``k`` as an int index, or None where it is not one (a 0-d integer tensor counts, as
    dense indexing reads it: ``_index_key._scalar_int``)."""
    if k.__class__ is bool:
        return None
    if isinstance(k, Tensor):
        return _as_int(k) if not k.is_sparse and _scalar_int(k) else None
    if isinstance(k, int):
        return k
    return k.__index__() if hasattr(k, "__index__") else None


def getitem(s: SparseCooTensor, key):
    """``s[key]`` for a key of ints, ``:``, ``...`` and ``None``."""
    key = key if isinstance(key, tuple) else (key,)
    specified = sum(1 for k in key if k is not None and k is not Ellipsis)
    if specified > s.ndim:
        raise IndexError(f"too many indices for tensor of dimension {s.ndim}")
    out, at = s, 0  # the result so far, and the dim of it the next key item applies to
    for k in key:
        if k is None:
            out = unsqueeze(out, at) if out.is_sparse else out.unsqueeze(at)
            at += 1
        elif k is Ellipsis:
            at += s.ndim - specified
        elif k.__class__ is slice and k == slice(None):
            at += 1
        else:
            i = _int_key(k)
            if i is None:
                raise NotImplementedError(
                    f"gpugrad: sparse tensors take integer indices, ':', '...' and None; got "
                    f"{type(k).__name__} (call to_dense() first, or use index_select)")
            out = select(out, at, i) if out.is_sparse else out.select(at, i)
    return out


def select(s: SparseCooTensor, dim: int, index: int):
    """The slice at ``index`` along ``dim``: sparse while a sparse dim remains, else dense."""
    d = s._wrap_dim(dim)
    length = s._size[d]
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of bounds for dimension {d} with size {length}")
    index %= length
    n = s.sparse_dim()
    size = s._size[:d] + s._size[d + 1:]
    values = s._values_t
    if d >= n:  # a dense dim: the values' own
        return SparseCooTensor._wrap(s._indices_t, values.select(d - n + 1, index), size,
                                     s._coalesced)
    xp = s._backend.xp
    coords = s._indices_t._data
    entries = Tensor._make(xp.nonzero(coords[d] == index)[0], s._backend)
    picked = values.index_select(0, entries)
    if n == 1:  # no sparse dim left: the dense slice, the entries summed
        return picked.sum(0)
    kept = Tensor._make(coords[[k for k in range(n) if k != d]], s._backend)
    return SparseCooTensor._wrap(kept.index_select(1, entries), picked, size, s._coalesced)


def unsqueeze(s: SparseCooTensor, dim: int) -> SparseCooTensor:
    """``s`` with a dim of size 1 inserted at ``dim``: a sparse dim where it falls among them."""
    ndim = s.ndim + 1
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")
    d = dim % ndim
    n = s.sparse_dim()
    size = s._size[:d] + (1,) + s._size[d:]
    if d > n:  # among the dense dims: the values'
        return SparseCooTensor._wrap(s._indices_t, s._values_t.unsqueeze(d - n + 1), size,
                                     s._coalesced)
    idx = s._indices_t
    rows = [idx[k:k + 1] for k in range(d)] + [idx.new_zeros((1, idx.shape[1]))] + \
        [idx[k:k + 1] for k in range(d, n)]
    from ..ops.join import cat as dense_cat

    return SparseCooTensor._wrap(dense_cat(rows, 0), s._values_t, size, s._coalesced)


# ------------------------------------------------------------------ shape, sums, gradients
def transpose(self: SparseCooTensor, dim0: int, dim1: int) -> SparseCooTensor:
    """Two dims swapped: two sparse dims swap coordinate rows, two dense dims the values'."""
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

def index_select(self: SparseCooTensor, dim: int, index) -> SparseCooTensor:
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


def added(a: SparseCooTensor, b: SparseCooTensor) -> SparseCooTensor:
    """``a + b`` for two sparse tensors of one size: their entries together, coalesced."""
    if a._size != b._size:
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has "
                           f"size {list(a._size)} while other has size {list(b._size)} (FYI: "
                           "op2-sparse addition does not currently support broadcasting)")
    if a.sparse_dim() != b.sparse_dim():
        raise RuntimeError("add: expected 'self' and 'other' to have the same sparse_dim")
    return _joined(a, b).coalesce()
