"""``F.interpolate``'s positions over many sizes and scale factors, its errors and warnings,
and the modules ``Upsample``, ``UpsamplingNearest2d``, ``UpsamplingBilinear2d``,
``PixelShuffle``, ``PixelUnshuffle``, ``ChannelShuffle`` against PyTorch; values, gradients
and finite differences of each mode are in the op registry (opinfo/specs/nn_resample.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from nn._compare import assert_same_run, module_pair

import gpugrad

_SIZES = [dict(size=(n, 3)) for n in (1, 2, 3, 5, 8, 9, 11, 17, 26)]
_FACTORS = [dict(scale_factor=(s, 1.0)) for s in (0.3, 1 / 3, 0.7, 1.0, 1.1, 1.5, 2.0, 2.1,
                                                  3.3, 4.7)]
_RECOMPUTED = [dict(scale_factor=(s, 1.0), recompute_scale_factor=True) for s in (0.7, 2.1, 3.3)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode,align_corners", [
    ("nearest", None), ("nearest-exact", None), ("area", None), ("bilinear", False),
    ("bilinear", True), ("bicubic", False), ("bicubic", True)])
def test_positions_match_torch_over_sizes_and_factors(mode, align_corners, dtype):
    """Each output reads the input positions PyTorch's reads (a wrong position is off by O(1);
    float32 rounding of the weights is 1e-6)."""
    rng = np.random.default_rng(0)
    tol = 1e-12 if dtype == "float64" else 2e-5
    checked = 0
    for height in (1, 2, 3, 4, 5, 7, 10, 13, 33):
        for kw in _SIZES + _FACTORS + _RECOMPUTED:
            x = rng.standard_normal((1, 2, height, 3)).astype(dtype)
            try:
                expected = torch.nn.functional.interpolate(
                    torch.from_numpy(x), mode=mode, align_corners=align_corners, **kw)
            except RuntimeError:  # an empty output: the error tests check those
                continue
            got = gpugrad.nn.functional.interpolate(gpugrad.from_numpy(x), mode=mode,
                                                    align_corners=align_corners, **kw)
            assert tuple(got.shape) == tuple(expected.shape), (height, kw)
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=tol, atol=tol,
                                       err_msg=f"height {height}, {kw}")
            checked += 1
    assert checked > 150


def _call(m, shape, dtype="float32", f="interpolate", **kw):
    x = m.zeros(shape, dtype=getattr(m, dtype))
    if f != "interpolate":  # the factor by position, as programs pass it
        return getattr(m.nn.functional, f)(x, *kw.values())
    return getattr(m.nn.functional, f)(x, **kw)


_ERRORS = [
    ((1, 2, 4, 5), dict(size=2, scale_factor=2)),
    ((1, 2, 4, 5), dict()),
    ((1, 2, 4, 5), dict(size=(2, 3, 4))),
    ((1, 2, 4, 5), dict(scale_factor=(2, 3, 4))),
    ((1, 2, 4, 5), dict(size=(2.0, 3))),
    ((1, 2, 4, 5), dict(size=(2, 3), recompute_scale_factor=True)),
    ((1, 2, 4, 5), dict(size=2, align_corners=False)),
    ((1, 2, 4, 5), dict(size=2, mode="area", align_corners=True)),
    ((1, 2, 4, 5), dict(size=2, antialias=True)),
    ((2, 4, 5), dict(size=2, mode="bilinear", antialias=True)),
    ((1, 2, 4, 5), dict(size=2, mode="lanczos")),
    ((1, 2, 4, 5), dict(size=2, mode="lanczos", align_corners=True)),
    ((1, 2, 4, 5), dict(size=2, mode="linear")),
    ((1, 2, 4, 5), dict(size=2, mode="trilinear")),
    ((1, 2, 4), dict(size=2, mode="bilinear")),
    ((1, 2, 4), dict(size=2, mode="bicubic")),
    ((1, 2, 4, 5, 3), dict(size=2, mode="bilinear")),
    ((1, 2, 4, 5), dict(size=2, mode="cubic")),
    ((2, 4), dict(size=(2,))),
    ((1, 1, 2, 2, 2, 2), dict(size=2)),
    ((1, 2, 4, 5), dict(size=(0, 3))),
    ((1, 2, 4, 5), dict(size=(0, 3), mode="bilinear")),
    ((1, 2, 4, 5), dict(size=(-1, 3), mode="bicubic")),
    ((1, 2, 4, 5), dict(scale_factor=0.1)),
    ((1, 2, 4, 5), dict(scale_factor=-1.0)),
    ((1, 2, 4), dict(size=0, mode="linear")),
    ((1, 2, 4, 4, 4), dict(size=(0, 1, 2), mode="trilinear")),
    ((2, 3, 0, 5), dict(scale_factor=2)),
    ((2, 0, 4, 5), dict(scale_factor=2)),
    ((2, 0, 4), dict(size=2, mode="nearest-exact")),
    ((2, 0, 4, 4, 4), dict(size=2, mode="trilinear")),
    ((2, 3, 0, 4), dict(size=2, mode="area")),
    ((2, 3, 0), dict(size=2, mode="area")),
    ((2, 3, 3, 4, 0), dict(size=2, mode="area")),
    ((2, 3, 4, 4), dict(size=(1, -1), mode="area")),
    ((2, 3, 4, 4), dict(size=2), "int64"),
    ((2, 3, 4), dict(size=2), "int8"),
    ((2, 3, 4, 4, 4), dict(size=2), "bool"),
    ((2, 3, 4), dict(size=2, mode="linear"), "uint8"),
    ((2, 3, 4, 4), dict(size=2, mode="bilinear"), "int64"),
    ((2, 3, 4, 4), dict(size=2, mode="bicubic"), "int32"),
    ((2, 3, 4, 4, 4), dict(size=2, mode="trilinear"), "int64"),
    ((2, 3, 4), dict(size=2, mode="area"), "int64"),
    ((2, 3, 4, 4, 4), dict(size=2, mode="area"), "uint8"),
    ((1, 8, 2, 2), dict(upscale_factor=3), "float32", "pixel_shuffle"),
    ((1, 8, 2, 2), dict(upscale_factor=0), "float32", "pixel_shuffle"),
    ((1, 8, 2, 2), dict(upscale_factor=-2), "float32", "pixel_shuffle"),
    ((1, 8, 2, 2), dict(upscale_factor=2.0), "float32", "pixel_shuffle"),
    ((8, 2), dict(upscale_factor=2), "float32", "pixel_shuffle"),
    ((1, 2, 3, 4), dict(downscale_factor=2), "float32", "pixel_unshuffle"),
    ((1, 2, 4, 4), dict(downscale_factor=3), "float32", "pixel_unshuffle"),
    ((1, 2, 4, 3), dict(downscale_factor=3), "float32", "pixel_unshuffle"),
    ((1, 2, 4, 4), dict(downscale_factor=0), "float32", "pixel_unshuffle"),
    ((4, 4), dict(downscale_factor=2), "float32", "pixel_unshuffle"),
    ((1, 8, 2), dict(groups=3), "float32", "channel_shuffle"),
    ((1, 8, 2), dict(groups=0), "float32", "channel_shuffle"),
    ((1, 8, 2), dict(groups=-1), "float32", "channel_shuffle"),
    ((1, 8), dict(groups=2), "float32", "channel_shuffle"),
    ((8,), dict(groups=2), "float32", "channel_shuffle"),
]


@pytest.mark.parametrize("case", _ERRORS, ids=lambda c: f"{c[0]}-{c[1]}-{c[2:]}")
def test_errors_are_torchs(case):
    shape, kw, *rest = case
    with pytest.raises(Exception) as theirs:
        _call(torch, shape, *rest, **kw)
    with pytest.raises(Exception) as ours:
        _call(gpugrad, shape, *rest, **kw)
    assert ours.type is theirs.type, (ours.value, theirs.value)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("dtype", ["uint8", "float16", "bfloat16"])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_of_other_dtypes_matches_torch(dtype, mode):
    a = np.random.default_rng(3).integers(0, 255, (2, 3, 5, 4)).astype(np.float32)
    t = torch.from_numpy(a).to(getattr(torch, dtype))
    g = gpugrad.from_numpy(a).to(getattr(gpugrad, dtype))
    kw = dict(size=(7, 3), mode=mode)
    expected = torch.nn.functional.interpolate(t, **kw)
    got = gpugrad.nn.functional.interpolate(g, **kw)
    assert got.dtype.name == dtype
    np.testing.assert_array_equal(got.float().numpy(), expected.float().numpy())


@pytest.mark.parametrize("mode", ["linear", "area"])
@pytest.mark.parametrize("kw", [dict(size=7), dict(scale_factor=1.7),
                                dict(scale_factor=0.6, recompute_scale_factor=True)])
def test_reduced_precision_interpolates_in_float32(mode, kw):
    """bfloat16 and float16 inputs: the weighted sums in float32, rounded once, as PyTorch."""
    a = np.random.default_rng(9).standard_normal((2, 3, 5)).astype(np.float32)
    for dtype in ("bfloat16", "float16"):
        t = torch.from_numpy(a).to(getattr(torch, dtype))
        g = gpugrad.from_numpy(t.float().numpy()).to(getattr(gpugrad, dtype))
        expected = torch.nn.functional.interpolate(t, mode=mode, **kw)
        got = gpugrad.nn.functional.interpolate(g, mode=mode, **kw)
        assert got.dtype.name == dtype
        np.testing.assert_allclose(got.float().numpy(), expected.float().numpy(), rtol=1e-2,
                                   atol=1e-2)


def test_size_and_factor_forms():
    x = np.random.default_rng(4).standard_normal((1, 2, 3, 5))
    g, t = gpugrad.from_numpy(x), torch.from_numpy(x)
    F, TF = gpugrad.nn.functional, torch.nn.functional
    for kw in (dict(size=g.shape[2:]), dict(size=[4, np.int64(6)]), dict(size=np.int64(4)),
               dict(scale_factor=[2, 1.5]), dict(scale_factor=np.float64(1.5))):
        tkw = {k: (t.shape[2:] if v is g.shape[2:] else v) for k, v in kw.items()}
        np.testing.assert_allclose(F.interpolate(g, mode="bilinear", **kw).numpy(),
                                   TF.interpolate(t, mode="bilinear", **tkw).numpy(),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,message", [
    ("upsample", "`nn.functional.upsample` is deprecated"),
    ("upsample_nearest", "`nn.functional.upsample_nearest` is deprecated"),
    ("upsample_bilinear", "`nn.functional.upsample_bilinear` is deprecated"),
])
def test_deprecated_upsample_functions_warn_and_interpolate(name, message):
    x = np.random.default_rng(5).standard_normal((1, 2, 3, 4))
    outs = []
    for m in (gpugrad, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outs.append(getattr(m.nn.functional, name)(m.from_numpy(x), scale_factor=2))
        assert [w.category for w in caught] == [UserWarning]
        assert str(caught[0].message).startswith(message)
        assert caught[0].filename == __file__  # blamed on the caller
    np.testing.assert_allclose(outs[0].numpy(), outs[1].numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("Upsample", (), dict(scale_factor=2), (2, 3, 4, 5)),
    ("Upsample", (), dict(size=(3, 7), mode="bilinear"), (2, 3, 4, 5)),
    ("Upsample", (), dict(scale_factor=(1.5, 0.5), mode="bicubic", align_corners=True),
     (1, 2, 4, 6)),
    ("Upsample", ((5,),), dict(mode="linear"), (2, 3, 4)),
    ("Upsample", (), dict(scale_factor=2, mode="trilinear", recompute_scale_factor=True),
     (1, 2, 2, 3, 2)),
    ("Upsample", (3,), dict(mode="area"), (1, 2, 7, 5)),
    ("Upsample", (), dict(scale_factor=1.7, mode="nearest-exact"), (1, 2, 4, 5)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (2, 1, 3, 2)),
    ("UpsamplingNearest2d", ((5, 4),), dict(), (2, 1, 3, 2)),
    ("UpsamplingBilinear2d", (), dict(scale_factor=2), (2, 3, 4, 5)),
    ("UpsamplingBilinear2d", (7,), dict(), (2, 3, 4, 5)),
    ("PixelShuffle", (2,), dict(), (2, 8, 3, 4)),
    ("PixelUnshuffle", (3,), dict(), (2, 1, 6, 3)),
    ("ChannelShuffle", (3,), dict(), (2, 6, 3, 2)),
])
def test_modules_match_torch(name, args, kwargs, shape):
    ours, theirs = module_pair(name, *args, **kwargs)  # (their reprs agree)
    x = np.random.default_rng(6).standard_normal(shape)
    assert_same_run(ours, theirs, [x])
    assert_same_run(ours, theirs, [x.transpose(0, 1, *range(2, x.ndim))[:, ::-1].transpose(
        0, 1, *range(2, x.ndim)).copy()])


def test_upsample_attributes_are_torchs():
    for m in (gpugrad, torch):
        up = m.nn.Upsample(scale_factor=(2, 3))
        assert (up.name, up.size, up.scale_factor, up.mode, up.align_corners,
                up.recompute_scale_factor) == ("Upsample", None, (2.0, 3.0), "nearest", None,
                                               None)
        assert m.nn.UpsamplingBilinear2d(4).align_corners is True
        assert m.nn.Upsample(size=3, scale_factor=0).scale_factor is None


@pytest.mark.parametrize("name,shape,factor", [
    ("pixel_shuffle", (0, 4, 2, 3), 2), ("pixel_unshuffle", (0, 1, 4, 2), 2),
    ("channel_shuffle", (0, 4, 3), 2)])
def test_empty_batches_keep_their_shapes_forward_and_backward(name, shape, factor):
    """(PyTorch 2.13's pixel shuffles fail here: pixel_unshuffle returns an empty batch in the
    input's shape, and the backward of both fails; the shapes are those of a non-empty
    batch.)"""
    x = gpugrad.zeros(shape, requires_grad=True)
    out = getattr(gpugrad.nn.functional, name)(x, factor)
    one = getattr(torch.nn.functional, name)(torch.zeros((1,) + shape[1:]), factor)
    assert tuple(out.shape) == (0,) + tuple(one.shape[1:])
    out.sum().backward()
    assert tuple(x.grad.shape) == shape


def test_interpolate_copies_even_at_the_same_size():
    x = gpugrad.ones(1, 1, 3, 3, requires_grad=True)
    for mode in ("nearest", "bilinear", "area"):
        out = gpugrad.nn.functional.interpolate(x, size=(3, 3), mode=mode)
        assert not np.shares_memory(out.detach().numpy(), x.detach().numpy())


@pytest.mark.parametrize("mode,dims", [("linear", 1), ("bilinear", 2), ("bicubic", 2),
                                       ("trilinear", 3)])
def test_dense_product_and_tap_gathers_agree(mode, dims):
    """Finite inputs take one dense product per dim (``resample_dense``), non-finite ones a
    weighted gather per tap (``resample``): both give the same values, gradients and second
    gradients."""
    from gpugrad.nn.functional.upsampling import cubic_taps, linear_taps
    from gpugrad.ops.resample import resample, resample_dense

    rng = np.random.default_rng(1)
    shape = (2, 3, *(5, 4, 3)[:dims])
    x_np = rng.standard_normal(shape)
    results = []
    for fn in (resample_dense, resample):
        x = gpugrad.tensor(x_np, requires_grad=True)
        out = x
        for d in range(2, 2 + dims):
            n_in = out.shape[d]
            maker = cubic_taps if mode == "bicubic" else linear_taps
            out = fn(out, d, maker(n_in, 2 * n_in + 1, False, None, np.float64))
        (gx,) = gpugrad.autograd.grad((out * out).sum(), x, create_graph=True)
        (ggx,) = gpugrad.autograd.grad(gx.sum(), x)
        results.append([t.detach().numpy() for t in (out, gx, ggx)])
    for dense, gathered in zip(*results):
        np.testing.assert_allclose(dense, gathered, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode,shape", [("linear", (1, 2, 6)), ("bilinear", (1, 2, 5, 6)),
                                        ("bicubic", (1, 2, 5, 6)),
                                        ("trilinear", (1, 2, 4, 5, 3))])
def test_non_finite_values_stay_local_as_torchs(mode, shape):
    """An inf or nan input reaches only the outputs whose taps read it (no 0 * inf spread
    through a dense product)."""
    x = np.random.default_rng(2).standard_normal(shape)
    x.reshape(-1)[3], x.reshape(-1)[-2] = np.inf, np.nan
    expected = torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=2, mode=mode)
    got = gpugrad.nn.functional.interpolate(gpugrad.tensor(x), scale_factor=2, mode=mode)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)
