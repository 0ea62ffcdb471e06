"""What the installed PyTorch (the test oracle) can do, where its releases differ.

CI installs torch 2.13 (CPU); the GPU image carries torch 2.11 (CUDA). gpugrad follows 2.13.
Tests that compare with the oracle go through these helpers, so they hold on both.
"""

from __future__ import annotations

import inspect
import re

import torch

# torch 2.13: BatchNorm takes bias= (False: no bias parameter, like LayerNorm's), and both print it
NORM_BIAS_ARGUMENT = "bias" in inspect.signature(torch.nn.BatchNorm1d.__init__).parameters
LAYER_NORM_PRINTS_BIAS = "bias=" in repr(torch.nn.LayerNorm(2))
# A CPU-only build refuses CUDA devices with AssertionError; a CUDA build behaves otherwise.
CPU_ONLY_BUILD = torch.version.cuda is None

_BIAS = re.compile(r", bias=(True|False)")


def as_oracle_prints(text: str) -> str:
    """gpugrad's module repr as the installed torch prints the same modules."""
    lines = []
    for line in text.split("\n"):
        is_batch_norm = "BatchNorm" in line and not NORM_BIAS_ARGUMENT
        is_layer_norm = "LayerNorm(" in line and not LAYER_NORM_PRINTS_BIAS
        lines.append(_BIAS.sub("", line) if is_batch_norm or is_layer_norm else line)
    return "\n".join(lines)


def norm_module(cls, num_features, **kw):
    """``cls(num_features, **kw)`` from torch; ``bias=False`` on a release without that
    argument builds the same module (affine weight, no bias parameter) by hand."""
    if "bias" in kw and not NORM_BIAS_ARGUMENT:
        bias = kw.pop("bias")
        module = cls(num_features, **kw)
        if not bias and module.affine:
            del module.bias
            module.register_parameter("bias", None)
        return module
    return cls(num_features, **kw)


def outcome(fn, lib):
    """``fn(lib)``'s result, or the type and message of what it raised."""
    try:
        return fn(lib)
    except Exception as exc:  # noqa: BLE001 - the error is the result compared
        return type(exc), str(exc)


def same(fn):
    """``fn`` run with gpugrad and with torch gives the same result or the same error; returns
    it."""
    import torch

    import gpugrad

    got, want = outcome(fn, gpugrad), outcome(fn, torch)
    assert got == want
    return got
