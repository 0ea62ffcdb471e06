"""``affine_grid`` and ``grid_sample`` against PyTorch over every mode, padding mode and corner
alignment (values and the gradients of input and grid), a spatial transformer's step, and
PyTorch's errors and warnings; the registry (opinfo/specs/nn_resample.py) adds float32,
non-contiguous inputs and finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad


def _pair(a):
    return gpugrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode,shape", [
    ("bilinear", (2, 3, 4, 5)), ("bilinear", (1, 2, 1, 3)), ("bilinear", (2, 2, 3, 1)),
    ("bilinear", (1, 2, 3, 4, 5)), ("nearest", (2, 3, 4, 5)), ("nearest", (1, 2, 3, 2, 4)),
    ("bicubic", (2, 3, 4, 5)), ("bicubic", (1, 2, 1, 3))])
def test_grid_sample_matches_torch(mode, shape, padding_mode, align_corners):
    rng = np.random.default_rng(len(shape) + shape[2])
    spatial = len(shape) - 2
    x, tx = _pair(rng.standard_normal(shape))
    g, tg = _pair(rng.uniform(-1.6, 1.6, (shape[0], 3, 4, 2)[: 1 + spatial] + (spatial,)))
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    out = gpugrad.nn.functional.grid_sample(x, g, **kw)
    tout = torch.nn.functional.grid_sample(tx, tg, **kw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-12)
    up = rng.standard_normal(tuple(tout.shape))
    out.backward(gpugrad.tensor(up))
    tout.backward(torch.tensor(up))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(g.grad.numpy(), tg.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 3, 1, 4), (1, 2, 3, 4, 5), (1, 1, 2, 1, 3)])
def test_affine_grid_matches_torch(size, align_corners):
    rng = np.random.default_rng(len(size))
    rows = len(size) - 2
    theta, ttheta = _pair(rng.standard_normal((size[0], rows, rows + 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the unit-size warning: its own test)
        out = gpugrad.nn.functional.affine_grid(theta, size, align_corners=align_corners)
        tout = torch.nn.functional.affine_grid(ttheta, size, align_corners=align_corners)
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-12)
    up = rng.standard_normal(tuple(tout.shape))
    out.backward(gpugrad.tensor(up))
    tout.backward(torch.tensor(up))
    np.testing.assert_allclose(theta.grad.numpy(), ttheta.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("padding_mode", ["border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_points_on_the_edges_get_torchs_grid_gradient(padding_mode, align_corners):
    """Where a clipped or reflected coordinate lands exactly on an edge or on the mirror,
    PyTorch's slope is 0 (clipped) or +1 (the mirror): so is gpugrad's."""
    points = np.array([-1.0, 1.0, -1.5, 1.5, -0.75, 0.0, 3.0, -3.0])
    grid = np.stack(np.meshgrid(points, points), -1)[None]
    x = np.random.default_rng(8).standard_normal((1, 2, 3, 4))
    grads = []
    for m in (gpugrad, torch):
        g = m.tensor(grid, requires_grad=True)
        out = m.nn.functional.grid_sample(m.tensor(x), g, padding_mode=padding_mode,
                                          align_corners=align_corners)
        (out * m.tensor(np.arange(out.numel()).reshape(tuple(out.shape)) % 5 - 2.0)).sum() \
            .backward()
        grads.append((out.detach().numpy(), g.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], atol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], atol=1e-12)


def test_a_spatial_transformer_step_matches_torch():
    """A localization net predicts theta; the image is resampled through its grid; the loss's
    gradient reaches the localization weights through grid_sample and affine_grid."""
    rng = np.random.default_rng(7)
    image = rng.standard_normal((3, 2, 6, 5))
    weight = rng.standard_normal((6, 60)) * 0.01
    bias = np.array([1.0, 0.1, 0.0, -0.1, 0.9, 0.05])
    grads = []
    for m in (gpugrad, torch):
        F = m.nn.functional
        w = m.tensor(weight, requires_grad=True)
        b = m.tensor(bias, requires_grad=True)
        x = m.tensor(image)
        theta = F.linear(x.reshape(3, -1), w, b).reshape(3, 2, 3)
        grid = F.affine_grid(theta, (3, 2, 4, 4), align_corners=False)
        out = F.grid_sample(x, grid, align_corners=False, padding_mode="border")
        (out ** 2).mean().backward()
        grads.append((out.detach().numpy(), w.grad.numpy(), b.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def _sample(m, x_shape, g_shape, x_dtype="float32", g_dtype="float32", **kw):
    kw.setdefault("align_corners", False)
    x = m.zeros(x_shape, dtype=getattr(m, x_dtype))
    return m.nn.functional.grid_sample(x, m.zeros(g_shape, dtype=getattr(m, g_dtype)), **kw)


def _affine(m, theta_shape, size, dtype="float32", **kw):
    kw.setdefault("align_corners", False)
    return m.nn.functional.affine_grid(m.zeros(theta_shape, dtype=getattr(m, dtype)), size,
                                       **kw)


_ERRORS = [
    (_sample, (2, 3, 4, 5), (2, 6, 7, 2), "float32", "float64"),
    (_sample, (2, 3, 4, 5), (6, 7, 2)),
    (_sample, (3, 4, 5), (6, 7, 2)),
    (_sample, (2, 3, 4, 5), (1, 6, 7, 2)),
    (_sample, (2, 3, 4, 5), (2, 6, 7, 3)),
    (_sample, (2, 3, 4, 5, 6), (2, 6, 7, 1, 2)),
    (_sample, (2, 3, 0, 5), (2, 6, 7, 2)),
    (_sample, (2, 3, 4, 5), (2, 6, 7, 2), "float32", "float32", {"mode": "linear"}),
    (_sample, (2, 3, 4, 5), (2, 6, 7, 2), "float32", "float32", {"padding_mode": "wrap"}),
    (_sample, (2, 3, 4, 5), (2, 6, 7, 2), "int64", "int64"),
    (_sample, (2, 3, 4, 5, 6), (2, 3, 4, 5, 3), "float32", "float32", {"mode": "bicubic"}),
    (_affine, (2, 2, 3), (2, 3, 0, 4)),
    (_affine, (2, 2, 3), (2, 3, 4)),
    (_affine, (2, 3, 3), (2, 3, 4, 5)),
    (_affine, (2, 2, 3), (2, 3, 4, 5, 6)),
    (_affine, (2, 2, 3), (2, 3, 4, 5), "int64"),
    (_affine, (3, 2, 3), (2, 3, 4, 5)),
    (_affine, (0, 2, 3), (0, 3, 2, 5), "float32", {"align_corners": True}),
]


@pytest.mark.parametrize("case", _ERRORS, ids=lambda c: f"{c[0].__name__}-{c[1:]}")
def test_errors_are_torchs(case):
    fn, *args = case
    kw = args.pop() if isinstance(args[-1], dict) else {}
    with pytest.raises(Exception) as theirs:
        fn(torch, *args, **kw)
    with pytest.raises(Exception) as ours:
        fn(gpugrad, *args, **kw)
    assert ours.type is theirs.type, (ours.value, theirs.value)
    assert str(ours.value) == str(theirs.value).replace("torch.", "gpugrad.")


@pytest.mark.parametrize("call", [
    lambda m: _sample(m, (1, 1, 2, 2), (1, 1, 1, 2), align_corners=None),
    lambda m: _affine(m, (1, 2, 3), (1, 1, 2, 2), align_corners=None),
    lambda m: _affine(m, (1, 2, 3), (1, 1, 1, 2), align_corners=True),
])
def test_warnings_are_torchs(call):
    caught = []
    for m in (torch, gpugrad):
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            call(m)
        caught.append([(w.category, str(w.message)) for w in got])
    assert caught[0] == caught[1] and len(caught[0]) == 1


def test_empty_batches_and_grids():
    for x_shape, g_shape in (((0, 2, 3, 3), (0, 2, 2, 2)), ((2, 3, 4, 5), (2, 0, 2, 2)),
                             ((2, 0, 4, 5), (2, 3, 2, 2))):
        x = gpugrad.zeros(x_shape, requires_grad=True)
        g = gpugrad.zeros(g_shape, requires_grad=True)
        out = gpugrad.nn.functional.grid_sample(x, g, align_corners=False)
        assert tuple(out.shape) == tuple(_sample(torch, x_shape, g_shape).shape)
        out.sum().backward()
        assert tuple(x.grad.shape) == x_shape and tuple(g.grad.shape) == g_shape


@pytest.mark.parametrize("name", ["GRID_SAMPLE_INTERPOLATION_MODES", "GRID_SAMPLE_PADDING_MODES"])
def test_mode_tables_are_torchs(name):
    got = getattr(gpugrad.nn.functional, name)
    assert type(got) is dict and got == getattr(torch.nn.functional, name)
    assert list(got) == list(getattr(torch.nn.functional, name))
