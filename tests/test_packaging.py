"""The package as a user gets it: a wheel and an sdist that PyPI would accept, and a wheel
that installs into a fresh venv with its runtime dependencies only and runs the demo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import journeymine as jm

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel built from it, as ``make dist`` builds them, from a copy of the
    working tree: setuptools writes its egg-info and staging folder into the tree it builds,
    which must not race with anything else using the checkout."""
    out = tmp_path_factory.mktemp("dist")
    tree = tmp_path_factory.mktemp("tree") / "journeymine"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".venv", ".git", "_build", "generated", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
        "*.egg-info", "build", "dist", "__pycache__", "report.html"))
    run = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(tree)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("*.whl")
    return wheel


def test_wheel_and_sdist_pass_twine_check(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert [f.suffix for f in files] == [".whl", ".gz"]
    run = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("PASSED") == 2


def test_wheel_holds_the_package_and_its_data_only(dist: Path) -> None:
    wheel = _wheel(dist)
    assert wheel.name == f"journeymine-{jm.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"journeymine-{jm.__version__}.dist-info/METADATA").decode()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"journeymine", f"journeymine-{jm.__version__}.dist-info"}
    assert "journeymine/py.typed" in names
    assert any(n.startswith("journeymine/templates/") and n.endswith(".j2") for n in names)
    assert f"journeymine-{jm.__version__}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: MIT" in metadata
    assert "Requires-Dist: pm4py" in metadata and "extra == \"pm4py\"" in metadata
    for version in ("3.11", "3.13"):
        assert f"Programming Language :: Python :: {version}" in metadata
    assert "Project-URL: Documentation" in metadata


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its runtime dependencies (the pinned versions), no extras."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    run = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(ROOT / "constraints.txt"), str(_wheel(dist))],
        capture_output=True, text=True, timeout=1800,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return python


def test_the_installed_wheel_runs_the_demo_without_dev_extras(installed: Path, tmp_path: Path) -> None:
    freeze = subprocess.run([str(installed), "-m", "pip", "freeze"], capture_output=True, text=True,
                            check=True).stdout.lower()
    for dev_only in ("pm4py", "pytest", "hypothesis", "sphinx", "pyspark", "duckdb"):
        assert f"{dev_only}==" not in freeze, dev_only
    out = tmp_path / "report.html"
    cli = installed.parent / "journeymine"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([str(cli), "demo", "--accounts", "300", "-o", str(out)], capture_output=True,
                         text=True, cwd=tmp_path, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Journey report" in page


def test_import_is_light(installed: Path, tmp_path: Path) -> None:
    """Importing journeymine imports neither pm4py (AGPL, optional) nor the heavy optional
    engines; the import time is measured (the median of five fresh interpreters) and
    written where docs/development.md quotes it from."""
    probe = (
        "import sys, time; t = time.perf_counter(); import journeymine; "
        "dt = time.perf_counter() - t; "
        "heavy = sorted(m for m in ('pm4py', 'pyspark', 'sklearn', 'scipy', 'networkx', 'graphviz', 'duckdb') "
        "if m in sys.modules); "
        "import json; print(json.dumps({'seconds': dt, 'heavy': heavy, 'version': journeymine.__version__}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    runs = [json.loads(subprocess.run([str(installed), "-c", probe], capture_output=True, text=True,
                                      check=True, cwd=tmp_path, env=env).stdout) for _ in range(5)]
    assert runs[0]["version"] == jm.__version__
    assert runs[0]["heavy"] == [], f"import journeymine imports {runs[0]['heavy']}"
    seconds = sorted(r["seconds"] for r in runs)[2]
    assert seconds < 30  # a sanity bound, not a timing goal (benchmarks/ holds those)
    print(f"import journeymine: {seconds:.2f} s (median of 5)")
