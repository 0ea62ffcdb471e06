"""PyTorch's pre-``torch.linalg`` names: ``triangular_solve``, ``lu`` and ``lu_solve`` still work
(with a deprecation warning, as PyTorch's do) and forward to ``gpugrad.linalg``'s solvers;
``matrix_rank``, ``lstsq``, ``solve``, ``eig`` and ``symeig`` were removed in PyTorch 1.9 and
now only raise, naming their ``torch.linalg`` replacement. ``frobenius_norm`` and
``nuclear_norm``, kept by PyTorch for TorchScript, warn and forward to the ``linalg`` norms.
"""

from __future__ import annotations

from .. import _dtype as dt
from .._warnings import warn_user
from ._return_types import result
from ._util import Tensor, check_tensor
from .linalg_lu import lu_factor, lu_factor_ex
from .linalg_lu import lu_solve as _linalg_lu_solve
from .linalg_norms import matrix_norm, vector_norm
from .linalg_solve import _mT, solve_triangular
from .structure import broadcast_shapes

__all__ = ["triangular_solve", "lu", "lu_solve", "matrix_rank", "lstsq", "solve", "eig",
           "symeig", "frobenius_norm", "nuclear_norm"]

TriangularSolveResult = result("triangular_solve", "solution cloned_coefficient")
LuWithInfoResult = result("_lu_with_info", "LU pivots info")


def _deprecated(old: str, new: str) -> None:
    warn_user(f"torch.{old} is deprecated in favor of torch.linalg.{new} and will be removed "
              "in a future PyTorch release.")


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False):
    """``(solution, cloned_coefficient)``: the solution ``X`` of ``A X = b`` (``transpose``:
    ``A^T X = b``) for triangular ``A`` ``(*, n, n)`` and ``b`` ``(*, n, k)``, batch dims
    broadcast, and a copy of ``A`` broadcast to the batch. Deprecated: use
    ``linalg.solve_triangular(A, b)``."""
    fn = "torch.triangular_solve"
    for name, t in (("b", b), ("A", A)):
        check_tensor(t, "triangular_solve", "A" if name == "A" else "input")
        if t.ndim < 2:
            raise RuntimeError(f"{fn}: Expected {name} to have at least 2 dimensions, but it "
                               f"has {t.ndim} dimensions instead")
    if b.dtype != A.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{dt.SCALAR_TYPE_NAMES[b.dtype.name]} and A of type "
                           f"{dt.SCALAR_TYPE_NAMES[A.dtype.name]} instead.")
    if A.shape[-1] != A.shape[-2] or b.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for triangular_solve: each A matrix is "
                           f"{A.shape[-2]} by {A.shape[-1]} but each b matrix is "
                           f"{b.shape[-2]} by {b.shape[-1]}")
    if not A.is_floating_point():
        raise NotImplementedError(
            f'"triangular_solve_cpu" not implemented for '
            f"'{dt.SCALAR_TYPE_NAMES[A.dtype.name]}'")
    _deprecated("triangular_solve", "solve_triangular")
    batch = tuple(broadcast_shapes(A.shape[:-2], b.shape[:-2]))
    A_b = A.expand(*batch, *A.shape[-2:])
    coefficient = _mT(A_b) if transpose else A_b
    X = solve_triangular(coefficient, b.expand(*batch, *b.shape[-2:]),
                         upper=bool(upper) != bool(transpose), unitriangular=unitriangular)
    return TriangularSolveResult(X, A_b.clone())


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False):
    """``(A_LU, pivots)``, the compact LU factorization of ``A`` ``(*, m, n)`` that
    ``linalg.lu_factor`` computes; with ``get_infos``, ``(LU, pivots, info)`` as
    ``linalg.lu_factor_ex``. Deprecated: use ``linalg.lu_factor``."""
    _deprecated("lu", "lu_factor / torch.linalg.lu_factor_ex")
    if get_infos:
        return LuWithInfoResult(*lu_factor_ex(A, pivot=pivot))
    return tuple(lu_factor(A, pivot=pivot))


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """The solution of ``A X = b`` from ``A``'s compact LU factorization (``lu``). Deprecated:
    use ``linalg.lu_solve(LU_data, LU_pivots, b)``."""
    _deprecated("lu_solve", "lu_solve")
    return _linalg_lu_solve(LU_data, LU_pivots, b)


# ------------------------------------------------------------------------ removed in PyTorch 1.9
_REMOVED = "This function was deprecated since version 1.9 and is now removed."


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    """Removed: raises, pointing to ``linalg.matrix_rank``."""
    raise RuntimeError(f"{_REMOVED}\nPlease use the `torch.linalg.matrix_rank` function "
                       "instead. The parameter 'symmetric' was renamed in "
                       "`torch.linalg.matrix_rank()` to 'hermitian'.")


def lstsq(input, A, *, out=None):
    """Removed: raises, pointing to ``linalg.lstsq``."""
    raise RuntimeError(f"{_REMOVED} `torch.lstsq` is deprecated in favor of "
                       "`torch.linalg.lstsq`.\n`torch.linalg.lstsq` has reversed arguments and "
                       "does not return the QR decomposition in the returned tuple; use "
                       "`torch.linalg.qr` for it. Its residuals are in the field 'residuals' of "
                       "the returned named tuple.")


def solve(input, A, *, out=None):
    """Removed: raises, pointing to ``linalg.solve``."""
    raise RuntimeError(f"{_REMOVED} `torch.solve` is deprecated in favor of "
                       "`torch.linalg.solve`. `torch.linalg.solve` has its arguments reversed "
                       "and does not return the LU factorization.\n\nTo get the LU "
                       "factorization see `torch.lu`, which can be used with `torch.lu_solve` "
                       "or `torch.lu_unpack`.\nX = torch.solve(B, A).solution should be "
                       "replaced with:\nX = torch.linalg.solve(A, B)")


def eig(self, eigenvectors=False, *, e=None, v=None):
    """Removed: raises, pointing to ``linalg.eig`` / ``linalg.eigvals``."""
    raise RuntimeError(f"{_REMOVED} `torch.linalg.eig` returns complex tensors of dtype "
                       "`cfloat` or `cdouble` rather than real tensors mimicking complex "
                       "tensors.\n\nL, _ = torch.eig(A) should be replaced with:\n"
                       "L_complex = torch.linalg.eigvals(A)\n\nand\n\n"
                       "L, V = torch.eig(A, eigenvectors=True) should be replaced with:\n"
                       "L_complex, V_complex = torch.linalg.eig(A)")


def symeig(input, eigenvectors=False, upper=True, *, out=None):
    """Removed: raises, pointing to ``linalg.eigh`` / ``linalg.eigvalsh``."""
    raise RuntimeError(f"{_REMOVED} The default behavior has changed from using the upper "
                       "triangular portion of the matrix by default to using the lower "
                       "triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should be "
                       "replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper else "
                       "'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) should be "
                       "replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')")


def _kept_for_jit(name: str, instead: str) -> None:
    warn_user(f"at::{name} is deprecated and it is just left for JIT compatibility. It will be "
              f"removed in a future PyTorch release. Please use `{instead}` instead")


def frobenius_norm(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """The 2-norm over ``dim`` (at most two dims): ``linalg.vector_norm(input, 2, dim)``."""
    _kept_for_jit("frobenius_norm", "linalg.vector_norm(A, 2., dim, keepdim)")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions "
                           "instead.")
    return vector_norm(input, 2, dims, keepdim)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The sum of singular values over the matrix dims ``dim`` (the last two by default):
    ``linalg.matrix_norm(input, "nuc", dim)``. ``nuclear_norm(input, keepdim)`` also works."""
    if isinstance(dim, bool):  # nuclear_norm(input, keepdim): PyTorch's first overload
        dim, keepdim = None, dim
    _kept_for_jit("nuclear_norm", "linalg.matrix_norm(A, 'nuc', dim, keepdim)")
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)


METHODS = {"triangular_solve": triangular_solve, "lu": lu, "lu_solve": lu_solve,
           "lstsq": lstsq, "solve": solve, "eig": eig, "symeig": symeig}
