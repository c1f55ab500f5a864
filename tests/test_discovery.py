"""Directly-follows tables and journey maps: invariants, cohorts in one pass, and exact
agreement with pm4py on every real public log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeymine as jm
from journeymine._discovery import journey_tables
from journeymine._embedded import _codes_back, _group_by_codes
from journeymine._encoding import ALL
from real_logs import ALL_LOGS


def test_small_log_by_hand() -> None:
    df = pd.DataFrame({
        "c": ["A", "A", "A", "B", "B"],
        "a": ["x", "y", "x", "x", "y"],
        "t": ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 04:00", "2024-01-02 00:00", "2024-01-02 00:30"],
    })
    t = journey_tables(jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t"))
    edges = {(r["source"], r["target"]): r for r in t.edges.iter_rows(named=True)}
    assert edges[("x", "y")]["count"] == 2 and edges[("x", "y")]["cases"] == 2
    assert edges[("x", "y")]["mean"] == pytest.approx((3600 + 1800) / 2)
    assert edges[("x", "y")]["median"] == pytest.approx(2700)
    assert edges[("x", "y")]["p90"] == pytest.approx(1800 + 0.9 * 1800)
    assert edges[("y", "x")]["count"] == 1 and edges[("y", "x")]["max"] == 3 * 3600
    assert dict(t.starts.select("activity", "count").iter_rows()) == {"x": 2}
    assert dict(t.ends.select("activity", "count").iter_rows()) == {"x": 1, "y": 1}
    assert t.sizes.select("cohort", "n_cases", "n_events").row(0) == (ALL, 2, 5)
    # x is repeated in case A, and y -> x is no back-step without stages
    assert t.sizes.select("rework_cases", "backsteps", "self_loop_cases").row(0) == (1, 0, 0)
    nodes = {r["activity"]: r for r in t.nodes.iter_rows(named=True)}
    assert (nodes["x"]["events"], nodes["x"]["cases"], nodes["x"]["rework_cases"]) == (3, 2, 1)


rows = st.lists(st.tuples(st.sampled_from("ABCD"), st.sampled_from("uvwxyz"), st.integers(0, 50)),
                min_size=1, max_size=60)


def _log(rows: list[tuple[str, str, int]]) -> jm.JourneyLog:
    df = pd.DataFrame(rows, columns=["c", "a", "d"])
    df["t"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(df["d"], unit="h")
    df["seg"] = df["c"].map({"A": "s1", "B": "s1", "C": "s2", "D": None})
    return jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t", duplicates="keep",
                                    case_attributes=["seg"])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows)
def test_map_invariants(rows: list[tuple[str, str, int]]) -> None:
    log = _log(rows)
    maps = jm.journey_map(log, by="seg")
    assert sum(m.n_cases for m in maps.values()) == log.n_cases
    for key, m in maps.items():
        assert int(m.edges["count"].sum()) == m.n_events - m.n_cases
        assert int(m.start_activities["count"].sum()) == m.n_cases == int(m.end_activities["count"].sum())
        assert int(m.nodes["events"].sum()) == m.n_events
        assert (m.edges["cases"] <= m.edges["count"]).all() and (m.nodes["cases"] <= m.n_cases).all()
        assert (m.edges["min"] <= m.edges["median"]).all() and (m.edges["median"] <= m.edges["max"]).all()
        # back-steps counted on accounts equal the flagged edges' counts
        assert m.nonlinearity["backsteps"] == int(m.edges.loc[m.edges["backstep"], "count"].sum())
        assert m.nonlinearity["self_loop_accounts"] <= int(m.edges.loc[m.edges["self_loop"], "count"].sum())
        # one pass over all cohorts gives what each cohort's own log gives
        alone = jm.journey_map(log.cohorts(by="seg")[key])
        cols = ["source", "target", "count", "cases", "mean", "median", "p90", "min", "max"]
        pd.testing.assert_frame_equal(
            alone.edges[cols].sort_values(["source", "target"]).reset_index(drop=True),
            m.edges[cols].sort_values(["source", "target"]).reset_index(drop=True))
    assert "(missing)" in maps or "D" not in {r[0] for r in rows}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(rows)
def test_variants_partition_the_cases(rows: list[tuple[str, str, int]]) -> None:
    log = _log(rows)
    v = jm.variants(log)
    assert int(v["cases"].sum()) == log.n_cases
    assert v["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert (v["cases"].diff().fillna(0) <= 0).all()
    assert int((v["length"] * v["cases"]).sum()) == log.n_events
    # filtering on every variant keeps everything; excluding them keeps nothing but an error
    assert log.filter_variants(v["variant"]).n_cases == log.n_cases


def test_encoding_is_cached_and_checked() -> None:
    from journeymine._encoding import encode

    log = jm.datasets.demo_b2b(50, random_state=1)
    assert encode(log) is encode(log)
    assert encode(log).frame.get_column("code").max() == log.n_cases - 1
    # the check: a case table that does not follow the runs of the sorted events is refused
    from journeymine import JourneyLog

    shuffled = JourneyLog._create(
        events=log.to_polars("events"),
        cases=log.to_polars("cases").reverse(),
        rejected=log.to_polars("rejected"),
        mapping=log.mapping,
        case_attributes=log.case_attributes,
        event_attributes=log.event_attributes,
        stage_order=log.stage_order,
        source="test",
    )
    with pytest.raises(RuntimeError, match="events are not grouped in case-table order"):
        encode(shuffled)


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(ALL_LOGS))
def test_maps_and_variants_equal_pm4py(name: str, shared_data: Path) -> None:
    """Edge counts, start/end activities, mean and median durations and variant counts are
    pm4py's on the same events, for every real public log."""
    pm4py = pytest.importorskip("pm4py")
    log = ALL_LOGS[name](shared_data, duplicates="keep")
    frame = log.to_pm4py()
    dfg, start, end = pm4py.discover_dfg(frame)
    perf = pm4py.discover_performance_dfg(frame)[0]
    m = jm.journey_map(log)
    assert isinstance(m, jm.JourneyMap)
    ours = {(r.source, r.target): r for r in m.edges.itertuples(index=False)}
    assert {k: v.count for k, v in ours.items()} == dict(dfg)
    assert dict(zip(m.start_activities["activity"], m.start_activities["count"], strict=True)) == dict(start)
    assert dict(zip(m.end_activities["activity"], m.end_activities["count"], strict=True)) == dict(end)
    for edge, stats in perf.items():
        assert ours[edge].mean == pytest.approx(stats["mean"], rel=1e-6, abs=1e-6)
        assert ours[edge].median == pytest.approx(stats["median"], rel=1e-6, abs=1e-6)
    theirs = pm4py.get_variants(frame)
    v = jm.variants(log)
    assert dict(zip(v["variant"], v["cases"], strict=True)) == {tuple(k): n for k, n in theirs.items()}
    assert (m.n_cases, m.n_events) == (log.n_cases, log.n_events)


@pytest.mark.realdata
def test_receipt_cohorts_by_channel(shared_data: Path) -> None:
    log = jm.read_xes(shared_data / "receipt.xes.gz")
    with pytest.warns(jm.JourneymineWarning, match=r"fewer than min_cases=20 accounts .*'Intern'"):
        maps = jm.journey_map(log, by="channel", min_cases=20)
    assert isinstance(maps, jm.JourneyMaps)
    assert "Intern" in maps.excluded and "Intern" not in maps
    assert sum(m.n_cases for m in maps.values()) + sum(maps.excluded.values()) == log.n_cases
    assert list(maps) == sorted(maps, key=lambda k: -maps[k].n_cases)
    # receipt has no stage column: stages come from positions
    assert next(iter(maps.values())).stage_source == "derived from positions"


def test_polars_tables_equal_per_cohort_tables_on_demo() -> None:
    log = jm.datasets.demo_b2b(400, random_state=3)
    t = journey_tables(log, by=["segment", "market"])
    assert t.sizes.height == 9
    for key, sub in log.cohorts(by=["segment", "market"]).items():
        alone = journey_tables(sub).edges.drop("cohort").sort("source", "target")
        together = t.edges.filter(pl.col("cohort") == key).drop("cohort").sort("source", "target")
        assert alone.equals(together)


def test_journey_tables_are_kept_on_the_log_and_never_confused() -> None:
    log = jm.datasets.demo_b2b(300, random_state=0)
    first = journey_tables(log, by="segment")
    assert journey_tables(log, by="segment") is first  # computed once per log
    # a by function with the same cohort names but other members gets its own tables
    segments = log.cases["segment"].to_numpy()
    flipped = journey_tables(log, by=lambda cases: segments[::-1])
    assert flipped is not first
    assert not flipped.sizes.equals(first.sizes)
    fresh = journey_tables(jm.datasets.demo_b2b(300, random_state=0), by=lambda cases: segments[::-1])
    assert fresh.sizes.equals(flipped.sizes) and fresh.edges.equals(flipped.edges)
    # stage ranks are part of the key: back-steps differ, counts do not
    ranked = journey_tables(log, by="segment", stage_rank=list(range(len(log.activities))))
    assert ranked is not first and ranked.edges.drop("backstep").equals(first.edges.drop("backstep"))
    # a filtered log is another log, with its own tables
    first_100 = set(log.cases["case"].iloc[:100])
    sub = log.filter_cases(lambda cases: cases["case"].isin(first_100))
    assert journey_tables(sub, by="segment").sizes.get_column("n_cases").sum() == 100


def test_variant_table_is_variants_with_activity_codes() -> None:
    from journeymine._variants import variant_table

    log = jm.datasets.demo_b2b(300, random_state=0)
    v = jm.variants(log, by="segment", examples=2)
    t = variant_table(log, by="segment", examples=2)
    names = log.activities
    assert [tuple(names[i] for i in seq) for seq in t.get_column("variant").to_list()] == list(v["variant"])
    assert t.drop("variant").to_pandas().drop(columns="examples").equals(
        v.drop(columns=["variant", "examples"]))
    assert [list(e) for e in t.get_column("examples").to_list()] == list(v["examples"])


@pytest.mark.parametrize("n", [3, 2**40])
def test_group_by_codes_equals_the_group_by_of_the_columns(n: int) -> None:
    # packed into one UInt64 when the codes fit (n = 3), by the three columns when not
    f = pl.DataFrame({"c": [0, 2, 0, 1, 0], "a": [1, 1, 1, 0, 2], "t": [2, 0, 2, 0, 1], "x": [1.0, 2, 3, 4, 5]},
                     schema_overrides={"c": pl.UInt32, "a": pl.UInt32, "t": pl.UInt32})
    sizes = {"c": n, "a": n, "t": n}
    got = _codes_back(_group_by_codes(f, sizes).agg(pl.len(), pl.col("x").sum()),
                      {k: (v, pl.UInt32()) for k, v in sizes.items()})
    want = f.group_by("c", "a", "t").agg(pl.len(), pl.col("x").sum())
    assert got.sort("c", "a", "t").equals(want.sort("c", "a", "t"))
    assert got.columns == ["c", "a", "t", "len", "x"] and got.schema == want.schema
