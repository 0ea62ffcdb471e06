"""One LSTM layer over a whole sequence as one op (``LSTMLayer``), and the same layer composed
of per-step ops (``lstm_layer_composed``), which ``nn.LSTM`` falls back to and which the op's
differentiable backward re-runs.

Shapes: ``x`` (T, N, input), states ``h0``/``c0`` (N, H), weights as PyTorch lays them out,
the four gates (input, forget, cell, output) stacked along the rows: ``w_ih`` (4H, input),
``w_hh`` (4H, H), biases (4H,) or None. ``reverse`` walks the sequence from its end (the
backward direction of a bidirectional layer); the output stays in the input's time order.

The step, with ``z = x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh`` split into ``zi, zf, zg, zo``::

    i, f, o = sigmoid(zi, zf, zo)    g = tanh(zg)
    c' = f * c + i * g               h' = o * tanh(c')

Backward through time (``dh``, ``dc``: the gradients reaching a step's h' and c')::

    dc  += dh * o * (1 - tanh(c')^2)
    dzi  = dc * g * i (1 - i)        dzf = dc * c * f (1 - f)
    dzg  = dc * i * (1 - g^2)        dzo = dh * tanh(c') * o (1 - o)
    dh_prev = dz @ w_hh              dc_prev = dc * f

and then, for all steps in one matmul each: ``dx = dz @ w_ih``, ``dw_ih = dz.T @ x``,
``dw_hh = dz.T @ h_prev``, ``db_ih = db_hh = sum(dz)``.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad
from .join import stack
from .layers import Linear, LinearNoBias

__all__ = ["lstm_layer", "lstm_bidirectional", "lstm_layer_composed", "lstm_projected",
           "LSTMLayer"]


def _linear(x, weight, bias):
    return (Linear if bias is not None else LinearNoBias).apply(x, weight, bias)


def lstm_projected(x_proj, state, w_hh, b_hh, linear=_linear):
    """One step on the input's projection ``x_proj = x @ w_ih.T + b_ih`` (N, 4H), from
    ``state = (h, c)``; returns ``(h', c')``. The cells and the composed layer use it, ``nn``
    with ``linear = F.linear`` (which autocast casts)."""
    h, c = state
    i, f, g, o = (x_proj + linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def lstm_layer_composed(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse: bool = False,
                        linear=_linear):
    """The layer as per-step ops (about 15 nodes a step); returns ``(output, h_T, c_T)``."""
    projected = linear(x, w_ih, b_ih)  # every time step's input part in one matmul
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outputs = [None] * x.shape[0]
    state = (h0, c0)
    for t in steps:
        state = lstm_projected(projected[t], state, w_hh, b_hh, linear)
        outputs[t] = state[0]
    return stack(outputs), state[0], state[1]


def _fused(x, tensors) -> bool:
    """Whether ``LSTMLayer`` runs on ``x`` and ``tensors``: one float32 or float64 dtype and one
    device, and at least one time step."""
    dtype = x._data.dtype
    return (dtype.kind == "f" and dtype.itemsize >= 4 and x.shape[0] > 0
            and all(t._data.dtype == dtype and t._backend is x._backend for t in tensors))


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse: bool = False, linear=_linear):
    """The layer as one node (``LSTMLayer``) where the tensors share a float32 or float64
    dtype and a device, else composed of per-step ops with ``linear``; returns
    ``(output, h_T, c_T)``."""
    tensors = (h0, c0, w_ih, w_hh) if b_ih is None else (h0, c0, w_ih, w_hh, b_ih, b_hh)
    if _fused(x, tensors):
        return LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
    return lstm_layer_composed(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, linear)


def lstm_bidirectional(x, states, weights, linear=_linear) -> list:
    """Both directions of a bidirectional layer over ``x``: ``states`` and ``weights`` hold the
    forward direction's ``(h0, c0)`` and ``(w_ih, w_hh, b_ih, b_hh)`` then the reverse one's;
    returns ``[(output, h_T, c_T)]`` per direction. Where both directions fuse, their time
    steps run in one loop (each array op serves both: half the per-step calls), recorded as
    one ``LSTMLayer`` node per direction, as PyTorch records them."""
    tensors = [t for pair in states for t in pair] + [t for w in weights for t in w
                                                      if t is not None]
    if not _fused(x, tensors):
        return [lstm_layer(x, *state, *w, reverse=d == 1, linear=linear)
                for d, (state, w) in enumerate(zip(states, weights))]
    runs = _lstm_steps(x._backend, [x._data, x._data[::-1]], states, weights)
    return [LSTMLayer.apply(x, *state, *w, d == 1, run)
            for d, (state, w, run) in enumerate(zip(states, weights, runs))]


_SCALES: dict = {}  # (backend, hidden, dtype) -> _gate_scale's arrays (read only)


def _gate_scale(backend, hidden: int, dtype) -> tuple:
    """``(scale, shift)`` of the four gates' pre-activations, (4H,) each: sigmoid(z) =
    tanh(z / 2) / 2 + 1 / 2, so one tanh serves all four gates with z scaled by 1/2 for i, f,
    o (1 for g) beforehand (through the weights) and the result scaled by ``scale`` and moved
    by ``shift`` (1/2 for i, f, o; 0 for g) after."""
    key = (backend, hidden, dtype)
    found = _SCALES.get(key)
    if found is None:
        xp = backend.xp
        scale = xp.full((4, hidden), 0.5, dtype)
        scale[2] = 1
        shift = xp.full((4, hidden), 0.5, dtype)
        shift[2] = 0
        found = _SCALES[key] = (scale.reshape(-1), shift.reshape(-1))
    return found


def _stacked(xp, arrays):
    """The arrays joined along a new leading axis (one array: a view with that axis)."""
    if len(arrays) == 1:
        return arrays[0][None]
    return xp.concatenate([a[None] for a in arrays])


def _lstm_steps(backend, xs, states, weights) -> list:
    """The forward of D independent layers (the directions of a bidirectional one) in one
    loop over time, each array op on all D at once: ``xs`` are their inputs (T, N, input) in
    the order their steps run, ``states`` their ``(h0, c0)`` Tensors, ``weights`` their
    ``(w_ih, w_hh, b_ih, b_hh)`` Tensors. Returns per layer the arrays backward reads:
    ``(acts, hs, cs, tcs)``, the gates after their nonlinearity (T, N, 4H: i, f, g, o), h and c
    before each step then the last ones (T + 1, N, H), and each step's tanh(c') (T, N, H)."""
    xp = backend.xp
    layers = len(xs)
    steps, n, inputs = xs[0].shape
    hidden = weights[0][1]._data.shape[1]
    dtype = xs[0].dtype
    scale, shift = _gate_scale(backend, hidden, dtype)
    w_in = _stacked(xp, [w[0]._data for w in weights]) * scale[:, None]
    pre = backend.matmul(_stacked(xp, xs).reshape(layers, steps * n, inputs),
                         w_in.transpose(0, 2, 1))
    if weights[0][2] is not None:
        pre += _stacked(xp, [(w[2]._data + w[3]._data) * scale for w in weights])[:, None]
    # The loop's arrays are laid out gate first, (4, D, N, H) per step: every operand of the
    # step's ufuncs (z and pres[t], scale, shift; each gate; c, h) is then contiguous and of one
    # shape, NumPy's fast loop, where a strided or broadcast operand costs ~0.5 µs more a call.
    # The recurrent product is a batch of 4 * D (H, H) blocks; backward's layout is made once,
    # at the end.
    pre = xp.ascontiguousarray(
        pre.reshape(layers, steps, n, 4, hidden).transpose(1, 3, 0, 2, 4))  # (T, 4, D, N, H)
    w_rec = _stacked(xp, [w[1]._data for w in weights]) * scale[:, None]  # (D, 4H, H)
    w_rec = xp.ascontiguousarray(w_rec.reshape(layers, 4, hidden, hidden).transpose(1, 0, 3, 2))
    scale_z, shift_z = xp.empty((2, 4, layers, n, hidden), dtype)  # (not broadcast_to:
    scale_z[...] = scale.reshape(4, 1, 1, hidden)  # a Python function of some µs)
    shift_z[...] = shift.reshape(4, 1, 1, hidden)
    acts = xp.empty((steps, 4, layers, n, hidden), dtype)
    hs = xp.empty((steps + 1, layers, n, hidden), dtype)
    cs = xp.empty((steps + 1, layers, n, hidden), dtype)
    tcs = xp.empty((steps, layers, n, hidden), dtype)
    hs[0] = _stacked(xp, [h._data for h, _ in states])
    cs[0] = _stacked(xp, [c._data for _, c in states])
    matmul, tanh, multiply = xp.matmul, xp.tanh, xp.multiply
    # Every step's views made up front (a list of an array's rows costs no Python per row).
    zs, pres, h_at, c_at, tc_at = list(acts), list(pre), list(hs), list(cs), list(tcs)
    i_at, f_at, g_at, o_at = (list(acts[:, k]) for k in range(4))
    for t in range(steps):
        z = zs[t]
        matmul(h_at[t], w_rec, out=z)  # (D, N, H) @ (4, D, H, H)
        z += pres[t]
        tanh(z, out=z)  # all four gates: see _gate_scale
        z *= scale_z
        z += shift_z
        c = c_at[t + 1]
        multiply(f_at[t], c_at[t], out=c)
        c += i_at[t] * g_at[t]
        tc = tc_at[t]
        tanh(c, out=tc)
        multiply(o_at[t], tc, out=h_at[t + 1])
    acts = acts.transpose(2, 0, 3, 1, 4).reshape(layers, steps, n, 4 * hidden)  # (one copy)
    return [(acts[k], hs[:, k], cs[:, k], tcs[:, k]) for k in range(layers)]


class LSTMLayer(Function):
    """The layer's forward as one loop on arrays, keeping every step's gates; backward runs
    through time on them (see the module docstring). Named as PyTorch's CPU LSTM node."""

    node_name = "MkldnnRnnLayerBackward0"
    _next_inputs = (0, 3, 4, 5, 6, 1, 2)  # input, weights, then hx, cx, as PyTorch lists them
    _materialize_grads = False

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, run=None):
        # ``run``: this direction's arrays when ``lstm_bidirectional`` ran both directions.
        if run is None:
            run, = _lstm_steps(x._backend, [x._data[::-1] if reverse else x._data],
                               [(h0, c0)], [(w_ih, w_hh, b_ih, b_hh)])
        acts, hs, cs, tcs = run
        steps = tcs.shape[0]
        out = hs[1:][::-1] if reverse else hs[1:]
        ctx.reverse = reverse
        if any(ctx.needs_input_grad):  # (a call that is not recorded has nothing to keep)
            keep = [x._new(a) for a in run]
            ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, *keep)
        # Fresh outputs, so that writing into them cannot change what backward reads.
        return x._new(out.copy()), x._new(hs[steps].copy()), x._new(cs[steps].copy())

    def _array_backward(self, grad_out, grad_h, grad_c):
        x, _, _, w_ih, w_hh, _, _, acts, hs, cs, tcs = self.saved_arrays()
        need_x, need_h, need_c, need_wi, need_wh, need_bi, need_bh = self.needs_input_grad[:7]
        backend = self._backend
        xp = backend.xp
        reverse = self.reverse
        steps, n, hidden = tcs.shape
        a4 = acts.reshape(steps, n, 4, hidden)
        i, f, g, o = a4[:, :, 0], a4[:, :, 1], a4[:, :, 2], a4[:, :, 3]
        # Each step's factors, for all steps at once: dz = coef * (dc, dc, dc, dh).
        coef = xp.empty((steps, n, 4, hidden), acts.dtype)
        coef[:, :, 0] = g * i * (1 - i)
        coef[:, :, 1] = cs[:-1] * f * (1 - f)
        coef[:, :, 2] = i * (1 - g * g)
        coef[:, :, 3] = tcs * o * (1 - o)
        dc_dh = o * (1 - tcs * tcs)
        if grad_out is not None and reverse:
            grad_out = grad_out[::-1]
        dz = xp.empty((steps, n, 4, hidden), acts.dtype)
        dh = grad_h
        dc = grad_c
        matmul, multiply = xp.matmul, xp.multiply
        # Every step's views made up front, as in forward.
        coef_c, coef_h, dz_c, dz_h = (list(coef[:, :, :3]), list(coef[:, :, 3]),
                                      list(dz[:, :, :3]), list(dz[:, :, 3]))
        dz_rows, f_at, dc_dh = list(dz.reshape(steps, n, 4 * hidden)), list(f), list(dc_dh)
        grad_at = None if grad_out is None else list(grad_out)
        for t in range(steps - 1, -1, -1):
            if grad_at is not None:
                dh = grad_at[t] if dh is None else dh + grad_at[t]
            if dh is None:  # only c_T got a gradient: no h' of this step is used
                multiply(coef_c[t], dc[:, None, :], out=dz_c[t])
                dz_h[t][...] = 0
            else:
                dc = dh * dc_dh[t] if dc is None else dc + dh * dc_dh[t]
                multiply(coef_c[t], dc[:, None, :], out=dz_c[t])
                multiply(coef_h[t], dh, out=dz_h[t])
            dc = dc * f_at[t]
            dh = matmul(dz_rows[t], w_hh)
        dz2 = dz.reshape(steps * n, 4 * hidden)
        gx = None
        if need_x:
            gx = backend.matmul(dz2, w_ih).reshape(x.shape)
            gx = xp.ascontiguousarray(gx[::-1]) if reverse else gx
        xd = x[::-1] if reverse else x
        gw_ih = backend.matmul(dz2.T, xd.reshape(steps * n, x.shape[2])) if need_wi else None
        gw_hh = backend.matmul(dz2.T, hs[:-1].reshape(steps * n, hidden)) if need_wh else None
        gb = dz2.sum(0) if need_bi or need_bh else None
        return (gx, dh if need_h else None, dc if need_c else None, gw_ih, gw_hh,
                gb if need_bi else None, (gb.copy() if need_bi else gb) if need_bh else None,
                None, None)

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c):
        # On Tensors (create_graph): the composed layer re-run on the same inputs and
        # differentiated with a graph, so the gradients are differentiable again.
        from ..autograd import grad as _grad

        saved = ctx.saved_tensors
        inputs = saved[:7]
        wanted = [k for k in range(7) if ctx.needs_input_grad[k] is True]
        with enable_grad():
            outs = lstm_layer_composed(*inputs, ctx.reverse)
        pairs = [(o, g) for o, g in zip(outs, (grad_out, grad_h, grad_c)) if g is not None]
        grads = _grad([o for o, _ in pairs], [inputs[k] for k in wanted],
                      [g for _, g in pairs], create_graph=True, allow_unused=True)
        result = [None] * 9
        for k, gk in zip(wanted, grads):
            result[k] = gk
        return tuple(result)
