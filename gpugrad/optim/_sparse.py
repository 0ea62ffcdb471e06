"""Sparse gradients in the optimizers (``nn.Embedding(sparse=True)`` makes them).

``Optimizer.step`` hands each group's parameters here first: those whose ``.grad`` is sparse
are updated by the optimizer's ``_step_sparse`` (``SGD``, ``SparseAdam``), one at a time, on the
rows the gradient lists; an optimizer without one refuses them with PyTorch's error. The
parameters with dense gradients go on to the group's fused primitive as before.
"""

from __future__ import annotations

from ._step_options import with_numbers

__all__ = ["split_sparse", "rows_key"]


def split_sparse(optimizer, group: dict, params: list) -> list:
    """Update the parameters of ``params`` that have sparse gradients; returns the others."""
    sparse = [p for p in params if p.grad.is_sparse]
    if optimizer._sparse_only and len(sparse) != len(params):
        raise RuntimeError(f"{type(optimizer).__name__} does not support dense gradients, "
                           "please consider Adam instead")
    if not sparse:
        return params
    if optimizer._step_sparse is None:
        from .adam import Adam

        if isinstance(optimizer, Adam):  # (AdamW too: PyTorch's AdamW is an Adam)
            raise RuntimeError("Adam does not support sparse gradients, please consider "
                               "SparseAdam instead")
        raise RuntimeError(f"{type(optimizer).__name__} does not support sparse gradients")

    numbers = with_numbers(group)
    for p in sparse:
        optimizer._step_sparse(numbers, p, p.grad)
        p._bump_version()
    return [p for p in params if not p.grad.is_sparse]


def rows_key(grad) -> tuple:
    """The index key (one array per sparse dim) that addresses ``grad``'s entries in a dense
    tensor of its shape."""
    return tuple(grad._indices()._data)
