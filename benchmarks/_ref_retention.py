"""A reference retention matrix in idiomatic, vectorised pandas (the analyst's baseline).

``pandas_retention(events, period)`` gives the same tidy cells as
``jm.retention(log, period=period).to_dataframe()`` without cohorts, start or active
filters: start = each account's first event, active = any event, calendar periods in UTC
(weeks start on Monday), the period holding the last event censored when it had not ended.
Used by ``tests/test_retention.py`` (agreement) and the funnel benchmark (speed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_equal", "pandas_retention"]

_FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q", "Y": "Y"}
_COLUMNS = [
    "cohort",
    "start_period",
    "period_index",
    "calendar_period",
    "accounts",
    "active",
    "share",
    "censored",
]


def _label(p: pd.PeriodIndex, period: str) -> pd.Index:
    if period == "D":
        return p.strftime("%Y-%m-%d")
    if period == "W":
        start = p.start_time
        iso = start.isocalendar()
        return pd.Index([f"{y}-W{w:02d}" for y, w in zip(iso.year, iso.week, strict=True)])
    if period == "M":
        return p.strftime("%Y-%m")
    if period == "Q":
        return pd.Index([f"{y}-Q{q}" for y, q in zip(p.year, p.quarter, strict=True)])
    return p.strftime("%Y")


def pandas_retention(
    events: pd.DataFrame, period: str = "M", *, case: str = "account_id", timestamp: str = "timestamp"
) -> pd.DataFrame:
    """Tidy retention cells (columns as ``Retention.to_dataframe()``) with pandas."""
    ts = pd.to_datetime(events[timestamp], utc=True).dt.tz_convert("UTC").dt.tz_localize(None)
    per = ts.dt.to_period(_FREQ[period])
    # the period ordinals straight from the PeriodArray (``to_numpy()`` would box every
    # event as a Period object, most of the time at 5M events)
    frame = pd.DataFrame({"case": events[case].to_numpy(), "o": per.array.asi8})
    pairs = frame[["case", "o"]].drop_duplicates()
    start = pairs.groupby("case")["o"].min().rename("s")
    pairs = pairs.join(start, on="case")
    pairs["k"] = pairs["o"] - pairs["s"]
    active = pairs.groupby(["s", "k"]).size().rename("active")
    sizes = start.value_counts().rename("accounts")
    end = ts.max()
    end_p = pd.Period(end, _FREQ[period])
    end_o = end_p.ordinal
    end_complete = (end_p + 1).start_time <= end
    first = int(start.min())
    rows = np.arange(first, int(start.max()) + 1)
    grid = pd.DataFrame([(s, k) for s in rows for k in range(end_o - s + 1)], columns=["s", "k"])
    grid = grid.join(sizes, on="s").join(active, on=["s", "k"])
    grid[["accounts", "active"]] = grid[["accounts", "active"]].fillna(0).astype("int64")
    grid["o"] = grid["s"] + grid["k"]
    grid["censored"] = (grid["o"] == end_o) & (not end_complete)
    grid["share"] = (grid["active"] / grid["accounts"]).where(~grid["censored"] & (grid["accounts"] > 0))
    labels = pd.Series(
        _label(pd.PeriodIndex.from_ordinals(np.arange(first, end_o + 1), freq=_FREQ[period]), period),
        index=np.arange(first, end_o + 1),
    )
    grid["start_period"] = labels.loc[grid["s"]].to_numpy()
    grid["calendar_period"] = labels.loc[grid["o"]].to_numpy()
    grid["period_index"] = grid["k"].astype("int64")
    grid["cohort"] = "(all)"
    grid["share"] = grid["share"].astype("float64")
    return grid[_COLUMNS].sort_values(["start_period", "period_index"], kind="stable").reset_index(drop=True)


def check_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Raise AssertionError unless both tidy frames hold the same cells (order ignored)."""
    keys = ["cohort", "start_period", "period_index"]
    x = a[_COLUMNS].sort_values(keys, kind="stable").reset_index(drop=True)
    y = b[_COLUMNS].sort_values(keys, kind="stable").reset_index(drop=True)
    for frame in (x, y):
        for col in ("cohort", "start_period", "calendar_period"):
            frame[col] = frame[col].astype(str)
        frame["censored"] = frame["censored"].astype(bool)
    pd.testing.assert_frame_equal(x, y, check_dtype=False, rtol=1e-12)
