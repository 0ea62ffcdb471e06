"""``autocast``: every op of the registry and the layers under CPU autocast against PyTorch's
(dtypes, values, gradients); the CUDA op lists through CPU tensors; regions, state, cache."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch
from opinfo import REGISTRY

import gpugrad
from gpugrad.amp import policy

RTOL, ATOL = 1.6e-2, 2e-2


# Specs of ops that no public name reaches, so autocast never casts for them: the LSTM layer
# (``nn.LSTM``'s, under autocast in test_recurrent_layers_under_cpu_autocast_match_torch).
_BELOW_AUTOCAST = {"nn.lstm_layer"}


def _cases():
    for spec in REGISTRY:
        if "float32" not in spec.dtypes or spec.name in _BELOW_AUTOCAST:
            continue
        for i, sample in enumerate(spec.samples(np.random.default_rng(0))[:2]):
            yield pytest.param(spec, sample, id=f"{spec.name}-{i}")


def _host(x):
    x = x.detach()
    if x.dtype.is_complex:
        return x.resolve_conj().numpy().astype(np.complex128)
    return (x.float() if x.is_floating_point() else x).numpy().astype(np.float64)


def _outputs(spec, out):
    outs = spec.outputs(out) if spec.outputs else out
    return outs if isinstance(outs, (tuple, list)) else (outs,)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("spec,sample", list(_cases()))
def test_registry_under_cpu_autocast_matches_torch(spec, sample, dtype):
    """float32 inputs under ``autocast("cpu", dtype)``: each output's dtype and value, and the
    float32 inputs' gradients, as PyTorch's CPU autocast gives them."""
    g_args, t_args, grad_idx = [], [], []
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray):
            t = torch.from_numpy(a.astype(np.float32) if a.dtype.kind == "f" else a.copy())
            g = gpugrad.from_numpy(t.numpy().copy())
            if a.dtype.kind == "f" and spec.differentiable and (
                    sample.grad_args is None or i in sample.grad_args):
                t.requires_grad_()
                g.requires_grad_()
                grad_idx.append(i)
            g_args.append(g)
            t_args.append(t)
        else:
            g_args.append(a)
            t_args.append(a)
    with torch.autocast("cpu", dtype=getattr(torch, dtype)):
        t_out = _outputs(spec, spec.op(torch, *t_args, **sample.kwargs))
    with gpugrad.autocast("cpu", dtype=getattr(gpugrad, dtype)):
        g_out = _outputs(spec, spec.op(gpugrad, *g_args, **sample.kwargs))
    for go, to in zip(g_out, t_out):
        assert go.dtype.name == str(to.dtype).removeprefix("torch."), (go.dtype, to.dtype)
        np.testing.assert_allclose(_host(go), _host(to), rtol=RTOL, atol=ATOL, equal_nan=True)
    diff = [(go, to) for go, to in zip(g_out, t_out) if to.requires_grad]
    if not diff:
        return
    torch.autograd.backward([t.float().sum() for _, t in diff])
    gpugrad.autograd.backward([g.float().sum() for g, _ in diff])
    for i in grad_idx:
        gg, tg = g_args[i].grad, t_args[i].grad
        if tg is None:
            continue
        assert gg.dtype is gpugrad.float32
        np.testing.assert_allclose(_host(gg), _host(tg), rtol=RTOL, atol=ATOL, equal_nan=True)


_CPU_OPS = {
    "matmul": lambda m, x, p, t: x @ x, "mm": lambda m, x, p, t: m.mm(x, x),
    "bmm": lambda m, x, p, t: m.bmm(x[None], x[None]), "mv": lambda m, x, p, t: m.mv(x, x[0]),
    "linear": lambda m, x, p, t: m.nn.functional.linear(x, x, x[0]),
    "conv1d": lambda m, x, p, t: m.nn.functional.conv1d(x[None], x[:, :, None]),
    "conv2d": lambda m, x, p, t: m.nn.functional.conv2d(x[None, None], x[None, None, :2, :2]),
    "conv3d": lambda m, x, p, t: m.nn.functional.conv3d(x[None, None, None],
                                                        x[None, None, None, :2, :2]),
    "conv_transpose3d": lambda m, x, p, t: m.nn.functional.conv_transpose3d(
        x[None, None, None], x[None, None, None, :2, :2], stride=2),
    "adaptive_avg_pool3d": lambda m, x, p, t: m.nn.functional.adaptive_avg_pool3d(
        x[None, None, None], (1, 3, 3)),
    "adaptive_max_pool3d": lambda m, x, p, t: m.nn.functional.adaptive_max_pool3d(
        x[None, None, None], (1, 3, 3)),
    "adaptive_max_pool3d_indices": lambda m, x, p, t: m.nn.functional.adaptive_max_pool3d(
        x[None, None, None], (1, 3, 3), return_indices=True)[0],
    "max_pool3d": lambda m, x, p, t: m.nn.functional.max_pool3d(x[None, None, None], (1, 2, 2)),
    "avg_pool3d": lambda m, x, p, t: m.nn.functional.avg_pool3d(x[None, None, None], (1, 2, 2)),
    "max_unpool3d": lambda m, x, p, t: m.nn.functional.max_unpool3d(
        *m.nn.functional.max_pool3d(x[None, None, None], (1, 2, 2), return_indices=True),
        (1, 2, 2)),
    "avg_pool2d (unlisted)": lambda m, x, p, t: m.nn.functional.avg_pool2d(x[None], 2),
    "sdpa": lambda m, x, p, t: m.nn.functional.scaled_dot_product_attention(x[None], x[None],
                                                                            x[None]),
    "prod": lambda m, x, p, t: x.prod(), "sum": lambda m, x, p, t: x.sum(),
    "exp": lambda m, x, p, t: x.exp(), "softmax": lambda m, x, p, t: x.softmax(1),
    "layer_norm": lambda m, x, p, t: m.nn.functional.layer_norm(x, (4,)),
    "mse": lambda m, x, p, t: m.nn.functional.mse_loss(x, p),
    "l1": lambda m, x, p, t: m.nn.functional.l1_loss(x, p),
    "smooth_l1": lambda m, x, p, t: m.nn.functional.smooth_l1_loss(x, p),
    "huber": lambda m, x, p, t: m.nn.functional.huber_loss(x, p),
    "cross_entropy": lambda m, x, p, t: m.nn.functional.cross_entropy(x, t),
    "nll": lambda m, x, p, t: m.nn.functional.nll_loss(x, t),
    "bce": lambda m, x, p, t: m.nn.functional.binary_cross_entropy(p, p),
    "bce_logits": lambda m, x, p, t: m.nn.functional.binary_cross_entropy_with_logits(x, p),
    "cat": lambda m, x, p, t: m.cat([x, p.float()]),
    "prelu": lambda m, x, p, t: m.nn.functional.prelu(x, p[0, :1]),
    "kl_div": lambda m, x, p, t: m.nn.functional.kl_div(x, p, reduction="batchmean"),
    "margin_ranking": lambda m, x, p, t: m.nn.functional.margin_ranking_loss(x, p, p - 0.5),
    "multi_margin": lambda m, x, p, t: m.nn.functional.multi_margin_loss(x, t),
    "triplet_margin": lambda m, x, p, t: m.nn.functional.triplet_margin_loss(x, p, x * p),
    "cosine_embedding": lambda m, x, p, t: m.nn.functional.cosine_embedding_loss(
        x, p, m.tensor([1, -1, 1, -1])),
    "ctc": lambda m, x, p, t: m.nn.functional.ctc_loss(
        m.nn.functional.log_softmax(x[:, None], -1), m.tensor([[1, 2]]), (4,), (2,)),
    "unlisted gaussian_nll": lambda m, x, p, t: m.nn.functional.gaussian_nll_loss(x, p, p),
    "rfft": lambda m, x, p, t: m.fft.rfft(m.nn.functional.linear(x, p)),
    "fft2": lambda m, x, p, t: m.fft.fft2(m.nn.functional.linear(x, p)),
    "irfft": lambda m, x, p, t: m.fft.irfft(m.nn.functional.linear(x, p)),
    "ihfft": lambda m, x, p, t: m.fft.ihfft(m.nn.functional.linear(x, p)),
    "stft": lambda m, x, p, t: m.stft(m.nn.functional.linear(x, p).reshape(-1), 4,
                                      window=m.hann_window(4), return_complex=True),
    "eigvals": lambda m, x, p, t: m.linalg.eigvals(m.nn.functional.linear(x, p) + 4 * m.eye(4)
                                                   ).abs().sort().values,
    # torch 2.11 (the GPU image's oracle) has no linear_cross_entropy: its reference there
    "linear_cross_entropy": lambda m, x, p, t: (
        m.nn.functional.linear_cross_entropy(x, p, t, options=m.nn.LinearCrossEntropyOptions())
        if m is gpugrad else m.nn.functional.cross_entropy(m.nn.functional.linear(x, p), t)),
}


@pytest.mark.parametrize("input_dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("op", list(_CPU_OPS))
def test_cpu_op_lists_match_torch(op, input_dtype):
    rng = np.random.default_rng(1)
    x_np, p_np = rng.standard_normal((4, 4)), rng.uniform(0.1, 0.9, (4, 4))
    t_np = rng.integers(0, 4, 4)
    out = {}
    for m in (gpugrad, torch):
        dtype = getattr(m, input_dtype)
        x, p = m.tensor(x_np).to(dtype), m.tensor(p_np).to(dtype)
        with m.autocast("cpu", dtype=m.bfloat16):
            out[m.__name__] = _CPU_OPS[op](m, x, p, m.tensor(t_np))
    assert out["gpugrad"].dtype.name == str(out["torch"].dtype).removeprefix("torch.")
    np.testing.assert_allclose(_host(out["gpugrad"]), _host(out["torch"]), rtol=RTOL,
                               atol=ATOL)


def _block(m, seed=0):
    """A pre-norm transformer block and a head, the same weights in both libraries."""
    m.manual_seed(seed)
    layers = [m.nn.LayerNorm(16), m.nn.MultiheadAttention(16, 2, batch_first=True),
              m.nn.Linear(16, 32), m.nn.Linear(32, 16), m.nn.Conv1d(16, 16, 3, padding=1),
              m.nn.Embedding(11, 16)]
    return layers


def test_layers_under_cpu_autocast_match_torch():
    rng = np.random.default_rng(0)
    g_layers, t_layers = _block(gpugrad), _block(torch)
    for g, t in zip(g_layers, t_layers):
        for gp, tp in zip(g.parameters(), t.parameters()):
            with torch.no_grad():
                tp.copy_(torch.from_numpy(gp.detach().numpy()))
    x_np = rng.standard_normal((2, 5, 16)).astype(np.float32)
    tokens = rng.integers(0, 11, (2, 5))
    results = {}
    for m, (norm, attn, up, down, conv, emb) in ((gpugrad, g_layers), (torch, t_layers)):
        x = m.tensor(x_np)
        with m.autocast("cpu", dtype=m.bfloat16):
            h = norm(x) + emb(m.tensor(tokens))
            a, _ = attn(h, h, h, need_weights=False)
            h = h + a
            h = h + down(m.nn.functional.gelu(up(h)))
            h = conv(h.transpose(1, 2)).transpose(1, 2)
            loss = m.nn.functional.cross_entropy(h.reshape(-1, 16),
                                                 m.tensor(tokens.reshape(-1)))
        loss.backward()
        results[m.__name__] = (h, loss, [p.grad for layer in (norm, attn, up, down, conv, emb)
                                         for p in layer.parameters()])
    (gh, gl, gg), (th, tl, tg) = results["gpugrad"], results["torch"]
    assert gh.dtype.name == "bfloat16" and str(th.dtype) == "torch.bfloat16"
    assert gl.dtype.name == "float32" and str(tl.dtype) == "torch.float32"
    np.testing.assert_allclose(_host(gh), _host(th), rtol=5e-2, atol=5e-2)
    assert gl.item() == pytest.approx(tl.item(), rel=2e-2)
    for a, b in zip(gg, tg):
        assert a.dtype is gpugrad.float32
        np.testing.assert_allclose(_host(a), _host(b), rtol=0.1, atol=2e-2)


_RECURRENT = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def _recurrent(m, name):
    m.manual_seed(0)
    return getattr(m.nn, name)(4, 3)


def _new_states(out, name):
    """A layer's output (not its final states), or a cell's new state(s)."""
    if not isinstance(out, tuple):
        return (out,)
    return out if "Cell" in name else out[:1]


@pytest.mark.parametrize("name", _RECURRENT)
def test_recurrent_layers_under_cpu_autocast_match_torch(name):
    """The output and state dtypes PyTorch's CPU autocast gives (oneDNN's LSTM in bfloat16, the
    others as their parts), the values, and float32 weight gradients."""
    g_mod, t_mod = _recurrent(gpugrad, name), _recurrent(torch, name)
    for gp, tp in zip(g_mod.parameters(), t_mod.parameters()):
        with torch.no_grad():
            tp.copy_(torch.from_numpy(gp.detach().numpy()))
    x_np = np.random.default_rng(0).standard_normal((2, 4) if "Cell" in name else (5, 2, 4))
    outs = {}
    for m, mod in ((gpugrad, g_mod), (torch, t_mod)):
        with m.autocast("cpu", dtype=m.bfloat16):
            out = mod(m.tensor(x_np.astype(np.float32)))
        flat = _new_states(out, name)
        sum(o.float().sum() for o in flat).backward()
        outs[m.__name__] = (flat, [p.grad for p in mod.parameters()])
    (g_out, g_grads), (t_out, t_grads) = outs["gpugrad"], outs["torch"]
    for go, to in zip(g_out, t_out):
        assert go.dtype.name == str(to.dtype).removeprefix("torch."), name
        np.testing.assert_allclose(_host(go), _host(to), rtol=5e-2, atol=5e-2)
    for gg, tg in zip(g_grads, t_grads):
        assert gg.dtype is gpugrad.float32
        np.testing.assert_allclose(_host(gg), _host(tg), rtol=0.1, atol=5e-2)


@pytest.fixture
def cuda_lists(monkeypatch):
    """CPU tensors under CPU autocast follow the CUDA op lists (there is no GPU here)."""
    monkeypatch.setitem(policy.TABLES, "cpu", policy.CUDA)


def test_cuda_op_lists(cuda_lists):
    F = gpugrad.nn.functional
    x = gpugrad.rand(4, 4) + 0.5
    xb = x.to(gpugrad.bfloat16)
    t = gpugrad.tensor([0, 1, 2, 3])
    expect = {
        "matmul": (lambda: x @ x, "bfloat16"), "mv": (lambda: x.mv(x[0]), "bfloat16"),
        "linear": (lambda: F.linear(x, x), "bfloat16"), "exp": (lambda: xb.exp(), "float32"),
        "log": (lambda: gpugrad.log(xb), "float32"), "pow": (lambda: xb ** 2, "float32"),
        "rpow": (lambda: 2 ** xb, "float32"), "rdiv": (lambda: 1 / xb, "float32"),
        "sum": (lambda: xb.sum(), "float32"), "sum dtype": (lambda: xb.sum(dtype=gpugrad.float64),
                                                            "float64"),
        "softmax": (lambda: F.softmax(xb, 1), "float32"), "prod": (lambda: xb.prod(), "float32"),
        "layer_norm": (lambda: F.layer_norm(xb, (4,)), "float32"),
        "cross_entropy": (lambda: F.cross_entropy(xb, t), "float32"),
        "dot promotes": (lambda: gpugrad.dot(xb[0], x[0]), "float32"),
        "dot low": (lambda: gpugrad.dot(xb[0], xb[0]), "bfloat16"),
        "unlisted mean": (lambda: xb.mean(), "bfloat16"), "unlisted var": (lambda: xb.var(),
                                                                           "bfloat16"),
        "unlisted gelu": (lambda: F.gelu(xb, approximate="tanh"), "bfloat16"),
        "float64 not cast": (lambda: x.double() @ x.double(), "float64"),
        "lce": (lambda: F.linear_cross_entropy(x, x, t), "float32"),
        "prelu": (lambda: F.prelu(x, x[0, :1]), "bfloat16"),
        "cosh": (lambda: xb.cosh(), "float32"), "softplus": (lambda: F.softplus(xb), "float32"),
        "group_norm": (lambda: F.group_norm(xb[None], 2), "float32"),
        "kl_div": (lambda: F.kl_div(xb, xb, reduction="batchmean"), "float32"),
        "normalize": (lambda: F.normalize(xb), "float32"),
        "unlisted rms_norm": (lambda: F.rms_norm(xb, (4,)), "bfloat16"),
        "rfft": (lambda: gpugrad.fft.rfft(xb), "complex64"),
        "irfftn": (lambda: gpugrad.fft.irfftn(gpugrad.fft.rfftn(xb)), "float32"),
        "eigvals": (lambda: gpugrad.linalg.eigvals(xb), "complex64"),
        **{name: (lambda name=name: _new_states(_recurrent(gpugrad, name)(
            x[:3] if "Cell" in name else x[None, :3]), name)[-1], "bfloat16")
           for name in _RECURRENT},
    }
    with gpugrad.autocast("cpu", dtype=gpugrad.bfloat16):
        for name, (fn, dtype) in expect.items():
            assert fn().dtype.name == dtype, name
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            F.binary_cross_entropy(x.sigmoid(), x.sigmoid())


def test_nesting_disabling_decorator_and_state():
    x = gpugrad.randn(3, 3)
    assert not gpugrad.is_autocast_enabled("cpu")
    with gpugrad.autocast("cpu"):
        assert gpugrad.is_autocast_enabled("cpu") and (x @ x).dtype is gpugrad.bfloat16
        with gpugrad.autocast("cpu", enabled=False):
            assert not gpugrad.is_autocast_enabled("cpu") and (x @ x).dtype is gpugrad.float32
        with gpugrad.autocast("cpu", dtype=gpugrad.float16):
            assert (x @ x).dtype is gpugrad.float16
            assert gpugrad.get_autocast_dtype("cpu") is gpugrad.float16
        assert (x @ x).dtype is gpugrad.bfloat16
    assert not gpugrad.is_autocast_enabled("cpu") and (x @ x).dtype is gpugrad.float32

    @gpugrad.amp.autocast("cpu")
    def product(a):
        return a @ a

    assert product(x).dtype is gpugrad.bfloat16 and (x @ x).dtype is gpugrad.float32
    with gpugrad.autocast("cpu"):
        seen = []
        worker = threading.Thread(target=lambda: seen.append((x @ x).dtype))
        worker.start()
        worker.join()
        assert seen == [gpugrad.float32]  # per thread
    assert gpugrad.get_autocast_dtype("cuda") is gpugrad.float16
    assert gpugrad.is_autocast_available("cpu") and not gpugrad.is_autocast_available("xpu")


def test_parameter_casts_are_cached_per_region():
    w = gpugrad.nn.Parameter(gpugrad.randn(3, 3))
    x = gpugrad.randn(3, 3)
    with gpugrad.autocast("cpu"):
        a = x @ w
        b = x @ w
        assert a.grad_fn.next_functions[1][0] is b.grad_fn.next_functions[1][0]
        with gpugrad.no_grad():
            w.add_(1.0)  # an in-place change is seen: the cast is made again
        c = x @ w
        assert c.grad_fn.next_functions[1][0] is not a.grad_fn.next_functions[1][0]
    assert gpugrad.amp.state.state.cache == {}
    with gpugrad.autocast("cpu", cache_enabled=False):
        a, b = x @ w, x @ w
        assert a.grad_fn.next_functions[1][0] is not b.grad_fn.next_functions[1][0]
    (a.float().sum() + b.float().sum()).backward()
    assert w.grad.dtype is gpugrad.float32


def test_arguments_and_legacy_spellings_as_torch():
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        gpugrad.autocast(0)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'xpu'"):
        gpugrad.autocast("xpu")
    with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of"):
        region = gpugrad.autocast("cpu", dtype=gpugrad.float64)
    with region:
        assert not gpugrad.is_autocast_enabled("cpu")
    if not gpugrad.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            with gpugrad.autocast("cuda", dtype=gpugrad.bfloat16):
                assert not gpugrad.is_autocast_enabled("cuda")
    with pytest.warns(FutureWarning, match="torch.cpu.amp.autocast"):
        legacy = gpugrad.cpu.amp.autocast()
    with legacy:
        assert gpugrad.is_autocast_enabled("cpu")
    from gpugrad.cuda.amp import GradScaler, autocast  # noqa: F401  (importable by name)
    with pytest.raises(TypeError, match="requires a callable"):
        gpugrad.autocast("cpu")(3)


def test_custom_fwd_casts_inputs_and_custom_bwd_restores_the_state():
    seen = {}

    class Square(gpugrad.autograd.Function):
        @staticmethod
        @gpugrad.amp.custom_fwd(device_type="cpu", cast_inputs=gpugrad.float32)
        def forward(ctx, x):
            seen["forward"] = (x.dtype, gpugrad.is_autocast_enabled("cpu"))
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @gpugrad.amp.custom_bwd(device_type="cpu")
        def backward(ctx, grad):
            seen["backward"] = gpugrad.is_autocast_enabled("cpu")
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    x = gpugrad.randn(3, dtype=gpugrad.bfloat16, requires_grad=True)
    with gpugrad.autocast("cpu"):
        y = Square.apply(x)
    y.sum().backward()
    assert seen == {"forward": (gpugrad.float32, False), "backward": False}
    assert y.dtype is gpugrad.float32 and x.grad.dtype is gpugrad.bfloat16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Square.apply(x.detach().float()).dtype is gpugrad.float32


@pytest.mark.parametrize("name", ["MaxPool3d", "AvgPool3d"])
def test_pooling_modules_use_the_autocast_functional(name):
    """The 3-D pooling modules call ``F.max_pool3d``/``F.avg_pool3d`` as autocast wrapped them
    (PyTorch's CPU list runs them in float32)."""
    x = np.random.default_rng(0).standard_normal((1, 1, 2, 2, 2)).astype(np.float32)
    results = []
    for lib in (gpugrad, torch):
        with lib.autocast("cpu", dtype=lib.bfloat16):
            out = getattr(lib.nn, name)(2)(lib.tensor(x).to(lib.bfloat16))
        results.append(str(out.dtype).split(".")[-1])
    assert results[0] == results[1] == "float32"
