"""``RNN``, ``LSTM``, ``GRU``, as PyTorch's: stacked layers, optional bidirectionality, dropout
between layers, batch-first or sequence-first or unbatched inputs, initial states. Each step of
``RNN`` and ``GRU`` is made of differentiable ops (linear, sigmoid, tanh), so gradients come
from theirs; each layer and direction of ``LSTM`` is one op (``ops/rnn.py``) where the dtypes
allow (a bidirectional layer's two run their steps together), else the same per-step
composition."""

from __future__ import annotations

import math

from ... import factories
from ..._warnings import warn_user
from ...amp.state import is_autocast_enabled
from ...ops.join import cat, stack
from ...ops.rnn import lstm_bidirectional, lstm_layer, lstm_projected
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU"]


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


_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    """The base of ``RNN``, ``LSTM`` and ``GRU``: the weights of every layer and direction
    (``weight_ih_l{k}``, ``weight_hh_l{k}``, biases, ``_reverse``, LSTM's ``weight_hr_l{k}``)
    for ``mode`` (``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"``), and the loop over
    layers, directions and time steps."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size and not self._lstm:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size and num_layers must be greater than 0")
        if dropout > 0 and num_layers == 1:
            warn_user("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        kw = {"device": device, "dtype": dtype}
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        out_size = proj_size or hidden_size  # what h holds
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = {f"weight_ih_l{layer}{suffix}": (gate_size, layer_input),
                          f"weight_hh_l{layer}{suffix}": (gate_size, out_size)}
                if bias:
                    shapes.update({f"bias_ih_l{layer}{suffix}": (gate_size,),
                                   f"bias_hh_l{layer}{suffix}": (gate_size,)})
                if proj_size:
                    shapes[f"weight_hr_l{layer}{suffix}"] = (proj_size, hidden_size)
                for name, shape in shapes.items():
                    self.register_parameter(name, Parameter(factories.empty(shape, **kw)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    @property
    def _lstm(self) -> bool:
        return self.mode == "LSTM"

    @property
    def _flat_weights(self) -> list:
        """Every weight and bias, in the order PyTorch lists them."""
        return [self._parameters[name] for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The weights and biases of each layer and direction, one list each."""
        per_cell = len(self._flat_weights_names) // (self.num_layers *
                                                     (2 if self.bidirectional else 1))
        weights = self._flat_weights
        return [weights[i:i + per_cell] for i in range(0, len(weights), per_cell)]

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights into one buffer for cuDNN; gpugrad's loop
        reads them where they are."""

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _cell_weights(self, layer: int, reverse: bool):
        suffix = f"l{layer}{'_reverse' if reverse else ''}"
        get = self._parameters.get
        return (get(f"weight_ih_{suffix}"), get(f"weight_hh_{suffix}"), get(f"bias_ih_{suffix}"),
                get(f"bias_hh_{suffix}"), get(f"weight_hr_{suffix}"))

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        batched = input.dim() == 3
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D instead")
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (T, N, features) from here on
        self._check_input(input, x.shape[0])
        states = self._initial_states(hx, x.shape[1], x, batched)
        x, final = self._layers(x, states, self._run_layer)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if not batched:
            x = x.squeeze(1)
            final = tuple(f.squeeze(1) for f in final) if self._lstm else final.squeeze(1)
        return x, final

    def _check_input(self, input: Tensor, steps: int) -> None:
        weight = self._parameters["weight_ih_l0"]
        if input.dtype != weight.dtype and not is_autocast_enabled(input.device.type):
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({input.dtype})")
        if steps == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _layers(self, x, states, run_layer):
        """Every layer over ``x``, each by ``run_layer(x, states, weights)`` with a state and
        the weights per direction, which returns ``(output, final state)`` per direction;
        returns the last layer's output and the final states."""
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            at = range(layer * directions, (layer + 1) * directions)
            results = run_layer(
                x, [(states[0][i], states[1][i]) if self._lstm else states[i] for i in at],
                [self._cell_weights(layer, d == 1) for d in range(directions)])
            outputs = [out for out, _ in results]
            finals.extend(state for _, state in results)
            x = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        if self._lstm:
            return x, (stack([h for h, _ in finals]), stack([c for _, c in finals]))
        return x, stack(finals)

    def _run_layer(self, x, states, weights):
        """One layer's directions over ``x``, one after the other."""
        return [self._run_direction(x, state, w, reverse=d == 1)
                for d, (state, w) in enumerate(zip(states, weights))]

    def _run_direction(self, x, state, weights, reverse: bool):
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        projected = F.linear(x, w_ih, b_ih)  # every time step's input part in one matmul
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in steps:
            state = self._step(projected[t], state, w_hh, b_hh, w_hr)
            outputs[t] = state[0] if self._lstm else state
        return stack(outputs), state

    # ------------------------------------------------------------- packed sequences
    def _forward_packed(self, packed, hx):
        """A ``PackedSequence`` in, one out: each time step runs on the sequences still
        running (``batch_sizes[t]`` of them, longest first); the others keep their state."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        self._check_input(data, len(batch_sizes))
        sizes = [int(n) for n in batch_sizes.tolist()]
        if hx is not None and sorted_indices is not None:  # the states in the packed order
            hx = tuple(h.index_select(1, sorted_indices) for h in hx) if self._lstm else \
                hx.index_select(1, sorted_indices)
        states = self._initial_states(hx, sizes[0], data, True)
        out, final = self._layers(
            data, states, lambda x, layer_states, layer_weights: [
                self._run_packed(x, sizes, state, w, reverse=d == 1)
                for d, (state, w) in enumerate(zip(layer_states, layer_weights))])
        if unsorted_indices is not None:
            final = tuple(f.index_select(1, unsorted_indices) for f in final) if self._lstm \
                else final.index_select(1, unsorted_indices)
        return PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices), final

    def _run_packed(self, data, sizes, state, weights, reverse: bool):
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        projected = F.linear(data, w_ih, b_ih).split(sizes)  # one chunk per time step
        outputs = [None] * len(sizes)
        for t in (reversed(range(len(sizes))) if reverse else range(len(sizes))):
            n = sizes[t]
            parts = state if self._lstm else (state,)
            running = tuple(p[:n] for p in parts)
            stepped = self._step(projected[t], running if self._lstm else running[0], w_hh,
                                 b_hh, w_hr)
            stepped = stepped if self._lstm else (stepped,)
            outputs[t] = stepped[0]
            if n < parts[0].shape[0]:  # the sequences not running keep their state
                stepped = tuple(cat([new, old[n:]]) for new, old in zip(stepped, parts))
            state = stepped if self._lstm else stepped[0]
        return cat(outputs), state

    def _initial_states(self, hx, batch: int, x, batched: bool):
        layers = self.num_layers * (2 if self.bidirectional else 1)
        shape = (layers, batch, self.proj_size or self.hidden_size)
        cell = (layers, batch, self.hidden_size)
        if hx is None:
            zeros = factories.zeros(shape, dtype=x.dtype, device=x.device)
            if not self._lstm:
                return zeros
            return zeros, (zeros if cell == shape else factories.zeros(
                cell, dtype=x.dtype, device=x.device))
        parts = hx if self._lstm else (hx,)
        if self._lstm and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
        parts = tuple(p if batched else p.unsqueeze(1) for p in parts)
        for k, (p, want) in enumerate(zip(parts, (shape, cell))):
            if tuple(p.shape) != want:
                which = f"hidden[{k}]" if self._lstm else "hidden"
                raise RuntimeError(f"Expected {which} size {want}, got {list(p.shape)}")
        return parts if self._lstm else parts[0]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
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


class RNN(RNNBase):
    """Elman RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu with
    ``nonlinearity="relu"``). Arguments as PyTorch's: ``input_size, hidden_size,
    num_layers=1, nonlinearity="tanh", bias=True, batch_first=False, dropout=0.0,
    bidirectional=False``."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:  # nonlinearity comes fourth, before bias
            nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)

    def _step(self, x_proj, h, w_hh, b_hh, w_hr=None):
        step = rnn_tanh_projected if self.nonlinearity == "tanh" else rnn_relu_projected
        return step(x_proj, h, w_hh, b_hh)


class LSTM(RNNBase):
    """Long short-term memory: input, forget, cell and output gates; returns
    ``(output, (h_n, c_n))``."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def _run_layer(self, x, states, weights):
        if len(states) == 1 or weights[0][4] is not None:  # (projections: composed steps)
            return super()._run_layer(x, states, weights)
        results = lstm_bidirectional(x, states, [w[:4] for w in weights], linear=F.linear)
        return [(out, (h, c)) for out, h, c in results]

    def _run_direction(self, x, state, weights, reverse: bool):
        if weights[4] is not None:  # projections: the composed steps
            return super()._run_direction(x, state, weights, reverse)
        out, h, c = lstm_layer(x, *state, *weights[:4], reverse=reverse, linear=F.linear)
        return out, (h, c)

    def _step(self, x_proj, state, w_hh, b_hh, w_hr=None):
        h, c = lstm_projected(x_proj, state, w_hh, b_hh, F.linear)
        return (h if w_hr is None else F.linear(h, w_hr)), c


class GRU(RNNBase):
    """Gated recurrent unit: reset and update gates; returns ``(output, h_n)``."""

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)

    def _step(self, x_proj, h, w_hh, b_hh, w_hr=None):
        return gru_projected(x_proj, h, w_hh, b_hh)
