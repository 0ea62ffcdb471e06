"""Ready-made parametrizations (``torch.nn.utils.parametrizations``): ``weight_norm``,
``spectral_norm`` and ``orthogonal``, registered through ``parametrize``."""

from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..modules.module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every dim but ``dim`` (kept, with size-1 dims elsewhere); over
    all of ``v`` when ``dim`` is -1."""
    if dim == -1:
        return v.norm()
    dims = tuple(d for d in range(v.dim()) if d != dim)
    return v.norm(2, dim=dims, keepdim=True) if dims else v.abs()


def _weight_from(g: Tensor, v: Tensor, dim: int) -> Tensor:
    return v * (g / _norm_except_dim(v, dim))


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_from(weight_g, weight_v, self.dim)

    def right_inverse(self, weight: Tensor):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (norms over every dim but ``dim``):
    ``parametrizations.<name>.original0`` is g, ``original1`` is v. A state dict saved with
    the older ``nn.utils.weight_norm`` (``<name>_g``, ``<name>_v``) loads into it, as in
    PyTorch."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def rename_old_entries(state_dict, prefix, local_metadata, strict, missing_keys,
                           unexpected_keys, error_msgs):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(rename_old_entries)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            from ...sampling import randn
            from ..functional import normalize

            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            u = normalize(randn(h, dtype=weight.dtype, device=weight.device), dim=0, eps=eps)
            v = normalize(randn(w, dtype=weight.dtype, device=weight.device), dim=0, eps=eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:  # the dim whose entries are the matrix's rows goes first
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        from ..functional import normalize

        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(normalize(weight_mat @ self._v, dim=0, eps=self.eps))
                self._v.copy_(normalize(weight_mat.T @ self._u, dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        from ..functional import normalize

        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()  # (the next forward updates them in place)
        sigma = (u * (weight_mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its largest singular value, estimated by power iteration
    (one step per training forward); ``dim`` defaults to 1 for transposed convolutions."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..modules.conv_transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ------------------------------------------------------------------------------- orthogonal
def _is_orthogonal(q: Tensor) -> bool:
    import gpugrad as gg

    n, k = q.shape[-2], q.shape[-1]
    eye = gg.eye(k, dtype=q.dtype)
    atol = 10.0 * n * gg.finfo(q.dtype).eps
    return bool(gg.allclose(q.mT @ q, eye, atol=atol))


def _make_orthogonal(a: Tensor) -> Tensor:
    """The Q of A's QR decomposition with R's diagonal made positive (PyTorch's choice)."""
    import gpugrad as gg

    q, r = gg.linalg.qr(a)
    return q * gg.sign(r.diagonal(dim1=-2, dim2=-1)).unsqueeze(-2)


def _skew_map(x: Tensor, orthogonal_map: str) -> Tensor:
    """The first k columns of ``matrix_exp(A)`` or of the Cayley transform of ``A``, for a
    tall ``x`` (n x k) whose lower triangle, padded to n x n, makes ``A = L - L^T``."""
    import gpugrad as gg

    n, k = x.shape[-2], x.shape[-1]
    x = x.tril()
    if n != k:
        x = gg.cat([x, gg.zeros(*x.shape[:-2], n, n - k, dtype=x.dtype, device=x.device)],
                   dim=-1)
    a = x - x.mT
    if orthogonal_map == "matrix_exp":
        q = gg.linalg.matrix_exp(a)
    else:
        eye = gg.eye(n, dtype=a.dtype, device=a.device)
        q = gg.linalg.solve(eye - 0.5 * a, eye + 0.5 * a)
    return q[..., :k] if n != k else q


def _householder_map(x: Tensor) -> Tensor:
    """The product of the reflectors whose vectors are the columns of a tall ``x`` below its
    diagonal, its columns' signs those of ``x``'s diagonal (taken as integers, so that neither
    the diagonal's values nor any gradient flow through it)."""
    import gpugrad as gg

    a = x.tril(-1)
    tau = 2.0 / (1.0 + (a * a).sum(dim=-2))
    q = gg.linalg.householder_product(a, tau)
    return q * x.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)


def _householder_inverse(q: Tensor) -> Tensor:
    """An ``x`` that ``_householder_map`` takes to the orthogonalized tall ``q``: geqrf's
    vectors, with a diagonal of signs that makes R's diagonal positive. Where geqrf made no
    reflection (tau 0) the map still reflects (its tau is 2), so that sign is flipped back."""
    import gpugrad as gg

    a, tau = gg.geqrf(q)
    diag = a.diagonal(dim1=-2, dim2=-1)
    diag.sign_()
    diag[tau == 0.0] *= -1
    return a


class _Orthogonal(Module):
    """Maps a matrix X to an orthogonal Q (first k columns of a tall matrix; wide matrices
    transposed): for "matrix_exp" and "cayley", X's lower triangle makes the skew-symmetric
    ``A = tril(X) - tril(X)^T`` and Q is ``matrix_exp(A)`` or the Cayley transform
    ``(I - A/2)^-1 (I + A/2)``; for "householder", the columns of X below its diagonal are
    Householder vectors (each reflector exact: ``tau = 2 / |v|^2``) and the signs of X's
    diagonal those of Q's columns. With the trivialization, ``base @ Q``."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x = x.mT
            n, k = k, n
        if self.orthogonal_map == "householder":
            q = _householder_map(x)
        else:
            q = _skew_map(x, self.orthogonal_map)
        if "base" in self._buffers:
            q = self.base @ q
        return q.mT if transposed else q

    def right_inverse(self, q: Tensor) -> Tensor:
        import gpugrad as gg

        if q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {q.shape}.")
        q_init = q
        if q.shape[-2] < q.shape[-1]:
            q = q.mT
        if "base" not in self._buffers:
            if self.orthogonal_map != "householder":
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley "
                    "parametrizations when use_trivialization=False.")
            a = _householder_inverse(q)
            return a.mT if q_init.shape[-2] < q_init.shape[-1] else a
        n, k = q.shape[-2], q.shape[-1]
        if n == k:
            q = q.clone() if _is_orthogonal(q) else _make_orthogonal(q)
        else:  # completed into an n x n orthogonal matrix with random columns, as PyTorch
            extra = gg.randn(*q.shape[:-2], n, n - k, dtype=q.dtype)
            q = _make_orthogonal(gg.cat([q, extra], dim=-1))
        self.base = q
        neg_id = gg.zeros_like(q_init)
        neg_id.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_id


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain ``module.<name>`` (a matrix or a batch of them) to orthogonal matrices, as
    ``torch.nn.utils.parametrizations.orthogonal``: maps "matrix_exp", "cayley" and
    "householder" (the default: "matrix_exp" for square matrices, "householder" otherwise)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. "
                         f"Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square else "householder"
    if orthogonal_map not in ("matrix_exp", "cayley", "householder"):
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
