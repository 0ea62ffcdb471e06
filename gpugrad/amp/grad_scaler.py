"""``GradScaler``: dynamic loss scaling for float16 training, as ``torch.amp.GradScaler``.

``scaler.scale(loss).backward()`` multiplies the loss (so the float16 gradients) by the scale;
``scaler.step(optimizer)`` divides the gradients back (``unscale_``, once per step), skips the
step when one of them is inf or nan, and ``scaler.update()`` then halves the scale after an
overflow or doubles it after ``growth_interval`` clean steps.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from enum import Enum

from .. import _capture
from .. import _dtype as dt

__all__ = ["GradScaler"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_state() -> dict:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    """Scale the loss so that small float16 gradients do not flush to zero.

    Args:
        device: the device type of the gradients ("cuda" or "cpu"). On "cuda" without a GPU
            the scaler warns and disables itself, as PyTorch's.
        init_scale: the scale to start from.
        growth_factor: the scale's multiplier after ``growth_interval`` steps without inf/nan.
        backoff_factor: the scale's multiplier after a step with inf/nan gradients.
        growth_interval: consecutive clean steps before the scale grows.
        enabled: False makes every method a pass-through (``step`` just steps).
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:
            from ..backend import cuda_available

            if not cuda_available():
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available. "
                              " Disabling.", stacklevel=2)
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None  # a float32 0-d tensor, made by the first scale()
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None  # consecutive clean steps, set with the scale
            self._per_optimizer_states = defaultdict(_fresh_state)

    # ---------------------------------------------------------------------------- scaling
    def scale(self, outputs):
        """``outputs`` (a tensor, or an iterable of tensors) times the current scale."""
        if not self._enabled:
            return outputs
        from ..tensor import Tensor

        def apply(value):
            if isinstance(value, Tensor):
                if self._scale is None:
                    self._lazy_init(value.device)
                return value * self._scale.to(value.device)
            if isinstance(value, (list, tuple)):
                return type(value)(apply(v) for v in value)
            if hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
                return map(apply, value)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply(outputs)

    def _lazy_init(self, device) -> None:
        from ..factories import full

        self._scale = full((), self._init_scale, dtype=dt.float32, device=device)
        self._growth_tracker = self._init_growth_tracker

    def _check_scale_growth_tracker(self, funcname: str) -> None:
        if self._scale is None:
            raise AssertionError(
                f"Attempted {funcname} but _scale is None.  This may indicate your script did "
                "not use scaler.scale(loss or outputs) earlier in the iteration.")

    # -------------------------------------------------------------------------- unscaling
    @_capture.island
    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, noting any inf/nan: at most
        once between two ``update()`` calls, before ``step``."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # The reciprocal in float64, rounded to float32 (PyTorch's inv_scale).
        inv_scale = float(dt.float32.np.type(1.0 / float(self._scale.item())))
        state["found_inf_per_device"] = self._unscale_grads(optimizer, inv_scale)
        state["stage"] = OptState.UNSCALED

    def _unscale_grads(self, optimizer, inv_scale: float) -> dict:
        from ..autograd import no_grad

        found = {}
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if grad.dtype is dt.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    data = grad._data
                    xp = grad._backend.xp
                    bad = ~xp.isfinite(data).all()
                    key = str(grad.device)
                    found[key] = bad if key not in found else found[key] | bad
                    grad.mul_(inv_scale)
        return found

    # ------------------------------------------------------------------------------- step
    @_capture.island
    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless the (unscaled) gradients hold inf or nan; returns what
        ``step`` returned (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        result = None
        if not any(bool(v) for v in state["found_inf_per_device"].values()):
            result = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return result

    @_capture.island
    def update(self, new_scale=None) -> None:
        """Set the scale for the next iteration: ``new_scale`` if given, else backed off after
        an overflow, grown after ``growth_interval`` clean steps."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if not isinstance(new_scale, float):
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if (new_scale.device.type != self._scale.device.type or new_scale.numel() != 1
                        or new_scale.requires_grad):
                    raise AssertionError(reason)
                new_scale = float(new_scale.item())
            self._set_scale(new_scale)
        else:
            found = [v for s in self._per_optimizer_states.values()
                     for v in s["found_inf_per_device"].values()]
            if len(found) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            scale = float(self._scale.item())
            if any(bool(v) for v in found):
                self._set_scale(scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                clean = self._growth_tracker + 1
                if clean == self._growth_interval:
                    grown = float(dt.float32.np.type(scale * self._growth_factor))
                    if math.isfinite(grown):  # an overflowing growth keeps the scale
                        self._set_scale(grown)
                    clean = 0
                self._growth_tracker = clean
        self._per_optimizer_states = defaultdict(_fresh_state)

    def _set_scale(self, value: float) -> None:
        from ..autograd import no_grad

        with no_grad():
            self._scale.fill_(value)

    # ---------------------------------------------------------------------- accessors
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self) -> bool:
        """Whether this scaler scales (False: every method passes through)."""
        return self._enabled

    def state_dict(self) -> dict:
        """scale, growth_factor, backoff_factor, growth_interval and _growth_tracker (empty
        when disabled); save it after ``update()``."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned (a no-op when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._set_scale(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = state_dict["_growth_tracker"]
