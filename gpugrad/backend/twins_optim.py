"""NumPy twins of the fused optimizer-step kernels.

Each step updates every parameter of one param group in place, in one primitive call (one
kernel launch per group on the GPU). Lists are parallel: ``params[i]``, ``grads[i]``, state.
Parameters and state buffers are updated in place; gradients are only read. The arithmetic
follows PyTorch's single-tensor implementations operation by operation, so trajectories match.
"""

from __future__ import annotations


class OptimTwins:
    """Mixin of optimizer-step primitives for a backend with ``self.xp``."""

    def sgd_step(self, params, grads, momentum_buffers, *, lr: float, momentum: float,
                 dampening: float, nesterov: bool, weight_decay: float, maximize: bool):
        """SGD as ``torch.optim.SGD``; ``momentum_buffers[i]`` is None before the first step.

        With ``momentum != 0``, a None entry of ``momentum_buffers`` is replaced (in the list)
        by a new buffer holding that step's gradient, as PyTorch initialises it; later steps
        update the buffer in place. With ``momentum == 0`` the list is not used.
        """
        for i, (p, g) in enumerate(zip(params, grads)):
            if maximize:
                g = -g
            if weight_decay:
                g = g + weight_decay * p
            if momentum:
                buf = momentum_buffers[i]
                if buf is None:
                    buf = g.copy()
                    momentum_buffers[i] = buf
                else:
                    buf *= momentum
                    buf += (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            p -= lr * g

    def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, step: int,
                  lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                  amsgrad: bool, maximize: bool, decoupled_weight_decay: bool):
        """Adam (``decoupled_weight_decay=False``) or AdamW, as PyTorch computes them.

        ``step`` is the step count after this update (1 on the first), shared by the params
        passed. ``exp_avgs`` / ``exp_avg_sqs`` (and ``max_exp_avg_sqs`` with ``amsgrad``) start
        as zeros; ``max_exp_avg_sqs`` may be None without ``amsgrad``.
        """
        xp = self.xp
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        step_size = lr / bias_correction1
        for i, (p, g) in enumerate(zip(params, grads)):
            if maximize:
                g = -g
            if weight_decay:
                if decoupled_weight_decay:
                    p *= 1 - lr * weight_decay
                else:
                    g = g + weight_decay * p
            m, v = exp_avgs[i], exp_avg_sqs[i]
            m += (1 - beta1) * (g - m)  # lerp toward g
            v *= beta2
            v += (1 - beta2) * (g * g)
            if amsgrad:
                v_max = max_exp_avg_sqs[i]
                xp.maximum(v_max, v, out=v_max)
                v = v_max
            denom = xp.sqrt(v)
            denom /= bias_correction2_sqrt
            denom += eps
            p -= step_size * (m / denom)

    def rmsprop_step(self, params, grads, square_avgs, grad_avgs, momentum_buffers, *, lr: float,
                     alpha: float, eps: float, weight_decay: float, momentum: float,
                     centered: bool, maximize: bool):
        """RMSprop as ``torch.optim.RMSprop``.

        ``square_avgs`` start as zeros; ``grad_avgs`` are zeros with ``centered`` (else the list
        may be None); ``momentum_buffers`` are zeros with ``momentum > 0`` (else may be None).
        """
        xp = self.xp
        for i, (p, g) in enumerate(zip(params, grads)):
            if maximize:
                g = -g
            if weight_decay:
                g = g + weight_decay * p
            square_avg = square_avgs[i]
            square_avg *= alpha
            square_avg += (1 - alpha) * (g * g)
            if centered:
                grad_avg = grad_avgs[i]
                grad_avg += (1 - alpha) * (g - grad_avg)  # lerp toward g
                avg = xp.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = xp.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = momentum_buffers[i]
                buf *= momentum
                buf += g / avg
                p -= lr * buf
            else:
                p -= lr * (g / avg)
