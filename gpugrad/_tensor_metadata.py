"""``TensorMetadata``: the read-only facts about a ``Tensor``'s array, a base of ``Tensor``.

Shape and size, dimensions, element counts and sizes, strides and contiguity, dtype, device and
the version counter's value: each reads ``_data`` (the array), ``_backend`` or ``_vc`` and
changes nothing.
"""

from __future__ import annotations

import numpy as np

from . import _dtype as dt
from ._device import device as _device_cls
from .autograd.inference import NO_VERSION
from .size import sized as _Size

__all__ = ["TensorMetadata", "NoDenseArray"]


class NoDenseArray(NotImplementedError, AttributeError):
    """What a sparse tensor's ``_data`` raises: a ``NotImplementedError`` for the user, and an
    ``AttributeError`` so that code probing an argument with ``getattr(x, "_data", None)`` (the
    wrappers of the complex and unsigned dtype gates) finds no dense array and passes it on.
    The few dense ops that also take sparse tensors (``gpugrad/sparse/_math.py``) catch it
    where they first read their operand's array, at no cost to dense operands."""


class TensorMetadata:
    """Shape, dtype, device and layout queries of ``Tensor`` (see the module docstring)."""

    __slots__ = ()  # Tensor's slots (and its instance dict) are Tensor's own

    @property
    def shape(self):
        return _Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return self.shape
        return self._data.shape[self._wrap_dim(dim)]

    def _wrap_dim(self, dim: int) -> int:
        n = self._data.ndim
        lo, hi = (-1, 0) if n == 0 else (-n, n - 1)
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        if dim < lo or dim > hi:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
            )
        return dim + n if dim < 0 else dim if n else 0

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    @property
    def itemsize(self) -> int:
        return self._data.dtype.itemsize

    @property
    def dtype(self) -> dt.dtype:
        return dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> _device_cls:
        return self._backend.device

    @property
    def is_cuda(self) -> bool:
        return self._backend.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._backend.device.type == "cpu"

    @property
    def is_meta(self) -> bool:
        """Whether this tensor is on the ``meta`` device (a shape and dtype, no data)."""
        return self._backend.device.type == "meta"

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in dt.FLOAT_KINDS

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def stride(self, dim: int | None = None):
        """Strides in elements, as PyTorch reports them."""
        item = self._data.dtype.itemsize
        strides = tuple(s // item for s in self._data.strides)
        return strides if dim is None else strides[self._wrap_dim(dim)]

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the elements are dense in row-major order, or in the order
        ``memory_format`` names (``channels_last``...)."""
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        from ._typeinfo import check_memory_format, is_contiguous_as

        return is_contiguous_as(self._data, check_memory_format(memory_format, "is_contiguous"))

    def data_ptr(self) -> int:
        arr = self._data
        if self._backend.device.type == "meta":
            return 0  # (no data)
        return int(arr.ctypes.data) if isinstance(arr, np.ndarray) else int(arr.data.ptr)

    @property
    def _version(self) -> int:
        vc = self._vc
        if vc.inference:
            raise RuntimeError(NO_VERSION)
        return vc.value

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is (0 for a leaf)."""
        return self._output_nr

    def is_distributed(self) -> bool:
        return False

    # A class attribute, not a property: matmul reads it on every call to find sparse
    # operands (``gpugrad.sparse``'s tensors set it True).
    is_sparse = False


def _never(name: str) -> property:
    return property(lambda self: False, doc=f"False: gpugrad has no {name} tensors.")


# The kinds of tensor and device PyTorch tells apart that gpugrad does not have (dense strided
# tensors on the CPU or a CUDA device only): code that checks for them reads False.
for _flag, _kind in (("is_sparse_csr", "sparse CSR"),
                     ("is_quantized", "quantized"),
                     ("is_nested", "nested"), ("is_mkldnn", "MKL-DNN"), ("is_mps", "MPS"),
                     ("is_xpu", "XPU"), ("is_ipu", "IPU"), ("is_xla", "XLA"),
                     ("is_vulkan", "Vulkan"), ("is_mtia", "MTIA"), ("is_maia", "MAIA")):
    setattr(TensorMetadata, _flag, _never(_kind))
