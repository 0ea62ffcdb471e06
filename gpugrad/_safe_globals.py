"""The user's allowlist of globals a checkpoint may use beyond tensors and plain data
(``gpugrad.serialization.add_safe_globals`` and friends, as ``torch.serialization``'s).

An entry is a class or function, known in the pickle by ``{__module__}.{__qualname__}``, or a
pair ``(obj, "module.qualname")`` that names it as the pickle does (e.g. a class saved from
``__main__``). Entries are checked when a checkpoint first needs one, as PyTorch does.
"""

from __future__ import annotations

__all__ = ["add_safe_globals", "clear_safe_globals", "get_safe_globals", "safe_globals",
           "user_allowed_globals", "BLOCKED_MODULES"]

# Modules whose globals are refused even when allowlisted (as PyTorch refuses them).
BLOCKED_MODULES = ("sys", "os", "posix", "nt")

# Insertion-ordered set of entries (a dict's keys).
_entries: dict = {}


def add_safe_globals(safe_globals: list) -> None:
    """Mark globals (classes, functions, or ``(obj, "module.qualname")`` pairs) as safe for
    ``gpugrad.load``: a checkpoint may then call them, create their instances and set their
    state. Only allowlist what you trust."""
    for entry in safe_globals:
        _entries[entry] = None


def get_safe_globals() -> list:
    """The globals the user marked as safe for ``gpugrad.load``."""
    return list(_entries)


def clear_safe_globals() -> None:
    """Forget every global marked as safe for ``gpugrad.load``."""
    _entries.clear()


class safe_globals:
    """Context manager that marks globals as safe for ``gpugrad.load`` inside its block.

    On exit its entries are removed (also those added before the block, as in PyTorch).
    """

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, exc_type, exc_value, traceback):
        for entry in self.safe_globals:
            _entries.pop(entry, None)


def user_allowed_globals() -> dict:
    """Each allowlisted global by the name a pickle uses for it."""
    allowed = {}
    for entry in _entries:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError("a safe global given as a tuple must be (global, 'module."
                                 f"qualname'), but this tuple has {len(entry)} items")
            obj, name = entry
            if type(name) is not str:
                raise TypeError("the second item of a (global, name) safe global must be the "
                                f"str 'module.qualname', not {type(name).__name__}")
            allowed[name] = obj
        else:
            allowed[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return allowed
