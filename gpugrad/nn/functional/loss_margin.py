"""Margin and ranking losses, as composites of Tensor ops: ``margin_ranking_loss``,
``hinge_embedding_loss``, ``soft_margin_loss``, ``multilabel_soft_margin_loss``,
``cosine_embedding_loss``, ``multi_margin_loss``, ``multilabel_margin_loss``,
``triplet_margin_loss``, ``triplet_margin_with_distance_loss``."""

from __future__ import annotations

from ...ops._util import Tensor, check_tensor, math_ns
from ._pointwise import log1p_exp
from ._reduction import check_no_grad_argument, check_reduction, reduce_loss
from .distance import pairwise_distance

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss", "cosine_embedding_loss", "multi_margin_loss",
           "multilabel_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss"]


def _size(t: Tensor) -> str:
    return f"torch.Size({list(t.shape)})"


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``: ``target`` 1 asks ``input1`` to rank
    higher by ``margin``, -1 lower."""
    reduction = check_reduction(reduction, size_average, reduce)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {_size(input1)}, input2: {_size(input2)}, target: {_size(target)} ")
    return reduce_loss((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1 (``input``
    usually a distance)."""
    reduction = check_reduction(reduction, size_average, reduce)
    check_tensor(input, "hinge_embedding_loss")
    where = math_ns().where
    loss = (where(target != 1, (margin - input).clamp(min=0), 0.0)
            + where(target != -1, input, 0.0))
    return reduce_loss(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-target * input))`` for targets 1 or -1."""
    reduction = check_reduction(reduction, size_average, reduce)
    check_tensor(input, "soft_margin_loss")
    loss = log1p_exp(-input * target)
    if tuple(loss.shape) != tuple(input.shape):  # PyTorch writes into input's shape
        raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast "
                           f"shape {list(loss.shape)}")
    return reduce_loss(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Per-class logistic loss against 0/1 ``target``, (optionally) weighted per class and
    averaged over the classes (the last dim): one value per sample before ``reduction``."""
    reduction = check_reduction(reduction, size_average, reduce)
    check_tensor(input, "multilabel_soft_margin_loss")
    loss = target * log1p_exp(-input) + (1 - target) * log1p_exp(input)
    if weight is not None:
        loss = loss * weight
    classes = input.dim() - 1
    return reduce_loss(loss.sum(classes) / input.shape[classes], reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(input1, input2)`` where ``target`` is 1, ``max(0, cos - margin)`` where it is
    -1, with the cosine over the last dim of (N, D) or (D,) inputs."""
    reduction = check_reduction(reduction, size_average, reduce)
    check_tensor(input1, "cosine_embedding_loss", "input1")
    check_tensor(input2, "cosine_embedding_loss", "input2")
    if target.dim() == 1 and (input1.dim() != 2 or input2.dim() != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if target.dim() == 0 and (input1.dim() != 1 or input2.dim() != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if target.dim() > 1:
        raise RuntimeError(f"{target.dim()}D target tensor expected, multi-target not "
                           "supported")
    dim = input1.dim() - 1
    eps = 1e-12  # keeps zero vectors finite, as PyTorch's
    dot = (input1 * input2).sum(dim)
    squares = ((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)
    cos = dot / squares.sqrt()
    where = math_ns().where
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp(min=0),
                                                    0.0)
    return reduce_loss(loss, reduction)


def _class_targets(input: Tensor, target: Tensor) -> None:
    """PyTorch's checks of a multi-class margin loss's (N, C) or (C,) input and int64 target."""
    if not ((input.dim() == 2 and input.shape[1] != 0) or (input.dim() == 1 and input.shape[0])
            or input.dim() == 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")
    if target.dtype.name != "int64":
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{'Float' if target.dtype.name == 'float32' else target.dtype}")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: for each sample, the mean over classes ``j != y`` of
    ``max(0, margin - x[y] + x[j]) ** p`` (times ``weight[y]``); input (N, C) or (C,), target
    class indices (N,) or ()."""
    reduction = check_reduction(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    check_no_grad_argument("multi_margin_loss", "weight", weight)
    check_tensor(input, "multi_margin_loss")
    _class_targets(input, target)
    x = input.reshape(-1, input.shape[-1] if input.dim() else 1)
    frames, classes = x.shape
    if target.dim() > 1 or target.numel() != frames:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{frames}], but got "
            f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got "
                           f"{list(weight.shape)}")
    y = target.reshape(frames, 1)
    labels = y._data
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise RuntimeError("target out of range")
    hinge = (margin - x.gather(1, y) + x).clamp(min=0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight.index_select(0, target.reshape(-1)).reshape(frames, 1)
    others = y != math_ns().arange(classes, device=input.device)
    loss = (hinge * others).sum(1) / classes
    if input.dim() <= 1:
        loss = loss.reshape(())
    return reduce_loss(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: ``target`` (same shape as ``input``) lists each sample's classes,
    ended by the first -1; the loss sums ``max(0, 1 - (x[j] - x[i]))`` over listed ``j`` and
    unlisted ``i``, divided by the number of classes."""
    reduction = check_reduction(reduction, size_average, reduce)
    check_tensor(input, "multilabel_margin_loss")
    _class_targets(input, target)
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input.reshape(-1, input.shape[-1] if input.dim() else 1)
    frames, classes = x.shape
    backend = input._backend
    xp = backend.xp
    labels = target._data.reshape(frames, classes)
    listed = xp.cumprod(labels >= 0, axis=1).astype(bool)  # entries before the first -1
    if bool((listed & (labels >= classes)).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    hits = (labels[:, :, None] == xp.arange(classes)) & listed[:, :, None]
    counts = hits.sum(axis=1).astype(x._data.dtype)  # how often each class is listed
    unlisted = (counts == 0).astype(x._data.dtype)
    weights = x._new(counts[:, :, None] * unlisted[:, None, :])
    hinge = (1 - x.unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)  # [n, j, i]: 1 - x_j + x_i
    loss = (hinge * weights).sum((1, 2)) / classes
    if input.dim() <= 1:
        loss = loss.reshape(())
    return reduce_loss(loss, reduction)


def _check_triplet(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not a == p == n:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs")


def _triplet(distance, anchor, positive, negative, margin, swap, reduction) -> Tensor:
    to_positive = distance(anchor, positive)
    to_negative = distance(anchor, negative)
    if swap:
        to_negative = math_ns().minimum(to_negative, distance(positive, negative))
    return reduce_loss((margin + to_positive - to_negative).clamp(min=0), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the ``p``-norm pairwise distance;
    with ``swap``, ``d(a, n)`` is replaced by ``d(p, n)`` where that is smaller."""
    reduction = check_reduction(reduction, size_average, reduce)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet(anchor, positive, negative)
    return _triplet(lambda a, b: pairwise_distance(a, b, p, eps), anchor, positive, negative,
                    margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """``triplet_margin_loss`` with any ``distance_function(x1, x2)`` (default
    ``pairwise_distance``)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet(anchor, positive, negative)
    return _triplet(distance_function or pairwise_distance, anchor, positive, negative, margin,
                    swap, reduction)

