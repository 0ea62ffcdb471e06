"""Specs of the ``*_copy`` view variants (``gpugrad/ops/view_copies.py``): the view's values
and gradients, from a fresh tensor."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _x(*shape):
    return lambda rng: [Sample((randn(rng, *shape),))]


def _kw(shape, *arg_lists):
    return lambda rng: [Sample((randn(rng, *shape), *args)) for args in arg_lists]


# The copies are the view's node under a CloneBackward0 (PyTorch: one ``<View>Backward0_copy``
# node each); the gradients agree.
STRUCTURE_DIFFERS = {
    name: "the view's node under a CloneBackward0 (PyTorch: one *Backward0_copy node)"
    for name in ("t_copy", "transpose_copy", "permute_copy", "expand_copy", "diagonal_copy",
                 "select_copy", "slice_copy", "squeeze_copy", "unsqueeze_copy", "unbind_copy",
                 "split_copy", "split_with_sizes_copy", "alias_copy", "unfold_copy",
                 "view_copy", "as_strided_copy")}

register(
    OpSpec("t_copy", lambda m, x: m.t_copy(x),
           lambda rng: [Sample((randn(rng, 3, 4),)), Sample((randn(rng, 3),))],
           errors=[ErrorCase((np.ones((2, 2, 2)),), RuntimeError, "<= 2 dimensions")]),
    OpSpec("transpose_copy", lambda m, x, a, b: m.transpose_copy(x, a, b),
           _kw((2, 3, 4), (0, 2), (-1, 1))),
    OpSpec("permute_copy", lambda m, x, d: m.permute_copy(x, d), _kw((2, 3, 4), ((2, 0, 1),))),
    OpSpec("expand_copy", lambda m, x, s: m.expand_copy(x, s),
           lambda rng: [Sample((randn(rng, 3, 1), (2, 3, 5))),
                        Sample((randn(rng, 3, 1), (-1, 4)))]),
    OpSpec("diagonal_copy", lambda m, x, *a: m.diagonal_copy(x, *a),
           _kw((3, 4, 2), (), (1,), (-1, 0, 2))),
    OpSpec("select_copy", lambda m, x, d, i: m.select_copy(x, d, i),
           _kw((2, 3, 4), (1, -1), (0, 1))),
    OpSpec("slice_copy", lambda m, x, *a: m.slice_copy(x, *a),
           _kw((2, 5, 3), (), (1, 0, 4, 2), (-1, -2, None), (1, 1, 100)),
           errors=[ErrorCase((np.ones((2, 3)), 1, 0, 3, 0), RuntimeError,
                             "step must be positive")]),
    OpSpec("squeeze_copy", lambda m, x, *a: m.squeeze_copy(x, *a),
           _kw((1, 3, 1), (), (0,), ((0, 2),))),
    OpSpec("unsqueeze_copy", lambda m, x, d: m.unsqueeze_copy(x, d), _kw((2, 3), (0,), (-1,))),
    OpSpec("unbind_copy", lambda m, x, *a: m.unbind_copy(x, *a), _kw((2, 3), (), (1,))),
    OpSpec("split_copy", lambda m, x, *a: m.split_copy(x, *a), _kw((5, 3), (2,), (2, 1))),
    OpSpec("split_with_sizes_copy", lambda m, x, *a: m.split_with_sizes_copy(x, *a),
           _kw((5, 3), ([1, 4],), ([1, 0, 2], 1))),
    OpSpec("alias_copy", lambda m, x: m.alias_copy(x), _x(2, 3)),
    OpSpec("unfold_copy", lambda m, x, *a: m.unfold_copy(x, *a), _kw((2, 5), (1, 2, 1), (0, 2, 2))),
    OpSpec("view_copy", lambda m, x, s: m.view_copy(x, s), _kw((2, 6), ((3, -1),), ((12,),))),
    # on x.contiguous(), as for as_strided: the view reads memory, which strided samples gap
    OpSpec("as_strided_copy", lambda m, x, *a: m.as_strided_copy(x.contiguous(), *a),
           lambda rng: [Sample((randn(rng, 3, 4), (2, 2), (1, 2))),
                        Sample((randn(rng, 3, 4), (2, 3), (4, 1), 1))]),
    OpSpec("detach_copy", lambda m, x: m.detach_copy(x), _x(2, 3), differentiable=False),
)
