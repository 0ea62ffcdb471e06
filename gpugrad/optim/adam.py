"""``optim.Adam`` and ``optim.AdamW``."""

from __future__ import annotations

from ._state import check_options, step_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (``decoupled_weight_decay=True`` is AdamW).

    Per step t: ``m = beta1 * m + (1 - beta1) * g``, ``v = beta2 * v + (1 - beta2) * g^2``,
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``; with ``amsgrad`` the
    running maximum of ``v`` is used instead of ``v``. ``weight_decay`` adds ``wd * p`` to the
    gradient (Adam) or multiplies ``p`` by ``1 - lr * wd`` first (AdamW).
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused=None, decoupled_weight_decay: bool = False):
        check_options(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        state = {"step": step_tensor(), "exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_state(p)
        return state

    def _step_group(self, group: dict, params: list, backend) -> None:
        beta1, beta2 = group["betas"]
        amsgrad = group["amsgrad"]
        for step, ps in self._by_step(group, params, self._new_state).items():
            states = [self.state[p] for p in ps]
            backend.adam_step(
                [p._data for p in ps], [p.grad._data for p in ps],
                [s["exp_avg"]._data for s in states], [s["exp_avg_sq"]._data for s in states],
                [s["max_exp_avg_sq"]._data for s in states] if amsgrad else None,
                step=step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                weight_decay=group["weight_decay"], amsgrad=amsgrad, maximize=group["maximize"],
                decoupled_weight_decay=group["decoupled_weight_decay"],
            )


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the update), as
    ``torch.optim.AdamW``; ``weight_decay`` defaults to 0.01."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False,
                 fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
