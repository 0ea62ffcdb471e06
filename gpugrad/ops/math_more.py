"""More of PyTorch's elementwise math: the binary ops of ``formulas_math.BINARY_MATH``
(``atan2``, ``hypot``, ``copysign``, ``fmax``, ``fmin``, ``logaddexp``, ``logaddexp2``,
``xlogy``), ``polygamma``, the composites (``logit``, ``nan_to_num``, ``float_power``,
``ldexp``, ``lerp``, ``addcmul``, ``addcdiv``), the ops without a gradient of
``math_nograd.py`` (``signbit``, ``heaviside``, ``gcd``, ``isclose``...), PyTorch's aliases
(``arccos``, ``absolute``, ``fix``, ``greater``...), the in-place methods of all these, and the
torch-level in-place functions (``gpugrad.relu_``...).

The unary ops of ``formulas_math.UNARY_MATH`` (``tan``, ``acos``, ``erfinv``, ``lgamma``...)
are generated in ``elementwise.py`` with the others.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ..backend.formulas_math import _polygamma
from . import compare, elementwise, select
from ._util import Tensor, check_tensor, float_result, scalar_or_tensor
from .arithmetic import (
    _binary_class,
    _binary_op,
    _pow,
    _scalar_overload,
    mul,
    pow,
)
from .inplace import _apply, inplace_method
from .math_nograd import (
    _torch_name,
    gcd,
    heaviside,
    isclose,
    isneginf,
    isposinf,
    isreal,
    lcm,
    nextafter,
    positive,
    signbit,
)

_unary = elementwise.FUNCTIONS


# ---------------------------------------------------------------- binary ops of the table
def _table_op(op: str, node: str, doc: str, float_out: bool, scalar_nodes=("", "")):
    """The public function of ``BINARY[op]``; ``scalar_nodes``: PyTorch's node names when
    ``input`` / ``other`` is a Python number, where it has such overloads."""
    cls = _binary_class(op, node)
    if scalar_nodes[0]:
        cls.with_scalar_input = _scalar_overload(cls, scalar_nodes[0], 1)
    if scalar_nodes[1]:
        cls.with_scalar_other = _scalar_overload(cls, scalar_nodes[1], 0)
    return _binary_op(cls, op, doc, float_out=float_out)


atan2 = _table_op("atan2", "Atan2Backward0",
                  "The angle of the point ``(other, input)``: ``arctan(input / other)`` in the "
                  "right quadrant.", True)
hypot = _table_op("hypot", "HypotBackward0", "``sqrt(input**2 + other**2)``, without overflow.",
                  True)
copysign = _table_op("copysign", "CopysignBackward0",
                     "``input``'s magnitude with ``other``'s sign (``-0.0`` counts as negative).",
                     True, ("", "CopysignBackward1"))
fmax = _table_op("fmax", "FmaxBackward0",
                 "Elementwise maximum where a NaN loses to a number (both NaN: NaN).", False)
fmin = _table_op("fmin", "FminBackward0",
                 "Elementwise minimum where a NaN loses to a number (both NaN: NaN).", False)
logaddexp = _table_op("logaddexp", "LogaddexpBackward0", "``log(exp(input) + exp(other))``.",
                      True)
logaddexp2 = _table_op("logaddexp2", "Logaddexp2Backward0",
                       "``log2(2**input + 2**other)``.", True)
xlogy = _table_op("xlogy", "XlogyBackward0",
                  "``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN).", True,
                  ("XlogyBackward1", "XlogyBackward2"))
xlog1py = _table_op("xlog1py", "SpecialXlog1PyBackward0",
                    "``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN).",
                    True, ("SpecialXlog1PyBackward1", "SpecialXlog1PyBackward2"))
arctan2 = atan2


# ---------------------------------------------------------------------------- polygamma
class Polygamma(Function):
    """The ``n``-th derivative of ``digamma``; its gradient is ``polygamma(n + 1, x)``."""

    node_name = "PolygammaBackward0"

    @staticmethod
    def forward(ctx, x, n):
        ctx.n = n
        ctx.save_for_backward(x)
        if n == 0:  # (the formula table's digamma: one kernel on CUDA)
            return x._new(x._backend.unary("digamma", x._data))
        d = x._data
        if d.dtype.kind == "V":  # bfloat16: in float32, rounded once
            return x._new(_polygamma(x._backend.math, n, d.astype(np.float32)).astype(d.dtype))
        return x._new(_polygamma(x._backend.math, n, d))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * polygamma(ctx.n + 1, x), None


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of the digamma function (``n = 0``: ``digamma``)."""
    check_tensor(input, "polygamma")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if not input.dtype.is_floating_point:
        input = input.to(float_result(input.dtype))
    return Polygamma.apply(input, int(n))


# ---------------------------------------------------------------------------- composites
def _as_float(x: Tensor) -> Tensor:
    return x if x.dtype.is_floating_point else x.to(dt.get_default_dtype())


class Logit(Function):
    """``log(x / (1 - x))`` of ``x`` clamped to ``[eps, 1 - eps]`` (with ``eps``); as PyTorch's,
    the gradient ``g / (x (1 - x))`` is 0 outside that range (without ``eps``: nan outside
    ``[0, 1]``)."""

    node_name = "LogitBackward0"

    @staticmethod
    def forward(ctx, x, eps):
        ctx.eps = eps
        ctx.save_for_backward(x)
        d = x._data
        if eps is not None:
            d = x._backend.clamp(d, eps, 1 - eps)
        odds = x._backend.xp.asarray(d / (1 - d))  # (an array even when 0-d: a kernel's operand)
        return x._new(x._backend.unary("log", odds))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        eps = ctx.eps
        lo, hi = (0.0, 1.0) if eps is None else (eps, 1 - eps)
        outside = compare.logical_or(compare.lt(x, lo), compare.gt(x, hi))
        inside_x = select.where(outside, 0.5, x)  # (no inf to differentiate outside)
        gx = grad / (inside_x * (1 - inside_x))
        return select.where(outside, math.nan if eps is None else 0.0, gx), None


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(x / (1 - x))``; with ``eps``, ``x`` is first clamped to ``[eps, 1 - eps]`` (the
    gradient is 0 outside it)."""
    return Logit.apply(_as_float(check_tensor(input, "logit")), eps)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the
    dtype's largest and lowest finite values); those places get no gradient."""
    check_tensor(input, "nan_to_num")
    if not input.dtype.is_floating_point:
        return input.clone()
    info = ml_dtypes.finfo(input._data.dtype)  # (NumPy's finfo knows no bfloat16)
    hi = float(info.max) if posinf is None else posinf
    lo = float(info.min) if neginf is None else neginf
    x = select.where(compare.isnan(input), nan, input)
    x = select.where(compare.eq(input, math.inf), hi, x)
    return select.where(compare.eq(input, -math.inf), lo, x)


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed (and returned) in float64."""
    def f64(x):
        return x.to(dt.float64) if isinstance(x, Tensor) else x

    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): at least one argument must be a Tensor")
    base, exponent = scalar_or_tensor(input, "input"), scalar_or_tensor(exponent, "exponent")
    if not isinstance(base, Tensor):
        return _pow(float(base), f64(exponent))
    return pow(f64(base), f64(exponent))


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other``."""
    check_tensor(input, "ldexp")
    check_tensor(other, "ldexp", "other")
    return mul(input, pow(2.0, other))


# C++'s names of the floating dtypes, as PyTorch's kernels print them in dtype errors.
_CPP_NAMES = {"float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
              "float64": "double"}


def _check_same_dtype(input: Tensor, other: Tensor, name: str) -> None:
    if other.dtype is not input.dtype:
        expected, got = (_CPP_NAMES.get(d.name, d.name) for d in (input.dtype, other.dtype))
        raise RuntimeError(f"expected dtype {expected} for `{name}` but got dtype {got}")


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """``input + weight * (end - input)``; ``weight`` a number or a tensor. ``end`` (and a
    ``weight`` tensor of one or more dims) must have ``input``'s dtype, as in PyTorch: no
    promotion."""
    check_tensor(input, "lerp")
    check_tensor(end, "lerp", "end")
    _check_same_dtype(input, end, "end")
    if isinstance(weight, Tensor) and weight.dim() > 0:
        _check_same_dtype(input, weight, "weight")
    return input + weight * (end - input)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    check_tensor(input, "addcmul")
    return input + value * tensor1 * tensor2 if value != 1 else input + tensor1 * tensor2


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (integer tensors are refused, as in PyTorch)."""
    check_tensor(input, "addcdiv")
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
            "for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes."
        )
    q = tensor1 / tensor2
    return input + (value * q if value != 1 else q)


# --------------------------------------------------------------------------------- aliases
arccos, arcsin, arctan = _unary["acos"], _unary["asin"], _unary["atan"]
arccosh, arcsinh, arctanh = _unary["acosh"], _unary["asinh"], _unary["atanh"]
absolute = _unary["abs"]
fix = _unary["trunc"]
greater, greater_equal, less, less_equal, not_equal = (
    compare.gt, compare.ge, compare.lt, compare.le, compare.ne)

_ALIASES = {"arccos": "acos", "arcsin": "asin", "arctan": "atan", "arccosh": "acosh",
            "arcsinh": "asinh", "arctanh": "atanh", "absolute": "abs", "fix": "trunc"}


# ------------------------------------------------------------------------ in-place methods
def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


def _polygamma_inplace(self: Tensor, n: int) -> Tensor:
    return _apply(self, lambda s: polygamma(n, s), ())


_WITH_INPLACE = {
    "atan2": atan2, "arctan2": atan2, "hypot": hypot, "copysign": copysign, "xlogy": xlogy,
    "logit": logit, "nan_to_num": nan_to_num, "float_power": float_power, "ldexp": ldexp,
    "lerp": lerp, "addcmul": addcmul, "addcdiv": addcdiv, "heaviside": heaviside,
    "nextafter": nextafter, "gcd": gcd, "lcm": lcm,
    "eq": compare.eq, "ne": compare.ne, "lt": compare.lt, "le": compare.le, "gt": compare.gt,
    "ge": compare.ge, "greater": greater, "greater_equal": greater_equal, "less": less,
    "less_equal": less_equal, "not_equal": not_equal,
}
_PLAIN = {"fmax": fmax, "fmin": fmin, "logaddexp": logaddexp, "logaddexp2": logaddexp2,
          "signbit": signbit, "isposinf": isposinf, "isneginf": isneginf, "isreal": isreal,
          "positive": positive, "isclose": isclose, "polygamma": _polygamma_method}

METHODS = dict(_PLAIN)
METHODS.update({name: fn for name, fn in _WITH_INPLACE.items()
                if name not in ("eq", "ne", "lt", "le", "gt", "ge")})
METHODS.update({name + "_": inplace_method(fn, name) for name, fn in _WITH_INPLACE.items()})
METHODS["polygamma_"] = _polygamma_inplace


def _float_power_inplace(self: Tensor, exponent) -> Tensor:
    if self.dtype is not dt.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {_torch_name(self.dtype)} but the "
            f"operation's result requires dtype Double")
    return _apply(self, lambda s: float_power(s, exponent), (exponent,))


METHODS["float_power_"] = _float_power_inplace
for _alias, _op in _ALIASES.items():
    METHODS[_alias] = _unary[_op]
    METHODS[_alias + "_"] = inplace_method(_unary[_op], _alias)


# ------------------------------------------------------ torch-level in-place functions
def _torch_inplace(name: str):
    """``gpugrad.<name>(input, *args)``: the in-place method ``input.<name>(*args)``."""
    def fn(input: Tensor, *args, **kwargs) -> Tensor:
        return getattr(check_tensor(input, name), name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"In-place ``{name[:-1]}`` of ``input`` (``input.{name}(...)``)."
    return fn


# The ones PyTorch has (the unary math of the formula table but sign_, sgn_, erfinv_, lgamma_,
# digamma_, which are Tensor methods only there).
_TORCH_INPLACE = sorted({op + "_" for op in elementwise.PUBLIC} - {
    "sign_", "sgn_", "erfinv_", "lgamma_", "digamma_"} | {
    "negative_", "clamp_", "clamp_min_", "clamp_max_", "clip_", "zero_", "fill_", "detach_",
    "arccos_", "arcsin_", "arctan_", "arccosh_", "arcsinh_", "arctanh_", "fix_", "gcd_", "lcm_",
    "ldexp_", "logit_", "nan_to_num_", "xlogy_"})
globals().update({name: _torch_inplace(name) for name in _TORCH_INPLACE})

__all__ = [
    "atan2", "arctan2", "hypot", "copysign", "fmax", "fmin", "logaddexp", "logaddexp2", "xlogy",
    "polygamma", "logit", "nan_to_num", "float_power", "ldexp", "lerp", "addcmul", "addcdiv",
    "signbit", "isposinf", "isneginf", "isreal", "positive", "heaviside", "nextafter", "gcd",
    "lcm", "isclose", "greater", "greater_equal", "less", "less_equal", "not_equal",
    *_ALIASES, *_TORCH_INPLACE,
]
