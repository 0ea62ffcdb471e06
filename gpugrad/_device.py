"""``gpugrad.device`` and the default device."""

from __future__ import annotations

import os

__all__ = ["device", "set_default_device", "get_default_device", "get_device_module"]


class device:
    """Where a tensor lives: ``device("cpu")``, ``device("cuda")``, ``device("cuda", 1)``;
    ``device("meta")`` for tensors without data (``backend/meta_backend.py``)."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):  # noqa: A002 - PyTorch's name
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string or device, got {type.__class__.__name__}")
        name = type
        if ":" in name:
            if index is not None:
                raise ValueError(f"device string {name!r} already has an index")
            name, _, idx = name.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: {type!r}")
            index = int(idx)
        if name not in ("cpu", "cuda", "meta"):
            raise RuntimeError(
                f"Expected one of cpu, cuda, meta device type at start of device string: "
                f"{type!r}"
            )
        if name == "cpu" and index not in (None, 0):
            raise RuntimeError(f"CPU device index must be 0 or None, got {index}")
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = name
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self) -> device:
        """``with gpugrad.device('cuda'):`` factories default to this device inside."""
        _entered.append(get_default_device())
        set_default_device(self)
        return self

    def __exit__(self, *exc) -> bool:
        set_default_device(_entered.pop())
        return False


_entered: list = []  # the default devices that ``with device(...)`` blocks replaced


def _initial_default() -> device:
    env = os.environ.get("GPUGRAD_DEVICE")
    if env:
        return device(env)
    from .backend import cuda_available

    return device("cuda") if cuda_available() else device("cpu")


_default: device | None = None


def get_default_device() -> device:
    """The device factories use when none is given (CUDA when CuPy sees a GPU, else CPU)."""
    global _default
    if _default is None:
        _default = _initial_default()
    return _default


def set_default_device(dev) -> None:
    """Set the device that factories use when none is given."""
    global _default
    _default = device(dev) if dev is not None else device("cpu")


_device_type = device  # (get_device_module's argument hides the class)


def get_device_module(device=None):
    """The module of a device type: ``gpugrad.cuda`` for ``"cuda"``, ``gpugrad.cpu`` for
    ``"cpu"``; without a device, the current accelerator's (CPU's when there is none)."""
    import gpugrad

    if isinstance(device, _device_type):
        name = device.type
    elif isinstance(device, str):
        name = _device_type(device).type
    elif device is None:
        from .accelerator import current_accelerator

        found = current_accelerator(check_available=True)
        name = "cpu" if found is None else found.type
    else:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or "
                           "None")
    module = getattr(gpugrad, name, None)
    if module is None or not isinstance(module, type(gpugrad)):
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered "
                           f"as 'gpugrad.{name}'.")
    return module
