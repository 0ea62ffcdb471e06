"""A pickle reader that reaches only allowed code: the base of ``gpugrad.load``'s reader of
PyTorch checkpoints.

A pickle reaches code in three ways, each guarded here:

- globals (``GLOBAL``, ``STACK_GLOBAL``, ``INST``...): ``find_class`` resolves a name only to
  what the subclass allows by default (``default_global``) or to what the user allowlisted
  (``gpugrad.serialization.add_safe_globals``); nothing else is ever imported;
- calls (``REDUCE``, ``NEWOBJ``, ``NEWOBJ_EX``, ``INST``, ``OBJ``): only of a global that
  ``find_class`` handed out in this load (never of another object on the stack), and
  ``NEWOBJ`` only of a class;
- state and items (``BUILD``, ``APPEND``, ``SETITEM``, ``ADDITEMS``...): ``BUILD`` only on an
  ``OrderedDict``/``Counter`` (a state dict's ``_metadata``) or an instance of an allowlisted
  class (through its ``__setstate__``, else its ``__dict__`` and slots, as pickle does); items
  only into plain lists, dicts and sets, so no other object's methods are called.

It is the pure-Python unpickler so that each of these opcodes can be guarded: the C one
would let a file set attributes of the shared objects ``find_class`` returns.
"""

from __future__ import annotations

import pickle
from collections import Counter, OrderedDict

from . import _safe_globals

_DICTS = (dict, OrderedDict, Counter)
_BUILT_BY_DEFAULT = (OrderedDict, Counter)


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickles with only allowed globals; ``default_global(name)`` gives what a subclass
    allows by default for ``"module.qualname"`` (None if nothing)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, **pickle_load_args):
        super().__init__(file, **pickle_load_args)
        self._given: dict[int, object] = {}  # id -> each global find_class handed out
        self._user: dict | None = None  # the user's allowlist, read when first needed

    def default_global(self, name: str):
        return None

    def user_globals(self) -> dict:
        if self._user is None:
            self._user = _safe_globals.user_allowed_globals()
        return self._user

    def find_class(self, module, name):
        module = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)
        full_name = f"{module}.{name}"
        if module in _safe_globals.BLOCKED_MODULES:
            raise pickle.UnpicklingError(
                f"gpugrad.load refused the global {full_name} in this PyTorch checkpoint: "
                f"globals of the module {module} are never loaded, even when allowlisted")
        found = self.default_global(full_name)
        if found is None:
            found = self.user_globals().get(full_name)
        if found is None:
            raise pickle.UnpicklingError(_refusal(module, name))
        self._given[id(found)] = found
        return found

    def _check_given(self, obj, what: str, need_class: bool = False):
        if self._given.get(id(obj)) is not obj or (need_class and not isinstance(obj, type)):
            kind = "a class" if need_class else "a global"
            raise pickle.UnpicklingError(
                f"gpugrad.load refused to {what} {obj!r} in this PyTorch checkpoint: only {kind} "
                "allowed by default or allowlisted with gpugrad.serialization.add_safe_globals "
                "may be")

    def _load_reduce(self):
        self._check_given(self.stack[-2], "call")
        pickle._Unpickler.load_reduce(self)

    def _load_newobj(self):
        self._check_given(self.stack[-2], "create an instance of", need_class=True)
        pickle._Unpickler.load_newobj(self)

    def _load_newobj_ex(self):
        self._check_given(self.stack[-3], "create an instance of", need_class=True)
        pickle._Unpickler.load_newobj_ex(self)

    def _instantiate(self, klass, args):  # INST and OBJ
        self._check_given(klass, "call")
        super()._instantiate(klass, args)

    def _load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) in _BUILT_BY_DEFAULT and isinstance(state, dict):
            inst.__dict__.update(state)
        elif any(type(inst) is obj for obj in (self._user or {}).values()):
            _set_instance_state(inst, state)
        else:
            raise pickle.UnpicklingError(
                f"gpugrad.load refused to set the state of a {type(inst).__name__} in this "
                "PyTorch checkpoint (only an OrderedDict's attributes, or the state of an "
                "instance of a class allowlisted with gpugrad.serialization.add_safe_globals, "
                "may be set)")

    def _target(self, kinds: tuple, opcode: str):
        target = self.stack[-1]
        if type(target) not in kinds:
            names = ", ".join(k.__name__ for k in kinds)
            raise pickle.UnpicklingError(f"gpugrad.load refused {opcode} on a "
                                         f"{type(target).__name__} (only on {names})")
        return target

    def _load_append(self):
        value = self.stack.pop()
        self._target((list,), "APPEND").append(value)

    def _load_appends(self):
        items = self.pop_mark()
        self._target((list,), "APPENDS").extend(items)

    def _load_setitem(self):
        value = self.stack.pop()
        key = self.stack.pop()
        self._target(_DICTS, "SETITEM")[key] = value

    def _load_setitems(self):
        items = self.pop_mark()
        target = self._target(_DICTS, "SETITEMS")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def _load_additems(self):
        items = self.pop_mark()
        self._target((set,), "ADDITEMS").update(items)

    dispatch[pickle.REDUCE[0]] = _load_reduce
    dispatch[pickle.NEWOBJ[0]] = _load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = _load_newobj_ex
    dispatch[pickle.BUILD[0]] = _load_build
    dispatch[pickle.APPEND[0]] = _load_append
    dispatch[pickle.APPENDS[0]] = _load_appends
    dispatch[pickle.SETITEM[0]] = _load_setitem
    dispatch[pickle.SETITEMS[0]] = _load_setitems
    dispatch[pickle.ADDITEMS[0]] = _load_additems


def _set_instance_state(inst, state) -> None:
    """Set an allowlisted class's instance state as pickle would: its ``__setstate__``, else
    ``state`` (a dict, or a ``(dict, slots dict)`` pair) into ``__dict__`` and slots."""
    setstate = getattr(inst, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    slot_state = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slot_state = state
    if state:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"corrupt PyTorch checkpoint: the state of a "
                                         f"{type(inst).__name__} is a {type(state).__name__}")
        inst.__dict__.update(state)
    for name, value in (slot_state or {}).items():
        # a slot's name is never a dunder; refusing them keeps ``__class__`` unchanged
        if not isinstance(name, str) or (name.startswith("__") and name.endswith("__")):
            raise pickle.UnpicklingError(f"gpugrad.load refused to set the attribute {name!r} "
                                         f"of a {type(inst).__name__}")
        setattr(inst, name, value)


def _refusal(module: str, name: str) -> str:
    # As in Python code: builtins' names bare (what the user would put in the list).
    shown = name if module == "builtins" else f"{module}.{name}"
    return (
        f"gpugrad.load refused the global {module}.{name} in this PyTorch checkpoint: it "
        "rebuilds only tensors, parameters, dtypes, devices, sizes, numbers, strings and "
        "containers (what torch.load(weights_only=True) allows by default) and never runs "
        "code from a file beyond the globals you allowlist, whatever weights_only says. If "
        f"you trust this class or function, allowlist it with "
        f"gpugrad.serialization.add_safe_globals([{shown}]) or the "
        f"gpugrad.serialization.safe_globals([{shown}]) context manager; or load the file "
        "with torch.load and save its tensors (e.g. a state_dict) with torch.save")
