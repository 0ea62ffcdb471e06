"""``optim.RAdam``."""

from __future__ import annotations

from ._state import check_options, step_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam (rectified Adam), as ``torch.optim.RAdam``.

    Adam's moments; with ``rho_inf = 2 / (1 - beta2) - 1`` and
    ``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)``, the update is
    ``lr * m / (1 - beta1^t)`` while ``rho_t <= 5``, else that times
    ``sqrt(1 - beta2^t) / (sqrt(v) + eps)`` and the rectification
    ``sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``.
    ``decoupled_weight_decay`` decays the parameter as AdamW does.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_options(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        return {"step": step_tensor(), "exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}

    def _step_group(self, group: dict, params: list, backend) -> None:
        beta1, beta2 = group["betas"]
        for step, ps in self._by_step(group, params, self._new_state).items():
            states = [self.state[p] for p in ps]
            backend.radam_step(
                [p._data for p in ps], [p.grad._data for p in ps],
                [s["exp_avg"]._data for s in states], [s["exp_avg_sq"]._data for s in states],
                step=step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                weight_decay=group["weight_decay"],
                decoupled_weight_decay=group["decoupled_weight_decay"],
                maximize=group["maximize"],
            )
