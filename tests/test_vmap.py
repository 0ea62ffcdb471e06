"""``gpugrad.vmap`` against ``torch.vmap``: pytree in_dims/out_dims, nesting, composition with
``grad`` and ``.backward()``, chunk_size, randomness modes, zero-size batches and PyTorch's
error messages."""

import inspect
import re

import numpy as np
import pytest
import torch

import gpugrad

RNG = np.random.default_rng(11)
A = RNG.standard_normal((4, 3))
B = RNG.standard_normal((3, 4))
V = RNG.standard_normal(3)


def _both(run):
    return run(gpugrad), run(torch)


def _close(ours, theirs):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gpugrad.Tensor), type(ours)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
    elif isinstance(theirs, dict):
        assert type(ours) is dict and list(ours) == list(theirs)
        for k in theirs:
            _close(ours[k], theirs[k])
    elif isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and isinstance(ours, list) == \
            isinstance(theirs, list) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _close(o, t)
    else:
        assert ours == theirs


def test_same_object_and_signature_as_torch():
    assert gpugrad.vmap is gpugrad.func.vmap
    assert list(inspect.signature(gpugrad.vmap).parameters) == \
        list(inspect.signature(torch.vmap).parameters)
    f = gpugrad.vmap(test_same_object_and_signature_as_torch)
    assert f.__name__ == "test_same_object_and_signature_as_torch"  # functools.wraps


def test_in_dims_int_negative_none_tuple_and_nested():
    def run(m):
        a, b, v = m.tensor(A), m.tensor(B), m.tensor(V)
        return (
            m.vmap(lambda x: x.exp().sum() * x)(a),
            m.vmap(lambda x, y: x * y, in_dims=(0, 1))(a, b),
            m.vmap(lambda x, y: x * y, in_dims=(-1, -2))(b, a),
            m.vmap(lambda x, y: x @ y, in_dims=(0, None))(a, b),
            m.vmap(lambda x, s: x * s, in_dims=(0, None))(a, 2.5),
            m.vmap(lambda pair: pair[0] + pair[1], in_dims=([0, 1],))([a, b]),
            m.vmap(lambda pair: pair[0] + pair[1])((a, a * 2)),  # an int reaches every leaf
            m.vmap(lambda d: d["w"] * d["x"], in_dims=({"w": None, "x": 0},))({"w": v, "x": a}),
            m.vmap(lambda d, y: d["w"] * d["x"] - y, in_dims=(None, 0))({"w": v, "x": v}, a),
        )
    _close(*_both(run))


def test_out_dims_tuple_negative_dict_and_container_types():
    def run(m):
        a = m.tensor(A)
        return (
            m.vmap(lambda x: (x.sum(), x * 2), out_dims=(0, 1))(a),
            m.vmap(lambda x: x.outer(x), out_dims=-1)(a),
            m.vmap(lambda x: x * 2, out_dims=(1,))(a),
            m.vmap(lambda x: {"s": x.sum(), "l": [x, (x * 3, x.sin())]},
                   out_dims={"s": 0, "l": [1, (0, -1)]})(a),
            m.vmap(lambda x: [x, x.cos()], out_dims=[1, 0])(a),
            tuple(m.vmap(lambda x: m.max(x, 0))(a)),
        )
    _close(*_both(run))
    out = gpugrad.vmap(lambda x: gpugrad.max(x, 0))(gpugrad.tensor(A))
    assert type(out).__name__ == "max" and tuple(out.indices.shape) == (4,)


def test_kwargs_are_not_mapped_and_tensor_methods_work():
    def run(m):
        a, v = m.tensor(A), m.tensor(V)

        def f(x, *, scale, shift=None):
            y = x.clone().reshape(3, 1).expand(3, 2).transpose(0, 1).contiguous().view(-1)
            return y.clamp(min=-1.0).softmax(0) * scale + shift.mean()
        return m.vmap(f)(a, scale=v.sum(), shift=v)
    _close(*_both(run))


def test_nested_vmap():
    def run(m):
        a, b = m.tensor(A), m.tensor(B)
        outer = m.vmap(m.vmap(lambda x, y: x * y, in_dims=(None, 0)), in_dims=(0, None))(
            a[:, 0], a[0])
        pairwise = m.vmap(m.vmap(lambda x, y: (x - y).pow(2).sum(), in_dims=(0, None)),
                          in_dims=(None, 0))(a, b.T)
        inner_out = m.vmap(m.vmap(lambda x: x * 2, out_dims=0), in_dims=1, out_dims=1)(a)
        return outer, pairwise, inner_out
    _close(*_both(run))


def test_backward_through_vmap_and_grad_inside():
    def run(m):
        a = m.tensor(A, requires_grad=True)
        w = m.tensor(V, requires_grad=True)
        y = m.vmap(lambda x, u: (x * u).sin().sum() * x, in_dims=(0, None))(a, w)
        (y ** 2).sum().backward()
        # vmap(grad(f)) whose result is differentiated again: the gradients keep their history
        g = m.vmap(m.func.grad(lambda x: (x ** 3).sum()))(a)
        gg, = (m.autograd.grad(g.sum(), a))
        return y, a.grad, w.grad, g, gg
    _close(*_both(run))


def test_per_sample_gradients_of_an_mlp():
    x_np, y_np = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))

    def run(m):
        m.manual_seed(0)
        model = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.Tanh(), m.nn.Linear(4, 2)).double()
        rng = np.random.default_rng(1)
        with m.no_grad():
            for p in model.parameters():
                p.copy_(m.tensor(rng.standard_normal(tuple(p.shape))))
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, x, y):
            out = m.func.functional_call(model, p, (x.unsqueeze(0),))
            return m.nn.functional.mse_loss(out, y.unsqueeze(0))
        grads = m.vmap(m.func.grad(loss), in_dims=(None, 0, 0))(params, m.tensor(x_np),
                                                                 m.tensor(y_np))
        return {k: grads[k] for k in params}
    ours, theirs = _both(run)
    _close(ours, theirs)
    assert tuple(ours["0.weight"].shape) == (5, 4, 3)


def test_chunk_size_gives_the_same_results():
    a = gpugrad.tensor(A)
    f = lambda x: (x.outer(x).sum(0), x.sum())  # noqa: E731
    full = gpugrad.vmap(f)(a)
    for chunk in (1, 3, 4, 100):
        got = gpugrad.vmap(f, chunk_size=chunk)(a)
        assert all(gpugrad.equal(g, w) for g, w in zip(got, full))
    for m in (gpugrad, torch):
        with pytest.raises(ValueError, match=re.escape("chunk_size should be None or greater "
                                                       "than 0. (got 0)")):
            m.vmap(f, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size"):
        gpugrad.vmap(f, chunk_size=1.5)


def _random_funcs(m):
    return {
        "randn": lambda x: x + m.randn(3),
        "rand_like": lambda x: m.rand_like(x),
        "dropout": lambda x: m.nn.functional.dropout(x, 0.5),
        "normal_sample": lambda x: x + m.distributions.Normal(0.0, 1.0).sample((3,)),
        "bernoulli": lambda x: m.bernoulli(x.sigmoid()),
    }


def test_randomness_error_mode_refuses_every_draw():
    msg = "vmap: called random operation while in randomness error mode. Please either use " \
          "the 'same' or 'different' randomness flags on vmap or perform the randomness " \
          "operation out of vmap"
    for m in (gpugrad, torch):
        x = m.ones(4, 3)
        for f in _random_funcs(m).values():
            with pytest.raises(RuntimeError, match=re.escape(msg)):
                m.vmap(f)(x)
            with pytest.raises(RuntimeError, match="randomness error mode"):  # any level
                m.vmap(m.vmap(f, randomness="different"))(x[None])
            with pytest.raises(RuntimeError, match="randomness error mode"):
                m.vmap(m.vmap(f), randomness="different")(x[None])
            with pytest.raises(RuntimeError, match="randomness error mode"):  # zero-size too
                m.vmap(f)(x[:0])
        with pytest.raises(RuntimeError, match="Only allowed values for randomness are "
                                               "'error', 'different', or 'same'. Got foo"):
            m.vmap(lambda x: x, randomness="foo")
    # the flag is gone once vmap returns, also when func raised
    gpugrad.randn(2)


def test_randomness_same_and_different():
    for m in (gpugrad, torch):
        x = m.ones(4, 3)
        for name, f in _random_funcs(m).items():
            if m is torch and name == "bernoulli":  # PyTorch refuses it ('same' on a batched
                continue                            # probability); gpugrad draws the same
            same = m.vmap(f, randomness="same")(x)
            assert all(m.equal(same[i], same[0]) for i in range(4))
            different = m.vmap(f, randomness="different")(x)
            assert not all(m.equal(different[i], different[0]) for i in range(4))
        # 'same' draws once: the stream afterwards is as if one entry had drawn
        m.manual_seed(3)
        same = m.vmap(lambda u, m=m: m.randn(2), randomness="same")(x)
        after = m.randn(2)
        m.manual_seed(3)
        assert m.equal(same[0], m.randn(2)) and m.equal(after, m.randn(2))
        # nesting: each level keeps its own mode
        rows_same = m.vmap(m.vmap(lambda u, m=m: m.randn(()), randomness="same"),
                           randomness="different")(x)
        assert all(m.equal(rows_same[:, j], rows_same[:, 0]) for j in range(3))
        assert not m.equal(rows_same[0], rows_same[1])
        all_rows = m.vmap(m.vmap(lambda u, m=m: m.randn(()), randomness="different"),
                          randomness="same")(x)
        assert all(m.equal(all_rows[i], all_rows[0]) for i in range(4))
        assert not m.equal(all_rows[:, 0], all_rows[:, 1])


def test_zero_size_batch():
    def run(m):
        a = m.tensor(A[:0], requires_grad=True)
        y = m.vmap(lambda x: x * 2)(a)
        s, idx = m.vmap(lambda x: (x.sum(), x.argmax()), out_dims=(0, -1))(a)
        const = m.vmap(lambda x: m.ones(2, dtype=m.float64), out_dims=None)(a)
        pair = m.vmap(lambda x: x.outer(x), out_dims=1)(a)
        (y.sum() + pair.sum()).backward()
        return y, s, idx, const, pair, a.grad
    _close(*_both(run))
    for m in (gpugrad, torch):
        with pytest.raises(ValueError, match="must only return Tensors"):
            m.vmap(lambda x: 3)(m.ones(0, 2))


def test_out_dims_none():
    def run(m):
        a, v = m.tensor(A), m.tensor(V)
        return (m.vmap(lambda x: (x * 2, v), out_dims=(0, None))(a),
                m.vmap(lambda x: (x, 7, "s"), out_dims=(0, None, None))(a),
                m.vmap(lambda x: v.exp(), out_dims=None)(a))
    _close(*_both(run))
    for m in (gpugrad, torch):
        with pytest.raises(ValueError, match="can not return a BatchedTensor when out_dim is "
                                             "None"):
            m.vmap(lambda x: x * 2, out_dims=None)(m.tensor(A))


def test_in_place_on_a_mapped_input_writes_through():
    def run(m):
        a = m.tensor(A)
        out = m.vmap(lambda x: x.mul_(2).add_(1))(a)
        return out, a
    _close(*_both(run))


def _message(m, f, *args, **kw):
    with pytest.raises(Exception) as info:
        m.vmap(f, **kw)(*args)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("case", [
    "sizes", "no_mapped", "no_inputs", "in_dims_type", "in_dims_list", "in_dims_float_leaf",
    "in_dim_range", "in_dim_0d", "in_dim_on_int", "in_dim_on_none", "in_dims_len",
    "in_dims_dict_keys", "in_dims_list_vs_tuple", "non_tensor_out", "none_out",
    "out_dims_type", "out_dims_len", "out_dims_range", "func_not_callable",
])
def test_errors_match_pytorch(case):
    def make(m):
        x, y = m.ones(3, 4), m.ones(4)
        f2 = lambda a, b: a  # noqa: E731
        return {
            "sizes": (lambda a, b, c: a, (x, y, m.ones(2, 5)), {}),
            "no_mapped": (lambda a: a, (x,), {"in_dims": (None,)}),
            "no_inputs": (lambda: x, (), {}),
            "in_dims_type": (lambda a: a, (x,), {"in_dims": None}),
            "in_dims_list": (f2, (x, y), {"in_dims": [0, None]}),
            "in_dims_float_leaf": (f2, (x, y), {"in_dims": (None, 0.5)}),
            "in_dim_range": (lambda a: a, (x,), {"in_dims": -3}),
            "in_dim_0d": (lambda a: a, (m.ones(()),), {}),
            "in_dim_on_int": (f2, (x, 3), {}),
            "in_dim_on_none": (f2, (x, None), {"in_dims": (0, 0)}),
            "in_dims_len": (f2, (x, y), {"in_dims": (0,)}),
            "in_dims_dict_keys": (lambda d: d["a"], ({"a": x, "b": y},), {"in_dims": ({"a": 0},)}),
            "in_dims_list_vs_tuple": (lambda p: p[0], ([x, x],), {"in_dims": ((0, 0),)}),
            "non_tensor_out": (lambda a: (a, 3), (x,), {}),
            "none_out": (lambda a: None, (x,), {}),
            "out_dims_type": (lambda a: a, (x,), {"out_dims": 1.5}),
            "out_dims_len": (lambda a: (a, a), (x,), {"out_dims": (0, 1, 1)}),
            "out_dims_range": (lambda a: a, (x,), {"out_dims": 3}),
            "func_not_callable": (3, (x,), {}),
        }[case]

    f, args, kw = make(gpugrad)
    ours = _message(gpugrad, f, *args, **kw)
    f, args, kw = make(torch)
    theirs = _message(torch, f, *args, **kw)
    assert ours[0] is theirs[0], (ours, theirs)
    # PyTorch prints its TreeSpec where the structures differ; the text up to there is the same
    cut = lambda s: s.split(" has structure")[0]  # noqa: E731
    assert cut(ours[1]) == cut(theirs[1]), (ours[1], theirs[1])
