"""PyTorch's top-level recurrent cells (``torch.lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``,
``rnn_relu_cell``): one step on a batch ``(N, input_size)`` with the weights as arguments, the
step math of ``nn.LSTMCell`` and its kin (``nn/modules/rnn.py``), and PyTorch's checks."""

from __future__ import annotations

from .nn.modules.rnn import gru_step, lstm_step, rnn_relu_step, rnn_tanh_step
from .ops._util import Tensor, check_tensor

__all__ = ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"]


def _check_cell_input(input: Tensor, w_ih: Tensor) -> None:
    check_tensor(input, "cell", "input")
    if input.dim() < 2:  # (PyTorch reads dim 1 of the input)
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got "
                         "1)")
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected "
                           f"{w_ih.shape[1]}")


def lstm_cell(input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None):
    """One LSTM step on a batch ``(N, input_size)`` from ``hx = (h, c)``; returns
    ``(h', c')`` (``nn.LSTMCell``'s math with the weights given)."""
    if not isinstance(hx, (tuple, list)):
        raise TypeError("lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not "
                        f"{type(hx).__name__}")
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    _check_cell_input(input, w_ih)
    return lstm_step(input, list(hx), w_ih, w_hh, b_ih, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """One GRU step on a batch ``(N, input_size)`` (``nn.GRUCell``'s math)."""
    _check_cell_input(input, w_ih)
    return gru_step(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman step with tanh on a batch ``(N, input_size)`` (``nn.RNNCell``'s math)."""
    _check_cell_input(input, w_ih)
    return rnn_tanh_step(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman step with relu on a batch ``(N, input_size)``."""
    _check_cell_input(input, w_ih)
    return rnn_relu_step(input, hx, w_ih, w_hh, b_ih, b_hh)
