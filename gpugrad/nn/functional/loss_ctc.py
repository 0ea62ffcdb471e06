"""``ctc_loss``: PyTorch's argument rules, the extended targets, the reductions; the recursions
are ``ops/ctc.py``'s."""

from __future__ import annotations

import math

import numpy as np

from ... import _dtype as dt
from ...ops._util import Tensor, check_tensor
from ...ops.ctc import CtcLoss
from ...ops.select import where
from ._reduction import check_reduction

__all__ = ["ctc_loss"]

_WHERE = " (while checking arguments for ctc_loss_allocate_outputs)"


def _host_lengths(value, name: str) -> np.ndarray:
    """``input_lengths`` / ``target_lengths`` (a tensor of any shape, or a sequence of ints) as
    a host int64 vector."""
    if isinstance(value, Tensor):
        if value.dtype.is_floating_point or value.dtype == dt.bool:
            raise RuntimeError(f"{name} must be integral")
        return value._backend.to_numpy(value._data).reshape(-1).astype(np.int64)
    if isinstance(value, (tuple, list)):
        for v in value:
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise TypeError(f"ctc_loss(): argument '{name}' must be tuple of ints, but found "
                                f"element of type {type(v).__name__}")
        return np.asarray(value, dtype=np.int64).reshape(-1)
    raise TypeError(f"ctc_loss(): argument '{name}' must be Tensor or tuple of ints, not "
                    f"{type(value).__name__}")


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The Connectionist Temporal Classification loss.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities (``log_softmax`` outputs).
        targets: (N, S) padded, or the targets of all samples concatenated (sum of
            ``target_lengths``,). Class indices, none of them ``blank``.
        input_lengths: (N,) lengths of the inputs (each at most T), a tensor or tuple of ints.
        target_lengths: (N,) lengths of the targets, a tensor or tuple of ints.
        blank: the blank label. Default: 0.
        reduction: ``'none'`` (the loss of each sample), ``'mean'`` (each sample's loss divided
            by its target length, then the mean over the batch) or ``'sum'``.
        zero_infinity: give impossible alignments (infinite losses) a loss and gradient of 0.

    The gradient with respect to ``log_probs`` is PyTorch's: that of the logits under
    ``log_softmax`` (see ``ops/ctc.py``).
    """
    check_tensor(log_probs, "ctc_loss", "log_probs")
    check_tensor(targets, "ctc_loss", "targets")
    reduction = check_reduction(reduction)
    if not isinstance(blank, (int, np.integer)) or isinstance(blank, bool):
        raise TypeError(f"ctc_loss(): argument 'blank' must be int, not {type(blank).__name__}")
    if not isinstance(zero_infinity, bool):
        raise TypeError("ctc_loss(): argument 'zero_infinity' must be bool, not "
                        f"{type(zero_infinity).__name__}")
    if log_probs.dtype not in (dt.float32, dt.float64):
        raise NotImplementedError(
            f"\"ctc_loss\" not implemented for {dt.SCALAR_TYPE_NAMES[log_probs.dtype.name]!r}")
    il = _host_lengths(input_lengths, "input_lengths")
    tl = _host_lengths(target_lengths, "target_lengths")
    batched = log_probs.dim() == 3
    if not batched:  # 1-D targets read as concatenated, which for one sample is the same
        log_probs = log_probs.unsqueeze(1)
    if log_probs.dim() != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {log_probs.dim()}-dimensional "
                           f"tensor for argument #1 'log_probs'{_WHERE}")
    if log_probs.numel() == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    T, N, C = log_probs.shape
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    if il.size != N:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.size != N:
        raise RuntimeError("target_lengths must be of size batch_size")
    backend = log_probs._backend
    ext = _extended_targets(targets, backend, il, tl, T, N, C, blank)
    nll = CtcLoss.apply(log_probs, ext, backend.asarray(il), backend.asarray(tl), zero_infinity)
    if zero_infinity:
        nll = where(nll == math.inf, 0.0, nll)
    if reduction == "mean":
        divisor = np.maximum(tl, 1).astype(log_probs._data.dtype)
        return (nll / log_probs._new(backend.asarray(divisor))).mean()
    if reduction == "sum":
        return nll.sum()
    return nll if batched else nll.squeeze(0)


def _extended_targets(targets: Tensor, backend, il, tl, T: int, N: int, C: int, blank: int):
    """Each sample's target with blanks around and between its labels (N, 2 max(tl) + 1), an
    index array on ``backend``'s device, after PyTorch's checks of the lengths and targets."""
    if targets.dim() not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {targets.dim()}-dimensional "
                           f"tensor for argument #2 'targets'{_WHERE}")
    longest = int(tl.max()) if N else 0
    xp = backend.xp
    data = targets._data
    if targets._backend is not backend:
        data = backend.asarray(targets._backend.to_numpy(data))
    if targets.dim() == 1:  # concatenated
        if data.shape[0] != int(tl.sum()):
            raise RuntimeError(f"Expected tensor to have size {int(tl.sum())} at dimension 0, "
                               f"but got size {data.shape[0]} for argument #2 'targets'{_WHERE}")
    else:
        if data.shape[0] != N:
            raise RuntimeError(f"Expected tensor to have size {N} at dimension 0, but got size "
                               f"{data.shape[0]} for argument #2 'targets'{_WHERE}")
        if data.shape[1] < longest:
            raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension "
                               f"1, but got size {data.shape[1]} for argument #2 'targets'"
                               f"{_WHERE}")
    for name, lengths in (("input_lengths", il), ("target_lengths", tl)):
        if N and lengths.min() < 0:
            raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                               f"{int(lengths.min())}{_WHERE}")
    if N and il.max() > T:
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value "
                           f"{int(il.max())}{_WHERE}")
    positions = np.arange(longest)
    valid = positions[None, :] < tl[:, None]
    if targets.dim() == 1:
        starts = np.concatenate([[0], np.cumsum(tl)[:-1]]).astype(np.int64)
        where = np.where(valid, starts[:, None] + positions[None, :], 0)
        labels = data[backend.asarray(where)] if data.shape[0] else xp.zeros(where.shape, int)
    else:
        labels = data[:, :longest]
    labels = xp.where(backend.asarray(valid), labels.astype(np.int64), blank)
    if labels.size:
        low, high = (int(v) for v in backend.to_numpy(xp.stack([labels.min(), labels.max()])))
        if low < 0 or high >= C:
            raise RuntimeError(f"ctc_loss(): targets must be class indices in [0, {C}), got "
                               f"{low if low < 0 else high}")
    ext = xp.full((N, 2 * longest + 1), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    return ext
