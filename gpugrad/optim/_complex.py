"""Complex parameters, as PyTorch's optimizers take them: each complex number is updated as
the pair of its real and imaginary parts (PyTorch views every complex parameter, gradient and
state buffer with ``view_as_real`` before its real update), so every step primitive works on
them unchanged. State buffers stay complex, shaped like their parameter, as in PyTorch's
``state_dict``."""

from __future__ import annotations

from ..ops.complex_api import _complex_array, _pairs_array

__all__ = ["RealPairs", "real_pairs", "step_backend"]


def step_backend(optimizer, params: list, backend):
    """The backend a group's step calls: ``backend`` itself, or ``RealPairs`` of it where a
    parameter is complex; an optimizer that refuses complex parameters (``_complex_refused``,
    as PyTorch's Adafactor and Muon) raises PyTorch's error instead."""
    if not any(p._data.dtype.kind == "c" for p in params):
        return backend
    if optimizer._complex_refused:
        raise RuntimeError(f"{type(optimizer).__name__} does not support complex parameters")
    return RealPairs(backend)


def real_pairs(array, xp):
    """A complex array's memory as a real array with a last dim of 2 (a view); any other value
    as it is."""
    if getattr(array, "dtype", None) is None or array.dtype.kind != "c":
        return array
    if array.flags.c_contiguous:  # (a plain view: what the kernels take)
        return array.reshape(array.shape + (1,)).view(array.real.dtype)
    return _pairs_array(array, xp)


class RealPairs:
    """A backend whose primitives see complex arrays (alone or in lists) as ``real_pairs``. A
    buffer a primitive creates in a list slot that held ``None`` (SGD's first momentum buffer)
    comes back into the caller's list, as a complex array where the parameter in that slot (of
    the first argument, the parameters) is complex."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        primitive, xp = getattr(self._backend, name), self._backend.xp

        def on_pairs(*args, **kwargs):
            lists = {id(a): (a, [real_pairs(v, xp) for v in a])
                     for a in (*args, *kwargs.values()) if isinstance(a, list)}

            def real(a):
                return lists[id(a)][1] if id(a) in lists else real_pairs(a, xp)

            out = primitive(*map(real, args), **{k: real(v) for k, v in kwargs.items()})
            complex_slots = [p.dtype.kind == "c" for p in args[0]]
            for original, pairs in lists.values():
                for i, (old, new) in enumerate(zip(original, pairs)):
                    if old is None and new is not None:
                        original[i] = _complex_array(new, xp) if complex_slots[i] else new
            return out

        return on_pairs
