"""Gradient averaging for ``DistributedDataParallel``: buckets all-reduced while backward runs.

Parameters are packed, in reverse order (the order backward tends to finish their gradients),
into buckets of about ``bucket_cap_mb`` (the first one small, so communication starts early).
A post-accumulate-grad hook on each parameter copies its gradient into its bucket's flat buffer;
when a bucket's last gradient is in, its all-reduce starts (asynchronously), in bucket order on
every rank so that all ranks issue the same collectives in the same order. When the last bucket
has started, the reducer waits for all of them, divides by the world size and copies the
averages back into each ``.grad`` in place.

Each iteration: ``prepare()`` after a forward that will be synchronized (with
``find_unused_parameters``, parameters the output cannot reach count as ready at once, with a
zero gradient unless they have one), hooks during backward, the finish in the last hook.
"""

from __future__ import annotations

from ...autograd import leaf_hooks
from ...distributed import ReduceOp, all_reduce

_FINISHED_ERROR = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `gpugrad.nn.parallel.DistributedDataParallel`, and by "
    "making sure all `forward` function outputs participate in calculating loss. Parameters "
    "that did not receive a gradient on rank {rank}: {names}"
)
_TWICE_ERROR = (
    "Expected to mark a variable ready only once: parameter '{name}' received its gradient "
    "twice in one iteration (a second backward through the same forward, or a parameter used "
    "outside the DistributedDataParallel module's forward)"
)


class _Bucket:
    __slots__ = ("params", "offsets", "flat", "pending", "work")

    def __init__(self, params, xp, dtype):
        self.params = params  # [(index, parameter)]
        self.offsets, total = [], 0
        for _, p in params:
            self.offsets.append(total)
            total += p._data.size
        self.flat = xp.zeros(total, dtype)
        self.pending, self.work = len(params), None


def assign_buckets(params, first_cap: int, cap: int) -> list[list[int]]:
    """Indices of ``params`` per bucket: reverse order, one dtype per bucket, a bucket closed
    once it holds ``first_cap`` bytes (the first) or ``cap`` bytes (the others)."""
    buckets, open_ = [], {}  # dtype -> [indices, bytes]
    for i in reversed(range(len(params))):
        arr = params[i]._data
        current = open_.setdefault(arr.dtype, [[], 0])
        current[0].append(i)
        current[1] += arr.nbytes
        if current[1] >= (first_cap if not buckets else cap):
            buckets.append(current[0])
            del open_[arr.dtype]
    buckets.extend(indices for indices, _ in open_.values())
    return buckets


class Reducer:
    """The bucketed all-reduce of one ``DistributedDataParallel`` (see the module docstring)."""

    IDLE, ARMED, DONE = "idle", "armed", "done"

    def __init__(self, named_params, group, first_cap: int, cap: int, find_unused: bool):
        self.names = [name for name, _ in named_params]
        self.params = [p for _, p in named_params]
        self.group, self.find_unused = group, find_unused
        self.world = group.size()
        xp = self.params[0]._backend.xp
        self.buckets, self._slot = [], {}  # id(param) -> (bucket, position in the bucket)
        for indices in assign_buckets(self.params, first_cap, cap):
            bucket = _Bucket([(i, self.params[i]) for i in indices], xp,
                             self.params[indices[0]]._data.dtype)
            for position, i in enumerate(indices):
                self._slot[id(self.params[i])] = (bucket, position)
            self.buckets.append(bucket)
        self.state = self.IDLE
        self._marked = [False] * len(self.params)
        self._used = self.params[0]._new(xp.zeros(len(self.params), xp.int32))
        self._next = 0
        for p in self.params:
            p.register_post_accumulate_grad_hook(self._on_grad_ready)

    # ------------------------------------------------------------------ each iteration
    def check_finished(self) -> None:
        """Raise if the last synchronized backward left gradients unreduced."""
        if self.state == self.ARMED:
            missing = [n for n, marked in zip(self.names, self._marked) if not marked]
            self.state = self.IDLE
            raise RuntimeError(_FINISHED_ERROR.format(rank=self.group.rank(),
                                                      names=", ".join(missing)))

    def prepare(self, outputs) -> None:
        """Arm the hooks for the next backward (``outputs``: the forward's tensors, to find the
        unused parameters, or None)."""
        for bucket in self.buckets:
            bucket.pending, bucket.work = len(bucket.params), None
        self._marked = [False] * len(self.params)
        self._used._data[...] = 0
        self._next = 0
        self.state = self.ARMED
        if outputs is not None:
            reached = leaf_hooks.reachable_leaves(outputs)
            for i, p in enumerate(self.params):
                if id(p) not in reached:
                    self._mark(i, p, used=False)

    def disarm(self) -> None:
        self.state = self.IDLE

    # ------------------------------------------------------------------ during backward
    def _on_grad_ready(self, param) -> None:
        if self.state == self.IDLE:
            return
        bucket, position = self._slot[id(param)]
        index = bucket.params[position][0]
        if self.state == self.DONE or self._marked[index]:
            raise RuntimeError(_TWICE_ERROR.format(name=self.names[index]))
        self._mark(index, param, used=True)

    def _mark(self, index: int, param, used: bool) -> None:
        bucket, position = self._slot[id(param)]
        start = bucket.offsets[position]
        piece = bucket.flat[start:start + param._data.size]
        grad = param.grad
        if grad is None:
            piece[...] = 0
        else:
            piece[...] = grad._data.reshape(-1)
        self._marked[index] = True
        if used:
            self._used._data[index] = 1
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch_ready()

    def _launch_ready(self) -> None:
        buckets = self.buckets
        while self._next < len(buckets) and buckets[self._next].pending == 0:
            bucket = buckets[self._next]
            bucket.work = all_reduce(self.params[0]._new(bucket.flat),
                                     ReduceOp.SUM, async_op=True)
            self._next += 1
        if self._next == len(buckets):
            self._finish()

    def _finish(self) -> None:
        """Wait for every bucket, average, and write the averages into the gradients."""
        if self.find_unused:  # a parameter unused on every rank keeps its gradient
            all_reduce(self._used, ReduceOp.MAX, async_op=True).wait()  # after the buckets
        used = self._used._data.tolist() if self.find_unused else None
        for bucket in self.buckets:
            bucket.work.wait()
            flat = bucket.flat
            flat /= self.world
            for (index, p), start in zip(bucket.params, bucket.offsets):
                if used is not None and not used[index]:
                    continue
                average = flat[start:start + p._data.size].reshape(p._data.shape)
                grad = p.grad
                if grad is None or not getattr(grad._data.flags, "writeable", True):
                    p.grad = p._new(average.copy())
                else:
                    grad._write_(average)
            bucket.work = None
        self.state = self.DONE
