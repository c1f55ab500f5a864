"""Subway maps: layout structure, line order, stations per line, escaping, rendering, scale."""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from pathlib import Path

import pandas as pd
import pytest

import journeymine as jm
from journeymine._subway import medoid
from journeymine._subway_layout import _back_route, connect


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=1_500, random_state=2)


def _angles(points: list[tuple[float, float]]) -> set[float]:
    out = set()
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        if (x1, y1) != (x2, y2):
            out.add(round(math.degrees(math.atan2(abs(y2 - y1), abs(x2 - x1)))))
    return out


def test_segments_are_octilinear(demo: jm.JourneyLog) -> None:
    for dx, dy in [(300, 0), (300, 92), (300, -184), (132, 276), (132, -30)]:
        for xm in (dx / 2, dx / 3):
            route = connect(0, 0, dx, dy, xm)
            assert _angles(route) <= {0, 45, 90} and route[0] == (0, 0) and route[-1] == (dx, dy)
    back = _back_route(400, 0, 100, 0, 28, 28, 120)
    assert _angles(back) <= {0, 45, 90}
    assert max(y for _, y in back) == 120 and back[-1] == (100, 0)  # dips below, ends at the station
    # every drawn step of a real map, loops aside
    sm = jm.subway_map(demo, top=8)
    for d in re.findall(r'class="line-path" d="([^"]+)"', sm.svg):
        for sub in d.split("M")[1:]:
            if "C" not in sub:
                pts = [tuple(map(float, p.split(","))) for p in re.findall(r"[\d.-]+,[\d.-]+", sub)]
                assert _angles(pts) <= {0, 45, 90}


def test_medoid_prefers_the_central_frequent_journey() -> None:
    variants = [("a", "b", "c", "d"), ("a", "b", "c"), ("a", "x", "y", "z", "w"), ("a", "b", "d")]
    assert medoid(variants, [10, 10, 1, 5]) == 0
    assert medoid([("a",), ("b",)], [1, 1]) == 0  # ties: the first (more frequent) wins


def test_cohort_lines_structure(demo: jm.JourneyLog) -> None:
    maps = jm.journey_map(demo, by="segment")
    sm = jm.subway_map(maps, timing=True, dropoff=True, conversion=["Contract signed"])
    names = [ln.name for ln in sm.lines]
    assert names == list(maps)  # line order: most accounts first, like the cohorts
    assert [ln.accounts for ln in sm.lines] == [m.n_cases for m in maps.values()]
    st = sm.stations.set_index("station")
    # every station a line stops at is on the map, and lists that line
    for ln in sm.lines:
        assert len(ln.stations) >= 2
        for s in ln.stations:
            assert ln.name in st.loc[s, "lines"]
    # stations are laid out left to right in journey order, one column each
    assert list(sm.stations["column"]) == sorted(sm.stations["column"])
    assert sm.stations["column"].is_unique
    order = jm.journey_map(demo).nodes["activity"].tolist()  # type: ignore[union-attr]
    assert [s for s in order if s in st.index] == list(sm.stations["station"])
    # interchanges are the stations on more than one line
    assert (st["interchange"] == st["lines"].map(len).gt(1)).all()
    # drop-off never exceeds the journeys that end there
    assert (st["dropoff"] <= st["ends"]).all() and st["ends"].sum() > 0
    assert sm.stages == tuple(s for s in jm.datasets.DEMO_STAGE_ORDER if s in set(st["stage"]))
    json.dumps(sm.to_dict())
    assert "SubwayMap: 3 lines" in repr(sm)


def test_rendered_svg_has_every_station_and_line(demo: jm.JourneyLog, tmp_path: Path) -> None:
    sm = jm.subway_map(demo, top=5)
    svg = sm.svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(re.findall(r'<g class="station', svg)) == len(sm.stations)
    assert len(re.findall(r'<g class="line"', svg)) == len(sm.lines) == 5
    assert len(re.findall(r'class="legend-swatch"', svg)) == 5
    import xml.etree.ElementTree as ET

    ET.fromstring(svg)  # well-formed XML
    assert sm.save(tmp_path / "m.svg").read_text() == svg
    assert sm.save(tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<figure" in sm.save(tmp_path / "m.html").read_text()
    assert sm._repr_svg_() == svg
    with pytest.raises(jm.InvalidParameterError, match=r"'suffix' parameter of SubwayMap\.save"):
        sm.save(tmp_path / "m.gif")


def test_backsteps_and_loops_turn_back(demo: jm.JourneyLog) -> None:
    lines = {"Loop": ["Website visit", "Demo", "Proposal sent", "Demo", "Demo", "Proposal sent", "Contract signed"],
             "Straight": ["Website visit", "Demo request", "Demo", "Proposal sent", "Closed lost"]}
    sm = jm.subway_map(demo, lines=lines)
    assert [ln.name for ln in sm.lines] == ["Loop", "Straight"]
    loop_svg = re.search(r'<g class="line" data-line="Loop">.*?</g>', sm.svg, re.S)
    assert loop_svg is not None
    path = re.search(r'd="([^"]+)"', loop_svg.group(0)).group(1)  # type: ignore[union-attr]
    sm.stations.set_index("station")
    for sub in path.split("M")[1:]:
        pts = [tuple(map(float, p.split(","))) for p in re.findall(r"[\d.-]+,[\d.-]+", sub)]
        if pts[-1][0] < pts[0][0]:  # a back-step dips below both its stations
            assert max(y for _, y in pts) > max(pts[0][1], pts[-1][1]) + 10
    assert sum(1 for sub in path.split("M")[1:] if "C" in sub) == 1  # the repeated Demo: one loop
    assert "returns to an earlier station" in sm.svg and "white chevrons" in sm.svg
    assert sm.audit().empty


def test_pinned_positions_and_station_order(demo: jm.JourneyLog) -> None:
    ref = jm.subway_map(jm.journey_map(demo, by="segment"))
    other = jm.subway_map(jm.journey_map(demo.filter_cases(segment="SMB"), by="market"),
                          positions=ref.positions, stations=list(ref.positions))
    for s, (c, r) in other.positions.items():
        assert ref.positions[s] == (c, r)
    with pytest.raises(jm.InvalidParameterError, match=r"a position for every station"):
        jm.subway_map(demo, top=3, positions={"Webinar": (0, 0)})


def test_bad_input(demo: jm.JourneyLog) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"'source' parameter of subway_map"):
        jm.subway_map(pd.DataFrame())
    with pytest.raises(jm.InvalidParameterError, match=r"'lines' parameter of subway_map.*unknown"):
        jm.subway_map(demo, lines={"x": ["Webinar", "Teleport"]})
    with pytest.raises(jm.InvalidParameterError, match=r"'lines' parameter of subway_map must be a str or a list of stations"):
        jm.subway_map(demo, lines={"x": 5})  # type: ignore[dict-item]
    one = jm.subway_map(demo, lines={"x": "Webinar", "y": ["Webinar", "Demo"]})  # a one-station line
    assert one.lines[0].stations == ("Webinar",)
    with pytest.raises(jm.InvalidParameterError, match=r"'top' parameter of subway_map must be an int >= 1"):
        jm.subway_map(demo, top=0)
    with pytest.raises(jm.InvalidParameterError, match=r"'min_stations'"):
        jm.subway_map(demo, min_stations=500)


EVIL = ["<script>alert(1)</script>", 'a"];x->y[', "Ünïcødé & <b>x</b>"]


def test_user_strings_are_escaped() -> None:
    rows = [(f"c{i}", a, f"2024-01-{j + 1:02d}", EVIL[i % 3]) for i in range(6)
            for j, a in enumerate(EVIL[i % 2:] + EVIL[: i % 2])]
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["case", "act", "ts", "seg"]),
                                   case="case", activity="act", timestamp="ts", case_attributes=["seg"])
    sm = jm.subway_map(jm.journey_map(log, by="seg"), title="<i>title</i>")
    for text in (sm.svg, sm.to_html()):
        assert "<script" not in text and "<b>" not in text and "<i>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    import xml.etree.ElementTree as ET

    ET.fromstring(sm.svg)


def test_scales_and_says_what_it_left_out() -> None:
    # 60 activities, 20 journeys: more than the 40 stations and 12 lines a map keeps
    rows = []
    for i in range(20):
        acts = [f"Touch {(i * 7 + k) % 60:02d}" for k in range(12)]
        for n in range(20 - i):
            rows += [(f"j{i}-{n}", a, f"2024-01-01 {k:02d}:00") for k, a in enumerate(acts)]
    log = jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["case", "act", "ts"]),
                                   case="case", activity="act", timestamp="ts")
    start = time.perf_counter()
    sm = jm.subway_map(log, top=20)
    elapsed = time.perf_counter() - start
    assert len(sm.lines) == 12 and len(sm.left_out["lines"]) == 8
    assert len(sm.stations) <= 40 and len(sm.left_out["stations"]) > 0
    assert "Left out to stay readable" in sm.to_html()
    assert elapsed < 30  # generous: the 2 s budget is shown in the benchmark, not asserted here


def test_channel_overlay(demo: jm.JourneyLog) -> None:
    sm = jm.subway_map(jm.journey_map(demo, by="segment"), channels=True)
    st = sm.stations.set_index("station")
    events = demo.events
    for s in st.index:
        counts = events.loc[events["activity"] == s, "channel"].value_counts()
        assert st.loc[s, "channel"] == sorted(counts[counts == counts.max()].index)[0]
    assert len(re.findall(r'<rect class="channel"', sm.svg)) == len(st)
    assert "Main channel" in sm.svg
    plain = jm.JourneyLog.from_frame(demo.to_polars("events").select("case", "activity", "timestamp"),
                                     case="case", activity="activity", timestamp="timestamp")
    with pytest.raises(jm.SchemaError, match="channels=True needs a channel column"):
        jm.subway_map(plain, channels=True)


def _single_touch_log() -> jm.JourneyLog:
    """A cohort of single touches with one longer journey among them, and a cohort of deals."""
    rows = [(f"s{i}", "Webinar", "2024-01-01", "Leads") for i in range(40)]
    rows += [("x", "Webinar", "2024-01-01", "Leads"), ("x", "Demo", "2024-01-02", "Leads")]
    rows += [(f"d{i}", a, f"2024-01-0{k + 1}", "Deals") for i in range(12)
             for k, a in enumerate(["Webinar", "Demo", "Proposal sent", "Contract signed"])]
    return jm.JourneyLog.from_frame(pd.DataFrame(rows, columns=["case", "act", "ts", "seg"]),
                                    case="case", activity="act", timestamp="ts", case_attributes=["seg"])


def test_single_station_journeys_are_drawn() -> None:
    log = _single_touch_log()
    sm = jm.subway_map(jm.journey_map(log, by="seg"), timing=True, dropoff=True)
    # the cohort of single touches is drawn as its journey, not as the one lead that went on
    assert {ln.name: ln.stations for ln in sm.lines} == {
        "Leads": ("Webinar",), "Deals": ("Webinar", "Demo", "Proposal sent", "Contract signed")}
    leads = re.search(r'data-line="Leads">.*?class="line-path" d="([^"]+)"', sm.svg, re.S)
    assert leads is not None and leads.group(1).count("M") == 1  # a bar inside the station
    assert "1 stop" in sm.svg and "journey of that one station" in sm.svg
    assert sm.audit().empty
    est = jm.JourneyClusterer(n_clusters=2, random_state=0).fit(log)
    lines = jm.subway_map(est).lines
    assert [ln.stations for ln in lines] == [tuple(v) for v in est.representatives_["variant"]]
    assert ("Webinar",) in [ln.stations for ln in lines]


def test_cluster_lines_are_the_representatives(demo: jm.JourneyLog) -> None:
    est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(demo)
    sm = jm.subway_map(est, timing=True, dropoff=True)
    assert [ln.stations for ln in sm.lines] == [tuple(v) for v in est.representatives_["variant"]]
    assert [ln.kind for ln in sm.lines] == ["cluster"] * 3


def _levenshtein(a: list[int], b: list[int]) -> int:
    """The textbook edit distance, cell by cell: the reference for _levenshtein_pairs."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def test_edit_distances_of_all_pairs_at_once_equal_the_pairwise_loop() -> None:
    import numpy as np

    from journeymine._subway import _levenshtein_pairs

    rng = np.random.default_rng(0)
    for _ in range(200):
        n, alphabet = int(rng.integers(0, 9)), int(rng.integers(1, 5))
        seqs = [list(rng.integers(0, alphabet, size=int(rng.integers(0, 12)))) for _ in range(n)]
        ref = np.zeros((n, n))
        for i, j in itertools.combinations(range(n), 2):
            ref[i, j] = ref[j, i] = _levenshtein(seqs[i], seqs[j])
        assert np.array_equal(_levenshtein_pairs(seqs), ref)


def test_edit_distances_of_long_journeys_equal_the_pairwise_loop() -> None:
    # past 64 tokens the bit-parallel algorithm spans several words; codes past 255 too
    import numpy as np

    from journeymine._subway import _levenshtein_pairs

    rng = np.random.default_rng(1)
    for alphabet in (3, 40, 5000):
        seqs = [[int(x) for x in rng.integers(0, alphabet, size=int(rng.integers(0, 260)))] for _ in range(6)]
        ref = np.zeros((6, 6))
        for i, j in itertools.combinations(range(6), 2):
            ref[i, j] = ref[j, i] = _levenshtein(seqs[i], seqs[j])
        assert np.array_equal(_levenshtein_pairs(seqs), ref)
