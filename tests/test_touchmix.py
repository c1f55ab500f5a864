"""The touch mix: shares by hand, groups, gaps, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

import journeymine as jm

ROWS = [
    # case, activity, time, stage, channel, role
    ("A", "Visit", "2024-01-01", "awareness", "Web", "Champion"),
    ("A", "Webinar", "2024-01-02", "awareness", "Event", "Champion"),
    ("A", "Demo", "2024-01-05", "consideration", "Meeting", "Evaluator"),
    ("B", "Visit", "2024-01-01", "awareness", "Web", "Champion"),
    ("B", "Demo", "2024-01-08", "consideration", "Meeting", "Champion"),
    ("B", "Call", "2024-01-09", "consideration", None, "Champion"),
]


def _log() -> jm.JourneyLog:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "time", "stage", "channel", "role"])
    return jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="time", stage="stage",
                                    channel="channel", role="role", stage_order=["awareness", "consideration"])


def test_shares_groups_and_gaps_by_hand() -> None:
    mix = jm.touch_mix(_log(), groups={"online": ["Web"], "offline": ["Event", "Meeting"]})
    t = mix.table.set_index(["across", "dim"])
    assert t.loc[("awareness", "Web"), ["touches", "accounts"]].tolist() == [2, 2]
    assert t.loc[("awareness", "Web"), "share"] == pytest.approx(2 / 3)
    assert t.loc[("consideration", "(missing)"), "share"] == pytest.approx(1 / 3)
    g = mix.grouped.set_index(["across", "group"])
    assert g.loc[("consideration", "offline"), "share"] == pytest.approx(2 / 3)
    assert g.loc[("consideration", "(other)"), "touches"] == 1  # the missing channel is in no group
    roles = jm.touch_mix(_log(), dim="role")
    # the Evaluator is reached in consideration, never in awareness: a gap
    assert roles.gaps[["across", "dim"]].values.tolist() == [["awareness", "Evaluator"]]
    assert list(roles.matrix().index) == ["awareness", "consideration"]


def test_bad_input() -> None:
    log = _log()
    with pytest.raises(jm.SchemaError, match="dim='content'"):
        jm.touch_mix(log, dim="content")
    with pytest.raises(jm.InvalidParameterError, match="share no value"):
        jm.touch_mix(log, groups={"a": ["Web"], "b": ["Web"]})
    with pytest.raises(jm.InvalidParameterError, match="groups"):
        jm.touch_mix(log, groups=["Web"])  # type: ignore[arg-type]
