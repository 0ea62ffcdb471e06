"""Making sparse COO tensors: ``sparse_coo_tensor`` (coordinates checked against the size)
and ``Tensor.to_sparse``."""

from __future__ import annotations

from .. import _dtype as dt
from .._typeinfo import sparse_coo
from ..tensor import Tensor
from ._coo import SparseCooTensor, SparseCooTensorWithDimsAndTensors
from ._coords import _linear

__all__ = ["sparse_coo_tensor", "to_sparse"]


def sparse_coo_tensor(indices, values=None, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None,
                      is_coalesced=None):
    """A sparse COO tensor with entries ``values`` at the coordinates ``indices`` (one column
    per entry), of ``size`` (by default the smallest that holds the coordinates); or, given
    only a size, an empty one. The coordinates are always checked against ``size`` (PyTorch
    checks them when asked)."""
    from ..factories import empty, zeros
    from ..factories import tensor as make_tensor

    if pin_memory:
        raise NotImplementedError("gpugrad: sparse_coo_tensor with pin_memory=True")
    if values is None and size is None:  # sparse_coo_tensor(size): no entries
        size = tuple(int(n) for n in indices)
        values = empty((0,), dtype=dtype, device=device)
        indices = zeros((len(size), 0), dtype=dt.int64, device=device)
    if not isinstance(values, Tensor):
        values = make_tensor(values, dtype=dtype, device=device)
    if isinstance(values, SparseCooTensor):
        raise TypeError("sparse_coo_tensor(): values must be a dense tensor")
    if dtype is not None or device is not None:
        values = values.to(device=device, dtype=dtype)
    if not isinstance(indices, Tensor):
        indices = make_tensor(indices, device=values.device)
    if isinstance(indices, SparseCooTensor):
        raise TypeError("sparse_coo_tensor(): indices must be a dense tensor")
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype == dt.bool:
        raise RuntimeError(f"indices must be an int64 tensor, got {indices.dtype}")
    indices = indices.detach().to(device=values.device, dtype=dt.int64)
    if indices.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    if values.ndim == 0:
        raise RuntimeError("values must have at least one dimension (nnz, *dense_dims), got a "
                           "0-d tensor")
    sparse_dim, nnz = indices.shape
    if values.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {values.shape[0]}")
    data = indices._data
    if size is None:
        top = data.max(1) + 1 if nnz else [0] * sparse_dim
        size = tuple(int(v) for v in top) + tuple(values.shape[1:])
    else:
        size = tuple(int(s) for s in size)
        if len(size) != sparse_dim + values.ndim - 1:
            raise RuntimeError(f"number of dimensions must be sparse_dim ({sparse_dim}) + "
                               f"dense_dim ({values.ndim - 1}), but got {len(size)}")
        if tuple(values.shape[1:]) != size[sparse_dim:]:
            raise RuntimeError(f"values has incorrect size, expected {[nnz, *size[sparse_dim:]]}"
                               f", got {list(values.shape)}")
        _check_coordinates(data, size[:sparse_dim])
    coalesced = nnz < 2
    if is_coalesced:
        _check_coalesced(indices, size[:sparse_dim])
        coalesced = True
    if requires_grad:
        values = values.detach().requires_grad_(True)
    elif values._requires_grad:
        values = SparseCooTensorWithDimsAndTensors.apply(values)
    else:
        values = values.detach()
    return SparseCooTensor._wrap(indices, values, size, coalesced)


def rebuilt(indices: Tensor, values: Tensor, size, coalesced) -> SparseCooTensor:
    """A sparse tensor read back from a file (``gpugrad.load``, or a ``torch.save``
    checkpoint): its coordinates checked against the size (and their order where the file says
    coalesced), its values a leaf that requires grad where they did."""
    return sparse_coo_tensor(indices, values.detach(), size, requires_grad=values.requires_grad,
                             is_coalesced=True if coalesced else None)


def _check_coordinates(data, sizes) -> None:
    if data.shape[1] == 0:
        return
    low, high = data.min(1), data.max(1)
    for d, n in enumerate(sizes):
        if int(low[d]) < 0:
            raise RuntimeError(f"found negative index {int(low[d])} for dim {d}")
        if int(high[d]) >= n:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {n} but "
                               f"found index {int(high[d])}")


def _check_coalesced(indices: Tensor, sizes) -> None:
    lin = _linear(indices._data, sizes)
    if lin.shape[0] > 1 and not bool((lin[1:] > lin[:-1]).all()):
        raise RuntimeError("is_coalesced=True was given for indices that are not sorted and "
                           "unique")


def to_sparse(input: Tensor, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """The sparse COO tensor of a dense one: an entry for each nonzero (along the first
    ``sparse_dim`` dims; a slice of the rest is kept whole when any of it is nonzero)."""
    if isinstance(input, SparseCooTensor):
        return input
    if layout is not None and layout is not sparse_coo:
        raise NotImplementedError(f"gpugrad: to_sparse with layout {layout} (only "
                                  "gpugrad.sparse_coo)")
    if blocksize is not None:
        raise NotImplementedError("gpugrad: to_sparse with blocksize (a blocked layout)")
    if sparse_dim is None:
        sparse_dim = input.ndim - (dense_dim or 0)
    if not 0 <= sparse_dim <= input.ndim:
        raise RuntimeError(f"sparse_dim must be in [0, {input.ndim}], got {sparse_dim}")
    xp = input._backend.xp
    arr = input._data
    nonzero = arr != 0
    if arr.ndim > sparse_dim:
        nonzero = nonzero.any(axis=tuple(range(sparse_dim, arr.ndim)))
    coords = xp.stack(xp.nonzero(nonzero)) if sparse_dim else \
        xp.zeros((0, 1), dtype=xp.int64)
    indices = Tensor._make(coords.astype(xp.int64).reshape(sparse_dim, -1), input._backend)
    if sparse_dim:
        values = input[tuple(indices[d] for d in range(sparse_dim))]
    else:
        values = input.unsqueeze(0)
    return SparseCooTensor._wrap(indices, values, input.shape, True)
