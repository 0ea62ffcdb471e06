"""``segment_reduce`` against PyTorch: every reduce with lengths and offsets, along a middle
axis with trailing dims, with ``initial``, empty segments, ties, zeros in a product, NaN,
``unsafe`` lengths; gradients; and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

REDUCES = ["sum", "mean", "max", "min", "prod"]

DATA = np.array([3.0, 3.0, 1.0, 0.0, 2.0, 0.0, 5.0, -1.5, 2.5])  # ties, zeros
CASES = {
    "lengths": (DATA, {"lengths": [3, 0, 2, 2, 2]}),
    "offsets": (DATA, {"offsets": [0, 3, 3, 5, 9]}),
    "offsets-gaps": (DATA, {"offsets": [1, 4, 4, 7]}),
    "unsafe-short": (DATA, {"lengths": [2, 3], "unsafe": True}),
    "one-segment": (DATA, {"lengths": [9]}),
    "no-segments": (DATA, {"offsets": [0]}),
    "axis-1": (np.arange(24.0).reshape(2, 4, 3) % 5 - 2,
               {"lengths": [[1, 3, 0], [2, 0, 2]], "axis": 1}),
    "axis-0-trailing": (np.arange(20.0).reshape(5, 4) % 7 - 3, {"lengths": [2, 0, 3]}),
    "axis-last": (np.arange(12.0).reshape(3, 4) % 5, {"offsets": [[0, 1, 4], [0, 2, 4],
                                                                  [0, 4, 4]], "axis": -1}),
}


def _run(m, dtype, case, reduce, initial, strided=False):
    data, kwargs = CASES[case]
    x = m.tensor(np.repeat(data, 2, axis=-1) if strided else data, dtype=getattr(m, dtype),
                 requires_grad=True)
    xs = x[..., ::2] if strided else x
    kwargs = {k: m.tensor(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    out = m.segment_reduce(xs, reduce, initial=initial, **kwargs)
    weights = m.arange(out.numel(), dtype=out.dtype).reshape(out.shape) + 1
    (m.nan_to_num(out, posinf=0.0, neginf=0.0) * weights).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("initial", [None, 3.0])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_values_and_gradients_as_torch(dtype, reduce, case, initial):
    (out, grad), (t_out, t_grad) = (_run(m, dtype, case, reduce, initial)
                                    for m in (gpugrad, torch))
    assert out.dtype == t_out.dtype and out.shape == t_out.shape
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(out, t_out, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, t_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("reduce", REDUCES)
def test_non_contiguous_data_as_torch(reduce):
    (out, grad), (t_out, t_grad) = (_run(m, "float64", "axis-1", reduce, None, strided=True)
                                    for m in (gpugrad, torch))
    np.testing.assert_allclose(out, t_out)
    np.testing.assert_allclose(grad, t_grad)


def test_nan_and_half_as_torch():
    for m in (gpugrad, torch):
        x = m.tensor([1.0, float("nan"), 3.0, 4.0], dtype=m.float16)
        out = m.segment_reduce(x, "max", lengths=m.tensor([2, 2], dtype=m.int32))
        assert str(out.dtype).endswith("float16")
        assert str(out.tolist()) == "[nan, 4.0]"


ERRORS = {
    "reduce": lambda m: m.segment_reduce(m.ones(3), "foo", lengths=m.tensor([3])),
    "neither": lambda m: m.segment_reduce(m.ones(3), "sum"),
    "sum": lambda m: m.segment_reduce(m.ones(3), "sum", lengths=m.tensor([1, 1])),
    "negative": lambda m: m.segment_reduce(m.ones(3), "sum", lengths=m.tensor([-1, 4])),
    "negative-unsafe": lambda m: m.segment_reduce(m.ones(3), "sum", lengths=m.tensor([-1, 4]),
                                                  unsafe=True),
    "decreasing-offsets": lambda m: m.segment_reduce(m.ones(3), "sum",
                                                     offsets=m.tensor([2, 1, 3])),
    "float-lengths": lambda m: m.segment_reduce(m.ones(3), "sum", lengths=m.tensor([3.0])),
    "float-offsets": lambda m: m.segment_reduce(m.ones(3), "sum", offsets=m.tensor([0.0, 3.0])),
    "long-data": lambda m: m.segment_reduce(m.ones(3, dtype=m.int64), "sum",
                                            lengths=m.tensor([3])),
    "sum-before-dtype": lambda m: m.segment_reduce(m.ones(3, dtype=m.int64), "sum",
                                                   lengths=m.tensor([2])),
    "axis": lambda m: m.segment_reduce(m.ones(2, 3), "sum", lengths=m.tensor([3]), axis=1),
    "axis-offsets": lambda m: m.segment_reduce(m.ones(2, 3), "sum",
                                               offsets=m.tensor([[0, 3], [0, 3]])),
    "axis-range": lambda m: m.segment_reduce(m.ones(3), "sum", lengths=m.tensor([3]), axis=1),
    "lengths-rank": lambda m: m.segment_reduce(m.ones(3), "sum", lengths=m.tensor([[3]])),
}


def _error(m, name):
    with pytest.raises(Exception) as raised:
        ERRORS[name](m)
    return type(raised.value), str(raised.value)


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torch(name):
    assert _error(gpugrad, name) == _error(torch, name)
