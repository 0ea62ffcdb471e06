"""``gpugrad.cuda``: devices, synchronization, seeds, streams and memory statistics.

The memory statistics live in ``gpugrad.cuda.memory`` (``torch.cuda.memory``) and are
imported here.

Without a GPU, what PyTorch answers before CUDA is initialized is answered the same way, so that
a training script's unconditional calls run on a CPU machine: the memory statistics read 0 (or
an empty ``memory_stats``), ``empty_cache``, ``seed`` and the seeding calls do nothing, the
lists over devices are empty; the calls that need a device raise ``RuntimeError``.
"""

from __future__ import annotations

from ..backend import cuda_available
from ..backend import device_count as _device_count

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "device", "get_device_name",
    "get_device_capability", "synchronize", "manual_seed", "manual_seed_all", "memory_allocated",
    "max_memory_allocated", "memory_reserved", "reset_peak_memory_stats", "empty_cache",
    "Stream", "stream", "current_stream", "Event", "OutOfMemoryError", "is_initialized", "init",
    "seed", "seed_all", "get_rng_state", "set_rng_state", "get_rng_state_all",
    "set_rng_state_all", "is_bf16_supported", "get_device_properties", "mem_get_info",
    "get_arch_list", "ipc_collect", "memory_stats", "max_memory_reserved", "initial_seed",
    "device_of", "is_tf32_supported", "default_stream", "StreamContext",
    "is_current_stream_capturing", "memory_summary", "memory_stats_as_nested_dict",
    "memory_cached", "max_memory_cached", "nvtx",
]

has_half = True  # (PyTorch's flags: float16 works; gpugrad uses no MAGMA)
has_magma = False


class OutOfMemoryError(RuntimeError):
    """A device ran out of memory (``torch.OutOfMemoryError``, also ``torch.cuda``'s)."""


OutOfMemoryError.__module__ = "gpugrad"


def __getattr__(name: str):
    """The legacy CUDA types: ``gpugrad.cuda.FloatTensor``, ``gpugrad.cuda.LongTensor`` ...;
    ``default_generators``, one per device (made when first read: none without a GPU)."""
    from ..legacy import CUDA_TYPES

    if name == "default_generators":
        from .._generator import default_generator_of

        return tuple(default_generator_of(f"cuda:{i}") for i in range(device_count()))
    if name in CUDA_TYPES and not name.startswith("UInt"):  # (PyTorch has no UInt16Tensor)
        return CUDA_TYPES[name]
    raise AttributeError(f"module 'gpugrad.cuda' has no attribute {name!r}")


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return cuda_available()


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy or a driver)."""
    return _device_count()


def is_initialized() -> bool:
    """Whether this process has started using CUDA (a CUDA tensor, generator or stream)."""
    from ..backend import _backends

    return any(key != "cpu" for key in _backends)


def init() -> None:
    """Start using CUDA now (it otherwise starts at first use); raises without a GPU."""
    from ..backend import get_backend

    get_backend("cuda")


def _cupy():
    if not cuda_available():
        raise RuntimeError("CUDA is not available: gpugrad needs CuPy and a visible NVIDIA GPU")
    import cupy

    return cupy


def _index(dev) -> int:
    """A device index from None (current), an int, a string or a ``gpugrad.device``."""
    if dev is None:
        return current_device()
    if isinstance(dev, int):
        return dev
    from .._device import device as device_cls

    d = device_cls(dev)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


def current_device() -> int:
    """The index of the current CUDA device."""
    return int(_cupy().cuda.runtime.getDevice())


def set_device(device) -> None:
    """Make ``device`` the current CUDA device (where new CUDA work goes)."""
    _cupy().cuda.runtime.setDevice(_index(device))


class device:
    """Context manager that makes ``device`` current and restores the previous one on exit."""

    def __init__(self, device):
        self.index = _index(device)
        self._previous = None

    def __enter__(self):
        if self.index != -1:  # -1: no device (a CPU tensor's, for device_of): nothing to do
            self._previous = current_device()
            set_device(self.index)
        return self

    def __exit__(self, *exc):
        if self.index != -1:
            set_device(self._previous)
        return False


class device_of(device):  # noqa: N801 - PyTorch's name
    """Context manager that makes ``obj``'s device current: a CUDA tensor's GPU; nothing for
    a tensor elsewhere."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.is_cuda else -1)


def _device_name(props: dict) -> str:
    """The name in CUDA's device properties (bytes in some CuPy releases)."""
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_name(device=None) -> str:
    return _device_name(_cupy().cuda.runtime.getDeviceProperties(_index(device)))


def get_device_capability(device=None) -> tuple[int, int]:
    props = _cupy().cuda.runtime.getDeviceProperties(_index(device))
    return int(props["major"]), int(props["minor"])


def synchronize(device=None) -> None:
    """Wait until all work queued on ``device`` (every stream) has finished."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        cupy.cuda.runtime.deviceSynchronize()


def manual_seed(seed: int) -> None:
    """Seed the random generator of the current CUDA device (ignored without CUDA)."""
    if not cuda_available():
        return
    from ..backend import get_backend

    get_backend(f"cuda:{current_device()}").manual_seed(int(seed))


def manual_seed_all(seed: int) -> None:
    """Seed the random generators of every CUDA device (ignored without CUDA)."""
    if not cuda_available():
        return
    from ..backend import get_backend

    for i in range(device_count()):
        get_backend(f"cuda:{i}").manual_seed(int(seed))


def seed() -> None:
    """Seed the current CUDA device's generator from a non-deterministic source (ignored
    without CUDA)."""
    if cuda_available():
        from ..backend.numpy_backend import fresh_seed

        manual_seed(fresh_seed())


def seed_all() -> None:
    """Seed every CUDA device's generator from one non-deterministic seed (ignored without
    CUDA)."""
    if cuda_available():
        from ..backend.numpy_backend import fresh_seed

        manual_seed_all(fresh_seed())


def initial_seed() -> int:
    """The seed the current GPU's default generator started from; raises without CUDA."""
    from .._generator import default_generator_of

    return default_generator_of(f"cuda:{current_device()}").initial_seed()


def get_rng_state(device="cuda"):
    """Not supported: CuPy keeps a CUDA generator's state on the device (see ``fork_rng``)."""
    _index(device)  # (raises without CUDA)
    raise NotImplementedError(
        "the state of a CUDA generator cannot be read in gpugrad (CuPy keeps it on the device): "
        "reseed with gpugrad.cuda.manual_seed to reproduce a stream")


def set_rng_state(new_state, device="cuda") -> None:
    """Not supported: see ``get_rng_state``."""
    _index(device)
    raise NotImplementedError(
        "the state of a CUDA generator cannot be restored in gpugrad (CuPy keeps it on the "
        "device): reseed with gpugrad.cuda.manual_seed to reproduce a stream")


def get_rng_state_all() -> list:
    """``get_rng_state`` of every device: an empty list without CUDA."""
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states) -> None:
    """``set_rng_state`` for each device in turn (nothing to do for an empty list)."""
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


# ------------------------------------------------------------------------------ properties
class _DeviceProperties:
    """What ``get_device_properties`` reports of a GPU (PyTorch's fields that CUDA gives)."""

    def __init__(self, props: dict):
        self.name = _device_name(props)
        self.major, self.minor = int(props["major"]), int(props["minor"])
        self.total_memory = int(props["totalGlobalMem"])
        self.multi_processor_count = int(props["multiProcessorCount"])

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // 2**20}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None) -> _DeviceProperties:
    """The name, compute capability, memory and multiprocessor count of ``device``."""
    return _DeviceProperties(_cupy().cuda.runtime.getDeviceProperties(_index(device)))


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether the current GPU computes in bfloat16: natively from compute capability 8.0;
    older GPUs emulate it (gpugrad computes bfloat16 in float32 on every device). False
    without CUDA."""
    if not cuda_available():
        return False
    return get_device_capability()[0] >= 8 or including_emulation


def is_tf32_supported() -> bool:
    """Whether the current GPU has TF32 tensor cores (compute capability 8.0 and up); False
    without CUDA."""
    return cuda_available() and get_device_capability()[0] >= 8


def get_arch_list() -> list:
    """The ``sm_XY`` architectures of the visible GPUs (Triton compiles for the device it
    runs on); empty without CUDA."""
    if not cuda_available():
        return []
    return sorted({"sm_{}{}".format(*get_device_capability(i)) for i in range(device_count())})


def ipc_collect() -> None:
    """Nothing to free: gpugrad shares no CUDA memory between processes. Raises without
    CUDA, as PyTorch."""
    _cupy()


# ------------------------------------------------------------------------------ streams
def current_stream(device=None):
    """CuPy's current stream (where gpugrad's kernels and CuPy's own work are queued)."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        return cupy.cuda.get_current_stream()


_stream_cls = None


def Stream(device=None, priority: int = 0):  # noqa: N802 - PyTorch's name for a class
    """A new CUDA stream on ``device`` (a ``cupy.cuda.Stream`` with PyTorch's ``wait_stream``);
    ``with gpugrad.cuda.stream(s):`` queues gpugrad's kernels and CuPy's work on it."""
    global _stream_cls
    cupy = _cupy()
    if _stream_cls is None:

        class _Stream(cupy.cuda.Stream):
            def wait_stream(self, other) -> None:
                """Make later work on this stream wait for the work queued on ``other``."""
                self.wait_event(other.record())

        _stream_cls = _Stream
    with cupy.cuda.Device(_index(device)):
        return _stream_cls()


def default_stream(device=None):
    """The default (null) stream of ``device``, where work goes outside any ``stream``."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        return cupy.cuda.Stream.null


def is_current_stream_capturing() -> bool:
    """Whether the current stream is capturing a CUDA graph (``gpugrad.compiler``'s replay
    captures one); raises without CUDA."""
    return bool(_cupy().cuda.get_current_stream().is_capturing())


class StreamContext:
    """Context manager that makes ``stream`` current for the work queued inside it and
    restores the previous stream on exit; ``None`` changes nothing."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        if self.stream is not None:
            self.stream.__enter__()
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream.__exit__(*exc)
        return False


def stream(s) -> StreamContext:
    """Context manager that makes ``s`` the current stream (``None``: no change)."""
    return StreamContext(s)


def Event(*args, **kwargs):  # noqa: N802 - PyTorch's name for a class
    """A CUDA event (``cupy.cuda.Event``): ``record()``, ``synchronize()``, ``elapsed_time``."""
    return _cupy().cuda.Event(*args, **kwargs)


# (imported last: memory.py reads this module's _cupy, _index and cuda_available)
from . import nvtx  # noqa: E402
from .memory import (  # noqa: E402
    empty_cache,
    max_memory_allocated,
    max_memory_cached,
    max_memory_reserved,
    mem_get_info,
    memory_allocated,
    memory_cached,
    memory_reserved,
    memory_stats,
    memory_stats_as_nested_dict,
    memory_summary,
    reset_peak_memory_stats,
)
