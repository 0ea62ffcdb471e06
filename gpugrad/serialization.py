"""``gpugrad.save`` / ``gpugrad.load``: tensors and nested containers of them in a NumPy
``.npz`` archive.

The archive holds one array per distinct tensor (``t0``, ``t1``, ...) and a JSON manifest
(``__manifest__``, a unicode array) that describes the object: dicts (any str / int / float /
bool / None keys, insertion order kept), lists, tuples, numbers, strings, bools, None, dtypes,
devices and tensors (with dtype, device, ``requires_grad`` and whether it is a Parameter), and
a lazy module's uninitialized parameters and buffers (their dtype, device and
``requires_grad``).
Loading reads arrays with ``allow_pickle=False`` and rebuilds from the manifest: nothing in the
file is ever executed. A tensor saved twice (e.g. tied weights) is stored once and loads as one
shared tensor.
"""

from __future__ import annotations

import io
import json
import os
from collections import OrderedDict

import numpy as np

from . import _dtype as dt
from ._device import device as _device_cls
from .backend import cuda_available, get_backend
from .tensor import Tensor

__all__ = ["save", "load"]

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
            return {"ordered_dict" if isinstance(obj, OrderedDict) else "dict": items}
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
    def __init__(self, archive, map_location):
        self.archive = archive
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
            return out
        if "list" in node:
            return [self.decode(v) for v in node["list"]]
        if "tuple" in node:
            return tuple(self.decode(v) for v in node["tuple"])
        raise ValueError(f"corrupt gpugrad archive: unknown entry {sorted(node)}")

    def _array(self, name: str) -> np.ndarray:
        if name not in self.archive.files:
            raise ValueError(f"corrupt gpugrad archive: missing array {name!r}")
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

    def _uninitialized(self, node):
        from .nn.parameter import UninitializedBuffer, UninitializedParameter

        cls = {"parameter": UninitializedParameter, "buffer": UninitializedBuffer}.get(
            node["uninitialized"])
        if cls is None:
            raise ValueError(f"corrupt gpugrad archive: uninitialized {node['uninitialized']!r}")
        return cls(node["requires_grad"], self._device(node["device"]),
                   getattr(dt, node["dtype"]))

    def _device(self, saved: str):
        loc = self.map_location
        if callable(loc):
            return _device_cls(loc(saved))
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


def load(f, map_location=None, weights_only: bool = True, **kwargs):
    """Load what ``save`` wrote, from a path or a readable binary file object.

    ``map_location`` (a device, a string, a dict from saved to wanted device, or a function of
    the saved device string) chooses where tensors go; by default, where they were saved.
    Loading never runs code from the file (``weights_only`` is accepted; it is always true).
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    else:
        data = f.read()
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as e:
        raise RuntimeError(f"not a gpugrad archive (a NumPy .npz written by gpugrad.save): {e}") \
            from None
    with archive:
        if _MANIFEST not in archive.files:
            raise RuntimeError("not a gpugrad archive: no manifest")
        manifest = json.loads(str(archive[_MANIFEST]))
        if manifest.get("format") != _FORMAT:
            raise RuntimeError(f"unsupported gpugrad archive format {manifest.get('format')!r}")
        return _Reader(archive, map_location).decode(manifest["object"])
