"""Products and structured matrices: ``matrix_power``, ``matrix_exp``, ``multi_dot``,
``cross``, ``vecdot``, ``diagonal``, ``vander`` (``linalg.*`` and PyTorch's top-level
``matrix_power``, ``matrix_exp``, ``cross``, ``vander``). All but ``matrix_exp`` and
``diagonal`` are compositions of differentiable ops."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._util import Tensor, check_tensor, math_ns, wrap_dim
from .linalg_solve import _mT, check_matrix, in_float32, inv

__all__ = ["matrix_power", "matrix_exp", "cross", "vander"]


def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` (``(*, m, m)``) to the integer power ``n``: the identity for 0, a power of the
    inverse for negative ``n`` (by repeated squaring)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    check_tensor(A, "linalg.matrix_power", "A")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 "
                           "dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:
        m = math_ns()  # the identity, with a zero gradient to A (as PyTorch's)
        keep = m.ones(tuple(A.shape), dtype=m.bool, device=A.device)
        return m.where(keep, m.eye(A.shape[-1], dtype=A.dtype, device=A.device), A)
    if n < 0:
        A, n = inv(A), -n
    result, square = None, A
    while True:
        if n & 1:
            result = square if result is None else result @ square
        n >>= 1
        if not n:
            return result if result is not A else result.clone()
        square = square @ square


# Taylor terms kept after scaling: ||A / 2^s||_1 <= 1/2 leaves an error below 2^-19 / 19!,
# far under float64's rounding.
_EXP_TERMS = 18


def _expm_array(xp, a):
    """``exp(a)`` by scaling and squaring a truncated Taylor series (one scale for the batch)."""
    if a.size == 0:
        return a.copy()
    size = float(xp.abs(a).sum(axis=-2).max())
    s = max(0, math.ceil(math.log2(size)) + 1) if size > 0 else 0
    a = a / 2.0**s
    eye = xp.eye(a.shape[-1], dtype=a.dtype)
    out, term = eye + a, a
    for k in range(2, _EXP_TERMS + 1):
        term = xp.matmul(term, a) / k
        out = out + term
    for _ in range(s):
        out = xp.matmul(out, out)
    return out


class MatrixExp(Function):
    node_name = "LinalgMatrixExpBackward0"

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return A._new(_expm_array(A._backend.xp, A._data))

    @staticmethod
    def backward(ctx, grad):
        # The derivative of exp at A in direction E is the upper-right block of
        # exp([[A, E], [0, A]]); its adjoint applied to g, of exp([[A^T, g], [0, A^T]]).
        m = math_ns()
        (A,) = ctx.saved_tensors
        n = A.shape[-1]
        At = _mT(A)
        top = m.cat([At, grad], dim=-1)
        bottom = m.cat([m.zeros_like(grad), At], dim=-1)
        return MatrixExp.apply(m.cat([top, bottom], dim=-2))[..., :n, n:]


@in_float32
def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential of a square matrix (or of each in a batch)."""
    check_matrix(A, "linalg.matrix_exp")
    return MatrixExp.apply(A)


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices, the first and last of which may be vectors (a row
    and a column vector)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        check_tensor(t, "multi_dot", f"tensors[{i}]")
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            where = ("first" if i == 0 else "last") if allowed == (1, 2) else None
            if where:
                raise RuntimeError(f"multi_dot(): the {where} tensor must be 1D or 2D but got "
                                   f"{t.ndim}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise RuntimeError("multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                           f"{tensors[0].dtype} and tensor 1 is {tensors[1].dtype}")
    first, last = tensors[0], tensors[-1]
    chain = [first.unsqueeze(0) if first.ndim == 1 else first, *tensors[1:-1],
             last.unsqueeze(-1) if last.ndim == 1 else last]
    for i in range(len(chain) - 1):
        if chain[i].shape[-1] != chain[i + 1].shape[0]:
            a, b = chain[i].shape, chain[i + 1].shape
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes ({a[0]}, "
                               f"{a[1]}) and ({b[0]}, {b[1]}) cannot be multiplied")
    out = chain[0]
    for t in chain[1:]:
        out = out @ t
    if last.ndim == 1:
        out = out.squeeze(-1)
    if first.ndim == 1:
        out = out.squeeze(0)
    return out


def _cross(input, other, dim, fn):
    check_tensor(input, fn)
    check_tensor(other, fn, "other")
    if input.dtype != other.dtype:
        names = [dt.SCALAR_TYPE_NAMES.get(t.dtype.name, t.dtype.name) for t in (input, other)]
        raise RuntimeError(f"expected scalar type {names[0]} but found {names[1]}")
    if input.ndim != other.ndim:
        raise RuntimeError(f"{fn}: inputs must have the same number of dimensions.")
    m = math_ns()
    d = wrap_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"{fn}: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    shape = tuple(m.broadcast_shapes(input.shape, other.shape))
    a = [input.expand(shape).narrow(d, i, 1) for i in range(3)]
    b = [other.expand(shape).narrow(d, i, 1) for i in range(3)]
    return m.cat([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                  a[0] * b[1] - a[1] * b[0]], dim=d)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (other dims broadcast)."""
    return _cross(input, other, dim, "linalg.cross")


def cross(input: Tensor, other: Tensor, dim=None) -> Tensor:
    """``torch.cross``: ``linalg.cross``, but ``dim=None`` (deprecated in PyTorch, with a
    warning) takes the first dim of size 3."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in a "
                      "future release.", UserWarning, stacklevel=2)
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return _cross(input, other, dim, "linalg.cross")


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim`` (other dims broadcast)."""
    check_tensor(x, "linalg.vecdot", "x")
    check_tensor(y, "linalg.vecdot", "y")
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found "
                           f"x of type {x.dtype} and y of type {y.dtype} instead")
    return (x * y).sum(dim)


class Diagonal(Function):
    node_name = "DiagonalBackward0"

    @staticmethod
    def forward(ctx, A, offset, d1, d2):
        ctx.args = (tuple(A.shape), offset, d1, d2)
        xp = A._backend.xp
        return A._new(xp.diagonal(A._data, offset, d1, d2).copy())

    @staticmethod
    def backward(ctx, grad):
        return DiagonalScatter.apply(grad, *ctx.args), None, None, None


class DiagonalScatter(Function):
    """The diagonal's gradient: zeros of the input's shape with ``grad`` on the diagonal."""

    node_name = "DiagonalBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        xp = grad._backend.xp
        g = grad._data
        out = xp.zeros_like(g, shape=shape)
        k = g.shape[-1]
        rows = xp.arange(k) + max(0, -offset)
        cols = xp.arange(k) + max(0, offset)
        xp.moveaxis(out, (d1, d2), (-2, -1))[..., rows, cols] = g
        return grad._new(out)

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.args), None, None, None, None


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal (``offset`` above it when positive, below when negative) of the matrices
    spanned by ``dim1`` and ``dim2``, as the last dim. A copy, not a view."""
    check_tensor(A, "linalg.diagonal", "A")
    if A.ndim < 2:
        raise RuntimeError("linalg.diagonal: The input tensor A must have at least 2 "
                           "dimensions.")
    d1, d2 = wrap_dim(dim1, A.ndim), wrap_dim(dim2, A.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(A, int(offset), d1, d2)


def _powers(x, N, increasing):
    m = math_ns()
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    cols = [m.ones_like(x)] if N else []
    for _ in range(1, N):
        cols.append(cols[-1] * x)
    if not increasing:
        cols.reverse()
    if not cols:
        return m.zeros(tuple(x.shape) + (0,), dtype=x.dtype, device=x.device)
    return m.stack(cols, dim=-1)


def linalg_vander(x: Tensor, *, N=None) -> Tensor:
    """The Vandermonde matrix of ``x`` ``(*, n)``: ``(*, n, N)`` with columns ``x**0`` to
    ``x**(N-1)`` (``N`` defaults to ``n``)."""
    check_tensor(x, "linalg.vander", "x")
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension.")
    if x.dtype.itemsize == 2 and x.is_floating_point():
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer "
                           f"tensors, but got {dt.SCALAR_TYPE_NAMES[x.dtype.name]}")
    N = x.shape[-1] if N is None else N
    if N <= 1:
        raise RuntimeError(f"linalg.vander: N must be greater than 1. Got {N}")
    return _powers(x, N, True)


def vander(x: Tensor, N=None, increasing: bool = False) -> Tensor:
    """``torch.vander``: the Vandermonde matrix of a 1-D ``x``, powers decreasing from
    ``N - 1`` unless ``increasing``."""
    check_tensor(x, "vander", "x")
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    return _powers(x, x.shape[0] if N is None else N, increasing)


METHODS = {"matrix_power": matrix_power, "matrix_exp": matrix_exp, "cross": cross}
