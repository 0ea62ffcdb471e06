"""The few protobuf messages of TensorBoard's event files, encoded by hand (field numbers from
TensorBoard's ``event.proto``, ``summary.proto``, ``tensor.proto`` and ``tensor_shape.proto``).

Each function takes a message's fields and returns the message's bytes; an embedded message is
passed in as bytes already encoded.
"""

from __future__ import annotations

from .protobuf import (
    bytes_field,
    double_field,
    float_field,
    int_field,
    packed_doubles,
    packed_floats,
    packed_varints,
    string_field,
)

FILE_VERSION = "brain.Event:2"

# TensorProto's DataType enum (tensorflow/core/framework/types.proto).
DT_FLOAT = 1
DT_DOUBLE = 2
DT_INT32 = 3
DT_UINT8 = 4
DT_INT16 = 5
DT_INT8 = 6
DT_STRING = 7
DT_INT64 = 9
DT_BOOL = 10
DT_BFLOAT16 = 14
DT_HALF = 19

# TensorProto's packed integer fields, by name.
_VARINT_VALUE_FIELDS = {"int_val": 7, "int64_val": 10, "bool_val": 11, "half_val": 13,
                        "uint32_val": 16}

# SessionLog.SessionStatus.
SESSION_START = 1


def event(wall_time: float, step: int | None = None, *, file_version: str | None = None,
          summary: bytes | None = None, session_log: bytes | None = None,
          source_writer: str | None = None) -> bytes:
    """An ``Event``: when and at which step, and one of a file version, a summary or a session
    log (a oneof: the one given is written even when empty)."""
    out = double_field(1, wall_time)
    if step:
        out += int_field(2, step)
    if file_version is not None:
        out += string_field(3, file_version)
    if summary is not None:
        out += bytes_field(5, summary)
    if session_log is not None:
        out += bytes_field(7, session_log)
    if source_writer is not None:
        out += bytes_field(10, string_field(1, source_writer))  # SourceMetadata.writer
    return out


def session_log(status: int) -> bytes:
    """A ``SessionLog`` with only its status."""
    return int_field(1, status) if status else b""


def summary(*values: bytes) -> bytes:
    """A ``Summary`` holding the given encoded ``Summary.Value``s."""
    return b"".join(bytes_field(1, value) for value in values)


def summary_value(tag: bytes, *, metadata: bytes | None = None, simple_value: float | None = None,
                  image: bytes | None = None, histo: bytes | None = None,
                  audio: bytes | None = None, tensor: bytes | None = None) -> bytes:
    """A ``Summary.Value``: a tag (already UTF-8), optional metadata, and one value."""
    out = bytes_field(1, tag) if tag else b""
    if simple_value is not None:
        out += float_field(2, simple_value)
    if image is not None:
        out += bytes_field(4, image)
    if histo is not None:
        out += bytes_field(5, histo)
    if audio is not None:
        out += bytes_field(6, audio)
    if tensor is not None:
        out += bytes_field(8, tensor)
    if metadata is not None:
        out += bytes_field(9, metadata)
    return out


def summary_metadata(plugin_name: str, content: bytes = b"") -> bytes:
    """A ``SummaryMetadata`` naming the plugin that reads the value, with its plugin data."""
    plugin_data = string_field(1, plugin_name)
    if content:
        plugin_data += bytes_field(2, content)
    return bytes_field(1, plugin_data)


def image(height: int, width: int, colorspace: int, encoded_image_string: bytes) -> bytes:
    """A ``Summary.Image``: its size, its channel count and the encoded (PNG) picture."""
    out = b"".join(int_field(number, value) for number, value in
                   enumerate((height, width, colorspace), 1) if value)
    return out + bytes_field(4, encoded_image_string)


def histogram_proto(min, max, num, sum, sum_squares, bucket_limit, bucket) -> bytes:
    """A ``HistogramProto``: the values' statistics and, per bucket, its right edge and count."""
    statistics = (min, max, num, sum, sum_squares)
    out = b"".join(double_field(number, value) for number, value in enumerate(statistics, 1))
    return out + packed_doubles(6, bucket_limit) + packed_doubles(7, bucket)


def tensor_proto(dtype: int, *, shape: tuple[int, ...] | None = None, float_val=None,
                 double_val=None, string_val=None, **int_values) -> bytes:
    """A ``TensorProto`` of the given dtype, with its values in one of the typed fields: a
    float, double or string one, or an integer one named by keyword (``int_val``,
    ``int64_val``, ``bool_val``, ``half_val`` or ``uint32_val``)."""
    out = int_field(1, dtype)
    if shape is not None:
        # TensorShapeProto: one Dim (its size) per dimension.
        dims = b"".join(bytes_field(2, int_field(1, size) if size else b"") for size in shape)
        out += bytes_field(2, dims)
    if float_val is not None:
        out += packed_floats(5, float_val)
    if double_val is not None:
        out += packed_doubles(6, double_val)
    if string_val is not None:
        out += b"".join(bytes_field(8, value) for value in string_val)
    for name, values in int_values.items():
        out += packed_varints(_VARINT_VALUE_FIELDS[name], values)
    return out
