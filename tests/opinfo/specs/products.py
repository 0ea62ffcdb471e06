"""Specs of the products: ``einsum`` (string and sublist forms, ellipsis, diagonals, broadcast
size-1 dims), ``tensordot``, ``kron``, ``inner``, ``ger``, ``vdot``, the scaled sums ``addmm``,
``addmv``, ``addr``, ``addbmm``, ``baddbmm`` and their in-place forms, ``chain_matmul``,
``cross``."""

from __future__ import annotations

import warnings

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _einsum_samples(rng):
    return [
        Sample(("ij,jk->ik", randn(rng, 3, 4), randn(rng, 4, 5))),
        Sample(("bij,bjk", randn(rng, 2, 3, 4), randn(rng, 2, 4, 2))),  # implicit output
        Sample(("...ij,...jk->...ik", randn(rng, 2, 1, 3, 4), randn(rng, 3, 4, 2))),
        Sample(("ii->i", randn(rng, 4, 4))),  # a diagonal
        Sample(("iji,j->ij", randn(rng, 3, 2, 3), randn(rng, 2))),  # diagonal and broadcast
        Sample(("i,j,k->ijk", randn(rng, 2), randn(rng, 3), randn(rng, 2))),
        Sample(("ij->", randn(rng, 3, 4))),
        Sample(("ij,ij->j", randn(rng, 1, 4), randn(rng, 3, 4))),  # a size-1 dim broadcasts
        Sample(("i j , j k -> k i", randn(rng, 3, 0), randn(rng, 0, 2))),  # zero-size, spaces
        Sample(("ab,b", randn(rng, 3, 2), randn(rng, 2))),
        Sample((",i->i", randn(rng), randn(rng, 3))),  # a 0-d operand
    ]


def _sublist(m, a, b):
    return m.einsum(a, [0, Ellipsis, 1], b, [1, 2], [Ellipsis, 0, 2])


def _tensordot_samples(rng):
    return [
        Sample((randn(rng, 3, 4, 5), randn(rng, 4, 5, 2)), {"dims": 2}),
        Sample((randn(rng, 3, 4), randn(rng, 4, 2)), {"dims": 1}),
        Sample((randn(rng, 3, 4, 2), randn(rng, 2, 3)), {"dims": ([0, 2], [1, 0])}),
        Sample((randn(rng, 3), randn(rng, 2)), {"dims": 0}),
        Sample((randn(rng, 0, 4), randn(rng, 4, 2)), {"dims": ([1], [0])}),
    ]


def _kron_samples(rng):
    return [
        Sample((randn(rng, 2, 3), randn(rng, 3, 2))),
        Sample((randn(rng, 2), randn(rng, 2, 3, 1))),
        Sample((randn(rng), randn(rng, 3))),
        Sample((randn(rng, 2, 0), randn(rng, 2, 2))),
    ]


def _inner_samples(rng):
    return [
        Sample((randn(rng, 3, 4), randn(rng, 2, 4))),
        Sample((randn(rng, 4), randn(rng, 2, 3, 4))),
        Sample((randn(rng, 3, 4), randn(rng))),
        Sample((randn(rng, 0, 4), randn(rng, 4))),
    ]


def _mm(rng, beta_nan=False):
    bias = randn(rng, 5)
    if beta_nan:
        bias[1] = np.nan
    return [
        Sample((randn(rng, 3, 5), randn(rng, 3, 4), randn(rng, 4, 5))),
        Sample((randn(rng, 5), randn(rng, 3, 4), randn(rng, 4, 5)),
               {"beta": 0.5, "alpha": -2.0}),
        Sample((randn(rng, 3, 1), randn(rng, 3, 0), randn(rng, 0, 5)), {"alpha": 3}),
        Sample((bias, randn(rng, 3, 4), randn(rng, 4, 5)), {"beta": 0}),
        Sample((randn(rng), randn(rng, 3, 4), randn(rng, 4, 5)), {"beta": 2}),
    ]


def _mv(rng):
    return [
        Sample((randn(rng, 3), randn(rng, 3, 4), randn(rng, 4))),
        Sample((randn(rng, 1), randn(rng, 3, 4), randn(rng, 4)), {"beta": -1.5, "alpha": 0.5}),
        Sample((np.array([np.inf, 1.0, 2.0]), randn(rng, 3, 4), randn(rng, 4)), {"beta": 0}),
    ]


def _r(rng):
    return [
        Sample((randn(rng, 3, 4), randn(rng, 3), randn(rng, 4))),
        Sample((randn(rng, 4), randn(rng, 3), randn(rng, 4)), {"beta": 2.0, "alpha": 0.5}),
        Sample((randn(rng, 3, 0), randn(rng, 3), randn(rng, 0)), {"beta": 0}),
    ]


def _bmm(rng, summed):
    out = (3, 5) if summed else (2, 3, 5)
    return [
        Sample((randn(rng, *out), randn(rng, 2, 3, 4), randn(rng, 2, 4, 5))),
        Sample((randn(rng, 5), randn(rng, 2, 3, 4), randn(rng, 2, 4, 5)),
               {"beta": 0.5, "alpha": 2.0}),
        Sample((randn(rng, *out), randn(rng, 2, 3, 0), randn(rng, 2, 0, 5)), {"beta": 0}),
    ]


def _inplace(name):
    def op(m, x, a, b, **kw):
        return getattr(x.clone(), name)(a, b, **kw)
    return op


def _chain(m, *mats):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return m.chain_matmul(*mats)


def _cross_samples(rng):
    return [
        Sample((randn(rng, 4, 3), randn(rng, 4, 3)), {"dim": 1}),
        Sample((randn(rng, 3, 2), randn(rng, 3, 1)), {"dim": -2}),
        Sample((randn(rng, 3), randn(rng, 3)), {"dim": 0}),
        Sample((randn(rng, 0, 3), randn(rng, 0, 3)), {"dim": 1}),
    ]


def _cross_default(m, a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return m.cross(a, b)


X = np.ones((3, 4))
Y = np.ones((4, 5))
V = np.ones(3)
B = np.ones((2, 3, 4))

register(
    OpSpec("einsum", lambda m, eq, *ops: m.einsum(eq, *ops), _einsum_samples, errors=[
        ErrorCase(("ij,jk", X), RuntimeError, "fewer operands were provided"),
        ErrorCase(("ij", X, Y), RuntimeError, "more operands were provided"),
        ErrorCase(("ijk,jk", X, Y), RuntimeError, r"subscripts in the equation \(3\) does not "
                  r"match the number of dimensions \(2\) for operand 0"),
        ErrorCase(("ij,jk->q", X, Y), RuntimeError, "output subscript q does not appear"),
        ErrorCase(("ij,jk->ii", X, Y), RuntimeError, "output subscript i appears more than once"),
        ErrorCase(("ii", X), RuntimeError, "subscript i is repeated for operand 0 but the sizes "
                  "don't match, 3 != 4"),
        ErrorCase(("i1", X), RuntimeError, "invalid subscript given at index 1"),
        ErrorCase(("ij,ij", X, Y), RuntimeError, "operands do not broadcast"),
        ErrorCase(("ij,jk", X, Y.astype(np.float32)), RuntimeError,
                  "expected scalar type Double but found Float"),
        ErrorCase(("i.j", X), RuntimeError, "not part of any ellipsis"),
    ]),
    OpSpec("einsum_list", lambda m, a, b: m.einsum("ij,jk", [a, b]),
           lambda rng: [Sample((randn(rng, 2, 3), randn(rng, 3, 2)))]),
    OpSpec("einsum_sublist", _sublist,
           lambda rng: [Sample((randn(rng, 2, 4, 3), randn(rng, 3, 2)))]),
    OpSpec("einsum_int", lambda m, a, b: m.einsum("ij,jk->ik", a, b),
           lambda rng: [Sample((np.arange(6).reshape(2, 3), np.arange(6).reshape(3, 2)))],
           differentiable=False),
    OpSpec("tensordot", lambda m, a, b, **kw: m.tensordot(a, b, **kw), _tensordot_samples,
           errors=[
               ErrorCase((X, Y), RuntimeError, "contracted dimensions need to match"),
               ErrorCase((X, Y), RuntimeError, "dims >= 0", {"dims": -1}),
               ErrorCase((X, Y), RuntimeError, "same length", {"dims": ([1], [0, 1])}),
               ErrorCase((X, Y.astype(np.float32)), RuntimeError, "same dtype", {"dims": 1}),
           ]),
    OpSpec("kron", lambda m, a, b: m.kron(a, b), _kron_samples),
    OpSpec("Tensor.kron", lambda m, a, b: a.kron(b),
           lambda rng: [Sample((randn(rng, 2, 2), randn(rng, 2)))]),
    OpSpec("inner", lambda m, a, b: m.inner(a, b), _inner_samples, errors=[
        ErrorCase((X, np.ones((5, 3))), RuntimeError, "the last dimension must match"),
        ErrorCase((X, np.ones(4, np.float32)), RuntimeError, "same dtype"),
    ]),
    OpSpec("Tensor.inner", lambda m, a, b: a.inner(b),
           lambda rng: [Sample((randn(rng, 2, 3), randn(rng, 3)))]),
    OpSpec("ger", lambda m, a, b: m.ger(a, b),
           lambda rng: [Sample((randn(rng, 3), randn(rng, 4))), Sample((randn(rng, 0),
                                                                        randn(rng, 2)))]),
    OpSpec("Tensor.ger", lambda m, a, b: a.ger(b),
           lambda rng: [Sample((randn(rng, 3), randn(rng, 2)))]),
    OpSpec("vdot", lambda m, a, b: m.vdot(a, b),
           lambda rng: [Sample((randn(rng, 4), randn(rng, 4))), Sample((randn(rng, 0),
                                                                        randn(rng, 0)))],
           errors=[
               ErrorCase((X, X), RuntimeError, "1D tensors expected, but got 2D and 2D"),
               ErrorCase((V, np.ones(3, np.float32)), RuntimeError, "same dtype"),
               ErrorCase((V, np.ones(2)), RuntimeError, "inconsistent tensor size"),
           ]),
    OpSpec("Tensor.vdot", lambda m, a, b: a.vdot(b),
           lambda rng: [Sample((randn(rng, 3), randn(rng, 3)))]),
    OpSpec("addmm", lambda m, x, a, b, **kw: m.addmm(x, a, b, **kw),
           lambda rng: _mm(rng, beta_nan=True), errors=[
               ErrorCase((np.ones(4), X, Y), RuntimeError, "The expanded size of the tensor"),
               ErrorCase((np.ones(5), X, Y.astype(np.float32)), RuntimeError, "same dtype"),
               ErrorCase((np.ones(5), X, X), RuntimeError, "cannot be multiplied"),
               ErrorCase((np.ones(5), V, Y), RuntimeError, "mat1 must be a matrix, got 1-D"),
           ]),
    OpSpec("Tensor.addmm", lambda m, x, a, b: x.addmm(a, b, beta=0.5),
           lambda rng: [Sample((randn(rng, 2, 2), randn(rng, 2, 3), randn(rng, 3, 2)))]),
    OpSpec("Tensor.addmm_", _inplace("addmm_"), lambda rng: [
        Sample((randn(rng, 3, 5), randn(rng, 3, 4), randn(rng, 4, 5)), {"beta": 0, "alpha": 2}),
        Sample((randn(rng, 3, 5), randn(rng, 3, 0), randn(rng, 0, 5))),
    ], errors=[
        ErrorCase((np.ones(5), X, Y), RuntimeError, "Bad in-place call"),
    ]),
    OpSpec("addmv", lambda m, x, a, b, **kw: m.addmv(x, a, b, **kw), _mv, errors=[
        ErrorCase((V, X, np.ones(5)), RuntimeError, r"size mismatch, got input \(3\), mat "
                  r"\(3x4\), vec \(5\)"),
        ErrorCase((V, X, X), RuntimeError, "vector \\+ matrix @ vector expected"),
    ]),
    OpSpec("Tensor.addmv_", _inplace("addmv_"), lambda rng: _mv(rng)[:1]),
    OpSpec("addr", lambda m, x, a, b, **kw: m.addr(x, a, b, **kw), _r, errors=[
        ErrorCase((X, X, V), RuntimeError, "Expected 1-D argument vec1, but got 2-D"),
    ]),
    OpSpec("addr_bool", lambda m, x, a, b: m.addr(x, a, b),
           lambda rng: [Sample((rng.random((3, 2)) > 0.5, rng.random(3) > 0.5,
                                rng.random(2) > 0.5))], differentiable=False),
    OpSpec("Tensor.addr_", _inplace("addr_"), lambda rng: _r(rng)[:1]),
    OpSpec("baddbmm", lambda m, x, a, b, **kw: m.baddbmm(x, a, b, **kw),
           lambda rng: _bmm(rng, False), errors=[
               ErrorCase((np.ones(4), B, np.ones((3, 4, 4))), RuntimeError,
                         "must have same number of batches, got 2 and 3"),
               ErrorCase((np.ones(4), B, np.ones((2, 3, 4))), RuntimeError,
                         r"batch2 tensor to be: \[2, 4\] but got: \[2, 3\]"),
               ErrorCase((np.ones(4), X, B), RuntimeError, "batch1 must be a 3D tensor"),
           ]),
    OpSpec("Tensor.baddbmm_", _inplace("baddbmm_"), lambda rng: _bmm(rng, False)[:1]),
    OpSpec("addbmm", lambda m, x, a, b, **kw: m.addbmm(x, a, b, **kw),
           lambda rng: _bmm(rng, True)),
    OpSpec("Tensor.addbmm_", _inplace("addbmm_"), lambda rng: _bmm(rng, True)[:1]),
    OpSpec("chain_matmul", _chain, lambda rng: [
        Sample((randn(rng, 2, 3), randn(rng, 3, 4), randn(rng, 4, 2))),
        Sample((randn(rng, 2, 3),)),
        Sample((randn(rng, 2, 0), randn(rng, 0, 3))),
    ], errors=[
        ErrorCase((), RuntimeError, "Expected one or more matrices"),
        ErrorCase((V, Y), RuntimeError, "Tensor dimension is 1, expected 2 instead."),
    ]),
    OpSpec("cross", lambda m, a, b, **kw: m.cross(a, b, **kw), _cross_samples, errors=[
        ErrorCase((np.ones((4, 2)), np.ones((4, 2))), RuntimeError,
                  "inputs dimension 1 must have length 3. Got 2 and 2", {"dim": 1}),
        ErrorCase((np.ones((4, 3)), np.ones((4, 3), np.float32)), RuntimeError,
                  "expected scalar type", {"dim": 1}),
        ErrorCase((np.ones((4, 3)), np.ones(3)), RuntimeError, "same number of dimensions",
                  {"dim": -1}),
    ]),
    OpSpec("cross_default_dim", _cross_default, lambda rng: [
        Sample((randn(rng, 2, 3, 3), randn(rng, 2, 3, 3))),
    ]),
    OpSpec("Tensor.cross", lambda m, a, b: a.cross(b, dim=0),
           lambda rng: [Sample((randn(rng, 3, 2), randn(rng, 3, 2)))]),
)
