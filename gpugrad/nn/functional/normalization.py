"""``batch_norm``: per-channel normalization over the batch (and spatial) dims.

Written with differentiable Tensor ops (mean, var, rsqrt, arithmetic), so its gradients, double
backward included, come from theirs; the running statistics are updated outside the graph.
"""

from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops._util import Tensor, check_tensor

__all__ = ["batch_norm"]


def _check_channels(name: str, t: Tensor | None, c: int) -> None:
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) of ``input`` (N, C, ...) to zero mean and unit variance,
    then scale by ``weight`` and shift by ``bias`` (each (C,) or None).

    In training the batch's statistics are used, and ``running_mean``/``running_var`` (if
    given) move toward them by ``momentum`` (the variance unbiased, as PyTorch); otherwise the
    running statistics are used.
    """
    check_tensor(input, "batch_norm")
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (got {input.dim()}D input)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(name, t, c)
    dims = (0, *range(2, input.dim()))
    shape = (1, c) + (1,) * (input.dim() - 2)
    if training:
        count = input.numel() // c if c else 0
        if count <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{list(input.shape)}"
            )
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        if running_mean is not None and running_var is not None:
            with no_grad():
                unbiased = var * (count / (count - 1))
                running_mean.copy_(mean * momentum + running_mean * (1 - momentum))
                running_var.copy_(unbiased * momentum + running_var * (1 - momentum))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be defined in "
                               "evaluation mode")
        mean, var = running_mean, running_var
    out = (input - mean.reshape(shape)) * (var + eps).rsqrt().reshape(shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
