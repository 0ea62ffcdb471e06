"""Embeddings for TensorBoard's projector (``SummaryWriter.add_embedding``): files, not events.

Each embedding goes to ``<log_dir>/<step, 5 digits or more>/<tag>/``: ``tensors.tsv`` (one point
a line, tab-separated), ``metadata.tsv`` (one label a line, or a header line and tab-separated
columns) and ``sprite.png`` (the points' pictures tiled into one square). ``projector_config.pbtxt``
in ``log_dir`` lists the embeddings in protobuf's text format (a ``ProjectorConfig``, field names
from TensorBoard's ``plugins/projector/projector_config.proto``).
"""

from __future__ import annotations

import math
import os

import numpy as np

from .convert import make_np
from .image import encode_png, make_grid

CONFIG_FILE_NAME = "projector_config.pbtxt"

# How protobuf's text format writes these characters inside a quoted string.
_TEXT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "'": "\\'", "\\": "\\\\"}


def _quoted(text: str) -> str:
    """``text`` as a protobuf text-format string: named escapes, the other ASCII control
    characters in octal, everything else (non-ASCII included) as it is."""
    out = []
    for char in text:
        if char in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):03o}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _path_part(tag: str) -> str:
    """``tag`` as one directory name: ``%``, ``/`` and ``\\`` written as ``%xx`` (lowercase
    hex), as TensorBoard names plugin asset directories."""
    for char in "%/\\":
        tag = tag.replace(char, f"%{ord(char):02x}")
    return tag


def _write_lines(path: str, lines) -> None:
    with open(path, "wb") as f:
        f.write("".join(line + "\n" for line in lines).encode("utf-8"))


def _write_metadata(save_path: str, metadata, metadata_header) -> None:
    if metadata_header is None:
        lines = [str(label) for label in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in "
                                 "metadata")
        lines = ["\t".join(str(cell) for cell in row) for row in [metadata_header, *metadata]]
    _write_lines(os.path.join(save_path, "metadata.tsv"), lines)


def _write_sprite(save_path: str, images: np.ndarray) -> None:
    """The ``(N, C, H, W)`` pictures in a grid of ``ceil(sqrt(N))`` columns, on a black square
    as wide as the grid; values taken as [0, 1] whatever the dtype."""
    grid = make_grid(images, ncols=math.ceil(len(images) ** 0.5)).transpose(1, 2, 0)
    square = np.zeros((grid.shape[1], grid.shape[1], 3))
    square[:grid.shape[0]] = grid
    pixels = (square * 255).clip(0, 255).astype(np.uint8)
    with open(os.path.join(save_path, "sprite.png"), "wb") as f:
        f.write(encode_png(pixels))


def write_embedding(log_dir: str, mat, metadata=None, label_img=None, global_step=None,
                    tag: str = "default", metadata_header=None) -> str:
    """Write one embedding's files under ``log_dir``; returns its ``embeddings { ... }`` entry
    for the projector's config."""
    mat = make_np(mat)
    if global_step is None:
        global_step = 0
    step = str(global_step).zfill(5)
    subdir = f"{step}/{_path_part(tag)}"
    save_path = os.path.join(log_dir, subdir)
    if os.path.exists(save_path):
        if not os.path.isdir(save_path):
            raise NotADirectoryError(f"Path: `{save_path}` exists, but is a file. Cannot "
                                     "proceed.")
        # PyTorch prints this (a second embedding with the same tag and step overwrites the
        # first one's files).
        print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
    os.makedirs(save_path, exist_ok=True)

    entry = [f"  tensor_name: {_quoted(f'{tag}:{step}')}"]
    if metadata is not None:
        if mat.shape[0] != len(metadata):
            raise AssertionError("#labels should equal with #data points")
        _write_metadata(save_path, metadata, metadata_header)
        entry.append(f"  metadata_path: {_quoted(subdir + '/metadata.tsv')}")
    if label_img is not None:
        images = make_np(label_img)
        if mat.shape[0] != images.shape[0]:
            raise AssertionError("#images should equal with #data points")
        _write_sprite(save_path, images)
        entry += ["  sprite {", f"    image_path: {_quoted(subdir + '/sprite.png')}",
                  f"    single_image_dim: {images.shape[3]}",
                  f"    single_image_dim: {images.shape[2]}", "  }"]
    if mat.ndim != 2:
        raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
    _write_lines(os.path.join(save_path, "tensors.tsv"),
                 ("\t".join(str(value) for value in point) for point in mat.tolist()))
    entry.append(f"  tensor_path: {_quoted(subdir + '/tensors.tsv')}")
    return "\n".join(["embeddings {", *entry, "}"]) + "\n"


def write_config(log_dir: str, entries: list[str]) -> None:
    """Write ``projector_config.pbtxt`` in ``log_dir`` with these embedding entries (the file
    is rewritten whole: it lists what this writer logged)."""
    with open(os.path.join(log_dir, CONFIG_FILE_NAME), "wb") as f:
        f.write("".join(entries).encode("utf-8"))
