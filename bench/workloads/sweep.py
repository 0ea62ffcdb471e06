"""Sizes of the sweeps (elementwise, reductions): from 2**10 to 2**26 elements."""

from __future__ import annotations

from .common import Context

__all__ = ["sizes", "label"]


def sizes(ctx: Context) -> list[int]:
    if ctx.smoke:
        return [2**10, 2**12]
    if not ctx.quick:
        return [2**k for k in range(10, 27, 2)]
    top = 22 if ctx.device == "cuda" else 20
    return [2**k for k in (10, 14, 18, top)]


def label(series: str, n: int) -> str:
    return f"{series} n=2^{n.bit_length() - 1}"
