"""NumPy's keyword spellings ``axis=`` and ``keepdims=``: accepted where PyTorch's C++ argument
parser accepts them (every op it binds that has ``dim`` / ``keepdim``), refused with
``TypeError`` where PyTorch writes the function in Python, and by both libraries alike when an
argument is given twice."""

from __future__ import annotations

import inspect
import types

import numpy as np
import pytest
import torch

import gpugrad

_X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
_INDEX = np.array([[0], [3], [1]])


def _run(call: str, m):
    x = m.tensor(_X)
    return eval(call, {"m": m, "x": x, "F": m.nn.functional, "idx": m.tensor(_INDEX)})


def _as_arrays(result):
    if isinstance(result, (tuple, list)):
        return [_as_arrays(r) for r in result]
    return result.detach().numpy() if hasattr(result, "detach") else result


ACCEPTED = [
    "x.sum(axis=1, keepdims=True)", "m.sum(x, axis=0)", "m.mean(x, axis=0)",
    "x.mean(axis=(0, 1), keepdims=True)", "x.max(axis=1, keepdims=True)", "m.min(x, axis=0)",
    "x.amax(axis=(0, 1), keepdims=True)", "x.argmax(axis=1)", "x.var(axis=0, keepdims=True)",
    "m.std(x, axis=1, correction=0)", "m.var_mean(x, axis=1, keepdims=True)",
    "x.prod(axis=1)", "x.logsumexp(axis=1, keepdims=True)", "(x > 0).any(axis=1, keepdims=True)",
    "(x > 0).all(axis=0)", "m.count_nonzero(x > 0, axis=0)", "x.median(axis=1)",
    "x.topk(2, axis=1)", "x.sort(axis=0)", "x.cumsum(axis=1)", "m.cumprod(x, axis=0)",
    "m.cat([x, x], axis=1)", "m.stack([x, x], axis=1)", "m.concatenate([x, x], axis=0)",
    "x.softmax(axis=1)", "m.log_softmax(x, axis=0)", "x.size(axis=1)", "x.stride(axis=0)",
    "x.unsqueeze(axis=0)", "x[None].squeeze(axis=0)", "m.gather(x, axis=1, index=idx)",
    "x.index_select(axis=1, index=idx[:, 0])", "x.chunk(2, axis=1)", "x.unbind(axis=0)",
    "m.unflatten(x, axis=1, sizes=(2, 2))", "x.narrow(axis=1, start=1, length=2)",
    "m.diff(x, axis=0)", "m.linalg.vector_norm(x, axis=1, keepdims=True)",
    "m.linalg.norm(x, axis=0)", "m.special.logsumexp(x, axis=1, keepdims=True)",
    "F.cosine_similarity(x, x + 1, axis=1)", "F.pairwise_distance(x, x + 1, keepdims=True)",
    "x.nansum(axis=0)", "x.quantile(0.5, axis=1, keepdims=True)", "m.gradient(x, axis=1)",
]


@pytest.mark.parametrize("call", ACCEPTED)
def test_numpy_spellings_give_pytorch_results(call):
    ours, theirs = _as_arrays(_run(call, gpugrad)), _as_arrays(_run(call, torch))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


REFUSED = [
    "F.softmax(x, axis=1)", "F.log_softmax(x, axis=1)", "F.normalize(x, axis=1)",
    "x.split(2, axis=1)", "m.split(x, 2, axis=1)", "m.norm(x, axis=1)", "x.norm(axis=1)",
    "x.unflatten(axis=1, sizes=(2, 2))", "m.unique(x, axis=0)", "x.unique_consecutive(axis=0)",
    "x.sum(dim=1, axis=0)", "x.sum(1, axis=0)", "x.sum(1, keepdim=True, keepdims=False)",
    "m.flip(x, axis=0)", "m.transpose(x, axis0=0, axis1=1)", "x.sum(foo=1)",
]


@pytest.mark.parametrize("call", REFUSED)
def test_refused_where_pytorch_refuses(call):
    for m in (gpugrad, torch):
        with pytest.raises(TypeError):
            _run(call, m)


def test_gradient_flows_through_the_numpy_spelling():
    x = gpugrad.tensor(_X, requires_grad=True)
    x.mean(axis=1, keepdims=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(_X, 0.25))


class _Marker:
    """A ``dim`` no op accepts: calls fail after the keyword is read."""


def _takes(fn, numpy_name: str, *args) -> bool:
    try:
        fn(*args, **{numpy_name: _Marker()})
    except TypeError as exc:
        return f"unexpected keyword argument '{numpy_name}'" not in str(exc)
    except Exception:  # noqa: BLE001 - any other failure came after the keyword was taken
        return True
    return True


def _entries():
    spaces = [("", gpugrad, torch), ("Tensor.", gpugrad.Tensor, torch.Tensor),
              ("linalg.", gpugrad.linalg, torch.linalg), ("special.", gpugrad.special,
                                                          torch.special),
              ("F.", gpugrad.nn.functional, torch.nn.functional)]
    for prefix, ours, theirs in spaces:
        for name in sorted(dir(ours)):
            fn, peer = getattr(ours, name, None), getattr(theirs, name, None)
            if name.startswith("_") or peer is None or isinstance(fn, type) or not callable(fn):
                continue
            try:
                params = inspect.signature(fn).parameters
            except (TypeError, ValueError):
                continue
            for own, numpy_name in (("dim", "axis"), ("keepdim", "keepdims")):
                if own in params:
                    yield prefix + name, fn, peer, numpy_name, prefix == "Tensor."


def test_exactly_pytorchs_builtins_take_the_numpy_names():
    """Every public function and method with ``dim`` or ``keepdim``: gpugrad takes the NumPy
    name exactly where PyTorch's function is a C++ builtin (its parser's aliases)."""
    wrong = []
    for name, fn, peer, numpy_name, method in _entries():
        builtin = isinstance(peer, (types.BuiltinFunctionType, types.MethodDescriptorType))
        args = (gpugrad.zeros(2, 2),) if method else ()
        if _takes(fn, numpy_name, *args) != builtin:
            wrong.append((name, numpy_name, builtin))
    assert not wrong


def test_wrapped_entry_points_still_pickle():
    """By reference, as PyTorch's (``collate_fn=torch.stack`` in a spawned loader worker)."""
    import pickle

    for fn in (gpugrad.sum, gpugrad.stack, gpugrad.Tensor.mean, gpugrad.Tensor.size,
               gpugrad.linalg.vector_norm, gpugrad.nn.functional.cosine_similarity):
        assert pickle.loads(pickle.dumps(fn)) is fn


# A reduction's keepdim without a dim, and dim=None where the dim overload takes an int only:
# each spelling of each reduction that has a dim, run in both libraries; the TypeErrors and the
# results must agree (x.max(keepdim=True) used to give a 0-d tensor, keepdim ignored).
_DIM_FORMS = ["keepdim=True", "keepdim=False", "keepdims=True", "dim=None", "None",
              "dim=None, keepdim=True", "None, keepdim=True", "dim=1, keepdim=True",
              "1, keepdim=False", "dim=(0, 1)", "dtype=m.float64, keepdim=True"]
_REDUCTIONS = ["sum", "mean", "prod", "max", "min", "median", "nanmedian", "amax", "nansum",
               "std", "logsumexp", "any", "argmax"]


@pytest.mark.parametrize("form", _DIM_FORMS)
@pytest.mark.parametrize("name", _REDUCTIONS)
@pytest.mark.parametrize("spelling", ["method", "function"])
def test_keepdim_needs_dim_as_in_pytorch(name, form, spelling):
    call = f"x.{name}({form})" if spelling == "method" else f"m.{name}(x, {form})"
    if name == "any":
        call = call.replace("x.", "(x > 0).").replace("(x, ", "(x > 0, ")
    outcomes = []
    for m in (torch, gpugrad):
        try:
            outcomes.append(_as_arrays(_run(call, m)))
        except (TypeError, RuntimeError, IndexError) as e:
            outcomes.append(type(e))
    theirs, ours = outcomes
    if isinstance(theirs, type):
        assert ours is theirs, f"{call}: torch raises {theirs.__name__}, gpugrad gave {ours!r}"
    else:
        assert not isinstance(ours, type), f"{call}: torch computes, gpugrad raised {ours}"
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
