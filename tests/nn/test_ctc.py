"""``F.ctc_loss`` / ``nn.CTCLoss`` against PyTorch's: losses and the gradient of
``log_probs`` (PyTorch's, the logits' gradient under ``log_softmax``) in float64 and float32, on
random cases with repeated labels, empty targets, inputs too short for their targets,
``zero_infinity``, every reduction, padded and concatenated targets, tensor and tuple lengths,
unbatched inputs; float64 finite differences through ``log_softmax``; PyTorch's errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import gpugrad

F = gpugrad.nn.functional


def log_softmax(x):
    return x - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)) - \
        x.max(-1, keepdims=True)


def random_case(seed: int, T: int, N: int, C: int, S: int, blank: int = 0):
    """log_probs (T, N, C), padded targets (N, S) with repeats and padding junk, lengths."""
    rng = np.random.default_rng(seed)
    lp = log_softmax(rng.standard_normal((T, N, C)) * 2)
    labels = [c for c in range(C) if c != blank]
    targets = rng.choice(labels, (N, S))
    targets[:, 1::3] = targets[:, ::3][:, :targets[:, 1::3].shape[1]]  # repeated labels
    tl = rng.integers(0, S + 1, N)
    il = rng.integers(0, T + 1, N)
    for n in range(N):
        targets[n, tl[n]:] = rng.integers(-5, 50)  # padding is never read
    return lp, targets, il, tl


CASES = [
    # seed, T, N, C, S, blank
    (0, 8, 4, 5, 3, 0),
    (1, 12, 6, 4, 5, 0),   # many repeats (3 labels)
    (2, 5, 3, 6, 4, 2),    # a blank in the middle of the labels
    (3, 10, 5, 7, 0, 0),   # every target empty
    (4, 3, 4, 5, 4, 4),    # inputs shorter than their targets: infinite losses
    (5, 1, 2, 3, 1, 0),    # one time step
    (6, 20, 2, 9, 9, 8),
]


def run_both(lp, targets, il, tl, *, dtype="float64", concat=False, as_tuple=False,
             upstream_seed=None, **kw):
    """The loss and gradient of log_probs from gpugrad and torch."""
    if concat:
        targets = np.concatenate([targets[n, :tl[n]] for n in range(len(tl))]) \
            if len(tl) else targets.reshape(-1)
    out = []
    for m in (gpugrad, torch):
        x = m.tensor(lp.astype(dtype), requires_grad=True)
        lengths = (tuple(int(v) for v in il), tuple(int(v) for v in tl)) if as_tuple else \
            (m.tensor(il), m.tensor(tl))
        loss = m.nn.functional.ctc_loss(x, m.tensor(targets), *lengths, **kw)
        up = np.ones(loss.shape) if upstream_seed is None else \
            np.random.default_rng(upstream_seed).uniform(0.5, 2, loss.shape)
        loss.backward(m.tensor(up.astype(dtype)))
        out.append((loss.detach().numpy(), x.grad.numpy()))
    return out


def assert_pair(ours, theirs, dtype):
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-5, "atol": 2e-6}
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, equal_nan=True, **tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("case", CASES, ids=[f"case{c[0]}" for c in CASES])
def test_matches_torch(case, zero_infinity, reduction, dtype):
    seed, T, N, C, S, blank = case
    lp, targets, il, tl = random_case(seed, T, N, C, S, blank)
    ours, theirs = run_both(lp, targets, il, tl, dtype=dtype, blank=blank, reduction=reduction,
                            zero_infinity=zero_infinity, upstream_seed=seed)
    assert_pair(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES[:4], ids=[f"case{c[0]}" for c in CASES[:4]])
def test_concatenated_targets_and_tuple_lengths(case, dtype):
    seed, T, N, C, S, blank = case
    lp, targets, il, tl = random_case(seed, T, N, C, S, blank)
    for concat, as_tuple in ((True, False), (False, True), (True, True)):
        ours, theirs = run_both(lp, targets, il, tl, dtype=dtype, blank=blank, concat=concat,
                                as_tuple=as_tuple, reduction="none", zero_infinity=True)
        assert_pair(ours, theirs, dtype)


def test_impossible_alignment_gives_torchs_nan_gradient_without_zero_infinity():
    lp, targets, _, _ = random_case(0, 4, 2, 5, 4)
    targets[:, :] = [[1, 1, 1, 1], [1, 2, 3, 4]]  # repeats need blanks between: 7 steps
    ours, theirs = run_both(lp, targets, np.array([4, 3]), np.array([4, 4]), reduction="none")
    assert np.isinf(ours[0]).all() and np.isnan(ours[1][:3]).all()
    assert np.isnan(ours[1][3, 0]).all() and not ours[1][3, 1].any()  # past input length 3
    assert_pair(ours, theirs, "float64")
    ours, theirs = run_both(lp, targets, np.array([4, 3]), np.array([4, 4]), reduction="sum",
                            zero_infinity=True)
    assert ours[0] == 0 and not ours[1].any()
    assert_pair(ours, theirs, "float64")


def test_input_length_zero():
    lp, targets, _, _ = random_case(1, 5, 3, 4, 2)
    ours, theirs = run_both(lp, targets, np.array([0, 0, 5]), np.array([0, 2, 1]),
                            reduction="none")
    assert ours[0][0] == 0 and np.isinf(ours[0][1])
    assert_pair(ours, theirs, "float64")


@pytest.mark.parametrize("targets_1d", [True, False])
def test_unbatched_as_torch(targets_1d):
    lp, _, _, _ = random_case(2, 7, 1, 5, 3)
    targets = np.array([[1, 1, 4]])
    results = []
    for m in (gpugrad, torch):
        x = m.tensor(lp[:, 0], requires_grad=True)
        t = m.tensor(targets[0] if targets_1d else targets[:1])
        for il, tl in ((m.tensor(7), m.tensor(3)), ((7,), (3,)), (m.tensor([6]), m.tensor(3))):
            for reduction in ("none", "mean", "sum"):
                loss = m.nn.functional.ctc_loss(x, t, il, tl, reduction=reduction)
                assert loss.dim() == 0
                loss.backward()
                results.append(loss.item())
        results.append(x.grad.numpy())
    half = len(results) // 2
    for a, b in zip(results[:half], results[half:]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_non_contiguous_log_probs_int32_lengths_and_targets():
    lp, targets, il, tl = random_case(3, 6, 4, 5, 3)
    out = []
    for m in (gpugrad, torch):
        base = m.tensor(np.ascontiguousarray(lp.transpose(1, 0, 2)), requires_grad=True)
        x = base.transpose(0, 1)  # (T, N, C) view of (N, T, C) memory
        loss = m.nn.functional.ctc_loss(x, m.tensor(targets.astype(np.int32)),
                                        m.tensor(il.astype(np.int32)),
                                        m.tensor(tl.astype(np.int32)), reduction="sum",
                                        zero_infinity=True)
        loss.backward()
        out.append((loss.detach().numpy(), base.grad.numpy()))
    assert_pair(*out, "float64")


def test_inputs_are_not_modified():
    lp, targets, il, tl = random_case(0, 8, 4, 5, 3)
    x, t = gpugrad.tensor(lp, requires_grad=True), gpugrad.tensor(targets)
    li, lt = gpugrad.tensor(il), gpugrad.tensor(tl)
    F.ctc_loss(x, t, li, lt).backward()
    for tensor, array in ((x, lp), (t, targets), (li, il), (lt, tl)):
        np.testing.assert_array_equal(tensor.detach().numpy(), array)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_gradcheck_through_log_softmax(reduction):
    """PyTorch's gradient is that of the logits: exact through log_softmax."""
    rng = np.random.default_rng(4)
    logits = gpugrad.tensor(rng.standard_normal((6, 3, 4)), requires_grad=True)
    targets = gpugrad.tensor([[1, 1, 2], [3, 0, 0], [2, 3, 0]])
    il, tl = gpugrad.tensor([6, 5, 4]), gpugrad.tensor([3, 1, 0])

    def fn(z):
        return F.ctc_loss(F.log_softmax(z, 2), targets, il, tl, reduction=reduction)

    assert gpugrad.autograd.gradcheck(fn, (logits,))


def test_graph_names_and_double_backward_as_torch():
    lp, targets, il, tl = random_case(0, 8, 4, 5, 3)
    names = []
    for m in (gpugrad, torch):
        x = m.tensor(lp, requires_grad=True)
        args = (m.tensor(targets), m.tensor(il), m.tensor(tl))
        row = []
        for kw in ({"reduction": "none"}, {"reduction": "mean"}, {"zero_infinity": True,
                                                                 "reduction": "none"}):
            node = m.nn.functional.ctc_loss(x, *args, **kw).grad_fn
            row.append([type(node).__name__] + [type(f).__name__ for f, _ in
                                               node.next_functions if f is not None])
        loss = m.nn.functional.ctc_loss(x, *args, reduction="sum")
        (g,) = m.autograd.grad(loss, x, create_graph=True)
        with pytest.raises(RuntimeError, match="derivative for aten::_ctc_loss_backward is not "
                                               "implemented"):
            g.sum().backward()
        names.append(row)
    assert names[0] == names[1]


def test_module_as_torch():
    for kw in ({}, {"blank": 2, "reduction": "sum", "zero_infinity": True}):
        ours, theirs = gpugrad.nn.CTCLoss(**kw), torch.nn.CTCLoss(**kw)
        assert repr(ours) == repr(theirs)
        assert (ours.blank, ours.reduction, ours.zero_infinity) == \
            (theirs.blank, theirs.reduction, theirs.zero_infinity)
    for ours, theirs in ((gpugrad.nn.CTCLoss, torch.nn.CTCLoss),
                         (gpugrad.nn.CTCLoss.forward, torch.nn.CTCLoss.forward),
                         (F.ctc_loss, torch.nn.functional.ctc_loss)):
        assert [(p.name, p.default) for p in inspect.signature(ours).parameters.values()] == \
            [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()]
    lp, targets, il, tl = random_case(6, 20, 2, 9, 9, 8)
    out = []
    for m in (gpugrad, torch):
        x = m.tensor(lp, requires_grad=True)
        loss = m.nn.CTCLoss(blank=8, zero_infinity=True)(x, m.tensor(targets), m.tensor(il),
                                                         m.tensor(tl))
        loss.backward()
        out.append((loss.detach().numpy(), x.grad.numpy()))
    assert_pair(*out, "float64")
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        gpugrad.nn.CTCLoss(reduction="bad")(gpugrad.tensor(lp), gpugrad.tensor(targets),
                                            gpugrad.tensor(il), gpugrad.tensor(tl))


LP = log_softmax(np.random.default_rng(9).standard_normal((6, 3, 5)))
TG = np.array([[1, 2, 3], [1, 1, 0], [4, 4, 4]])
IL, TL = np.array([6, 5, 2]), np.array([3, 2, 3])
ERRORS = [
    # log_probs, targets, input_lengths, target_lengths, kwargs
    ("rank", LP[0, 0], TG, IL, TL, {}),
    ("rank4", LP[None], TG, IL, TL, {}),
    ("int log_probs", LP.astype(np.int64), TG, IL, TL, {}),
    ("half", LP.astype(np.float16), TG, IL, TL, {}),
    ("empty", LP[:0], TG, IL * 0, TL, {}),
    ("blank", LP, TG, IL, TL, {"blank": 5}),
    ("negative blank", LP, TG, IL, TL, {"blank": -1}),
    ("reduction", LP, TG, IL, TL, {"reduction": "bad"}),
    ("float input_lengths", LP, TG, IL.astype(float), TL, {}),
    ("bool target_lengths", LP, TG, IL, TL.astype(bool), {}),
    ("float tuple", LP, TG, (6.0, 5, 2), TL, {}),
    ("int lengths", LP[:, 0], TG[0], 6, 3, {}),
    ("input_lengths size", LP, TG, IL[:2], TL, {}),
    ("target_lengths size", LP, TG, IL, TL[:2], {}),
    ("long input", LP, TG, np.array([7, 5, 2]), TL, {}),
    ("negative input", LP, TG, np.array([-1, 5, 2]), TL, {}),
    ("negative target", LP, TG, IL, np.array([-1, 2, 3]), {}),
    ("targets rows", LP, TG[:2], IL, TL, {}),
    ("targets too short", LP, TG, IL, np.array([4, 2, 3]), {}),
    ("targets rank", LP, TG[None], IL, TL, {}),
    ("concatenated size", LP, TG.reshape(-1)[:7], IL, TL, {}),
    ("blank kind", LP, TG, IL, TL, {"blank": 1.0}),
    ("zero_infinity kind", LP, TG, IL, TL, {"zero_infinity": 1}),
]


def _as(m, value):
    return m.tensor(value) if isinstance(value, np.ndarray) else value


@pytest.mark.parametrize("name,lp,targets,il,tl,kw", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_as_torch(name, lp, targets, il, tl, kw):
    caught = []
    for m in (torch, gpugrad):
        with pytest.raises(Exception) as info:
            m.nn.functional.ctc_loss(*(_as(m, v) for v in (lp, targets, il, tl)), **kw)
        caught.append(info.value)
    assert type(caught[1]) is type(caught[0]), caught
    theirs, ours = (str(e).replace("torch.", "gpugrad.") for e in caught)
    if not isinstance(caught[0], (TypeError, NotImplementedError)):
        assert ours == theirs


def test_targets_out_of_range_is_an_error():
    """PyTorch reads out of bounds here; gpugrad says which label is wrong."""
    for bad in (5, -1):
        targets = TG.copy()
        targets[1, 0] = bad
        with pytest.raises(RuntimeError, match=rf"targets must be class indices in \[0, 5\), "
                                               rf"got {bad}"):
            F.ctc_loss(gpugrad.tensor(LP), gpugrad.tensor(targets), gpugrad.tensor(IL),
                       gpugrad.tensor(TL))
    targets = TG.copy()
    targets[1, 2] = 99  # padding past the target length is never read
    F.ctc_loss(gpugrad.tensor(LP), gpugrad.tensor(targets), gpugrad.tensor(IL),
               gpugrad.tensor(TL))
