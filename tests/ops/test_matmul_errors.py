"""``matmul``'s errors for shapes that do not fit, worded by the path PyTorch's matmul takes
for their numbers of dims (dot, mv, mm, a batched left operand folded into one matrix, bmm),
and the broadcasting error of batch dims."""

from __future__ import annotations

import pytest
import torch

import gpugrad

SHAPES = [((3,), (2,)), ((2, 3), (2,)), ((3,), (2, 4)), ((2, 3), (2, 4)), ((4, 5, 3), (2, 3)),
          ((4, 5, 3), (2,)), ((2, 6, 4, 5, 3), (2, 6, 4, 1, 3)), ((4, 5, 3), (4, 2, 3)),
          ((5, 3), (4, 2, 3)), ((3,), (4, 2, 3)), ((2, 1, 5, 3), (1, 4, 2, 3)),
          ((2, 5, 3), (4, 2, 3)), ((2, 5, 3), (4, 3, 2)), ((0, 5, 3), (0, 2, 3)),
          ((3, 2, 5, 3), (2, 1, 3, 4))]


@pytest.mark.parametrize("a, b", SHAPES)
def test_matmul_shape_errors_as_torch(a, b):
    messages = []
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError) as caught:
            m.matmul(m.ones(a), m.ones(b))
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
