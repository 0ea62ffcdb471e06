"""Finite-difference checks of gradients: ``gradcheck`` and ``gradgradcheck``.

``gradcheck`` compares the analytic Jacobian (from backward) with central differences in
float64. ``fast_mode=True`` compares only the projection ``v^T J u`` for random ``u``, ``v``:
one backward and two forward evaluations per input instead of one per element, for big inputs.
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


def _analytic_vjp(func, inputs, diff, v_flat):
    """Gradients of ``v . outputs`` w.r.t. each differentiable input (zeros where unused)."""
    from ..factories import tensor as make_tensor
    from . import grad as autograd_grad

    outs = _outputs(func, inputs)
    grads, offset = [], 0
    for o in outs:
        n = o.numel()
        piece = v_flat[offset:offset + n].reshape(o.shape)
        grads.append(make_tensor(piece, dtype=o.dtype, device=o.device))
        offset += n
    targets = [inputs[i] for i in diff]
    used = [o for o in outs if o.requires_grad]
    if not used:
        return [np.zeros(t.shape) for t in targets]
    gs = autograd_grad(
        used, targets, [g for g, o in zip(grads, outs) if o.requires_grad], allow_unused=True
    )
    return [
        np.zeros(t.shape) if g is None else np.asarray(g.detach().cpu().numpy(), np.float64)
        for g, t in zip(gs, targets)
    ]


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, fast_mode: bool = False, nondet_tol: float = 0.0,
              seed: int = 0, **_ignored) -> bool:
    """Check backward against float64 central differences for inputs that require grad."""
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
                  rtol: float = 1e-3, raise_exception: bool = True, fast_mode: bool = False,
                  seed: int = 0, **_ignored) -> bool:
    """Check second derivatives: gradcheck of the function ``inputs -> grad(func(inputs))``."""
    from ..factories import tensor as make_tensor
    from . import grad as autograd_grad

    inputs, diff = _tensors(inputs)
    outs = _outputs(func, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = tuple(
            make_tensor(rng.standard_normal(o.shape), dtype=o.dtype, requires_grad=True)
            for o in outs
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
                     raise_exception=raise_exception, fast_mode=fast_mode, seed=seed)
