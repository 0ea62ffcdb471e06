"""The CLIP-style dual encoder (``clip_dual_encoder.py``), run with gpugrad and with PyTorch:
both learn to pair pictures with captions (the contrastive loss falls, zero-shot accuracy and
retrieval recall climb well above chance) and gpugrad lands in a band around PyTorch (the
random streams differ, so that compares learning, not bits); and from shared weights and a
shared batch, float64 steps give PyTorch's loss, every gradient (``logit_scale``'s included),
the AdamW moments and updates with the no-decay group, the clamped temperature and the
scheduled learning rate, for the ViT and the conv image encoder, both ways of normalizing,
and every way of accumulating. Also: cached-feature accumulation gives the full batch's
gradients; the retrieval and zero-shot metrics equal PyTorch's for identical features; and the
idioms the program leans on (``F.normalize``'s eps, ``clamp_`` on ``.data`` and ``_version``,
``triu`` of ``-inf``, ``argmax`` ties, ``nonzero`` shapes) behave as PyTorch's do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

C = load("clip_dual_encoder")
LIBS = [gpugrad, torch]
IDS = ["gpugrad", "torch"]


def test_clip_learns_like_torch():
    ours, theirs = C.main(gpugrad), C.main(torch)
    chance = 1 / len(C.CLASSES)
    for result in (ours, theirs):
        assert result["final_loss"] < 0.75 * result["initial_loss"], result
        assert result["top1"] > 2.5 * chance and result["top5"] > 0.75, result
        assert result["image_to_text_R@5"] > 0.6 and result["text_to_image_R@5"] > 0.6, result
        assert all(np.isfinite(result["scales"])), result
        assert max(result["scales"]) <= 100.0 + 1e-3, result
    # the schedule is arithmetic, the same in both
    np.testing.assert_allclose(ours["lrs"], theirs["lrs"], rtol=1e-12)
    assert ours["lrs"][0] == pytest.approx(3e-3 / 5) and max(ours["lrs"]) == pytest.approx(3e-3)
    band = 0.35 * theirs["final_loss"] + 0.1
    assert abs(ours["final_loss"] - theirs["final_loss"]) <= band, (ours, theirs)
    assert abs(ours["top1"] - theirs["top1"]) <= 0.3, (ours, theirs)


def twin_models(logit_scale=None, **kwargs):
    """The model built by gpugrad and by PyTorch in float64, PyTorch's loaded with gpugrad's
    weights (``logit_scale`` optionally set to a given value in both)."""
    gpugrad.manual_seed(0)
    ours = C.build_clip(gpugrad, **kwargs).double()
    torch.manual_seed(0)
    theirs = C.build_clip(torch, **kwargs).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in state.items()})
    if logit_scale is not None:
        for lib, model in ((gpugrad, ours), (torch, theirs)):
            with lib.no_grad():
                model.logit_scale.fill_(logit_scale)
    return ours, theirs


def twin_batch(lib, seed: int = 0, n: int = 12):
    rng = np.random.default_rng(seed)
    classes = rng.permutation(len(C.CLASSES))[:n]
    images, tokens = C.draw(classes, rng), C.tokenize(C.captions(classes, rng))
    return C.as_batch(lib, images, tokens, dtype=lib.float64)


def snapshot(model, optimizer) -> dict:
    out = {}
    for name, p in model.named_parameters():
        out[name] = p.detach().numpy().copy()
        if p.grad is not None:
            out[f"{name}.grad"] = p.grad.numpy().copy()
        state = optimizer.state[p]
        if state:
            out[f"{name}.step"] = float(state["step"])
            out[f"{name}.exp_avg"] = state["exp_avg"].numpy().copy()
            out[f"{name}.exp_avg_sq"] = state["exp_avg_sq"].numpy().copy()
    for name, b in model.named_buffers():
        out[f"buffer.{name}"] = b.numpy().copy()
    return out


CASES = [
    # image encoder, normalization, micro-batches, accumulation, clamp, starting logit_scale
    ("vit", "functional", 1, "cached", "data", None),
    ("vit", "norm", 3, "cached", "no_grad", 4.7),
    ("vit", "functional", 2, "plain", "data", 5.0),
    ("cnn", "norm", 1, "cached", "no_grad", None),
]


@pytest.mark.parametrize("encoder,normalize,accum,accum_mode,clamp_mode,scale", CASES)
def test_same_start_same_steps_in_float64(encoder, normalize, accum, accum_mode, clamp_mode,
                                          scale):
    """Two AdamW steps with the warm-up schedule on shared weights and batches: the loss, every
    gradient (``logit_scale``'s too), the Adam moments, the weights (decayed or not by group),
    the clamped temperature and the learning rate agree with PyTorch's to ~1e-10."""
    ours, theirs = twin_models(scale, image_encoder=encoder, normalize=normalize)
    results = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        optimizer = lib.optim.AdamW(C.param_groups(model, 0.1), lr=1e-2, betas=(0.9, 0.98),
                                    eps=1e-6)
        scheduler = lib.optim.lr_scheduler.LambdaLR(optimizer, C.cosine_with_warmup(2, 10))
        losses, lrs = [], []
        for step in range(2):
            images, texts = twin_batch(lib, seed=step)
            losses.append(C.train_step(lib, model, optimizer, images, texts, accum=accum,
                                       accum_mode=accum_mode, clamp_mode=clamp_mode))
            scheduler.step()
            lrs.append([g["lr"] for g in optimizer.param_groups])
        results.append((losses, lrs, snapshot(model, optimizer)))
    (losses, lrs, mine), (ref_losses, ref_lrs, ref) = results
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    np.testing.assert_allclose(lrs, ref_lrs, rtol=1e-14)
    assert mine.keys() == ref.keys()
    assert "logit_scale.grad" in ref and "logit_scale.exp_avg" in ref
    for key, expected in ref.items():
        # (1e-9: the key part of ``in_proj_bias``'s gradient is zero up to rounding, which
        # differs from PyTorch's at ~1e-10 of the largest entry)
        if not np.isfinite(expected).all():  # the causal mask
            np.testing.assert_array_equal(mine[key], expected, err_msg=key)
            continue
        scale_ = max(np.abs(expected).max(), 1e-300)
        np.testing.assert_allclose(mine[key], expected, rtol=0, atol=1e-9 * scale_,
                                   err_msg=key)
    if scale is not None:
        # started above log(100): the temperature was clamped back after each step
        assert ours.logit_scale.item() == pytest.approx(4.6052 if clamp_mode == "data"
                                                        else np.log(100), abs=1e-12)
        assert ours.logit_scale.requires_grad and ours.logit_scale.is_leaf


@pytest.mark.parametrize("lib", LIBS, ids=IDS)
def test_clamped_temperature_gets_no_gradient(lib):
    """With ``logit_scale.exp()`` above 100, ``torch.clamp(..., max=100)`` passes no
    gradient to ``logit_scale``; below it, it does."""
    ours, theirs = twin_models(5.0)
    model = ours if lib is gpugrad else theirs
    images, texts = twin_batch(lib)
    C.clip_loss(lib, *model(images, texts)).backward()
    assert float(model.logit_scale.grad) == 0.0
    assert float(model.text_projection.grad.abs().sum()) > 0
    model.zero_grad()
    with lib.no_grad():
        model.logit_scale.fill_(4.0)
    C.clip_loss(lib, *model(images, texts)).backward()
    assert float(model.logit_scale.grad) != 0.0


@pytest.mark.parametrize("lib", LIBS, ids=IDS)
def test_cached_accumulation_gives_full_batch_gradients(lib):
    """Cached-feature accumulation over 3 micro-batches gives the full batch's loss and
    gradients, except ``logit_scale``'s: each micro-batch's pass goes through it, so its
    gradient is counted 3 times. Plain accumulation (a loss per micro-batch) differs."""
    grads, losses = {}, {}
    for accum, mode in ((1, "cached"), (3, "cached"), (3, "plain")):
        ours, theirs = twin_models()
        model = ours if lib is gpugrad else theirs
        optimizer = lib.optim.SGD(model.parameters(), lr=0.0)
        images, texts = twin_batch(lib)
        losses[accum, mode] = C.train_step(lib, model, optimizer, images, texts, accum=accum,
                                           accum_mode=mode)
        grads[accum, mode] = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    assert losses[3, "cached"] == pytest.approx(losses[1, "cached"], rel=1e-12)
    assert losses[3, "plain"] < losses[1, "cached"]  # smaller batches are easier
    for name, g in grads[1, "cached"].items():
        if name == "logit_scale":
            g = 3 * g
        np.testing.assert_allclose(grads[3, "cached"][name], g, rtol=0,
                                   atol=1e-10 * max(np.abs(g).max(), 1e-300), err_msg=name)
    assert not np.allclose(grads[3, "plain"]["text_projection"],
                           grads[1, "cached"]["text_projection"])


def test_param_groups_exclude_gains_biases_and_logit_scale():
    names = []
    for lib in LIBS:
        lib.manual_seed(0)
        for encoder in ("vit", "cnn"):
            model = C.build_clip(lib, image_encoder=encoder)
            groups = C.param_groups(model, 0.2)
            by_id = {id(p): n for n, p in model.named_parameters()}
            no_decay = sorted(by_id[id(p)] for p in groups[0]["params"])
            decay = sorted(by_id[id(p)] for p in groups[1]["params"])
            assert "logit_scale" in no_decay and "token_embedding.weight" in decay
            assert ("visual.class_embedding" in decay) == (encoder == "vit")
            assert ("visual.bn1.weight" in no_decay) == (encoder == "cnn")
            assert all(not n.endswith("bias") for n in decay)
            assert len(no_decay) + len(decay) == len(list(model.parameters()))
            optimizer = lib.optim.AdamW(groups, lr=1e-3)
            assert [g["weight_decay"] for g in optimizer.param_groups] == [0.0, 0.2]
            names.append((no_decay, decay))
    assert names[:2] == names[2:]


def test_retrieval_and_zero_shot_metrics_match_torch():
    """Identical logits give identical recall@k and ranks; shared float64 weights give the
    same zero-shot probabilities and accuracies."""
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((12, 12)) + 2.0 * np.eye(12) * (rng.uniform(size=12) > 0.4)
    out = [C.recall_at_k(lib, lib.from_numpy(logits)) for lib in LIBS]
    assert out[0] == out[1] and 0 < out[1]["R@1"] < 1, out
    out_t = [C.recall_at_k(lib, lib.from_numpy(logits).t()) for lib in LIBS]
    assert out_t[0] == out_t[1], out_t

    ours, theirs = twin_models()
    scores = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        rng = np.random.default_rng(5)
        classes = np.concatenate([rng.permutation(12), rng.permutation(12)])
        images, _ = C.as_batch(lib, C.draw(classes, rng), C.tokenize(["a"] * 24),
                               dtype=lib.float64)
        scores.append(C.zero_shot(lib, model, images, lib.from_numpy(classes)))
        assert model.training
        scores.append(C.retrieval(lib, model, *twin_batch(lib, seed=4)))
    assert scores[0] == scores[2] and scores[1] == scores[3], scores


def test_text_features_ignore_padding_and_read_the_eot_token():
    """The causal mask keeps what follows the end-of-text token (padding, or junk) out of the
    text features, and the pooled row is the EOT one."""
    for lib in LIBS:
        lib.manual_seed(0)
        model = C.build_clip(lib).double()
        tokens = C.tokenize(["a red plus", "blue frame"])
        junk = tokens.copy()
        junk[0, 5:] = [3, 4, 5]
        junk[1, 4:] = [6, 7, 8, 2]
        with lib.no_grad():
            a = model.encode_text(lib.from_numpy(tokens))
            b = model.encode_text(lib.from_numpy(junk))
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)
        assert lib.equal(model.build_attention_mask(),
                         lib.full((C.CONTEXT, C.CONTEXT), float("-inf")).triu(1))
        assert lib.equal(lib.from_numpy(tokens).argmax(dim=-1), lib.tensor([4, 3]))


# --- the idioms nearby, probed against PyTorch -------------------------------------------


def both(fn):
    """``fn(gpugrad)`` and ``fn(torch)``, tensors turned into NumPy, an exception into its
    type name and message."""
    def call(lib):
        try:
            return plain(fn(lib))
        except Exception as e:  # noqa: BLE001 - the error is the result compared
            return (type(e).__name__, str(e))

    def plain(x):
        if isinstance(x, (gpugrad.Tensor, torch.Tensor)):
            return x.detach().numpy()
        if isinstance(x, (tuple, list)):
            return type(x)(plain(v) for v in x) if not hasattr(x, "_fields") else tuple(
                plain(v) for v in x)
        return x
    return call(gpugrad), call(torch)


def assert_same(a, b):
    if isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype, (a, b)
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b, (a, b)


@pytest.mark.parametrize("probe", [
    lambda t: t.nn.functional.normalize(t.zeros(2, 3), dim=-1),
    lambda t: t.nn.functional.normalize(t.tensor([[1e-13, 0.0]]), dim=-1),
    lambda t: t.nn.functional.normalize(t.tensor([[1e-3, 0.0]]), dim=-1, eps=0.1),
    lambda t: t.nn.functional.normalize(t.tensor([[1.0, -3.0], [2.0, 2.0]]), p=1, dim=0),
    lambda t: t.nn.functional.normalize(t.tensor([[3.0, 4.0]]), dim=1, out=t.empty(1, 2)),
    lambda t: t.tensor([[0.0, 0.0]]) / t.tensor([[0.0, 0.0]]).norm(dim=-1, keepdim=True),
    lambda t: t.full((4, 4), float("-inf")).triu(1),
    lambda t: t.full((2, 3, 3), float("-inf")).triu(-1),
    lambda t: t.full((3, 3), float("-inf")).tril(-1),
    lambda t: t.empty(3, 3).fill_(float("-inf")).triu_(1),
    lambda t: t.tensor([[1, 3, 3, 0], [5, 5, 5, 5]]).argmax(dim=-1),
    lambda t: t.tensor([[1.0, float("nan"), 3.0, float("nan")]]).argmax(-1),
    lambda t: t.tensor([[1.0, 3.0], [7.0, 7.0]]).argmax(dim=1, keepdim=True),
    lambda t: t.tensor([[0, 1], [1, 1]]).nonzero(),
    lambda t: (t.tensor([0, 0]) == 1).nonzero(),
    lambda t: t.tensor([[0, 1], [1, 1]]).nonzero(as_tuple=True),
    lambda t: t.tensor(5).nonzero(),
    lambda t: t.tensor(0).nonzero(),
    lambda t: t.zeros(2, 0, 3).nonzero(),
    lambda t: t.tensor([0.0, -0.0, 0.5, float("nan")]).nonzero(),
    lambda t: t.tensor([[0.1, 0.5, 0.2, 0.9, 0.3, 0.0]]).topk(5),
    lambda t: t.tensor([1.0, 3.0, 3.0, 0.0, 3.0]).argsort(descending=True, stable=True),
    lambda t: t.clamp(t.tensor([100.0, 101.0, 3.0]), max=100),
    lambda t: t.tensor([3, 9]).clamp_(0, 4.6052),
    lambda t: t.tensor([0j, 1j, 2.0 + 0j]).nonzero(),
], ids=["normalize-zero", "normalize-tiny", "normalize-eps", "normalize-p1", "normalize-out",
        "divide-by-zero-norm", "triu-inf", "triu-batched", "tril-inf", "triu_-inf",
        "argmax-ties", "argmax-nan", "argmax-keepdim", "nonzero", "nonzero-empty",
        "nonzero-tuple", "nonzero-0d", "nonzero-0d-false", "nonzero-no-elements",
        "nonzero-floats", "topk5", "argsort-stable-desc", "clamp-max",
        "clamp_-int-by-float-error", "nonzero-complex"])
def test_idioms_match_torch(probe):
    assert_same(*both(probe))


@pytest.mark.parametrize("lib", LIBS, ids=IDS)
def test_clamp_on_data_bumps_the_version_and_keeps_the_parameter(lib):
    """``p.data.clamp_`` changes the parameter in place and returns the ``.data`` tensor itself,
    which has a version counter of its own (``p._version`` does not move, unlike through
    ``detach()``); ``p`` stays a leaf that requires grad; a ``clamp_`` on the parameter itself
    outside ``no_grad`` is refused."""
    p = lib.nn.Parameter(lib.ones([]) * np.log(1 / 0.07) * 2)
    v0 = p._version
    data = p.data
    assert data.clamp_(0, 4.6052) is data
    assert p._version == v0 and data._version == 1 and p.data._version == 0
    assert p.item() == pytest.approx(4.6052) and p.requires_grad and p.is_leaf
    p.detach().clamp_(0, 4.6052)
    assert p._version == v0 + 1
    assert not data.requires_grad and data.grad_fn is None
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p.clamp_(0, 1)
    with lib.no_grad():
        p.clamp_(0, 1)
    assert p.item() == 1.0 and p._version == v0 + 2 and data._version == 1
    # a graph that saved p before the clamp sees the new value: grad of p * p is 2 * new p
    q = lib.nn.Parameter(lib.tensor(5.0, dtype=lib.float64))
    y = q * q
    q.data.clamp_(0, 4.0)
    y.backward()
    assert float(q.grad) == 8.0


@pytest.mark.parametrize("lib", LIBS, ids=IDS)
def test_normalize_gradient_at_zero_and_away(lib):
    x = lib.zeros(1, 3, dtype=lib.float64, requires_grad=True)
    lib.nn.functional.normalize(x, dim=-1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 3), 1e12))
    y = lib.tensor([[1.0, 2.0, 2.0]], dtype=lib.float64, requires_grad=True)
    lib.nn.functional.normalize(y, dim=-1)[:, 0].sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [[8 / 27, -2 / 27, -2 / 27]], rtol=1e-14)
