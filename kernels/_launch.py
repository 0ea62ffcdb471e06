"""Launching ``@triton.jit`` kernels on raw arrays, and the layout helpers launchers share.

``Kernel(fn)(grid, *args, num_warps=...)`` launches ``fn`` with every argument positional
(constexprs included, in the kernel's order). Arrays become pointers:

- compiled: CuPy arrays. The first launch of each specialization compiles through Triton's own
  ``warmup`` (so Triton decides the specialization); later launches call the compiled kernel's
  launcher directly on CuPy's current stream, skipping Triton's generic launch path (argument
  binding, driver queries) that costs about 12 us a launch. The cache key holds everything
  Triton specializes on: each pointer's dtype and 16-byte alignment, each integer's ==1 /
  divisible-by-16 / 32-or-64-bit class, the constexpr values, num_warps, the device.
- interpret: NumPy arrays, handed over as ``torch.from_numpy`` views (no copy; the kernel's stores
  land in the NumPy array), the bridge Triton's interpreter needs. The interpreter keeps global
  state while it runs a kernel, so launches take a lock: threads interpret one at a time.
- aot: NumPy arrays stand in for device pointers; each new specialization is compiled for the
  architecture in ``GPUGRAD_TRITON_AOT`` and recorded in ``COMPILED``; nothing runs.
"""

from __future__ import annotations

import os
import threading
import warnings

import ml_dtypes
import numpy as np

from . import MODE

if MODE == "compiled":
    import cupy as xp
else:
    xp = np
if MODE == "interpret":
    # The interpreter's pointer bridge. Imported now, not at the first launch: PyTorch's import
    # leaves a reference cycle through the frames on the stack (torch.fx.wrap keeps its own
    # frame), which would hold the caller's locals (a graph's tensors) until the collector ran.
    import torch

__all__ = ["xp", "Kernel", "Tuning", "cdiv", "next_pow2", "num_sms", "elem_strides", "collapse",
           "no_negative_strides", "COMPILED", "FLOAT_DTYPES"]

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16), np.dtype(np.float32),
                np.dtype(np.float64))
COMPILED: list = []  # aot mode: (kernel name, CompiledKernel), in order of first use


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def next_pow2(n: int) -> int:
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


_sms: int | None = None


def num_sms() -> int:
    """Streaming multiprocessors of the current device (a small stand-in off the GPU)."""
    global _sms
    if _sms is None:
        _sms = 4
        if MODE == "compiled":
            dev = xp.cuda.runtime.getDevice()
            _sms = xp.cuda.runtime.getDeviceProperties(dev)["multiProcessorCount"]
        elif MODE == "aot":
            _sms = 132  # an H100/H200, so that aot compiles the variants a big GPU would pick
    return _sms


def elem_strides(arr) -> tuple:
    """Strides in elements (NumPy and CuPy report bytes)."""
    item = arr.dtype.itemsize
    return tuple(s // item for s in arr.strides)


def no_negative_strides(arr):
    """``arr``, copied when a stride is negative (flipped views): kernels index from the first
    element upwards, and the interpreter's bridge cannot wrap negative strides."""
    if any(s < 0 for s in arr.strides):
        return xp.ascontiguousarray(arr)
    return arr


def collapse(shape, strides_list):
    """Merge dims that every operand walks as one, and drop size-1 dims.

    ``strides_list`` holds one strides tuple (in elements, 0 where broadcast) per operand, all
    for ``shape``. Returns ``(shape, strides_list)`` of the fewest dims that address the same
    elements in the same C order; a 0-d result means a single element.
    """
    dims = [i for i, n in enumerate(shape) if n != 1]
    out_shape: list = []
    out_strides: list = [[] for _ in strides_list]
    for i in dims:
        n = shape[i]
        if out_shape and all(
            st[-1] == s[i] * n for st, s in zip(out_strides, strides_list)
        ):
            out_shape[-1] *= n
            for st, s in zip(out_strides, strides_list):
                st[-1] = s[i]
            continue
        out_shape.append(n)
        for st, s in zip(out_strides, strides_list):
            st.append(s[i])
    return tuple(out_shape), [tuple(st) for st in out_strides]


# ------------------------------------------------------------------------------ launching
class _Ptr:
    """What Triton specializes a pointer argument on: an address and a NumPy dtype."""

    __slots__ = ("ptr", "dtype")

    def __init__(self, ptr: int, dtype):
        self.ptr = ptr
        self.dtype = dtype

    def data_ptr(self) -> int:
        return self.ptr


def _int_class(v: int) -> int:
    """The part of an integer Triton specializes on: ==1, divisible by 16, 32- or 64-bit."""
    if v == 1:
        return 1
    return (2 if v % 16 == 0 else 3) + (0 if -(2**31) <= v < 2**31 else 4)


class Kernel:
    """A ``@triton.jit`` function with a launch cache; call ``kernel(grid, *args)``."""

    def __init__(self, fn):
        self.fn = fn
        params = getattr(fn, "params", None)
        if params is not None:
            self._constexpr = tuple(p.is_constexpr for p in params)
        else:  # the interpreter's function: read the annotations
            import inspect

            sig = inspect.signature(fn.fn)
            self._constexpr = tuple(
                "constexpr" in str(p.annotation) for p in sig.parameters.values()
            )
        self.name = getattr(fn, "__name__", None) or fn.fn.__name__
        self._cache: dict = {}

    def __call__(self, grid, *args, num_warps: int = 4):
        if MODE == "interpret":
            return _interpret_launch(self.fn, grid, args)
        if MODE == "aot":
            return self._aot(grid, args, num_warps)
        return self._launch(grid, args, num_warps)

    # compiled ---------------------------------------------------------------------------
    def _launch(self, grid, args, num_warps):
        ndarray = xp.ndarray
        device = xp.cuda.runtime.getDevice()
        key = [num_warps, device]
        call = []
        for a, is_const in zip(args, self._constexpr):
            if is_const:
                key.append(a)
                call.append(a)
            elif type(a) is ndarray:
                p = a.data.ptr
                key.append((a.dtype.char, p % 16 == 0))
                call.append(p)
            elif type(a) is int:
                key.append(_int_class(a))
                call.append(a)
            else:  # float, bool, None
                key.append(type(a))
                call.append(a)
        key = tuple(key)
        entry = self._cache.get(key)
        if entry is None:
            entry = self._compile(grid, args, num_warps)
            self._cache[key] = entry
        run, function, packed, compiled = entry
        g1 = grid[1] if len(grid) > 1 else 1
        g2 = grid[2] if len(grid) > 2 else 1
        stream = xp.cuda.get_current_stream().ptr
        if _direct:
            try:
                run(grid[0], g1, g2, stream, function, packed, None, None, None, *call)
                return
            except TypeError:  # a Triton whose launcher takes other arguments
                _use_generic_launch()
        compiled[(grid[0], g1, g2)](*call, stream=stream)

    def _compile(self, grid, args, num_warps):
        _bind_triton_to_cupy()
        ndarray = xp.ndarray
        warm = [_Ptr(a.data.ptr, a.dtype) if type(a) is ndarray else a for a in args]
        compiled = self.fn.warmup(*warm, grid=grid, num_warps=num_warps)
        run = compiled.run  # loads the module on the current device
        return run, compiled.function, compiled.packed_metadata, compiled

    # aot --------------------------------------------------------------------------------
    def _aot(self, grid, args, num_warps):
        stand_in = []
        key = [num_warps]
        for a, is_const in zip(args, self._constexpr):
            if isinstance(a, np.ndarray) and not is_const:
                p = a.ctypes.data
                stand_in.append(_Ptr(p, a.dtype))
                key.append((a.dtype.char, p % 16 == 0))
            else:
                stand_in.append(a)
                key.append(a if is_const else _int_class(a) if type(a) is int else type(a))
        key = tuple(key)
        if key not in self._cache:
            self._cache[key] = compiled = _aot_compile(self.fn, stand_in, num_warps)
            COMPILED.append((self.name, compiled))


_direct = True


def _use_generic_launch() -> None:
    global _direct
    _direct = False
    warnings.warn("gpugrad: this Triton's launcher signature differs; using its generic launch "
                  "path (slower per launch)", RuntimeWarning, stacklevel=3)


_bound = False


def _bind_triton_to_cupy() -> None:
    """Make Triton compile and load for CuPy's current device, and take CuPy's current stream
    (with PyTorch imported, Triton would ask PyTorch; without it, use the default stream)."""
    global _bound
    if _bound:
        return
    from triton.runtime import driver

    try:
        active = driver.active
    except (ImportError, RuntimeError):
        # A Triton whose CUDA driver needs PyTorch, and no PyTorch here: older releases raise
        # ImportError; 3.6 finds "0 active drivers" and raises RuntimeError.
        active = _torch_free_driver()
        driver.set_active(active)
    active.get_current_device = xp.cuda.runtime.getDevice
    active.set_current_device = xp.cuda.runtime.setDevice
    active.get_current_stream = lambda device=None: xp.cuda.get_current_stream().ptr
    _bound = True


def _torch_free_driver():
    """Triton's CUDA driver object built without its PyTorch-based constructor (older Triton
    releases import PyTorch there only to ask it for the device, capability and stream)."""
    from triton.backends.nvidia.driver import CudaDriver, CudaLauncher, CudaUtils

    active = CudaDriver.__new__(CudaDriver)
    active.utils = CudaUtils()
    active.launcher_cls = CudaLauncher

    def capability(device=None):
        props = xp.cuda.runtime.getDeviceProperties(
            xp.cuda.runtime.getDevice() if device is None else device)
        return props["major"], props["minor"]

    active.get_device_capability = capability
    return active


def _aot_compile(fn, args, num_warps: int):
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource, make_backend
    from triton.runtime.jit import create_function_from_signature

    arch = int(os.environ["GPUGRAD_TRITON_AOT"])
    target = GPUTarget("cuda", arch, 32)
    backend = make_backend(target)
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    bound, specialization, options = binder(*args, num_warps=num_warps)
    options, signature, constexprs, attrs = fn._pack_args(
        backend, {"num_warps": num_warps}, bound, specialization, options)
    src = ASTSource(fn, signature, constexprs, attrs)
    return triton.compile(src, target=target, options=options.__dict__)


# interpret ------------------------------------------------------------------------------
_interpreting = threading.Lock()  # Triton's interpreter runs one kernel at a time per process

# Set by gpugrad.compiler while it captures a step on the interpreter backend: called with each
# launch, it returns the arguments to launch with and records the launch for the replays.
launch_observer = None


def _interpret_launch(fn, grid, args):
    if launch_observer is not None:
        args = launch_observer(fn, grid, args)
    run_interpreted(fn, grid, args)


def run_interpreted(fn, grid, args) -> None:
    """Launch ``fn`` on ``grid`` under the interpreter (NumPy arrays as its pointers)."""
    bridged = []
    with _interpreting, warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", UserWarning)  # read-only (broadcast) NumPy views
        for a in args:
            bridged.append(_as_torch(torch, a) if isinstance(a, np.ndarray) else a)
        fn[tuple(grid)](*bridged)


_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)


def _as_torch(torch, arr):
    """A PyTorch view of a NumPy array (no copy). ``torch.from_numpy`` refuses ml_dtypes'
    bfloat16: its bits travel as int16 and are reinterpreted as ``torch.bfloat16``."""
    if arr.dtype == _BFLOAT16:
        return torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(arr)


def is_interpret() -> bool:
    return MODE == "interpret"


class Tuning(dict):
    """A kernel module's block sizes and warps (``TUNING``): the compiled values, or under the
    interpreter wider ones (each program costs far more than its width there). Both sets stay
    readable (``compiled``, ``interpreted``), so that tests can run the interpreter at the
    values a GPU uses, through the same code paths."""

    def __init__(self, compiled: dict, interpreted: dict | None = None):
        self.compiled = dict(compiled)
        self.interpreted = dict(compiled, **(interpreted or {}))
        super().__init__(self.interpreted if MODE == "interpret" else self.compiled)
