"""The CTC speech recogniser of ``ctc_speech.py``, run with gpugrad and with PyTorch: both
learn the synthetic phoneme sequences (the CTC loss falls, the greedy and beam-search phoneme
error rates drop near zero; the random streams differ, so training is compared within a band).
From the same weights in float64 the two libraries give the same log-probabilities, the same
CTC loss for every reduction with padded and with concatenated targets (and with an impossible
alignment under ``zero_infinity``), and the same gradients; a few AdamW + OneCycleLR +
``clip_grad_norm_`` steps leave both at the same weights. The decoders, the SpecAugment masks
and the strided-convolution lengths are checked on their own."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

CTC = load("ctc_speech")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def test_ctc_model_trains_like_torch():
    ours, theirs = both(CTC.main)
    # over seeds 0-9 (PyTorch and gpugrad alike): held-out CTC loss 4.2-4.6 at the start,
    # 0.03-0.25 after 60 steps; greedy phoneme error rate 0.8-1.0, then 0-0.2
    assert_trains_like_torch(ours, theirs, shrink=0.1, rel=3.0)
    for result in (ours, theirs):
        assert result["initial_per"] > 0.6, result
        assert result["final_per"] < 0.3, result
        assert result["beam_per"] < 0.3, result
        # padded and concatenated targets give the same loss
        assert result["initial_loss_flat"] == pytest.approx(result["initial_loss"], rel=1e-6)
        assert result["final_loss_flat"] == pytest.approx(result["final_loss"], rel=1e-6)
        losses, sums = np.array(result["train_losses"]), np.array(result["train_sums"])
        assert np.isfinite(losses).all() and np.isfinite(result["grad_norms"]).all()
        assert losses[-10:].mean() < 0.2 * losses[:5].mean(), result
        # 'mean' divides each loss by its target length (2 to 5 labels) over batches of 8
        assert (sums / 40 <= losses * (1 + 1e-5)).all() and (losses <= sums / 16 * (1 + 1e-5)).all()
        # OneCycleLR: up from max_lr / 25 for 25% of the 60 steps, down to max_lr / 25 / 1e4
        rates = result["rates"]
        assert len(rates) == 60
        assert rates[0] == pytest.approx(1e-2 / 25, rel=1e-6)
        assert max(rates) == rates[14] == pytest.approx(1e-2, rel=1e-6)
        assert rates[-1] == pytest.approx(1e-2 / 25 / 1e4, rel=1e-6)


def twin_models(dropout=0.1, seed=0):
    """The model built by gpugrad and by PyTorch in float64, PyTorch's with gpugrad's
    weights."""
    gpugrad.manual_seed(seed)
    ours = CTC.build(gpugrad, dropout=dropout).double()
    torch.manual_seed(seed)
    theirs = CTC.build(torch, dropout=dropout).double()
    our_state = ours.state_dict()
    assert list(our_state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().cpu().numpy().copy())
                            for k, v in our_state.items()})
    return {gpugrad: ours, torch: theirs}


BATCH = CTC.utterances(6, seed=7)


@pytest.mark.parametrize("case", ["possible", "impossible"])
def test_same_weights_same_ctc_losses_and_gradients(case):
    """Every reduction, padded and concatenated targets; "impossible" gives the first
    utterance one output frame (fewer than its labels), an infinite loss that
    ``zero_infinity=True`` turns into 0 with a zero gradient."""
    models = twin_models()
    results = {}
    for lib, model in models.items():
        model.eval()
        x, lengths, targets, target_lengths, flat = CTC.collate(lib, BATCH, dtype=lib.float64)
        x.requires_grad_(True)
        log_probs, out_lengths = model(x, lengths)
        assert log_probs.dtype == lib.float64 and log_probs.shape[1] == len(BATCH)
        input_lengths = out_lengths.clone()
        if case == "impossible":
            input_lengths[0] = 1
        params = list(model.parameters())
        out = {"log_probs": log_probs.detach().numpy(), "out_lengths": out_lengths.tolist()}
        for reduction, (layout, tgt) in itertools.product(
                ("none", "mean", "sum"), (("padded", targets), ("flat", flat))):
            ctc = lib.nn.CTCLoss(blank=0, reduction=reduction, zero_infinity=True)
            loss = ctc(log_probs, tgt, input_lengths, target_lengths)
            total = loss.sum() if reduction == "none" else loss
            grads = lib.autograd.grad(total, params + [x], retain_graph=True)
            out[reduction, layout] = (loss.detach().numpy(), [g.numpy() for g in grads])
        nll = lib.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths,
                                         reduction="none")
        out["raw"] = nll.detach().numpy()
        results[lib] = out
    mine, ref = results[gpugrad], results[torch]
    np.testing.assert_allclose(mine["log_probs"], ref["log_probs"], rtol=0, atol=1e-12)
    assert mine["out_lengths"] == ref["out_lengths"]
    np.testing.assert_allclose(mine["raw"], ref["raw"], rtol=1e-10)
    assert np.isinf(ref["raw"][0]) == (case == "impossible")
    names = [n for n, _ in models[torch].named_parameters()] + ["features"]
    for key in itertools.product(("none", "mean", "sum"), ("padded", "flat")):
        (l_ours, g_ours), (l_ref, g_ref) = mine[key], ref[key]
        assert np.isfinite(l_ref).all()
        np.testing.assert_allclose(l_ours, l_ref, rtol=1e-10, err_msg=str(key))
        for name, a, b in zip(names, g_ours, g_ref):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * np.abs(b).max(),
                                       err_msg=f"{key} {name}")
        # both target layouts give the same loss and gradients within each library
        np.testing.assert_allclose(l_ours, mine[key[0], "padded"][0], rtol=1e-12)


def test_same_weights_same_adamw_onecycle_clipped_steps():
    """Without dropout and SpecAugment, six training steps from the same weights in float64
    (packed bidirectional GRU in train mode, AdamW, OneCycleLR, clipping) agree."""
    models = twin_models(dropout=0.0)
    runs = {}
    for lib, model in models.items():
        model.train()
        optimizer = lib.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
        scheduler = lib.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=6)
        ctc = lib.nn.CTCLoss(blank=0, zero_infinity=True)
        losses, norms = [], []
        for step in range(6):
            batch = BATCH[step % 2 * 3:step % 2 * 3 + 3]
            x, lengths, targets, target_lengths, _ = CTC.collate(lib, batch, dtype=lib.float64)
            log_probs, out_lengths = model(x, lengths)
            loss = ctc(log_probs, targets, out_lengths, target_lengths)
            optimizer.zero_grad()
            loss.backward()
            norms.append(float(lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)))
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        runs[lib] = losses, norms, {k: v.detach().numpy().copy()
                                    for k, v in model.state_dict().items()}
    (l_ours, n_ours, w_ours), (l_ref, n_ref, w_ref) = runs[gpugrad], runs[torch]
    np.testing.assert_allclose(l_ours, l_ref, rtol=1e-9)
    np.testing.assert_allclose(n_ours, n_ref, rtol=1e-9)
    assert max(n_ref) > 1.0  # the clipping did something
    for key, w in w_ref.items():
        np.testing.assert_allclose(w_ours[key], w, rtol=1e-8, atol=1e-10, err_msg=key)


def test_decoders_agree_and_beam_search_finds_most_probable_labelling():
    rng = np.random.default_rng(4)
    logits = rng.normal(0.0, 2.0, (7, 3, 4))  # (T, N, C)
    lengths = [7, 5, 6]
    hyps = {}
    for lib in (gpugrad, torch):
        log_probs = lib.tensor(logits).log_softmax(2)
        greedy = CTC.greedy_decode(lib, log_probs, lib.tensor(lengths))
        beams = [CTC.prefix_beam_search(lib, log_probs[:n, i], beam=4, prune=3)
                 for i, n in enumerate(lengths)]
        hyps[lib] = greedy, beams
    assert hyps[gpugrad] == hyps[torch]
    best_path = logits.argmax(-1)
    for i, n in enumerate(lengths):
        path = best_path[:n, i]
        merged = [int(c) for j, c in enumerate(path) if j == 0 or c != path[j - 1]]
        assert hyps[torch][0][i] == [c for c in merged if c != 0]

    # with no pruning, the prefix beam search is exact: its answer is the labelling of
    # greatest CTC probability, found by scoring every labelling with ctc_loss
    T, C = 4, 3
    small = rng.normal(0.0, 1.5, (T, C))
    candidates = [list(s) for n in range(T + 1)
                  for s in itertools.product(range(1, C), repeat=n)]
    for lib in (gpugrad, torch):
        log_probs = lib.tensor(small).log_softmax(1)
        found = CTC.prefix_beam_search(lib, log_probs, beam=64, prune=C)
        batch = log_probs.unsqueeze(1).expand(T, len(candidates), C)
        targets = lib.tensor([c + [0] * (T - len(c)) for c in candidates])
        nll = lib.nn.functional.ctc_loss(batch, targets, [T] * len(candidates),
                                         [len(c) for c in candidates], reduction="none")
        probabilities = (-nll).exp()
        assert float(probabilities.sum()) <= 1 + 1e-9
        assert found == candidates[int(nll.argmin())], lib.__name__


@LIBS
def test_spec_augment_masks_one_band_of_each_kind_on_a_copy(lib):
    lib.manual_seed(0)
    x, lengths, *_ = CTC.collate(lib, BATCH)
    before = x.numpy().copy()
    spec = CTC.spec_augment(lib, x, lengths)
    assert not spec.requires_grad and spec.dtype == lib.float32
    np.testing.assert_array_equal(x.numpy(), before)
    spec = spec.numpy()
    for i, n in enumerate(lengths.tolist()):
        cols = np.flatnonzero((spec[i, :n] == 0).all(0))
        rows = np.flatnonzero((spec[i, :n] == 0).all(1))
        for band, widest in ((cols, 3), (rows, 4)):
            assert len(band) <= widest and (len(band) == 0 or np.ptp(band) == len(band) - 1)
        expected = before[i].copy()
        expected[:, cols] = 0
        expected[rows] = 0
        np.testing.assert_array_equal(spec[i], expected)


@LIBS
def test_conv_lengths_are_the_strided_convolution_output_lengths(lib):
    conv = lib.nn.Conv1d(CTC.FEATS, 2, CTC.KERNEL, stride=CTC.STRIDE, padding=CTC.PAD)
    lengths = lib.arange(1, 20)
    computed = CTC.conv_lengths(lib, lengths)
    assert computed.dtype == lib.int64
    for n, m in zip(lengths.tolist(), computed.tolist()):
        assert conv(lib.zeros(1, CTC.FEATS, n)).shape[-1] == m


def test_edit_distance_and_error_rate():
    assert CTC.edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert CTC.edit_distance([], [1, 2]) == 2
    assert CTC.edit_distance([1, 3], [1, 2, 3]) == 1
    assert CTC.edit_distance([2, 1], [1, 2]) == 2
    assert CTC.error_rate([[1], [2, 2]], [[1, 2], [2]]) == pytest.approx(2 / 3)
