"""``SummaryWriter.add_custom_scalars`` and its multiline and margin shortcuts: the same events as
PyTorch's writer writes for the same calls, and a layout TensorBoard's plugin parses."""

from __future__ import annotations

import pytest
from tensorboard_oracle import raw_events

from gpugrad.utils.tensorboard import SummaryWriter

pytest.importorskip("tensorboard", reason="the oracle reader is the tensorboard package")

LAYOUT = {
    "Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
    "USA": {"dow": ["Margin", ["dow/aaa", "dow/bbb", "dow/ccc"]],
            "nasdaq": ["Margin", ("nasdaq/aaa", "nasdaq/bbb", "nasdaq/ccc"), "ignored"]},
    "ünïcødé ✓": {"": ["Multiline", []], "chars": ["anything", "ab"]},
    "no charts": {},
    "": {"": ["Margin", ["", "", ""]]},
}


def _log_layouts(w):
    w.add_custom_scalars(LAYOUT)
    w.add_custom_scalars({})
    w.add_custom_scalars_multilinechart(["loss/train", "loss/val"])
    w.add_custom_scalars_multilinechart(("a",), category="cat", title="title")
    w.add_custom_scalars_marginchart(["m", "low", "high"])
    w.add_custom_scalars_marginchart(["m", "low", "high"], category="cat", title="margin")


def test_same_events_as_torch(tmp_path):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    for writer_class, name in ((SummaryWriter, "ours"), (TorchWriter, "theirs")):
        with writer_class(tmp_path / name) as w:
            _log_layouts(w)
    ours, theirs = raw_events(tmp_path / "ours")["."], raw_events(tmp_path / "theirs")["."]
    assert len(ours) == len(theirs) == 7
    for got, want in zip(ours, theirs):
        assert got == want, (got, want)


def test_plugin_reads_the_layout(tmp_path):
    from tensorboard.plugins.custom_scalar import layout_pb2, metadata

    with SummaryWriter(tmp_path) as w:
        w.add_custom_scalars(LAYOUT)
    (event,) = raw_events(tmp_path)["."][1:]
    (value,) = event.summary.value
    assert value.tag == metadata.CONFIG_SUMMARY_TAG
    assert value.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME
    (data,) = value.tensor.string_val
    layout = layout_pb2.Layout.FromString(data)
    assert [c.title for c in layout.category] == ["Taiwan", "USA", "ünïcødé ✓", "no charts", ""]
    usa = layout.category[1]
    assert [chart.title for chart in usa.chart] == ["dow", "nasdaq"]
    (series,) = usa.chart[1].margin.series
    assert (series.value, series.lower, series.upper) == ("nasdaq/aaa", "nasdaq/bbb",
                                                          "nasdaq/ccc")
    unicode_charts = layout.category[2].chart
    assert unicode_charts[0].WhichOneof("content") == "multiline"
    assert list(unicode_charts[1].multiline.tag) == ["a", "b"]


def _bad_calls():
    """(name, call on a writer, the exception PyTorch's writer raises)."""
    return [
        ("two margin tags", lambda w: w.add_custom_scalars({"c": {"t": ["Margin", ["a", "b"]]}}),
         AssertionError),
        ("two margin tags, shortcut", lambda w: w.add_custom_scalars_marginchart(["a", "b"]),
         AssertionError),
        ("int tag", lambda w: w.add_custom_scalars({"c": {"t": ["Multiline", [1]]}}),
         TypeError),
        ("list layout", lambda w: w.add_custom_scalars([1]), AttributeError),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls())))
def test_bad_input_raises_as_torch(tmp_path, index):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    name, call, expected = _bad_calls()[index]
    for writer in (SummaryWriter, TorchWriter):
        with writer(tmp_path / writer.__module__) as w, pytest.raises(expected):
            call(w)
