"""Pictures with boxes drawn on them (``SummaryWriter.add_image_with_boxes``). The boxes, their
labels and the rescaling are drawn by Pillow (needed here only), in the same way as PyTorch's
writer draws them, so that the pixels match; the PNG is encoded by ``image.encode_png``."""

from __future__ import annotations

import math

import numpy as np

from . import messages
from .convert import make_np
from .image import encode_png, to_pixels
from .summary import tag_bytes

BOX_COLOR = "Red"
LABEL_COLOR = "black"
LINE_WIDTH = 2


def _draw_box(draw, font, left, top, right, bottom, label) -> None:
    """One box outline and, if ``label``, the label in black on a filled box of the outline's
    colour, inside the box's lower-left corner."""
    corners = [(left, top), (left, bottom), (right, bottom), (right, top), (left, top)]
    draw.line(corners, width=LINE_WIDTH, fill=BOX_COLOR)
    if not label:
        return
    text_left, text_top, text_right, text_bottom = font.getbbox(label)
    text_width, text_height = text_right - text_left, text_bottom - text_top
    margin = math.ceil(0.05 * text_height)
    draw.rectangle([(left, bottom - text_height - 2 * margin), (left + text_width, bottom)],
                   fill=BOX_COLOR)
    draw.text((left + margin, bottom - text_height - margin), label, fill=LABEL_COLOR,
              font=font)


def image_with_boxes(tag, tensor, boxes, rescale=1, dataformats: str = "CHW",
                     labels=None) -> bytes:
    """An image summary of ``tensor`` (values as ``image.to_pixels`` takes them) with the
    ``boxes`` (one ``[xmin, ymin, xmax, ymax]`` row each, in pixels) drawn on it, each with
    its entry of ``labels`` (or none), then resized by ``rescale``. The summary gives the
    size before rescaling, as PyTorch's does."""
    from PIL import Image, ImageDraw, ImageFont

    pixels = to_pixels(tensor, dataformats)
    boxes = make_np(boxes)
    height, width, channels = pixels.shape
    picture = Image.fromarray(pixels)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default()
    for index in range(boxes.shape[0]):
        left, top, right, bottom = (boxes[index, corner] for corner in range(4))
        _draw_box(draw, font, left, top, right, bottom,
                  None if labels is None else labels[index])
    picture = picture.resize((int(width * rescale), int(height * rescale)),
                             Image.Resampling.LANCZOS)
    encoded = messages.image(height, width, channels, encode_png(np.asarray(picture)))
    return messages.summary(messages.summary_value(tag_bytes(tag), image=encoded))
