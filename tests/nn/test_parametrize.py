"""``nn.utils.parametrize`` and the parametrizations and hooks built on it (``weight_norm``,
``spectral_norm``, old and new style), batch-norm fusion and ``functional_call``: values,
gradients, state dict keys and class names as PyTorch's."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import gpugrad

RNG = np.random.default_rng(0)
W = RNG.standard_normal((4, 3))
B = RNG.standard_normal((4,))
X = RNG.standard_normal((5, 3))


def _linear(m, dtype="float64"):
    lin = m.nn.Linear(3, 4).to(getattr(m, dtype))
    with m.no_grad():
        lin.weight.copy_(m.tensor(W))
        lin.bias.copy_(m.tensor(B))
    return lin


def _run(m, lin, dtype="float64"):
    x = m.tensor(X, dtype=getattr(m, dtype))
    out = lin(x)
    (out ** 2).sum().backward()
    return out.detach().numpy(), {n: p.grad.numpy() for n, p in lin.named_parameters()}


def _compare(ours, theirs, tol=1e-10):
    np.testing.assert_allclose(ours[0], theirs[0], rtol=tol, atol=tol)
    assert set(ours[1]) == set(theirs[1])
    for name in ours[1]:
        np.testing.assert_allclose(ours[1][name], theirs[1][name], rtol=tol, atol=tol)


class Symmetric:
    @staticmethod
    def build(m):
        class Sym(m.nn.Module):
            def forward(self, x):
                return x.triu() + x.triu(1).transpose(-1, -2)

        return Sym()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_new_weight_norm_matches_pytorch(dtype):
    tol = 1e-10 if dtype == "float64" else 1e-5
    runs = []
    for m in (gpugrad, torch):
        lin = m.nn.utils.parametrizations.weight_norm(_linear(m, dtype))
        assert type(lin).__name__ == "ParametrizedLinear"
        assert list(lin.state_dict()) == ["bias", "parametrizations.weight.original0",
                                          "parametrizations.weight.original1"]
        runs.append(_run(m, lin, dtype))
    _compare(*runs, tol)


def test_old_weight_norm_matches_pytorch_and_removes():
    runs = []
    for m in (gpugrad, torch):
        with pytest.warns(FutureWarning, match="weight_norm` is deprecated"):
            lin = m.nn.utils.weight_norm(_linear(m), dim=None)
        assert list(lin.state_dict()) == ["bias", "weight_g", "weight_v"]
        runs.append(_run(m, lin))
        m.nn.utils.remove_weight_norm(lin)
        assert sorted(n for n, _ in lin.named_parameters()) == ["bias", "weight"]
        np.testing.assert_allclose(lin.weight.detach().numpy(), W, rtol=1e-12)
        with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
            m.nn.utils.remove_weight_norm(lin)
    _compare(*runs)


def test_old_weight_norm_state_dict_loads_into_the_new_one_as_pytorch():
    """A checkpoint of ``nn.utils.weight_norm`` (``weight_g``/``weight_v``) loads into
    ``parametrizations.weight_norm``, nested or not; the caller's dict is left as it was."""
    for m in (gpugrad, torch):
        with pytest.warns(FutureWarning):
            old = m.nn.Sequential(m.nn.utils.weight_norm(_linear(m)))
        new = m.nn.Sequential(m.nn.utils.parametrizations.weight_norm(m.nn.Linear(3, 4)))
        new.double()
        saved = old.state_dict()
        keys = list(saved)
        assert str(new.load_state_dict(saved)) == "<All keys matched successfully>"
        assert list(saved) == keys == ["0.bias", "0.weight_g", "0.weight_v"]
        np.testing.assert_allclose(new[0].weight.detach().numpy(), W, rtol=1e-12)
        partial = {k: v for k, v in saved.items() if k != "0.weight_v"}  # only g: not renamed
        result = new.load_state_dict(partial, strict=False)
        assert result.unexpected_keys == ["0.weight_g"]
        assert result.missing_keys == ["0.parametrizations.weight.original0",
                                       "0.parametrizations.weight.original1"]


def test_old_weight_norm_warns_from_its_own_module_as_pytorch():
    """The deprecation is attributed to the library's file, not the caller's line, so the
    default filters show it once however many modules a program normalises."""
    for m in (gpugrad, torch):
        with pytest.warns(FutureWarning) as caught:
            m.nn.utils.weight_norm(_linear(m))
        path = caught[0].filename.replace("\\", "/")
        assert path.endswith("nn/utils/weight_norm.py") and m.__name__ in path, path


def test_new_spectral_norm_matches_pytorch():
    runs = []
    for m in (gpugrad, torch):
        lin = m.nn.utils.parametrizations.spectral_norm(_linear(m))
        assert list(lin.state_dict()) == ["bias", "parametrizations.weight.original",
                                          "parametrizations.weight.0._u",
                                          "parametrizations.weight.0._v"]
        runs.append(_run(m, lin))  # 15 power steps at registration + 1: converged either way
        sigma = np.linalg.svd(W, compute_uv=False)[0]
        np.testing.assert_allclose(lin.weight.detach().numpy(), W / sigma, rtol=1e-6)
    _compare(*runs, tol=1e-6)


def test_old_spectral_norm_matches_pytorch_with_the_same_start_vectors():
    runs, starts = [], None
    for m in (torch, gpugrad):
        lin = m.nn.utils.spectral_norm(_linear(m))
        assert list(lin.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
        if starts is None:
            starts = lin.weight_u.numpy().copy(), lin.weight_v.numpy().copy()
        else:
            with m.no_grad():
                lin.weight_u.copy_(m.tensor(starts[0]))
                lin.weight_v.copy_(m.tensor(starts[1]))
        runs.append(_run(m, lin))
        m.nn.utils.remove_spectral_norm(lin)
        assert sorted(n for n, _ in lin.named_parameters()) == ["bias", "weight"]
    _compare(runs[1], runs[0], tol=1e-10)


def test_register_chain_right_inverse_cached_and_remove():
    for m in (gpugrad, torch):
        lin = _linear(m)
        weight = lin.weight
        m.nn.utils.parametrize.register_parametrization(lin, "weight", _Square.build(m))
        assert lin.parametrizations.weight.original is weight  # the same Parameter lives on
        np.testing.assert_allclose(lin.weight.detach().numpy(), np.abs(W), rtol=1e-12)
        assert m.nn.utils.parametrize.is_parametrized(lin)
        assert m.nn.utils.parametrize.is_parametrized(lin, "weight")
        assert not m.nn.utils.parametrize.is_parametrized(lin, "bias")
        lin.weight = m.tensor(np.full((4, 3), 4.0))  # through right_inverse
        np.testing.assert_allclose(lin.parametrizations.weight.original.detach().numpy(), 2.0)
        with m.nn.utils.parametrize.cached():
            assert lin.weight is lin.weight
        assert lin.weight is not lin.weight
        assert m.nn.utils.parametrize.type_before_parametrizations(lin) is m.nn.Linear
        m.nn.utils.parametrize.remove_parametrizations(lin, "weight")
        assert type(lin) is m.nn.Linear and not hasattr(lin, "parametrizations")
        np.testing.assert_allclose(lin.weight.detach().numpy(), 4.0)
        with pytest.raises(ValueError, match="does not have a parametrization on weight"):
            m.nn.utils.parametrize.remove_parametrizations(lin, "weight")
        with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
            m.nn.utils.parametrize.register_parametrization(lin, "nothing", _Square.build(m))


class _Square:
    @staticmethod
    def build(m):
        class Square(m.nn.Module):
            def forward(self, x):
                return x * x

            def right_inverse(self, x):
                return x.abs().sqrt()

        return Square()


def test_parametrized_module_trains_and_deepcopies():
    for m in (gpugrad, torch):
        lin = m.nn.utils.parametrize.register_parametrization(_linear(m), "weight",
                                                               _Square.build(m))
        clone = copy.deepcopy(lin)
        opt = m.optim.SGD(lin.parameters(), lr=0.1)
        _run(m, lin)
        opt.step()
        assert not np.allclose(lin.weight.detach().numpy(), clone.weight.detach().numpy())


def test_fuse_conv_bn_and_linear_bn_match_the_pair():
    rng = np.random.default_rng(2)
    for m in (gpugrad, torch):
        m.manual_seed(0)
        conv, bn = m.nn.Conv2d(2, 3, 3), m.nn.BatchNorm2d(3)
        lin, bn1 = m.nn.Linear(4, 3), m.nn.BatchNorm1d(3)
        for norm in (bn, bn1):
            with m.no_grad():
                norm.running_mean.copy_(m.tensor(rng.standard_normal(3), dtype=m.float32))
                norm.running_var.copy_(m.tensor(rng.uniform(0.5, 2, 3), dtype=m.float32))
                norm.weight.copy_(m.tensor(rng.standard_normal(3), dtype=m.float32))
        for mod in (conv, bn, lin, bn1):
            mod.eval()
        x = m.tensor(rng.standard_normal((2, 2, 5, 5)), dtype=m.float32)
        fused = m.nn.utils.fuse_conv_bn_eval(conv, bn)
        np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
        x1 = m.tensor(rng.standard_normal((5, 4)), dtype=m.float32)
        fused1 = m.nn.utils.fuse_linear_bn_eval(lin, bn1)
        np.testing.assert_allclose(fused1(x1).detach().numpy(), bn1(lin(x1)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
        conv.train()
        with pytest.raises(AssertionError, match="Fusion only for eval"):
            m.nn.utils.fuse_conv_bn_eval(conv, bn)


def test_functional_call_swaps_and_restores():
    for m in (gpugrad, torch):
        lin = _linear(m)
        x = m.tensor(X)
        new_w = m.tensor(np.ones((4, 3)), requires_grad=True)
        out = m.func.functional_call(lin, {"weight": new_w}, (x,))
        np.testing.assert_allclose(out.detach().numpy(), X.sum(1, keepdims=True) + B)
        out.sum().backward()
        np.testing.assert_allclose(new_w.grad.numpy(), np.tile(X.sum(0), (4, 1)))
        assert lin.weight.grad is None
        np.testing.assert_allclose(lin.weight.detach().numpy(), W)
        with pytest.raises(RuntimeError, match="Missing key"):
            m.func.functional_call(lin, {"weight": new_w}, (x,), strict=True)
        with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
            m.func.functional_call(lin, ({"weight": new_w}, {"weight": new_w}), (x,))
        with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
            out = m.nn.utils.stateless.functional_call(lin, {"bias": m.zeros(4, dtype=m.float64)},
                                                       (x,))
        np.testing.assert_allclose(out.detach().numpy(), X @ W.T)


def test_clip_grads_with_norm_and_deprecated_clip_grad_norm():
    for m in (gpugrad, torch):
        p = m.nn.Parameter(m.tensor([1.0, 2.0]))
        p.grad = m.tensor([3.0, 4.0])
        total = m.nn.utils.get_total_norm([p.grad])
        m.nn.utils.clip_grads_with_norm_([p], 1.0, total)
        np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
        with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
            m.nn.utils.clip_grad_norm([p], 0.5)
        np.testing.assert_allclose(p.grad.numpy(), [0.3, 0.4], rtol=1e-5)


def test_linear_names_the_bias_when_its_dtype_differs():
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError, match="self and mat2 must have the same dtype"):
            m.nn.functional.linear(m.ones(2, 3, dtype=m.float64), m.ones(4, 3, dtype=m.float64),
                                   m.zeros(4))


def test_skip_init():
    for m in (gpugrad, torch):
        lin = m.nn.utils.skip_init(m.nn.Linear, 3, 2)
        assert lin.weight.shape == (2, 3)

        class NoDevice(m.nn.Module):
            def __init__(self, n):
                super().__init__()

        with pytest.raises(RuntimeError, match="must support a 'device' arg"):
            m.nn.utils.skip_init(NoDevice, 3)
