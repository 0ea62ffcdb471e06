"""Shared pieces of the ``gpugrad.compile`` tests: small models, deterministic batches, and the
comparison of a compiled run with an eager run of the same code from the same initial state.

On the NumPy backend a replay must give the eager numbers bit for bit, so every comparison here
is exact (``np.array_equal``, same dtype, same shape), never a tolerance.
"""

from __future__ import annotations

import types
import warnings

import numpy as np

import gpugrad
from gpugrad import nn

# ---------------------------------------------------------------------------------------------
# data


def batches(count: int, x_shape: tuple, classes: int, seed: int = 0, dtype=np.float32) -> list:
    """``count`` (inputs, integer labels) pairs, fresh data every call (a replay that baked in
    the first call's inputs would give the first call's loss again)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = rng.standard_normal(x_shape).astype(dtype)
        y = rng.integers(0, classes, x_shape[0])
        out.append((gpugrad.tensor(x), gpugrad.tensor(y)))
    return out


# ---------------------------------------------------------------------------------------------
# models: each builder returns (model, input shape, number of classes)


class _Recurrent(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.rnn = getattr(nn, kind)(5, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 16)
        self.layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.1,
                                                batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.layer(self.embed(x)).mean(dim=1))


def mlp(dropout: float = 0.0):
    layers = [nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(16, 4)), (8, 6), 4


def cnn():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    return model, (4, 2, 8, 8), 3


def cnn_layers():
    """The layers of GANs, U-Nets and ResNets: transposed conv, channel and alpha dropout,
    adaptive pooling."""
    model = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.ReLU(),
                          nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1), nn.Dropout2d(0.3),
                          nn.AlphaDropout(0.2), nn.AdaptiveMaxPool2d((5, 3)),
                          nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(16, 3))
    return model, (4, 2, 8, 8), 3


def lstm():
    return _Recurrent("LSTM"), (4, 6, 5), 3


def gru():
    return _Recurrent("GRU"), (4, 6, 5), 3


def transformer():
    return _Encoder(), (4, 6, 5), 3


MODELS = {"mlp": mlp, "cnn": cnn, "cnn_layers": cnn_layers, "lstm": lstm, "gru": gru,
          "transformer": transformer}

OPTIMIZERS = {
    "sgd": lambda ps: gpugrad.optim.SGD(ps, lr=0.1),
    "sgd_nesterov_wd": lambda ps: gpugrad.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                                    weight_decay=1e-2),
    "adam": lambda ps: gpugrad.optim.Adam(ps, lr=1e-2),
    "adam_amsgrad_wd": lambda ps: gpugrad.optim.Adam(ps, lr=1e-2, weight_decay=1e-2,
                                                     amsgrad=True),
    "adamw": lambda ps: gpugrad.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "rmsprop": lambda ps: gpugrad.optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
}


def setup(model_name: str = "mlp", optimizer_name: str = "sgd", **model_kwargs):
    """A namespace with ``model``, ``optimizer``, ``loss_fn``, ``x_shape``, ``classes``."""
    model, x_shape, classes = MODELS[model_name](**model_kwargs)
    return types.SimpleNamespace(model=model, optimizer=OPTIMIZERS[optimizer_name](
        list(model.parameters())), loss_fn=nn.CrossEntropyLoss(), x_shape=x_shape,
        classes=classes, scheduler=None)


def train_step_of(parts):
    """The usual training step, closing over the model and the optimizer."""
    model, optimizer, loss_fn = parts.model, parts.optimizer, parts.loss_fn

    def train_step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return train_step


# ---------------------------------------------------------------------------------------------
# comparison


def to_numpy(value):
    """Tensors (nested in tuples, lists, dicts) as NumPy copies (CUDA ones copied to the host);
    other values as they are."""
    if isinstance(value, gpugrad.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, (tuple, list)):
        return type(value)(to_numpy(v) for v in value)
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    return value


def state_of(parts) -> dict:
    """Every number the training state holds: parameters, their ``.grad`` (``None`` kept),
    buffers, the train/eval flags, optimizer state and param-group options, scheduler state."""
    model, optimizer = parts.model, getattr(parts, "optimizer", None)
    out = {}
    for name, p in model.named_parameters():
        out[f"param {name}"] = to_numpy(p)
        out[f"grad {name}"] = None if p.grad is None else to_numpy(p.grad)
    for name, b in model.named_buffers():
        out[f"buffer {name}"] = to_numpy(b)
    for name, m in model.named_modules():
        out[f"training {name}"] = m.training
    if optimizer is not None:
        names = {id(p): name for name, p in model.named_parameters()}
        for p, state in optimizer.state.items():
            for key, value in state.items():
                out[f"optimizer {names[id(p)]} {key}"] = to_numpy(value)
        for i, group in enumerate(optimizer.param_groups):
            for key, value in group.items():
                if key != "params":
                    out[f"group {i} {key}"] = value
    scheduler = getattr(parts, "scheduler", None)
    if scheduler is not None:
        out["scheduler"] = {k: v for k, v in scheduler.state_dict().items()}
    return out


def assert_identical(expected, actual, where: str = "") -> None:
    """Exactly equal: arrays bit for bit with the same dtype and shape, other values ``==``."""
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), (where, type(actual))
        assert actual.dtype == expected.dtype, (where, actual.dtype, expected.dtype)
        assert actual.shape == expected.shape, (where, actual.shape, expected.shape)
        assert np.array_equal(actual, expected, equal_nan=True), (
            f"{where}: compiled differs from eager by up to "
            f"{np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)))}")
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), (
            where, sorted(set(expected) ^ set(actual or {})))
        for key in expected:
            assert_identical(expected[key], actual[key], f"{where} {key}".strip())
    elif isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), (where,
                                                                                   actual)
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_identical(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, (where, actual, expected)


def compile_warnings(record) -> list:
    """The ``CompileWarning`` entries of a ``warnings.catch_warnings(record=True)`` list."""
    return [w for w in record if issubclass(w.category, gpugrad.compiler.CompileWarning)]


def compare_runs(build, make_fn, calls: list, *, between=None, seed: int = 0,
                 compile_kwargs: dict | None = None, allow_warnings: bool = False,
                 check=assert_identical):
    """Run ``make_fn(build())`` on every argument tuple of ``calls``, once eagerly and once
    compiled, each time from ``gpugrad.manual_seed(seed)`` (so the same initial parameters and
    the same random stream). ``between(i, parts)`` runs before call ``i`` in both runs (code
    outside the compiled function). Checks, after the last call, every output of every call
    (so a later replay overwriting an earlier output is caught) and the whole training state.
    A ``CompileWarning`` fails the check unless ``allow_warnings``. ``check(expected, actual,
    where)`` compares (bit for bit unless told otherwise: CUDA tests allow rounding). Returns the
    compiled function, both runs' outputs and parts, and the compiled run's ``CompileWarning``
    messages (``warnings``), for further checks."""
    runs = []
    for compiled in (False, True):
        gpugrad.manual_seed(seed)
        parts = build()
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            fn = make_fn(parts)
            if compiled:
                fn = gpugrad.compile(fn, **(compile_kwargs or {}))
            outputs = []
            for i, args in enumerate(calls):
                if between is not None:
                    between(i, parts)
                outputs.append(fn(*args))
        caught = compile_warnings(record)
        assert compiled or not caught, [str(w.message) for w in caught]
        if not allow_warnings:
            assert not caught, [str(w.message) for w in caught]
        runs.append((outputs, parts, fn))
    (eager_out, eager_parts, _), (comp_out, comp_parts, compiled_fn) = runs
    for e, c in zip(eager_out, comp_out):
        assert type(c) is type(e), (type(c), type(e))
    check(to_numpy(eager_out), to_numpy(comp_out), "outputs")
    check(state_of(eager_parts), state_of(comp_parts), "state")
    return types.SimpleNamespace(fn=compiled_fn, outputs=comp_out, parts=comp_parts,
                                 eager_outputs=eager_out, eager_parts=eager_parts,
                                 warnings=[str(w.message) for w in caught])
