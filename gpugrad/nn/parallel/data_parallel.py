"""``DataParallel`` and ``data_parallel``: PyTorch's single-process data parallelism, on the
configurations gpugrad runs.

With no GPU the wrapper calls the module directly (``device_ids`` is ``[]``; PyTorch sets no
``dim`` or ``output_device`` then either). With one GPU listed, the module is moved to it, the
inputs are copied there, and the module runs there (PyTorch ignores ``output_device`` and
``dim`` in that case too). Several GPUs would need the module replicated and the batch
scattered in one process; gpugrad refuses that with ``NotImplementedError`` rather than run on
one device when several were asked for: ``DistributedDataParallel``, one process per GPU, is
the way (and the one PyTorch recommends).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from ... import cuda
from ..._device import device as device_cls
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]

_SEVERAL = ("{what} over several GPUs ({ids}) is not supported by gpugrad (it would replicate "
            "the module in one process); use gpugrad.nn.parallel.DistributedDataParallel, one "
            "process per GPU, or list a single device in device_ids")


def _device_type() -> str | None:
    """The accelerator PyTorch's data parallelism would use: "cuda", or None without one."""
    return "cuda" if cuda.is_available() else None


def _device_index(dev) -> int:
    return cuda._index(dev)


def _resolve(device_ids, output_device, what: str):
    """(device indices, output index) as PyTorch resolves them; several devices refused."""
    if device_ids is None:
        device_ids = list(range(cuda.device_count()))
    if not device_ids:
        raise RuntimeError("no available devices were found")
    if output_device is None:
        output_device = device_ids[0]
    ids = [_device_index(d) for d in device_ids]
    if len(ids) > 1:
        raise NotImplementedError(_SEVERAL.format(what=what, ids=ids))
    return ids, _device_index(output_device)


def _check_placement(module: Module, src) -> None:
    for t in chain(module.parameters(), module.buffers()):
        if t.device != src:
            raise RuntimeError("module must have its parameters and buffers on device "
                               f"{src} (device_ids[0]) but found one of them on device: "
                               f"{t.device}")


def _to(obj, dev):
    """``obj`` with every tensor in it (through tuples, lists and dicts) copied to ``dev``."""
    if isinstance(obj, Tensor):
        return obj.to(dev)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return type(obj)(*(_to(o, dev) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to(o, dev) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to(v, dev)) for k, v in obj.items())
    return obj


class DataParallel(Module):
    """Runs ``module`` on the devices of ``device_ids``, the batch split along ``dim``.

    gpugrad runs it on zero or one GPU: without a GPU, ``forward`` calls ``module`` directly;
    with one device listed (or one visible), the module is moved there at construction and
    each call copies its inputs there. Several devices raise ``NotImplementedError``: use
    ``DistributedDataParallel``. The wrapped module is ``.module``, so state dict keys carry
    the prefix ``module.``, as PyTorch's.

    Args:
        module: the module to run.
        device_ids: CUDA devices (ints or devices); default: every visible one.
        output_device: where outputs go (default ``device_ids[0]``).
        dim: the batch dim the inputs would be split along.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        device_type = _device_type()
        if device_type is None:
            self.module = module
            self.device_ids = []
            return
        ids, output = _resolve(device_ids, output_device, "DataParallel")
        self.dim = dim
        self.module = module
        self.device_ids, self.output_device = ids, output
        self.src_device_obj = device_cls(device_type, ids[0])
        self.module.to(self.src_device_obj)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        _check_placement(self.module, self.src_device_obj)
        return self.module(*_to(inputs, self.src_device_obj),
                           **_to(kwargs, self.src_device_obj))


def data_parallel(module: Module, inputs: Any, device_ids=None, output_device=None,
                  dim: int = 0, module_kwargs: Any | None = None) -> Any:
    """``module(*inputs, **module_kwargs)`` on the devices of ``device_ids`` (the functional
    ``DataParallel``): with one device, its parameters must already be there and the inputs
    are copied there; without a GPU it raises ``RuntimeError`` as PyTorch's; several devices
    raise ``NotImplementedError`` (use ``DistributedDataParallel``)."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    device_type = _device_type()
    if device_type is None:
        raise RuntimeError("device type could not be determined")
    ids, _ = _resolve(device_ids, output_device, "data_parallel")
    src = device_cls(device_type, ids[0])
    _check_placement(module, src)
    return module(*_to(inputs, src), **_to(module_kwargs or {}, src))
