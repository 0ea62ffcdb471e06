"""``optim.Rprop``."""

from __future__ import annotations

from ._state import check_options, full_state, step_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation, as ``torch.optim.Rprop``.

    Each element keeps a step size (starting at ``lr``): multiplied by ``etas[1]`` while its
    gradient keeps its sign, by ``etas[0]`` when the sign flips (and that step is skipped: its
    gradient counts as 0), kept within ``step_sizes``; then ``p -= sign(g) * step_size``.
    """

    def __init__(self, params, lr: float = 1e-2, etas: tuple = (0.5, 1.2),
                 step_sizes: tuple = (1e-6, 50), *, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False):
        check_options(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        return {"step": step_tensor(), "prev": zeros_state(p),
                "step_size": full_state(p, group["lr"])}

    def _step_group(self, group: dict, params: list, backend) -> None:
        states = self._start_step(group, params, self._new_state)
        (etaminus, etaplus), (step_size_min, step_size_max) = group["etas"], group["step_sizes"]
        backend.rprop_step(
            [p._data for p in params], [p.grad._data for p in params],
            [s["prev"]._data for s in states], [s["step_size"]._data for s in states],
            etaminus=etaminus, etaplus=etaplus, step_size_min=step_size_min,
            step_size_max=step_size_max, maximize=group["maximize"],
        )
