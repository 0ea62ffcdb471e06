"""Printing tensors as PyTorch prints them: ``tensor([1., 2.], requires_grad=True)``.

PyTorch's layout rules, written for NumPy host arrays: every element is right-justified to one
width, chosen from all the values shown; floats print with ``precision`` decimals, in scientific
notation when the shown values span more than 1000x, exceed 1e8 or go below 1e-4, and as
``3.`` when all are integers; a line holds as many elements as fit in ``linewidth``; past
``threshold`` elements only ``edgeitems`` at each end of each dim are shown, around ``...``;
``dtype=``, ``grad_fn=`` and the like follow, wrapped onto a new line when they do not fit.
``set_printoptions`` changes the options, as ``torch.set_printoptions``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _dtype as dt

__all__ = ["set_printoptions", "tensor_repr", "tensor_format"]


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Set how tensors print: ``precision`` (decimals, default 4), ``threshold`` (elements
    before summarizing, 1000), ``edgeitems`` (shown at each end when summarized, 3),
    ``linewidth`` (80), a ``profile`` (``'default'``, ``'short'``, ``'full'``) and ``sci_mode``
    (True/False forces scientific notation on or off; None chooses)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"Unknown profile {profile!r}: use 'default', 'short' or 'full'")
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """One width and one notation for all the values a tensor shows."""

    def __init__(self, shown: np.ndarray):
        self.floating = shown.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        if not self.floating:
            for value in shown.ravel().tolist():
                self.max_width = max(self.max_width, len(str(value)))
        else:
            self._choose_float_layout(shown.astype(np.float64).ravel())

    def _choose_float_layout(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values) & (values != 0)]
        if finite.size == 0:
            return  # nothing to measure: plain notation, whatever sci_mode says
        magnitudes = np.abs(finite)
        lo, hi = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
                         if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode)
        if self.sci_mode:
            spec, extra = f".{PRINT_OPTS.precision}e", 0
        elif self.int_mode:
            spec, extra = ".0f", 1  # room for the trailing "."
        else:
            spec, extra = f".{PRINT_OPTS.precision}f", 0
        self.max_width = max(len(format(v, spec)) + extra for v in finite.tolist())

    def format(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRINT_OPTS.precision}f}"
        return text.rjust(self.max_width)


class _ComplexFormatter:
    """PyTorch's layout of complex values: the real parts and the imaginary parts each take a
    ``_Formatter`` of their own, and a value shows as ``re+imj`` (the sign of im between)."""

    def __init__(self, shown: np.ndarray):
        self.real, self.imag = _Formatter(shown.real), _Formatter(shown.imag)
        self.max_width = self.real.max_width + self.imag.max_width + 1

    def format(self, value) -> str:
        re = self.real.format(value.real)
        im = (self.imag.format(value.imag) + "j").lstrip()
        return re + im if im[0] in "+-" else re + "+" + im


def _summarized(arr: np.ndarray) -> np.ndarray:
    """The values a summarized print shows: ``edgeitems`` at each end of every dim."""
    k = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.ndim > 1 and not k:
        return arr[(slice(0, 0),) * arr.ndim]
    rows = list(arr[:k]) + list(arr[-k:]) if arr.shape[0] > 2 * k else list(arr)
    if arr.ndim == 1:
        return np.array(rows, dtype=arr.dtype)
    return np.stack([_summarized(r) for r in rows])


def _vector_str(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / (fmt.max_width + 2))))
    k = PRINT_OPTS.edgeitems
    if summarize and not k:
        items = ["..."]
    elif summarize and arr.shape[0] > 2 * k:
        items = ([fmt.format(v) for v in arr[:k].tolist()] + [" ..."]
                 + [fmt.format(v) for v in arr[-k:].tolist()])
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _array_str(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt)
    k = PRINT_OPTS.edgeitems
    if summarize and arr.shape[0] > 2 * k:
        parts = ([_array_str(arr[i], indent + 1, summarize, fmt) for i in range(k)] + ["..."]
                 + [_array_str(arr[i], indent + 1, summarize, fmt)
                    for i in range(arr.shape[0] - k, arr.shape[0])])
    else:
        parts = [_array_str(row, indent + 1, summarize, fmt) for row in arr]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text: str, suffixes: list, indent: int, newline: bool = False) -> str:
    """``text`` and ``, suffix`` for each, a suffix going to its own line when it would pass
    ``linewidth`` (and the first one when ``newline``)."""
    out = [text]
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if newline or line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            newline = False
            out.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            out.append(", " + suffix)
            line_len += len(suffix) + 2
    return "".join(out) + ")"


def tensor_repr(t) -> str:
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    body = _values_text(t, suffixes, indent)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)


def _values_text(t, suffixes: list, indent: int) -> str:
    """The part of ``t``'s repr between the parentheses, and the size and dtype suffixes that
    go with it (appended to ``suffixes``)."""
    d = t.dtype
    if t.device.type == "meta":  # no values to show: the size instead
        suffixes.append(f"size={tuple(t._data.shape)}")
        if d is not dt.get_default_dtype():
            suffixes.append(f"dtype=gpugrad.{d.name}")
        return "..."
    arr = np.asarray(t._backend.to_numpy(t._data))
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if d is not dt.get_default_dtype():  # (a complex one too, as PyTorch)
            suffixes.append(f"dtype=gpugrad.{d.name}")
        return "[]"
    if not PRINT_OPTS.edgeitems:
        suffixes.append(f"size={tuple(arr.shape)}")
    if shows_dtype(d):
        suffixes.append(f"dtype=gpugrad.{d.name}")
    return array_text(arr, indent)


def array_text(arr: np.ndarray, indent: int) -> str:
    """The bracketed values of the host array ``arr`` as a tensor's repr shows them (``[]``
    when empty), continuation lines indented by ``indent``."""
    if arr.size == 0:
        return "[]"
    if arr.dtype == np.float16 or arr.dtype.kind == "V":  # V: bfloat16 (ml_dtypes)
        arr = arr.astype(np.float32)
    summarize = arr.size > PRINT_OPTS.threshold
    shown = _summarized(arr) if summarize else arr
    fmt = _ComplexFormatter(shown) if arr.dtype.kind == "c" else _Formatter(shown)
    return _array_str(arr, indent, summarize, fmt)


def shows_dtype(d) -> bool:
    """Whether a tensor's repr names its dtype ``d`` (PyTorch leaves out the default float
    dtype, its complex counterpart, int64 and bool)."""
    return d not in (dt.get_default_dtype(), dt.int64, dt.bool, _default_complex())


def _default_complex():
    """The complex dtype Python complex numbers take (complex64 while the default is float32;
    None for a default dtype without one, float16)."""
    d = dt.get_default_dtype()
    return d.to_complex() if d in (dt.float32, dt.float64, dt.bfloat16) else None


def tensor_format(t, spec: str) -> str:
    """``format(t, spec)``: a 0-d tensor formats its value (``f'{loss:.3f}'``); other tensors
    print as ``str`` and refuse a format spec, as PyTorch."""
    from .tensor import Tensor

    if t._data.ndim == 0 and type(t) is Tensor:
        return format(t.item(), spec)
    if spec:
        raise TypeError("unsupported format string passed to Tensor.__format__")
    return str(t)


def type_name(obj) -> str:
    """The type of ``obj`` as PyTorch's messages name it: ``float``, ``numpy.ndarray``."""
    kind = type(obj)
    return kind.__name__ if kind.__module__ == "builtins" else \
        f"{kind.__module__}.{kind.__qualname__}"
