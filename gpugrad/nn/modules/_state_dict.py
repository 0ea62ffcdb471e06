"""The state dict part of ``nn.Module`` (mixed into ``Module``): ``state_dict`` walks the
modules calling each one's ``_save_to_state_dict``, ``load_state_dict`` walks them calling
each one's ``_load_from_state_dict``, the two methods a module overrides to change how its own
entries are saved or read (e.g. to upgrade a checkpoint of an older ``_version``)."""

from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple

import numpy as np

from ...autograd.grad_mode import no_grad
from ...size import Size
from ...tensor import Tensor
from ..parameter import Parameter, is_lazy

_EXTRA_STATE = "_extra_state"


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class StateDictMixin:
    """Saving and restoring a module's parameters and persistent buffers by name."""

    # The version of a module's state dict layout, saved in ``state_dict()._metadata``: a
    # class that changes its layout raises it and upgrades older checkpoints in its
    # ``_load_from_state_dict`` (``local_metadata["version"]``).
    _version: int = 1

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer by dotted name, with each
        module's ``{"version": _version}`` under its prefix in the ``_metadata`` attribute.

        Values share memory with the module's tensors (detached unless ``keep_vars``). Given a
        ``destination``, the entries go into it (and its ``_metadata``, if it has one).
        """
        if args:  # the deprecated positional form: (destination, prefix, keep_vars)
            warnings.warn(
                "Positional args are being deprecated, use kwargs instead. Refer to "
                "https://pytorch.org/docs/main/generated/torch.nn.Module.html"
                "#torch.nn.Module.state_dict for details.", FutureWarning, stacklevel=2)
            if destination is None:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in tuple((self._state_dict_pre_hooks or {}).values()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        public = self._state_dict_hooks_public or {}
        for key, hook in tuple((self._state_dict_hooks or {}).items()):
            result = hook(self, destination, prefix, local_metadata)
            if key in public:
                if result is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif result is not None:  # (the private form may replace the dict)
                destination = result
        return destination

    def get_extra_state(self):
        """State beyond parameters and buffers for ``state_dict`` (``<prefix>_extra_state``):
        override together with ``set_extra_state``."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
            "bug-report.yml to report this bug.")

    def set_extra_state(self, state) -> None:
        """Restore what ``get_extra_state`` returned (called by ``load_state_dict``)."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
            "bug-report.yml to report this bug.")

    def _has_extra_state(self) -> bool:
        return type(self).get_extra_state is not StateDictMixin.get_extra_state

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        """Put this module's own parameters, persistent buffers and extra state (not its
        children's) into ``destination`` under ``prefix``."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if self._has_extra_state():
            destination[prefix + _EXTRA_STATE] = self.get_extra_state()

    def _load_from_state_dict(self, state_dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        """Load this module's own entries (not its children's) from ``state_dict``: run the
        load pre-hooks, copy each parameter and persistent buffer found under ``prefix``,
        restore the extra state; with ``strict``, note the missing entries and those under
        ``prefix`` that name nothing of this module. Errors go into ``error_msgs``."""
        lazy_hook = getattr(self, "_lazy_load_hook", None)
        if lazy_hook is not None:  # a lazy module takes its shapes from the checkpoint
            lazy_hook(state_dict, prefix)
        for hook in tuple((self._load_state_dict_pre_hooks or {}).values()):
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        local_state = {n: p for n, p in self._parameters.items() if p is not None}
        local_state.update((n, b) for n, b in self._buffers.items()
                           if b is not None and n not in self._non_persistent_buffers_set)
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, target in local_state.items():
            key = prefix + name
            if key in state_dict:
                _load_entry(self, name, key, target, state_dict[key], assign, error_msgs)
            elif strict:
                missing_keys.append(key)
        extra_key = prefix + _EXTRA_STATE
        if type(self).set_extra_state is not StateDictMixin.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:  # a key under this prefix must name a child or one of this module's own
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    head = key[len(prefix):].split(".", 1)
                    owners = self._modules if len(head) > 1 else local_state
                    if head[0] not in owners:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict`` into this module (in place; with
        ``assign``, the module takes the state dict's tensors instead).

        Each module's ``_load_from_state_dict`` reads its entries, given its
        ``state_dict._metadata`` entry. With ``strict`` (default), keys must match
        ``state_dict()``'s exactly. Values may be Tensors or arrays. Returns
        ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)  # (hooks may edit it: the caller's stays)
        if metadata is not None:
            state_dict._metadata = metadata

        def load(module, local_state_dict, prefix: str = "") -> None:
            local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True,
                                         missing, unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local_state_dict.items()
                                 if k.startswith(child_prefix)}, child_prefix)
            incompatible = _IncompatibleKeys(missing, unexpected)
            for hook in tuple((module._load_state_dict_post_hooks or {}).values()):
                if hook(module, incompatible) is not None:  # (it edits the lists in place)
                    raise AssertionError(
                        "Hooks registered with ``register_load_state_dict_post_hook`` are not "
                        "expected to return new values, if incompatible_keys need to be "
                        "modified, it should be done inplace.")

        load(self, state_dict)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return _IncompatibleKeys(missing, unexpected)


def _load_entry(module, name: str, key: str, target: Tensor, value, assign: bool,
                errors: list) -> None:
    """Copy (or with ``assign``, set) ``value`` into ``module``'s parameter or buffer ``name``;
    a wrong shape or a value that is no tensor or array goes into ``errors``."""
    if not isinstance(value, Tensor) and not (hasattr(value, "shape")
                                              and hasattr(value, "dtype")):
        errors.append(f'While copying the parameter named "{key}", expected gpugrad.Tensor or '
                      f"Tensor-like object from checkpoint but received {type(value)}")
        return
    if is_lazy(target):  # still uninitialized: the checkpoint's entry is too
        return
    if target.dim() == 0 and tuple(value.shape) == (1,):
        value = value[0]  # a 0-d entry saved as a 1-element vector
    got = Size(value.shape)
    if got != target.shape:
        errors.append(f"size mismatch for {key}: copying a param with shape {got} from "
                      f"checkpoint, the shape in current model is {target.shape}.")
        return
    try:
        with no_grad():
            if assign:
                _assign(module, name, target, value)
            else:
                target._write_(_as_array_for(target, value))  # casts to target's dtype
    except Exception as ex:  # noqa: BLE001 (reported as PyTorch does, with the others)
        errors.append(f'While copying the parameter named "{key}", whose dimensions in the '
                      f"model are {target.shape} and whose dimensions in the checkpoint are "
                      f"{got}, an exception occurred : {ex.args}.")


def _as_array_for(target: Tensor, value):
    """``value`` (a Tensor or array-like) as an array on ``target``'s device."""
    if isinstance(value, Tensor):
        if value._backend is target._backend:
            return value._data
        return target._backend.asarray(value._backend.to_numpy(value._data))
    return target._backend.asarray(np.asarray(value))


def _assign(module, name: str, target: Tensor, value) -> None:
    """``module.<name> = value`` (a Parameter, keeping ``target``'s ``requires_grad``, where
    ``target`` is one)."""
    if not isinstance(value, Tensor):
        value = target._new(_as_array_for(target, value))
    if isinstance(target, Parameter):
        if isinstance(value, Parameter):
            value.requires_grad_(target.requires_grad)
        else:
            value = Parameter(value, target.requires_grad)
    setattr(module, name, value)
