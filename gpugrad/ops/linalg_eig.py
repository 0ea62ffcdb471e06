"""``linalg.eig`` and ``linalg.eigvals``: the eigenvalues and eigenvectors of a general square
matrix, complex (``complex64`` for float32 and complex64 input, ``complex128`` for float64 and
complex128), as LAPACK's ``geev`` leaves them: eigenvectors of unit length, with no order among
the eigenvalues.

The backward is PyTorch's (its conjugate convention): with ``A = V diag(L) V^-1``,

    gA = V^-H (diag(gL) + (V^H gV - V^H V diag(Re diag(V^H gV))) / conj(E)) V^H,

``E[i, j] = L[j] - L[i]`` off the diagonal (the eigenvector term needs distinct eigenvalues);
the real part for a real ``A``. An eigenvector is defined up to a phase ``e^(i phi)``: a loss
that depends on the phase has no gradient, and PyTorch's check of that (the imaginary part of
``diag(V^H gV)`` must vanish) is kept, with its message.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._linalg_results import EigResult
from ._util import check_tensor
from .complex_api import _complex_np, real
from .diagonal import diag_embed, diagonal
from .linalg import matmul
from .linalg_solve import Solve, _mT, check_matrix, lapack

__all__ = ["eig", "eigvals"]

_NO_CONVERGE = "The algorithm failed to converge because the input matrix is ill-conditioned " \
               "or has too many repeated eigenvalues."
_PHASE = ("linalg_eig_backward: The eigenvectors in the complex case are specified up to "
          "multiplication by e^{i phi}. The specified loss function depends on this quantity, "
          "so it is ill-defined.")


def _geev(xp, a):
    """LAPACK's general eigensolver through the array module (the host's for an array module
    without one)."""
    if hasattr(xp.linalg, "eig"):
        return xp.linalg.eig(a)
    values, vectors = np.linalg.eig(xp.asnumpy(a))
    return xp.asarray(values), xp.asarray(vectors)


def _mH(x):
    return _mT(x).conj()


class Eig(Function):
    node_name = "LinalgEigBackward0"

    @staticmethod
    def forward(ctx, A, fn):
        ctx.fn = fn
        ctx.set_materialize_grads(False)
        if not bool(A._backend.xp.isfinite(A._data).all()):  # (LAPACK's failure would not say)
            raise RuntimeError(f"torch.{ctx.fn}: input tensor should not contain infs or NaNs.")
        L, V = lapack("linalg.eig", _NO_CONVERGE, _geev, A)
        dtype = A._data.dtype if A._data.dtype.kind == "c" else _complex_np(A._data.dtype)
        L, V = A._new(L.astype(dtype, copy=False)), A._new(V.astype(dtype, copy=False))
        ctx.real_input = A._data.dtype.kind != "c"
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        Vh = _mH(V)
        if gV is None:
            inner = diag_embed(gL)
        else:
            VhgV = matmul(Vh, gV)
            diag = diagonal(VhgV, 0, -2, -1)
            if diag.numel() and float(diag.imag.detach().abs().max()) > 1e-2 * (1 + 1e-2):
                raise RuntimeError(_PHASE)
            inner = VhgV - matmul(Vh, V) * real(diag).unsqueeze(-2)
            n = L.shape[-1]
            eye = L._new(L._backend.xp.eye(n, dtype=L._data.real.dtype))
            Lc = L.conj()
            inner = inner * (1 - eye) / (Lc.unsqueeze(-2) - Lc.unsqueeze(-1) + eye)
            if gL is not None:
                inner = inner + diag_embed(gL)
        gA = Solve.apply(Vh, matmul(inner, Vh))
        return (real(gA) if ctx.real_input else gA), None


def _eig(A, fn: str):
    check_tensor(A, fn, "A")
    if A.dtype in (dt.float16, dt.bfloat16):  # (no complex32 for the result: PyTorch's error)
        raise NotImplementedError(f'"linalg_eig_out_cpu" not implemented for '
                                  f"'{dt.SCALAR_TYPE_NAMES[A.dtype.name]}'")
    if not (A.is_floating_point() or A.dtype.is_complex):
        raise RuntimeError(f"Unknown Complex ScalarType for {dt.SCALAR_TYPE_NAMES[A.dtype.name]}")
    check_matrix(A, fn)
    return Eig.apply(A, fn)


def eig(A):
    """The eigenvalues and eigenvectors (columns, unit length) of a square matrix ``A``
    ``(*, n, n)``: complex tensors, for real and complex ``A`` alike."""
    return EigResult(*_eig(A, "linalg.eig"))


def eigvals(A):
    """The eigenvalues of a square matrix ``A`` ``(*, n, n)``, complex; see ``eig``."""
    return _eig(A, "linalg.eigvals")[0]
