"""``torch._foreach_*``: one op over lists of tensors (``_foreach_lerp_`` for a weight EMA,
``_foreach_mul_`` to scale gradients, ``_foreach_norm`` for a total norm...).

PyTorch fuses each call on CUDA into a few multi-tensor kernels; gpugrad runs the op once per
tensor (its optimizers' steps, the usual heavy users, have their own fused kernels). The
out-of-place forms are differentiable through the ops they call, as PyTorch's are; the in-place
forms write each tensor in place as ``Tensor.<op>_`` does.
"""

from __future__ import annotations

import numbers

from . import linalg
from .ops._util import Tensor, grad_state

UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1",
         "floor", "frac", "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal",
         "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt", "tan", "tanh", "trunc")
# Binary ops: the other operand is a number, a list of numbers, a 0-d Tensor or a list of
# Tensors (``add``/``sub`` with a list of Tensors take ``alpha``).
BINARY = ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "clamp_min", "clamp_max")


def _tensors(tensors, what: str = "self") -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"foreach ops expect a list or tuple of Tensors as '{what}', got "
                        f"{type(tensors).__name__}")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("Tensor list must have at least one tensor.")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"foreach ops expect Tensors in '{what}', got {type(t).__name__}")
    return tensors


def _same_length(tensors: list, others: list) -> list:
    if len(others) != len(tensors):
        raise RuntimeError(f"Tensor lists must have the same number of tensors, got "
                           f"{len(tensors)} and {len(others)}")
    return others


def _per_tensor(tensors: list, other) -> list:
    """``other`` spread to one operand per tensor."""
    if isinstance(other, (list, tuple)):
        other = list(other)
        if other and all(isinstance(o, Tensor) for o in other):
            return _same_length(tensors, other)
        if not all(isinstance(o, numbers.Number) for o in other):
            raise TypeError("foreach ops expect a list of Tensors or a list of numbers")
        if len(other) != len(tensors):
            raise RuntimeError("Tensor list must have same number of elements as scalar list.")
        return other
    if isinstance(other, Tensor):
        if other.ndim != 0:
            raise RuntimeError(f"scalar tensor expected to be 0 dim but it has {other.ndim} "
                               f"dimensions and {other.numel()} elements.")
        return [other] * len(tensors)
    if not isinstance(other, numbers.Number):
        raise TypeError(f"foreach ops expect a number, a list or a Tensor, got "
                        f"{type(other).__name__}")
    return [other] * len(tensors)


def _scalars(tensors: list, value) -> list:
    """``addcmul``/``addcdiv``'s ``value``: a number, a list of numbers or a 1-D Tensor of
    them, one per tensor."""
    if isinstance(value, Tensor):
        if value.ndim != 1 or value.numel() != len(tensors):
            raise RuntimeError("Expected a 1-D scalars tensor with one element per tensor, got "
                               f"shape {list(value.shape)} for {len(tensors)} tensors")
        value = value.tolist()
    return _per_tensor(tensors, value)


def _functional(op: str):
    import gpugrad

    return getattr(gpugrad, op)


def _write(t: Tensor, op: str, *args, **kwargs) -> None:
    """``t.<op>_(*args)``, or ``t.copy_(op(t, *args))`` where Tensor has no in-place form."""
    method = getattr(t, op + "_", None)
    if method is not None:
        method(*args, **kwargs)
    else:
        t.copy_(_functional(op)(t, *args, **kwargs))


def _unary(op: str):
    def fn(self):
        return [_functional(op)(t) for t in _tensors(self)]

    def fn_(self):
        tensors = _tensors(self)
        for t in tensors:
            _write(t, op)
        return tensors  # (PyTorch's in-place forms return the list)

    return fn, fn_


_NO_ALPHA = object()


def _check_alpha_use(name: str, other, alpha) -> None:
    """PyTorch's overloads take ``alpha`` only for ``add``/``sub`` with tensor operands; any
    other use is a TypeError there (never an argument silently ignored or applied)."""
    if alpha is _NO_ALPHA:
        return
    with_tensors = isinstance(other, Tensor) or (
        isinstance(other, (list, tuple)) and other and all(isinstance(o, Tensor) for o in other))
    if not (name.startswith(("_foreach_add", "_foreach_sub")) and with_tensors):
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"({type(other).__name__} other, alpha=...): alpha goes with add or sub "
                        "of tensors")


def _binary(op: str):
    def call(t, o, alpha):
        if alpha is not _NO_ALPHA and alpha != 1:
            return _functional(op)(t, o, alpha=alpha)
        return _functional(op)(t, o)

    def fn(self, other, *, alpha=_NO_ALPHA):
        _check_alpha_use(f"_foreach_{op}", other, alpha)
        if op == "pow" and isinstance(self, numbers.Number):  # _foreach_pow(2.0, exponents)
            return [_functional("pow")(self, e) for e in _tensors(other, "exponent")]
        tensors = _tensors(self)
        return [call(t, o, alpha) for t, o in zip(tensors, _per_tensor(tensors, other))]

    def fn_(self, other, *, alpha=_NO_ALPHA):
        _check_alpha_use(f"_foreach_{op}_", other, alpha)
        tensors = _tensors(self)
        for t, o in zip(tensors, _per_tensor(tensors, other)):
            if alpha is not _NO_ALPHA and alpha != 1:
                _write(t, op, o, alpha=alpha)
            else:
                _write(t, op, o)
        return tensors

    return fn, fn_


def _pointwise(op: str):
    """``addcmul``/``addcdiv``: ``self + value * tensor1 (*|/) tensor2``."""

    def fn(self, tensor1, tensor2, value=1):
        tensors = _tensors(self)
        t1 = _same_length(tensors, _tensors(tensor1, "tensor1"))
        t2 = _same_length(tensors, _tensors(tensor2, "tensor2"))
        return [_functional(op)(t, a, b, value=v)
                for t, a, b, v in zip(tensors, t1, t2, _scalars(tensors, value))]

    def fn_(self, tensor1, tensor2, value=1):
        tensors = _tensors(self)
        t1 = _same_length(tensors, _tensors(tensor1, "tensor1"))
        t2 = _same_length(tensors, _tensors(tensor2, "tensor2"))
        for t, a, b, v in zip(tensors, t1, t2, _scalars(tensors, value)):
            _write(t, op, a, b, value=v)
        return tensors

    return fn, fn_


def _foreach_lerp(self, tensors1, weight):
    tensors = _tensors(self)
    ends = _same_length(tensors, _tensors(tensors1, "tensors1"))
    return [t.lerp(e, w) for t, e, w in zip(tensors, ends, _per_tensor(tensors, weight))]


def _foreach_lerp_(self, tensors1, weight):
    tensors = _tensors(self)
    ends = _same_length(tensors, _tensors(tensors1, "tensors1"))
    for t, e, w in zip(tensors, ends, _per_tensor(tensors, weight)):
        t.lerp_(e, w)
    return tensors


def _foreach_copy_(self, src, non_blocking: bool = False):
    tensors = _tensors(self)
    for t, s in zip(tensors, _same_length(tensors, _tensors(src, "src"))):
        t.copy_(s, non_blocking=non_blocking)
    return tensors


def _foreach_zero_(self):
    tensors = _tensors(self)
    for t in tensors:
        t.zero_()
    return tensors


def _foreach_clone(self, *, memory_format=None):
    return [t.clone() for t in _tensors(self)]


def _foreach_norm(self, ord=2, dtype=None):  # noqa: A002
    """Each tensor's vector norm (of all its elements)."""
    tensors = _tensors(self)
    if isinstance(ord, numbers.Number) and abs(ord) == float("inf") and \
            any(t.numel() == 0 for t in tensors):
        raise RuntimeError("_foreach_norm cannot compute the infinity norm on an empty tensor "
                           "because the operation does not have an identity")
    if dtype is None and isinstance(ord, numbers.Real) and not isinstance(ord, bool):
        p = float(ord)
        return [_whole_norm(t, p) for t in tensors]
    return [linalg.vector_norm(t, ord, dtype=dtype) for t in tensors]


def _whole_norm(t: Tensor, p: float) -> Tensor:
    """``linalg.vector_norm(t, p)``, straight from the backend where nothing records it and
    the op's checks cannot fail (gradient clipping takes one norm per parameter)."""
    if not t.is_floating_point() or (t._requires_grad and grad_state.enabled):
        return linalg.vector_norm(t, p)
    return t._new(t._backend.norm(t._data, p, None, False))


def _foreach_max(self):
    tensors = _tensors(self)
    for t in tensors:
        if t.numel() == 0:
            raise RuntimeError("_foreach_max cannot compute the maximum of an empty tensor; max "
                               "over zero elements is undefined.")
    return [t.max() for t in tensors]


def _foreach_powsum(self, exponent):
    """Each tensor's sum of ``|x| ** exponent`` (a norm before its root)."""
    return [t.abs().pow(exponent).sum() for t in _tensors(self)]


def _foreach_mm(self, mat2):
    tensors = _tensors(self)
    return [a.mm(b) for a, b in zip(tensors, _same_length(tensors, _tensors(mat2, "mat2")))]


__all__ = ["_foreach_lerp", "_foreach_lerp_", "_foreach_copy_", "_foreach_zero_",
           "_foreach_clone", "_foreach_norm", "_foreach_max", "_foreach_powsum", "_foreach_mm"]
for _op, _make in ([(op, _unary) for op in UNARY] + [(op, _binary) for op in BINARY]
                   + [(op, _pointwise) for op in ("addcmul", "addcdiv")]):
    _fn, _fn_ = _make(_op)
    for _name, _f in ((f"_foreach_{_op}", _fn), (f"_foreach_{_op}_", _fn_)):
        _f.__name__ = _f.__qualname__ = _name
        _how = "in place" if _name.endswith("_") else "new tensors"
        _f.__doc__ = f"``{_op}`` of each tensor of a list ({_how})."
        globals()[_name] = _f
        __all__.append(_name)
