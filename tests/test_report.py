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


# -- reproducibility: the same log and seed give the same bytes ------------------------------

_REPORT_SCRIPT = """
import sys
import journeymine as jm
log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
jm.report(log, by="segment", outcomes=jm.datasets.DEMO_OUTCOMES, random_state=0, path=sys.argv[1])
"""


@pytest.mark.slow
def test_same_bytes_in_processes_with_other_hash_seeds(tmp_path: Path) -> None:
    """Two processes with other string hashing (set order), SOURCE_DATE_EPOCH set."""
    import subprocess
    import sys

    src = str(Path(jm.__file__).parents[1])  # this checkout's journeymine, in the children too
    procs = []
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1700000000",
               "JOURNEYMINE_PROGRESS": "0", "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        out = tmp_path / f"report-{seed}.html"
        procs.append((out, subprocess.Popen([sys.executable, "-c", _REPORT_SCRIPT, str(out)], env=env,
                                            stderr=subprocess.PIPE)))
    for _, proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    first, second = (out.read_bytes() for out, _ in procs)
    assert first == second
    assert b"on 2023-11-14 22:13 UTC." in first  # 1700000000 s after the epoch


@pytest.fixture(scope="module")
def small_log() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=120, random_state=2)


def test_generated_time(small_log: jm.JourneyLog, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    html = jm.report(small_log)
    assert f"Generated by journeymine {jm.__version__} on 2023-11-14 22:13 UTC." in html
    # an explicit time wins over the variable, and is shown in UTC
    at = dt.datetime(2025, 1, 31, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert jm.report(small_log, generated=at).replace("on 2025-01-31 09:30 UTC.", "on 2023-11-14 22:13 UTC.") == html
    # False leaves the time out, and nothing else changes
    bare = jm.report(small_log, generated=False)
    assert f"Generated by journeymine {jm.__version__}. This file" in bare
    assert bare == html.replace(" on 2023-11-14 22:13 UTC.", ".")
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert "Generated by journeymine" in jm.report(small_log)  # the clock, whatever it says


def test_bad_generated_time(small_log: jm.JourneyLog, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"'generated' parameter of report must be a datetime"):
        jm.report(small_log, generated="2025-01-31")  # type: ignore[arg-type]
    for bad in ("2023-11-14", "1700000000.5", "", " 17"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", bad)
        with pytest.raises(jm.InvalidParameterError, match=r"environment variable 'SOURCE_DATE_EPOCH' read by report "
                           r"must be an integer number of seconds"):
            jm.report(small_log)
    assert "Generated by" in jm.report(small_log, generated=False)  # not read when not needed


@pytest.mark.slow
def test_cli_writes_the_same_bytes_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(150, random_state=3, as_frame=True).to_csv(src, index=False)
    report_args = ["report", str(src), "--case", "account_id", "--activity", "touchpoint", "--timestamp",
                   "timestamp", "--case-attr", "segment", "--by", "segment", "--outcome", "won=Contract signed"]
    for name, args in (("demo", ["demo", "--accounts", "120"]), ("report", report_args)):
        outs = [tmp_path / f"{name}-{i}.html" for i in range(2)]
        for out in outs:
            assert main([*args, "-o", str(out)]) == 0
        assert outs[0].read_bytes() == outs[1].read_bytes()
        assert b"on 2023-11-14 22:13 UTC." in outs[0].read_bytes()
    capsys.readouterr()
