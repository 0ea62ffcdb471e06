"""The workloads, in the order a run takes them; each module defines ``WORKLOAD``."""

from __future__ import annotations

from . import (
    bilstm_crf,
    cnn,
    cnn_layers,
    compile,
    cross_entropy,
    elementwise,
    host_overhead,
    linalg,
    lm_head,
    losses,
    mlp,
    optimizer,
    reductions,
    sparse,
)

ALL = [w.WORKLOAD for w in (host_overhead, elementwise, reductions, cross_entropy, lm_head,
                            losses, mlp, cnn, cnn_layers, optimizer, bilstm_crf, compile, linalg,
                            sparse)]
BY_NAME = {w.name: w for w in ALL}
