"""``nn.modules.utils``: the helpers third-party layers import from PyTorch's module of that
name (``_single``, ``_pair``, ``_triple``, ``_quadruple``, ``_ntuple``,
``_reverse_repeat_tuple``, ``_list_with_default``) and
``consume_prefix_in_state_dict_if_present``, which strips ``"module."`` from a state dict
saved through ``DataParallel``/``DistributedDataParallel``."""

from __future__ import annotations

import collections.abc
import itertools

__all__ = ["consume_prefix_in_state_dict_if_present"]


def _ntuple(n: int, name: str = "parse"):
    """A function that makes an ``n``-tuple of a single value and a tuple of an iterable."""
    def parse(x):
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(itertools.repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t, n: int) -> tuple:
    """``t``'s entries last to first, each ``n`` times: a module's per-dim padding turned
    into ``F.pad``'s (last dim first, both sides)."""
    return tuple(value for value in reversed(t) for _ in range(n))


def _list_with_default(out_size, defaults):
    """``out_size`` with its ``None`` entries taken from the trailing ``defaults`` (an int
    ``out_size`` is returned as it is)."""
    if isinstance(out_size, int):
        return out_size
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    tail = defaults[len(defaults) - len(out_size):]
    return [d if v is None else v for v, d in zip(out_size, tail)]


def consume_prefix_in_state_dict_if_present(state_dict, prefix: str) -> None:
    """Remove ``prefix`` from the front of every key of ``state_dict`` that has it, in place
    (and from its ``_metadata``, where there is one): ``"module."`` lets a plain model load
    what a data-parallel wrapper saved."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        state_dict[key[len(prefix):]] = state_dict.pop(key)
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is None:
        return
    bare = prefix.replace(".", "")
    for key in [k for k in metadata if k and (k == bare or k.startswith(prefix))]:
        metadata[key[len(prefix):]] = metadata.pop(key)
