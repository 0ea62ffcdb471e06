"""``gpugrad.save`` / ``gpugrad.load``: tensors and nested containers of them in a NumPy
``.npz`` archive; ``load`` also reads what ``torch.save`` wrote (``_torch_checkpoint.py``).

The archive holds one array per distinct tensor (``t0``, ``t1``, ...) and a JSON manifest
(``__manifest__``, a unicode array) that describes the object: dicts (any str / int / float /
bool / None keys, insertion order kept), lists, tuples, numbers, strings, bools, None, dtypes,
devices and tensors (with dtype, device, ``requires_grad`` and whether it is a Parameter), an
``OrderedDict``'s ``_metadata`` (a state dict's module versions, which PyTorch's pickle keeps), and
a lazy module's uninitialized parameters and buffers (their dtype, device and
``requires_grad``).
Loading reads arrays with ``allow_pickle=False`` and rebuilds from the manifest: nothing in the
file is ever executed. A tensor saved twice (e.g. tied weights) is stored once and loads as one
shared tensor. ``get_unsafe_globals_in_checkpoint`` (``_checkpoint_globals.py``) lists the
globals a PyTorch checkpoint would need allowlisted (``add_safe_globals``) to load.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

from . import _dtype as dt
from ._checkpoint_globals import get_unsafe_globals_in_checkpoint
from ._device import device as _device_cls
from ._safe_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from ._zip_mmap import mapped_npy
from .backend import cuda_available, get_backend
from .tensor import Tensor

__all__ = ["save", "load", "add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "safe_globals", "get_unsafe_globals_in_checkpoint"]

_MANIFEST = "__manifest__"
_FORMAT = "gpugrad.npz/1"


class _Writer:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.ids: dict[int, str] = {}

    def encode(self, obj):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)) and not isinstance(obj, bool):
            return obj if not isinstance(obj, float) or np.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, np.generic):
            return self.encode(obj.item())
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._store(id(obj), obj)}
        if isinstance(obj, dt.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, _device_cls):
            return {"device": str(obj)}
        if isinstance(obj, dict):
            items = [[self._key(k), self.encode(v)] for k, v in obj.items()]
            node = {"ordered_dict" if isinstance(obj, OrderedDict) else "dict": items}
            metadata = getattr(obj, "_metadata", None)
            if isinstance(obj, OrderedDict) and metadata is not None:
                node["metadata"] = self.encode(metadata)  # a state dict's module versions
            return node
        if isinstance(obj, list):
            return {"list": [self.encode(v) for v in obj]}
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v) for v in obj]}
        raise TypeError(
            f"gpugrad.save can't store objects of type {type(obj).__name__}: it stores tensors, "
            "arrays, numbers, strings, None, dtypes, devices and dicts/lists/tuples of them"
        )

    def _key(self, key):
        if key is None or isinstance(key, (bool, int, float, str)):
            return self.encode(key)
        raise TypeError(f"gpugrad.save can't store a dict key of type {type(key).__name__}")

    def _store(self, ident: int, arr: np.ndarray) -> str:
        name = self.ids.get(ident)
        if name is None:
            name = f"t{len(self.arrays)}"
            self.ids[ident] = name
            self.arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        return name

    def _tensor(self, t: Tensor):
        from .nn.parameter import Parameter, UninitializedParameter, is_lazy

        if t.is_sparse:  # its coordinates and values, each stored as a tensor
            return {"sparse_coo": [self._tensor(t._indices_t), self._tensor(t._values_t)],
                    "size": list(t._size), "coalesced": t._coalesced}
        if is_lazy(t):  # a lazy module's entry: no data, only what it will be made with
            return {"uninitialized": "parameter" if isinstance(t, UninitializedParameter)
                    else "buffer", "dtype": t.dtype.name, "device": str(t.device),
                    "requires_grad": t.requires_grad}
        host = t._backend.to_numpy(t._data)
        if host.dtype.kind == "V":  # bfloat16: .npz has none, its bits are stored as uint16
            host = host.view(np.uint16)
        return {"tensor": self._store(id(t), host), "dtype": t.dtype.name,
                "device": str(t.device), "requires_grad": t.requires_grad,
                "parameter": isinstance(t, Parameter)}


def save(obj, f) -> None:
    """Save ``obj`` (a tensor, a state dict, or nested dicts/lists of tensors and numbers) to
    ``f``, a path or a writable binary file object. A path is written as given (no suffix
    added)."""
    writer = _Writer()
    manifest = {"format": _FORMAT, "object": writer.encode(obj)}
    arrays = dict(writer.arrays)
    arrays[_MANIFEST] = np.array(json.dumps(manifest))
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            np.savez(fh, **arrays)
    else:
        np.savez(f, **arrays)


class _Reader:
    def __init__(self, archive, map_location, mmap_path=None):
        self.archive = archive
        self.mmap_path = mmap_path
        self.map_location = map_location
        self.loaded: dict[str, object] = {}

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):  # only inside the typed containers below
            raise ValueError("corrupt gpugrad archive: bare list in the manifest")
        if "float" in node:
            return float(node["float"])
        if "tensor" in node:
            return self._tensor(node)
        if "sparse_coo" in node:
            return self._sparse(node)
        if "uninitialized" in node:
            return self._uninitialized(node)
        if "ndarray" in node:
            return self._array(node["ndarray"])
        if "dtype" in node:
            return dt.to_dtype(getattr(dt, node["dtype"]))
        if "device" in node:
            return _device_cls(node["device"])
        if "dict" in node or "ordered_dict" in node:
            items = node.get("dict", node.get("ordered_dict"))
            out = OrderedDict() if "ordered_dict" in node else {}
            for key, value in items:
                out[self.decode(key)] = self.decode(value)
            if "metadata" in node and isinstance(out, OrderedDict):
                out._metadata = self.decode(node["metadata"])
            return out
        if "list" in node:
            return [self.decode(v) for v in node["list"]]
        if "tuple" in node:
            return tuple(self.decode(v) for v in node["tuple"])
        raise ValueError(f"corrupt gpugrad archive: unknown entry {sorted(node)}")

    def _array(self, name: str) -> np.ndarray:
        if name not in self.archive.files:
            raise ValueError(f"corrupt gpugrad archive: missing array {name!r}")
        if self.mmap_path is not None:
            mapped = mapped_npy(self.mmap_path, self.archive.zip, f"{name}.npy")
            if mapped is not None:
                return mapped
        return self.archive[name]

    def _tensor(self, node):
        name = node["tensor"]
        if name in self.loaded:
            return self.loaded[name]
        host = self._array(name)
        expected = getattr(dt, node["dtype"]).np
        if node["dtype"] == "bfloat16" and host.dtype == np.uint16:
            host = host.view(expected)
        if host.dtype != expected:
            raise ValueError(f"corrupt gpugrad archive: {name} is {host.dtype}, not {expected}")
        backend = get_backend(self._device(node["device"]))
        t = Tensor._make(backend.asarray(host), backend)
        if node.get("parameter"):
            from .nn.parameter import Parameter

            t = Parameter(t, node["requires_grad"])
        elif node["requires_grad"]:
            t.requires_grad_(True)
        self.loaded[name] = t
        return t

    def _sparse(self, node):
        from .sparse._build import rebuilt

        indices, values = (self.decode(part) for part in node["sparse_coo"])
        if not isinstance(indices, Tensor) or not isinstance(values, Tensor):
            raise ValueError("corrupt gpugrad archive: a sparse tensor's parts are not tensors")
        return rebuilt(indices, values, node["size"], node["coalesced"])

    def _uninitialized(self, node):
        from .nn.parameter import UninitializedBuffer, UninitializedParameter

        cls = {"parameter": UninitializedParameter, "buffer": UninitializedBuffer}.get(
            node["uninitialized"])
        if cls is None:
            raise ValueError(f"corrupt gpugrad archive: uninitialized {node['uninitialized']!r}")
        return cls(node["requires_grad"], self._device(node["device"]),
                   getattr(dt, node["dtype"]))

    def _device(self, saved: str):
        return resolve_device(saved, self.map_location)


class _StorageStub:
    """What a two-argument ``map_location(storage, location)`` function (PyTorch's form) is
    given as the storage: it answers ``.device`` and moves with ``.cpu()`` / ``.cuda()`` /
    ``.to()``; the device of what the function returns is where the tensors go."""

    def __init__(self, where):
        self.device = _device_cls(where)

    def cpu(self):
        return _StorageStub("cpu")

    def cuda(self, device=None, non_blocking=False):
        if device is None:
            return _StorageStub("cuda")
        return _StorageStub(device if isinstance(device, (str, _device_cls)) else
                            _device_cls("cuda", int(device)))

    def to(self, device, *args, **kwargs):
        return _StorageStub(device)


def _takes_two_arguments(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def resolve_device(saved: str, map_location):
    """Where a tensor saved on device ``saved`` loads under ``map_location``: a device or
    string, a dict from saved to wanted device string, a function of the saved device string,
    or PyTorch's ``map_location(storage, location)`` function; by default where it was
    saved."""
    loc = map_location
    if callable(loc):
        if _takes_two_arguments(loc):
            where = loc(_StorageStub("cpu"), saved)
            where = where.device if isinstance(where, _StorageStub) else where
        else:
            where = loc(saved)
        return resolve_device(saved, None) if where is None else _device_cls(where)
    if isinstance(loc, dict):
        return _device_cls(loc.get(saved, saved))
    if loc is not None:
        return _device_cls(loc)
    dev = _device_cls(saved)
    if dev.type == "cuda" and not cuda_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but CUDA is not available. "
            "Use gpugrad.load(..., map_location='cpu') to map the tensors to the CPU."
        )
    return dev


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load what ``save`` wrote, or a checkpoint that ``torch.save`` wrote (PyTorch's zip
    format, its default since 1.6), from a path or a readable binary file object.

    ``map_location`` (a device, a string, a dict from saved to wanted device, a function of
    the saved device string, or PyTorch's ``map_location(storage, location)`` function) chooses
    where tensors go; by default, where they were saved.

    Loading never runs code from the file beyond what the user allowlisted, whatever
    ``weights_only`` says: a PyTorch checkpoint is read by a restricted unpickler that rebuilds
    only tensors, parameters, dtypes, devices, sizes, numbers, strings and containers (what
    ``torch.load(..., weights_only=True)`` accepts by default) and the globals marked safe with
    ``gpugrad.serialization.add_safe_globals`` or the ``safe_globals`` context manager (e.g.
    ``argparse.Namespace``, a config dataclass, an enum: they may then be called, and their
    instances' state set, as in PyTorch), and ``weights_only=False`` changes nothing: a
    checkpoint that needs any other global is refused with ``pickle.UnpicklingError``;
    ``pickle_module``
    may only be Python's ``pickle`` (the reader is ours), and ``pickle_load_args`` go to the
    unpickler (``encoding``, ``errors``...). ``mmap=True`` (``f`` a path) maps the arrays of
    members stored uncompressed (as both formats store them) copy-on-write instead of reading
    them.
    """
    _check_load_args(f, pickle_module, mmap, pickle_load_args)
    mmap_path = f if mmap else None
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read(4) if mmap else fh.read()
    else:
        data = f.read()
    from . import _torch_checkpoint

    if not data and not mmap:  # (an empty file, or a buffer not rewound after saving)
        raise EOFError  # (PyTorch's error, which its ``mmap=True`` reports as a non-zip file)
    if not data.startswith(b"PK"):  # not a zip archive: neither ours nor PyTorch's format
        if mmap:  # (only the first bytes were read)
            with open(f, "rb") as fh:
                data = fh.read()
        _torch_checkpoint.refuse_legacy(data)
        raise RuntimeError("not a gpugrad archive (a NumPy .npz written by gpugrad.save) nor a "
                           "PyTorch checkpoint in the zip format torch.save writes")
    try:
        zf = zipfile.ZipFile(mmap_path if mmap else io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise RuntimeError(f"not a gpugrad archive nor a PyTorch checkpoint: {e}") from None
    with zf:
        prefix = _torch_checkpoint.checkpoint_prefix(zf)
        if prefix is not None:
            return _torch_checkpoint.load_checkpoint(zf, prefix, map_location, mmap_path,
                                                     pickle_load_args)
    return _load_archive(mmap_path if mmap else io.BytesIO(data), map_location, mmap_path)


_UNPICKLER_ARGS = ("fix_imports", "encoding", "errors", "buffers")


def _check_load_args(f, pickle_module, mmap, pickle_load_args) -> None:
    if pickle_module is not None and pickle_module is not pickle:
        raise NotImplementedError(
            f"gpugrad.load reads with its own restricted unpickler: pickle_module="
            f"{getattr(pickle_module, '__name__', pickle_module)!r} is not supported")
    if mmap and not isinstance(f, (str, os.PathLike)):
        raise ValueError("f must be a file path in order to use the mmap argument")
    for key in pickle_load_args:
        if key not in _UNPICKLER_ARGS:
            raise TypeError(f"Unpickler.__init__() got an unexpected keyword argument '{key}'")


def _load_archive(source, map_location, mmap_path=None):
    try:
        archive = np.load(source, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise RuntimeError(f"not a gpugrad archive (a NumPy .npz written by gpugrad.save): {e}") \
            from None
    with archive:
        if _MANIFEST not in archive.files:
            raise RuntimeError("not a gpugrad archive: no manifest")
        manifest = json.loads(str(archive[_MANIFEST]))
        if manifest.get("format") != _FORMAT:
            raise RuntimeError(f"unsupported gpugrad archive format {manifest.get('format')!r}")
        return _Reader(archive, map_location, mmap_path).decode(manifest["object"])
