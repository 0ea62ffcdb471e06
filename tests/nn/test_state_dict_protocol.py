"""The state dict protocol of ``nn.Module`` against PyTorch: ``_metadata`` with each module's
``_version``, ``_save_to_state_dict`` / ``_load_from_state_dict`` overrides, the hooks' order,
``strict`` errors, ``assign`` and the round trip through ``gpugrad.save`` / ``load``."""

from __future__ import annotations

import io
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import gpugrad

LIBS = pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])


def _values(state) -> dict:
    return {k: np.asarray(v.detach().cpu().numpy()) for k, v in state.items()}


def _same_values(ours, theirs) -> None:
    assert list(ours) == list(theirs)
    for k in ours:
        np.testing.assert_array_equal(ours[k], theirs[k])


def _load_error(model, state, **kw) -> str:
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state, **kw)
    return str(info.value).replace("torch.", "gpugrad.")


def _nested(m):
    m.manual_seed(0)
    return m.nn.Sequential(
        m.nn.Conv2d(1, 2, 3),
        m.nn.BatchNorm2d(2),
        m.nn.Sequential(m.nn.Linear(2, 3), m.nn.LayerNorm(3), m.nn.ReLU()),
        m.nn.LSTM(3, 4, num_layers=2),
        m.nn.InstanceNorm1d(4, track_running_stats=True),
        m.nn.GroupNorm(1, 4),
    )


def _legacy_linear(m):
    class LegacyLinear(m.nn.Linear):
        """Checkpoints of an older release called the weight ``w``."""

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing,
                                  unexpected, errors):
            if prefix + "w" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing,
                                          unexpected, errors)

    return LegacyLinear


def test_metadata_of_a_nested_model_is_torchs():
    ours, theirs = _nested(gpugrad).state_dict(), _nested(torch).state_dict()
    assert type(ours._metadata) is OrderedDict
    assert list(ours._metadata.items()) == list(theirs._metadata.items())
    assert ours._metadata["1"] == {"version": 2}  # BatchNorm's
    assert ours._metadata["4"] == {"version": 2}  # InstanceNorm's (the same base)
    assert list(ours) == list(theirs)


@pytest.mark.parametrize("name", ["BatchNorm1d", "SyncBatchNorm", "InstanceNorm2d", "LayerNorm",
                                  "RMSNorm", "Linear", "Embedding"])
def test_versions_of_builtin_modules(name):
    args = (3, 3) if name in ("Linear", "Embedding") else (3,)
    assert getattr(gpugrad.nn, name)._version == getattr(torch.nn, name)._version
    assert gpugrad.nn.Module._version == torch.nn.Module._version == 1
    ours = getattr(gpugrad.nn, name)(*args).state_dict()._metadata
    assert ours == getattr(torch.nn, name)(*args).state_dict()._metadata


@LIBS
def test_destination_prefix_and_keep_vars(m):
    lin = m.nn.Linear(2, 2)
    plain = OrderedDict()
    out = lin.state_dict(destination=plain, prefix="enc.")
    assert out is plain and list(out) == ["enc.weight", "enc.bias"]
    assert not hasattr(out, "_metadata")  # only a dict state_dict made itself gets one
    given = OrderedDict()
    given._metadata = OrderedDict()
    lin.state_dict(destination=given, prefix="enc.")
    assert list(given._metadata.items()) == [("enc", {"version": 1})]
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight
    assert not lin.state_dict()["weight"].requires_grad
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        positional = lin.state_dict(OrderedDict(), "p.", True)
    assert positional["p.weight"] is lin.weight


@LIBS
def test_load_from_state_dict_override_renames_a_legacy_key(m):
    model = m.nn.Sequential(m.nn.ReLU(), _legacy_linear(m)(2, 3))
    source = m.nn.Sequential(m.nn.ReLU(), m.nn.Linear(2, 3))
    old = OrderedDict((k.replace("weight", "w"), v) for k, v in source.state_dict().items())
    assert list(old) == ["1.w", "1.bias"]
    result = model.load_state_dict(old)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(old) == ["1.w", "1.bias"]  # the caller's dict is untouched
    _same_values(_values(model.state_dict()), _values(source.state_dict()))


def test_legacy_rename_gives_the_same_model_in_both_libraries():
    loaded = []
    for m in (gpugrad, torch):
        weights = {"w": m.tensor(np.arange(6.0).reshape(3, 2)), "bias": m.tensor([1.0, 2, 3])}
        model = _legacy_linear(m)(2, 3)
        model.load_state_dict(weights)
        loaded.append(_values(model.state_dict()))
    _same_values(*loaded)


def _versioned(m):
    class Scale(m.nn.Module):
        """Version 1 stored ``log_scale``; version 2 stores ``scale``."""

        _version = 2

        def __init__(self):
            super().__init__()
            self.scale = m.nn.Parameter(m.ones(2))
            self.seen = []

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing,
                                  unexpected, errors):
            version = local_metadata.get("version")
            self.seen.append((prefix, dict(local_metadata)))
            if (version is None or version < 2) and prefix + "log_scale" in state_dict:
                state_dict[prefix + "scale"] = state_dict.pop(prefix + "log_scale").exp()
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing,
                                          unexpected, errors)

    return Scale


def _upgrade_run(m):
    model = m.nn.Sequential(m.nn.Linear(2, 2), _versioned(m)())
    state = model.state_dict()
    assert state._metadata["1"] == {"version": 2}
    old = OrderedDict((k, v) for k, v in state.items() if k != "1.scale")
    old["1.log_scale"] = m.tensor([0.0, 1.0])
    old._metadata = OrderedDict((k, dict(v)) for k, v in state._metadata.items())
    old._metadata["1"]["version"] = 1
    model.load_state_dict(old)
    first = model[1].scale.detach().numpy().copy()
    current = model.state_dict()  # version 2: a "log_scale" entry would stay unexpected
    current["1.log_scale"] = m.tensor([0.0, 0.0])
    error = _load_error(model, current)
    bare = {"0.weight": state["0.weight"], "0.bias": state["0.bias"],
            "1.log_scale": m.tensor([1.0, 2.0])}  # no metadata: version None
    model.load_state_dict(bare)
    return first, error, model[1].scale.detach().numpy(), model[1].seen


def test_version_upgrade_reads_local_metadata():
    ours, theirs = _upgrade_run(gpugrad), _upgrade_run(torch)
    np.testing.assert_allclose(ours[0], np.exp([0.0, 1.0]), rtol=1e-6)
    np.testing.assert_allclose(ours[0], theirs[0])
    assert ours[1] == theirs[1] and 'Unexpected key(s) in state_dict: "1.log_scale"' in ours[1]
    np.testing.assert_allclose(ours[2], theirs[2])
    assert ours[3] == theirs[3] == [("1.", {"version": 1}), ("1.", {"version": 2}), ("1.", {})]


@LIBS
def test_batch_norm_upgrades_a_checkpoint_without_num_batches_tracked(m):
    bn = m.nn.BatchNorm1d(3)
    bn.num_batches_tracked.fill_(5)
    old = {k: v.clone() for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    assert bn.load_state_dict(old).missing_keys == []  # no metadata: version None
    assert int(bn.num_batches_tracked) == 5
    versioned = OrderedDict(old)
    versioned._metadata = OrderedDict([("", {"version": 2})])
    result = bn.load_state_dict(versioned, strict=False)
    assert result.missing_keys == ["num_batches_tracked"]


def test_instance_norm_refuses_pre_0_4_running_stats_as_torch():
    errors = []
    for m in (gpugrad, torch):
        norm = m.nn.InstanceNorm1d(3)
        errors.append(_load_error(norm, {"running_mean": m.zeros(3), "running_var": m.ones(3)}))
    assert errors[0] == errors[1]
    assert "Unexpected running stats buffer(s)" in errors[0]


@LIBS
def test_save_to_state_dict_override_is_honoured(m):
    class Transposed(m.nn.Linear):
        def _save_to_state_dict(self, destination, prefix, keep_vars):
            destination[prefix + "weight_t"] = self.weight.detach().t()
            destination[prefix + "bias"] = self.bias.detach()

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing,
                                  unexpected, errors):
            if prefix + "weight_t" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "weight_t").t()
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing,
                                          unexpected, errors)

    model = m.nn.Sequential(Transposed(2, 3))
    state = model.state_dict()
    assert list(state) == ["0.weight_t", "0.bias"] and tuple(state["0.weight_t"].shape) == (2, 3)
    assert list(state._metadata) == ["", "0"]
    other = m.nn.Sequential(Transposed(2, 3))
    assert other.load_state_dict(state).missing_keys == []
    np.testing.assert_array_equal(other[0].weight.detach().numpy(),
                                  model[0].weight.detach().numpy())


def _strict_cases(m):
    m.manual_seed(0)
    model = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.Sequential(m.nn.BatchNorm1d(3)))
    model.add_module("gone", None)
    good = model.state_dict()
    cases = {
        "missing": {k: v for k, v in good.items() if "running" not in k},
        "unexpected": {**good, "extra": m.zeros(1), "0.extra": m.zeros(1),
                       "1.0.x.y": m.zeros(1), "gone.w": m.zeros(1), "2.w": m.zeros(1)},
        "shape": {**good, "0.weight": m.zeros(2, 2), "1.0.num_batches_tracked": m.zeros(1)},
        "not_a_tensor": {**good, "0.bias": [1.0, 2.0, 3.0]},
        "all": {**{k: v for k, v in good.items() if k != "0.bias"},
                "0.weight": m.zeros(3), "1.0.z": m.zeros(1)},
    }
    out = {name: _load_error(model, state) for name, state in cases.items()}
    loose = model.load_state_dict(cases["unexpected"], strict=False)
    out["loose"] = (loose.missing_keys, loose.unexpected_keys)
    return out


def test_strict_errors_are_torchs():
    ours, theirs = _strict_cases(gpugrad), _strict_cases(torch)
    for name in ours:
        assert ours[name] == theirs[name], name
    assert "size mismatch for 0.weight" in ours["shape"]


@LIBS
def test_hook_order_around_load_from_state_dict(m):
    calls = []

    class Leaf(m.nn.Linear):
        def _load_from_state_dict(self, *args):
            calls.append(("load", args[1]))
            super()._load_from_state_dict(*args)

    model = m.nn.Sequential(Leaf(1, 1), m.nn.Sequential(Leaf(1, 1)))
    for prefix, mod in model.named_modules():
        mod.register_load_state_dict_pre_hook(
            lambda mod_, sd, pre, *rest: calls.append(("pre", pre)))
        mod._register_load_state_dict_pre_hook(
            lambda sd, pre, meta, *rest: calls.append(("private", pre, dict(meta))))
        mod.register_load_state_dict_post_hook(
            lambda mod_, keys, p=prefix: calls.append(("post", p, list(keys.missing_keys))))
    state = model.state_dict()
    state.pop("1.0.bias")
    model.load_state_dict(state, strict=False)
    assert calls == [
        ("pre", ""), ("private", "", {"version": 1}),  # (in the order registered)
        ("load", "0."), ("pre", "0."), ("private", "0.", {"version": 1}), ("post", "0", []),
        ("pre", "1."), ("private", "1.", {"version": 1}),
        ("load", "1.0."), ("pre", "1.0."), ("private", "1.0.", {"version": 1}),
        ("post", "1.0", ["1.0.bias"]), ("post", "1", ["1.0.bias"]), ("post", "", ["1.0.bias"]),
    ]


@LIBS
def test_hooks_returning_values(m):
    lin = m.nn.Linear(1, 1)
    lin.register_load_state_dict_post_hook(lambda mod, keys: "no")
    with pytest.raises(AssertionError, match="not expected to return new values"):
        lin.load_state_dict(lin.state_dict())
    handle = lin.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {})
    with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
        lin.state_dict()
    handle.remove()
    seen = []
    lin._register_state_dict_hook(lambda mod, sd, prefix, meta: seen.append(meta) or {"x": 1})
    assert lin.state_dict() == {"x": 1} and seen == [{"version": 1}]


@LIBS
def test_assign_takes_the_tensors_and_tells_the_metadata(m):
    seen = []

    class Spy(m.nn.Linear):
        def _load_from_state_dict(self, state_dict, prefix, local_metadata, *rest):
            seen.append(dict(local_metadata))
            super()._load_from_state_dict(state_dict, prefix, local_metadata, *rest)

    model = Spy(2, 2)
    weight = m.ones(2, 2)
    model.load_state_dict({"weight": weight, "bias": m.zeros(2)}, assign=True)
    assert isinstance(model.weight, m.nn.Parameter) and model.weight.requires_grad
    weight.add_(1)  # the module holds the given tensor's memory
    assert float(model.weight.detach().sum()) == 8.0
    state = model.state_dict()
    model.load_state_dict(state, assign=True)
    assert seen == [{"assign_to_params_buffers": True},
                    {"version": 1, "assign_to_params_buffers": True}]
    assert state._metadata[""] == {"version": 1, "assign_to_params_buffers": True}


def test_metadata_survives_gpugrad_save_and_load():
    model = _nested(gpugrad)
    state = model.state_dict()
    buffer = io.BytesIO()
    gpugrad.save(state, buffer)
    buffer.seek(0)
    loaded = gpugrad.load(buffer)
    assert type(loaded._metadata) is OrderedDict
    assert list(loaded._metadata.items()) == list(state._metadata.items())
    assert list(loaded) == list(state)
    assert _nested(gpugrad).load_state_dict(loaded).missing_keys == []
    plain = io.BytesIO()  # a dict without metadata still loads as one without
    gpugrad.save({"a": gpugrad.ones(1)}, plain)
    plain.seek(0)
    assert not hasattr(gpugrad.load(plain), "_metadata")


def test_metadata_of_a_torch_checkpoint_reaches_load_from_state_dict():
    buffer = io.BytesIO()
    bn = torch.nn.BatchNorm1d(2)
    state = bn.state_dict()
    del state["num_batches_tracked"]
    state._metadata[""]["version"] = 2  # a version-2 checkpoint missing the counter
    torch.save(state, buffer)
    buffer.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = gpugrad.load(buffer)
    assert loaded._metadata == state._metadata
    ours = gpugrad.nn.BatchNorm1d(2).load_state_dict(loaded, strict=False)
    theirs = torch.nn.BatchNorm1d(2).load_state_dict(state, strict=False)
    assert ours.missing_keys == theirs.missing_keys == ["num_batches_tracked"]


def test_spectral_norm_metadata_and_pre_0_4_upgrade_as_torch():
    rng = np.random.default_rng(0)
    orig = rng.standard_normal((2, 3))
    u = np.array([0.6, 0.8])
    old = {"weight_orig": orig, "weight": orig / 2.5, "weight_u": u, "bias": np.zeros(2)}
    results = []
    for m in (gpugrad, torch):
        sn = m.nn.utils.spectral_norm(m.nn.Linear(3, 2).double())
        state = sn.state_dict()
        assert list(state._metadata.items()) == [
            ("", {"version": 1, "spectral_norm": {"weight.version": 1}})]
        sn.load_state_dict({k: m.tensor(v) for k, v in old.items()})  # no metadata: upgraded
        results.append(sn.weight_v.detach().numpy().copy())
        m.nn.utils.remove_spectral_norm(sn)
        assert list(sn.state_dict()._metadata.items()) == [("", {"version": 1})]
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)


def test_remove_spectral_norm_removes_its_load_hook():
    # A documented difference: PyTorch 2.13 misses its own (wrapped) load pre-hook when
    # removing, and the plain module then refuses its own state dict.
    errors = []
    for m in (gpugrad, torch):
        lin = m.nn.utils.spectral_norm(m.nn.Linear(3, 2))
        m.nn.utils.remove_spectral_norm(lin)
        try:
            lin.load_state_dict(lin.state_dict())
        except RuntimeError as e:
            errors.append(str(e))
    assert len(errors) == 1 and 'Missing key(s) in state_dict: "weight_orig"' in errors[0]
