"""``nn.modules.utils`` against PyTorch's: the tuple helpers custom layers import, and
stripping ``"module."`` from a data-parallel model's state dict so a plain model loads it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.modules.utils as theirs

import gpugrad
import gpugrad.nn.modules.utils as ours


@pytest.mark.parametrize("name", ["_single", "_pair", "_triple", "_quadruple"])
@pytest.mark.parametrize("value", [3, 2.5, (1, 2), [4, 5, 6], "ab"])
def test_tuple_helpers(name, value):
    assert getattr(ours, name)(value) == getattr(theirs, name)(value)
    assert getattr(ours, name).__name__ == name


@pytest.mark.parametrize("t,n", [((1, 2), 2), ((3, 4, 5), 1), ((), 3)])
def test_reverse_repeat_tuple(t, n):
    assert ours._reverse_repeat_tuple(t, n) == theirs._reverse_repeat_tuple(t, n)


@pytest.mark.parametrize("out_size,defaults", [(5, [1, 2]), ([None, 3], [7, 8, 9]),
                                               ([None], [4, 6]), ([2, 2], [1, 1])])
def test_list_with_default(out_size, defaults):
    def run(module):
        try:
            return module._list_with_default(out_size, defaults)
        except ValueError as error:
            return f"ValueError: {error}"
    assert run(ours) == run(theirs)


def test_consume_prefix_loads_a_data_parallel_checkpoint():
    states = []
    for m in (gpugrad, torch):
        m.manual_seed(0)
        wrapped = m.nn.DataParallel(m.nn.Sequential(m.nn.Linear(2, 3), m.nn.BatchNorm1d(3)))
        state = wrapped.state_dict()
        assert all(k.startswith("module.") for k in state)
        m.nn.modules.utils.consume_prefix_in_state_dict_if_present(state, "module.")
        plain = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.BatchNorm1d(3))
        plain.load_state_dict(state)
        m.nn.modules.utils.consume_prefix_in_state_dict_if_present(state, "module.")  # no-op
        states.append({k: v.numpy() for k, v in plain.state_dict().items()})
    assert list(states[0]) == list(states[1])
    np.testing.assert_array_equal(states[0]["1.running_var"], states[1]["1.running_var"])


def test_consume_prefix_renames_metadata_where_present():
    plain = {"module.a": 1, "b": 2}  # a plain dict has no _metadata
    ours.consume_prefix_in_state_dict_if_present(plain, "module.")
    assert plain == {"a": 1, "b": 2}
    results = []
    for module in (ours, theirs):
        sd = torch.nn.Sequential(torch.nn.Linear(1, 1)).state_dict(prefix="module.")
        sd._metadata = type(sd._metadata)([("", {"version": 1}), ("module", {"version": 2}),
                                           ("module.0", {"version": 3})])
        module.consume_prefix_in_state_dict_if_present(sd, "module.")
        results.append((list(sd), list(sd._metadata.items())))
    assert results[0] == results[1]
    assert results[0][0] == ["0.weight", "0.bias"]
