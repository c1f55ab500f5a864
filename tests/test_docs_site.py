"""The documentation site builds from the sources with warnings as errors, and its API
reference has a page for every public name."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import journeymine as jm

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _public_names() -> list[str]:
    names = [f"journeymine.{n}" for n in jm.__all__ if n not in ("__version__", "datasets", "errors")]
    names += [f"journeymine.datasets.{n}" for n in jm.datasets.__all__]
    names += [f"journeymine.errors.{n}" for n in jm.errors.__all__]
    return names


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "JOURNEYMINE_PROGRESS": "0", "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )
    assert run.returncode == 0, f"the docs site has warnings or errors:\n{run.stderr[-6000:]}"
    return out


@pytest.mark.slow
def test_every_public_name_has_a_reference_page(site: Path) -> None:
    anchors: set[str] = set()
    for page in [site / "api.html", *(site / "api" / "generated").glob("*.html")]:
        anchors.update(re.findall(r'id="(journeymine\.[\w.]+)"', page.read_text(encoding="utf-8")))
    errors = set(jm.errors.__all__)

    def documented(name: str) -> bool:
        short = name.rsplit(".", 1)[1]
        # the errors jm re-exports are documented once, under journeymine.errors
        return name in anchors or (short in errors and f"journeymine.errors.{short}" in anchors)

    missing = [name for name in _public_names() if not documented(name)]
    assert not missing, f"public names without an entry in docs/api.md: {missing}"
    assert (site / "api" / "generated" / "journeymine.explore.html").is_file()
    page = (site / "api" / "generated" / "journeymine.JourneyLog.html").read_text(encoding="utf-8")
    # the class page documents its members from their docstrings, examples included
    assert 'id="journeymine.JourneyLog.filter_cases"' in page
    assert "Examples" in page


@pytest.mark.slow
def test_every_notebook_is_in_the_gallery_and_every_guide_in_the_site(site: Path) -> None:
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for name in notebooks:
        page = site / "gallery" / f"{name}.html"
        assert page.is_file(), name
    for guide in DOCS.glob("*.md"):
        assert (site / f"{guide.stem}.html").is_file(), guide.name
    # links to notebooks from the guides and the README lead to their gallery pages
    start = (site / "getting-started.html").read_text(encoding="utf-8")
    assert re.search(r'href="gallery/00_ingest(\.html)?"', start) or 'href="gallery/00_ingest.html' in start


@pytest.mark.slow
def test_the_site_needs_no_network(site: Path) -> None:
    """Pages load their scripts and styles from the site itself (the theme's assets are
    copied into _static), so the site works offline and from a file system."""
    page = (site / "index.html").read_text(encoding="utf-8")
    external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', page)
    assert external == []
