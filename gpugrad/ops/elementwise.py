"""Elementwise unary ops: ``exp``, ``tanh``, ``relu``... (binary arithmetic is in
``arithmetic.py``, comparisons in ``compare.py``, where and clamp in ``select.py``).

The math of each op lives once in ``backend/formulas.py``. Forward and backward call the
backend's fused primitives (one pass; on CUDA one Triton kernel); under ``create_graph=True``
backward runs the same formula on Tensors instead, so it is differentiable again.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.record import record_op
from ..backend.formulas import UNARY
from ._util import Tensor, float_result, grad_state, math_ns

# Which of the input x and the output y each unary gradient reads.
_UNARY_SAVES = {
    "exp": "y", "log": "x", "log1p": "x", "expm1": "y", "sqrt": "y", "rsqrt": "y", "sin": "x",
    "cos": "x", "tanh": "y", "sigmoid": "y", "relu": "y", "abs": "x", "reciprocal": "y",
    "square": "x", "erf": "x",
}


class _Unary(Function):
    """Base of the unary ops; subclasses set ``op`` (a key of ``formulas.UNARY``)."""

    op = ""
    saves = ""  # which of the input "x" and the output "y" the gradient reads

    @staticmethod
    def forward(ctx, x):
        op = ctx.op
        f = UNARY[op]
        xd = x._data
        if f.float_only and xd.dtype.kind != "f":
            xd = xd.astype(float_result(x.dtype).np)
        y = x._new(x._backend.unary(op, xd))
        if ctx.saves == "x":
            ctx.save_for_backward(x)
        elif ctx.saves == "y":
            ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph); the engine otherwise calls _array_backward.
        saved = ctx.saved_tensors if ctx.saves else (None,)
        x, y = (saved[0], None) if ctx.saves == "x" else (None, saved[0])
        return UNARY[ctx.op].grad(math_ns(), grad, x, y)

    def _array_backward(self, grad):
        saves = self.saves
        if not saves:
            return (self._backend.unary_grad(self.op, grad, None, None),)
        (s,) = self.saved_arrays()
        if saves == "y":
            return (self._backend.unary_grad(self.op, grad, None, s),)
        if s.dtype != grad.dtype:
            s = s.astype(grad.dtype)
        return (self._backend.unary_grad(self.op, grad, s, None),)


def _unary_op(op: str, node_name: str):
    cls = type(op.capitalize(), (_Unary,),
               {"op": op, "node_name": node_name, "saves": _UNARY_SAVES.get(op, "")})

    saves = cls.saves

    def fn(input: Tensor) -> Tensor:
        if input.__class__ is not Tensor and not isinstance(input, Tensor):
            raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
        xd = input._data
        if xd.dtype.kind != "f":
            return cls.apply(input)
        # A float input: what apply would do, without its generality (the path of every op).
        backend = input._backend
        y = Tensor._make(backend.unary(op, xd), backend)
        if input._requires_grad and grad_state.enabled:
            record_op(cls, (input,), y, (input,) if saves == "x" else (y,) if saves else ())
        return y

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = f"Elementwise ``{op}`` of ``input``."
    return cls, fn


Neg, neg = _unary_op("neg", "NegBackward0")
Abs, abs = _unary_op("abs", "AbsBackward0")  # noqa: A001
Exp, exp = _unary_op("exp", "ExpBackward0")
Log, log = _unary_op("log", "LogBackward0")
Log1p, log1p = _unary_op("log1p", "Log1PBackward0")
Expm1, expm1 = _unary_op("expm1", "Expm1Backward0")
Sqrt, sqrt = _unary_op("sqrt", "SqrtBackward0")
Rsqrt, rsqrt = _unary_op("rsqrt", "RsqrtBackward0")
Sin, sin = _unary_op("sin", "SinBackward0")
Cos, cos = _unary_op("cos", "CosBackward0")
Tanh, tanh = _unary_op("tanh", "TanhBackward0")
Sigmoid, sigmoid = _unary_op("sigmoid", "SigmoidBackward0")
Relu, relu = _unary_op("relu", "ReluBackward0")
Reciprocal, reciprocal = _unary_op("reciprocal", "ReciprocalBackward0")
Square, square = _unary_op("square", "PowBackward0")
Sign, sign = _unary_op("sign", "SignBackward0")
Floor, floor = _unary_op("floor", "FloorBackward0")
Ceil, ceil = _unary_op("ceil", "CeilBackward0")
Round, round = _unary_op("round", "RoundBackward0")  # noqa: A001
Trunc, trunc = _unary_op("trunc", "TruncBackward0")
Erf, erf = _unary_op("erf", "ErfBackward0")


__all__ = [
    "neg", "negative", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos",
    "tanh", "sigmoid", "relu", "reciprocal", "square", "sign", "floor", "ceil", "round", "trunc",
    "erf",
]
negative = neg


def _pos(self):
    return self


METHODS = {
    "neg": neg, "negative": neg, "abs": abs, "exp": exp, "log": log, "log1p": log1p,
    "expm1": expm1, "sqrt": sqrt, "rsqrt": rsqrt, "sin": sin, "cos": cos, "tanh": tanh,
    "sigmoid": sigmoid, "relu": relu, "reciprocal": reciprocal, "square": square, "sign": sign,
    "floor": floor, "ceil": ceil, "round": round, "trunc": trunc, "erf": erf,
    "__neg__": neg, "__abs__": abs, "__pos__": _pos,
}
