"""Registering a module's parameters, buffers and child modules: ``register_parameter``,
``register_buffer``, ``add_module`` and the attribute protocol that routes assignments to them
(mixed into ``Module``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...tensor import Tensor
from ..parameter import Buffer, Parameter, UninitializedBuffer
from . import hooks as _hooks

if TYPE_CHECKING:
    from .module import Module


def _typename(value) -> str:
    """PyTorch's name of the value's type in its errors (``torch.FloatTensor`` for a tensor)."""
    if isinstance(value, Tensor):
        return value.type()
    return type(value).__name__


class RegistrationMixin:
    """The three tables (``_parameters``, ``_buffers``, ``_modules``) and the attribute protocol
    over them. ``Module`` is the one class built on this mixin, so the module checks here ask
    ``isinstance(value, RegistrationMixin)``: ``isinstance(value, Module)`` without importing
    ``module.py`` (which imports this file)."""

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a placeholder) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                "created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        if param is not None and _hooks._GLOBAL_PARAMETER_REGISTRATION:
            param = _hooks.run_registration_hooks(_hooks._GLOBAL_PARAMETER_REGISTRATION, self,
                                                  name, param)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (e.g. running statistics).

        Persistent buffers are part of ``state_dict()``; all buffers move with ``to()``.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        if _hooks._GLOBAL_BUFFER_REGISTRATION:
            tensor = _hooks.run_registration_hooks(_hooks._GLOBAL_BUFFER_REGISTRATION, self, name,
                                                   tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, RegistrationMixin):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if "." in name or name == "":
            raise KeyError(f'module name can\'t contain ".", got: {name}' if name else
                           'module name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = _registered_module(self, name, module)

    register_module = add_module

    def _check_name(self, name, kind: str, table: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in table:
            raise KeyError(f"attribute '{name}' already exists")

    def __getattr__(self, name: str):
        d = self.__dict__
        params = d.get("_parameters")  # (first, outside the loop: every forward reads them)
        if params is not None and name in params:
            return params[name]
        for table in ("_buffers", "_modules"):
            entries = d.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            self.register_parameter(name, None)
            return
        modules = d.get("_modules")
        if isinstance(value, RegistrationMixin):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            modules[name] = _registered_module(self, name, value)
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as child module '{name}' "
                    "(torch.nn.Module or None expected)"
                )
            modules[name] = _registered_module(self, name, None)
            return
        if isinstance(value, (Buffer, UninitializedBuffer)):
            self._forget(name, keep="_buffers")
            self.register_buffer(name, value if isinstance(value, UninitializedBuffer) else
                                 value._shared_as(Tensor), value.persistent)
            return
        buffers = d.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as buffer '{name}' "
                    "(torch.nn.Buffer, torch.Tensor or None expected)"
                )
            self.register_buffer(name, value, name not in self._non_persistent_buffers_set)
            return
        object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str) -> None:
        """Drop ``name`` from every table but ``keep`` (and from plain attributes)."""
        d = self.__dict__
        d.pop(name, None)
        for table in ("_parameters", "_buffers", "_modules"):
            if table != keep and name in d.get(table, ()):
                del d[table][name]
        d.get("_non_persistent_buffers_set", set()).discard(name)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if name in d.get(table, ()):
                del d[table][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__())
        for table in (self._parameters, self._buffers, self._modules):
            keys.extend(table)
        return sorted(set(k for k in keys if not k[:1].isdigit()))

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)


def _registered_module(parent, name: str, module):
    """``module`` after the global module registration hooks (as ``add_module`` and assigning
    a module attribute register it)."""
    if not _hooks._GLOBAL_MODULE_REGISTRATION:
        return module
    return _hooks.run_registration_hooks(_hooks._GLOBAL_MODULE_REGISTRATION, parent, name, module)
