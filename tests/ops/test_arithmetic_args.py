"""The arguments of the arithmetic functions, against PyTorch: ``div``'s ``rounding_mode``
(values, what is refused and with which exception), ``true_divide`` without one, ``add``/
``sub``'s ``alpha`` checked against the result dtype, and two numbers as operands (``add``,
``sub``, ``mul``, ``div`` take them, the others refuse)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _outcome(fn, lib):
    """``fn(lib)`` as (dtype name, values), or the type of what it raised."""
    try:
        out = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the error is the result compared
        return type(exc)
    return str(out.dtype).split(".")[-1], np.asarray(out.tolist()).tolist()


def _same(fn):
    got, want = _outcome(fn, gpugrad), _outcome(fn, torch)
    assert got == want
    return got


_NUMERATORS = [7.0, -7.0, 5.5, -5.5, 0.0, 6.0]
_DENOMINATORS = [2.0, 2.0, -2.0, 3.0, -4.0, 1.5]


@pytest.mark.parametrize("mode", [None, "trunc", "floor", b"floor", b"trunc"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
def test_div_rounding_modes(mode, dtype):
    def run(m):
        d = getattr(m, dtype)
        a, b = m.tensor(_NUMERATORS).to(d), m.tensor(_DENOMINATORS).to(d)
        b = b.masked_fill(b == 0, 1)
        return m.div(a, b, rounding_mode=mode)

    assert isinstance(_same(run), tuple)  # values, not an error


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_forms(mode):
    """The function, method, alias and in-place forms, a number on either side."""
    forms = [
        lambda m: m.divide(m.tensor([7, -7]), 2, rounding_mode=mode),
        lambda m: m.div(-7.5, m.tensor([2.0, -2.0]), rounding_mode=mode),
        lambda m: m.tensor([7.0, -7.0]).div(m.tensor(2), rounding_mode=mode),
        lambda m: m.tensor([7.0, -7.0]).divide(2, rounding_mode=mode),
        lambda m: m.tensor([7.0, -7.0]).div_(2, rounding_mode=mode),
        lambda m: m.tensor([7.0, -7.0]).divide_(-2, rounding_mode=mode),
        lambda m: m.div(7, 2, rounding_mode=mode),
        lambda m: m.div(-7.0, 2, rounding_mode=mode),
    ]
    for form in forms:
        _same(form)


@pytest.mark.parametrize("mode", ["round", "Floor", "", "ceil", b"up"])
def test_div_unknown_rounding_mode_is_a_runtime_error(mode):
    for form in (lambda m: m.div(m.ones(2), 2, rounding_mode=mode),
                 lambda m: m.ones(2).divide(2, rounding_mode=mode),
                 lambda m: m.ones(2).div_(m.ones(2), rounding_mode=mode)):
        assert _same(form) is RuntimeError
    shown = mode.decode() if isinstance(mode, bytes) else mode
    with pytest.raises(RuntimeError, match=f"but found '{shown}'"):
        gpugrad.div(gpugrad.ones(2), 2, rounding_mode=mode)


@pytest.mark.parametrize("mode", [1, 2.0, ["floor"], ("trunc",), True])
def test_div_rounding_mode_of_another_type_is_a_type_error(mode):
    for form in (lambda m: m.div(m.ones(2), 2, rounding_mode=mode),
                 lambda m: m.ones(2).divide(m.ones(2), rounding_mode=mode),
                 lambda m: m.ones(2).div_(2, rounding_mode=mode)):
        assert _same(form) is TypeError
    with pytest.raises(TypeError, match="argument 'rounding_mode' must be str or None, not"):
        gpugrad.div(gpugrad.ones(2), 2, rounding_mode=mode)


def test_true_divide_takes_no_rounding_mode():
    _same(lambda m: m.true_divide(m.tensor([7, -7]), 2))
    _same(lambda m: m.tensor([7.0, -7.0]).true_divide_(m.tensor([2.0, 4.0])))
    for form in (lambda m: m.true_divide(m.ones(2), 2, rounding_mode="floor"),
                 lambda m: m.ones(2).true_divide(2, rounding_mode="trunc"),
                 lambda m: m.ones(2).true_divide_(2, rounding_mode=None)):
        assert _same(form) is TypeError


def test_rounded_div_has_no_gradient():
    x = gpugrad.tensor([7.0, -7.0], requires_grad=True)
    for mode in ("trunc", "floor"):
        assert not gpugrad.div(x, 2, rounding_mode=mode).requires_grad
    assert gpugrad.div(x, 2, rounding_mode=None).requires_grad


@pytest.mark.parametrize("fn", ["add", "sub", "mul", "div", "divide", "true_divide",
                                "multiply", "subtract", "floor_divide", "remainder", "fmod",
                                "pow", "maximum", "minimum", "rsub", "float_power"])
@pytest.mark.parametrize("numbers", [(7, 2), (7.5, 2), (True, 3), (-7, 2.0)])
def test_two_numbers(fn, numbers):
    """PyTorch's add, sub, mul and div make ``input`` a 0-d tensor; the rest refuse."""
    a, b = numbers
    _same(lambda m: getattr(m, fn)(a, b))


@pytest.mark.parametrize("alpha", [2, 2.5, True, -1])
@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("int64", "int64"),
                                    ("int64", "float32"), ("bool", "bool"), ("int32", None)])
def test_alpha_against_the_result_dtype(alpha, dtypes):
    """A float alpha needs a floating result, a bool alpha a bool one, for the function,
    method and in-place forms of add and sub."""
    def operands(m):
        a = m.tensor([1, 0, 3]).to(getattr(m, dtypes[0]))
        b = 2 if dtypes[1] is None else m.tensor([1, 1, 0]).to(getattr(m, dtypes[1]))
        return a, b

    forms = [lambda m: m.add(*operands(m), alpha=alpha),
             lambda m: operands(m)[0].add(operands(m)[1], alpha=alpha),
             lambda m: m.rsub(*operands(m), alpha=alpha)]
    if dtypes[0] != "bool":
        forms += [lambda m: m.sub(*operands(m), alpha=alpha),
                  lambda m: operands(m)[0].sub_(operands(m)[1], alpha=alpha)]
    if dtypes[0] == "float32" or dtypes == ("bool", "bool"):
        forms.append(lambda m: operands(m)[0].add_(operands(m)[1], alpha=alpha))
    for form in forms:
        _same(form)
    _same(lambda m: m.add(1, 2, alpha=alpha))


def test_alpha_errors_say_why():
    with pytest.raises(RuntimeError, match="Boolean alpha only supported for Boolean results"):
        gpugrad.add(gpugrad.ones(2), 1, alpha=True)
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        gpugrad.sub(gpugrad.tensor([1, 2]), 1, alpha=0.5)


ROUNDED = [
    ("L.tensor([1.0, 0.7, -1.0, -0.0, -4.0, 4.0, 5.5], dtype=L.float64)", "0.1"),
    ("L.tensor([1.0, 0.7, -1.0, -0.0, -4.0, 4.0, 5.5])", "-2.0"),
    ("L.tensor([1.0, 0.7, -3.5])", "L.tensor([0.1, -0.3, 2.0])"), ("L.tensor([7, -7, 0, 5])", "-3"),
    ("L.tensor([7, -7, 5])", "2.5"), ("L.tensor([1.0, 2.0]).bfloat16()", "0.3"),
    ("L.tensor([1.0, 2.0]).half()", "0.3"), ("L.tensor([1.0, -1.0])", "0.0"),
    ("5.0", "L.tensor([0.3, -2.0])"),
    ("L.tensor([float('inf'), 3.0, float('nan')])", "L.tensor([2.0, float('inf'), 1.0])"),
]


@pytest.mark.parametrize("fn", ["L.remainder(A, B)", "A % B", "A // B",
                                "L.div(A, B, rounding_mode='floor')",
                                "L.div(A, B, rounding_mode='trunc')", "L.fmod(A, B)"])
@pytest.mark.parametrize("a,b", ROUNDED)
def test_floor_division_remainder_and_fmod_bit_for_bit_as_torch(fn, a, b):
    """Python's algorithm from fmod, as PyTorch's kernels: 1.0 // 0.1 is 9, fmod keeps the sign
    of a zero, remainder a zero fmod gave."""
    if fn.startswith("L.fmod") and not a.startswith("L."):
        return  # (fmod's input must be a tensor, in both libraries)
    seen = []
    for L in (torch, gpugrad):
        r = eval(fn, {"L": L, "A": eval(a, {"L": L}), "B": eval(b, {"L": L})})
        values = r.float().numpy() if r.is_floating_point() else r.numpy()
        seen.append((values.tolist(), np.signbit(values).tolist(), str(r.dtype).split(".")[1]))
    assert str(seen[1]) == str(seen[0])


@pytest.mark.parametrize("fn", ["remainder", "fmod"])
def test_remainder_and_fmod_gradients_and_nodes_as_torch(fn):
    seen = []
    for L in (torch, gpugrad):
        x = L.tensor([1.0, 0.7, -3.5], dtype=L.float64, requires_grad=True)
        y = L.tensor([0.1, -0.3, 2.0], dtype=L.float64, requires_grad=True)
        out = getattr(L, fn)(x, y)
        (out * L.tensor([1.0, 2.0, 3.0], dtype=L.float64)).sum().backward()
        seen.append((x.grad.tolist(), y.grad.tolist(), out.grad_fn.name(),
                     getattr(L, fn)(x, 2.0).grad_fn.name()))
    assert seen[1] == seen[0]


@pytest.mark.parametrize("call", [
    "L.tensor([1]) + 2**64", "L.tensor([1]) + (2**64 - 1)", "L.tensor([1]) + (-2**63 - 1)",
    "L.tensor([1.0]) + 2**64", "2**64 + L.tensor([1.0])", "L.tensor([1]) == 2**64",
    "L.tensor([1.0]) * 2**1100", "L.tensor([1]) // 2**64", "L.tensor([1.0]).add_(2**64)",
    "L.tensor([1], dtype=L.int32) + 2**40",
])
def test_python_ints_past_64_bits_overflow_as_torch(call):
    seen = []
    for L in (torch, gpugrad):
        try:
            seen.append(eval(call, {"L": L}).tolist())
        except OverflowError as err:
            seen.append(str(err))
    assert seen[1] == seen[0]
