"""``LazyModuleMixin``: modules whose parameter shapes come from their first input."""

from __future__ import annotations

import itertools

import numpy as np

from ...tensor import Tensor
from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """A mixin for modules that initialize their parameters lazily ("lazy modules").

    Until the first call, a lazy module holds ``UninitializedParameter``s (and
    ``UninitializedBuffer``s); the first call infers their shapes from its inputs
    (``initialize_parameters``), materializes and initializes them, and the module then becomes
    an instance of ``cls_to_become`` (``LazyLinear`` becomes ``Linear``). Move and cast the
    model first, run a dry forward, then build the optimizer.

    A lazy module's ``state_dict`` holds its uninitialized entries as they are; loading a
    checkpoint of initialized tensors materializes them with the checkpoint's shapes (the first
    call then initializes nothing).

    Lazy modules draw their initial values at the first call, after the eager modules built
    with them: with the same seed, a model that mixes both kinds can start from different
    values than its eager twin.
    """

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "_lazy_pending", True)

    def __call__(self, *args, **kwargs):
        call = super().__call__  # bound now: self's class changes below
        if self.__dict__.get("_lazy_pending"):
            self._infer_parameters(self, args, kwargs)
        return call(*args, **kwargs)

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        """Initialize from the first call's arguments, then stop being lazy."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        del module.__dict__["_lazy_pending"]
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        for table, skip in ((self._parameters, ()),
                            (self._buffers, self._non_persistent_buffers_set)):
            for name, value in table.items():
                if value is not None and name not in skip:
                    keep = keep_vars or is_lazy(value)
                    destination[prefix + name] = value if keep else value.detach()

    def _lazy_load_hook(self, state_dict, prefix: str) -> None:
        """Before loading: materialize each uninitialized entry the checkpoint holds initialized,
        with the checkpoint's shape."""
        if not self.__dict__.get("_lazy_pending"):
            return
        for name, value in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if value is None or not is_lazy(value) or key not in state_dict:
                continue
            given = state_dict[key]
            if not is_lazy(given):
                value.materialize(tuple(given.shape) if isinstance(given, Tensor)
                                  else np.shape(given))

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Infer the parameters' shapes from the first call's arguments and initialize them."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether this module still holds an uninitialized parameter or buffer."""
        return any(is_lazy(v) for v in itertools.chain(self._parameters.values(),
                                                        self._buffers.values()))
