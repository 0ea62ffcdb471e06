"""The protobuf wire format, as far as event files need it: each function returns the bytes of
one field (its key and its value), and a message is the concatenation of its fields' bytes.

Proto3 reads a missing scalar field as its default, so callers leave out fields equal to their
default, except members of a ``oneof``, whose presence is the information.
"""

from __future__ import annotations

import struct

import numpy as np

# Wire types.
_VARINT = 0
_FIXED64 = 1
_LENGTH_DELIMITED = 2
_FIXED32 = 5


def varint(value: int) -> bytes:
    """Base-128 varint; a negative int is written as its 64-bit two's complement (10 bytes)."""
    value = int(value)
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return varint((number << 3) | wire_type)


def int_field(number: int, value: int) -> bytes:
    """An int32, int64, bool or enum field."""
    return _key(number, _VARINT) + varint(value)


def double_field(number: int, value: float) -> bytes:
    return _key(number, _FIXED64) + struct.pack("<d", float(value))


def float_field(number: int, value: float) -> bytes:
    # Through NumPy, so that a double beyond float32's range becomes inf, as protobuf stores it
    # (struct.pack would raise OverflowError).
    with np.errstate(over="ignore"):
        as_float32 = np.float32(value)
    return _key(number, _FIXED32) + as_float32.astype("<f4").tobytes()


def bytes_field(number: int, value: bytes) -> bytes:
    """A bytes field or an embedded message (its encoded bytes)."""
    return _key(number, _LENGTH_DELIMITED) + varint(len(value)) + bytes(value)


def string_field(number: int, value: str) -> bytes:
    return bytes_field(number, value.encode("utf-8"))


def packed_doubles(number: int, values) -> bytes:
    """A packed ``repeated double`` field; nothing for an empty list."""
    values = np.asarray(values, dtype="<f8").reshape(-1)
    if values.size == 0:
        return b""
    return bytes_field(number, values.tobytes())


def packed_floats(number: int, values) -> bytes:
    """A packed ``repeated float`` field; nothing for an empty list."""
    with np.errstate(over="ignore"):
        values = np.asarray(values, dtype=np.float64).astype("<f4").reshape(-1)
    if values.size == 0:
        return b""
    return bytes_field(number, values.tobytes())


def packed_varints(number: int, values) -> bytes:
    """A packed ``repeated`` int32, int64, uint32 or bool field; nothing for an empty list."""
    values = np.asarray(values).reshape(-1)
    if values.size == 0:
        return b""
    return bytes_field(number, b"".join(varint(value) for value in values.tolist()))
