"""``mv``'s errors (PyTorch raises ``addmv``'s: the result's rank and dtype come first) against
PyTorch: ranks, sizes, dtypes (the promoted result's named first), bool, non-tensors."""

from __future__ import annotations

import pytest
import torch

import gpugrad

CASES = {
    "vec-size": lambda m: m.mv(m.ones(2, 3), m.ones(4)),
    "vec-size-method": lambda m: m.ones(2, 3).mv(m.ones(2)),
    "empty-vec": lambda m: m.mv(m.ones(2, 3), m.ones(0)),
    "1d-mat": lambda m: m.mv(m.ones(3), m.ones(3)),
    "2d-vec": lambda m: m.mv(m.ones(2, 3), m.ones(3, 1)),
    "3d-mat": lambda m: m.mv(m.ones(2, 3, 4), m.ones(3)),
    "0d-vec": lambda m: m.mv(m.ones(2, 3), m.tensor(1.0)),
    "rank-before-dtype": lambda m: m.mv(m.ones(3), m.ones(3, dtype=m.float64)),
    "size-before-dtype": lambda m: m.mv(m.ones(2, 3), m.ones(4, dtype=m.float64)),
    "float-double": lambda m: m.mv(m.ones(2, 3), m.ones(3, dtype=m.float64)),
    "long-float": lambda m: m.mv(m.ones(2, 3, dtype=m.int64), m.ones(3)),
    "bool-float": lambda m: m.mv(m.ones(2, 3, dtype=m.bool), m.ones(3)),
    "bool": lambda m: m.mv(m.ones(2, 3, dtype=m.bool), m.ones(3, dtype=m.bool)),
    "vec-not-tensor": lambda m: m.mv(m.ones(2, 3), 3),
}


def _error(m, name):
    with pytest.raises(Exception) as raised:
        CASES[name](m)
    return type(raised.value), str(raised.value).replace("position 2", "").replace(
        "position 1", "").replace(" ()", "")  # PyTorch's binding adds the argument's position


@pytest.mark.parametrize("name", CASES)
def test_mv_errors_as_torch(name):
    assert _error(gpugrad, name) == _error(torch, name)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32"])
def test_mv_of_empty_and_integer_operands_as_torch(dtype):
    for rows, cols in [(2, 3), (0, 3), (2, 0)]:
        a = [[float(i * cols + j) for j in range(cols)] for i in range(rows)]
        v = [float(j + 1) for j in range(cols)]
        out = [(m.mv(m.tensor(a, dtype=getattr(m, dtype)).reshape(rows, cols),
                     m.tensor(v, dtype=getattr(m, dtype)))) for m in (gpugrad, torch)]
        assert out[0].tolist() == out[1].tolist()
        assert str(out[0].dtype).split(".")[-1] == str(out[1].dtype).split(".")[-1]
