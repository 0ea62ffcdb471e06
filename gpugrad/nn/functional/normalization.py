"""Normalizations: ``batch_norm`` (per channel over the batch), ``group_norm``,
``instance_norm``, ``local_response_norm``, ``rms_norm``, ``normalize``.

Written with differentiable Tensor ops (mean, var, rsqrt, arithmetic; ``group_norm`` and
``instance_norm`` on ``layer_norm``'s fused op), so their gradients, double backward included,
come from theirs; running statistics are updated outside the graph.
"""

from __future__ import annotations

import math

import numpy as np

from ... import _dtype as dt
from ...autograd.grad_mode import no_grad
from ...factories import zeros
from ...ops._util import Tensor, check_tensor, math_ns, wrap_dim
from ...ops.join import cat
from ._norm_dtype import is_mixed
from .layers import layer_norm

__all__ = ["batch_norm", "group_norm", "instance_norm", "local_response_norm", "rms_norm",
           "normalize"]


def _check_channels(name: str, t: Tensor | None, c: int) -> None:
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) of ``input`` (N, C, ...) to zero mean and unit variance,
    then scale by ``weight`` and shift by ``bias`` (each (C,) or None).

    In training the batch's statistics are used, and ``running_mean``/``running_var`` (if
    given) move toward them by ``momentum`` (the variance unbiased, as PyTorch); otherwise the
    running statistics are used. A float16/bfloat16 ``input`` may have float32 parameters and
    statistics (computed in float32, the result in ``input``'s dtype), as PyTorch's.
    """
    check_tensor(input, "batch_norm")
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (got {input.dim()}D input)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(name, t, c)
    if is_mixed("batch_norm", input, running_mean, running_var, weight, bias):
        return batch_norm(input.float(), running_mean, running_var, weight, bias, training,
                          momentum, eps).to(input.dtype)
    dims = (0, *range(2, input.dim()))
    shape = (1, c) + (1,) * (input.dim() - 2)
    if training:
        count = input.numel() // c if c else 0
        if count <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{input.shape!r}"  # PyTorch prints its Size
            )
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        if running_mean is not None and running_var is not None:
            with no_grad():
                unbiased = var * (count / (count - 1))
                running_mean.copy_(mean * momentum + running_mean * (1 - momentum))
                running_var.copy_(unbiased * momentum + running_var * (1 - momentum))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be defined in "
                               "evaluation mode")
        mean, var = running_mean, running_var
    out = (input - mean.reshape(shape)) * (var + eps).rsqrt().reshape(shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _channel_affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """``out * weight + bias`` with (C,) ``weight`` and ``bias`` along dim 1."""
    shape = (out.shape[1],) + (1,) * (out.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _normalize_rows(x: Tensor, rows: int, eps: float) -> Tensor:
    """Each of ``rows`` equal slices of ``x``'s values normalized to zero mean and unit
    (biased) variance, in ``x``'s shape."""
    width = x.numel() // rows if rows else 0
    return layer_norm(x.reshape(rows, width), (width,), eps=eps).reshape(x.shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Split the channels (dim 1) of ``input`` (N, C, *) into ``num_groups`` groups, normalize
    each group of each sample over its channels and positions, then scale and shift each channel
    by ``weight`` and ``bias`` (C,)."""
    check_tensor(input, "group_norm")
    if input.dim() < 2:
        raise RuntimeError("Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    shape = list(input.shape)
    n, c = shape[0], shape[1]
    if c % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {shape} and "
                           f"num_groups={num_groups}")
    if n * c // num_groups * math.prod(shape[2:]) == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {[n * c // num_groups, num_groups] + shape[2:]}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} "
                               f"and input of shape {shape}")
    if is_mixed("GroupNormKernelImpl", input, weight, bias):
        return group_norm(input.float(), num_groups, weight, bias, eps).to(input.dtype)
    return _channel_affine(_normalize_rows(input, n * num_groups, eps), weight, bias)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample of ``input`` (N, C, *) over its positions, then
    scale and shift per channel. With ``use_input_stats`` the statistics are the sample's own
    (and ``running_mean``/``running_var``, if given, move toward their batch average by
    ``momentum``, the variance unbiased); otherwise the running statistics are used."""
    check_tensor(input, "instance_norm")
    shape = list(input.shape)
    n, c = shape[0], shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(name, t, c)
    if is_mixed("batch_norm", input, weight, bias):  # (not the running statistics, as PyTorch)
        return instance_norm(input.float(), running_mean, running_var, weight, bias,
                             use_input_stats, momentum, eps).to(input.dtype)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when "
                               "use_input_stats is false")
        stats = (c,) + (1,) * (input.dim() - 2)
        out = (input - running_mean.reshape(stats)) * (running_var + eps).rsqrt().reshape(stats)
        return _channel_affine(out, weight, bias)
    positions = math.prod(shape[2:])
    if positions == 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"torch.Size({shape})")
    if running_mean is not None and running_var is not None and n * c:
        with no_grad():
            flat = input.reshape(n, c, positions)
            mean = flat.mean(2).mean(0)
            var = flat.var(2, correction=1).mean(0)
            running_mean.copy_(mean * momentum + running_mean * (1 - momentum))
            running_var.copy_(var * momentum + running_var * (1 - momentum))
    return _channel_affine(_normalize_rows(input, n * c, eps), weight, bias)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide each entry of ``input`` (N, C, *) by ``(k + alpha * mean(x^2)) ** beta``, the
    mean over ``size`` neighbouring channels (zeros past the edges count)."""
    check_tensor(input, "local_response_norm")
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    squares = input * input
    rest = tuple(input.shape[2:])
    before = zeros((input.shape[0], size // 2) + rest, dtype=input.dtype, device=input.device)
    after = zeros((input.shape[0], (size - 1) // 2) + rest, dtype=input.dtype,
                  device=input.device)
    padded = cat([before, squares, after], 1)
    c = input.shape[1]
    window = padded.narrow(1, 0, c)
    for i in range(1, size):
        window = window + padded.narrow(1, i, c)
    return input / (window / size * alpha + k) ** beta


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``input / sqrt(mean(input^2) + eps)`` over the trailing ``normalized_shape`` dims, times
    ``weight``; ``eps`` defaults to the machine epsilon of the dtype it is computed in (float32
    for float16/bfloat16 inputs). The result has ``input``'s dtype whatever ``weight``'s (a
    weight of another dtype multiplies before the one rounding), as PyTorch's."""
    check_tensor(input, "rms_norm")
    if not input.is_floating_point():
        raise dt.not_implemented_for("rms_norm", input.dtype)
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError("rms_norm(): argument 'normalized_shape' (position 2) must be tuple of "
                        f"ints, not {type(normalized_shape).__name__}")
    normalized = [int(s) for s in normalized_shape]
    shape = list(input.shape)
    k = len(normalized)
    if k == 0 or len(shape) < k or shape[len(shape) - k:] != normalized:
        raise RuntimeError(f"Given normalized_shape={normalized}, expected input with shape "
                           f"[*{', '.join(str(s) for s in normalized)}], but got input of size"
                           f"{shape}")
    if weight is not None and list(weight.shape) != normalized:
        raise RuntimeError("Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{normalized}")
    half = input.dtype.itemsize < 4  # float16/bfloat16 compute in float32, as PyTorch's
    x = input.float() if half else input
    if eps is None:
        eps = float(np.finfo(x.dtype.np).eps)
    dims = tuple(range(input.dim() - k, input.dim()))
    out = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None and weight.dtype is not input.dtype:
        return (out * weight).to(input.dtype)
    if half:
        out = out.to(input.dtype)
    return out if weight is None else out * weight


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``); written into
    ``out`` where given (which must not require grad, as PyTorch's ``div`` refuses)."""
    check_tensor(input, "normalize")
    wrap_dim(dim, input.dim())
    denominator = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denominator
    return math_ns().div(input, denominator, out=out)  # (the public div: it takes out=)
