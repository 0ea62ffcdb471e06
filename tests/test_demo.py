"""``python -m gpugrad.demo``: it trains, reports, reaches the accuracy and saves the curves."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")


def test_demo_trains_to_95_percent_and_saves_curves(tmp_path, capsys):
    from gpugrad import demo

    history = demo.main(["--epochs", "8", "--out", str(tmp_path), "--no-progress",
                         "--device", "cpu"])
    out = capsys.readouterr().out
    assert history["accuracy"][-1] >= 0.95
    assert history["loss"][-1] < history["loss"][0]
    assert os.path.getsize(history["png"]) > 10_000
    assert "device: cpu" in out and "samples/s" in out and "test accuracy" in out
    assert f"curves saved to {os.path.abspath(history['png'])}" in out


def test_demo_runs_as_a_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gpugrad.demo", "--epochs", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, GPUGRAD_DEVICE="cpu"),
    )
    assert result.returncode == 0, result.stderr
    assert "epoch   1/1" in result.stdout and "batch" in result.stdout  # the progress bar
    assert os.path.exists(tmp_path / "digits_mlp.png")
