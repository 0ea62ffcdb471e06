"""``optim.RMSprop``."""

from __future__ import annotations

from ._state import check_options, step_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Per step: ``v = alpha * v + (1 - alpha) * g^2``; centered: ``avg = sqrt(v - mean_g^2)``
    with ``mean_g`` the running mean of g, else ``avg = sqrt(v)``; then with momentum
    ``buf = momentum * buf + g / (avg + eps)``, ``p -= lr * buf``, else
    ``p -= lr * g / (avg + eps)``.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False,
                 differentiable: bool = False):
        check_options(lr, eps)
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        state = {"step": step_tensor(), "square_avg": zeros_state(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_state(p)
        if group["centered"]:
            state["grad_avg"] = zeros_state(p)
        return state

    def _step_group(self, group: dict, params: list, backend) -> None:
        states = self._start_step(group, params, self._new_state)
        momentum, centered = group["momentum"], group["centered"]
        backend.rmsprop_step(
            [p._data for p in params], [p.grad._data for p in params],
            [s["square_avg"]._data for s in states],
            [s["grad_avg"]._data for s in states] if centered else None,
            [s["momentum_buffer"]._data for s in states] if momentum > 0 else None,
            lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
            weight_decay=group["weight_decay"], momentum=momentum, centered=centered,
            maximize=group["maximize"],
        )
