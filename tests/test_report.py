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

SECTIONS = ["data", "kpis", "committee", "journeys", "clusters", "differences", "variants", "attribution", "methods"]
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


@pytest.mark.slow
def test_long_names_and_bidi_controls_do_not_break_the_page(tmp_path: Path) -> None:
    """A 5,000-character activity made the page 44,610 px wide at a 1,280 px window (a
    summary line and table cells that could not wrap), and an activity holding U+202E
    reversed the names written after it in the same cell."""
    import pandas as pd

    chromium, sync_playwright = _browser()
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = []
    for c in range(60):
        middle = "L" * 5_000 if c % 2 else "Demo"
        seq = ["evil \u202e name"] * 3 + ["Visit", middle, "Contract signed"]
        rows += [(f"c{c}", a, t0 + pd.Timedelta(days=c + i)) for i, a in enumerate(seq)]
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["case", "activity", "ts"]),
                                   case="case", activity="activity", timestamp="ts")
    html = jm.report(log, outcomes={"won": ["Contract signed"]}, path=tmp_path / "long.html", generated=False)
    assert "\u202e" not in html and "evil [U+202E] name" in html
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((tmp_path / "long.html").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        cell = page.locator("section#data td").filter(has_text="evil").first.inner_text()
        assert cell.startswith("evil [U+202E] name, ")
        browser.close()


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


# -- findings and figures that never mislead (issue 18) ---------------------------------------
def test_two_step_funnel_has_no_sales_cycle_and_says_why(shared_data: Path) -> None:
    from real_logs import crm_funnel

    log = crm_funnel(shared_data)
    k = jm.kpis(log, outcomes={"won": "Won", "lost": "Lost"}, by="product")
    wide = k.to_dataframe(wide=True)
    assert wide["sales_cycle_days"].isna().all()  # undefined, never 0 days
    assert (wide["conversion_rate"] > 0.5).all()
    html = jm.report(log, by="product", outcomes={"won": "Won", "lost": "Lost"}, generated=False)
    assert "– : not defined for that cohort (sales cycle: no account of the cohort had a touch" in html
    assert "<title>Journey report</title>" in html  # no "pandas.DataFrame" in the title
    assert "among 3 distinct journeys" in html  # activity sequences, as jm.variants counts them
    assert len(jm.variants(log)) == 3


def test_title_from_the_file_name(tmp_path: Path) -> None:
    src = tmp_path / "touchpoints.csv"
    jm.datasets.demo_b2b(40, random_state=0, as_frame=True).to_csv(src, index=False)
    log = jm.read_csv(src, case="account_id", activity="touchpoint", timestamp="timestamp")
    html = jm.report(log, generated=False)
    assert "<title>Journey report: touchpoints.csv</title>" in html
    assert str(tmp_path) not in html.split("<body")[0]


def test_one_journey_type_is_shown_as_one_with_a_note() -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = []
    for i in range(80):
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 30)))
        for step in ("Visit", "Demo", "Signed"):
            t += pd.Timedelta(hours=float(rng.lognormal(3, 0.2)))
            rows.append({"a": f"A{i}", "s": step, "t": t})
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows), case="a", activity="s", timestamp="t")
    with pytest.warns(jm.JourneymineWarning, match="chose one cluster"):
        est = jm.JourneyClusterer(random_state=0).fit(log)
    assert est.n_clusters_ == 1
    html = jm.report(log, generated=False)
    assert "1 journey type among 1 distinct journeys" in html
    assert "BIC found no distinct journey types" in html
    assert "Cluster 1" not in html


def test_one_finding_per_underlying_effect() -> None:
    log = jm.datasets.demo_b2b(2000, random_state=0)
    cmp = jm.compare_cohorts(log, by="segment", outcomes=jm.datasets.DEMO_OUTCOMES, random_state=0)
    s = cmp.summary
    assert "related" in s.columns
    singles = {name: acts[0] for name, acts in jm.datasets.DEMO_OUTCOMES.items() if len(acts) == 1}
    # an outcome that is one activity is never listed beside "reach <that activity>" for the same groups
    acts = s[s["kind"] == "activity"]
    for r in s[s["kind"] == "outcome"].itertuples():
        if r.feature in singles:
            twin = acts[(acts["group_a"] == r.group_a) & (acts["group_b"] == r.group_b)
                        & (acts["feature"] == singles[r.feature])]
            assert twin.empty, (r.finding, list(twin["finding"]))
    grouped = s[s["related"].map(len) > 0]
    assert len(grouped) > 0
    # every test of a grouped effect is still in its table
    n_listed = len(s) + int(s["related"].map(len).sum())
    assert n_listed <= (cmp.transitions["q"] < cmp.alpha).sum() + (cmp.activities["q"] < cmp.alpha).sum() \
        + (cmp.durations["q"] < cmp.alpha).sum() + (cmp.outcomes["q"] < cmp.alpha).sum() \
        + (cmp.outcomes["q_time"] < cmp.alpha).sum() + (cmp.variants["q"] < cmp.alpha).sum() \
        + (cmp.committee["q"] < cmp.alpha).sum()


def test_degenerate_differences_are_not_findings() -> None:
    import pandas as pd

    from journeymine._compare import _summary

    empty = pd.DataFrame(columns=["group_a", "group_b", "feature", "source", "target", "share_a", "share_b",
                                  "cohens_h", "q"])
    durations = pd.DataFrame([
        {"kind": "stage", "group_a": "A", "group_b": "(rest)", "feature": "early", "median_a": 0.0,
         "median_b": 0.0, "difference": 0.0, "ci_low": 0.0, "ci_high": 0.0, "rank_biserial": 0.2, "q": 0.008},
        {"kind": "stage", "group_a": "A", "group_b": "(rest)", "feature": "late", "median_a": 10.0,
         "median_b": 0.0, "difference": 10.0, "ci_low": 2.0, "ci_high": 20.0, "rank_biserial": 0.2, "q": 0.008},
    ])
    outcomes = pd.DataFrame([
        {"group_a": "A", "group_b": "(rest)", "feature": "won", "share_a": 0.1, "share_b": 0.1, "cohens_h": 0.0,
         "q": 0.9, "km_median_a": float("nan"), "km_median_b": float("nan"), "q_time": 0.003},
        {"group_a": "A", "group_b": "(rest)", "feature": "lost", "share_a": 0.6, "share_b": 0.2, "cohens_h": 0.8,
         "q": 0.001, "km_median_a": 86400.0, "km_median_b": float("nan"), "q_time": 0.003},
    ])
    s = _summary(empty, empty, durations, outcomes, pd.DataFrame(), 0.05, set(), {"won": ["W"], "lost": ["L"]})
    text = " | ".join(s["finding"])
    assert "in the early stage" not in text and "in the late stage" in text
    assert "Median time to 'won'" not in text  # both medians undefined
    assert "24.0 h for A accounts vs not reached by half for the rest" in text


def test_kpi_figures_in_the_html_are_the_ones_kpis_computes(demo_report: Path) -> None:
    """Accounts, won and the conversion rate per segment, read out of the report's KPI table,
    and the account and event counts of the data section, equal what the public functions give."""
    html = demo_report.read_text()
    log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
    section = html[html.index('<section id="kpis">'):]
    section = section[: section.index("</section>")]
    cohorts = re.findall(r"<th>([^<]+)</th>", section.split("</tr>")[0])
    rows = {label: re.findall(r"<td>([^<]*)</td>", cells)
            for label, cells in re.findall(r'<th class="l">([^<]+)</th>(.*?)</tr>', section)}
    k = jm.kpis(log, outcomes=jm.datasets.DEMO_OUTCOMES, by="segment").to_dataframe().set_index(["cohort", "kpi"])
    assert cohorts == ["Enterprise", "Mid-market", "SMB"]
    for i, c in enumerate(cohorts):
        assert int(rows["accounts"][i].replace(",", "")) == int(k.loc[(c, "accounts"), "value"])
        assert int(rows["won"][i].replace(",", "")) == int(k.loc[(c, "won"), "value"])
        assert rows["conversion rate (won / decided)"][i] == f"{k.loc[(c, 'conversion_rate'), 'value']:.0%}"
    assert sum(int(v.replace(",", "")) for v in rows["accounts"]) == log.n_cases
    data = html[html.index('<section id="data">'):]
    assert f'<b>{log.n_cases:,}</b><span>accounts</span>' in data
    assert f'<b>{log.n_events:,}</b><span>events</span>' in data


def test_value_and_voice_section_on_the_demos_second_version() -> None:
    log = jm.datasets.demo_b2b(600, random_state=0, version=2)
    frame = jm.datasets.demo_b2b(600, random_state=0, version=2, as_frame=True)
    frame["segment"] = frame["segment"].replace({"SMB": "<b>SMB</b>"})
    hostile = jm.JourneyLog.from_frame(frame, case="account_id", activity="touchpoint", timestamp="timestamp",
                                       contact="contact_id", role="contact_role", channel="channel", stage="stage",
                                       value="value", resource="team", case_attributes=["segment", "product", "market"],
                                       stage_order=jm.datasets.DEMO_STAGE_ORDER)
    spend = jm.datasets.demo_spend(600, random_state=0)
    html = jm.report(hostile, by="segment", outcomes=jm.datasets.DEMO_OUTCOMES, value_kind="deal_type",
                     value_product="deal_product", score="nps", spend=spend, generated=False)
    section = html[html.index('<section id="value">'):html.index('<section id="time">')]
    for title in ("Recurring revenue", "Lifetime value", "Acquisition cost", "Voice of the customer"):
        assert f"<h3>{title}</h3>" in section
    assert "<b>SMB</b>" not in section and "&lt;b&gt;SMB&lt;/b&gt;" in section
    assert "Podcast" in section and "promoter" in section
    assert '<a href="#value">Value and voice</a>' in html or 'href="#value"' in html
    # without a value column and a score, no section
    plain = jm.JourneyLog.from_frame(frame.drop(columns="value"), case="account_id", activity="touchpoint",
                                     timestamp="timestamp")
    assert '<section id="value">' not in jm.report(plain, generated=False)
    with pytest.raises(jm.SchemaError, match="score='stars'"):
        jm.report(log, score="stars")
    assert log.n_cases == 600


def test_accounts_to_act_on_section() -> None:
    frame = jm.datasets.demo_b2b(400, random_state=0, as_frame=True)
    frame.loc[frame["account_id"] == frame["account_id"].iloc[0], "account_id"] = "<i>ACC</i>"
    log = jm.JourneyLog.from_frame(frame, case="account_id", activity="touchpoint", timestamp="timestamp",
                                   stage="stage", case_attributes=["segment"], stage_order=jm.datasets.DEMO_STAGE_ORDER)
    html = jm.report(log, by="segment", outcomes=jm.datasets.DEMO_OUTCOMES, generated=False)
    section = html[html.index('<section id="act">'):html.index("</section>", html.index('<section id="act">'))]
    assert "likeliest next steps" in section and "stalled" in section
    assert "<i>ACC</i>" not in html
    assert 'href="#act"' in html
    # with a won outcome: the probability of winning within 90 days, the reasons, the likeliest
    # accounts and the reliability of the scores (or why there are none)
    assert "P(won in 90 days)" in section and "Most likely to reach won within 90 days" in section
    assert "Reliability: won" in section or "No time-ordered hold-out" in section
    assert " pts" in section  # reasons as sentences
    rows = section[section.index("Most likely to reach won"):]
    shares = [float(v) for v in re.findall(r"<td>(\d+)%</td>", rows)]
    assert shares and shares == sorted(shares, reverse=True)
    plain = jm.report(log, by="segment", generated=False)  # no outcomes: no scores
    act = plain[plain.index('<section id="act">'):plain.index("</section>", plain.index('<section id="act">'))]
    assert "P(won" not in act and "Reliability" not in act


def test_report_scores_come_from_a_seeded_sample_on_large_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    import journeymine._report_sections as sections

    monkeypatch.setattr(sections, "SCORE_ACCOUNTS", 300)
    log = jm.datasets.demo_b2b(700, random_state=2)
    first = sections._scores(log, dict(jm.datasets.DEMO_OUTCOMES), "won", 0)
    again = sections._scores(log, dict(jm.datasets.DEMO_OUTCOMES), "won", 0)
    assert first is not None and "p" in first and "trained on 300 accounts drawn at random (seed 0)" in first["note"]
    pd.testing.assert_series_equal(first["p"], again["p"])  # the same sample and model every time
    # every open account of the whole log is scored, not only the sampled ones
    assert len(first["p"]) > 300


def test_a_value_column_without_values_leaves_the_section_out() -> None:
    log = jm.datasets.demo_b2b(200, random_state=0).filter_time(end="2023-01-20", mode="events")
    html = jm.report(log, generated=False)
    assert '<section id="value">' not in html
    spend = jm.datasets.demo_spend(200, random_state=0)
    plain = jm.datasets.demo_b2b(300, random_state=0)
    html = jm.report(plain, spend=spend, generated=False)  # no outcomes: no won to allocate to
    assert "The spend is not allocated" in html


def test_the_accounts_section_says_why_there_are_no_scores_when_every_account_has_won() -> None:
    won = jm.datasets.demo_b2b(600, random_state=0).filter_activities(["Contract signed"], how="any")
    html = jm.report(won, outcomes=jm.datasets.DEMO_OUTCOMES, generated=False)  # never raises
    act = html[html.index('<section id="act">'):html.index("</section>", html.index('<section id="act">'))]
    assert "No scores:" in act and "Reliability" not in act
    # positions with the model: no probabilities, no crash
    m = jm.JourneyOutcomeModel(outcomes=jm.datasets.DEMO_OUTCOMES, target="won", random_state=0).fit(
        jm.datasets.demo_b2b(600, random_state=0))
    pos = jm.positions(won, model=m)
    assert pos.table["probability"].isna().all() and (pos.table["reasons"].fillna("") == "").all()


def test_an_outcome_no_activity_of_the_log_reaches_is_the_reports_error() -> None:
    log = jm.datasets.demo_b2b(n_accounts=60, random_state=0)
    with pytest.raises(jm.SchemaError, match=r"^report: none of the activities \['Never'\] of outcome 'churned'"):
        jm.report(log, outcomes={"won": ["Contract signed"], "churned": ["Never"]})
