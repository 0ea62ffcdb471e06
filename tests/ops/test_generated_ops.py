"""The ops generated from the formula tables: one entry makes the whole op."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.backend.formulas import UNARY
from gpugrad.ops import elementwise


def test_every_unary_formula_is_an_op():
    x = gpugrad.tensor(np.linspace(0.1, 0.9, 6), requires_grad=True)
    for op, f in UNARY.items():
        y = elementwise.FUNCTIONS[op](x)
        assert y.grad_fn.name() == (f.node or f"{op.capitalize()}Backward0"), op
        assert type(y.grad_fn)._forward_cls is elementwise.CLASSES[op]  # its node class
        public = [hasattr(gpugrad, op), hasattr(gpugrad.Tensor, op),
                  hasattr(gpugrad.Tensor, op + "_")]
        assert public == [f.public] * 3, op


def test_in_place_form_of_a_generated_op():
    x = gpugrad.tensor([0.5, 1.5])
    assert x.erf_() is x
    np.testing.assert_allclose(x.numpy(), [0.5204998778130465, 0.9661051464753108], rtol=1e-6)


def _on_bools(m, op: str):
    """``op`` of a bool tensor (the function, the in-place method): dtypes and values, or the
    error's type and message."""
    found = []
    for call in (lambda x: getattr(m, op)(x), lambda x: getattr(x, op + "_")()):
        try:
            out = call(m.tensor([True, False]))
            values = np.round(out.double().tolist(), 5) + 0.0  # (float32: a few ulps; -0.0)
            found.append((str(out.dtype).split(".")[1], repr(values)))
        except Exception as error:  # noqa: BLE001 - the error is what is compared
            found.append((type(error).__name__, str(error)))
    return found


@pytest.mark.parametrize("op", [op for op, f in UNARY.items() if f.public])
def test_unary_ops_on_bool_tensors_as_torch(op):
    """Refused by name (neg, relu, abs, floor...), kept (sign), promoted (square: int64; the
    floating-point ops: float32), as PyTorch does."""
    assert _on_bools(gpugrad, op) == _on_bools(torch, op)
