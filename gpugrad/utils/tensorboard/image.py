"""Image summaries as PyTorch's writer makes them: a tensor in some layout (``CHW``, ``HWC``,
``NCHW``...) turned into one ``HWC`` uint8 picture (a batch tiled into a grid), encoded as PNG by
hand (zlib and struct, no imaging library), and matplotlib figures rendered to such pictures."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np

from . import messages
from .convert import make_np

__all__ = ["convert_to_HWC", "encode_png", "figure_to_image", "image", "make_grid", "to_pixels"]

# PNG colour types by channel count: grey+alpha, RGB, RGBA (8 bits per sample).
_PNG_COLOR_TYPES = {2: 4, 3: 2, 4: 6}


def make_grid(images: np.ndarray, ncols: int = 8) -> np.ndarray:
    """A batch ``(N, 1 or 3, H, W)`` tiled row by row into one ``(3, rows * H, cols * W)``
    picture, at most ``ncols`` per row; empty cells stay zero. Grey images become RGB."""
    if not isinstance(images, np.ndarray):
        raise AssertionError("plugin error, should pass numpy array here")
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, axis=1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    count, _, height, width = images.shape
    ncols = min(count, ncols)
    nrows = math.ceil(count / ncols)  # an empty batch divides by zero, as in PyTorch
    canvas = np.zeros((3, height * nrows, width * ncols), dtype=images.dtype)
    for index in range(count):
        row, col = divmod(index, ncols)
        canvas[:, row * height:(row + 1) * height, col * width:(col + 1) * width] = images[index]
    return canvas


def _axes(dataformats: str, letters: str) -> list[int]:
    # str.find gives -1 for a missing letter: numpy then reads it as the last axis, which is
    # what PyTorch's writer does too (so "CHX" works like "CHW").
    return [dataformats.find(letter) for letter in letters]


def convert_to_HWC(tensor: np.ndarray, dataformats: str):
    """``tensor`` laid out as ``dataformats`` (any order of ``N``, ``C``, ``H``, ``W``) as one
    ``HWC`` picture: a batch is tiled with ``make_grid``, one channel or none becomes three.
    Other format lengths give ``None``, as in PyTorch."""
    if len(set(dataformats)) != len(dataformats):
        raise AssertionError("You can not use the same dimension shorthand twice. "
                             f"input_format: {dataformats}")
    if tensor.ndim != len(dataformats):
        raise AssertionError("size of input tensor and input format are different. "
                             f"tensor shape: {tensor.shape}, input_format: {dataformats}")
    dataformats = dataformats.upper()
    if len(dataformats) == 4:
        return make_grid(tensor.transpose(_axes(dataformats, "NCHW"))).transpose(1, 2, 0)
    if len(dataformats) == 3:
        hwc = tensor.transpose(_axes(dataformats, "HWC"))
        return np.concatenate([hwc] * 3, axis=2) if hwc.shape[2] == 1 else hwc
    if len(dataformats) == 2:
        return np.stack([tensor.transpose(_axes(dataformats, "HW"))] * 3, axis=2)
    return None


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray) -> bytes:
    """A ``(H, W, C)`` uint8 picture (C = 2: grey and alpha, 3: RGB, 4: RGBA) as PNG bytes."""
    height, width, channels = pixels.shape
    if channels not in _PNG_COLOR_TYPES:
        raise TypeError(f"Cannot encode an image with {channels} channels as PNG "
                        "(2, 3 or 4 are supported)")
    if height == 0 or width == 0:
        raise ValueError("cannot encode an empty image as PNG")
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOR_TYPES[channels], 0, 0, 0)
    # Each scanline starts with its filter type: 0, none.
    rows = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(height, width * channels)
    scanlines = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6))
            + _png_chunk(b"IEND", b""))


def to_pixels(tensor, dataformats: str) -> np.ndarray:
    """``tensor`` laid out as ``dataformats`` as one ``HWC`` uint8 picture: uint8 values are
    kept, any other dtype is taken as [0, 1], scaled by 255, clipped to [0, 255] and
    truncated."""
    hwc = convert_to_HWC(make_np(tensor), dataformats)
    if hwc is None:
        # PyTorch fails the same way, on the None its conversion returns.
        raise AttributeError(f"dataformats must have 2, 3 or 4 letters, not {dataformats!r}")
    scale = 1 if hwc.dtype == np.uint8 else 255
    return (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)


def image(tag, tensor, dataformats: str = "NCHW") -> bytes:
    """An image summary of ``tensor`` laid out as ``dataformats`` (values as ``to_pixels``
    takes them)."""
    from .summary import tag_bytes

    pixels = to_pixels(tensor, dataformats)
    height, width, channels = pixels.shape
    encoded = messages.image(height, width, channels, encode_png(pixels))
    return messages.summary(messages.summary_value(tag_bytes(tag), image=encoded))


def figure_to_image(figures, close: bool = True) -> np.ndarray:
    """A matplotlib figure rendered by the Agg backend as a ``CHW`` RGB uint8 array (alpha
    dropped), or a list of figures as ``NCHW``; each figure is closed if ``close``."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def render(figure) -> np.ndarray:
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        width, height = figure.canvas.get_width_height()
        rgba = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8).reshape(height, width, 4)
        if close:
            plt.close(figure)
        return np.moveaxis(rgba[:, :, :3], 2, 0)

    if isinstance(figures, list):
        return np.stack([render(figure) for figure in figures])
    return render(figures)
