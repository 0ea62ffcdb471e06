"""The mechanism behind ``nn.utils.prune`` (``prune.py`` holds the methods and the functions
built on it): what an ``amount`` means, the masks it makes, ``BasePruningMethod`` (a method
applied to ``module.<name>`` is that module's forward pre-hook) and ``PruningContainer``, which
chains the methods that pruned one tensor one after another."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod

from ..._typeinfo import contiguous_format
from ...factories import ones_like, zeros_like
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["BasePruningMethod", "PruningContainer"]


# ----------------------------------------------------------------------------- amounts
def _check_amount(amount) -> None:
    """Refuse, when a method is made, an amount that is neither a count >= 0 nor a fraction in
    [0, 1] (a NaN fraction included)."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if isinstance(amount, numbers.Integral):
        bad = amount < 0
    else:
        bad = not 0.0 <= float(amount) <= 1.0
    if bad:
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _count_to_prune(amount, size: int) -> int:
    """How many of ``size`` entries (or channels) ``amount`` names; a count above ``size`` is
    refused here, when the tensor is known."""
    count = int(amount) if isinstance(amount, numbers.Integral) else round(amount * size)
    if count > size:
        raise ValueError(f"amount={count} should be smaller than the number of parameters to "
                         f"prune={size}")
    return count


# ----------------------------------------------------------------------------- masks
def _zero_lowest(scores: Tensor, default_mask: Tensor, count: int) -> Tensor:
    """``default_mask`` (copied) with 0 at the ``count`` entries of lowest ``scores``."""
    mask = default_mask.clone(memory_format=contiguous_format)
    if count:  # (topk of nothing is fine, but there is nothing to write either)
        lowest = scores.reshape(-1).topk(count, largest=False).indices
        mask.view(-1)[lowest] = 0
    return mask


def _channel_dim(t: Tensor, dim: int) -> int:
    """``dim`` as a non-negative index, after refusing a 1-D tensor and a dim out of range."""
    if t.dim() <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {t.shape} with {t.dim()} dims")
    if not -t.dim() <= dim < t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")
    return dim % t.dim()


def _channels_mask(t: Tensor, dim: int, channels: Tensor) -> Tensor:
    """Ones at the channels ``channels`` (indices or a boolean mask) along ``dim``, else 0."""
    mask = zeros_like(t)
    index = [slice(None)] * t.dim()
    index[dim] = channels
    mask[tuple(index)] = 1
    return mask


def _prune_channels(t: Tensor, default_mask: Tensor, dim: int, amount, kept) -> Tensor:
    """``default_mask`` with ``amount`` whole channels of ``t`` along ``dim`` zeroed: those
    not in ``kept(dim, channels, count)`` (indices or a boolean mask of the channels kept, called
    only when there is something to prune). Structured pruning's steps around its choice."""
    dim = _channel_dim(t, dim)
    channels = t.shape[dim]
    count = _count_to_prune(amount, channels)
    if count == 0:
        return default_mask
    return _channels_mask(t, dim, kept(dim, channels, count)) * default_mask.to(dtype=t.dtype)


# ----------------------------------------------------------------------------- the base
class BasePruningMethod(ABC):
    """A way of pruning one tensor of a module. Subclasses set ``PRUNING_TYPE`` (how a
    ``PruningContainer`` hands them the part still unpruned: ``"unstructured"`` the unpruned
    entries, ``"structured"`` the channels along ``self.dim`` still kept, ``"global"`` the whole
    tensor) and define ``compute_mask``. An applied method is the module's forward pre-hook."""

    PRUNING_TYPE: str
    _tensor_name: str

    def __call__(self, module: Module, inputs) -> None:
        """Before each forward: recompute ``module.<name>`` from ``<name>_orig`` and the mask."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The new mask for ``t`` (same shape), given the mask it already has."""

    def apply_mask(self, module: Module) -> Tensor:
        """``<name>_mask * <name>_orig`` of ``module`` (differentiable through the original)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args, importance_scores: Tensor | None = None,
              **kwargs) -> BasePruningMethod:
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, choosing by
        ``importance_scores`` (default: the tensor's own values), and return the hook now on
        the module (a ``PruningContainer`` when the tensor was pruned before). If the mask
        cannot be computed, the module is left as it was."""
        method = cls(*args, **kwargs)
        method._tensor_name = name
        key, old = _pruning_hook(module, name)
        orig = getattr(module, name)
        if importance_scores is None:
            importance_scores = orig
        elif importance_scores.shape != orig.shape:
            raise AssertionError(f"importance_scores should have the same shape as parameter "
                                 f"{name} of {module}, got {importance_scores.shape} vs "
                                 f"{orig.shape}")
        if old is None:
            hook, default_mask = method, ones_like(orig)
        else:
            hook = old if isinstance(old, PruningContainer) else PruningContainer(old)
            hook.add_pruning_method(method)
            default_mask = getattr(module, name + "_mask").detach().clone(
                memory_format=contiguous_format)
        # The mask is computed before the module is touched, so a failure leaves it as it was
        # (PyTorch 2.13 drops the tensor's existing pruning hook in that case).
        try:
            mask = hook.compute_mask(importance_scores, default_mask=default_mask)
        except Exception:
            if hook is old:
                old._pruning_methods = old._pruning_methods[:-1]
            raise
        if old is None:
            module.register_parameter(name + "_orig", orig)  # (at the end, as PyTorch)
            del module._parameters[name]
        else:
            del module._forward_pre_hooks[key]
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, hook.apply_mask(module))
        module.register_forward_pre_hook(hook)
        return hook

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:
        """``t`` with this method's mask applied (choosing by ``importance_scores`` if given),
        without touching any module."""
        if importance_scores is None:
            importance_scores = t
        elif importance_scores.shape != t.shape:
            raise AssertionError(f"importance_scores should have the same shape as tensor t, got "
                                 f"{importance_scores.shape} vs {t.shape}")
        if default_mask is None:
            default_mask = ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``<name>`` is the ``Parameter`` again (the object that was
        ``<name>_orig``), holding the masked values; ``<name>_orig`` and ``<name>_mask`` go.
        The hook itself is left for the caller (``prune.remove``) to unregister."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be "
                                 "removed")
        name = self._tensor_name
        pruned = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.data = pruned.data
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


def _pruning_hook(module: Module, name: str):
    """``(key, method)`` of the pruning hook on ``module.<name>``, or ``(None, None)``."""
    found = [(k, h) for k, h in module._forward_pre_hooks.items()
             if isinstance(h, BasePruningMethod) and h._tensor_name == name]
    if len(found) > 1:
        raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} of "
                             f"module {module}. Use a PruningContainer.")
    return found[0] if found else (None, None)


class PruningContainer(BasePruningMethod):
    """Successive pruning methods of one tensor; its mask is the last method's, applied to what
    the earlier ones left."""

    def __init__(self, *args) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        if args:  # (without methods, the caller sets _tensor_name)
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method``, which must prune the tensor this container prunes."""
        if method is not None and not isinstance(method, BasePruningMethod):
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the last method's mask written over the part of ``t`` still
        unpruned (which part depends on that method's ``PRUNING_TYPE``)."""
        method = self._pruning_methods[-1]
        part = _unpruned_part(method, t, default_mask)
        # (a copy: PyTorch may write into default_mask itself here)
        mask = default_mask.to(dtype=t.dtype).clone()
        partial = method.compute_mask(t[part], default_mask=default_mask[part])
        mask[part] = partial.to(dtype=mask.dtype)
        return mask


def _unpruned_part(method: BasePruningMethod, t: Tensor, mask: Tensor):
    """The index of what ``method`` may still prune in ``t``, given its current ``mask``."""
    kind = method.PRUNING_TYPE
    if kind == "unstructured":
        return mask == 1
    if kind == "global":
        return (slice(None),) * t.dim()
    if kind != "structured":
        raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
    if not hasattr(method, "dim"):
        raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the '
                             "attribute `dim` defined.")
    dim = method.dim + t.dim() if method.dim < 0 else method.dim
    if dim < 0:
        raise IndexError(f"Index is out of bounds for tensor with dimensions {t.dim()}")
    if t.dim() <= 1 or dim >= t.dim():  # (all of it: the method refuses such a t or dim)
        return (slice(None),) * t.dim()
    others = [d for d in range(t.dim()) if d != dim]
    index = [slice(None)] * t.dim()
    index[dim] = mask.sum(dim=others) != 0  # a channel is kept while any of it is
    return tuple(index)
