"""Memory-mapping the arrays of a zip archive (``load(..., mmap=True)``): a member stored
without compression lies in the file as it is, so its bytes can be mapped instead of read.

Maps are copy-on-write (``np.memmap`` mode ``"c"``, PyTorch's default ``MAP_PRIVATE``): a
loaded tensor can be written, and the file never changes.
"""

from __future__ import annotations

import struct
import zipfile

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length


def _data_offset(path, info: zipfile.ZipInfo) -> int | None:
    """Where member ``info``'s bytes start in the file, or None if it is compressed."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        signature, name_len, extra_len = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise RuntimeError(f"corrupt zip archive: no local header for {info.filename!r}")
    return info.header_offset + _LOCAL_HEADER.size + name_len + extra_len


def mapped_bytes(path, zf: zipfile.ZipFile, name: str) -> np.ndarray | None:
    """Member ``name``'s bytes as a copy-on-write map (a uint8 array), or None when the member
    is compressed (it must be read)."""
    info = zf.getinfo(name)
    offset = _data_offset(path, info)
    if offset is None:
        return None
    if info.file_size == 0:
        return np.zeros(0, np.uint8)
    return np.memmap(path, np.uint8, "c", offset, (info.file_size,)).view(np.ndarray)


def mapped_npy(path, zf: zipfile.ZipFile, name: str) -> np.ndarray | None:
    """The array of the ``.npy`` member ``name`` (as ``np.savez`` stores one) as a
    copy-on-write map, or None when the member is compressed or empty."""
    info = zf.getinfo(name)
    offset = _data_offset(path, info)
    if offset is None:
        return None
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran_order, dtype = read_header(fh)
        header = fh.tell()
    if dtype.hasobject:
        raise ValueError(f"corrupt gpugrad archive: {name} holds Python objects")
    if dtype.itemsize == 0 or 0 in shape:
        return None  # nothing to map (read: its strides are then NumPy's for a read array)
    order = "F" if fortran_order else "C"
    return np.memmap(path, dtype, "c", offset + header, shape, order).view(np.ndarray)
