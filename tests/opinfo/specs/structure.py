"""Specs of the structural ops: diagonals (``diagonal``, ``diag_embed``, ``diag``, ``diagflat``,
``trace``), the scatters, ``Tensor.unfold``, ``block_diag``, ``rot90``, grids
(``meshgrid``, ``cartesian_prod``, ``combinations``, ``broadcast_tensors``), the index
factories, the splits and stacks, and the in-place forms (``fill_diagonal_``, ``tril_``,
``t_``, ``transpose_``, ``squeeze_``, ``unsqueeze_``...)."""

from __future__ import annotations

import warnings

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

X = np.ones((3, 4))
V = np.ones(3)


def _diagonal_samples(rng):
    return [
        Sample((randn(rng, 3, 4),)),
        Sample((randn(rng, 3, 4), 1)),
        Sample((randn(rng, 2, 3, 4), -1, 2, 0)),
        Sample((randn(rng, 3, 4), 7)),  # past the corner: empty
        Sample((randn(rng, 2, 0, 3),), {"dim1": -1, "dim2": 0}),
    ]


def _diag_embed_samples(rng):
    return [
        Sample((randn(rng, 2, 3),)),
        Sample((randn(rng, 2, 3), 1, 0, 2)),
        Sample((randn(rng, 4), -2)),
        Sample((randn(rng, 0, 3),)),
    ]


def _diag_samples(rng):
    return [
        Sample((randn(rng, 3),)), Sample((randn(rng, 3), -1)), Sample((randn(rng, 3, 4),)),
        Sample((randn(rng, 3, 4), 2)), Sample((randn(rng, 0),)),
    ]


def _unfold_samples(rng):
    return [
        Sample((randn(rng, 3, 7), 1, 3, 2)),  # windows overlap
        Sample((randn(rng, 2, 9, 2), 1, 5, 2)),  # fewer windows than window positions
        Sample((randn(rng, 6, 2), 0, 2, 3)),  # a gap between windows
        Sample((randn(rng, 2, 3, 4), -1, 4, 1)),
        Sample((randn(rng, 3, 2), 0, 0, 1)),  # empty windows
        Sample((randn(rng), 0, 1, 1)),
    ]


def _scatter_samples(rng):
    return [
        Sample((randn(rng, 3, 4), randn(rng, 3))),
        Sample((randn(rng, 3, 4), randn(rng, 2), 2)),
        Sample((randn(rng, 2, 3, 3), randn(rng, 3, 2), 0, 0, 2)),
        Sample((randn(rng, 0, 3), randn(rng, 0))),
    ]


def _select_scatter_samples(rng):
    return [
        Sample((randn(rng, 3, 4), randn(rng, 3), 1, 2)),
        Sample((randn(rng, 3, 4), randn(rng, 4), 0, -1)),
        Sample((randn(rng, 2, 0), randn(rng, 0), 0, 1)),
    ]


def _slice_scatter_samples(rng):
    return [
        Sample((randn(rng, 3, 4), randn(rng, 3, 2), 1, 0, None, 2)),
        Sample((randn(rng, 5, 2), randn(rng, 2, 2)), {"start": 1, "end": -2}),
        Sample((randn(rng, 3, 4), randn(rng, 3, 4))),
        Sample((randn(rng, 3, 4), randn(rng, 0, 4)), {"start": 5}),
    ]


def _meshgrid(indexing):
    def op(m, *ts):
        return m.meshgrid(*ts, indexing=indexing)
    return op


def _meshgrid_default(m, a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return m.meshgrid([a, b])


def _grid_samples(rng):
    return [
        Sample((randn(rng, 2), randn(rng, 3))),
        Sample((randn(rng, 2), randn(rng), randn(rng, 3))),
        Sample((randn(rng, 0), randn(rng, 3))),
    ]


def _fill_diagonal(m, x, value, wrap=False):
    return x.clone().fill_diagonal_(value, wrap=wrap)


def _inplace(name, *args):
    def op(m, x):
        return getattr(x.clone(), name)(*args)
    return op


def _splits(name):
    def op(m, x, sections, *rest):
        return getattr(m, name)(x, sections, *rest)
    return op


def _split_samples(rng):
    return [
        Sample((randn(rng, 7, 2), 3)),
        Sample((randn(rng, 2, 7), [5, 2, -1, 9], 1)),
        Sample((randn(rng, 3, 2), 5)),  # more parts than elements: empty ones
        Sample((randn(rng, 0, 2), 2)),
    ]


register(
    OpSpec("diagonal", lambda m, x, *a, **kw: m.diagonal(x, *a, **kw), _diagonal_samples,
           errors=[
               ErrorCase((X, 0, 0, 0), RuntimeError, "diagonal dimensions cannot be identical"),
               ErrorCase((np.ones(()),), IndexError, "Dimension out of range"),
           ]),
    OpSpec("Tensor.diagonal", lambda m, x: x.diagonal(offset=-1, dim1=1, dim2=0),
           lambda rng: [Sample((randn(rng, 3, 4),))]),
    OpSpec("diag_embed", lambda m, x, *a: m.diag_embed(x, *a), _diag_embed_samples, errors=[
        ErrorCase((X, 1, 0, 0), RuntimeError, "diagonal dimensions cannot be identical"),
        ErrorCase((np.ones(()),), IndexError, "Dimension out of range"),
    ]),
    OpSpec("diag", lambda m, x, *a: m.diag(x, *a), _diag_samples, errors=[
        ErrorCase((np.ones((2, 2, 2)),), RuntimeError, "Supports 1D or 2D tensors. Got 3D"),
        ErrorCase((np.ones(()),), RuntimeError, "Supports 1D or 2D tensors. Got 0D"),
    ]),
    OpSpec("diagflat", lambda m, x, *a: m.diagflat(x, *a), lambda rng: [
        Sample((randn(rng, 2, 2), -1)), Sample((randn(rng),)), Sample((randn(rng, 0),))]),
    OpSpec("trace", lambda m, x: m.trace(x), lambda rng: [
        Sample((randn(rng, 3, 4),)), Sample((randn(rng, 0, 2),))], errors=[
        ErrorCase((V,), RuntimeError, "expected a matrix, but got tensor with dim 1")]),
    OpSpec("trace_int", lambda m, x: m.trace(x),
           lambda rng: [Sample((np.arange(9, dtype=np.int32).reshape(3, 3),))],
           differentiable=False),
    OpSpec("Tensor.unfold", lambda m, x, *a: x.unfold(*a), _unfold_samples, errors=[
        ErrorCase((X, 1, 5, 1), RuntimeError, "maximum size for tensor at dimension 1 is 4 but "
                  "size is 5"),
        ErrorCase((X, 1, 2, 0), RuntimeError, "step is 0 but must be > 0"),
    ]),
    OpSpec("diagonal_scatter", lambda m, x, s, *a: m.diagonal_scatter(x, s, *a),
           _scatter_samples, errors=[
               ErrorCase((X, np.ones(2)), RuntimeError, r"expected src to have a size equal to "
                         r"the slice of self. src size = \[2\], slice size = \[3\]"),
           ]),
    OpSpec("select_scatter", lambda m, x, s, *a: m.select_scatter(x, s, *a),
           _select_scatter_samples, errors=[
               ErrorCase((X, np.ones(4), 0, 5), IndexError, "index 5 out of range"),
           ]),
    OpSpec("slice_scatter", lambda m, x, s, *a, **kw: m.slice_scatter(x, s, *a, **kw),
           _slice_scatter_samples, errors=[
               ErrorCase((X, np.ones((3, 2)), 1, 0, None, 0), RuntimeError,
                         "slice step must be positive"),
               ErrorCase((X, np.ones((3, 3)), 1, 0, None, 2), RuntimeError,
                         "expected src to have a size equal to the slice of self"),
           ]),
    OpSpec("Tensor.slice_scatter", lambda m, x, s: x.slice_scatter(s, 1, 1),
           lambda rng: [Sample((randn(rng, 2, 3), randn(rng, 2, 2)))]),
    OpSpec("Tensor.fill_diagonal_", _fill_diagonal, lambda rng: [
        Sample((randn(rng, 3, 3), 2.0)),
        Sample((randn(rng, 7, 3), -1.0, True)),
        Sample((randn(rng, 7, 3), -1.0)),
        Sample((randn(rng, 2, 5), 0.5)),
        Sample((randn(rng, 2, 2, 2), 3.0)),
    ], errors=[
        ErrorCase((V, 1.0), RuntimeError, "dimensions must larger than 1"),
        ErrorCase((np.ones((3, 2, 3)), 1.0), RuntimeError, "all dimensions of input must be of "
                  "equal length"),
    ]),
    OpSpec("block_diag", lambda m, *ts: m.block_diag(*ts), lambda rng: [
        Sample((randn(rng, 2, 3), randn(rng, 1, 1), randn(rng, 2))),
        Sample((randn(rng), randn(rng, 2, 0), randn(rng, 0, 2))),
    ], errors=[
        ErrorCase((np.ones((2, 2, 2)),), RuntimeError, "Input 0 has 3 dimensions"),
    ]),
    OpSpec("block_diag_promote", lambda m, a, b: m.block_diag(a, b),
           lambda rng: [Sample((np.arange(3), np.ones((2, 2), np.float32)))],
           differentiable=False),
    OpSpec("rot90", lambda m, x, *a: m.rot90(x, *a), lambda rng: [
        Sample((randn(rng, 3, 4),)), Sample((randn(rng, 3, 4), 2)),
        Sample((randn(rng, 2, 3, 4), -1, [2, 0])), Sample((randn(rng, 3, 4), 4)),
        Sample((randn(rng, 3, 0), 3)),
    ], errors=[
        ErrorCase((X, 1, [0, 1, 2]), RuntimeError, "expected total rotation dims == 2"),
        ErrorCase((V, 1), RuntimeError, "expected total dims >= 2"),
        ErrorCase((X, 1, [0, 0]), RuntimeError, "expected rotation dims to be different"),
    ]),
    OpSpec("Tensor.rot90", lambda m, x: x.rot90(1, [1, 0]),
           lambda rng: [Sample((randn(rng, 2, 3),))]),
    OpSpec("meshgrid_ij", _meshgrid("ij"), _grid_samples, errors=[
        ErrorCase((V, np.ones(2, np.float32)), RuntimeError, "same dtype"),
        ErrorCase((X,), RuntimeError, "Expected 0D or 1D tensor"),
    ]),
    OpSpec("meshgrid_xy", _meshgrid("xy"), _grid_samples, errors=[
        ErrorCase((), RuntimeError, "expects a non-empty TensorList"),
    ]),
    OpSpec("meshgrid_default", _meshgrid_default, lambda rng: _grid_samples(rng)[:1]),
    OpSpec("cartesian_prod", lambda m, *ts: m.cartesian_prod(*ts), lambda rng: [
        Sample((randn(rng, 2), randn(rng, 3))), Sample((randn(rng, 2), randn(rng, 1),
                                                        randn(rng, 2))),
        Sample((randn(rng, 3),)), Sample((randn(rng, 0), randn(rng, 2))),
    ], errors=[ErrorCase((X, V), RuntimeError, "Expect a 1D vector, but got shape")]),
    OpSpec("combinations", lambda m, x, *a: m.combinations(x, *a), lambda rng: [
        Sample((randn(rng, 4),)), Sample((randn(rng, 4), 3)), Sample((randn(rng, 3), 2, True)),
        Sample((randn(rng, 2), 3)), Sample((randn(rng, 3), 1)),
    ], errors=[
        ErrorCase((X,), RuntimeError, "Expect a 1D vector"),
        ErrorCase((V, -1), RuntimeError, "Expect a non-negative number, but got -1"),
    ]),
    OpSpec("combinations_r0", lambda m, x: m.combinations(x, 0),
           lambda rng: [Sample((randn(rng, 4),))], differentiable=False),
    OpSpec("broadcast_tensors", lambda m, *ts: m.broadcast_tensors(*ts), lambda rng: [
        Sample((randn(rng, 3, 1), randn(rng, 4), randn(rng))),
        Sample((randn(rng, 2, 3), randn(rng, 2, 3))),
        Sample((randn(rng, 0, 1), randn(rng, 2))),
    ], errors=[
        ErrorCase((np.ones(2), np.ones(3)), RuntimeError, r"The size of tensor a \(2\) must "
                  r"match the size of tensor b \(3\) at non-singleton dimension 0"),
    ]),
    OpSpec("tril_indices", lambda m, *a, dtype="int64": m.tril_indices(*a, dtype=getattr(
        m, dtype)), lambda rng: [
        Sample((3, 4, 1)), Sample((4, 3, -2)), Sample((0, 3)), Sample((3, 3, 5)),
        Sample((3, 3), {"dtype": "int32"}),
    ], differentiable=False, errors=[
        ErrorCase((-1, 4), RuntimeError, "row must be non-negative"),
        ErrorCase((3, 3), NotImplementedError, "not implemented for 'Float'",
                  {"dtype": "float32"}),
    ]),
    OpSpec("triu_indices", lambda m, *a, **kw: m.triu_indices(*a, **kw), lambda rng: [
        Sample((3, 4, 1)), Sample((4, 3, -1)), Sample((3, 0)),
    ], differentiable=False),
    OpSpec("tensor_split", _splits("tensor_split"), _split_samples, errors=[
        ErrorCase((X, 0), RuntimeError, "number of sections must be larger than 0, got 0"),
        ErrorCase((np.ones(()), 2), RuntimeError, "expected at least a 1-dimensional tensor"),
    ]),
    OpSpec("Tensor.tensor_split", lambda m, x: x.tensor_split((1, 3), dim=1),
           lambda rng: [Sample((randn(rng, 2, 5),))]),
    OpSpec("hsplit", _splits("hsplit"), lambda rng: [
        Sample((randn(rng, 2, 6), 3)), Sample((randn(rng, 6), [1, 4])),
    ], errors=[
        ErrorCase((X, 3), RuntimeError, "the size of the dimension 4 is not divisible by the "
                  "split_size 3!"),
        ErrorCase((np.ones(()), 1), RuntimeError, "at least 1 dimension"),
    ]),
    OpSpec("vsplit", _splits("vsplit"), lambda rng: [
        Sample((randn(rng, 4, 2), 2)), Sample((randn(rng, 4, 2), [3])),
    ], errors=[ErrorCase((V, 3), RuntimeError, "requires a tensor with at least 2 dimension")]),
    OpSpec("dsplit", _splits("dsplit"), lambda rng: [
        Sample((randn(rng, 1, 2, 4), 2)), Sample((randn(rng, 1, 2, 4), [1, 1])),
    ], errors=[ErrorCase((X, 2), RuntimeError, "requires a tensor with at least 3 dimension")]),
    OpSpec("Tensor.hsplit", lambda m, x: x.hsplit(2), lambda rng: [Sample((randn(rng, 3, 4),))]),
    OpSpec("split_with_sizes", lambda m, x, s, *a: m.split_with_sizes(x, s, *a), lambda rng: [
        Sample((randn(rng, 5, 2), [2, 0, 3])), Sample((randn(rng, 2, 3), [1, 2], 1)),
    ], errors=[ErrorCase((X, [1, 1]), RuntimeError, "sum exactly to 3")]),
    OpSpec("unsafe_split", lambda m, x, *a: m.unsafe_split(x, *a), lambda rng: [
        Sample((randn(rng, 5, 2), 2)), Sample((randn(rng, 2, 3), 3, 1)),
    ]),
    OpSpec("unsafe_chunk", lambda m, x, *a: m.unsafe_chunk(x, *a), lambda rng: [
        Sample((randn(rng, 5, 2), 2)), Sample((randn(rng, 2, 3), 3, 1)),
    ]),
    OpSpec("atleast_1d", lambda m, *ts: m.atleast_1d(*ts), lambda rng: [
        Sample((randn(rng),)), Sample((randn(rng, 2), randn(rng), randn(rng, 2, 2))),
    ]),
    OpSpec("atleast_2d", lambda m, *ts: m.atleast_2d(*ts), lambda rng: [
        Sample((randn(rng),)), Sample((randn(rng, 2), randn(rng), randn(rng, 2, 2))),
    ]),
    OpSpec("atleast_3d", lambda m, *ts: m.atleast_3d(ts), lambda rng: [
        Sample((randn(rng), randn(rng, 2), randn(rng, 2, 3), randn(rng, 1, 2, 3, 1))),
    ]),
    OpSpec("dstack", lambda m, *ts: m.dstack(ts), lambda rng: [
        Sample((randn(rng, 2), randn(rng, 1, 2), randn(rng, 1, 2, 2))),
    ], errors=[ErrorCase((), RuntimeError, "dstack expects a non-empty TensorList")]),
    OpSpec("column_stack", lambda m, *ts: m.column_stack(ts), lambda rng: [
        Sample((randn(rng, 2), randn(rng, 2, 2), randn(rng, 2, 0))),
        Sample((randn(rng), randn(rng, 1, 3))),
    ]),
    OpSpec("row_stack", lambda m, *ts: m.row_stack(ts), lambda rng: [
        Sample((randn(rng, 3), randn(rng, 2, 3))),
    ]),
    OpSpec("Tensor.tril_", _inplace("tril_", 1), lambda rng: [Sample((randn(rng, 3, 4),))]),
    OpSpec("Tensor.triu_", _inplace("triu_", -1), lambda rng: [Sample((randn(rng, 2, 3, 4),))]),
    OpSpec("Tensor.t_", _inplace("t_"), lambda rng: [
        Sample((randn(rng, 3, 4),)), Sample((randn(rng, 3),))]),
    OpSpec("Tensor.transpose_", _inplace("transpose_", 0, -1),
           lambda rng: [Sample((randn(rng, 2, 3, 4),))]),
    OpSpec("Tensor.swapaxes_", _inplace("swapaxes_", 1, 0),
           lambda rng: [Sample((randn(rng, 2, 3),))]),
    OpSpec("Tensor.swapdims_", _inplace("swapdims_", 0, 1),
           lambda rng: [Sample((randn(rng, 2, 3),))]),
    OpSpec("Tensor.unsqueeze_", _inplace("unsqueeze_", -1),
           lambda rng: [Sample((randn(rng, 2, 3),))]),
    OpSpec("Tensor.squeeze_", _inplace("squeeze_"), lambda rng: [Sample((randn(rng, 2, 1, 3),))]),
    OpSpec("Tensor.squeeze_dim", _inplace("squeeze_", 1),
           lambda rng: [Sample((randn(rng, 2, 1, 1),))]),
    OpSpec("Tensor.squeeze_dims", _inplace("squeeze_", (0, 2)),
           lambda rng: [Sample((randn(rng, 1, 2, 1),))]),
)

