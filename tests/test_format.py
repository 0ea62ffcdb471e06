"""Tensor printing and ``format()`` against torch: widths, wrapping at the line width,
summarization, scientific notation, suffixes, ``set_printoptions``, format specs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

_RNG = np.random.default_rng(0)
ARRAYS = {
    "small": np.array([1.5, -2.25, 3.0]), "ints_as_float": np.array([1.0, 2.0, 300.0]),
    "wide": _RNG.standard_normal(30), "wide2d": _RNG.standard_normal((3, 30)),
    "big": _RNG.standard_normal(2000), "big2d": _RNG.standard_normal((100, 100)),
    "big3d": _RNG.standard_normal((20, 10, 10)), "sci": np.array([1e-5, 1.0, 3e5]),
    "large": np.array([1e10, 1.0]), "nonfinite": np.array([np.nan, 1.0, np.inf, -np.inf]),
    "scalar": np.array(3.14159), "int": np.arange(10), "intwide": np.arange(100) * 1000,
    "intbig": np.arange(2000), "bool": np.array([True, False] * 20),
    "f32": _RNG.standard_normal(4).astype(np.float32), "empty": np.zeros((0,)),
    "empty2d": np.zeros((2, 0)), "empty_int": np.zeros((0, 3), dtype=np.int64),
    "neg0": np.array([-0.0, 0.0]), "tiny": np.array([1e-10, 2e-10]),
    "mixed": np.array([0.001, 1000.0]), "f16": _RNG.standard_normal(5).astype(np.float16),
    "i32": np.arange(5, dtype=np.int32), "u8": np.arange(5, dtype=np.uint8),
    "zeros": np.zeros(3), "rows": _RNG.standard_normal((2, 3, 4)),
    "int_neg": np.array([-5, 10, 300]), "one_big": np.array([123456.0, 1.5]),
    "sci2d": _RNG.standard_normal((3, 3)) * 1e-6, "nan": np.array([np.nan]),
    "int_float_spread": np.array([1.0, 5000.0]), "f32_scalar": np.array(2.5, dtype=np.float32),
}


def _reprs(arr, **kwargs):
    ours = gpugrad.from_numpy(arr.copy())
    theirs = torch.from_numpy(arr.copy())
    if kwargs.get("grad"):
        ours, theirs = ours.requires_grad_(), theirs.requires_grad_()
    if kwargs.get("op"):
        ours, theirs = ours * 2, theirs * 2
    return repr(ours).replace("gpugrad.", "torch."), repr(theirs)


@pytest.mark.parametrize("name", ARRAYS)
def test_repr_matches_torch(name):
    ours, theirs = _reprs(ARRAYS[name])
    assert ours == theirs
    assert str(gpugrad.from_numpy(ARRAYS[name].copy())) == repr(
        gpugrad.from_numpy(ARRAYS[name].copy()))


@pytest.mark.parametrize("name", ["small", "wide", "wide2d", "big2d", "scalar"])
def test_grad_suffixes_wrap_like_torch(name):
    arr = ARRAYS[name].astype(np.float32)
    assert _reprs(arr, grad=True)[0] == _reprs(arr, grad=True)[1]
    assert _reprs(arr, grad=True, op=True)[0] == _reprs(arr, grad=True, op=True)[1]


@pytest.mark.parametrize("options", [
    dict(precision=2), dict(threshold=5), dict(edgeitems=1, threshold=10), dict(linewidth=40),
    dict(sci_mode=True), dict(sci_mode=False), dict(profile="short"), dict(profile="full"),
    dict(edgeitems=0, threshold=10), dict(precision=6, linewidth=120),
])
def test_printoptions_match_torch(options):
    try:
        gpugrad.set_printoptions(**options)
        torch.set_printoptions(**options)
        for name in ("small", "wide2d", "big", "big3d", "sci", "int", "intbig", "large", "zeros",
                     "nonfinite"):
            arr = ARRAYS[name]  # float32: no dtype suffix, whose name differs in length
            ours, theirs = _reprs(arr.astype(np.float32) if arr.dtype.kind == "f" else arr)
            assert ours == theirs, name
    finally:
        gpugrad.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


@pytest.mark.parametrize("spec", ["", "+.2f", ".3e", "8.1f", ">10", "g"])
def test_a_0d_tensor_formats_its_value(spec):
    for value, dtype in ((3.0, "float32"), (-2.5, "float64"), (7, "int64"), (True, "bool")):
        ours = gpugrad.tensor(value, dtype=getattr(gpugrad, dtype))
        theirs = torch.tensor(value, dtype=getattr(torch, dtype))
        if dtype == "bool" and spec and spec[-1] in "fe":
            continue
        assert format(ours, spec) == format(theirs, spec)
        template = "{:" + spec + "}"  # str.format, as '{:+.2f}'.format(t) in training loops
        assert f"{ours}" == f"{theirs}" and template.format(ours) == template.format(theirs)
    loss = gpugrad.tensor(0.123456, requires_grad=True) * 2
    assert f"loss {loss:.3f}" == "loss 0.247"


def test_other_tensors_format_as_str_and_refuse_a_spec():
    for m in (gpugrad, torch):
        t = m.tensor([1.0, 2.0])
        assert f"{t}" == str(t)
        with pytest.raises(TypeError, match="unsupported format string passed to Tensor"):
            f"{t:.2f}"  # noqa: B018
        p = m.nn.Parameter(m.tensor(1.5))
        with pytest.raises(TypeError, match="unsupported format string"):
            f"{p:.2f}"  # noqa: B018


def test_bad_profile_is_refused():
    with pytest.raises(ValueError, match="Unknown profile"):
        gpugrad.set_printoptions(profile="nope")
