"""The batched BiLSTM/Transformer-CRF tagger (``batched_crf.py``), run with gpugrad and with
PyTorch: both learn (the NLL falls, the held-out token accuracy rises) and land in a band of
each other; from shared weights in float64, the CRF's NLL under every reduction, its
gradients (transitions, start/end scores, emissions) and its Viterbi paths equal PyTorch's;
the batched forward algorithm, gold path score and Viterbi equal a brute-force enumeration of
all paths on tiny cases; the whole tagger's NLL, gradients and one clipped Adam step equal
PyTorch's; and the padding idioms around it behave as PyTorch's do."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

CRF_PROGRAM = load("batched_crf")
LIBS = [gpugrad, torch]
IDS = ["gpugrad", "torch"]


def close(got, expected, tol: float = 1e-10, msg: str = "", floor: float = 1e-300):
    got, expected = np.asarray(got), np.asarray(expected)
    scale = max(float(np.abs(expected).max()) if expected.size else 0.0, 1e-300)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * scale + floor, err_msg=msg)


@pytest.mark.parametrize("encoder", ["lstm", "transformer"])
def test_tagger_learns_like_torch(encoder):
    ours = CRF_PROGRAM.main(gpugrad, encoder=encoder, epochs=5)
    theirs = CRF_PROGRAM.main(torch, encoder=encoder, epochs=5)
    for result in (ours, theirs):
        assert result["steps"] == 30, result
        assert result["final_loss"] < 0.4 * result["initial_loss"], result
        assert result["initial_acc"] < 0.5 and result["final_acc"] > 0.8, result
        # the CRF learned that I-PER does not follow O
        trans = result["transitions"]
        assert trans[0, 2] < trans[1, 2], trans
    assert abs(ours["final_loss"] - theirs["final_loss"]) <= 0.3 * theirs["final_loss"] + 0.3
    assert abs(ours["final_acc"] - theirs["final_acc"]) <= 0.08, (ours, theirs)


def twin_crfs(num_tags: int = 5, seed: int = 0):
    """The CRF built by gpugrad and by PyTorch in float64, PyTorch's with gpugrad's weights."""
    gpugrad.manual_seed(seed)
    ours = CRF_PROGRAM.build_crf(gpugrad)(num_tags).double()
    theirs = CRF_PROGRAM.build_crf(torch)(num_tags).double()
    state = ours.state_dict()
    assert list(state) == ["start_transitions", "end_transitions", "transitions"]
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    return ours, theirs


def crf_batch(lengths, num_tags: int = 5, seed: int = 0):
    """Float64 emissions, tags and a bool mask (NumPy) for sentences of ``lengths``."""
    rng = np.random.default_rng(seed)
    b, length = len(lengths), max(lengths)
    emissions = rng.standard_normal((b, length, num_tags)) * 2
    tags = rng.integers(0, num_tags, (b, length))
    mask = np.arange(length)[None, :] < np.array(lengths)[:, None]
    tags[~mask] = 0
    return emissions, tags, mask


@pytest.mark.parametrize("score_mode", ["loop", "gather"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "token_mean"])
def test_crf_nll_and_gradients_equal_torch_in_float64(reduction, score_mode):
    ours, theirs = twin_crfs()
    em, tags, mask = crf_batch([6, 1, 3, 6, 2])
    results = []
    for lib, crf in ((gpugrad, ours), (torch, theirs)):
        emissions = lib.tensor(em, dtype=lib.float64, requires_grad=True)
        nll = -crf(emissions, lib.tensor(tags), mask=lib.tensor(mask), reduction=reduction,
                   score_mode=score_mode)
        assert nll.dtype == lib.float64
        nll.sum().backward() if reduction == "none" else nll.backward()
        results.append({"nll": nll.detach().numpy(), "emissions": emissions.grad.numpy(),
                        **{k: p.grad.numpy() for k, p in crf.named_parameters()}})
    mine, ref = results
    assert mine.keys() == ref.keys()
    for key in ref:
        assert mine[key].shape == ref[key].shape, key
        close(mine[key], ref[key], msg=key)
    # padded emissions get no gradient; the NLL is positive
    assert np.all(ref["emissions"][~mask] == 0) and np.all(mine["emissions"][~mask] == 0)
    assert np.all(ref["nll"] > 0)


@pytest.mark.filterwarnings("ignore:where received a uint8 condition")
def test_crf_reductions_relate_as_in_torch():
    for lib, crf in zip(LIBS, twin_crfs()):
        em, tags, mask = crf_batch([4, 2, 3])
        args = (lib.tensor(em), lib.tensor(tags))
        llh = {r: crf(*args, mask=lib.tensor(mask), reduction=r).detach()
               for r in ("none", "sum", "mean", "token_mean")}
        assert tuple(llh["none"].shape) == (3,)
        assert float(llh["sum"]) == pytest.approx(float(llh["none"].sum()), rel=1e-12)
        assert float(llh["mean"]) == pytest.approx(float(llh["sum"]) / 3, rel=1e-12)
        assert float(llh["token_mean"]) == pytest.approx(float(llh["sum"]) / 9, rel=1e-12)
        # a uint8 mask (deprecated in ``torch.where`` but accepted, with a warning) means the
        # same as the bool one; no mask (a uint8 one of ones) means all tokens are real
        m = lib.tensor(mask.astype(np.uint8))
        assert crf(*args, mask=m, reduction="sum").item() == pytest.approx(
            float(llh["sum"]), rel=1e-12)
        # a float mask is refused by ``torch.where``
        with pytest.raises(RuntimeError, match="where expected condition to be a boolean"):
            crf(*args, mask=lib.tensor(mask).float())
        full = crf(*args, reduction="sum")
        ones = crf(*args, mask=lib.ones(3, 4, dtype=lib.bool), reduction="sum")
        assert full.item() == ones.item()
        with pytest.raises(ValueError, match="invalid reduction"):
            crf(*args, reduction="average")


@pytest.mark.filterwarnings("ignore:where received a uint8 condition")
def test_viterbi_paths_equal_torch():
    ours, theirs = twin_crfs(seed=3)
    lengths = [7, 1, 4, 7, 2, 5]
    em, _, mask = crf_batch(lengths, seed=5)
    paths = {}
    for name, lib, crf in (("gpugrad", gpugrad, ours), ("torch", torch, theirs)):
        for backtrack in ("lists", "stacked"):
            with lib.no_grad():
                out = crf.decode(lib.tensor(em), lib.tensor(mask), backtrack=backtrack)
            assert [len(p) for p in out] == lengths, (name, backtrack)
            assert all(type(t) is int for p in out for t in p), (name, backtrack)
            paths[name, backtrack] = out
        # no mask (a uint8 one of ones): full-length paths
        full = crf.decode(lib.tensor(em))
        assert [len(p) for p in full] == [7] * 6
        paths[name, "full"] = full
    for key in ("lists", "stacked", "full"):
        assert paths["gpugrad", key] == paths["torch", key], key
    assert paths["torch", "lists"] == paths["torch", "stacked"]


def brute_force(start, end, trans, emissions, length):
    """The log partition function, the best path and its score, by enumerating all paths."""
    num_tags = len(start)
    scores = {}
    for path in itertools.product(range(num_tags), repeat=length):
        s = start[path[0]] + end[path[-1]] + sum(emissions[i, t] for i, t in enumerate(path))
        s += sum(trans[a, b] for a, b in zip(path, path[1:]))
        scores[path] = s
    values = np.array(list(scores.values()))
    log_z = values.max() + np.log(np.exp(values - values.max()).sum())
    best = max(scores, key=scores.get)
    return log_z, list(best), scores


@pytest.mark.parametrize("lib", LIBS, ids=IDS)
def test_forward_algorithm_equals_brute_force(lib):
    lib.manual_seed(1)
    crf = CRF_PROGRAM.build_crf(lib)(3).double()
    with lib.no_grad():
        crf.start_transitions.normal_()
        crf.end_transitions.normal_()
    lengths = [4, 2, 1, 3]
    em, tags, mask = crf_batch(lengths, num_tags=3, seed=2)
    emissions, tags_t, mask_t = lib.tensor(em), lib.tensor(tags), lib.tensor(mask)
    start = crf.start_transitions.detach().numpy()
    end = crf.end_transitions.detach().numpy()
    trans = crf.transitions.detach().numpy()
    with lib.no_grad():
        log_z = crf._normalizer(emissions, mask_t).numpy()
        gold_loop = crf._score_loop(emissions, tags_t, mask_t).numpy()
        gold_gather = crf._score_gather(emissions, tags_t, mask_t).numpy()
        paths = crf.decode(emissions, mask_t)
    for b, length in enumerate(lengths):
        z, best, scores = brute_force(start, end, trans, em[b], length)
        assert log_z[b] == pytest.approx(z, rel=1e-12), b
        gold = scores[tuple(tags[b, :length])]
        assert gold_loop[b] == pytest.approx(gold, rel=1e-12), b
        assert gold_gather[b] == pytest.approx(gold, rel=1e-12), b
        assert paths[b] == best, b


def twin_taggers(encoder: str):
    """The tagger built by gpugrad and by PyTorch in float64 without dropout, PyTorch's with
    gpugrad's weights."""
    gpugrad.manual_seed(0)
    ours = CRF_PROGRAM.build_tagger(gpugrad, encoder=encoder, dropout=0.0).double()
    theirs = CRF_PROGRAM.build_tagger(torch, encoder=encoder, dropout=0.0).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict()), encoder
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    return ours, theirs


def tagger_batch(lib, seed: int = 4, n: int = 6):
    return CRF_PROGRAM.collate(lib, CRF_PROGRAM.make_sentences(n, seed=seed))


@pytest.mark.parametrize("encoder", ["lstm", "transformer"])
def test_tagger_nll_gradients_and_paths_equal_torch_in_float64(encoder):
    ours, theirs = twin_taggers(encoder)
    results = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        tokens, tags, mask = tagger_batch(lib)
        out = {}
        for reduction in ("sum", "mean", "token_mean"):
            model.zero_grad()
            nll = model(tokens, tags, mask, reduction=reduction)
            nll.backward()
            out[reduction] = nll.item()
            out.update({f"{reduction}.{k}": p.grad.numpy().copy()
                        for k, p in model.named_parameters()})
        model.eval()
        with lib.no_grad():
            out["paths"] = model.predict(tokens, mask)
            out["paths_stacked"] = model.predict(tokens, mask, backtrack="stacked")
        model.train()
        # the padding row of the embedding gets no gradient
        assert float(model.embedding.weight.grad[0].abs().max()) == 0.0
        results.append(out)
    mine, ref = results
    assert mine.keys() == ref.keys()
    assert mine["paths"] == ref["paths"] == mine["paths_stacked"] == ref["paths_stacked"]
    for key in ref:
        if not key.startswith("paths"):
            close(mine[key], ref[key], msg=key)


@pytest.mark.parametrize("encoder", ["lstm", "transformer"])
def test_clipped_adam_steps_equal_torch(encoder):
    """Two steps of Adam after ``clip_grad_norm_`` (which clips: max_norm 0.5) from the same
    weights and batch: the losses, returned norms and weights agree."""
    ours, theirs = twin_taggers(encoder)
    results = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        tokens, tags, mask = tagger_batch(lib, seed=7)
        optimizer = lib.optim.Adam(model.parameters(), lr=1e-2)
        losses, norms = [], []
        for _ in range(2):
            optimizer.zero_grad()
            loss = model(tokens, tags, mask)
            loss.backward()
            norm = lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
            optimizer.step()
            losses.append(loss.item())
            norms.append(float(norm))
        results.append((losses, norms, {k: v.numpy().copy()
                                        for k, v in model.state_dict().items()}))
    (l1, n1, s1), (l2, n2, s2) = results
    close(l1, l2, msg="losses")
    close(n1, n2, msg="norms")
    assert n2[0] > 0.5
    for key in s2:
        # (the attention's key bias has a zero gradient up to rounding: Adam moves it ~1e-12)
        close(s1[key], s2[key], msg=key, floor=1e-11)


@pytest.mark.parametrize("lib", LIBS, ids=IDS)
def test_padding_idioms(lib):
    """``pad_sequence``, masks and lengths, and the packing round trip through the LSTM."""
    pairs = CRF_PROGRAM.make_sentences(5, seed=11, max_len=6)
    tokens, tags, mask = CRF_PROGRAM.collate(lib, pairs)
    lengths = [len(w) for w, _ in pairs]
    assert tokens.dtype == lib.int64 and mask.dtype == lib.bool
    assert tuple(tokens.shape) == (5, max(lengths))
    assert mask.sum(1).tolist() == lengths
    assert (tokens != 0).float().sum(1).tolist() == [float(n) for n in lengths]
    assert mask.sum(1).dtype == lib.int64
    lib.manual_seed(0)
    model = CRF_PROGRAM.build_tagger(lib, dropout=0.0)
    # padding past the longest sentence gives the same emissions on the real tokens
    wide = lib.cat([tokens, lib.zeros(5, 3, dtype=lib.long)], dim=1)
    wide_mask = wide != 0
    with lib.no_grad():
        a = model._emissions(tokens, mask)
        b = model._emissions(wide, wide_mask)
    assert tuple(b.shape) == (5, max(lengths) + 3, CRF_PROGRAM.NUM_TAGS)
    np.testing.assert_allclose(b[:, : max(lengths)].numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
    # pad_packed_sequence zero-fills past each length, so the emissions there are the bias
    bias = model.hidden2tag.bias.detach().numpy()
    np.testing.assert_allclose(b[0, -1].numpy(), bias, rtol=1e-6)
