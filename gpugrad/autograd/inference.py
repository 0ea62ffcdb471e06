"""Inference tensors: the tensors ``inference_mode`` makes.

What marks one is its version counter: an ``InferenceCounter`` in place of a ``VersionCounter``.
A view shares the counter of the tensor it views, so views of an inference tensor are
inference tensors and views of a normal tensor are normal, wherever they are made, as in
PyTorch. An inference tensor tracks no version; outside inference mode autograd may not save
it for backward (reading its counter, which only a save and a write do, refuses; a save
through saved-tensor hooks calls ``refuse_save``) and nothing may write into it
(``refuse_write``, called where in-place writes are checked).
"""

from __future__ import annotations

from .grad_mode import state as _grad_state

__all__ = ["VersionCounter", "InferenceCounter", "counter_in_mode", "refuse_write",
           "refuse_save"]

SAVED = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`."
)
INPLACE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)
REQUIRES_GRAD = ("Setting requires_grad=True on inference tensor outside InferenceMode is not "
                 "allowed.")
NO_VERSION = "Inference tensors do not track version counter."


class VersionCounter:
    """Counts in-place writes; shared by a tensor and all views of its memory."""

    value = 0  # a class default: creating a counter (once per tensor) runs no __init__
    inference = False


class InferenceCounter:
    """An inference tensor's counter: it counts nothing, and outside inference mode reading
    it (what saving the tensor for backward does) refuses. (One per tensor, as version
    counters: code that finds the tensors sharing memory compares counters.)"""

    inference = True

    @property
    def value(self) -> int:
        if _grad_state.inference:
            return 0
        raise RuntimeError(SAVED)

    @value.setter
    def value(self, _) -> None:
        pass


def counter_in_mode():
    """The counter of a new tensor while some thread is in inference mode: by its own
    thread's mode."""
    return InferenceCounter() if _grad_state.inference else VersionCounter()


def refuse_write(t) -> None:
    """Raise PyTorch's error if ``t`` is an inference tensor and inference mode is off."""
    if t._vc.inference and not _grad_state.inference:
        raise RuntimeError(INPLACE)


def refuse_save(t) -> None:
    """Raise PyTorch's error if ``t`` is an inference tensor and inference mode is off."""
    if t._vc.inference and not _grad_state.inference:
        raise RuntimeError(SAVED)
