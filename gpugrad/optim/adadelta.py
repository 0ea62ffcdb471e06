"""``optim.Adadelta``."""

from __future__ import annotations

from ._state import check_options, step_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    Per step: ``square_avg = rho * square_avg + (1 - rho) * g^2``,
    ``delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``,
    ``acc_delta = rho * acc_delta + (1 - rho) * delta^2``, ``p -= lr * delta``.
    """

    _capturable_devices = "['cuda', 'xpu', 'hpu', 'privateuseone']"

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach=None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False):
        check_options(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_options(eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        return {"step": step_tensor(), "square_avg": zeros_state(p),
                "acc_delta": zeros_state(p)}

    def _step_group(self, group: dict, params: list, backend) -> None:
        states = self._start_step(group, params, self._new_state)
        backend.adadelta_step(
            [p._data for p in params], [p.grad._data for p in params],
            [s["square_avg"]._data for s in states], [s["acc_delta"]._data for s in states],
            lr=group["lr"], rho=group["rho"], eps=group["eps"],
            weight_decay=group["weight_decay"], maximize=group["maximize"],
        )
