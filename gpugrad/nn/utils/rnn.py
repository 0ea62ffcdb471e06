"""Variable-length batches for recurrent layers: ``pad_sequence``, ``PackedSequence`` and the
functions that pack and unpack it, as ``torch.nn.utils.rnn``.

A packed batch keeps only the real time steps: ``data`` holds, time step after time step, the
rows of the sequences still running (longest first), and ``batch_sizes[t]`` says how many
there are at step ``t``. Packing and unpacking are each one differentiable ``index_select``
with positions computed here on the host, so gradients reach the padded input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import factories
from ...ops._util import Tensor, check_tensor
from ...ops.indexing import index_select
from ...ops.join import cat, stack

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


class _Fields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_Fields):
    """A batch of sequences of different lengths, packed (see the module docstring). Made by
    ``pack_padded_sequence`` or ``pack_sequence``; recurrent layers take it as input."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data`` converted by ``Tensor.to``; the indices follow it to its device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        device = data.device
        moved = [None if t is None else t.to(device) for t in
                 (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *moved)

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self.to(self.data.cuda(*args, **kwargs).device)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def double(self):
        return self._with_data(self.data.double())

    def float(self):
        return self._with_data(self.data.float())

    def half(self):
        return self._with_data(self.data.half())

    def long(self):
        return self._with_data(self.data.long())

    def int(self):
        return self._with_data(self.data.int())

    def short(self):
        return self._with_data(self.data.short())

    def char(self):
        return self._with_data(self.data.char())

    def byte(self):
        return self._with_data(self.data.byte())

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False

    def pin_memory(self) -> PackedSequence:
        return self


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    order = np.asarray(permutation.cpu().numpy(), dtype=np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return factories.tensor(inverse, device=permutation.device)


def _lengths_array(lengths, batch: int) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D tensor, but got a "
                               f"{lengths.dim()}D tensor")
        arr = np.asarray(lengths.cpu().numpy())
    else:
        arr = np.asarray(list(lengths))
    if arr.dtype.kind == "f":  # PyTorch converts them to int64 (truncating)
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iub":
        raise TypeError(f"lengths must hold integers, got {arr.dtype}")
    if arr.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{arr.size} (batch_size={batch})")
    return arr.astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences whose
    lengths are ``lengths``; ``enforce_sorted=False`` accepts any order (the packed batch is
    sorted longest first and remembers how to undo it)."""
    check_tensor(input, "pack_padded_sequence")
    if input.dim() < 2:
        raise ValueError(f"pack_padded_sequence: expected an input of at least 2 dims (time and "
                         f"batch), got {input.dim()}")
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    arr = _lengths_array(lengths, batch)
    if enforce_sorted:
        if np.any(arr[1:] > arr[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
        order = None
    else:
        order = np.argsort(-arr, kind="stable")
        arr = arr[order]
    if arr.size and arr.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if arr.size and arr.max() > steps:
        raise RuntimeError(f"pack_padded_sequence: a length of {int(arr.max())} is longer than "
                           f"the input's {steps} time steps")
    batch_sizes = (arr[None, :] > np.arange(arr.max() if arr.size else 0)[:, None]).sum(axis=1)
    columns = np.arange(batch) if order is None else order
    # time-major: step t keeps the first batch_sizes[t] (sorted) sequences
    rows = np.concatenate([t * batch + columns[:n] for t, n in enumerate(batch_sizes)] or
                          [np.zeros(0, np.int64)])
    flat = input.reshape(steps * batch, *input.shape[2:])
    data = index_select(flat, 0, _index(rows, input))
    sorted_indices = None if order is None else _index(order, input)
    sizes = factories.tensor(batch_sizes.astype(np.int64), device="cpu")
    return PackedSequence(data, sizes, sorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """The padded batch (T, B, *) (or (B, T, *)) and the lengths (int64, in the original
    order) of a packed batch; ``total_length`` pads to that many steps."""
    data, batch_sizes = sequence.data, np.asarray(sequence.batch_sizes.cpu().numpy())
    steps, batch = len(batch_sizes), int(batch_sizes[0]) if len(batch_sizes) else 0
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}")
        steps = total_length
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)  # sorted order
    unsorted = sequence.unsorted_indices
    order = np.arange(batch) if unsorted is None else np.asarray(unsorted.cpu().numpy())
    # position in data of (t, sorted b), or the padding row appended after data
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)
    pad_row = int(batch_sizes.sum())
    where = np.full((steps, batch), pad_row, dtype=np.int64)
    for t, n in enumerate(batch_sizes):
        where[t, :n] = starts[t] + np.arange(n)
    where = where[:, order]  # columns back in the caller's order
    if batch_first:
        where = where.T
    padded_rows = cat([data, data.new_full((1, *data.shape[1:]), padding_value)])
    out = index_select(padded_rows, 0, _index(where.reshape(-1), data))
    out = out.reshape(*where.shape, *data.shape[1:])
    return out, factories.tensor(lengths[order].astype(np.int64), device="cpu")


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padding each
    on the right (or the left) with ``padding_value``; the result has the first sequence's
    dtype."""
    if not isinstance(padding_side, str):
        raise TypeError(f"pad_sequence(): argument 'padding_side' must be str, not "
                        f"{type(padding_side).__name__}")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    dtype, trailing = sequences[0].dtype, tuple(sequences[0].shape[1:])
    padded = []
    for s in sequences:
        s = s if s.dtype is dtype else s.to(dtype)
        if tuple(s.shape[1:]) != trailing:  # copied into the first's shape, as PyTorch's
            s = s.new_empty((s.shape[0], *trailing)).copy_(s)  # (broadcast, or its error)
        fill = s.new_full((longest - s.shape[0], *s.shape[1:]), padding_value)
        padded.append(cat([s, fill] if padding_side == "right" else [fill, s]))
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False) -> list:
    """The sequences of a padded batch, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    arr = _lengths_array(lengths, padded_sequences.shape[0])
    return [padded_sequences[b, :int(n)] for b, n in enumerate(arr)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """``pack_padded_sequence`` of ``pad_sequence(sequences)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The sequences of a packed batch, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def _index(positions, like: Tensor) -> Tensor:
    """int64 positions as a tensor on ``like``'s device."""
    return like._new(like._backend.xp.asarray(np.asarray(positions, dtype=np.int64)))
