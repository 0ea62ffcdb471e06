"""Python numbers a captured step reads: guarded, since the program holds them as constants.

A replay runs none of the step's Python, so a number the step read from an object (a
temperature annealed between calls, a loss weight, ``Dropout.p``) is baked into the program.
The capture cannot see Python reads, but it knows where such numbers usually live: the
globals the function names, the attributes of the objects it closes over, names as globals or
is bound to (followed through attributes, ``self.cfg.scale``), and the attributes of the
modules it called. Of an object, only the attributes whose names the step's code mentions are
guarded (its own code, the functions and methods it names, their nested code): a counter the
step never reads (``trainer.epoch``) must not re-capture every call. Each number found becomes
a guard; a changed one re-captures (and after the cache's bound runs eagerly) instead of
replaying a stale constant.

A step that *writes* such a number (``self.step_count += 1``) cannot be replayed at all: the
replay would skip the write. ``written`` compares the values before and after the capture
call and names the first that changed.

Objects whose state their islands change on purpose (optimizers, schedulers, the gradient
scaler) are left out: their islands run in every replay.
"""

from __future__ import annotations

import types

_NUMBERS = (bool, int, float, complex, str, type(None))
_DEPTH = 3  # how far attributes are followed from what the step names (self.a.b.c)


def guards(fn, modules) -> list:
    """Kind-4 guards ``(4, (dict, key), value)`` for the numbers ``fn`` may read."""
    names = _names_read(fn)
    found = []
    seen = set()

    def visit(obj, depth):
        if (id(obj) in seen or depth > _DEPTH or _has_islands(obj) or _is_tensor(obj)
                or isinstance(obj, (types.ModuleType, types.FunctionType, type,
                                    types.BuiltinFunctionType, types.MethodType))):
            return
        seen.add(id(obj))
        d = getattr(obj, "__dict__", None)
        if not isinstance(d, dict):
            return
        for key, value in list(d.items()):
            if key not in names or key == "training":
                continue
            if type(value) in _NUMBERS:
                found.append((4, (d, key), value))
            else:
                visit(value, depth + 1)

    target = getattr(fn, "__func__", fn)  # a bound method: its function and its object
    if getattr(fn, "__self__", None) is not None:
        visit(fn.__self__, 1)
    code = getattr(target, "__code__", None)
    if code is not None:
        for cell in target.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            visit(value, 1)
        glob = target.__globals__
        for name in code.co_names:
            if name in glob:
                value = glob[name]
                if type(value) in _NUMBERS:
                    found.append((4, (glob, name), value))
                else:
                    visit(value, 1)
    for module in modules:
        found.extend(module_numbers(module))
    return found


def guard(program, fn, rec, before) -> None:
    """Give ``program`` the guards of the numbers ``fn`` may read (``before``: those guards
    taken before the capture call); a step that changed one of them runs eagerly."""
    after = guards(fn, [m for m, _ in rec.modules.values()])
    key = written(before + rec.module_numbers, after)
    if key is not None and program.reason is None:
        program.reason = (f"the step changes the Python value {key!r}, which a replay would not "
                          "change: keep such counters outside the compiled function")
    if program.reason is None:  # (an eager signature runs the Python: nothing to guard)
        program.guards.extend(after)


def module_numbers(module) -> list:
    """Guards for every number attribute of a called module (its forward reads them)."""
    d = module.__dict__
    return [(4, (d, key), value) for key, value in list(d.items())
            if type(value) in _NUMBERS and key != "training"]


def written(before, after) -> str | None:
    """The name of the first guarded number whose value the capture call changed, if any."""
    old = {(id(d), key): value for _, (d, key), value in before}
    for _, (d, key), value in after:
        was = old.get((id(d), key), value)
        if was is not value and was != value:
            return key
    return None


def _names_read(fn) -> set:
    """The attribute and global names the code of ``fn`` may read: its code objects, those of
    the functions and methods it names (globals, closure cells, methods of the objects it is
    bound to or closes over), to a small depth; string constants count (``getattr(o, "x")``)."""
    names: set = set()
    seen_code: set = set()
    target = getattr(fn, "__func__", fn)
    owners = [fn.__self__] if getattr(fn, "__self__", None) is not None else []
    glob = getattr(target, "__globals__", {})
    for cell in getattr(target, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, types.FunctionType):
            _add_code(value.__code__, names, seen_code)
        elif not isinstance(value, (types.ModuleType, type)):
            owners.append(value)
    code = getattr(target, "__code__", None)
    if code is not None:
        _add_code(code, names, seen_code)
    for _ in range(_DEPTH):  # functions and methods the names so far lead to
        before = len(seen_code)
        for name in list(names):
            value = glob.get(name)
            if isinstance(value, types.FunctionType):
                _add_code(value.__code__, names, seen_code)
            for owner in owners:
                method = getattr(type(owner), name, None)
                method = getattr(method, "__func__", method)
                if isinstance(method, types.FunctionType):
                    _add_code(method.__code__, names, seen_code)
        if len(seen_code) == before:
            break
    return names


def _add_code(code, names, seen_code) -> None:
    if id(code) in seen_code:
        return
    seen_code.add(id(code))
    names.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, str):
            names.add(const)
        elif isinstance(const, types.CodeType):
            _add_code(const, names, seen_code)


def _has_islands(obj) -> bool:
    cls = type(obj)
    return any(getattr(getattr(cls, name, None), "__gpugrad_island__", False)
               for name in ("step", "zero_grad", "update"))


def _is_tensor(obj) -> bool:
    from ..tensor import Tensor

    return isinstance(obj, Tensor)
