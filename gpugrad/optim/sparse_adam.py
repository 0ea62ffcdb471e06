"""``optim.SparseAdam``: Adam on the rows a sparse gradient lists (``nn.Embedding(sparse=True)``),
as PyTorch's: the moments and the parameter change only there."""

from __future__ import annotations

import math

from ._sparse import rows_key
from ._state import check_options
from .optimizer import Optimizer

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """``torch.optim.SparseAdam``: for parameters whose gradients are sparse. Per step, on the
    rows ``r`` the (coalesced) gradient ``g`` lists: ``m[r] += (1 - beta1) * (g - m[r])``,
    ``v[r] += (1 - beta2) * (g * g - v[r])``, ``p[r] -= lr * sqrt(1 - beta2^t) / (1 - beta1^t)
    * m[r] / (sqrt(v[r]) + eps)``; other rows are left alone. A dense gradient raises
    ``RuntimeError``, as in PyTorch."""

    _sparse_only = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_options(betas=betas)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, maximize=maximize))
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, p in enumerate(group["params"]) if p.dtype.is_complex]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    def _step_group(self, group: dict, params: list, backend) -> None:
        raise RuntimeError(  # (split_sparse refuses dense gradients before any update)
            "SparseAdam does not support dense gradients, please consider Adam instead")

    def _step_sparse(self, group: dict, p, grad) -> None:
        state = self.state[p]
        if not state:  # as PyTorch's: the step is a Python int
            state.update(step=0, exp_avg=p.detach().new_zeros(p.shape),
                         exp_avg_sq=p.detach().new_zeros(p.shape))
        state["step"] += 1
        grad = grad.coalesce()  # the update is not linear: each row once
        values = grad._values()._data
        if values.size == 0:
            return
        if group["maximize"]:
            values = -values
        rows = rows_key(grad)
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        # PyTorch's order of operations, so that float64 runs agree to the last bit
        old_avg = exp_avg[rows]
        avg_update = (values - old_avg) * (1 - beta1)
        exp_avg[rows] += avg_update
        old_sq = exp_avg_sq[rows]
        sq_update = (values ** 2 - old_sq) * (1 - beta2)
        exp_avg_sq[rows] += sq_update
        numer = avg_update + old_avg
        denom = (sq_update + old_sq) ** 0.5 + group["eps"]
        step = state["step"]
        step_size = group["lr"] * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        p._data[rows] += -step_size * (numer / denom)
        state["exp_avg"]._bump_version()
        state["exp_avg_sq"]._bump_version()
