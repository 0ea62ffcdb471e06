"""``nn.utils.rnn`` against PyTorch: packing and unpacking (values, gradients, sorted and
unsorted batches, batch_first, total_length, padding values), pad_sequence on either side,
the round trips, PackedSequence's conversions, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as trnn

import gpugrad
from gpugrad.nn.utils import rnn

CASES = [  # lengths, enforce_sorted, batch_first
    ([5, 3, 3], True, False),
    ([3, 5, 3], False, False),  # ties keep their order
    ([2, 5, 4, 1], False, True),
    ([4], True, True),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lengths,enforce_sorted,batch_first", CASES)
def test_pack_then_pad_matches_torch(lengths, enforce_sorted, batch_first, dtype):
    rng = np.random.default_rng(len(lengths))
    shape = (len(lengths), 5, 2) if batch_first else (5, len(lengths), 2)
    a = rng.standard_normal(shape).astype(dtype)
    tx, gx = torch.tensor(a, requires_grad=True), gpugrad.tensor(a, requires_grad=True)
    tp = trnn.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    gp = rnn.pack_padded_sequence(gx, gpugrad.tensor(lengths), batch_first, enforce_sorted)
    assert isinstance(gp, tuple) and gp._fields == tp._fields
    np.testing.assert_array_equal(gp.data.detach().numpy(), tp.data.detach().numpy())
    assert gp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert gp.batch_sizes.dtype == gpugrad.int64 and gp.batch_sizes.device.type == "cpu"
    for ours, theirs in ((gp.sorted_indices, tp.sorted_indices),
                         (gp.unsorted_indices, tp.unsorted_indices)):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.tolist() == theirs.tolist()
    to, tl = trnn.pad_packed_sequence(tp, batch_first, padding_value=-1.5, total_length=7)
    go, gl = rnn.pad_packed_sequence(gp, batch_first, padding_value=-1.5, total_length=7)
    np.testing.assert_array_equal(go.detach().numpy(), to.detach().numpy())
    assert gl.tolist() == tl.tolist() and gl.dtype == gpugrad.int64
    up = rng.standard_normal(tuple(to.shape)).astype(dtype)
    (to * torch.tensor(up)).sum().backward()
    (go * gpugrad.tensor(up)).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_pack_and_pad_gradcheck():
    x = gpugrad.randn(4, 3, 2, dtype=gpugrad.float64, requires_grad=True)

    def round_trip(x):
        packed = rnn.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        return rnn.pad_packed_sequence(packed, padding_value=0.5)[0]
    assert gpugrad.autograd.gradcheck(round_trip, (x,))
    assert gpugrad.autograd.gradgradcheck(round_trip, (x,))


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_matches_torch(side, batch_first):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 5, 1)]
    theirs = trnn.pad_sequence([torch.tensor(a) for a in arrays], batch_first, 9.0, side)
    ours = rnn.pad_sequence([gpugrad.tensor(a) for a in arrays], batch_first, 9.0, side)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_round_trips_and_conversions():
    seqs = [gpugrad.arange(n * 2, dtype=gpugrad.float32).reshape(n, 2) for n in (3, 1, 4)]
    packed = rnn.pack_sequence(seqs, enforce_sorted=False)
    for back, seq in zip(rnn.unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(back.numpy(), seq.numpy())
    padded = rnn.pad_sequence(seqs)
    for back, seq in zip(rnn.unpad_sequence(padded, gpugrad.tensor([3, 1, 4])), seqs):
        np.testing.assert_array_equal(back.numpy(), seq.numpy())
    assert packed.double().data.dtype == gpugrad.float64
    assert packed.to(gpugrad.float64).sorted_indices is packed.sorted_indices
    assert packed.to("cpu") is packed and not packed.is_cuda
    inverse = rnn.invert_permutation(gpugrad.tensor([2, 0, 1]))
    assert inverse.tolist() == trnn.invert_permutation(torch.tensor([2, 0, 1])).tolist()


def test_errors_match_torch():
    x = gpugrad.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn.pack_padded_sequence(x, [2, 4, 2])
    with pytest.raises(RuntimeError, match="greater than 0"):
        rnn.pack_padded_sequence(x, [4, 2, 0])
    with pytest.raises(RuntimeError, match="equal to batch_size"):
        rnn.pack_padded_sequence(x, [4, 2])
    with pytest.raises(RuntimeError, match="longer than the input's 4 time steps"):
        rnn.pack_padded_sequence(x, [5, 2, 2])
    with pytest.raises(ValueError, match="total_length"):
        rnn.pad_packed_sequence(rnn.pack_padded_sequence(x, [4, 2, 2]), total_length=3)
    for m in (gpugrad, torch):  # an unknown side is a RuntimeError, not a str a TypeError
        with pytest.raises(RuntimeError, match="padding_side to be one of left or right, but "
                                               "got middle"):
            m.nn.utils.rnn.pad_sequence([m.zeros(4, 3)], padding_side="middle")
        with pytest.raises(TypeError, match="'padding_side'.* must be str, not int"):
            m.nn.utils.rnn.pad_sequence([m.zeros(4, 3)], padding_side=1)


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_takes_the_first_sequences_dtype(side):
    for first, second in (([1.5], [1, 2]), ([1], [1.5, 2]), ([True], [2, 3])):
        want = trnn.pad_sequence([torch.tensor(first), torch.tensor(second)], True, 0.5, side)
        got = rnn.pad_sequence([gpugrad.tensor(first), gpugrad.tensor(second)], True, 0.5, side)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        assert got.tolist() == want.tolist()


@pytest.mark.parametrize("lengths", [[4.7, 2.2], "tensor float", "tensor bool"], ids=str)
def test_pack_padded_sequence_takes_float_and_bool_lengths_as_torch(lengths):
    sizes = []
    for lib in (torch, gpugrad):
        lens = (lib.tensor([4.7, 2.2]) if lengths == "tensor float" else
                lib.tensor([True, True]) if lengths == "tensor bool" else lengths)
        packed = lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(2, 4, 3), lens, batch_first=True)
        sizes.append(packed.batch_sizes.tolist())
    assert sizes[1] == sizes[0]


@pytest.mark.parametrize("shapes", [[(3, 2), (2, 3)], [(3, 2), (2, 1)], [(3, 1), (2, 3)],
                                    [(3, 2, 4), (2, 2, 5)], [(3, 2), (2, 2, 1)]])
def test_pad_sequence_of_other_trailing_shapes_as_torch(shapes):
    """Each sequence is copied into the first's trailing shape, as PyTorch's: broadcast where
    it can be, else copy's error; gradients reach the broadcast one."""
    seen = []
    for L in (torch, gpugrad):
        seqs = [L.ones(s, requires_grad=True) for s in shapes]
        try:
            out = L.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
            (out * L.arange(out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
            seen.append((list(out.shape), [s.grad.tolist() for s in seqs]))
        except RuntimeError as err:
            seen.append(str(err))
    assert seen[1] == seen[0]
