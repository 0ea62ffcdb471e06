"""``gpugrad.special``: PyTorch's ``torch.special`` on gpugrad's ops.

Most entries are another name of an op of the formula table (``expit`` is ``sigmoid``,
``gammaln`` is ``lgamma``, ``psi`` is ``digamma``); the rest are composites of those ops
(``ndtr``, ``log_ndtr``, ``multigammaln``), so their gradients come from the ops'; ``entr`` and
``ndtri`` are nodes of their own. The Bessel functions of the second kind, ``airy_ai``,
``gammainc``/``gammaincc`` and the orthogonal polynomials come from ``special_more.py``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _dtype as dt
from . import special_more as _more
from .autograd.function import Function
from .backend import formulas_special as _fs
from .backend.formulas_math import _i0_forward, _ndtri
from .ops import compare, elementwise, math_more, select
from .ops import softmax as _softmax
from .ops._util import Tensor, check_tensor, math_ns
from .special_more import *  # noqa: F403  (bessel_y0 ... the orthogonal polynomials)

_unary = elementwise.FUNCTIONS

expit = _unary["sigmoid"]
erf, erfc, erfinv = _unary["erf"], _unary["erfc"], _unary["erfinv"]
expm1, exp2, log1p = _unary["expm1"], _unary["exp2"], _unary["log1p"]
gammaln = _unary["lgamma"]
digamma = psi = _unary["digamma"]
i0, sinc = _unary["i0"], _unary["sinc"]
logit, polygamma = math_more.logit, math_more.polygamma
xlogy, xlog1py = math_more.xlogy, math_more.xlog1py
logsumexp = _softmax.logsumexp
softmax, log_softmax = _softmax.softmax, _softmax.log_softmax

_SQRT2 = math.sqrt(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_HALVES = (dt.float16, dt.bfloat16)
# Below these, log_ndtr's asymptotic series (erfc underflows near -37 in float64, -13 in float32).
_LOG_NDTR_ASYMPTOTIC = {"float64": -20.0, "float32": -10.0}


def _as_float(x: Tensor) -> Tensor:
    return x if x.dtype.is_floating_point else x.to(dt.get_default_dtype())


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, to ``decimals`` decimal places (negative: to tens, hundreds...)."""
    rounded = _unary["round"]
    if decimals == 0:
        return rounded(input)
    if decimals > 0:
        scale = 10.0 ** decimals
        return rounded(input * scale) / scale
    scale = 10.0 ** -decimals
    return rounded(input / scale) * scale


class Entr(Function):
    """``-x log x`` (0 at 0, -inf below); its gradient is ``-(1 + log x)``, as PyTorch's
    (inf at 0)."""

    node_name = "SpecialEntrBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = x._backend.xp
        d = x._data
        safe = xp.where(d > 0, d, 1)
        return x._new(xp.where(d > 0, -d * xp.log(safe), xp.where(d == 0, 0, -math.inf))
                      .astype(d.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * -(1 + _unary["log"](x))


def entr(input: Tensor) -> Tensor:
    """Entropy elementwise: ``-x * log(x)`` for x > 0, 0 at 0, -inf for x < 0."""
    return Entr.apply(_as_float(check_tensor(input, "entr")))


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF: ``(1 + erf(x / sqrt(2))) / 2``, from ``erfc`` (exact tails)."""
    x = _as_float(check_tensor(input, "ndtr"))
    return 0.5 * _unary["erfc"](x * (-1 / _SQRT2))


class Ndtri(Function):
    """The inverse of ``ndtr``; its gradient is ``sqrt(2 pi) exp(y^2 / 2)``."""

    node_name = "SpecialNdtriBackward0"

    @staticmethod
    def forward(ctx, p):
        d = p._data
        if d.dtype.kind == "V" or d.dtype.itemsize < 4:  # half types: in float32, rounded once
            y = _ndtri(p._backend.math, d.astype(np.float32)).astype(d.dtype)
        else:
            y = _ndtri(p._backend.math, d)
        out = p._new(y)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if y.dtype in _HALVES:  # exp(y^2 / 2) would magnify y's rounding: in float32
            return (grad.to(dt.float32) * (_SQRT_2PI * _unary["exp"](0.5 * y.to(dt.float32) ** 2))
                    ).to(grad.dtype)
        return grad * (_SQRT_2PI * _unary["exp"](0.5 * y * y))


def ndtri(input: Tensor) -> Tensor:
    """The inverse of ``ndtr``: the ``p``-quantile of the standard normal distribution."""
    return Ndtri.apply(_as_float(check_tensor(input, "ndtri")))


def log_ndtr(input: Tensor) -> Tensor:
    """``log(ndtr(x))``, accurate in both tails: ``log1p(-ndtr(-x))`` above 0, an asymptotic
    series far below it, where ``ndtr`` underflows."""
    x = _as_float(check_tensor(input, "log_ndtr"))
    if x.dtype in _HALVES:  # (its pieces would round at every step)
        return log_ndtr(x.to(dt.float32)).to(x.dtype)
    cut = _LOG_NDTR_ASYMPTOTIC.get(x.dtype.name, -10.0)
    log, erfc = _unary["log"], _unary["erfc"]
    upper = _unary["log1p"](-0.5 * erfc(select.clamp(x, min=0) * (1 / _SQRT2)))
    mid_x = select.clamp(x, cut, 0)
    middle = log(0.5 * erfc(mid_x * (-1 / _SQRT2)))
    # x -> -inf: log ndtr(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - ...)
    low_x = select.clamp(x, max=cut)
    w = 1 / (low_x * low_x)
    series = 1 - w * (1 - w * (3 - w * (15 - w * 105)))
    lower = -0.5 * low_x * low_x - log(-low_x) - _HALF_LOG_2PI + log(series)
    return select.where(compare.gt(x, 0), upper,
                        select.where(compare.lt(x, cut), lower, middle))


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    ``p (p - 1) / 4 * log(pi) + sum_j lgamma(x - j / 2)``; every element must exceed
    ``(p - 1) / 2``."""
    x = _as_float(check_tensor(input, "multigammaln"))
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if bool((x <= (p - 1) / 2).any()):  # a host read, as PyTorch's check
        raise RuntimeError("All elements must be greater than (p-1)/2")
    lgamma = _unary["lgamma"]
    total = lgamma(x)
    for j in range(1, p):
        total = total + lgamma(x - j / 2)
    return total + p * (p - 1) / 4 * math.log(math.pi)


# ------------------------------------------------------- more of torch.special (formulas_special)
special_i1 = _unary["special_i1"]
i1, i0e, i1e, erfcx = (_unary[f"special_{n}"] for n in ("i1", "i0e", "i1e", "erfcx"))
for _f, _n in ((i1, "i1"), (i0e, "i0e"), (i1e, "i1e"), (erfcx, "erfcx")):
    _f.__name__ = _f.__qualname__ = _n
del special_i1


def _in_float32(x: Tensor, formula, *arrays):
    """``formula(math, *arrays)`` on ``x``'s backend, float16/bfloat16 arrays computed in
    float32; the result rounded once to ``x``'s dtype."""
    d = x._data.dtype
    if d.kind == "V" or d.itemsize < 4:
        arrays = [a.astype(np.float32) for a in arrays]
    with np.errstate(all="ignore"):
        y = formula(x._backend.math, *arrays)
    return x._backend.xp.asarray(y).astype(d, copy=False)


def _no_grad_unary(name, formula):
    """A function of ``torch.special`` that PyTorch does not differentiate: its result never
    requires grad. Computed with the backend's array module (no Triton kernel of its own)."""
    def fn(input: Tensor) -> Tensor:
        x = _as_float(check_tensor(input, name))
        return Tensor._make(_in_float32(x, formula, x._data), x._backend)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.special.{name}`` (not differentiable, as PyTorch's)."
    return fn


# (in float64: Miller's recurrence in between overflows float32)
bessel_j0 = _more.no_grad_unary("bessel_j0", _fs.bessel_j0)
bessel_j1 = _more.no_grad_unary("bessel_j1", _fs.bessel_j1)
spherical_bessel_j0 = _no_grad_unary("spherical_bessel_j0", _fs.spherical_bessel_j0)
modified_bessel_i0 = _no_grad_unary("modified_bessel_i0", _i0_forward)
modified_bessel_i1 = _no_grad_unary("modified_bessel_i1", _fs._i1_full)


def _zeta_array(x, q):
    return _in_float32(x, _fs.hurwitz_zeta, x._data, q._data)


class Zeta(Function):
    """The Hurwitz zeta function ``zeta(x, q)``; PyTorch differentiates it in ``q`` only:
    ``-x zeta(x + 1, q)``."""

    node_name = "SpecialZetaBackward0"

    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        return x._new(_zeta_array(x, q))

    @staticmethod
    def backward(ctx, grad):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError("the derivative for 'zeta' is not implemented.")
        return None, grad * -x * zeta(x + 1, q)


class ZetaNumberX(Function):
    """``zeta(number, q)``: one input, as PyTorch's ``SpecialZetaBackward1``."""

    node_name = "SpecialZetaBackward1"

    @staticmethod
    def forward(ctx, q, x):
        ctx.x = x
        ctx.save_for_backward(q)
        return q._new(_in_float32(
            q, lambda m, qc: _fs.hurwitz_zeta(m, qc.dtype.type(x), qc), q._data))

    @staticmethod
    def backward(ctx, grad):
        (q,) = ctx.saved_tensors
        return grad * -ctx.x * zeta(ctx.x + 1, q), None


class ZetaNumberQ(Function):
    """``zeta(x, number)``: not differentiable in ``x``, as PyTorch's ``SpecialZetaBackward2``."""

    node_name = "SpecialZetaBackward2"

    @staticmethod
    def forward(ctx, x, q):
        return x._new(_zeta_array(x, q))

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("the derivative for 'zeta' is not implemented.")


def zeta(input, other) -> Tensor:
    """The Hurwitz zeta function ``sum_k (other + k) ** -input``; either may be a number."""
    x_t, q_t = isinstance(input, Tensor), isinstance(other, Tensor)
    if not x_t and not q_t:
        raise TypeError("zeta(): expected at least one Tensor argument")
    gg = math_ns()
    like = input if x_t else other
    dtype = like.dtype if like.dtype.is_floating_point else dt.get_default_dtype()
    if x_t and q_t:
        dtype = dt.promote_types(input.dtype, other.dtype)
        if not dtype.is_floating_point:
            dtype = dt.get_default_dtype()
        return Zeta.apply(input.to(dtype), other.to(dtype))
    if not x_t:
        return ZetaNumberX.apply(other.to(dtype), float(input))
    return ZetaNumberQ.apply(input.to(dtype), gg.full((), float(other), dtype=dtype))


__all__ = [
    "expit", "logit", "erf", "erfc", "erfinv", "expm1", "exp2", "log1p", "logsumexp",
    "softmax", "log_softmax", "xlogy", "xlog1py", "gammaln", "digamma", "psi", "polygamma",
    "i0", "sinc", "entr", "ndtr", "ndtri", "log_ndtr", "round", "multigammaln",
    "i1", "i0e", "i1e", "erfcx", "bessel_j0", "bessel_j1", "spherical_bessel_j0",
    "modified_bessel_i0", "modified_bessel_i1", "zeta", *_more.__all__,
]
