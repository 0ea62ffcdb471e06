"""``gpugrad.Generator``: a seeded stream of random numbers on one device.

Every function that draws random numbers takes ``generator=`` as in PyTorch; without one it
draws from its device's default generator (``gpugrad.default_generator`` on the CPU), which
``gpugrad.manual_seed`` seeds. A generator belongs to one device and is refused for tensors on
another. The same seed gives the same stream on a device, but not PyTorch's numbers.
"""

from __future__ import annotations

import contextlib
import numbers
import threading

from ._device import device as _device_cls
from .backend import get_backend
from .backend.numpy_backend import fresh_seed

__all__ = ["Generator", "rng_for", "vmap_randomness"]

# PyTorch's seed of a new Generator.
DEFAULT_SEED = 67280421310721


class Generator:
    """A pseudo-random number generator for ``device`` (default CPU), seeded with
    ``67280421310721`` until ``manual_seed`` or ``seed`` reseeds it."""

    def __init__(self, device="cpu"):
        dev = _device_cls(device)
        self._backend = get_backend(dev)  # refuses CUDA when there is none
        self._rng = None
        self._initial_seed = None
        self.manual_seed(DEFAULT_SEED)

    @property
    def device(self) -> _device_cls:
        return self._backend.device

    def manual_seed(self, seed) -> Generator:
        """Reseed with ``seed`` (an int; negative values wrap modulo 2**64); returns self."""
        seed = _check_seed(seed)
        self._rng = self._backend.new_rng(seed)
        self._initial_seed = seed
        return self

    def seed(self) -> int:
        """Reseed from a non-deterministic source and return the seed."""
        seed = fresh_seed()
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._initial_seed

    def get_state(self):
        """The generator's state as a ``uint8`` CPU tensor, for ``set_state``."""
        from .backend import cpu_backend
        from .tensor import Tensor

        return Tensor._make(self._backend.rng_state(self._rng), cpu_backend())

    def set_state(self, new_state) -> Generator:
        """Restore a state that ``get_state`` returned; returns self."""
        from .tensor import Tensor

        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype.name != "uint8" or not new_state.is_cpu:
            raise TypeError("RNG state must be a torch.ByteTensor")
        self._backend.set_rng_state(self._rng, new_state.numpy())
        return self

    def __repr__(self) -> str:
        return f"<gpugrad.Generator object on {self.device}>"


class _DefaultGenerator(Generator):
    """A device's default generator: its stream is the backend's own (what draws without a
    ``generator`` use), so seeding either is seeding both."""

    def __init__(self, backend):
        self._backend = backend

    @property
    def _rng(self):
        return self._backend._rng

    @_rng.setter
    def _rng(self, rng) -> None:
        self._backend._rng = rng

    @property
    def _initial_seed(self) -> int:
        return self._backend.initial_seed

    @_initial_seed.setter
    def _initial_seed(self, seed: int) -> None:
        self._backend.initial_seed = seed


def default_generator_of(device) -> Generator:
    """The default generator of ``device``."""
    return _DefaultGenerator(get_backend(device))


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        if hasattr(seed, "__index__") and not isinstance(seed, bool):
            seed = seed.__index__()
        else:
            raise RuntimeError(
                f"manual_seed expected a long, but got {type(seed).__name__}"
            )
    seed = int(seed)
    if not -(2**63) <= seed < 2**64:
        raise ValueError("Overflow when unpacking long long")
    return seed % 2**64


# The randomness modes of the vmap calls running ``func`` on this thread, innermost last.
class _VmapLevels(threading.local):
    modes = ()  # (a class default: a missing thread-local attribute costs an exception a draw)


_vmap_levels = _VmapLevels()


@contextlib.contextmanager
def vmap_randomness(mode: str):
    """Run the body as one level of ``vmap(..., randomness=mode)``: under any ``"error"`` level
    every draw raises, as in PyTorch."""
    levels = _vmap_levels.modes
    _vmap_levels.modes = (*levels, mode)
    try:
        yield
    finally:
        _vmap_levels.modes = levels


def rng_for(generator, backend, fn: str):
    """The raw stream that ``fn`` draws from for a tensor on ``backend``: ``generator``'s, or
    None (the device's default) without one. Refuses anything but a Generator of that device.
    Every draw asks this first, so it is where vmap's ``randomness="error"`` is enforced."""
    if "error" in _vmap_levels.modes:
        raise RuntimeError(
            "vmap: called random operation while in randomness error mode. Please either use the "
            "'same' or 'different' randomness flags on vmap or perform the randomness operation "
            "out of vmap"
        )
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise TypeError(
            f"{fn}(): argument 'generator' must be torch.Generator, not "
            f"{type(generator).__name__}"
        )
    if generator._backend is not backend:
        want, got = backend.device, generator.device
        if want.type == got.type:
            want, got = str(want), str(got)
        else:
            want, got = want.type, got.type
        raise RuntimeError(f"Expected a '{want}' device type for generator but found '{got}'")
    return generator._rng
