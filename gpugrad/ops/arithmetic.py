"""Binary arithmetic with broadcasting: ``add``, ``sub`` (with ``alpha``), ``mul``, true
division (the ``Div`` node and the ``/`` operator; ``div``'s other forms are in
``division.py``), ``pow``, ``maximum``, ``minimum`` and their operators.

Each op is its entry in ``backend/formulas.BINARY`` (its math, and what each gradient reads,
from which the op's save plan is made); forward and backward call the backend's fused
primitives (on CUDA one Triton kernel each, both input gradients in one pass), and under
``create_graph=True`` backward runs the same formulas on Tensors.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._dtype import binary_result_type, from_numpy_dtype, get_default_dtype
from .._scalar_fit import check_int64
from .._tensor_metadata import NoDenseArray
from ..autograd.function import Function
from ..autograd.record import record_op
from ..backend.formulas import BINARY
from ._broadcast import raise_broadcast_error
from ._util import (
    Tensor,
    conjugate,
    data_as,
    foreign_operand,
    grad_state,
    is_complex_scalar,
    math_ns,
    operator_method,
    result_dtype,
    scalar_or_tensor,
)


def _save_plans(reads: tuple) -> list | None:
    """For each of need_a + 2 * need_b (1 to 3): whether to save a, b and the output, from
    what each gradient reads (``BinaryFormula.reads``); None when they read nothing."""
    if not any(reads):
        return None
    plans = [None]
    for need_a, need_b in ((True, False), (False, True), (True, True)):
        wanted = (reads[0] if need_a else "") + (reads[1] if need_b else "")
        plans.append(("a" in wanted, "b" in wanted, "o" in wanted))
    return plans


# What each op saves for the gradients it needs; ops absent here save nothing.
_SAVE_PLANS = {op: p for op, f in BINARY.items() if (p := _save_plans(f.reads)) is not None}


class _Binary(Function):
    """Base of the binary ops; operands are Tensors or Python scalars, broadcast together."""

    op = ""
    scalars = (None, None)  # the Python numbers among the operands, for backward
    _next_inputs = (0, 1)  # PyTorch lists both operands, a number as (None, 0)

    @staticmethod
    def forward(ctx, a, b, out_dtype):
        np_dtype = out_dtype.np
        if isinstance(a, Tensor):
            backend = a._backend
            ad = a._data if a._data.dtype == np_dtype else a._data.astype(np_dtype)
        else:
            ad = data_as(a, np_dtype)
        if isinstance(b, Tensor):
            backend = b._backend
            bd = b._data if b._data.dtype == np_dtype else b._data.astype(np_dtype)
        else:
            bd = data_as(b, np_dtype)
        try:
            data = backend.binary(ctx.op, ad, bd)
        except ValueError as e:  # shapes that do not broadcast, or integers to negative powers
            raise_broadcast_error(a, b, e)
        out = Tensor._make(data, backend)
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        plans = _SAVE_PLANS.get(ctx.op)
        if plans and (need_a or need_b):  # save only what the needed gradients read
            save_a, save_b, save_out = plans[need_a + 2 * need_b]
            ctx.save_for_backward(
                a if save_a and isinstance(a, Tensor) else None,
                b if save_b and isinstance(b, Tensor) else None,
                out if save_out else None,
            )
            ctx.scalars = (None if isinstance(a, Tensor) else a,
                           None if isinstance(b, Tensor) else b)
        return out

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph); the engine otherwise calls _array_backward.
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        a = b = out = None
        if ctx.op in _SAVE_PLANS:
            sa, sb, out = ctx.saved_tensors
            ka, kb = ctx.scalars
            a = sa if ka is None else ka
            b = sb if kb is None else kb
        if grad._data.dtype.kind == "c":
            a, b, out = conjugate(a), conjugate(b), conjugate(out)
        f = BINARY[ctx.op]
        m = math_ns()
        return (f.grad_a(m, grad, a, b, out) if need_a else None,
                f.grad_b(m, grad, a, b, out) if need_b else None, None)

    def _array_backward(self, grad):
        need_a, need_b = self.needs_input_grad[0], self.needs_input_grad[1]
        a = b = out = None
        if self.op in _SAVE_PLANS:
            dtype = grad.dtype
            sa, sb, out = self.saved_arrays()
            ka, kb = self.scalars
            if sa is not None:
                a = sa if sa.dtype is dtype else sa.astype(dtype)
            elif ka is not None:
                a = data_as(ka, dtype)
            if sb is not None:
                b = sb if sb.dtype is dtype else sb.astype(dtype)
            elif kb is not None:
                b = data_as(kb, dtype)
            if dtype.kind == "c":
                a, b, out = conjugate(a), conjugate(b), conjugate(out)
        ga, gb = self._backend.binary_grad(self.op, grad, a, b, out, need_a, need_b)
        return ga, gb, None


def _binary_class(op: str, node_name: str):
    cls = type(op.capitalize(), (_Binary,), {"op": op, "node_name": node_name})
    # The node of an op with a Python number as ``other`` / as ``input``: the same op, under
    # the name (and with the inputs) of PyTorch's scalar overload where it has one.
    cls.with_scalar_other = cls.with_scalar_input = cls
    return cls


def _scalar_overload(cls, node_name: str, tensor_input: int):
    return type(cls.__name__ + "Scalar", (cls,),
                {"node_name": node_name, "_next_inputs": (tensor_input,)})


Add = _binary_class("add", "AddBackward0")
Sub = _binary_class("sub", "SubBackward0")
Mul = _binary_class("mul", "MulBackward0")
Div = _binary_class("div", "DivBackward0")
Pow = _binary_class("pow", "PowBackward1")
Maximum = _binary_class("maximum", "MaximumBackward0")
Minimum = _binary_class("minimum", "MinimumBackward0")
# ``2 - x`` and ``rsub(x, 2)`` (``sub(2, x)`` is a Sub node, as in PyTorch).
Rsub = _scalar_overload(Sub, "RsubBackward1", 1)
Rsub.with_scalar_input = Rsub
Pow.with_scalar_other = _scalar_overload(Pow, "PowBackward0", 0)  # x ** 2
Pow.with_scalar_input = _scalar_overload(Pow, "PowBackward2", 1)  # 2 ** x


def _node_class(cls, a, b):
    """``cls``, or its scalar overload when ``a`` or ``b`` is a Python number."""
    if not isinstance(b, Tensor):
        return cls.with_scalar_other
    return cls if isinstance(a, Tensor) else cls.with_scalar_input


# needs_input_grad of a binary node, by need_a + 2 * need_b: shared tuples, not one per node
_PAIR_NEEDS = ((False, False), (True, False), (False, True), (True, True))


def _binary_op(cls, name: str, doc: str, float_out: bool = False, operator: bool = False):
    """The public function ``name(input, other)`` of ``cls``.

    Two Tensors of one float dtype on one backend, or a float Tensor and a Python number, take
    a direct path: no promotion, and the node recorded without ``apply``'s generality. That is
    nearly every op of a training step, so the path is written out in one function.
    ``operator``: the Tensor operator's form, which returns NotImplemented for a foreign operand.
    """
    op = cls.op
    plans = _SAVE_PLANS.get(op)

    def binary(input, other):
        a, b = input, other
        try:  # (free unless raised: a sparse operand has no dense array to read)
            if a.__class__ is Tensor or isinstance(a, Tensor):
                t, ad = a, a._data
                if b.__class__ is Tensor or isinstance(b, Tensor):
                    bd = b._data
                    if bd.dtype is not ad.dtype or b._backend is not a._backend:
                        return _promoted_binary(cls, a, b, float_out, operator)
                elif b.__class__ is float:
                    bd = b
                elif b.__class__ is int:
                    check_int64(b)
                    bd = b
                else:
                    return _promoted_binary(cls, a, b, float_out, operator)
            elif (a.__class__ is float or a.__class__ is int) and isinstance(b, Tensor):
                if a.__class__ is int:
                    check_int64(a)
                t, ad, bd = b, a, b._data
            else:
                return _promoted_binary(cls, a, b, float_out, operator)
        except NoDenseArray:
            from ..sparse._math import binary as sparse_binary

            return sparse_binary(op, a, b)
        if t._data.dtype.kind not in dt.FLOAT_KINDS:
            return _promoted_binary(cls, a, b, float_out, operator)
        backend = t._backend
        try:
            out = Tensor._make(backend.binary(op, ad, bd), backend)
        except ValueError as e:
            raise_broadcast_error(a, b, e)
        a_is_tensor, b_is_tensor = ad is not a, bd is not b
        need_a = a_is_tensor and a._requires_grad
        need_b = b_is_tensor and b._requires_grad
        if (need_a or need_b) and grad_state.enabled:
            node_cls = cls if a_is_tensor and b_is_tensor else _node_class(cls, a, b)
            if plans:  # save only what the needed gradients read
                save_a, save_b, save_out = plans[need_a + 2 * need_b]
                node = record_op(node_cls, (a, b), _PAIR_NEEDS[need_a + 2 * need_b], out, (
                    a if save_a and a_is_tensor else None, b if save_b and b_is_tensor else None,
                    out if save_out else None))
                if not (a_is_tensor and b_is_tensor):
                    node.scalars = (None if a_is_tensor else a, None if b_is_tensor else b)
            else:
                record_op(node_cls, (a, b), _PAIR_NEEDS[need_a + 2 * need_b], out)
        return out

    binary.__name__ = binary.__qualname__ = name
    binary.__doc__ = doc
    return binary


def _is_bool(x) -> bool:
    return x.__class__ is bool or (isinstance(x, Tensor) and x._data.dtype.kind == "b")


def _check_no_bool_subtraction(a, b) -> None:
    """PyTorch refuses ``-`` on bools (a mask is inverted with ``~``), numbers or tensors."""
    if _is_bool(a) and _is_bool(b):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead."
        )
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


def _number_input(input, other, cls) -> Tensor:
    """``input`` as a 0-d tensor (int64, the default float dtype, or bool), where both operands
    are numbers and ``cls`` takes them; a TypeError otherwise."""
    if cls not in (Add, Sub, Mul, Div):
        raise TypeError(f"{cls.op}(): at least one argument must be a Tensor")
    scalar_or_tensor(other, "other")
    return math_ns().tensor(input)


def _promoted_binary(cls, a, b, float_out: bool, operator: bool = False):
    """Promote, then apply ``cls``; one operand at least is a Tensor, except for
    ``add``, ``sub``, ``mul`` and ``div``, which (as PyTorch's) take two numbers, ``input``
    made a 0-d tensor."""
    if operator and (foreign_operand(a) or foreign_operand(b)) and not (
            is_complex_scalar(a) or is_complex_scalar(b)):
        return NotImplemented
    if issubclass(cls, Sub):  # the direct path never sees bools
        _check_no_bool_subtraction(a, b)
    if is_complex_scalar(a) or is_complex_scalar(b):
        a, b = _complex_operands(cls, a, b)
    elif not isinstance(a, Tensor):
        a = scalar_or_tensor(a, "input")
        if not isinstance(b, Tensor):
            a = _number_input(a, b, cls)
    elif not isinstance(b, Tensor):
        b = scalar_or_tensor(b, "other")
    if a.__class__ is b.__class__ and a._data.dtype is b._data.dtype:
        rt = from_numpy_dtype(a._data.dtype)
    else:
        rt = binary_result_type(a, b)
    if float_out and not rt.is_floating_point and not rt.is_complex:
        rt = get_default_dtype()
    return _node_class(cls, a, b).apply(a, b, rt)


def _complex_operands(cls, a, b) -> tuple:
    """The operands of ``+ - * / **`` (the ops that take a Python complex number) as
    ``_promoted_binary`` reads them: a complex number stays a Python complex where the other
    operand is a Tensor, and becomes a 0-d tensor where both are numbers."""
    if not issubclass(cls, (Add, Sub, Mul, Div, Pow)):
        raise TypeError(f"{cls.op}(): complex numbers are not supported as operands")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return math_ns().tensor(a), b if is_complex_scalar(b) else scalar_or_tensor(b)
    return tuple(x if isinstance(x, Tensor) else complex(x) if is_complex_scalar(x)
                 else scalar_or_tensor(x) for x in (a, b))


_add = _binary_op(Add, "add", "``input + other`` with broadcasting.")
_add_operator = _binary_op(Add, "add", "``input + other`` with broadcasting.", operator=True)
_sub_operator = _binary_op(Sub, "sub", "``input - other`` with broadcasting.", operator=True)
_mul_operator = _binary_op(Mul, "mul", "Elementwise product with broadcasting.", operator=True)
_div_operator = _binary_op(Div, "div", "``input / other`` (true division).", float_out=True,
                           operator=True)
_sub = _binary_op(Sub, "sub", "``input - other`` with broadcasting.")
_rsub = _binary_op(Rsub, "sub", "``input - other``, recorded as PyTorch's ``2 - x``.")
_div = _binary_op(Div, "div", "``input / other`` (true division).", float_out=True)
mul = _binary_op(Mul, "mul", "Elementwise product with broadcasting.")
_pow = _binary_op(Pow, "pow", "``input ** other``.")
maximum = _binary_op(Maximum, "maximum", "Elementwise maximum (NaN propagates).")
minimum = _binary_op(Minimum, "minimum", "Elementwise minimum (NaN propagates).")


def alpha_number(alpha, fn: str):
    """``alpha`` as PyTorch's argument parser takes it: a number, or a 0-d tensor that needs no
    gradient (read as its number); other tensors are a TypeError."""
    if isinstance(alpha, Tensor):
        if alpha.dim() != 0 or alpha.requires_grad:
            raise TypeError(f"{fn}(): argument 'alpha' must be Number, not Tensor")
        return alpha.item()
    return alpha


def check_alpha(alpha, rt: dt.dtype) -> None:
    """PyTorch's checks of ``add``/``sub``'s ``alpha`` against the result dtype ``rt``: a
    bool only for bool results, a float not for integer ones."""
    if isinstance(alpha, (bool, np.bool_)):
        if rt is not dt.bool:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    elif isinstance(alpha, (float, np.floating)) and not rt.is_floating_point:
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )


def _scaled_other(input, other, alpha):
    """``input`` (a 0-d tensor where both operands are numbers) and ``alpha * other``, in the
    dtype ``input`` and ``other`` promote to: ``alpha`` takes no part in the promotion."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = _number_input(scalar_or_tensor(input, "input"), other, Add)
    other = scalar_or_tensor(other)
    rt = result_dtype(scalar_or_tensor(input, "input"), other)
    check_alpha(alpha, rt)
    if not isinstance(other, Tensor):
        scaled = other * alpha
        return input, bool(scaled) if rt is dt.bool else scaled
    scaled = mul(other, alpha)
    if other.dtype is dt.bool and scaled.dtype is not rt:  # (bool * 2 is int64)
        scaled = scaled.to(rt)
    return input, scaled


def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    alpha = alpha_number(alpha, "add")
    if alpha != 1 or alpha is True:
        input, other = _scaled_other(input, other, alpha)
    return _add(input, other)


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    _check_no_bool_subtraction(input, other)
    alpha = alpha_number(alpha, "sub")
    if alpha != 1 or alpha is True:
        input, other = _scaled_other(input, other, alpha)
    return _sub(input, other)


def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("rsub(): at least one argument must be a Tensor")
    if alpha != 1 or alpha is True or isinstance(other, Tensor):
        return sub(other, input, alpha=alpha)
    _check_no_bool_subtraction(input, other)
    return _rsub(other, input)


def pow(input, exponent) -> Tensor:  # noqa: A001
    """``input ** exponent`` (either may be a scalar)."""
    # PyTorch refuses a negative Python int exponent on an integer tensor (a tensor exponent is
    # computed). NumPy raises too, CuPy does not: check here, for every backend.
    if (type(exponent) is int and exponent < 0 and isinstance(input, Tensor)
            and not input.dtype.is_floating_point and not input.dtype.is_complex):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _pow(input, exponent)


__all__ = [
    "add", "sub", "subtract", "rsub", "mul", "multiply", "pow", "maximum", "minimum",
]
subtract = sub
multiply = mul


METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul,
    "pow": pow, "maximum": maximum, "minimum": minimum,
    # As PyTorch, ``2 + x`` and ``2 * x`` are ``x + 2`` and ``x * 2``.
    "__add__": _add_operator, "__radd__": _add_operator, "__sub__": _sub_operator,
    "__rsub__": operator_method(_rsub, reflected=True), "__mul__": _mul_operator,
    "__rmul__": _mul_operator, "__truediv__": _div_operator,
    "__rtruediv__": operator_method(_div, reflected=True),
    "__pow__": operator_method(pow), "__rpow__": operator_method(_pow, reflected=True),
}
