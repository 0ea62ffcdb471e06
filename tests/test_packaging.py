"""The built wheel holds every package of the source tree and imports on its own.

An editable install finds subpackages through the source directory whatever pyproject.toml
lists; a wheel holds only the listed packages. This builds one from a copy of the project,
installs it into a bare directory and imports it from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _source_packages() -> set[str]:
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "gpugrad").rglob("__init__.py") if "__pycache__" not in p.parts}
    return found | {"gpugrad.kernels"}  # kernels/ is installed as gpugrad.kernels


def test_wheel_holds_every_package_and_imports(tmp_path):
    pytest.importorskip("setuptools")  # the build backend, used without isolation (no network)
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("gpugrad", "kernels"):
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", str(project), "-w", str(wheels)],
                   check=True, capture_output=True)
    (wheel,) = wheels.glob("gpugrad-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(tmp_path / "site")
    in_wheel = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("__init__.py")}
    assert in_wheel == _source_packages()
    assert "gpugrad/tensor.pyi" in names
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tmp_path / "site")
    out = subprocess.run(
        [sys.executable, "-c", "import gpugrad, gpugrad.kernels as k; print(gpugrad.__file__, "
         "k.__file__); print(gpugrad.func.grad(lambda x: (x * x).sum())(gpugrad.ones(2)))"],
        cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout
    assert str(tmp_path / "site") in out.splitlines()[0]
    assert "tensor([2., 2.])" in out
