"""``nn.utils.prune``: zeroing chosen entries or channels of a module's tensors, as PyTorch's
``torch.nn.utils.prune``.

Pruning ``module.<name>`` moves the parameter to ``<name>_orig`` (the same ``Parameter``
object), keeps a 0/1 buffer ``<name>_mask``, and registers the pruning method itself as a
forward pre-hook that sets the plain attribute ``module.<name> = <name>_mask * <name>_orig``
before every forward: the pruned entries read as zero and get no gradient. Pruning the same
tensor again chains the methods in a ``PruningContainer``, the new one choosing only among
what is still unpruned; ``remove`` makes the pruned values permanent.

An ``amount`` is a count (an int: entries, or channels for structured pruning) or a fraction in
[0, 1] of them, rounded half to even (Python's ``round``), as in PyTorch. The base class, the
container and the amount and mask helpers live in ``_pruning.py``."""

from __future__ import annotations

from collections.abc import Iterable

from ...factories import ones_like
from ...sampling import rand, rand_like
from ...tensor import Tensor
from ..modules.module import Module
from ._pruning import (
    BasePruningMethod,
    PruningContainer,
    _check_amount,
    _count_to_prune,
    _prune_channels,
    _zero_lowest,
)
from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


# ----------------------------------------------------------------------------- the methods
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
        def kept(dim, channels, count):
            draws = rand(channels, device=t.device)
            return draws > draws.kthvalue(count).values  # the `count` lowest draws are pruned

        return _prune_channels(t, default_mask, self.dim, self.amount, kept)

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
        def kept(dim, channels, count):
            norms = t.norm(self.n, dim=[d for d in range(t.dim()) if d != dim])
            return norms.topk(channels - count, largest=True).indices

        return _prune_channels(t, default_mask, self.dim, self.amount, kept)

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
