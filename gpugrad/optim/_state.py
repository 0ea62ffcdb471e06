"""What the optimizers share besides ``Optimizer``: PyTorch's checks of the common options,
grouping parameters by a key, new state tensors (step counters, buffers like a parameter) and
loaded ones cast to their parameter."""

from __future__ import annotations

from .._dtype import float32, float64, get_default_dtype
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


def check_options(lr: float | None = None, eps: float | None = None, betas=None,
                  weight_decay: float | None = None) -> None:
    """PyTorch's checks (and messages) of the options most optimizers share, in its order."""
    if lr is not None and not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas or ()):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if weight_decay is not None and not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def grouped(params: list, keys: list) -> dict:
    """``{key: [params with that key]}``, keys in first-seen order."""
    groups: dict = {}
    for p, key in zip(params, keys):
        groups.setdefault(key, []).append(p)
    return groups


def scalar_state(value: float = 0.0, device="cpu") -> Tensor:
    """A 0-d state scalar (a step count, NAdam's ``mu_product``, ASGD's ``eta``) as PyTorch
    keeps it: float32, or float64 while that is the default dtype."""
    from ..factories import tensor

    dtype = float64 if get_default_dtype() is float64 else float32
    return tensor(value, dtype=dtype, device=device)


def step_tensor() -> Tensor:
    """A new step counter: a 0-d CPU tensor at 0 (float32, as PyTorch keeps it)."""
    return scalar_state(0.0)


def zeros_state(p: Tensor) -> Tensor:
    """A zero state buffer shaped, typed and placed like ``p``."""
    return p._new(p._backend.xp.zeros(p._data.shape, p._data.dtype))


def full_state(p: Tensor, value: float) -> Tensor:
    """A state buffer shaped, typed and placed like ``p``, filled with ``value`` (both parts of
    a complex one, as PyTorch's Adagrad and Rprop start theirs)."""
    if p._data.dtype.kind == "c":
        value = complex(value, value)
    return p._new(p._backend.xp.full(p._data.shape, value, p._data.dtype))


def cast_loaded_state(param: Tensor, value, key=None):
    """A loaded state entry for ``param``, as PyTorch casts it: tensors to the parameter's
    device and, when the parameter is floating point, its dtype (``step`` keeps its own);
    dicts and other collections entry by entry."""
    if isinstance(value, Tensor):
        if key == "step":
            return value
        with no_grad():
            if param.is_floating_point():
                return value.to(device=param.device, dtype=param.dtype)
            return value.to(device=param.device)
    if isinstance(value, dict):
        return {k: cast_loaded_state(param, v, key=k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(cast_loaded_state(param, v) for v in value)
    return value
