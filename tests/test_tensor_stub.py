"""``gpugrad/tensor.pyi`` lists every Tensor method the import attaches (for readers and type
checkers): regenerate it with ``python -m gpugrad._stubgen`` when a method changes."""

from __future__ import annotations

from gpugrad import _stubgen


def test_stub_lists_the_methods_the_import_attaches():
    assert _stubgen.STUB.read_text() == _stubgen.render(), (
        "gpugrad/tensor.pyi is out of date: run python -m gpugrad._stubgen")
