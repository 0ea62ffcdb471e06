"""Layers PyTorch keeps for old code: ``CrossMapLRN2d`` (Lua Torch's cross-channel local
response normalization) and ``NLLLoss2d`` (a deprecated alias of ``NLLLoss``)."""

from __future__ import annotations

import warnings

import numpy as np

from ...ops._util import Tensor, check_tensor
from .loss import NLLLoss
from .module import Module

__all__ = ["CrossMapLRN2d", "NLLLoss2d"]


def _channel_windows(channels: int, size: int) -> np.ndarray:
    """(C, C) 0/1: row c marks the channels whose squares PyTorch's ``CrossMapLRN2d`` sums for
    channel c. It builds each window from the previous one by a running sum that adds channel
    ``c + pre_pad - 1`` and removes ``c - pre_pad`` only for ``c > pre_pad``, so channel 0
    stays in every window after the first few (and a window holds ``size + 1`` channels from
    ``c = pre_pad``); kept as it computes, since these are the values PyTorch's layer gives."""
    pre_pad = int((size - 1) / 2 + 1)
    windows = np.zeros((channels, channels))
    windows[0, :min(pre_pad, channels)] = 1
    for c in range(1, channels):
        windows[c] = windows[c - 1]
        if c < channels - pre_pad + 1:
            windows[c, c + pre_pad - 1] += 1
        if c > pre_pad:
            windows[c, c - pre_pad] -= 1
    return windows


class CrossMapLRN2d(Module):
    """Local response normalization across channels of (N, C, H, W) inputs, as Lua Torch's
    ``SpatialCrossMapLRN``: ``x / (k + alpha / size * sum of squares over neighbouring
    channels) ** beta``. Its channel windows are PyTorch's layer's (see
    ``_channel_windows``), which differ from ``F.local_response_norm``'s; the gradient is the
    exact gradient of those values (PyTorch's hand-written backward is not: it fails
    gradcheck)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        check_tensor(input, "CrossMapLRN2d")
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D "
                             "instead.")
        windows = _channel_windows(input.shape[1], self.size)
        sums = (input * input).permute(0, 2, 3, 1) @ input._new(
            input._backend.xp.asarray(windows.T.astype(input._data.dtype)))
        scale = sums.permute(0, 3, 1, 2) * (self.alpha / self.size) + self.k
        return input * scale.pow(-self.beta)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class NLLLoss2d(NLLLoss):
    """Deprecated: ``NLLLoss`` (which takes (N, C, H, W) inputs itself)."""

    def __init__(self, weight: Tensor | None = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean") -> None:
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a "
                      "drop-in replacement and see "
                      "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.",
                      FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
