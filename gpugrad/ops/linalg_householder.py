"""Householder reflectors: ``linalg.householder_product`` (``torch.orgqr``), the product of
the reflectors as a composition of differentiable ops, and ``geqrf``, LAPACK's compact QR
that makes them (not differentiable, as PyTorch's)."""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._return_types import result as _result
from ._util import Tensor, check_tensor, math_ns
from .linalg import matmul

__all__ = ["geqrf", "orgqr"]

GeqrfResult = _result("geqrf", "a tau")

_HP = "torch.linalg.householder_product"


def _check_lapack_dtype(A: Tensor, routine: str) -> None:
    # PyTorch has float32/float64 kernels only (no half types, no integers) for these.
    if A.dtype not in (dt.float32, dt.float64):
        raise NotImplementedError(f'"{routine}_{A.device.type}" not implemented for '
                                  f"'{dt.SCALAR_TYPE_NAMES[A.dtype.name]}'")


def _check_householder_args(A, tau, fn: str) -> None:
    check_tensor(A, fn, "input")
    check_tensor(tau, fn, "tau")
    if A.ndim < 2:
        raise RuntimeError(f"{_HP}: input must have at least 2 dimensions.")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{_HP}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if tau.ndim == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    if A.shape[-1] < tau.shape[-1]:
        raise RuntimeError(f"{_HP}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(f"{_HP}: Expected tau to have one dimension less than input, but "
                           f"got tau.ndim equal to {tau.ndim} and input.ndim is equal to "
                           f"{A.ndim}")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{_HP}: Expected batch dimensions of tau to be equal to "
                           f"input.shape[:-2], but got {list(tau.shape[:-1])}")
    if tau.dtype != A.dtype:
        names = [dt.SCALAR_TYPE_NAMES[t.dtype.name] for t in (tau, A)]
        raise RuntimeError(f"{_HP}: tau dtype {names[0]} does not match input dtype "
                           f"{names[1]}")
    _check_lapack_dtype(A, "orgqr")


def householder_product(input: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of ``H_1 H_2 ... H_k`` for ``input`` ``(*, m, n)`` and ``tau``
    ``(*, k)``, ``m >= n >= k``: ``H_i = I - tau_i v_i v_i^T``, where ``v_i`` is column i of
    ``input`` below the diagonal, with a 1 on the diagonal and zeros above it (``geqrf``'s
    layout). Built from differentiable ops, so it differentiates in ``input`` and ``tau``."""
    A = input
    _check_householder_args(A, tau, "linalg_householder_product")
    m_ = math_ns()
    m, n, k = A.shape[-2], A.shape[-1], tau.shape[-1]
    eye = m_.eye(m, n, dtype=A.dtype, device=A.device)
    reflectors = A[..., :k].tril(-1) + eye[:, :k]  # the v_i as columns
    # Q = H_1 (H_2 (... (H_k E))) with E the first n columns of I: each step a rank-one update.
    # H_i leaves rows and columns before i alone, so step i works on Q[i:, i:] only.
    q = m_.zeros(*A.shape[:-2], m, n, dtype=A.dtype, device=A.device) + eye
    if k == 0:  # no reflector: the identity, still a function of the inputs (as PyTorch's)
        return q + A[..., :0, :0].sum((-2, -1), keepdim=True) + tau.sum(-1)[..., None, None]
    for i in reversed(range(k)):
        v = reflectors[..., i:, i:i + 1]  # (*, m - i, 1)
        scale = tau[..., i:i + 1].unsqueeze(-1)  # (*, 1, 1)
        block = q[..., i:, i:]
        # (matmul called directly, not through ``@``: autocast must not lower the products of
        # an op that PyTorch runs whole in the input's dtype)
        block = block - matmul(scale * v, matmul(v.mT, block))
        q = _with_corner(q, block, i)
    return q


def _with_corner(q: Tensor, block: Tensor, i: int) -> Tensor:
    """``q`` with its lower-right corner from row and column ``i`` on replaced by ``block``."""
    if i == 0:
        return block
    m_ = math_ns()
    bottom = m_.cat([q[..., i:, :i], block], dim=-1)
    return m_.cat([q[..., :i, :], bottom], dim=-2)


def orgqr(input: Tensor, input2: Tensor) -> Tensor:
    """``torch.orgqr``: ``linalg.householder_product`` (``input2`` is ``tau``)."""
    return householder_product(input, input2)


class Geqrf(Function):
    """LAPACK's ``geqrf`` through the array module's QR in ``"raw"`` mode: R on and above the
    diagonal of ``a``, the Householder vectors below it, their scales in ``tau``."""

    node_name = "GeqrfBackward0"

    @staticmethod
    def forward(ctx, A):
        xp = A._backend.xp
        a = A._data
        if a.shape[-2] == 0 or a.shape[-1] == 0 or a.size == 0:
            k = min(a.shape[-2], a.shape[-1])
            return A._new(a.copy()), A._new(xp.zeros(a.shape[:-2] + (k,), dtype=a.dtype))
        if a.ndim == 2 or xp is np:
            h, tau = xp.linalg.qr(a, mode="raw")
        else:  # (one matrix at a time where the array module's raw QR may not batch)
            flat = a.reshape((-1,) + a.shape[-2:])
            pairs = [xp.linalg.qr(x, mode="raw") for x in flat]
            h = xp.stack([p[0] for p in pairs]).reshape(a.shape[:-2] + pairs[0][0].shape)
            tau = xp.stack([p[1] for p in pairs]).reshape(a.shape[:-2] + pairs[0][1].shape)
        # raw mode hands h over transposed (Fortran's layout)
        return A._new(xp.ascontiguousarray(xp.swapaxes(h, -1, -2))), A._new(tau)

    @staticmethod
    def backward(ctx, grad_a, grad_tau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


def geqrf(input: Tensor):
    """LAPACK's QR in compact form: ``(a, tau)``, R on and above ``a``'s diagonal and the
    Householder vectors below it (``linalg.householder_product(a, tau)`` is Q). Not
    differentiable."""
    check_tensor(input, "geqrf", "input")
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _check_lapack_dtype(input, "geqrf")
    return GeqrfResult(*Geqrf.apply(input))


METHODS = {"geqrf": geqrf, "orgqr": orgqr}
