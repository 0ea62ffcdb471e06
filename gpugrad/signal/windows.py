"""``signal.windows``: window functions of ``M`` points, as ``torch.signal.windows``.

``sym=True`` (the default) gives the symmetric window, for filter design; ``sym=False`` the
periodic one, for spectral analysis: the symmetric window of ``M + 1`` points without its last.
Values are computed in float64 on the host and cast to ``dtype`` (float32 or float64, default
the default dtype). The cosine-sum windows (Hann, Hamming, Blackman, Nuttall) are
``general_cosine``, and report errors under that name, as PyTorch's do.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype as dt
from .._typeinfo import strided
from .._windows import _cosine_sum, _kaiser, _triangle, _window_tensor
from ..factories import _float_dtype
from ..tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _window(name: str, M, sym: bool, dtype, layout, device, requires_grad: bool,
            values) -> Tensor:
    """The window ``values(x)`` of ``M`` points, where ``x`` are the positions 0 .. M-1 scaled
    by what the window needs (``values`` receives ``(k, n)``: k = 0 .. M-1 over a window of n
    points, n = M for the symmetric window, M + 1 for the periodic one)."""
    if isinstance(M, bool) or not isinstance(M, numbers.Integral):
        raise TypeError(f"{name}(): argument 'M' must be int, not {type(M).__name__}")
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not None and layout is not strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    d = _float_dtype(dtype)
    if d not in (dt.float32, dt.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {d}")
    return _window_tensor(M, M if sym else M + 1, d, device, requires_grad, values)


def _centred(k, n):
    """Positions measured from the window's centre, ``(n - 1) / 2``."""
    return k - (n - 1) / 2


def general_cosine(M, *, a, sym: bool = True, dtype=None, layout=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    """``sum_i (-1)^i a[i] cos(2 pi i k / (n - 1))``: the cosine-sum family."""
    if not isinstance(a, (list, tuple)):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    return _window("general_cosine", M, sym, dtype, layout, device, requires_grad,
                   _cosine_sum(*[float(c) for c in a]))


def general_hamming(M, *, alpha: float = 0.54, sym: bool = True, dtype=None, layout=None,
                    device=None, requires_grad: bool = False) -> Tensor:
    """``alpha - (1 - alpha) cos(2 pi k / (n - 1))``."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """The Hann window, ``general_hamming`` with ``alpha = 0.5``."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """The Hamming window, ``general_hamming`` with ``alpha = 0.54``."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The Blackman window: cosine sum with coefficients 0.42, 0.5, 0.08."""
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Nuttall's minimum 4-term Blackman-Harris window."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym,
                          dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2 k / (n - 1) - 1|``."""
    return _window("bartlett", M, sym, dtype, layout, device, requires_grad, _triangle)


def cosine(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """The sine window ``sin(pi (k + 1/2) / n)``."""
    return _window("cosine", M, sym, dtype, layout, device, requires_grad,
                   lambda k, n: np.sin(np.pi * (k + 0.5) / n))


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, layout=None,
             device=None, requires_grad: bool = False) -> Tensor:
    """``exp(-x^2 / (2 std^2))``, x measured from the centre."""
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _window("gaussian", M, sym, dtype, layout, device, requires_grad,
                   lambda k, n: np.exp(-_centred(k, n) ** 2 / (2 * std * std)))


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True,
                dtype=None, layout=None, device=None, requires_grad: bool = False) -> Tensor:
    """``exp(-|k - center| / tau)``; ``center`` defaults to the window's centre (and must be
    left so for a symmetric window)."""
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")

    def values(k, n):
        offset = _centred(k, n) if center is None else k - center
        return np.exp(-np.abs(offset) / tau)

    return _window("exponential", M, sym, dtype, layout, device, requires_grad, values)


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=None,
           device=None, requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - (2 k / (n - 1) - 1)^2)) / I0(beta)``."""
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    return _window("kaiser", M, sym, dtype, layout, device, requires_grad, _kaiser(beta))
