"""Anomaly detection (``detect_anomaly``, ``set_detect_anomaly``), for debugging backward.

While it is on, every node recorded keeps the traceback of the forward call that made it, and
the backward pass checks each node's gradients for NaN: the first node that returns one raises
``RuntimeError("Function 'XBackward0' returned nan values in its 0th output.")`` after a
warning that shows where that node came from in the forward pass, as PyTorch does.

The tracebacks cost nothing while the mode is off: nodes take their sequence numbers from
``record._sequence``, and the mode swaps that counter for one that also notes the stack.
"""

from __future__ import annotations

import itertools
import traceback
import warnings
from collections import OrderedDict

from . import record as _record

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_MAX_TRACES = 100_000  # the newest nodes' tracebacks (older ones are dropped first)


class _State:
    enabled = False
    check_nan = True


state = _State()
_traces: OrderedDict = OrderedDict()  # node sequence number -> forward traceback


class _TracingCounter:
    """``record``'s sequence counter that also keeps each new node's forward traceback."""

    def __init__(self, start: int):
        self._count = itertools.count(start)

    def __iter__(self):
        return self

    def __next__(self) -> int:
        seq = next(self._count)
        _traces[seq] = traceback.format_stack()[:-2]  # (without record's own frames)
        if len(_traces) > _MAX_TRACES:
            _traces.popitem(last=False)
        return seq


def _set(enabled: bool, check_nan: bool) -> None:
    was = state.enabled
    state.enabled, state.check_nan = bool(enabled), bool(check_nan)
    if state.enabled == was:
        return
    start = next(_record._sequence)  # continue the numbering: the tape orders nodes by it
    _record._sequence = _TracingCounter(start) if state.enabled else itertools.count(start)


def is_anomaly_enabled() -> bool:
    return state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return state.check_nan


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on for its block."""

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = state.enabled
        self.check_nan = check_nan
        self.prev_check_nan = state.check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        _set(True, self.check_nan)

    def __exit__(self, *args) -> None:
        _set(self.prev, self.prev_check_nan)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off: at once, or for a ``with`` block."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = state.enabled
        self.prev_check_nan = state.check_nan
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args) -> None:
        _set(self.prev, self.prev_check_nan)


def check_gradients(node, grads) -> None:
    """Raise if ``node`` (just run backward) returned a NaN in any gradient (arrays or Tensors,
    None for no gradient), after warning with the forward traceback of the node."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        data = getattr(g, "_data", g)
        if data.dtype.kind not in "fcV":
            continue
        xp = _xp(data)
        if bool(xp.isnan(data.astype(xp.float32) if data.dtype.kind == "V" else data).any()):
            name = node.name()
            trace = _traces.get(node._seq)
            if trace is not None:
                warnings.warn(f"Error detected in {name}. Traceback of forward call that caused "
                              f"the error:\n{''.join(trace)}", stacklevel=3)
            else:
                warnings.warn(f"Error detected in {name}. No forward pass information available. "
                              "Enable detect anomaly during forward pass for more information.",
                              stacklevel=3)
            raise RuntimeError(f"Function '{name}' returned nan values in its {i}th output.")


def _xp(data):
    import numpy as np

    if isinstance(data, np.ndarray):
        return np
    import cupy

    return cupy
