"""Specs of the shape ops: views (reshape, view, expand, permute, squeeze...), joins and splits
(cat, stack, split, chunk...) and the copying ones (repeat, tile, flip)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _shaped(*cases):
    """Samples ``(x, *extra)`` from ``(shape, *extra)``: one random array per case."""
    def make(rng):
        return [Sample((randn(rng, *shape),) + tuple(extra)) for shape, *extra in cases]

    return make


def method(name, cases, errors=(), **kw):
    """A spec for ``x.name(*extra)`` (the Tensor method; PyTorch spells it the same)."""
    return OpSpec(name, lambda m, x, *a, _n=name: getattr(x, _n)(*a), _shaped(*cases),
                  errors=list(errors), **kw)


def function(name, cases, errors=(), **kw):
    """A spec for ``m.name(x, *extra)``."""
    return OpSpec(name, lambda m, x, *a, _n=name: getattr(m, _n)(x, *a), _shaped(*cases),
                  errors=list(errors), **kw)


X = np.ones((2, 3))
X3 = np.ones((2, 3, 4))

register(
    method("reshape", [((3, 4), (2, 6)), ((3, 4), (-1,)), ((), (1, 1)), ((2, 0, 3), (-1, 3)),
                       ((2, 3, 4), (4, -1, 2)), ((1,), ())],
           [ErrorCase((X, (4, 2)), RuntimeError, r"shape '\[4, 2\]' is invalid for input of size"),
            ErrorCase((X, (-1, -1)), RuntimeError, "only one dimension can be inferred"),
            ErrorCase((np.ones((2, 0)), (0, -1)), RuntimeError, "-1 can be any value")]),
    # Samples the strided layout (a non-contiguous last dim) can also view without a copy.
    method("view", [((3, 4), (3, 2, 2)), ((2, 3, 4), (6, 4)), ((), (1,)), ((2, 0), (0, 5)),
                    ((2, 3, 4), (2, 3, 2, 2))],
           [ErrorCase((X, (5,)), RuntimeError, "invalid for input of size 6")]),
    method("flatten", [((2, 3, 4),), ((2, 3, 4), 1), ((2, 3, 4), 0, 1), ((), 0, -1),
                       ((2, 0, 3), -2), ((2, 3, 4), -2, -1)],
           [ErrorCase((X3, 2, 1), RuntimeError, "start_dim cannot come after end_dim"),
            ErrorCase((X3, 3), IndexError, "Dimension out of range")]),
    method("ravel", [((2, 3, 4),), ((),), ((0, 3),)]),
    method("unflatten", [((6, 4), 0, (2, 3)), ((2, 12), -1, (3, -1, 2)), ((2, 0), 1, (0, 5)),
                         ((4,), 0, (4, 1))],
           [ErrorCase((np.ones((5, 2)), 0, (2, 2)), RuntimeError,
                      r"Provided sizes \[2, 2\] don't multiply up to the size of dim 0 \(5\)"),
            ErrorCase((np.ones((4, 2)), 0, ()), RuntimeError, "sizes must be non-empty")]),
    method("squeeze", [((1, 3, 1, 2),), ((1, 3, 1, 2), 2), ((1, 3, 1, 2), -4), ((1, 3, 1), (0, 2)),
                       ((3, 2), 0), ((),), ((), 0), ((1, 0, 1),)],
           [ErrorCase((X, 2), IndexError, r"expected to be in range of \[-2, 1\], but got 2")]),
    method("unsqueeze", [((3, 2), 0), ((3, 2), 2), ((3, 2), -1), ((), 0), ((2, 0), 1)],
           [ErrorCase((X, 3), IndexError, r"expected to be in range of \[-3, 2\], but got 3")]),
    method("expand", [((3, 1), (3, 4)), ((4,), (2, 3, 4)), ((1, 1), (-1, 5)), ((), (2, 3)),
                      ((1, 0), (3, 0))],
           [ErrorCase((X, (2, 4)), RuntimeError, r"expanded size of the tensor \(4\) must match")]),
    OpSpec("expand_as", lambda m, x, y: x.expand_as(y),
           lambda rng: [Sample((randn(rng, 3, 1), randn(rng, 2, 3, 4)), grad_args=(0,))]),
    function("broadcast_to", [((3, 1), (2, 3, 5)), ((), (4,))]),
    method("permute", [((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (-1, 0, 1)), ((), ()), ((0, 2), (1, 0))],
           [ErrorCase((X3, (0, 0, 1)), RuntimeError, "duplicate dims"),
            ErrorCase((X3, (0, 1)), RuntimeError, "does not match")]),
    function("transpose", [((2, 3, 4), 0, 2), ((2, 3), -1, -2), ((3,), 0, 0), ((), 0, -1)]),
    function("swapaxes", [((2, 3, 4), 0, 1)]),
    function("t", [((2, 3),), ((4,),), ((),)],
             [ErrorCase((X3,), RuntimeError, "expects a tensor with <= 2 dimensions")]),
    OpSpec("T", lambda m, x: x.T, _shaped(((2, 3),), ((3, 0),))),
    OpSpec("mT", lambda m, x: x.mT, _shaped(((2, 3),), ((2, 3, 4),)),
           errors=[ErrorCase((np.ones(3),), RuntimeError, "only supported on matrices")]),
    # The conjugate transposes: the transpose, for real tensors.
    OpSpec("H", lambda m, x: x.H, _shaped(((2, 3),), ((3, 0),)),
           errors=[ErrorCase((np.ones(3),), RuntimeError, r"matrices \(2-D tensors\). Got 1-D"),
                   ErrorCase((np.ones((2, 2, 2)),), RuntimeError, "consider using tensor.mH")]),
    OpSpec("mH", lambda m, x: x.mH, _shaped(((2, 3),), ((2, 3, 4),)),
           errors=[ErrorCase((np.ones(3),), RuntimeError, "tensor.mH is only supported")]),
    function("adjoint", [((2, 3),), ((2, 3, 4),)],
             [ErrorCase((np.ones(3),), RuntimeError, r"tensor.adjoint\(\) is only supported")]),
    OpSpec("Tensor.adjoint", lambda m, x: x.adjoint(), _shaped(((4, 2, 3),))),
    function("movedim", [((2, 3, 4), 0, 2), ((2, 3, 4), (0, 1), (2, 0)), ((2, 3, 4), -1, 0)],
             [ErrorCase((X3, (0, 1), (0,)), RuntimeError, "same number of dims"),
              ErrorCase((X3, (0, 0), (0, 1)), RuntimeError, r"repeated dim in `source`")]),
    function("flip", [((2, 3, 4), (0, 2)), ((2, 3), (-1,)), ((3,), (0,)), ((0, 2), (0,)), ((), ())],
             [ErrorCase((X, (0, 0)), RuntimeError, "dim 0 appears multiple times")]),
    function("fliplr", [((2, 3),)]),
    function("flipud", [((2, 3),)]),
    method("repeat", [((2, 3), (2, 1)), ((3,), (2, 2, 3)), ((), (4,)), ((2, 3), (0, 2)),
                      ((2, 1, 3), (1, 3, 1))],
           [ErrorCase((X, (2,)), RuntimeError, "can not be smaller than number of dimensions"),
            ErrorCase((X, (2, -1)), RuntimeError, "negative dimension")]),
    function("tile", [((2, 3), (2,)), ((3,), (2, 2))]),
    method("narrow", [((5, 3), 0, 1, 3), ((5, 3), -1, -2, 2), ((5, 3), 1, 3, 0)],
           [ErrorCase((np.ones(5), 0, 6, 1), IndexError, r"start out of range"),
            ErrorCase((np.ones(5), 0, 2, 4), RuntimeError, r"start \(2\) \+ length \(4\) exceeds"),
            ErrorCase((np.ones(()), 0, 0, 1), RuntimeError, "0-dim")]),
    method("select", [((4, 3), 0, 2), ((4, 3), 1, -1), ((4,), 0, 0)],
           [ErrorCase((X, 0, 2), IndexError, "out of range")]),
)


def _split_samples(rng):
    x = randn(rng, 5, 4)
    return [Sample((x, 2)), Sample((x, 2, 1)), Sample((x, [1, 4])), Sample((x, [1, 0, 3], 1)),
            Sample((x, 5)), Sample((randn(rng, 0, 3), 0)), Sample((x, 3, -1))]


def _chunk_samples(rng):
    return [Sample((randn(rng, 5, 4), 2)), Sample((randn(rng, 6, 4), 4)),
            Sample((randn(rng, 5, 4), 3, -1)), Sample((randn(rng, 0, 2), 3))]


def _unbind_samples(rng):
    return [Sample((randn(rng, 3, 4),)), Sample((randn(rng, 3, 4), 1)),
            Sample((randn(rng, 2, 0),))]


register(
    OpSpec("split", lambda m, x, *a: m.split(x, *a), _split_samples, errors=[
        ErrorCase((np.ones(5), [2, 2]), RuntimeError, "expects split_sizes to sum exactly to 5"),
        ErrorCase((np.ones(5), 0), RuntimeError, "split_size can only be 0"),
        ErrorCase((np.ones(5), -1), RuntimeError, "split_size be non-negative"),
        ErrorCase((np.ones(5), [6, -1]), RuntimeError, "only non-negative entries"),
    ]),
    OpSpec("chunk", lambda m, x, *a: m.chunk(x, *a), _chunk_samples, errors=[
        ErrorCase((np.ones(5), 0), RuntimeError, "chunk expects `chunks` to be greater than 0"),
        ErrorCase((np.ones(()), 2), RuntimeError, "at least a 1-dimensional tensor"),
    ]),
    OpSpec("unbind", lambda m, x, *a: m.unbind(x, *a), _unbind_samples),
)


def _cat_samples(rng):
    return [
        Sample((randn(rng, 2, 3), randn(rng, 4, 3), randn(rng, 1, 3))),
        Sample((randn(rng, 2, 1), randn(rng, 2, 4)), {"dim": 1}),
        Sample((randn(rng, 3, 2), randn(rng, 3, 0)), {"dim": -1}),
        Sample((randn(rng, 2, 3),)),
        Sample((np.zeros(0), randn(rng, 2, 3)), note="legacy: 1-D empty tensors are skipped"),
        Sample((randn(rng, 2), randn(rng, 3))),
        Sample((randn(rng, 2, 3), np.arange(6).reshape(2, 3)), note="promotes int to float"),
    ]


def _stack_samples(rng):
    return [Sample((randn(rng, 2, 3), randn(rng, 2, 3), randn(rng, 2, 3))),
            Sample((randn(rng, 2, 3), randn(rng, 2, 3)), {"dim": 2}),
            Sample((randn(rng, 2, 3), randn(rng, 2, 3)), {"dim": -2}),
            Sample((randn(rng), randn(rng))), Sample((randn(rng, 0, 2), randn(rng, 0, 2))),
            Sample((randn(rng, 2), np.arange(2)), note="promotes int to float")]


def _list_op(name):
    """``m.name([x0, x1, ...], **kw)``: the registry passes the list's arrays as separate args;
    error cases pass the list itself (of arrays, made tensors here)."""
    def op(m, *xs, **kw):
        if xs and isinstance(xs[0], list):
            return getattr(m, name)([m.tensor(x) for x in xs[0]], *xs[1:], **kw)
        return getattr(m, name)(list(xs), **kw)

    return op


register(
    OpSpec("cat", _list_op("cat"), _cat_samples, errors=[
        ErrorCase(([np.ones((2, 3)), np.ones((3, 4))], 1), RuntimeError,
                  r"Sizes of tensors must match except in dimension 1. Expected size 2 but got "
                  r"size 3 for tensor number 1 in the list"),
        ErrorCase(([np.ones((2, 3)), np.ones(3)],), RuntimeError,
                  "Tensors must have same number of dimensions: got 2 and 1"),
        ErrorCase(([np.ones(()), np.ones(())],), RuntimeError,
                  r"zero-dimensional tensor \(at position 0\) cannot be concatenated"),
        ErrorCase(([np.ones((2, 3))], 2), IndexError, "Dimension out of range"),
        ErrorCase(([],), ValueError, "expected a non-empty list of Tensors"),
    ]),
    OpSpec("concat", _list_op("concat"), lambda rng: _cat_samples(rng)[:2]),
    OpSpec("stack", _list_op("stack"), _stack_samples, errors=[
        ErrorCase(([np.ones((2, 3)), np.ones((2, 4))],), RuntimeError,
                  r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and "
                  r"\[2, 4\] at entry 1"),
        ErrorCase(([],), RuntimeError, "stack expects a non-empty TensorList"),
        ErrorCase(([np.ones((2, 3))], 3), IndexError, r"range of \[-3, 2\], but got 3"),
    ]),
    OpSpec("hstack", _list_op("hstack"),
           lambda rng: [Sample((randn(rng, 2, 3), randn(rng, 2, 1))),
                        Sample((randn(rng, 3), randn(rng, 2)))]),
    OpSpec("vstack", _list_op("vstack"),
           lambda rng: [Sample((randn(rng, 2, 3), randn(rng, 3))),
                        Sample((randn(rng, 3), randn(rng, 3)))]),
)
