"""More of ``torch.special`` (re-exported by ``gpugrad.special``): the Bessel functions of the
second kind, the modified ones of the second kind and their scaled forms, ``airy_ai``, the
incomplete gamma functions and the orthogonal polynomials.

As in PyTorch, none but ``gammainc``/``gammaincc`` (in their second argument) is differentiable:
their results never require grad. They have no Triton kernel: on CUDA they are CuPy array
arithmetic. The Bessel and Airy functions are computed in float64 for every floating dtype and
rounded once; the polynomials run PyTorch's recurrences in the result's dtype (float16 and
bfloat16 in float32).
"""

from __future__ import annotations

import numpy as np

from . import _dtype as dt
from .backend import formulas_bessel as _fb
from .backend import formulas_orthopoly as _fp
from .ops._broadcast import raise_broadcast_error
from .ops._util import Tensor, check_tensor
from .ops.igamma import gammainc, gammaincc


def _as_float(x: Tensor) -> Tensor:
    return x if x.dtype.is_floating_point else x.to(dt.get_default_dtype())


def in_float64(x: Tensor, formula) -> Tensor:
    """``formula(math, array)`` on ``x``'s array in float64, rounded once to ``x``'s dtype; the
    result does not require grad."""
    d = x._data
    with np.errstate(all="ignore"):
        y = formula(x._backend.math, d.astype(np.float64))
    return Tensor._make(x._backend.xp.asarray(y).astype(d.dtype, copy=False), x._backend)


def no_grad_unary(name, formula, arg: str = "input"):
    """A function of ``torch.special`` that PyTorch does not differentiate, computed in float64."""
    def fn(input: Tensor) -> Tensor:
        return in_float64(_as_float(check_tensor(input, f"special_{name}", arg)), formula)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.special.{name}`` (not differentiable, as PyTorch's)."
    return fn


bessel_y0 = no_grad_unary("bessel_y0", _fb.bessel_y0)
bessel_y1 = no_grad_unary("bessel_y1", _fb.bessel_y1)
modified_bessel_k0 = no_grad_unary("modified_bessel_k0", _fb.modified_bessel_k0)
modified_bessel_k1 = no_grad_unary("modified_bessel_k1", _fb.modified_bessel_k1)
scaled_modified_bessel_k0 = no_grad_unary("scaled_modified_bessel_k0",
                                          _fb.scaled_modified_bessel_k0, "x")
scaled_modified_bessel_k1 = no_grad_unary("scaled_modified_bessel_k1",
                                          _fb.scaled_modified_bessel_k1, "x")
airy_ai = no_grad_unary("airy_ai", _fb.airy_ai, "x")


# -------------------------------------------------------------------- orthogonal polynomials
def _polynomial_operands(name: str, x, n):
    x_t, n_t = isinstance(x, Tensor), isinstance(n, Tensor)
    if not x_t and not n_t:
        raise TypeError(f"special_{name}() received an invalid combination of arguments - got "
                        f"({type(x).__name__}, {type(n).__name__}), but expected one of: "
                        "(Tensor x, Tensor n), (Number x, Tensor n), (Tensor x, Number n)")
    like = x if x_t else n
    dtype = dt.result_type(x, n)
    if not dtype.is_floating_point:
        dtype = dt.get_default_dtype()
    xp = like._backend.xp
    xa = x._data if x_t else xp.asarray(x)
    na = n._data if n_t else xp.asarray(n)
    if x_t and n_t and n._backend is not x._backend:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {x.device} and {n.device}!")
    compute = np.float32 if dtype in (dt.float16, dt.bfloat16) else dtype.np
    try:
        xa, na = xp.broadcast_arrays(xa.astype(compute), na.astype(compute))
    except ValueError as e:
        raise_broadcast_error(x, n, e)
    return like._backend, dtype, xa, na


def _polynomial(name: str, formula, doc: str):
    def fn(x, n) -> Tensor:
        backend, dtype, xa, na = _polynomial_operands(name, x, n)
        with np.errstate(all="ignore"):
            y = formula(backend.math, xa, na)
        return Tensor._make(backend.xp.asarray(y).astype(dtype.np, copy=False), backend)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{doc} of degree ``n`` at ``x`` (not differentiable, as PyTorch's)."
    return fn


def _chebyshev(kind: str, shifted: bool):
    return lambda m, x, n: _fp.chebyshev(m, kind, x, n, shifted)


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", _chebyshev("t", False),
                                     "The Chebyshev polynomial of the first kind")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", _chebyshev("u", False),
                                     "The Chebyshev polynomial of the second kind")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", _chebyshev("v", False),
                                     "The Chebyshev polynomial of the third kind")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", _chebyshev("w", False),
                                     "The Chebyshev polynomial of the fourth kind")
shifted_chebyshev_polynomial_t = _polynomial(
    "shifted_chebyshev_polynomial_t", _chebyshev("t", True),
    "The shifted Chebyshev polynomial of the first kind (T_n(2x - 1))")
shifted_chebyshev_polynomial_u = _polynomial(
    "shifted_chebyshev_polynomial_u", _chebyshev("u", True),
    "The shifted Chebyshev polynomial of the second kind (U_n(2x - 1))")
shifted_chebyshev_polynomial_v = _polynomial(
    "shifted_chebyshev_polynomial_v", _chebyshev("v", True),
    "The shifted Chebyshev polynomial of the third kind (V_n(2x - 1))")
shifted_chebyshev_polynomial_w = _polynomial(
    "shifted_chebyshev_polynomial_w", _chebyshev("w", True),
    "The shifted Chebyshev polynomial of the fourth kind (W_n(2x - 1))")
hermite_polynomial_h = _polynomial("hermite_polynomial_h", _fp.hermite_h,
                                   "The physicists' Hermite polynomial")
hermite_polynomial_he = _polynomial("hermite_polynomial_he", _fp.hermite_he,
                                    "The probabilists' Hermite polynomial")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", _fp.laguerre_l,
                                    "The Laguerre polynomial")
legendre_polynomial_p = _polynomial("legendre_polynomial_p", _fp.legendre_p,
                                    "The Legendre polynomial")

__all__ = [
    "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai", "gammainc",
    "gammaincc", "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
    "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
    "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p",
]
