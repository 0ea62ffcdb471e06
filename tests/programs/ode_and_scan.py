"""Two small continuous-time / recurrent models in one program, in the style of public PyTorch
code: a neural ODE fitted to a spiral (as users of torchdiffeq write it, with a hand-written
solver instead of the library) and a tiny Mamba-like selective state-space language model.

Neural ODE. The data is the cubic spiral ``dy/dt = y**3 @ A`` from ``y0 = [2, 0]``, integrated
by a Dormand-Prince 5(4) adaptive solver written with tensors: the Butcher tableau as
``torch.tensor`` rows, stage derivatives gathered by ``torch.stack`` and combined by
``torch.tensordot``, a Hairer-style first step from ``torch.norm``, a mixed absolute/relative
error by ``torch.maximum`` and ``torch.linalg.vector_norm`` read with ``.item()`` for
accept/reject, and the step factor ``torch.clamp(0.9 * err ** -0.2, 0.2, 10)`` (``inf`` when
the error is zero). The model is an ``ODEFunc(nn.Module)`` with ``forward(self, t, y)``: an MLP
(``nn.Linear``, ``nn.Tanh``, ``nn.ELU``) fed ``y ** 3``, weights by ``nn.init.normal_`` and
``nn.init.constant_`` over ``self.modules()``, and a time-conditioning parameter that is unused
unless ``time_dependent`` (so ``autograd.grad(..., allow_unused=True)`` returns ``None`` for it).
It is integrated by a fixed-step RK4 over a ``torch.linspace`` time grid (iterating
``zip(t[:-1], t[1:])``, 0-d tensor times, ``torch.stack`` of the states) in two ways: directly,
so ``backward`` goes through every RK4 stage, and by the adjoint method as a custom
``torch.autograd.Function`` whose ``forward`` integrates under ``torch.no_grad()`` and whose
``backward`` integrates the augmented state (state, adjoint, parameter adjoints) backwards in
time, each stage a vector-Jacobian product ``torch.autograd.grad(f, (y, *params),
grad_outputs=a, allow_unused=True, retain_graph=True)`` on ``y.detach().requires_grad_(True)``
inside ``torch.enable_grad()``. Training follows the torchdiffeq demo: random windows picked by
``torch.from_numpy(np.random.choice(...))`` and used as index tensors (``true_y[s + i]``),
``torch.mean(torch.abs(pred - batch))``, ``torch.optim.RMSprop`` and
``nn.utils.clip_grad_norm_``.

Selective state space. A residual stack of Mamba-like blocks: ``in_proj`` split by ``chunk``, a
depthwise causal ``nn.Conv1d(d, d, k, groups=d, padding=k - 1)`` trimmed by ``[..., :L]``,
``F.silu`` on both branches, ``x_proj`` split by ``torch.split`` into the step, ``B`` and
``C``, the step through ``dt_proj`` and ``F.softplus`` (its bias initialised by the inverse
softplus of log-uniform steps with ``torch.expm1``, copied under ``torch.no_grad()``),
``A = -torch.exp(A_log)`` and the discretisation ``torch.exp(torch.einsum('bld,dn->bldn',
delta, A))``. The scan is run two ways: sequentially, a Python loop over time with ``einsum``
readouts and a ``torch.stack``; and in parallel, from ``torch.cumsum`` of the log decays, the
pairwise differences masked above the diagonal by ``torch.tril`` + ``masked_fill(-inf)`` and
exponentiated (a "segment sum"). RMSNorm is written by hand with ``torch.rsqrt``; the final norm
is ``nn.LayerNorm``; the head is tied to the ``nn.Embedding``. The task (selective copying):
tokens are blank or data at random, and at every position the model must output the most
recent data token (positions before the first one carry ``ignore_index=-100``), trained with
``torch.optim.AdamW`` (parameter groups: no weight decay on ``A_log``, ``D``, norms and
biases) and ``F.cross_entropy``.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

# ----------------------------------------------------------------------------- neural ODE

TRUE_A = [[-0.1, 2.0], [-2.0, -0.1]]

# Dormand-Prince 5(4): nodes, stage rows, 5th-order weights, and 5th minus 4th weights
DOPRI_C = [0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0]
DOPRI_A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
]
DOPRI_B = [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0]
DOPRI_B4 = [5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40]


def build_ode(torch, hidden: int = 32, time_dependent: bool = False):
    """``ODEFunc``: dy/dt = MLP(y ** 3) (plus ``t * t_weight`` in the hidden layer if
    ``time_dependent``)."""
    nn = torch.nn

    class ODEFunc(nn.Module):
        def __init__(self):
            super().__init__()
            self.time_dependent = time_dependent
            self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(),
                                     nn.Linear(hidden, hidden), nn.ELU(),
                                     nn.Linear(hidden, 2))
            self.t_weight = nn.Parameter(torch.zeros(hidden))
            self.nfe = 0
            for m in self.net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, mean=0, std=0.1)
                    nn.init.constant_(m.bias, val=0)

        def forward(self, t, y):
            self.nfe += 1
            h = self.net[0](y ** 3)
            if self.time_dependent:
                h = h + t * self.t_weight
            for layer in self.net[1:]:
                h = layer(h)
            return h

    return ODEFunc()


class Lambda:
    """The true dynamics, as a callable ``f(t, y)``."""

    def __init__(self, torch, dtype):
        self.A = torch.tensor(TRUE_A, dtype=dtype)

    def __call__(self, t, y):
        return (y ** 3) @ self.A


def rk4_step(func, t0, dt, y):
    k1 = func(t0, y)
    k2 = func(t0 + dt / 2, y + dt * k1 / 2)
    k3 = func(t0 + dt / 2, y + dt * k2 / 2)
    k4 = func(t0 + dt, y + dt * k3)
    return y + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6


def odeint_rk4(torch, func, y0, t, step_size: float):
    """Fixed-step RK4 through the times ``t`` (a 1-D tensor, increasing or decreasing), at
    least ``|t1 - t0| / step_size`` steps per interval; the states at ``t``, stacked."""
    ys = [y0]
    y = y0
    for t0, t1 in zip(t[:-1], t[1:]):
        n = max(1, math.ceil(abs(float(t1 - t0)) / step_size - 1e-9))
        dt = (t1 - t0) / n
        for j in range(n):
            y = rk4_step(func, t0 + j * dt, dt, y)
        ys.append(y)
    return torch.stack(ys)


def odeint_dopri5(torch, func, y0, t, rtol: float = 1e-7, atol: float = 1e-9,
                  max_steps: int = 10000):
    """Adaptive Dormand-Prince 5(4) through the times ``t`` (steps clipped to land on them);
    the states at ``t`` stacked, and the numbers of accepted and rejected steps."""
    dtype = y0.dtype
    a_rows = [torch.tensor(row, dtype=dtype) for row in DOPRI_A]
    b = torch.tensor(DOPRI_B, dtype=dtype)
    b_err = torch.tensor(DOPRI_B, dtype=dtype) - torch.tensor(DOPRI_B4, dtype=dtype)

    t_now = t[0].item()
    y = y0
    f = func(t_now, y)
    # first step (Hairer, Norsett & Wanner), from norms of the scaled state and slope
    scale = atol + rtol * y.abs()
    d0 = torch.norm(y / scale).item()
    d1 = torch.norm(f / scale).item()
    h = 0.01 * d0 / d1 if d0 > 1e-5 and d1 > 1e-5 else 1e-6
    ys, accepted, rejected = [y0], 0, 0
    for t_next in t[1:].tolist():
        while t_now < t_next:
            if accepted + rejected >= max_steps:
                raise RuntimeError("too many steps")
            h = min(h, t_next - t_now)
            ks = [f]
            for c, row in zip(DOPRI_C[1:], a_rows[1:]):
                y_stage = y + h * torch.tensordot(row, torch.stack(ks), dims=1)
                ks.append(func(t_now + c * h, y_stage))
            k = torch.stack(ks)
            y_new = y + h * torch.tensordot(b, k, dims=1)
            y_err = h * torch.tensordot(b_err, k, dims=1)
            scale = atol + rtol * torch.maximum(y.abs(), y_new.abs())
            err = torch.linalg.vector_norm(y_err / scale) / math.sqrt(y.numel())
            factor = torch.clamp(0.9 * err ** -0.2, 0.2, 10.0).item()
            if err.item() <= 1.0:
                t_now, y, f = t_now + h, y_new, ks[-1]  # first same as last
                accepted += 1
            else:
                rejected += 1
            h = h * factor
        ys.append(y)
    return torch.stack(ys), accepted, rejected


def make_adjoint(torch):
    """``odeint_adjoint(func, y0, t, step_size)``: RK4 forward without a graph, gradients by
    integrating the adjoint system backwards (a custom ``autograd.Function``)."""

    class ODEAdjoint(torch.autograd.Function):
        @staticmethod
        def forward(ctx, y0, t, func, step_size, *params):
            with torch.no_grad():
                ys = odeint_rk4(torch, func, y0, t, step_size)
            ctx.func, ctx.step_size = func, step_size
            ctx.save_for_backward(t, ys, *params)
            return ys

        @staticmethod
        def backward(ctx, grad_ys):
            t, ys, *params = ctx.saved_tensors
            func, step_size = ctx.func, ctx.step_size
            n_p = len(params)

            def aug_dynamics(t_, state):
                y, a = state[0], state[1]
                with torch.enable_grad():
                    y = y.detach().requires_grad_(True)
                    f = func(t_, y)
                    vjp_y, *vjp_params = torch.autograd.grad(
                        f, (y, *params), grad_outputs=a, allow_unused=True,
                        retain_graph=True)
                vjp_params = [torch.zeros_like(p) if g is None else g
                              for p, g in zip(params, vjp_params)]
                return [f, -vjp_y] + [-g for g in vjp_params]

            def aug_rk4(state, t0, t1):
                n = max(1, math.ceil(abs(float(t1 - t0)) / step_size - 1e-9))
                dt = (t1 - t0) / n
                for j in range(n):
                    tj = t0 + j * dt
                    k1 = aug_dynamics(tj, state)
                    k2 = aug_dynamics(tj + dt / 2, [s + dt * k / 2 for s, k in zip(state, k1)])
                    k3 = aug_dynamics(tj + dt / 2, [s + dt * k / 2 for s, k in zip(state, k2)])
                    k4 = aug_dynamics(tj + dt, [s + dt * k for s, k in zip(state, k3)])
                    state = [s + dt * (a + 2 * b + 2 * c + d) / 6
                             for s, a, b, c, d in zip(state, k1, k2, k3, k4)]
                return state

            with torch.no_grad():
                adj_y = grad_ys[-1]
                adj_params = [torch.zeros_like(p) for p in params]
                for i in range(len(t) - 1, 0, -1):
                    state = aug_rk4([ys[i], adj_y, *adj_params], t[i], t[i - 1])
                    adj_y = state[1] + grad_ys[i - 1]
                    adj_params = state[2:2 + n_p]
            return (adj_y, None, None, None, *adj_params)

    def odeint_adjoint(func, y0, t, step_size):
        params = tuple(p for p in func.parameters() if p.requires_grad)
        return ODEAdjoint.apply(y0, t, func, step_size, *params)

    return odeint_adjoint


def spiral_data(torch, data_size: int = 64, t_end: float = 8.0, dtype=None):
    """The time grid and the true spiral at it in ``dtype``, integrated in float64 by
    Dormand-Prince without a graph (a tolerance of 1e-7 is below float32's resolution), and
    the solver's accepted and rejected steps."""
    dtype = dtype or torch.get_default_dtype()
    true_y0 = torch.tensor([[2.0, 0.0]], dtype=torch.float64)
    t = torch.linspace(0.0, t_end, data_size, dtype=torch.float64)
    with torch.no_grad():
        true_y, accepted, rejected = odeint_dopri5(torch, Lambda(torch, torch.float64),
                                                   true_y0, t)
    return t.to(dtype), true_y.to(dtype), accepted, rejected


def get_batch(torch, t, true_y, rng, batch_size: int, batch_time: int):
    """Random windows of ``batch_time`` points: their start states, the window's times and
    the true states, ``(batch_time, batch_size, 1, 2)``."""
    data_size = true_y.shape[0]
    s = torch.from_numpy(rng.choice(np.arange(data_size - batch_time, dtype=np.int64),
                                    batch_size, replace=False))
    batch_y0 = true_y[s]
    batch_t = t[:batch_time]
    batch_y = torch.stack([true_y[s + i] for i in range(batch_time)], dim=0)
    return batch_y0, batch_t, batch_y


def window_loss(torch, func, t, true_y, batch_time: int, step_size: float):
    """The mean absolute error over every window (no graph)."""
    starts = torch.arange(true_y.shape[0] - batch_time)
    with torch.no_grad():
        pred = odeint_rk4(torch, func, true_y[starts], t[:batch_time], step_size)
        target = torch.stack([true_y[starts + i] for i in range(batch_time)], dim=0)
        return torch.mean(torch.abs(pred - target)).item()


def ode_gradients(torch, func, y0, t, target, step_size: float):
    """The window loss and its parameter gradients, by backprop through RK4 and by the
    adjoint; ``(loss_direct, loss_adjoint, grads_direct, grads_adjoint)`` (NumPy)."""
    odeint_adjoint = make_adjoint(torch)
    out = []
    for integrate in (lambda: odeint_rk4(torch, func, y0, t, step_size),
                      lambda: odeint_adjoint(func, y0, t, step_size)):
        func.zero_grad()
        loss = torch.mean(torch.abs(integrate() - target))
        loss.backward()
        out.append((loss.item(), {name: np.zeros(tuple(p.shape)) if p.grad is None
                                  else p.grad.detach().cpu().numpy().copy()
                                  for name, p in func.named_parameters()}))
    func.zero_grad()
    (loss_d, grads_d), (loss_a, grads_a) = out
    return loss_d, loss_a, grads_d, grads_a


def train_ode(torch, iters: int = 40, seed: int = 0, batch_size: int = 16,
              batch_time: int = 8, step_size: float = 0.1, dtype: str = "float32",
              initial_state=None) -> dict:
    """Fit the ODEFunc to the spiral with the adjoint method, RMSprop and gradient clipping."""
    real = getattr(torch, dtype)
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    t, true_y, accepted, rejected = spiral_data(torch, dtype=real)
    func = build_ode(torch).to(real)
    if initial_state is not None:
        func.load_state_dict(initial_state)
    odeint_adjoint = make_adjoint(torch)

    # adjoint and backprop-through-RK4 gradients at the start, on one batch
    batch_y0, batch_t, batch_y = get_batch(torch, t, true_y, rng, batch_size, batch_time)
    loss_d, loss_a, grads_d, grads_a = ode_gradients(torch, func, batch_y0, batch_t, batch_y,
                                                     step_size)
    grad_rel = max(float(np.abs(grads_a[k] - d).max() / np.abs(d).max())
                   for k, d in grads_d.items() if np.abs(d).max() > 0)

    initial_loss = window_loss(torch, func, t, true_y, batch_time, step_size)
    optimizer = torch.optim.RMSprop(func.parameters(), lr=3e-3)
    losses, norms = [], []
    for _ in range(iters):
        optimizer.zero_grad()
        batch_y0, batch_t, batch_y = get_batch(torch, t, true_y, rng, batch_size, batch_time)
        pred_y = odeint_adjoint(func, batch_y0, batch_t, step_size)
        loss = torch.mean(torch.abs(pred_y - batch_y))
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(func.parameters(), 1.0)))
        optimizer.step()
        losses.append(loss.item())
    final_loss = window_loss(torch, func, t, true_y, batch_time, step_size)
    return {"initial_loss": initial_loss, "final_loss": final_loss, "losses": losses,
            "grad_norms": norms, "loss_direct": loss_d, "loss_adjoint": loss_a,
            "adjoint_grad_rel": grad_rel, "t_weight_grad": float(np.abs(grads_a["t_weight"]).max()),
            "dopri_accepted": accepted, "dopri_rejected": rejected,
            "true_y": true_y.cpu().numpy(), "pred_shape": tuple(pred_y.shape),
            "output_dtype": str(pred_y.dtype)}


# ------------------------------------------------------------------- selective state space

VOCAB = 10  # 0: blank, 1..9: data tokens
BLANK_P = 0.6


def selective_scan_sequential(torch, u, delta, A, B, C, D):
    """h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t, y_t = C_t h_t + D u_t, step by step."""
    b, l, d = u.shape
    n = A.shape[1]
    deltaA = torch.exp(torch.einsum('bld,dn->bldn', delta, A))
    deltaB_u = torch.einsum('bld,bln,bld->bldn', delta, B, u)
    h = torch.zeros(b, d, n, dtype=u.dtype, device=u.device)
    ys = []
    for i in range(l):
        h = deltaA[:, i] * h + deltaB_u[:, i]
        ys.append(torch.einsum('bdn,bn->bd', h, C[:, i]))
    y = torch.stack(ys, dim=1)
    return y + u * D


def selective_scan_parallel(torch, u, delta, A, B, C, D):
    """The same scan at once: the decay from s to t is exp(cumsum_t - cumsum_s) for s <= t."""
    l = u.shape[1]
    log_a = torch.einsum('bld,dn->bldn', delta, A)
    cum = torch.cumsum(log_a, dim=1)
    segsum = cum.unsqueeze(2) - cum.unsqueeze(1)  # (b, t, s, d, n)
    causal = torch.tril(torch.ones(l, l, dtype=torch.bool, device=u.device))
    segsum = segsum.masked_fill(~causal[None, :, :, None, None], float('-inf'))
    deltaB_u = torch.einsum('bld,bln,bld->bldn', delta, B, u)
    h = torch.einsum('btsdn,bsdn->btdn', torch.exp(segsum), deltaB_u)
    y = torch.einsum('btdn,btn->btd', h, C)
    return y + u * D


def build_mamba(torch, d_model: int = 16, n_layers: int = 2, d_state: int = 8,
                expand: int = 2, d_conv: int = 4, scan: str = "parallel"):
    """An embedding, ``n_layers`` residual (RMSNorm -> Mamba block) layers, a LayerNorm and a
    head tied to the embedding."""
    nn = torch.nn
    F = nn.functional

    class RMSNorm(nn.Module):
        def __init__(self, d, eps=1e-5):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class MambaBlock(nn.Module):
        def __init__(self):
            super().__init__()
            d_inner = expand * d_model
            self.d_state = d_state
            self.dt_rank = math.ceil(d_model / 16)
            self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
            self.conv1d = nn.Conv1d(d_inner, d_inner, kernel_size=d_conv, groups=d_inner,
                                    padding=d_conv - 1)
            self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * d_state, bias=False)
            self.dt_proj = nn.Linear(self.dt_rank, d_inner, bias=True)
            dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(1e-3))
                           + math.log(1e-3)).clamp(min=1e-4)
            inv_dt = dt + torch.log(-torch.expm1(-dt))  # inverse of softplus
            with torch.no_grad():
                self.dt_proj.bias.copy_(inv_dt)
            A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(d_inner, 1)
            self.A_log = nn.Parameter(torch.log(A))
            self.A_log._no_weight_decay = True
            self.D = nn.Parameter(torch.ones(d_inner))
            self.D._no_weight_decay = True
            self.out_proj = nn.Linear(d_inner, d_model, bias=False)
            self.scan = scan

        def forward(self, x):
            _, l, _ = x.shape
            x, z = self.in_proj(x).chunk(2, dim=-1)
            x = self.conv1d(x.transpose(1, 2))[..., :l].transpose(1, 2)
            x = F.silu(x)
            y = self.ssm(x) * F.silu(z)
            return self.out_proj(y)

        def ssm(self, x):
            A = -torch.exp(self.A_log)
            delta, B, C = torch.split(self.x_proj(x), [self.dt_rank, self.d_state,
                                                       self.d_state], dim=-1)
            delta = F.softplus(self.dt_proj(delta))
            if self.scan == "sequential":
                return selective_scan_sequential(torch, x, delta, A, B, C, self.D)
            return selective_scan_parallel(torch, x, delta, A, B, C, self.D)

    class ResidualBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = RMSNorm(d_model)
            self.mixer = MambaBlock()

        def forward(self, x):
            return x + self.mixer(self.norm(x))

    class MambaLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, d_model)
            self.layers = nn.ModuleList([ResidualBlock() for _ in range(n_layers)])
            self.norm_f = nn.LayerNorm(d_model)
            self.lm_head = nn.Linear(d_model, VOCAB, bias=False)
            self.lm_head.weight = self.embedding.weight

        def forward(self, tokens):
            x = self.embedding(tokens)
            for layer in self.layers:
                x = layer(x)
            return self.lm_head(self.norm_f(x))

        def set_scan(self, kind):
            for m in self.modules():
                if isinstance(m, MambaBlock):
                    m.scan = kind

    return MambaLM()


def copy_batch(rng, batch: int, length: int):
    """Tokens (blank with probability ``BLANK_P``, else a data token) and, at every position,
    the most recent data token (-100 before the first)."""
    data = rng.integers(1, VOCAB, size=(batch, length))
    tokens = np.where(rng.random((batch, length)) < BLANK_P, 0, data)
    targets = np.full((batch, length), -100, dtype=np.int64)
    last = np.full(batch, -100, dtype=np.int64)
    for i in range(length):
        last = np.where(tokens[:, i] > 0, tokens[:, i], last)
        targets[:, i] = last
    return tokens.astype(np.int64), targets


def mamba_param_groups(model, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if getattr(p, "_no_weight_decay", False) or p.ndim < 2 or "norm" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def mamba_loss(torch, model, tokens, targets):
    logits = model(tokens)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1),
                                             ignore_index=-100)
    return loss, logits


def train_mamba(torch, steps: int = 50, seed: int = 0, batch: int = 16, length: int = 12,
                dtype: str = "float32", initial_state=None) -> dict:
    """Train the Mamba-like LM on selective copying with AdamW (parallel scan), checking the
    sequential scan against it on a batch before training."""
    real = getattr(torch, dtype)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_mamba(torch).to(real)
    if initial_state is not None:
        model.load_state_dict(initial_state)

    tokens, targets = (torch.from_numpy(a) for a in copy_batch(rng, batch, length))
    scan_check = {}
    for kind in ("sequential", "parallel"):
        model.set_scan(kind)
        model.zero_grad()
        loss, logits = mamba_loss(torch, model, tokens, targets)
        loss.backward()
        scan_check[kind] = (loss.item(), logits.detach().cpu().numpy(),
                            [p.grad.detach().cpu().numpy().copy() for p in model.parameters()])
    model.zero_grad()
    (loss_s, logits_s, grads_s), (loss_p, logits_p, grads_p) = (scan_check["sequential"],
                                                                  scan_check["parallel"])
    scan_logit_diff = float(np.abs(logits_s - logits_p).max())
    scan_grad_rel = max(float(np.abs(gs - gp).max() / (np.abs(gs).max() + 1e-30))
                        for gs, gp in zip(grads_s, grads_p))

    optimizer = torch.optim.AdamW(mamba_param_groups(model, 0.01), lr=1e-2)
    model.train()
    losses = []
    for _ in range(steps):
        tokens, targets = (torch.from_numpy(a) for a in copy_batch(rng, batch, length))
        loss, _ = mamba_loss(torch, model, tokens, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    model.eval()
    tokens, targets = (torch.from_numpy(a) for a in copy_batch(rng, 64, length))
    with torch.no_grad():
        logits = model(tokens)
        mask = targets != -100
        accuracy = (logits.argmax(dim=-1) == targets)[mask].float().mean().item()
    return {"initial_loss": losses[0], "final_loss": float(np.mean(losses[-10:])),
            "losses": losses, "accuracy": accuracy, "scan_loss": (loss_s, loss_p),
            "scan_logit_diff": scan_logit_diff, "scan_grad_rel": scan_grad_rel,
            "param_groups": [len(g["params"]) for g in optimizer.param_groups],
            "logits_shape": tuple(logits.shape), "output_dtype": str(logits.dtype)}


def main(torch, ode_iters: int = 40, mamba_steps: int = 50, seed: int = 0) -> dict:
    """Train both models; their result dicts under ``"ode"`` and ``"mamba"``."""
    return {"ode": train_ode(torch, iters=ode_iters, seed=seed),
            "mamba": train_mamba(torch, steps=mamba_steps, seed=seed)}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    result = main(importlib.import_module(args.lib))
    for part in ("ode", "mamba"):
        print(part, {k: v for k, v in result[part].items()
                     if k not in ("losses", "grad_norms", "true_y")})
