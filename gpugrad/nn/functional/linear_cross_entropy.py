"""``linear_cross_entropy``: ``cross_entropy(linear(input, W, b), target)``, and with
``options`` the fused chunked form that never holds the (N, C) logits (``ops/
linear_cross_entropy.py``), with PyTorch's ``LinearCrossEntropyOptions``."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np

from ... import _dtype as dt
from ..._warnings import warn_user
from ...ops._util import Tensor, check_tensor
from ...ops.linear_cross_entropy import LinearCrossEntropy
from ._reduction import check_reduction
from .layers import linear
from .loss_ce import (
    _check_class_input,
    _check_targets_in_range,
    cross_entropy,
    ignore_index_arg,
    smoothing_arg,
)

__all__ = ["linear_cross_entropy", "LinearCrossEntropyOptions"]

_POLICIES = ("auto", "accurate", "balanced", "compact")
_ACC_DTYPES = ("float16", "bfloat16", "float32", "float64")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """How :func:`linear_cross_entropy` chunks the batch (``options=None``: not at all).

    Args:
        allow_retain_graph: accepted for PyTorch's API: a second backward through a retained
            graph always works here (it recomputes the chunks).
        batch_chunk_size: rows per chunk (None: one chunk, unless ``chunking_method`` picks).
        chunking_method: ``"auto"`` (gpugrad's pick: 1/16 of the rows, at least 128),
            ``"aspect_ratio"`` (a chunk's logits as large as the input:
            ``next_pow2(ceil(N / ceil(C / in_features)))`` rows), ``"aspect_ratio:K"`` (that
            over K), or None (``batch_chunk_size``).
        acc_policy: ``"accurate"``, ``"balanced"``, ``"compact"`` or ``"auto"`` (``"compact"``
            on CUDA, ``"accurate"`` elsewhere); see ``gpugrad/ops/linear_cross_entropy.py``.
        acc_dtype: the accumulation dtype (None: float32 for float16/bfloat16 inputs, else the
            input's dtype).
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: dt.dtype | None = None

    def __post_init__(self):
        if self.acc_policy not in _POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not (name == "aspect_ratio" and (not sep or (factor.isdigit() and int(factor)))):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        size = self.batch_chunk_size
        if not (size is None or (isinstance(size, int) and not isinstance(size, bool)
                                 and size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size!r}")
        acc = self.acc_dtype
        if acc is not None and (not isinstance(acc, dt.dtype) or acc.name not in _ACC_DTYPES):
            raise ValueError(
                "acc_dtype must be one of {None, gpugrad.float16, gpugrad.bfloat16, "
                f"gpugrad.float32, gpugrad.float64}}, got {acc!r}. Pass acc_dtype=None to let "
                "the op pick automatically."
            )

    def _resolve(self, n: int, in_features: int, num_classes: int, dtype: dt.dtype,
                 device_type: str):
        """(rows per chunk, policy, accumulation dtype) for one call."""
        method = self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None  # an explicit size wins over the automatic pick
        chunk = n if self.batch_chunk_size is None else min(self.batch_chunk_size, n)
        if method == "auto":
            chunk = min(n, max(128, _next_pow2(-(-n // 16))))
        elif method is not None:
            factor = int(method.partition(":")[2] or 1)
            rows = _next_pow2(-(-n // -(-num_classes // max(in_features, 1))))
            chunk = min(rows // factor, n)
            if self.batch_chunk_size is not None and self.batch_chunk_size != chunk:
                raise ValueError(
                    f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                    f"('{method}') give different chunk sizes ({self.batch_chunk_size} vs "
                    f"{chunk}); pass only one."
                )
        policy = self.acc_policy
        if policy == "auto":
            policy = "compact" if device_type == "cuda" else "accurate"
        if policy == "compact" and device_type != "cuda":
            policy = "balanced"  # accumulating into a half-precision buffer needs cuBLAS
        acc = self.acc_dtype
        if acc is None:
            acc = dt.float32 if dtype.itemsize < 4 else dtype
        return max(1, chunk), policy, acc.np


def _next_pow2(n: int) -> int:
    return 1 << (max(n, 1) - 1).bit_length()


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0,
                         options: LinearCrossEntropyOptions | None = None) -> Tensor:
    """Cross-entropy of ``linear(input, linear_weight, linear_bias)`` against ``target``.

    Equal to ``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``. With
    ``options`` (a :class:`LinearCrossEntropyOptions`) the batch runs in chunks of rows: the
    matmul and the fused softmax-cross-entropy of one chunk at a time, so only one chunk's
    logits exist; forward computes the gradients, backward scales them.

    Args:
        input: (N, in_features) or (in_features,).
        linear_weight: (C, in_features), or (C, d_1, ..., d_K, in_features) for a
            K-dimensional loss (computed unchunked).
        target: class indices (N,) / () in [0, C), or probabilities shaped like the logits.
        linear_bias: (C,) (or (C, d_1, ..., d_K)) or None.
        weight, reduction, label_smoothing: as in :func:`cross_entropy`.
        ignore_index: as in :func:`cross_entropy` (None: -100); not with probabilities.
    """
    for name, t in (("input", input), ("linear_weight", linear_weight), ("target", target)):
        check_tensor(t, "linear_cross_entropy", name)
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(
            f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), got "
            f"{in_features} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batch:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}")
    logits_shape = (*batch, num_classes, *out_features)
    probs = tuple(target.shape) == logits_shape
    if probs and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index_arg(ignore_index,
                                                                      "cross_entropy_loss")
    if options is not None and out_features:
        warn_user("linear_cross_entropy: ``options`` ignored; the chunked path needs "
                  f"out_features == (), got {out_features}")
    if options is None or out_features or not _chunkable(input, linear_weight, linear_bias,
                                                          target, probs):
        return _reference(input, linear_weight, target, linear_bias, weight, reduction,
                          ignore_index, label_smoothing, logits_shape)
    return _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
                    label_smoothing, options, probs)


def _chunkable(input, linear_weight, linear_bias, target, probs) -> bool:
    """Whether the chunked op applies; otherwise the reference path gives PyTorch's answer
    (or its error): mixed dtypes, integer inputs, a probability target that requires grad."""
    dtype = input.dtype
    return (dtype.is_floating_point and linear_weight.dtype is dtype
            and (linear_bias is None or linear_bias.dtype is dtype)
            and linear_weight.device == input.device
            and not (probs and target.requires_grad))


def _reference(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
               label_smoothing, logits_shape):
    """The logits in full, then ``cross_entropy`` (a K-dimensional head flattened for
    ``linear``, its logits reshaped back)."""
    outputs = math.prod(linear_weight.shape[:-1])
    w2 = linear_weight.reshape(outputs, linear_weight.shape[-1])
    b2 = None if linear_bias is None else linear_bias.reshape(outputs)
    logits = linear(input, w2, b2).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
             label_smoothing, options, probs):
    reduction = check_reduction(reduction)
    label_smoothing = smoothing_arg(label_smoothing)
    unbatched = input.dim() == 1
    if unbatched:
        input = input.reshape(1, -1)
        target = target.reshape(1, -1) if probs else target.reshape(1)
    n, c = input.shape[0], linear_weight.shape[0]
    # The logits' checks, on a stand-in of their shape (no memory behind it).
    logits = SimpleNamespace(_data=np.broadcast_to(np.empty((), np.float32), (n, c)))
    _check_class_input("linear_cross_entropy", logits, target, weight, probs)
    if probs:
        target = target if target.dtype is input.dtype else target.to(input.dtype)
    else:
        _check_targets_in_range(target, c, ignore_index)
        target = target if target.dtype is dt.int64 else target.long()
    if weight is not None and weight.dtype is not input.dtype:
        weight = weight.to(input.dtype)
    chunk, policy, acc_dtype = options._resolve(n, input.shape[1], c, input.dtype,
                                                input.device.type)
    loss = LinearCrossEntropy.apply(input, linear_weight, linear_bias, target, weight,
                                    int(ignore_index), float(label_smoothing), reduction, chunk,
                                    policy, acc_dtype)
    return loss.reshape(()) if unbatched and reduction == "none" else loss
