"""The NumPy backend's ``arg_reduce``: where the reduced axis is the only one longer than 1 it
reads the values at the indices (a cheaper path for rows of a loop run one small tensor at a
time); elsewhere the ufunc reduces. Both are held to the values at the first extremum, which is
what PyTorch's ``max(dim)``/``min(dim)`` return."""

import numpy as np
import pytest
import torch

from gpugrad.backend import get_backend

BACKEND = get_backend("cpu")


def _expected(op, x, axis, keepdim):
    idx = (np.argmax if op == "max" else np.argmin)(x, axis=axis, keepdims=True)
    values = np.take_along_axis(x, idx, axis)
    if not keepdim:
        values, idx = np.squeeze(values, axis), np.squeeze(idx, axis)
    return values, idx


def _arrays():
    rng = np.random.default_rng(0)
    row = rng.standard_normal((1, 5)).astype(np.float32)
    yield "row", row
    yield "column", row.reshape(5, 1)
    yield "1-D", row.reshape(5)
    yield "3-D middle", row.reshape(1, 5, 1)
    yield "strided", rng.standard_normal((3, 10))[1:2, ::2]
    yield "column of a matrix", rng.standard_normal((6, 4))[:, 2:3]
    yield "expanded", np.broadcast_to(np.float64(2.5), (1, 4))
    yield "nan", np.array([[1.0, np.nan, 3.0, np.nan]])
    yield "signed zeros", np.array([[-0.0, 0.0, -0.0]], np.float32)
    yield "ties", np.array([[2.0, 7.0, 7.0, -1.0]])
    yield "int", np.array([[3, -9, 12, 12]], np.int64)
    yield "float16", rng.standard_normal((1, 6)).astype(np.float16)
    yield "matrix (reduces)", rng.standard_normal((4, 5)).astype(np.float32)
    yield "nan matrix (reduces)", np.array([[1.0, np.nan], [np.nan, 0.0], [2.0, 3.0]])


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name,x", list(_arrays()), ids=[n for n, _ in _arrays()])
def test_arg_reduce_reads_the_first_extremum(name, x, op, keepdim):
    for axis in range(x.ndim):
        values, idx = BACKEND.arg_reduce(op, x, axis, keepdim)
        want_values, want_idx = _expected(op, x, axis, keepdim)
        assert idx.dtype == np.int64 and values.dtype == x.dtype
        np.testing.assert_array_equal(np.asarray(idx), want_idx)
        np.testing.assert_array_equal(np.asarray(values), want_values)  # NaNs equal as NaNs
        assert np.asarray(values).shape == want_values.shape
        if name == "signed zeros":  # the element at the index, its sign included, as torch
            t_values = getattr(torch.from_numpy(x.copy()), op)(axis, keepdim).values.numpy()
            np.testing.assert_array_equal(np.signbit(np.asarray(values)), np.signbit(t_values))


def test_values_do_not_alias_the_input():
    x = np.array([[1.0, 4.0, 2.0]])
    values, _ = BACKEND.arg_reduce("max", x, 1, True)
    x[0, 1] = -5.0
    assert values.tolist() == [[4.0]]
