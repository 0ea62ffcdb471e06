"""The harness's garbage-collector policy: off while sampling by default, on with ``--gc``
(``Budget.gc``), and as it was found afterwards either way."""

from __future__ import annotations

import gc
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench is not an installed package

from bench import harness  # noqa: E402
from bench.__main__ import _parse  # noqa: E402


@pytest.mark.parametrize("collect", [False, True])
@pytest.mark.parametrize("enabled_before", [False, True])
def test_the_collector_runs_during_samples_only_with_budget_gc(collect, enabled_before):
    seen = []
    budget = replace(harness.SMOKE, gc=collect)
    (gc.enable if enabled_before else gc.disable)()
    try:
        harness.measure(lambda: seen.append(gc.isenabled()), harness.CpuClock(), budget)
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()
    # the warm-up calls run as found; the sampled ones with the budget's policy
    sampled = seen[-3:]
    assert sampled == [collect] * 3


def test_the_command_line_flag():
    assert _parse(["--gc"]).gc and not _parse([]).gc
