"""Specs of the matrix products: ``matmul`` (and ``@``) with its 1-D and batch-broadcast rules,
``mm``, ``bmm``, ``mv``, ``dot``, ``outer``."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _pairs(*shapes):
    def make(rng):
        return [Sample((randn(rng, *a), randn(rng, *b))) for a, b in shapes]

    return make


_MATMUL = [
    ((3, 4), (4, 5)), ((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
    ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2)), ((0, 4), (4, 3)),
    ((3, 0), (0, 2)),
]

register(
    OpSpec("matmul", lambda m, a, b: m.matmul(a, b), _pairs(*_MATMUL), errors=[
        ErrorCase((np.ones((2, 3)), np.ones((4, 2))), RuntimeError,
                  r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)"),
        ErrorCase((np.ones(3), np.array(2.0)), RuntimeError, "at least 1D"),
    ]),
    OpSpec("matmul_operator", lambda m, a, b: a @ b, _pairs(((3, 4), (4, 2)), ((2, 3), (3,)))),
    OpSpec("mm", lambda m, a, b: m.mm(a, b), _pairs(((3, 4), (4, 5)), ((1, 3), (3, 1)),
                                                   ((0, 2), (2, 3))), errors=[
        ErrorCase((np.ones(3), np.ones((3, 2))), RuntimeError, "^self must be a matrix$"),
        ErrorCase((np.ones((2, 3)), np.ones(3)), RuntimeError, "^mat2 must be a matrix$"),
    ]),
    # PyTorch's spmm multiplies dense matrices as mm does (sparse ones: tests/test_sparse.py)
    OpSpec("spmm", lambda m, a, b: m.spmm(a, b), _pairs(((3, 4), (4, 5)))),
    OpSpec("bmm", lambda m, a, b: m.bmm(a, b), _pairs(((2, 3, 4), (2, 4, 5)),
                                                     ((1, 2, 2), (1, 2, 3))), errors=[
        ErrorCase((np.ones((2, 3, 4)), np.ones((3, 4, 2))), RuntimeError,
                  r"^Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] "
                  r"but got: \[3, 4\]\.$"),
        ErrorCase((np.ones((3, 4)), np.ones((3, 4, 2))), RuntimeError,
                  "^batch1 must be a 3D tensor$"),
    ]),
    OpSpec("mv", lambda m, a, b: m.mv(a, b), _pairs(((3, 4), (4,)), ((1, 2), (2,)))),
    OpSpec("dot", lambda m, a, b: m.dot(a, b), _pairs(((4,), (4,)), ((0,), (0,))), errors=[
        ErrorCase((np.ones((2, 2)), np.ones(2)), RuntimeError, "1D tensors expected"),
    ]),
    OpSpec("outer", lambda m, a, b: m.outer(a, b), _pairs(((3,), (4,)), ((1,), (2,)),
                                                         ((0,), (3,)))),
)
