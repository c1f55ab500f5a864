"""The journey explorer: what the page holds equals what Python computes, it is safe with
hostile names, reproducible and written atomically; and, in a real browser, the sliders,
clicks and cohort switcher show the figures that journey_map and simplify give."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import os
import re
import subprocess
import sys
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import journeymine as jm
from journeymine import _explore
from journeymine._explore import script_json

EVIL = [
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "quote ' \" `",
    "line\u2028sep\u2029x",
    "<!-- c",
    "&amp;",
]
#: (cohort entry, activities, paths in percent) compared with simplify
POSITIONS = [(0, None, 100), (0, None, 0), (0, 12, 30), (0, 5, 55), (1, 8, 0), (2, 15, 100), (3, 3, 17), (3, 1, 50)]


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=400, random_state=0)


@pytest.fixture(scope="module")
def explorer(demo: jm.JourneyLog) -> jm.Explorer:
    return jm.explore(demo, by="segment")


def _evil_log() -> jm.JourneyLog:
    """Activities, case ids and cohorts named as markup, script, URLs, quotes and separators."""
    rows = []
    for i in range(40):
        acts = ["Webinar", EVIL[i % 7], EVIL[(i + 3) % 7], "Demo", EVIL[(i + 1) % 7]][: 3 + i % 3]
        for d, a in enumerate(acts):
            at = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=d * (1 + i % 4))
            rows.append((f"{EVIL[i % 7]}#{i}", a, at, EVIL[i % 3]))
    frame = pd.DataFrame(rows, columns=["case", "activity", "ts", "segment"])
    return jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts",
                                    case_attributes=["segment"])


def _plain(text: str) -> str:
    """Text as read, without the isolates (FSI, PDI) the page puts around names in text."""
    return text.replace("\u2068", "").replace("\u2069", "")


def _maps(log: jm.JourneyLog, by: str | None) -> list[jm.JourneyMap]:
    """The maps behind the switcher's entries: the whole log, then each cohort."""
    out = [jm.journey_map(log)]
    if by is not None:
        out += list(jm.journey_map(log, by=by).values())
    return out


def _expected(jmap: jm.JourneyMap, k: int, paths: int) -> set[tuple[str, str]]:
    """The steps simplify keeps, with the start and end links."""
    s = jmap.simplify(activities=k, paths=paths / 100)
    out = set(zip(s.edges["source"], s.edges["target"], strict=True))
    out |= {("(start)", a) for a in s.start_activities["activity"]}
    out |= {(a, "(end)") for a in s.end_activities["activity"]}
    return out


def _shown_by_the_page_rule(data: dict[str, Any], entry: int, k: int, paths: int) -> set[tuple[str, str]]:
    """The page's rule (backbone, then the first ceil(paths * steps) of the ranking, the
    paths position taken up to the level's paths_max), on the embedded data."""
    names = data["activities"]
    e = data["entries"][entry]
    level = e["levels"][e["ks"].index(k)]
    n = math.ceil(min(paths, level["paths_max"]) / 100 * level["n_ranked"])
    keep = set(range(n)) | set(level["backbone"])
    name = {-1: "(start)", -2: "(end)"}
    return {(name.get(s, names[s] if s >= 0 else ""), name.get(t, names[t] if t >= 0 else ""))
            for i, (s, t, *_) in enumerate(level["steps"]) if i in keep}


# -- the data: true figures, the sliders' rule, caps --------------------------------------------


def test_every_slider_position_keeps_what_simplify_keeps(demo: jm.JourneyLog, explorer: jm.Explorer) -> None:
    data = explorer.to_dict()
    maps = _maps(demo, "segment")
    assert [e["name"] for e in data["entries"]] == ["All accounts", *jm.journey_map(demo, by="segment")]
    for entry, jmap in enumerate(maps):
        n = len(jmap.nodes)
        assert data["entries"][entry]["ks"] == list(range(1, n + 1))  # every position, up to 40 activities
        for k in range(1, n + 1):
            for paths in (0, 7, 30, 100):
                assert _shown_by_the_page_rule(data, entry, k, paths) == _expected(jmap, k, paths), (entry, k, paths)


def test_counts_are_the_logs_never_renormalised(demo: jm.JourneyLog, explorer: jm.Explorer) -> None:
    maps = _maps(demo, "segment")
    stations = explorer.to_dataframe("stations")
    steps = explorer.to_dataframe("steps")
    for name, jmap in zip(explorer.cohorts, maps, strict=True):
        mine = stations[stations["cohort"] == name].set_index("activity")
        nodes = jmap.nodes.set_index("activity")
        assert mine["cases"].to_dict() == nodes["cases"].to_dict()
        assert mine["events"].to_dict() == nodes["events"].to_dict()
        for k in (3, len(jmap.nodes)):
            simple = jmap.simplify(activities=k)
            shown = steps[(steps["cohort"] == name) & (steps["activities"] == k)
                          & ~steps["source"].isin(["(start)"]) & ~steps["target"].isin(["(end)"])]
            got = {(s, t): (c, n) for s, t, c, n in shown[["source", "target", "count", "cases"]].itertuples(index=False)}
            want = {(s, t): (c, n) for s, t, c, n in simple.edges[["source", "target", "count", "cases"]].itertuples(index=False)}
            assert got == want
    assert explorer.summary["n_cases"].tolist() == [m.n_cases for m in maps]
    # the ranking of the activities slider is simplify's: most accounts first
    first = stations[stations["cohort"] == "SMB"].sort_values("rank")
    assert first["cases"].is_monotonic_decreasing


def test_median_dwell_is_the_time_to_the_next_touch(demo: jm.JourneyLog, explorer: jm.Explorer) -> None:
    ev = demo.to_polars("events").sort("case", "timestamp", "row")
    gaps = ev.with_columns(
        pl.when(pl.col("case").shift(-1) == pl.col("case"))
        .then((pl.col("timestamp").shift(-1) - pl.col("timestamp")).dt.total_microseconds() / 1e6)
        .alias("gap")
    ).filter(pl.col("gap").is_not_null())
    want = dict(gaps.group_by("activity").agg(pl.col("gap").median()).iter_rows())
    stations = explorer.to_dataframe("stations")
    got = stations[stations["cohort"] == "All accounts"].set_index("activity")["median_dwell"]
    for activity, seconds in want.items():
        assert got[activity] == pytest.approx(seconds, abs=0.5)


def test_account_lists_are_capped_and_journeys_are_a_variant_table(demo: jm.JourneyLog,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ex = jm.explore(demo, max_accounts=5)
    j = ex.to_dict()["journeys"]
    assert j["max_accounts"] == 5 and j["n_variants"] == len(j["seq"]) == len(jm.variants(demo))
    assert sum(sum(c[1::2]) for c in j["counts"]) == demo.n_cases
    assert max(len(m) // 2 for m in j["members"]) <= 5
    assert len(j["case_ids"]) < demo.n_cases  # only the accounts a list can show
    monkeypatch.setattr(_explore, "MAX_VARIANTS", 10)
    capped = jm.explore(demo).to_dict()["journeys"]
    top10 = jm.variants(demo, top=10)
    assert len(capped["seq"]) == 10 and capped["covered_accounts"] == int(top10["cases"].sum()) < demo.n_cases
    assert [tuple(demo.activities[a] for a in s) for s in capped["seq"]] == list(top10["variant"])


@pytest.mark.slow
def test_many_activities_give_the_slider_fewer_positions(demo: jm.JourneyLog, monkeypatch: pytest.MonkeyPatch,
                                                         browser: Any, tmp_path: Path) -> None:
    """Above MAX_LEVELS activities the slider offers MAX_LEVELS positions from 1 to all
    (the page's size stays bounded); each still shows what simplify gives."""
    monkeypatch.setattr(_explore, "MAX_LEVELS", 6)
    ex = jm.explore(demo, activities=10, paths=0.25, path=tmp_path / "few.html")
    data = ex.to_dict()
    ks = data["entries"][0]["ks"]
    jmap = jm.journey_map(demo)
    assert ks == [1, 6, 11, 15, 20, 25] and data["initial"]["activities"] == [11]
    for k in ks:
        assert _shown_by_the_page_rule(data, 0, k, 25) == _expected(jmap, k, 25)
    assert sorted(ex.to_dataframe()["activities"].unique()) == ks
    page = _Page(browser, tmp_path / "few.html")
    assert page.page.locator("#jm-map g.station").count() == 11
    page.set("#jm-activities", 3)
    assert page.page.locator("#jm-map g.station").count() == 15
    assert page.steps(data["activities"]) == _expected(jmap, 15, 25)
    assert page.page.locator("#jm-activities-out").inner_text() == "15 of 25"
    page.clean()


def test_a_level_without_steps_keeps_the_tables_columns() -> None:
    """Projected on its most frequent activity alone, a log of a -> b journeys has no step;
    simplify must still give an edges table with its columns (the explorer reads them)."""
    frame = pd.DataFrame({"case": ["x", "x", "y", "y", "z"], "activity": ["a", "b", "a", "b", "a"],
                          "ts": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2 + ["2024-01-03"], utc=True)})
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts")
    jmap = jm.journey_map(log)
    alone = jmap.simplify(activities=1)
    assert list(alone.edges.columns) == list(jmap.edges.columns) and alone.edges.empty
    level = jm.explore(log).to_dict()["entries"][0]["levels"][0]
    assert level["n_steps"] == 0 and [s[:3] for s in level["steps"]] == [[-1, 0, 3], [0, -2, 3]]


def test_a_map_explores_its_own_accounts_at_its_own_settings(demo: jm.JourneyLog) -> None:
    smb = jm.journey_map(demo, by="segment")["SMB"]
    ex = smb.simplify(activities=8, paths=0.2).explore()
    data = ex.to_dict()
    assert ex.n_cases == smb.n_cases and ex.cohorts == ("SMB",)
    assert data["initial"] == {"activities": [8], "paths": 20}
    assert _shown_by_the_page_rule(data, 0, 8, 20) == _expected(smb, 8, 20)
    from journeymine._journeymap import union_map

    with pytest.raises(jm.InvalidParameterError, match="not built by journey_map"):
        union_map([smb]).explore()


def test_a_level_of_many_steps_holds_the_strongest_and_the_paths_slider_stops_there(
    demo: jm.JourneyLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The steps of a level grow with the square of its activities; above MAX_STEPS the page
    holds the strongest and the backbone, and every position it offers is still simplify's."""
    monkeypatch.setattr(_explore, "MAX_STEPS", 30)
    data = jm.explore(demo, by="segment").to_dict()
    capped = 0
    for entry, jmap in enumerate(_maps(demo, "segment")):
        e = data["entries"][entry]
        for k, level in zip(e["ks"], e["levels"], strict=True):
            s = jmap.simplify(activities=k)
            n, top = level["n_ranked"], level["paths_max"]
            assert n == len(s.edges) + len(s.start_activities) + len(s.end_activities)
            first = math.ceil(top / 100 * n)
            assert first <= 30 and (top == 100 or math.ceil((top + 1) / 100 * n) > 30), (entry, k)
            assert len(level["steps"]) <= first + len(level["backbone"])
            capped += top < 100
            for paths in {0, top // 2, top}:
                assert _shown_by_the_page_rule(data, entry, k, paths) == _expected(jmap, k, paths), (entry, k, paths)
    assert capped >= 20


def _long_journeys_log() -> jm.JourneyLog:
    """Three accounts going back and forth between two activities 50 times, three with
    journeys of three touches."""
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    for i in range(6):
        touches = ["ab"[d % 2] for d in range(50)] if i < 3 else ["x", "y", "z"]
        rows += [(f"c{i}", a, t0 + pd.Timedelta(hours=d), "long" if i < 3 else "short") for d, a in enumerate(touches)]
    frame = pd.DataFrame(rows, columns=["case", "activity", "ts", "kind"])
    return jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts", case_attributes=["kind"])


def test_journeys_too_long_for_a_subway_view_are_named_not_drawn() -> None:
    """A subway line of 50 stops is a tangle (and slow to lay out): the page says why there
    is no subway view instead."""
    ex = jm.explore(_long_journeys_log(), by="kind")
    assert ex.cohorts == ("All accounts", "long", "short")
    assert ex.summary["subway"].tolist() == [False, False, True]
    notes = ex.to_dict()["subway_notes"]
    for note in notes[:2]:
        assert note == "No subway view: a journey to draw has 50 touches, more than the 40 a subway line shows legibly."
    assert notes[2] == ""
    assert re.findall(r'<div class="jm-subway" data-entry="(\d+)"', ex.html) == ["2"]


def test_the_status_line_shows_the_python_call_of_each_map(demo: jm.JourneyLog, explorer: jm.Explorer) -> None:
    calls = [e["call"] for e in explorer.to_dict()["entries"]]
    assert calls == ["jm.journey_map(log)", *(f"jm.journey_map(log, by='segment')[{c!r}]" for c in explorer.cohorts[1:])]
    smb = jm.journey_map(demo, by="segment")["SMB"]
    assert smb.explore().to_dict()["entries"][0]["call"] == "jm.journey_map(log, by=\u2026)['SMB']"
    both = jm.explore(demo, by=["segment", "market"], max_cohorts=1).to_dict()["entries"][1]["call"]
    assert both.startswith("jm.journey_map(log, by=['segment', 'market'])['")
    by_month = jm.explore(demo, by=jm.period("Q"), max_cohorts=1).to_dict()["entries"][1]["call"]
    assert by_month.startswith("jm.journey_map(log, by=\u2026)['")


def _degenerate_logs() -> dict[str, tuple[jm.JourneyLog, Any]]:
    """Small logs at the edges: one activity, one event per case, a period without cases,
    missing (None, NaN) and numeric cohort values, cohorts of two columns."""
    def log(rows: list[tuple[Any, ...]], attrs: tuple[str, ...] = ()) -> jm.JourneyLog:
        frame = pd.DataFrame(rows, columns=["case", "activity", "ts", *attrs])
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts",
                                        case_attributes=list(attrs))

    mixed = log([(f"c{i}", a, f"2024-0{1 + i % 3}-0{d + 1}", [1.5, np.nan, 2.0, None][i % 4], [3, 4][i % 2])
                 for i in range(12) for d, a in enumerate("abc"[: 1 + i % 3])], ("f", "n"))
    return {
        "one activity": (log([(c, "a", f"2024-01-0{d + 1}") for c in "xyz" for d in range(3)]), None),
        "one event per case": (log([(c, "ab"[i % 2], "2024-01-01") for i, c in enumerate("uvwxyz")]), None),
        "one event": (log([("x", "a", "2024-01-01")]), None),
        "a month without cases": (log([(f"c{i}", a, f"2024-0{1 + 2 * (i % 2)}-0{d + 1}")
                                       for i in range(6) for d, a in enumerate("ab")]), jm.period("M")),
        "missing cohort values": (mixed, "f"),
        "numeric cohort values": (mixed, "n"),
        "two columns": (mixed, ["f", "n"]),
    }


@pytest.mark.parametrize("case", list(_degenerate_logs()))
def test_logs_at_the_edges_give_the_maps_figures(case: str) -> None:
    log, by = _degenerate_logs()[case]
    empty = case == "a month without cases"
    with pytest.warns(jm.JourneymineWarning, match=r"not mapped: '2024-02' \(0\)") if empty else nullcontext():
        ex = jm.explore(log, by=by)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.JourneymineWarning)  # the empty month, as above
        maps = [jm.journey_map(log), *(jm.journey_map(log, by=by).values() if by is not None else [])]
    assert list(ex.cohorts) == ["All accounts", *(str(m.cohort) for m in maps[1:])]
    stations, steps = ex.to_dataframe("stations"), ex.to_dataframe("steps")
    for name, jmap in zip(ex.cohorts, maps, strict=True):
        mine = stations[stations["cohort"] == name].set_index("activity")
        assert mine["cases"].to_dict() == jmap.nodes.set_index("activity")["cases"].to_dict()
        full = steps[(steps["cohort"] == name) & (steps["activities"] == len(jmap.nodes))
                     & (steps["source"] != "(start)") & (steps["target"] != "(end)")]
        assert sorted(map(tuple, full[["source", "target", "count", "cases"]].to_numpy().tolist())) == sorted(
            map(tuple, jmap.edges[["source", "target", "count", "cases"]].to_numpy().tolist()))
    if case == "missing cohort values":
        assert "(missing)" in ex.cohorts


# -- bad input ---------------------------------------------------------------------------------


def test_bad_input_names_the_parameter_and_the_fix(demo: jm.JourneyLog, tmp_path: Path) -> None:
    with pytest.raises(jm.SchemaError, match=r"explore: by='segmnt' is not a case attribute of this log \(case "
                       r"attributes: 'segment', 'product', 'market'\)\. Give a case attribute"):
        jm.explore(demo, by="segmnt")
    with pytest.raises(jm.SchemaError, match=r"explore: by='nope' is not a case attribute"):
        jm.explore(demo, by=["segment", "nope"])
    empty = demo.filter_variants(top=10_000, exclude=True)
    with pytest.raises(jm.EmptyLogError, match="explore: the log has no events"):
        jm.explore(empty)
    for option, value, expected in (
        ("activities", 0, r"'activities' parameter of explore must be a float in \(0, 1\] or an int >= 1"),
        ("activities", 1.5, "'activities' parameter"),
        ("activities", True, "'activities' parameter"),
        ("paths", -0.1, r"'paths' parameter of explore must be a float in \[0, 1\]"),
        ("paths", "all", "'paths' parameter"),
        ("max_cohorts", 0, "'max_cohorts' parameter of explore must be an int >= 1"),
        ("max_accounts", 2.5, "'max_accounts' parameter"),
        ("title", 3, "'title' parameter of explore must be a str or None"),
    ):
        with pytest.raises(jm.InvalidParameterError, match=expected):
            jm.explore(demo, **{option: value})
    with pytest.raises(FileNotFoundError):
        jm.explore(demo, path=tmp_path / "missing" / "x.html")
    with pytest.raises(jm.InvalidParameterError, match="is a folder"):
        jm.explore(demo, path=tmp_path)


def test_never_overwrites_the_input_and_writes_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(60, random_state=0, as_frame=True).to_csv(src, index=False)
    log = jm.read_csv(src, case="account_id", activity="touchpoint", timestamp="timestamp")
    before = src.read_bytes()
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        jm.explore(log, path=src)
    ex = jm.explore(log)
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        ex.save(src)
    assert src.read_bytes() == before
    out = tmp_path / "explorer.html"
    out.write_text("old version")
    assert ex.save(out) == out and out.read_text(encoding="utf-8") == ex.html

    def broken(self: Path, *args: Any, **kwargs: Any) -> int:
        self.write_bytes(b"half a page")
        raise OSError("disk full")

    out.write_text("old version")
    monkeypatch.setattr(Path, "write_text", broken)
    with pytest.raises(OSError, match="disk full"):
        ex.save(out)
    assert out.read_bytes() == b"old version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "explorer.html"]  # no temporary file left


def test_path_writes_the_same_page(demo: jm.JourneyLog, tmp_path: Path) -> None:
    out = tmp_path / "e.html"
    ex = jm.explore(demo, path=out, title="Q3 <review>")
    assert out.read_text(encoding="utf-8") == ex.html
    assert "<title>Q3 &lt;review&gt;</title>" in ex.html


# -- safety of the page ------------------------------------------------------------------------


@pytest.mark.parametrize("text", EVIL)
def test_script_json_is_inert_in_a_script_element_and_reads_back(text: str) -> None:
    out = script_json({"name": text, "list": [text]})
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in out
    assert json.loads(out) == {"name": text, "list": [text]}


def _parts(html: str) -> tuple[str, str, str]:
    """The CSP, the JSON block and the script of a page."""
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    data = re.search(r'<script type="application/json" id="jm-data">(.*?)</script>', html, re.S)
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert csp and data and script
    return csp.group(1), data.group(1), script.group(1)


def test_hostile_names_stay_data_and_only_the_hashed_script_may_run() -> None:
    ex = jm.explore(_evil_log(), by="segment")
    html = ex.html
    csp, data, script = _parts(html)
    assert html.count("<script") == 2 and html.count("</script>") == 2  # the JSON block and the script
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in data
    assert json.loads(data) == ex.to_dict()
    assert EVIL[0] in ex.to_dict()["activities"]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert csp == (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
                   "base-uri 'none'; form-action 'none'")  # default-src does not cover these two
    # the policy comes before anything the data reaches: only the charset precedes it
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                           '<meta http-equiv="Content-Security-Policy" ')
    assert "innerHTML" not in script and "outerHTML" not in script and "insertAdjacentHTML" not in script
    assert "document.write" not in script and "eval(" not in script and "href" not in script
    assert "<img" not in html and not re.search(r"\s(src|href|xlink:href|action)=[\"']", html)
    # no address but the SVG namespaces
    assert not re.search(r"https?://(?!www\.w3\.org/(2000/svg|1999/xlink)\b)", html)


def test_display_is_a_sandboxed_iframe(explorer: jm.Explorer) -> None:
    bundle = explorer._repr_mimebundle_()
    frame = bundle["text/html"]
    assert frame.startswith('<iframe sandbox="allow-scripts" ') and "allow-same-origin" not in frame
    assert "<script" not in frame and 'srcdoc="&lt;!DOCTYPE html&gt;' in frame
    assert bundle["text/plain"] == repr(explorer)
    assert re.fullmatch(r"<Explorer: 400 accounts, 3,\d{3} events, 3 cohorts; \d+ kB of HTML; \.save\(path\)>",
                        repr(explorer))


# -- reproducibility ---------------------------------------------------------------------------

_SCRIPT = """
import sys
import journeymine as jm
log = jm.datasets.demo_b2b(n_accounts=150, random_state=1)
jm.explore(log, by=["segment", "market"], path=sys.argv[1])
"""


@pytest.mark.slow
def test_same_bytes_twice_and_under_other_hash_seeds(tmp_path: Path) -> None:
    log = jm.datasets.demo_b2b(n_accounts=150, random_state=1)
    here = jm.explore(log, by=["segment", "market"]).html
    assert jm.explore(log, by=["segment", "market"]).html == here
    src = str(Path(jm.__file__).parents[1])
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "JOURNEYMINE_PROGRESS": "0",
               "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        out = tmp_path / f"explore-{seed}.html"
        done = subprocess.run([sys.executable, "-c", _SCRIPT, str(out)], env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        assert out.read_text(encoding="utf-8") == here


# -- in a real browser -------------------------------------------------------------------------


from test_report import _browser  # noqa: E402 - the one way the browser tests find Chromium


class _Page:
    """A page of the explorer with every console error, dialog and request recorded; any
    request but the page itself is refused."""

    def __init__(self, browser: Any, path: Path, init: str | None = None) -> None:
        self.url = path.as_uri()
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        if init is not None:  # run before the page's own script (the test's, not subject to its CSP)
            self.page.add_init_script(init)
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.route("**/*", self._route)
        self.page.goto(self.url)
        self.page.wait_for_selector("#jm-map g.station")

    def _route(self, route: Any) -> None:
        self.requests.append(route.request.url)
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    def set(self, selector: str, value: int, event: str = "input") -> None:
        self.page.eval_on_selector(selector, f"(e, v) => {{ e.value = v; e.dispatchEvent(new Event('{event}')); }}",
                                   str(value))

    def steps(self, names: list[str]) -> set[tuple[str, str]]:
        pairs = self.page.eval_on_selector_all("#jm-map g.step", "els => els.map(e => [+e.dataset.source, +e.dataset.target])")
        name = {-1: "(start)", -2: "(end)"}
        return {(name.get(s) or names[s], name.get(t) or names[t]) for s, t in pairs}

    def clean(self) -> None:
        assert self.errors == [] and self.dialogs == []
        assert self.requests == [self.url]  # the file itself, nothing else


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    chromium, sync_playwright = _browser()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def demo_page(explorer: jm.Explorer, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> _Page:
    path = explorer.save(tmp_path_factory.mktemp("explore") / "demo.html")
    return _Page(browser, path)


def _cases_with(log: jm.JourneyLog, keep: set[str] | None, entry_cases: set[str] | None) -> dict[str, list[str]]:
    """Each case's journey (projected on ``keep``), in case order, for the entry's cases."""
    ev = log.to_polars("events").sort("case", "timestamp", "row")
    journeys = dict(ev.group_by("case", maintain_order=True).agg(pl.col("activity")).iter_rows())
    order = log.to_polars("cases").get_column("case").to_list()
    return {c: [a for a in journeys[c] if keep is None or a in keep]
            for c in order if entry_cases is None or c in entry_cases}


@pytest.mark.slow
def test_sliders_draw_what_simplify_keeps(demo_page: _Page, demo: jm.JourneyLog, explorer: jm.Explorer) -> None:
    page, names = demo_page, explorer.to_dict()["activities"]
    maps = _maps(demo, "segment")
    for entry, k, paths in POSITIONS:
        page.set("#jm-cohort", entry, "change")
        n = len(maps[entry].nodes)
        k = n if k is None else k
        page.set("#jm-activities", k - 1)  # the slider's positions are 1..n activities here
        page.set("#jm-paths", paths)
        want = _expected(maps[entry], k, paths)
        assert page.steps(names) == want, (entry, k, paths)
        status = page.page.locator("#jm-status").inner_text()
        n_steps = len(maps[entry].simplify(activities=k, paths=paths / 100).edges)
        total = len(maps[entry].simplify(activities=k).edges)
        assert f"Showing {k} of {n} stations, {n_steps} of {total} steps" in status
        call = explorer.to_dict()["entries"][entry]["call"]
        assert f"{call}.simplify(activities={k}, paths={paths / 100:g})" in status
        assert page.page.locator("#jm-map g.station").count() == k
    page.clean()


@pytest.mark.slow
def test_clicks_list_the_accounts_behind_a_station_and_a_step(demo_page: _Page, demo: jm.JourneyLog) -> None:
    page = demo_page.page
    names = list(demo.activities)
    smb = jm.journey_map(demo, by="segment")["SMB"]
    smb_cases = set(demo.cases.loc[demo.cases["segment"] == "SMB", "case"])
    entry = ["All accounts", *jm.journey_map(demo, by="segment")].index("SMB")
    demo_page.set("#jm-cohort", entry, "change")
    demo_page.set("#jm-activities", len(smb.nodes) - 1)
    demo_page.set("#jm-paths", 100)
    # a station: every SMB account that touched it, the first 200 in case order, then "N more"
    busiest = smb.nodes.sort_values("cases", ascending=False).iloc[0]
    page.locator(f'#jm-map g.station[data-activity="{names.index(busiest["activity"])}"]').click()
    head = page.locator("#jm-accounts-head")
    assert head.get_attribute("data-total") == str(busiest["cases"])
    journeys = _cases_with(demo, None, smb_cases)
    want = [c for c, j in journeys.items() if busiest["activity"] in j]
    assert len(want) == busiest["cases"]
    listed = page.locator("#jm-accounts li .case").all_inner_texts()
    assert listed == want[:200]
    if len(want) > 200:
        assert f"and {len(want) - 200} more" in page.locator("#jm-accounts-more").inner_text()
    assert page.locator("#jm-details h2").inner_text() == busiest["activity"]
    # a step of the projected map (8 stations): accounts whose projected journey takes it
    demo_page.set("#jm-activities", 8 - 1)
    simple = smb.simplify(activities=8)
    kept = set(simple.nodes["activity"])
    step = simple.edges.iloc[1]
    s, t = names.index(step["source"]), names.index(step["target"])
    page.locator(f'#jm-map g.step[data-source="{s}"][data-target="{t}"]').dispatch_event("click")
    projected = _cases_with(demo, kept, smb_cases)
    want = [c for c, j in projected.items() if any(a == step["source"] and b == step["target"]
                                                    for a, b in itertools.pairwise(j))]
    assert len(want) == step["cases"] == int(head.get_attribute("data-total") or -1)
    assert page.locator("#jm-accounts li .case").all_inner_texts() == want[:200]
    # hovering shows the step's figures
    page.locator(f'#jm-map g.step[data-source="{s}"][data-target="{t}"]').dispatch_event("mouseenter")
    details = page.locator("#jm-details").inner_text()
    assert f"times taken\n{step['count']:,}" in details.replace("\t", "\n")
    demo_page.clean()


@pytest.mark.slow
def test_the_cohort_switcher_changes_the_map_and_the_subway(demo_page: _Page, demo: jm.JourneyLog,
                                                            explorer: jm.Explorer) -> None:
    page = demo_page.page
    assert [_plain(o) for o in page.locator("#jm-cohort option").all_inner_texts()] == [
        f"{name} ({n:,})" for name, n in zip(explorer.cohorts, explorer.summary["n_cases"], strict=True)]
    shown = []
    for entry, jmap in enumerate(_maps(demo, "segment")):
        demo_page.set("#jm-cohort", entry, "change")
        demo_page.set("#jm-activities", len(jmap.nodes) - 1)
        counts = page.locator("#jm-map g.station text:last-of-type").all_text_contents()
        assert sorted(counts) == sorted(f"{c:,} account{'' if c == 1 else 's'}" for c in jmap.nodes["cases"])
        visible = page.locator(".jm-subway:not([hidden])")
        assert visible.count() == 1 and visible.get_attribute("data-entry") == str(entry)
        assert page.locator(".jm-subway:not([hidden]) svg").is_visible()
        shown.append(tuple(counts))
    assert len(set(shown)) == len(shown)  # each cohort has its own map
    demo_page.clean()


@pytest.mark.slow
def test_hostile_names_stay_text_in_the_browser(browser: Any, tmp_path: Path) -> None:
    log = _evil_log()
    ex = jm.explore(log, by="segment", path=tmp_path / "evil.html")
    page = _Page(browser, tmp_path / "evil.html")
    p = page.page
    options = p.locator("#jm-cohort option").all_text_contents()
    assert [_plain(o.rsplit(" (", 1)[0]) for o in options[1:]] == list(ex.cohorts[1:]) and EVIL[0] in ex.cohorts
    names = ex.to_dict()["activities"]
    titles = p.locator("#jm-map g.station title").all_text_contents()
    for evil in EVIL:
        assert any(t.startswith(evil + "\n") for t in titles), evil
    target = names.index(EVIL[1])
    p.locator(f'#jm-map g.station[data-activity="{target}"]').click()
    assert p.locator("#jm-details h2").text_content() == EVIL[1]
    listed = p.locator("#jm-accounts li .case").all_text_contents()
    assert any(c.startswith(EVIL[1]) for c in listed) and any(c.startswith(EVIL[5]) for c in listed)
    for entry in range(len(ex.cohorts)):
        page.set("#jm-cohort", entry, "change")
    counts = p.evaluate("""() => ({
        img: document.getElementsByTagName('img').length,
        scripts: document.scripts.length,
        js: Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes).some(a =>
              (/^(href|src|action|formaction|xlink:href)$/i.test(a.name) && /^\\s*javascript:/i.test(a.value))
              || /^on/i.test(a.name))).length,
        urls: document.querySelectorAll('[href], [src], [action]').length,
    })""")
    assert counts == {"img": 0, "scripts": 2, "js": 0, "urls": 0}
    page.clean()


@pytest.mark.slow
def test_fits_its_container_without_horizontal_scroll(demo_page: _Page) -> None:
    page = demo_page.page
    demo_page.set("#jm-cohort", 0, "change")
    for width in (1400, 900):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        box = page.locator("#jm-map").bounding_box()
        assert box is not None and box["width"] <= width
        assert page.locator("#jm-map").get_attribute("viewBox") != "0 0 100 60"
    page.set_viewport_size({"width": 1400, "height": 900})
    demo_page.clean()


@pytest.mark.slow
def test_step_labels_keep_off_the_stage_names(demo_page: _Page, demo: jm.JourneyLog) -> None:
    page = demo_page.page
    demo_page.set("#jm-cohort", 0, "change")
    overlaps = []
    for k in range(len(jm.journey_map(demo).nodes)):
        demo_page.set("#jm-activities", k)
        for paths in (30, 100):
            demo_page.set("#jm-paths", paths)
            n = page.evaluate("""() => {
                const box = e => e.getBBox();
                const heads = [...document.querySelectorAll('#jm-map g.stages text')].map(box);
                const labels = [...document.querySelectorAll('#jm-map g.labels text')].map(box);
                const hit = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height
                                      && b.y < a.y + a.height;
                return labels.filter(l => heads.some(h => hit(l, h))).length;
            }""")
            if n:
                overlaps.append((k + 1, paths, n))
    assert overlaps == []
    demo_page.clean()


#: counts the text measurements the page makes (a long name once took one per character)
_COUNT_MEASURES = """(() => {
  const P = SVGTextContentElement.prototype, measure = P.getComputedTextLength;
  window.jmMeasured = 0;
  P.getComputedTextLength = function () { window.jmMeasured += 1; return measure.call(this); };
})();"""


@pytest.mark.slow
def test_long_names_are_cut_before_they_are_measured(browser: Any, tmp_path: Path) -> None:
    """Names of 10,000 characters (with and without spaces, with characters outside the
    BMP) render at once: a station shows an ellipsis; the tooltip and details, the whole name."""
    names = [("very long name " * 700)[:10_000], "x" * 10_000, "\U0001f600" * 5_000, "short"]
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [(f"c{i}" if i % 3 else names[0] + str(i), a, t0 + pd.Timedelta(hours=d))
            for i in range(24) for d, a in enumerate(["Start", names[i % 4], "End"])]
    frame = pd.DataFrame(rows, columns=["case", "activity", "ts"])
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts")
    ex = jm.explore(log, path=tmp_path / "long.html")
    page = _Page(browser, tmp_path / "long.html", init=_COUNT_MEASURES)
    p = page.page
    assert p.evaluate("window.jmMeasured") < 500  # 23,944 before names were cut
    acts = ex.to_dict()["activities"]
    for name in names[:3]:
        station = p.locator(f'#jm-map g.station[data-activity="{acts.index(name)}"]')
        lines = station.locator("text").all_text_contents()[:-1]  # the name's lines, then the accounts
        assert len(lines) == 2 and lines[-1].endswith("\u2026") and "\ufffd" not in "".join(lines)
        assert len("".join(lines)) < 100
        assert station.locator("title").text_content().startswith(name + "\n")
    station = p.locator(f'#jm-map g.station[data-activity="{acts.index(names[0])}"]')
    station.click()
    assert p.locator("#jm-details h2").text_content() == names[0]
    assert all(c.startswith(names[0]) for c in p.locator("#jm-accounts li .case").all_text_contents()[:1])
    page.clean()


@pytest.mark.slow
def test_names_in_text_keep_their_direction_to_themselves(browser: Any, tmp_path: Path) -> None:
    """A name with an unclosed right-to-left override must not turn the text after it
    around ("X -> Demo" shown as "omeD <- X"): names inside text are isolated."""
    spoof = "\u202eabc"
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [(f"c{i}", a, t0 + pd.Timedelta(hours=d), spoof if i % 2 else "plain")
            for i in range(10) for d, a in enumerate([spoof, "Demo"])]
    frame = pd.DataFrame(rows, columns=["case", "activity", "ts", "seg"])
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts", case_attributes=["seg"])
    ex = jm.explore(log, by="seg", path=tmp_path / "bidi.html")
    acts = ex.to_dict()["activities"]
    page = _Page(browser, tmp_path / "bidi.html")
    p = page.page
    p.locator(f'#jm-map g.step[data-source="{acts.index(spoof)}"][data-target="{acts.index("Demo")}"]'
              ).dispatch_event("click")
    assert p.locator("#jm-details h2").text_content() == f"\u2068{spoof}\u2069 \u2192 \u2068Demo\u2069"
    # where the browser draws them: the arrow left of "Demo", as written
    arrow, demo = p.evaluate("""() => {
        const h = document.querySelector('#jm-details h2'), text = h.firstChild, r = document.createRange();
        const x = i => { r.setStart(text, i); r.setEnd(text, i + 1); return r.getBoundingClientRect().left; };
        return [x(text.data.indexOf('\u2192')), x(text.data.indexOf('Demo'))];
    }""")
    assert arrow < demo
    assert p.locator("#jm-accounts li .journey").first.text_content() == (
        f"\u2068{spoof}\u2069 \u2192 \u2068Demo\u2069 (2 touches)")
    options = p.locator("#jm-cohort option").all_text_contents()
    assert f"\u2068{spoof}\u2069 (5)" in options
    page.clean()


@pytest.mark.slow
def test_the_paths_slider_stops_where_the_levels_steps_end(demo: jm.JourneyLog, browser: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_explore, "MAX_STEPS", 30)
    ex = jm.explore(demo, paths=1.0, path=tmp_path / "capped.html")
    data, jmap = ex.to_dict(), jm.journey_map(demo)
    full = data["entries"][0]["levels"][-1]
    top, n = full["paths_max"], len(jmap.nodes)
    assert top < 100
    page = _Page(browser, tmp_path / "capped.html")
    p = page.page
    assert p.locator("#jm-paths").get_attribute("max") == str(top)
    assert page.steps(data["activities"]) == _expected(jmap, n, top)
    status = p.locator("#jm-status").inner_text()
    assert f"simplify(activities={n}, paths={top / 100:g})" in status
    assert f"the page holds the {math.ceil(top / 100 * full['n_ranked'])} most frequent" in status
    assert f"the paths slider stops at {top}%" in status
    assert p.locator("#jm-paths-out").inner_text() == f"{top}% (at most {top}% here)"
    assert "Steps: an activities level with more steps than the page holds" in p.locator("#jm-notes").inner_text()
    page.set("#jm-activities", 2)  # 3 activities: few steps, the whole ranking, back at 100%
    assert data["entries"][0]["levels"][2]["paths_max"] == 100
    assert p.locator("#jm-paths").get_attribute("max") == "100"
    assert page.steps(data["activities"]) == _expected(jmap, 3, 100)
    page.clean()


@pytest.mark.slow
def test_a_missing_subway_view_says_why(browser: Any, tmp_path: Path) -> None:
    jm.explore(_long_journeys_log(), by="kind", path=tmp_path / "long.html")
    page = _Page(browser, tmp_path / "long.html")
    p = page.page
    assert p.locator("#jm-subway-none").is_visible()
    assert "a journey to draw has 50 touches" in p.locator("#jm-subway-none").inner_text()
    page.set("#jm-cohort", 2, "change")
    assert not p.locator("#jm-subway-none").is_visible() and p.locator(".jm-subway:not([hidden]) svg").is_visible()
    page.clean()


#: more hostile names, for a second browser run: markup that closes an attribute, an unclosed
#: right-to-left override, line and paragraph separators, 10,000 characters
EVIL_MORE = ['"><svg onload=alert(1)>', "\u202eexe.gpj", "a\u2028b\u2029c", "z" * 10_000, "{{ 7*7 }}", "]]>"]


@pytest.mark.slow
def test_more_hostile_names_and_title_stay_text_also_in_the_notebook_frame(browser: Any, tmp_path: Path) -> None:
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [(f"{EVIL_MORE[i % 6]}#{i}", a, t0 + pd.Timedelta(hours=d), EVIL_MORE[(i + 1) % 6])
            for i in range(30) for d, a in enumerate(["Start", EVIL_MORE[i % 6], EVIL_MORE[(i + 2) % 6]])]
    frame = pd.DataFrame(rows, columns=["case", "activity", "ts", EVIL_MORE[0]])
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts",
                                   case_attributes=[EVIL_MORE[0]])
    title = EVIL[0] + EVIL_MORE[0] + "\x00"
    ex = jm.explore(log, by=EVIL_MORE[0], title=title, path=tmp_path / "evil.html")
    page = _Page(browser, tmp_path / "evil.html")
    p = page.page
    titles = p.locator("#jm-map g.station title").all_text_contents()
    for evil in EVIL_MORE:
        assert any(t.startswith(evil + "\n") for t in titles), evil[:20]
    assert p.locator("header h1").text_content() == title.replace("\x00", "")  # a NUL is dropped as markup
    assert p.title() == title.replace("\x00", "\ufffd")
    for entry in range(len(ex.cohorts)):
        page.set("#jm-cohort", entry, "change")
        assert p.locator("#jm-subway-title").text_content().count("\u2068") == 1
    assert p.evaluate("document.scripts.length") == 2 and p.locator("svg[onload], img").count() == 0
    page.clean()
    # the notebook's view: the page as the srcdoc of a sandboxed frame, in a page of its own
    host = tmp_path / "notebook.html"
    host.write_text('<!DOCTYPE html><html><head><title>notebook</title></head><body>'
                    + ex._repr_mimebundle_()["text/html"] + "</body></html>", encoding="utf-8")
    nb = _Page.__new__(_Page)
    nb.url, nb.page = host.as_uri(), browser.new_page(viewport={"width": 1400, "height": 900})
    nb.errors, nb.dialogs, nb.requests = [], [], []
    nb.page.on("console", lambda m: nb.errors.append(m.text) if m.type == "error" else None)
    nb.page.on("dialog", lambda d: (nb.dialogs.append(d.message), d.dismiss()))
    nb.page.route("**/*", nb._route)
    nb.page.goto(nb.url)
    frame_ = nb.page.frames[1]
    frame_.wait_for_selector("html[data-rendered]")
    assert frame_.locator("#jm-map g.station").count() == len(ex.to_dict()["activities"])
    assert frame_.evaluate("window.origin") == "null"  # no allow-same-origin: an opaque origin
    assert frame_.evaluate("(() => { try { return parent.document.title; } catch (e) { return e.name; } })()") == (
        "SecurityError")
    nb.clean()


@pytest.mark.slow
def test_account_lists_are_the_cases_that_take_the_step_on_a_real_log(browser: Any, tmp_path: Path,
                                                                      shared_data: Path) -> None:
    """On the sepsis log (ties and repeats), every step of the whole map and of a projected
    level lists the accounts whose (projected) journey takes it: the map's `cases` of them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)  # one duplicate event set aside
        log = jm.datasets.load("sepsis", shared_data)
    ex = jm.explore(log, path=tmp_path / "sepsis.html")
    data = ex.to_dict()
    names, e = data["activities"], data["entries"][0]
    journeys = _cases_with(log, None, None)
    page = _Page(browser, tmp_path / "sepsis.html")
    p = page.page
    page.set("#jm-paths", 100)
    for position in (len(e["ks"]) - 1, 5):
        page.set("#jm-activities", position)
        kept = {names[a] for a, *_ in e["nodes"][: e["ks"][position]]}
        projected = {c: [a for a in j if a in kept] for c, j in journeys.items()}
        for s, t, _, cases, *_ in e["levels"][position]["steps"]:
            p.locator(f'#jm-map g.step[data-source="{s}"][data-target="{t}"]').dispatch_event("click")
            if s == -1:
                want = [c for c, j in projected.items() if j and j[0] == names[t]]
            elif t == -2:
                want = [c for c, j in projected.items() if j and j[-1] == names[s]]
            else:
                want = [c for c, j in projected.items()
                        if any(a == names[s] and b == names[t] for a, b in itertools.pairwise(j))]
            assert int(p.locator("#jm-accounts-head").get_attribute("data-total") or -1) == len(want) == cases
            assert p.locator("#jm-accounts li .case").all_text_contents() == [str(c) for c in want[:200]]
    page.clean()


@pytest.mark.slow
def test_the_strongest_steps_are_labelled_between_neighbouring_columns(browser: Any, tmp_path: Path) -> None:
    """"1,000 · 12.0 d" is wider than the gap between two columns: the label goes in two
    lines there rather than nowhere (the strongest steps of the fines log had no label)."""
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [(f"c{i}", a, t0 + pd.Timedelta(days=12 * d)) for i in range(1_000) for d, a in enumerate("abcd")]
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["case", "activity", "ts"]), case="case",
                                   activity="activity", timestamp="ts")
    ex = jm.explore(log, path=tmp_path / "chain.html")
    acts = ex.to_dict()["activities"]
    page = _Page(browser, tmp_path / "chain.html")
    xs = [page.page.locator(f'#jm-map g.station[data-activity="{acts.index(a)}"] rect').get_attribute("x")
          for a in "abcd"]
    assert len(set(xs)) == 4  # four columns
    for s, t in itertools.pairwise("abcd"):
        label = page.page.locator(f'#jm-map g.labels text[data-source="{acts.index(s)}"][data-target="{acts.index(t)}"]')
        assert label.count() == 1, (s, t)
        assert label.locator("tspan").all_text_contents() == ["1,000", "12.0 d"]
    page.clean()


def test_a_frame_shown_after_it_loaded_draws_its_map(browser: Any, tmp_path: Path) -> None:
    """A notebook output in a hidden tab, or a docs page's frame laid out late, runs the page
    before it has a size: nothing can be measured then, and the map is drawn again once the
    frame is shown (it used to stay a 24-point speck)."""
    ex = jm.explore(jm.datasets.demo_b2b(n_accounts=120, random_state=0), by="segment")
    host = tmp_path / "hidden.html"
    host.write_text("<!DOCTYPE html><html><body><div id='box' style='display:none'>"
                    + ex._repr_mimebundle_()["text/html"] + "</div></body></html>", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(host.as_uri())
    frame = page.frames[1]
    frame.wait_for_selector("html[data-rendered]", state="attached")
    page.evaluate("document.getElementById('box').style.display = 'block'")
    width = 0.0
    for _ in range(50):  # the page's CSP forbids wait_for_function's string evaluation: poll
        page.wait_for_timeout(100)
        if frame.evaluate("() => document.getElementById('jm-map').viewBox.baseVal.width") > 300:
            width = frame.evaluate("() => document.getElementById('jm-map').getBoundingClientRect().width")
            break
    assert width > 500
    page.close()
