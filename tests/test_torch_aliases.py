"""The top-level aliases of nn.functional (``torch.conv2d``, ``torch.batch_norm``,
``torch.kl_div`` ...) called with PyTorch's top-level signatures (ATen's argument order, int
reductions, required arguments), against PyTorch: values and gradients in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

R = np.random.default_rng(0)


def a(*shape, lo=None, hi=None):
    return R.uniform(lo, hi, shape) if lo is not None else R.standard_normal(shape)


def _idx(*values):
    return np.array(values, dtype=np.int64)


def _to(m, x, grad):
    if isinstance(x, np.ndarray):
        return m.tensor(x, requires_grad=grad and x.dtype.kind == "f")
    return x


# name, op(m, *tensors), inputs (float arrays require grad), indices of inputs without grad
CASES = [
    ("conv1d", lambda m, x, w, b: m.conv1d(x, w, b, 2, 1, 1, 1), (a(2, 2, 7), a(3, 2, 3), a(3)),
     ()),
    ("conv1d_same", lambda m, x, w: m.conv1d(x, w, None, 1, "same"), (a(1, 2, 6), a(2, 2, 3)),
     ()),
    ("conv2d", lambda m, x, w: m.conv2d(x, w, None, 1, 1, 1, 2), (a(1, 4, 5, 5), a(2, 2, 3, 3)),
     ()),
    ("conv3d", lambda m, x, w: m.conv3d(x, w, padding=1), (a(1, 1, 3, 3, 3), a(2, 1, 2, 2, 2)),
     ()),
    ("conv_transpose1d", lambda m, x, w, b: m.conv_transpose1d(x, w, b, 2, 1, 1, 1, 1),
     (a(1, 2, 4), a(2, 3, 3), a(3)), ()),
    ("conv_transpose2d", lambda m, x, w: m.conv_transpose2d(x, w, None, 2, 0, 1, 2, 1),
     (a(1, 4, 3, 3), a(4, 1, 2, 2)), ()),
    ("conv_transpose3d", lambda m, x, w: m.conv_transpose3d(x, w, stride=2),
     (a(1, 1, 2, 2, 2), a(1, 2, 2, 2, 2)), ()),
    ("batch_norm_train", lambda m, x, w, b, rm, rv: m.batch_norm(x, w, b, rm, rv, True, 0.3,
                                                                1e-5, True),
     (a(4, 3, 2), a(3), a(3), a(3), a(3, lo=0.5, hi=2)), (3, 4)),
    ("batch_norm_eval", lambda m, x, w, b, rm, rv: m.batch_norm(x, w, b, rm, rv, False, 0.1,
                                                               1e-5, False),
     (a(4, 3), a(3), a(3), a(3), a(3, lo=0.5, hi=2)), (3, 4)),
    ("batch_norm_no_stats", lambda m, x: m.batch_norm(x, None, None, None, None, True, 0.1,
                                                     1e-3, True), (a(5, 2, 3),), ()),
    ("layer_norm", lambda m, x, w, b: m.layer_norm(x, [3, 4], w, b, 1e-3, True),
     (a(2, 3, 4), a(3, 4), a(3, 4)), ()),
    ("group_norm", lambda m, x, w, b: m.group_norm(x, 2, w, b, 1e-4, False),
     (a(2, 4, 3), a(4), a(4)), ()),
    ("instance_norm", lambda m, x, w, b: m.instance_norm(x, w, b, None, None, True, 0.1, 1e-5,
                                                        True), (a(2, 3, 5), a(3), a(3)), ()),
    ("instance_norm_stats", lambda m, x, rm, rv: m.instance_norm(x, None, None, rm, rv, True,
                                                                0.2, 1e-5, True),
     (a(2, 3, 5), a(3), a(3, lo=0.5, hi=2)), (1, 2)),
    ("rms_norm", lambda m, x, w: m.rms_norm(x, [4], w, 1e-6), (a(3, 4), a(4)), ()),
    ("embedding", lambda m, w, i: m.embedding(w, i), (a(5, 3), _idx(1, 4, 4, 0)), ()),
    ("embedding_padding", lambda m, w, i: m.embedding(w, i, 1, True),
     (a(5, 3), _idx(1, 4, 1, 4, 0)), ()),
    ("embedding_negative_is_none", lambda m, w, i: m.embedding(w, i, -2),
     (a(5, 3), _idx(3, 4)), ()),
    ("pixel_shuffle", lambda m, x: m.pixel_shuffle(x, 2), (a(1, 8, 2, 3),), ()),
    ("pixel_unshuffle", lambda m, x: m.pixel_unshuffle(x, 2), (a(1, 2, 4, 2),), ()),
    ("channel_shuffle", lambda m, x: m.channel_shuffle(x, 2), (a(2, 4, 3),), ()),
    ("native_channel_shuffle", lambda m, x: m.native_channel_shuffle(x, 3), (a(1, 6, 2),), (0,)),
    ("cosine_similarity", lambda m, x, y: m.cosine_similarity(x, y, 0, 1e-6),
     (a(4, 3), a(4, 1)), ()),
    ("pairwise_distance", lambda m, x, y: m.pairwise_distance(x, y, 3.0, 1e-6, True),
     (a(4, 3), a(4, 3)), ()),
    ("pdist", lambda m, x: m.pdist(x, 1.5), (a(4, 3),), ()),
    ("selu", lambda m, x: m.selu(x), (a(3, 4),), ()),
    ("celu", lambda m, x: m.celu(x, 0.7), (a(3, 4),), ()),
    ("prelu", lambda m, x, w: m.prelu(x, w), (a(2, 3, 4), a(3, lo=0.1, hi=0.4)), ()),
    ("prelu_method", lambda m, x, w: x.prelu(w), (a(2, 3), a(1, lo=0.1, hi=0.4)), ()),
    ("rrelu_eval", lambda m, x: m.rrelu(x, 0.1, 0.3), (a(3, 4),), ()),
    ("threshold", lambda m, x: m.threshold(x, 0.1, 20.0), (a(3, 4),), ()),
    ("hardshrink", lambda m, x: m.hardshrink(x, 0.3), (a(3, 4),), ()),
    ("hardshrink_method", lambda m, x: x.hardshrink(), (a(3, 4),), ()),
    ("dropout_eval", lambda m, x: m.dropout(x, 0.5, False), (a(3, 4),), ()),
    ("alpha_dropout_eval", lambda m, x: m.alpha_dropout(x, 0.5, False), (a(3, 4),), ()),
    ("feature_dropout_eval", lambda m, x: m.feature_dropout(x, 0.5, False), (a(2, 3, 4),), ()),
    ("feature_alpha_dropout_eval", lambda m, x: m.feature_alpha_dropout(x, 0.2, False),
     (a(2, 3, 4),), ()),
    ("kl_div", lambda m, x, y: m.kl_div(x, y, 2, log_target=True), (a(3, 4), a(3, 4)), ()),
    ("kl_div_default", lambda m, x, y: m.kl_div(x, y), (a(3, 4), a(3, 4, lo=0.1, hi=1)), ()),
    ("kl_div_mean", lambda m, x, y: m.kl_div(x, y, 1), (a(3, 4), a(3, 4, lo=0.1, hi=1)), ()),
    ("ctc_loss", lambda m, lp, t: m.ctc_loss(lp.log_softmax(2), t, [5, 4], [2, 3], 0, 2, False),
     (a(5, 2, 4), _idx(1, 2, 3, 1, 2)), ()),
    ("margin_ranking_loss", lambda m, x, y, t: m.margin_ranking_loss(x, y, t, 0.1, 0),
     (a(5), a(5), np.array([1.0, -1, 1, 1, -1])), (2,)),
    ("hinge_embedding_loss", lambda m, x, t: m.hinge_embedding_loss(x, t, 0.5, 2),
     (a(2, 3), np.array([[1.0, -1, 1], [-1, -1, 1]])), (1,)),
    ("cosine_embedding_loss", lambda m, x, y, t: m.cosine_embedding_loss(x, y, t, 0.1, 1),
     (a(3, 4), a(3, 4), np.array([1.0, -1, 1])), (2,)),
    ("triplet_margin_loss", lambda m, x, y, z: m.triplet_margin_loss(x, y, z, 0.5, 1.0, 1e-6,
                                                                    True, 0),
     (a(3, 4), a(3, 4), a(3, 4)), ()),
    ("poisson_nll_loss", lambda m, x, t: m.poisson_nll_loss(x, t, False, True, 1e-8, 1),
     (a(3, 4, lo=0.5, hi=2), a(3, 4, lo=1, hi=3)), ()),
    ("bce_with_logits", lambda m, x, t, w, pw: m.binary_cross_entropy_with_logits(x, t, w, pw,
                                                                                 2),
     (a(3, 4), a(3, 4, lo=0, hi=1), a(4, lo=0.5, hi=1), a(4, lo=0.5, hi=2)), (2, 3)),
    ("bce_with_logits_default", lambda m, x, t: m.binary_cross_entropy_with_logits(x, t),
     (a(3, 4), a(3, 4, lo=0, hi=1)), ()),
    ("bilinear", lambda m, x, y, w, b: m.bilinear(x, y, w, b), (a(3, 2), a(3, 4), a(5, 2, 4),
                                                                a(5)), ()),
    ("constant_pad_nd", lambda m, x: m.constant_pad_nd(x, [1, 2, -1, 1], 0.5), (a(2, 3, 4),),
     ()),
    ("constant_pad_nd_default", lambda m, x: m.constant_pad_nd(x, (2, 1)), (a(2, 3),), ()),
    ("affine_grid_generator", lambda m, t: m.affine_grid_generator(t, [2, 1, 3, 4], False),
     (a(2, 2, 3),), ()),
    ("grid_sampler", lambda m, x, g: m.grid_sampler(x, g.tanh(), 0, 1, True),
     (a(1, 2, 4, 5), a(1, 3, 2, 2)), ()),
    ("grid_sampler_bicubic", lambda m, x, g: m.grid_sampler(x, g.tanh(), 2, 2, False),
     (a(1, 1, 4, 4), a(1, 2, 3, 2)), ()),
    ("cdist", lambda m, x, y: m.cdist(x, y), (a(2, 4, 3), a(2, 5, 3)), ()),
    ("lstm_cell", lambda m, x, h, c, wi, wh, bi, bh: m.cat(m.lstm_cell(x, (h, c), wi, wh, bi,
                                                                       bh), 1),
     (a(3, 4), a(3, 2), a(3, 2), a(8, 4), a(8, 2), a(8), a(8)), ()),
    ("lstm_cell_no_bias", lambda m, x, h, c, wi, wh: m.cat(m.lstm_cell(x, [h, c], wi, wh), 1),
     (a(2, 3), a(2, 2), a(2, 2), a(8, 3), a(8, 2)), ()),
    ("gru_cell", lambda m, x, h, wi, wh, bi, bh: m.gru_cell(x, h, wi, wh, bi, bh),
     (a(3, 4), a(3, 2), a(6, 4), a(6, 2), a(6), a(6)), ()),
    ("rnn_tanh_cell", lambda m, x, h, wi, wh, bi: m.rnn_tanh_cell(x, h, wi, wh, bi),
     (a(3, 4), a(3, 2), a(2, 4), a(2, 2), a(2)), ()),
    ("rnn_relu_cell", lambda m, x, h, wi, wh: m.rnn_relu_cell(x, h, wi, wh),
     (a(3, 4), a(3, 2), a(2, 4), a(2, 2)), ()),
]


@pytest.mark.parametrize("call", [
    lambda m, x, h, w: m.lstm_cell(x, h, w, w),
    lambda m, x, h, w: m.lstm_cell(x, (h,), w, w),
    lambda m, x, h, w: m.lstm_cell(x[0], (h[0], h[0]), w, w),
    lambda m, x, h, w: m.gru_cell(x[:, :2], h, w, w),
])
def test_recurrent_cells_refuse_bad_input_as_torch(call):
    errors = []
    for m in (gpugrad, torch):
        x, h, w = m.ones(2, 3), m.ones(2, 3), m.ones(12, 3)
        with pytest.raises(Exception) as err:
            call(m, x, h, w)
        errors.append((type(err.value), str(err.value)))
    assert errors[0] == errors[1]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_alias_matches_torch(case):
    _, op, inputs, no_grad = case
    outs = []
    for m in (gpugrad, torch):
        args = [_to(m, x, i not in no_grad) for i, x in enumerate(inputs)]
        out = op(m, *args)
        up = np.random.default_rng(1).standard_normal(tuple(out.shape))
        grads = []
        if out.requires_grad:
            out.backward(m.tensor(up))
            grads = [x.grad for x in args if getattr(x, "requires_grad", False)]
        outs.append((out.detach().numpy(), [g.numpy() for g in grads],
                     [x.detach().numpy() for x in args if hasattr(x, "detach")]))
    (ours, our_grads, our_args), (theirs, their_grads, their_args) = outs
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)
    assert len(our_grads) == len(their_grads)
    for g, t in zip(our_grads, their_grads):
        np.testing.assert_allclose(g, t, rtol=1e-7, atol=1e-9)
    for x, t in zip(our_args, their_args):  # running statistics updated alike
        np.testing.assert_allclose(x, t, rtol=1e-7, atol=1e-12)


def test_eval_dropouts_return_the_input():
    x = gpugrad.randn(2, 3, 4)
    for fn in (gpugrad.dropout, gpugrad.alpha_dropout, gpugrad.feature_dropout,
               gpugrad.feature_alpha_dropout):
        assert fn(x, 0.5, False) is x


def test_train_dropouts():
    gpugrad.manual_seed(0)
    x = gpugrad.ones(20, 30, 8, dtype=gpugrad.float64)
    out = gpugrad.dropout(x, 0.25, True).numpy()
    assert set(np.unique(out)) <= {0.0, 1 / 0.75}
    feat = gpugrad.feature_dropout(x, 0.5, True).numpy()
    assert set(np.unique(feat)) == {0.0, 2.0}
    assert (feat == feat[:, :, :1]).all()  # whole channels
    y = x.clone()
    assert gpugrad.dropout_(y, 0.5, True) is y and set(np.unique(y.numpy())) == {0.0, 2.0}
    y = x.clone()
    assert gpugrad.feature_dropout_(y, 0.5, True) is y
    assert (y.numpy() == y.numpy()[:, :, :1]).all()
    for fn in (gpugrad.alpha_dropout_, gpugrad.feature_alpha_dropout_):
        y = gpugrad.randn(50, 40, 2, dtype=gpugrad.float64)
        assert fn(y, 0.2, True) is y
    # alpha dropout keeps a standard input's mean and variance (as PyTorch's)
    z = gpugrad.randn(200000, dtype=gpugrad.float64)
    kept = gpugrad.alpha_dropout(z, 0.3, True).numpy()
    assert abs(kept.mean()) < 0.02 and abs(kept.std() - 1) < 0.02


def test_dropout_has_no_defaults():
    x = gpugrad.ones(3)
    with pytest.raises(TypeError):
        gpugrad.dropout(x, 0.5)
    with pytest.raises(TypeError):
        gpugrad.batch_norm(x, None, None, None, None, True, 0.1, 1e-5)
    with pytest.raises(ValueError, match="dropout probability"):
        gpugrad.feature_dropout(gpugrad.ones(2, 3), 1.5, True)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        gpugrad.feature_dropout(x, 0.5, True)


def test_rrelu_generator_and_in_place():
    x = gpugrad.randn(50, dtype=gpugrad.float64)
    g1, g2 = gpugrad.Generator().manual_seed(3), gpugrad.Generator().manual_seed(3)
    one = gpugrad.rrelu(x, 0.1, 0.3, True, g1)
    two = gpugrad.rrelu(x, 0.1, 0.3, True, generator=g2)
    np.testing.assert_array_equal(one.numpy(), two.numpy())
    neg = x.numpy() < 0
    slopes = one.numpy()[neg] / x.numpy()[neg]
    assert ((slopes >= 0.1) & (slopes <= 0.3)).all()
    np.testing.assert_array_equal(one.numpy()[~neg], x.numpy()[~neg])
    y = x.clone()
    assert gpugrad.rrelu_(y, 0.1, 0.3, True, gpugrad.Generator().manual_seed(3)) is y
    np.testing.assert_array_equal(y.numpy(), one.numpy())
    with pytest.raises(TypeError, match="generator"):
        gpugrad.rrelu(x, training=True, generator=3)


def test_in_place_activations():
    for name, args in (("selu_", ()), ("celu_", (0.5,)), ("threshold_", (0.2, -1.0))):
        data = a(3, 4)
        ours, theirs = gpugrad.tensor(data), torch.tensor(data)
        assert getattr(gpugrad, name)(ours, *args) is ours
        getattr(torch, name)(theirs, *args)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_int_reductions_are_checked():
    x = gpugrad.randn(3, 4)
    for bad in (3, -1, "mean", True):
        with pytest.raises(ValueError, match="reduction"):
            gpugrad.kl_div(x, x, bad)
    with pytest.raises(ValueError, match="interpolation_mode"):
        gpugrad.grid_sampler(gpugrad.randn(1, 1, 2, 2), gpugrad.zeros(1, 1, 1, 2), 3, 0, False)
    with pytest.raises(ValueError, match="padding_mode"):
        gpugrad.grid_sampler(gpugrad.randn(1, 1, 2, 2), gpugrad.zeros(1, 1, 1, 2), 0, 5, False)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("padding_idx", [None, 4])
def test_embedding_bag_outputs(mode, padding_idx):
    w = a(10, 3)
    idx = _idx(1, 2, 4, 5, 4, 3, 2, 9)
    off = _idx(0, 3, 3, 6)
    wg, wt = gpugrad.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    ours = gpugrad.embedding_bag(wg, gpugrad.tensor(idx), gpugrad.tensor(off), False, mode,
                                 False, None, False, padding_idx)
    args = (wt, torch.tensor(idx), torch.tensor(off), False, mode, False, None, False)
    theirs = torch.embedding_bag(*args, padding_idx) if padding_idx is not None else \
        torch.embedding_bag(*args)
    np.testing.assert_allclose(ours[0].detach().numpy(), theirs[0].detach().numpy(), rtol=1e-12)
    if mode:  # (PyTorch's CPU kernel leaves offset2bag and bag_size empty in sum mode)
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
        np.testing.assert_array_equal(ours[2].numpy(), theirs[2].numpy())
    else:
        np.testing.assert_array_equal(ours[2].numpy(), [3, 0, 3, 2] if padding_idx is None
                                      else [2, 0, 2, 2])
    if mode == 2:
        np.testing.assert_array_equal(ours[3].numpy(), theirs[3].numpy())
    up = a(*ours[0].shape)
    ours[0].backward(gpugrad.tensor(up))
    theirs[0].backward(torch.tensor(up))
    np.testing.assert_allclose(wg.grad.numpy(), wt.grad.numpy(), rtol=1e-12)


def test_embedding_bag_two_d_and_per_sample_weights():
    w, idx, psw = a(6, 2), _idx(1, 2, 3, 0, 5, 5), a(6)
    # (PyTorch's top-level function fails on 2-D indices; its F.embedding_bag flattens them)
    ours = gpugrad.embedding_bag(gpugrad.tensor(w), gpugrad.tensor(idx.reshape(2, 3)),
                                 gpugrad.tensor(_idx()), False, 1)
    theirs = torch.nn.functional.embedding_bag(torch.tensor(idx.reshape(2, 3)), torch.tensor(w))
    np.testing.assert_allclose(ours[0].numpy(), theirs.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ours[1].numpy(), [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(ours[2].numpy(), [3, 3])
    ours = gpugrad.embedding_bag(gpugrad.tensor(w), gpugrad.tensor(idx), gpugrad.tensor(
        _idx(0, 2, 6)), False, 0, False, gpugrad.tensor(psw), True)
    theirs = torch.embedding_bag(torch.tensor(w), torch.tensor(idx), torch.tensor(
        _idx(0, 2, 6)), False, 0, False, torch.tensor(psw), True)
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="mode"):
        gpugrad.embedding_bag(gpugrad.tensor(w), gpugrad.tensor(idx), gpugrad.tensor(_idx(0)),
                              False, 3)


def test_default_reduction_is_none_as_torch_binds_it():
    x, y = a(3, 4), a(3, 4, lo=0.1, hi=1)
    for name in ("kl_div", "binary_cross_entropy_with_logits", "hinge_embedding_loss"):
        ours = getattr(gpugrad, name)(gpugrad.tensor(x), gpugrad.tensor(y))
        theirs = getattr(torch, name)(torch.tensor(x), torch.tensor(y))
        assert tuple(ours.shape) == tuple(theirs.shape) == (3, 4)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_cdist_p0_counts_differences():
    x, y = a(3, 2), a(4, 2)
    y[0, 1] = x[1, 1]
    ours = gpugrad.cdist(gpugrad.tensor(x), gpugrad.tensor(y), 0.0)
    np.testing.assert_array_equal(ours.numpy(),
                                  torch.cdist(torch.tensor(x), torch.tensor(y), 0.0).numpy())


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, float("inf")])
def test_cdist_norms(p):
    x, y = a(3, 4, 2), a(1, 5, 2)
    y[0, 0] = x[0, 0]  # a zero distance: PyTorch's gradient there is 0
    outs = []
    for m in (gpugrad, torch):
        xt, yt = m.tensor(x, requires_grad=True), m.tensor(y, requires_grad=True)
        d = m.cdist(xt, yt, p)
        d.backward(m.tensor(np.ones(tuple(d.shape))))
        outs.append([d.detach().numpy(), xt.grad.numpy(), yt.grad.numpy()])
    for ours, theirs in zip(*outs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist",
                                  "use_mm_for_euclid_dist_if_necessary"])
def test_cdist_compute_modes(mode):
    x, y = a(30, 3), a(4, 3)  # 30 rows: "if necessary" takes the matmul
    outs = []
    for m in (gpugrad, torch):
        xt, yt = m.tensor(x, requires_grad=True), m.tensor(y, requires_grad=True)
        d = m.cdist(xt, yt, compute_mode=mode)
        d.sum().backward()
        outs.append([d.detach().numpy(), xt.grad.numpy(), yt.grad.numpy()])
    for ours, theirs in zip(*outs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_cdist_float32_and_gradcheck():
    x, y = a(3, 2), a(4, 2)
    d = gpugrad.cdist(gpugrad.tensor(x, dtype=gpugrad.float32),
                      gpugrad.tensor(y, dtype=gpugrad.float32))
    assert d.dtype == gpugrad.float32
    np.testing.assert_allclose(d.numpy(), torch.cdist(torch.tensor(x), torch.tensor(y)).numpy(),
                               rtol=1e-5)
    for mode in ("use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
        for p in (1.0, 2.0, 3.0):
            xt = gpugrad.tensor(x, requires_grad=True)
            yt = gpugrad.tensor(y, requires_grad=True)
            assert gpugrad.autograd.gradcheck(
                lambda u, v, p=p, mode=mode: gpugrad.cdist(u, v, p, mode), (xt, yt))
    empty = gpugrad.cdist(gpugrad.zeros(0, 3), gpugrad.zeros(4, 3))
    assert tuple(empty.shape) == (0, 4)


def test_cdist_errors():
    x = gpugrad.randn(3, 2)
    with pytest.raises(RuntimeError, match="at least 2D"):
        gpugrad.cdist(gpugrad.randn(3), x)
    with pytest.raises(RuntimeError, match="same number of columns"):
        gpugrad.cdist(x, gpugrad.randn(3, 4))
    with pytest.raises(RuntimeError, match="non-negative p"):
        gpugrad.cdist(x, x, -1.0)
    with pytest.raises(RuntimeError, match="floating-point"):
        gpugrad.cdist(x, gpugrad.ones(3, 2, dtype=gpugrad.int64))
    for bad in ("fast", None):
        with pytest.raises(ValueError, match="compute_mode"):
            gpugrad.cdist(x, x, compute_mode=bad)


def test_aliases_under_cpu_autocast_as_torch():
    x, w = a(1, 2, 5, 5), a(3, 2, 3, 3)
    u, v = a(30, 3), a(4, 3)
    results = []
    for m in (gpugrad, torch):
        with m.autocast("cpu", dtype=m.bfloat16):
            conv = m.conv2d(m.tensor(x, dtype=m.float32), m.tensor(w, dtype=m.float32))
            dist = m.cdist(m.tensor(u, dtype=m.bfloat16), m.tensor(v, dtype=m.bfloat16))
            loss = m.kl_div(m.tensor(u, dtype=m.bfloat16), m.tensor(u, dtype=m.bfloat16), 1)
        results.append([str(t.dtype).split(".")[1] for t in (conv, dist, loss)])
    assert results[0] == results[1] == [["bfloat16", "float32", "float32"]][0]
