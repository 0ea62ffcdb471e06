"""Views made outside grad mode (``no_grad``, ``inference_mode``) of a tensor that requires
grad, against torch: they report ``requires_grad=True`` and are leaves, the ops that use them in
grad mode are recorded, and no gradient reaches them or their base."""

from __future__ import annotations

import pytest
from torch_oracle import same

VIEWS = {
    "select": lambda x: x[0],
    "slice": lambda x: x[1:],
    "view": lambda x: x.view(2, 3),
    "reshape": lambda x: x.reshape(3, 2),
    "transpose": lambda x: x.view(2, 3).t(),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "expand": lambda x: x[:1].expand(4),
    "split": lambda x: x.split(2)[1],
    "unbind": lambda x: x.view(2, 3).unbind(1)[2],
    "as_strided": lambda x: x.as_strided((2,), (2,)),
    "diagonal": lambda x: x.view(2, 3).diagonal(),
}
MODES = ["no_grad", "inference_mode"]


def _made_outside(L, mode: str, view, requires_grad: bool = True):
    x = L.arange(6.0, dtype=L.float64).requires_grad_(requires_grad)
    with getattr(L, mode)():
        v = view(x)
    return x, v


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(VIEWS))
def test_flags(name, mode):
    same(lambda L: [(v.requires_grad, v.is_leaf, v.grad_fn is None)
                    for v in [_made_outside(L, mode, VIEWS[name])[1]]])


@pytest.mark.parametrize("name", list(VIEWS))
def test_ops_in_grad_mode_are_recorded_and_pass_no_gradient(name):
    def run(L):
        x, v = _made_outside(L, "no_grad", VIEWS[name])
        y = (v * 3).sum()
        edges = [fn for fn, _ in y.grad_fn.next_functions[0][0].next_functions]
        y.backward()
        return y.requires_grad, type(y.grad_fn).__name__, edges, v.grad, x.grad
    assert same(run)[2] == [None, None]


def test_other_inputs_still_get_their_gradients():
    def run(L):
        x, v = _made_outside(L, "no_grad", VIEWS["view"])
        w = L.ones(2, 3, dtype=L.float64, requires_grad=True)
        (v * w + x.view(2, 3)).sum().backward()
        return w.grad.tolist(), x.grad.tolist(), v.grad
    same(run)


def test_a_view_of_it_made_in_grad_mode_records_a_node_with_no_edge():
    def run(L):
        _, v = _made_outside(L, "no_grad", VIEWS["slice"])
        u = v[0]
        return u.requires_grad, type(u.grad_fn).__name__, u.grad_fn.next_functions
    same(run)


# what each call raises, told by a phrase of PyTorch's message (its wording of the first changed
# between releases: "One of the differentiated Tensors" / "The differentiated Tensor at index 0")
PHRASES = ("appears to not have been used in the graph", "does not require grad",
           "created in no_grad mode")


@pytest.mark.parametrize("call", [
    lambda L, x, v: L.autograd.grad(v * 2, [v]),
    lambda L, x, v: L.autograd.grad(v * 2, [x]),
    lambda L, x, v: L.autograd.grad((v * 2).sum(), [x], allow_unused=True),
    lambda L, x, v: v.backward(L.ones_like(v)),
    lambda L, x, v: v.mul_(2),  # in place in grad mode
])
def test_autograd_calls(call):
    def run(L):
        x, v = _made_outside(L, "no_grad", VIEWS["slice"])
        try:
            return call(L, x, v)
        except RuntimeError as exc:
            return [p for p in PHRASES if p in str(exc)]
    same(run)


def test_requires_grad_flag_of_such_a_view_stays_and_copies_are_plain():
    def run(L):
        x, v = _made_outside(L, "no_grad", VIEWS["slice"])
        v.requires_grad_(False)
        return (v.requires_grad, v.detach().requires_grad, v.clone().requires_grad,
                v.clone().grad_fn is None)
    same(run)


def test_a_view_of_a_tensor_that_needs_no_grad_can_become_a_leaf():
    def run(L):
        _, v = _made_outside(L, "no_grad", VIEWS["select"], requires_grad=False)
        v.requires_grad_()
        (v * 2).backward()
        return v.requires_grad, v.grad.item()
    same(run)


def test_parameter_views_in_no_grad_are_plain_tensors_that_require_grad():
    def run(L):
        p = L.nn.Parameter(L.ones(2, 2))
        with L.no_grad():
            r = p[0]
        (r * L.ones(2, requires_grad=True)).sum().backward()
        return type(r).__name__, r.requires_grad, repr(r), p.grad
    same(run)
