"""``nn.Parameter``: a tensor that a ``Module`` registers as one of its parameters."""

from __future__ import annotations

from ..tensor import Tensor, _rebuild

__all__ = ["Parameter", "Buffer"]


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
        p.requires_grad_(requires_grad)
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
        p = Parameter(self._new(self._data.copy()), self.requires_grad)
        if self.grad is not None:
            p.grad = self._new(self.grad._data.copy())
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
