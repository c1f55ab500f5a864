"""Seller-side handoffs: hand-computed counts, lags and losses; equal to pm4py's handover of
work on a real log; the swimlane view; bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import journeymine as jm
from real_logs import sepsis

ROWS = [
    # case, activity, time, team
    ("A", "Webinar", "2024-01-01", "Marketing"),
    ("A", "Call", "2024-01-03", "SDR"),  # Marketing -> SDR, 2 days
    ("A", "Demo", "2024-01-10", "AE"),  # SDR -> AE, 7 days
    ("A", "Lost", "2024-02-01", "AE"),  # AE -> AE continuation; lost 22 days after SDR -> AE
    ("B", "Webinar", "2024-01-01", "Marketing"),
    ("B", "Call", "2024-01-05", "SDR"),  # Marketing -> SDR, 4 days
    ("B", "Demo", "2024-01-06", "AE"),  # SDR -> AE, 1 day
    ("B", "Signed", "2024-03-01", None),  # no team: left out
    ("C", "Webinar", "2024-01-01", "Marketing"),
]


def _log() -> jm.JourneyLog:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "time", "owner"])
    return jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", resource="owner")


def test_handoffs_by_hand() -> None:
    h = jm.handoffs(_log(), lost="Lost", window="30D")
    s = h.summary.set_index(["from", "to"])
    assert s.loc[("Marketing", "SDR"), "count"] == 2 and s.loc[("Marketing", "SDR"), "median_lag_days"] == 3
    assert s.loc[("SDR", "AE"), "accounts"] == 2 and s.loc[("SDR", "AE"), "median_lag_days"] == 4
    # after SDR -> AE: A lost within 30 days (22 days), B open (censored at the log's end)
    assert s.loc[("SDR", "AE"), "lost"] == 1 and s.loc[("SDR", "AE"), "lost_share"] == pytest.approx(0.5)
    assert h.matrix().loc["AE", "AE"] == 1  # a continuation on the diagonal
    assert h.untouched == 1 and "1 events without a team" in repr(h)
    t = h.touches.set_index(["team", "stage"])
    assert t["touches"].sum() == 8


def test_equal_to_pm4py_handover_of_work(shared_data: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = sepsis(shared_data)
        df = log.to_pm4py()
        df = df[df["org:resource"].notna()]
        sna = pm4py.discover_handover_of_work_network(df, beta=0)
    pairs = jm.handoffs(log).pairs
    total = pairs["count"].sum()
    ours = {(r["from"], r["to"]): r["count"] / total for r in pairs.to_dict("records")}
    theirs = {k: v for k, v in sna.connections.items() if v > 0}
    assert set(ours) == set(theirs)
    assert all(ours[k] == pytest.approx(theirs[k], abs=1e-12) for k in ours)


def test_the_demo_and_its_swimlane() -> None:
    log = jm.datasets.demo_b2b(800, random_state=0, version=2)
    h = jm.handoffs(log, lost="Closed lost", by="segment")
    m = h.matrix("Enterprise")
    assert m.loc["SDR", "AE"] > m.loc["AE", "SDR"] > 0
    svg = h.draw("SMB")
    assert svg.startswith("<svg") and svg.count('class="lane"') == 4 and "SDR → AE" in svg
    assert "<svg" in h._repr_html_() and h.to_dict()["team"] == "resource"


def test_bad_input() -> None:
    plain = jm.datasets.demo_b2b(50, random_state=0)
    with pytest.raises(jm.SchemaError, match="resource='owner_team'"):
        jm.handoffs(plain)
    log = _log()
    with pytest.raises(jm.InvalidParameterError, match="lost"):
        jm.handoffs(log, lost="Lsot")
    with pytest.raises(jm.InvalidParameterError, match="window"):
        jm.handoffs(log, window="-3D")
    h = jm.handoffs(log, team="owner")  # the source column's name works too
    assert h.team == "owner"
    frame = pd.DataFrame(ROWS, columns=["case", "activity", "time", "owner"]).assign(
        owner=lambda d: d["owner"].replace({"AE": "<b>AE</b>"})
    )
    hostile = jm.JourneyLog.from_frame(
        frame, case="case", activity="activity", timestamp="time", resource="owner"
    )
    svg = jm.handoffs(hostile).draw()
    assert "<b>AE</b>" not in svg and "&lt;b&gt;AE&lt;/b&gt;" in svg
