"""Transforms of vectors and matrices: ``SoftmaxTransform``, ``StickBreakingTransform`` (to
the simplex), ``LowerCholeskyTransform``, ``PositiveDefiniteTransform``,
``CorrCholeskyTransform`` (to Cholesky factors of correlation matrices), ``ReshapeTransform``;
and ``CumulativeDistributionTransform`` (a distribution's CDF)."""

from __future__ import annotations

import math

import numpy as np

import gpugrad
from gpugrad.nn import functional as F

from . import constraints
from .transform_base import Transform
from .utils import tril_matrix_to_vec, vec_to_tril_matrix

__all__ = ["CorrCholeskyTransform", "CumulativeDistributionTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "ReshapeTransform", "SoftmaxTransform",
           "StickBreakingTransform"]


class SoftmaxTransform(Transform):
    """From unconstrained vectors to the simplex: softmax over the last dim (not bijective;
    the inverse gives log-probabilities)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def __eq__(self, other):
        return isinstance(other, SoftmaxTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        logprobs = x
        probs = (logprobs - logprobs.amax(-1, keepdim=True)).exp()
        return probs / probs.sum(-1, keepdim=True)

    def _inverse(self, y):
        return y.log()


class StickBreakingTransform(Transform):
    """From unconstrained vectors of size K-1 to the K-simplex by stick breaking (bijective;
    ``biject_to(simplex)``)."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other):
        return isinstance(other, StickBreakingTransform)

    __hash__ = object.__hash__

    @staticmethod
    def _log_offset(x):
        k = x.shape[-1]
        offset = gpugrad.arange(k, 0, -1, dtype=x.dtype, device=x.device)  # K-1 ... 1 + 1
        return offset.log()

    def _call(self, x):
        t = x - self._log_offset(x)
        z = t.sigmoid()
        # prod_{j<i} (1 - z_j), as exp(cumsum(log(1 - z))) with log(1 - sigmoid) = -softplus
        log_rest = (-F.softplus(t)).cumsum(-1)
        ones = gpugrad.ones(*x.shape[:-1], 1, dtype=x.dtype, device=x.device)
        rest = gpugrad.cat([ones, log_rest.exp()], -1)
        return gpugrad.cat([z, ones], -1) * rest

    def _inverse(self, y):
        y_crop = y[..., :-1]
        tiny = float(np.finfo(y._data.dtype).tiny)
        sf = (1 - y_crop.cumsum(-1)).clamp(min=tiny)
        return y_crop.log() - sf.log() + self._log_offset(y_crop)

    def log_abs_det_jacobian(self, x, y):
        t = x - self._log_offset(x)
        return (-t + F.logsigmoid(t) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return gpugrad.Size((*shape[:-1], shape[-1] + 1))

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return gpugrad.Size((*shape[:-1], shape[-1] - 1))


class LowerCholeskyTransform(Transform):
    """From unconstrained square matrices to lower-triangular ones with a positive diagonal:
    the strict lower triangle kept, the diagonal exponentiated (not bijective)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other):
        return isinstance(other, LowerCholeskyTransform)

    __hash__ = object.__hash__

    @staticmethod
    def _map_diagonal(x, fn):
        from ._linalg import diagonal

        eye = gpugrad.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        return x.tril(-1) + fn(diagonal(x)).unsqueeze(-1) * eye

    def _call(self, x):
        return self._map_diagonal(x, lambda d: d.exp())

    def _inverse(self, y):
        return self._map_diagonal(y, lambda d: d.log())


class PositiveDefiniteTransform(Transform):
    """From unconstrained square matrices to positive-definite ones: L L^T with L from
    ``LowerCholeskyTransform`` (not bijective)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other):
        return isinstance(other, PositiveDefiniteTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        low = LowerCholeskyTransform()(x)
        return low @ low.mT

    def _inverse(self, y):
        from ._linalg import cholesky

        return LowerCholeskyTransform().inv(cholesky(y))


class CorrCholeskyTransform(Transform):
    """From unconstrained vectors of size D(D-1)/2 to Cholesky factors of D x D correlation
    matrices (lower triangular, positive diagonal, rows of unit norm); bijective.

    Each entry is squashed by tanh into (-1, 1) and read as a partial correlation, filling the
    strict lower triangle row by row; each row is then scaled so that its squares, the
    diagonal's included, sum to 1 (stick breaking on each row's squared norm)."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def __eq__(self, other):
        return isinstance(other, CorrCholeskyTransform)

    __hash__ = object.__hash__

    @staticmethod
    def _shift_right_one(t):
        """Each row's entries moved one place right, a 1 entering on the left."""
        ones = gpugrad.ones(*t.shape[:-1], 1, dtype=t.dtype, device=t.device)
        return gpugrad.cat([ones, t[..., :-1]], -1)

    def _call(self, x):
        eps = float(np.finfo(x._data.dtype).eps)
        r = vec_to_tril_matrix(x.tanh().clamp(min=-1 + eps, max=1 - eps), diag=-1)
        # the part of a row's unit norm left after the entries to the left of each one
        left = (1 - r.pow(2)).sqrt().cumprod(-1)
        r = r + gpugrad.eye(r.shape[-1], dtype=r.dtype, device=r.device)
        return r * self._shift_right_one(left)

    def _inverse(self, y):
        left = self._shift_right_one(1 - (y * y).cumsum(-1))
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(left, diag=-1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2  # atanh

    def log_abs_det_jacobian(self, x, y):
        # stick breaking's part: half the log of what is left of each row before each
        # off-diagonal entry; tanh's: log(1 - tanh(x)^2), written stably
        left = tril_matrix_to_vec(1 - (y * y).cumsum(-1), diag=-2)
        stick_breaking = 0.5 * left.log().sum(-1)
        tanh = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking + tanh

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return gpugrad.Size((*shape[:-1], d, d))

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return gpugrad.Size((*shape[:-2], d * (d - 1) // 2))


class ReshapeTransform(Transform):
    """Reshape the rightmost ``in_shape`` dims of each event to ``out_shape`` (bijective,
    unit Jacobian)."""

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size: int = 0):
        self.in_shape = gpugrad.Size(in_shape)
        self.out_shape = gpugrad.Size(out_shape)
        if int(np.prod(self.in_shape)) != int(np.prod(self.out_shape)):
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @constraints.dependent_property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        batch = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return x.reshape(*batch, *self.out_shape)

    def _inverse(self, y):
        batch = tuple(y.shape[:y.dim() - len(self.out_shape)])
        return y.reshape(*batch, *self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        batch = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return gpugrad.zeros(batch, dtype=x.dtype, device=x.device)

    @staticmethod
    def _swap(shape, old, new):
        if len(shape) < len(old):
            raise ValueError("Too few dimensions on input")
        cut = len(shape) - len(old)
        if tuple(shape[cut:]) != tuple(old):
            raise ValueError(f"Shape mismatch: expected {tuple(shape[cut:])} but got "
                             f"{tuple(old)}")
        return gpugrad.Size((*shape[:cut], *new))

    def forward_shape(self, shape):
        return self._swap(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._swap(shape, self.out_shape, self.in_shape)


class CumulativeDistributionTransform(Transform):
    """The CDF of ``distribution``: from its support to the unit interval (its log-density
    is the log-determinant)."""

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)
