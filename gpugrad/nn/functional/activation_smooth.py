"""Smooth activations, as composites of Tensor ops: ``elu``, ``selu``, ``celu``, ``softplus``,
``softsign``, ``mish``, ``logsigmoid``, ``tanhshrink``, ``glu``, ``softmin``, ``gumbel_softmax``
(and the in-place ``elu_``, ``selu_``, ``celu_``).

Where one branch of a ``where`` would overflow in the region it is not used (``exp`` of a large
input), its input is clamped first, so the gradient there stays 0 instead of ``0 * inf``.
"""

from __future__ import annotations

from ..._warnings import warn_user
from ...ops._util import Tensor, check_tensor, math_ns, wrap_dim
from ._pointwise import float_only, log1p_exp, maybe_in_place
from .activation import softmax

__all__ = ["elu", "elu_", "selu", "selu_", "celu", "celu_", "softplus", "softsign", "mish",
           "logsigmoid", "tanhshrink", "glu", "softmin", "gumbel_softmax"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _elu(x: Tensor, alpha: float) -> Tensor:
    return math_ns().where(x > 0, x, x.clamp(max=0).expm1() * alpha)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""
    float_only(input, "elu", "elu_cpu")
    return maybe_in_place(input, inplace, lambda x: _elu(x, alpha))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalizing constants (alpha ~ 1.6733, scale ~
    1.0507)."""
    float_only(input, "selu", "elu_cpu")
    return maybe_in_place(input, inplace, lambda x: _elu(x, _SELU_ALPHA) * _SELU_SCALE)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x / alpha) - 1)``."""
    float_only(input, "celu", "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    where = math_ns().where
    return maybe_in_place(input, inplace, lambda x: where(
        x > 0, x, (x.clamp(max=0) / alpha).expm1() * alpha))


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    float_only(input, "softplus", "softplus_cpu")
    z = input * beta
    return math_ns().where(z > threshold, input, z.clamp(max=threshold).exp().log1p() / beta)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    check_tensor(input, "softsign")
    return input / (input.abs() + 1)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    float_only(input, "mish", "mish_cpu")
    return maybe_in_place(input, inplace, lambda x: x * log1p_exp(x).tanh())


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed as ``-log(1 + exp(-x))`` without overflow."""
    float_only(input, "logsigmoid", "log_sigmoid_cpu")
    return -log1p_exp(-input)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    check_tensor(input, "tanhshrink")
    return input - input.tanh()


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` for ``a, b`` the two halves of ``input`` along
    ``dim`` (whose size must be even)."""
    check_tensor(input, "glu")
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = wrap_dim(dim, input.dim())
    float_only(input, "glu", "glu_cpu")
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{input.shape[d]}")
    a, b = input.chunk(2, d)
    return a * b.sigmoid()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``: the smallest entries get the largest weights."""
    check_tensor(input, "softmin")
    if dim is None:
        warn_user("Implicit dimension choice for softmin has been deprecated. Change the call "
                  "to include dim=X as an argument.")
        dim = 0 if input.dim() in (0, 1, 3) else 1
    return softmax(-input, dim, dtype=dtype)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A sample of the Gumbel-softmax (concrete) distribution over ``dim``:
    ``softmax((logits + g) / tau)`` with ``g = -log(Exp(1))`` Gumbel noise. With ``hard``, the
    one-hot vector of its argmax, whose gradient is the soft sample's (straight-through:
    ``y_hard - y_soft.detach() + y_soft``). ``eps`` is deprecated and unused."""
    check_tensor(logits, "gumbel_softmax", "logits")
    if eps != 1e-10:
        warn_user("`eps` parameter is deprecated and has no effect.")
    gumbels = -logits.detach().new_empty(tuple(logits.shape)).exponential_().log()
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = math_ns().zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
