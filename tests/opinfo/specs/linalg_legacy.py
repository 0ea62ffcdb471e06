"""Specs of PyTorch's legacy linalg names (``gpugrad/ops/linalg_legacy.py``):
``triangular_solve``, ``lu``, ``lu_solve``, the norms kept for TorchScript
(``frobenius_norm``, ``nuclear_norm``), and the removed ones that only raise."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

_TOL = {"atol32": 1e-4, "rtol32": 1e-3}
_REMOVED = "deprecated since version 1.9 and is now removed"


def _general(rng, *shape):
    return randn(rng, *shape) + shape[-1] * np.eye(shape[-1])


def _triangular_samples(rng):
    return [Sample((randn(rng, 3, 2), _general(rng, 3, 3))),
            Sample((randn(rng, 3, 2), _general(rng, 3, 3), False)),
            Sample((randn(rng, 3, 2), _general(rng, 3, 3), True, True)),
            Sample((randn(rng, 3, 1), _general(rng, 3, 3), False, True, True)),
            Sample((randn(rng, 4, 3, 2), _general(rng, 2, 1, 3, 3))),
            Sample((randn(rng, 3, 0), _general(rng, 3, 3)))]


def _lu_solve(m, b, A):
    LU, pivots = m.linalg.lu_factor(A)
    return m.lu_solve(b, LU, pivots)


def _removed(name, *args):
    return OpSpec(name, lambda m, *a: getattr(m, name)(*a), lambda rng: [],
                  errors=[ErrorCase((np.eye(2),) * len(args or (1,)), RuntimeError, _REMOVED)])


STRUCTURE_DIFFERS = {
    "triangular_solve": "linalg.solve_triangular's node under expands, and a clone for the "
                        "coefficient (PyTorch: one TriangularSolveBackward0)",
    "lu_solve": "linalg.lu_solve's graph (its own difference)",
    "frobenius_norm": "linalg.vector_norm's LinalgVectorNormBackward0 (PyTorch: NormBackward1 "
                      "of its legacy norm)",
    "nuclear_norm": "linalg.matrix_norm's graph (PyTorch: its own, with permutes)",
}

register(
    OpSpec("triangular_solve", lambda m, b, A, *a: m.triangular_solve(b, A, *a),
           _triangular_samples, **_TOL,
           errors=[ErrorCase((np.ones(3), np.eye(3)), RuntimeError, "at least 2 dimensions"),
                   ErrorCase((np.ones((4, 2)), np.eye(3)), RuntimeError,
                             "Incompatible matrix sizes for triangular_solve"),
                   ErrorCase((np.ones((3, 2), np.float32), np.eye(3)), RuntimeError,
                             "same dtype"),
                   ErrorCase((np.ones((3, 2), np.int64), np.eye(3, dtype=np.int64)),
                             NotImplementedError, "not implemented for 'Long'")]),
    OpSpec("lu", lambda m, A, *a, **k: m.lu(A, *a, **k),
           lambda rng: [Sample((_general(rng, 3, 3),)), Sample((_general(rng, 2, 4, 4),)),
                        Sample((_general(rng, 3, 3),), {"get_infos": True})], **_TOL),
    OpSpec("lu_rectangular", lambda m, A: m.lu(A), lambda rng: [Sample((randn(rng, 2, 3),))],
           differentiable=False),
    OpSpec("lu_solve", _lu_solve,
           lambda rng: [Sample((randn(rng, 3, 2), _general(rng, 3, 3))),
                        Sample((randn(rng, 3, 1), _general(rng, 2, 3, 3)))], **_TOL),
    OpSpec("frobenius_norm", lambda m, x, *a: m.frobenius_norm(x, *a),
           lambda rng: [Sample((randn(rng, 3, 4), (0, 1))), Sample((randn(rng, 2, 3, 4), 1)),
                        Sample((randn(rng, 2, 3, 4), (2, 0), True)),
                        Sample((randn(rng, 0, 3), (1,)))], **_TOL,
           errors=[ErrorCase((np.ones((2, 2, 2)), (0, 1, 2)), RuntimeError,
                             "at most 2 dimensions")]),
    OpSpec("nuclear_norm", lambda m, x, *a: m.nuclear_norm(x, *a),
           lambda rng: [Sample((randn(rng, 3, 4),)), Sample((randn(rng, 3, 4), True)),
                        Sample((randn(rng, 2, 3, 4),)),
                        Sample((randn(rng, 4, 2, 3), (2, 0), True))], **_TOL,
           errors=[ErrorCase((np.ones(3),), RuntimeError, "at least 2 dimensions")]),
    _removed("matrix_rank"),
    _removed("lstsq", 1, 2),
    _removed("solve", 1, 2),
    _removed("eig"),
    _removed("symeig"),
)
