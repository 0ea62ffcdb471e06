"""``optim.Muon``: momentum orthogonalized by Newton-Schulz, for 2-D parameters."""

from __future__ import annotations

import math

from ..tensor import Tensor
from ._state import zeros_state
from .optimizer import Optimizer

__all__ = ["Muon"]

# The quintic iteration's coefficients, its number of steps and the floor of the norm that
# scales the update before it, from Keller Jordan's Muon (PyTorch's defaults).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5
EPS = 1e-7


class Muon(Optimizer):
    """Muon, as ``torch.optim.Muon``: for the 2-D weights of hidden layers (give biases,
    embeddings and other parameters to an optimizer such as AdamW).

    Per step, for each parameter ``p`` of shape ``(A, B)``: the buffer moves toward the
    gradient, ``buf = momentum * buf + (1 - momentum) * g``; the update is ``buf``, or with
    ``nesterov`` ``(1 - momentum) * g + momentum * buf``; ``ns_steps`` Newton-Schulz
    iterations with ``ns_coefficients`` ``(a, b, c)`` replace it by a near-orthogonal matrix
    ``O`` (``X <- a X + (b X X^T + c (X X^T)^2) X``, starting from the update over its
    Frobenius norm, at least ``eps``); then ``p *= 1 - lr * weight_decay`` and
    ``p -= lr' * O``. The adjusted ``lr'`` gives updates of every shape a like RMS:
    ``lr * sqrt(max(1, A / B))`` (``adjust_lr_fn=None`` or ``"original"``) or
    ``0.2 * lr * sqrt(max(A, B))`` (``"match_rms_adamw"``, to reuse AdamW's ``lr`` and
    ``weight_decay``).

    Args:
        params: the 2-D parameters, or param groups, to optimize.
        lr (float or Tensor): learning rate (default: 1e-3).
        weight_decay (float): decoupled weight decay (default: 0.1).
        momentum (float): the buffer's momentum (default: 0.95).
        nesterov (bool): use Nesterov momentum (default: True).
        ns_coefficients (tuple of 3 floats): the iteration's ``(a, b, c)``
            (default: (3.4445, -4.7750, 2.0315)).
        eps (float): floor of the norm the update is divided by (default: 1e-7).
        ns_steps (int): Newton-Schulz iterations per step, fewer than 100 (default: 5).
        adjust_lr_fn (str or None): ``"original"`` or ``"match_rms_adamw"`` (default: None,
            which is ``"original"``).

    The state of each parameter is its ``momentum_buffer``. As PyTorch, the iteration runs in
    bfloat16 precision (see the backend's ``muon_step``).
    """

    _complex_refused = True  # (PyTorch's refuses complex parameters at step)

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple = NS_COEFFICIENTS, eps: float = EPS,
                 ns_steps: int = NS_STEPS, adjust_lr_fn: str | None = None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        # as PyTorch, only the constructor's groups are checked; a group added later meets
        # the gradient's check in step
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def _step_group(self, group: dict, params: list, backend) -> None:
        ns_steps, coefficients = group["ns_steps"], group["ns_coefficients"]
        if any(p.grad.dim() != 2 for p in params):
            raise ValueError("Param gradient must be a 2D matrix")
        if ns_steps >= 100:
            raise ValueError("Number of steps must be less than 100 for computational "
                             "efficiency")
        if len(coefficients) != 3:
            raise ValueError("Coefficients must be a tuple of exactly 3 values")
        states = [self.state[p] for p in params]
        for p, state in zip(params, states):
            if "momentum_buffer" not in state:  # shaped and typed like the gradient, as PyTorch
                state["momentum_buffer"] = zeros_state(p.grad)
        lr = group["lr"]
        backend.muon_step(
            [p._data for p in params], [p.grad._data for p in params],
            [s["momentum_buffer"]._data for s in states], lr=lr,
            update_lrs=[_adjusted_lr(lr, group["adjust_lr_fn"], p.shape) for p in params],
            weight_decay=group["weight_decay"], momentum=group["momentum"],
            nesterov=group["nesterov"], ns_coefficients=tuple(coefficients), ns_steps=ns_steps,
            eps=group["eps"],
        )


def _adjusted_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """The learning rate of the orthogonalized update of a ``shape`` parameter: scaled so that
    updates of every shape have a comparable RMS (an orthogonal ``A x B`` matrix has RMS
    ``1 / sqrt(max(A, B))``)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * math.sqrt(max(rows, cols)))
    return lr
