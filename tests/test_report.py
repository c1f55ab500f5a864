"""The journey report and its command line: sections, escaping, offline, and a real browser."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import journeymine as jm
from journeymine._cli import main

SECTIONS = ["data", "kpis", "journeys", "clusters", "differences", "variants", "attribution", "methods"]
EVIL = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
    jm.report(log, by="segment", outcomes=jm.datasets.DEMO_OUTCOMES, path=path)
    return path


def _evil_log() -> jm.JourneyLog:
    rng_rows = []
    acts = ["Webinar", f"Demo {EVIL}", 'Proposal "a"];x->y[', "Signed <b>deal</b>"]
    for i in range(60):
        seg = EVIL if i % 2 else "<i>SMB</i>"
        for d, a in enumerate(acts[: 2 + i % 3]):
            rng_rows.append((f"acc<{i}>", a, pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=d * (1 + i % 5)),
                             seg, "Web<img src=x onerror=alert(1)>"))
    df = pd.DataFrame(rng_rows, columns=["case", "activity", "ts", "segment", "channel"])
    return jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="ts", channel="channel",
                                    case_attributes=["segment"])


def test_every_section_and_no_network(demo_report: Path) -> None:
    html = demo_report.read_text()
    for s in SECTIONS:
        assert f'<section id="{s}">' in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # namespaces, not requests
    assert "<script" not in html and "<link" not in html
    assert "Content-Security-Policy" in html
    assert "placeholder" not in html.lower()


def test_sections_without_their_inputs_are_left_out(tmp_path: Path) -> None:
    html = jm.report(jm.datasets.demo_b2b(n_accounts=200, random_state=1), path=tmp_path / "r.html")
    assert '<section id="kpis">' not in html and '<section id="differences">' not in html
    assert '<section id="attribution">' not in html and '<section id="journeys">' in html


def test_user_strings_are_escaped() -> None:
    html = jm.report(_evil_log(), by="segment", outcomes={"won": ["Signed <b>deal</b>"]})
    assert "<script" not in html and "<b>deal" not in html and "<img" not in html and "<i>SMB" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;deal" in html


def test_cli_report_and_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(150, random_state=0, as_frame=True).to_csv(src, index=False)
    out = tmp_path / "r.html"
    args = ["report", str(src), "--case", "account_id", "--activity", "touchpoint", "--timestamp", "timestamp",
            "--case-attr", "segment", "--by", "segment", "--outcome", "won=Contract signed",
            "--outcome", "lost=Closed lost", "-o", str(out)]
    assert main(args) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert "wrote the journey report of 150 accounts" in capsys.readouterr().out
    assert main([*args[:-2], "--outcome", "won", "-o", str(out)]) == 2
    assert "--outcome must look like" in capsys.readouterr().err
    demo_out = tmp_path / "demo.html"
    assert main(["demo", "--accounts", "120", "-o", str(demo_out)]) == 0
    assert '<section id="clusters">' in demo_out.read_text()
    assert main(["demo", "--accounts", "50", "--summary"]) == 0


def _browser():  # type: ignore[no-untyped-def]
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if chromium is None or sync_playwright is None:
        msg = "headless Chromium and playwright are needed (make test installs both)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return chromium, sync_playwright


@pytest.mark.slow
def test_in_a_real_browser(demo_report: Path, tmp_path: Path) -> None:
    chromium, sync_playwright = _browser()
    evil = tmp_path / "evil.html"
    jm.report(_evil_log(), by="segment", outcomes={"won": ["Signed <b>deal</b>"]}, path=evil)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        for path in (demo_report, evil):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            requests: list[str] = []
            dialogs: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.on("request", lambda r, requests=requests: requests.append(r.url))
            page.on("dialog", lambda d, dialogs=dialogs: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            assert errors == [] and dialogs == []
            assert requests == [path.as_uri()]  # the file itself, nothing from the network
            assert page.locator("script").count() == 0 and page.locator("img").count() == 0
            for s in ("data", "journeys", "clusters", "variants", "methods"):
                assert page.locator(f"section#{s}").is_visible()
            if path == demo_report:
                for s in SECTIONS:
                    assert page.locator(f"section#{s}").count() == 1
                assert page.locator("section#journeys svg").count() >= 2
                page.locator("section#variants details summary").first.click()
                assert page.locator("section#variants details[open] table").count() >= 1
                page.screenshot(path=str(tmp_path / "first_screen.png"))
            else:
                assert EVIL in page.locator("section#journeys").inner_text() or \
                    EVIL in page.locator("body").inner_text()
            page.close()
        browser.close()
    assert (tmp_path / "first_screen.png").stat().st_size > 10_000
