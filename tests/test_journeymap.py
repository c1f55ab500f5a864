"""Journey maps, simplification, drawing, stages, stage durations and variants."""

from __future__ import annotations

import json
import re

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeymine as jm


@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=400, random_state=11)


def _frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["case", "act", "ts", "stage"])


STAGED = _frame([
    ("A", "Webinar", "2024-01-01", "awareness"),
    ("A", "Proposal", "2024-01-03", "decision"),
    ("A", "Demo", "2024-01-08", "consideration"),   # back-step: decision -> consideration
    ("A", "Proposal", "2024-01-10", "decision"),
    ("A", "Signed", "2024-01-20", "decision"),
    ("B", "Webinar", "2024-02-01", "awareness"),
    ("B", "Demo", "2024-02-02", "consideration"),
    ("B", "Demo", "2024-02-05", "consideration"),   # self-loop
    ("B", "Proposal", "2024-02-06", "decision"),
])
ORDER = ["awareness", "consideration", "decision"]


def _staged(**kw: object) -> jm.JourneyLog:
    return jm.JourneyLog.from_frame(STAGED, case="case", activity="act", timestamp="ts", stage="stage",
                                    stage_order=ORDER, **kw)  # type: ignore[arg-type]


def test_backsteps_self_loops_and_rework_by_hand() -> None:
    m = jm.journey_map(_staged())
    assert isinstance(m, jm.JourneyMap)
    e = m.edges.set_index(["source", "target"])
    assert bool(e.loc[("Proposal", "Demo"), "backstep"]) and not bool(e.loc[("Demo", "Proposal"), "backstep"])
    assert bool(e.loc[("Demo", "Demo"), "self_loop"])
    assert e.loc[("Proposal", "Demo"), "median"] == 5 * 86400
    nl = m.nonlinearity
    assert (nl["backstep_accounts"], nl["backsteps"], nl["backstep_share"]) == (1, 1, 0.5)
    assert (nl["rework_accounts"], nl["self_loop_accounts"]) == (2, 1)  # Proposal twice in A, Demo twice in B
    assert m.stages == tuple(ORDER) and m.stage_source == "stage column"
    assert list(m.nodes["activity"]) == ["Webinar", "Demo", "Proposal", "Signed"]
    n = m.nodes.set_index("activity")
    assert (n.loc["Proposal", "events"], n.loc["Proposal", "cases"], n.loc["Proposal", "share"]) == (3, 2, 1.0)


def test_stage_durations_by_hand() -> None:
    sd = jm.stage_durations(_staged())
    per = sd.per_account.set_index(["case", "stage"])
    day = 86400.0
    # A: awareness 2 d; decision 5 d + 10 d (and Signed adds nothing); consideration 2 d
    assert per.loc[("A", "awareness"), "seconds"] == 2 * day
    assert per.loc[("A", "decision"), "seconds"] == 15 * day
    assert per.loc[("A", "decision"), "visits"] == 2
    assert per.loc[("A", "consideration"), "seconds"] == 2 * day
    # B: awareness 1 d, consideration 3 d + 1 d, decision 0 (last event)
    assert per.loc[("B", "consideration"), "seconds"] == 4 * day
    assert per.loc[("B", "decision"), "seconds"] == 0.0
    s = sd.summary.set_index("stage")
    assert s.loc["decision", "accounts"] == 2 and s.loc["decision", "median"] == 7.5 * day
    m = sd.matrix()
    assert m.loc["decision", "consideration"] == 1 and m.loc["consideration", "decision"] == 2
    assert m.loc["awareness", "decision"] == 1
    assert sd.matrix(normalize=True).loc["consideration", "decision"] == 1.0
    json.dumps(sd.to_dict())
    assert "decision" in sd._repr_html_() and "3 stages" in repr(sd)


def test_stage_rules_without_and_with_unordered_column(demo: jm.JourneyLog) -> None:
    ev = demo.to_polars("events")
    plain = jm.JourneyLog.from_frame(ev, case="case", activity="activity", timestamp="timestamp",
                                     event_attributes=[])
    m = jm.journey_map(plain)
    assert m.stage_source == "derived from positions"
    assert set(m.stages) <= {"early", "early-middle", "middle", "middle-late", "late"}
    pos = m.nodes.set_index("activity")["position"]
    assert pos["Webinar"] < pos["Proposal sent"] < pos["Renewal"]
    unordered = jm.JourneyLog.from_frame(ev, case="case", activity="activity", timestamp="timestamp",
                                         stage="stage", event_attributes=[])
    m2 = jm.journey_map(unordered)
    assert m2.stage_source == "stage column, order derived"
    assert m2.stages == jm.datasets.DEMO_STAGE_ORDER
    with pytest.raises(jm.SchemaError, match="no stage column"):
        jm.journey_map(plain, stage_order=["a", "b"])
    with pytest.raises(jm.SchemaError, match=r"not in stage_order"):
        jm.journey_map(unordered, stage_order=["awareness", "decision"])


def test_cohort_errors_and_missing_cohort(demo: jm.JourneyLog) -> None:
    with pytest.raises(jm.SchemaError, match=r"'channel' is not a case attribute.*'segment', 'product', 'market'"):
        jm.journey_map(demo, by="channel")
    with pytest.raises(jm.InvalidParameterError, match=r"'min_cases' parameter of journey_map must be an int >= 1"):
        jm.journey_map(demo, min_cases=0)
    maps = jm.journey_map(demo, by=lambda c: c["segment"].where(c["segment"] != "SMB", None))
    assert isinstance(maps, jm.JourneyMaps)
    assert "(missing)" in maps
    with pytest.raises(KeyError, match="No journey map for cohort 'Nope'"):
        maps["Nope"]
    empty = demo.filter_variants(top=10_000, exclude=True)
    with pytest.raises(jm.EmptyLogError, match="journey_map: the log has no events"):
        jm.journey_map(empty)


def test_exports(demo: jm.JourneyLog) -> None:
    maps = jm.journey_map(demo, by="segment")
    payload = json.loads(json.dumps(maps.to_dict()))
    assert payload["by"] == "segment" and len(payload["maps"]) == 3
    first = payload["maps"][0]
    assert {"nodes", "edges", "start_activities", "end_activities", "nonlinearity"} <= set(first)
    long = maps.to_dataframe()
    assert list(long.columns[:3]) == ["cohort", "source", "target"]
    assert len(long) == sum(len(m.edges) for m in maps.values())
    td = maps["SMB"].to_dataframe(durations="timedelta")
    assert td["median"].iloc[0] == pd.Timedelta(seconds=float(maps["SMB"].edges["median"].iloc[0]))
    s = maps.summary
    assert list(s["cohort"]) == list(maps) and s["backstep_share"].between(0, 1).all()
    with pytest.raises(jm.InvalidParameterError, match="'kind' parameter"):
        maps["SMB"].to_dataframe("arcs")  # type: ignore[arg-type]
    assert "JourneyMaps: 3 cohorts" in repr(maps) and "step back" in repr(maps["SMB"])


def _graph(m: jm.JourneyMap) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_edges_from(zip(m.edges["source"], m.edges["target"], strict=True))
    g.add_edges_from(("(start)", a) for a in m.start_activities["activity"])
    g.add_edges_from((a, "(end)") for a in m.end_activities["activity"])
    return g


@settings(max_examples=25, deadline=None, derandomize=True)
@given(activities=st.one_of(st.floats(0.05, 1.0), st.integers(1, 30)), paths=st.floats(0.0, 1.0))
def test_simplified_maps_stay_connected(activities: float, paths: float) -> None:
    log = jm.datasets.demo_b2b(n_accounts=250, random_state=5)
    m = jm.journey_map(log)
    assert isinstance(m, jm.JourneyMap)
    s = m.simplify(activities=activities, paths=paths)
    g = _graph(s)
    for a in s.nodes["activity"]:
        assert nx.has_path(g, "(start)", a) and nx.has_path(g, a, "(end)")
    assert len(s.nodes) <= len(m.nodes)
    assert set(s.edges["source"]) | set(s.edges["target"]) <= set(s.nodes["activity"])
    assert {k: s.simplified[k] for k in ("activities", "paths")} == {"activities": activities, "paths": float(paths)}
    assert s.simplified["accounts_without_kept_activities"] == m.n_cases - s.n_cases


def test_simplify_projects_and_filters(demo: jm.JourneyLog) -> None:
    m = jm.journey_map(demo)
    assert isinstance(m, jm.JourneyMap)
    same = m.simplify()
    pd.testing.assert_frame_equal(same.edges, m.edges)
    half = m.simplify(activities=0.5)
    kept = set(half.nodes["activity"])
    assert len(kept) == 13
    # projection: the map equals the map of the log without the other activities
    events = demo.to_polars("events")
    proj = jm.journey_map(demo._with(events.filter(events["activity"].is_in(list(kept)))))
    assert isinstance(proj, jm.JourneyMap)
    assert int(half.edges["count"].sum()) == int(proj.edges["count"].sum()) == half.n_events - half.n_cases
    thin = m.simplify(activities=0.5, paths=0.0)
    assert len(thin.edges) < len(half.edges)
    n = half.nodes.set_index("activity")
    assert (n["share"] == n["cases"] / m.n_cases).all()  # shares of all accounts, not inflated
    cohort_map = jm.journey_map(demo, by="segment")["SMB"].simplify(activities=5)
    assert cohort_map.cohort == "SMB" and len(cohort_map.nodes) == 5
    assert cohort_map.n_cases <= jm.journey_map(demo, by="segment")["SMB"].n_cases
    for bad in (0, 0.0, 1.5, -1, "all", True):
        with pytest.raises(jm.InvalidParameterError, match=r"'activities' parameter of JourneyMap\.simplify"):
            m.simplify(activities=bad)  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match="'paths' parameter"):
        m.simplify(paths=2)


EVIL = ["<script>alert(1)</script>", 'a"];x->y[', "back\\slash \\N", "Ünïcødé ✓ & <b>bold</b>"]


def _evil_log() -> jm.JourneyLog:
    rows = []
    for i in range(6):
        for j, a in enumerate(EVIL[i % 2:] + EVIL[: i % 2]):
            rows.append((f"c{i}", a, f"2024-01-{j + 1:02d}", EVIL[i % 3]))
    df = pd.DataFrame(rows, columns=["case", "act", "ts", "seg"])
    return jm.JourneyLog.from_frame(df, case="case", activity="act", timestamp="ts", case_attributes=["seg"])


def test_drawing_escapes_user_strings(tmp_path: pytest.TempPathFactory) -> None:
    log = _evil_log()
    m = jm.journey_map(log)
    assert isinstance(m, jm.JourneyMap)
    svg = m.draw(labels="both").svg
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "a&quot;];x&#45;&gt;y[" in svg or 'a"];x-&gt;y[' in svg
    assert "back\\slash \\N" in svg  # backslashes shown, not read as Graphviz escapes
    # one node per activity: nothing was parsed as DOT
    assert len(re.findall(r'class="node"', svg)) == len(EVIL) + 2
    maps = jm.journey_map(log, by="seg")
    html = maps._repr_html_()
    assert "<script" not in html and "&lt;script&gt;" in html
    path = m.save(tmp_path / "evil.svg")  # type: ignore[operator]
    assert path.read_text().startswith("<svg")


def test_shared_layout_pins_every_station(demo: jm.JourneyLog) -> None:
    maps = jm.journey_map(demo, by="segment")
    assert isinstance(maps, jm.JourneyMaps)
    pos = maps.positions()
    assert {"(start)", "(end)"} <= set(pos) and set(demo.activities) <= set(pos)
    sources = {k: maps.draw(k, labels="time").source for k in maps}
    pinned = [set(re.findall(r'pos="([\d.\-]+,[\d.\-]+)!"', s)) for s in sources.values()]
    assert all(p == pinned[0] for p in pinned) and len(pinned[0]) == len(pos)
    assert maps.draw("SMB").svg.startswith("<svg")
    assert maps.positions() == pos  # laid out once, deterministic


def test_png_and_dot_output(tmp_path: pytest.TempPathFactory, demo: jm.JourneyLog) -> None:
    m = jm.journey_map(demo).simplify(activities=0.4)  # type: ignore[union-attr]
    png = m.save(tmp_path / "m.png")  # type: ignore[operator]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dot = m.save(tmp_path / "m.dot")  # type: ignore[operator]
    assert dot.read_text().startswith("digraph journey {")
    with pytest.raises(jm.InvalidParameterError, match=r"'suffix' parameter of JourneyMap\.save"):
        m.save(tmp_path / "m.jpg")  # type: ignore[operator]
    with pytest.raises(jm.InvalidParameterError, match=r"'labels' parameter of JourneyMap\.draw"):
        m.draw(labels="counts")  # type: ignore[arg-type]


def test_pdf_creation_date_follows_source_date_epoch(
    tmp_path: pytest.TempPathFactory, demo: jm.JourneyLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = jm.journey_map(demo).simplify(activities=0.4)  # type: ignore[union-attr]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = m.save(tmp_path / "a.pdf").read_bytes()  # type: ignore[operator]
    if b"/CreationDate (D:" not in first:
        pytest.skip("this cairo (1.17+, e.g. Debian 13) compresses the PDF's metadata, so its date "
                    "is not pinned; docs/report.md says so")
    # cairo stamps the clock time to the second: wait for it to move on
    import time

    time.sleep(1.1)
    second = m.save(tmp_path / "b.pdf").read_bytes()  # type: ignore[operator]
    assert first.startswith(b"%PDF") and first == second
    assert re.search(rb"/CreationDate \(D:20231114221320(Z|\+00'00'?)\)", first)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "last tuesday")
    with pytest.raises(jm.InvalidParameterError, match="environment variable 'SOURCE_DATE_EPOCH'"):
        m.save(tmp_path / "c.pdf")  # type: ignore[operator]


def test_variants_and_filter_variants(demo: jm.JourneyLog) -> None:
    v = jm.variants(demo, top=5)
    assert list(v["rank"]) == [1, 2, 3, 4, 5]
    ex = v["examples"].iloc[0]
    sub = demo.filter_cases(lambda c: c["case"].isin(ex))
    assert all(tuple(g["activity"]) == v["variant"].iloc[0] for _, g in sub.events.groupby("case"))
    assert v["median_duration"].iloc[0] <= v["p90_duration"].iloc[0]
    byseg = jm.variants(demo, by="segment", top=2, examples=1)
    assert list(byseg.columns[:2]) == ["cohort", "rank"] and len(byseg) == 6
    assert all(len(e) == 1 for e in byseg["examples"])
    top = demo.filter_variants(top=3)
    assert top.n_cases == int(jm.variants(demo, top=3)["cases"].sum())
    rest = demo.filter_variants(top=3, exclude=True)
    assert top.n_cases + rest.n_cases == demo.n_cases
    assert demo.filter_variants([("No such", "journey")]).n_cases == 0
    with pytest.raises(jm.InvalidParameterError, match=r"'variants' parameter of JourneyLog\.filter_variants"):
        demo.filter_variants()
    with pytest.raises(jm.InvalidParameterError, match="not a string"):
        demo.filter_variants(["Demo"])
    with pytest.raises(jm.InvalidParameterError, match="'top' parameter of variants must be an int >= 1"):
        jm.variants(demo, top=0)


def test_declared_loops_are_not_back_steps() -> None:
    log = jm.datasets.demo_b2b(1_000, random_state=0)
    plain = jm.journey_map(log)
    # a pair that is no back-step changes nothing, through the per-account pass
    same = jm.journey_map(log, loops=[("awareness", "decision")])
    assert same.nonlinearity["backstep_accounts"] == plain.nonlinearity["backstep_accounts"]
    assert same.nonlinearity["backsteps"] == plain.nonlinearity["backsteps"] and same.nonlinearity["loop_steps"] == 0
    looped = jm.journey_map(log, loops=[("advocacy", "retention"), ("Churned", "Re-engaged")])
    e = looped.edges.set_index(["source", "target"])
    assert not e.loc[("Referral", "Product usage"), "backstep"]  # advocacy -> retention: a loop now
    assert plain.edges.set_index(["source", "target"]).loc[("Referral", "Product usage"), "backstep"]
    n = looped.nonlinearity
    assert n["backsteps"] + n["loop_steps"] == plain.nonlinearity["backsteps"] and n["loop_steps"] > 0
    assert n["backstep_accounts"] < plain.nonlinearity["backstep_accounts"]
    with pytest.raises(jm.InvalidParameterError, match="loops"):
        jm.journey_map(log, loops=[("advocacy", "nowhere")])
    with pytest.raises(jm.InvalidParameterError, match="loops"):
        jm.journey_map(log, loops="advocacy")
