"""``optim.Adafactor``."""

from __future__ import annotations

from .._typeinfo import finfo
from ..tensor import Tensor
from ._state import step_tensor, zeros_state
from .optimizer import Optimizer

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor (second moments kept as row and column factors), as ``torch.optim.Adafactor``.

    Per step t, with ``G`` the gradient (negated with ``maximize``): a parameter of 2+ dims
    keeps running means of ``G^2`` over its last two dims (state ``row_var``, ``col_var``),
    a 0-D or 1-D one of ``G^2`` itself (``variance``), each moving by ``t^beta2_decay``; the
    update ``U = G / max(sqrt(V), eps1)`` (``V`` the factors' estimate) is scaled down to an
    RMS of at most ``d``, and ``p -= max(eps2, RMS(p)) * min(lr, 1/sqrt(t)) * U`` after the
    decoupled decay ``p *= 1 - lr * weight_decay``. ``eps1=None`` is the dtype's epsilon.
    """

    _step_type_error = "`state_steps` argument must contain a list of singleton tensors"

    _complex_refused = True  # (PyTorch's refuses complex parameters at step)

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach=None, maximize: bool = False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    @staticmethod
    def _new_state(group: dict, p) -> dict:
        if p.dim() < 2:
            return {"step": step_tensor(), "variance": zeros_state(p)}
        xp, shape = p._backend.xp, p._data.shape
        return {"step": step_tensor(),
                "row_var": p._new(xp.zeros((*shape[:-1], 1), p._data.dtype)),
                "col_var": p._new(xp.zeros((*shape[:-2], 1, shape[-1]), p._data.dtype))}

    def _step_group(self, group: dict, params: list, backend) -> None:
        eps1, eps2 = group["eps"]
        if eps1 is None:  # as PyTorch: the first parameter's dtype decides for the whole group
            eps1 = finfo(params[0].dtype).eps
        for step, ps in self._by_step(group, params, self._new_state).items():
            states = [self.state[p] for p in ps]
            backend.adafactor_step(
                [p._data for p in ps], [p.grad._data for p in ps],
                *([_array(s.get(key)) for s in states]
                  for key in ("row_var", "col_var", "variance")),
                step=step, lr=group["lr"], beta2_decay=group["beta2_decay"], eps1=eps1,
                eps2=eps2, d=group["d"], weight_decay=group["weight_decay"],
                maximize=group["maximize"],
            )


def _array(state: Tensor | None):
    return None if state is None else state._data
