"""Every op of the registry under ``gpugrad.compile`` (the cases are
``registry_compiled_cases.py``), run in fresh processes, a part each.

Why apart: a capture looks for the tensors that exist before it (parameters, gradients,
optimizer state) by scanning every live object of its process (``compiler/session.py``). A
fresh process holds a few hundred thousand objects and captures one of these ops in ~50 ms; a
test worker that has run thousands of other tests holds millions, and the same capture took
0.7 s on average (the file cost ~500 s of CPU in the whole suite, against ~25 s alone)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)
CASES = os.path.join(HERE, "registry_compiled_cases.py")
PARTS = 2


@pytest.mark.parametrize("part", range(PARTS))
def test_every_registry_op_compiled_equals_eager(part):
    env = dict(os.environ, GPUGRAD_REGISTRY_PART=f"{part}/{PARTS}")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", CASES],
        env=env, capture_output=True, text=True, timeout=900, cwd=os.path.join(HERE, "..", ".."),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout.splitlines()[-1]
