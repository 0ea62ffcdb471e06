"""Specs of sorting (``sort``, ``argsort``, ``topk``), ``one_hot``, the scatter family
(``scatter``, ``scatter_add``, ``index_add``, their in-place methods, ``take_along_dim``),
``fmod`` and ``erf``. The in-place forms write into ``x * 1`` so gradients reach ``x``."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, away_from, randn, register

X = np.ones((2, 3))
I_2x3 = np.zeros((2, 3), dtype=np.int64)
EMPTY = np.zeros(0, dtype=np.int64)


def _sort_samples(rng):
    return [
        Sample((randn(rng, 3, 5),)),
        Sample((randn(rng, 3, 5), 0)),
        Sample((randn(rng, 3, 5),), {"descending": True}),
        Sample((randn(rng, 2, 4, 3), -2, True)),
        Sample((randn(rng),)),
        Sample((randn(rng, 2, 0),)),
        Sample((randn(rng, 0, 3), 1)),
        Sample((np.array([[2, 1, 2, 1, 1], [0, 3, 3, 0, 3]]),), {"stable": True},
               note="ties keep their order"),
        Sample((np.array([2, 1, 2, 1, 1]),), {"stable": True, "descending": True}),
        Sample((np.array([True, False, True]),), {"stable": True}),
    ]


def _topk_samples(rng):
    return [
        Sample((randn(rng, 3, 5), 2)),
        Sample((randn(rng, 3, 5), 3, 0)),
        Sample((randn(rng, 3, 5), 1), {"largest": False}),
        Sample((randn(rng, 2, 4, 3), 4, 1, False, True)),
        Sample((randn(rng, 6), 6)),
        Sample((randn(rng, 3, 5), 0)),
        Sample((randn(rng), 1)),
        Sample((randn(rng, 0, 3), 2)),
        Sample((np.array([[5, 1, 9, 3], [0, -2, 7, 4]]), 2)),
    ]


def _values_indices(out):
    return tuple(out)


register(
    OpSpec("sort", lambda m, x, *a, **k: m.sort(x, *a, **k), _sort_samples,
           outputs=_values_indices, errors=[
               ErrorCase((X, 2), IndexError, "Dimension out of range"),
           ]),
    OpSpec("sort_method", lambda m, x, *a, **k: x.sort(*a, **k), _sort_samples,
           outputs=_values_indices),
    OpSpec("argsort", lambda m, x, *a, **k: m.argsort(x, *a, **k), _sort_samples,
           differentiable=False),
    OpSpec("msort", lambda m, x: m.msort(x), lambda rng: [Sample((randn(rng, 4, 3),)),
                                                          Sample((randn(rng, 5),))]),
    OpSpec("topk", lambda m, x, *a, **k: m.topk(x, *a, **k), _topk_samples,
           outputs=_values_indices, errors=[
               ErrorCase((X, 4), RuntimeError, "selected index k out of range"),
               ErrorCase((X, -1), RuntimeError, "selected index k out of range"),
               ErrorCase((X, 1, 2), IndexError, "Dimension out of range"),
               ErrorCase((np.array([True, False]), 1), RuntimeError,
                         "topk does not support bool"),
           ]),
    OpSpec("topk_method", lambda m, x, *a, **k: x.topk(*a, **k), _topk_samples,
           outputs=_values_indices),
)


def _one_hot_samples(rng):
    return [
        Sample((np.array([0, 2, 1, 2]),)),
        Sample((np.array([[0, 3], [1, 1]]), 5)),
        Sample((np.array(2), 4)),
        Sample((EMPTY, 3)),
        Sample((np.zeros((2, 0), dtype=np.int64), 2)),
    ]


register(
    OpSpec("one_hot", lambda m, t, *a: m.nn.functional.one_hot(t, *a), _one_hot_samples,
           differentiable=False, errors=[
               ErrorCase((np.array([0.0, 1.0]),), RuntimeError,
                         "one_hot is only applicable to index tensor of type LongTensor"),
               ErrorCase((np.array([-1, 1]),), RuntimeError, "Class values must be non-negative"),
               ErrorCase((np.array([3, 1]), 2), RuntimeError,
                         "Class values must be smaller than num_classes"),
               ErrorCase((EMPTY,), RuntimeError,
                         "Can not infer total number of classes from empty tensor"),
           ]),
)


def _scatter_samples(rng):
    """Indices distinct along ``dim`` (PyTorch leaves the winner of a repeat unspecified);
    ``src`` shaped as ``index`` (PyTorch's backward fails for a larger ``src``)."""
    return [
        Sample((randn(rng, 3, 4), 0, np.array([[2, 0, 1, 1], [0, 2, 2, 0]]), randn(rng, 2, 4))),
        Sample((randn(rng, 3, 4), 1, np.array([[3, 0], [1, 2], [0, 3]]), randn(rng, 3, 2))),
        Sample((randn(rng, 3, 4), -1, np.array([[1], [0]]), randn(rng, 2, 1))),
        Sample((randn(rng, 3, 4), 0, np.array([[1, 2]]), 2.5)),
        Sample((randn(rng, 5), 0, np.array([4, 0]), randn(rng, 2))),
        Sample((randn(rng), 0, np.array(0), randn(rng))),
    ]


def _scatter_add_samples(rng):
    return [
        Sample((randn(rng, 3, 4), 0, np.array([[2, 0, 1, 1], [2, 2, 2, 0]]), randn(rng, 2, 4))),
        Sample((randn(rng, 3, 4), 1, np.array([[3, 3], [1, 2], [0, 3]]), randn(rng, 3, 2))),
        Sample((randn(rng, 2, 3, 2), 1, np.array([[[0, 0]], [[2, 2]]]), randn(rng, 2, 1, 2))),
        Sample((randn(rng, 5), 0, np.array([4, 4, 0]), randn(rng, 3))),
        Sample((randn(rng), 0, np.array(0), randn(rng))),
    ]


def _index_add_samples(rng):
    return [
        Sample((randn(rng, 4, 3), 0, np.array([0, 2, 2]), randn(rng, 3, 3))),
        Sample((randn(rng, 4, 3), -1, np.array([1, 0]), randn(rng, 4, 2)), {"alpha": 2.5}),
        Sample((randn(rng, 4, 3), 0, EMPTY, randn(rng, 0, 3))),
        Sample((randn(rng), 0, np.array([0]), randn(rng))),
    ]


def _take_along_dim_samples(rng):
    return [
        Sample((randn(rng, 3, 4), np.array([[0, 3], [1, 1], [2, 0]]), 1)),
        Sample((randn(rng, 3, 4), np.array([[2, 0, 1, 1]]), 0)),
        Sample((randn(rng, 3, 1), np.array([[0, 0], [0, 0], [0, 0]]), 0),
               note="input broadcast along the other dim"),
        Sample((randn(rng, 3, 4), np.array([[1, 3]]), 1), note="index broadcast along dim 0"),
        Sample((randn(rng, 3, 4), np.array([11, 0, 5]))),
        Sample((randn(rng), np.array(0))),
    ]


register(
    OpSpec("scatter", lambda m, x, d, i, s: m.scatter(x, d, i, s), _scatter_samples, errors=[
        ErrorCase((X, 0, I_2x3.astype(np.float64), X), RuntimeError,
                  "Expected dtype int32/int64 for index"),
        ErrorCase((X, 0, I_2x3[0], X), RuntimeError,
                  "Index tensor must have the same number of dimensions as self tensor"),
        ErrorCase((X, 0, np.zeros((2, 4), dtype=np.int64), X), RuntimeError,
                  r"Expected index \[2, 4\] to be no larger than self \[2, 3\] apart from "
                  r"dimension 0 and to be no larger size than src \[2, 3\]"),
        ErrorCase((X, 0, I_2x3 + 5, X), RuntimeError,
                  "index 5 is out of bounds for dimension 0 with size 2"),
        ErrorCase((X, 0, I_2x3 - 1, X), RuntimeError, "index -1 is out of bounds"),
        ErrorCase((X, 0, I_2x3, np.ones(())), RuntimeError,
                  "Index tensor must have the same number of dimensions as src tensor"),
        ErrorCase((X, 0, I_2x3, np.ones((2, 3), dtype=np.int64)), RuntimeError,
                  r"Expected self.dtype to be equal to src.dtype"),
    ]),
    OpSpec("scatter_method", lambda m, x, d, i, s: x.scatter(d, i, s), _scatter_samples),
    OpSpec("scatter_add", lambda m, x, d, i, s: m.scatter_add(x, d, i, s),
           _scatter_add_samples, errors=[
               ErrorCase((X, 0, I_2x3, 2.0), TypeError, "argument 'src'"),
               ErrorCase((X, 0, I_2x3 + 5, X), RuntimeError,
                         "index 5 is out of bounds for dimension 0 with size 2"),
           ]),
    OpSpec("scatter_add_method", lambda m, x, d, i, s: x.scatter_add(d, i, s),
           _scatter_add_samples),
    OpSpec("index_add", lambda m, x, d, i, s, **k: m.index_add(x, d, i, s, **k),
           _index_add_samples, errors=[
               ErrorCase((X, 0, np.array([0.0]), X[:1]), RuntimeError,
                         "Expected dtype int32/int64 for index"),
               ErrorCase((X, 0, np.array([[0]]), X[:1]), IndexError,
                         "Index is supposed to be a vector"),
               ErrorCase((X, 0, np.array([0]), np.ones((1, 4))), RuntimeError,
                         r"source tensor shape must match self tensor shape, excluding the "
                         r"specified dimension. Got self.shape = \[2, 3\] source.shape = \[1, 4\]"),
               ErrorCase((X, 0, np.array([5]), X[:1]), RuntimeError,
                         "index 5 is out of bounds for dimension 0 with size 2"),
               ErrorCase((X, 0, np.array([0, 1]), X[:1]), RuntimeError,
                         r"Number of indices \(2\) should be equal to source.size\(dim\): \(1\)"),
           ]),
    OpSpec("index_add_method", lambda m, x, d, i, s, **k: x.index_add(d, i, s, **k),
           _index_add_samples),
    OpSpec("scatter_inplace", lambda m, x, d, i, s: (x * 1).scatter_(d, i, s),
           _scatter_samples),
    OpSpec("scatter_add_inplace", lambda m, x, d, i, s: (x * 1).scatter_add_(d, i, s),
           _scatter_add_samples),
    OpSpec("index_add_inplace", lambda m, x, d, i, s, **k: (x * 1).index_add_(d, i, s, **k),
           _index_add_samples),
    OpSpec("take_along_dim", lambda m, x, i, *a: m.take_along_dim(x, i, *a),
           _take_along_dim_samples, errors=[
               ErrorCase((X, I_2x3.astype(np.float64), 0), RuntimeError,
                         "dtype of indices should be Long but got"),
               ErrorCase((X, I_2x3[0], 0), RuntimeError,
                         "input and indices should have the same number of dimensions"),
               ErrorCase((X, np.zeros((3, 3), dtype=np.int64), 1), RuntimeError,
                         r"The size of tensor a \(2\) must match the size of tensor b \(3\) at "
                         "non-singleton dimension 0"),
           ]),
)


def _fmod_samples(rng):
    def quotient_safe(a, b):
        """Keep ``a / b`` away from integers, where fmod jumps."""
        q = a / b
        return (np.trunc(q) + away_from(q - np.trunc(q), [0.0, 1.0, -1.0], 0.1)) * b

    b = away_from(randn(rng, 3, 4), [0.0], 0.3)
    a = quotient_safe(randn(rng, 3, 4) * 3, b)
    b_row = away_from(randn(rng, 4), [0.0], 0.3)
    a2 = quotient_safe(randn(rng, 3, 4) * 3, b_row)
    return [
        Sample((a, b)),
        Sample((a2, b_row), note="broadcast divisor"),
        Sample((quotient_safe(randn(rng, 5) * 4, 1.5), 1.5)),
        Sample((quotient_safe(randn(rng, 5) * 4, -2.0), -2.0)),
        Sample((np.array(quotient_safe(np.array(3.7), 1.2)), np.array(1.2))),
        Sample((randn(rng, 0, 2), randn(rng, 2))),
        Sample((np.array([5, -7, 8]), np.array([3, 3, -3]))),
    ]


def _erf_samples(rng):
    return [Sample((randn(rng, 3, 4) * 2,)), Sample((randn(rng, 6, lo=-5.0, hi=5.0),)),
            Sample((randn(rng),)), Sample((randn(rng, 0, 3),))]


register(
    OpSpec("fmod", lambda m, a, b: m.fmod(a, b), _fmod_samples, errors=[
        ErrorCase((np.array([5, 3]), 0), RuntimeError, "ZeroDivisionError"),
    ]),
    OpSpec("fmod_method", lambda m, a, b: a.fmod(b), _fmod_samples),
    OpSpec("erf", lambda m, x: m.erf(x), _erf_samples),
    OpSpec("erf_method", lambda m, x: x.erf(), _erf_samples),
)


def _triangle_samples(rng):
    return [Sample((randn(rng, 4, 5),)), Sample((randn(rng, 2, 3, 4),), {"diagonal": 1}),
            Sample((randn(rng, 5, 3),), {"diagonal": -2}), Sample((randn(rng, 0, 3),)),
            Sample((randn(rng, 3, 3),), {"diagonal": 7})]


_TRIANGLE_ERRORS = [ErrorCase((np.ones(3),), RuntimeError, "at least 2 dimensions")]
register(
    OpSpec("tril", lambda m, x, **kw: m.tril(x, **kw), _triangle_samples,
           errors=_TRIANGLE_ERRORS),
    OpSpec("triu", lambda m, x, **kw: m.triu(x, **kw), _triangle_samples,
           errors=_TRIANGLE_ERRORS),
    OpSpec("triu_method", lambda m, x, **kw: x.triu(**kw), _triangle_samples),
)
