"""``optim.Adamax``."""

from __future__ import annotations

from ._state import check_options, step_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), as ``torch.optim.Adamax``.

    Per step t: ``m = beta1 * m + (1 - beta1) * g``, ``u = max(beta2 * u, |g| + eps)``,
    ``p -= lr / (1 - beta1^t) * m / u``.
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check_options(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        return {"step": step_tensor(), "exp_avg": zeros_state(p), "exp_inf": zeros_state(p)}

    def _step_group(self, group: dict, params: list, backend) -> None:
        beta1, beta2 = group["betas"]
        for step, ps in self._by_step(group, params, self._new_state).items():
            states = [self.state[p] for p in ps]
            backend.adamax_step(
                [p._data for p in ps], [p.grad._data for p in ps],
                [s["exp_avg"]._data for s in states], [s["exp_inf"]._data for s in states],
                step=step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                weight_decay=group["weight_decay"], maximize=group["maximize"],
            )
