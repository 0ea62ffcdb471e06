"""Specs of the indexed writes: ``scatter_reduce``, ``index_reduce``, ``index_copy``,
``index_fill``, ``index_put``, ``masked_scatter``, ``put`` and their in-place forms (which
write into ``x * 1`` so gradients reach ``x``). Float samples hold distinct values, so amax /
amin have no ties; written positions are distinct where the last write would be arbitrary."""

from __future__ import annotations

import warnings

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

X = np.zeros((3, 4))
I_2x3 = np.zeros((2, 3), dtype=np.int64)

warnings.filterwarnings("ignore", message="index_reduce\\(\\) is in beta")


def _scatter_reduce_samples(rng):
    out = []
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        out += [
            Sample((randn(rng, 4, 5), 0, rng.integers(0, 4, (6, 5)), randn(rng, 6, 5), reduce)),
            Sample((randn(rng, 3, 4), 1, rng.integers(0, 4, (3, 2)), randn(rng, 3, 2), reduce),
                   {"include_self": False}),
        ]
    out += [
        Sample((randn(rng), 0, np.array(0), randn(rng), "amax")),
        Sample((randn(rng, 3), 0, np.zeros(0, np.int64), randn(rng, 0), "sum")),
        Sample((np.array([[1, 5, 2], [4, 0, 3]]), 1, np.array([[0, 0], [2, 2]]),
                np.array([[7, 9], [1, 6]]), "mean")),
    ]
    return out


def _prod_zero_samples(rng):
    x = randn(rng, 4, 3)
    x[1, 0] = 0.0
    src = randn(rng, 5, 3)
    src[0, 1] = src[3, 2] = src[4, 2] = 0.0
    index = np.array([[0, 1, 2], [1, 1, 0], [3, 2, 2], [0, 0, 2], [1, 3, 2]])
    return [
        Sample((x, 0, index, src, "prod"), note="zeros: one and two per slot"),
        Sample((x, 0, index, src, "prod"), {"include_self": False}),
    ]


def _index_reduce_samples(rng):
    out = []
    for reduce in ("prod", "mean", "amax", "amin"):
        out += [
            Sample((randn(rng, 4, 3), 0, np.array([0, 2, 0, 3, 2]), randn(rng, 5, 3), reduce)),
            Sample((randn(rng, 3, 4), 1, np.array([3, 0, 3]), randn(rng, 3, 3), reduce),
                   {"include_self": False}),
        ]
    return out


def _index_copy_samples(rng):
    return [
        Sample((randn(rng, 4, 3), 0, np.array([2, 0, 3]), randn(rng, 3, 3))),
        Sample((randn(rng, 3, 5), -1, np.array([4, 1]), randn(rng, 3, 2))),
        Sample((randn(rng, 2, 3, 4), 1, np.array([1]), randn(rng, 2, 1, 4))),
        Sample((randn(rng), 0, np.array(0), randn(rng))),
        Sample((randn(rng, 3, 2), 0, np.zeros(0, np.int64), randn(rng, 0, 2))),
    ]


def _index_fill_samples(rng):
    return [
        Sample((randn(rng, 4, 3), 0, np.array([2, 0]), 1.5)),
        Sample((randn(rng, 3, 5), 1, np.array([4, 2, 0]), randn(rng))),
        Sample((randn(rng, 3, 5), 1, np.array([-1, 1]), 0.5)),
        Sample((randn(rng, 2, 3, 4), -1, np.array([1]), -2.0)),
        Sample((np.array([[1, 2], [3, 4]]), 1, np.array([0]), 7)),
        Sample((randn(rng, 3, 2), 0, np.zeros(0, np.int64), 1.0)),
    ]


def _index_put_samples(rng):
    return [
        Sample((randn(rng, 4, 3), (np.array([2, 0]),), randn(rng, 2, 3))),
        Sample((randn(rng, 4, 3), (np.array([2, 0, 2]),), randn(rng, 3, 3), True)),
        Sample((randn(rng, 4, 3), (np.array([0, 3]), np.array([1, 2])), randn(rng, 2))),
        Sample((randn(rng, 4, 3), (np.array([[0], [3]]), np.array([1, 2, 0])), randn(rng, 3),
                True), note="broadcast indices and values"),
        Sample((randn(rng, 4, 3), (np.array([True, False, True, False]),), randn(rng, 3))),
        Sample((randn(rng, 4, 3), (np.array([1, 1, 1]),), randn(rng), True)),
        Sample((randn(rng, 4, 3), (np.zeros(0, np.int64),), randn(rng, 0, 3))),
    ]


def _index_put(m, x, indices, values, *args):
    return m.index_put(x, tuple(m.tensor(i) for i in indices), values, *args)



def _index_put_inplace(m, x, indices, values, *args):
    return (x * 1).index_put_(tuple(m.tensor(i) for i in indices), values, *args)


def _masked_scatter_samples(rng):
    x = randn(rng, 3, 4)
    return [
        Sample((x, x > 0, randn(rng, 12))),
        Sample((randn(rng, 3, 4), np.array([True, False, True, True]), randn(rng, 4, 3))),
        Sample((randn(rng, 2, 3), np.ones((2, 3), bool), randn(rng, 2, 3))),
        Sample((randn(rng, 2, 3), np.zeros((2, 3), bool), randn(rng, 2))),
        Sample((randn(rng), np.array(True), randn(rng, 2))),
    ]


def _put_samples(rng):
    return [
        Sample((randn(rng, 3, 4), np.array([0, -1, 7]), randn(rng, 3))),
        Sample((randn(rng, 3, 4), np.array([[0, -1], [7, 0]]), randn(rng, 2, 2), True)),
        Sample((randn(rng, 5), np.array([4, 1]), randn(rng, 2))),
        Sample((randn(rng, 3), np.zeros(0, np.int64), randn(rng, 0))),
    ]


_SCATTER_REDUCE_ERRORS = [
    ErrorCase((X, 0, np.array([[0, 5]]), np.ones((2, 4)), "sum"), RuntimeError,
              "index 5 is out of bounds for dimension 0 with size 3"),
    ErrorCase((X, 0, np.array([[0, 1]]), np.ones((2, 4)), "foo"), RuntimeError,
              "reduce argument must be either sum, prod, mean, amax or amin, got foo"),
    ErrorCase((X, 0, np.array([[0, 1]]), np.ones((2, 4)), "add"), RuntimeError,
              "reduce argument must be either sum, prod, mean, amax or amin, got add"),
    ErrorCase((X, 0, np.array([[0, 1]]), np.ones((2, 4)), None), TypeError,
              "argument 'reduce' .*must be str, not NoneType"),
    ErrorCase((X, 0, np.array([[0, 1]]), np.ones((2, 4), np.float32), "sum"), RuntimeError,
              "Expected self.dtype to be equal to src.dtype"),
]

_INDEX_REDUCE_ERRORS = [
    ErrorCase((X, 0, np.array([0, 5]), np.ones((2, 4)), "prod"), IndexError,
              "index out of range in self"),
    ErrorCase((X, 0, np.array([0, 1]), np.ones((2, 4)), "sum"), RuntimeError,
              "Expected reduce to be one of prod, mean, amax or amin but got sum"),
    ErrorCase((X, 0, np.array([0, 1]), np.ones((2, 4)), "max"), RuntimeError,
              "Expected reduce to be one of prod, mean, amax or amin but got max"),
    ErrorCase((X, 0, np.array([0, 1]), np.ones((3, 4)), "prod"), RuntimeError,
              r"Number of indices \(2\) should be equal to source.size\(dim\): \(3\)"),
]

register(
    OpSpec("scatter_reduce", lambda m, x, d, i, s, r, **k: m.scatter_reduce(x, d, i, s, r, **k),
           _scatter_reduce_samples, errors=_SCATTER_REDUCE_ERRORS),
    OpSpec("scatter_reduce_inplace",
           lambda m, x, d, i, s, r, **k: (x * 1).scatter_reduce_(d, i, s, r, **k),
           _scatter_reduce_samples),
    # Second derivatives with zeros in a product are PyTorch's "unsupported" case.
    OpSpec("scatter_reduce_prod_zeros",
           lambda m, x, d, i, s, r, **k: m.scatter_reduce(x, d, i, s, r, **k), _prod_zero_samples,
           gradgrad=False),
    OpSpec("index_reduce", lambda m, x, d, i, s, r, **k: m.index_reduce(x, d, i, s, r, **k),
           _index_reduce_samples, errors=_INDEX_REDUCE_ERRORS),
    OpSpec("index_reduce_inplace",
           lambda m, x, d, i, s, r, **k: (x * 1).index_reduce_(d, i, s, r, **k),
           _index_reduce_samples),
    OpSpec("index_copy", lambda m, x, d, i, s: m.index_copy(x, d, i, s), _index_copy_samples,
           errors=[
               ErrorCase((X, 0, np.array([0, 5]), np.ones((2, 4))), IndexError,
                         "index_copy_\\(\\): index 5 is out of bounds for dimension 0"),
               ErrorCase((X, 0, np.array([0, 1]), np.ones((3, 4))), IndexError,
                         r"Number of indices \(2\) should be equal to source.size\(dim\) \(3\)"),
               ErrorCase((X, 0, np.array([0, 1]), np.ones((2, 4), np.float32)), RuntimeError,
                         "self and source expected to have the same dtype"),
               ErrorCase((X, 0, np.array([[0, 1]]), np.ones((2, 4))), IndexError,
                         r"Index should have dimension 1 or 0 \(got 2\)"),
               ErrorCase((X, 0, np.array([0.0, 1.0]), np.ones((2, 4))), RuntimeError,
                         "Expected a long tensor for index, but got Double"),
           ]),
    OpSpec("index_copy_inplace", lambda m, x, d, i, s: (x * 1).index_copy_(d, i, s),
           _index_copy_samples),
    OpSpec("index_fill", lambda m, x, d, i, v: m.index_fill(x, d, i, v), _index_fill_samples,
           errors=[
               ErrorCase((X, 0, np.array([0, 5]), 1.0), IndexError,
                         "index 5 is out of bounds for dimension 0 with size 3"),
               ErrorCase((X, 0, np.array([0, 1]), np.ones(2)), RuntimeError,
                         "only supports a 0-dimensional value tensor"),
           ]),
    OpSpec("index_fill_inplace", lambda m, x, d, i, v: (x * 1).index_fill_(d, i, v),
           _index_fill_samples),
    OpSpec("index_put", _index_put, _index_put_samples, errors=[
        ErrorCase((X, (np.array([0, 5]),), np.ones(4)), IndexError,
                  "index 5 is out of bounds for dimension 0 with size 3"),
        ErrorCase((X, (np.array([0, 1]),), np.ones(3)), RuntimeError,
                  r"shape mismatch: value tensor of shape \[3\] cannot be broadcast to "
                  r"indexing result of shape \[2, 4\]"),
        ErrorCase((X, (np.array([0, 1]),), np.ones((2, 4), np.float32)), RuntimeError,
                  "Index put requires the source and destination dtypes match, got Double for "
                  "the destination and Float for the source"),
    ]),
    OpSpec("index_put_inplace", _index_put_inplace, _index_put_samples),
    OpSpec("masked_scatter", lambda m, x, mask, s: m.masked_scatter(x, mask, s),
           _masked_scatter_samples, errors=[
               ErrorCase((X, np.ones((3, 4), bool), np.ones(5)), RuntimeError,
                         "Number of elements of source < number of ones in mask"),
               ErrorCase((X, np.ones((3, 4)), np.ones(12)), RuntimeError,
                         "only supports boolean masks"),
               ErrorCase((X, np.ones((3, 4), bool), np.ones(12, np.float32)), RuntimeError,
                         "expected self and source to have same dtypes"),
               ErrorCase((X, np.ones(5, bool), np.ones(12)), RuntimeError,
                         "must match the size of tensor"),
           ]),
    OpSpec("masked_scatter_inplace", lambda m, x, mask, s: (x * 1).masked_scatter_(mask, s),
           lambda rng: _masked_scatter_samples(rng)[:4]),
    OpSpec("put", lambda m, x, i, s, *a: m.put(x, i, s, *a), _put_samples, errors=[
        ErrorCase((X, np.array([0, 12]), np.ones(2)), IndexError,
                  "out of range: tried to access index 12 on a tensor of 12 elements"),
        ErrorCase((X, np.array([0, -13]), np.ones(2)), IndexError,
                  "tried to access index -13 on a tensor of 12 elements"),
        ErrorCase((X, np.array([0, 1]), np.ones(3)), IndexError,
                  r"source.numel\(\) = 3, index.numel\(\) = 2"),
        ErrorCase((X, np.array([0, 1]), np.ones(2, np.float32)), RuntimeError,
                  "self and source expected to have the same dtype"),
    ]),
    OpSpec("put_inplace", lambda m, x, i, s, *a: (x * 1).put_(i, s, *a), _put_samples),
)

# (tests/autograd/test_node_names.py) Graphs built differently from PyTorch's, same gradients.
STRUCTURE_DIFFERS = {
    **dict.fromkeys(["put", "put_inplace"],
                    "index_put on the flattened input (PyTorch: one PutBackward0)"),
    **dict.fromkeys(["scatter_reduce", "scatter_reduce_inplace",
                     "index_copy", "index_copy_inplace"],
                    "a 0-d input is viewed as 1-D around the op"),
}
