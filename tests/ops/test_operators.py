"""Tensor operators given an operand of a type they do not take: as PyTorch's, they return
NotImplemented, so Python asks the other operand (its reflected method) or raises its own
TypeError, and ``t == None`` is False. The function forms (``add``...) still raise."""

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
    # A NumPy array is not handed back (NumPy would answer with an array): it raises.
    with pytest.raises(TypeError, match="ndarray"):
        t + np.ones(2)
