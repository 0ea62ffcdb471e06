"""``.grad`` during a capture: which assignments a replay must repeat, and which ``.grad`` it
depends on at the start.

``.grad`` is Python state, not an array, so the array recording cannot see it. Three things
change it inside a step:
- the engine (backward), which writes ``_grad`` directly: a new gradient tensor when ``.grad``
  was None, or an in-place sum into the old one (that one is an array write, recorded). Its
  assignments are found by comparing ``_grad`` with what was last seen, at each island, at each
  user assignment and at the end, and replayed there as assignments of the same tensor object;
- the user's code (``p.grad = None``): the setter reports it; replayed as it happened;
- islands (``zero_grad``): they run again in every replay, so nothing is recorded for them.
A replay that assigns a new gradient assumed ``.grad`` was None when the engine ran; unless the
step itself reset it first (user code or an island), that is a guard on ``.grad`` at the start.
"""

from __future__ import annotations

from functools import partial

_MISSING = object()


def set_grad(t, g) -> None:
    """Replay step: an assignment of ``.grad`` (the engine's or the user's)."""
    t._grad = g


class GradWatch:
    """The ``.grad`` of every tensor that existed before the capture, followed through it."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.start = {id(t): t._grad for t in tensors}
        self.last = dict(self.start)
        self.reset_in_step: set = set()  # ids: set by the step before the engine wrote it
        self.engine_set: dict = {}  # id -> tensor: the engine gave it a new .grad

    def boundary(self, rec, after_island: bool = False) -> None:
        """Record the engine's assignments since the last look (or, after an island, note
        the island's own)."""
        for t in self.tensors:
            g = t._grad
            if g is not self.last.get(id(t), _MISSING):
                if after_island:
                    self._reset(t)
                else:
                    rec.steps.append(partial(set_grad, t, g))
                    self.engine_set.setdefault(id(t), t)
                self.last[id(t)] = g

    def assigned(self, rec, t, value) -> None:
        """The user's code assigns ``t.grad = value`` (called before the assignment)."""
        g = t._grad
        if g is not self.last.get(id(t), _MISSING) and id(t) in self.start:
            rec.steps.append(partial(set_grad, t, g))  # the engine's, first
            self.engine_set.setdefault(id(t), t)
        rec.steps.append(partial(set_grad, t, value))
        self._reset(t)
        self.last[id(t)] = value

    def _reset(self, t) -> None:
        if id(t) not in self.engine_set:
            self.reset_in_step.add(id(t))

    def guards(self) -> list:
        """(tensor, expected .grad) that the replay depends on at the start."""
        return [(t, self.start[id(t)]) for key, t in self.engine_set.items()
                if key not in self.reset_in_step and key in self.start]
