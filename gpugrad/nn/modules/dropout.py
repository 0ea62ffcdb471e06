"""The dropout modules: ``Dropout``, the channel-wise ``Dropout1d/2d/3d``, ``AlphaDropout``
and ``FeatureAlphaDropout``: random in ``train()`` mode, the identity in ``eval()`` mode."""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    _fn = ""  # the functional's name, looked up per call

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zeroes each element with probability ``p`` and scales the rest by
    ``1 / (1 - p)``; the identity in ``eval()`` mode."""

    _fn = "dropout"


class Dropout1d(_DropoutNd):
    """In training, zeroes whole channels of (N, C, L) or (C, L) inputs with probability
    ``p`` and scales the rest by ``1 / (1 - p)``."""

    _fn = "dropout1d"


class Dropout2d(_DropoutNd):
    """In training, zeroes whole channels of (N, C, H, W) inputs with probability ``p`` and
    scales the rest by ``1 / (1 - p)`` (a 3-D input is taken as (N, C, L), with a warning)."""

    _fn = "dropout2d"


class Dropout3d(_DropoutNd):
    """In training, zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with
    probability ``p`` and scales the rest by ``1 / (1 - p)``."""

    _fn = "dropout3d"


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks: keeps zero mean and unit variance (``inplace`` is
    accepted and, as in PyTorch, not used)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (``inplace`` is accepted and, as in PyTorch, not
    used)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)
