"""Determinants, inverses and linear solves: ``det``, ``slogdet``, ``logdet``, ``inv``,
``solve``, ``solve_triangular`` and PyTorch's top-level aliases; the checks and helpers the
other ``linalg_*`` modules share.

Forward calls the array module's LAPACK (``numpy.linalg`` / ``cupy.linalg``) on stacks of
matrices; each backward is written with the differentiable ops of this family, so it runs on
Tensors under ``create_graph`` as well (the engine's default ``_array_backward``).
"""

from __future__ import annotations

import functools

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._linalg_results import InvExResult, SlogdetResult, TorchSlogdetResult
from ._util import Tensor, check_tensor, conjugate, math_ns

__all__ = ["det", "slogdet", "logdet", "inverse"]


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on the values of its input (a singular matrix, a matrix
    that is not positive-definite): ``torch.linalg.LinAlgError``."""


# ------------------------------------------------------------------------ shared checks
def check_matrix(A, fn: str, name: str = "A", square: bool = True, low: bool = True) -> Tensor:
    """PyTorch's checks of a linalg input: a float tensor of (batches of) matrices, square when
    ``square``; float16/bfloat16 refused unless ``low`` (computed in float32 otherwise)."""
    check_tensor(A, fn, name)
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")
    check_float(A, fn, low)
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fn}: {name} must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    return A


def check_float(A, fn: str, low: bool = True) -> None:
    # (a complex one reaches here only for the functions that compute on it: ops/_complex.py)
    if not (A.is_floating_point() or A.dtype.is_complex):
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. "
                           f"Got {dt.SCALAR_TYPE_NAMES[A.dtype.name]}")
    if not low and A.dtype in (dt.float16, dt.bfloat16):
        raise RuntimeError(f"{fn}: Low precision dtypes not supported. "
                           f"Got {dt.SCALAR_TYPE_NAMES[A.dtype.name]}")


def check_same_dtype(A, B, fn: str) -> None:
    if A.dtype != B.dtype:
        raise RuntimeError(
            f"{fn}: Expected A and B to have the same dtype, but found A of type "
            f"{dt.SCALAR_TYPE_NAMES[A.dtype.name]} and B of type "
            f"{dt.SCALAR_TYPE_NAMES[B.dtype.name]} instead")


def lapack(fn: str, what: str, call, *arrays):
    """Run one of the array module's linalg routines (``call(xp, *arrays)``); its failure on
    the input's values (singular, not positive-definite) becomes ``LinAlgError`` with
    PyTorch's wording."""
    backend = arrays[0]._backend
    try:
        with backend.linalg_errors():
            return call(backend.xp, *[a._data for a in arrays])
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{fn}: {what}") from None


def in_float32(fn):
    """Run ``fn`` on float16/bfloat16 tensors in float32 and round its float results back
    (LAPACK has neither dtype; PyTorch's CPU build has no kernel for them either, and its
    reference for them is float32): forward and backward are float32, rounded once."""

    def widen(v):
        return v.float() if isinstance(v, Tensor) and v.dtype in _LOW else v

    def narrow(v, to):
        if isinstance(v, tuple):
            return type(v)(*[narrow(x, to) for x in v])
        return v.to(to) if isinstance(v, Tensor) and v.dtype is dt.float32 else v

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        low = next((a.dtype for a in args if isinstance(a, Tensor) and a.dtype in _LOW), None)
        if low is None:
            return fn(*args, **kwargs)
        return narrow(fn(*[widen(a) for a in args], **kwargs), low)

    return wrapper


_LOW = (dt.float16, dt.bfloat16)


SINGULAR = ("The diagonal element is zero, the inversion could not be completed because the "
            "input matrix is singular.")
NOT_PD = ("The factorization could not be completed because the input is not "
          "positive-definite.")


def eye_like(A, n: int | None = None) -> Tensor:
    m = math_ns()
    return m.eye(A.shape[-1] if n is None else n, dtype=A.dtype, device=A.device)


def _mT(x):
    return x.transpose(-2, -1)


# -------------------------------------------------------------------------- determinants
class SLogDet(Function):
    node_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, A):
        ctx.set_materialize_grads(False)
        sign, logabs = lapack("linalg.slogdet", SINGULAR, lambda xp, a: xp.linalg.slogdet(a), A)
        ctx.save_for_backward(A)
        # (the sign requires grad, as PyTorch's, with a zero gradient)
        return (A._new(sign.astype(A._data.dtype, copy=False)),
                A._new(logabs.astype(A._data.dtype, copy=False)))

    @staticmethod
    def backward(ctx, _gsign, glogabs):
        (A,) = ctx.saved_tensors
        if glogabs is None:
            return None
        return glogabs[..., None, None] * _mT(inv(A))


class Det(Function):
    node_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, A):
        out = A._new(lapack("linalg.det", SINGULAR, lambda xp, a: xp.linalg.det(a), A)
                     .astype(A._data.dtype, copy=False))
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # d det(A) = det(A) tr(A^-1 dA): the gradient is det(A) A^-T. At a singular matrix
        # (det exactly 0) it is 0, as PyTorch's (not the adjugate).
        A, out = ctx.saved_tensors
        singular = (out == 0)[..., None, None]
        A_inv = Inv.apply(math_ns().where(singular, eye_like(A), A))
        return (grad * out)[..., None, None] * _mT(A_inv)


@in_float32
def det(A: Tensor) -> Tensor:
    """The determinant of a square matrix (or of each in a batch ``(*, n, n)``)."""
    check_matrix(A, "linalg.det")
    return Det.apply(A)


def linalg_slogdet(A: Tensor):
    """``(sign, logabsdet)`` of the determinant: the sign (0 for a singular matrix) and the
    log of its absolute value; only ``logabsdet`` is differentiable."""
    check_matrix(A, "linalg.slogdet", low=False)
    return SlogdetResult(*SLogDet.apply(A))


def slogdet(input: Tensor):
    """``torch.slogdet``: ``linalg.slogdet``."""
    check_matrix(input, "linalg.slogdet", low=False)
    return TorchSlogdetResult(*SLogDet.apply(input))


def logdet(input: Tensor) -> Tensor:
    """``log(det(input))``: nan where the determinant is negative, -inf where it is 0."""
    check_matrix(input, "logdet", low=False)
    sign, logabs = SLogDet.apply(input)
    return math_ns().where(sign < 0, float("nan"), logabs)


# ---------------------------------------------------------------------------- inverses
class Inv(Function):
    node_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        try:
            out = A._new(lapack("linalg.inv", SINGULAR, lambda xp, a: xp.linalg.inv(a), A))
        except LinAlgError:
            raise LinAlgError(_singular_message(A)) from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (X,) = ctx.saved_tensors
        Xt = _mT(X)
        return -(Xt @ grad @ Xt)


def _first_singular(A, batch=None) -> tuple:
    """``(where, k)`` for the first singular matrix of ``A`` (broadcast to ``batch`` dims
    where given): ``where`` its batch prefix in PyTorch's messages (empty for one matrix), ``k``
    the 1-based diagonal element of its LU factor that is zero (0 if none is exactly zero).
    Run on the host, only once a solve or an inversion has failed."""
    from .linalg_lu import _getf2

    a = A._backend.to_numpy(A.detach()._data).astype(np.float64)
    if batch is not None:
        a = np.broadcast_to(a, tuple(batch) + a.shape[-2:])
    lu, _ = _getf2(np, a)
    zero = np.diagonal(lu, axis1=-2, axis2=-1) == 0
    first = np.where(zero.any(-1), zero.argmax(-1) + 1, 0).reshape(-1)
    index = int(np.flatnonzero(first)[0]) if first.any() else 0
    return (f"(Batch element {index}): " if a.ndim > 2 else ""), int(first[index])


def _singular_message(A: Tensor) -> str:
    """PyTorch's message for a singular matrix (or the first of a batch) that ``inv`` met."""
    where, k = _first_singular(A)
    element = f"The diagonal element {k} is zero" if k else "The diagonal element is zero"
    return (f"linalg.inv: {where}{element}, the inversion could not be completed because the "
            "input matrix is singular.")


def inv(A: Tensor) -> Tensor:
    """The inverse of a square matrix (or of each in a batch); ``LinAlgError`` if singular."""
    check_matrix(A, "linalg.inv", low=False)
    return Inv.apply(A)


def inv_ex(A: Tensor, *, check_errors: bool = False):
    """``(inverse, info)``: ``info`` (int32, one per matrix) is 0 where the inversion succeeded
    and positive where the matrix is singular (its inverse is then not meaningful)."""
    check_matrix(A, "linalg.inv", low=False)
    m = math_ns()
    try:
        return InvExResult(Inv.apply(A), m.zeros(A.shape[:-2], dtype=m.int32, device=A.device))
    except LinAlgError:
        if check_errors:
            raise
    from .linalg_lu import lu_factor_ex

    info = lu_factor_ex(A.detach()).info  # LAPACK's: the first zero pivot
    bad = (info > 0)[..., None, None]
    return InvExResult(m.where(bad, float("nan"), inv(m.where(bad, eye_like(A), A))), info)


def inverse(input: Tensor) -> Tensor:
    """``torch.inverse``: ``linalg.inv``."""
    return inv(input)


# ------------------------------------------------------------------------------ solves
def _batch_shapes(A, B, fn):
    try:
        return tuple(np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2])))
    except ValueError:
        raise RuntimeError(
            f"{fn}: The size of tensor A batch ({tuple(A.shape[:-2])}) must match the size of "
            f"tensor B batch ({tuple(B.shape[:-2])}) at non-singleton dimensions") from None


class Solve(Function):
    """``A X = B`` for matrices ``B`` (``(*, n, k)``): the vector case is unsqueezed first."""

    node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B):
        batch = _batch_shapes(A, B, "linalg.solve")
        n, k = A.shape[-1], B.shape[-1]

        def call(xp, a, b):
            return xp.linalg.solve(xp.broadcast_to(a, batch + (n, n)),
                                   xp.broadcast_to(b, batch + (n, k)))

        try:
            out = A._new(lapack("torch.linalg.solve",
                                "The solver failed because the input matrix is singular.",
                                call, A, B))
        except LinAlgError:
            where, _ = _first_singular(A, batch)
            raise LinAlgError(f"torch.linalg.solve: {where}The solver failed because the input "
                              "matrix is singular.") from None
        ctx.save_for_backward(A, out if ctx.needs_input_grad[0] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        A, X = ctx.saved_tensors
        gB = Solve.apply(conjugate(_mT(A)), grad)  # A^H gB = grad
        gA = -(gB @ conjugate(_mT(X))) if ctx.needs_input_grad[0] else None
        return gA, gB


@in_float32
def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """The solution ``X`` of ``A X = B`` (``left=False``: ``X A = B``) for a square invertible
    ``A`` ``(*, n, n)`` and ``B`` ``(*, n, k)``, or ``(*, n)`` (a batch of vectors, when ``B``
    is 1-D or has ``A``'s shape less its last dim); batch dims broadcast."""
    check_matrix(A, "linalg.solve")
    check_tensor(B, "linalg.solve", "B")
    check_same_dtype(A, B, "linalg.solve")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:
        if vector:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not "
                               "supported for left=False. In this case linalg.solve is "
                               "equivalent to B / A.squeeze(-1)")
        return _mT(solve(_mT(A), _mT(B)))
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-1]:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {Bm.shape[-2]}x{Bm.shape[-1]})")
    X = Solve.apply(A, Bm)
    return X.squeeze(-1) if vector else X


def _substitute(xp, a, b, upper: bool, unit: bool):
    """Solve ``a x = b`` for a triangular ``a`` (``(*, n, n)``, only its triangle read) by
    substitution, one row of ``x`` at a time; zero pivots give inf/nan, as LAPACK's trsm."""
    n = a.shape[-1]
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return _substitute_rows(xp, a, b, n, batch, upper, unit)


def _substitute_rows(xp, a, b, n, batch, upper, unit):
    x = xp.zeros_like(b, shape=batch + b.shape[-2:])
    rows = range(n - 1, -1, -1) if upper else range(n)
    for i in rows:
        lo, hi = (i + 1, n) if upper else (0, i)
        r = b[..., i, :]
        if hi > lo:
            r = r - xp.matmul(a[..., i:i + 1, lo:hi], x[..., lo:hi, :])[..., 0, :]
        x[..., i, :] = r if unit else r / a[..., i:i + 1, i]
    return x


class SolveTriangular(Function):
    node_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, A, B, upper, unit):
        _batch_shapes(A, B, "linalg.solve_triangular")
        ctx.flags = (upper, unit)
        out = A._new(_substitute(A._backend.xp, A._data, B._data, upper, unit))
        ctx.save_for_backward(A, out if ctx.needs_input_grad[0] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        A, X = ctx.saved_tensors
        upper, unit = ctx.flags
        gB = SolveTriangular.apply(_mT(A), grad, not upper, unit)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ _mT(X))
            shift = 1 if unit else 0
            gA = gA.triu(shift) if upper else gA.tril(-shift)
        return gA, gB, None, None


@in_float32
def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """The solution of ``A X = B`` (``left=False``: ``X A = B``) for a triangular ``A``
    ``(*, n, n)`` (upper or lower, as ``upper`` says; the other triangle is not read; a unit
    diagonal assumed when ``unitriangular``) and ``B`` ``(*, n, k)``; batch dims broadcast."""
    fn = "linalg.solve_triangular"
    check_matrix(A, fn)
    check_tensor(B, fn, "B")
    if B.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor B must have at least 2 dimensions.")
    if B.dtype != A.dtype:  # PyTorch's CPU op solves in A's dtype (B cast, differentiably)
        B = B.to(A.dtype)
    if not left:
        return _mT(solve_triangular(_mT(A), _mT(B), upper=not upper, left=True,
                                    unitriangular=unitriangular))
    if B.shape[-2] != A.shape[-1]:
        raise RuntimeError(
            f"{fn}: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
    return SolveTriangular.apply(A, B, bool(upper), bool(unitriangular))


METHODS = {"det": det, "logdet": logdet, "slogdet": slogdet, "inverse": inverse}
