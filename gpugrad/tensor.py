"""``Tensor``: an array on a device plus what autograd needs to know about it.

Its metadata queries (shape, dtype, device, strides...) are its base ``TensorMetadata``
(``_tensor_metadata.py``); most of its methods are attached at import from the ``ops/`` modules.
"""

from __future__ import annotations

import numpy as np

from . import _capture
from . import _dtype as dt
from ._format import type_name
from ._tensor_metadata import TensorMetadata
from .autograd import engine as _engine
from .autograd import grad_mode as _grad_mode
from .autograd import inference as _inference
from .autograd.views import GRAD_DROPPED
from .backend import cpu_backend, get_backend

__all__ = ["Tensor"]


_NDARRAY = np.ndarray
_GENERIC = np.generic
_new_object = object.__new__


# What gives a new tensor its version counter: the class itself, but while any thread is in
# inference mode a function that asks the thread's mode (autograd/inference.py).
_new_counter = _inference.VersionCounter


def _switch_counters(on: bool) -> None:
    global _new_counter
    _new_counter = _inference.counter_in_mode if on else _inference.VersionCounter


_grad_mode.counter_switch = _switch_counters

# PyTorch words the error of an integer tensor asked to require grad by where it was asked.
_REQUIRES_GRAD_ERRORS = {
    "method": "only Tensors of floating point dtype can require gradients",
    "attribute": "only Tensors of floating point and complex dtype can require gradients",
    "creation": "Only Tensors of floating point and complex dtype can require gradients",
}


def _check_assigned_grad(tensor, grad) -> None:
    """PyTorch's checks on ``tensor.grad = grad``, in its order: type, dtype, device, size."""
    if not isinstance(grad, Tensor):
        raise TypeError("assigned grad expected to be a Tensor or None but got grad of type "
                        f"{type_name(grad)}")
    if grad.dtype != tensor.dtype:
        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{dt.CPP_TYPE_NAMES[grad.dtype.name]}' "
            f"to a tensor with grad_dtype '{dt.SCALAR_TYPE_NAMES[tensor.dtype.name]}'. The "
            "gradient must match the tensor's grad_dtype (defaults to the tensor's dtype).")
    same_device = ". Please ensure that the gradient and the tensor are on the same device"
    if grad.device.type != tensor.device.type:
        raise RuntimeError(f"attempting to assign a gradient with device type "
                           f"'{grad.device.type}' to a tensor with device type "
                           f"'{tensor.device.type}'{same_device}")
    if grad._backend is not tensor._backend:
        raise RuntimeError(f"attempting to assign a gradient located on device with index "
                           f"'{grad.device.index}' to a tensor located on device with index "
                           f"'{tensor.device.index}'{same_device}")
    if tuple(grad.shape) != tensor._data.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(grad.shape)}' to a "
                           f"tensor of size '{list(tensor.shape)}'. Please ensure that the "
                           "gradient and the tensor are the same size")


class Tensor(TensorMetadata):
    """A multi-dimensional array that can record the ops applied to it for autograd.

    Build tensors with the factories (``gpugrad.tensor``, ``zeros``, ``randn``...). The legacy
    constructor ``Tensor(data)`` / ``Tensor(*sizes)`` makes a tensor of the default dtype on the
    CPU, as PyTorch.
    """

    # The hot fields are slots; rarely set ones are class defaults overridden per instance, so
    # that wrapping an array (done for every op output and gradient) sets only seven fields.
    # ``_base`` and ``_view_of`` are slots because every view sets them: as class defaults they
    # would give each view an instance dict.
    __slots__ = (
        "_data", "_backend", "_requires_grad", "grad_fn", "_vc", "_base", "_view_of",
        "__weakref__", "__dict__",
    )
    _grad = None
    _output_nr = 0
    _hooks = None
    _post_accumulate_hooks = None
    _retains_grad = False
    _views = None  # a root's registry of its live views (autograd/views.py)
    __array_priority__ = 1000  # NumPy defers binary operators to us

    def __init__(self, *args, device=None):
        from .legacy import legacy_data

        data = legacy_data(args, dt.get_default_dtype().np, "Tensor")
        backend = get_backend(device) if device is not None else cpu_backend()
        self._init(backend.asarray(data), backend)

    @classmethod
    def _make(cls, data, backend) -> Tensor:
        """Wrap an array without copying (the fast internal constructor)."""
        if data.__class__ is not _NDARRAY and isinstance(data, _GENERIC):
            data = np.asarray(data)  # NumPy ufuncs turn 0-d results into scalars
        t = _new_object(cls)
        t._data = data
        t._backend = backend
        t._requires_grad = False
        t.grad_fn = None
        t._vc = _new_counter()
        t._base = t._view_of = None
        return t

    def _init(self, data, backend) -> None:
        self._data = np.asarray(data) if isinstance(data, np.generic) else data
        self._backend = backend
        self._requires_grad = False
        self.grad_fn = None
        self._vc = _new_counter()
        self._base = self._view_of = None

    def _new(self, data) -> Tensor:
        """A new tensor on this tensor's backend."""
        return Tensor._make(data, self._backend)

    def _view(self, data) -> Tensor:
        """A tensor that views this one's memory: it shares the version counter and base."""
        t = _new_object(Tensor)
        t._data = data
        t._backend = self._backend
        t._requires_grad = False
        t.grad_fn = None
        t._vc = self._vc
        base = self._base
        t._base = self if base is None else base
        t._view_of = None  # (set by autograd/views.track for a differentiable view)
        return t

    def _alias(self) -> Tensor:
        return self._view(self._data)

    # -------------------------------------------------- internal API of gpugrad's nn and optim
    # Besides reading ``_data`` (the array: shapes and dtypes at no cost, the operands of the
    # backend's fused primitives) and ``_backend``, and making tensors with ``_new``, this is
    # all that nn and optim use of a tensor's inside.
    def _shared_as(self, cls: type) -> Tensor:
        """A ``cls`` instance (Parameter, Buffer, plain Tensor) on this tensor's memory and
        version counter, outside any graph."""
        t = cls._make(self._data, self._backend)
        t._vc = self._vc
        return t

    def _write_(self, values) -> None:
        """Write ``values`` (an array or number broadcastable to this tensor, cast to its dtype)
        into its memory, outside the graph, and count the write (the version counter)."""
        if self._vc.inference:
            _inference.refuse_write(self)
        self._data[...] = values
        self._vc.value += 1

    def _bump_version(self) -> None:
        """Count an in-place write a kernel made into this tensor's memory."""
        if self._vc.inference:
            _inference.refuse_write(self)
        self._vc.value += 1

    # (metadata: shape, size, dim, numel, dtype, device, stride...: ``TensorMetadata``)

    # ------------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return bool(self._requires_grad)  # (views.GRAD_DROPPED reads True, as in PyTorch)

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._set_requires_grad(value, "attribute")

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records ops on this leaf; returns self."""
        return self._set_requires_grad(requires_grad, "method")

    def _set_requires_grad(self, requires_grad: bool, asked_by: str) -> Tensor:
        """``requires_grad_``; ``asked_by`` ("method", "attribute" or "creation": a factory's
        or Parameter's argument) picks PyTorch's wording of the dtype error."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach()."
                )
            return self
        if self._requires_grad is GRAD_DROPPED:  # PyTorch leaves such a view as it is
            return self
        if requires_grad and self._data.dtype.kind not in dt.GRAD_KINDS:
            raise RuntimeError(_REQUIRES_GRAD_ERRORS[asked_by])
        if requires_grad and self._vc.inference and not _grad_mode.state.inference:
            raise RuntimeError(_inference.REQUIRES_GRAD)
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            _check_assigned_grad(self, value)
        if _capture.recorder is not None:  # a step being captured: replay this assignment
            _capture.grad_assigned(self, value)
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        if _capture.recorder is not None:
            _capture.grad_assigned(self, None)
        self._grad = None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Populate ``.grad`` of this non-leaf during backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self.grad_fn._retain(self._output_nr, self)
        self._retains_grad = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._add_pre_hook(self._output_nr, hook)
        from .autograd.node import RemovableHandle

        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` on this leaf once backward has accumulated its gradient into
        ``.grad`` (while the rest of backward may still run). Returns a handle with
        ``remove()``."""
        from .autograd import leaf_hooks

        return leaf_hooks.register(self, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Compute the gradient of this tensor w.r.t. graph leaves, accumulated into ``.grad``."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A tensor that shares this one's data but is not part of any graph."""
        return self._view(self._data)

    def detach_(self) -> Tensor:
        """Detach this tensor from the graph in place, making it a leaf."""
        if self._base is not None and self.grad_fn is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead."
            )
        self.grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    @property
    def data(self) -> Tensor:
        """This tensor's data, detached from the graph (shares memory). Unlike ``detach()``'s,
        its version counter is its own, as in PyTorch: writing through ``.data`` (an EMA's
        ``copy_``, a ``clamp_``) between forward and backward is not an in-place change that
        autograd refuses, and backward then reads the new values."""
        alias = self._view(self._data)
        alias._vc = type(self._vc)()  # (of its kind: an inference tensor's stays one)
        return alias

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._backend = value._backend

    # --------------------------------------------- Python protocols (conversions: ops/convert.py)
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))  # one node for all rows, as PyTorch's UnbindBackward0

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from ._format import tensor_repr

        if _capture.recorder is not None:
            _capture.host_access("printing a tensor")
        return tensor_repr(self)

    def __format__(self, format_spec: str) -> str:
        from ._format import tensor_format

        if _capture.recorder is not None:
            _capture.host_access("printing a tensor")
        return tensor_format(self, format_spec)

    def __reduce_ex__(self, protocol):
        host = self._backend.to_numpy(self._data)
        return (_rebuild, (host, str(self.device), bool(self._requires_grad)))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        from .ops.memory import deepcopied

        t = deepcopied(self, memo)
        t._requires_grad = bool(self._requires_grad)  # (a copy is a leaf of its own)
        if self._grad is not None:
            t._grad = Tensor._make(self._grad._data.copy(), self._backend)
        memo[id(self)] = t
        return t


def _rebuild(arr, dev, requires_grad):
    t = Tensor._make(get_backend(dev).asarray(arr), get_backend(dev))
    t._requires_grad = requires_grad
    return t


_engine.bind(Tensor)
