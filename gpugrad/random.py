"""``gpugrad.random``: seeding and the state of the default generators, as ``torch.random``."""

from __future__ import annotations

from . import backend as _backend
from ._generator import Generator, _check_seed, default_generator_of
from .backend.numpy_backend import fresh_seed

__all__ = [
    "Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
    "set_rng_state",
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
