"""``optim.Adagrad``."""

from __future__ import annotations

from ._sparse import rows_key
from ._state import check_options, full_state, step_tensor
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    Per step t: ``sum += g^2``, ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)``;
    ``sum`` starts at ``initial_accumulator_value``. As PyTorch, the state of every parameter
    is made by the constructor (so ``state_dict()`` holds it before the first step).
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None):
        check_options(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].update(self._new_state(group, p))

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        return {"step": step_tensor(), "sum": full_state(p, group["initial_accumulator_value"])}

    def _step_sparse(self, group: dict, p, grad) -> None:
        """PyTorch's Adagrad for a sparse gradient: ``sum`` and ``p`` change on the rows the
        (coalesced) gradient lists; weight decay refuses it."""
        state = self.state[p]
        if not state:
            state.update(self._new_state(group, p))
        state["step"]._write_(state["step"]._data + 1)
        if group["weight_decay"] != 0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        grad = grad.coalesce()
        values = grad._values()._data
        if group["maximize"]:
            values = -values
        rows = rows_key(grad)
        total = state["sum"]._data
        total[rows] += values ** 2
        std = total[rows] ** 0.5 + group["eps"]
        clr = group["lr"] / (1 + (int(state["step"].item()) - 1) * group["lr_decay"])
        p._data[rows] += (values / std) * -clr
        state["sum"]._bump_version()

    def _step_group(self, group: dict, params: list, backend) -> None:
        for step, ps in self._by_step(group, params, self._new_state).items():
            backend.adagrad_step(
                [p._data for p in ps], [p.grad._data for p in ps],
                [self.state[p]["sum"]._data for p in ps], step=step, lr=group["lr"],
                lr_decay=group["lr_decay"], eps=group["eps"],
                weight_decay=group["weight_decay"], maximize=group["maximize"],
            )
