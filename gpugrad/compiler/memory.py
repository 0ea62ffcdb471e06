"""Buffers of a CPU program share storage when their lifetimes do not overlap.

A capture keeps every array the step made, so without this pass a replay would hold all of a
step's activations and temporaries at once, where eager code frees each when it is last used.
The program is straight-line: a buffer lives from the first call that names it to the last.
Walking the calls in order, a buffer whose life has ended hands its memory to the next buffer of
the same size that starts later; the calls are rebuilt with views of the shared memory (same
offsets, shapes and strides, so the arithmetic is unchanged, bit for bit).

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


def share(steps: list, internal: dict, pinned: set) -> tuple[list, int]:
    """``steps`` rebuilt so that internal buffers (``internal``: id -> root array) outside
    ``pinned`` (ids) reuse each other's memory; returns the steps and the bytes saved."""
    first, last, roots = {}, {}, {}
    for i, step in enumerate(steps):
        found: list = []
        _arrays(step, found)
        for arr in found:
            root = _root(arr)
            key = id(root)
            if key in internal and key not in pinned and _shareable(root):
                first.setdefault(key, i)
                last[key] = i
                roots[key] = root
    if not roots:
        return steps, 0
    # Walk in order of first use: a root whose last use is before this one's first use frees
    # its memory for a root of the same byte size.
    free: dict = {}  # nbytes -> [storage root]
    ending: dict = {}  # step index -> [keys whose life ends there]
    for key, i in last.items():
        ending.setdefault(i, []).append(key)
    storage = {}  # key -> the root whose memory it uses
    saved = 0
    order = sorted(first, key=first.get)
    pos = 0
    for i in range(len(steps)):
        while pos < len(order) and first[order[pos]] == i:
            key = order[pos]
            pos += 1
            pool = free.get(roots[key].nbytes)
            if pool:
                storage[key] = pool.pop()
                saved += roots[key].nbytes
            else:
                storage[key] = roots[key]
        for key in ending.get(i, ()):
            free.setdefault(roots[key].nbytes, []).append(storage[key])
    moved = {key: s for key, s in storage.items() if s is not roots[key]}
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
                offset = obj.__array_interface__["data"][0] - \
                    root.__array_interface__["data"][0]
                new = np.ndarray(obj.shape, obj.dtype, buffer=_bytes(target), offset=offset,
                                 strides=obj.strides)
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


def _shareable(root) -> bool:
    return root.flags.c_contiguous and root.flags.writeable and root.dtype.kind != "O"


def _bytes(root):
    return root.reshape(-1).view(np.uint8)
