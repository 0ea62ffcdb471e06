"""NumPy twins of the fused optimizer-step kernels (filled in by the optimizers work).

Each step updates every parameter of one param group in place, in one primitive call (one
kernel launch per group on the GPU). Lists are parallel: ``params[i]``, ``grads[i]``, state.
"""

from __future__ import annotations


class OptimTwins:
    """Mixin of optimizer-step primitives for a backend with ``self.xp``."""

    def sgd_step(self, params, grads, momentum_buffers, *, lr: float, momentum: float,
                 dampening: float, nesterov: bool, weight_decay: float, maximize: bool):
        """SGD as ``torch.optim.SGD``; ``momentum_buffers[i]`` is None before the first step."""
        raise NotImplementedError("sgd_step twin arrives with the optimizers")

    def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, step: int,
                  lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                  amsgrad: bool, maximize: bool, decoupled_weight_decay: bool):
        """Adam (``decoupled_weight_decay=False``) or AdamW, as PyTorch computes them."""
        raise NotImplementedError("adam_step twin arrives with the optimizers")
