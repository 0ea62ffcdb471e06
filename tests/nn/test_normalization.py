"""GroupNorm, InstanceNorm1d/2d/3d, LocalResponseNorm and RMSNorm against PyTorch's: repr,
parameters, outputs, gradients, running statistics in training and their use in eval,
unbatched inputs; argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn._compare import assert_same_run, module_pair

import gpugrad

rng = np.random.default_rng(0)

CASES = [
    ("GroupNorm", (2, 6), {}, (3, 6, 5)),
    ("GroupNorm", (3, 6), {"affine": False, "eps": 0.1}, (2, 6, 2, 2)),
    ("GroupNorm", (1, 4), {"bias": False}, (3, 4)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 5)),  # unbatched
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 4, 2)),
    ("InstanceNorm3d", (2,), {}, (2, 2, 3, 2, 2)),
    ("LocalResponseNorm", (3,), {"alpha": 0.5, "k": 2.0}, (2, 5, 3)),
    ("RMSNorm", ([3, 4],), {}, (2, 3, 4)),
    ("RMSNorm", (4,), {"eps": 1e-3, "elementwise_affine": False}, (2, 4)),
]


@pytest.mark.parametrize("name,args,kw,shape", CASES, ids=[c[0] for c in CASES])
def test_module_matches_torch(name, args, kw, shape):
    ours, theirs = module_pair(name, *args, **kw)
    with torch.no_grad():  # parameters other than the defaults, so they count
        for p in theirs.parameters():
            p.add_(torch.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    ours.load_state_dict({k: gpugrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert_same_run(ours, theirs, [rng.standard_normal(shape)], atol=1e-9)
    for (n, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers(), strict=True):
        np.testing.assert_allclose(b.numpy(), c.numpy(), atol=1e-12, err_msg=n)


def test_instance_norm_running_statistics_train_then_eval():
    ours, theirs = module_pair("InstanceNorm1d", 3, momentum=0.3, track_running_stats=True)
    for _ in range(2):
        assert_same_run(ours, theirs, [rng.standard_normal((4, 3, 6))])
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(),
                                   atol=1e-12)
    ours.eval(), theirs.eval()
    assert_same_run(ours, theirs, [rng.standard_normal((2, 3, 6))])
    unbatched = module_pair("InstanceNorm1d", 3, momentum=None, track_running_stats=True)
    assert_same_run(*unbatched, [rng.standard_normal((3, 6))])


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_module_checks_as_torch(m):
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups"):
        m.nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        m.nn.InstanceNorm1d(3)(m.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="expected input's size at dim=1 to match num_features"):
        m.nn.InstanceNorm1d(3, affine=True)(m.ones(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        m.nn.InstanceNorm1d(3)(m.ones(2, 4, 5))
