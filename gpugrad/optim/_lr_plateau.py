"""``ReduceLROnPlateau``: the learning rate cut when a watched metric stops improving."""

from __future__ import annotations

import math
import warnings

from .. import _capture
from .lr_scheduler import LRScheduler, group_values, set_group_value
from .optimizer import Optimizer

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(LRScheduler):
    """Multiply each lr by ``factor`` when ``step(metric)`` has not improved for ``patience``
    epochs (``mode`` "min" or "max"; improvement beyond ``threshold``, relative or absolute),
    then wait ``cooldown`` epochs; never below ``min_lr``, and only by more than ``eps``. A
    param group added to the optimizer later gets a single ``min_lr`` (a list raises then), as
    PyTorch's. An ``LRScheduler`` by type, as PyTorch's, but with its own constructor."""

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0.0, eps: float = 1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if mode not in ("min", "max"):
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs, self.default_min_lr = list(min_lr), None
        else:
            self.min_lrs, self.default_min_lr = [min_lr] * n, min_lr
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = (threshold,
                                                                        threshold_mode,
                                                                        cooldown, eps)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = group_values(optimizer, "lr")

    def get_last_lr(self) -> list:
        return self._last_lr

    @_capture.island
    def step(self, metrics, epoch=None) -> None:
        """Record this epoch's ``metrics`` (a number or a one-element tensor)."""
        current = float(metrics)
        if epoch is not None:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated.",
                          UserWarning, stacklevel=2)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._match_groups()
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    set_group_value(group, "lr", new)
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = group_values(self.optimizer, "lr")

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _match_groups(self) -> None:
        """One ``min_lr`` per param group, groups added since included (or PyTorch's
        error when ``min_lr`` was a list)."""
        groups = len(self.optimizer.param_groups)
        if groups == len(self.min_lrs):
            return
        if self.default_min_lr is None:
            raise RuntimeError(
                f"The number of param groups in the `optimizer` ({groups}) differs from when "
                f"`ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), usually due to a "
                "new param group being added to the optimizer. Please modify the `min_lrs` "
                "field to match the length of the `optimizer` param groups.")
        self.min_lrs = [self.default_min_lr] * groups

    def _is_better(self, current: float) -> bool:
        rel, best, t = self.threshold_mode == "rel", self.best, self.threshold
        if self.mode == "min":
            return current < (best * (1 - t) if rel else best - t)
        return current > (best * (t + 1) if rel else best + t)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
