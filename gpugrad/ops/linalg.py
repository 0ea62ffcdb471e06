"""Matrix products: ``matmul`` (``@``) with PyTorch's 1-D and batch-broadcast rules, ``mm``,
``bmm``. Products go to the array module (cuBLAS through CuPy on the GPU)."""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._util import Tensor, check_tensor, conjugate, math_ns, operator_method

__all__ = ["matmul", "mm", "spmm", "bmm", "dot", "mv", "outer"]


def _matmul_grads(m, g, a, b, need_a, need_b):
    """Gradients of ``a @ b`` in the broadcast batch shape; works on arrays (``m`` a backend)
    and Tensors (``m`` the gpugrad namespace)."""
    ga = gb = None
    if a.ndim == 1 and b.ndim == 1:
        return (g * b if need_a else None), (g * a if need_b else None)
    if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
        if need_a:
            ga = m.matmul(g[..., None, :], b.mT)[..., 0, :]
        if need_b:
            gb = a[:, None] * g[..., None, :]
        return ga, gb
    if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
        if need_a:
            ga = g[..., :, None] * b
        if need_b:
            gb = m.matmul(a.mT, g[..., :, None])[..., 0]
        return ga, gb
    if need_a:
        ga = m.matmul(g, b.mT)
    if need_b and b.ndim == 2 and a.ndim > 2:
        # A batch against one matrix: one product over the batch folded into rows, as PyTorch
        # computes it (one GEMM, and rounded once in low precision, not once per batch entry
        # and again by the broadcast sum)
        k = a.shape[-1]
        gb = m.matmul(a.reshape(-1, k).mT, g.reshape(-1, g.shape[-1]))
    elif need_b:
        gb = m.matmul(a.mT, g)
    return ga, gb


class MatMul(Function):
    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        ctx.ndims = (a._data.ndim, b._data.ndim)
        return a._new(a._backend.matmul(a._data, b._data))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if grad._data.dtype.kind == "c":  # (holomorphic in each operand)
            a, b = conjugate(a), conjugate(b)
        need_a, need_b = ctx.needs_input_grad
        return _matmul_grads(math_ns(), grad, _Shape(a, ctx.ndims[0]), _Shape(b, ctx.ndims[1]),
                             need_a, need_b)

    def _array_backward(self, grad):
        a, b = self.saved_arrays()
        if grad.dtype.kind == "c":
            a, b = conjugate(a), conjugate(b)
        need_a, need_b = self.needs_input_grad
        return _matmul_grads(self._backend, grad, _Shape(a, self.ndims[0]),
                             _Shape(b, self.ndims[1]), need_a, need_b)


class Dot(MatMul):
    node_name = "DotBackward0"


class Mv(MatMul):
    node_name = "MvBackward0"


# PyTorch's node for each (ndim, ndim) it computes in one op; batched products keep Mm's name.
_NODES = {(1, 1): Dot, (2, 1): Mv}


class _Shape:
    """An array that may be absent (not saved) but whose ndim the gradient rules still need."""

    __slots__ = ("arr", "ndim")

    def __new__(cls, arr, ndim):
        if arr is not None:
            return arr
        self = object.__new__(cls)
        self.arr, self.ndim = None, ndim
        return self


def raise_matmul_dtype_error(input: Tensor, other: Tensor):
    """PyTorch's error for operands of two dtypes, which names their C++ element types."""
    names = [dt.CPP_TYPE_NAMES[t.dtype.name] for t in (input, other)]
    raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {names[0]} != "
                       f"{names[1]}")


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules for 1-D operands and broadcast batch dims."""
    check_tensor(input, "matmul")
    check_tensor(other, "matmul", "other")
    if input.is_sparse or other.is_sparse:  # (mm, mv, addmm, spmm and @ come here too)
        from ..sparse._products import sparse_matmul

        return sparse_matmul(input, other)
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a.dtype != b.dtype:
        raise_matmul_dtype_error(input, other)
    if a.shape[-1] != (b.shape[-2] if b.ndim > 1 else b.shape[0]):
        _raise_shape_error(a.shape, b.shape)
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            _raise_shape_error(a.shape, b.shape)
    return _NODES.get((a.ndim, b.ndim), MatMul).apply(input, other)


def _raise_shape_error(sa: tuple, sb: tuple):
    """PyTorch's error for matmul operands of these shapes that do not fit: its wording follows
    the path its matmul takes for their numbers of dims (mm, mv, a folded mm, bmm)."""
    k_a, k_b = sa[-1], (sb[-2] if len(sb) > 1 else sb[0])
    if len(sa) == 1 and len(sb) == 1:  # dot
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{k_a}] and src [{k_b}] "
                           f"to have the same number of elements, but got {k_a} and {k_b} "
                           "elements respectively")
    if len(sa) == 2 and len(sb) == 1:  # mv
        raise RuntimeError(f"size mismatch, got input ({sa[0]}), mat ({sa[0]}x{k_a}), vec "
                           f"({k_b})")
    if len(sa) <= 2 and len(sb) <= 2:
        left = f"{sa[-2]}x{k_a}" if len(sa) == 2 else f"1x{k_a}"
        right = f"{k_b}x{sb[-1]}" if len(sb) == 2 else f"{k_b}x1"
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({left} and {right})")
    if len(sb) <= 2:  # the batched left operand folds into one matrix
        rows = math.prod(sa[:-1])
        if len(sb) == 1:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{k_a}), vec "
                               f"({k_b})")
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k_a} and "
                           f"{k_b}x{sb[-1]})")
    batch_a, batch_b = sa[:-2], sb[:-2]
    n = max(len(batch_a), len(batch_b))
    pa, pb = (1,) * (n - len(batch_a)) + batch_a, (1,) * (n - len(batch_b)) + batch_b
    for d in range(n - 1, -1, -1):
        if pa[d] != pb[d] and 1 not in (pa[d], pb[d]):
            raise RuntimeError(f"The size of tensor a ({pa[d]}) must match the size of tensor b "
                               f"({pb[d]}) at non-singleton dimension {d}")
    batch = math.prod(np.broadcast_shapes(batch_a, batch_b))
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                       f"[{batch}, {k_a}] but got: [{batch}, {k_b}].")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two 2-D matrices."""
    for name, t in (("self", input), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix")
    return matmul(input, mat2)


def spmm(input: Tensor, mat2: Tensor) -> Tensor:
    """``mm``: PyTorch's sparse-times-dense product, which takes dense matrices too."""
    return mm(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of (b, n, m) and (b, m, p) tensors."""
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    batch, _, inner = input.shape
    if tuple(mat2.shape[:2]) != (batch, inner):
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch}, {inner}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    if input.dtype != mat2.dtype:
        raise RuntimeError(f"expected scalar type {dt.SCALAR_TYPE_NAMES[input.dtype.name]} but "
                           f"found {dt.SCALAR_TYPE_NAMES[mat2.dtype.name]}")
    return matmul(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype != other.dtype:
        names = [dt.SCALAR_TYPE_NAMES[t.dtype.name] for t in (input, other)]
        raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                           f"{names[0]} and {names[1]}")
    return matmul(input, other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Product of a 2-D matrix and a 1-D vector, with PyTorch's (``addmv``'s) errors."""
    check_tensor(input, "mv")
    check_tensor(vec, "mv", "vec")
    if input.ndim != 2 or vec.ndim != 1:  # PyTorch counts the (1-D) result first
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    rows, cols = input.shape
    if cols != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{cols}), vec "
                           f"({vec.shape[0]})")
    if input.dtype != vec.dtype:
        names = [dt.SCALAR_TYPE_NAMES[d.name] for d in
                 (dt.promote_types(input.dtype, vec.dtype), input.dtype, vec.dtype)]
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{names[0]}, {names[1]}, and {names[2]}")
    if input.dtype == dt.bool:
        raise NotImplementedError(f'"addmv_impl_{input.device.type}" not implemented for '
                                  "'Bool'")
    return matmul(input, vec)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two 1-D tensors."""
    check_tensor(input, "outer")
    if not isinstance(vec2, Tensor):
        raise TypeError(f"outer(): argument 'vec2' (position 2) must be Tensor, not "
                        f"{type(vec2).__name__}")
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    return input.reshape(-1, 1) * vec2


METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "dot": dot, "mv": mv, "outer": outer,
    "__matmul__": operator_method(matmul), "__rmatmul__": operator_method(matmul, reflected=True),
}
