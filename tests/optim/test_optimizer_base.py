"""What every optimizer inherits from ``Optimizer``, against PyTorch: its repr, parameters
given by ``named_parameters()``, copies and pickles (``__getstate__``/``__setstate__``), and how
``load_state_dict`` casts, shares and keeps the state it is given."""

from __future__ import annotations

import copy
import io

import pytest
import torch

import gpugrad

LIBS = [gpugrad, torch]


def _two_groups(lib):
    a, b = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(3))
    return lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)


def test_repr_separates_the_groups_by_a_blank_line_as_torch():
    ours, theirs = (repr(_two_groups(lib)) for lib in LIBS)
    assert ours == theirs
    assert "\n\nParameter Group 1\n" in ours and ours.endswith("\n)")


def test_named_parameters_are_taken_and_their_names_kept_as_torch():
    results = []
    for lib in LIBS:
        lib.manual_seed(0)
        model = lib.nn.Linear(2, 1)
        opt = lib.optim.SGD(model.named_parameters(), lr=0.1)
        assert opt.param_groups[0]["params"] == list(model.parameters())
        state = opt.state_dict()
        text = repr(opt)
        with pytest.raises(ValueError, match="Some param names are missing"):
            lib.optim.SGD([("w", model.weight), model.bias], lr=0.1)
        with pytest.raises(ValueError, match="cannot add param group without names"):
            opt.add_param_group({"params": [lib.nn.Parameter(lib.ones(1))]})
        fresh = lib.optim.SGD(model.named_parameters(), lr=0.3)
        fresh.load_state_dict(state)
        results.append((state["param_groups"][0]["param_names"], text,
                        fresh.param_groups[0]["param_names"], fresh.param_groups[0]["lr"]))
    assert results[0] == results[1]
    assert results[0][0] == results[0][2] == ["weight", "bias"] and results[0][3] == 0.1
    assert "    param_names: ['weight', 'bias']\n" in results[0][1]


def _with_option(lib):
    class WithOption(lib.optim.SGD):
        """A subclass that added an option after checkpoints were saved without it."""

        def __setstate__(self, state):
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("extra", 7)

    return WithOption


@pytest.mark.parametrize("lib", LIBS, ids=lambda m: m.__name__)
def test_setstate_fills_options_on_load_and_copy_as_torch(lib):
    p = lib.nn.Parameter(lib.ones(2))
    opt = _with_option(lib)([p], lr=0.1, momentum=0.9)
    opt.load_state_dict(lib.optim.SGD([p], lr=0.2, momentum=0.9).state_dict())
    assert opt.param_groups[0]["extra"] == 7 and opt.param_groups[0]["lr"] == 0.2
    p.grad = lib.ones(2)
    opt.step()
    twin = copy.deepcopy(opt)
    assert twin.param_groups[0]["extra"] == 7
    assert twin.state[twin.param_groups[0]["params"][0]]["momentum_buffer"].tolist() == [1, 1]
    buffer = io.BytesIO()
    lib.save(opt.state_dict(), buffer)
    buffer.seek(0)
    opt.load_state_dict(lib.load(buffer))
    assert opt.state[p]["momentum_buffer"].tolist() == [1, 1]


def test_a_copied_lbfgs_still_steps():
    """(PyTorch's copy loses the parameter list LBFGS keeps, and its step fails; gpugrad's
    ``LBFGS.__setstate__`` restores it.)"""
    p = gpugrad.nn.Parameter(gpugrad.tensor([2.0, -1.0]))
    twin = copy.deepcopy(gpugrad.optim.LBFGS([p], max_iter=5))
    q = twin.param_groups[0]["params"][0]

    def closure():
        twin.zero_grad()
        loss = (q ** 2).sum()
        loss.backward()
        return loss

    twin.step(closure)
    assert q.abs().max().item() < 1e-3 and p.tolist() == [2.0, -1.0]


def test_load_casts_nested_state_shares_matching_tensors_and_keeps_unknown_entries():
    results = []
    for lib in LIBS:
        p = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
        opt = lib.optim.SGD([p], lr=0.1)
        state = opt.state_dict()
        buffer = lib.zeros(2, dtype=lib.float64)
        state["state"][0] = {"n": lib.tensor(3), "d": {"m": lib.zeros(2)},
                             "l": [lib.zeros(2)], "momentum_buffer": buffer,
                             "step": lib.tensor(1.0)}
        state["state"][5] = {"x": 1}
        opt.load_state_dict(state)
        entry = opt.state[p]
        results.append((str(entry["n"].dtype)[-7:], str(entry["d"]["m"].dtype)[-7:],
                        str(entry["l"][0].dtype)[-7:], str(entry["step"].dtype)[-7:],
                        entry["momentum_buffer"] is buffer, len(opt.state), opt.state[5]))
        assert state["state"][0]["n"].dtype == lib.int64  # the caller's dict is left alone
    assert results[0] == results[1] == ("float64", "float64", "float64", "float32", True, 2,
                                        {"x": 1})


def test_resuming_a_scheduler_without_initial_lr_raises_as_torch():
    messages = []
    for lib in LIBS:
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1)
        with pytest.raises(KeyError) as info:
            lib.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0, last_epoch=3)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
