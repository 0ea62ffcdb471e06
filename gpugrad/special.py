"""``gpugrad.special``: PyTorch's ``torch.special`` on gpugrad's ops.

Most entries are another name of an op of the formula table (``expit`` is ``sigmoid``,
``gammaln`` is ``lgamma``, ``psi`` is ``digamma``); the rest are composites of those ops
(``ndtr``, ``log_ndtr``, ``multigammaln``), so their gradients come from the ops'; ``entr`` and
``ndtri`` are nodes of their own.
"""

from __future__ import annotations

import math

import numpy as np

from . import _dtype as dt
from .autograd.function import Function
from .backend.formulas_math import _ndtri
from .ops import compare, elementwise, math_more, select
from .ops import softmax as _softmax
from .ops._util import Tensor, check_tensor

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


__all__ = [
    "expit", "logit", "erf", "erfc", "erfinv", "expm1", "exp2", "log1p", "logsumexp",
    "softmax", "log_softmax", "xlogy", "xlog1py", "gammaln", "digamma", "psi", "polygamma",
    "i0", "sinc", "entr", "ndtr", "ndtri", "log_ndtr", "round", "multigammaln",
]
