"""Specs of the elementwise math of ``formulas_math`` and ``ops/math_more.py``: inverse
trigonometric functions, other bases, the special functions, the binary math, the composites
(``logit``, ``lerp``, ``addcdiv``...) and the ops without a gradient."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, away_from, randn, register
from .elementwise import binary, unary_samples


def unary(name, lo=None, hi=None, kinks=(), **kw):
    """As ``elementwise.unary``, on three of its shapes: (3, 4), 0-d and zero-size (the registry
    runs each in two dtypes and two layouts; these ops are many)."""
    def samples(rng):
        made = unary_samples(lo, hi, kinks)(rng)
        return [made[0], made[1], made[3]]

    return OpSpec(name, lambda m, x, _n=name: getattr(m, _n)(x), samples, **kw)

POLES = (-3, -2, -1, 0)

register(
    unary("tan", lo=-1.2, hi=1.2), unary("acos", lo=-0.9, hi=0.9),
    unary("asin", lo=-0.9, hi=0.9), unary("atan"), unary("acosh", lo=1.2, hi=4),
    unary("asinh"), unary("atanh", lo=-0.9, hi=0.9), unary("log10", lo=0.2, hi=3),
    unary("log2", lo=0.2, hi=3), unary("exp2"), unary("erfc", lo=-3, hi=5),
    unary("erfinv", lo=-0.95, hi=0.95), unary("lgamma", lo=-2.9, hi=6, kinks=POLES),
    unary("digamma", lo=-2.9, hi=6, kinks=POLES), unary("i0", lo=-4, hi=4),
    unary("sinc", lo=-3, hi=3), unary("deg2rad"), unary("rad2deg"),
    unary("frac", kinks=(-2, -1, 0, 1, 2)),
    # other names of ops with specs of their own: one sample each
    *(OpSpec(name, lambda m, x, _n=name: getattr(m, _n)(x),
             lambda rng, _lo=lo, _hi=hi: unary_samples(_lo, _hi, (0,))(rng)[:1])
      for name, lo, hi in (("fix", None, None), ("arccos", -0.9, 0.9), ("arcsinh", None, None),
                           ("absolute", None, None))),
    # (times 2: a compiled function returning its argument replays the first call, see report)
    OpSpec("positive", lambda m, x: m.positive(x) * 2, unary_samples()),
    # the Tensor methods and the in-place forms (on x * 1, so gradients reach x)
    # PyTorch's sgn gradient is a ZeroTensor, which cannot be compared: plus x
    OpSpec("sgn", lambda m, x: m.sgn(x) + x, unary_samples(kinks=(0,))),
    OpSpec("Tensor.arcsin_", lambda m, x: (x * 1).arcsin_(),
           lambda rng: [Sample((randn(rng, 3, 4, lo=-0.9, hi=0.9),))]),
    OpSpec("Tensor.digamma_fix_", lambda m, x: (x * 1).digamma_() + (x * 1).fix_(),
           lambda rng: [Sample((randn(rng, 3, 4, lo=0.2, hi=4),))]),
    OpSpec("Tensor.logit_polygamma_",
           lambda m, x: (x * 1).logit_(0.05) + (x * 1).polygamma_(2) + (x * 1).nan_to_num_(),
           lambda rng: [Sample((randn(rng, 3, 4, lo=0.1, hi=0.9),))]),
    OpSpec("Tensor.lgamma_", lambda m, x: (x * 1).lgamma_(),
           lambda rng: [Sample((randn(rng, 3, 4, lo=0.2, hi=4),))]),
    OpSpec("torch.tan_", lambda m, x: m.tan_(x * 1),
           lambda rng: [Sample((randn(rng, 3, 4, lo=-1, hi=1),))]),
)


def _polygamma_samples(rng):
    x = away_from(randn(rng, 3, 4, lo=-2.9, hi=5), POLES)
    return [Sample((n, x)) for n in (0, 1, 2, 3)] + [
        Sample((1, away_from(randn(rng, 5, lo=0.3, hi=40), ()))), Sample((2, x[:0]))]


def _logit_samples(rng):
    x = randn(rng, 3, 4, lo=0.02, hi=0.98)
    return [Sample((x,)), Sample((away_from(x, (0.1, 0.9)),), {"eps": 0.1}),
            Sample((x[:0],)), Sample((np.array(0.3),))]


def _nan_to_num_samples(rng):
    x = randn(rng, 3, 4)
    x[0, 0], x[1, 1], x[2, 2] = np.nan, np.inf, -np.inf
    return [Sample((x,)), Sample((x,), {"nan": 1.5, "posinf": 9.0, "neginf": -9.0}),
            Sample((x[:0],)), Sample((np.array([1, 2, 3]),))]


def _lerp_samples(rng):
    return [Sample((randn(rng, 3, 4), randn(rng, 3, 4), 0.3)),
            Sample((randn(rng, 3, 4), randn(rng, 4), randn(rng, 3, 1))),
            Sample((randn(rng, 2, 0), randn(rng, 2, 0), 0.7))]


def _addc_samples(rng):
    return [Sample((randn(rng, 3, 4), randn(rng, 3, 4), randn(rng, 4, lo=0.5, hi=2))),
            Sample((randn(rng, 3, 1), randn(rng, 4), randn(rng, 3, 4, lo=0.5, hi=2)),
                   {"value": -0.5}),
            Sample((randn(rng, 0, 4), randn(rng, 4), randn(rng, 4, lo=0.5, hi=2)),
                   {"value": 2})]


def _int_samples(rng):
    return [Sample((np.array([[-3, -1, 0], [1, 2, 5]]),)), Sample((np.array([True, False]),))]


def _promoted(m, x):
    """Integer and bool inputs: float results, as PyTorch's (sgn keeps the dtype)."""
    return tuple(getattr(m, op)(x) for op in (
        "tan", "atan", "asinh", "exp2", "erfc", "lgamma", "digamma", "i0", "sinc", "deg2rad",
        "rad2deg", "logit", "signbit"))


X = np.ones((2, 3))
register(
    OpSpec("polygamma", lambda m, n, x: m.polygamma(n, x), _polygamma_samples, errors=[
        ErrorCase((-1, X), RuntimeError, "negative n")]),
    OpSpec("Tensor.polygamma", lambda m, n, x: x.polygamma(n), _polygamma_samples),
    OpSpec("logit", lambda m, x, **kw: m.logit(x, **kw), _logit_samples),
    OpSpec("nan_to_num", lambda m, x, **kw: m.nan_to_num(x, **kw), _nan_to_num_samples),
    OpSpec("lerp", lambda m, a, b, w: m.lerp(a, b, w), _lerp_samples),
    OpSpec("addcmul", lambda m, a, b, c, **kw: m.addcmul(a, b, c, **kw), _addc_samples),
    OpSpec("addcdiv", lambda m, a, b, c, **kw: m.addcdiv(a, b, c, **kw), _addc_samples, errors=[
        ErrorCase((X, np.ones(3, np.int64), np.ones(3, np.int64)), RuntimeError,
                  "Integer division")]),
    OpSpec("Tensor.addcdiv_", lambda m, a, b, c, **kw: (a * 1).addcdiv_(b, c, **kw),
           lambda rng: _addc_samples(rng)[::2]),
    OpSpec("Tensor.lerp_", lambda m, a, b, w: (a * 1).lerp_(b, w), _lerp_samples),
    OpSpec("integer_inputs_promoted", _promoted, _int_samples, differentiable=False,
           dtypes=("float32",)),
    OpSpec("sgn_int", lambda m, x: m.sgn(x), lambda rng: _int_samples(rng)[:1],
           differentiable=False),
)

register(
    binary("atan2", lambda m, a, b: m.atan2(a, b), scalars=False),
    OpSpec("arctan2", lambda m, a, b: m.arctan2(a, b),
           lambda rng: [Sample((randn(rng, 3, 4), randn(rng, 4)))]),
    binary("hypot", lambda m, a, b: m.hypot(a, b), scalars=False),
    binary("copysign", lambda m, a, b: m.copysign(a, b), scalars=False),
    binary("fmax", lambda m, a, b: m.fmax(a, b), scalars=False),
    binary("fmin", lambda m, a, b: m.fmin(a, b), scalars=False),
    binary("logaddexp", lambda m, a, b: m.logaddexp(a, b), scalars=False),
    binary("logaddexp2", lambda m, a, b: m.logaddexp2(a, b), scalars=False),
    binary("xlogy", lambda m, a, b: m.xlogy(a, b), lo_b=0.2, hi_b=3),
    binary("float_power", lambda m, a, b: m.float_power(a, b), lo=0.5, hi=2, lo_b=-1.5,
           hi_b=1.5),
    binary("ldexp", lambda m, a, b: m.ldexp(a, b), scalars=False),
    binary("Tensor.hypot_", lambda m, a, b: (a * 1 + b * 0).hypot_(b), scalars=False),
    binary("Tensor.xlogy_", lambda m, a, b: (a * 1 + b * 0).xlogy_(b), lo_b=0.2, hi_b=3,
           scalars=False),
)


def _with_zeros(rng):
    a = randn(rng, 3, 4)
    a[0, :2] = 0.0
    b = randn(rng, 4, lo=0.1, hi=2)
    return [Sample((a, b)), Sample((a, -b)), Sample((a[:0], b))]


def _with_nans(rng):
    a, b = randn(rng, 3, 4), randn(rng, 4)
    a[0, :2] = 0.0
    a[1, 0], b[1] = np.nan, np.nan
    return [Sample((a, b)), Sample((a, np.abs(b) + 0.1))]


def _nan_masks(rng):
    """Operands with NaNs put in by the op (at the masks), so finite differences stay finite."""
    a, b = randn(rng, 3, 4), randn(rng, 3, 4)
    mask_a = np.zeros((3, 4), bool)
    mask_b = np.zeros((3, 4), bool)
    mask_a[0, 0] = mask_b[0, 1] = mask_a[1, 2] = True
    return [Sample((a, b, mask_a, mask_b))]


def _with_nan(m, name):
    def op(m, a, b, mask_a, mask_b):
        return getattr(m, name)(m.where(mask_a, float("nan"), a),
                                m.where(mask_b, float("nan"), b))

    return op


def _int_pairs(rng):
    return [Sample((np.array([[12, -18, 0], [7, 9, 100]]), np.array([8, 24, 5]))),
            Sample((np.array([0, 0, 3]), np.array([0, 4, 0])))]


def _close_samples(rng):
    a = randn(rng, 3, 4)
    b = a + np.array([0, 1e-9, 1e-6, 1e-3])
    a[0, 0] = b[0, 0] = np.nan
    a[1, 0] = b[1, 0] = np.inf
    return [Sample((a, b)), Sample((a, b), {"rtol": 1e-3, "atol": 0.0}),
            Sample((a, b), {"equal_nan": True})]


def _step_samples(rng):
    x = np.array([[-1.5, 0.0, 2.0], [0.0, -0.0, 3.0]])
    return [Sample((x, np.array([0.5, 0.25, 0.75]))), Sample((x, np.array(0.5)))]


register(
    OpSpec("xlogy_zeros", lambda m, a, b: m.xlogy(a, b), lambda rng: _with_zeros(rng)[::2]),
    OpSpec("xlogy_nans", lambda m, a, b: m.xlogy(a, b), _with_nans, differentiable=False),
    OpSpec("xlogy_scalar_input", lambda m, b: m.xlogy(2.0, b),
           lambda rng: [Sample((randn(rng, 3, 4, lo=0.2, hi=3),))]),
    # (the gradient jumps at 0, where PyTorch gives 0: no finite differences of it there)
    OpSpec("copysign_zeros", lambda m, a, b: m.copysign(a, b), _with_zeros, gradgrad=False),
    OpSpec("fmax_nans", _with_nan(None, "fmax"), _nan_masks),
    OpSpec("fmin_nans", _with_nan(None, "fmin"), _nan_masks),
    OpSpec("fmax_int", lambda m, a, b: m.fmax(a, b), _int_pairs, differentiable=False),
    OpSpec("gcd", lambda m, a, b: m.gcd(a, b), _int_pairs, differentiable=False, errors=[
        ErrorCase((X, X), NotImplementedError, "not implemented for 'Double'")]),
    OpSpec("lcm", lambda m, a, b: m.lcm(a, b), _int_pairs, differentiable=False),
    OpSpec("isclose", lambda m, a, b, **kw: m.isclose(a, b, **kw), _close_samples,
           differentiable=False, errors=[
               ErrorCase((X, X), RuntimeError, "rtol must be", {"rtol": -1.0})]),
    OpSpec("heaviside", lambda m, x, v: m.heaviside(x, v), _step_samples,
           differentiable=False),
    OpSpec("nextafter", lambda m, a, b: m.nextafter(a, b), _with_nans,
           differentiable=False),
    OpSpec("signbit_isinf", lambda m, x: (m.signbit(x), m.isposinf(x), m.isneginf(x),
                                          m.isreal(x)),
           lambda rng: [Sample(s.args) for s in _nan_to_num_samples(rng)], differentiable=False),
)

for _alias in ("greater", "greater_equal", "less", "less_equal", "not_equal"):
    register(OpSpec(_alias, lambda m, a, b, _n=_alias: getattr(m, _n)(a, b),
                    lambda rng: [Sample((np.round(randn(rng, 3, 4)), np.round(randn(rng, 4))))],
                    differentiable=False))
