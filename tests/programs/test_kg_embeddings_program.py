"""Knowledge-graph embeddings (kg_embeddings.py): TransE and RotatE run with gpugrad and with
PyTorch. Both libraries learn to rank held-out triples far above chance and land in a band
around each other (their random streams differ); from the same weights and the same
NumPy-drawn negatives and batch order, float64 training gives the same loss at every step
and the same ranking metrics; one batch's gradients agree; and RotatE's complex form
(``torch.polar``, ``view_as_complex``, ``abs``) matches its real cos/sin form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

KG = load("kg_embeddings")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def test_kg_embeddings_train_like_torch():
    theirs, ours = both(lambda m: KG.main(m, epochs=30))[::-1]
    for name, shrink, mrr in (("transe", 0.3, 0.15), ("rotate", 0.5, 0.8)):
        assert_trains_like_torch(ours[name], theirs[name], shrink=shrink, rel=0.3)
        for result in (ours[name], theirs[name]):
            # chance is about 0.08 (48 entities, filtered); untrained models sit near it
            assert result["before"]["mrr"] < 0.15, (name, result["before"])
            assert result["mrr"] > mrr and result["mrr"] > 2 * result["before"]["mrr"], name
            assert 0 <= result["hits@1"] <= result["hits@3"] <= result["hits@10"] <= 1
        assert abs(ours[name]["mrr"] - theirs[name]["mrr"]) < 0.2, name


def _same_start_state(dtype, complex_form=False):
    """gpugrad's freshly initialized weights, and the same as PyTorch tensors (via NumPy)."""
    gpugrad.manual_seed(0)
    models = KG.make_models(gpugrad, dtype, complex_form=complex_form)
    ours = {name: model.state_dict() for name, model in models.items()}
    theirs = {name: {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in sd.items()}
              for name, sd in ours.items()}
    return ours, theirs


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_same_start_trains_as_torch(dtype, rtol):
    """From gpugrad's initial weights copied into PyTorch's models, with NumPy's batch order
    and negatives, a few epochs give the same loss at every step, in-place renormalization
    of TransE's entities and the self-adversarial weights included, and (in float64) the
    same filtered ranks (the metrics' last bits may differ with the order of the mean)."""
    ours_state, theirs_state = _same_start_state(dtype)
    ours = KG.main(gpugrad, epochs=3, dtype=dtype, initial_state=ours_state, numpy_order=True)
    theirs = KG.main(torch, epochs=3, dtype=dtype, initial_state=theirs_state,
                     numpy_order=True)
    for name in ("transe", "rotate"):
        assert len(ours[name]["losses"]) == len(theirs[name]["losses"]) == 3 * 7
        np.testing.assert_allclose(ours[name]["losses"], theirs[name]["losses"], rtol=rtol,
                                   err_msg=name)
        assert ours[name]["before"]["ranks"] == theirs[name]["before"]["ranks"], name
        if dtype == "float64":
            assert ours[name]["ranks"] == theirs[name]["ranks"], name
        for key in ("mrr", "hits@1", "hits@3", "hits@10"):
            assert ours[name]["before"][key] == pytest.approx(theirs[name]["before"][key],
                                                              abs=1e-12), name
            if dtype == "float64":
                assert ours[name][key] == pytest.approx(theirs[name][key], abs=1e-12), name


@pytest.mark.parametrize("complex_form, p_norm", [(False, 1), (True, 2)],
                         ids=["cos_sin-L1", "polar-L2"])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 2e-5)])
def test_one_gradient_matches_torch(dtype, rtol, complex_form, p_norm):
    """Same weights, same batch and negatives: each model's loss and every ``.grad`` agree
    (RotatE in its real and its complex form, TransE with L1 and L2 distances)."""
    ours_state, theirs_state = _same_start_state(dtype, complex_form)
    ours = KG.loss_and_grads(gpugrad, KG.make_models(gpugrad, dtype, ours_state,
                                                     complex_form=complex_form,
                                                     p_norm=p_norm))
    theirs = KG.loss_and_grads(torch, KG.make_models(torch, dtype, theirs_state,
                                                     complex_form=complex_form,
                                                     p_norm=p_norm))
    for model in ("transe", "rotate"):
        (ours_loss, ours_grads), (theirs_loss, theirs_grads) = ours[model], theirs[model]
        assert ours_loss == pytest.approx(theirs_loss, rel=rtol), model
        assert ours_grads.keys() == theirs_grads.keys()
        for name, expected in theirs_grads.items():
            got = ours_grads[name]
            assert str(got.dtype)[-7:] == str(expected.dtype)[-7:] == dtype, name
            expected = expected.numpy()
            np.testing.assert_allclose(got.numpy(), expected, rtol=rtol,
                                       atol=rtol * np.abs(expected).max(),
                                       err_msg=f"{model}.{name}")


@LIBS
def test_rotate_complex_form_matches_real_form(lib):
    """The polar/view_as_complex distance equals the cos/sin one, values and gradients."""
    _, RotatE = KG.build(lib)
    lib.manual_seed(1)
    real = RotatE(10, 3, dim=4).double()
    cplx = RotatE(10, 3, dim=4, complex_form=True).double()
    cplx.load_state_dict(real.state_dict())
    positive = lib.tensor([[0, 1, 2], [3, 2, 4], [5, 0, 9]])
    negative = lib.tensor([[1, 2], [6, 7], [8, 0]])
    corrupt_head = lib.tensor([True, False, True])
    values, grads = [], []
    for model in (real, cplx):
        score = model(positive, negative, corrupt_head)
        (score.sum() + model(positive).pow(2).sum()).backward()
        values.append(score.detach().numpy())
        grads.append([p.grad.numpy() for p in model.parameters()])
    np.testing.assert_allclose(values[0], values[1], rtol=1e-12)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@LIBS
def test_filtered_ranks_by_hand(lib):
    """A model whose scores are fixed: known answers other than the target are masked, and
    the rank is the target's place among the rest (argsort, ==, nonzero)."""
    class Fixed:
        def score_all(self, heads, rels, tails, predict_tail=True):
            base = lib.tensor([[0.1, 0.9, 0.5, 0.7, 0.3]], dtype=lib.float64)
            return base.repeat(len(heads), 1) if predict_tail else -base.repeat(len(heads), 1)

    test = np.array([[0, 0, 2], [4, 0, 1]], dtype=np.int64)
    known = np.array([[0, 0, 2], [0, 0, 1], [4, 0, 1], [3, 0, 2]], dtype=np.int64)
    ranks = KG.filtered_ranks(lib, Fixed(), test, known, 5).tolist()
    # tails: (0,0,?) target 2, entity 1 masked -> order 3, 2: rank 2; (4,0,?) target 1: rank 1
    # heads (negated scores): (?,0,2) target 0, entity 3 masked -> 0 is best: rank 1;
    # (?,0,1) target 4, entity 0 masked -> 4 (-0.3) is best of the rest: rank 1
    assert ranks == [2, 1, 1, 1]
    metrics = KG.ranking_metrics(lib, lib.tensor(ranks))
    assert metrics["mrr"] == pytest.approx((0.5 + 3) / 4)
    assert metrics["hits@1"] == pytest.approx(0.75) and metrics["hits@3"] == 1.0
