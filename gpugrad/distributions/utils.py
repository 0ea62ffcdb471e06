"""Helpers shared by the distributions: broadcasting parameters, probabilities and logits."""

from __future__ import annotations

import math
import numbers

import numpy as np

import gpugrad

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix"]


def broadcast_all(*values):
    """Broadcast Tensors and numbers to one shape; numbers become tensors of the first
    tensor's dtype and device (the default dtype without one)."""
    tensors = [v for v in values if isinstance(v, gpugrad.Tensor)]
    for v in values:
        if not isinstance(v, (gpugrad.Tensor, numbers.Number)):
            raise ValueError("Input arguments must all be instances of numbers.Number, "
                             "torch.Tensor or objects implementing __torch_function__.")
    if tensors:
        dtype, device = tensors[0].dtype, tensors[0].device
    else:
        dtype, device = gpugrad.get_default_dtype(), None
    values = [v if isinstance(v, gpugrad.Tensor) else gpugrad.tensor(v, dtype=dtype,
                                                                     device=device)
              for v in values]
    return tuple(gpugrad.broadcast_tensors(*values))  # (PyTorch's error where they do not)


EULER_GAMMA = 0.57721566490153286060


def _eps(t) -> float:
    return float(np.finfo(t._data.dtype).eps)


def _tiny(t) -> float:
    return float(np.finfo(t._data.dtype).tiny)


def _check_one_of(probs, logits) -> None:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _expand_probs_or_logits(source, new, shape) -> None:
    """``expand`` of a distribution given by ``probs`` or ``logits``: whichever of the two
    ``source`` has computed, expanded to ``shape`` on ``new``, the last one as ``new._param``."""
    for name in ("probs", "logits"):
        if name in source.__dict__:
            new.__dict__[name] = new._param = source.__dict__[name].expand(shape)


def clamp_probs(probs):
    """Probabilities clamped to [eps, 1 - eps] of their dtype."""
    eps = _eps(probs)
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary: bool = False):
    """Sigmoid of binary logits, else softmax over the last dim."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def probs_to_logits(probs, is_binary: bool = False):
    """Log-odds of binary probabilities, else their logs (after clamping)."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


class lazy_property:
    """A property computed once on first read and stored on the instance (as PyTorch's
    ``lazy_property``): ``probs`` from ``logits`` and the reverse."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with gpugrad.enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def tril_matrix_to_vec(mat, diag: int = 0):
    """The lower triangle (from diagonal ``diag``) of a batch of matrices, as vectors."""
    n = mat.shape[-1]
    rows, cols = np.tril_indices(n, k=diag)
    flat = mat.reshape(*mat.shape[:-2], n * n)
    index = gpugrad.tensor(rows * n + cols, device=mat.device)
    return flat.index_select(-1, index)


def vec_to_tril_matrix(vec, diag: int = 0):
    """The inverse of ``tril_matrix_to_vec``."""
    m = vec.shape[-1]
    n = int(round((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1))
                   ** 0.5) / 2))
    rows, cols = np.tril_indices(n, k=diag)
    if len(rows) != m:
        raise ValueError("vec_to_tril_matrix: the size is not a triangular number")
    out = gpugrad.zeros(*vec.shape[:-1], n * n, dtype=vec.dtype, device=vec.device)
    index = gpugrad.tensor(rows * n + cols, device=vec.device).expand(*vec.shape[:-1], m)
    return out.scatter(-1, index, vec).reshape(*vec.shape[:-1], n, n)



def _xlogy(x, y):
    """``x * log(y)``, 0 where ``x`` is 0, with torch.xlogy's gradients."""
    from ._special import xlogy

    return xlogy(x, y)


def _sum_rightmost(value, dim: int):
    """Sum over the ``dim`` rightmost dims."""
    if dim == 0:
        return value
    return value.reshape(*value.shape[:value.dim() - dim], -1).sum(-1)


def _mvlgamma(x, p: int):
    """The log of the multivariate gamma function Gamma_p(x), elementwise, as torch.mvlgamma:
    p(p-1)/4 log(pi) + sum_{j<p} lgamma(x - j/2)."""
    out = p * (p - 1) / 4 * math.log(math.pi)
    for j in range(p):
        out = out + gpugrad.lgamma(x - j / 2)
    return out
