"""Invariants of JourneyLog construction, checked on generated messy frames."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeymine as jm
from journeymine._timestamps import parse_timestamps

CASES = st.sampled_from(["A", "B", "NA", "0001", "null", "", None, "Ω-7"])
ACTS = st.sampled_from(["Visit", "Demo", "Proposal", "", None, "<b>x</b>"])
STAMPS = st.one_of(
    st.datetimes(
        min_value=pd.Timestamp("1800-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2200-01-01").to_pydatetime(),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["2024-01-01", "2024-01-01T10:00:00+05:00", "garbage", "", None]),
)
ROWS = st.lists(st.tuples(CASES, ACTS, STAMPS), min_size=1, max_size=40)


def to_frame(rows: list[tuple[object, object, object]]) -> pl.DataFrame:
    case, act, ts = zip(*rows, strict=True) if rows else ((), (), ())
    return pl.DataFrame(
        {"c": list(case), "a": list(act), "t": list(ts)},
        schema={"c": pl.String, "a": pl.String, "t": pl.String},
    )


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(ROWS)
def test_every_row_is_kept_or_rejected_with_a_reason(rows: list[tuple[object, object, object]]) -> None:
    df = to_frame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        try:
            log = jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t")
        except jm.EmptyLogError as exc:
            rejected = exc.rejected  # type: ignore[attr-defined]
            assert len(rejected) == len(rows)
            assert rejected["reason"].notna().all()
            return
    assert log.n_events + log.n_rejected == len(rows)
    kept = set(log.events["row"]) | set(log.rejected["row"])
    assert kept == set(range(len(rows)))
    assert set(log.events["row"]).isdisjoint(set(log.rejected["row"]))
    ev = log.events
    # sorted by case (contiguous), then timestamp, then input row
    firsts = ev.groupby("case", sort=False)["row"].min()
    assert ev["case"].drop_duplicates().tolist() == firsts.sort_values().index.tolist()
    for _, grp in ev.groupby("case", sort=False):
        keys = list(zip(grp["timestamp"], grp["row"], strict=True))
        assert keys == sorted(keys)
    assert log.cases["n_events"].sum() == log.n_events


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from("ABC"), st.sampled_from("xyz"), st.integers(0, 5)),
                min_size=1, max_size=30), st.permutations("ABC"))
def test_interleaving_cases_keeps_each_journey(rows: list[tuple[str, str, int]], rank: list[str]) -> None:
    """Journeys (activity sequences per case, ties by input order) do not depend on
    how cases interleave in the input."""
    df = pd.DataFrame(rows, columns=["c", "a", "d"])
    df["t"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(df["d"], unit="D")
    # interleave cases differently while keeping each case's own row order
    order = sorted(range(len(df)), key=lambda i: (rank.index(df.c[i]), i))
    shuffled = df.iloc[order]
    a = jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t", duplicates="keep")
    b = jm.JourneyLog.from_frame(shuffled, case="c", activity="a", timestamp="t", duplicates="keep")
    seq = lambda log: log.events.groupby("case")["activity"].agg(tuple).to_dict()  # noqa: E731
    assert seq(a) == seq(b)


# A column writes its day/month dates in one order (as a real export does), possibly next to
# year-first dates, each with or without a time. name: (strftime, day first?)
DAY_MONTH = {"%d/%m/%Y": True, "%m/%d/%Y": False, "%d.%m.%Y": True, "%d-%m-%Y": True,
             "%m/%d/%y": False, "%d.%m.%y": True}
YEAR_FIRST = ["%Y-%m-%d", "%Y/%m/%d"]
TIMES = {"": "day", " %H:%M": "minute", " %H:%M:%S": "second", " %H:%M:%S.%f": "us", " %I:%M %p": "minute"}


def truncate(moment: dt.datetime, unit: str) -> dt.datetime:
    keep = {"day": dict(hour=0, minute=0, second=0, microsecond=0), "minute": dict(second=0, microsecond=0),
            "second": dict(microsecond=0), "us": {}}[unit]
    return moment.replace(**keep)  # type: ignore[arg-type]


@st.composite
def dated_column(draw: st.DrawFn) -> tuple[str, list[str], list[dt.datetime], list[bool]]:
    order = draw(st.sampled_from(sorted(DAY_MONTH)))
    moments = draw(st.lists(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2068, 12, 31)),
                            min_size=1, max_size=25))
    texts, expected, numeric = [], [], []
    for moment in moments:
        date = draw(st.sampled_from([order, *YEAR_FIRST]))
        time = draw(st.sampled_from(sorted(TIMES)))
        if date == "%Y-%m-%d" and time.startswith(" %H") and draw(st.booleans()):
            time = "T" + time[1:]
        texts.append(moment.strftime(date + time))
        expected.append(truncate(moment, TIMES[" " + time[1:] if time else ""]).replace(tzinfo=dt.timezone.utc))
        numeric.append(date == order)
    return order, texts, expected, numeric


@settings(max_examples=200, deadline=None, derandomize=True)
@given(dated_column())
def test_dates_are_read_exactly_or_refused_never_swapped(
    column: tuple[str, list[str], list[dt.datetime], list[bool]],
) -> None:
    order, texts, expected, numeric = column
    values = pl.Series("t", texts)
    try:
        got = parse_timestamps(values, column="t", tz=None, fmt=None)
    except jm.SchemaError as exc:
        assert "dayfirst" in str(exc)
        # refused only when no day/month value shows the order (every day and month <= 12)
        assert all(e.day <= 12 for e, n in zip(expected, numeric, strict=True) if n)
    else:
        assert got.to_list() == expected
    got = parse_timestamps(values, column="t", tz=None, fmt=None, dayfirst=DAY_MONTH[order])
    assert got.to_list() == expected
