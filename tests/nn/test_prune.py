"""``nn.utils.prune`` against PyTorch's: the masks and pruned tensors of each method (on Linear
and Conv2d weights copied from the same values), successive prunings chained in a container,
global pruning, importance scores, the module's names and state dict, forward and gradients,
``remove``, ``is_pruned`` and the errors. The random methods draw from each library's own
generator, so only their counts and structure are compared."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401  (torch.nn.utils does not import it by itself)

import gpugrad

RNG = np.random.default_rng(0)
LIN_W, LIN_B = RNG.standard_normal((6, 5)), RNG.standard_normal(6)
CONV_W, CONV_B = RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal(4)
X = RNG.standard_normal((7, 5))
X_CONV = RNG.standard_normal((2, 3, 5, 5))


def _linear(m):
    lin = m.nn.Linear(5, 6).double()
    with m.no_grad():
        lin.weight.copy_(m.tensor(LIN_W))
        lin.bias.copy_(m.tensor(LIN_B))
    return lin


def _conv(m):
    conv = m.nn.Conv2d(3, 4, 3).double()
    with m.no_grad():
        conv.weight.copy_(m.tensor(CONV_W))
        conv.bias.copy_(m.tensor(CONV_B))
    return conv


MODULES = {"linear": _linear, "conv": _conv}


def _np(t):
    return t.detach().numpy()


def _both(run):
    """``run(gpugrad), run(torch)``, each given its library."""
    return run(gpugrad), run(torch)


def _assert_same_pruning(ours, theirs, name="weight"):
    """Same mask and pruned values (exactly: both are 0/1 times the same numbers)."""
    np.testing.assert_array_equal(_np(getattr(ours, name + "_mask")),
                                  _np(getattr(theirs, name + "_mask")))
    np.testing.assert_array_equal(_np(getattr(ours, name)), _np(getattr(theirs, name)))


def _names(module):
    return ([n for n, _ in module.named_parameters()], [n for n, _ in module.named_buffers()],
            list(module.state_dict()))


# ----------------------------------------------------------------------------- single methods
@pytest.mark.parametrize("amount", [0.3, 0.5, 0.25, 7, 0, 0.0, 1.0, 30])
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_l1_unstructured_matches_pytorch(kind, amount):
    def run(m):
        module = MODULES[kind](m)
        orig = module.weight
        assert m.nn.utils.prune.l1_unstructured(module, "weight", amount=amount) is module
        assert module.weight_orig is orig and isinstance(orig, m.nn.Parameter)
        assert not isinstance(module.weight, m.nn.Parameter)
        return module

    ours, theirs = _both(run)
    _assert_same_pruning(ours, theirs)
    assert _names(ours) == _names(theirs)
    assert int((ours.weight_mask == 0).sum()) == int((theirs.weight_mask == 0).sum())


@pytest.mark.parametrize("n", [1, 2, float("inf"), -float("inf"), "fro"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("amount", [0.5, 2, 0.34])
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_ln_structured_matches_pytorch(kind, amount, dim, n):
    def run(m):
        module = MODULES[kind](m)
        m.nn.utils.prune.ln_structured(module, "weight", amount=amount, n=n, dim=dim)
        return module

    if kind == "conv" and n == "fro":  # a matrix norm: over two dims only, in both
        for m in (gpugrad, torch):
            with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
                run(m)
        return
    ours, theirs = _both(run)
    _assert_same_pruning(ours, theirs)
    assert _names(ours) == _names(theirs)
    # whole channels along dim are zero, the rest untouched
    mask = _np(ours.weight_mask)
    others = tuple(d for d in range(mask.ndim) if d != dim % mask.ndim)
    per_channel = mask.sum(axis=others)
    assert set(per_channel.tolist()) <= {0.0, mask.size / mask.shape[dim]}
    assert (per_channel == 0).sum() > 0


def test_custom_from_mask_matches_pytorch():
    mask = (RNG.random((6, 5)) > 0.5).astype(np.float64)

    def run(m):
        module = m.nn.utils.prune.custom_from_mask(_linear(m), "weight", mask=m.tensor(mask))
        return m.nn.utils.prune.custom_from_mask(module, "bias", mask=m.tensor(mask[0].tolist()
                                                                              + [1.0]))

    ours, theirs = _both(run)
    _assert_same_pruning(ours, theirs)
    _assert_same_pruning(ours, theirs, "bias")
    np.testing.assert_array_equal(_np(ours.weight_mask), mask)
    assert _names(ours) == _names(theirs)


def test_identity_prunes_nothing():
    ours, theirs = _both(lambda m: m.nn.utils.prune.identity(_linear(m), "bias"))
    _assert_same_pruning(ours, theirs, "bias")
    np.testing.assert_array_equal(_np(ours.bias), LIN_B)
    assert _names(ours) == _names(theirs) == (["weight", "bias_orig"], ["bias_mask"],
                                              ["weight", "bias_orig", "bias_mask"])


def test_pruning_method_prune_on_a_tensor():
    t = RNG.standard_normal((4, 6))
    scores = RNG.standard_normal((4, 6))
    default = (RNG.random((4, 6)) > 0.2).astype(np.float64)

    def run(m):
        p = m.nn.utils.prune
        x = m.tensor(t)
        return [_np(p.L1Unstructured(0.4).prune(x)),
                _np(p.L1Unstructured(5).prune(x, importance_scores=m.tensor(scores))),
                _np(p.LnStructured(2, n=1, dim=1).prune(x, default_mask=m.tensor(default))),
                _np(p.LnStructured(0.5, n=2, dim=0).prune(x, importance_scores=m.tensor(scores)))]

    for a, b in zip(*_both(run), strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- containers
@pytest.mark.parametrize("steps", [
    [("l1", 0.5), ("l1", 0.5)],
    [("l1", 7), ("l1", 0.4), ("l1", 3)],
    [("l1", 0.3), ("ln", 0.5, 2, 0)],
    [("ln", 1, 1, -1), ("l1", 0.5)],
    [("ln", 0.34, float("inf"), 0), ("ln", 0.5, 1, 0), ("ln", 1, 2, 1)],
    [("l1", 0.2), ("custom",), ("l1", 0.25)],
])
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_successive_prunings_match_pytorch(kind, steps):
    """Each method prunes only what the ones before it left: the second amount counts the
    remaining entries (or channels), and the container keeps the methods in order."""
    custom = (np.arange(LIN_W.size if kind == "linear" else CONV_W.size) % 3 != 0)

    def run(m):
        p = m.nn.utils.prune
        module = MODULES[kind](m)
        orig = module.weight
        for step in steps:
            if step[0] == "l1":
                p.l1_unstructured(module, "weight", amount=step[1])
            elif step[0] == "ln":
                p.ln_structured(module, "weight", amount=step[1], n=step[2], dim=step[3])
            else:
                p.custom_from_mask(module, "weight",
                                   m.tensor(custom.reshape(orig.shape).astype(np.float64)))
        hooks = list(module._forward_pre_hooks.values())
        assert len(hooks) == 1 and isinstance(hooks[0], p.PruningContainer)
        assert len(hooks[0]) == len(steps)
        assert [type(h).__name__ for h in hooks[0]] == [
            {"l1": "L1Unstructured", "ln": "LnStructured", "custom": "CustomFromMask"}[s[0]]
            for s in steps]
        assert all(h._tensor_name == "weight" for h in hooks[0])
        assert module.weight_orig is orig
        return module

    ours, theirs = _both(run)
    _assert_same_pruning(ours, theirs)
    assert _names(ours) == _names(theirs)


def test_second_pruning_counts_what_is_left():
    def run(m):
        lin = _linear(m)
        m.nn.utils.prune.l1_unstructured(lin, "weight", amount=0.5)  # 15 of 30
        m.nn.utils.prune.l1_unstructured(lin, "weight", amount=0.5)  # round(7.5) of 15
        return int((lin.weight_mask == 0).sum())

    assert _both(run) == (23, 23)


def test_container_refuses_other_tensors_and_non_methods():
    p = gpugrad.nn.utils.prune
    first = p.L1Unstructured(0.1)
    first._tensor_name = "weight"
    container = p.PruningContainer(first)
    assert container._tensor_name == "weight" and container[0] is first
    other = p.L1Unstructured(0.1)
    other._tensor_name = "bias"
    tp = torch.nn.utils.prune
    t_first = tp.L1Unstructured(0.1)
    t_first._tensor_name = "weight"
    t_other = tp.L1Unstructured(0.1)
    t_other._tensor_name = "bias"
    t_container = tp.PruningContainer(t_first)
    for ours, theirs in [(lambda: container.add_pruning_method(other),
                          lambda: t_container.add_pruning_method(t_other)),
                         (lambda: container.add_pruning_method("l1"),
                          lambda: t_container.add_pruning_method("l1"))]:
        with pytest.raises(Exception) as g_err:
            ours()
        with pytest.raises(Exception) as t_err:
            theirs()
        assert g_err.type is t_err.type
    assert len(container) == len(t_container) == 1


# ----------------------------------------------------------------------------- global
@pytest.mark.parametrize("amount", [0.3, 0.5, 10, 0])
def test_global_unstructured_matches_pytorch(amount):
    def run(m):
        lin, conv = _linear(m), _conv(m)
        pairs = ((lin, "weight"), (conv, "weight"), (lin, "bias"))
        assert m.nn.utils.prune.global_unstructured(
            pairs, pruning_method=m.nn.utils.prune.L1Unstructured, amount=amount) is None
        return lin, conv

    (g_lin, g_conv), (t_lin, t_conv) = _both(run)
    _assert_same_pruning(g_lin, t_lin)
    _assert_same_pruning(g_lin, t_lin, "bias")
    _assert_same_pruning(g_conv, t_conv)
    assert _names(g_lin) == _names(t_lin) and _names(g_conv) == _names(t_conv)
    total = LIN_W.size + CONV_W.size + LIN_B.size
    zeros = sum(int((t == 0).sum()) for t in (g_lin.weight, g_conv.weight, g_lin.bias))
    assert zeros == (amount if isinstance(amount, int) else round(amount * total))
    # one threshold for all: every pruned magnitude is at most every kept one
    values = np.concatenate([np.abs(LIN_W).ravel(), np.abs(CONV_W).ravel(), np.abs(LIN_B)])
    mask = np.concatenate([_np(g_lin.weight_mask).ravel(), _np(g_conv.weight_mask).ravel(),
                           _np(g_lin.bias_mask)])
    if 0 < zeros:
        assert values[mask == 0].max() <= values[mask == 1].min()


def test_global_unstructured_after_pruning_and_with_importance_scores():
    scores = RNG.random(CONV_W.shape)

    def run(m):
        p = m.nn.utils.prune
        lin, conv = _linear(m), _conv(m)
        p.l1_unstructured(lin, "weight", amount=0.5)
        p.global_unstructured([(lin, "weight"), (conv, "weight")], p.L1Unstructured,
                              importance_scores={(conv, "weight"): m.tensor(scores)}, amount=20)
        assert [type(h).__name__ for h in lin._forward_pre_hooks.values()] == [
            "PruningContainer"]
        assert [type(h).__name__ for h in lin._forward_pre_hooks[
            next(iter(lin._forward_pre_hooks))]] == ["L1Unstructured", "CustomFromMask"]
        return lin, conv

    (g_lin, g_conv), (t_lin, t_conv) = _both(run)
    _assert_same_pruning(g_lin, t_lin)
    _assert_same_pruning(g_conv, t_conv)
    assert int((g_lin.weight_mask == 0).sum()) + int((g_conv.weight_mask == 0).sum()) == 35


def test_global_unstructured_takes_a_generator():
    lin, conv = _linear(gpugrad), _conv(gpugrad)
    gpugrad.nn.utils.prune.global_unstructured(
        ((mod, "weight") for mod in (lin, conv)), gpugrad.nn.utils.prune.L1Unstructured,
        amount=12)
    assert int((lin.weight == 0).sum()) + int((conv.weight == 0).sum()) == 12


# ----------------------------------------------------------------------------- scores
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_importance_scores_choose_what_is_pruned(kind):
    shape = LIN_W.shape if kind == "linear" else CONV_W.shape
    scores = RNG.standard_normal(shape)

    def run(m):
        p = m.nn.utils.prune
        a, b = MODULES[kind](m), MODULES[kind](m)
        p.l1_unstructured(a, "weight", amount=0.4, importance_scores=m.tensor(scores))
        p.ln_structured(b, "weight", amount=1, n=2, dim=0, importance_scores=m.tensor(scores))
        return a, b

    (g_a, g_b), (t_a, t_b) = _both(run)
    _assert_same_pruning(g_a, t_a)
    _assert_same_pruning(g_b, t_b)
    # the scores, not the weights, decide
    cut = np.sort(np.abs(scores).ravel())[round(0.4 * scores.size) - 1]
    np.testing.assert_array_equal(_np(g_a.weight_mask), (np.abs(scores) > cut).astype(float))


def test_ties_prune_the_right_count_among_the_tied():
    w = np.array([[2.0, 1.0, -1.0, 1.0], [3.0, -1.0, 1.0, 5.0]])

    def run(m):
        lin = m.nn.Linear(4, 2).double()
        with m.no_grad():
            lin.weight.copy_(m.tensor(w))
        m.nn.utils.prune.l1_unstructured(lin, "weight", amount=3)
        return _np(lin.weight_mask)

    for mask in _both(run):
        assert (mask == 0).sum() == 3
        assert set(np.abs(w[mask == 0]).tolist()) == {1.0}


# ----------------------------------------------------------------------------- the module
def test_forward_and_gradients_match_pytorch():
    def run(m):
        lin = _linear(m)
        m.nn.utils.prune.l1_unstructured(lin, "weight", amount=0.4)
        out = lin(m.tensor(X))
        (out ** 2).sum().backward()
        return lin, out

    (g_lin, g_out), (t_lin, t_out) = _both(run)
    np.testing.assert_allclose(_np(g_out), _np(t_out), rtol=1e-12, atol=1e-12)
    for name in ("weight_orig", "bias"):
        np.testing.assert_allclose(getattr(g_lin, name).grad.numpy(),
                                   getattr(t_lin, name).grad.numpy(), rtol=1e-12, atol=1e-12)
    grad, mask = g_lin.weight_orig.grad.numpy(), _np(g_lin.weight_mask)
    assert (grad[mask == 0] == 0).all() and (grad[mask == 1] != 0).all()
    assert g_lin.weight_mask.grad is None and not g_lin.weight_mask.requires_grad


def test_hook_recomputes_the_weight_before_each_forward():
    """An optimizer step changes weight_orig; the next forward sees it, still masked."""
    def run(m):
        conv = _conv(m)
        m.nn.utils.prune.ln_structured(conv, "weight", amount=0.5, n=1, dim=0)
        opt = m.optim.SGD(conv.parameters(), lr=0.1)
        x = m.tensor(X_CONV)
        for _ in range(2):
            opt.zero_grad()
            conv(x).pow(2).mean().backward()
            opt.step()
        return conv, conv(x)

    (g_conv, g_out), (t_conv, t_out) = _both(run)
    np.testing.assert_allclose(_np(g_out), _np(t_out), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(g_conv.weight), _np(t_conv.weight), rtol=1e-10, atol=1e-12)
    mask = _np(g_conv.weight_mask)
    assert (_np(g_conv.weight)[mask == 0] == 0).all()
    assert (_np(g_conv.weight_orig)[mask == 0] == CONV_W[mask == 0]).all()  # (no gradient)
    assert (_np(g_conv.weight_orig)[mask == 1] != CONV_W[mask == 1]).all()


def test_state_dict_keys_and_round_trip():
    def run(m):
        lin = _linear(m)
        p = m.nn.utils.prune
        p.l1_unstructured(lin, "weight", amount=0.3)
        p.random_unstructured(lin, "bias", amount=2)
        return lin

    ours, theirs = _both(run)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "weight_orig", "bias_orig", "weight_mask", "bias_mask"]
    # a pruned gpugrad module loads PyTorch's pruned state dict; the hook then applies it
    fresh = gpugrad.nn.Linear(5, 6).double()
    gpugrad.nn.utils.prune.identity(fresh, "weight")
    gpugrad.nn.utils.prune.identity(fresh, "bias")
    fresh.load_state_dict({k: gpugrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    fresh(gpugrad.tensor(X))
    np.testing.assert_array_equal(_np(fresh.weight), _np(theirs.weight))
    np.testing.assert_array_equal(_np(fresh.bias), _np(theirs.bias))


def test_remove_makes_pruning_permanent():
    def run(m):
        p = m.nn.utils.prune
        conv = _conv(m)
        p.l1_unstructured(conv, "weight", amount=0.3)
        p.ln_structured(conv, "weight", amount=1, n=2, dim=0)
        p.l1_unstructured(conv, "bias", amount=1)
        orig = conv.weight_orig
        pruned = _np(conv.weight).copy()
        assert p.remove(conv, "weight") is conv
        assert conv.weight is orig and isinstance(conv.weight, m.nn.Parameter)
        assert conv.weight.requires_grad and conv.weight.grad_fn is None
        np.testing.assert_array_equal(_np(conv.weight), pruned)
        assert not hasattr(conv, "weight_orig") and not hasattr(conv, "weight_mask")
        assert p.is_pruned(conv)  # the bias still is
        p.remove(conv, "bias")
        assert not p.is_pruned(conv) and len(conv._forward_pre_hooks) == 0
        return conv

    ours, theirs = _both(run)
    assert _names(ours) == _names(theirs) == (["weight", "bias"], [], ["weight", "bias"])
    np.testing.assert_array_equal(_np(ours.weight), _np(theirs.weight))
    np.testing.assert_array_equal(_np(ours.bias), _np(theirs.bias))


def test_is_pruned_looks_at_submodules():
    def run(m):
        model = m.nn.Sequential(_linear(m), m.nn.ReLU(), m.nn.Sequential(_linear(m)))
        model[0].register_forward_pre_hook(lambda mod, inp: None)  # (not a pruning hook)
        before = m.nn.utils.prune.is_pruned(model)
        m.nn.utils.prune.random_unstructured(model[2][0], "bias", amount=0.5)
        after = m.nn.utils.prune.is_pruned(model), m.nn.utils.prune.is_pruned(model[0])
        return before, after

    assert _both(run) == ((False, (True, False)),) * 2


def test_custom_pruning_method_subclass():
    """The tutorial's own method: a subclass with PRUNING_TYPE and compute_mask only."""
    def run(m):
        class EveryOther(m.nn.utils.prune.BasePruningMethod):
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        lin = _linear(m)
        EveryOther.apply(lin, "bias")
        m.nn.utils.prune.l1_unstructured(lin, "bias", amount=1)
        return lin

    ours, theirs = _both(run)
    _assert_same_pruning(ours, theirs, "bias")
    np.testing.assert_array_equal(_np(ours.bias_mask) == 0,
                                  (np.arange(6) % 2 == 0) | (np.abs(LIN_B) == np.abs(
                                      LIN_B[1::2]).min()))


# ----------------------------------------------------------------------------- random
@pytest.mark.parametrize("amount,zeros", [(0.3, 9), (4, 4), (0.0, 0), (1.0, 30)])
def test_random_unstructured_counts(amount, zeros):
    def run(m):
        lin = m.nn.utils.prune.random_unstructured(_linear(m), "weight", amount=amount)
        mask = _np(lin.weight_mask)
        assert set(np.unique(mask).tolist()) <= {0.0, 1.0}
        np.testing.assert_array_equal(_np(lin.weight), LIN_W * mask)
        m.nn.utils.prune.random_unstructured(lin, "weight", amount=0.5)
        return int((mask == 0).sum()), int((lin.weight_mask == 0).sum())

    assert _both(run) == ((zeros, zeros + round(0.5 * (30 - zeros))),) * 2


def test_random_unstructured_follows_the_seed():
    masks = []
    for _ in range(2):
        gpugrad.manual_seed(7)
        lin = gpugrad.nn.utils.prune.random_unstructured(_linear(gpugrad), "weight", 0.5)
        masks.append(_np(lin.weight_mask))
    np.testing.assert_array_equal(*masks)
    gpugrad.manual_seed(8)
    lin = gpugrad.nn.utils.prune.random_unstructured(_linear(gpugrad), "weight", 0.5)
    assert not np.array_equal(masks[0], _np(lin.weight_mask))


@pytest.mark.parametrize("dim,amount,pruned", [(0, 0.5, 2), (1, 1, 1), (-1, 2, 2), (0, 0, 0),
                                               (0, 1.0, 4)])
def test_random_structured_zeroes_whole_channels(dim, amount, pruned):
    def run(m):
        conv = m.nn.utils.prune.random_structured(_conv(m), "weight", amount=amount, dim=dim)
        mask = _np(conv.weight_mask)
        per_channel = np.moveaxis(mask, dim, 0).reshape(mask.shape[dim], -1)
        assert all(len(set(row.tolist())) == 1 for row in per_channel)
        np.testing.assert_array_equal(_np(conv.weight), CONV_W * mask)
        first = int((per_channel[:, 0] == 0).sum())
        # a second random pruning chooses among the channels still kept
        m.nn.utils.prune.random_structured(conv, "weight", amount=0.5, dim=dim)
        per_channel = np.moveaxis(_np(conv.weight_mask), dim, 0).reshape(mask.shape[dim], -1)
        return first, int((per_channel.max(axis=1) == 0).sum())

    channels = CONV_W.shape[dim]
    assert _both(run) == ((pruned, pruned + round(0.5 * (channels - pruned))),) * 2


# ----------------------------------------------------------------------------- errors
def _bad_amount_too_big(m, lin):
    m.nn.utils.prune.l1_unstructured(lin, "weight", amount=31)


ERRORS = {
    "negative amount": lambda m, lin: m.nn.utils.prune.l1_unstructured(lin, "weight", -1),
    "fraction above 1": lambda m, lin: m.nn.utils.prune.random_unstructured(lin, "weight", 1.5),
    "amount of a wrong type": lambda m, lin: m.nn.utils.prune.l1_unstructured(lin, "bias", "a"),
    "amount too big": _bad_amount_too_big,
    "channels too many": lambda m, lin: m.nn.utils.prune.ln_structured(lin, "weight", 7, 2, 0),
    "structured 1-D": lambda m, lin: m.nn.utils.prune.ln_structured(lin, "bias", 1, 2, 0),
    "random structured 1-D": lambda m, lin: m.nn.utils.prune.random_structured(lin, "bias", 1,
                                                                                -1),
    "dim out of range": lambda m, lin: m.nn.utils.prune.ln_structured(lin, "weight", 1, 2, 2),
    "remove unpruned": lambda m, lin: m.nn.utils.prune.remove(lin, "weight"),
    "global structured": lambda m, lin: m.nn.utils.prune.global_unstructured(
        [(lin, "weight")], m.nn.utils.prune.RandomStructured, amount=1),
    "global not iterable": lambda m, lin: m.nn.utils.prune.global_unstructured(
        3, m.nn.utils.prune.L1Unstructured, amount=1),
    "global scores not a dict": lambda m, lin: m.nn.utils.prune.global_unstructured(
        [(lin, "weight")], m.nn.utils.prune.L1Unstructured, importance_scores=[1], amount=1),
    "scores of another shape": lambda m, lin: m.nn.utils.prune.l1_unstructured(
        lin, "weight", 1, importance_scores=m.ones(5, 6)),
    "mask of another shape": lambda m, lin: m.nn.utils.prune.custom_from_mask(
        lin, "weight", m.ones(5, 6)),
    "abstract base": lambda m, lin: m.nn.utils.prune.BasePruningMethod(),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_pytorch(case):
    errors, modules = [], []
    for m in (gpugrad, torch):
        lin = _linear(m)
        with pytest.raises(Exception) as info:
            ERRORS[case](m, lin)
        errors.append(info)
        modules.append(lin)
    ours, theirs = errors
    assert ours.type is theirs.type
    if case != "abstract base":  # (Python's wording, which lists the methods its own way)
        assert str(ours.value).replace("gpugrad.", "torch.") == str(theirs.value)
    # the module is as it was (PyTorch keeps the names, not always their order)
    assert _names(modules[0]) == (["weight", "bias"], [], ["weight", "bias"])
    assert {k: set(v) for k, v in enumerate(_names(modules[1]))} == {
        k: set(v) for k, v in enumerate(_names(modules[0]))}
    assert isinstance(modules[0].weight, gpugrad.nn.Parameter)
    assert not gpugrad.nn.utils.prune.is_pruned(modules[0])


@pytest.mark.parametrize("case", ["amount too big", "channels too many", "dim out of range",
                                  "negative amount", "scores of another shape"])
def test_failed_second_pruning_leaves_the_first(case):
    """PyTorch 2.13 loses the existing hook when a second pruning of the tensor fails; gpugrad
    keeps the module (hook, container, mask, names) as it was."""
    p = gpugrad.nn.utils.prune
    for first in range(2):  # one method before, then a container of two
        lin = _linear(gpugrad)
        p.l1_unstructured(lin, "weight", amount=0.2)
        if first:
            p.l1_unstructured(lin, "weight", amount=0.2)
        hooks = dict(lin._forward_pre_hooks)
        methods = list(next(iter(hooks.values()))) if first else None
        mask, names = _np(lin.weight_mask).copy(), _names(lin)
        with pytest.raises((ValueError, IndexError, AssertionError)):
            ERRORS[case](gpugrad, lin)
        assert lin._forward_pre_hooks == hooks and _names(lin) == names
        if first:
            assert list(next(iter(hooks.values()))) == methods
        np.testing.assert_array_equal(_np(lin.weight_mask), mask)
        lin(gpugrad.tensor(X))
        np.testing.assert_array_equal(_np(lin.weight), LIN_W * mask)


def test_nan_amount_is_refused():
    """Both refuse a NaN fraction with ValueError; gpugrad already when the method is made
    (PyTorch when it rounds the count)."""
    for m in (gpugrad, torch):
        with pytest.raises(ValueError):
            m.nn.utils.prune.l1_unstructured(_linear(m), "weight", amount=float("nan"))
    with pytest.raises(ValueError, match="should either be a float in the range"):
        gpugrad.nn.utils.prune.L1Unstructured(float("nan"))


def test_amount_is_rounded_half_to_even():
    """0.5 of 5 rows rounds to 2 (Python's round), in both."""
    def run(m):
        lin = m.nn.Linear(6, 5).double()
        m.nn.utils.prune.random_structured(lin, "weight", amount=0.5, dim=0)
        m.nn.utils.prune.l1_unstructured(lin, "bias", amount=0.5)
        return (int((lin.weight_mask.sum(1) == 0).sum()), int((lin.bias_mask == 0).sum()))

    assert _both(run) == ((2, 2), (2, 2))


# ----------------------------------------------------------------------------- cuda
@pytest.mark.gpu
def test_cuda_masks_match_the_cpu():
    p = gpugrad.nn.utils.prune
    cpu, cuda = _conv(gpugrad), _conv(gpugrad).cuda()
    for module in (cpu, cuda):
        p.l1_unstructured(module, "weight", amount=0.3)
        p.ln_structured(module, "weight", amount=1, n=2, dim=0)
        p.random_structured(module, "weight", amount=1, dim=1)
        p.random_unstructured(module, "bias", amount=2)
    assert cuda.weight_mask.device.type == "cuda" and cuda.weight.device.type == "cuda"
    first_two = _np(cpu.weight_mask).reshape(4, -1).max(1)
    np.testing.assert_array_equal(_np(cuda.weight_mask.cpu()).reshape(4, -1).max(1), first_two)
    assert int((cuda.weight_mask.cpu().sum((0, 2, 3)) == 0).sum()) == 1
    assert int((cuda.bias_mask == 0).sum()) == 2
    out = cuda(gpugrad.tensor(np.ones((1, 3, 5, 5)), device="cuda"))
    out.sum().backward()
    assert (cuda.weight_orig.grad.cpu().numpy()[_np(cuda.weight_mask.cpu()) == 0] == 0).all()
    p.remove(cuda, "weight")
    assert isinstance(cuda.weight, gpugrad.nn.Parameter) and cuda.weight.device.type == "cuda"
