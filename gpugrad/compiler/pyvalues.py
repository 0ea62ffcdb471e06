"""Python numbers a captured step reads: guarded, since the program holds them as constants.

A replay runs none of the step's Python, so a number the step read from an object (a
temperature annealed between calls, a loss weight, ``Dropout.p``) is baked into the program.
The capture cannot see Python reads, but it knows where such numbers usually live: the
attributes of the objects the function closes over or names as globals, the globals
themselves, and the attributes of the modules it called. Each number found there becomes a
guard; a changed one re-captures (and after the cache's bound runs eagerly) instead of
replaying a stale constant. Objects whose state their islands change on purpose (optimizers,
schedulers, the gradient scaler) are left out: their islands run in every replay.
"""

from __future__ import annotations

import types

_NUMBERS = (bool, int, float, complex, str, type(None))


def guards(fn, modules) -> list:
    """Kind-4 guards ``(4, (dict, key), value)`` for the numbers ``fn`` may read."""
    found = []
    seen = set()

    def numbers_of(d):
        if id(d) in seen:
            return
        seen.add(id(d))
        for key, value in list(d.items()):
            if type(value) in _NUMBERS and key != "training":
                found.append((4, (d, key), value))

    def visit(obj):
        if isinstance(obj, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                            type)) or _has_islands(obj):
            return
        d = getattr(obj, "__dict__", None)
        if isinstance(d, dict) and not _is_tensor(obj):
            numbers_of(d)

    target = getattr(fn, "__func__", fn)  # a bound method: its function and its object
    if getattr(fn, "__self__", None) is not None:
        visit(fn.__self__)
    code = getattr(target, "__code__", None)
    if code is not None:
        for cell in target.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            visit(value)
        glob = target.__globals__
        for name in code.co_names:
            if name in glob:
                value = glob[name]
                if type(value) in _NUMBERS:
                    found.append((4, (glob, name), value))
                else:
                    visit(value)
    for module in modules:
        numbers_of(module.__dict__)
    return found


def _has_islands(obj) -> bool:
    cls = type(obj)
    return any(getattr(getattr(cls, name, None), "__gpugrad_island__", False)
               for name in ("step", "zero_grad", "update"))


def _is_tensor(obj) -> bool:
    from ..tensor import Tensor

    return isinstance(obj, Tensor)
