"""``SyncBatchNorm``: batch normalization whose statistics span every process of a group, on
``gpugrad.distributed``; a plain ``BatchNorm`` when not training, when no process group is
initialized or when the group has one process (as PyTorch's)."""

from __future__ import annotations

from ... import distributed as dist
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .batchnorm import _BatchNorm
from .normalization import _InstanceNorm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over the whole batch of every process in ``process_group``.

    Inputs are (N, C, *); during training each process normalizes its part of the batch with
    the mean and variance of the union of all processes' parts, and the running statistics
    (the same on every process) follow the global ones. Wrap the model in
    ``DistributedDataParallel`` to average the parameters' gradients. Build one from an existing
    model with ``SyncBatchNorm.convert_sync_batchnorm(model)``.

    Args: as ``BatchNorm1d``, plus ``process_group`` (None: the default group).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input: Tensor) -> None:
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def _sync_group(self):
        """The group to synchronize over, or None when there is nothing to synchronize."""
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return None
        group = self.process_group or dist.group.WORLD
        return group if dist.get_world_size(group) > 1 else None

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        group = self._sync_group()
        if group is None:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        keep = self.track_running_stats
        return SyncBatchNormFunction.apply(input, self.weight, self.bias,
                                           self.running_mean if keep else None,
                                           self.running_var if keep else None, self.eps,
                                           factor, group, dist.get_world_size(group))

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every ``BatchNorm*d`` in it replaced by a ``SyncBatchNorm`` that
        shares its parameters and buffers (a batch norm ``module`` itself is replaced and the
        new one returned)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group, bias=module.bias is not None)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


class SyncBatchNormFunction(Function):
    """Batch norm with statistics gathered from every process of ``group``.

    Forward: each process sends (mean, sum of squared deviations, count) of each channel of its
    part (one all-gather) and every process merges them as parallel Welford does. Backward:
    the per-channel sums of ``dy`` and ``dy * (x - mean)`` are summed over the processes (one
    all-reduce) for the input's gradient; the weight's and bias's gradients stay local (their
    sum over processes is the whole batch's, which ``DistributedDataParallel`` averages)::

        dx = (dy - sum(dy) / n - (x - mean) / (var + eps) * sum(dy * (x - mean)) / n)
             * weight / sqrt(var + eps)
    """

    node_name = "SyncBatchNormBackward"
    _next_inputs = (0, 1, 2)

    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum, group,
                world_size):
        backend = input._backend
        xp = backend.xp
        x = input._data
        C = x.shape[1]
        axes = (0, *range(2, x.ndim))
        shape = (1, C) + (1,) * (x.ndim - 2)
        count = x.size // C
        if count:
            mean = x.mean(axis=axes)
            m2 = ((x - mean.reshape(shape)) ** 2).sum(axis=axes)
        else:
            mean = m2 = xp.zeros(C, x.dtype)
        mine = xp.concatenate([mean, m2, xp.asarray([count], dtype=x.dtype)])
        gathered = input._new(xp.empty((world_size, 2 * C + 1), dtype=x.dtype))
        dist.all_gather_into_tensor(gathered, input._new(mine), group=group)
        means, m2s, counts = (gathered._data[:, :C], gathered._data[:, C:2 * C],
                              gathered._data[:, 2 * C:])
        total = float(counts.sum())
        global_mean = (counts * means).sum(axis=0) / total
        global_m2 = (m2s + counts * (means - global_mean) ** 2).sum(axis=0)
        invstd = 1 / xp.sqrt(global_m2 / total + eps)
        if running_mean is not None:
            running_mean._write_(running_mean._data * (1 - momentum) + global_mean * momentum)
            running_var._write_(running_var._data * (1 - momentum)
                                + global_m2 / (total - 1) * momentum)
        xhat = (x - global_mean.reshape(shape)) * invstd.reshape(shape)
        y = xhat
        if weight is not None:
            y = y * weight._data.reshape(shape)
        if bias is not None:
            y = y + bias._data.reshape(shape)
        ctx.save_for_backward(input, weight)
        ctx.stats = (global_mean, invstd, total, shape, axes)
        ctx.group, ctx.has_bias = group, bias is not None
        return input._new(y.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        mean, invstd, total, shape, axes = ctx.stats
        xp = input._backend.xp
        x, dy = input._data, grad_output._data
        xmu = x - mean.reshape(shape)
        sum_dy = dy.sum(axis=axes)
        sum_dy_xmu = (dy * xmu).sum(axis=axes)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            summed = input._new(xp.concatenate([sum_dy, sum_dy_xmu]))
            dist.all_reduce(summed, group=ctx.group)
            C = sum_dy.shape[0]
            mean_dy = (summed._data[:C] / total).reshape(shape)
            mean_dy_xmu = (summed._data[C:] / total).reshape(shape)
            scale = invstd if weight is None else invstd * weight._data
            gx = (dy - mean_dy - xmu * (invstd ** 2).reshape(shape) * mean_dy_xmu) \
                * scale.reshape(shape)
            grad_input = input._new(gx.astype(x.dtype, copy=False))
        if weight is not None and ctx.needs_input_grad[1]:
            grad_weight = input._new(sum_dy_xmu * invstd)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = input._new(sum_dy)
        return grad_input, grad_weight, grad_bias, *(None,) * 6

