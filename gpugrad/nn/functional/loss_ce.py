"""Classification losses over a class dim: ``cross_entropy`` (on logits) and ``nll_loss`` (on
log-probabilities).

PyTorch's arguments, checked here; the ops are in ``ops/cross_entropy.py``.
"""

from __future__ import annotations

from ... import _capture
from ... import _dtype as dt
from ...autograd.grad_mode import is_grad_enabled
from ...ops._util import Tensor, check_tensor, int_arg
from ...ops.cross_entropy import CrossEntropy, CrossEntropyProbs, NllLoss, loss_shape
from ...ops.softmax import log_softmax, softmax_kernel
from ._reduction import check_no_grad_argument, check_reduction

__all__ = ["cross_entropy", "nll_loss"]


def _check_class_input(fn: str, input: Tensor, target: Tensor, weight, probs: bool) -> None:
    x, t = input._data, target._data
    if x.ndim == 0:
        raise ValueError(f"Expected 1 or more dimensions (got {x.ndim})")
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    if probs:
        if not target.is_floating_point():
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {dt.SCALAR_TYPE_NAMES[target.dtype.name]}")
    else:
        want = loss_shape(x.shape)
        if tuple(t.shape) != want:
            if x.ndim >= 2 and t.ndim >= 1 and t.shape[0] != x.shape[0]:
                raise ValueError(
                    f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                    f"({t.shape[0]})."
                )
            raise RuntimeError(
                f"Expected target size {list(want)}, got {list(t.shape)}"
            )
        if target.dtype.name not in ("int64", "uint8"):
            raise RuntimeError("expected target dtype to be Long or Byte, but got "
                               f"{dt.SCALAR_TYPE_NAMES[target.dtype.name]}")
        if target.dtype.name == "uint8" and x.ndim > 2:  # (PyTorch's nll_loss2d: Long only)
            raise RuntimeError("expected scalar type Long but found Byte")
    if weight is not None:
        check_tensor(weight, fn, "weight")
        if tuple(weight._data.shape) != (c,):
            raise RuntimeError(
                f"weight tensor should be defined either for all {c} classes or no classes but "
                f"got weight tensor of shape: {list(weight.shape)}"
            )


@_capture.island(repeatable=True)  # a captured step checks each new target (_capture.py)
def _check_targets_in_range(target: Tensor, c: int, ignore_index: int) -> None:
    """IndexError naming the first out-of-range class index (read on the host)."""
    t = target._data
    if t.size == 0 or (0 <= t.min() and t.max() < c):  # the common case: two reductions
        return
    xp = target._backend.xp
    bad = (t < 0) | (t >= c)
    bad &= t != ignore_index
    if bool(bad.any()):
        value = int(t.reshape(-1)[int(xp.argmax(bad.reshape(-1)))])
        raise IndexError(
            f"Target {value} is out of bounds: class indices must be in [0, {c - 1}] "
            f"(or equal ignore_index={ignore_index})"
        )


def ignore_index_arg(ignore_index, fn: str) -> int:
    """``ignore_index`` as PyTorch's int arguments take it: an int, a NumPy integer or a
    one-element integer tensor; a TypeError for anything else (bools and floats too)."""
    return int_arg(ignore_index, fn, "ignore_index")


def smoothing_arg(label_smoothing) -> float:
    """``label_smoothing`` as PyTorch's cross-entropy reads it: over 1 is an error, and
    anything not over 0 (a negative value, nan) smooths nothing."""
    if label_smoothing > 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )
    return float(label_smoothing) if label_smoothing > 0.0 else 0.0


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between ``input`` logits and ``target``, as ``torch.nn.functional``.

    Args:
        input: logits, (N, C), (C,) or (N, C, d1, ...).
        target: class indices (N,) / () / (N, d1, ...) in [0, C) (int64), or class
            probabilities with ``input``'s shape and floating dtype.
        weight: a manual rescaling weight per class, (C,).
        ignore_index: a class index whose rows contribute neither loss nor gradient.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``. With class indices the mean divides
            by the summed weights of the kept rows (nan if there are none).
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution
            (as PyTorch, a value under 0 smooths nothing).
    """
    check_tensor(input, "cross_entropy")
    check_tensor(target, "cross_entropy", "target")
    reduction = check_reduction(reduction, size_average, reduce)
    ignore_index = ignore_index_arg(ignore_index, "cross_entropy_loss")
    label_smoothing = smoothing_arg(label_smoothing)
    if not input.is_floating_point():
        ndim = input._data.ndim
        raise dt.not_implemented_for(softmax_kernel("log_softmax", min(ndim - 1, 1), ndim),
                                     input.dtype)
    # Same shapes: class probabilities (floating point); otherwise class indices.
    probs = target._data.shape == input._data.shape
    _check_class_input("cross_entropy", input, target, weight, probs)
    c = input._data.shape[0] if input._data.ndim == 1 else input._data.shape[1]
    if probs and target._data.dtype != input._data.dtype:
        target = target.to(input.dtype)
    if not probs:
        _check_targets_in_range(target, c, ignore_index)
        if target._data.dtype.kind != "i":
            target = target.long()
    if weight is not None and weight._data.dtype != input._data.dtype:
        weight = weight.to(input.dtype)
    if probs:
        if weight is not None and weight.requires_grad and is_grad_enabled():
            return _cross_entropy_probs_composed(input, target, weight, label_smoothing,
                                                 reduction)
        return CrossEntropyProbs.apply(input, target, weight, float(label_smoothing), reduction)
    check_no_grad_argument(_nll_name(input), "weight", weight)
    return CrossEntropy.apply(input, target, weight, int(ignore_index), float(label_smoothing),
                              reduction)


def _nll_name(input: Tensor) -> str:
    """The name of PyTorch's op behind class-index cross-entropy and ``nll_loss`` (inputs with
    dims beyond the classes go through its 2-d kernel)."""
    return "nll_loss_forward" if input._data.ndim <= 2 else "nll_loss2d_forward"


def _cross_entropy_probs_composed(input, target, weight, label_smoothing: float, reduction):
    """Cross-entropy with class probabilities, composed of differentiable ops: the path for a
    class ``weight`` that requires grad (PyTorch differentiates it there), which the fused
    primitive treats as a constant."""
    dim = 0 if input._data.ndim == 1 else 1
    c = input._data.shape[dim]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    shape = (c,) + (1,) * (input._data.ndim - dim - 1)
    loss = -(log_softmax(input, dim) * target * weight.view(shape)).sum(dim)
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices ``target`` under log-probabilities ``input``
    ((N, C), (C,) or (N, C, d1, ...)), with ``weight``, ``ignore_index`` and ``reduction`` as
    in ``cross_entropy``."""
    check_tensor(input, "nll_loss")
    check_tensor(target, "nll_loss", "target")
    reduction = check_reduction(reduction, size_average, reduce)
    ignore_index = ignore_index_arg(ignore_index, "nll_loss_nd")
    _check_class_input("nll_loss", input, target, weight, False)
    c = input._data.shape[0] if input._data.ndim == 1 else input._data.shape[1]
    _check_targets_in_range(target, c, ignore_index)
    if weight is not None and weight._data.dtype != input._data.dtype:
        weight = weight.to(input.dtype)
    check_no_grad_argument(_nll_name(input), "weight", weight)
    return NllLoss.apply(input, target, weight, int(ignore_index), reduction)
