"""``cdist``: the distance between every row of one batch of matrices and every row of another.

Composed of Tensor ops (its gradient is theirs). Autocast runs it in float32, as PyTorch's
(listed in ``amp/policy.py``).
"""

from __future__ import annotations

from .. import _dtype as dt
from ._util import Tensor, check_tensor

__all__ = ["cdist"]
METHODS: dict = {}  # (no Tensor.cdist in PyTorch)

_COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                  "donot_use_mm_for_euclid_dist")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2``
    (..., R, M): (..., P, R), batch dims broadcast.

    For ``p = 2``, ``compute_mode`` picks how, as PyTorch: ``"use_mm_for_euclid_dist"`` (and
    ``"..._if_necessary"`` when P or R is over 25) computes ``sqrt(|a|^2 + |b|^2 - 2 a.b)``
    with a matmul (faster, less accurate for close points); otherwise the norm of each
    difference, which builds a (..., P, R, M) tensor."""
    check_tensor(x1, "cdist", "x1")
    check_tensor(x2, "cdist", "x2")
    for name, x in (("X1", x1), ("X2", x2)):
        if x.dim() < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{x.dim()}D")
        if not x.is_floating_point():
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{dt.SCALAR_TYPE_NAMES[x.dtype.name]}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"X1 and X2 must have the same dtype, got {x1.dtype} and "
                           f"{x2.dtype}")
    use_mm = p == 2 and (compute_mode == _COMPUTE_MODES[1] or (
        compute_mode == _COMPUTE_MODES[0] and (x1.shape[-2] > 25 or x2.shape[-2] > 25)))
    if use_mm:
        low = x1.dtype if x1.dtype.itemsize < 4 else None
        if low is not None:  # |a|^2 + |b|^2 - 2 a.b cancels: float32 inside, as PyTorch's
            return cdist(x1.float(), x2.float(), p, compute_mode).to(low)
        sq1 = (x1 * x1).sum(-1, keepdim=True)
        sq2 = (x2 * x2).sum(-1, keepdim=True)
        squared = sq1 - 2 * x1.matmul(x2.transpose(-1, -2)) + sq2.transpose(-1, -2)
        # Rounding can leave coincident rows a tiny (even negative) square: they read exactly 0,
        # as PyTorch's, and send back no gradient (sqrt's is infinite there).
        positive = squared > 0
        return squared.where(positive, 1.0).sqrt().where(positive, 0.0)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == 0:  # a count of the differing entries: NaN stays NaN, the gradient is zero (not none)
        return diff.abs().ceil().clamp(max=1).sum(-1)
    return diff.norm(p, -1)
