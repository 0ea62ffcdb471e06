"""``RemovableHandle``: what registering a module's or an optimizer's hook returns
(``torch.utils.hooks``)."""

from __future__ import annotations

__all__ = ["RemovableHandle", "add_hook"]


class RemovableHandle:
    """What ``register_*_hook`` returns: ``remove()`` takes the hook out (also as a context
    manager)."""

    _next_id = 0

    def __init__(self, *tables: dict, hook=None, extra: dict | None = None):
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id
        self._tables = tables
        self._extra = extra  # per-hook flags (with_kwargs, always_call), removed with it
        if hook is not None:
            tables[0][self.id] = hook

    def remove(self) -> None:
        for table in self._tables:
            table.pop(self.id, None)
        if self._extra is not None:
            self._extra.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(table: dict, hook, prepend: bool = False, flags: dict | None = None,
             flag=None) -> RemovableHandle:
    """Put ``hook`` into ``table`` (first with ``prepend``); ``flags`` (a table of per-hook
    options, e.g. with_kwargs) gets ``flag`` under the same id."""
    handle = RemovableHandle(table, extra=flags)
    if prepend:
        items = list(table.items())
        table.clear()
        table[handle.id] = hook
        table.update(items)
    else:
        table[handle.id] = hook
    if flags is not None and flag is not None:
        flags[handle.id] = flag
    return handle
