"""NumPy twins of the fused optimizer-step kernels.

Each step updates every parameter of one param group in place, in one primitive call (one
kernel launch per group on the GPU). Lists are parallel: ``params[i]``, ``grads[i]``, state.
Parameters and state buffers are updated in place; gradients are only read. The arithmetic
follows PyTorch's single-tensor implementations operation by operation, so trajectories match.
The pieces several optimizers share (the gradient's sign and weight decay, running averages)
are the helpers at the end of this module; the twins are written with ``self.xp``, so they
run unchanged on CuPy arrays where no kernel takes the step.
"""

from __future__ import annotations


class OptimTwins:
    """Mixin of optimizer-step primitives for a backend with ``self.xp``."""

    def sgd_step(self, params, grads, momentum_buffers, *, lr: float, momentum: float,
                 dampening: float, nesterov: bool, weight_decay: float, maximize: bool):
        """SGD as ``torch.optim.SGD``; ``momentum_buffers[i]`` is None before the first step.

        With ``momentum != 0``, a None entry of ``momentum_buffers`` is replaced (in the list)
        by a new buffer holding that step's gradient, as PyTorch initialises it; later steps
        update the buffer in place. With ``momentum == 0`` the list is not used.
        """
        for i, (p, g) in enumerate(zip(params, grads)):
            g = _grad(p, g, weight_decay, maximize)
            if momentum:
                buf = momentum_buffers[i]
                if buf is None:
                    buf = g.copy()
                    momentum_buffers[i] = buf
                else:
                    buf *= momentum
                    if dampening:
                        buf += (1 - dampening) * g
                    else:  # (the same numbers without the scaled copy of g)
                        buf += g
                g = g + momentum * buf if nesterov else buf
            p -= lr * g

    def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, step: int,
                  lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                  amsgrad: bool, maximize: bool, decoupled_weight_decay: bool):
        """Adam (``decoupled_weight_decay=False``) or AdamW, as PyTorch computes them.

        ``step`` is the step count after this update (1 on the first), shared by the params
        passed. ``exp_avgs`` / ``exp_avg_sqs`` (and ``max_exp_avg_sqs`` with ``amsgrad``) start
        as zeros; ``max_exp_avg_sqs`` may be None without ``amsgrad``.
        """
        xp = self.xp
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        step_size = lr / bias_correction1
        for i, (p, g) in enumerate(zip(params, grads)):
            g = _grad(p, g, weight_decay, maximize, decoupled_weight_decay, lr)
            m, v = exp_avgs[i], exp_avg_sqs[i]
            work = xp.empty_like(m)  # every intermediate in one array (the same numbers)
            _lerp_(m, g, 1 - beta1, xp, work)
            _average_square_(v, g, beta2, xp, work)
            if amsgrad:
                v_max = max_exp_avg_sqs[i]
                xp.maximum(v_max, v, out=v_max)
                v = v_max
            denom = xp.sqrt(v, out=work)
            denom /= bias_correction2_sqrt
            denom += eps
            update = xp.divide(m, denom, out=work)
            update *= step_size
            p -= update

    def rmsprop_step(self, params, grads, square_avgs, grad_avgs, momentum_buffers, *, lr: float,
                     alpha: float, eps: float, weight_decay: float, momentum: float,
                     centered: bool, maximize: bool):
        """RMSprop as ``torch.optim.RMSprop``.

        ``square_avgs`` start as zeros; ``grad_avgs`` are zeros with ``centered`` (else the list
        may be None); ``momentum_buffers`` are zeros with ``momentum > 0`` (else may be None).
        """
        xp = self.xp
        for i, (p, g) in enumerate(zip(params, grads)):
            g = _grad(p, g, weight_decay, maximize)
            square_avg = square_avgs[i]
            _average_square_(square_avg, g, alpha)
            if centered:
                grad_avg = grad_avgs[i]
                _lerp_(grad_avg, g, 1 - alpha)
                avg = xp.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = xp.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = momentum_buffers[i]
                buf *= momentum
                buf += g / avg
                p -= lr * buf
            else:
                p -= lr * (g / avg)

    def adagrad_step(self, params, grads, state_sums, *, step: int, lr: float, lr_decay: float,
                     eps: float, weight_decay: float, maximize: bool):
        """Adagrad as ``torch.optim.Adagrad``: ``sum += g^2``,
        ``p -= lr / (1 + (step - 1) * lr_decay) * g / (sqrt(sum) + eps)``."""
        xp = self.xp
        clr = lr / (1 + (step - 1) * lr_decay)
        for p, g, state_sum in zip(params, grads, state_sums):
            g = _grad(p, g, weight_decay, maximize)
            state_sum += g * g
            std = xp.sqrt(state_sum)
            std += eps
            p -= clr * (g / std)

    def adadelta_step(self, params, grads, square_avgs, acc_deltas, *, lr: float, rho: float,
                      eps: float, weight_decay: float, maximize: bool):
        """Adadelta as ``torch.optim.Adadelta``: running averages (weight ``rho``) of ``g^2``
        and of the squared update ``delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``;
        ``p -= lr * delta``."""
        xp = self.xp
        for p, g, square_avg, acc_delta in zip(params, grads, square_avgs, acc_deltas):
            g = _grad(p, g, weight_decay, maximize)
            _average_square_(square_avg, g, rho)
            delta = xp.sqrt(acc_delta + eps)
            delta /= xp.sqrt(square_avg + eps)
            delta *= g
            _average_square_(acc_delta, delta, rho)
            p -= lr * delta

    def adamax_step(self, params, grads, exp_avgs, exp_infs, *, step: int, lr: float,
                    beta1: float, beta2: float, eps: float, weight_decay: float, maximize: bool):
        """Adamax as ``torch.optim.Adamax``: Adam's first moment, and an infinity norm
        ``u = max(beta2 * u, |g| + eps)`` in place of the second;
        ``p -= lr / (1 - beta1^t) * m / u``."""
        xp = self.xp
        clr = lr / (1 - beta1**step)
        for p, g, m, u in zip(params, grads, exp_avgs, exp_infs):
            g = _grad(p, g, weight_decay, maximize)
            _lerp_(m, g, 1 - beta1)
            u *= beta2
            norm = xp.abs(g)
            norm += eps
            xp.maximum(u, norm, out=u)
            p -= clr * (m / u)

    def nadam_step(self, params, grads, exp_avgs, exp_avg_sqs, *, step: int, lr: float,
                   beta1: float, beta2: float, eps: float, weight_decay: float, mu: float,
                   mu_next: float, mu_product: float, decoupled_weight_decay: bool,
                   maximize: bool):
        """NAdam as ``torch.optim.NAdam``: Adam's moments, with the update taking ``(1 - mu)``
        of the gradient and ``mu_next`` of the first moment (Nesterov momentum), each over its
        own bias correction. ``mu_product`` is the product of the ``mu`` of steps 1..t (this
        step's included), as the optimizer keeps it."""
        xp = self.xp
        bias_correction2 = 1 - beta2**step
        grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
        avg_coef = (-lr * mu_next) / (1.0 - mu_product * mu_next)
        for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
            g = _grad(p, g, weight_decay, maximize, decoupled_weight_decay, lr)
            _lerp_(m, g, 1 - beta1)
            _average_square_(v, g, beta2)
            denom = xp.sqrt(v / bias_correction2)
            denom += eps
            p += grad_coef * (g / denom)
            p += avg_coef * (m / denom)

    def radam_step(self, params, grads, exp_avgs, exp_avg_sqs, *, step: int, lr: float,
                   beta1: float, beta2: float, eps: float, weight_decay: float,
                   decoupled_weight_decay: bool, maximize: bool):
        """RAdam as ``torch.optim.RAdam``: Adam's moments; while the variance estimate's length
        ``rho_t`` is at most 5 the update is bias-corrected momentum alone, after that it is
        Adam's, scaled by the rectification ``r_t``."""
        xp = self.xp
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        rect = None
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
            g = _grad(p, g, weight_decay, maximize, decoupled_weight_decay, lr)
            _lerp_(m, g, 1 - beta1)
            _average_square_(v, g, beta2)
            update = m / bias_correction1 * lr
            if rect is not None:
                denom = xp.sqrt(v)
                denom += eps
                update *= bias_correction2**0.5 / denom
                update *= rect
            p -= update

    def asgd_step(self, params, grads, axs, *, eta: float, mu: float, lambd: float,
                  weight_decay: float, maximize: bool):
        """ASGD as ``torch.optim.ASGD``: ``p = p * (1 - lambd * eta) - eta * g``, and the
        average ``ax`` moves toward ``p`` by ``mu`` (is set to ``p`` while ``mu`` is 1). The
        optimizer keeps ``eta`` and ``mu`` (per parameter, shared by the params passed)."""
        for p, g, ax in zip(params, grads, axs):
            g = _grad(p, g, weight_decay, maximize)
            p *= 1 - lambd * eta
            p -= eta * g
            if mu != 1:
                ax += (p - ax) * mu
            else:
                ax[...] = p

    def rprop_step(self, params, grads, prevs, step_sizes, *, etaminus: float, etaplus: float,
                   step_size_min: float, step_size_max: float, maximize: bool):
        """Rprop as ``torch.optim.Rprop``: each element's step size grows by ``etaplus`` while
        its gradient keeps its sign, shrinks by ``etaminus`` when it flips (and that step is
        skipped), within ``[step_size_min, step_size_max]``; ``p -= sign(g) * step_size``."""
        xp = self.xp
        for p, g, prev, step_size in zip(params, grads, prevs, step_sizes):
            g = _grad(p, g, 0, maximize)
            agreement = g * prev
            flipped = agreement < 0
            factor = xp.where(agreement > 0, etaplus, xp.where(flipped, etaminus, 1.0))
            step_size *= factor.astype(step_size.dtype)
            xp.clip(step_size, step_size_min, step_size_max, out=step_size)
            g = xp.where(flipped, xp.zeros((), g.dtype), g)
            p -= xp.sign(g) * step_size
            prev[...] = g

    def adafactor_step(self, params, grads, row_vars, col_vars, variances, *, step: int,
                       lr: float, beta2_decay: float, eps1: float, eps2: float, d: float,
                       weight_decay: float, maximize: bool):
        """Adafactor as ``torch.optim.Adafactor``. A parameter of 2+ dims keeps running means
        of ``g^2`` over its last dim (``row_vars[i]``, shaped ``[..., m, 1]``) and over its
        second-to-last (``col_vars[i]``, ``[..., 1, n]``), and estimates ``v`` as their
        product over the mean of the row factor; a 0-D or 1-D one keeps ``v`` itself
        (``variances[i]``; the other two lists hold None there). The averages move by
        ``t^beta2_decay``; ``u = g / max(sqrt(v), eps1)``, clipped to an RMS of ``d``, and
        ``p -= max(eps2, RMS(p)) * min(lr, 1/sqrt(t)) * u``, after the decoupled decay
        ``p *= 1 - lr * weight_decay``. The scalars stay arrays: no host synchronization."""
        xp = self.xp
        weight = step**beta2_decay  # 1 - beta2_t
        relative_step = min(lr, step**-0.5)
        for p, g, row_var, col_var, variance in zip(params, grads, row_vars, col_vars,
                                                     variances):
            if p.size == 0:  # nothing to update (PyTorch divides by zero in its RMS)
                continue
            g = _grad(p, g, 0, maximize)
            step_size = xp.maximum(_rms(xp, p), eps2) * relative_step  # before the decay
            if weight_decay:
                p *= 1 - lr * weight_decay
            square = g * g
            if variance is None:
                _lerp_(row_var, xp.mean(square, axis=-1, keepdims=True), weight)
                _lerp_(col_var, xp.mean(square, axis=-2, keepdims=True), weight)
                v = xp.matmul(row_var, col_var)
                v /= xp.maximum(xp.mean(row_var, axis=-2, keepdims=True), eps1)
            else:
                _lerp_(variance, square, weight)
                v = variance
            # eps1 bounds sqrt(v): squared, it bounds v
            update = g / xp.sqrt(xp.maximum(v, eps1 * eps1))
            step_size /= xp.maximum(_rms(xp, update) / d, 1.0)
            p -= step_size * update

    def muon_step(self, params, grads, momentum_buffers, *, lr: float, update_lrs: list,
                  weight_decay: float, momentum: float, nesterov: bool, ns_coefficients: tuple,
                  ns_steps: int, eps: float):
        """Muon as ``torch.optim.Muon``, for 2-D parameters: ``momentum_buffers`` (zeros at
        first) move toward the gradients by ``1 - momentum``; the update (the buffer, or with
        ``nesterov`` the gradient moved toward it by ``momentum``) is orthogonalized by
        ``_newton_schulz``; then ``p *= 1 - lr * weight_decay`` and
        ``p -= update_lrs[i] * update`` (the optimizer adjusts each parameter's rate).

        Half-precision parameters (bfloat16, float16) are computed in float32 and rounded to
        their dtype where PyTorch's kernels store a result, once per operation."""
        xp = self.xp
        for p, g, buf, update_lr in zip(params, grads, momentum_buffers, update_lrs):
            dtype = p.dtype
            narrow = dtype.itemsize < 4
            wide = xp.float32 if narrow else dtype
            # float32 and float64: no copies, the buffer and the parameter update in place
            p_w, g_w, buf_w = (a.astype(wide, copy=False) for a in (p, g, buf))
            # the iteration's bfloat16 roundings turn on the update's last bits, and one taken
            # otherwise than PyTorch's spreads through the iteration: so the lerps round as
            # PyTorch's do
            buf_w[...] = _fused_lerp(xp, buf_w, g_w, 1 - momentum)
            buf_w = _stored(buf_w, dtype)
            if nesterov:
                update = _stored(_fused_lerp(xp, g_w, buf_w, momentum), dtype)
            else:
                update = buf_w
            update = _newton_schulz(xp, update, ns_coefficients, ns_steps, eps)
            if weight_decay:
                p_w *= 1 - lr * weight_decay
                p_w = _stored(p_w, dtype)
            if narrow:  # PyTorch's add_ rounds its scale to the parameter's dtype
                update_lr = float(dtype.type(update_lr))
            p_w -= update_lr * update.astype(wide, copy=False)
            if narrow:
                p[...] = p_w
                buf[...] = buf_w


# ---------------------------------------------------------------- the shared pieces
def _grad(p, g, weight_decay: float, maximize: bool, decoupled: bool = False, lr: float = 0.0):
    """The gradient an update uses: negated with ``maximize``; with ``weight_decay``, plus
    ``weight_decay * p`` (L2), or, ``decoupled``, the parameter first shrunk in place by
    ``1 - lr * weight_decay`` (AdamW's decay). ``g`` itself is never written."""
    if maximize:
        g = -g
    if weight_decay:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    return g


def _lerp_(avg, x, weight: float, xp=None, work=None) -> None:
    """``avg += weight * (x - avg)`` in place: a running mean moving toward ``x``. From the
    nearer end, as ``torch.lerp``: ``weight`` 1 gives ``x`` exactly, however far ``avg`` was
    (Adafactor's first step, or its ``beta2_decay=0``). ``work`` (an array of ``avg``'s shape
    and dtype, on ``xp``) holds the intermediate instead of new arrays: the same numbers."""
    diff = x - avg if work is None else xp.subtract(x, avg, out=work)
    if weight < 0.5:
        diff *= weight
        avg += diff
    else:
        diff *= 1 - weight
        avg[...] = x
        avg -= diff


def _average_square_(avg, x, beta: float, xp=None, work=None) -> None:
    """``avg = beta * avg + (1 - beta) * x^2`` in place (``work`` as in ``_lerp_``)."""
    avg *= beta
    square = x * x if work is None else xp.multiply(x, x, out=work)
    square *= 1 - beta
    avg += square


def _rms(xp, x):
    """The root mean square of ``x``'s elements, a 0-d array."""
    return xp.sqrt(xp.mean(x * x))


def _fused_lerp(xp, start, end, weight: float):
    """``start`` moved toward ``end`` by ``weight``, rounded as PyTorch's CPU ``lerp``: the
    weight in the arrays' dtype, then one fused multiply-add from the nearer end,
    ``start + w * (end - start)`` or ``end + (w - 1) * (end - start)``. For float32 the fused
    step is exact in float64 but for a rare second rounding; float64 rounds twice."""
    dtype = start.dtype
    w = dtype.type(weight)
    coeff, base = (w, start) if abs(w) < 0.5 else (w - 1, end)
    diff = end - start
    if dtype.itemsize < 8:
        return (diff.astype(xp.float64) * float(coeff) + base).astype(dtype)
    return base + coeff * diff


def _stored(x, dtype):
    """``x`` (computed in a wider dtype) rounded to ``dtype``'s values, in ``x``'s dtype."""
    return x if x.dtype == dtype else x.astype(dtype).astype(x.dtype)


def _newton_schulz(xp, update, coefficients: tuple, steps: int, eps: float):
    """``update`` made near-orthogonal: over its Frobenius norm (at least ``eps``), then
    ``steps`` quintic iterations ``X <- a X + (b A + c A^2) X`` with ``A = X X^T``, which push
    the singular values toward 1 (not all the way: with the default coefficients and 5 steps,
    most land between about 0.7 and 1.2; the smallest may stay lower), on the wide
    orientation (the smaller Gram matrix). Returns float32.

    PyTorch runs the iteration in bfloat16; its CPU matmuls accumulate in float32 and round
    each result once. So this computes each product (and each ``addmm``-like sum) in float32
    and rounds its result to a bfloat16 value, as those kernels do: on small matrices the
    update equals PyTorch's bit for bit, and elsewhere differs where a summation order turns
    one rounding. Holding the values in float32 needs no bfloat16 support from the array
    module (CuPy's is experimental)."""
    a, b, c = coefficients
    x = _bfloat16_values(xp, update.astype(xp.float32))
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    norm = _bfloat16_values(xp, xp.sqrt(xp.sum(x * x)))
    floor = _bfloat16_values(xp, xp.asarray(eps, dtype=xp.float32))
    x = _bfloat16_values(xp, x / xp.maximum(norm, floor))
    for _ in range(steps):
        gram = _bfloat16_values(xp, x @ x.T)
        poly = _bfloat16_values(xp, b * gram + c * (gram @ gram))
        x = _bfloat16_values(xp, a * x + poly @ x)
    return x.T if tall else x


def _bfloat16_values(xp, x):
    """float32 ``x`` rounded to the nearest bfloat16 values (ties to even), still float32:
    the bit pattern rounded at its upper 16 bits, which are bfloat16's. NaNs stay NaN
    (rounding a payload held in the lower bits would make it an infinity)."""
    bits = x.view(xp.uint32)
    rounded = (bits + (((bits >> 16) & 1) + 0x7FFF)) & 0xFFFF0000
    return xp.where(xp.isnan(x), x, rounded.view(xp.float32))
