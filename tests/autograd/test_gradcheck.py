"""gradcheck and gradgradcheck themselves: they pass right gradients and catch wrong ones."""

from __future__ import annotations

import pytest

import gpugrad
from gpugrad.autograd import Function, GradcheckError, gradcheck, gradgradcheck


class _WrongSquare(Function):
    """x**2 with a deliberately wrong backward (3x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x


def _x(*shape):
    gpugrad.manual_seed(0)
    return gpugrad.randn(*shape, dtype=gpugrad.float64, requires_grad=True)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_accepts_correct_and_rejects_wrong_gradients(fast_mode):
    x = _x(3, 4)
    assert gradcheck(lambda t: (t * t).tanh().sum(1), (x,), fast_mode=fast_mode)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(_WrongSquare.apply, (x,), fast_mode=fast_mode)
    assert gradcheck(_WrongSquare.apply, (x,), fast_mode=fast_mode,
                     raise_exception=False) is False


def test_fast_mode_handles_large_inputs_quickly():
    x = _x(200, 50)  # 10,000 inputs: the full Jacobian would need 10,000 backward passes
    assert gradcheck(lambda t: (t.sin() * t).mean(0), (x,), fast_mode=True)


def test_gradgradcheck_catches_a_wrong_double_backward():
    x = _x(5)
    assert gradgradcheck(lambda t: (t ** 3).sum(), (x,))

    class FirstOrderOnly(Function):
        # Backward is right to first order, but computed from a detached copy: its own
        # gradient is lost, so second derivatives come out wrong.
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t ** 3

        @staticmethod
        def backward(ctx, grad):
            (t,) = ctx.saved_tensors
            return grad * 3 * t.detach() ** 2

    assert gradcheck(FirstOrderOnly.apply, (x,))
    with pytest.raises(GradcheckError):
        gradgradcheck(FirstOrderOnly.apply, (x,))


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="require gradient"):
        gradcheck(lambda t: t * 2, (gpugrad.ones(2, dtype=gpugrad.float64),))
