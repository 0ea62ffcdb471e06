"""``DistributedDataParallel``: data-parallel training, one process per device."""

from __future__ import annotations

import contextlib
import warnings

from ... import distributed as dist
from ...autograd import is_grad_enabled
from ...tensor import Tensor
from ..modules.module import Module
from ..parameter import UninitializedParameter
from ._reducer import Reducer

__all__ = ["DistributedDataParallel"]

_MB = 1024 * 1024
_FIRST_BUCKET_BYTES = 1 * _MB  # as PyTorch: a small first bucket starts communication early
_DEFAULT_BUCKET_MB = 25

# PyTorch's options this implementation does not have: accepted only at their defaults.
_UNSUPPORTED = {"gradient_as_bucket_view": False, "static_graph": False,
                "delay_all_reduce_named_params": None, "param_to_hook_all_reduce": None,
                "mixed_precision": None, "device_mesh": None,
                "skip_all_reduce_unused_params": False, "bucket_cap_mb_list": None,
                "batched_grad_copy": False}


class DistributedDataParallel(Module):
    """Data parallelism across processes: each process runs ``module`` on its share of the
    batch, and backward leaves every process with the gradients averaged over all of them.

    At construction the parameters and buffers of rank 0 are broadcast to every rank, after a
    check that every rank has the same parameter and buffer names, shapes and dtypes (a clear
    error on every rank otherwise). During backward, gradients are averaged in buckets of about
    ``bucket_cap_mb`` MB, each bucket's all-reduce starting as soon as its last gradient is
    accumulated, so communication overlaps the rest of backward.

    Args:
        module: the module to replicate (its parameters on one device).
        device_ids: None, or for a CUDA module the one device it is on (inputs move there).
        output_device: None or that same device.
        broadcast_buffers / forward_sync_buffers: broadcast rank 0's buffers before each
            synchronized forward (default True).
        init_sync: check and broadcast the model at construction (default True).
        process_group: None (the default group).
        bucket_cap_mb: bucket size in MB (default 25, the first bucket 1 MB).
        find_unused_parameters: find the parameters a forward's output does not reach and count
            them as done, so that backward can finish without their gradients.

    Use ``no_sync()`` to accumulate gradients locally over several backward passes; ``module``
    is the wrapped module and ``state_dict()`` names its entries ``module.<name>``.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True,
                 process_group=None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params: bool = False, bucket_cap_mb_list=None,
                 batched_grad_copy: bool = False, forward_sync_buffers: bool | None = None):
        super().__init__()
        given = {"gradient_as_bucket_view": gradient_as_bucket_view,
                 "static_graph": static_graph,
                 "delay_all_reduce_named_params": delay_all_reduce_named_params,
                 "param_to_hook_all_reduce": param_to_hook_all_reduce,
                 "mixed_precision": mixed_precision, "device_mesh": device_mesh,
                 "skip_all_reduce_unused_params": skip_all_reduce_unused_params,
                 "bucket_cap_mb_list": bucket_cap_mb_list, "batched_grad_copy": batched_grad_copy}
        for name, value in given.items():
            if value != _UNSUPPORTED[name]:
                raise ValueError(f"DistributedDataParallel: {name}={value!r} is not supported "
                                 "by gpugrad (leave it at its default)")
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module is "
                          "deprecated. Please avoid using it.", FutureWarning, stacklevel=2)
        if not isinstance(module, Module):
            raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
        self.process_group = dist._group.resolve(process_group)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        if any(isinstance(p, UninitializedParameter) for _, p in named):
            raise RuntimeError("Modules with uninitialized parameters can't be used with "
                               "`DistributedDataParallel`. Run a dummy forward pass to correctly "
                               "initialize the modules")
        self.device = _single_device(module)
        self.device_ids = _check_device_ids(device_ids, output_device, self.device)
        self.output_device = self.device_ids[0] if self.device_ids else None
        self.dim = dim
        self.module = module
        if forward_sync_buffers is None:
            forward_sync_buffers = True if broadcast_buffers is None else bool(broadcast_buffers)
        self.forward_sync_buffers = forward_sync_buffers
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self._module_buffers = [b for _, b in module.named_buffers()]
        if init_sync:
            _verify_same_model(module, self.process_group)
            for t in [p for _, p in module.named_parameters()] + self._module_buffers:
                dist.broadcast(t.detach(), src=0)
        if bucket_cap_mb is not None and not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        cap = int((bucket_cap_mb or _DEFAULT_BUCKET_MB) * _MB)
        first_cap = _FIRST_BUCKET_BYTES if bucket_cap_mb is None else cap
        self.bucket_bytes_cap = cap
        self.reducer = Reducer(named, self.process_group, first_cap, cap,
                               self.find_unused_parameters)

    @property
    def broadcast_buffers(self) -> bool:
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value: bool) -> None:
        self.forward_sync_buffers = value

    def forward(self, *inputs, **kwargs):
        grad_enabled = is_grad_enabled()
        if grad_enabled:
            self.reducer.check_finished()
        sync = grad_enabled and self.require_backward_grad_sync
        if sync and self.forward_sync_buffers:
            for buffer in self._module_buffers:
                dist.broadcast(buffer.detach(), src=0)
        if self.device_ids:
            inputs, kwargs = _to_device((inputs, kwargs), self.device)
        output = self.module(*inputs, **kwargs)
        if sync:
            self.reducer.prepare(_tensors_in(output) if self.find_unused_parameters else None)
        else:
            self.reducer.disarm()
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Within this context, backward only accumulates gradients locally; the first
        synchronized backward after it averages the accumulated sums."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous


def _single_device(module: Module):
    devices = {p.device for p in module.parameters()} | {b.device for b in module.buffers()}
    if len(devices) != 1:
        raise ValueError("DistributedDataParallel needs the module's parameters and buffers on "
                         f"one device, found {sorted(map(str, devices))}")
    return devices.pop()


def _check_device_ids(device_ids, output_device, device):
    if device.type == "cpu":
        if device_ids is not None or output_device is not None:
            raise ValueError("DistributedDataParallel device_ids and output_device arguments "
                             "only work with single-device GPU modules, but got device_ids "
                             f"{device_ids}, output_device {output_device}, and module "
                             "parameters on cpu.")
        return None
    if device_ids is None:
        return None
    index = device.index or 0
    ids = [d if isinstance(d, int) else getattr(d, "index", d) for d in device_ids]
    out = output_device if output_device is None or isinstance(output_device, int) \
        else getattr(output_device, "index", output_device)
    if ids != [index] or out not in (None, index):
        raise ValueError(f"device_ids must be [{index}] (the module's device, one per process), "
                         f"got {device_ids} (output_device {output_device})")
    return ids


def _verify_same_model(module: Module, group) -> None:
    """Every rank compares every rank's parameter and buffer names, shapes and dtypes, so a
    mismatch raises the same error everywhere instead of leaving collectives waiting."""
    mine = [("parameter", n, tuple(t.shape), str(t.dtype)) for n, t in module.named_parameters()]
    mine += [("buffer", n, tuple(t.shape), str(t.dtype)) for n, t in module.named_buffers()]
    everyone = [None] * group.size()
    dist.all_gather_object(everyone, mine)
    reference = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        if theirs == reference:
            continue
        if len(theirs) != len(reference):
            raise RuntimeError(
                f"DistributedDataParallel expects the same model on every rank, but rank {rank} "
                f"has {len(theirs)} parameters and buffers where rank 0 has {len(reference)}")
        for a, b in zip(reference, theirs):
            if a != b:
                raise RuntimeError(
                    "DistributedDataParallel expects the same model on every rank, but rank 0 "
                    f"has {a[0]} '{a[1]}' of shape {list(a[2])} and dtype {a[3]} where rank "
                    f"{rank} has {b[0]} '{b[1]}' of shape {list(b[2])} and dtype {b[3]}")


def _tensors_in(value) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors_in(item)]
    return []


def _to_device(value, device):
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        moved = [_to_device(v, device) for v in value]
        return type(value)(moved) if not hasattr(value, "_fields") else type(value)(*moved)
    return value
