"""Regenerate the example pictures in docs/img (run from the repository root).

    .venv/bin/python scripts/make_docs_images.py

Uses the bundled demo data and, when it is there, BPI Challenge 2012 from the shared data
folder ($JOURNEYMINE_DATA or ../shared/data).
"""

from __future__ import annotations

from pathlib import Path

import journeymine as jm
from journeymine._testing import shared_data_dir

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    log = jm.datasets.demo_b2b(n_accounts=2_000, random_state=0)
    maps = jm.journey_map(log, by="segment")
    sm = jm.subway_map(maps, timing=True, dropoff=True, channels=True, conversion=jm.datasets.DEMO_OUTCOMES["won"],
                       title="Demo B2B log: the representative journey of each segment")
    sm.save(OUT / "subway_demo_segments.svg")
    sm.save(OUT / "subway_demo_segments.png", scale=1.5)
    jm.journey_map(log).simplify(activities=0.6, paths=0.3).save(OUT / "journey_map_demo.svg")  # type: ignore[union-attr]
    data = shared_data_dir()
    if data is not None:
        bpic = jm.read_xes(data / "bpic2012.xes.gz", transitions="complete")
        top = jm.subway_map(bpic, top=6, timing=True, dropoff=True, conversion=["A_APPROVED"],
                            title="BPI Challenge 2012: the 6 most frequent journeys")
        top.save(OUT / "subway_bpic2012_top_variants.svg")
        top.save(OUT / "subway_bpic2012_top_variants.png", scale=1.5)
    _report_screenshot(log)
    roles = jm.subway_map(jm.datasets.demo_b2b(n_accounts=3_000, random_state=0), lines="roles")
    _svg_screenshot(roles.svg, OUT / "subway_roles.png")
    for p in sorted(OUT.iterdir()):
        print(p.relative_to(OUT.parent.parent), p.stat().st_size)


def _report_screenshot(log: jm.JourneyLog) -> None:
    """The first screen of the demo report, as headless Chromium shows it."""
    import shutil
    import tempfile

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found: no report screenshot (make test installs it)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        jm.report(log, by="segment", outcomes=jm.datasets.DEMO_OUTCOMES, path=path,
                  title="Journey report: demo B2B log (2,000 accounts)")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                       "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(path.as_uri())
            page.screenshot(path=str(OUT / "report_first_screen.png"))
            page.goto(path.as_uri() + "#journeys")
            page.screenshot(path=str(OUT / "report_journeys.png"))
            browser.close()


def _svg_screenshot(svg: str, path: Path) -> None:
    """An SVG as headless Chromium draws it, at twice its natural size."""
    import re
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print(f"chromium not found: no {path.name} (make test installs it)")
        return
    size = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    width, height = (int(size.group(1)), int(size.group(2))) if size else (1200, 800)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                   "--disable-background-networking"])
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=2)
        page.set_content(f"<html><body style='margin:0;background:#fff'>{svg}</body></html>")
        page.locator("svg").first.screenshot(path=str(path))
        browser.close()


if __name__ == "__main__":
    main()
