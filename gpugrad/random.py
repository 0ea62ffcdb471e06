"""``gpugrad.random``: seeding and the state of the default generators, as ``torch.random``."""

from __future__ import annotations

import contextlib

from . import backend as _backend
from ._generator import Generator, _check_seed, default_generator_of
from .backend.numpy_backend import fresh_seed

__all__ = [
    "Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
    "set_rng_state", "fork_rng",
]

default_generator = default_generator_of("cpu")


def manual_seed(seed) -> Generator:
    """Seed the default generator of every device (those created later too); returns the CPU
    one."""
    seed = _check_seed(int(seed))
    _backend.manual_seed(seed)
    return default_generator


def seed() -> int:
    """Seed every default generator from a non-deterministic source; returns the seed."""
    s = fresh_seed()
    manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed of the CPU default generator."""
    return default_generator.initial_seed()


def get_rng_state():
    """The CPU default generator's state as a ``uint8`` tensor."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the CPU default generator's state from ``get_rng_state``."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type=None):
    """Within the block, draw from the generators as usual; when it ends, the CPU generator is
    back in the state it had before (``enabled=False``: a plain block).

    ``devices`` (default: every CUDA device there is) are the accelerator devices to fork as
    well; gpugrad cannot save a CUDA generator's state (CuPy keeps it on the device), so it
    refuses any, where PyTorch would fork them too: pass ``devices=[]`` on a GPU machine."""
    if not enabled:
        yield
        return
    if device_type not in (None, "cuda"):
        raise RuntimeError(f"{_caller}: gpugrad's only accelerator is cuda, got device_type="
                           f"{device_type!r}")
    if devices is None:
        from . import cuda

        devices = range(cuda.device_count()) if cuda.is_available() else ()
    if list(devices):
        raise NotImplementedError(
            f"{_caller}: a CUDA generator's state cannot be saved and restored in gpugrad "
            f"(CuPy keeps it on the device); pass {_devices_kw}=[] to fork the CPU generator "
            "only")
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
