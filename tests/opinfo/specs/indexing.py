"""Specs of indexing: ``x[key]`` (basic and advanced, NumPy and PyTorch's rules), ``x[key] = v``
(out-of-place wrappers, so values and gradients are compared with PyTorch), ``index_select``,
``gather``, ``take``, ``masked_fill``, ``masked_select``, ``nonzero``."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

X = np.ones((2, 3))
S = slice(None)

# (shape, key): keys hold Python objects only (index arrays go in as tensors, below).
GETITEM = [
    ((3, 4), 1), ((3, 4), -1), ((3, 4), (slice(1, 3),)), ((3, 4), (S, slice(None, None, 2))),
    ((3, 4), (None, 1)), ((3, 4), (Ellipsis, 0)), ((3, 4), (1, Ellipsis, None)),
    ((3, 4), [0, 2, 0]), ((3, 4), (S, [1, 1, 3])), ((3, 4), ([0, 1], [2, 2])),
    ((3, 4), True), ((3, 4), (False,)), ((3, 4), ()),
    ((3, 4), (np.int64(2), slice(-3, None))), ((3, 4), (slice(5, 9),)),
    ((3, 4, 5), (0, S, [1, 2])), ((3, 4, 5), ([0, 1], S, [1, 2])),
    ((3, 4, 5), (S, 1, [0, 0, 2])), ((3, 4, 5), (Ellipsis, [1, 3])),
    ((3, 4, 5), (None, [0, 2], None, 0)), ((3, 4, 5), (1, 2, 3)),
    ((), ()), ((), None), ((), Ellipsis), ((), (True,)),
    ((2, 0, 3), 1), ((2, 0, 3), (S, S, [0, 2])), ((2, 3), ([],)),
]


def _getitem_samples(rng):
    return [Sample((randn(rng, *shape), key)) for shape, key in GETITEM]


def _tensor_index_samples(rng):
    """Index tensors (int and bool), including repeated indices, whose gradients add up."""
    return [
        Sample((randn(rng, 5, 3), np.array([[0, 4], [4, 4]]))),
        Sample((randn(rng, 5, 3), np.array([-1, 0, -1]))),
        Sample((randn(rng, 5, 3), np.array(2))),
        Sample((randn(rng, 5, 3), np.array([True, False, True, True, False]))),
        Sample((randn(rng, 5, 3), randn(rng, 5, 3) > 0)),
        Sample((randn(rng, 0, 3), np.zeros(0, dtype=np.int64))),
        Sample((randn(rng), np.array(True))),
    ]


def _two_index_samples(rng):
    return [Sample((randn(rng, 4, 5, 2), np.array([0, 3, 3]), np.array([[1], [0]])))]


register(
    OpSpec("getitem", lambda m, x, key: x[key], _getitem_samples, errors=[
        ErrorCase((X, 5), IndexError, "index 5 is out of bounds for dimension 0 with size 2"),
        ErrorCase((X, (S, 7)), IndexError, "index 7 is out of bounds for dimension 1 with size 3"),
        ErrorCase((X, (S, -4)), IndexError, "index -4 is out of bounds for dimension 1"),
        ErrorCase((X, [0, 5]), IndexError, "index 5 is out of bounds for dimension 0 with size 2"),
        ErrorCase((X, slice(None, None, -1)), ValueError, "step must be greater than zero"),
        ErrorCase((X, 1.0), IndexError, r"only integers, slices \(`:`\), ellipsis"),
        ErrorCase((X, (0, 0, 0)), IndexError, "too many indices for tensor of dimension 2"),
        ErrorCase((X, (Ellipsis, Ellipsis)), IndexError, "single ellipsis"),
        ErrorCase((np.ones(()), 0), IndexError, "invalid index of a 0-dim tensor"),
    ]),
    OpSpec("getitem_tensor", lambda m, x, i: x[i], _tensor_index_samples, errors=[
        ErrorCase((X, np.array([1.0])), IndexError, "tensors used as indices must be long"),
        ErrorCase((X, (S, np.array([True, False]))), IndexError,
                  r"The shape of the mask \[2\] at index 0 does not match the shape of the "
                  r"indexed tensor \[2, 3\] at index 1"),
        ErrorCase((X, np.array([0, 2])), IndexError, "index 2 is out of bounds for dimension 0"),
    ]),
    OpSpec("getitem_tensors_mixed", lambda m, x, i, j: x[i, 1:, j], _two_index_samples),
)


def _setitem(m, x, value, key):
    y = x * 1
    y[key] = value
    return y


def _setitem_through_view(m, x, value, key):
    y = x * 1
    y.t()[key] = value
    return y


def _setitem_samples(rng):
    return [
        Sample((randn(rng, 3, 4), randn(rng, 4), 1)),
        Sample((randn(rng, 3, 4), 2.5, (S, [0, 2]))),
        Sample((randn(rng, 3, 4), randn(rng, 2, 4), ([0, 2],))),
        Sample((randn(rng, 3, 4, 5), randn(rng, 4, 2), (0, S, [1, 2]))),
        Sample((randn(rng, 3, 4), randn(rng, 1, 4), 1), note="leading 1-dims are dropped"),
        Sample((randn(rng, 3, 4), randn(rng, 3, 1), Ellipsis)),
        Sample((randn(rng), randn(rng), ())),
        Sample((randn(rng, 2, 0), randn(rng, 0), 1)),
        Sample((randn(rng, 3, 4), randn(rng), (slice(0, 2), slice(1, None, 2)))),
    ]


def _setitem_view_samples(rng):
    return [Sample((randn(rng, 3, 4), randn(rng, 3), 1)),
            Sample((randn(rng, 3, 4), randn(rng, 2, 3), ([3, 0],))),
            Sample((randn(rng, 3, 4), randn(rng), (slice(1, 3), 2)))]


def _setitem_mask_samples(rng):
    x = randn(rng, 3, 4)
    return [Sample((x, x > 0, randn(rng))),
            Sample((x, np.array([True, False, True]), randn(rng, 4)))]


register(
    OpSpec("setitem", _setitem, _setitem_samples, errors=[
        ErrorCase((np.ones((3, 4)), np.ones(3), S), RuntimeError,
                  r"The expanded size of the tensor \(4\) must match the existing size \(3\) at "
                  r"non-singleton dimension 1"),
        ErrorCase((np.ones((3, 4)), np.ones(3), ([0, 1],)), RuntimeError,
                  r"shape mismatch: value tensor of shape \[3\] cannot be broadcast to indexing "
                  r"result of shape \[2, 4\]"),
        ErrorCase((np.ones((3, 4)), np.ones((2, 4)), 1), RuntimeError,
                  "the number of sizes provided"),
        ErrorCase((np.ones((3, 4)), 1.0, 3), IndexError, "out of bounds"),
    ]),
    OpSpec("setitem_through_view", _setitem_through_view, _setitem_view_samples),
    OpSpec("setitem_mask", lambda m, x, mask, v: _setitem(m, x, v, mask), _setitem_mask_samples),
)


def _index_select_samples(rng):
    return [
        Sample((randn(rng, 4, 3), 0, np.array([0, 2, 2, 1]))),
        Sample((randn(rng, 4, 3), -1, np.array([2, 0]))),
        Sample((randn(rng, 4, 3), 1, np.zeros(0, dtype=np.int64))),
        Sample((randn(rng, 4, 3), 0, np.array(3))),
        Sample((randn(rng), 0, np.array([0]))),
    ]


def _gather_samples(rng):
    return [
        Sample((randn(rng, 4, 3), 1, np.array([[0, 2], [1, 1], [2, 2], [0, 0]]))),
        Sample((randn(rng, 4, 3), 0, np.array([[3, 3, 0], [1, 0, 3]]))),
        Sample((randn(rng, 4, 3), -1, np.array([[2], [2]]))),
        Sample((randn(rng, 5), 0, np.array([4, 4, 0]))),
        Sample((randn(rng), 0, np.array(0))),
        Sample((randn(rng, 2, 3), 1, np.zeros((2, 0), dtype=np.int64))),
    ]


def _take_samples(rng):
    return [Sample((randn(rng, 3, 4), np.array([[0, 11], [-1, 5], [5, 5]]))),
            Sample((randn(rng), np.array([0, 0])))]


I_2x3 = np.zeros((2, 3), dtype=np.int64)

register(
    OpSpec("index_select", lambda m, x, d, i: m.index_select(x, d, i), _index_select_samples,
           errors=[
               ErrorCase((X, 0, np.array([0.0])), RuntimeError, "Expected dtype int32 or int64"),
               ErrorCase((X, 0, np.zeros((1, 1), dtype=np.int64)), IndexError,
                         "Index is supposed to be a vector"),
               ErrorCase((X, 0, np.array([5])), IndexError, "index out of range in self"),
               ErrorCase((X, 0, np.array([-1])), IndexError, "index out of range in self"),
           ]),
    OpSpec("gather", lambda m, x, d, i: m.gather(x, d, i), _gather_samples, errors=[
        ErrorCase((X, 0, I_2x3[0]), RuntimeError, "Index tensor must have the same number"),
        ErrorCase((X, 0, np.zeros((2, 4), dtype=np.int64)), RuntimeError,
                  r"Size does not match at dimension 1 expected index \[2, 4\] to be no larger "
                  r"than self \[2, 3\] apart from dimension 0"),
        ErrorCase((X, 0, I_2x3 + 5), RuntimeError,
                  "index 5 is out of bounds for dimension 0 with size 2"),
        ErrorCase((X, 0, I_2x3 - 1), RuntimeError, "index -1 is out of bounds for dimension 0"),
    ]),
    OpSpec("take", lambda m, x, i: m.take(x, i), _take_samples, errors=[
        ErrorCase((X, np.array([6])), IndexError, "out of range"),
    ]),
)


def _masked_fill_samples(rng):
    x = randn(rng, 3, 4)
    return [
        Sample((x, x > 0, -1.5)),
        Sample((x, np.array([True, False, False, True]), 0.0)),
        Sample((x, x > 0, randn(rng)), note="a 0-d value tensor gets the masked gradient"),
        Sample((randn(rng), np.array(True), 2.0)),
        Sample((randn(rng, 0, 2), np.zeros((0, 2), dtype=bool), 1.0)),
    ]


def _masked_select_samples(rng):
    x = randn(rng, 3, 4)
    return [Sample((x, x > 0)), Sample((x, np.array([True, False, False, True]))),
            Sample((randn(rng, 4), randn(rng, 3, 4) > 0))]


def _nonzero_samples(rng):
    return [Sample((np.round(randn(rng, 3, 4)),)), Sample((np.array(2.0),)),
            Sample((np.array(0.0),)), Sample((np.zeros((2, 0)),))]


register(
    OpSpec("masked_fill", lambda m, x, mask, v: m.masked_fill(x, mask, v), _masked_fill_samples,
           errors=[
               ErrorCase((X, np.zeros((2, 3), dtype=np.int64), 1.0), RuntimeError,
                         "only supports boolean masks"),
               ErrorCase((X, X > 0, np.ones(2)), RuntimeError,
                         "only supports a 0-dimensional value tensor"),
           ]),
    OpSpec("masked_select", lambda m, x, mask: m.masked_select(x, mask), _masked_select_samples),
    OpSpec("nonzero", lambda m, x: m.nonzero(x), _nonzero_samples, differentiable=False),
    OpSpec("nonzero_as_tuple", lambda m, x: m.nonzero(x, as_tuple=True), _nonzero_samples,
           differentiable=False),
)
