"""Calendar periods, one definition for every function that takes one.

Periods are calendar periods in UTC: days, ISO weeks (Monday to Sunday), months, quarters
and years, named so that they sort in time: ``2024-03-05``, ``2024-W10``, ``2024-03``,
``2024-Q1``, ``2024``. :func:`journeymine.period` cohorts and :func:`journeymine.retention`
use them; both accept the same names and pandas-like aliases (:func:`resolve_period`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import polars as pl

from ._params import invalid

__all__ = ["PERIODS", "period_label", "period_labels", "period_ordinal", "period_start", "resolve_period"]

Period = Literal["D", "W", "M", "Q", "Y"]
#: the calendar periods, and what they are called in text
PERIODS: dict[str, str] = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
_ALIASES: dict[str, str] = {
    **{k: k for k in PERIODS},
    **{k.lower(): k for k in PERIODS},
    "day": "D", "days": "D", "daily": "D", "1d": "D",
    "week": "W", "weeks": "W", "weekly": "W", "W-MON": "W", "1w": "W",
    "month": "M", "months": "M", "monthly": "M", "MS": "M", "ME": "M", "1mo": "M",
    "quarter": "Q", "quarters": "Q", "quarterly": "Q", "QS": "Q", "QE": "Q", "1q": "Q",
    "year": "Y", "years": "Y", "yearly": "Y", "annual": "Y", "YS": "Y", "YE": "Y", "A": "Y", "1y": "Y",
}  # fmt: skip
_EPOCH = dt.date(1970, 1, 1)


def resolve_period(period: Any, owner: str, name: str = "period") -> str:
    """``period`` as one of ``"D", "W", "M", "Q", "Y"`` (pandas-like aliases accepted).

    Examples
    --------
    >>> from journeymine._periods import resolve_period
    >>> resolve_period("MS", "retention"), resolve_period("week", "retention")
    ('M', 'W')
    """
    key = period.strip() if isinstance(period, str) else None
    code = _ALIASES.get(key or "") or _ALIASES.get((key or "").lower())
    if code is None:
        raise invalid(
            name,
            owner,
            "one of 'D' (day), 'W' (ISO week, Monday start), 'M' (month), 'Q' (quarter), 'Y' "
            "(year), or a pandas-like alias such as 'MS', 'QE', 'W-MON', 'monthly'",
            period,
        )
    return code


def period_ordinal(ts: pl.Expr, period: str) -> pl.Expr:
    """The calendar period of UTC timestamps as an integer that counts periods: days and
    weeks since 1970-01-01 (weeks start on Monday), months and quarters since year 0."""
    if period in ("D", "W"):
        days = ts.dt.date().cast(pl.Int32)
        return days if period == "D" else (days + 3) // 7  # 1969-12-29 was a Monday
    year = ts.dt.year().cast(pl.Int32)
    month = ts.dt.month().cast(pl.Int32)
    if period == "M":
        return year * 12 + month - 1
    if period == "Q":
        return year * 4 + (month - 1) // 3
    return year


def period_start(ordinal: int, period: str) -> dt.datetime:
    """The first instant (UTC) of the calendar period numbered ``ordinal``."""
    if period == "D":
        day = _EPOCH + dt.timedelta(days=ordinal)
    elif period == "W":
        day = _EPOCH + dt.timedelta(days=7 * ordinal - 3)
    elif period == "M":
        day = dt.date(ordinal // 12, ordinal % 12 + 1, 1)
    elif period == "Q":
        day = dt.date(ordinal // 4, 3 * (ordinal % 4) + 1, 1)
    else:
        day = dt.date(ordinal, 1, 1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def period_labels(first: int, last: int, period: str) -> list[str]:
    """Labels of the periods ``first`` to ``last``: ``2024-03-05``, ``2024-W10``,
    ``2024-03``, ``2024-Q1``, ``2024``.

    Examples
    --------
    >>> from journeymine._periods import period_labels
    >>> period_labels(2024 * 12, 2024 * 12 + 1, "M"), period_labels(2024 * 4 + 3, 2024 * 4 + 3, "Q")
    (['2024-01', '2024-02'], ['2024-Q4'])
    """
    out = []
    for o in range(first, last + 1):
        s = period_start(o, period)
        if period == "D":
            out.append(s.strftime("%Y-%m-%d"))
        elif period == "W":
            iso = s.isocalendar()
            out.append(f"{iso.year}-W{iso.week:02d}")
        elif period == "M":
            out.append(s.strftime("%Y-%m"))
        elif period == "Q":
            out.append(f"{s.year}-Q{o % 4 + 1}")
        else:
            out.append(str(s.year))
    return out




def period_label(ts: pl.Expr, period: str) -> pl.Expr:
    """The name of the calendar period of each UTC timestamp (as :func:`period_labels`)."""
    if period == "Q":
        return pl.format("{}-Q{}", ts.dt.year(), ts.dt.quarter())
    fmt = {"D": "%Y-%m-%d", "W": "%G-W%V", "M": "%Y-%m", "Y": "%Y"}[period]
    return ts.dt.strftime(fmt)
