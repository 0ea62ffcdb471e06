"""``Tensor.view(dtype)`` against PyTorch: the bits read as another dtype (same element size,
or the last dim rescaled), PyTorch's errors where the layout does not allow it, memory and
version counter shared, never requiring grad."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

LAYOUTS = {
    "contiguous": lambda x: x,
    "transposed": lambda x: x.t(),
    "column_slice": lambda x: x[:, ::2],
    "row_step": lambda x: x[::3],
    "offset": lambda x: x.reshape(-1)[1:5],
    "offset_even": lambda x: x.reshape(-1)[2:6],
    "scalar": lambda x: x[0, 0],
}
DTYPES = ["float32", "float64", "float16", "bfloat16", "int32", "int16", "uint8", "int64",
          "bool"]


def _outcome(m, source: str, layout: str, target: str):
    if source == "bool":
        x = m.arange(24).reshape(6, 4) % 3 == 0
    else:
        x = m.arange(24, dtype=getattr(m, source)).reshape(6, 4)
    try:
        v = LAYOUTS[layout](x).view(getattr(m, target))
    except RuntimeError as e:
        return "RuntimeError", str(e)
    values = v.float().tolist() if target == "bfloat16" else v.tolist()
    return str(v.dtype).split(".")[1], tuple(v.shape), v.stride(), str(values)


@pytest.mark.parametrize("source", ["float32", "int16", "bool", "float64"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("target", DTYPES)
def test_view_dtype_as_torch(source, layout, target):
    assert _outcome(gpugrad, source, layout, target) == _outcome(torch, source, layout, target)


def test_view_dtype_shares_memory_and_version_and_needs_no_grad():
    for m in (gpugrad, torch):
        x = m.ones(2, 3, requires_grad=True)
        v = x.view(m.int32)
        assert not v.requires_grad and v.grad_fn is None
        y = m.zeros(2, 2)
        bits = y.view(dtype=m.int32)
        before = y._version
        bits[0, 0] = 1065353216  # the bits of 1.0 in float32
        assert y[0, 0].item() == 1.0 and y._version == before + 1
    np.testing.assert_array_equal(
        gpugrad.tensor([1.5, -2.0]).view(gpugrad.int32).numpy(),
        torch.tensor([1.5, -2.0]).view(torch.int32).numpy())


@pytest.mark.parametrize("args", [("a",), ("int32", 2)])
def test_view_refuses_what_is_neither_a_shape_nor_a_dtype(args):
    for m in (gpugrad, torch):
        with pytest.raises(TypeError):
            m.ones(4).view(*[getattr(m, a) if a == "int32" else a for a in args])
