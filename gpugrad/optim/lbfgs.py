"""``optim.LBFGS``: limited-memory BFGS over all parameters as one flat vector, with PyTorch's
closure protocol, options, stopping rules and state."""

from __future__ import annotations

from functools import partial

from .. import _capture
from ..autograd.grad_mode import enable_grad, no_grad
from ..ops.complex_api import _complex_array
from ..tensor import Tensor
from ._complex import real_pairs
from .line_search import strong_wolfe
from .optimizer import Optimizer

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """L-BFGS, as ``torch.optim.LBFGS``: each ``step(closure)`` runs up to ``max_iter``
    iterations, each moving all parameters along ``-H g``, where ``H`` is the inverse Hessian
    estimated from the last ``history_size`` steps and gradient changes (two-loop recursion).

    Args:
        params: the parameters to optimize (one group only).
        lr: the step length (default 1); the first iteration ever scales it by
            ``min(1, 1 / |g|_1)``.
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop once ``max |g| <= tolerance_grad`` (default 1e-7).
        tolerance_change: stop once the step, the loss change or the directional derivative
            falls below this (default 1e-9).
        history_size: how many past updates the Hessian estimate uses (default 100).
        line_search_fn: ``None`` (fixed step ``lr``) or ``"strong_wolfe"``.

    ``closure`` must clear the gradients, compute the loss, call ``backward`` and return the
    loss; it runs with grad mode on. ``step`` returns the loss of the first evaluation.
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._params = self.param_groups[0]["params"]  # (a copy of the optimizer steps too)

    # ------------------------------------------------------------- the flat vector
    def _xp(self):
        return self._params[0]._backend.xp

    def _flat_grad(self):
        """The gradients as one real vector (a complex number as its two parts, as PyTorch's
        ``view_as_real``)."""
        xp = self._xp()
        return xp.concatenate([
            xp.zeros(_flat_size(p), p._data.real.dtype) if p.grad is None
            else real_pairs(p.grad._data, xp).ravel() for p in self._params
        ])

    def _add_to_params(self, step: float, direction) -> None:
        """``params += step * direction``, in place."""
        xp, offset = self._xp(), 0
        for p in self._params:
            n = _flat_size(p)
            delta = direction[offset:offset + n]
            if p._data.dtype.kind == "c":
                delta = _complex_array(delta.reshape(p._data.shape + (2,)), xp)
            p._write_(p._data + step * delta.reshape(p._data.shape))
            offset += n

    def _evaluate(self, closure) -> tuple:
        """``closure()`` under grad mode: its loss (as returned, and as a float) and the flat
        gradient it left."""
        with enable_grad():
            loss = closure()
        return loss, float(loss), self._flat_grad()

    def _evaluate_at(self, closure, step: float, direction) -> tuple:
        """The loss and flat gradient at ``params + step * direction``; params unchanged."""
        saved = [p._data.copy() for p in self._params]
        self._add_to_params(step, direction)
        _, loss, grad = self._evaluate(closure)
        for p, data in zip(self._params, saved):
            p._write_(data)
        return loss, grad

    # ---------------------------------------------------------------------- step
    @_capture.island  # outermost: Optimizer.__init_subclass__ unwraps it to add the hooks
    @no_grad()
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; ``closure`` reevaluates the model and
        returns the loss. Returns the loss of the first evaluation."""
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search, history_size = group["line_search_fn"], group["history_size"]
        xp = self._xp()

        # All the state is global; it lives under the first parameter, as in PyTorch.
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss, loss, grad = self._evaluate(closure)
        evals = 1
        state["func_evals"] += 1
        if float(abs(grad).max()) <= tol_grad:
            return first_loss

        d = _array(state.get("d"))
        t = state.get("t")
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_steps = [_array(v) for v in state.get("old_stps", [])]
        rho = [_array(v) for v in state.get("ro", [])]
        h_diag = _array(state.get("H_diag", 1))
        alpha = [_array(v) for v in state["al"]] if "al" in state else None
        prev_grad = _array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # The direction: steepest descent first, then the two-loop recursion.
            # Its scalars stay in the parameters' dtype (PyTorch's 0-d tensors), so a float32
            # run rounds where PyTorch's does.
            if state["n_iter"] == 1:
                d = -grad
                old_dirs, old_steps, rho, h_diag = [], [], [], 1
            else:
                y = grad - prev_grad
                s = d * t
                ys = xp.dot(y, s)
                if ys > 1e-10:  # keep the curvature pair only if it is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_steps.pop(0)
                        rho.pop(0)
                    old_dirs.append(y)
                    old_steps.append(s)
                    rho.append(1.0 / ys)
                    h_diag = ys / xp.dot(y, y)
                if alpha is None:
                    alpha = [None] * history_size
                d = _two_loop(xp, -grad, old_dirs, old_steps, rho, h_diag, alpha)
            prev_grad = grad.copy()
            prev_loss = loss

            # The step length.
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(abs(grad).sum())) * lr
            else:
                t = lr
            slope = float(xp.dot(grad, d))
            if slope > -tol_change:
                break

            if line_search is not None:
                if line_search != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                loss, grad, t, ls_evals = strong_wolfe(
                    partial(self._evaluate_at, closure, direction=d), xp.dot, d, t, loss, grad,
                    slope, max_ls=max_eval - evals)
                self._add_to_params(t, d)
                converged = float(abs(grad).max()) <= tol_grad
            else:
                self._add_to_params(t, d)
                ls_evals, converged = 0, False
                if n_iter != max_iter:  # the last iteration's loss would go unused
                    _, loss, grad = self._evaluate(closure)
                    converged = float(abs(grad).max()) <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if float(abs(d * t).max()) <= tol_change or abs(loss - prev_loss) < tol_change:
                break  # no progress

        like = self._params[0]
        state.update(
            d=_tensor(d, like), t=t, old_dirs=[_tensor(v, like) for v in old_dirs],
            old_stps=[_tensor(v, like) for v in old_steps], ro=[_tensor(v, like) for v in rho],
            H_diag=h_diag if isinstance(h_diag, int) else _tensor(h_diag, like),
            prev_flat_grad=_tensor(prev_grad, like), prev_loss=prev_loss)
        if alpha is not None:
            state["al"] = [_tensor(v, like) for v in alpha]
        return first_loss


def _two_loop(xp, q, old_dirs, old_steps, rho, h_diag, alpha):
    """``-H g`` for ``q = -g``: L-BFGS's two-loop recursion over the stored pairs (``old_dirs``
    the gradient changes y, ``old_steps`` the steps s, ``rho`` = 1 / (y . s)), with
    ``h_diag * I`` as the initial inverse Hessian. Overwrites ``q``, and the first entries of
    ``alpha`` (PyTorch's ``al``, kept in the state) with the first loop's coefficients."""
    for i in range(len(old_dirs) - 1, -1, -1):
        alpha[i] = xp.dot(old_steps[i], q) * rho[i]
        q -= alpha[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        beta = xp.dot(old_dirs[i], r) * rho[i]
        r += (alpha[i] - beta) * old_steps[i]
    return r


def _array(value):
    """A state entry's array (a Tensor's), or the value itself (None, a number, or an entry
    of an older gpugrad state, which kept the scalars as Python floats)."""
    return value._data if isinstance(value, Tensor) else value


def _tensor(array, like):
    """``array`` (or a scalar of its dtype, as 0-d) as a tensor on ``like``'s backend (None
    stays None)."""
    return None if array is None else like._new(like._backend.xp.asarray(array))


def _flat_size(p) -> int:
    """A parameter's length in the flat vector: two numbers per complex entry."""
    return p._data.size * (2 if p._data.dtype.kind == "c" else 1)
