"""Specs of ``torch.linalg`` (and PyTorch's top-level linalg names): norms, determinants,
inverses, solves, decompositions, products.

Samples are well conditioned: invertible matrices carry a multiple of the identity, symmetric
positive-definite ones are ``X X^T + n I``. Ops that read one triangle of a symmetric input
(cholesky, eigh) get ``(A + A^T) / 2`` so that finite differences see the function PyTorch
differentiates. Eigenvectors and singular vectors are compared after fixing their arbitrary
signs (first row made nonnegative), which keeps the loss gauge-invariant.
"""

from __future__ import annotations

import math

import numpy as np

from gpugrad.linalg import LinAlgError

from ..core import ErrorCase, OpSpec, Sample, away_from, randn, register


def _general(rng, *shape):
    """Random matrices with the identity times their size added: well conditioned."""
    return randn(rng, *shape) + shape[-1] * np.eye(shape[-1])


def _spd(rng, *shape):
    x = randn(rng, *shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def _sym(a):
    return (a + a.mT) / 2


def _signs(m, V):
    """Columns of ``V`` with their first entry made nonnegative."""
    return V * m.sign(V[..., :1, :])


def _each(make, *shapes, **kwargs):
    def samples(rng):
        return [Sample((make(rng, *s),), dict(kwargs)) for s in shapes]

    return samples


def _pairs(make_a, make_b, *shapes, **kwargs):
    def samples(rng):
        return [Sample((make_a(rng, *a), make_b(rng, *b)), dict(kwargs)) for a, b in shapes]

    return samples


def _kw_samples(make, shape, *kwargs_list):
    def samples(rng):
        return [Sample((make(rng, *shape),), kw) for kw in kwargs_list]

    return samples


_TOL = {"atol32": 1e-4, "rtol32": 1e-3}
_SQUARE = ((3, 3), (2, 4, 4), (1, 1))
_SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
_NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])


def _svd_signed(m, a, full):
    U, S, Vh = m.linalg.svd(a, full_matrices=full)
    k = S.shape[-1]
    s = m.sign(U[..., :1, :k])
    return _signs(m, U[..., :k]), S, Vh[..., :k, :] * s.mT


def _torch_svd_signed(m, a, some):
    U, S, V = m.svd(a, some=some)
    k = S.shape[-1]
    s = m.sign(U[..., :1, :k])
    return U[..., :k] * s, S, V[..., :k] * s


def _PINV(rng):
    return ([Sample((randn(rng, *s),)) for s in ((4, 3), (3, 4), (2, 3, 3))]
            + [Sample((randn(rng, 3, 3),), {"rtol": 1e-3}), Sample((randn(rng, 0, 3),))])


register(
    # ---------------------------------------------------------------------- norms
    OpSpec("linalg.vector_norm", lambda m, x, **kw: m.linalg.vector_norm(x, **kw),
           lambda rng: [
               Sample((away_from(randn(rng, 3, 4), [0]),), {"ord": o, "dim": d, "keepdim": k})
               for o, d, k in ((2, None, False), (1, 1, True), (math.inf, 0, False),
                               (-math.inf, (0, 1), False), (0, 1, False), (0.5, -1, False),
                               (3.5, None, True), (-1, 1, False))
           ] + [Sample((randn(rng, 0, 3),), {"dim": 0})], **_TOL, errors=[
               ErrorCase((np.ones(3),), TypeError, "argument 'ord' must be Number",
                         {"ord": "fro"}),
               ErrorCase((np.ones(3, dtype=np.int64),), RuntimeError,
                         "Expected a floating point"),
           ]),
    OpSpec("linalg.vector_norm_dtype",
           lambda m, x: m.linalg.vector_norm(x, dtype=m.float64),
           _each(randn, (3, 4))),
    OpSpec("linalg.matrix_norm", lambda m, a, **kw: m.linalg.matrix_norm(a, **kw),
           lambda rng: [
               Sample((randn(rng, 2, 3, 4),), {"ord": o}) for o in
               ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)
           ] + [Sample((randn(rng, 3, 2, 4),), {"ord": o, "dim": (0, 2), "keepdim": True})
                for o in ("nuc", 1, "fro")], **_TOL, errors=[
               ErrorCase((np.ones((2, 2)),), RuntimeError, "Order 3 not supported",
                         {"ord": 3}),
               ErrorCase((np.ones(2),), RuntimeError, "at least 2 dimensions"),
           ]),
    OpSpec("linalg.norm", lambda m, a, **kw: m.linalg.norm(a, **kw),
           lambda rng: [Sample((randn(rng, 3, 4),), kw) for kw in (
               {}, {"ord": "nuc"}, {"ord": 1, "dim": 0}, {"ord": -2},
               {"ord": math.inf, "dim": (1, 0), "keepdim": True})]
           + [Sample((randn(rng, 2, 3, 2),), {})], **_TOL),
    OpSpec("norm_nuc", lambda m, a: m.norm(a, p="nuc"), _each(randn, (3, 4)), **_TOL),
    OpSpec("Tensor.norm_nuc_dim", lambda m, a: a.norm(p="nuc", dim=(0, 2)),
           _each(randn, (3, 2, 4)), **_TOL),
    # ------------------------------------------------------------- determinants
    OpSpec("linalg.det", lambda m, a: m.linalg.det(a), _each(_general, *_SQUARE, (2, 0, 0)),
           **_TOL, errors=[ErrorCase((np.ones((2, 3)),), RuntimeError,
                                     "must be batches of square matrices")]),
    OpSpec("det", lambda m, a: m.det(a), _each(randn, (3, 3)), **_TOL),
    OpSpec("Tensor.det", lambda m, a: a.det(), _each(randn, (2, 2)), **_TOL),
    OpSpec("linalg.slogdet", lambda m, a: m.linalg.slogdet(a), _each(randn, (3, 3), (2, 4, 4)),
           **_TOL),
    OpSpec("slogdet", lambda m, a: tuple(m.slogdet(a)), _each(randn, (3, 3)), **_TOL),
    OpSpec("logdet", lambda m, a: m.logdet(a), _each(_spd, (3, 3), (2, 4, 4)), **_TOL),
    OpSpec("logdet_negative", lambda m, a: m.logdet(a), lambda rng: [
        Sample((np.array([[0.0, 1.0], [1.0, 0.0]]) + 0.1 * randn(rng, 2, 2),))],
        differentiable=False),
    # ------------------------------------------------------------------ inverses
    OpSpec("linalg.inv", lambda m, a: m.linalg.inv(a), _each(_general, *_SQUARE, (2, 0, 0)),
           **_TOL, errors=[
               ErrorCase((_SINGULAR,), LinAlgError, "singular"),
               ErrorCase((_SINGULAR,), RuntimeError, "singular"),
               ErrorCase((np.ones(3),), RuntimeError, "at least 2 dimensions"),
               ErrorCase((np.ones((2, 2), dtype=np.int64),), RuntimeError,
                         "Expected a floating point or complex tensor as input. Got Long"),
           ]),
    OpSpec("linalg.inv_ex", lambda m, a: tuple(m.linalg.inv_ex(a)), _each(_general, (2, 3, 3)),
           **_TOL),
    OpSpec("inverse", lambda m, a: m.inverse(a), _each(_general, (3, 3)), **_TOL),
    OpSpec("Tensor.inverse", lambda m, a: a.inverse(), _each(_general, (2, 2)), **_TOL),
    # (PyTorch's pinv under autocast returns bfloat16 but cannot differentiate it: the float32
    # specs are values only; the float64 ones check the gradients)
    OpSpec("linalg.pinv", lambda m, a, **kw: m.linalg.pinv(a, **kw), _PINV, dtypes=("float64",)),
    OpSpec("linalg.pinv_values", lambda m, a, **kw: m.linalg.pinv(a, **kw), _PINV,
           differentiable=False, **_TOL),
    OpSpec("linalg.pinv_hermitian",
           lambda m, a: m.linalg.pinv(_sym(a), hermitian=True), _each(_general, (3, 3)),
           dtypes=("float64",)),
    OpSpec("linalg.pinv_hermitian_values",
           lambda m, a: m.linalg.pinv(_sym(a), hermitian=True), _each(_general, (3, 3)),
           differentiable=False, **_TOL),
    OpSpec("pinverse", lambda m, a: m.pinverse(a), _each(randn, (4, 2)), **_TOL),
    OpSpec("linalg.matrix_rank", lambda m, a, **kw: m.linalg.matrix_rank(a, **kw), lambda rng: [
        Sample((randn(rng, 2, 4, 3),)),
        Sample((randn(rng, 4, 2) @ randn(rng, 2, 4),)),
        Sample((randn(rng, 3, 3),), {"atol": 1.0}),
        Sample((_spd(rng, 3, 3),), {"hermitian": True}),
    ], differentiable=False),
    OpSpec("linalg.cond", lambda m, a, **kw: m.linalg.cond(a, **kw), lambda rng: [
        Sample((_general(rng, 3, 3),)), Sample((randn(rng, 2, 4, 3),), {"p": -2}),
        Sample((_general(rng, 3, 3),), {"p": 2})], **_TOL),
    OpSpec("linalg.cond_norms", lambda m, a, p: m.linalg.cond(a, p), lambda rng: [
        Sample((_general(rng, 3, 3), p)) for p in ("fro", "nuc", math.inf, -1)],
        differentiable=False, **_TOL),  # (PyTorch cannot differentiate these)
    # -------------------------------------------------------------------- solves
    OpSpec("linalg.solve", lambda m, a, b, **kw: m.linalg.solve(a, b, **kw), lambda rng: [
        Sample((_general(rng, 3, 3), randn(rng, 3, 2))),
        Sample((_general(rng, 2, 3, 3), randn(rng, 3))),
        Sample((_general(rng, 2, 3, 3), randn(rng, 2, 3))),
        Sample((_general(rng, 2, 1, 3, 3), randn(rng, 4, 3, 1))),
        Sample((_general(rng, 3, 3), randn(rng, 2, 3)), {"left": False}),
        Sample((_general(rng, 0, 3, 3), randn(rng, 0, 3, 2))),
    ], **_TOL, errors=[
        ErrorCase((_SINGULAR, np.ones(2)), LinAlgError, "singular"),
        ErrorCase((np.eye(2), np.ones(3)), RuntimeError, "Incompatible shapes"),
        ErrorCase((np.eye(2), np.ones(2, dtype=np.float32)), RuntimeError,
                  "Expected A and B to have the same dtype"),
    ]),
    OpSpec("linalg.solve_triangular",
           lambda m, a, b, **kw: m.linalg.solve_triangular(a, b, **kw), lambda rng: [
               Sample((_general(rng, 3, 3), randn(rng, 3, 2)), {"upper": True}),
               Sample((_general(rng, 2, 3, 3), randn(rng, 3, 2)), {"upper": False}),
               Sample((randn(rng, 3, 3), randn(rng, 2, 3, 1)),
                      {"upper": True, "unitriangular": True}),
               Sample((_general(rng, 3, 3), randn(rng, 2, 3)), {"upper": False, "left": False}),
           ], **_TOL, errors=[
               ErrorCase((np.eye(2), np.ones(2)), RuntimeError, "at least 2 dimensions",
                         {"upper": True}),
           ]),
    OpSpec("linalg.cholesky", lambda m, a, **kw: m.linalg.cholesky(_sym(a), **kw), lambda rng: [
        Sample((_spd(rng, 3, 3),)), Sample((_spd(rng, 2, 4, 4),), {"upper": True}),
        Sample((_spd(rng, 2, 0, 0),))], **_TOL, errors=[
        ErrorCase((_NOT_PD,), LinAlgError, "not positive-definite"),
    ]),
    OpSpec("linalg.cholesky_ex", lambda m, a: tuple(m.linalg.cholesky_ex(_sym(a))),
           _each(_spd, (2, 3, 3)), **_TOL),
    OpSpec("cholesky", lambda m, a: m.cholesky(_sym(a)), _each(_spd, (3, 3)), **_TOL),
    OpSpec("cholesky_solve",
           lambda m, a, b, **kw: m.cholesky_solve(b, m.linalg.cholesky(_sym(a), **kw), **kw),
           lambda rng: [Sample((_spd(rng, 3, 3), randn(rng, 3, 2))),
                        Sample((_spd(rng, 2, 3, 3), randn(rng, 2, 3, 1)), {"upper": True})],
           **_TOL),
    OpSpec("cholesky_inverse",
           lambda m, a, **kw: m.cholesky_inverse(m.linalg.cholesky(_sym(a), **kw), **kw),
           lambda rng: [Sample((_spd(rng, 3, 3),)), Sample((_spd(rng, 3, 3),), {"upper": True})],
           **_TOL),
    OpSpec("linalg.lstsq", lambda m, a, b, **kw: m.linalg.lstsq(a, b, **kw).solution,
           lambda rng: [Sample((randn(rng, 5, 3), randn(rng, 5, 2))),
                        Sample((randn(rng, 2, 4, 4), randn(rng, 2, 4))),
                        Sample((randn(rng, 3, 5), randn(rng, 3, 2)))], **_TOL),
    OpSpec("linalg.lstsq_outputs", lambda m, a, b, **kw: tuple(m.linalg.lstsq(a, b, **kw))[1:],
           lambda rng: [Sample((randn(rng, 5, 3), randn(rng, 5, 2)), {"driver": d})
                        for d in ("gelsy", "gelsd", "gelss", "gels")], differentiable=False,
           **_TOL),
    # ------------------------------------------------------------ decompositions
    OpSpec("linalg.qr", lambda m, a, **kw: tuple(m.linalg.qr(a, **kw)), lambda rng: [
        Sample((randn(rng, 4, 3),)), Sample((randn(rng, 2, 3, 3),)), Sample((randn(rng, 3, 5),)),
        Sample((randn(rng, 3, 4),), {"mode": "complete"}), Sample((randn(rng, 0, 3),))],
        **_TOL, errors=[ErrorCase((np.eye(2),), RuntimeError, "unrecognized mode 'x'",
                                  {"mode": "x"})]),
    OpSpec("linalg.qr_nograd", lambda m, a, **kw: tuple(m.linalg.qr(a, **kw)), lambda rng: [
        Sample((randn(rng, 4, 3),), {"mode": "r"}),
        Sample((randn(rng, 4, 3),), {"mode": "complete"})], differentiable=False, **_TOL),
    OpSpec("qr", lambda m, a, **kw: tuple(m.qr(a, **kw)), lambda rng: [
        Sample((randn(rng, 4, 3),)), Sample((randn(rng, 3, 3),), {"some": False})], **_TOL),
    # ------------------------------------------------------------ Householder reflectors
    OpSpec("linalg.householder_product", lambda m, a, tau: m.linalg.householder_product(a, tau),
           lambda rng: [Sample((randn(rng, *a), randn(rng, *t, lo=0.0, hi=2.0))) for a, t in (
               ((4, 3), (2,)), ((2, 5, 3), (2, 3)), ((3, 3), (3,)), ((4, 2), (0,)),
               ((0, 4, 3), (0, 3)))],
           **_TOL, errors=[
               ErrorCase((np.ones(3), np.ones(1)), RuntimeError, "at least 2 dimensions"),
               ErrorCase((np.ones((2, 3)), np.ones(1)), RuntimeError,
                         r"input.shape\[-2\] must be greater than or equal to input.shape\[-1\]"),
               ErrorCase((np.ones((4, 2)), np.ones(3)), RuntimeError,
                         r"input.shape\[-1\] must be greater than or equal to tau.shape\[-1\]"),
               ErrorCase((np.ones((4, 2)), np.ones((1, 2))), RuntimeError,
                         "Expected tau to have one dimension less than input"),
               ErrorCase((np.ones((2, 4, 2)), np.ones((3, 2))), RuntimeError,
                         r"Expected batch dimensions of tau to be equal to input.shape\[:-2\], "
                         r"but got \[3\]"),
               ErrorCase((np.ones((4, 2)), np.float64(1.0)), TypeError, "must be Tensor")]),
    OpSpec("orgqr", lambda m, a, tau: a.orgqr(tau),
           lambda rng: [Sample((randn(rng, 2, 4, 3), randn(rng, 2, 3, lo=0.0, hi=2.0)))],
           **_TOL),
    # (no derivative, as PyTorch's: geqrf's outputs feed householder_product without gradient)
    OpSpec("geqrf", lambda m, a: tuple(m.geqrf(a)), _each(randn, (5, 3), (2, 3, 4), (0, 2),
                                                          (2, 0, 4, 3)),
           differentiable=False, **_TOL, errors=[
               ErrorCase((np.ones(3),), RuntimeError, "at least 2 dimensions")]),
    OpSpec("linalg.eigh", lambda m, a, **kw: (lambda w, V: (w, _signs(m, V)))(
        *m.linalg.eigh(_sym(a), **kw)), lambda rng: [
        Sample((randn(rng, 3, 3),)), Sample((randn(rng, 2, 4, 4),), {"UPLO": "U"})],
        **_TOL, errors=[ErrorCase((np.eye(2),), RuntimeError, "UPLO", {"UPLO": "X"})]),
    OpSpec("linalg.eigvalsh", lambda m, a: m.linalg.eigvalsh(_sym(a)),
           _each(randn, (3, 3), (2, 4, 4)), **_TOL),
    OpSpec("linalg.svd", lambda m, a, full: _svd_signed(m, a, full), lambda rng: [
        Sample((randn(rng, 4, 3), False)), Sample((randn(rng, 2, 3, 5), False)),
        Sample((randn(rng, 3, 3), True)), Sample((randn(rng, 4, 2), True))], **_TOL),
    OpSpec("svd", lambda m, a, some: _torch_svd_signed(m, a, some), lambda rng: [
        Sample((randn(rng, 4, 3), True)), Sample((randn(rng, 3, 4), False))], **_TOL),
    OpSpec("svd_values_only", lambda m, a: m.svd(a, compute_uv=False),
           _each(randn, (4, 3)), differentiable=False),
    OpSpec("linalg.svdvals", lambda m, a: m.linalg.svdvals(a), _each(randn, (4, 3), (2, 2, 3)),
           **_TOL),
    # ------------------------------------------------------------------ products
    OpSpec("linalg.matrix_power", lambda m, a, n: m.linalg.matrix_power(a, n), lambda rng: [
        Sample((_general(rng, 2, 3, 3) / 3, n)) for n in (0, 1, 3, -2)], **_TOL, errors=[
        ErrorCase((np.eye(2), 1.5), TypeError, "must be int")]),
    OpSpec("matrix_power", lambda m, a: a.matrix_power(2), _each(randn, (3, 3)), **_TOL),
    OpSpec("linalg.matrix_exp", lambda m, a: m.linalg.matrix_exp(a),
           _each(randn, (3, 3), (2, 2, 2), (0, 2, 2)), **_TOL),
    OpSpec("matrix_exp", lambda m, a: a.matrix_exp(), _each(randn, (3, 3)), **_TOL),
    OpSpec("linalg.multi_dot", lambda m, *ts: m.linalg.multi_dot(ts), lambda rng: [
        Sample((randn(rng, 3), randn(rng, 3, 4), randn(rng, 4, 2))),
        Sample((randn(rng, 2, 3), randn(rng, 3, 4), randn(rng, 4))),
        Sample((randn(rng, 2, 3), randn(rng, 3, 2)))], **_TOL),
    OpSpec("linalg.cross", lambda m, a, b, **kw: m.linalg.cross(a, b, **kw), lambda rng: [
        Sample((randn(rng, 2, 3), randn(rng, 1, 3))),
        Sample((randn(rng, 3, 2), randn(rng, 3, 2)), {"dim": 0})], errors=[
        ErrorCase((np.ones(2), np.ones(2)), RuntimeError, "must have length 3")]),
    OpSpec("cross", lambda m, a, b: m.cross(a, b, dim=1), _pairs(randn, randn, ((2, 3), (2, 3)))),
    OpSpec("linalg.vecdot", lambda m, a, b, **kw: m.linalg.vecdot(a, b, **kw), lambda rng: [
        Sample((randn(rng, 2, 3), randn(rng, 1, 3))),
        Sample((randn(rng, 3, 2), randn(rng, 3, 1)), {"dim": 0})]),
    OpSpec("linalg.diagonal", lambda m, a, **kw: m.linalg.diagonal(a, **kw), lambda rng: [
        Sample((randn(rng, 2, 3, 4),)), Sample((randn(rng, 3, 2, 4),),
                                                {"offset": 1, "dim1": 0, "dim2": 2}),
        Sample((randn(rng, 4, 3),), {"offset": -2})]),
    OpSpec("linalg.vander", lambda m, x, **kw: m.linalg.vander(x, **kw), lambda rng: [
        Sample((randn(rng, 4),)), Sample((randn(rng, 2, 3),), {"N": 5})]),
    # (PyTorch's own backward of torch.vander fails: values only)
    OpSpec("vander", lambda m, x, **kw: m.vander(x, **kw), lambda rng: [
        Sample((randn(rng, 4),)), Sample((randn(rng, 3),), {"N": 5, "increasing": True})],
        differentiable=False),
    # ------------------------------------------------------------------------ LU
    OpSpec("linalg.lu_factor", lambda m, a, **kw: tuple(m.linalg.lu_factor(a, **kw)),
           _each(randn, (4, 4), (2, 3, 3), (0, 2, 2)), **_TOL, errors=[
               ErrorCase((np.eye(2),), RuntimeError, "without pivoting", {"pivot": False})]),
    OpSpec("linalg.lu_factor_rectangular", lambda m, a: tuple(m.linalg.lu_factor(a)),
           _each(randn, (5, 3), (2, 3, 4)), differentiable=False, **_TOL),
    OpSpec("linalg.lu_factor_ex", lambda m, a: tuple(m.linalg.lu_factor_ex(a)),
           _each(randn, (2, 3, 3)), **_TOL),
    OpSpec("linalg.lu_factor_ex_singular", lambda m, a: tuple(m.linalg.lu_factor_ex(a)),
           lambda rng: [Sample((np.stack([_SINGULAR, np.eye(2)]),))], differentiable=False),
    OpSpec("linalg.lu", lambda m, a: tuple(m.linalg.lu(a)), _each(randn, (4, 4), (2, 3, 3)),
           **_TOL),
    OpSpec("linalg.lu_rectangular", lambda m, a: tuple(m.linalg.lu(a)),
           _each(randn, (5, 3), (3, 4)), differentiable=False, **_TOL),
    OpSpec("lu_unpack", lambda m, a: tuple(m.lu_unpack(*m.linalg.lu_factor(a))),
           _each(randn, (3, 3), (2, 4, 4)), **_TOL),
    OpSpec("linalg.lu_solve",
           lambda m, a, b, **kw: m.linalg.lu_solve(*m.linalg.lu_factor(a), b, **kw),
           lambda rng: [Sample((_general(rng, 2, 3, 3), randn(rng, *s)), kw) for s, kw in (
               ((2, 3, 2), {}), ((3, 1), {"adjoint": True}), ((2, 2, 3), {"left": False}),
               ((2, 3), {"left": False, "adjoint": True}))],
           **_TOL),
    OpSpec("linalg.solve_ex", lambda m, a, b: tuple(m.linalg.solve_ex(a, b)),
           _pairs(_general, randn, ((2, 3, 3), (2, 3, 2))), **_TOL),
    OpSpec("linalg.solve_ex_singular", lambda m, a: m.linalg.solve_ex(a, a).info,
           lambda rng: [Sample((np.stack([_SINGULAR, np.eye(2)]),))], differentiable=False),
    OpSpec("linalg.inv_ex_singular", lambda m, a: m.linalg.inv_ex(a).info,
           lambda rng: [Sample((np.stack([_SINGULAR, np.eye(2)]),))], differentiable=False),
    OpSpec("linalg.cholesky_ex_info", lambda m, a: m.linalg.cholesky_ex(a).info,
           lambda rng: [Sample((np.stack([_NOT_PD, np.eye(2)]),)),
                        Sample((np.diag([1.0, 1.0, -1.0]),))], differentiable=False),
    OpSpec("linalg.tensorinv", lambda m, a, **kw: m.linalg.tensorinv(a, **kw), lambda rng: [
        Sample((_general(rng, 6, 6).reshape(6, 2, 3),), {"ind": 1}),
        Sample((_general(rng, 4, 4).reshape(2, 2, 4),))], **_TOL),
    OpSpec("linalg.tensorsolve", lambda m, a, b, **kw: m.linalg.tensorsolve(a, b, **kw),
           lambda rng: [
               Sample((_general(rng, 6, 6).reshape(2, 3, 6), randn(rng, 2, 3))),
               Sample((_general(rng, 6, 6).reshape(6, 2, 3), randn(rng, 2, 3)),
                      {"dims": (0,)})], **_TOL),
)

STRUCTURE_DIFFERS = dict.fromkeys(
    ("linalg.householder_product", "orgqr"),
    "one update per reflector, as Tensor ops (PyTorch: one LinalgHouseholderProductBackward0)")
