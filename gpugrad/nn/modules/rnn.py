"""``RNN``, ``LSTM``, ``GRU``, as PyTorch's: stacked layers, optional bidirectionality, dropout
between layers, batch-first or sequence-first or unbatched inputs, initial states. Each step of
``RNN`` and ``GRU`` is made of differentiable ops (linear, sigmoid, tanh), so gradients come
from theirs; each layer and direction of ``LSTM`` is one op (``ops/rnn.py``) where the dtypes
allow, else the same per-step composition."""

from __future__ import annotations

import math

from ... import factories
from ...amp.state import is_autocast_enabled
from ...ops.join import cat, stack
from ...ops.rnn import lstm_layer, lstm_projected
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["RNN", "LSTM", "GRU"]


# One time step of each layer kind, shared with the cells (rnn_cell.py): x (N, input), states
# (N, hidden), weights as PyTorch lays them out (the gates stacked along the rows). Each step is
# written on the input's projection ``x @ w_ih.T + b_ih`` (``*_projected``), which the layers
# compute for all time steps in one matmul before they walk the sequence. The LSTM's step is
# ``ops.rnn.lstm_projected``, which the composed LSTM layer there uses too.
def rnn_tanh_projected(x_proj, h, w_hh, b_hh):
    return (x_proj + F.linear(h, w_hh, b_hh)).tanh()


def rnn_relu_projected(x_proj, h, w_hh, b_hh):
    return (x_proj + F.linear(h, w_hh, b_hh)).relu()


def gru_projected(x_proj, h, w_hh, b_hh):
    x_r, x_z, x_n = x_proj.chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h


def rnn_tanh_step(x, h, w_ih, w_hh, b_ih, b_hh):
    return rnn_tanh_projected(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)


def rnn_relu_step(x, h, w_ih, w_hh, b_ih, b_hh):
    return rnn_relu_projected(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)


def lstm_step(x, state, w_ih, w_hh, b_ih, b_hh):
    return lstm_projected(F.linear(x, w_ih, b_ih), state, w_hh, b_hh, F.linear)


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    return gru_projected(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)


class _RNNBase(Module):
    _gates = 1
    _lstm = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        if proj_size:
            raise NotImplementedError(f"{type(self).__name__}: proj_size is not supported")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size and num_layers must be greater than 0")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, 0
        kw = {"device": device, "dtype": dtype}
        gate_size = self._gates * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = {f"weight_ih_l{layer}{suffix}": (gate_size, layer_input),
                          f"weight_hh_l{layer}{suffix}": (gate_size, hidden_size)}
                if bias:
                    shapes.update({f"bias_ih_l{layer}{suffix}": (gate_size,),
                                   f"bias_hh_l{layer}{suffix}": (gate_size,)})
                for name, shape in shapes.items():
                    self.register_parameter(name, Parameter(factories.empty(shape, **kw)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _cell_weights(self, layer: int, reverse: bool):
        suffix = f"l{layer}{'_reverse' if reverse else ''}"
        get = self._parameters.get
        return (get(f"weight_ih_{suffix}"), get(f"weight_hh_{suffix}"), get(f"bias_ih_{suffix}"),
                get(f"bias_hh_{suffix}"))

    def forward(self, input: Tensor, hx=None):
        batched = input.dim() == 3
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D instead")
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (T, N, features) from here on
        weight = self._parameters["weight_ih_l0"]
        if input.dtype != weight.dtype and not is_autocast_enabled(input.device.type):
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({input.dtype})")
        if x.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        states = self._initial_states(hx, x, batched)
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for d in range(directions):
                i = layer * directions + d
                state = (states[0][i], states[1][i]) if self._lstm else states[i]
                out, state = self._run_direction(x, state, self._cell_weights(layer, d == 1),
                                                 reverse=d == 1)
                outputs.append(out)
                finals.append(state)
            x = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        if self._lstm:
            final = (stack([h for h, _ in finals]), stack([c for _, c in finals]))
        else:
            final = stack(finals)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if not batched:
            x = x.squeeze(1)
            final = tuple(f.squeeze(1) for f in final) if self._lstm else final.squeeze(1)
        return x, final

    def _run_direction(self, x, state, weights, reverse: bool):
        w_ih, w_hh, b_ih, b_hh = weights
        projected = F.linear(x, w_ih, b_ih)  # every time step's input part in one matmul
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in steps:
            state = self._step(projected[t], state, w_hh, b_hh)
            outputs[t] = state
        return stack(outputs), state

    def _initial_states(self, hx, x, batched: bool):
        shape = (self.num_layers * (2 if self.bidirectional else 1), x.shape[1],
                 self.hidden_size)
        if hx is None:
            zeros = factories.zeros(shape, dtype=x.dtype, device=x.device)
            return (zeros, zeros) if self._lstm else zeros
        parts = hx if self._lstm else (hx,)
        if self._lstm and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
        parts = tuple(p if batched else p.unsqueeze(1) for p in parts)
        for p in parts:
            if tuple(p.shape) != shape:
                raise RuntimeError(f"Expected hidden size {shape}, got {tuple(p.shape)}")
        return parts if self._lstm else parts[0]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_RNNBase):
    """Elman RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu with
    ``nonlinearity="relu"``)."""

    def __init__(self, *args, nonlinearity: str = "tanh", **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(*args, **kwargs)

    def _step(self, x_proj, h, w_hh, b_hh):
        step = rnn_tanh_projected if self.nonlinearity == "tanh" else rnn_relu_projected
        return step(x_proj, h, w_hh, b_hh)


class LSTM(_RNNBase):
    """Long short-term memory: input, forget, cell and output gates; returns
    ``(output, (h_n, c_n))``."""

    _gates, _lstm = 4, True

    def _run_direction(self, x, state, weights, reverse: bool):
        out, h, c = lstm_layer(x, *state, *weights, reverse=reverse, linear=F.linear)
        return out, (h, c)


class GRU(_RNNBase):
    """Gated recurrent unit: reset and update gates; returns ``(output, h_n)``."""

    _gates = 3

    def _step(self, x_proj, h, w_hh, b_hh):
        return gru_projected(x_proj, h, w_hh, b_hh)
