"""``gpugrad.testing``: ``assert_close``, ``make_tensor`` and the deprecated
``assert_allclose``, as ``torch.testing``."""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

# (rtol, atol) by dtype, as PyTorch's defaults
_TOLERANCES = {
    "float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex32": (1e-3, 1e-5), "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def _fail(msg, default: str):
    if msg is None:
        raise AssertionError(default)
    raise AssertionError(msg(default) if callable(msg) else msg)


def _as_tensor(value):
    from ..factories import tensor

    Tensor = _tensor_cls()
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        from ..factories import from_numpy

        return from_numpy(value)
    return tensor(value)


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                     check_stride, msg, where: str, kind: str | None = None):
    if actual.shape != expected.shape:
        _fail(msg, f"The values for attribute 'shape' do not match: {actual.shape} != "
                   f"{expected.shape}.{where}")
    if check_device and actual.device != expected.device:
        _fail(msg, f"The values for attribute 'device' do not match: {actual.device} != "
                   f"{expected.device}.{where}")
    if check_dtype and actual.dtype != expected.dtype:
        _fail(msg, f"The values for attribute 'dtype' do not match: {actual.dtype} != "
                   f"{expected.dtype}.{where}")
    if check_stride and actual.stride() != expected.stride():
        _fail(msg, f"The values for attribute 'stride()' do not match: {actual.stride()} != "
                   f"{expected.stride()}.{where}")
    dtype_name = str(actual.dtype).rpartition(".")[2]
    default_rtol, default_atol = _TOLERANCES.get(dtype_name, (0.0, 0.0))
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    if rtol is None:
        other = str(expected.dtype).rpartition(".")[2]
        r2, a2 = _TOLERANCES.get(other, (0.0, 0.0))
        rtol, atol = max(default_rtol, r2), max(default_atol, a2)
    a, b = _host(actual), _host(expected)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu" and rtol == 0 and atol == 0:
        close = a == b
        diff = np.abs(a.astype(np.int64) - b.astype(np.int64)) if a.size else a
    else:  # as torch.isclose, in the two's common dtype
        common = _common_float(a.dtype, b.dtype)
        a, b = a.astype(common), b.astype(common)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a - b)  # (real: a complex difference's modulus)
            close = (a == b) | (np.isfinite(diff) & (diff <= atol + np.abs(rtol * b)))
        if equal_nan:
            close |= np.isnan(a) & np.isnan(b)
    if close.all():
        return
    mismatched = int((~close).sum())
    total = close.size
    kind = kind or ("Scalars" if actual.dim() == 0 else "Tensor-likes")
    exact = rtol == 0 and atol == 0
    verdict = "equal" if exact else "close"
    # Over the mismatched elements only (the others count 0); a NaN wins, as in PyTorch's max
    matched = close.reshape(-1)
    flat_abs = np.where(matched, 0, diff.reshape(-1))
    with np.errstate(invalid="ignore", divide="ignore"):  # (integers: in float32, as PyTorch)
        if b.dtype.kind in "biu":
            flat_rel = np.where(matched, 0, flat_abs.astype(np.float32)
                                / np.abs(b.reshape(-1)).astype(np.float32))
        else:
            flat_rel = np.where(matched, 0, flat_abs / np.abs(b.reshape(-1)))
    ia, ir = _argmax_nan_first(flat_abs), _argmax_nan_first(flat_rel)
    index_a = tuple(int(i) for i in np.unravel_index(ia, a.shape)) if a.ndim else ()
    index_r = tuple(int(i) for i in np.unravel_index(ir, a.shape)) if a.ndim else ()
    allowed_a = "" if exact else f" (up to {atol} allowed)"
    allowed_r = "" if exact else f" (up to {rtol} allowed)"
    if actual.dim() == 0:  # (as Python numbers, as PyTorch's message for scalars)
        got, want = a.item(), b.item()
        abs_diff = abs(got - want)
        rel_diff = float("inf") if want == 0 else abs_diff / abs(want)
        text = (f"{kind} are not {verdict}!\n\nExpected {want} but got {got}.\n"
                f"Absolute difference: {abs_diff}{allowed_a}\n"
                f"Relative difference: {rel_diff}{allowed_r}")
    else:
        text = (f"{kind} are not {verdict}!\n\nMismatched elements: {mismatched} / {total} "
                f"({100 * mismatched / total:.1f}%)\n"
                f"Greatest absolute difference: {flat_abs[ia].item()} at index {index_a}"
                f"{allowed_a}\n"
                f"Greatest relative difference: {flat_rel[ir].item()} at index {index_r}"
                f"{allowed_r}")
    _fail(msg, text + where)


def _compare_sparse(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                    check_layout, msg, where: str):
    """Sparse COO operands (one at least), as PyTorch compares them: layouts, then the
    stored coordinates exactly (not coalesced first) and the values within the tolerances."""
    if actual.is_sparse != expected.is_sparse:
        if check_layout:
            _fail(msg, f"The values for attribute 'layout' do not match: {actual.layout} != "
                       f"{expected.layout}.{where}")
        dense = [t.to_dense() if t.is_sparse else t for t in (actual, expected)]
        return _compare_tensors(*dense, rtol, atol, equal_nan, check_device, check_dtype, False,
                                msg, where)
    if actual.shape != expected.shape:
        _fail(msg, f"The values for attribute 'shape' do not match: {actual.shape} != "
                   f"{expected.shape}.{where}")
    a, e = actual.detach(), expected.detach()
    if a.sparse_dim() != e.sparse_dim():
        _fail(msg, f"The number of sparse dimensions in sparse COO tensors does not match: "
                   f"{a.sparse_dim()} != {e.sparse_dim()}{where}")
    if a._nnz() != e._nnz():
        _fail(msg, f"The number of specified values in sparse COO tensors does not match: "
                   f"{a._nnz()} != {e._nnz()}{where}")
    _compare_tensors(a._indices(), e._indices(), 0, 0, False, check_device, True, False, msg,
                     where, "Sparse COO indices")
    _compare_tensors(a._values(), e._values(), rtol, atol, equal_nan, check_device, check_dtype,
                     False, msg, where, "Sparse COO values")


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False, msg=None) -> None:
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` (tensors, arrays, numbers,
    or sequences and mappings of them) are close: ``|a - e| <= atol + rtol * |e|``, with
    PyTorch's default tolerances for the dtype, and the same shape, device, dtype and layout."""
    _assert_close(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                  check_stride, msg, "", check_layout)


_ALLCLOSE_TOLERANCES = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5),
                        "float64": (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan: bool = True,
                    msg: str = "") -> None:
    """Deprecated (as in PyTorch): ``assert_close`` with the old function's tolerances,
    ``equal_nan=True`` and no dtype check; non-tensor ``expected`` takes ``actual``'s dtype."""
    warnings.warn("`gpugrad.testing.assert_allclose()` is deprecated since 1.12 and will be "
                  "removed in a future release. Please use `gpugrad.testing.assert_close()` "
                  "instead.", FutureWarning, stacklevel=2)
    from ..factories import tensor

    Tensor = _tensor_cls()
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        pairs = [_ALLCLOSE_TOLERANCES.get(str(t.dtype).rpartition(".")[2], (0.0, 0.0))
                 for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=True, check_dtype=False, check_stride=False, msg=msg or None)


def _assert_close(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                  check_stride, msg, path: str, check_layout: bool = True):
    Tensor = _tensor_cls()
    where = f"\n\nThe failure occurred for item {path}" if path else ""
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            _fail(msg, f"The length of the sequences mismatch: {len(actual)} != "
                       f"{len(expected)}{where}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_close(a, e, rtol, atol, equal_nan, check_device, check_dtype, check_stride,
                          msg, f"{path}[{i}]", check_layout)
        return
    if isinstance(actual, dict) and isinstance(expected, dict):
        if set(actual) != set(expected):
            _fail(msg, f"The keys of the mappings do not match:\nMissing keys in the actual "
                       f"mapping: {sorted(set(expected) - set(actual), key=str)}\nAdditional "
                       f"keys in the actual mapping: {sorted(set(actual) - set(expected), key=str)}"
                       f"{where}")
        for key in expected:
            _assert_close(actual[key], expected[key], rtol, atol, equal_nan, check_device,
                          check_dtype, check_stride, msg, f"{path}[{key!r}]", check_layout)
        return
    numbers = (int, float, bool, complex)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        if check_dtype and type(actual) is not type(expected):
            _fail(msg, f"The values for attribute 'dtype' do not match: "
                       f"{type(actual).__name__} != {type(expected).__name__}.{where}")
    elif not isinstance(actual, (Tensor, np.ndarray) + numbers) or \
            not isinstance(expected, (Tensor, np.ndarray) + numbers):
        raise TypeError(f"No comparison pair was able to handle inputs of type "
                        f"{type(actual)} and {type(expected)}.")
    elif isinstance(actual, Tensor) != isinstance(expected, Tensor):
        raise TypeError(f"No comparison pair was able to handle inputs of type "
                        f"{type(actual)} and {type(expected)}.")
    if getattr(actual, "is_sparse", False) or getattr(expected, "is_sparse", False):
        return _compare_sparse(actual, expected, rtol, atol, equal_nan, check_device,
                               check_dtype, check_layout, msg, where)
    _compare_tensors(_as_tensor(actual), _as_tensor(expected), rtol, atol, equal_nan,
                     check_device, check_dtype, check_stride, msg, where)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format=None):
    """A tensor of ``shape`` filled with uniform values in ``[low, high)`` (PyTorch's default
    ranges: [-9, 9) for floats and signed ints, [0, 10) for uint8, {False, True} for bool),
    laid out in ``memory_format`` if given (not with ``noncontiguous``)."""
    from ..sampling import rand, randint

    if noncontiguous and memory_format is not None:
        raise ValueError(
            "The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
            f"noncontiguous={noncontiguous} and memory_format={memory_format}")

    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    name = str(dtype).rpartition(".")[2]
    if name == "bool":
        out = randint(0, 2, shape, device=device).bool()
    elif name in ("int8", "int16", "int32", "int64", "uint8"):
        lo = 0 if name == "uint8" else -9
        lo = lo if low is None else math.ceil(low)
        hi = 10 if high is None else math.ceil(high)
        if lo >= hi:
            raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
        out = randint(lo, hi, shape, device=device).to(dtype)
    else:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if lo > hi:
            raise ValueError(f"`low` must be less than or equal to `high`, but got {lo} > {hi}")
        out = (rand(shape, dtype=dtype, device=device) * (hi - lo) + lo)
    if exclude_zero:
        replacement = 1 if name in ("bool", "int8", "int16", "int32", "int64", "uint8") else \
            float(np.finfo(np.float32).tiny)
        out = out.masked_fill(out == 0, replacement)
    if noncontiguous and out.numel() > 1:
        doubled = out.repeat_interleave(2, dim=-1)
        out = doubled[..., ::2]
    elif memory_format is not None:
        out = out.clone(memory_format=memory_format)
    return out.requires_grad_(requires_grad) if requires_grad else out


def _argmax_nan_first(values: np.ndarray) -> int:
    """The index of the largest value, or of the first NaN (PyTorch's ``max`` picks NaN)."""
    nan = np.isnan(values)
    return int(np.argmax(nan)) if nan.any() else int(np.argmax(values))


def _host(t) -> np.ndarray:
    """A tensor's values on the host."""
    return np.asarray(t.detach().cpu().numpy())


def _common_float(x: np.dtype, y: np.dtype):
    """The dtype two arrays are compared in: their own where they share a floating one, else
    complex if either is, double precision if either is (or is an integer), else single."""
    if x == y and x.kind in "fcV":
        return x
    wide = any(d == np.float64 or d == np.complex128 or d.kind in "biu" for d in (x, y))
    if x.kind == "c" or y.kind == "c":
        return np.complex128 if wide else np.complex64
    return np.float64 if wide else np.float32
