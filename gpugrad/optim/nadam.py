"""``optim.NAdam``."""

from __future__ import annotations

from ._state import check_options, grouped, scalar_state, step_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam (Adam with Nesterov momentum), as ``torch.optim.NAdam``.

    Per step t: ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``, the state
    ``mu_product`` multiplied by ``mu_t``; Adam's moments; then
    ``p -= lr * (1 - mu_t) / (1 - mu_product) * g / denom`` and
    ``p -= lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom`` with
    ``denom = sqrt(v / (1 - beta2^t)) + eps``. ``decoupled_weight_decay`` decays the parameter
    as AdamW does.
    """

    _capturable_states = "params, mu_products and state_steps"

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        check_options(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        return {"step": step_tensor(), "mu_product": scalar_state(1.0),
                "exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}

    def _step_group(self, group: dict, params: list, backend) -> None:
        beta1, beta2 = group["betas"]
        decay = group["momentum_decay"]
        keys = []
        for state in self._start_step(group, params, self._new_state):
            step = state["step"].item()
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
            mu_product = state["mu_product"]
            mu_product._write_(mu_product._data * mu)  # in the state's dtype, as PyTorch
            keys.append((step, mu, mu_next, mu_product.item()))
        for (step, mu, mu_next, mu_product), ps in grouped(params, keys).items():
            states = [self.state[p] for p in ps]
            backend.nadam_step(
                [p._data for p in ps], [p.grad._data for p in ps],
                [s["exp_avg"]._data for s in states], [s["exp_avg_sq"]._data for s in states],
                step=step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                weight_decay=group["weight_decay"], mu=mu, mu_next=mu_next,
                mu_product=mu_product, decoupled_weight_decay=group["decoupled_weight_decay"],
                maximize=group["maximize"],
            )
