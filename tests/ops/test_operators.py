"""Tensor operators given an operand of a type they do not take: as PyTorch's, they return
NotImplemented, so Python asks the other operand (its reflected method) or raises its own
TypeError, and ``t == None`` is False. The function forms (``add``...) still raise. NumPy
arrays are answered as PyTorch's operators answer them."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch

import gpugrad

_BINARY = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "eq", "ne",
           "lt", "le", "gt", "ge", "and_", "or_", "xor", "lshift", "rshift"]
_INPLACE = ["iadd", "isub", "imul", "itruediv", "ifloordiv", "ipow", "iand", "ior", "ixor",
            "ilshift", "irshift"]


class Operand:
    """A user type that answers every operator with the operator's name."""

    def _answer(name):
        return lambda self, other: name

    for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and",
                  "or", "xor", "lshift", "rshift"):
        locals()[f"__r{_name}__"] = _answer(f"r{_name}")
    for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
        locals()[f"__{_name}__"] = _answer(_name)
    del _name, _answer
    __hash__ = object.__hash__


def _outcome(op, a, b):
    try:
        result = op(a, b)
    except TypeError as e:
        return "TypeError", str(e)
    return result if isinstance(result, (str, bool)) else type(result).__name__


@pytest.mark.parametrize("name", _BINARY)
def test_binary_operators_hand_foreign_operands_back(name):
    op = getattr(operator, name)
    outcomes = []
    for m in (gpugrad, torch):
        t = m.ones(2, dtype=m.long)
        outcomes.append([_outcome(op, t, b) for b in (Operand(), "a", [1, 2], None)])
        # (PyTorch's ``obj / t`` is ``t.reciprocal() * obj``, which asks ``obj.__rmul__``)
        if name != "truediv":
            outcomes[-1].append(_outcome(op, Operand(), t))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("name", _INPLACE)
def test_inplace_operators_fall_back_to_the_reflected_operator(name):
    op = getattr(operator, name)
    outcomes = []
    for m in (gpugrad, torch):
        outcomes.append([_outcome(op, m.ones(2, dtype=m.long), b) for b in (Operand(), "a")])
    assert outcomes[0] == outcomes[1]


def test_equality_with_none_and_strings_is_false():
    t = gpugrad.ones(2)
    assert (t == None) is False and (t != None) is True  # noqa: E711
    assert (None == t) is False and (t == "a") is False  # noqa: E711


def test_function_forms_and_numbers_are_unchanged():
    t = gpugrad.ones(2)
    for fn in (gpugrad.add, gpugrad.mul, gpugrad.eq, gpugrad.matmul):
        with pytest.raises(TypeError):
            fn(t, Operand())
    assert (t + np.float32(2)).tolist() == [3.0, 3.0] and (2 - t).tolist() == [1.0, 1.0]
    for fn in (gpugrad.add, gpugrad.mul, gpugrad.eq, gpugrad.matmul):
        with pytest.raises(TypeError, match="ndarray"):
            fn(t, np.ones(2))


def _array_outcome(op, make_tensor, array):
    """What ``op(tensor, array)`` gives: the result's type, dtype and values, or the error's
    type; and, for an in-place operator, whether the tensor itself changed."""
    t = make_tensor()
    try:
        with np.errstate(all="ignore"):
            result = op(t, array)
    except Exception as e:  # noqa: BLE001 (NumPy's errors too: the type is compared)
        return type(e).__name__
    if isinstance(result, bool):
        return result
    changed = t.tolist() != make_tensor().tolist()
    return type(result).__name__, str(result.dtype).split(".")[-1], str(result.tolist()), changed


_ARRAYS = {
    "float64": lambda: np.array([1.5, 2.0]), "float32": lambda: np.array([3.0, 0.5], "f4"),
    "int32": lambda: np.array([2, 3], "i4"), "bool": lambda: np.array([True, False]),
    "0-d": lambda: np.array(2.0), "2x2": lambda: np.ones((2, 2)),
    "mismatched": lambda: np.ones(3), "object": lambda: np.array([1, None], dtype=object),
}


@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context")  # (PyTorch's)
@pytest.mark.parametrize("name", _BINARY + _INPLACE)
@pytest.mark.parametrize("kind", ["float32", "int64", "bool", "requires_grad"])
def test_numpy_array_operands_as_pytorch(name, kind):
    """A NumPy array operand: ``==`` compares it as a tensor; the other operators hand it to
    NumPy, which computes on the tensor's array with NumPy's promotion and wraps the result as
    a CPU tensor (bools as uint8), so in-place forms rebind instead of writing, and a tensor
    that requires grad is refused (its ``numpy()`` error)."""
    op = getattr(operator, name)
    outcomes = []
    for m in (gpugrad, torch):
        dtype = {"float32": m.float32, "int64": m.int64, "bool": m.bool}.get(kind, m.float32)
        values = [1, 0] if kind == "bool" else [2, 3]

        def make(m=m, dtype=dtype, values=values):
            return m.tensor(values, dtype=dtype, requires_grad=kind == "requires_grad")

        outcomes.append({a: _array_outcome(op, make, arr()) for a, arr in _ARRAYS.items()})
    assert outcomes[0] == outcomes[1]
