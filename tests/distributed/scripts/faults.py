"""Jobs that must fail fast, on every rank: ``python faults.py MODE`` under ``mpiexec -n 2``.

- ``raise``: rank 1 raises in the middle of a DistributedDataParallel step while rank 0 goes on
  into backward (and waits there for rank 1's gradients).
- ``timeout``: rank 1 never joins an all_reduce; the group's 2-second timeout ends the job.
"""

from __future__ import annotations

import datetime
import sys
import time

import gpugrad
import gpugrad.distributed as dist
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.nn.parallel import DistributedDataParallel as DDP

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=2))
rank = dist.get_rank()

if mode == "raise":
    gpugrad.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
    opt = gpugrad.optim.SGD(model.parameters(), lr=0.1)
    for step in range(5):
        x, y = gpugrad.randn(16, 4), gpugrad.randn(16, 1)
        out = model(x)
        if step == 2 and rank == 1:
            raise ValueError("boom on rank 1 at step 2")
        opt.zero_grad()
        F.mse_loss(out, y).backward()
        opt.step()
        print(f"rank {rank} finished step {step}", flush=True)
elif mode == "timeout":
    if rank == 1:
        time.sleep(60)  # never reaches the collective
    dist.all_reduce(gpugrad.ones(3))
print(f"rank {rank} ended normally", flush=True)
