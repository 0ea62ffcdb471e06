"""Reading checkpoints that ``torch.save`` wrote, without PyTorch and without running code.

PyTorch's format (its default since 1.6) is a zip archive under one top folder ``<prefix>``:
``<prefix>/data.pkl`` is a pickle of the saved object in which every tensor is a call of a
rebuild function (``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, hooks)``) and every storage a persistent id ``("storage", <storage type>, key,
location, numel)`` whose bytes are the member ``<prefix>/data/<key>``; ``<prefix>/byteorder``
says how those bytes are ordered.

The pickle is read by ``_CheckpointUnpickler``, whose ``find_class`` hands out only what
rebuilds tensors and plain data (our own stand-ins for PyTorch's rebuild functions, dtypes,
storage types, ``Size``, ``device``, ``OrderedDict``...) and the globals the user allowlisted
(``gpugrad.serialization.add_safe_globals``), and refuses every other global with
``pickle.UnpicklingError``, as ``torch.load(weights_only=True)`` does: globals are the only way
a pickle reaches code, so nothing else in the file can run (``_restricted_unpickler.py``).
Each storage is read once into a writable array on its device; tensors are strided views
of it, so tensors that shared a storage in PyTorch (tied weights, views) share memory after
loading too.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from collections import Counter, OrderedDict

import numpy as np

from . import _dtype as dt
from ._device import device as _device_cls
from ._restricted_unpickler import RestrictedUnpickler
from ._zip_mmap import mapped_bytes
from .backend import get_backend
from .size import Size
from .tensor import Tensor

__all__ = ["archive_prefix", "checkpoint_prefix", "default_global_names", "is_torchscript",
           "load_checkpoint", "refuse_legacy"]

# PyTorch's legacy (pre-1.6, ``_use_new_zipfile_serialization=False``) files start with a
# pickled magic number.
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"

# The dtypes PyTorch names, by the name ``str(torch.<dtype>)`` ends with (the pickle's global)
# and by its legacy storage class; gpugrad has the first thirteen.
_DTYPES = {name: getattr(dt, name) for name in (
    "float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64",
    "bool", "uint16", "uint32", "uint64", "complex64", "complex128")}
_STORAGE_DTYPES = {
    "HalfStorage": "float16", "BFloat16Storage": "bfloat16", "FloatStorage": "float32",
    "DoubleStorage": "float64", "ByteStorage": "uint8", "CharStorage": "int8",
    "ShortStorage": "int16", "IntStorage": "int32", "LongStorage": "int64",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
# PyTorch dtypes and storages gpugrad has no dtype for: named in a clear error when a tensor
# uses one (a dtype alone, e.g. in a config dict, loads as its name).
_OTHER_DTYPES = (
    "complex32", "float8_e4m3fn",
    "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
    "qint8", "quint8", "qint32", "quint4x2", "quint2x4", "bits8", "bits16", "bits1x8",
    "bits2x4", "bits4x2", "int1", "int2", "int3", "int4", "int5", "int6", "int7", "uint1",
    "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
)
_OTHER_STORAGES = {
    "QInt8Storage": "qint8", "QUInt8Storage": "quint8", "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
}


class UnsupportedDtype:
    """A PyTorch dtype gpugrad lacks, as it appears in a checkpoint (e.g. in a config)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __eq__(self, other):
        return isinstance(other, UnsupportedDtype) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


class _StorageType:
    """A storage class of the pickle and the dtype of its elements (uint8 for
    ``UntypedStorage``, whose tensors name their own dtype)."""

    def __init__(self, name: str, dtype):
        self.name, self.dtype = name, dtype


class _Storage:
    """One storage of the checkpoint: its record key, saved location and elements' dtype."""

    def __init__(self, key: str, location: str, dtype, numel: int):
        self.key, self.location, self.dtype, self.numel = key, location, dtype, numel


def refuse_legacy(data: bytes) -> None:
    """Raise a clear error for PyTorch's pre-1.6 formats (which gpugrad does not read)."""
    legacy = data.startswith(_LEGACY_MAGIC)
    if not legacy and len(data) > 512:
        legacy = tarfile.is_tarfile(io.BytesIO(data))  # PyTorch's oldest (tar) format
    if legacy:
        raise RuntimeError(
            "this file is in PyTorch's legacy serialization format (torch.save with "
            "_use_new_zipfile_serialization=False, or PyTorch before 1.6), which gpugrad.load "
            "does not read; load it with torch.load and save it again with torch.save's "
            "default (zip) format")


def archive_prefix(zf) -> str | None:
    """The top folder of a ``torch.save`` (or TorchScript) zip archive, or None if ``zf`` is
    neither."""
    names = zf.namelist()
    if not names or "/" not in names[0]:
        return None
    prefix = names[0].split("/", 1)[0]
    return prefix if f"{prefix}/data.pkl" in set(names) else None


def is_torchscript(zf, prefix: str) -> bool:
    names = zf.namelist()
    return f"{prefix}/constants.pkl" in names or any(n.startswith(f"{prefix}/code/")
                                                     for n in names)


def checkpoint_prefix(zf) -> str | None:
    """The top folder of a ``torch.save`` zip archive, or None if ``zf`` is not one."""
    prefix = archive_prefix(zf)
    if prefix is not None and is_torchscript(zf, prefix):
        raise RuntimeError(
            "this file is a TorchScript archive (torch.jit.save); gpugrad has no TorchScript. "
            "Load it in PyTorch and save its state_dict() with torch.save instead")
    return prefix


def default_global_names() -> frozenset:
    """The names of the globals ``load_checkpoint`` resolves without an allowlist."""
    return frozenset(_allowed(None))


def load_checkpoint(zf, prefix: str, map_location, mmap_path=None, pickle_load_args=None):
    """The object a ``torch.save`` zip archive holds, its tensors on the devices that
    ``map_location`` chooses (see ``gpugrad.load``); storages mapped from ``mmap_path`` (the
    archive's path) when given, else read."""
    byteorder = "little"
    if f"{prefix}/byteorder" in zf.namelist():
        byteorder = zf.read(f"{prefix}/byteorder").decode("ascii").strip()
        if byteorder not in ("little", "big"):
            raise RuntimeError(f"corrupt PyTorch checkpoint: byteorder {byteorder!r}")
    reader = _StorageReader(zf, prefix, byteorder, map_location, mmap_path)
    unpickler = _CheckpointUnpickler(zf.open(f"{prefix}/data.pkl"), reader,
                                     **(pickle_load_args or {}))
    return unpickler.load()


class _StorageReader:
    """Reads each storage record once, onto each device it is wanted on, and makes the
    tensors viewing it."""

    def __init__(self, zf, prefix, byteorder, map_location, mmap_path=None):
        self.zf, self.prefix, self.byteorder = zf, prefix, byteorder
        self.mmap_path = mmap_path
        self.map_location = map_location
        self.storages: dict[str, _Storage] = {}
        self.arrays: dict[tuple, object] = {}  # (key, device, dtype name) -> flat array

    def storage(self, pid) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id in checkpoint: {pid!r}")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"corrupt PyTorch checkpoint: storage type "
                                         f"{storage_type!r}")
        if isinstance(storage_type.dtype, UnsupportedDtype):
            _refuse_dtype(storage_type.dtype)
        key, location = str(key), str(location)
        if key not in self.storages:
            self.storages[key] = _Storage(key, location, storage_type.dtype, int(numel))
        return self.storages[key]

    def flat(self, storage: _Storage, dtype: dt.dtype, device):
        """The storage's elements as a flat writable array of ``dtype`` on ``device``: one
        array per storage, dtype and device, so tensors viewing it share memory (on the CPU
        every dtype's view shares the one buffer of the storage's bytes)."""
        cache_key = (storage.key, str(device), dtype.name)
        flat = self.arrays.get(cache_key)
        if flat is None:
            raw = self._host_bytes(storage)
            item = dtype.np.itemsize
            raw = raw[: raw.size - raw.size % item]
            if self.byteorder == "little" or item == 1:
                host = raw.view(dtype.np)
            else:
                host = _from_big_endian(raw, dtype)
            flat = self.arrays[cache_key] = get_backend(device).asarray(host)
        return flat

    def _host_bytes(self, storage: _Storage) -> np.ndarray:
        raw = self.arrays.get((storage.key, "host"))
        if raw is None:
            name = f"{self.prefix}/data/{storage.key}"
            try:
                raw = None if self.mmap_path is None else mapped_bytes(self.mmap_path, self.zf,
                                                                       name)
                if raw is None:
                    raw = np.frombuffer(self.zf.read(name), np.uint8).copy()
            except KeyError:
                raise RuntimeError(f"corrupt PyTorch checkpoint: no record {name!r}") from None
            self.arrays[(storage.key, "host")] = raw
        return raw

    def tensor(self, storage, offset, size, stride, requires_grad, dtype=None, metadata=None):
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError("corrupt PyTorch checkpoint: a tensor without storage")
        if dtype is None:
            dtype = storage.dtype
        if isinstance(dtype, UnsupportedDtype):
            _refuse_dtype(dtype)
        if not isinstance(dtype, dt.dtype):
            raise pickle.UnpicklingError(f"corrupt PyTorch checkpoint: dtype {dtype!r}")
        size, stride, offset = tuple(int(n) for n in size), tuple(int(s) for s in stride), \
            int(offset)
        if len(size) != len(stride) or offset < 0 or min(size + stride, default=0) < 0:
            raise RuntimeError(f"corrupt PyTorch checkpoint: tensor of size {list(size)}, "
                               f"stride {list(stride)}, storage offset {offset}")
        from .serialization import resolve_device

        device = resolve_device(storage.location, self.map_location)
        backend = get_backend(device)
        flat = self.flat(storage, dtype, device)
        empty = 0 in size
        needed = 0 if empty else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
        if needed > flat.size:
            raise RuntimeError(
                f"corrupt PyTorch checkpoint: a tensor of size {list(size)}, stride "
                f"{list(stride)} and storage offset {offset} reads past its storage of "
                f"{flat.size} elements")
        item = flat.dtype.itemsize
        base = flat[offset:] if not empty else flat[:0]
        data = backend.xp.lib.stride_tricks.as_strided(
            base, shape=size, strides=tuple(s * item for s in stride))
        if metadata and metadata.get("neg"):  # a negative view saved with its bit set
            data = -data
        t = Tensor._make(data, backend)
        if requires_grad:
            t.requires_grad_(True)
        return t


def _from_big_endian(raw: np.ndarray, dtype: dt.dtype) -> np.ndarray:
    if dtype is dt.bfloat16:  # ml_dtypes' bfloat16 has no byte order: swap it as uint16
        return raw.view(">u2").astype("<u2").view(dtype.np)
    return raw.view(dtype.np.newbyteorder(">")).astype(dtype.np)


def _refuse_dtype(dtype: UnsupportedDtype):
    raise RuntimeError(f"this PyTorch checkpoint holds a torch.{dtype.name} tensor; gpugrad "
                       f"has no {dtype.name} dtype")


def _parameter(data, requires_grad, backward_hooks=None, state=None):
    from .nn.parameter import Parameter

    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError("corrupt PyTorch checkpoint: a Parameter of a non-tensor")
    p = Parameter(data, bool(requires_grad))
    _set_state(p, state)
    return p


def _set_state(t: Tensor, state) -> None:
    """Python attributes a tensor carried in PyTorch (``t.foo = 1``); names that would shadow
    what a Tensor has are refused."""
    if isinstance(state, tuple):  # (dict, slots) when the class has __slots__
        state = {k: v for part in state if isinstance(part, dict) for k, v in part.items()}
    for name, value in (state or {}).items():
        if not isinstance(name, str) or name.startswith("__") or hasattr(type(t), name):
            raise pickle.UnpicklingError(f"refused attribute {name!r} on a tensor")
        setattr(t, name, value)


def _bytes(text, encoding="latin1"):
    # protocol 2 pickles bytes as _codecs.encode(str, "latin1")
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refused _codecs.encode call")
    return text.encode("latin1")


def _size(*args):
    return Size(*args)


def _device(*args):
    return _device_cls(*args)


def _layout(name):
    if name in ("torch.strided", "torch.sparse_coo"):
        return name
    raise RuntimeError(f"this PyTorch checkpoint holds a tensor with layout {name}; gpugrad "
                       "has dense (strided) and sparse COO tensors only")


def _sparse(layout, data):
    """``torch._utils._rebuild_sparse_tensor``: a sparse COO tensor from its coordinates,
    values, size (and whether it is coalesced), checked as ``sparse_coo_tensor`` checks them."""
    from .sparse._build import rebuilt

    if layout != "torch.sparse_coo" or not isinstance(data, tuple) or len(data) not in (3, 4):
        raise pickle.UnpicklingError("corrupt PyTorch checkpoint: a sparse tensor that is not "
                                     "(indices, values, size[, is_coalesced]) in COO layout")
    indices, values, size = data[:3]
    coalesced = len(data) == 4 and data[3]
    if not isinstance(indices, Tensor) or not isinstance(values, Tensor):
        raise pickle.UnpicklingError("corrupt PyTorch checkpoint: a sparse tensor's parts are "
                                     "not tensors")
    return rebuilt(indices, values, size, coalesced)


class _TensorClass:
    """``torch.Tensor`` / ``torch.nn.Parameter`` as ``_rebuild_from_type_v2``'s type."""

    def __init__(self, parameter: bool):
        self.parameter = parameter


class _CheckpointUnpickler(RestrictedUnpickler):
    """Unpickles ``data.pkl``: the globals of ``_allowed`` and the user's allowlist resolve
    (see ``RestrictedUnpickler`` for what else is guarded); storages are read by ``reader``."""

    def __init__(self, file, reader: _StorageReader, **pickle_load_args):
        super().__init__(file, **pickle_load_args)
        self.reader = reader
        self.allowed = _allowed(reader)

    def default_global(self, name: str):
        return self.allowed.get(name)

    def persistent_load(self, pid):
        return self.reader.storage(pid)


def _allowed(reader: _StorageReader) -> dict:
    """Each global name a checkpoint may use and what gpugrad gives for it."""

    def rebuild_v2(storage, offset, size, stride, requires_grad, backward_hooks=None,
                   metadata=None):
        return reader.tensor(storage, offset, size, stride, requires_grad, metadata=metadata)

    def rebuild_v3(storage, offset, size, stride, requires_grad, backward_hooks, dtype,
                   metadata=None):
        return reader.tensor(storage, offset, size, stride, requires_grad, dtype, metadata)

    def rebuild_from_type_v2(func, new_type, args, state):
        # ``func`` comes from the stack: only a tensor rebuild function may be called
        rebuild = func is rebuild_v2 or func is rebuild_v3
        if not rebuild or not isinstance(new_type, _TensorClass):
            raise pickle.UnpicklingError("corrupt PyTorch checkpoint: _rebuild_from_type_v2 "
                                         "of a non-tensor")
        t = func(*args)
        if not isinstance(t, Tensor):
            raise pickle.UnpicklingError("corrupt PyTorch checkpoint: _rebuild_from_type_v2 "
                                         "of a non-tensor")
        if new_type.parameter:
            return _parameter(t, t.requires_grad, None, state)
        _set_state(t, state)
        return t

    allowed = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.bytearray": bytearray,
        "builtins.complex": complex,
        "_codecs.encode": _bytes,
        "torch.Size": _size,
        "torch.device": _device,
        "torch.Tensor": _TensorClass(parameter=False),
        "torch.nn.parameter.Parameter": _TensorClass(parameter=True),
        "torch._utils._rebuild_tensor_v2": rebuild_v2,
        "torch._utils._rebuild_tensor_v3": rebuild_v3,
        "torch._utils._rebuild_parameter": _parameter,
        "torch._utils._rebuild_parameter_with_state": _parameter,
        "torch._tensor._rebuild_from_type_v2": rebuild_from_type_v2,
        "torch.serialization._get_layout": _layout,
        "torch._utils._rebuild_sparse_tensor": _sparse,
        "torch.storage.UntypedStorage": _StorageType("UntypedStorage", dt.uint8),
    }
    for name, dtype in _DTYPES.items():
        allowed[f"torch.{name}"] = dtype
    for name in _OTHER_DTYPES:
        allowed[f"torch.{name}"] = UnsupportedDtype(name)
    for cls, name in _STORAGE_DTYPES.items():
        allowed[f"torch.{cls}"] = _StorageType(cls, _DTYPES[name])
    for cls, name in _OTHER_STORAGES.items():
        allowed[f"torch.{cls}"] = _StorageType(cls, UnsupportedDtype(name))
    return allowed
