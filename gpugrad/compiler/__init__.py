"""``gpugrad.compile``: capture a training step once, replay it (``torch.compile``'s place).

A compiled function runs eagerly once, then once more while its array-level program is
recorded (``trace.py``, ``capture.py``), and from then on replays that program: a flat list of
NumPy calls writing into buffers allocated once (``program.py``), with optimizer steps, zero_grad
and learning-rate schedulers called eagerly at their place ("islands"). Guards send new shapes
to a new capture and anything a replay cannot reproduce back to eager, with one warning
(``function.py``). A compiled module replays its forward and backward as one node of the eager
tape (``module.py``).
"""

from __future__ import annotations

import warnings

from .. import _capture
from .function import MAX_SIGNATURES, CompiledFunction, CompileStats, CompileWarning

__all__ = ["compile", "reset", "is_compiling", "disable", "CompileWarning", "CompileStats",
           "CompiledFunction", "MAX_SIGNATURES"]

_BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs", "gpugrad")
_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",
            mode=None, options=None, disable: bool = False):
    """Capture ``model`` (a function or an ``nn.Module``) and replay it; ``torch.compile``'s
    signature. Without ``model``, returns a decorator."""
    if model is None:
        def decorate(fn):
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                           options=options, disable=disable)
        return decorate
    if not callable(model):
        raise TypeError(f"compile() expects a callable or an nn.Module, got "
                        f"{type(model).__name__}")
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: "
                           f"{', '.join(m for m in _MODES if m)}")
    if disable:
        return model
    ignored = []
    if isinstance(backend, str) and backend not in _BACKENDS:
        raise RuntimeError(f"invalid backend {backend!r}: gpugrad.compile knows "
                           f"{', '.join(_BACKENDS)} (each replays gpugrad's own capture)")
    if not isinstance(backend, str):
        ignored.append("a backend callable")
    if dynamic:
        ignored.append("dynamic=True (each new shape is captured on its own)")
    if options:
        ignored.append("options")
    if ignored:
        warnings.warn(f"gpugrad.compile ignores {', '.join(ignored)}", CompileWarning,
                      stacklevel=2)
    from ..nn.modules.module import Module

    if isinstance(model, Module):
        from .module import OptimizedModule

        return OptimizedModule(model)
    return CompiledFunction(model)


def reset() -> None:
    """Forget every capture (``torch.compiler.reset``): compiled functions warm up again."""
    from . import function

    function.generation += 1


def is_compiling() -> bool:
    """True while a step is being captured."""
    return _capture.recorder is not None


def disable(fn=None, recursive: bool = True):
    """``torch.compiler.disable``: ``fn`` unchanged (gpugrad captures arrays, not bytecode, so
    there is nothing to turn off inside a captured step)."""
    if fn is None:
        return lambda f: f
    return fn
