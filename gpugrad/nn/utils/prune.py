"""``nn.utils.prune``: zeroing chosen entries or channels of a module's tensors, as PyTorch's
``torch.nn.utils.prune``.

Pruning ``module.<name>`` moves the parameter to ``<name>_orig`` (the same ``Parameter``
object), keeps a 0/1 buffer ``<name>_mask``, and registers the pruning method itself as a
forward pre-hook that sets the plain attribute ``module.<name> = <name>_mask * <name>_orig``
before every forward: the pruned entries read as zero and get no gradient. Pruning the same
tensor again chains the methods in a ``PruningContainer``, the new one choosing only among
what is still unpruned; ``remove`` makes the pruned values permanent.

An ``amount`` is a count (an int: entries, or channels for structured pruning) or a fraction in
[0, 1] of them, rounded half to even (Python's ``round``), as in PyTorch."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

from ..._typeinfo import contiguous_format
from ...factories import ones_like, zeros_like
from ...sampling import rand, rand_like
from ...tensor import Tensor
from ..modules.module import Module
from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


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


# ----------------------------------------------------------------------------- the methods
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


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (a pruning reparametrization without zeros)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> Identity:
        """Give ``module.<name>`` a mask of ones."""
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries chosen at random (from gpugrad's generator)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _count_to_prune(self.amount, t.nelement())
        return _zero_lowest(rand_like(t), default_mask, count)

    @classmethod
    def apply(cls, module: Module, name: str, amount) -> RandomUnstructured:
        """Prune ``amount`` random entries of ``module.<name>``."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of smallest absolute value (among ties, gpugrad's ``topk``
    takes the lowest indices first)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _count_to_prune(self.amount, t.nelement())
        return _zero_lowest(t.abs(), default_mask, count)

    @classmethod
    def apply(cls, module: Module, name: str, amount,
              importance_scores: Tensor | None = None) -> L1Unstructured:
        """Prune the ``amount`` entries of ``module.<name>`` (or of ``importance_scores``) of
        smallest magnitude."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim``, chosen at random (from gpugrad's
    generator)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        dim = _channel_dim(t, self.dim)
        channels = t.shape[dim]
        count = _count_to_prune(self.amount, channels)
        if count == 0:
            return default_mask
        draws = rand(channels, device=t.device)
        kept = draws > draws.kthvalue(count).values  # the `count` lowest draws are pruned
        return _channels_mask(t, dim, kept) * default_mask.to(dtype=t.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, amount, dim: int = -1) -> RandomStructured:
        """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm (``n`` as ``p`` of
    ``torch.norm``: 1, 2, ``float('inf')``, ``'fro'``...)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        dim = _channel_dim(t, self.dim)
        channels = t.shape[dim]
        count = _count_to_prune(self.amount, channels)
        if count == 0:
            return default_mask
        norms = t.norm(self.n, dim=[d for d in range(t.dim()) if d != dim])
        kept = norms.topk(channels - count, largest=True).indices
        return _channels_mask(t, dim, kept) * default_mask.to(dtype=t.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, amount, n, dim: int,
              importance_scores: Tensor | None = None) -> LnStructured:
        """Prune the ``amount`` channels of ``module.<name>`` (or of ``importance_scores``)
        along ``dim`` of smallest ``n``-norm."""
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match self.mask "
                                 f"shape {self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor) -> CustomFromMask:
        """Prune ``module.<name>`` where ``mask`` is 0."""
        return super().apply(module, name, mask=mask)


# ----------------------------------------------------------------------------- functions
def identity(module: Module, name: str) -> Module:
    """Reparametrize ``module.<name>`` as pruned, with a mask of ones; returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount) -> Module:
    """Prune ``amount`` entries of ``module.<name>`` chosen at random; returns ``module``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount,
                    importance_scores: Tensor | None = None) -> Module:
    """Prune the ``amount`` entries of ``module.<name>`` of smallest absolute value (or of
    smallest ``importance_scores``); returns ``module``."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount, dim: int) -> Module:
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``; returns
    ``module``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount, n, dim: int,
                  importance_scores: Tensor | None = None) -> Module:
    """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest ``n``-norm
    (of ``importance_scores`` if given); returns ``module``."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune the ``(module, name)`` pairs of ``parameters`` together, as if they were one
    flat tensor: ``pruning_method(**kwargs)`` (an unstructured method, e.g. ``L1Unstructured``
    with ``amount=``) chooses among all their unpruned entries. ``importance_scores`` maps
    some pairs to scores used instead of their values."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)  # (read three times: a generator works too)
    if importance_scores is None:
        importance_scores = {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = parameters_to_vector([importance_scores.get((module, name), getattr(module, name))
                                   for module, name in parameters])
    masks = parameters_to_vector([_current_mask(module, name) for module, name in parameters])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    # A container restricts the method to the entries no earlier pruning has zeroed.
    container = PruningContainer(method)
    final = container.compute_mask(scores, masks)
    start = 0
    for module, name in parameters:
        param = getattr(module, name)
        custom_from_mask(module, name, mask=final[start:start + param.numel()].view_as(param))
        start += param.numel()


def _current_mask(module: Module, name: str) -> Tensor:
    """``module.<name>_mask``, or ones where ``<name>`` is not pruned yet."""
    mask = getattr(module, name + "_mask", None)
    return ones_like(getattr(module, name)) if mask is None else mask


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    """Prune ``module.<name>`` where ``mask`` is 0; returns ``module``."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent: ``<name>`` becomes a parameter holding
    the pruned values, ``<name>_orig``, ``<name>_mask`` and the hook go; returns ``module``."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can "
                     "be removed")


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or any module below it has a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, sub in module.named_modules() for hook in sub._forward_pre_hooks.values())
