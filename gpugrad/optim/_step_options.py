"""How a param group is read for one step: its tensor options as numbers, its parameter list
as runs when a parameter is listed twice, and PyTorch's implementation options (``foreach``,
``fused``, ``capturable``, ``differentiable``) checked once at construction."""

from __future__ import annotations

from ..tensor import Tensor

__all__ = ["occurrences", "with_numbers", "check_implementation_options"]


def occurrences(params: list) -> list:
    """``params`` as runs to update one after another: one run when no parameter is listed
    twice; else run k holds each parameter's k-th listing, so a parameter listed twice is
    updated twice in turn, as PyTorch's per-parameter loop does (it warns at construction)."""
    if len({id(p) for p in params}) == len(params):
        return [params]
    runs, seen = [], {}
    for p in params:
        k = seen.get(id(p), 0)
        seen[id(p)] = k + 1
        if k == len(runs):
            runs.append([])
        runs[k].append(p)
    return runs


def with_numbers(group: dict) -> dict:
    """``group`` itself, or a copy whose one-element tensor options (a tensor ``lr``, as the
    compiled-optimizer recipes pass) are read as numbers for the update."""
    if not any(isinstance(v, Tensor) for v in group.values()):
        return group
    return {k: v.item() if isinstance(v, Tensor) and k != "params" else v
            for k, v in group.items()}


def check_implementation_options(defaults: dict) -> None:
    """``foreach``, ``fused`` and ``capturable`` choose among PyTorch's implementations of one
    update; gpugrad has one (a backend primitive per param group), so they are accepted and
    change nothing, but PyTorch's refusals of their combinations are kept (and, at ``step``,
    of ``capturable=True`` for parameters off the GPU).
    ``differentiable=True`` (a step recorded on the tape) is refused."""
    if defaults.get("fused"):
        if defaults.get("differentiable"):
            raise RuntimeError("`fused` does not support `differentiable`")
        if defaults.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if defaults.get("differentiable"):
        raise NotImplementedError(
            "differentiable=True is not supported: gpugrad's optimizer steps update the "
            "parameters outside the autograd graph"
        )
