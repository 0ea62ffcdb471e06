"""Statistics built from the reductions: ``nansum``, ``nanmean``, ``var_mean``, ``std_mean``,
``aminmax``, ``count_nonzero``, ``dist``, ``renorm``, ``cov``, ``corrcoef``.

Each is a few differentiable Tensor ops (PyTorch writes most of them as composites too), so
their gradients are those of the parts: ``nansum`` sends nothing to NaN entries, ``renorm``
differentiates through the norm it scales by, ``cov`` through the mean it centres on.
``aminmax`` is one node of its own (``minmax.Aminmax``), as PyTorch's.
"""

from __future__ import annotations

import warnings

from .. import _capture
from .. import _dtype as dt
from ._return_types import result, return_types
from ._util import Tensor, check_tensor, wrap_dim, wrap_dims
from .compare import isnan
from .minmax import Aminmax
from .reduction import Std, Var, mean, norm, sum, variance  # noqa: A004
from .select import clamp, where

__all__ = ["nansum", "nanmean", "var_mean", "std_mean", "aminmax", "count_nonzero", "dist",
           "renorm", "cov", "corrcoef"]

result("aminmax", "min max")


def _zero_nan(input: Tensor) -> Tensor:
    if not input.is_floating_point():
        return input
    return where(isnan(input), 0, input)


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum`` treating NaN as zero (its gradient there is zero)."""
    check_tensor(input, "nansum")
    return sum(_zero_nan(input), dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``mean`` of the entries that are not NaN (NaN where a slice holds nothing else)."""
    check_tensor(input, "nanmean")
    if not input.is_floating_point():
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_torch_name(input)}")
    kept = (~isnan(input)).sum(dim, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / kept


def _torch_name(input: Tensor) -> str:
    """PyTorch's scalar-type name of ``input``'s dtype (``Long``, ``Float``...)."""
    return dt.SCALAR_TYPE_NAMES[input.dtype.name]


def _check_float(input: Tensor, name: str) -> None:
    if not input.is_floating_point():
        raise RuntimeError(f"{name} only support floating point and complex dtypes")


def _all_dims(input: Tensor, dim):
    """``dim`` with None spelled as every dim (so ``keepdim`` keeps them all)."""
    if isinstance(dim, bool):
        raise TypeError("dim must be an int, a tuple of ints or None")
    return tuple(range(input._data.ndim)) if dim is None else dim


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(var(input, ...), mean(input, ...))`` over ``dim``; arguments as ``var``."""
    check_tensor(input, "var_mean")
    _check_float(input, "var_mean")
    if isinstance(dim, bool):  # the legacy form var_mean(input, unbiased)
        dim, unbiased = None, dim
    out = variance(Var, "var_mean", input, dim, unbiased, keepdim, correction)
    return out, mean(input, _all_dims(input, dim), keepdim)


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(std(input, ...), mean(input, ...))`` over ``dim``; arguments as ``var``."""
    check_tensor(input, "std_mean")
    _check_float(input, "std_mean")
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    deviation = variance(Std, "std_mean", input, dim, unbiased, keepdim, correction)
    return deviation, mean(input, _all_dims(input, dim), keepdim)


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(min, max)`` over ``dim`` (one int, or all when None) as ``return_types.aminmax``, both
    outputs of one node; ties share the gradient, as in ``amin`` / ``amax``."""
    check_tensor(input, "aminmax")
    data = input._data
    if dim is None:
        if data.size == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as "
                               "the operation has no identity.")
        dims = None
    else:
        axis = wrap_dim(dim, data.ndim)
        if data.ndim and data.shape[axis] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {axis} to have non-zero size.")
        dims = (axis,) if data.ndim else None
    if input.dtype == dt.bool:
        lo, hi = Aminmax.apply_unary(input.to(dt.uint8), dims, keepdim)
        return return_types.aminmax(lo.to(dt.bool), hi.to(dt.bool))
    return return_types.aminmax(*Aminmax.apply_unary(input, dims, keepdim))


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of nonzero entries (int64) over ``dim`` (an int, a tuple, or all)."""
    check_tensor(input, "count_nonzero")
    nonzero = input != 0
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return nonzero.sum()
    wrap_dims(dim, input._data.ndim)
    return nonzero.sum(dim)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast)."""
    check_tensor(input, "dist")
    check_tensor(other, "dist", "other")
    common = dt.result_type(input, other)  # (an integer and a float tensor: the float)
    if not common.is_floating_point:
        raise RuntimeError("norm(): input dtype should be either floating point or complex. "
                           f"Got {dt.SCALAR_TYPE_NAMES[common.name]} instead.")
    return norm(input - other, p)


def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """``input`` with each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled
    down to norm ``maxnorm`` (by ``maxnorm / (norm + 1e-7)``, as PyTorch)."""
    check_tensor(input, "renorm")
    data = input._data
    axis = wrap_dim(dim, data.ndim)
    if not p > 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if data.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {data.ndim} "
                           "dimensions")
    if not input.is_floating_point():
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_torch_name(input)}")
    others = tuple(d for d in range(data.ndim) if d != axis)
    norms = norm(input, p, others, keepdim=True)
    return input * where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)


@_capture.island(repeatable=True)  # checked at each replay of a captured step
def _check_nonnegative(arr, name: str) -> None:
    if arr.size and bool((arr < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")


def _observation_weights(fweights, aweights, n: int):
    """The combined weights (fweights * aweights, either, or None) after PyTorch's checks."""
    for name, w in (("fweights", fweights), ("aweights", aweights)):
        if w is None:
            continue
        check_tensor(w, "cov", name)
        if w._data.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                               f"{name} with {w._data.ndim} dimensions")
        if w._data.size != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                               f"observations in the input but got {w._data.size} != {n}")
    if fweights is not None and fweights._data.dtype.kind not in "iu":
        raise RuntimeError("cov(): expected fweights to have integral dtype but got fweights "
                           f"with {_torch_name(fweights)} dtype")
    if aweights is not None and not aweights.is_floating_point():
        raise RuntimeError("cov(): expected aweights to have floating point dtype but got "
                           f"aweights with {_torch_name(aweights)} dtype")
    for name, w in (("fweights", fweights), ("aweights", aweights)):
        if w is not None:
            _check_nonnegative(w._data, name)
    if fweights is None:
        return aweights
    return fweights if aweights is None else fweights * aweights


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (1-D: one variable),
    observations in the columns; ``fweights`` (integer) and ``aweights`` (float) weigh the
    observations, ``correction`` as in ``var``."""
    check_tensor(input, "cov")
    data = input._data
    if data.ndim > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {data.ndim} dimensions")
    x = input.reshape(1, -1) if data.ndim < 2 else input
    if not x.is_floating_point():
        x = x.to(dt.get_default_dtype())
    n = x._data.shape[1]
    w = _observation_weights(fweights, aweights, n)
    if w is None:
        avg = x.mean(1)
        norm_factor = n - correction
        if not norm_factor > 0:
            _warn_dof()
            norm_factor = 0
    else:
        w = w.to(x.dtype) if w.is_floating_point() else w
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        if aweights is not None and correction != 0:
            norm_factor = w_sum - correction * (w * aweights).sum() / w_sum
        else:
            norm_factor = w_sum - correction
        if not float(norm_factor.detach().item()) > 0:  # read on the host, as PyTorch reads it
            _warn_dof()
            norm_factor = norm_factor * 0
    centred = x - avg.unsqueeze(1)
    weighted = centred if w is None else centred * w
    c = centred.matmul(weighted.t()) / norm_factor
    return c.squeeze()


def _warn_dof() -> None:
    """PyTorch's warning when the normalization factor is not positive (the division then
    gives inf or NaN)."""
    warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                  "than the number of observations.", UserWarning, stacklevel=4)


def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation coefficients of the variables in the rows of ``input`` (as
    ``cov``), clipped to [-1, 1]."""
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    n = c._data.shape[0]
    positions = Tensor._make(c._backend.xp.arange(n), c._backend)
    stddev = c[positions, positions].sqrt()
    c = c / stddev.reshape(-1, 1)
    c = c / stddev.reshape(1, -1)
    return clamp(c, -1, 1)


METHODS = {"nansum": nansum, "nanmean": nanmean, "aminmax": aminmax,
           "count_nonzero": count_nonzero, "dist": dist, "renorm": renorm, "cov": cov,
           "corrcoef": corrcoef}
