"""Role lines of the subway map: one line per buying-committee role (``lines="roles"``)."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

import journeymine as jm

ROLES = {"Champion", "Economic buyer", "Technical evaluator", "Procurement", "User", "Decision maker"}


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=3_000, random_state=0)


def _paths(log: jm.JourneyLog) -> dict[str, dict[object, tuple[str, ...]]]:
    """Each role's path per account, computed the slow way: its events in journey order,
    consecutive repeats collapsed."""
    out: dict[str, dict[object, tuple[str, ...]]] = {}
    ev = log.events
    for (role, case), g in ev[ev["role"].notna()].groupby(["role", "case"], sort=False):
        acts = [a for i, a in enumerate(g["activity"]) if i == 0 or a != g["activity"].iloc[i - 1]]
        out.setdefault(str(role), {})[case] = tuple(acts)
    return out


def test_one_line_per_role_on_the_demo(demo: jm.JourneyLog) -> None:
    sm = jm.subway_map(demo, lines="roles")
    paths = _paths(demo)
    assert {ln.name for ln in sm.lines} == ROLES == set(paths)
    assert {ln.kind for ln in sm.lines} == {"role"}
    # accounts: where the role made a touch; lines in track order, most accounts first
    for ln in sm.lines:
        assert ln.accounts == len(paths[ln.name])
        assert ln.share == pytest.approx(ln.accounts / demo.n_cases)
        assert ln.median_duration is None
        assert ln.stations in set(paths[ln.name].values())  # a path some account took
    assert [ln.accounts for ln in sm.lines] == sorted((ln.accounts for ln in sm.lines), reverse=True)
    by_name = {ln.name: ln for ln in sm.lines}
    # the demo plants Procurement signing contracts: its typical path is that one touch
    assert "Contract signed" in by_name["Procurement"].stations
    assert by_name["Economic buyer"].accounts == 739
    assert "Economic buyer · 739 accounts (25%)" in sm.svg  # the legend names the role
    # a one-station line is a bar inside its station, named in the notes (never silently)
    assert by_name["Procurement"].stations == ("Contract signed",)
    assert "journey of that one station: Procurement (Contract signed)." in sm.svg
    assert sm.title == "Typical path of each buying-committee role"
    assert list(sm.summary["kind"]) == ["role"] * 6 and sm.left_out == {"lines": [], "stations": []}
    assert sm.audit().empty
    ET.fromstring(sm.svg)


def test_paths_collapse_repeats_and_lines_are_weighted_medoids() -> None:
    rows = []
    # 3 accounts: the champion's Webinar, Webinar (an economic buyer's Demo in between) is
    # one Webinar; 1 account: a longer champion path
    for i in range(3):
        rows += [(f"a{i}", "Webinar", 1, "Champion"), (f"a{i}", "Demo", 2, "Economic buyer"),
                 (f"a{i}", "Webinar", 3, "Champion"), (f"a{i}", "Proposal", 4, "Champion")]
    rows += [("b", "Webinar", 1, "Champion"), ("b", "Demo", 2, "Champion"), ("b", "Proposal", 3, "Champion"),
             ("b", "Proposal", 4, None)]
    frame = pd.DataFrame(rows, columns=["case", "act", "day", "who"])
    frame["ts"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["day"], unit="D")
    log = jm.JourneyLog.from_frame(frame, case="case", activity="act", timestamp="ts", role="who")
    sm = jm.subway_map(log, lines="roles")
    assert [(ln.name, ln.stations, ln.accounts) for ln in sm.lines] == [
        ("Champion", ("Webinar", "Proposal"), 4),  # 3 accounts against 1
        ("Economic buyer", ("Demo",), 3),
    ]


def test_role_lines_of_one_cohort(demo: jm.JourneyLog) -> None:
    maps = jm.journey_map(demo, by="segment")
    sm = jm.subway_map(maps["Enterprise"], lines="roles")
    enterprise = demo.filter_cases(segment="Enterprise")
    paths = _paths(enterprise)
    assert {ln.name: ln.accounts for ln in sm.lines} == {r: len(p) for r, p in paths.items()}
    assert all(ln.share == pytest.approx(ln.accounts / enterprise.n_cases) for ln in sm.lines)


def test_role_names_are_escaped() -> None:
    evil = ["<script>alert(1)</script>", "R&D & co", 'say "hi"']
    rows = [(f"c{i}", a, f"2024-01-{j + 1:02d}", evil[i % 3]) for i in range(6)
            for j, a in enumerate(["Webinar", "Demo", "Proposal"][: 1 + i % 3])]
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["case", "act", "ts", "who"]),
                                   case="case", activity="act", timestamp="ts", role="who")
    sm = jm.subway_map(log, lines="roles")
    assert {ln.name for ln in sm.lines} == set(evil)
    assert any(len(ln.stations) == 1 for ln in sm.lines)  # the notes name it too
    for text in (sm.svg, sm.to_html()):
        assert "<script" not in text and "R&D &" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "R&amp;D &amp; co" in text
    root = ET.fromstring(sm.svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert {g.get("data-line") for g in root.iter(f"{ns}g") if g.get("class") == "line"} == set(evil)
    legend = "".join(t.text or "" for g in root.iter(f"{ns}g") if g.get("class") == "legend"
                     for t in g.iter(f"{ns}text"))
    assert all(name in legend for name in evil)
    assert sm.audit().empty


def test_same_bytes_twice_and_in_another_process(demo: jm.JourneyLog) -> None:
    svg = jm.subway_map(demo, lines="roles").svg
    again = jm.datasets.demo_b2b(n_accounts=3_000, random_state=0)
    assert jm.subway_map(again, lines="roles").svg == svg
    code = (
        "import sys, journeymine as jm\n"
        "log = jm.datasets.demo_b2b(n_accounts=3_000, random_state=0)\n"
        "sys.stdout.write(jm.subway_map(log, lines='roles').svg)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout == svg


def test_errors_say_what_to_do(demo: jm.JourneyLog) -> None:
    plain = jm.JourneyLog.from_frame(demo.to_polars("events").select("case", "activity", "timestamp", "contact"),
                                     case="case", activity="activity", timestamp="timestamp", contact="contact")
    with pytest.raises(jm.SchemaError, match=r"subway_map\(lines=\"roles\"\) needs a role column.*"
                       r"role='contact_role'"):
        jm.subway_map(plain, lines="roles")
    for bad in ("role", "Roles", ["Champion"]):
        with pytest.raises(jm.InvalidParameterError, match=r"The 'lines' parameter of subway_map must be a "
                           r"mapping of line name to a sequence of stations, or 'roles'\. Got "):
            jm.subway_map(demo, lines=bad)  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match=r"must be a JourneyLog or a single JourneyMap.*"
                       r"Got 'JourneyMaps'"):
        jm.subway_map(jm.journey_map(demo, by="segment"), lines="roles")
    no_roles = pd.DataFrame({"case": ["a", "a"], "act": ["x", "y"], "ts": ["2024-01-01", "2024-01-02"],
                             "who": [None, None]})
    log = jm.JourneyLog.from_frame(no_roles, case="case", activity="act", timestamp="ts", role="who")
    with pytest.raises(jm.SchemaError, match="no event of the log has a role"):
        jm.subway_map(log, lines="roles")
