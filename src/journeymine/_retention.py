"""Retention by start cohort, and the lifecycle (growth accounting) of active accounts.

The rules (also in ``docs/funnels.md``)
-----------------------------------------
* **Periods** are calendar periods in UTC: days, ISO weeks (Monday to Sunday), months,
  quarters, years. Every event falls in one period.
* **Start**: an account's life starts at its first event (``start=None``) or at its first
  event of one of the ``start`` activities (``start="Contract signed"``: retention of
  customers). Accounts without a start event are left out of the matrix, counted in
  ``summary["without_start"]`` and named in the caption, never dropped silently.
* **Active**: an account is active in a period when it has at least one event of the
  ``active`` activities (``None``: any event) in that period, at or after its start
  period. Activity in a period before the start period does not count.
* **Matrix**: rows are start cohorts (the calendar period of the start), columns the
  periods since the start (0, 1, 2, ...). Period 0 is the start period: it is 100 % by
  construction when the start event counts as activity (``active=None`` or ``active``
  holding the start activities), and below 100 % otherwise. Per cohort, every calendar
  period between *its own* first and last start is a row, an empty one (0 accounts)
  included, and each row's columns run as far as its periods are reached by ``end``; a
  cohort without any start has no row (its summary says 0 accounts). Without ``by`` (or
  when every cohort starts in the first and the last start period of the log) that is every
  period between the log's first and last start.
* **Share**: ``classic`` retention counts the accounts active in period *n* exactly;
  ``rolling`` (unbounded) retention counts those active in period *n* or any later
  observed period.
* **Censoring**: the observation ends at ``end`` (default: the log's last event). A cell
  whose calendar period has not ended by then (the last, partial period of the log, and
  every period after it) is *censored*: its share is NaN, never 0 %, ``censored`` is True
  in the tidy table, and the heatmap hatches it. A censored cell of the partial last
  period keeps the accounts active in it so far in ``active``. Cells after ``end`` are not
  in the tidy table (the wide :meth:`Retention.matrix` shows them as NaN).
* **Curves** (:meth:`Retention.curves`): the retention at period *n* of a cohort is the
  weighted mean over its start rows whose cell *n* is not censored: active / accounts at
  risk (the accounts of those rows, given as ``at_risk``). Summary columns
  ``retention_1``, ``_3``, ``_6``, ``_12`` read off those curves, with ``at_risk_k``.
* **Lifecycle** (growth accounting), per calendar period: *new* accounts are active for
  the first time at or after their start; *returning* ones were active in the previous
  period too; *resurrecting* ones were not, but were active before; *dormant* ones were
  active in the previous period and not in this one (drawn below zero). So new + returning
  + resurrecting = active accounts of the period, and dormant = active accounts of the
  previous period − returning. Every period from the first start to ``end`` is a row, empty
  ones included; the last one is flagged ``partial`` when it had not ended by ``end``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from ._cohorts import ALL, resolve
from ._display import Displayed, note, section, table
from ._encoding import encode, require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._output import save_drawing, svg_to_png
from ._params import as_names, check_choice, close_matches, invalid
from ._periods import PERIODS, period_labels, period_ordinal, period_start, resolve_period
from ._typing import CohortBy, TimeLike
from .errors import InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Retention", "retention"]

#: bytes a cell (start period x period since the start, or cohort x calendar period) takes
#: while counted and tabled: the cells allowed are the memory limit of the readers
#: (max_bytes: a quarter of the machine's memory, or JOURNEYMINE_MAX_BYTES) over this, and
#: never fewer than _MIN_CELLS. Weekly periods over five centuries made 340 million cells
#: and ran out of memory.
_CELL_BYTES = 150
_MIN_CELLS = 5_000_000


def _max_cells() -> int:
    from ._decompress import resolve_max_bytes

    return max(_MIN_CELLS, resolve_max_bytes(None, "retention") // _CELL_BYTES)
#: start periods (heatmap rows and columns) and lifecycle periods drawn at most: the latest
MAX_DRAWN_PERIODS = 60
#: heatmap columns (periods since the start) drawn at most: the first
MAX_DRAWN_INDEXES = 2 * MAX_DRAWN_PERIODS
#: the summary's retention columns: periods since the start
SUMMARY_AT = (1, 3, 6, 12)
#: the cohort name of the curve pooled over every cohort
POOLED = "(pooled)"


# -- the computation -------------------------------------------------------------------


def _activity_codes(
    log: JourneyLog, value: Any, name: str, owner: str
) -> tuple[tuple[str, ...], list[int]] | None:
    """The activities named by ``value`` (None stays None) and their codes."""
    if value is None:
        return None
    names = as_names(value, name, owner, what="activity names")
    if not names:
        raise invalid(name, owner, "an activity name, a non-empty list of them, or None", value)
    acts = log.activities
    for a in names:
        if a not in acts:
            near = close_matches(a, acts)
            hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner}: activity {a!r} is not in the log.{hint} "
                f"The log has {len(acts)} activities (log.activities)."
            )
    uniq = tuple(dict.fromkeys(names))
    return uniq, [acts.index(a) for a in uniq]


def _observation_end(log: JourneyLog, end: TimeLike | None, owner: str) -> dt.datetime:
    """The end of observation: ``end`` or the log's last event; never before that event."""
    import pandas as pd

    last = log.time_span.end
    if end is None:
        return last.to_pydatetime()
    try:
        ts = pd.Timestamp(end)
    except (TypeError, ValueError) as exc:
        raise invalid("end", owner, "a timestamp (such as '2025-12-31') or None", end) from exc
    if pd.isna(ts):
        raise invalid("end", owner, "a timestamp (such as '2025-12-31') or None", end)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if ts < last:
        raise invalid(
            "end",
            owner,
            f"at or after the log's last event ({last}); to study an earlier window, "
            "filter the log first (log.filter_time)",
            end,
        )
    out: dt.datetime = ts.to_pydatetime()
    return out


@dataclass(frozen=True)
class _Counts:
    """Everything counted, sparsely: each cohort's start rows run from its own first to
    its own last start period, and each row's cells as far as it reaches by ``end``.

    Rows are numbered cohort by cohort, in time; cells row by row, by period index.
    """

    first: int  # ordinal of the first start period over every cohort
    end_ordinal: int  # ordinal of the period holding ``end``
    end_complete: bool  # that period had ended by ``end``
    row_cohort: np.ndarray  # [R] the cohort of each start row
    row_start: np.ndarray  # [R] the period ordinal of each start row
    sizes: np.ndarray  # [R] accounts per start row
    cell_base: np.ndarray  # [R] the first cell of each row
    reach: np.ndarray  # [R] the cells of each row: periods 0 .. reach - 1 since its start
    active: np.ndarray  # [T] accounts active (classic) per cell
    rolling: np.ndarray  # [T] accounts active then or later per cell
    without_start: np.ndarray  # [C] accounts without a start event
    life: np.ndarray  # [C, P, 4] new, returning, resurrecting, dormant per calendar period


def _exclusive_cumsum(a: np.ndarray) -> np.ndarray:
    """[0, a0, a0 + a1, ...]: where each run of ``a`` begins."""
    out = np.zeros(a.size, dtype=np.int64)
    np.cumsum(a[:-1], out=out[1:])
    return out


def _count(
    frame: pl.DataFrame,
    n_cases: int,
    cohort: np.ndarray,
    n_cohorts: int,
    period: str,
    start_codes: list[int] | None,
    active_codes: list[int] | None,
    end: dt.datetime,
) -> _Counts:
    """Count on the encoded events (sorted by case then time): one pass, no loop per
    account, and no array of cohorts x every start period x every period index."""
    f = frame.select("code", "act", period_ordinal(pl.col("ts"), period).alias("p"))
    end_ordinal = int(pl.select(period_ordinal(pl.lit(end).dt.replace_time_zone("UTC"), period)).item())
    end_complete = period_start(end_ordinal + 1, period) <= end
    # the start period of every account that has a start event
    st = f if start_codes is None else f.filter(pl.col("act").is_in(start_codes))
    st = st.filter(pl.col("code").is_first_distinct())
    started = st.get_column("code").to_numpy()
    start_p = np.zeros(n_cases, dtype=np.int64)
    start_p[started] = st.get_column("p").to_numpy()
    has_start = np.zeros(n_cases, dtype=bool)  # not start_p >= 0: days before 1970 are negative
    has_start[started] = True
    # distinct (account, period) pairs of activity: periods never decrease within a case
    ac = f if active_codes is None else f.filter(pl.col("act").is_in(active_codes))
    ac = ac.select("code", "p").filter(
        (pl.col("code") != pl.col("code").shift(1))
        | (pl.col("p") != pl.col("p").shift(1))
        | (pl.int_range(pl.len()) == 0)
    )
    code = ac.get_column("code").to_numpy().astype(np.int64)
    p = ac.get_column("p").to_numpy().astype(np.int64)
    sp = start_p[code]
    keep = has_start[code] & (p >= sp) & (p <= end_ordinal)
    code, p, sp = code[keep], p[keep], sp[keep]
    c_all = cohort.astype(np.int64)
    first = int(start_p[has_start].min()) if has_start.any() else end_ordinal
    # each cohort's own first and last start period (no rows for a cohort without starts)
    c_st, p_st = c_all[has_start], start_p[has_start]
    c_first = np.full(n_cohorts, end_ordinal + 1, dtype=np.int64)
    c_last = np.full(n_cohorts, first - 1, dtype=np.int64)
    np.minimum.at(c_first, c_st, p_st)
    np.maximum.at(c_last, c_st, p_st)
    n_rows = np.maximum(c_last - c_first + 1, 0)
    row_base = _exclusive_cumsum(n_rows)
    total_rows = int(n_rows.sum())
    row_cohort = np.repeat(np.arange(n_cohorts, dtype=np.int64), n_rows)
    row_start = c_first[row_cohort] + np.arange(total_rows, dtype=np.int64) - row_base[row_cohort]
    reach = end_ordinal - row_start + 1
    cell_base = _exclusive_cumsum(reach)
    total_cells = int(reach.sum())
    n_cal = max(end_ordinal - first + 1, 0)
    cap = _max_cells()
    if total_cells > cap or n_cohorts * n_cal > cap:
        longer = "DWMQY"["DWMQY".index(period) + 1:] if period in "DWMQY" else ""
        fix = "Filter "
        if longer:
            fix = f"Pass a longer period ({' or '.join(repr(q) for q in longer)}), or filter "
        many = (f" Most of them come from the {n_cohorts:,} cohorts of by=: compare fewer (e.g. group "
                "rare values) or none." if n_cohorts > 1 and n_cohorts * n_cal > cap else "")
        raise InvalidParameterError(
            f"retention: the log spans {n_cal:,} periods of {period!r} from its first start to the end "
            f"of observation, which makes {max(total_cells, n_cohorts * n_cal):,} cells (cohorts x start "
            f"periods x periods since the start), more than the {cap:,} the memory limit allows "
            "(max_bytes of the readers: JOURNEYMINE_MAX_BYTES, or a quarter of the machine's memory)."
            + many + " " + fix
            + "the log to the years that matter (log.filter_time(start=..., end=...)) first."
        )
    sizes = np.bincount(row_base[c_st] + p_st - c_first[c_st], minlength=total_rows).astype(np.int64)
    without = np.bincount(c_all[~has_start], minlength=n_cohorts)
    c = c_all[code]
    flat = cell_base[row_base[c] + sp - c_first[c]] + (p - sp)
    active = np.bincount(flat, minlength=total_cells).astype(np.int64)
    # rolling: each account's last active period index, counted back to every earlier
    # index of its row (a suffix sum within each row)
    new_code = np.ones(code.size, dtype=bool)
    new_code[1:] = code[1:] != code[:-1]
    last_of = np.ones(code.size, dtype=bool)
    last_of[:-1] = new_code[1:]
    lasts = np.bincount(flat[last_of], minlength=total_cells).astype(np.int64)
    suffix = np.zeros(total_cells + 1, dtype=np.int64)
    suffix[:-1] = np.cumsum(lasts[::-1])[::-1]
    rolling = suffix[:-1] - np.repeat(suffix[cell_base + reach], reach)
    # lifecycle over the calendar periods first .. end_ordinal
    prev_p = np.empty_like(p)
    prev_p[1:] = p[:-1]
    status = np.where(new_code, 0, np.where(prev_p == p - 1, 1, 2))
    next_p = np.empty_like(p)
    next_p[:-1] = p[1:]
    gap_after = last_of | (next_p != p + 1)
    dormant_at = p + 1
    lapse = gap_after & (dormant_at <= end_ordinal)
    life = np.zeros((n_cohorts, n_cal, 4), dtype=np.int64)
    if n_cal:
        life[..., :3] = np.bincount(
            (c * n_cal + (p - first)) * 3 + status, minlength=n_cohorts * n_cal * 3
        ).reshape(n_cohorts, n_cal, 3)
        life[..., 3] = np.bincount(
            c[lapse] * n_cal + (dormant_at[lapse] - first), minlength=n_cohorts * n_cal
        ).reshape(n_cohorts, n_cal)
    return _Counts(
        first,
        end_ordinal,
        end_complete,
        row_cohort,
        row_start,
        sizes,
        cell_base,
        reach,
        active,
        rolling,
        without,
        life,
    )


def _tidy(counts: _Counts, names: Sequence[str], period: str, mode: str) -> pl.DataFrame:
    """The tidy cells: every (cohort, start row, index) whose calendar period is reached,
    cohort by cohort, row by row."""
    row = np.repeat(np.arange(counts.reach.size, dtype=np.int64), counts.reach)
    k = np.arange(row.size, dtype=np.int64) - counts.cell_base[row]
    start = counts.row_start[row]
    cal = start + k
    values = counts.active if mode == "classic" else counts.rolling
    accounts = counts.sizes[row]
    censored = (cal == counts.end_ordinal) & (not counts.end_complete)
    labels = pl.Series(period_labels(counts.first, counts.end_ordinal, period), dtype=pl.String)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(censored | (accounts == 0), np.nan, values / np.maximum(accounts, 1))
    out = pl.DataFrame(
        {
            "cohort": pl.Series(list(names), dtype=pl.String).gather(counts.row_cohort[row]),
            "start_period": labels.gather(start - counts.first),
            "period_index": k,
            "calendar_period": labels.gather(cal - counts.first),
            "accounts": accounts,
            "active": values,
            "share": share,
            "censored": censored,
        }
    )
    return out.with_columns(pl.col("share").fill_nan(None).fill_null(float("nan")))


def _curves(cells: pl.DataFrame, pooled: bool) -> pl.DataFrame:
    """Average retention per cohort and period index over the uncensored start rows."""
    ok = cells.filter(~pl.col("censored"))
    frames = [ok]
    if pooled:
        frames.append(ok.with_columns(pl.lit(POOLED).alias("cohort")))
    both = pl.concat(frames)
    order = list(dict.fromkeys(cells.get_column("cohort").to_list())) + ([POOLED] if pooled else [])
    cur = (
        both.group_by("cohort", "period_index")
        .agg(
            pl.col("accounts").sum().alias("at_risk"),
            pl.col("active").sum().alias("active"),
            (pl.col("accounts") > 0).sum().cast(pl.Int64).alias("start_periods"),
        )
        .with_columns(
            pl.when(pl.col("at_risk") > 0)
            .then(pl.col("active") / pl.col("at_risk"))
            .otherwise(float("nan"))
            .alias("share")
        )
    )
    rank = pl.DataFrame({"cohort": order, "rank": list(range(len(order)))})
    return cur.join(rank, on="cohort").sort("rank", "period_index").drop("rank")


def _summary(curves: pl.DataFrame, counts: _Counts, names: Sequence[str]) -> pl.DataFrame:
    n = len(names)
    accounts = np.bincount(counts.row_cohort, weights=counts.sizes, minlength=n).astype(np.int64)
    n_rows = np.bincount(counts.row_cohort, minlength=n)
    empty = np.bincount(counts.row_cohort[counts.sizes == 0], minlength=n)
    at = curves.filter(pl.col("period_index").is_in(SUMMARY_AT))
    read = {
        (c, int(k)): (int(a), float(s))
        for c, k, a, s in at.select("cohort", "period_index", "at_risk", "share").iter_rows()
    }
    rows = []
    for i, name in enumerate(names):
        row: dict[str, Any] = {
            "cohort": name,
            "accounts": int(accounts[i]),
            "without_start": int(counts.without_start[i]),
            "start_periods": int(n_rows[i]),
            "empty_start_periods": int(empty[i]),
        }
        for k in SUMMARY_AT:
            at_risk, share = read.get((name, k), (0, float("nan")))
            row[f"retention_{k}"] = share if at_risk else float("nan")
            row[f"at_risk_{k}"] = at_risk
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _lifecycle(counts: _Counts, names: Sequence[str], period: str) -> pl.DataFrame:
    n_c, n_p = counts.life.shape[:2]
    labels = period_labels(counts.first, counts.end_ordinal, period)
    c2, t2 = np.meshgrid(np.arange(n_c), np.arange(n_p), indexing="ij")
    c, t = c2.ravel(), t2.ravel()
    life = counts.life[c, t]
    return pl.DataFrame(
        {
            "cohort": pl.Series(list(names), dtype=pl.String).gather(c),
            "calendar_period": pl.Series(labels, dtype=pl.String).gather(t),
            "active": life[:, :3].sum(axis=1).astype(np.int64),
            "new": life[:, 0].astype(np.int64),
            "returning": life[:, 1].astype(np.int64),
            "resurrecting": life[:, 2].astype(np.int64),
            "dormant": life[:, 3].astype(np.int64),
            "partial": (t == n_p - 1) & (not counts.end_complete),
        }
    )


# -- the result ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Retention(Displayed):
    """Retention by start cohort, and the lifecycle of active accounts (rules in
    :func:`retention`).

    Attributes
    ----------
    period : str
        ``"D"``, ``"W"``, ``"M"``, ``"Q"`` or ``"Y"``.
    kind : str
        What the result draws: ``"retention"`` (the heatmap) or ``"lifecycle"``.
    mode : str
        ``"classic"`` or ``"rolling"`` retention.
    start, active : tuple of str or None
        The start and activity definitions (None: first event, any event).
    end : datetime.datetime
        The end of observation (UTC).
    by : str, tuple of str or None
        What formed the cohorts.
    cohorts : tuple of str
        The cohort names (``("(all)",)`` without ``by``).

    Examples
    --------
    >>> import journeymine as jm
    >>> r = jm.retention(jm.datasets.demo_b2b(n_accounts=200, random_state=0), period="Q")
    >>> r
    <Retention: 200 accounts, 7 start quarters, 1 cohort, classic>
    >>> r.summary[["accounts", "retention_1", "retention_3"]].round(2)  # still active 1 and 3 quarters on
       accounts  retention_1  retention_3
    0       200         0.59         0.18
    """

    period: str
    kind: str
    mode: str
    start: tuple[str, ...] | None
    active: tuple[str, ...] | None
    end: dt.datetime
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    _cells: pd.DataFrame
    _lifecycle: pd.DataFrame
    _curves: pd.DataFrame
    _summary: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """Per cohort: accounts, accounts without a start event, start periods (empty ones
        counted apart), and retention at 1, 3, 6 and 12 periods with the accounts at risk."""
        return self._summary.copy()

    def to_dataframe(self) -> pd.DataFrame:
        """The tidy cells: cohort, start_period, period_index, calendar_period, accounts
        (the start row's size), active, share (NaN where censored) and censored."""
        return self._cells.copy()

    def matrix(self, cohort: Any = None, *, counts: bool = False) -> pd.DataFrame:
        """The wide matrix of one cohort: rows its start periods (from its own first to its
        own last start, empty ones included; none for a cohort without starts), columns
        period indexes; shares (NaN where censored or not reached), or active counts with
        ``counts=True`` (censored cells of the partial period hold the accounts active so
        far)."""
        name = self._cohort(cohort, "Retention.matrix")
        sub = self._cells[self._cells["cohort"] == name]
        rows = list(dict.fromkeys(sub["start_period"]))
        cols = list(range(int(sub["period_index"].max()) + 1)) if len(sub) else []
        value = "active" if counts else "share"
        m: pd.DataFrame = sub.pivot(index="start_period", columns="period_index", values=value)
        m = m.reindex(index=rows, columns=cols)
        if not counts:
            m.insert(0, "accounts", sub.groupby("start_period", sort=False)["accounts"].first().reindex(rows))
        m.index.name, m.columns.name = "start_period", "period_index"
        return m

    def curves(self) -> pd.DataFrame:
        """The average retention curve per cohort (and pooled over cohorts, as
        ``"(pooled)"``, when there are several): per period index, the accounts at risk
        (of the start rows whose cell is not censored), the active ones, and their share."""
        return self._curves.copy()

    def lifecycle(self) -> pd.DataFrame:
        """Per cohort and calendar period: active accounts, new, returning, resurrecting
        and dormant ones (a positive count, drawn below zero), and ``partial`` for a last
        period that had not ended by :attr:`end`."""
        return self._lifecycle.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe cells, curves, lifecycle and summary."""
        from ._jsonsafe import jsonable, records

        return {
            "period": self.period,
            "kind": self.kind,
            "mode": self.mode,
            "start": jsonable(self.start),
            "active": jsonable(self.active),
            "end": self.end.isoformat(),
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "summary": records(self._summary),
            "cells": records(self._cells),
            "curves": records(self._curves),
            "lifecycle": records(self._lifecycle),
        }

    def __repr__(self) -> str:
        n = int(self._summary["accounts"].sum())
        w = int(self._summary["without_start"].sum())
        rows = int(self._summary["start_periods"].max()) if len(self._summary) else 0
        missing = f", {w:,} without a start event" if w else ""
        return (
            f"<Retention: {n:,} accounts{missing}, {rows} start {PERIODS[self.period]}s, "
            f"{len(self.cohorts)} cohort{'s' if len(self.cohorts) != 1 else ''}, {self.mode}>"
        )

    def _cohort(self, cohort: Any, owner: str) -> str:
        if cohort is None:
            if len(self.cohorts) != 1:
                raise invalid("cohort", owner, f"one of {list(self.cohorts)} (there are several)", cohort)
            return self.cohorts[0]
        if str(cohort) not in self.cohorts:
            raise invalid("cohort", owner, f"one of {list(self.cohorts)}", cohort)
        return str(cohort)

    def _caption(self, kind: str | None = None) -> str:
        start = "first event" if self.start is None else " or ".join(self.start)
        active = "any event" if self.active is None else ", ".join(self.active)
        w = int(self._summary["without_start"].sum())
        lost = f"; {w:,} account{'s' if w != 1 else ''} without a start event left out" if w else ""
        unit = PERIODS[self.period]
        if (kind or self.kind) == "lifecycle":
            what = (
                f"Accounts active per calendar {unit} (UTC): new (first active {unit} since the "
                f"start), returning (active the {unit} before), resurrecting (active before, not "
                f"the {unit} before); dormant: active the {unit} before, not this one"
            )
            hatch = "hatched: partial period"
        else:
            what = f"{self.mode.capitalize()} retention by calendar {unit} (UTC)"
            hatch = "hatched: period not over at the log's end (censored, not 0%)"
        return (
            f"Start: {start}. Active: {active}. {what}; observed until {self.end:%Y-%m-%d %H:%M} UTC; "
            f"{hatch}{lost}."
        )

    def draw(self, cohort: Any = None, *, kind: str | None = None) -> str:
        """The SVG of one cohort (or all cohorts as small multiples, ``cohort=None``):
        the retention heatmap or, with ``kind="lifecycle"``, the lifecycle bars."""
        from ._retention_draw import HeatPanel, LifePanel, heatmap_svg, lifecycle_svg

        kind = check_choice("kind", "Retention.draw", kind or self.kind, ("retention", "lifecycle"))
        names = list(self.cohorts) if cohort is None else [self._cohort(cohort, "Retention.draw")]
        title_by = (
            "" if self.by is None else f" by {self.by if isinstance(self.by, str) else ', '.join(self.by)}"
        )
        unit = PERIODS[self.period]
        caption = self._caption(kind)
        if kind == "lifecycle":
            life = self._lifecycle
            lpanels = []
            every = list(dict.fromkeys(life["calendar_period"]))
            if len(every) > MAX_DRAWN_PERIODS:
                kept = set(every[-MAX_DRAWN_PERIODS:])
                caption += (
                    f" Only the last {MAX_DRAWN_PERIODS} of {len(every):,} {unit}s are drawn (every one "
                    "is in lifecycle())."
                )
                life = life[life["calendar_period"].isin(kept)]
            for name in names:
                sub = life[life["cohort"] == name]
                lpanels.append(
                    LifePanel(
                        name=None if self.by is None else name,
                        periods=list(sub["calendar_period"]),
                        counts=sub[["new", "returning", "resurrecting", "dormant"]].to_numpy(dtype=np.int64),
                        partial=bool(sub["partial"].any()),
                    )
                )
            return lifecycle_svg(
                lpanels,
                title=f"Lifecycle of active accounts per {unit}{title_by}",
                caption=caption,
            )
        panels = []
        left_out = cut = 0
        for name in names:
            shares = self.matrix(name)
            act = self.matrix(name, counts=True)
            rows, cols = shares.index, [c for c in shares.columns if c != "accounts"]
            if len(rows) > MAX_DRAWN_PERIODS:  # the latest start periods, their first periods since
                left_out = max(left_out, len(rows) - MAX_DRAWN_PERIODS)
                rows, cols = rows[-MAX_DRAWN_PERIODS:], cols[:MAX_DRAWN_PERIODS]
            if len(cols) > MAX_DRAWN_INDEXES:  # few start rows that reach far
                cols = cols[:MAX_DRAWN_INDEXES]
                cut = max(cut, int(act.loc[rows].notna().to_numpy().sum(axis=1).max()) - len(cols))
            if len(rows) < len(shares) or len(cols) < len(shares.columns) - 1:
                shares = shares.loc[rows, ["accounts", *cols]]
                act = act.loc[rows, cols]
            sizes = shares.pop("accounts").fillna(0).to_numpy(dtype=np.int64)
            censored = (
                self._cells[self._cells["cohort"] == name]
                .pivot(index="start_period", columns="period_index", values="censored")
                .reindex(index=shares.index, columns=shares.columns)
            )
            panels.append(
                HeatPanel(
                    name=None if self.by is None else name,
                    rows=[str(r) for r in shares.index],
                    sizes=sizes,
                    share=shares.to_numpy(dtype=float),
                    active=act.fillna(-1).to_numpy(dtype=np.int64),
                    censored=censored.fillna(True).to_numpy(dtype=bool),
                    reached=act.notna().to_numpy(),
                )
            )
        if left_out:
            caption += (
                f" Only the last {MAX_DRAWN_PERIODS} start {unit}s are drawn ({left_out:,} earlier ones "
                "are in matrix() and to_dataframe())."
            )
        if cut:
            caption += (
                f" Only the first {MAX_DRAWN_INDEXES} {unit}s since the start are drawn ({cut:,} later "
                "ones are in matrix() and to_dataframe())."
            )
        return heatmap_svg(
            panels,
            title=f"{self.mode.capitalize()} retention by start {unit}{title_by}",
            unit=unit,
            caption=caption,
        )

    @property
    def svg(self) -> str:
        """The drawing of :attr:`kind` for every cohort, as SVG text."""
        return self.draw()

    def _display_svg(self) -> str | None:
        return self.svg

    def _display_html(self, svg: str | None) -> str:
        from ._format import percent

        formats = {f"retention_{k}": percent for k in SUMMARY_AT}
        return section(
            "retention",
            f"Retention by start {PERIODS[self.period]}",
            svg or "",
            note(self._caption()),
            table(self._summary, formats=formats),
        )

    def save(self, path: str | os.PathLike[str], *, scale: float = 1.0) -> Path:
        """Write the drawing: ``.svg``, ``.png`` (needs cairosvg) or ``.html``."""
        return save_drawing(self, path, "Retention.save", scale)

    def to_png(self, *, scale: float = 1.0) -> bytes:
        """The drawing as PNG bytes (rendered by cairosvg)."""
        return svg_to_png(self.svg, scale=scale)


def retention(
    log: JourneyLog,
    *,
    start: str | Sequence[str] | None = None,
    active: str | Sequence[str] | None = None,
    period: str = "M",
    by: CohortBy | None = None,
    kind: Literal["retention", "lifecycle"] = "retention",
    retention: Literal["classic", "rolling"] = "classic",
    end: TimeLike | None = None,
) -> Retention:
    """Retention of accounts by start cohort (and their lifecycle), censored where the
    period is not over.

    Parameters
    ----------
    log : JourneyLog
    start : str or list of str, optional
        The activities that start an account's life (its first such event); None: the
        account's first event. Accounts without one are counted in
        ``summary["without_start"]`` and left out of the matrix.
    active : str or list of str, optional
        The activities that count as activity; None: any event.
    period : {"D", "W", "M", "Q", "Y"}
        Calendar periods in UTC (weeks: ISO, Monday start). Pandas-like aliases ("MS",
        "QE", "W-MON", "monthly", ...) are accepted.
    by : str, list of str or callable, optional
        Cohorts (case attributes, or a function of :attr:`JourneyLog.cases`): one matrix,
        curve and lifecycle per cohort; empty cohorts are kept as empty panels.
    kind : {"retention", "lifecycle"}
        What the result draws: the retention heatmap or the lifecycle bars (both tables
        are computed either way).
    retention : {"classic", "rolling"}
        Classic: active in period *n* exactly. Rolling (unbounded): active in period *n*
        or any later observed period.
    end : timestamp, optional
        The end of observation (default: the log's last event); at or after it.

    Returns
    -------
    Retention

    Notes
    -----
    The rules, in short (all of them in the module docstring and ``docs/funnels.md``):
    rows are the calendar periods of the start, from each cohort's own first to its own last
    start (empty ones kept), columns the periods since the start; period 0 is 100 % when the
    start event counts as activity; activity before the start period does not count. A cell
    whose calendar period had not ended by ``end`` is censored (share NaN, hatched), never
    0 %. Curves and summary average the uncensored cells, weighted by accounts at risk.
    Lifecycle: new + returning + resurrecting = active; dormant = active in the previous period − returning.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> r = jm.retention(log, period="Q")
    >>> r.matrix().iloc[0, :3].round(2).tolist()  # accounts, period 0, period 1
    [47.0, 1.0, 0.53]
    >>> r.to_dataframe()["censored"].sum() > 0  # the last quarter had not ended
    np.True_
    >>> c = jm.retention(log, start="Contract signed", active=["Product usage", "QBR"], by="segment")
    >>> c.summary[["cohort", "accounts", "without_start"]].to_dict("list")["cohort"]
    ['Enterprise', 'Mid-market', 'SMB']
    >>> life = r.lifecycle()
    >>> bool((life["new"] + life["returning"] + life["resurrecting"] == life["active"]).all())
    True
    """
    owner = "retention"
    if not isinstance(log, JourneyLog):
        raise invalid("log", owner, "a JourneyLog", type(log).__name__)
    require_embedded(log, owner)
    require_events(log, owner)
    per = resolve_period(period, owner)
    check_choice("kind", owner, kind, ("retention", "lifecycle"))
    mode = check_choice("retention", owner, retention, ("classic", "rolling"))
    starts = _activity_codes(log, start, "start", owner)
    actives = _activity_codes(log, active, "active", owner)
    stop = _observation_end(log, end, owner)
    cohorts = resolve(log, by)
    if cohorts is None:
        codes, names = np.zeros(log.n_cases, dtype=np.int64), [ALL]
    else:
        codes, names = cohorts.codes.to_numpy(), list(cohorts.names)
    enc = encode(log)
    counts = _count(
        enc.frame,
        log.n_cases,
        codes,
        len(names),
        per,
        None if starts is None else starts[1],
        None if actives is None else actives[1],
        stop,
    )
    cells = _tidy(counts, names, per, mode)
    curves = _curves(cells, pooled=len(names) > 1)
    return Retention(
        period=per,
        kind=kind,
        mode=mode,
        start=None if starts is None else starts[0],
        active=None if actives is None else actives[0],
        end=stop,
        by=None if cohorts is None else cohorts.by,
        cohorts=tuple(names),
        _cells=cells.to_pandas(),
        _lifecycle=_lifecycle(counts, names, per).to_pandas(),
        _curves=curves.to_pandas(),
        _summary=_summary(curves, counts, names).to_pandas(),
    )
