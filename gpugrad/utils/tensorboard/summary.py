"""Summaries (encoded ``Summary`` messages) for scalars, histograms, text and whole tensors,
built from values as PyTorch's ``torch.utils.tensorboard.summary`` builds them."""

from __future__ import annotations

import numpy as np

from . import messages
from .convert import make_np


def tag_bytes(tag) -> bytes:
    """A tag as the UTF-8 bytes of a protobuf string field (``None`` is the empty tag, as
    protobuf takes it in PyTorch's writer)."""
    if tag is None:
        return b""
    if isinstance(tag, str):
        return tag.encode("utf-8")
    if isinstance(tag, bytes):
        return tag
    raise TypeError(f"tag must be a str, not {type(tag).__name__}")


def scalar(tag, value, new_style: bool = False, double_precision: bool = False) -> bytes:
    """One scalar: a float32 ``simple_value``, or (``new_style``) a float32 or float64 tensor
    for the scalars plugin."""
    array = make_np(value).squeeze()
    if array.ndim != 0:
        raise AssertionError(
            "Tensor should contain one element (0 dimensions). "
            f"Was given size: {array.size} and {array.ndim} dimensions."
        )
    number = float(array)
    if not new_style:
        return messages.summary(messages.summary_value(tag_bytes(tag), simple_value=number))
    if double_precision:
        tensor = messages.tensor_proto(messages.DT_DOUBLE, double_val=[number])
    else:
        tensor = messages.tensor_proto(messages.DT_FLOAT, float_val=[number])
    metadata = messages.summary_metadata("scalars")
    return messages.summary(
        messages.summary_value(tag_bytes(tag), metadata=metadata, tensor=tensor)
    )


def tensorflow_bins() -> list[float]:
    """TensorFlow's default histogram bin edges: ±1e-12 growing by 10% up to 1e20, and 0."""
    positive = []
    edge = 1e-12
    while edge < 1e20:
        positive.append(edge)
        edge *= 1.1
    return [-edge for edge in reversed(positive)] + [0] + positive


def histogram(tag, values, bins, max_bins=None) -> bytes:
    """A histogram of ``values`` (any shape) over ``bins`` (as ``numpy.histogram`` takes them)."""
    values = make_np(values).astype(float)
    return messages.summary(messages.summary_value(tag_bytes(tag), histo=_histogram_proto(
        values, bins, max_bins)))


def _histogram_proto(values: np.ndarray, bins, max_bins) -> bytes:
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, edges = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        counts, edges = _merge_bins(counts, edges, len(counts) // max_bins)
    counts, right_edges = _support(counts, edges)
    return messages.histogram_proto(
        values.min(), values.max(), len(values), values.sum(), values.dot(values),
        right_edges, counts,
    )


def _merge_bins(counts: np.ndarray, edges: np.ndarray, group: int):
    """Every ``group`` neighbouring bins as one (the last group padded with empty bins)."""
    padding = -len(counts) % group
    counts = np.concatenate([counts, np.zeros(padding, counts.dtype)])
    counts = counts.reshape(-1, group).sum(axis=1)
    edges = np.append(edges[:-1:group], edges[-1])
    return counts, edges


def _support(counts: np.ndarray, edges: np.ndarray):
    """The bins from the first to the last non-empty one, as TensorBoard wants them: each bin
    by its right edge only, so one empty bin before the first keeps the left edge in view."""
    filled = np.flatnonzero(counts)
    # Without a filled bin, the same (empty) slices as PyTorch's writer.
    first, stop = (int(filled[0]), int(filled[-1]) + 1) if filled.size else (len(counts), 1)
    if first > 0:
        counts = counts[first - 1:stop]
    else:
        counts = np.concatenate([[0], counts[:stop]])
    right_edges = edges[first:stop + 1]
    if counts.size == 0 or right_edges.size == 0:
        raise ValueError("The histogram is empty: no value falls inside the bins.")
    return counts, right_edges


def histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts) -> bytes:
    """A histogram from its statistics and buckets, as given."""
    histo = messages.histogram_proto(
        min, max, num, sum, sum_squares, _array(bucket_limits), _array(bucket_counts)
    )
    return messages.summary(messages.summary_value(tag_bytes(tag), histo=histo))


def _array(values) -> np.ndarray:
    return np.asarray(values) if isinstance(values, (list, tuple)) else make_np(values)


def text(tag, text_string) -> bytes:
    """A text summary: a one-element string tensor for the text plugin, tagged
    ``<tag>/text_summary``."""
    if not isinstance(tag, str):
        raise TypeError(f"tag must be a str, not {type(tag).__name__}")
    if not isinstance(text_string, str):
        # PyTorch fails here calling text_string.encode.
        raise AttributeError(f"text_string must be a str, not {type(text_string).__name__}")
    tensor = messages.tensor_proto(
        messages.DT_STRING, shape=(1,), string_val=[text_string.encode("utf-8")]
    )
    # The text plugin's data is a TextPluginData with version 0: empty bytes.
    metadata = messages.summary_metadata("text")
    return messages.summary(
        messages.summary_value(tag_bytes(tag + "/text_summary"), metadata=metadata, tensor=tensor)
    )


def _tensor_fields():
    """gpugrad dtype -> (TensorProto dtype, the field its values go in)."""
    from ... import bfloat16, float16, float32, float64, int8, int16, int32, int64, uint8
    from ... import bool as bool_

    return {
        float32: (messages.DT_FLOAT, "float_val"), float64: (messages.DT_DOUBLE, "double_val"),
        float16: (messages.DT_HALF, "half_val"), bfloat16: (messages.DT_BFLOAT16, "half_val"),
        int8: (messages.DT_INT8, "int_val"), int16: (messages.DT_INT16, "int_val"),
        int32: (messages.DT_INT32, "int_val"), int64: (messages.DT_INT64, "int64_val"),
        uint8: (messages.DT_UINT8, "uint32_val"), bool_: (messages.DT_BOOL, "bool_val"),
    }


def tensor_summary(tag, values) -> bytes:
    """A summary of a whole gpugrad tensor for the ``tensor`` plugin: its shape and its values
    in the TensorProto field of its dtype."""
    from ... import float32
    from ...tensor import Tensor

    if not isinstance(values, Tensor):
        raise AttributeError(f"add_tensor takes a gpugrad Tensor, not {type(values).__name__}")
    dtype, field = _tensor_fields()[values.dtype]
    if field == "half_val":
        # PyTorch's writer stores float16 and bfloat16 values as the bits of their float32
        # values (not of their 16-bit ones); so does this one, for the same events.
        array = make_np(values.detach().to(float32)).view(np.int32)
    else:
        array = make_np(values)
    proto = messages.tensor_proto(dtype, shape=tuple(array.shape), **{field: array})
    metadata = messages.summary_metadata("tensor")
    return messages.summary(messages.summary_value(tag_bytes(tag), metadata=metadata,
                                                   tensor=proto))
