"""``SyncBatchNorm`` in one process against PyTorch's (which, like it, is plain batch norm
without an initialized process group): reprs, signature, values, gradients and running
statistics in float64 and float32, eval mode, errors; ``convert_sync_batchnorm``. The
synchronized path runs on MPI ranks in tests/distributed/test_sync_batchnorm.py."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from nn._compare import assert_same_run

import gpugrad
from gpugrad import nn

SHAPES = [(6, 3), (4, 3, 5), (2, 3, 4, 4), (2, 3, 2, 3, 2)]
OPTIONS = [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False},
           {"bias": False, "eps": 1e-3}]


def pair(dtype, **kw):
    theirs = torch.nn.SyncBatchNorm(3, **kw).to(getattr(torch, dtype))
    ours = nn.SyncBatchNorm(3, **kw).to(getattr(gpugrad, dtype))
    assert repr(ours) == repr(theirs)
    with torch.no_grad():  # parameters away from their initial ones and 1 / 0
        for p in theirs.parameters():
            p.copy_(torch.linspace(0.5, 1.5, 3))
    ours.load_state_dict({k: gpugrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "default")
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{len(s)}d" for s in SHAPES])
def test_without_process_group_matches_torch(shape, options, dtype):
    ours, theirs = pair(dtype, **options)
    rng = np.random.default_rng(len(shape))
    atol = 1e-10 if dtype == "float64" else 2e-5
    for _ in range(2):
        x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
        ours.zero_grad()
        theirs.zero_grad()
        assert_same_run(ours, theirs, [x], atol=atol)
        for b, c in zip(ours.buffers(), theirs.buffers(), strict=True):
            np.testing.assert_allclose(b.numpy(), c.numpy(), atol=atol)
    ours.eval()
    theirs.eval()
    assert_same_run(ours, theirs, [rng.standard_normal(shape).astype(dtype)], atol=atol)


def test_signature_and_errors_as_torch():
    assert [(p.name, p.kind, p.default) for p in
            inspect.signature(nn.SyncBatchNorm).parameters.values()] == \
        [(p.name, p.kind, p.default) for p in
         inspect.signature(torch.nn.SyncBatchNorm).parameters.values()]
    for shape, message in (((3,), r"expected at least 2D input \(got 1D input\)"),
                           ((3, 0), "SyncBatchNorm number of input channels should be "
                                    "non-zero")):
        for m in (gpugrad, torch):
            with pytest.raises(ValueError, match=message):
                m.nn.SyncBatchNorm(3)(m.zeros(shape))


def test_convert_sync_batchnorm_as_torch():
    def model(m):
        return m.nn.Sequential(m.nn.Conv2d(2, 3, 1), m.nn.BatchNorm2d(3, momentum=0.3),
                               m.nn.Sequential(m.nn.BatchNorm1d(3, affine=False)),
                               m.nn.InstanceNorm2d(3), m.nn.LayerNorm(3))

    ours, theirs = model(gpugrad), model(torch)
    ours[1].eval()
    theirs[1].eval()
    before = ours[1]
    ours = nn.SyncBatchNorm.convert_sync_batchnorm(ours)
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs)
    assert repr(ours) == repr(theirs)
    assert ours[1].weight is before.weight and ours[1].running_mean is before.running_mean
    assert not ours[1].training and ours[2][0].training
    assert type(ours[3]) is nn.InstanceNorm2d
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(4), process_group="g")
    assert type(single) is nn.SyncBatchNorm and single.process_group == "g"
