"""What a profile holds: its events, their averages by key, the summary table, the Chrome trace.

Times are in microseconds, as PyTorch's ``FunctionEvent``; they are host (CPU) times: gpugrad
records no device activity, so the CUDA/device fields are 0.
"""

from __future__ import annotations

import json
import os

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg"]

_STEP_PREFIX = "ProfilerStep#"


class FunctionEvent:
    """One range the profiler recorded: an op call, a ``record_function`` label, a backward
    node. ``cpu_time_total`` includes the nested ranges; ``self_cpu_time_total`` does not."""

    count = 1
    category = "cpu_op"  # "user_annotation" for a record_function range
    node = None  # the autograd node whose backward the range times
    device_time_total = self_device_time_total = cuda_time_total = self_cuda_time_total = 0.0

    def __init__(self, id: int, name: str, thread: int, start_us: float, input_shapes,
                 parent: FunctionEvent | None):
        self.id, self.name, self.thread = id, name, thread
        self.trace_name = name  # the name in the Chrome trace: each step's number shows there
        if name.startswith(_STEP_PREFIX):
            self.name = "ProfilerStep*"  # as PyTorch: the steps' events share one name
        self.start_us = start_us
        self.end_us = start_us
        self.input_shapes = input_shapes
        self.cpu_parent = parent
        self.cpu_children: list[FunctionEvent] = []

    @property
    def key(self) -> str:
        return self.name

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} "
                f"cpu_time_total={_format_time(self.cpu_time_total)} "
                f"input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """The events of one key (name, and input shapes when grouped by them), summed."""

    device_time_total = self_device_time_total = cuda_time_total = self_cuda_time_total = 0.0

    def __init__(self, key: str | None = None, input_shapes=None):
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.is_top_level = False

    def add(self, event) -> FunctionEventAvg:
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time="
                f"{_format_time(self.self_cpu_time_total)} cpu_time={_format_time(self.cpu_time)}"
                f" input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events (``profile.events()``) or of their averages (``key_averages()``)."""

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        """One ``FunctionEventAvg`` per key: the event's name, plus its input shapes when
        ``group_by_input_shape``."""
        averages: dict = {}
        for e in self:
            shapes = e.input_shapes if group_by_input_shape else None
            key = (e.name, str(shapes))
            avg = averages.get(key)
            if avg is None:
                avg = averages[key] = FunctionEventAvg(e.name, shapes)
                avg.is_top_level = e.cpu_parent is None
            avg.add(e)
        return EventList(averages.values())

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total")
        for e in self:
            total.add(e)
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_name_column_width: int = 55, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        """The events as PyTorch's summary table (Name, Self CPU %, Self CPU, CPU total %, CPU
        total, CPU time avg, # of Calls, and Input Shapes when they were recorded), sorted by
        ``sort_by`` (an attribute such as ``"cpu_time_total"``; descending)."""
        return _table(self, sort_by, row_limit, max_name_column_width, header,
                      top_level_events_only)

    def export_chrome_trace(self, path: str) -> None:
        _write_chrome_trace(self, path)

    def __str__(self) -> str:
        return self.table()


def _format_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_share(us: float, total: float) -> str:
    return "NaN" if total == 0 else f"{us * 100.0 / total:.2f}%"


def _table(events, sort_by, row_limit, max_name_width, header, top_level_only) -> str:
    events = list(events)
    self_total = sum(e.self_cpu_time_total for e in events)
    if sort_by is not None:
        events.sort(key=lambda e: getattr(e, sort_by), reverse=True)
    if top_level_only:
        events = [e for e in events if getattr(e, "is_top_level", e.cpu_parent is None)]
    if row_limit is not None and row_limit > 0:
        events = events[:row_limit]
    with_shapes = any(e.input_shapes for e in events)
    name_width = max([len(e.key) for e in events] + [4]) + 4
    if max_name_width is not None:
        name_width = min(name_width, max_name_width)
    widths = [name_width] + [12] * 6
    titles = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
              "# of Calls"]
    if with_shapes:
        widths.append(min(max(len(str(e.input_shapes)) for e in events) + 4, 80))
        titles.append("Input Shapes")

    def row(cells) -> str:
        return "".join(f"{c:>{w}}  " for c, w in zip(cells, widths))

    line = "".join("-" * w + "  " for w in widths)
    out = [] if header is None else ["=" * len(line), header]
    out += [line, row(titles), line]
    for e in events:
        name = e.key if len(e.key) <= name_width else e.key[:name_width - 3] + "..."
        cells = [name, _format_share(e.self_cpu_time_total, self_total),
                 _format_time(e.self_cpu_time_total),
                 _format_share(e.cpu_time_total, self_total), _format_time(e.cpu_time_total),
                 _format_time(e.cpu_time), str(e.count)]
        if with_shapes:
            shapes = str(e.input_shapes)
            cells.append(shapes if len(shapes) <= widths[-1] else shapes[:widths[-1] - 3] + "...")
        out.append(row(cells))
    out += [line, f"Self CPU time total: {_format_time(self_total)}", ""]
    return "\n".join(out)


def _write_chrome_trace(events, path: str) -> None:
    """The events as a Chrome trace (``chrome://tracing``, Perfetto, TensorBoard): a JSON
    object whose ``traceEvents`` are complete ("X") events with microsecond times."""
    pid = os.getpid()
    trace = []
    for e in events:
        item = {"ph": "X", "cat": e.category,
                "name": e.trace_name, "pid": pid, "tid": e.thread, "ts": e.start_us,
                "dur": e.cpu_time_total, "args": {}}
        if e.input_shapes:
            item["args"]["Input Dims"] = e.input_shapes
        trace.append(item)
    with open(path, "w") as f:
        json.dump({"schemaVersion": 1, "displayTimeUnit": "ms", "traceEvents": trace}, f)
