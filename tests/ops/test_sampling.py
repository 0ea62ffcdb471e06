"""``multinomial``: shapes, support, the distribution of draws with and without replacement
(against the weights and against PyTorch's own draws), reproducibility and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

WEIGHTS = [[0.1, 0.0, 0.5, 0.2, 1.2], [3.0, 1.0, 0.0, 0.0, 1.0]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shapes_support_and_no_repeats(dtype):
    w = gpugrad.tensor(WEIGHTS, dtype=getattr(gpugrad, dtype))
    draws = gpugrad.multinomial(w, 50, replacement=True)
    assert draws.shape == (2, 50) and draws.dtype == gpugrad.int64
    assert not np.isin(draws[1].numpy(), [2, 3]).any() and not (draws[0].numpy() == 1).any()
    one = w[0].multinomial(4)
    assert one.shape == (4,) and sorted(one.tolist()) == [0, 2, 3, 4]
    # Without replacement, zero weights come only once the positive ones are used up.
    every = gpugrad.multinomial(w, 5).numpy()
    assert sorted(every[1, :3]) == [0, 1, 4] and sorted(every[1, 3:]) == [2, 3]
    assert [sorted(r) for r in every] == [[0, 1, 2, 3, 4]] * 2
    assert gpugrad.multinomial(gpugrad.ones(0, 3), 2).shape == (0, 2)


def _frequencies(m, replacement, draws=4000):
    """How often each category comes first, and how often it is among the first two."""
    m.manual_seed(0)
    w = m.tensor(WEIGHTS, dtype=m.float64).repeat(draws // 2, 1)
    out = m.multinomial(w, 2, replacement=replacement).numpy().reshape(draws // 2, 2, 2)
    first = np.stack([np.bincount(out[:, r, 0], minlength=5) for r in range(2)]) / (draws // 2)
    both = np.stack([np.bincount(out[:, r].ravel(), minlength=5) for r in range(2)]) / (draws // 2)
    return first, both


@pytest.mark.parametrize("replacement", [True, False])
def test_distribution_matches_the_weights_and_torch(replacement):
    first, both = _frequencies(gpugrad, replacement)
    p = np.array(WEIGHTS) / np.sum(WEIGHTS, axis=1, keepdims=True)
    np.testing.assert_allclose(first, p, atol=0.04)  # 2000 draws per row: sd <= 0.011
    _, torch_both = _frequencies(torch, replacement)
    np.testing.assert_allclose(both, torch_both, atol=0.06)
    if not replacement:  # each draw of two distinct categories: the pair holds both
        np.testing.assert_allclose(both.sum(axis=1), 2.0)


def test_manual_seed_repeats_the_draws():
    w = gpugrad.tensor(WEIGHTS)
    gpugrad.manual_seed(3)
    a = gpugrad.multinomial(w, 4), gpugrad.multinomial(w, 7, True)
    gpugrad.manual_seed(3)
    b = gpugrad.multinomial(w, 4), gpugrad.multinomial(w, 7, True)
    assert all(x.tolist() == y.tolist() for x, y in zip(a, b))


BAD = [
    (np.ones((2, 2, 2)), 1, False, "prob_dist must be 1 or 2 dim"),
    (np.array(1.0), 1, False, "prob_dist must be 1 or 2 dim"),
    (np.array([1, 2]), 1, False, "multinomial only supports floating-point dtypes for input, "
                                 "got: Long"),
    (np.ones(3), 0, True, "cannot sample n_sample <= 0 samples"),
    (np.ones(3), 4, False, r"cannot sample n_sample > prob_dist.size\(-1\) samples without "
                           "replacement"),
    (np.array([0.2, -0.8]), 1, True, "probability tensor contains either `inf`, `nan` or "
                                     "element < 0"),
    (np.array([1.0, np.nan]), 1, False, "probability tensor contains either"),
    (np.array([1.0, np.inf]), 1, True, "probability tensor contains either"),
    (np.array([[1.0, 1.0], [0.0, 0.0]]), 1, False, r"invalid multinomial distribution \(sum of "
                                                   r"probabilities <= 0\)"),
    (np.ones((1, 2 ** 24 + 1), np.float32), 1, True, "number of categories cannot exceed 2"),
]


@pytest.mark.parametrize("weights,n,replacement,match", BAD)
def test_errors_as_torch(weights, n, replacement, match):
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError, match=match):
            m.multinomial(m.from_numpy(weights), n, replacement)


def test_generator_draws_repeat_and_bad_generators_are_refused():
    weights = gpugrad.tensor([[0.1, 0.5, 0.4, 0.0], [1.0, 1.0, 1.0, 1.0]])
    for replacement in (True, False):
        draws = []
        for _ in range(2):
            g = gpugrad.Generator().manual_seed(7)
            draws.append(gpugrad.multinomial(weights, 3, replacement, generator=g).tolist())
        assert draws[0] == draws[1]
    with pytest.raises(TypeError, match="argument 'generator' must be torch.Generator"):
        gpugrad.multinomial(gpugrad.ones(3), 1, generator=object())
    with pytest.raises(TypeError, match="argument 'generator' must be torch.Generator"):
        torch.multinomial(torch.ones(3), 1, generator=object())
