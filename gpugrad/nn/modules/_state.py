"""The conversion part of ``nn.Module``: ``to``, ``cuda``, ``float``, ``share_memory``...
(mixed into ``Module``; ``state_dict`` and ``load_state_dict`` are in ``_state_dict.py``)."""

from __future__ import annotations

import warnings

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor


class ConversionMixin:
    """Moving and casting a module's parameters and buffers in place."""

    def share_memory(self):
        """``share_memory_()`` on every parameter, gradient and buffer (Hogwild training: the
        processes started after update one model); returns self."""
        return self._apply(lambda t: t.share_memory_())

    def _apply(self, convert, recurse: bool = True):
        """Replace the data of every parameter, gradient and buffer by ``convert(tensor)``:
        this module's and, with ``recurse``, its submodules'."""
        for module in self.modules() if recurse else (self,):
            with no_grad():
                for p in module._parameters.values():
                    if p is None:
                        continue
                    new = convert(p)
                    if new is not p:
                        _set_data(p, new)
                    if p.grad is not None:
                        new_grad = convert(p.grad)
                        if new_grad is not p.grad:
                            p.grad = new_grad.detach()
                for name, b in module._buffers.items():
                    if b is not None:
                        module._buffers[name] = convert(b)
        return self

    def to(self, *args, **kwargs):
        """Move and/or cast parameters and buffers in place: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``. Only floating-point and complex tensors change
        dtype (a complex one cast to a real dtype keeps its real part, with a warning);
        ``memory_format`` lays out the 4-D and 5-D ones (``channels_last``...)."""
        from ...ops.convert import _parse_to

        kwargs = dict(kwargs)
        memory_format = kwargs.pop("memory_format", None)
        dtype, device, _ = _parse_to(args, kwargs)
        if dtype is not None:
            from ... import _dtype as dt

            dtype = dt.to_dtype(dtype)
            if not (dtype.is_floating_point or dtype.is_complex):
                raise TypeError(
                    f"nn.Module.to only accepts floating point or complex dtypes, but got "
                    f"desired dtype={dtype}"
                )
            if dtype.is_complex:
                warnings.warn("Complex modules: gpugrad computes a limited set of ops on complex "
                              "tensors, so some modules may refuse complex parameters or "
                              "buffers (README, Differences)", stacklevel=2)

        def convert(t: Tensor) -> Tensor:
            layout = {"memory_format": memory_format} if memory_format is not None and \
                t.dim() in (4, 5) else {}
            cast = t.is_floating_point() or t.is_complex()
            return t.to(device=device, dtype=dtype if cast else None, **layout)

        return self._apply(convert)

    def cuda(self, device=None):
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def cpu(self):
        return self.to("cpu")

    def type(self, dst_type):
        return self._apply(lambda t: t.to(dst_type))

    def _cast_floats(self, dtype):
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self):
        from ... import _dtype as dt

        return self._cast_floats(dt.float32)

    def double(self):
        from ... import _dtype as dt

        return self._cast_floats(dt.float64)

    def half(self):
        from ... import _dtype as dt

        return self._cast_floats(dt.float16)

    def bfloat16(self):
        from ... import _dtype as dt

        return self._cast_floats(dt.bfloat16)


def _set_data(t: Tensor, new: Tensor) -> None:
    """Point ``t`` at ``new``'s memory (``param.data = new``), as a conversion does."""
    t.data = new
