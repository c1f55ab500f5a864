"""Results as a notebook shows them: at notebook width every drawing fits its column (scaled
to the container, no horizontal scroll box hiding stations)."""

from __future__ import annotations

from pathlib import Path

import pytest

import journeymine as jm
from test_report import _browser

NOTEBOOK_WIDTH = 860  # JupyterLab's output area on a laptop screen


@pytest.mark.slow
def test_drawings_fit_the_notebook_column(tmp_path: Path) -> None:
    log = jm.datasets.demo_b2b(n_accounts=400, random_state=0)
    outputs = {
        "map": jm.journey_map(log),
        "maps": jm.journey_map(log, by="segment"),
        "subway": jm.subway_map(log),
        "subway_roles": jm.subway_map(log, lines="roles"),
        "dotted": jm.dotted_chart(log),
        "retention": jm.retention(log),
        "funnel": jm.funnel(log, ["Website visit", "Demo", "Proposal sent", "Contract signed"]),
        "committee": jm.buying_committee(log, outcomes=jm.datasets.DEMO_OUTCOMES),
    }
    chromium, sync_playwright = _browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        for name, result in outputs.items():
            html = result._repr_html_()
            page_file = tmp_path / f"{name}.html"
            page_file.write_text(
                f"<!DOCTYPE html><html><body style='margin:0'><div id='out' style='width:{NOTEBOOK_WIDTH}px'>"
                f"{html}</div></body></html>", encoding="utf-8")
            page.goto(page_file.as_uri())
            svgs = page.locator("#out svg")
            assert svgs.count() >= 1, name
            widths = page.evaluate("[...document.querySelectorAll('#out svg')].map(s => s.getBoundingClientRect().width)")
            assert max(widths) <= NOTEBOOK_WIDTH + 0.5, (name, widths)
            overflowing = page.evaluate(
                "[...document.querySelectorAll('#out *')].filter(e => e.scrollWidth > e.clientWidth + 1"
                " && getComputedStyle(e).overflowX !== 'visible').length")
            assert overflowing == 0, name
            # every drawing ends inside the column (wide tables may scroll, as pandas' do)
            right = page.evaluate("Math.max(...[...document.querySelectorAll('#out svg')]"
                                  ".map(s => s.getBoundingClientRect().right))")
            assert right <= NOTEBOOK_WIDTH + 0.5, name
        browser.close()
