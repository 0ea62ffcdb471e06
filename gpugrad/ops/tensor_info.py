"""What a tensor is and how its memory is laid out, with PyTorch's names: the predicates
(``is_signed``, ``is_nonzero``, ``is_same_size``, ``is_inference``, ``is_conj``/``is_neg``),
``get_device``, ``storage_offset``, ``as_subclass``, shared and pinned memory,
``resize_`` (and the deprecated out-of-place ``resize``), the element-by-element Python
``apply_``/``map_``, and the top-level ``detach``/``fill``.

None of these records a graph node: they read metadata, or write outside autograd (``resize_``
and the Python maps refuse tensors that require grad, as PyTorch does).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._typeinfo import (
    check_memory_format,
    contiguous_format,
    legacy_contiguous_format,
    strided,
)
from ..autograd.inference import refuse_write
from ._util import Tensor, check_tensor

__all__ = [
    "is_complex", "is_signed", "is_nonzero", "is_same_size", "is_inference",
    "is_conj", "is_neg", "typename", "detach", "detach_", "fill", "fill_", "get_device",
    "resize_as_",
]


def is_complex(input: Tensor) -> bool:
    """Whether ``input``'s dtype is complex64 or complex128."""
    check_tensor(input, "is_complex")
    return input._data.dtype.kind == "c"


def is_signed(input: Tensor) -> bool:
    """Whether the dtype is signed (floating or a signed integer; not uint8 or bool)."""
    check_tensor(input, "is_signed")
    return input.dtype.is_signed


def is_nonzero(input: Tensor) -> bool:
    """Whether a one-element tensor is not zero (``bool(input)``); RuntimeError otherwise."""
    check_tensor(input, "is_nonzero")
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:
    check_tensor(input, "is_same_size")
    check_tensor(other, "is_same_size", "other")
    return input._data.shape == other._data.shape


def is_inference(input: Tensor) -> bool:
    """Whether ``input`` is an inference tensor: made in ``inference_mode``, or a view of one
    (``autograd/inference.py``)."""
    check_tensor(input, "is_inference")
    return input._vc.inference


def is_conj(input: Tensor) -> bool:
    """False: gpugrad's ``conj`` computes a copy (no lazily conjugated views)."""
    check_tensor(input, "is_conj")
    return False


def is_neg(input: Tensor) -> bool:
    """False: gpugrad never negates lazily."""
    check_tensor(input, "is_neg")
    return False


def typename(obj) -> str:
    """PyTorch's name of a tensor's type (``'torch.FloatTensor'``, ``'torch.cuda.LongTensor'``),
    else the qualified name of ``obj``'s class."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if name is None:
        module, name = type(obj).__module__ or "", type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


def detach(input: Tensor) -> Tensor:
    check_tensor(input, "detach")
    return input.detach()


def detach_(input: Tensor) -> Tensor:
    check_tensor(input, "detach_")
    return input.detach_()


def fill(input: Tensor, value) -> Tensor:
    """A new tensor of ``input``'s shape, dtype and device filled with ``value`` (a number or
    a one-element tensor); differentiable w.r.t. a tensor ``value``."""
    check_tensor(input, "fill")
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        return value.to(input.dtype).expand(input.shape).clone()
    return input.clone().detach().fill_(value)


def fill_(input: Tensor, value) -> Tensor:
    """``input.fill_(value)``."""
    check_tensor(input, "fill_")
    return input.fill_(value)


# ------------------------------------------------------------------------- Tensor methods
def get_device(self: Tensor) -> int:
    """The CUDA device index, or -1 for a CPU tensor."""
    check_tensor(self, "get_device")
    dev = self.device
    return -1 if dev.type == "cpu" else (dev.index or 0)


def _start(arr) -> int:
    """The address of an array's first element."""
    return int(arr.ctypes.data) if isinstance(arr, np.ndarray) else int(arr.data.ptr)


def _lowest_address(arr) -> int:
    """The address of the lowest byte an array reaches (its data pointer, moved back by each
    negative stride)."""
    ptr = _start(arr)
    if arr.size == 0:
        return ptr
    return ptr + sum(s * (n - 1) for s, n in zip(arr.strides, arr.shape) if s < 0)


def storage_offset(self: Tensor) -> int:
    """Where this tensor starts in the memory of the tensor it views, in elements (0 for a
    tensor that is not a view)."""
    root = self._base
    if root is None:
        return 0
    return (_start(self._data) - _lowest_address(root._data)) // self._data.dtype.itemsize


def is_shared(self: Tensor) -> bool:
    """Whether other processes can see this tensor's memory: a CPU tensor after
    ``share_memory_`` (or received shared from another process). False for CUDA tensors,
    which gpugrad sends to other processes as copies (PyTorch shares them through CUDA IPC and
    says True)."""
    if self.device.type != "cpu":
        return False
    from .._shared_memory import mapping_of

    return mapping_of(self._data) is not None


def share_memory_(self: Tensor) -> Tensor:
    """Move this CPU tensor's memory into shared memory, where processes started after (or
    sent the tensor through ``gpugrad.multiprocessing``) read and write the same values;
    returns self, and does nothing for a tensor shared already. Refused while other tensors or
    arrays use the memory (the tensor a view views among them: ``_shared_memory.py``); and for
    CUDA tensors, which PyTorch shares through CUDA IPC and gpugrad would send as copies, so
    that what other processes wrote would never reach this one."""
    if self.device.type == "cuda":
        raise NotImplementedError(
            "share_memory_(): gpugrad sends CUDA tensors to other processes as copies (PyTorch "
            "shares them through CUDA IPC), so other processes' writes would not reach this "
            "tensor; share a model between processes on the CPU")
    if is_shared(self):
        return self
    from .._shared_memory import move_to_shared

    move_to_shared(self)
    return self


def is_pinned(self: Tensor, device=None) -> bool:
    """False: gpugrad does not pin host memory."""
    return False


def pin_memory(self: Tensor, device=None) -> Tensor:
    """Pinned memory needs an accelerator: without CUDA this raises RuntimeError, as PyTorch's;
    with CUDA, gpugrad does not pin host memory (CuPy copies pageable memory) and
    NotImplementedError says so. ``DataLoader(pin_memory=True)`` warns and goes on instead."""
    from ..backend import cuda_available

    if self.device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    if not cuda_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    raise NotImplementedError("pin_memory: gpugrad does not pin host memory; copies to the GPU "
                              "go through CuPy from pageable memory")


def _check_no_grad(self: Tensor, what: str) -> None:
    if self._requires_grad:
        raise RuntimeError(f"Can't call {what}() on Variable that requires grad. Use "
                           f"var.detach().{what}() instead.")


def _check_cpu(self: Tensor, what: str) -> None:
    if self.device.type != "cpu":
        raise TypeError(f"{what} is only implemented on CPU tensors")


def apply_(self: Tensor, callable) -> Tensor:  # noqa: A002 - PyTorch's parameter name
    """Replace each element ``x`` with ``callable(x)`` (a Python number, cast to the dtype),
    in place; CPU tensors that do not require grad only. Slow: one Python call per element."""
    _check_no_grad(self, "apply_")
    _check_cpu(self, "apply_")
    data = self._data
    values = [callable(x) for x in data.ravel().tolist()]
    self._write_(np.asarray(values).astype(data.dtype).reshape(data.shape))
    return self


def map_(self: Tensor, tensor: Tensor, callable) -> Tensor:  # noqa: A002
    """Replace each element ``x`` with ``callable(x, y)``, ``y`` the matching element of
    ``tensor`` broadcast to this shape (of the same dtype), in place; CPU tensors only."""
    _check_no_grad(self, "map_")
    _check_cpu(self, "map_")
    check_tensor(tensor, "map_", "other")
    if tensor.dtype != self.dtype:
        raise TypeError(f"map_: expected {self.type()} for 'other' (got {tensor.type()})")
    data = self._data
    other = tensor._backend.to_numpy(tensor._data)
    try:
        other = np.broadcast_to(other, data.shape)
    except ValueError:
        raise RuntimeError(f"The expanded size of the tensor ({list(data.shape)}) must match "
                           f"the existing size ({list(other.shape)})") from None
    values = [callable(x, y) for x, y in zip(data.ravel().tolist(), other.ravel().tolist())]
    self._write_(np.asarray(values).astype(data.dtype).reshape(data.shape))
    return self


def _sizes(args) -> tuple:
    from ..factories import _size

    return _size(args)


def resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    """Give this tensor the shape ``sizes``, in place, keeping its elements in row-major order:
    a smaller tensor views the first elements of its memory, a larger one gets new memory with
    the old elements first and the rest uninitialized (views taken before then no longer share
    memory with it). Tensors that require grad cannot be resized, tensors in shared memory
    cannot grow (RuntimeError, as PyTorch); gpugrad refuses to resize a non-contiguous tensor
    to another shape and to grow a view (NotImplementedError)."""
    _check_format(memory_format)
    if resize_memory(self, _sizes(sizes)):
        self._bump_version()
    return self


def resize_memory(self: Tensor, shape: tuple) -> bool:
    """``resize_``'s work without counting it as a write (an op resizing its ``out=`` tensor
    counts only the write of the result, as PyTorch's); whether the shape changed."""
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    refuse_write(self)
    data = self._data
    if shape == data.shape:
        return False
    if not data.flags.c_contiguous:
        raise NotImplementedError("resize_: gpugrad resizes only contiguous tensors; call "
                                  ".contiguous() first")
    n = int(np.prod(shape, dtype=np.int64))
    if n <= data.size:
        self._data = data.reshape(-1)[:n].reshape(shape)
    elif self._base is not None:
        raise NotImplementedError("resize_: gpugrad cannot grow a view (its memory belongs to "
                                  "the tensor it views)")
    elif is_shared(self):  # (other processes map its memory: PyTorch's error)
        raise RuntimeError("Trying to resize storage that is not resizable")
    else:
        grown = self._backend.xp.empty(n, data.dtype)
        grown[:data.size] = data.reshape(-1)
        self._data = grown.reshape(shape)
    return True


def resize_as_(self: Tensor, the_template: Tensor, *, memory_format=None) -> Tensor:
    check_tensor(self, "resize_as_")
    check_tensor(the_template, "resize_as_", "the_template")
    return resize_(self, the_template.shape, memory_format=memory_format)


def resize(self: Tensor, *sizes) -> Tensor:
    """Deprecated (warns, as PyTorch): ``self`` viewed with shape ``sizes``, which must hold
    as many elements (a copy first when ``self`` is not contiguous); differentiable."""
    warnings.warn("non-inplace resize is deprecated", stacklevel=2)
    return _resize_view(self, sizes)


def resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    """Deprecated: ``resize`` to ``tensor``'s shape."""
    warnings.warn("non-inplace resize_as is deprecated", stacklevel=2)
    return _resize_view(self, tuple(tensor.shape))


def _resize_view(self: Tensor, sizes: tuple) -> Tensor:
    # PyTorch multiplies the arguments as given, so one tuple argument (``resize((2, 3))``)
    # never matches the element count: kept, as it is PyTorch's behaviour
    numel = math.prod(sizes)
    if numel != self.numel():
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, sizes))} ({numel} elements in total), "
            f"but the given tensor has a size of {'x'.join(map(str, self.shape))} "
            f"({self.numel()} elements). autograd's resize can only change the shape of a "
            "given tensor, while preserving the number of elements. ")
    return self.contiguous().view(*sizes)


def _check_format(memory_format) -> None:
    fmt = check_memory_format(memory_format, "resize_")
    if fmt is not contiguous_format and fmt is not legacy_contiguous_format:
        raise NotImplementedError("resize_: gpugrad lays out resized tensors row-major only "
                                  f"(contiguous_format), got {fmt}")


def new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None,
                      requires_grad: bool = False) -> Tensor:
    """``empty_strided`` with this tensor's dtype and device by default."""
    from ..factories_more import empty_strided

    return empty_strided(size, stride, dtype=dtype if dtype is not None else self.dtype,
                         device=device if device is not None else self.device,
                         requires_grad=requires_grad)


def as_subclass(self: Tensor, cls: type) -> Tensor:
    """An instance of ``cls`` (a subclass of ``Tensor``) on this tensor's memory: an alias,
    a view in the graph (``AliasBackward0``) when this tensor requires grad."""
    if not isinstance(cls, type):
        raise TypeError(f"cls must be a type (got {type(cls).__name__})")
    if not issubclass(cls, Tensor):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from "
                        "Tensor is not possible. Make sure your class inherits from Tensor.")
    out = self[...]  # the whole-tensor view PyTorch records as AliasBackward0
    out.__class__ = cls
    return out


def _hardshrink(self: Tensor, lambd: float = 0.5) -> Tensor:
    from ..nn import functional as F

    return F.hardshrink(self, lambd)


def _prelu(self: Tensor, weight: Tensor) -> Tensor:
    from ..nn import functional as F

    return F.prelu(self, weight)


METHODS = {
    "is_signed": is_signed, "is_nonzero": is_nonzero, "is_same_size": is_same_size,
    "is_inference": is_inference, "is_conj": is_conj, "is_neg": is_neg,
    "get_device": get_device, "storage_offset": storage_offset, "is_shared": is_shared,
    "share_memory_": share_memory_, "is_pinned": is_pinned, "pin_memory": pin_memory,
    "apply_": apply_, "map_": map_, "resize_": resize_, "resize_as_": resize_as_,
    "resize": resize, "resize_as": resize_as, "as_subclass": as_subclass,
    "new_empty_strided": new_empty_strided, "hardshrink": _hardshrink, "prelu": _prelu,
    "layout": property(lambda self: strided, doc="``strided``: gpugrad's one layout."),
}
