"""``get_unsafe_globals_in_checkpoint``: the globals a ``torch.save`` checkpoint names that are
not allowlisted, found by reading its pickle's opcodes (``pickletools.genops``), never by
running it.

The globals allowed without an allowlist are those of ``torch.load(weights_only=True)``: what
``gpugrad.load`` rebuilds (``_torch_checkpoint``), and PyTorch's own names that it recognizes
without rebuilding them here (legacy tensor types, CUDA storages, sparse and quantized
tensors...); to those the user's ``add_safe_globals`` adds. As in PyTorch, a global a pickle
could build at load time from other values is not seen: only names written in the file are.
"""

from __future__ import annotations

import _compat_pickle
import os
import pickle
import pickletools
import zipfile

from . import _safe_globals, _torch_checkpoint

__all__ = ["get_unsafe_globals_in_checkpoint"]

_TENSOR_TYPES = ("BFloat16", "Bool", "Byte", "Char", "Double", "Float", "Half", "Int", "Long",
                 "Short")
# PyTorch's default allowlist beyond what gpugrad.load rebuilds (PyTorch 2.13).
_TORCH_ONLY_DEFAULTS = frozenset(
    [f"torch.{t}Tensor" for t in _TENSOR_TYPES]
    + [f"torch.cuda.{t}Tensor" for t in _TENSOR_TYPES]
    + [f"{m}.{t}Tensor" for m in ("torch.sparse", "torch.cuda.sparse")
       for t in _TENSOR_TYPES if t != "Bool"]
    + [f"torch.cuda.{t}Storage" for t in _TENSOR_TYPES + ("ComplexDouble", "ComplexFloat")]
    + [f"torch._utils._rebuild_{kind}" for kind in (
        "device_tensor_from_cpu_tensor", "device_tensor_from_numpy", "meta_tensor_no_storage",
        "nested_tensor", "qtensor", "sparse_tensor", "tensor", "wrapper_subclass")]
    + [f"torch.per_{scheme}" for scheme in (
        "channel_affine", "channel_affine_float_qparams", "channel_symmetric", "tensor_affine",
        "tensor_symmetric")]
    + ["torch.storage.TypedStorage"])

_NOT_A_CHECKPOINT = "Expected input to be a checkpoint returned by torch.save"
_STRINGS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
            "SHORT_BINUNICODE", "BINUNICODE8"}
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}
_NO_PUSH = {"PROTO", "FRAME", "MEMOIZE", "STOP"} | _PUTS


def get_unsafe_globals_in_checkpoint(f) -> list:
    """The ``"module.name"`` of each global (class or function) in the checkpoint ``f`` (a path
    or a binary file object) that loading would refuse: not allowed by default and not
    allowlisted with ``add_safe_globals`` / ``safe_globals``. The pickle is read, not run. A
    ``gpugrad.save`` archive names no global: its list is empty."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _unsafe_globals(fh)
    return _unsafe_globals(f)


def _unsafe_globals(fh) -> list:
    if not zipfile.is_zipfile(fh):
        raise ValueError(_NOT_A_CHECKPOINT)
    with zipfile.ZipFile(fh) as zf:
        prefix = _torch_checkpoint.archive_prefix(zf)
        if prefix is None:
            if "__manifest__.npy" in zf.namelist():  # gpugrad.save's: JSON and arrays only
                return []
            raise ValueError(_NOT_A_CHECKPOINT)
        if _torch_checkpoint.is_torchscript(zf, prefix):
            raise ValueError(f"{_NOT_A_CHECKPOINT} but got a torchscript checkpoint")
        data = zf.read(f"{prefix}/data.pkl")
    safe = (_torch_checkpoint.default_global_names() | _TORCH_ONLY_DEFAULTS
            | set(_safe_globals.user_allowed_globals()))
    return [name for name in globals_in_pickle(data) if name not in safe]


def globals_in_pickle(data: bytes) -> list:
    """The ``"module.name"`` of each global the pickle ``data`` names, in order, once each
    (Python 2 names as Python 3 reads them)."""
    found = {}  # (an insertion-ordered set)
    # The last two values pushed, as far as they could be a name (a str), else None: what
    # STACK_GLOBAL takes; and the memo, for names pushed again by GET.
    pushed, memo = [None, None], {}
    for opcode, arg, _ in pickletools.genops(data):
        op = opcode.name
        if op in ("GLOBAL", "INST"):
            found[_name(*arg.split(" ", 1))] = None
            pushed.append(None)
        elif op == "STACK_GLOBAL":
            module, name = pushed[-2:]
            if not (isinstance(module, str) and isinstance(name, str)):
                raise pickle.UnpicklingError("STACK_GLOBAL of a module and name that are not "
                                             "strings written in the checkpoint")
            found[_name(module, name)] = None
            pushed.append(None)
        elif op == "MEMOIZE":
            memo[len(memo)] = pushed[-1]
        elif op in _PUTS:
            memo[arg] = pushed[-1]
        elif op in _GETS:
            pushed.append(memo.get(arg))
        elif op in _STRINGS:
            pushed.append(arg if isinstance(arg, str) else None)
        elif op not in _NO_PUSH:
            pushed.append(None)
        del pushed[:-2]
    return list(found)


def _name(module: str, name: str) -> str:
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    else:
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return f"{module}.{name}"
