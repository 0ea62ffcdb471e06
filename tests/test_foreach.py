"""``gpugrad._foreach_*`` against ``torch._foreach_*``: every op, out of place (values and
gradients) and in place, each form of the second operand, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad._foreach_ops import BINARY, UNARY

SHAPES = [(2, 3), (4,), (0, 2), ()]
# Inputs inside every unary op's domain (acos, asin, log...).
RANGE = {"acos": (-0.9, 0.9), "asin": (-0.9, 0.9)}


def _lists(rng, lo=0.2, hi=0.9, shapes=SHAPES, requires_grad=False, dtype=np.float64):
    arrays = [rng.uniform(lo, hi, s).astype(dtype) for s in shapes]
    g = [gpugrad.tensor(a, requires_grad=requires_grad) for a in arrays]
    t = [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return g, t


def _close(ours, theirs):
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert tuple(o.shape) == tuple(t.shape) and o.dtype.is_floating_point
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


@pytest.mark.parametrize("op", UNARY)
def test_unary_out_of_place_with_gradients_and_in_place(op):
    rng = np.random.default_rng(0)
    g, t = _lists(rng, *RANGE.get(op, (0.2, 0.9)), requires_grad=True)
    g_out, t_out = getattr(gpugrad, f"_foreach_{op}")(g), getattr(torch, f"_foreach_{op}")(t)
    _close(g_out, t_out)
    sum(o.sum() for o in g_out).backward()
    sum(o.sum() for o in t_out).backward()
    _close([x.grad for x in g], [x.grad for x in t])
    g, t = _lists(rng, *RANGE.get(op, (0.2, 0.9)))
    assert getattr(gpugrad, f"_foreach_{op}_")(g) == g  # (the list, as PyTorch's)
    getattr(torch, f"_foreach_{op}_")(t)
    _close(g, t)


def _operands(rng, kind, n):
    """The second operand of a binary op in each form PyTorch takes."""
    if kind == "number":
        return 0.7, 0.7
    if kind == "numbers":
        values = rng.uniform(0.5, 1.5, n).tolist()
        return values, values
    if kind == "0-d tensor":
        return gpugrad.tensor(0.6, dtype=gpugrad.float64), torch.tensor(0.6, dtype=torch.float64)
    g, t = _lists(rng, 0.5, 1.5, requires_grad=True)
    return g, t


# (PyTorch has the 0-d Tensor overload only for add, sub, mul and div.)
@pytest.mark.parametrize("op,kind", [
    (op, kind) for op in BINARY for kind in ("number", "numbers", "0-d tensor", "tensors")
    if kind != "0-d tensor" or op in ("add", "sub", "mul", "div")])
def test_binary_forms_of_the_other_operand(op, kind):
    rng = np.random.default_rng(1)
    g, t = _lists(rng, requires_grad=True)
    go, to = _operands(rng, kind, len(SHAPES))
    g_out = getattr(gpugrad, f"_foreach_{op}")(g, go)
    t_out = getattr(torch, f"_foreach_{op}")(t, to)
    _close(g_out, t_out)
    sum(o.sum() for o in g_out).backward()
    sum(o.sum() for o in t_out).backward()
    _close([x.grad for x in g], [x.grad for x in t])
    if kind == "tensors":
        _close([x.grad for x in go], [x.grad for x in to])
    g, t = _lists(rng)
    getattr(gpugrad, f"_foreach_{op}_")(g, go.detach() if kind == "0-d tensor" else
                                        [x.detach() for x in go] if kind == "tensors" else go)
    getattr(torch, f"_foreach_{op}_")(t, to.detach() if kind == "0-d tensor" else
                                      [x.detach() for x in to] if kind == "tensors" else to)
    _close(g, t)


@pytest.mark.parametrize("op", ["add", "sub"])
def test_alpha_with_a_list_of_tensors(op):
    rng = np.random.default_rng(2)
    (g, t), (g2, t2) = _lists(rng), _lists(rng)
    _close(getattr(gpugrad, f"_foreach_{op}")(g, g2, alpha=3),
           getattr(torch, f"_foreach_{op}")(t, t2, alpha=3))
    getattr(gpugrad, f"_foreach_{op}_")(g, g2, alpha=-2)
    getattr(torch, f"_foreach_{op}_")(t, t2, alpha=-2)
    _close(g, t)


def test_pow_with_a_number_as_base():
    rng = np.random.default_rng(3)
    g, t = _lists(rng)
    _close(gpugrad._foreach_pow(2.0, g), torch._foreach_pow(2.0, t))


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("value", ["number", "numbers", "tensor"])
def test_addcmul_and_addcdiv(op, value):
    rng = np.random.default_rng(4)
    (g, t), (g1, t1), (g2, t2) = (_lists(rng, requires_grad=True), _lists(rng), _lists(rng))
    v = {"number": (0.5, 0.5), "numbers": ([0.5, -1.0, 2.0, 3.0],) * 2,
         "tensor": (gpugrad.tensor([0.5, -1.0, 2.0, 3.0]), torch.tensor([0.5, -1.0, 2.0, 3.0]))}
    gv, tv = v[value]
    g_out = getattr(gpugrad, f"_foreach_{op}")(g, g1, g2, gv)
    t_out = getattr(torch, f"_foreach_{op}")(t, t1, t2, tv)
    _close(g_out, t_out)
    if value != "tensor":  # (PyTorch has no derivative for a Tensor of scalars)
        sum(o.sum() for o in g_out).backward()
        sum(o.sum() for o in t_out).backward()
        _close([x.grad for x in g], [x.grad for x in t])
    g, t = [x.detach().clone() for x in g], [x.detach().clone() for x in t]
    getattr(gpugrad, f"_foreach_{op}_")(g, g1, g2, gv)
    getattr(torch, f"_foreach_{op}_")(t, t1, t2, tv)
    _close(g, t)


@pytest.mark.parametrize("weight", ["number", "tensors"])
def test_lerp_as_a_weight_average(weight):
    rng = np.random.default_rng(5)
    (g, t), (g1, t1) = _lists(rng, requires_grad=True), _lists(rng)
    gw, tw = (0.1, 0.1) if weight == "number" else _lists(rng)
    _close(gpugrad._foreach_lerp(g, g1, gw), torch._foreach_lerp(t, t1, tw))
    g, t = [x.detach().clone() for x in g], [x.detach().clone() for x in t]
    gpugrad._foreach_lerp_(g, g1, gw)
    torch._foreach_lerp_(t, t1, tw)
    _close(g, t)


def test_reductions_copies_and_products():
    rng = np.random.default_rng(6)
    g, t = _lists(rng, -1.0, 1.0)
    for ord_ in (2, 1, 0):
        _close(gpugrad._foreach_norm(g, ord_), torch._foreach_norm(t, ord_))
    _close(gpugrad._foreach_norm(g[:2], float("inf")), torch._foreach_norm(t[:2], float("inf")))
    _close(gpugrad._foreach_powsum(g, 3), torch._foreach_powsum(t, 3))
    _close(gpugrad._foreach_max(g[:2]), torch._foreach_max(t[:2]))
    _close(gpugrad._foreach_clone(g), torch._foreach_clone(t))
    (g2, t2) = _lists(rng)
    gpugrad._foreach_copy_(g, g2)
    torch._foreach_copy_(t, t2)
    _close(g, t)
    gpugrad._foreach_zero_(g)
    torch._foreach_zero_(t)
    _close(g, t)
    (ga, ta), (gb, tb) = (_lists(rng, shapes=[(2, 3)]), _lists(rng, shapes=[(3, 4)]))
    _close(gpugrad._foreach_mm(ga, gb), torch._foreach_mm(ta, tb))


@pytest.mark.parametrize("call", [
    lambda m, a: m._foreach_add(a, [m.ones(2)]),
    lambda m, a: m._foreach_add([], 1),
    lambda m, a: m._foreach_add(a, [1.0, 2.0, 3.0]),
    lambda m, a: m._foreach_mul(a, m.ones(2)),
    lambda m, a: m._foreach_max([m.ones(0)]),
    lambda m, a: m._foreach_norm([m.ones(0)], float("inf")),
    lambda m, a: m._foreach_add_([m.ones(2, requires_grad=True)], 1),
])
def test_errors_match_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch, [torch.ones(2), torch.ones(3)])
    with pytest.raises(RuntimeError, match=str(theirs.value)[:40].replace("(", r"\(")):
        call(gpugrad, [gpugrad.ones(2), gpugrad.ones(3)])


@pytest.mark.parametrize("stmt", [
    "L._foreach_zero_(ts)", "L._foreach_copy_(ts, [L.zeros(2)])", "L._foreach_exp_(ts)",
    "L._foreach_addcmul_(ts, ts, ts)", "L._foreach_lerp_(ts, ts, 0.5)", "L._foreach_mul_(ts, 2.)",
    "L._foreach_add_(ts, [1.0])", "L._foreach_add_(ts, ts, alpha=2)",
    "L._foreach_add_(ts, L.tensor(1.), alpha=2)",
    "L._foreach_add_(ts, [L.ones(2)], alpha=L.tensor(0.5))",
    "L._foreach_pow_(ts, 2.)", "L._foreach_sub_(ts, 1.0, alpha=2)",
    "L._foreach_add(ts, 1.0, alpha=2)",
    "L._foreach_mul_(ts, 2.0, alpha=2.0)",
])
def test_in_place_forms_return_the_list_and_alpha_is_refused_where_torch_refuses_it(stmt):
    seen = []
    for lib in (torch, gpugrad):
        ts = [lib.ones(2)]
        try:
            out = eval(stmt, {"L": lib, "ts": ts})
            seen.append((isinstance(out, list) and out[0] is ts[0], ts[0].tolist()))
        except TypeError:
            seen.append("TypeError")
    assert seen[1] == seen[0] or (stmt.startswith("L._foreach_exp_")
                                  and seen[1][0] is True)  # (NumPy's float32 exp: 1 ulp)
