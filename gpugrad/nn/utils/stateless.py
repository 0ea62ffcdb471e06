"""Calling a module with other parameters and buffers than its own:
``torch.func.functional_call`` (``gpugrad.func``) and its deprecated forerunner
``torch.nn.utils.stateless.functional_call``."""

from __future__ import annotations

import contextlib

__all__ = ["functional_call"]

_TABLES = ("_parameters", "_buffers")


def _owner(module, name: str):
    *path, attr = name.split(".")
    for part in path:
        module = getattr(module, part)
    return module, attr


def _merged(parameter_and_buffer_dicts) -> dict:
    if isinstance(parameter_and_buffer_dicts, dict):
        return dict(parameter_and_buffer_dicts)
    merged: dict = {}
    for d in parameter_and_buffer_dicts:
        for key, value in d.items():
            if key in merged:
                raise ValueError(f"{key} appeared in multiple dictionaries; behavior of "
                                 "functional call is ambiguous")
            merged[key] = value
    return merged


@contextlib.contextmanager
def _reparametrize(module, values: dict, tie_weights: bool, strict: bool):
    named = list(module.named_parameters(remove_duplicate=False)) + \
        list(module.named_buffers(remove_duplicate=False))
    if tie_weights:  # names sharing one tensor take the value given for any of them
        by_tensor: dict = {}
        for name, t in named:
            by_tensor.setdefault(id(t), []).append(name)
        for names in by_tensor.values():
            given = [n for n in names if n in values]
            if len(given) > 1 and len({id(values[n]) for n in given}) > 1:
                raise ValueError(f"functional_call got multiple values for keys {given}, which "
                                 "are tied. Consider using tie_weights=False")
            if given:
                for n in names:
                    values.setdefault(n, values[given[0]])
    if strict:
        known = {n for n, _ in named}
        missing = sorted(known - set(values))
        unexpected = sorted(set(values) - known)
        if missing or unexpected:
            parts = []
            if unexpected:
                parts.append("Unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
            if missing:
                parts.append("Missing key(s): " + ", ".join(repr(k) for k in missing))
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t"
                               + "\n\t".join(parts))
    undo = []
    try:
        for name, value in values.items():
            owner, attr = _owner(module, name)
            for table in _TABLES:
                entries = owner.__dict__[table]
                if attr in entries:
                    undo.append((entries, attr, entries[attr]))
                    entries[attr] = value
                    break
            else:
                had = attr in owner.__dict__
                undo.append((owner, attr, owner.__dict__.get(attr), had))
                object.__setattr__(owner, attr, value)
        yield
    finally:
        for item in reversed(undo):
            if len(item) == 3:
                entries, attr, old = item
                entries[attr] = old
            else:
                owner, attr, old, had = item
                if had:
                    object.__setattr__(owner, attr, old)
                else:
                    object.__delattr__(owner, attr)


def call_with(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
              tie_weights: bool = True, strict: bool = False):
    """``module(*args, **kwargs)`` with the named parameters and buffers replaced by the given
    tensors (a dict, or a sequence of dicts) for the duration of the call (the module is left
    as it was): ``gpugrad.func.functional_call``."""
    values = _merged(parameter_and_buffer_dicts)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, values, tie_weights, strict):
        return module(*args, **(kwargs or {}))


def functional_call(module, parameters_and_buffers: dict, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """Deprecated (as in PyTorch) form of ``gpugrad.func.functional_call``, taking one dict."""
    import warnings

    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    if not isinstance(parameters_and_buffers, dict):
        raise AttributeError(f"'{type(parameters_and_buffers).__name__}' object has no "
                             "attribute 'keys'")
    return call_with(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights,
                     strict=strict)
