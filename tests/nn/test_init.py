"""``nn.init``: gains, fans, bounds and statistics as PyTorch's, in place with version bumps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.nn import init


@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("sigmoid", None),
                                                ("tanh", None), ("relu", None),
                                                ("leaky_relu", None), ("leaky_relu", 0.2),
                                                ("selu", None), ("conv2d", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def test_fans_match_torch():
    for shape in [(3, 5), (4, 3, 2, 2), (6, 2, 7)]:
        assert init._calculate_fan_in_and_fan_out(gpugrad.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(gpugrad.empty(3))


def test_unknown_fan_mode_is_named_as_torch_names_it():
    errors = []
    for lib in (gpugrad, torch):
        with pytest.raises(ValueError) as caught:
            lib.nn.init.kaiming_normal_(lib.empty(4, 3), mode="fan_avg")
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.min(), a.max(), a.mean(), a.std()


@pytest.mark.parametrize("fn,kwargs,bound,std", [
    (init.uniform_, {"a": -2.0, "b": 3.0}, (-2.0, 3.0), 5 / math.sqrt(12)),
    (init.normal_, {"mean": 1.0, "std": 0.5}, None, 0.5),
    (init.xavier_uniform_, {"gain": 2.0}, (-2 * math.sqrt(6 / 500), 2 * math.sqrt(6 / 500)),
     2 * math.sqrt(2 / 500)),
    (init.xavier_normal_, {}, None, math.sqrt(2 / 500)),
    (init.kaiming_uniform_, {"nonlinearity": "relu"}, (-math.sqrt(6 / 200), math.sqrt(6 / 200)),
     math.sqrt(2 / 200)),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, None, math.sqrt(2 / 300)),
    (init.trunc_normal_, {"std": 1.0, "a": -1.0, "b": 1.5}, (-1.0, 1.5), None),
])
def test_random_inits_have_the_right_distribution(fn, kwargs, bound, std):
    gpugrad.manual_seed(0)
    w = gpugrad.nn.Parameter(gpugrad.empty(300, 200))
    version = w._version
    assert fn(w, **kwargs) is w
    assert w._version > version and w.requires_grad and w.grad_fn is None
    lo, hi, mean, sd = _stats(w)
    if bound is not None:
        assert bound[0] <= lo and hi <= bound[1]
        assert lo < bound[0] + 0.01 * (bound[1] - bound[0])
    if std is not None:
        assert sd == pytest.approx(std, rel=0.02)
    if fn is init.normal_:
        assert mean == pytest.approx(kwargs["mean"], abs=0.01)


def test_constant_inits():
    w = gpugrad.empty(3, 4, dtype=gpugrad.float64)
    assert init.constant_(w, 2.5).numpy().tolist() == [[2.5] * 4] * 3
    assert init.ones_(w).sum().item() == 12
    assert init.zeros_(w).sum().item() == 0
    np.testing.assert_array_equal(init.eye_(w).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(gpugrad.empty(2, 2, 2))


@pytest.mark.parametrize("name,kwargs", [
    ("uniform_", {}), ("normal_", {}), ("trunc_normal_", {}), ("xavier_uniform_", {}),
    ("xavier_normal_", {}), ("kaiming_uniform_", {"a": 0.1}), ("kaiming_normal_", {}),
])
def test_init_functions_draw_from_their_generator(name, kwargs):
    fn = getattr(gpugrad.nn.init, name)

    def init(seed):
        g = gpugrad.Generator().manual_seed(seed)
        return fn(gpugrad.empty(4, 5), **kwargs, generator=g).tolist()

    gpugrad.manual_seed(0)
    expected = gpugrad.rand(2).tolist()
    gpugrad.manual_seed(0)
    first = init(3)
    assert gpugrad.rand(2).tolist() == expected  # the default stream was not drawn from
    assert first == init(3) and first != init(4)
    with pytest.raises(TypeError, match="argument 'generator' must be torch.Generator"):
        fn(gpugrad.empty(4, 5), **kwargs, generator=1)
