"""The recording API's fast layouts against the general one: ``record_unary`` (what
``Function.apply_unary`` records through) and ``apply_view`` (``Function.apply_view``) must lay
out the same node as ``record`` for every kind of one-tensor op (one output saving its input or
output, several outputs with non-differentiable ones, views), so that the engine cannot tell
them apart; and ``apply_view`` must register each view as ``Function.apply`` followed by
``views.track`` does."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad
from gpugrad.autograd import record as rec
from gpugrad.autograd import views
from gpugrad.autograd.function import ViewFunction

OPS = {
    "view": lambda x: x.view(2, -1),
    "reshape_copy": lambda x: x.reshape(-1),
    "expand": lambda x: x.expand(3, 4),
    "getitem_int": lambda x: x[1],
    "getitem_ints": lambda x: x[0, 2],
    "getitem_advanced": lambda x: x[gpugrad.tensor([0, 2, 0])],
    "getitem_slice": lambda x: x[1:, ::2],
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(0, 2),
    "diagonal": lambda x: x.diagonal(),
    "unfold": lambda x: x.unfold(1, 2, 1),
    "sum_dim": lambda x: x.sum(1),
    "sum_all": lambda x: x.sum(),
    "mean": lambda x: x.mean(0, keepdim=True),
    "amax": lambda x: x.amax(1),
    "max_dim": lambda x: gpugrad.max(x, 1),
    "min_dim": lambda x: gpugrad.min(x, 0, keepdim=True),
    "chunk": lambda x: x.chunk(2, 1),
    "unbind": lambda x: x.unbind(0),
    "transpose": lambda x: x.transpose(0, 1),
    "squeeze": lambda x: x.squeeze(0),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "permute": lambda x: x.permute(1, 0),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "split_sizes": lambda x: x.split([1, 3], 1),
    "var": lambda x: x.var(1),
    "logsumexp": lambda x: x.logsumexp(1),
    "softmax": lambda x: x.softmax(1),
}


# what an op's input is made from first (the op itself must be the one node recorded next)
PREP = {"reshape_copy": lambda x: x.t(), "expand": lambda x: x[:1], "squeeze": lambda x: x[:1]}


def _general(ctx, x, result):
    n = len(ctx.needs_input_grad) - 1
    rec.record(ctx, (x,) + (None,) * n, result if result.__class__ is tuple else (result,))


def _general_view(cls, x, *params):
    return views.track(cls.apply(x, *params), x)


def _registered(o):
    """Whether ``o`` is a differentiable view, made in grad mode, listed by its root."""
    info = o._view_of
    if info is None:
        return None
    return info[1], any(v is o for v in views.live_views(info[0]))


def _layout(node):
    def saved(s):
        if s is None or s.__class__ is not tuple:
            return s
        return (s[0] is not None, s[1] is not None, s[3], s[4])

    edges = tuple(None if e is None else (type(e[0]).__name__, e[1], e[2], e[3])
                  for e in node._edges)
    return (type(node).__name__, edges, node._backend, node._n_outputs, node._out_meta,
            node._differentiable_outputs, tuple(saved(s) for s in node._saved),
            node.needs_input_grad)


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("history", [False, True])
def test_record_unary_lays_out_the_node_as_record(name, history, monkeypatch):
    runs = []
    for path in ("fast", "general"):
        rng = np.random.default_rng(0)
        if path == "general":
            monkeypatch.setattr(rec, "record_unary", _general)
            monkeypatch.setattr(ViewFunction, "apply_view", classmethod(_general_view))
        leaf = gpugrad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        x = leaf * 1.0 if history else leaf
        if name in PREP:
            x = PREP[name](x)
        before = rec.tape_position()
        outs = _outputs(OPS[name](x))
        node = next(o.grad_fn for o in outs if o.grad_fn is not None)
        assert node._seq == before + 1  # forward recorded nothing of its own
        meta = [(o.grad_fn is node, o._output_nr, o.requires_grad, _registered(o),
                 o._base is None, o._vc is x._vc) for o in outs]
        layout = _layout(node)
        ups = [gpugrad.tensor(rng.standard_normal(tuple(o.shape))) for o in outs
               if o.requires_grad]
        gpugrad.autograd.backward([o for o in outs if o.requires_grad], ups)
        runs.append((layout, meta, leaf.grad.numpy()))
    (fast, fast_meta, fast_grad), (general, general_meta, general_grad) = runs
    assert fast == general
    assert fast_meta == general_meta
    np.testing.assert_array_equal(fast_grad, general_grad)


VIEW_OPS = [name for name in OPS if name in (
    "view", "expand", "getitem_int", "getitem_ints", "getitem_slice", "narrow", "select",
    "diagonal", "unfold", "transpose", "squeeze", "unsqueeze", "permute", "flatten",
    "unflatten")]


def _view_facts(x, out):
    root = x if x._base is None else x._base
    return (out._base is root, out._vc is x._vc, out.grad_fn is None, out.requires_grad,
            _registered(out), tuple(out.shape), out.stride())


@pytest.mark.parametrize("name", VIEW_OPS)
@pytest.mark.parametrize("mode", ["no_grad", "grad_mode_constant"])
def test_apply_view_without_a_node_matches_the_general_path(name, mode, monkeypatch):
    """Views that record nothing (no_grad, or an input that needs no grad) still share the
    base and the version counter and are registered as the general path registers them."""
    runs = []
    for path in ("fast", "general"):
        if path == "general":
            monkeypatch.setattr(ViewFunction, "apply_view", classmethod(_general_view))
        x = gpugrad.tensor(np.arange(12.0).reshape(3, 4), requires_grad=mode == "no_grad")
        if name in PREP:
            with gpugrad.no_grad():
                x = PREP[name](x)
        if mode == "no_grad":
            with gpugrad.no_grad():
                out = OPS[name](x)
        else:
            out = OPS[name](x)
        runs.append(_view_facts(x, out))
    assert runs[0] == runs[1]


def _cat_general(tensors, dim=0):
    from gpugrad.ops.join import Cat

    return Cat.apply(dim, *tensors)


@pytest.mark.parametrize("needs", ["none", "first", "second", "both", "dropped_view"])
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("grad_mode", [True, False])
def test_cat_direct_path_lays_out_the_node_as_apply(needs, dim, grad_mode):
    """``cat`` of alike pieces records through ``record`` without ``apply``: the same node
    (edges, needs_input_grad, dim and sizes), the same output and the same gradients."""
    runs = []
    for join in (gpugrad.cat, _cat_general):
        rng = np.random.default_rng(1)
        a = gpugrad.tensor(rng.standard_normal((2, 3)), requires_grad=needs in ("first", "both"))
        base = gpugrad.tensor(rng.standard_normal((4, 3)), requires_grad=True)
        if needs == "dropped_view":
            with gpugrad.no_grad():
                b = base[1:3]  # requires_grad=True, but no gradient reaches it (GRAD_DROPPED)
        else:
            b = base[1:3] * 1.0 if needs in ("second", "both") else base.detach()[1:3]
        before = rec.tape_position()
        with gpugrad.set_grad_enabled(grad_mode):
            out = join([a, b], dim)
        facts = [out.detach().numpy(), out.requires_grad, out.is_leaf]
        if out.grad_fn is not None:
            node = out.grad_fn
            assert node._seq == before + 1
            facts += [_layout(node), node.dim, node.sizes, node.name(),
                      [(type(f).__name__, nr) for f, nr in node.next_functions]]
            out.backward(gpugrad.tensor(rng.standard_normal(tuple(out.shape))))
            facts += [None if t.grad is None else t.grad.numpy() for t in (a, base)]
        runs.append(facts)
    fast, general = runs
    assert len(fast) == len(general)
    for f, g in zip(fast, general):
        if isinstance(f, np.ndarray):
            np.testing.assert_array_equal(f, g)
        else:
            assert f == g
