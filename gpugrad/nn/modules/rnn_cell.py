"""``RNNCell``, ``LSTMCell``, ``GRUCell``, as PyTorch's: one time step of the recurrent layers,
on a batch ``(N, input_size)`` or one unbatched ``(input_size,)`` input, with a zero state when
none is given. The step math is the layers' own (``rnn.py``), so a cell and a one-layer
``RNN``/``LSTM``/``GRU`` with the same weights agree."""

from __future__ import annotations

import math

from ... import factories
from ...tensor import Tensor
from .. import init
from ..parameter import Parameter
from .module import Module
from .rnn import gru_step, lstm_step, rnn_relu_step, rnn_tanh_step

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNCellBase(Module):
    """The parameters every cell holds: ``weight_ih`` (chunks * hidden, input), ``weight_hh``
    (chunks * hidden, hidden) and, with ``bias``, ``bias_ih`` and ``bias_hh`` (chunks *
    hidden,), all drawn from U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(factories.empty((gates, input_size), **kw))
        self.weight_hh = Parameter(factories.empty((gates, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(factories.empty((gates,), **kw))
            self.bias_hh = Parameter(factories.empty((gates,), **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _inputs(self, input: Tensor, hidden: list, labels: list):
        """``input`` as (N, input_size) and each state as (N, hidden_size) (zeros for None),
        after PyTorch's checks in PyTorch's order; and whether ``input`` was batched."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        for h, label in zip(hidden, labels):
            if h is not None and h.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {h.dim()}D "
                                 "instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[1]} expected "
                               f"{self.input_size}")
        states = []
        for i, h in enumerate(hidden):
            if h is None:
                h = factories.zeros((x.shape[0], self.hidden_size), dtype=x.dtype,
                                    device=x.device)
            elif not batched:
                h = h.unsqueeze(0)
            if h.shape[0] != x.shape[0]:
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{i} "
                                   f"batch size {h.shape[0]}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got "
                                   f"{h.shape[1]}, expected {self.hidden_size}")
            states.append(h)
        return x, batched, states


class RNNCell(RNNCellBase):
    """An Elman RNN cell: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (relu with
    ``nonlinearity="relu"``).

    Inputs: ``input`` (N, input_size) or (input_size,); ``hx`` of the same batch shape with
    hidden_size features (zeros if None). Returns ``h'``.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched, (h,) = self._inputs(input, [hx], ["hidden"])
        if self.nonlinearity == "tanh":
            step = rnn_tanh_step
        elif self.nonlinearity == "relu":
            step = rnn_relu_step
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        out = step(x, h, *self._weights())
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """A long short-term memory cell: input, forget, cell and output gates,
    ``c' = f * c + i * g`` and ``h' = o * tanh(c')``.

    Inputs: ``input`` (N, input_size) or (input_size,); ``hx`` a pair ``(h, c)`` (zeros if
    None). Returns ``(h', c')``.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        hidden = [None, None] if hx is None else list(hx)
        x, batched, state = self._inputs(input, hidden, ["hx[0]", "hx[1]"])
        h, c = lstm_step(x, state, *self._weights())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """A gated recurrent unit cell: reset gate ``r``, update gate ``z``,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` and ``h' = (1 - z) * n + z * h``.

    Inputs: ``input`` (N, input_size) or (input_size,); ``hx`` (zeros if None). Returns ``h'``.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched, (h,) = self._inputs(input, [hx], ["hidden"])
        out = gru_step(x, h, *self._weights())
        return out if batched else out.squeeze(0)
