"""Random sampling ops against torch: ``normal``, ``bernoulli`` and the in-place fills
(distributions, dtypes, errors, node names, zero gradients, ``generator=``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gpugrad

FILLS = [
    ("uniform_", (2.0, 5.0)), ("normal_", (1.0, 2.0)), ("random_", ()), ("random_", (7,)),
    ("random_", (-3, 4)), ("bernoulli_", (0.3,)), ("exponential_", (2.0,)),
    ("geometric_", (0.25,)), ("log_normal_", (0.5, 0.25)), ("cauchy_", (1.0, 2.0)),
]


@pytest.mark.parametrize("method,args", FILLS)
def test_fills_follow_their_generator(method, args):
    def fill(seed):
        g = gpugrad.Generator().manual_seed(seed)
        return getattr(gpugrad.empty(50), method)(*args, generator=g).tolist()

    assert fill(1) == fill(1) and fill(1) != fill(2)


def _sample(method, args, n=40000, dtype=gpugrad.float64):
    gpugrad.manual_seed(0)
    return getattr(gpugrad.empty(n, dtype=dtype), method)(*args).numpy()


@pytest.mark.parametrize("method,args,mean,check", [
    ("uniform_", (2.0, 5.0), 3.5, lambda x: x.min() >= 2 and x.max() < 5),
    ("normal_", (1.0, 2.0), 1.0, lambda x: abs(x.std() - 2) < 0.05),
    ("random_", (7,), 3.0, lambda x: set(np.unique(x)) == set(range(7))),
    ("random_", (-3, 4), 0.0, lambda x: set(np.unique(x)) == set(range(-3, 4))),
    ("bernoulli_", (0.3,), 0.3, lambda x: set(np.unique(x)) == {0, 1}),
    ("exponential_", (2.0,), 0.5, lambda x: x.min() >= 0),
    ("geometric_", (0.25,), 4.0, lambda x: x.min() == 1 and np.all(x == np.round(x))),
    ("log_normal_", (0.5, 0.25), math.exp(0.5 + 0.25**2 / 2), lambda x: x.min() > 0),
    ("cauchy_", (1.0, 2.0), None, lambda x: abs(np.median(x) - 1) < 0.1),
])
def test_fills_draw_their_distribution(method, args, mean, check):
    x = _sample(method, args)
    assert check(x)
    if mean is not None:
        assert abs(x.mean() - mean) < 0.05 * max(1.0, abs(mean))


def test_random_covers_each_dtype_like_torch():
    for dtype, high in ((gpugrad.uint8, 256), (gpugrad.bool, 2), (gpugrad.float16, 2**11 + 1)):
        x = gpugrad.empty(3000, dtype=dtype).random_()
        assert x.dtype == dtype and 0 <= x.numpy().astype(float).min()
        assert x.numpy().astype(float).max() < high
    big = gpugrad.empty(2000).random_().numpy()
    assert big.max() > 2**20 and big.max() <= 2**24  # float32: every integer it holds exactly
    ints = gpugrad.zeros(1000, dtype=gpugrad.int64).bernoulli_(0.5)
    assert ints.dtype == gpugrad.int64 and set(ints.tolist()) == {0, 1}
    assert set(gpugrad.zeros(500, dtype=gpugrad.int64).geometric_(0.5).tolist()) >= {1, 2}
    p = gpugrad.tensor([0.0, 1.0, 0.0])
    assert gpugrad.zeros(3).bernoulli_(p).tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("call,exc,match", [
    ("uniform_(2, 1)", RuntimeError, r"uniform_ expects to return a \[from, to\) range"),
    ("normal_(0, -1)", RuntimeError, "normal expects std >= 0.0, but found std -1"),
    ("exponential_(0)", RuntimeError, "exponential_ expects lambda > 0.0, but found lambda=0"),
    ("geometric_(1)", RuntimeError, r"geometric_ expects p to be in \(0, 1\), but got p=1"),
    ("log_normal_(1, 0)", RuntimeError, "log_normal_ expects std > 0.0, but found std=0"),
    ("cauchy_(0, 0)", RuntimeError, "cauchy_ expects sigma > 0.0, but found sigma=0"),
    ("random_(5, 2)", RuntimeError, "random_ expects 'from' to be less than 'to'"),
    ("random_(0)", RuntimeError, "but got from=0 >= to=0"),
    ("bernoulli_(1.5)", RuntimeError, r"bernoulli_ expects p to be in \[0, 1\], but got p=1.5"),
    ("bernoulli_(m.tensor([2.0, 0, 0]))", RuntimeError, "Expected p_in >= 0 && p_in <= 1"),
    ("long().uniform_()", NotImplementedError, "\"check_uniform_bounds\" not implemented for"),
    ("long().normal_()", NotImplementedError, "\"normal_kernel_cpu\" not implemented for 'Long"),
    ("long().log_normal_()", NotImplementedError, "\"log_normal_cpu\" not implemented for"),
    ("long().exponential_()", RuntimeError, "Exponential distribution is a continuous"),
    ("long().cauchy_()", RuntimeError, "Cauchy distribution is a continuous"),
    ("byte().random_(0, 300)", RuntimeError, "to - 1 is out of bounds for unsigned char"),
    ("byte().random_(-1, 3)", RuntimeError, "from is out of bounds for unsigned char"),
])
def test_bad_fills_raise_like_torch(call, exc, match):
    for m in (gpugrad, torch):
        with pytest.raises(exc, match=match):
            eval(f"m.zeros(3).{call}", {"m": m})


@pytest.mark.parametrize("call", ["uniform_()", "normal_()", "random_()", "random_(5)",
                                  "random_(2, 5)", "bernoulli_(0.3)",
                                  "bernoulli_(m.full((3,), 0.5))", "exponential_()",
                                  "geometric_(0.5)", "log_normal_()", "cauchy_()"])
def test_fill_nodes_carry_torch_names_and_give_no_gradient(call):
    names = []
    for m in (gpugrad, torch):
        x = m.ones(3, requires_grad=True)
        y = eval(f"x.clone().{call}", {"x": x, "m": m})
        names.append((type(y.grad_fn).__name__, y.grad_fn.name(),
                      [type(n).__name__ for n, _ in y.grad_fn.next_functions]))
        (y * 2).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert names[0] == names[1]


def test_normal_overloads_match_torch():
    for m in (gpugrad, torch):
        mean = m.zeros(2, 1, dtype=m.float64, requires_grad=True)
        std = m.ones(3, requires_grad=True)
        cases = [(m.normal(mean, 2.0), (2, 1), "NormalBackward1"),
                 (m.normal(0.5, std), (3,), "NormalBackward2"),
                 (m.normal(mean, std), (2, 3), "NormalBackward3")]
        for out, shape, name in cases:
            assert tuple(out.shape) == shape and out.grad_fn.name() == name
            assert type(out.grad_fn).__name__ == name
        assert cases[0][0].dtype == m.float64 and cases[1][0].dtype == m.float32
        assert m.normal(0.0, 1.0, (2, 2)).dtype == m.float32
        grads = m.autograd.grad(cases[2][0].sum(), (mean, std))
        assert [g.tolist() for g in grads] == [[[0.0], [0.0]], [0.0, 0.0, 0.0]]
    g = gpugrad.Generator().manual_seed(2)
    first = gpugrad.normal(gpugrad.zeros(4), 1.0, generator=g).tolist()
    assert first == gpugrad.normal(gpugrad.zeros(4), 1.0,
                                   generator=g.manual_seed(2)).tolist()
    values = gpugrad.normal(3.0, 0.5, (20000,)).numpy()
    assert abs(values.mean() - 3) < 0.02 and abs(values.std() - 0.5) < 0.02


@pytest.mark.parametrize("call,exc,match", [
    ("normal(m.zeros(2), -1.0)", RuntimeError, "normal expects std >= 0.0, but found std -1"),
    ("normal(m.zeros(2), m.ones(3))", RuntimeError, "size of tensor a \\(2\\) must match"),
    ("normal(m.zeros(2), -m.ones(2))", RuntimeError, "normal expects all elements of std"),
    ("normal(m.zeros(2, dtype=m.long), 1.0)", NotImplementedError, "not implemented for 'Long'"),
    ("bernoulli(m.tensor([1.5]))", RuntimeError, "Expected p_in >= 0 && p_in <= 1"),
    ("bernoulli(m.tensor([1, 0]))", NotImplementedError, "not implemented for 'Long'"),
])
def test_bad_normal_and_bernoulli_raise_like_torch(call, exc, match):
    for m in (gpugrad, torch):
        with pytest.raises(exc, match=match):
            eval(f"m.{call}", {"m": m})


def test_bernoulli_matches_torch():
    for m in (gpugrad, torch):
        p = m.tensor([0.0, 1.0, 0.25], requires_grad=True)
        out = m.bernoulli(p)
        assert out.grad_fn.name() == "BernoulliBackward0" and out.dtype == m.float32
        assert out.tolist()[:2] == [0.0, 1.0]
        out.sum().backward()
        assert p.grad.tolist() == [0.0, 0.0, 0.0]
        assert set(m.zeros(50).bernoulli(0.5).tolist()) <= {0.0, 1.0}
    gpugrad.manual_seed(1)
    draws = gpugrad.bernoulli(gpugrad.full((20000,), 0.3)).numpy()
    assert abs(draws.mean() - 0.3) < 0.02
    g = gpugrad.Generator()
    a = gpugrad.full((30,), 0.5).bernoulli(generator=g.manual_seed(3)).tolist()
    assert a == gpugrad.bernoulli(gpugrad.full((30,), 0.5), generator=g.manual_seed(3)).tolist()
