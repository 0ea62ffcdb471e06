"""The named tuples the linalg functions return, as ``torch.return_types.linalg_*``."""

from __future__ import annotations

from ._return_types import result as _result

SlogdetResult = _result("linalg_slogdet", "sign logabsdet")
TorchSlogdetResult = _result("slogdet", "sign logabsdet")
InvExResult = _result("linalg_inv_ex", "inverse info")
CholeskyExResult = _result("linalg_cholesky_ex", "L info")
QRResult = _result("linalg_qr", "Q R")
TorchQRResult = _result("qr", "Q R")
EighResult = _result("linalg_eigh", "eigenvalues eigenvectors")
EigResult = _result("linalg_eig", "eigenvalues eigenvectors")
SVDResult = _result("linalg_svd", "U S Vh")
TorchSVDResult = _result("svd", "U S V")
LstsqResult = _result("linalg_lstsq", "solution residuals rank singular_values")
LuFactorResult = _result("linalg_lu_factor", "LU pivots")
LuFactorExResult = _result("linalg_lu_factor_ex", "LU pivots info")
LuResult = _result("linalg_lu", "P L U")
LuUnpackResult = _result("lu_unpack", "P L U")
SolveExResult = _result("linalg_solve_ex", "result info")
