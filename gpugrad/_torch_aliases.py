"""The layers and losses that PyTorch also exposes at the top level (``torch.conv2d``,
``torch.batch_norm``, ``torch.dropout``, ``torch.kl_div`` ...), with the ATen signatures those
names have there: ``torch.dropout(input, p, train)`` has no defaults, the losses take
``reduction`` as an int (0 none, 1 mean, 2 sum) whose default is 0 (none: ATen's schemas say
"mean", but PyTorch's Python bindings read that default as 0, and ``torch.kl_div(x, y)`` is
elementwise), the norms take a ``cudnn_enabled`` flag,
``torch.embedding`` takes the weight first. Each forwards to ``gpugrad.nn.functional``; only
``feature_dropout`` and ``embedding_bag``'s extra outputs are computed here (``torch.cdist``,
with math of its own, is ``ops/distance.py``). Autocast casts them as PyTorch's, through
``F``'s wrapped functions.
"""

from __future__ import annotations

import numpy as np

from .nn import functional as F
from .nn.functional.activation_piecewise import rrelu_with_generator
from .nn.functional.dropout import _check_p, _dropout
from .ops._util import Tensor, check_tensor

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
    "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout",
    "feature_alpha_dropout_", "feature_dropout", "feature_dropout_",
    "embedding", "embedding_bag", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
    "native_channel_shuffle", "cosine_similarity", "pairwise_distance", "pdist",
    "selu", "selu_", "celu", "celu_", "prelu", "rrelu", "rrelu_", "threshold", "threshold_",
    "hardshrink", "kl_div", "ctc_loss", "margin_ranking_loss", "hinge_embedding_loss",
    "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
    "binary_cross_entropy_with_logits", "bilinear", "constant_pad_nd",
    "affine_grid_generator", "grid_sampler",
]


# --------------------------------------------------------------------------- convolutions
# Each calls ``F``'s function when called (not bound at import), so that autocast's wrapper of
# the ``F`` function casts these too.
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    return F.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    return F.conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    return F.conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    return F.conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    return F.bilinear(input1, input2, weight, bias)


# --------------------------------------------------------------------------- shuffles, distances
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    return F.channel_shuffle(input, groups)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle`` (differentiable here; PyTorch's native op has no derivative)."""
    return F.channel_shuffle(input, groups)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-08) -> Tensor:
    return F.cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-06,
                      keepdim: bool = False) -> Tensor:
    return F.pairwise_distance(x1, x2, p, eps, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    return F.pdist(input, p)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    return F.rms_norm(input, normalized_shape, weight, eps)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    return F.prelu(input, weight)


_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(reduction) -> str:
    """ATen's reduction enum (0 none, 1 mean, 2 sum) as F's string."""
    if isinstance(reduction, bool) or reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")
    return _REDUCTIONS[reduction]


# --------------------------------------------------------------------------- normalization
# ``cudnn_enabled`` lets PyTorch pick cuDNN's kernel; gpugrad has one kernel per norm, so the
# flag changes nothing, like ``backends.cudnn.enabled``.
def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
               running_mean: Tensor | None, running_var: Tensor | None, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool) -> Tensor:
    """``F.batch_norm`` with ATen's argument order (weight and bias before the running
    statistics; every argument required)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-05,
               cudnn_enable: bool = True) -> Tensor:
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-05,
               cudnn_enabled: bool = True) -> Tensor:
    return F.group_norm(input, num_groups, weight, bias, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                  running_mean: Tensor | None, running_var: Tensor | None,
                  use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    """``F.instance_norm`` with ATen's argument order (every argument required)."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


# --------------------------------------------------------------------------- dropout
def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.dropout(input, p, train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero whole channels (dim 1) of ``input`` (N, C, ...) with probability ``p``, scaling
    the rest by ``1 / (1 - p)``, in training: ``dropout2d`` for any number of dims."""
    check_tensor(input, "feature_dropout")
    _check_p(p)
    return _dropout(input, p, train, False, feature=True, alpha=False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    check_tensor(input, "feature_dropout_")
    _check_p(p)
    return _dropout(input, p, train, True, feature=True, alpha=False)


# --------------------------------------------------------------------------- activations
def selu(input: Tensor) -> Tensor:
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:
    return F.selu_(input)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return F.celu_(input, alpha)


def rrelu(input: Tensor, lower: float = 0.125, upper: float = 1.0 / 3, training: bool = False,
          generator=None) -> Tensor:
    """``F.rrelu`` whose random slopes come from ``generator`` (in training)."""
    return rrelu_with_generator(input, lower, upper, training, False, generator)


def rrelu_(input: Tensor, lower: float = 0.125, upper: float = 1.0 / 3,
           training: bool = False, generator=None) -> Tensor:
    return rrelu_with_generator(input, lower, upper, training, True, generator)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold_(input, threshold, value)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return F.hardshrink(input, lambd)


# --------------------------------------------------------------------------- losses
def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *,
           log_target: bool = False) -> Tensor:
    how = _reduction(reduction)
    if how == "mean":  # (without F.kl_div's warning about 'mean', which PyTorch's lacks here)
        return F.kl_div(input, target, reduction="none", log_target=log_target).mean()
    return F.kl_div(input, target, reduction=how, log_target=log_target)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                      _reduction(reduction), zero_infinity)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    return F.margin_ranking_loss(input1, input2, target, margin,
                                 reduction=_reduction(reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: int = 0) -> Tensor:
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction(reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2.0, eps: float = 1e-06,
                        swap: bool = False, reduction: int = 0) -> Tensor:
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction(reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """``F.poisson_nll_loss`` with every argument required, ``reduction`` an int."""
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction(reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = 0) -> Tensor:
    return F.binary_cross_entropy_with_logits(input, target, weight,
                                              reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


# --------------------------------------------------------------------------- lookups, padding
def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """``F.embedding`` with the weight first; a negative ``padding_idx`` means none (ATen's
    convention: ``F.embedding`` turns its negative indices into positive ones first)."""
    check_tensor(weight, "embedding", "weight")
    return F.embedding(indices, weight, padding_idx if padding_idx >= 0 else None,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor,
                  scale_grad_by_freq: bool = False, mode: int = 0, sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> tuple:
    """``F.embedding_bag`` with ATen's signature (``mode`` 0 sum, 1 mean, 2 max; ``offsets``
    required, as for a 1-D ``indices``). Returns ``(output, offset2bag, bag_size,
    max_indices)``: the bag of each index, the number of indices in each bag (padding left
    out), and for ``max`` the row of ``weight`` that gave each maximum (else ``bag_size``)."""
    check_tensor(weight, "embedding_bag", "weight")
    check_tensor(indices, "embedding_bag", "indices")
    if isinstance(mode, bool) or mode not in (0, 1, 2):
        raise ValueError(f"embedding_bag: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode}")
    if padding_idx is not None and padding_idx < 0:
        padding_idx = None  # ATen's convention, as for embedding
    out = F.embedding_bag(indices, weight, offsets if indices.dim() == 1 else None,
                          scale_grad_by_freq=scale_grad_by_freq, mode=_BAG_MODES[mode],
                          sparse=sparse, per_sample_weights=per_sample_weights,
                          include_last_offset=include_last_offset, padding_idx=padding_idx)
    backend = indices._backend
    idx = backend.to_numpy(indices._data).reshape(-1)
    if indices.dim() == 2:
        bags, length = indices.shape
        offset2bag = np.repeat(np.arange(bags), length)
    else:
        starts = backend.to_numpy(offsets._data).astype(np.int64)
        if include_last_offset:
            starts = starts[:-1]
        bags = len(starts)
        offset2bag = np.repeat(np.arange(bags), np.diff(np.append(starts, idx.size)))
    kept = idx != padding_idx if padding_idx is not None else np.ones(idx.size, bool)
    bag_size = np.bincount(offset2bag[kept], minlength=bags)[:bags].astype(np.int64)
    if mode == 2:
        rows = backend.to_numpy(weight.detach()._data)[idx]
        max_indices = np.zeros((bags, weight.shape[1]), np.int64)
        for b in range(bags):
            members = np.flatnonzero((offset2bag == b) & kept)
            if members.size:
                max_indices[b] = idx[members[np.argmax(rows[members], axis=0)]]
    else:
        max_indices = bag_size.copy()
    as_tensor = lambda a: indices._new(backend.asarray(a.astype(np.int64)))  # noqa: E731
    return out, as_tensor(offset2bag), as_tensor(bag_size), as_tensor(max_indices)


def constant_pad_nd(input: Tensor, pad, value: float = 0) -> Tensor:
    """``F.pad`` in constant mode (negative pads crop)."""
    return F.pad(input, list(pad), "constant", value)


# --------------------------------------------------------------------------- grids
_INTERPOLATION = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


def affine_grid_generator(theta: Tensor, size, align_corners: bool) -> Tensor:
    return F.affine_grid(theta, list(size), align_corners)


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                 align_corners: bool) -> Tensor:
    """``F.grid_sample`` with ATen's enums: interpolation 0 bilinear, 1 nearest, 2 bicubic;
    padding 0 zeros, 1 border, 2 reflection."""
    if isinstance(interpolation_mode, bool) or interpolation_mode not in (0, 1, 2):
        raise ValueError("grid_sampler: interpolation_mode must be 0 (bilinear), 1 (nearest) "
                         f"or 2 (bicubic), got {interpolation_mode}")
    if isinstance(padding_mode, bool) or padding_mode not in (0, 1, 2):
        raise ValueError("grid_sampler: padding_mode must be 0 (zeros), 1 (border) or 2 "
                         f"(reflection), got {padding_mode}")
    return F.grid_sample(input, grid, _INTERPOLATION[interpolation_mode],
                         _PADDING[padding_mode], align_corners)
