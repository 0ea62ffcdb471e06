"""``autocast``: a region (context manager or decorator) where listed ops run in a lower
precision (``policy.py``), and ``custom_fwd``/``custom_bwd`` for custom autograd Functions."""

from __future__ import annotations

import functools
import warnings

from .. import _dtype as dt
from . import state as st

__all__ = ["autocast", "custom_fwd", "custom_bwd"]

_SUPPORTED = {"cpu": (dt.bfloat16, dt.float16), "cuda": (dt.float16, dt.bfloat16, dt.float32)}


class autocast:  # noqa: N801 - PyTorch's name
    """Run the ops of a region in mixed precision, as ``torch.autocast``.

    Inside, matmul, linear and convolution on ``device_type`` tensors run in ``dtype``
    (default: float16 on CUDA, bfloat16 on the CPU) and the ops that need range (losses; on CUDA
    also softmax, sums, exp/log/pow, norms) in float32, following PyTorch's op lists per device
    type; other ops run in their inputs' dtype. Regions nest; ``enabled=False`` turns autocast
    off inside a region. The state is per thread. Casts of parameters are cached for the
    region when ``cache_enabled`` (default: the current setting, True).

    Args:
        device_type: ``"cuda"`` or ``"cpu"``.
        dtype: the lower precision, float16 or bfloat16.
        enabled: whether autocast is on in the region.
        cache_enabled: whether casts of parameters are cached in the region.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not st.is_autocast_available(device_type):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = st.get_autocast_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = (st.is_autocast_cache_enabled() if cache_enabled is None
                               else cache_enabled)
        if enabled:
            enabled = self._check_supported()
        self._enabled = enabled

    def _check_supported(self) -> bool:
        if self.device == "cuda":
            from ..backend import cuda_available

            if not cuda_available():
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                              "autocast.", stacklevel=3)
                return False
        supported = _SUPPORTED[self.device]
        if self.fast_dtype not in supported:
            name = self.device.upper()
            warnings.warn(
                f"In {name} autocast, but the target dtype is not supported. Disabling "
                f"autocast.\n{name} Autocast only supports dtypes of "
                + ", ".join(f"torch.{d.name}" for d in supported) + " currently.",
                stacklevel=3)
            return False
        return True

    def __enter__(self):
        self.prev_cache_enabled = st.is_autocast_cache_enabled()
        self.prev = st.is_autocast_enabled(self.device)
        self.prev_fastdtype = st.get_autocast_dtype(self.device)
        st.set_autocast_enabled(self.device, self._enabled)
        st.set_autocast_dtype(self.device, self.fast_dtype)
        st.autocast_increment_nesting()
        st.set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if st.autocast_decrement_nesting() == 0:
            st.clear_autocast_cache()
        st.set_autocast_enabled(self.device, self.prev)
        st.set_autocast_dtype(self.device, self.prev_fastdtype)
        st.set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. Did you "
                "mean to use autocast as a context manager? For example:\n"
                "    with torch.autocast(device_type=...):\n        output = model(input)")

        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


def _cast_inputs(value, device_type: str, dtype):
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        eligible = (value.is_floating_point() and value.device.type == device_type
                    and value.dtype is not dt.float64)
        return value.to(dtype) if eligible else value
    if isinstance(value, dict):
        return {k: _cast_inputs(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_inputs(v, device_type, dtype) for v in value)
    return value


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorator for the ``forward`` of a custom ``autograd.Function`` under autocast.

    With ``cast_inputs`` (a dtype), in an autocast region of ``device_type`` the floating
    tensors of ``device_type`` among the arguments are cast to it and ``forward`` runs with
    autocast off; otherwise ``forward`` runs with the current state, which ``custom_bwd``
    restores for ``backward``.
    """
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._fwd_used_autocast = st.is_autocast_enabled(device_type)
        args[0]._dtype = st.get_autocast_dtype(device_type)
        if cast_inputs is None:
            return fwd(*args, **kwargs)
        autocast_context = st.is_autocast_enabled(device_type)
        args[0]._fwd_used_autocast = False
        if not autocast_context:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast_inputs(args, device_type, cast_inputs),
                       **_cast_inputs(kwargs, device_type, cast_inputs))

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorator for the ``backward`` of a custom ``autograd.Function``: it runs with the
    autocast state its ``forward`` saw (see ``custom_fwd``)."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast,
                      dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
