"""Where each open account stands: hand-computed stages, typical times with censoring,
next steps without look-ahead, statuses, bad input."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import journeymine as jm

ROWS = [
    # case, activity, time, stage
    ("A", "Visit", "2024-01-01", "awareness"),
    ("A", "Demo", "2024-01-10", "consideration"),
    ("A", "Proposal", "2024-04-01", "decision"),  # after at: never read
    ("B", "Visit", "2024-01-01", "awareness"),
    ("B", "Demo", "2024-01-05", "consideration"),
    ("B", "Proposal", "2024-01-20", "decision"),
    ("C", "Visit", "2024-01-01", "awareness"),
    ("C", "Lost", "2024-01-15", "decision"),  # ended: closed
    ("D", "Visit", "2022-06-01", "awareness"),  # silent for more than a year: dormant
    ("E", "Visit", "2024-02-20", "awareness"),
    ("E", "Demo", "2024-02-25", "consideration"),
]
AT = "2024-03-01"


def _log() -> jm.JourneyLog:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "time", "stage"])
    return jm.JourneyLog.from_frame(
        df,
        case="case",
        activity="activity",
        timestamp="time",
        stage="stage",
        stage_order=["awareness", "consideration", "decision"],
    )


def test_positions_by_hand() -> None:
    pos = jm.positions(_log(), at=AT, ended="Lost", min_visits=1)
    t = pos.table.set_index("case")
    assert sorted(t.index) == ["A", "B", "E"]
    assert t.loc["A", "stage"] == "consideration" and t.loc["A", "last_touchpoint"] == "Demo"
    assert t.loc["A", "days_in_stage"] == pytest.approx(51)  # from 2024-01-10, the Proposal of April unseen
    assert t.loc["B", "stage"] == "decision" and t.loc["B", "days_in_stage"] == pytest.approx(41)
    # consideration visits: B's finished after 15 days; A's (51) and E's (5) go on, censored:
    # Kaplan-Meier falls to 1/2 at 15 days and no further
    assert t.loc["A", "typical_days"] == pytest.approx(15)
    assert math.isnan(t.loc["A", "p90_days"]) and pd.isna(t.loc["A", "stalled"])
    # next steps from Demo, learned before at: B's Demo -> Proposal only
    assert t.loc["A", "next_1"] == "Proposal" and t.loc["A", "next_1_share"] == 1.0
    s = pos.summary.iloc[0]
    assert (s["open"], s["closed"], s["dormant"]) == (3, 1, 1)
    assert repr(pos).startswith("<Positions at 2024-03-01: 3 open accounts")


def test_stalled_against_the_cohorts_p90() -> None:
    rows = [
        (f"X{i}", a, t, st)
        for i in range(12)
        for a, t, st in (
            ("Visit", "2024-01-01", "awareness"),
            ("Demo", f"2024-01-{2 + i:02d}", "consideration"),
        )
    ]
    rows += [("S", "Visit", "2023-12-01", "awareness"), ("Z", "Visit", "2024-02-27", "awareness")]
    df = pd.DataFrame(rows, columns=["case", "activity", "time", "stage"])
    log = jm.JourneyLog.from_frame(
        df,
        case="case",
        activity="activity",
        timestamp="time",
        stage="stage",
        stage_order=["awareness", "consideration"],
    )
    t = jm.positions(log, at="2024-02-28", dormant=None).table.set_index("case")
    # 12 finished awareness visits of 1..12 days, Z's (1 day) and S's (89 days) going on:
    # Kaplan-Meier reaches 0.077 at 12 days, so the p90 is 12
    assert t.loc["S", "stalled"] and not t.loc["Z", "stalled"]
    assert t.loc["S", "p90_days"] == pytest.approx(12) and t.loc["S", "overdue"] == pytest.approx(89 / 12)
    assert t.index[0] == "S"  # the most overdue first


def test_the_journey_type_and_the_demo() -> None:
    log = jm.datasets.demo_b2b(800, random_state=0)
    est = jm.JourneyClusterer(n_clusters=2, random_state=0).fit(log)
    pos = jm.positions(log, at="2025-01-01", by="segment", ended=["Closed lost", "Churned"], clusterer=est)
    t = pos.table
    assert set(t["journey_type"].dropna()) <= {0, 1} and t["journey_type"].notna().all()
    assert (t["last_at"] < pd.Timestamp("2025-01-01", tz="UTC")).all()
    assert t["next_from"].isin(["cohort", "all"]).all()
    assert "<table" in pos._repr_html_() and pos.to_dict()["at"].startswith("2025-01-01")


def test_bad_input() -> None:
    log = _log()
    with pytest.raises(jm.InvalidParameterError, match="within the log's span, 2022-06-01"):
        jm.positions(log, at="2020-01-01")
    with pytest.raises(jm.InvalidParameterError, match="within the log's span"):
        jm.positions(log, at="2031-01-01")
    with pytest.raises(jm.InvalidParameterError, match="ended"):
        jm.positions(log, ended="Lsot")
    with pytest.raises(jm.InvalidParameterError, match="dormant"):
        jm.positions(log, dormant="soon")
    with pytest.raises(jm.InvalidParameterError, match="clusterer"):
        jm.positions(log, clusterer=object())
