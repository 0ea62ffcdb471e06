"""The elementwise math of ``formulas_math`` / ``ops/math_more.py`` / ``gpugrad.special`` at the
values the registry's random samples do not reach (poles, tails, infinities, NaNs, ties), the
in-place forms, the torch-level in-place functions and the errors, against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from node_hooks import assert_same_hooked, run_hooked

import gpugrad

INF, NAN = math.inf, math.nan

# op -> values where it is hard: poles, tails, infinities, signed zeros, NaN
EDGES = {
    "lgamma": [0.5, 1, 2, 1e-3, 30, 171.5, 1e5, -0.5, -1.5, -2.5, -10.3, 0, -1, -2, INF, -INF,
               NAN],
    "digamma": [0.0, -0.0, -1, -2, 1e-8, 0.5, 1, 10, 1e6, -0.5, -3.7, INF, NAN],
    "erfinv": [-1, 1, 0, 1e-10, 0.5, 0.999, 0.999999, -0.9999999999, 1.5, -2, NAN],
    "erfc": [-10, -3, 0, 0.3, 0.47, 0.5, 1, 3.9, 4.1, 5, 10, 26, 27.5, INF, -INF, NAN],
    "i0": [0, 1e-5, 1, 10, 19.9, 20.1, 50, 700, -30, NAN],
    "sinc": [0.0, -0.0, 1e-20, 1, -2, 0.5, 1e10, INF, NAN],
    "tan": [0, 1.5707, -1.5707, 100, NAN],
    "atanh": [-1, 1, 0, 0.999, 2, NAN],
    "acosh": [1, 1.0001, 1e10, 0.5, INF],
    "asinh": [-1e10, 0, 1e-10, 1e10, -INF],
    "log2": [0, -1, 1, 1024, INF, NAN],
    "exp2": [-1100, -2, 0, 0.5, 1023, 1025, NAN],
    "frac": [-2.5, -0.0, 1e20, INF, NAN],
    "sgn": [-0.0, 0.0, -3, 2, INF, NAN],
}


def _compare(ours, theirs, rtol, atol=0.0):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol, equal_nan=True)


@pytest.mark.parametrize("op", sorted(EDGES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unary_values_and_grads_at_the_edges(op, dtype):
    values = np.array(EDGES[op], dtype=dtype)
    x = gpugrad.tensor(values, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    y, ty = getattr(gpugrad, op)(x), getattr(torch, op)(t)
    rtol = 1e-12 if dtype == "float64" else 2e-6
    _compare(y, ty, rtol, atol=1e-15 if dtype == "float64" else 1e-7)
    if op == "sgn":
        return  # (PyTorch's gradient of sgn is a ZeroTensor; the registry checks ours is 0)
    y.backward(gpugrad.ones_like(y))
    ty.backward(torch.ones_like(ty))
    ours, theirs = x.grad.numpy(), t.grad.numpy()
    # At the poles (non-positive integers) of lgamma and digamma PyTorch's gradient is a huge
    # finite number or NaN (its reflection's sin(pi x) is not exactly 0); gpugrad's is inf or NaN.
    pole = (values <= 0) & (values == np.floor(values)) if op in ("lgamma", "digamma") else \
        np.zeros(values.shape, bool)
    assert np.all(~np.isfinite(ours[pole]) | (np.abs(ours[pole]) > 1e14))
    np.testing.assert_allclose(ours[~pole], theirs[~pole], equal_nan=True,
                               rtol=1e-9 if dtype == "float64" else 2e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["lgamma", "special.gammaln", "digamma", "special.digamma"])
def test_exact_values_and_signed_zeros_of_lgamma_and_digamma_as_torch(name, dtype):
    """lgamma(1) = lgamma(2) = +0 exactly; digamma(+-0) = -+inf, nan at negative integers."""
    values = [0.0, -0.0, -1.0, -2.0, -7.0] + ([1.0, 2.0] if "digamma" not in name else [])

    def run(m):
        fn = m
        for part in name.split("."):
            fn = getattr(fn, part)
        out = fn(m.tensor(values, dtype=getattr(m, dtype))).numpy()
        return out.tolist(), np.signbit(out).tolist()

    assert str(run(gpugrad)) == str(run(torch))  # (str: nan == nan)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_polygamma_at_the_edges(n):
    values = np.array([0.1, 0.5, 1, 5, 30, 1e4, -0.5, -2.5, -7.25])
    x = gpugrad.tensor(values, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    y, ty = gpugrad.polygamma(n, x), torch.polygamma(n, t)
    # (PyTorch's trigamma is off by ~3e-10: trigamma(0.5) = pi^2 / 2 = 4.934802200544679,
    # PyTorch 4.934802202073678)
    _compare(y, ty, 1e-9)
    assert abs(gpugrad.polygamma(1, gpugrad.tensor(0.5, dtype=gpugrad.float64)).item()
               - math.pi ** 2 / 2) < 1e-14
    y.sum().backward()
    ty.sum().backward()
    _compare(x.grad, t.grad, 1e-9)


def _pair(values_a, values_b, dtype="float64"):
    a, b = np.array(values_a, dtype), np.array(values_b, dtype)
    return ((gpugrad.tensor(a, requires_grad=True), gpugrad.tensor(b, requires_grad=True)),
            (torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)))


BINARY_EDGES = {
    # ties and NaNs: all of a tie's gradient goes to the first operand, a NaN's to the number
    "fmax": ([1, 2, NAN, NAN, 3, -INF], [1, NAN, 2, NAN, INF, -INF]),
    "fmin": ([1, 2, NAN, NAN, 3, -INF], [1, NAN, 2, NAN, INF, -INF]),
    "logaddexp": ([-INF, INF, -INF, 0, 1000, -1000, NAN], [-INF, INF, 0, 0, 999, -1001, 1]),
    "logaddexp2": ([-INF, INF, -INF, 0, 1000, -1000, NAN], [-INF, INF, 0, 0, 999, -1001, 1]),
    "xlogy": ([0, 0, 0, 0, 2, 1, -1], [0, -1, NAN, INF, 0, -1, 3]),
    "hypot": ([0, 3, INF, NAN, 1e300], [1, 4, NAN, INF, 1e300]),
    "copysign": ([0.0, -0.0, 2, -2, 0, NAN], [-1, 1, -0.0, 0.0, NAN, -1]),
    "atan2": ([0.0, -0.0, 1, -1, INF, 0], [0.0, -1, 0.0, -INF, INF, 1e-300]),
}


@pytest.mark.parametrize("op", sorted(BINARY_EDGES))
def test_binary_values_and_grads_at_the_edges(op):
    (a, b), (ta, tb) = _pair(*BINARY_EDGES[op])
    out, t_out = getattr(gpugrad, op)(a, b), getattr(torch, op)(ta, tb)
    _compare(out, t_out, 1e-12)
    out.backward(gpugrad.ones_like(out))
    t_out.backward(torch.ones_like(t_out))
    _compare(a.grad, ta.grad, 1e-12)
    _compare(b.grad, tb.grad, 1e-12)


def test_xlog1py_edges_match_torch_special():
    (a, b), (ta, tb) = _pair([0, 0, 0, 2, 1, -1], [-1, -2, NAN, -1, 0.5, 3])
    out, t_out = gpugrad.special.xlog1py(a, b), torch.special.xlog1py(ta, tb)
    _compare(out, t_out, 1e-12)
    out.sum().backward()
    t_out.sum().backward()
    _compare(a.grad, ta.grad, 1e-12)
    _compare(b.grad, tb.grad, 1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nan_to_num_defaults_are_the_dtype_limits(dtype):
    values = np.array([NAN, INF, -INF, 1.5], dtype)
    _compare(gpugrad.nan_to_num(gpugrad.tensor(values)), torch.nan_to_num(torch.tensor(values)), 0)
    _compare(gpugrad.nan_to_num(gpugrad.tensor(values), posinf=2.0),
             torch.nan_to_num(torch.tensor(values), posinf=2.0), 0)


def test_logit_outside_the_unit_interval():
    values = np.array([-0.5, 0.0, 0.01, 0.5, 0.99, 1.0, 1.5])
    for eps in (None, 0.05):
        x = gpugrad.tensor(values, requires_grad=True)
        t = torch.tensor(values, requires_grad=True)
        y, ty = gpugrad.logit(x, eps), torch.logit(t, eps)
        _compare(y, ty, 1e-12)
        y.sum().backward()
        ty.sum().backward()
        _compare(x.grad, t.grad, 1e-12)


def test_special_values_at_the_edges():
    x = np.array([0.0, 1e-300, 0.5, 1.0, -1.0, INF])
    _compare(gpugrad.special.entr(gpugrad.tensor(x)), torch.special.entr(torch.tensor(x)), 1e-12)
    p = np.array([0.0, 1.0, 0.5, 1e-3, 0.999, 2.0, -1.0, 1e-300, 1e-15, 1 - 1e-12])
    _compare(gpugrad.special.ndtri(gpugrad.tensor(p)), torch.special.ndtri(torch.tensor(p)),
             1e-14)
    z = np.array([-INF, -1e3, -38.0, -20.0, -19.9, 0.0, 5.0, 40.0, INF])
    _compare(gpugrad.special.log_ndtr(gpugrad.tensor(z)),
             torch.special.log_ndtr(torch.tensor(z)), 1e-10)
    # (PyTorch's ndtr is 0 from about -20 down; gpugrad's keeps erfc's tail: 2.75e-89 at -20)
    _compare(gpugrad.special.ndtr(gpugrad.tensor(z)), torch.special.ndtr(torch.tensor(z)), 1e-12,
             atol=1e-80)


def test_integer_and_bool_inputs():
    ints = np.array([[12, -18, 0], [7, 9, 100]])
    for name in ("gcd", "lcm"):
        _compare(getattr(gpugrad, name)(gpugrad.tensor(ints), gpugrad.tensor([8, 24, 5])),
                 getattr(torch, name)(torch.tensor(ints), torch.tensor([8, 24, 5])), 0)
    for op in ("signbit", "isposinf", "isneginf", "isreal", "sgn", "fix", "absolute"):
        for values in (ints, np.array([True, False])):
            if op in ("sgn", "fix", "absolute") and values.dtype == bool:
                continue
            ours, theirs = getattr(gpugrad, op)(gpugrad.tensor(values)), getattr(torch, op)(
                torch.tensor(values))
            assert ours.dtype.name == str(theirs.dtype).removeprefix("torch."), op
            _compare(ours, theirs, 0)
    out = gpugrad.float_power(gpugrad.tensor([2, 3]), 2)
    assert out.dtype is gpugrad.float64 and out.tolist() == [4.0, 9.0]
    assert gpugrad.ldexp(gpugrad.tensor([1, 2]), gpugrad.tensor([3, -1])).tolist() == [8.0, 1.0]
    assert gpugrad.isclose(gpugrad.tensor([1, 2]), gpugrad.tensor([1, 3])).tolist() == [True,
                                                                                         False]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_frexp_node_has_the_mantissa_as_its_one_output_as_torch(dtype):
    """PyTorch's FrexpBackward0 lists the mantissa only among its outputs (the exponent is an
    int tensor without history): its hooks see one gradient."""
    x = np.array([[0.3, -3.5, 3.0, 1.5e-3], [0.0, -0.75, 1e3, INF]])
    ours, theirs = (run_hooked(m, lambda m, x: m.frexp(x), x, dtype) for m in (gpugrad, torch))
    assert theirs["node"][0] == "FrexpBackward0" and theirs["outputs"] == [True, False]
    assert theirs["seen"]["post"] == theirs["seen"]["pre"] == [(2, 4)]
    assert_same_hooked(ours, theirs, rtol=0)


def test_positive_returns_the_input():
    x = gpugrad.ones(3)
    assert gpugrad.positive(x) is x and x.positive() is x


COMPARE_INPLACE = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "greater_equal_",
                   "less_", "less_equal_", "not_equal_"]


@pytest.mark.parametrize("name", COMPARE_INPLACE)
def test_inplace_comparisons_write_in_the_target_dtype(name):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    for other in (np.array([2.0, 2.0, 2.0]), 2.0):
        x, t = gpugrad.tensor(a), torch.tensor(a)
        o_g = gpugrad.tensor(other) if isinstance(other, np.ndarray) else other
        o_t = torch.tensor(other) if isinstance(other, np.ndarray) else other
        assert getattr(x, name)(o_g) is x
        getattr(t, name)(o_t)
        assert x.dtype is gpugrad.float64
        _compare(x, t, 0)


INPLACE_BINARY = {
    "atan2_": ([[1.0, -2.0]], [0.5, -3.0]), "arctan2_": ([[1.0, -2.0]], [0.5, -3.0]),
    "hypot_": ([[1.0, -2.0]], [0.5, -3.0]), "copysign_": ([[1.0, -2.0]], [-0.5, 3.0]),
    "xlogy_": ([[0.0, -2.0]], [0.5, 3.0]), "ldexp_": ([[1.5, -2.0]], [2.0, -3.0]),
    "nextafter_": ([[1.0, -2.0]], [2.0, -3.0]), "heaviside_": ([[0.0, -2.0]], [0.5, 0.5]),
    "float_power_": ([[1.5, 2.0]], [2.0, 0.5]),
}


@pytest.mark.parametrize("name", sorted(INPLACE_BINARY))
def test_inplace_binary_methods(name):
    a, b = (np.array(v) for v in INPLACE_BINARY[name])
    x, t = gpugrad.tensor(a), torch.tensor(a)
    assert getattr(x, name)(gpugrad.tensor(b)) is x
    getattr(t, name)(torch.tensor(b))
    _compare(x, t, 1e-15)


def test_inplace_methods_record_their_gradient():
    values = np.array([0.2, 0.5, 0.7])
    for step in (lambda v, m: v.arccos_(), lambda v, m: v.logit_(0.3),
                 lambda v, m: v.nan_to_num_(), lambda v, m: v.polygamma_(1),
                 lambda v, m: v.lerp_(m.ones(3, dtype=v.dtype), 0.25),
                 lambda v, m: v.addcmul_(v.detach(), v.detach(), value=2),
                 lambda v, m: v.addcdiv_(v.detach(), v.detach() + 1)):
        grads = []
        for m in (gpugrad, torch):
            x = m.tensor(values, requires_grad=True)
            y = x * 1
            step(y, m).sum().backward()
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_gcd_lcm_inplace():
    x, t = gpugrad.tensor([12, 18, 7]), torch.tensor([12, 18, 7])
    x.gcd_(gpugrad.tensor([8, 24, 5]))
    t.gcd_(torch.tensor([8, 24, 5]))
    assert x.tolist() == t.tolist()
    x.lcm_(gpugrad.tensor([3, 5, 7]))
    t.lcm_(torch.tensor([3, 5, 7]))
    assert x.tolist() == t.tolist()


# torch-level in-place functions that gpugrad does not provide: other subsystems' ops.
NOT_PROVIDED = {"addmv_", "alpha_dropout_", "celu_", "conj_physical_", "dropout_",
                "embedding_renorm_", "feature_alpha_dropout_", "feature_dropout_",
                "index_put_", "resize_as_", "resize_as_sparse_", "rrelu_", "selu_",
                "threshold_"}


def test_torch_level_inplace_functions_exist():
    family = [n for n in dir(torch) if n.endswith("_") and not n.startswith("_")
              and n not in NOT_PROVIDED]
    missing = [n for n in family if not hasattr(gpugrad, n)]
    assert not missing, missing


@pytest.mark.parametrize("name", ["relu_", "sigmoid_", "tanh_", "exp_", "log_", "sqrt_",
                                  "rsqrt_", "abs_", "neg_", "ceil_", "floor_", "round_",
                                  "trunc_", "sin_", "cos_", "cosh_", "sinh_", "erf_", "expm1_",
                                  "log1p_", "reciprocal_", "square_", "tan_", "acos_",
                                  "arcsin_", "atanh_", "log10_", "log2_", "exp2_", "erfc_",
                                  "i0_", "sinc_", "deg2rad_", "rad2deg_", "frac_", "fix_",
                                  "negative_", "zero_", "logit_", "nan_to_num_"])
def test_torch_level_inplace_functions_match(name):
    values = np.array([0.3, 0.6, -0.4, 0.9])
    x, t = gpugrad.tensor(values), torch.tensor(values)
    assert getattr(gpugrad, name)(x) is x
    getattr(torch, name)(t)
    _compare(x, t, 1e-14)


def test_torch_level_inplace_with_arguments():
    values = np.array([0.3, 0.6, -0.4, 0.9])
    for name, args in (("clamp_", (-0.2, 0.5)), ("clip_", (-0.2, 0.5)), ("clamp_min_", (0.1,)),
                       ("clamp_max_", (0.1,)), ("fill_", (2.5,)), ("xlogy_", (2.0,))):
        x, t = gpugrad.tensor(values), torch.tensor(values)
        getattr(gpugrad, name)(x, *args)
        getattr(torch, name)(t, *args)
        _compare(x, t, 1e-14)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: gpugrad.polygamma(-1, gpugrad.ones(2)), RuntimeError, "negative n"),
    (lambda: gpugrad.gcd(gpugrad.ones(2), gpugrad.ones(2)), NotImplementedError, "Float"),
    (lambda: gpugrad.nextafter(gpugrad.tensor([1]), gpugrad.tensor([2])), NotImplementedError,
     "Long"),
    (lambda: gpugrad.isclose(gpugrad.ones(2), gpugrad.ones(2, dtype=gpugrad.float64)),
     RuntimeError, "Float did not match Double"),
    (lambda: gpugrad.isclose(gpugrad.ones(2), gpugrad.ones(2), atol=-1.0), RuntimeError,
     "atol must be"),
    (lambda: gpugrad.heaviside(gpugrad.ones(2), gpugrad.ones(2, dtype=gpugrad.float64)),
     RuntimeError, "different dtypes"),
    (lambda: gpugrad.positive(gpugrad.tensor([True])), TypeError, "bool tensor"),
    (lambda: gpugrad.atan2(gpugrad.ones(2, 3), gpugrad.ones(4)), RuntimeError,
     r"size of tensor a \(3\)"),
    (lambda: gpugrad.gcd(gpugrad.tensor([1, 2]), gpugrad.tensor([1, 2, 3])), RuntimeError,
     r"size of tensor a \(2\)"),
    (lambda: gpugrad.special.multigammaln(gpugrad.ones(2), 0), RuntimeError, "p has to be"),
    (lambda: gpugrad.tan([1.0]), TypeError, "must be Tensor"),
    (lambda: gpugrad.ones(2).float_power_(2), RuntimeError, "has dtype Float but"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_heaviside_and_friends_have_no_gradient():
    x = gpugrad.tensor([0.5, -1.0], requires_grad=True)
    for out in (gpugrad.heaviside(x, gpugrad.tensor([0.5, 0.5])), gpugrad.signbit(x),
                gpugrad.nextafter(x, gpugrad.zeros(2)), gpugrad.isclose(x, x)):
        assert not out.requires_grad


LERP_MIXES = [
    ("float32", "float64", "scalar"), ("bfloat16", "float32", "scalar"),
    ("float32", "bfloat16", "scalar"), ("float16", "float32", "scalar"),
    ("float32", "float32", "float64 vector"), ("bfloat16", "bfloat16", "float32 vector"),
]


@pytest.mark.parametrize("a,b,weight", LERP_MIXES)
@pytest.mark.parametrize("form", ["function", "method", "in-place"])
def test_lerp_refuses_other_dtypes_as_torch(a, b, weight, form):
    """No promotion: ``end`` and a weight with dims must have the input's dtype (an EMA whose
    copy is bfloat16 and model float32 fails, as in PyTorch)."""
    def call(m):
        x, y = m.ones(3, dtype=getattr(m, a)), m.zeros(3, dtype=getattr(m, b))
        w = 0.25 if weight == "scalar" else m.full((3,), 0.25,
                                                   dtype=getattr(m, weight.split()[0]))
        if form == "function":
            return m.lerp(x, y, w)
        return x.lerp(y, w) if form == "method" else x.lerp_(y, w)

    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(gpugrad)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_lerp_zero_dim_weight_of_another_dtype_keeps_the_input_dtype(dtype):
    results = []
    for m in (gpugrad, torch):
        x = m.linspace(0, 1, 5, dtype=getattr(m, dtype))
        out = m.lerp(x, m.ones(5, dtype=getattr(m, dtype)), m.tensor(0.25, dtype=m.float64))
        results.append((str(out.dtype).split(".")[-1], out.float().tolist()))
    assert results[0] == results[1]
