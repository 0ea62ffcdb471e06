"""Inference tensors, against torch: which tensors are inference tensors, and what autograd
and in-place writes refuse later. (The mode itself, nesting, decorators, threads:
test_inference_mode_context.py.)"""

from __future__ import annotations

import pytest
import torch
from torch_oracle import outcome, same

import gpugrad

SAVED = "Inference tensors cannot be saved for backward"
INPLACE = "Inplace update to inference tensor outside InferenceMode is not allowed"


@pytest.mark.parametrize("make", [
    lambda L, n: L.ones(2, 3),
    lambda L, n: L.empty(0),
    lambda L, n: n + 1,
    lambda L, n: n.sum(0),
    lambda L, n: L.ones(2, 3, dtype=L.int64),
    lambda L, n: L.tensor([1.0, 2.0], dtype=L.float64),
    lambda L, n: n[0],  # a view of a normal tensor is normal
    lambda L, n: n.t(),
    lambda L, n: n.detach(),
    lambda L, n: n.add_(0),  # written in place: still normal
    lambda L, n: L.ones(2, 3)[0],  # a view of an inference tensor is one
    lambda L, n: L.ones(2, 3).transpose(0, 1).contiguous(),
])
def test_which_tensors_made_in_inference_mode_are_inference_tensors(make):
    def run(L):
        n = L.ones(2, 3)
        with L.inference_mode():
            t = make(L, n)
            inside = t.is_inference()
        return inside, t.is_inference(), L.is_inference(t), n.is_inference()

    same(run)


@pytest.mark.parametrize("derive", [
    lambda t: t[0], lambda t: t.detach(), lambda t: t.data, lambda t: t.view(-1),
    lambda t: t.contiguous(), lambda t: t.float(),  # (the tensor itself)
    lambda t: t + 1, lambda t: t.clone(), lambda t: t.double(), lambda t: t.exp(),
])
def test_what_is_made_from_an_inference_tensor_outside(derive):
    def run(L):
        with L.inference_mode():
            t = L.ones(2, 2)
        return derive(t).is_inference()

    same(run)


def test_version_counter():
    def run(L):
        n = L.ones(3)
        with L.inference_mode():
            t = L.ones(3)
            n.add_(1)  # a normal tensor counts writes made in inference mode too
            v = n[0:2]
        results = [n._version, v._version]
        for x in (t, t[0:1]):
            results.append(outcome(lambda L, x=x: x._version, L))
        return results

    got = same(run)
    assert got[2] == (RuntimeError, "Inference tensors do not track version counter.")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", [
    lambda w, i: w * i, lambda w, i: i * w, lambda w, i: w.exp() * i,
    lambda w, i: w.unsqueeze(0) @ i.unsqueeze(1), lambda w, i: w.pow(i),
    lambda w, i: w[1:] * i[1:],
])
def test_saving_an_inference_tensor_for_backward_is_refused(op, dtype):
    def run(L):
        w = L.ones(3, dtype=getattr(L, dtype), requires_grad=True)
        with L.inference_mode():
            i = L.full((3,), 2.0, dtype=getattr(L, dtype))
        return op(w, i)

    got = outcome(run, gpugrad)
    assert got == outcome(run, torch)
    assert got[0] is RuntimeError and got[1].startswith(SAVED)


@pytest.mark.parametrize("op", [
    lambda w, i: w + i, lambda w, i: i - w, lambda w, i: i.sum() + w,
    lambda w, i: gpugrad.where(i > 0, w, i) if isinstance(w, gpugrad.Tensor)
    else torch.where(i > 0, w, i),
])
def test_inference_tensors_that_are_not_saved_may_join_the_graph(op):
    def run(L):
        w = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with L.inference_mode():
            i = L.tensor([2.0, -1.0, 4.0])
        out = op(w, i)
        out.sum().backward()
        return out.requires_grad, out.is_inference(), w.grad.tolist()

    same(run)


def test_outside_grad_mode_inference_tensors_are_plain_inputs():
    def run(L):
        w = L.ones(3, requires_grad=True)
        with L.inference_mode():
            i = L.ones(3)
        with L.no_grad():
            a = w * i
        b = i * 2
        return a.requires_grad, a.is_inference(), b.requires_grad, b.is_inference()

    same(run)


def test_custom_function_saving_an_inference_tensor_is_refused():
    def run(L):
        class Scale(L.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.save_for_backward(b)
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2, None

        w = L.ones(3, requires_grad=True)
        with L.inference_mode():
            i = L.ones(3)
        return Scale.apply(w, i)

    assert same(run)[1].startswith(SAVED)


@pytest.mark.parametrize("write", [
    lambda t: t.add_(1), lambda t: t.__iadd__(1), lambda t: t.mul_(t), lambda t: t.exp_(),
    lambda t: t.zero_(), lambda t: t.fill_(3), lambda t: t.copy_(t * 0),
    lambda t: t.__setitem__(0, 5.0), lambda t: t[0].add_(1), lambda t: t.t().mul_(2),
    lambda t: t.uniform_(), lambda t: t.clamp_(0, 1), lambda t: t.masked_fill_(t > 0, 0.0),
    lambda t: t.index_add_(0, t.new_zeros(1).long(), t.new_ones(1, 2)),
    lambda t: t.unsqueeze_(0),
    lambda t: t.resize_(2),
])
@pytest.mark.parametrize("mode", ["grad", "no_grad", "inference_mode(False)"])
def test_inplace_write_into_an_inference_tensor_outside_is_refused(write, mode):
    def run(L):
        with L.inference_mode():
            t = L.ones(3, 2)
        before = t.clone()
        ctx = {"grad": L.enable_grad(), "no_grad": L.no_grad(),
               "inference_mode(False)": L.inference_mode(False)}[mode]
        with ctx:
            result = outcome(lambda L: write(t), L)
        return result, L.equal(t, before)

    (error, message), untouched = outcome(run, gpugrad)
    assert (error, message) == outcome(run, torch)[0]
    assert error is RuntimeError and message.startswith(INPLACE)
    assert untouched  # refused before the write (PyTorch writes some, then refuses)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inplace_writes_inside_inference_mode(dtype):
    def run(L):
        w = L.ones(3, dtype=getattr(L, dtype), requires_grad=True)
        n = L.ones(3, dtype=getattr(L, dtype))
        with L.inference_mode():
            t = L.ones(3, dtype=getattr(L, dtype))
            t.add_(1)
            t[0] = 5.0
            t.relu_()
            n.mul_(t)
            w.mul_(2)  # a leaf that requires grad: nothing records here, so allowed
            inside = t.is_inference(), n.is_inference(), w.requires_grad, w.grad_fn
        return inside, t.tolist(), n.tolist(), w.tolist(), n._version

    same(run)


def test_inplace_with_an_inference_operand_outside():
    def run(L):
        with L.inference_mode():
            i = L.full((3,), 2.0)
        n = L.ones(3)
        n.mul_(i)
        z = L.ones(3, requires_grad=True).clone()
        z.add_(i)  # add saves neither operand
        z.copy_(i * 1)
        ok = n.tolist(), z.grad_fn is not None, z.is_inference()
        return ok, outcome(lambda L: L.ones(3, requires_grad=True).clone().mul_(i), L)

    assert same(run)[1][1].startswith(SAVED)


def test_requires_grad_on_an_inference_tensor():
    def run(L):
        with L.inference_mode():
            t = L.ones(3)
            made = L.ones(3, requires_grad=True)
            inside = L.ones(2).requires_grad_().requires_grad, made.requires_grad
            ints = L.ones(2, dtype=L.int64)
        results = [inside, made.is_inference(), t.requires_grad_(False).requires_grad]
        for fn in (lambda L: t.requires_grad_(), lambda L: setattr(t, "requires_grad", True),
                   lambda L: L.nn.Parameter(t), lambda L: ints.requires_grad_()):
            results.append(outcome(fn, L))
        with L.no_grad():
            results.append(outcome(lambda L: t.requires_grad_(), L))
        return results

    got = same(run)
    assert got[3] == (RuntimeError, "Setting requires_grad=True on inference tensor outside "
                                     "InferenceMode is not allowed.")


def test_views_made_in_inference_mode_refuse_recorded_inplace_outside():
    def run(L):
        w = L.ones(4, requires_grad=True)
        x = L.ones(3, 4, requires_grad=True).clone()
        y = L.ones(3, 4)
        with L.inference_mode():
            xv, yv, yv2 = x[0], y[0], y[1]
        chained = yv2[1:3]  # a view of such a view, made outside
        results = [xv.is_inference(), yv.is_inference(), yv.add_(1).tolist()]  # not recorded
        for fn in (lambda L: xv.mul_(2), lambda L: yv.add_(w), lambda L: chained.add_(w[:2])):
            results.append(outcome(fn, L))
        with L.no_grad():
            results.append(xv.mul_(2).tolist())
        return results

    got = same(run)
    assert got[3][1].startswith("A view was created in inference mode and is being modified "
                                "inplace in normal mode.")


def test_views_made_under_no_grad_refuse_recorded_inplace():
    def run(L):
        w = L.ones(4, requires_grad=True)
        leaf = L.ones(4, requires_grad=True)
        y = L.ones(3, 4)
        with L.no_grad():
            yv, lv = y[0], leaf[1:]
        chained = yv[0:2]
        return [outcome(fn, L) for fn in (lambda L: yv.add_(w), lambda L: lv.mul_(2),
                                          lambda L: chained.add_(w[:2]).tolist())]

    got = outcome(run, gpugrad)
    want = outcome(run, torch)
    assert got[:2] == want[:2]
    # (a view of such a view: the same refusal; PyTorch words it for the chain)
    assert got[2][0] is want[2][0] is RuntimeError and "no_grad mode" in got[2][1]


def test_nothing_records_in_inference_mode_even_under_enable_grad():
    def run(L):
        w = L.ones(3, requires_grad=True)
        n = L.ones(3)
        with L.inference_mode():
            a = w * 2
            with L.enable_grad():
                modes = L.is_grad_enabled(), L.is_inference_mode_enabled()
                b = w * n
                c = w[0:2]
        return modes, [(t.grad_fn, t.is_inference()) for t in (a, b)], c.grad_fn

    same(run)


def test_backward_in_inference_mode_makes_inference_gradients():
    def run(L):
        w = L.ones(3, requires_grad=True)
        q = (w * 3).sum()
        with L.inference_mode():
            q.backward()
        grad = w.grad
        results = [grad.is_inference(), grad.tolist()]
        (w * 2).sum().backward()  # accumulating into that .grad is an in-place write
        return results

    got = outcome(run, gpugrad)
    want = outcome(run, torch)
    assert got[0] is want[0] is RuntimeError and got[1].startswith(INPLACE)
    assert want[1].startswith(INPLACE)


def test_saving_through_saved_tensor_hooks_is_refused_too():
    def run(L):
        w = L.ones(3, requires_grad=True)
        with L.inference_mode():
            i = L.ones(3)
        with L.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            return w * i

    assert same(run)[1].startswith(SAVED)
