"""``optim.ASGD``."""

from __future__ import annotations

from ._state import check_options, grouped, scalar_state, zeros_state
from .optimizer import Optimizer

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged stochastic gradient descent, as ``torch.optim.ASGD``.

    Per step t: ``p = p * (1 - lambd * eta) - eta * g``; the average ``ax`` moves toward ``p``
    by ``mu`` (``ax = p`` while ``mu`` is 1); then ``eta = lr / (1 + lambd * lr * t)^alpha``
    and ``mu = 1 / max(1, t - t0)``. ``step``, ``eta`` and ``mu`` are 0-d state tensors on the
    parameter's device, as PyTorch keeps them.
    """

    _capturable_states = "params, mus, etas, and state_steps"

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach=None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check_options(lr, weight_decay=weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        return {"step": scalar_state(0.0, p.device), "eta": scalar_state(group["lr"], p.device),
                "mu": scalar_state(1.0, p.device), "ax": zeros_state(p)}

    def _step_group(self, group: dict, params: list, backend) -> None:
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        states = self._start_step(group, params, self._new_state)
        keys = [(s["eta"].item(), s["mu"].item()) for s in states]
        for (eta, mu), ps in grouped(params, keys).items():
            backend.asgd_step(
                [p._data for p in ps], [p.grad._data for p in ps],
                [self.state[p]["ax"]._data for p in ps], eta=eta, mu=mu, lambd=lambd,
                weight_decay=group["weight_decay"], maximize=group["maximize"],
            )
        for state in states:
            step = state["step"].item()
            # PyTorch rounds each new value to a default-dtype tensor before copying it in.
            state["eta"]._write_(scalar_state(lr / ((1 + lambd * lr * step) ** alpha)).item())
            state["mu"]._write_(scalar_state(1 / max(1, step - t0)).item())
