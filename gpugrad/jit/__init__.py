"""``gpugrad.jit``: TorchScript's entry points for programs that use them as annotations.

gpugrad has no TorchScript compiler. ``script`` and ``trace`` return the function or module
they are given, which then runs as the Python it is (the numbers a scripted function would give;
a traced module also keeps its data-dependent control flow, which a real trace would freeze).
Serializing a script (``save``, ``load``) raises ``NotImplementedError``; use ``gpugrad.save``
of a ``state_dict`` instead, or ``gpugrad.compile`` for speed.
"""

from __future__ import annotations

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting",
           "is_tracing", "annotate", "save", "load", "fork", "wait", "freeze",
           "optimize_for_inference", "interface", "Final", "ScriptModule", "ScriptFunction"]


def script(obj, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """Return ``obj`` (a function or module) unchanged: it runs as Python."""
    return obj


def trace(func, example_inputs=None, optimize=None, check_trace: bool = True,
          check_inputs=None, check_tolerance: float = 1e-5, strict: bool = True,
          _force_outplace: bool = False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs: bool = True):
    """Return ``func`` unchanged (see the module docstring)."""
    return func


def trace_module(mod, inputs, *args, **kwargs):
    return mod


def ignore(drop=False, **kwargs):
    """Decorator: leave a function to Python (which is where every function runs here)."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


def annotate(the_type, the_value):
    return the_value


def fork(func, *args, **kwargs):
    """Run ``func`` now; ``wait`` returns its result (TorchScript's futures, without threads)."""
    return _Done(func(*args, **kwargs))


def wait(future):
    return future.value


class _Done:
    def __init__(self, value):
        self.value = value

    def wait(self):
        return self.value


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


def save(m, f, _extra_files=None):
    raise NotImplementedError("gpugrad has no TorchScript: save the state_dict with "
                              "gpugrad.save(model.state_dict(), f) instead")


def load(f, map_location=None, _extra_files=None, _restore_shapes: bool = False):
    raise NotImplementedError("gpugrad has no TorchScript: build the model in Python and load "
                              "a state_dict saved with gpugrad.save")


class _FinalType:
    def __getitem__(self, item):
        return item


Final = _FinalType()


class ScriptModule:
    """TorchScript's module class: nothing is ever an instance of it here."""


class ScriptFunction:
    """TorchScript's function class: nothing is ever an instance of it here."""
