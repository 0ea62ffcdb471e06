"""Finite-difference checks of gradients: ``gradcheck`` and ``gradgradcheck``.

``gradcheck`` compares the analytic Jacobian (from backward) with central differences in
float64 (complex numbers as the pairs of their parts, ``_as_real_problem``).
``fast_mode=True`` compares only the projection ``v^T J u`` for random ``u``, ``v``: one
backward and two forward evaluations per input instead of one per element, for big inputs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def _tensors(inputs):
    from ..tensor import Tensor

    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    return inputs, diff


def _outputs(func, inputs):
    from ..tensor import Tensor

    out = func(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return tuple(o for o in outs if isinstance(o, Tensor) and o.is_floating_point())


def _as_real_problem(func, inputs):
    """``func`` and ``inputs`` with every complex number as the pair of its parts: a complex
    input that requires grad becomes a real (..., 2) leaf that ``func`` sees through
    ``view_as_complex``, and complex outputs come back through ``view_as_real``. The real
    function's Jacobian holds the derivatives of both parts of every output by both parts of
    every input, which is what PyTorch's complex gradcheck compares; by PyTorch's convention
    the gradient of a complex input is exactly the gradient of its pairs."""
    from ..ops.complex_api import view_as_complex, view_as_real
    from ..tensor import Tensor

    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    paired = [isinstance(x, Tensor) and x.requires_grad and x.is_complex() for x in inputs]
    real_inputs = tuple(_pairs_leaf(x) if pair else x for x, pair in zip(inputs, paired))

    def real_func(*args):
        out = func(*[view_as_complex(a) if pair else a for a, pair in zip(args, paired)])
        outs = out if isinstance(out, (tuple, list)) else (out,)
        outs = tuple(view_as_real(o) if isinstance(o, Tensor) and o.is_complex() else o
                     for o in outs)
        return outs if isinstance(out, (tuple, list)) else outs[0]

    return real_func, real_inputs


def _pairs_leaf(z):
    """A new real leaf holding the (real, imaginary) pairs of the complex tensor ``z``."""
    from ..ops.complex_api import view_as_real

    return view_as_real(z.detach()).clone().requires_grad_(z.requires_grad)


def _flat_outputs(func, inputs):
    # Not under no_grad: ``func`` may itself differentiate (gradgradcheck's first gradients).
    outs = _outputs(func, inputs)
    if not outs:
        return np.zeros(0)
    return np.concatenate([np.asarray(o.detach().cpu().numpy(), np.float64).ravel() for o in outs])


def _perturb(x, flat_index, delta):
    """Add ``delta`` at ``flat_index`` of ``x``'s data in place; return the old value."""
    arr = x._data
    idx = np.unravel_index(flat_index, arr.shape)
    old = arr[idx].item()
    arr[idx] = old + delta
    return old


def _numerical_jacobian(func, inputs, i, eps):
    x = inputs[i]
    n = x.numel()
    cols = []
    for k in range(n):
        old = _perturb(x, k, eps)
        plus = _flat_outputs(func, inputs)
        x._data[np.unravel_index(k, x._data.shape)] = old - eps
        minus = _flat_outputs(func, inputs)
        x._data[np.unravel_index(k, x._data.shape)] = old
        cols.append((plus - minus) / (2 * eps))
    out_n = len(_flat_outputs(func, inputs))
    return np.stack(cols, axis=1) if cols else np.zeros((out_n, 0))


def _analytic_vjp(func, inputs, diff, v_flat, check_dtypes: bool = False,
                  only_output: int | None = None, batched: bool = False):
    """Gradients of ``v . outputs`` w.r.t. each differentiable input (zeros where unused).
    ``only_output``: backward from that output alone (the others' gradients undefined);
    ``batched``: ``v_flat`` has a leading batch dim (``is_grads_batched``); ``check_dtypes``:
    a message (str) when a gradient's dtype is not its input's."""
    from ..factories import tensor as make_tensor
    from . import grad as autograd_grad

    outs = _outputs(func, inputs)
    lead = v_flat.shape[:1] if batched else ()
    grads, offset = [], 0
    for o in outs:
        n = o.numel()
        piece = v_flat[..., offset:offset + n].reshape(lead + tuple(o.shape))
        grads.append(make_tensor(piece, dtype=o.dtype, device=o.device))
        offset += n
    targets = [inputs[i] for i in diff]
    pairs = [(o, g) for j, (o, g) in enumerate(zip(outs, grads))
             if o.requires_grad and only_output in (None, j)]
    if not pairs:
        return [np.zeros(lead + tuple(t.shape)) for t in targets]
    gs = autograd_grad([o for o, _ in pairs], targets, [g for _, g in pairs], allow_unused=True,
                       is_grads_batched=batched)
    if check_dtypes:
        for g, t in zip(gs, targets):
            if g is not None and g.dtype != t.dtype:
                return f"Gradient has dtype mismatch: got {g.dtype}, expected {t.dtype}"
    return [
        np.zeros(lead + tuple(t.shape)) if g is None
        else np.asarray(g.detach().cpu().numpy(), np.float64)
        for g, t in zip(gs, targets)
    ]


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


_NOT_REENTRANT = (
    "Backward is not reentrant, i.e., running backward with same input and grad_output multiple "
    "times gives different values, although analytical gradient matches numerical gradient.The "
    "tolerance for nondeterminism was {}."
)


def _refuse_forward_ad(check_forward_ad, check_backward_ad, check_batched_forward_grad,
                       masked) -> None:
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError(
            "Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_forward_ad or check_batched_forward_grad:
        raise NotImplementedError(
            "gradcheck: forward-mode AD (check_forward_ad, check_batched_forward_grad) is not "
            "supported: gpugrad differentiates in reverse mode only")
    if masked:
        raise NotImplementedError("gradcheck: masked=True is for sparse tensors, which "
                                  "gpugrad does not have")


def _backward_checks(func, inputs, diff, n_out, rng, nondet_tol, check_undefined_grad,
                     check_grad_dtypes, check_batched_grad):
    """The checks of backward itself, as PyTorch makes them: a zero grad_output gives zero
    gradients, the same grad_output twice gives the same gradients (within ``nondet_tol``),
    and on request gradient dtypes, outputs left without a gradient and batched grad_outputs.
    Returns a message for the first that fails, or None."""
    v = rng.standard_normal(n_out)
    first = _analytic_vjp(func, inputs, diff, v, check_grad_dtypes)
    if isinstance(first, str):
        return first
    again = _analytic_vjp(func, inputs, diff, v)
    if any(np.abs(a - b).max(initial=0.0) > nondet_tol for a, b in zip(first, again)):
        return _NOT_REENTRANT.format(nondet_tol)
    if any(np.any(g != 0) for g in _analytic_vjp(func, inputs, diff, np.zeros(n_out))):
        return "backward not multiplied by grad_output"
    outs = _outputs(func, inputs)
    if check_undefined_grad and len(outs) > 1:
        offset = 0
        for j, o in enumerate(outs):  # only output j gets a gradient: the others are undefined
            alone = np.zeros(n_out)
            alone[offset:offset + o.numel()] = v[offset:offset + o.numel()]
            offset += o.numel()
            expected = _analytic_vjp(func, inputs, diff, alone)
            got = _analytic_vjp(func, inputs, diff, alone, only_output=j)
            if not all(np.allclose(a, b) for a, b in zip(expected, got)):
                return (f"Expected backward function to handle undefined output grads: output "
                        f"{j} alone gives other gradients than with zero gradients for the rest")
    if check_batched_grad:
        vs = rng.standard_normal((2, n_out))
        batched = _analytic_vjp(func, inputs, diff, vs, batched=True)
        for b in range(2):
            single = _analytic_vjp(func, inputs, diff, vs[b])
            if not all(np.allclose(g[b], s) for g, s in zip(batched, single)):
                return "While computing batched gradients, got: batched grad mismatch"
    return None


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None, seed: int = 0) -> bool:
    """Check backward against float64 central differences for inputs that require grad, and
    backward's own behaviour (zero and repeated grad_outputs, see ``_backward_checks``).
    ``seed`` seeds the random directions of ``fast_mode`` and of the checks."""
    _refuse_forward_ad(check_forward_ad, check_backward_ad, check_batched_forward_grad, masked)
    func, inputs = _as_real_problem(func, inputs)
    inputs, diff = _tensors(inputs)
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in diff:
        if inputs[i].dtype.name != "float64":
            import warnings

            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "gradcheck is precise only in float64.", stacklevel=2,
            )
        if inputs[i].device.type != "cpu":
            raise ValueError("gradcheck perturbs inputs in place: move them to the CPU first")
    n_out = len(_flat_outputs(func, inputs))
    if n_out == 0 and not _outputs(func, inputs):
        raise ValueError("gradcheck: the function returned no floating-point tensor output")
    rng = np.random.default_rng(seed)
    problem = _backward_checks(func, inputs, diff, n_out, rng, nondet_tol,
                               check_undefined_grad, check_grad_dtypes, check_batched_grad)
    if problem is not None:
        return _fail(problem, raise_exception)
    if fast_mode:
        v = rng.standard_normal(n_out)
        analytic = _analytic_vjp(func, inputs, diff, v)
        for a_grad, i in zip(analytic, diff):
            x = inputs[i]
            u = rng.standard_normal(x.shape)
            base = x._data.copy()
            x._data[...] = base + eps * u
            plus = _flat_outputs(func, inputs)
            x._data[...] = base - eps * u
            minus = _flat_outputs(func, inputs)
            x._data[...] = base
            numeric = float(v @ ((plus - minus) / (2 * eps)))
            exact = float((a_grad * u).sum())
            if not np.isclose(exact, numeric, rtol=rtol, atol=atol):
                return _fail(
                    f"Jacobian mismatch for output 0 with respect to input {i} (fast mode): "
                    f"analytic v^T J u = {exact}, numerical = {numeric}", raise_exception)
        return True
    rows = []  # rows[r][k]: d output r / d input diff[k], from one backward per output
    for r in range(n_out):
        v = np.zeros(n_out)
        v[r] = 1.0
        rows.append(_analytic_vjp(func, inputs, diff, v))
    for k, i in enumerate(diff):
        numeric = _numerical_jacobian(func, inputs, i, eps)  # (n_out, n_in)
        analytic = np.zeros_like(numeric)
        for r in range(n_out):
            analytic[r] = rows[r][k].ravel()
        if not np.allclose(analytic, numeric, rtol=rtol, atol=atol):
            bad = np.unravel_index(np.argmax(np.abs(analytic - numeric)), analytic.shape)
            return _fail(
                f"Jacobian mismatch for output 0 with respect to input {i},\n"
                f"numerical:{numeric}\nanalytical:{analytic}\n"
                f"largest difference at (output, input) index {tuple(int(b) for b in bad)}",
                raise_exception)
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of the function ``inputs -> grad(func(inputs))``.
    Random ``grad_outputs`` are made when none are given (non-contiguous with
    ``gen_non_contig_grad_outputs``)."""
    from ..factories import tensor as make_tensor
    from . import grad as autograd_grad

    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError(
            "Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_fwd_over_rev:
        raise NotImplementedError("gradgradcheck: check_fwd_over_rev needs forward-mode AD, "
                                  "which gpugrad does not have")
    func, inputs = _as_real_problem(func, inputs)
    inputs, diff = _tensors(inputs)
    outs = _outputs(func, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is not None:  # (complex ones as the pairs the real problem's outputs are)
        grad_outputs = tuple(_pairs_leaf(g) if g.is_complex() else g for g in grad_outputs)
    if grad_outputs is None:
        grad_outputs = tuple(
            _random_grad_output(make_tensor, rng, o, gen_non_contig_grad_outputs) for o in outs
        )
    grad_outputs = tuple(grad_outputs)
    n_in = len(inputs)

    def first_grads(*args):
        xs, gos = args[:n_in], args[n_in:]
        ys = [o for o in _outputs(func, xs) if o.requires_grad]
        targets = [xs[i] for i in diff]
        gs = autograd_grad(ys, targets, list(gos)[: len(ys)], create_graph=True,
                           allow_unused=True)
        return tuple(g for g in gs if g is not None)

    if not first_grads(*inputs, *grad_outputs):
        return True  # no input has a first derivative (e.g. norm with p=0): nothing to check
    return gradcheck(first_grads, tuple(inputs) + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     fast_mode=fast_mode, masked=masked, seed=seed)


def _random_grad_output(make_tensor, rng, like, non_contiguous: bool):
    values = rng.standard_normal(like.shape)
    if not non_contiguous or values.size < 2:
        return make_tensor(values, dtype=like.dtype, requires_grad=True)
    wide = np.zeros(like.shape + (2,))
    wide[..., 0] = values  # the values viewed with a stride of 2
    return make_tensor(wide, dtype=like.dtype)[..., 0].detach().requires_grad_()
