"""Directly-follows tables: invariants, cohorts in one pass, and exact agreement with pm4py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeymine as jm
from journeymine._discovery import ALL, dfg_tables


def test_small_log_by_hand() -> None:
    df = pd.DataFrame({
        "c": ["A", "A", "A", "B", "B"],
        "a": ["x", "y", "x", "x", "y"],
        "t": ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 04:00", "2024-01-02 00:00", "2024-01-02 00:30"],
    })
    t = dfg_tables(jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t"))
    edges = {(r["source"], r["target"]): r for r in t.edges.iter_rows(named=True)}
    assert edges[("x", "y")]["count"] == 2 and edges[("x", "y")]["cases"] == 2
    assert edges[("x", "y")]["mean"] == pytest.approx((3600 + 1800) / 2)
    assert edges[("x", "y")]["median"] == pytest.approx(2700)
    assert edges[("y", "x")]["count"] == 1 and edges[("y", "x")]["max"] == 3 * 3600
    assert dict(t.starts.select("activity", "count").iter_rows()) == {"x": 2}
    assert dict(t.ends.select("activity", "count").iter_rows()) == {"x": 1, "y": 1}
    assert t.sizes.row(0) == (ALL, 2, 5)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from("ABCD"), st.sampled_from("uvwxyz"), st.integers(0, 50)),
                min_size=1, max_size=60))
def test_edge_counts_sum_to_transitions(rows: list[tuple[str, str, int]]) -> None:
    df = pd.DataFrame(rows, columns=["c", "a", "d"])
    df["t"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(df["d"], unit="h")
    df["seg"] = df["c"].map({"A": "s1", "B": "s1", "C": "s2", "D": "s2"})
    log = jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t", duplicates="keep",
                                   case_attributes=["seg"])
    t = dfg_tables(log, by="seg")
    assert int(t.edges["count"].sum()) == log.n_events - log.n_cases
    assert int(t.starts["count"].sum()) == log.n_cases == int(t.ends["count"].sum())
    assert int(t.nodes["events"].sum()) == log.n_events
    # one pass over all cohorts gives what each cohort's own log gives
    for key, sub in log.cohorts(by="seg").items():
        alone = dfg_tables(sub).edges.drop("cohort").sort("source", "target")
        together = t.edges.filter(pl.col("cohort") == key).drop("cohort").sort("source", "target")
        assert alone.equals(together)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["receipt.xes.gz", "bpic2012.xes.gz", "running_example.xes.gz"])
def test_equals_pm4py_frequency_and_performance_dfg(name: str, shared_data: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    log = jm.read_xes(shared_data / name, duplicates="keep")
    frame = log.to_pm4py()
    dfg, start, end = pm4py.discover_dfg(frame)
    perf = pm4py.discover_performance_dfg(frame)[0]
    t = dfg_tables(log)
    ours = {(r["source"], r["target"]): r for r in t.edges.iter_rows(named=True)}
    assert {k: v["count"] for k, v in ours.items()} == dict(dfg)
    assert dict(t.starts.select("activity", "count").iter_rows()) == dict(start)
    assert dict(t.ends.select("activity", "count").iter_rows()) == dict(end)
    for edge, stats in perf.items():
        assert ours[edge]["mean"] == pytest.approx(stats["mean"], rel=1e-6, abs=1e-6)
        assert ours[edge]["median"] == pytest.approx(stats["median"], rel=1e-6, abs=1e-6)
        assert ours[edge]["min"] == pytest.approx(stats["min"], rel=1e-6, abs=1e-6)
        assert ours[edge]["max"] == pytest.approx(stats["max"], rel=1e-6, abs=1e-6)
