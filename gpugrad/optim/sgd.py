"""``optim.SGD``: stochastic gradient descent with momentum, dampening, Nesterov, weight decay."""

from __future__ import annotations

from ._sparse import rows_key
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    Per step, for each parameter: ``g = grad (+ weight_decay * p)``; with momentum,
    ``buf = momentum * buf + (1 - dampening) * g`` (``buf = g`` on the first step) and
    ``g = g + momentum * buf`` (Nesterov) or ``g = buf``; then ``p -= lr * g`` (``+=`` with
    ``maximize``).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _step_sparse(self, group: dict, p, grad) -> None:
        """A sparse gradient: ``p -= lr * grad`` on the rows it lists (repeats added in turn),
        as PyTorch's; with momentum, the dense update of the same gradient (PyTorch keeps its
        buffer sparse, with the same values). Weight decay refuses it, as in PyTorch."""
        if group["weight_decay"] != 0:  # PyTorch's error: its grad.add(p) is sparse + dense
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        if group["momentum"] != 0:
            self._update(group, [p], [grad.to_dense()._data], p._backend)
            return
        values = grad._values()._data
        scale = group["lr"] if group["maximize"] else -group["lr"]
        p._backend.add_at(p._data, rows_key(grad), values * scale)

    def _step_group(self, group: dict, params: list, backend) -> None:
        self._update(group, params, [p.grad._data for p in params], backend)

    def _update(self, group: dict, params: list, grads: list, backend) -> None:
        momentum = group["momentum"]
        # As PyTorch, plain SGD keeps no state; with momentum, a buffer per parameter.
        states = [self.state[p] for p in params] if momentum != 0 else []
        buffers = [s.get("momentum_buffer") for s in states]
        arrays = [None if b is None else b._data for b in buffers]
        backend.sgd_step(
            [p._data for p in params], grads, arrays,
            lr=group["lr"], momentum=momentum, dampening=group["dampening"],
            nesterov=group["nesterov"], weight_decay=group["weight_decay"],
            maximize=group["maximize"],
        )
        for p, state, buf, arr in zip(params, states, buffers, arrays):
            if buf is None:  # the primitive created it on this first step
                state["momentum_buffer"] = p._new(arr)
