"""``gpugrad.Generator`` and ``gpugrad.random``: seeds, state, devices, as torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad._device import device
from gpugrad.backend.numpy_backend import NumpyBackend


def test_a_new_generator_starts_from_torch_seed_and_reseeds():
    g, t = gpugrad.Generator(), torch.Generator()
    assert g.initial_seed() == t.initial_seed() == 67280421310721
    assert g.device == gpugrad.device("cpu") and str(g.device) == str(t.device)
    assert gpugrad.Generator(device=gpugrad.device("cpu")).device.type == "cpu"
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    for seed in (-1, 2**64 - 1, 0):
        assert g.manual_seed(seed).initial_seed() == t.manual_seed(seed).initial_seed()
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s and 0 <= s < 2**64


@pytest.mark.parametrize("seed,exc,match", [
    (2**64, ValueError, "Overflow when unpacking long"),
    (-(2**63) - 1, ValueError, "Overflow when unpacking long"),
    (1.5, RuntimeError, "manual_seed expected a long, but got float"),
    ("3", RuntimeError, "manual_seed expected a long, but got str"),
])
def test_bad_seeds_raise_like_torch(seed, exc, match):
    for make in (gpugrad.Generator, torch.Generator):
        with pytest.raises(exc, match=match):
            make().manual_seed(seed)


def test_the_same_seed_gives_the_same_stream_and_other_generators_stay_apart():
    a, b = gpugrad.Generator().manual_seed(3), gpugrad.Generator().manual_seed(3)
    assert gpugrad.rand(5, generator=a).tolist() == gpugrad.rand(5, generator=b).tolist()
    gpugrad.manual_seed(0)
    plain = [gpugrad.rand(3).tolist(), gpugrad.rand(3).tolist()]
    gpugrad.manual_seed(0)
    first = gpugrad.rand(3).tolist()
    gpugrad.randn(100, generator=a)  # draws from a, not from the default stream
    assert [first, gpugrad.rand(3).tolist()] == plain


def test_state_round_trips():
    g = gpugrad.Generator().manual_seed(1)
    gpugrad.randn(3, generator=g)
    state = g.get_state()
    assert state.dtype == gpugrad.uint8 and state.ndim == 1 and state.device.type == "cpu"
    values = gpugrad.randn(7, generator=g).tolist()
    assert g.set_state(state) is g
    assert gpugrad.randn(7, generator=g).tolist() == values
    gpugrad.manual_seed(4)
    saved = gpugrad.get_rng_state()
    values = gpugrad.rand(4).tolist()
    gpugrad.set_rng_state(saved)
    assert gpugrad.rand(4).tolist() == values
    assert gpugrad.default_generator.get_state().tolist() == gpugrad.get_rng_state().tolist()


@pytest.mark.parametrize("state,exc,match", [
    ("list", TypeError, "expected a torch.ByteTensor, but got list"),
    ("zeros_f32", TypeError, "RNG state must be a torch.ByteTensor"),
    ("zeros_u8", RuntimeError, "(?i)state of size .* but found the input RNG state size to be 3"),
])
def test_bad_states_raise_like_torch(state, exc, match):
    for m in (gpugrad, torch):
        value = {"list": [1], "zeros_f32": m.zeros(3),
                 "zeros_u8": m.zeros(3, dtype=m.uint8)}[state]
        with pytest.raises(exc, match=match):
            m.Generator().set_state(value)


def test_module_level_seeding_matches_torch_api():
    assert isinstance(gpugrad.manual_seed(3), gpugrad.Generator)
    assert gpugrad.initial_seed() == 3 == gpugrad.default_generator.initial_seed()
    assert gpugrad.manual_seed(-1).initial_seed() == torch.manual_seed(-1).initial_seed()
    s = gpugrad.seed()
    assert gpugrad.initial_seed() == s
    assert gpugrad.random.manual_seed is gpugrad.manual_seed
    gpugrad.default_generator.manual_seed(9)  # seeding the default generator is seeding
    x = gpugrad.rand(3).tolist()
    gpugrad.manual_seed(9)
    assert gpugrad.rand(3).tolist() == x


def test_a_cuda_generator_is_refused_without_cuda():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        gpugrad.Generator(device="cuda")


def test_a_generator_of_another_device_or_type_is_refused():
    other = gpugrad.Generator()
    other._backend = NumpyBackend(np, device("cuda", 0))  # stands in for a CUDA generator
    for draw in (lambda g: gpugrad.rand(2, generator=g),
                 lambda g: gpugrad.zeros(2).normal_(generator=g),
                 lambda g: gpugrad.nn.init.uniform_(gpugrad.zeros(2), generator=g)):
        with pytest.raises(RuntimeError,
                           match="Expected a 'cpu' device type for generator but found 'cuda'"):
            draw(other)
        with pytest.raises(TypeError, match="argument 'generator' must be torch.Generator, not"):
            draw(3)
    with pytest.raises(TypeError, match="normal_\\(\\): argument 'generator' must be torch.Gen"):
        torch.zeros(2).normal_(generator=3)


@pytest.mark.gpu
def test_cuda_generators_follow_their_seed_and_stay_on_their_device():
    g = gpugrad.Generator("cuda").manual_seed(1)
    first = gpugrad.rand(5, device="cuda", generator=g).tolist()
    g.manual_seed(1)
    assert gpugrad.rand(5, device="cuda", generator=g).tolist() == first
    assert gpugrad.zeros(3, device="cuda").normal_(generator=g).device.type == "cuda"
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but"):
        gpugrad.rand(2, generator=g, device="cpu")
    with pytest.raises(NotImplementedError, match="get_state\\(\\) of a CUDA generator"):
        g.get_state()


@pytest.mark.parametrize("enabled", [True, False])
def test_fork_rng_restores_the_cpu_stream_as_torch(enabled):
    def after_block(lib):
        lib.manual_seed(5)
        lib.rand(2)
        try:
            with lib.random.fork_rng(devices=[], enabled=enabled):
                lib.rand(3)
                raise KeyError  # the state comes back on the way out of an error too
        except KeyError:
            pass
        return lib.rand(2)

    def expected(lib):  # the stream as if the block drew nothing (enabled), else moved on
        lib.manual_seed(5)
        lib.rand(2)
        if not enabled:
            lib.rand(3)
        return lib.rand(2)

    for lib in (torch, gpugrad):
        np.testing.assert_array_equal(after_block(lib).numpy(), expected(lib).numpy())


def test_fork_rng_refuses_what_it_cannot_restore():
    with pytest.raises(NotImplementedError, match="pass devices=\\[\\] to fork the CPU"):
        with gpugrad.random.fork_rng(devices=[0]):
            pass
    with pytest.raises(RuntimeError, match="only accelerator is cuda"):
        with gpugrad.random.fork_rng(device_type="mps"):
            pass
    with gpugrad.random.fork_rng():  # no GPU here: the CPU generator only, as PyTorch's
        gpugrad.rand(1)
