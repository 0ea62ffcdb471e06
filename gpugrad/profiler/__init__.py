"""``torch.profiler``: time the ops, backward nodes and labelled ranges of a program.

::

    with gpugrad.profiler.profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                                  schedule=gpugrad.profiler.schedule(wait=1, warmup=1, active=2),
                                  on_trace_ready=handler) as prof:
        for step in range(8):
            with gpugrad.profiler.record_function("model_inference"):
                loss = model(x)
            loss.backward()
            prof.step()
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

Times are host times. With ``ProfilerActivity.CUDA`` nothing is recorded on the device: an op's
CPU time on CUDA tensors is the time to launch its kernels (plus any synchronization the op
makes), and the CUDA columns are left out. How ops get recorded at no cost to programs that do
not profile: ``_record.py``.
"""

from __future__ import annotations

import contextlib
import enum
import os
import warnings

from . import _record
from ._events import EventList, FunctionEvent, FunctionEventAvg

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerAction",
           "ProfilerActivity", "profile", "record_function", "schedule",
           "supported_activities", "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 2


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    from .. import cuda

    return {ProfilerActivity.CPU, ProfilerActivity.CUDA} if cuda.is_available() else {
        ProfilerActivity.CPU}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """The profiler's step -> action function: skip ``skip_first`` steps, then cycles of
    ``wait`` steps idle, ``warmup`` steps warming up and ``active`` steps recorded (the last of
    them saves the trace: ``on_trace_ready``), ``repeat`` times (0: until the profile ends).
    ``skip_first_wait`` skips the first cycle's wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)
    cycle = wait + warmup + active

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        phase = step % cycle
        if phase < wait:
            return ProfilerAction.NONE
        if phase < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if phase < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False):
    """An ``on_trace_ready`` that writes each trace to ``dir_name`` as
    ``<worker_name>.<time_ns>.pt.trace.json`` (``worker_name``: ``<hostname>_<pid>``)."""
    if use_gzip:
        raise NotImplementedError("tensorboard_trace_handler(use_gzip=True) is not supported: "
                                  "gpugrad writes plain JSON traces")
    import socket
    import time

    def handler_fn(prof) -> None:
        try:
            os.makedirs(dir_name, exist_ok=True)
        except OSError as e:
            raise RuntimeError("Can't create directory: " + dir_name) from e
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        prof.export_chrome_trace(os.path.join(dir_name, f"{name}.{time.time_ns()}.pt.trace.json"))

    return handler_fn


class record_function(contextlib.ContextDecorator):
    """Label a range of code: while a profiler records, the range is an event named ``name``
    (nesting the ops it runs); otherwise it costs almost nothing. A context manager or a
    decorator."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._open: list = []  # (recorder, event) per entered, not yet exited use

    def __enter__(self):
        recorder = _record.active()
        self._open.append(None if recorder is None else
                          (recorder, recorder.open(self.name, "user_annotation")))
        return self

    def __exit__(self, *exc) -> None:
        entry = self._open.pop()
        if entry is not None:
            entry[0].close(entry[1])


# (previous action, next action) -> what the profile does, as PyTorch's profiler: "prepare"
# starts a fresh trace, "start"/"stop" record or stop recording, "ready" calls on_trace_ready.
# A next action of None is the end of the profile.
_A = ProfilerAction
_TRANSITIONS = {
    (_A.NONE, _A.WARMUP): ("prepare",),
    (_A.NONE, _A.RECORD): ("prepare", "start"),
    (_A.NONE, _A.RECORD_AND_SAVE): ("prepare", "start"),
    (_A.WARMUP, _A.NONE): ("warn", "start", "stop"),
    (_A.WARMUP, _A.RECORD): ("start",),
    (_A.WARMUP, _A.RECORD_AND_SAVE): ("start",),
    (_A.RECORD, _A.NONE): ("warn", "stop"),
    (_A.RECORD, _A.WARMUP): ("warn", "stop"),
    (_A.RECORD_AND_SAVE, _A.NONE): ("stop", "ready"),
    (_A.RECORD_AND_SAVE, _A.WARMUP): ("stop", "ready", "prepare"),
    (_A.RECORD_AND_SAVE, _A.RECORD): ("stop", "ready", "prepare", "start"),
    (_A.RECORD_AND_SAVE, _A.RECORD_AND_SAVE): ("stop", "ready", "prepare", "start"),
    (_A.WARMUP, None): ("start", "stop"),
    (_A.RECORD, None): ("stop", "ready"),
    (_A.RECORD_AND_SAVE, None): ("stop", "ready"),
}


class profile:
    """Record the ops, backward nodes and ``record_function`` ranges a program runs, as
    ``torch.profiler.profile``: a context manager (or ``start()``/``stop()``), advanced by
    ``step()`` through ``schedule`` (every step recorded without one); ``on_trace_ready(prof)``
    runs at the end of each recorded cycle. ``record_shapes`` keeps each op's input shapes.
    ``profile_memory``, ``with_stack``, ``with_flops`` and ``with_modules`` are not supported."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 experimental_config=None, execution_trace_observer=None,
                 acc_events: bool = False, use_cuda: bool | None = None,
                 custom_trace_id_callback=None):
        for flag, value in (("profile_memory", profile_memory), ("with_stack", with_stack),
                            ("with_flops", with_flops), ("with_modules", with_modules)):
            if value:
                raise NotImplementedError(f"profile({flag}=True) is not supported by gpugrad's "
                                          "profiler: it records op names, times and shapes")
        if execution_trace_observer is not None:
            raise NotImplementedError("profile(execution_trace_observer=...) is not supported")
        activities = set(activities) if activities is not None else supported_activities()
        if use_cuda:
            activities.add(ProfilerActivity.CUDA)
        for a in activities:
            if not isinstance(a, ProfilerActivity):
                raise ValueError(f"profile: unknown activity {a!r}; use ProfilerActivity.CPU "
                                 "or ProfilerActivity.CUDA")
        self.activities = activities
        self.record_shapes = record_shapes
        self.on_trace_ready = on_trace_ready
        self.schedule = schedule if schedule is not None else _always_record
        self.record_steps = schedule is not None
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._recorder = _record.Recorder(record_shapes)
        self._recording = False
        self._step_range = None

    # --------------------------------------------------------------- control
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._transit(ProfilerAction.NONE, self.current_action)
        self._enter_step()

    def stop(self) -> None:
        self._exit_step()
        self._transit(self.current_action, None)

    def step(self) -> None:
        """Signal that the next step of the program starts."""
        self._exit_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        self._enter_step()

    def _enter_step(self) -> None:
        if self.record_steps:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def _exit_step(self) -> None:
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    def _transit(self, prev, action) -> None:
        for what in _TRANSITIONS.get((prev, action), ()):
            if what == "warn":
                warnings.warn(f"Incorrect schedule: {prev.name} followed by "
                              f"{action.name}", stacklevel=3)
            elif what == "prepare":
                self._recorder = _record.Recorder(self.record_shapes)
            elif what == "start":
                _record.activate(self._recorder)
                self._recording = True
            elif what == "stop":
                if self._recording:
                    self._recording = False
                    _record.deactivate()
            elif self.on_trace_ready is not None:
                self.on_trace_ready(self)

    # --------------------------------------------------------------- results
    def events(self) -> EventList:
        """The recorded events of the last trace, in the order they started."""
        return EventList(sorted(self._recorder.events, key=lambda e: e.id))

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """The events averaged by name (and input shapes, with ``group_by_input_shape``)."""
        if group_by_stack_n:
            raise NotImplementedError("key_averages(group_by_stack_n=...) needs with_stack, "
                                      "which gpugrad's profiler does not record")
        return self.events().key_averages(group_by_input_shape)

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace JSON file (``{"traceEvents": [...]}``)."""
        self.events().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        raise NotImplementedError("export_stacks is not supported: gpugrad's profiler records "
                                  "no stacks")
