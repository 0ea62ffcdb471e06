"""``optim.SparseAdam``: gpugrad has no sparse tensors, so its steps refuse dense gradients as
PyTorch's do."""

from __future__ import annotations

from ._state import check_options
from .optimizer import Optimizer

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """``torch.optim.SparseAdam``'s constructor and checks. Its step needs sparse gradients
    (``nn.Embedding(sparse=True)``), which gpugrad does not make: ``step()`` raises
    ``RuntimeError`` for any parameter holding a (dense) gradient, as PyTorch does; use
    ``Adam``."""

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
        raise RuntimeError(
            "SparseAdam does not support dense gradients, please consider Adam instead")
