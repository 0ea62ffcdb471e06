"""``nn.Parameter``: a tensor that a ``Module`` registers as one of its parameters."""

from __future__ import annotations

from .. import _dtype as dt
from ..tensor import Tensor, _rebuild

__all__ = ["Parameter", "UninitializedParameter", "is_lazy", "Buffer", "UninitializedBuffer",
           "UninitializedTensorMixin"]


class Parameter(Tensor):
    """A kind of Tensor that is a module parameter.

    Assigned as an attribute of a ``Module``, it is added to the module's ``parameters()``.
    It shares memory with ``data`` and requires grad by default. Ops on a Parameter return
    plain Tensors.

    Args:
        data (Tensor): the parameter's values (an empty float tensor if None).
        requires_grad (bool): whether autograd records ops on it. Default: True.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..factories import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        p = data._shared_as(cls)  # shares memory (and so the version counter) with ``data``
        p._set_requires_grad(requires_grad, "creation")
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        pass  # all done in __new__ (Tensor.__init__ would build a new legacy tensor)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        data = self._backend.to_numpy(self._data)
        return (_rebuild_parameter, (data, str(self.device), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        # (its data and requires_grad only: PyTorch's Parameter leaves .grad behind, so a target
        # network deep-copied from a trained one starts without gradients)
        p = Parameter(self._new(self._data.copy()), self.requires_grad)
        memo[id(self)] = p
        return p


def _rebuild_parameter(data, device, requires_grad):
    return Parameter(_rebuild(data, device, False), requires_grad)


class Buffer(Tensor):
    """Marks a tensor assigned to a ``Module`` attribute as a buffer (``nn.Buffer``).

    Args:
        data (Tensor): the buffer's values.
        persistent (bool): whether it is part of the module's ``state_dict``. Default: True.
    """

    def __new__(cls, data: Tensor, *, persistent: bool = True):
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer data must be a Tensor, got {type(data).__name__}")
        b = data._shared_as(cls)
        b.persistent = persistent
        return b

    def __init__(self, data: Tensor, *, persistent: bool = True):
        pass


_RAW = Tensor._data  # the slot that holds a tensor's array, past the mixin's guard below


class UninitializedTensorMixin:
    """What ``UninitializedParameter`` and ``UninitializedBuffer`` share: a tensor whose shape
    is not known yet. It keeps a dtype, a device and ``requires_grad``, can be moved and cast,
    and becomes a plain ``cls_to_become`` by ``materialize(shape)``; any op raises
    ``ValueError`` and ``shape`` raises ``RuntimeError``, as in PyTorch."""

    __slots__ = ()
    cls_to_become: type

    @property
    def _data(self):  # every op reads its inputs' arrays through here
        raise ValueError(
            f"Attempted to use an uninitialized parameter in an operation. This error happens "
            f"when you are using a `LazyModule` or explicitly manipulating "
            f"`gpugrad.nn.parameter.{type(self).__name__}` objects. When using LazyModules Call "
            f"`forward` with a dummy batch to initialize the parameters before calling gpugrad "
            f"functions")

    @_data.setter
    def _data(self, value) -> None:
        _RAW.__set__(self, value)

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give this tensor memory of ``shape`` (uninitialized values) on its device and dtype,
        or on ``device`` / ``dtype``; it becomes a ``cls_to_become`` (Parameter or Tensor)."""
        from .. import factories
        from ..autograd.grad_mode import no_grad

        with no_grad():
            new = factories.empty(tuple(shape), device=self.device if device is None else device,
                                  dtype=self.dtype if dtype is None else dtype)
        _RAW.__set__(self, new._data)
        self._backend = new._backend
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    def size(self, dim: int | None = None):
        if dim is not None:
            return super().size(dim)  # an op on the data: ValueError
        from ..size import Size

        return Size((0,))

    @property
    def dtype(self):
        return dt.from_numpy_dtype(_RAW.__get__(self).dtype)

    def is_floating_point(self) -> bool:
        return _RAW.__get__(self).dtype.kind in dt.FLOAT_KINDS

    def requires_grad_(self, requires_grad: bool = True):
        lazy_cls = type(self)
        self.__class__ = self.cls_to_become  # for Tensor's own check of the (empty) data
        try:
            Tensor.requires_grad_(self, requires_grad)
        finally:
            self.__class__ = lazy_cls
        return self

    def get_device(self) -> int:
        return -1 if self.device.type == "cpu" else (self.device.index or 0)

    @property
    def data(self) -> Tensor:
        return self._new(_RAW.__get__(self))

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        _RAW.__set__(self, _RAW.__get__(value))
        self._backend = value._backend

    def to(self, *args, **kwargs):
        """The same uninitialized tensor with another dtype and/or device (self if neither
        changes)."""
        from .. import factories
        from ..ops.convert import _parse_to

        kwargs = dict(kwargs)
        kwargs.pop("memory_format", None)  # (no data yet to lay out)
        dtype, device, copy = _parse_to(args, kwargs)
        dtype = self.dtype if dtype is None else dt.to_dtype(dtype)
        device = self.device if device is None else device
        empty = factories.empty(0, dtype=dtype, device=device)
        if empty._backend is self._backend and dtype == self.dtype and not copy:
            return self
        return self._like(empty)

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None):
        return self.to("cuda" if device is None else
                       f"cuda:{device}" if isinstance(device, int) else device)

    def half(self, memory_format=None):
        return self.to(dt.float16)

    def float(self, memory_format=None):
        return self.to(dt.float32)

    def double(self, memory_format=None):
        return self.to(dt.float64)

    def bfloat16(self, memory_format=None):
        return self.to(dt.bfloat16)

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, protocol):
        return (type(self), (self.requires_grad,))

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = self._like(self)
        return memo[id(self)]


def is_lazy(param) -> bool:
    """Whether ``param`` is an ``UninitializedParameter`` or ``UninitializedBuffer``."""
    return isinstance(param, UninitializedTensorMixin)


def _uninitialized(cls, requires_grad: bool, device, dtype):
    from .. import factories

    t = factories.empty(0, device=device, dtype=dtype)._shared_as(cls)
    return t.requires_grad_(requires_grad)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A ``Parameter`` whose shape is not known yet (a lazy module's, until its first call).

    It holds no data: only moving it, casting it and ``materialize`` work. ``device`` and
    ``dtype`` are those it will be materialized with.
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return _uninitialized(cls, requires_grad, device, dtype)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass

    def _like(self, other):
        return _uninitialized(type(self), self.requires_grad, other.device, other.dtype)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy module's, until its first call).

    It holds no data: only moving it, casting it and ``materialize`` work.
    """

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        t = _uninitialized(cls, requires_grad, device, dtype)
        t.persistent = persistent
        return t

    def __init__(self, requires_grad: bool = False, device=None, dtype=None,
                 persistent: bool = True):
        pass

    def _like(self, other):
        t = _uninitialized(type(self), self.requires_grad, other.device, other.dtype)
        t.persistent = self.persistent
        return t
