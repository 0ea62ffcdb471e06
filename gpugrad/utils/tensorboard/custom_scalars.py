"""The layout of TensorBoard's ``custom_scalars`` plugin (``SummaryWriter.add_custom_scalars``):
charts that gather scalar tags, grouped in categories, as a ``Layout`` message (field numbers
from TensorBoard's ``plugins/custom_scalar/layout.proto``) in a one-string tensor."""

from __future__ import annotations

from . import messages
from .protobuf import bytes_field
from .summary import tag_bytes

PLUGIN_NAME = "custom_scalars"
LAYOUT_TAG = "custom_scalars__config__"


def _string(number: int, value) -> bytes:
    # Empty strings are proto3 defaults: left out.
    encoded = tag_bytes(value)
    return bytes_field(number, encoded) if encoded else b""


def _chart(title, kind, tags) -> bytes:
    """A ``Chart``: a margin chart for kind ``'Margin'`` (one series: its value, lower and
    upper tags), a multiline chart of ``tags`` for any other kind."""
    if kind == "Margin":
        if len(tags) != 3:
            raise AssertionError("len(tags) != 3")
        series = b"".join(_string(number, tag) for number, tag in enumerate(tags, 1))
        content = bytes_field(3, bytes_field(1, series))  # MarginChartContent.series
    else:
        content = bytes_field(2, b"".join(_string(1, tag) for tag in tags))
    return _string(1, title) + content


def custom_scalars(layout: dict) -> bytes:
    """The layout summary of ``{category: {chart title: [kind, tags]}}``."""
    categories = b""
    for category, charts in layout.items():
        content = _string(1, category)
        for title, chart in charts.items():
            content += bytes_field(2, _chart(title, chart[0], chart[1]))
        categories += bytes_field(2, content)
    tensor = messages.tensor_proto(messages.DT_STRING, shape=(), string_val=[categories])
    metadata = messages.summary_metadata(PLUGIN_NAME)
    return messages.summary(messages.summary_value(LAYOUT_TAG.encode("utf-8"),
                                                   metadata=metadata, tensor=tensor))
