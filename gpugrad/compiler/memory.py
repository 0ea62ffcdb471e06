"""Buffers of a CPU program share storage when their lifetimes do not overlap.

A capture keeps every array the step made, so without this pass a replay would hold all of a
step's activations and temporaries at once, where eager code frees each when it is last used.
The program is straight-line: a buffer lives from the first call that names it to the last.
Walking the calls in order, a buffer whose life has ended hands its memory to a buffer that
starts later (of its size, or smaller); the calls are rebuilt with views of the shared memory
(same offsets, shapes and strides, so the arithmetic is unchanged, bit for bit). A gradient the
step assigns anew lends its memory the same way until the call that first writes it: its old
value is dead from the step's ``zero_grad`` on (``.grad`` is None until the engine assigns it).

Left alone ("pinned"): what outlives a replay or is read outside the calls: the arrays of
tensors alive after the capture (``.grad``, outputs, anything the step stored), the buffers
restored before each replay, and the arrays islands reach through tensors.
"""

from __future__ import annotations

from functools import partial

import numpy as np


def _root(arr):
    from .capture import root_of

    return root_of(arr)


def _arrays(obj, found: list) -> None:
    """Every ndarray inside a call's arguments (tuples, lists, dicts, nested partials)."""
    if isinstance(obj, np.ndarray):
        found.append(obj)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            _arrays(v, found)
    elif isinstance(obj, dict):
        for v in obj.values():
            _arrays(v, found)
    elif isinstance(obj, partial):
        _arrays(obj.args, found)
        _arrays(obj.keywords, found)


def share(steps: list, internal: dict, pinned: set, hosts: dict | None = None) -> tuple[list, int]:
    """``steps`` rebuilt so that internal buffers (``internal``: id -> root array) outside
    ``pinned`` (ids) reuse each other's memory; returns the steps and the bytes saved.

    ``hosts`` (id -> root, pinned): buffers whose old content is dead until the step that
    first names them (a gradient the step assigns anew: ``.grad`` is None until then), so
    shorter-lived buffers may use their memory before that step."""
    hosts = hosts or {}
    first, last, roots = {}, {}, {}
    host_first = {}
    for i, step in enumerate(steps):
        found: list = []
        _arrays(step, found)
        for arr in found:
            root = _root(arr)
            key = id(root)
            if key in hosts:
                host_first.setdefault(key, i)
            elif key in internal and key not in pinned and _shareable(root):
                first.setdefault(key, i)
                last[key] = i
                roots[key] = root
    if not roots:
        return steps, 0
    # Walk the steps in order. A free slot is (memory, offset, size, until): bytes a buffer may
    # take if its life ends before step ``until``: a host's memory before its first step, or
    # memory whose buffer's life has ended (until: never). A starting buffer takes the smallest
    # slot it fits (the rest of the slot stays free) and gives its part back when it ends.
    free: dict = {}  # size -> [slot]
    for k, i in host_first.items():
        if _shareable(hosts[k]):
            _give(free, (hosts[k], 0, hosts[k].nbytes, i))
    ending: dict = {}  # step index -> [keys whose life ends there]
    for key, i in last.items():
        ending.setdefault(i, []).append(key)
    part_of = {}  # key -> the slot it uses
    saved = 0
    order = sorted(first, key=first.get)
    pos = 0
    for i in range(len(steps)):
        while pos < len(order) and first[order[pos]] == i:
            key = order[pos]
            pos += 1
            need = roots[key].nbytes
            slot = _take(free, need, last[key])
            if slot is None:
                part_of[key] = (roots[key], 0, need, len(steps))
                continue
            mem, offset, size, until = slot
            used = min(_aligned(need), size)  # (the rest starts aligned)
            part_of[key] = (mem, offset, used, until)
            if size > used:
                _give(free, (mem, offset + used, size - used, until))
            saved += need
        for key in ending.get(i, ()):
            _give(free, part_of[key])
    moved = {key: (mem, offset) for key, (mem, offset, _, _) in part_of.items()
             if mem is not roots[key]}
    if not moved:
        return steps, 0
    memo: dict = {}

    def remap(obj):
        if isinstance(obj, np.ndarray):
            root = _root(obj)
            target = moved.get(id(root))
            if target is None:
                return obj
            new = memo.get(id(obj))
            if new is None:
                mem, base = target
                offset = obj.__array_interface__["data"][0] - \
                    root.__array_interface__["data"][0]
                new = np.ndarray(obj.shape, obj.dtype, buffer=_bytes(mem),
                                 offset=base + offset, strides=obj.strides)
                memo[id(obj)] = new
            return new
        if isinstance(obj, tuple):
            return tuple(remap(v) for v in obj)
        if isinstance(obj, list):
            return [remap(v) for v in obj]
        if isinstance(obj, dict):
            return {k: remap(v) for k, v in obj.items()}
        if isinstance(obj, partial):
            return partial(obj.func, *remap(obj.args), **remap(obj.keywords))
        return obj

    return [remap(s) for s in steps], saved


def held_bytes(steps: list, internal: dict, inputs: list) -> int:
    """Bytes a program keeps between replays: the memory of its internal buffers (shared
    storage counted once) and of its input buffers. Parameters, optimizer state and other
    arrays of tensors that existed before the capture are not the program's."""
    roots = {id(_root(a)): _root(a) for a in inputs if a is not None}
    for step in steps:
        found: list = []
        _arrays(step, found)
        for arr in found:
            root = _root(arr)
            if id(root) in internal or id(root) in roots:
                roots[id(root)] = root
    return sum(r.nbytes for r in roots.values())


def _take(free: dict, need: int, end: int):
    """Remove and return a free slot of at least ``need`` bytes usable through step ``end``
    (the smallest such size first), or None."""
    for size in sorted(n for n in free if n >= need):
        slots = free[size]
        for k, slot in enumerate(slots):
            if slot[3] > end:
                return slots.pop(k)
    return None


def _give(free: dict, slot) -> None:
    free.setdefault(slot[2], []).append(slot)


def _aligned(nbytes: int) -> int:
    """Sizes rounded up to 64 bytes, so that every part of a slot starts aligned."""
    return -(-nbytes // 64) * 64


def _shareable(root) -> bool:
    return root.flags.c_contiguous and root.flags.writeable and root.dtype.kind != "O"


def _bytes(root):
    return root.reshape(-1).view(np.uint8)
