"""The exp-normalizing ops: ``softmax``, ``log_softmax`` over a dim, and ``logsumexp``.

All three shift by the max before exponentiating, so logits of any finite size stay finite.
Their gradients are formulas (``backend/formulas_reduce.py``), the backward written once in
``_reduction_base.py``.
"""

from __future__ import annotations

from .. import _dtype as dt
from .._warnings import warn_user
from ._reduction_base import Reduction
from ._util import Tensor, float_result, int_arg, wrap_dim, wrap_dims

__all__ = ["softmax", "log_softmax", "logsumexp"]


class Softmax(Reduction):
    node_name = "SoftmaxBackward0"
    op = "softmax"

    @staticmethod
    def forward(ctx, x, axis):
        data = x._data
        log = ctx.op == "log_softmax"
        if data.ndim == 0:  # a one-element slice: the reduction is over everything
            out = x._backend.softmax(data.reshape(1), 0, log).reshape(())
            return ctx.reduced(x, x._new(out), None)
        return ctx.reduced(x, x._new(x._backend.softmax(data, axis, log)), (axis,))


class LogSoftmax(Softmax):
    node_name = "LogSoftmaxBackward0"
    op = "log_softmax"


def _softmax_dim(name: str, ndim: int) -> int:
    """PyTorch's legacy implicit dim (with its deprecation warning) when ``dim`` is None."""
    warn_user(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
              "include dim=X as an argument.")
    return 0 if ndim in (0, 1, 3) else 1


def _apply(cls, name: str, input: Tensor, dim, dtype) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype)
    ndim = input._data.ndim
    if dim is None:
        dim = _softmax_dim(name, ndim)
    dim = wrap_dim(dim, ndim)
    if not input.is_floating_point():
        raise dt.not_implemented_for(softmax_kernel(name, dim, ndim), input.dtype)
    return cls.apply(input, dim)


def softmax_kernel(name: str, dim: int, ndim: int) -> str:
    """The name of PyTorch's CPU kernel for ``name`` over ``dim``, as its dtype errors say."""
    return f"{name}_lastdim_kernel_impl" if dim == max(ndim - 1, 0) else f"{name}_kernel_impl"


def _required_dim(dim, name: str):
    """``torch.softmax``'s ``dim``, which (unlike ``nn.functional.softmax``'s) must be given: an
    int (a 0-d integer tensor too)."""
    if isinstance(dim, Tensor) and dim._data.ndim:  # (int_arg would read a one-element one)
        raise TypeError(f"{name}(): argument 'dim' must be int, not Tensor")
    return int_arg(dim, name, "dim")


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``; ``dtype`` casts the input first."""
    return _apply(Softmax, "softmax", input, _required_dim(dim, "softmax"), dtype)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the log of softmax, computed stably."""
    return _apply(LogSoftmax, "log_softmax", input, _required_dim(dim, "log_softmax"), dtype)


def softmax_any_dim(input: Tensor, dim=None, dtype=None) -> Tensor:
    """``nn.functional.softmax``: as ``softmax``, but a missing ``dim`` picks the legacy
    implicit dim with a deprecation warning."""
    return _apply(Softmax, "softmax", input, dim, dtype)


def log_softmax_any_dim(input: Tensor, dim=None, dtype=None) -> Tensor:
    """``nn.functional.log_softmax``: ``log_softmax`` with the legacy implicit dim."""
    return _apply(LogSoftmax, "log_softmax", input, dim, dtype)


class Logsumexp(Reduction):
    node_name = "LogsumexpBackward0"
    op = "logsumexp"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return ctx.reduced(x, x._new(x._backend.logsumexp(x._data, dims, keepdim)), dims)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim`` (an int or a tuple), shifted by the max.

    Integer and bool inputs compute in the default float dtype.
    """
    if not input.is_floating_point():
        input = input.to(float_result(input.dtype))
    return Logsumexp.apply(input, wrap_dims(dim, input._data.ndim), keepdim)


METHODS = {"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp}
