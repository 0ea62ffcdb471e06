"""Random programs run side by side in gpugrad and PyTorch; every gradient must agree.

A Hypothesis state machine creates leaves, combines tensors through random ops with
broadcasting, detaches, toggles no_grad, runs in-place ops, zeroes gradients and calls backward
with random upstream gradients. After each step the two libraries must hold the same values and
the same ``.grad`` on every leaf, or raise the same kind of error.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import gpugrad

# Every pair of these shapes broadcasts together, and the result is one of them.
SHAPES = [(3, 4), (4,), (3, 1), (1, 4), ()]
UNARY = ["exp", "tanh", "sigmoid", "sin", "neg", "abs", "relu", "square"]
BINARY = ["add", "sub", "mul", "div", "maximum"]
SAFE = {"div": lambda x: x.abs() + 1.0}  # keep divisors away from zero


class Pair:
    def __init__(self, g, t):
        self.g, self.t = g, t


class Programs(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.pairs: list[Pair] = []
        self.leaves: list[Pair] = []
        self.rng = np.random.default_rng(0)

    def _add(self, g, t, leaf=False):
        p = Pair(g, t)
        self.pairs.append(p)
        if leaf:
            self.leaves.append(p)

    @rule(shape=st.sampled_from(SHAPES), requires_grad=st.booleans())
    def new_leaf(self, shape, requires_grad):
        arr = self.rng.standard_normal(shape)
        g = gpugrad.tensor(arr, dtype=gpugrad.float64, requires_grad=requires_grad)
        t = torch.tensor(arr, dtype=torch.float64, requires_grad=requires_grad)
        self._add(g, t, leaf=requires_grad)

    @precondition(lambda self: self.pairs)
    @rule(data=st.data(), name=st.sampled_from(UNARY), under_no_grad=st.booleans())
    def unary(self, data, name, under_no_grad):
        p = data.draw(st.sampled_from(self.pairs))
        with gpugrad.set_grad_enabled(not under_no_grad):
            g = getattr(gpugrad, name)(p.g)
        with torch.set_grad_enabled(not under_no_grad):
            t = getattr(torch, name)(p.t)
        assert g.requires_grad == t.requires_grad
        self._add(g, t)

    @precondition(lambda self: self.pairs)
    @rule(data=st.data(), name=st.sampled_from(BINARY))
    def binary(self, data, name):
        a = data.draw(st.sampled_from(self.pairs))
        b = data.draw(st.sampled_from(self.pairs))
        fix = SAFE.get(name, lambda x: x)
        results = []
        for m, x, y in ((gpugrad, a.g, b.g), (torch, a.t, b.t)):
            try:
                results.append(getattr(m, name)(x, fix(y)))
            except RuntimeError:  # shapes that do not broadcast (after a reduction)
                results.append(None)
        assert (results[0] is None) == (results[1] is None), "only one library raised"
        if results[0] is not None:
            self._add(*results)

    @precondition(lambda self: self.pairs)
    @rule(data=st.data(), keepdim=st.booleans())
    def reduce(self, data, keepdim):
        p = data.draw(st.sampled_from(self.pairs))
        if p.g.ndim == 0:
            self._add(p.g.sum(), p.t.sum())
            return
        dim = data.draw(st.integers(-p.g.ndim, p.g.ndim - 1))
        self._add(p.g.mean(dim, keepdim=keepdim), p.t.mean(dim, keepdim=keepdim))

    @precondition(lambda self: self.pairs)
    @rule(data=st.data())
    def detach(self, data):
        p = data.draw(st.sampled_from(self.pairs))
        self._add(p.g.detach(), p.t.detach())

    @precondition(lambda self: self.pairs)
    @rule(data=st.data(), value=st.floats(-2, 2))
    def inplace_add(self, data, value):
        p = data.draw(st.sampled_from(self.pairs))
        errors = []
        for x in (p.g, p.t):
            try:
                x.add_(value)
            except RuntimeError as e:
                errors.append(type(e))
        assert len(errors) in (0, 2), f"only one library raised: {errors}"

    @precondition(lambda self: any(p.t.requires_grad for p in self.pairs))
    @rule(data=st.data())
    def backward(self, data):
        p = data.draw(st.sampled_from([p for p in self.pairs if p.t.requires_grad]))
        up = self.rng.standard_normal(tuple(p.t.shape))
        outcomes = []
        for x, m in ((p.g, gpugrad), (p.t, torch)):
            try:
                x.backward(m.tensor(up, dtype=m.float64), retain_graph=True)
                outcomes.append(None)
            except RuntimeError as e:  # e.g. a saved tensor was modified in place
                outcomes.append("version" if "inplace" in str(e) else str(e))
        assert outcomes[0] == outcomes[1], outcomes
        if outcomes[0] is not None:
            # A failed backward leaves no gradient behind in gpugrad (leaves are written once
            # the pass is through); PyTorch may already have accumulated into the leaves its
            # engine reached before the failing node. Start both again from no gradients.
            for leaf in self.leaves:
                leaf.g.grad = leaf.t.grad = None

    @precondition(lambda self: self.leaves)
    @rule(data=st.data(), to_none=st.booleans())
    def zero_grad(self, data, to_none):
        p = data.draw(st.sampled_from(self.leaves))
        for x in (p.g, p.t):
            if to_none or x.grad is None:
                x.grad = None
            else:
                x.grad.zero_()

    @invariant()
    def same_values_and_grads(self):
        for p in getattr(self, "pairs", []):
            np.testing.assert_allclose(p.g.detach().numpy(), p.t.detach().numpy(),
                                       rtol=1e-9, atol=1e-12)
        for p in getattr(self, "leaves", []):
            if p.t.grad is None:
                assert p.g.grad is None or not np.any(p.g.grad.numpy())
            else:
                assert p.g.grad is not None
                np.testing.assert_allclose(p.g.grad.numpy(), p.t.grad.numpy(),
                                           rtol=1e-9, atol=1e-12)


Programs.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPrograms = Programs.TestCase
