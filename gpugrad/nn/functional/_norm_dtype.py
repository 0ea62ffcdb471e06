"""The dtypes a normalization accepts for its parameters (weight, bias, running statistics),
as PyTorch's CPU kernels do: the input's own dtype, or float32 beside a float16/bfloat16 input
(the mixed case: computed in float32, the result in the input's dtype, the parameters'
gradients in float32). Any other mix raises PyTorch's error."""

from __future__ import annotations

from ... import _dtype as dt

__all__ = ["is_mixed"]


def is_mixed(kernel: str, input, *params) -> bool:
    """True when ``input`` is float16/bfloat16 and its given ``params`` float32; False when
    they all share its dtype. Raises ``RuntimeError`` for any other mix, and for an integer
    input PyTorch's error (naming ``kernel``, its CPU kernel, where it names one)."""
    given = [p for p in params if p is not None]
    if not input.is_floating_point():
        if given and kernel != "batch_norm":  # (batch_norm's kernel refuses integers first)
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
        raise dt.not_implemented_for(kernel, input.dtype)
    if all(p.dtype is input.dtype for p in given):
        return False
    if input.dtype in (dt.float16, dt.bfloat16) and all(p.dtype is dt.float32 for p in given):
        return True
    if input.dtype is dt.float64:
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
