"""CRC-32C (Castagnoli), the checksum TFRecord files carry, and TFRecord's masked form.

Pure Python with a 256-entry table: event records are small, so speed does not matter here.
"""

from __future__ import annotations

# The Castagnoli polynomial 0x1EDC6F41, bit-reversed (CRC-32C processes bits low to high).
_POLYNOMIAL = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc32c(data: bytes) -> int:
    """The CRC-32C of ``data``, an unsigned 32-bit int: ``crc32c(b"123456789") == 0xE3069283``."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C: rotated right by 15 bits plus a constant, so that a CRC stored
    inside checksummed data does not checksum to a trivial value."""
    crc = crc32c(data)
    rotated = ((crc >> 15) | (crc << 17)) & 0xFFFFFFFF
    return (rotated + _MASK_DELTA) & 0xFFFFFFFF
