"""``gpugrad.linalg``: PyTorch's ``torch.linalg`` for float32 and float64 tensors of
(batches of) matrices, on the CPU through NumPy and on CUDA through CuPy (LAPACK / cuSOLVER).

Every function is differentiable where PyTorch's is (``ops/linalg_*.py``). ``eig`` and
``eigvals`` give complex results; complex inputs are refused (``ops/_complex.py``) but for
``matmul``, ``eig``, ``eigvals`` and the norms of magnitudes.
"""

from .ops.linalg import matmul
from .ops.linalg_cholesky import cholesky_ex
from .ops.linalg_cholesky import linalg_cholesky as cholesky
from .ops.linalg_eig import eig, eigvals
from .ops.linalg_householder import householder_product
from .ops.linalg_lu import (
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
    solve_ex,
    tensorinv,
    tensorsolve,
)
from .ops.linalg_norms import matrix_norm, norm, vector_norm
from .ops.linalg_pinv import cond, lstsq, matrix_rank, pinv
from .ops.linalg_products import diagonal, matrix_exp, matrix_power, multi_dot, vecdot
from .ops.linalg_products import linalg_cross as cross
from .ops.linalg_products import linalg_vander as vander
from .ops.linalg_solve import LinAlgError, det, inv, inv_ex, solve, solve_triangular
from .ops.linalg_solve import linalg_slogdet as slogdet
from .ops.linalg_spectral import eigh, eigvalsh, svdvals
from .ops.linalg_spectral import linalg_qr as qr
from .ops.linalg_spectral import linalg_svd as svd

__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh",
    "eigvals", "eigvalsh", "householder_product", "inv", "inv_ex", "lstsq", "lu", "lu_factor",
    "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm",
    "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
    "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander",
    "vecdot", "vector_norm",
]
