"""The state and conversion half of ``nn.Module``: ``state_dict``, ``load_state_dict``,
``to``, ``cuda``, ``float``... (mixed into ``Module``)."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Parameter, is_lazy


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class ConversionMixin:
    """Moving and casting a module's parameters and buffers in place."""

    def share_memory(self):
        """``share_memory_()`` on every parameter and buffer; returns self. CUDA tensors are
        shared already; CPU tensors refuse (see ``Tensor.share_memory_``)."""
        return self._apply(lambda t: t.share_memory_())

    def _apply(self, convert):
        """Replace the data of every parameter, gradient and buffer by ``convert(tensor)``."""
        for module in self.modules():
            with no_grad():
                for p in module._parameters.values():
                    if p is None:
                        continue
                    new = convert(p)
                    if new is not p:
                        _set_data(p, new)
                    if p.grad is not None:
                        new_grad = convert(p.grad)
                        if new_grad is not p.grad:
                            p.grad = new_grad.detach()
                for name, b in module._buffers.items():
                    if b is not None:
                        module._buffers[name] = convert(b)
        return self

    def to(self, *args, **kwargs):
        """Move and/or cast parameters and buffers in place: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``. Only floating-point tensors change dtype;
        ``memory_format`` lays out the 4-D and 5-D ones (``channels_last``...)."""
        from ...ops.convert import _parse_to

        kwargs = dict(kwargs)
        memory_format = kwargs.pop("memory_format", None)
        dtype, device, _ = _parse_to(args, kwargs)
        if dtype is not None:
            from ... import _dtype as dt

            dtype = dt.to_dtype(dtype)
            if not dtype.is_floating_point:
                raise TypeError(
                    f"nn.Module.to only accepts floating point dtypes, but got desired dtype="
                    f"{dtype}"
                )

        def convert(t: Tensor) -> Tensor:
            layout = {"memory_format": memory_format} if memory_format is not None and \
                t.dim() in (4, 5) else {}
            return t.to(device=device, dtype=dtype if t.is_floating_point() else None, **layout)

        return self._apply(convert)

    def cuda(self, device=None):
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def cpu(self):
        return self.to("cpu")

    def type(self, dst_type):
        return self._apply(lambda t: t.to(dst_type))

    def _cast_floats(self, dtype):
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self):
        from ... import _dtype as dt

        return self._cast_floats(dt.float32)

    def double(self):
        from ... import _dtype as dt

        return self._cast_floats(dt.float64)

    def half(self):
        from ... import _dtype as dt

        return self._cast_floats(dt.float16)

    def bfloat16(self):
        from ... import _dtype as dt

        return self._cast_floats(dt.bfloat16)


class StateDictMixin:
    """Saving and restoring a module's parameters and persistent buffers by name."""

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer by dotted name.

        Values share memory with the module's tensors (detached unless ``keep_vars``).
        """
        if args:  # PyTorch's deprecated positional form: (destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
        for hook in tuple((self._state_dict_pre_hooks or {}).values()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        for hook in tuple((self._state_dict_hooks or {}).values()):
            result = hook(self, destination, prefix, {})
            if result is not None:
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
        """Put this module's own parameters and persistent buffers (not its children's) into
        ``destination`` under ``prefix``."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if self._has_extra_state():
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict`` into this module (in place).

        With ``strict`` (default), keys must match ``state_dict()``'s exactly. Values may be
        Tensors or arrays. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        state_dict = OrderedDict(state_dict)  # (pre-hooks may edit it: the caller's stays)
        errors: list[str] = []
        expected = set()
        hook_missing: list = []
        hook_unexpected: list = []
        for module_prefix, module in self.named_modules(remove_duplicate=False):
            pre = module_prefix + "." if module_prefix else ""
            for hook in tuple((module._load_state_dict_pre_hooks or {}).values()):
                hook(module, state_dict, pre, {}, strict, hook_missing, hook_unexpected, errors)
            if module._has_extra_state():
                key = pre + "_extra_state"
                expected.add(key)
                if key in state_dict:
                    module.set_extra_state(state_dict[key])
            lazy_hook = getattr(module, "_lazy_load_hook", None)
            if lazy_hook is not None:  # a lazy module takes its shapes from the checkpoint
                lazy_hook(state_dict, pre)
            local = [(n, p, True) for n, p in module._parameters.items() if p is not None]
            local += [(n, b, False) for n, b in module._buffers.items()
                      if b is not None and n not in module._non_persistent_buffers_set]
            for name, target, is_param in local:
                key = pre + name
                expected.add(key)
                if key not in state_dict:
                    continue
                value = state_dict[key]
                if is_lazy(target):  # still uninitialized: the checkpoint's entry is too
                    continue
                have = tuple(target.shape)
                got = tuple(np.shape(value)) if not isinstance(value, Tensor) else tuple(
                    value.shape)
                if got != have:
                    errors.append(
                        f"size mismatch for {key}: copying a param with shape "
                        f"gpugrad.Size({list(got)}) from checkpoint, the shape in current model "
                        f"is gpugrad.Size({list(have)})."
                    )
                    continue
                if assign:
                    _assign(module, name, target, value, is_param)
                else:
                    _copy_into(target, value)
        missing = [k for k in self.state_dict() if k not in state_dict] + hook_missing
        unexpected = [k for k in state_dict.keys() if k not in expected] + hook_unexpected
        incompatible = _IncompatibleKeys(missing, unexpected)
        for module in self.modules():
            for hook in tuple((module._load_state_dict_post_hooks or {}).values()):
                hook(module, incompatible)  # (it may edit the two lists in place)
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
        return incompatible


def _set_data(t: Tensor, new: Tensor) -> None:
    """Point ``t`` at ``new``'s memory (``param.data = new``), as a conversion does."""
    t.data = new


def _as_array_for(target: Tensor, value):
    """``value`` (a Tensor or array-like) as an array on ``target``'s device."""
    if isinstance(value, Tensor):
        if value._backend is target._backend:
            return value._data
        return target._backend.asarray(value._backend.to_numpy(value._data))
    return target._backend.asarray(np.asarray(value))


def _copy_into(target: Tensor, value) -> None:
    target._write_(_as_array_for(target, value))  # casts to target's dtype


def _assign(module, name: str, target: Tensor, value, is_param: bool) -> None:
    src = value if isinstance(value, Tensor) else target._new(_as_array_for(target, value))
    if is_param:
        module._parameters[name] = Parameter(src, target.requires_grad)
    else:
        module._buffers[name] = src

