"""Which implementations can run here: gpugrad and its peers, found by importing them.

A peer that is not installed, or that does not run on the chosen device, is reported with the
reason instead of raising: the suite runs with whatever is there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = ["Peer", "IMPLS", "discover", "cuda_device_name"]

# The column order of every table: gpugrad (eager, then compiled), the floors, the peers.
IMPLS = ("gpugrad", "gpugrad.compile", "numpy", "cupy", "torch", "torch.compile", "liger",
         "autograd", "mygrad")

DESCRIPTIONS = {
    "gpugrad": "gpugrad (this library)",
    "gpugrad.compile": "gpugrad with gpugrad.compile (capture once, replay the array program)",
    "numpy": "NumPy, the bare forward (the floor); hand-written where a workload says so",
    "cupy": "CuPy raw ops, the bare forward on GPU (the floor)",
    "torch": "PyTorch eager",
    "torch.compile": "PyTorch with torch.compile (inductor)",
    "liger": "Liger-Kernel's fused cross-entropy",
    "autograd": "HIPS autograd",
    "mygrad": "MyGrad",
}

# Peers that this suite runs on one kind of device only.
_ONLY_ON = {
    "numpy": "cpu", "mygrad": "cpu", "autograd": "cpu",
    "cupy": "cuda", "torch.compile": "cuda", "liger": "cuda",
}


@dataclass(frozen=True)
class Peer:
    """An implementation: its module when usable, else ``missing`` says why not."""

    name: str
    module: object | None
    version: str | None
    missing: str | None = None

    @property
    def usable(self) -> bool:
        return self.missing is None


def _import(name: str):
    try:
        return importlib.import_module(name), None
    except Exception as exc:  # a broken install is reported like a missing one
        return None, f"not installed ({type(exc).__name__}: {exc})"


def _version(module) -> str | None:
    version = getattr(module, "__version__", None)
    if version is None and module is not None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            version = dist_version(module.__name__.split(".")[0])
        except PackageNotFoundError:
            pass
    return version


def _cupy_has_device(cupy) -> str | None:
    try:
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return None
    except Exception as exc:
        return f"no CUDA device ({type(exc).__name__})"
    return "no CUDA device"


def _find(name: str, device: str) -> Peer:
    only = _ONLY_ON.get(name)
    if only is not None and only != device:
        return Peer(name, None, None, f"{'GPU' if only == 'cuda' else 'CPU'}-only peer")
    if name == "gpugrad":
        module, why = _import("gpugrad")
        if module is not None and device == "cuda":
            from gpugrad.backend import cuda_available

            why = None if cuda_available() else "gpugrad sees no CUDA device"
        return Peer(name, module, _version(module), why)
    if name == "gpugrad.compile":
        gpugrad = _find("gpugrad", device)
        why = gpugrad.missing
        if why is None and not callable(getattr(gpugrad.module, "compile", None)):
            why = "this gpugrad has no gpugrad.compile"
        return Peer(name, gpugrad.module, gpugrad.version, why)
    if name in ("torch", "torch.compile"):
        module, why = _import("torch")
        if module is not None and device == "cuda" and not module.cuda.is_available():
            why = "torch has no CUDA device"
        if module is not None and name == "torch.compile" and why is None:
            _, why = _import("triton")
        return Peer(name, module, _version(module), why)
    if name == "cupy":
        module, why = _import("cupy")
        if module is not None:
            why = _cupy_has_device(module)
        return Peer(name, module, _version(module), why)
    if name == "liger":
        module, why = _import("liger_kernel.transformers")
        version = None
        if module is not None:
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as dist_version

            try:
                version = dist_version("liger-kernel")
            except PackageNotFoundError:
                version = None
        return Peer(name, module, version, why)
    module, why = _import(name)
    return Peer(name, module, _version(module), why)


def discover(device: str) -> dict[str, Peer]:
    """Every implementation in ``IMPLS`` order, each usable or with the reason it is not."""
    return {name: _find(name, device) for name in IMPLS}


def cuda_device_name() -> str | None:
    """The GPU's name, from CuPy or PyTorch, or None without a GPU."""
    for find in (_cupy_name, _torch_name):
        name = find()
        if name:
            return name
    return None


def _cupy_name() -> str | None:
    cupy, why = _import("cupy")
    if cupy is None or _cupy_has_device(cupy):
        return None
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def _torch_name() -> str | None:
    torch, why = _import("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name()
