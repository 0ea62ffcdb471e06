"""PyTorch's process-wide switches: CPU threads, deterministic algorithms, warn-always, anomaly
mode and denormal flushing, with PyTorch's names, argument checks and errors. Each says in its
docstring what it changes in gpugrad; none takes a value it then ignores without saying so.
"""

from __future__ import annotations

import os

from ._warnings import warn_user

__all__ = [
    "set_num_threads", "get_num_threads", "set_num_interop_threads", "get_num_interop_threads",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
    "get_deterministic_debug_mode", "set_warn_always", "is_warn_always_enabled",
    "is_anomaly_enabled", "set_anomaly_enabled", "is_anomaly_check_nan_enabled",
    "set_flush_denormal", "init_num_threads",
]


def _check_bool(value, what: str) -> None:
    if not isinstance(value, bool):
        raise RuntimeError(f"{what} expects a bool, but got {type(value).__name__}")


def _check_positive_int(value, fn: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuntimeError(f"{fn} expects an int, but got {type(value).__name__}")
    if value <= 0:
        raise RuntimeError(f"{fn} expects a positive integer")
    return value


# ----------------------------------------------------------------------------- threads
def _blas_controller():
    """threadpoolctl's controller of the BLAS libraries loaded in this process (NumPy's), or
    None where threadpoolctl is not installed."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController().select(user_api="blas")


def set_num_threads(int: int) -> None:  # noqa: A002 - PyTorch's parameter name
    """Set the number of threads the CPU's math library uses: NumPy's BLAS (matmuls,
    convolutions' im2col products, linalg) through ``threadpoolctl``. gpugrad's other CPU ops
    are NumPy's single-threaded loops; CUDA tensors are not affected. Without ``threadpoolctl``
    the BLAS keeps its threads and this warns."""
    n = _check_positive_int(int, "set_num_threads")
    controller = _blas_controller()
    if controller is None:
        warn_user("set_num_threads: threadpoolctl is not installed, so NumPy's BLAS keeps its "
                  "thread count (pip install threadpoolctl)")
        return
    controller.limit(limits=n)


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses (the largest among the loaded BLAS libraries);
    without ``threadpoolctl``, the number of CPUs this process may run on."""
    controller = _blas_controller()
    counts = [lib.num_threads for lib in controller.lib_controllers] if controller else []
    if counts:
        return max(counts)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def init_num_threads() -> None:
    """Nothing to do: gpugrad has no thread pools of its own to start (PyTorch's starts its
    OpenMP/MKL threads here); NumPy's BLAS starts its own."""


_interop_threads = None  # set once, as PyTorch allows


def set_num_interop_threads(int: int) -> None:  # noqa: A002
    """Record the number of inter-op threads; as in PyTorch it can be set once. gpugrad runs
    every op on the calling thread (it has no inter-op pool), so no count changes how ops run:
    ``get_num_interop_threads`` reports the value."""
    global _interop_threads
    n = _check_positive_int(int, "set_num_interop_threads")
    if _interop_threads is not None:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has "
                           "started or set_num_interop_threads called")
    _interop_threads = n


def get_num_interop_threads() -> int:
    """The value given to ``set_num_interop_threads``; before that, PyTorch's default (the
    number of CPUs)."""
    if _interop_threads is not None:
        return _interop_threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


# ----------------------------------------------------------------------------- determinism
_deterministic = False
_warn_only = False


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms. gpugrad's CPU ops are deterministic (NumPy); on CUDA
    the ops that accumulate with atomic adds (``index_add``, ``scatter_add``, ``index_put``
    with ``accumulate=True``, embedding gradients) may sum in a different order from run to
    run and do not raise or warn under this flag. The flags are reported by
    ``are_deterministic_algorithms_enabled`` and friends."""
    global _deterministic, _warn_only
    if not isinstance(mode, bool):
        raise TypeError("use_deterministic_algorithms(): argument 'mode' (position 1) must be "
                        f"bool, not {type(mode).__name__}")
    if not isinstance(warn_only, bool):
        raise TypeError("use_deterministic_algorithms(): argument 'warn_only' must be bool, "
                        f"not {type(warn_only).__name__}")
    if mode:
        from .backend import cuda_available

        if cuda_available():
            warn_user("use_deterministic_algorithms: gpugrad does not check ops for determinism; "
                      "on CUDA the ops that accumulate with atomic adds (index_add, scatter_add, "
                      "index_put with accumulate, embedding gradients) may round differently "
                      "from run to run")
    _deterministic, _warn_only = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _warn_only


_DEBUG_MODES = ("default", "warn", "error")


def set_deterministic_debug_mode(debug_mode: int | str) -> None:
    """``"default"`` (0): deterministic algorithms off; ``"warn"`` (1): on with
    ``warn_only``; ``"error"`` (2): on."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES.index(debug_mode)
    elif isinstance(debug_mode, int) and not isinstance(debug_mode, bool):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError("invalid value of debug_mode, expected 0, 1, or 2, but got "
                               f"{debug_mode}")
    else:
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _deterministic:
        return 0
    return 1 if _warn_only else 2


# ----------------------------------------------------------------------------- warnings
_warn_always = False


def set_warn_always(b: bool, /) -> None:
    """PyTorch's switch that makes its warn-once warnings (``_warnings.warn_user_once``) warn
    every time."""
    global _warn_always
    _check_bool(b, "setWarnOnlyOnce")
    _warn_always = b


def is_warn_always_enabled() -> bool:
    return _warn_always


# ----------------------------------------------------------------------------- anomaly mode
def is_anomaly_enabled() -> bool:
    from .autograd import anomaly_mode

    return anomaly_mode.is_anomaly_enabled()


def is_anomaly_check_nan_enabled() -> bool:
    from .autograd import anomaly_mode

    return anomaly_mode.is_anomaly_check_nan_enabled()


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``autograd.set_detect_anomaly`` without a block)."""
    from .autograd import anomaly_mode

    if not isinstance(enabled, bool):
        raise TypeError("set_anomaly_enabled(): argument 'enabled' (position 1) must be bool, "
                        f"not {type(enabled).__name__}")
    if not isinstance(check_nan, bool):
        raise TypeError("set_anomaly_enabled(): argument 'check_nan' (position 2) must be "
                        f"bool, not {type(check_nan).__name__}")
    anomaly_mode.set_detect_anomaly(enabled, check_nan)


# ----------------------------------------------------------------------------- denormals
def set_flush_denormal(mode: bool) -> bool:
    """Returns False, as PyTorch does where the CPU cannot flush denormals: gpugrad leaves the
    CPU's floating-point control as it is (NumPy keeps denormals), so neither mode is set."""
    _check_bool(mode, "flush_denormal")
    return False
