"""gpugrad.profiler against torch.profiler: the same training loop profiled by both shows the
same structure (labels, op names and counts, schedule, trace files, table columns)."""

import json
import re
import warnings

import pytest
import torch

import gpugrad
from gpugrad.autograd.function import Function

# Events both profilers record for a Linear + relu + mse_loss + SGD step.
COMMON = [
    "ProfilerStep*", "model_inference", "aten::linear", "aten::relu", "aten::mse_loss",
    "autograd::engine::evaluate_function: AddmmBackward0", "AddmmBackward0",
    "autograd::engine::evaluate_function: ReluBackward0", "ReluBackward0",
    "autograd::engine::evaluate_function: MseLossBackward0", "MseLossBackward0",
    "Optimizer.step#SGD.step", "Optimizer.zero_grad#SGD.zero_grad",
]


def _train(lib, steps=6, **kwargs):
    """A small training loop under ``lib.profiler.profile``; returns the profile and the
    step numbers at which on_trace_ready ran."""
    lib.manual_seed(0)
    model = lib.nn.Linear(4, 3)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    x, y = lib.randn(8, 4), lib.randn(8, 3)
    ready = []
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                              on_trace_ready=lambda p: ready.append(p.step_num),
                              **kwargs) as prof:
        for _ in range(steps):
            with lib.profiler.record_function("model_inference"):
                loss = lib.nn.functional.mse_loss(lib.relu(model(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            prof.step()
    return prof, ready


def _counts(prof, **kwargs):
    return {e.key: e.count for e in prof.key_averages(**kwargs)}


def test_training_loop_records_what_torch_records():
    kwargs = dict(record_shapes=True, profile_memory=False, with_stack=False,
                  schedule=torch.profiler.schedule(wait=1, warmup=1, active=2, repeat=1))
    theirs, their_ready = _train(torch, **kwargs)
    kwargs["schedule"] = gpugrad.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    ours, our_ready = _train(gpugrad, **kwargs)
    assert our_ready == their_ready == [4]
    expected, got = _counts(theirs), _counts(ours)
    assert {name: got.get(name) for name in COMMON} == {name: expected[name] for name in COMMON}
    assert got["model_inference"] == 2
    for avg in ours.key_averages():
        assert avg.cpu_time_total >= avg.self_cpu_time_total >= 0
    # Input shapes, grouped by them, as PyTorch lists tensor arguments.
    linear = [e for e in ours.key_averages(group_by_input_shape=True) if e.key == "aten::linear"]
    assert [e.input_shapes for e in linear] == [[[8, 4], [3, 4], [3]]]


def _columns(table: str) -> list:
    return re.split(r"\s{2,}", table.splitlines()[1].strip())


def test_table_columns_match_torch():
    theirs, _ = _train(torch, steps=1, record_shapes=True)
    ours, _ = _train(gpugrad, steps=1, record_shapes=True)
    for kwargs in ({}, {"group_by_input_shape": True}):
        their_table = theirs.key_averages(**kwargs).table(sort_by="cpu_time_total",
                                                          row_limit=10)
        our_table = ours.key_averages(**kwargs).table(sort_by="cpu_time_total", row_limit=10)
        assert isinstance(our_table, str)
        assert _columns(our_table) == _columns(their_table)
        assert our_table.rstrip().splitlines()[-1].startswith("Self CPU time total: ")
    rows = ours.key_averages().table(sort_by="cpu_time_total", row_limit=3).splitlines()
    assert len(rows) == 3 + 3 + 2  # header lines, rows, closing line and total
    assert rows[3].split()[0] == "model_inference"  # the longest range is first


def _schedule_run(lib, schedule, steps):
    """Which labelled steps each trace holds, and where on_trace_ready ran."""
    traces = []

    def ready(p):
        labels = {e.name for e in p.events() if e.name.startswith("step")}
        traces.append((p.step_num, sorted(labels)))

    x = lib.ones(2)
    with lib.profiler.profile(schedule=schedule, on_trace_ready=ready) as prof:
        for i in range(steps):
            with lib.profiler.record_function(f"step{i}"):
                x + 1
            prof.step()
    final = sorted({e.name for e in prof.events() if e.name.startswith("step")})
    return traces, final


@pytest.mark.parametrize("kwargs", [
    dict(wait=1, warmup=1, active=2),
    dict(wait=1, warmup=1, active=2, repeat=2),
    dict(wait=0, warmup=1, active=1, repeat=3, skip_first=2),
    dict(wait=2, warmup=0, active=3),
    dict(wait=3, warmup=1, active=1, skip_first=1, skip_first_wait=1),
    None,
])
def test_schedule_matches_torch(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warmup=0 warns in both
        theirs = torch.profiler.schedule(**kwargs) if kwargs else None
        ours = gpugrad.profiler.schedule(**kwargs) if kwargs else None
        if kwargs:
            assert [ours(i).name for i in range(20)] == [theirs(i).name for i in range(20)]
        assert _schedule_run(gpugrad, ours, 11) == _schedule_run(torch, theirs, 11)


def test_schedule_refuses_bad_arguments():
    with pytest.raises(AssertionError, match="active=0"):
        gpugrad.profiler.schedule(wait=1, warmup=1, active=0)


def test_export_chrome_trace(tmp_path):
    prof, _ = _train(gpugrad, steps=3, record_shapes=True,
                     schedule=gpugrad.profiler.schedule(wait=0, warmup=1, active=2, repeat=1))
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    names = {e["name"] for e in trace["traceEvents"]}
    assert {"model_inference", "aten::linear", "ProfilerStep#1", "ProfilerStep#2"} <= names
    for e in trace["traceEvents"]:
        assert e["ph"] == "X" and e["dur"] >= 0 and isinstance(e["ts"], float)
    linear = next(e for e in trace["traceEvents"] if e["name"] == "aten::linear")
    assert linear["args"]["Input Dims"] == [[8, 4], [3, 4], [3]]


def test_tensorboard_trace_handler(tmp_path):
    files = {}
    for lib in (torch, gpugrad):
        folder = tmp_path / lib.__name__
        with lib.profiler.profile(
                schedule=lib.profiler.schedule(wait=1, warmup=1, active=1, repeat=2),
                on_trace_ready=lib.profiler.tensorboard_trace_handler(str(folder), "worker")
        ) as prof:
            for _ in range(7):
                lib.ones(3).sum()
                prof.step()
        files[lib] = sorted(folder.iterdir())
    assert len(files[gpugrad]) == len(files[torch]) == 2
    for path in files[gpugrad]:
        assert re.fullmatch(r"worker\.\d+\.pt\.trace\.json", path.name)
        assert "traceEvents" in json.loads(path.read_text())


def test_events_and_total_average():
    prof, _ = _train(gpugrad, steps=2)
    events = prof.events()
    assert [e.name for e in events[:2]] == ["model_inference", "aten::linear"]
    for e in events:
        assert e.key == e.name and e.count == 1
        assert e.cpu_time_total >= e.self_cpu_time_total >= 0
    # A range's self time is its total less its children's: the self times add up to the
    # top-level ranges' totals.
    total = sum(e.cpu_time_total for e in events if e.cpu_parent is None)
    averages = prof.key_averages()
    overall = averages.total_average()
    assert overall.key == "Total"
    assert overall.count == len(events)
    assert overall.self_cpu_time_total == pytest.approx(total)
    assert overall.self_cpu_time_total == pytest.approx(
        sum(e.self_cpu_time_total for e in events))


def test_create_graph_backward_nodes_are_recorded_once():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    with gpugrad.profiler.profile() as prof:
        (g,) = gpugrad.autograd.grad((x * x).sum(), x, create_graph=True)
        g.sum().backward()
    counts = _counts(prof)
    assert counts["MulBackward0"] == counts[
        "autograd::engine::evaluate_function: MulBackward0"] >= 1
    assert counts["aten::mul"] >= 1


def test_user_function_and_decorator():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    @gpugrad.profiler.record_function("helper")
    def helper(t):
        return Double.apply(t)

    x = gpugrad.ones(3, requires_grad=True)
    with gpugrad.profiler.profile() as prof:
        helper(helper(x)).sum().backward()
    counts = _counts(prof)
    assert counts["helper"] == 2
    assert counts["DoubleBackward"] == 2
    assert counts["autograd::engine::evaluate_function: DoubleBackward"] == 2


def test_nothing_changes_outside_a_profile():
    tensor_attrs = dict(gpugrad.Tensor.__dict__)
    top = dict(vars(gpugrad))
    functional = dict(vars(gpugrad.nn.functional))
    node = type((gpugrad.ones(1, requires_grad=True) * 2).grad_fn)
    node_attrs = dict(node.__dict__)
    with pytest.raises(ValueError), gpugrad.profiler.profile():
        assert gpugrad.Tensor.__dict__["__mul__"] is not tensor_attrs["__mul__"]
        assert "_array_backward" in node.__dict__
        raise ValueError("the program fails inside the profile")
    assert dict(gpugrad.Tensor.__dict__) == tensor_attrs
    assert dict(vars(gpugrad)) == top
    assert dict(vars(gpugrad.nn.functional)) == functional
    assert dict(node.__dict__) == node_attrs
    with gpugrad.profiler.record_function("idle"):  # no profile: records nothing, no error
        gpugrad.ones(2) + 1


def test_autograd_profiler():
    x = gpugrad.ones(4, 4, requires_grad=True)
    with gpugrad.autograd.profiler.profile(use_cuda=False, record_shapes=True) as prof:
        with gpugrad.autograd.profiler.record_function("block"):
            y = (x @ x).relu().sum()
        y.backward()
    counts = _counts(prof)
    assert counts["block"] == 1 and counts["aten::matmul"] == 1 and counts["aten::relu"] == 1
    assert "autograd::engine::evaluate_function: SumBackward0" in counts
    assert _columns(prof.table())[-1] == "Input Shapes"
    assert prof.self_cpu_time_total > 0
    assert len(prof.function_events) == len(prof.events())
    with gpugrad.autograd.profiler.profile(enabled=False) as off:
        x + 1
    assert len(off.function_events) == 0
    with gpugrad.autograd.profiler.emit_nvtx():
        x + 1


def test_refusals():
    for flag in ("profile_memory", "with_stack", "with_flops", "with_modules"):
        with pytest.raises(NotImplementedError, match=flag):
            gpugrad.profiler.profile(**{flag: True})
    with gpugrad.profiler.profile():
        with pytest.raises(RuntimeError, match="already recording"):
            gpugrad.profiler.profile().start()
    with pytest.raises(ValueError, match="activity"):
        gpugrad.profiler.profile(activities=["cpu"])
