"""The window factories with PyTorch's names and signatures (``hann_window``,
``hamming_window``, ``blackman_window``, ``bartlett_window``, ``kaiser_window``) and the formulas
they share with ``signal.windows``.
"""

from __future__ import annotations

import numpy as np

from . import _dtype as dt
from ._typeinfo import check_factory_options
from .factories import _backend_for, _finish, _float_dtype
from .tensor import Tensor

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


def _window(fn: str, window_length: int, periodic: bool, dtype, layout, device,
            requires_grad: bool, pin_memory: bool, formula) -> Tensor:
    """A window of ``window_length`` points: ``formula(k, n)`` at k = 0 .. n-1 over n points,
    n = ``window_length`` + 1 when ``periodic`` (the last point dropped, for spectral
    analysis), else ``window_length``. Computed in float64, cast to ``dtype``."""
    check_factory_options(layout, pin_memory, fn)
    if isinstance(window_length, bool) or not isinstance(window_length, (int, np.integer)):
        raise TypeError(f"{fn}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    if window_length < 0:
        raise RuntimeError(f"{fn} requires non-negative window_length, got "
                           f"window_length={window_length}")
    d = _float_dtype(dtype)
    if d.is_complex:  # (PyTorch's windows start from an arange, which has no complex kernel)
        raise NotImplementedError(
            f'"arange_cpu" not implemented for {dt.SCALAR_TYPE_NAMES[d.name]!r}')
    if not d.is_floating_point:
        raise RuntimeError(f"{fn} expects floating point dtypes, got: {d}")
    n = window_length + 1 if periodic else window_length
    return _window_tensor(window_length, n, d, device, requires_grad, formula)


def _window_tensor(length: int, n: int, d, device, requires_grad: bool, formula) -> Tensor:
    """``formula(k, n)`` at k = 0 .. length-1 (ones for a length of 0 or 1), computed in float64
    and cast to the dtype ``d``: the windows here and ``signal.windows``, after their checks."""
    backend = _backend_for(device)
    if length <= 1:
        values = np.ones(length)
    else:
        values = formula(np.arange(length, dtype=np.float64), n)
    return _finish(backend.asarray(values.astype(d.np)), backend, requires_grad)


def _cosine_sum(*coefficients):
    """``sum_j (-1)^j a_j cos(2 pi j k / (n - 1))``: Hann, Hamming, Blackman, Nuttall."""
    def formula(k, n):
        phase = 2 * np.pi * k / (n - 1)
        return sum((-1) ** j * a * np.cos(j * phase) for j, a in enumerate(coefficients))
    return formula


def _triangle(k, n):
    """Bartlett's window ``1 - |2k / (n - 1) - 1|``."""
    return 1 - np.abs(2 * k / (n - 1) - 1)


def _kaiser(beta: float):
    """``I0(beta sqrt(1 - (2k / (n - 1) - 1)^2)) / I0(beta)``, I0 the modified Bessel function
    of order 0."""
    def formula(k, n):
        ratio = 2 * k / (n - 1) - 1
        return np.i0(beta * np.sqrt(np.clip(1 - ratio * ratio, 0, None))) / np.i0(beta)
    return formula


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``0.5 - 0.5 cos(2 pi k / (N - 1))``."""
    return _window("hann_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _cosine_sum(0.5, 0.5))


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``alpha - beta cos(2 pi k / (N - 1))``."""
    return _window("hamming_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _cosine_sum(alpha, beta))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False,
                    pin_memory: bool = False) -> Tensor:
    """``0.42 - 0.5 cos(2 pi k / (N - 1)) + 0.08 cos(4 pi k / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _cosine_sum(0.42, 0.5, 0.08))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False,
                    pin_memory: bool = False) -> Tensor:
    """The triangle ``1 - |2k / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _triangle)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - (2k / (N - 1) - 1)^2)) / I0(beta)``, I0 the modified Bessel function
    of order 0."""
    return _window("kaiser_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _kaiser(beta))
