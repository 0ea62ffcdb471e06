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


def _function(name, backward):
    """A Function computing ``2 x`` whose backward is ``backward(grad)``."""
    return type(name, (Function,), {
        "forward": staticmethod(lambda ctx, x: x * 2),
        "backward": staticmethod(lambda ctx, grad: backward(grad)),
    })


def test_nondeterministic_backward_fails_unless_within_nondet_tol():
    import torch

    draws = iter(range(1, 10**6))
    for m, f in ((gpugrad, _function("Noisy", lambda g: g * (2 + next(draws) * 1e-6))),
                 (torch, type("Noisy", (torch.autograd.Function,), {
                     "forward": staticmethod(lambda ctx, x: x * 2),
                     "backward": staticmethod(lambda ctx, g: g * (2 + next(draws) * 1e-6))}))):
        x = m.ones(3, dtype=m.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="Backward is not reentrant"):  # GradcheckError
            m.autograd.gradcheck(f.apply, (x,), atol=1e-2)
        assert m.autograd.gradcheck(f.apply, (x,), atol=1e-2, nondet_tol=1e-2)


def test_backward_that_ignores_its_grad_output_fails_like_torch():
    x = gpugrad.ones(3, dtype=gpugrad.float64, requires_grad=True)
    plus_one = _function("PlusOne", lambda g: g * 2 + 1)
    with pytest.raises(GradcheckError, match="backward not multiplied by grad_output"):
        gradcheck(plus_one.apply, (x,), atol=10)


def test_batched_grad_and_dtype_checks_pass_on_right_backwards():
    x = gpugrad.ones(2, 3, dtype=gpugrad.float64, requires_grad=True)
    assert gradcheck(lambda t: (t.sin(), t.sum(1)), (x,), check_batched_grad=True,
                     check_grad_dtypes=True, check_undefined_grad=True)
    assert gradgradcheck(lambda t: (t * t).sum(0), (x,), gen_non_contig_grad_outputs=True,
                         check_batched_grad=True)


def test_undefined_output_grads_are_checked():
    class TwoOut(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):  # wrong when one gradient is undefined
            return (g1 * 2 + g2 * 3) if g1 is not None and g2 is not None else g1

    x = gpugrad.ones(2, dtype=gpugrad.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="undefined output grads"):
        gradcheck(TwoOut.apply, (x,))


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(check_forward_ad=True), NotImplementedError, "forward-mode AD"),
    (dict(check_batched_forward_grad=True), NotImplementedError, "forward-mode AD"),
    (dict(check_backward_ad=False), AssertionError, "Expected at least one of check_forward_ad"),
    (dict(masked=True), NotImplementedError, "sparse"),
    (dict(bogus=1), TypeError, "unexpected keyword argument 'bogus'"),
])
def test_unsupported_gradcheck_options_are_refused(kwargs, exc, match):
    x = gpugrad.ones(2, dtype=gpugrad.float64, requires_grad=True)
    with pytest.raises(exc, match=match):
        gradcheck(lambda t: t * 2, (x,), **kwargs)


def test_unsupported_gradgradcheck_options_are_refused():
    x = gpugrad.ones(2, dtype=gpugrad.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="forward-mode AD"):
        gradgradcheck(lambda t: t * t, (x,), check_fwd_over_rev=True)
    with pytest.raises(AssertionError, match="check_fwd_over_rev or check_rev_over_rev"):
        gradgradcheck(lambda t: t * t, (x,), check_rev_over_rev=False)
