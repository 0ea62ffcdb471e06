"""``utils.tensorboard``'s wire format: the CRC-32C checksums (known vectors, and TensorBoard's
masked form), protobuf varints, and the TFRecord framing of each event."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from tensorboard_oracle import read_records

from gpugrad.utils.tensorboard import RecordWriter
from gpugrad.utils.tensorboard.crc32c import crc32c, masked_crc32c
from gpugrad.utils.tensorboard.protobuf import varint
from gpugrad.utils.tensorboard.record_writer import encode_record


@pytest.mark.parametrize("data, expected", [
    (b"", 0x00000000),
    (b"a", 0xC1D04330),
    (b"123456789", 0xE3069283),
    # RFC 3720 (iSCSI), appendix B.4.
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
])
def test_crc32c_known_vectors(data, expected):
    assert crc32c(data) == expected


def test_masked_crc32c_matches_tensorboard():
    pytest.importorskip("tensorboard", reason="the oracle is the tensorboard package")
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked

    rng = np.random.default_rng(0)
    for size in (0, 1, 7, 8, 100, 1000):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert masked_crc32c(data) == tb_masked(data)


def test_varint():
    assert varint(0) == b"\x00"
    assert varint(1) == b"\x01"
    assert varint(300) == b"\xac\x02"
    assert varint(-1) == b"\xff" * 9 + b"\x01"  # int64 -1: two's complement, 10 bytes


def test_record_framing(tmp_path):
    path = tmp_path / "records"
    with open(path, "wb") as f:
        writer = RecordWriter(f)
        writer.write(b"hello")
        writer.write(b"")
        writer.flush()
    assert read_records(path) == [b"hello", b""]
    record = encode_record(b"hello")
    assert record[:8] == struct.pack("<Q", 5) and record[12:17] == b"hello"
    assert len(record) == 8 + 4 + 5 + 4
