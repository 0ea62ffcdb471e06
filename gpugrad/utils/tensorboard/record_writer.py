"""TFRecord framing: each record is its length (uint64), the length's masked CRC-32C, the
payload, and the payload's masked CRC-32C, all little-endian."""

from __future__ import annotations

import struct

from .crc32c import masked_crc32c


def encode_record(payload: bytes) -> bytes:
    """One TFRecord around ``payload``."""
    length = struct.pack("<Q", len(payload))
    return (length + struct.pack("<I", masked_crc32c(length)) + payload
            + struct.pack("<I", masked_crc32c(payload)))


class RecordWriter:
    """Writes TFRecords to a binary file object (``write``, ``flush``, ``close``)."""

    def __init__(self, writer) -> None:
        self._writer = writer
        self.closed = False

    def write(self, data: bytes) -> None:
        self._writer.write(encode_record(data))

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
        self.closed = True
