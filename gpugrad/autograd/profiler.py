"""``torch.autograd.profiler``: the older profiler API, on ``gpugrad.profiler``'s recorder.

``profile(use_cuda=True)`` records the same host times as on the CPU (no device times: see
``gpugrad.profiler``); ``emit_nvtx`` emits nothing (a context that does nothing).
"""

from __future__ import annotations

import contextlib

from ..profiler import EventList, FunctionEvent, FunctionEventAvg, ProfilerActivity, record_function
from ..profiler import profile as _profile

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "emit_nvtx", "profile",
           "record_function"]


class profile:
    """Record every op, backward node and ``record_function`` range run inside the ``with``
    block (nothing when ``enabled`` is False). Read the results after the block:
    ``key_averages()``, ``table()``, ``function_events``, ``export_chrome_trace()``.
    ``profile_memory``, ``with_stack``, ``with_flops`` and ``with_modules`` are not supported."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None):
        self.enabled = enabled
        activities = [ProfilerActivity.CPU]
        if use_cuda or use_device == "cuda":
            activities.append(ProfilerActivity.CUDA)
        self._profile = _profile(activities=activities, record_shapes=record_shapes,
                                 profile_memory=profile_memory, with_stack=with_stack,
                                 with_flops=with_flops, with_modules=with_modules)
        self._done = False

    def __enter__(self):
        if self.enabled:
            self._profile.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._profile.stop()
        self._done = True

    def _events(self) -> EventList:
        if not self._done:
            raise RuntimeError("Profiler didn't finish running")
        return self._profile.events()

    @property
    def function_events(self) -> EventList:
        return self._events()

    def events(self) -> EventList:
        return self._events()

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        self._events()
        return self._profile.key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_name_column_width: int = 55, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        return self._events().table(sort_by, row_limit, max_name_column_width, header,
                                    top_level_events_only)

    def total_average(self) -> FunctionEventAvg:
        return self._events().total_average()

    @property
    def self_cpu_time_total(self) -> float:
        return self.total_average().self_cpu_time_total

    def export_chrome_trace(self, path: str) -> None:
        self._events().export_chrome_trace(path)

    def __str__(self) -> str:
        return self.table()


@contextlib.contextmanager
def emit_nvtx(enabled: bool = True, record_shapes: bool = False):
    """Accepted for compatibility; gpugrad emits no NVTX ranges, so this does nothing (an
    Nsight timeline shows gpugrad's kernels without op ranges)."""
    yield
