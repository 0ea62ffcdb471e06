"""In-place ops (``add_``, ``mul_``, ``+=``, ``x[i] = v``...) with version counters.

Every in-place write bumps the tensor's version counter (shared with its views), so backward
raises if a node saved the tensor before the write. PyTorch's rules:

- under grad mode, writing into a leaf that requires grad (or a view of one) raises before
  anything changes; under ``no_grad`` it is allowed (optimizers) and writes straight into the
  buffer;
- when the write must be recorded (the target or an operand requires grad, grad mode on), the
  op runs out of place with the graph and ``_inplace_graph.commit`` writes the result and
  rewrites the target's history, through views too (``CopySlices``);
- the result type of the op must be castable to the target's dtype (no float into int, nothing
  but bool into bool); ``copy_``, ``fill_`` and ``__setitem__`` cast freely.
"""

from __future__ import annotations

import inspect

import numpy as np

from .. import _dtype as dt
from .._scalar_fit import fit_scalar
from . import elementwise
from ._index_key import normalize_key, region
from ._inplace_graph import (
    LEAF,
    VIEW_OF_LEAF,
    CopyBackwards,
    CopySlices,
    FillBackward,
    FillTensorBackward,
    SharedCopySlices,
    ZeroBackward,
    cast_like,
    check_cast,
    check_into,
    check_target,
    commit,
    needs_graph,
    record,
    same_device,
    same_layout,
    shares_elements,
)
from ._shared_write import (
    check_values_dtype,
    fill_where,
    put_at,
    root_of,
    write_at,
    writes_directly,
)
from ._util import (
    Tensor,
    data_as,
    float_result,
    math_ns,
    operator_method,
    result_dtype,
    scalar_or_tensor,
)
from .arithmetic import alpha_number, check_alpha
from .convert import _transfer
from .division import rounding_mode_arg
from .indexing import masked_fill

__all__: list[str] = []


def _write(self: Tensor, data) -> None:
    """The unrecorded write: into the buffer, then bump the version."""
    if not writes_directly(self._data):  # an expanded tensor: into the memory it shares
        write_at(self, ((), None), data)
        return
    self._backend.xp.copyto(self._data, data, casting="unsafe")
    self._vc.value += 1


def _apply(self: Tensor, compute, operands=(), adopt_output: bool = False) -> Tensor:
    """Write ``compute(self)`` (an out-of-place op) into ``self``; ``adopt_output``: see
    ``commit``."""
    recorded = needs_graph(self, operands)  # (autograd's errors come before the kernel's)
    check_target(self, operands)
    if recorded:
        record(self, compute, adopt_output)
        return self
    result = compute(self)
    check_cast(result.dtype, self)
    check_into(self._data.shape, result._data.shape)
    _write(self, result._data)
    return self


def inplace_method(fn, name: str):
    """The in-place method ``self.<name>_(*args)`` of an out-of-place op ``fn``: ``fn(self,
    *args)`` written into ``self`` (through ``_apply``, the Tensor arguments as its operands)."""
    def method(self: Tensor, *args, **kwargs) -> Tensor:
        operands = tuple(a for a in (*args, *kwargs.values()) if isinstance(a, Tensor))
        return _apply(self, lambda s: fn(s, *args, **kwargs), operands)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``."
    params = list(inspect.signature(fn).parameters.values())
    method.__signature__ = inspect.Signature([params[0].replace(name="self"), *params[1:]],
                                             return_annotation="Tensor")
    return method


# ---------------------------------------------------------------------- arithmetic
_UFUNCS = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide"}


def _op(name: str):
    """The out-of-place op ``gpugrad.<name>``, looked up when called."""
    return getattr(math_ns(), name)


def _arith(self: Tensor, op: str, other, alpha=1) -> Tensor:
    alpha = alpha_number(alpha, f"{op}_")
    other = same_device(self, scalar_or_tensor(other))
    rt = result_dtype(self, other)
    if op == "div":
        rt = float_result(rt)
    check_cast(rt, self)
    check_alpha(alpha, rt)
    if isinstance(other, Tensor):
        check_into(self._data.shape, other._data.shape)
    recorded = needs_graph(self, (other,))
    check_target(self, (other,))
    if recorded:
        fn = _op(op)
        record(self, lambda s: fn(s, other, alpha=alpha) if alpha != 1 else fn(s, other))
        return self
    operand = data_as(other, rt.np)
    if alpha != 1:
        operand = operand * alpha
        if rt is dt.bool:  # (True * -1 is -1, which would add as an integer)
            operand = operand.astype(bool)
    data = self._data
    getattr(self._backend.xp, _UFUNCS[op])(data, operand, out=data, casting="unsafe")
    self._vc.value += 1
    return self


def add_(self: Tensor, other, *, alpha=1) -> Tensor:
    """In-place ``self += alpha * other``."""
    return _arith(self, "add", other, alpha)


def sub_(self: Tensor, other, *, alpha=1) -> Tensor:
    """In-place ``self -= alpha * other``."""
    return _arith(self, "sub", other, alpha)


def mul_(self: Tensor, other) -> Tensor:
    """In-place ``self *= other``."""
    return _arith(self, "mul", other)


def div_(self: Tensor, other, *, rounding_mode=None) -> Tensor:
    """In-place ``self /= other`` (``rounding_mode`` as in ``div``)."""
    rounding_mode = rounding_mode_arg(rounding_mode, "div_")
    if rounding_mode is None:
        return _arith(self, "div", other)
    other = scalar_or_tensor(other)
    return _apply(self, lambda s: _op("div")(s, other, rounding_mode=rounding_mode), (other,))


def true_divide_(self: Tensor, other) -> Tensor:
    """In-place ``self /= other``."""
    return _arith(self, "div", other)


def floor_divide_(self: Tensor, other) -> Tensor:
    return div_(self, other, rounding_mode="floor")


def pow_(self: Tensor, exponent) -> Tensor:
    """In-place ``self **= exponent``."""
    exponent = scalar_or_tensor(exponent, "exponent")
    return _apply(self, lambda s: _op("pow")(s, exponent), (exponent,))


def _bitwise(name: str):
    def method(self: Tensor, other) -> Tensor:
        other = scalar_or_tensor(other)
        return _apply(self, lambda s: _op(name)(s, other), (other,))

    method.__name__ = method.__qualname__ = name + "_"
    return method


def clamp_(self: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """In-place ``clamp``."""
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):  # (the numbers' overload)
        bounds = [b for b in (min, max) if b is not None]
        if bounds:
            kinds = [result_dtype(self, b) for b in bounds]
            check_cast(kinds[0] if len(kinds) == 1 else dt.promote_types(*kinds), self,
                       c_names=True)
    return _apply(self, lambda s: _op("clamp")(s, min, max), (min, max))


def clamp_min_(self: Tensor, min) -> Tensor:  # noqa: A002
    return clamp_(self, min=min)


def clamp_max_(self: Tensor, max) -> Tensor:  # noqa: A002
    return clamp_(self, max=max)


def _unary(name: str):
    def method(self: Tensor) -> Tensor:
        return _apply(self, _op(name), (), adopt_output=True)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``."
    return method


# ---------------------------------------------------------------------- overwrites
def _overwrite(self: Tensor, values, node) -> Tensor:
    """Write ``values`` (a Tensor broadcastable to ``self``, or a number) into all of
    ``self``, casting freely; recorded, ``self``'s old values get a zero gradient. A fill
    with a number may write into an expanded tensor (as PyTorch allows)."""
    fill = node is FillBackward or node is ZeroBackward
    recorded = needs_graph(self, (values,))
    check_target(self, (values,), shared_ok=fill)
    if recorded:
        if fill and shares_elements(self._data):
            node = SharedCopySlices
        if not isinstance(values, Tensor):
            values = self._new(self._backend.asarray(values, dtype=self._data.dtype))
        commit(self, cast_like(values, self), node=node)
        return self
    if isinstance(values, Tensor):
        data = values._data
        if values._backend is not self._backend:
            data = _transfer(data, values._backend, self._backend)
    else:
        data = values
    _write(self, data)
    return self


def fill_(self: Tensor, value) -> Tensor:
    """Fill with ``value`` (a number or a 0-d tensor)."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions."
            )
        return _overwrite(self, value, FillTensorBackward)
    if not isinstance(value, complex):
        value = scalar_or_tensor(value, "value")
    value = fit_scalar(value, self.dtype)
    return _overwrite(self, value, FillBackward)


def zero_(self: Tensor) -> Tensor:
    """Fill with zeros."""
    return _overwrite(self, 0, ZeroBackward)


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src``'s values (broadcast, cast, from any device) into ``self``."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'other' must be Tensor, not {type(src).__name__}")
    check_into(self._data.shape, src._data.shape)
    if src._backend is not self._backend and needs_graph(self, (src,)):
        src = src.to(self.device)
    return _overwrite(self, src, CopyBackwards)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place ``masked_fill``: ``value`` where ``mask`` (broadcast to ``self``) is True."""
    if isinstance(mask, Tensor):
        check_into(self._data.shape, mask._data.shape)
    if self._base is not None and shares_elements(self._data):
        return fill_where(self, mask, value, warn=("masked_fill_", "tensor[mask] = scalar"))
    return _apply(self, lambda s: masked_fill(s, mask, value), (mask, value))


# ---------------------------------------------------------------------- setitem
def _as_value(self: Tensor, value):
    if isinstance(value, Tensor):
        return value if value._backend is self._backend else value.to(self.device)
    if isinstance(value, (bool, int, float)):
        return fit_scalar(value, self.dtype)  # (a negative wraps into an unsigned type)
    if isinstance(value, np.number):
        return value
    return self._new(self._backend.asarray(np.asarray(value), dtype=self._data.dtype))


def _written_shape(target, advanced, xp) -> tuple:
    if advanced is None:
        return target.shape
    return xp.broadcast_to(xp.zeros((), dtype=bool), target.shape)[advanced].shape


def _fit_value(value: Tensor, shape: tuple, advanced) -> Tensor:
    """``value`` checked to broadcast to ``shape``, with surplus leading 1-dims dropped."""
    have = value._data.shape
    extra = len(have) - len(shape)
    ok = extra <= 0 or all(n == 1 for n in have[:extra])
    if ok:
        core = have[extra:] if extra > 0 else have
        pad = (1,) * (len(shape) - len(core)) + core
        ok = all(a == b or a == 1 for a, b in zip(pad, shape))
    if not ok:
        if advanced is not None:
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(have)} cannot be broadcast to "
                f"indexing result of shape {list(shape)}"
            )
        for i in range(1, len(shape) + 1):
            a = have[-i] if i <= len(have) else 1
            if a != shape[-i] and a != 1:
                raise RuntimeError(
                    f"The expanded size of the tensor ({shape[-i]}) must match the existing size "
                    f"({a}) at non-singleton dimension {len(shape) - i}.  Target sizes: "
                    f"{list(shape)}.  Tensor sizes: {list(have)}"
                )
        raise RuntimeError(
            f"expand(torch.{dt.SCALAR_TYPE_NAMES[value.dtype.name]}Tensor{{{list(have)}}}, size="
            f"{list(shape)}): the number of sizes provided ({len(shape)}) must be greater or "
            f"equal to the number of dimensions in the tensor ({len(have)})"
        )
    return value.reshape(have[extra:]) if extra > 0 else value


def setitem(self: Tensor, key, value) -> None:
    """``self[key] = value``: writes ``value`` (a number or a tensor broadcast to the indexed
    shape, cast to ``self``'s dtype) in place; differentiable w.r.t. ``value`` and the rest of
    ``self``."""
    basic, advanced = normalize_key(self, key)
    if advanced is not None and isinstance(value, Tensor):
        check_values_dtype(self, value)
    value = _as_value(self, value)
    xp = self._backend.xp
    target = region(self._data, basic)
    if isinstance(value, Tensor):
        value = _fit_value(value, _written_shape(target, advanced, xp), advanced)
        if (advanced is None and root_of(value) is root_of(self)
                and same_layout(target, value._data)):
            return  # ``x[i] += v`` already wrote (and recorded) through the view ``x[i]``
    # An index write (``index_put_``) may go into an expanded tensor; a slice write (``copy_``)
    # may not.
    shared = self._base is not None and shares_elements(target)
    put_at(self, (basic, advanced), value, SharedCopySlices if shared else CopySlices,
           VIEW_OF_LEAF if advanced is None else LEAF, shared_ok=advanced is not None,
           warn=("index_put_", "tensor[indices] = tensor") if shared and advanced is not None
           else None)


METHODS = {
    "add_": add_, "sub_": sub_, "subtract_": sub_, "mul_": mul_, "multiply_": mul_,
    "div_": div_, "divide_": div_, "true_divide_": true_divide_, "floor_divide_": floor_divide_,
    "pow_": pow_, "clamp_": clamp_, "clip_": clamp_, "clamp_min_": clamp_min_,
    "clamp_max_": clamp_max_, "fill_": fill_, "zero_": zero_, "copy_": copy_,
    "masked_fill_": masked_fill_,
    "bitwise_and_": _bitwise("bitwise_and"), "bitwise_or_": _bitwise("bitwise_or"),
    "bitwise_xor_": _bitwise("bitwise_xor"), "logical_and_": _bitwise("logical_and"),
    "logical_or_": _bitwise("logical_or"),
    "bitwise_left_shift_": _bitwise("bitwise_left_shift"),
    "bitwise_right_shift_": _bitwise("bitwise_right_shift"),
    "__setitem__": setitem,
}
# The in-place operators: NotImplemented for a foreign operand, as the others (``x += obj`` then
# becomes ``x = x + obj``, which asks ``obj.__radd__``).
METHODS.update({name: operator_method(METHODS[method]) for name, method in (
    ("__iadd__", "add_"), ("__isub__", "sub_"), ("__imul__", "mul_"), ("__itruediv__", "div_"),
    ("__ifloordiv__", "floor_divide_"), ("__ipow__", "pow_"), ("__iand__", "bitwise_and_"),
    ("__ior__", "bitwise_or_"), ("__ixor__", "bitwise_xor_"),
    ("__ilshift__", "bitwise_left_shift_"), ("__irshift__", "bitwise_right_shift_"))})
METHODS.update({name + "_": _unary(name) for name in elementwise.PUBLIC})
METHODS["negative_"] = METHODS["neg_"]
