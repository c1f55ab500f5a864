"""The dotted chart: every event as a dot on time (x) and its account (y).

The rules (also in ``docs/funnels.md``)
-----------------------------------------
* **Rows** are accounts, in the order of ``sort``: ``"start"`` (first event), ``"end"``
  (last event), ``"duration"`` (last − first event), ``"events"`` (number of events), or a
  case attribute; ascending (``descending=True`` reverses), ties broken by case id. With
  ``by=``, accounts are grouped in cohort bands (cohorts in name order, an empty cohort
  kept as an empty band), sorted within each band.
* **x** is the event's time (``time="absolute"``, UTC) or the days since the account's
  first event (``time="relative"``).
* **Colour**: ``"activity"``, an event column (channel, stage, role, resource, contact or
  an event attribute) or a case attribute; the ``top_colors`` most frequent values (by
  events; ties by name) get a colour, the rest is ``"other"``; a missing value is
  ``"(none)"``.
* **What is drawn**: with at most ``max_accounts`` accounts, one row per account and a
  dot per event (events of one account falling on the same pixel column with the same
  colour are one dot: nothing visible is lost). Above that, or when the dots would exceed
  50,000 SVG elements, the **density view**: accounts are binned into at most 400 row
  bins of equal size (consecutive accounts in sort order, never across a cohort band;
  the fewest accounts per row that fit, a non-empty band taking at least one row) and
  time into 120 column bins. With more non-empty bands than 400 rows, the 400 largest
  (ties: the earlier band) are drawn, one row each, and the caption says how many bands,
  accounts and events are left out. Each cell takes the colour of its most frequent
  category (ties: the earlier in the legend) and an opacity growing with the log of its
  event count. Every event (of the drawn bands) is counted. ``sample=k`` instead keeps every k-th account of
  each band in sort order (the 1st, the (k+1)-th, ...), deterministic, and draws those.
  The caption and :attr:`DottedChart.summary` always say which view is drawn.
"""

from __future__ import annotations

import datetime as dt
import math
import os
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
from ._params import check_choice, check_int, close_matches, invalid
from ._typing import CohortBy
from .errors import InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DottedChart", "dotted_chart"]

SORTS = ("start", "end", "duration", "events")
#: the most SVG elements the chart draws (dots or density cells)
MAX_ELEMENTS = 50_000
#: the density view's bins: at most this many rows, and this many time columns
DENSITY_ROWS, DENSITY_COLS = 400, 120
#: the drawing's plot width in pixels (dots of one account closer than this are one dot)
PLOT_WIDTH = 900
OTHER, NONE = "other", "(none)"
_CASE_COLUMNS = ("case", "n_events", "start", "end")
_EVENT_SKIP = ("case", "activity", "timestamp", "row")


def _names_with_hint(value: str, known: list[str], what: str) -> str:
    near = close_matches(value, known)
    hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    return f"{what}{hint}"


def _sort_key(cases: pl.DataFrame, sort: Any, owner: str) -> pl.Series:
    attrs = [c for c in cases.columns if c not in _CASE_COLUMNS]
    if not isinstance(sort, str) or (sort not in SORTS and sort not in attrs):
        choices = list(SORTS) + attrs
        raise InvalidParameterError(
            f"The 'sort' parameter of {owner} must be one of {choices} (case attributes after the "
            f"first four). Got {sort!r}."
            + (_names_with_hint(sort, choices, "") if isinstance(sort, str) else "")
        )
    if sort == "duration":
        return (cases.get_column("end") - cases.get_column("start")).dt.total_microseconds()
    if sort == "events":
        return cases.get_column("n_events")
    return cases.get_column(sort)


def _categories(log: JourneyLog, frame: pl.DataFrame, color: Any, owner: str) -> tuple[str, pl.Series]:
    """What ``color`` names, and each event's category (text, missing as ``(none)``)."""
    events = log.to_polars("events")
    cases = log.to_polars("cases")
    event_cols = [c for c in events.columns if c not in _EVENT_SKIP]
    case_cols = [c for c in cases.columns if c not in _CASE_COLUMNS]
    if color == "activity":
        values = pl.Series(list(log.activities), dtype=pl.String).gather(frame.get_column("act"))
        return "activity", values
    if isinstance(color, str) and color in event_cols:
        return "event column", events.get_column(color).cast(pl.String).fill_null(NONE)
    if isinstance(color, str) and color in case_cols:
        per_case = cases.get_column(color).cast(pl.String).fill_null(NONE)
        return "case attribute", per_case.gather(frame.get_column("code"))
    choices = ["activity", *event_cols, *case_cols]
    raise InvalidParameterError(
        f"The 'color' parameter of {owner} must be 'activity', an event column ({event_cols}) or a "
        f"case attribute ({case_cols}). Got {color!r}."
        + (_names_with_hint(color, choices, "") if isinstance(color, str) else "")
    )


def _legend(values: pl.Series, top: int) -> tuple[list[str], pl.Series]:
    """The ``top`` most frequent categories (by events, ties by name), ``other`` last;
    and each event's index into that list."""
    counts = values.value_counts(name="n").sort(["n", values.name], descending=[True, False])
    names = counts.get_column(values.name).to_list()
    kept = names[:top]
    legend = kept + ([OTHER] if len(names) > top else [])
    idx = values.replace_strict(kept, list(range(len(kept))), default=len(kept), return_dtype=pl.UInt32)
    return legend, idx


def _time_ticks(x0: float, x1: float, relative: bool) -> list[tuple[float, str]]:
    """Tick positions (fractions of the axis) and labels: days, or dates in UTC."""
    span = max(x1 - x0, 1e-9)
    if relative:
        raw = span / 6
        mag = 10 ** math.floor(math.log10(max(raw, 1e-9)))
        step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
        first = math.ceil(x0 / step) * step
        out, v = [], first
        while v <= x1 + 1e-9:
            out.append(((v - x0) / span, f"{v:g}"))
            v += step
        return out
    days = span / 86400e6
    start = dt.datetime.fromtimestamp(x0 / 1e6, tz=dt.UTC)
    months = next((m for m in (1, 2, 3, 6, 12, 24, 60) if days / (30.4 * m) <= 8), 120)
    if days < 60:
        step_d = next((d for d in (1, 2, 7, 14) if days / d <= 8), 28)
        day = dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
        out = []
        while day.timestamp() * 1e6 <= x1:
            out.append(((day.timestamp() * 1e6 - x0) / span, day.strftime("%Y-%m-%d")))
            day += dt.timedelta(days=step_d)
        return out
    y, m = start.year, start.month
    m0 = ((y * 12 + m - 1) // months + 1) * months
    out = []
    while True:
        at = dt.datetime(m0 // 12, m0 % 12 + 1, 1, tzinfo=dt.UTC)
        us = at.timestamp() * 1e6
        if us > x1:
            break
        out.append(((us - x0) / span, at.strftime("%Y" if months % 12 == 0 else "%Y-%m")))
        m0 += months
    return out


@dataclass(frozen=True, eq=False, repr=False)
class DottedChart(Displayed):
    """A dotted chart of a log (rules in :func:`dotted_chart`).

    Attributes
    ----------
    mode : str
        ``"dots"`` (one row per account, a dot per event) or ``"density"``.
    time : str
        ``"absolute"`` or ``"relative"``.
    sort, color : str
        The row order and the colour key.
    legend : tuple of str
        The colour categories, in legend order (``"other"`` last when present).
    caption : str
        What is drawn, in words.

    Examples
    --------
    >>> import journeymine as jm
    >>> d = jm.dotted_chart(jm.datasets.demo_b2b(n_accounts=200, random_state=0), color="channel")
    >>> d
    <DottedChart: 200 accounts, 1,439 events, dots (200 rows), absolute time, sorted by start, colour channel>
    >>> d.summary[["accounts", "events", "drawn_rows", "mode"]]
       accounts  events  drawn_rows  mode
    0       200    1439         200  dots
    >>> d.legend[:3], d.svg.startswith("<svg")
    (('Web', 'Meeting', 'Sales call'), True)
    """

    mode: str
    time: str
    sort: str
    descending: bool
    color: str
    legend: tuple[str, ...]
    caption: str
    bands: tuple[tuple[str, int, int], ...]  # (cohort, first row, rows)
    ticks: tuple[tuple[float, str], ...]
    n_rows: int
    _drawn: pd.DataFrame
    _summary: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """One row: accounts, events, drawn accounts and rows, accounts per row, mode,
        sampling step, time axis and range, colour key and categories."""
        return self._summary.copy()

    def to_dataframe(self) -> pd.DataFrame:
        """What is drawn: the dots (cohort, row, case, x, category, events) or the density
        cells (cohort, row, first_account, accounts, x_from, x_to, events, category,
        category_events); ``x`` is a UTC timestamp or days since the account's start."""
        return self._drawn.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary, legend and drawn table."""
        from ._jsonsafe import records

        return {
            "mode": self.mode,
            "time": self.time,
            "sort": self.sort,
            "color": self.color,
            "legend": list(self.legend),
            "caption": self.caption,
            "summary": records(self._summary),
            "drawn": records(self._drawn),
        }

    def __repr__(self) -> str:
        s = self._summary.iloc[0]
        return (
            f"<DottedChart: {int(s['accounts']):,} accounts, {int(s['events']):,} events, {self.mode} "
            f"({self.n_rows:,} rows), {self.time} time, sorted by {self.sort}, colour {self.color}>"
        )

    @property
    def svg(self) -> str:
        """The chart as SVG text."""
        from ._dotted_draw import dotted_svg

        d = self._drawn
        if self.mode == "dots":
            cols = d["px"].to_numpy()
            rows = d["row"].to_numpy()
            cats = d["category_index"].to_numpy()
            level = np.full(rows.size, 7, dtype=np.int64)
        else:
            cols = d["col"].to_numpy()
            rows = d["row"].to_numpy()
            cats = d["category_index"].to_numpy()
            level = d["level"].to_numpy()
        title = f"Dotted chart: {self._summary.iloc[0]['accounts']:,} accounts by {self.sort}"
        return dotted_svg(
            mode=self.mode,
            rows=rows,
            cols=cols,
            cats=cats,
            level=level,
            n_rows=self.n_rows,
            n_cols=PLOT_WIDTH if self.mode == "dots" else DENSITY_COLS,
            legend=list(self.legend),
            bands=list(self.bands),
            ticks=list(self.ticks),
            x_label="days since the account's first event" if self.time == "relative" else "time (UTC)",
            y_label=(
                f"↓ accounts by {self.sort}"
                + (" (descending)" if self.descending else "")
                + ("" if self.mode == "dots" else ", binned")
            ),
            title=title,
            caption=self.caption,
        )

    def _display_svg(self) -> str | None:
        return self.svg

    def _display_html(self, svg: str | None) -> str:
        return section("dotted", "Dotted chart", svg or "", note(self.caption), table(self._summary))

    def save(self, path: str | os.PathLike[str], *, scale: float = 1.0) -> Path:
        """Write the chart: ``.svg``, ``.png`` (needs cairosvg) or ``.html``."""
        return save_drawing(self, path, "DottedChart.save", scale)

    def to_png(self, *, scale: float = 1.0) -> bytes:
        """The chart as PNG bytes (rendered by cairosvg)."""
        return svg_to_png(self.svg, scale=scale)


def _rows_per_bin(sizes: np.ndarray, limit: int) -> tuple[int, np.ndarray]:
    """The fewest accounts per density row so that the bands take at most ``limit`` rows
    (``ceil(size / per_row)`` each: a non-empty band smaller than one row still gets one),
    and which bands are left out: when there are more non-empty bands than ``limit``, all
    but the ``limit`` largest (ties: the earlier band kept).

    No search over candidates: with ``B`` non-empty bands, a band of ``s`` accounts takes
    ``1 + #{m >= 1 : s / m > per_row}`` rows, so the bands fit in ``limit`` rows exactly when
    at most ``limit - B`` of the values ``s / m`` exceed ``per_row``: the answer is the
    ceiling of the ``(limit - B + 1)``-th largest of them (only ``m <= limit - B + 1`` can
    matter, so at most ``B * (limit - B + 1) <= (limit + 1)**2 / 4`` values).

    >>> _rows_per_bin(np.array([1000, 10, 0, 1]), 4)  # the big band gets the one spare row
    (500, array([False, False, False, False]))
    >>> _rows_per_bin(np.array([1000, 10, 0, 1]), 5)[0], _rows_per_bin(np.array([1000, 10, 1]), 400)[0]
    (334, 3)
    >>> _rows_per_bin(np.array([5, 9, 9, 2]), 2)
    (9, array([ True, False, False,  True]))
    """
    left = np.zeros(sizes.size, dtype=bool)
    nonempty = np.flatnonzero(sizes > 0)
    if nonempty.size > limit:
        by_size = nonempty[np.argsort(-sizes[nonempty], kind="stable")]
        left[by_size[limit:]] = True
    s = sizes[(sizes > 0) & ~left].astype(np.int64)
    if not s.size:
        return 1, left
    spare = limit - s.size  # rows beyond one per band
    m = np.arange(1, spare + 2, dtype=np.int64)
    values = (s[:, None] / m[None, :]).ravel()
    at = values.size - (spare + 1)
    band, j = divmod(int(np.argpartition(values, at)[at]), m.size)
    return max(1, int(-(-s[band] // m[j]))), left


def _order(cases: pl.DataFrame, key: pl.Series, cohort: np.ndarray, descending: bool) -> np.ndarray:
    """Each case's row position: by cohort, then key (nulls last), then case id."""
    t = pl.DataFrame(
        {"cohort": cohort, "key": key, "case": cases.get_column("case"), "i": np.arange(cases.height)}
    )
    t = t.sort(["cohort", "key", "case"], descending=[False, descending, False], nulls_last=True)
    pos = np.empty(cases.height, dtype=np.int64)
    pos[t.get_column("i").to_numpy()] = np.arange(cases.height)
    return pos


def dotted_chart(
    log: JourneyLog,
    *,
    by: CohortBy | None = None,
    time: Literal["absolute", "relative"] = "absolute",
    sort: str = "start",
    descending: bool = False,
    color: str = "activity",
    top_colors: int = 8,
    max_accounts: int = 2_000,
    sample: int | None = None,
) -> DottedChart:
    """Events as dots on time × accounts, readable with 100k accounts.

    Parameters
    ----------
    log : JourneyLog
    by : str, list of str or callable, optional
        Cohort bands: accounts grouped by cohort, one band each, same x axis.
    time : {"absolute", "relative"}
        The event's time (UTC), or days since the account's first event.
    sort : str
        Row order: "start", "end", "duration", "events" or a case attribute; ties by case id.
    descending : bool
        Reverse the order of ``sort`` (ties still by case id).
    color : str
        "activity", an event column (channel, stage, role, ...) or a case attribute.
    top_colors : int
        Categories with their own colour (the rest is "other"); 1 to 8.
    max_accounts : int
        Above this many drawn accounts, the density view (rules in the module docstring).
    sample : int, optional
        Draw every k-th account of each band in sort order instead of all.

    Returns
    -------
    DottedChart

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> d = jm.dotted_chart(log, color="channel")
    >>> d.mode, d.n_rows
    ('dots', 300)
    >>> dense = jm.dotted_chart(log, max_accounts=100, by="segment", time="relative")
    >>> dense.mode, int(dense.summary.loc[0, "accounts_per_row"])
    ('density', 1)
    >>> jm.dotted_chart(log, max_accounts=100, sample=5).summary.loc[0, "drawn_accounts"]
    np.int64(60)
    """
    owner = "dotted_chart"
    if not isinstance(log, JourneyLog):
        raise invalid("log", owner, "a JourneyLog", type(log).__name__)
    require_embedded(log, owner)
    require_events(log, owner)
    time = check_choice("time", owner, time, ("absolute", "relative"))  # type: ignore[assignment]
    top = check_int("top_colors", owner, top_colors, minimum=1)
    if top is None or top > 8:
        raise invalid("top_colors", owner, "an int from 1 to 8", top_colors)
    cap = check_int("max_accounts", owner, max_accounts, minimum=1)
    step = check_int("sample", owner, sample, minimum=1, allow_none=True)
    if not isinstance(descending, bool):
        raise invalid("descending", owner, "True or False", descending)
    cases = log.to_polars("cases")
    key = _sort_key(cases, sort, owner)
    enc = encode(log)
    frame = enc.frame
    what, values = _categories(log, frame, color, owner)
    legend, cat = _legend(values, top)
    cohorts = resolve(log, by)
    names = [ALL] if cohorts is None else list(cohorts.names)
    cohort = (
        np.zeros(cases.height, dtype=np.int64)
        if cohorts is None
        else cohorts.codes.to_numpy().astype(np.int64)
    )
    pos = _order(cases, key, cohort, descending)
    band_size = np.bincount(cohort, minlength=len(names))
    band_first = np.concatenate([[0], np.cumsum(band_size)[:-1]])
    in_band = pos - band_first[cohort]
    keep_case = np.ones(cases.height, dtype=bool) if step is None else (in_band % step == 0)
    drawn_size = band_size if step is None else (band_size + step - 1) // step
    drawn_in_band = in_band if step is None else in_band // step
    n_drawn = int(drawn_size.sum())
    code = frame.get_column("code").to_numpy().astype(np.int64)
    ts = frame.get_column("ts").dt.epoch("us").to_numpy().astype(np.float64)
    starts = cases.get_column("start").dt.epoch("us").to_numpy().astype(np.float64)
    x = (ts - starts[code]) / 86400e6 if time == "relative" else ts
    ev_keep = keep_case[code]
    x0, x1 = float(x.min()), float(x.max())
    span = max(x1 - x0, 1e-9)
    cats = cat.to_numpy().astype(np.int64)
    case_ids = cases.get_column("case")

    def dots() -> pd.DataFrame | None:
        drawn_first = np.concatenate([[0], np.cumsum(drawn_size)[:-1]])
        row = (drawn_first[cohort] + drawn_in_band)[code[ev_keep]]
        px = np.minimum((x[ev_keep] - x0) / span * PLOT_WIDTH, PLOT_WIDTH - 1).astype(np.int64)
        t = pl.DataFrame(
            {"row": row, "px": px, "category_index": cats[ev_keep], "code": code[ev_keep], "x": x[ev_keep]}
        )
        t = t.group_by("row", "px", "category_index").agg(
            pl.col("code").first(), pl.col("x").min(), pl.len().alias("events")
        )
        if t.height > MAX_ELEMENTS:
            return None
        t = t.sort("row", "px", "category_index")
        out = t.with_columns(
            pl.lit(pl.Series(names, dtype=pl.String))
            .gather(pl.lit(pl.Series(cohort)).gather(pl.col("code")))
            .alias("cohort"),
            pl.lit(case_ids).gather(pl.col("code")).alias("case"),
            pl.lit(pl.Series(legend, dtype=pl.String)).gather(pl.col("category_index")).alias("category"),
            pl.col("events").cast(pl.Int64),
        ).select("cohort", "row", "case", "x", "category", "events", "px", "category_index")
        return _x_out(out, time).to_pandas()

    left: tuple[int, ...] | None = None  # bands, bands left out, their accounts and events
    drawn = dots() if cap is not None and n_drawn <= cap else None
    if drawn is not None:
        mode, n_rows, per_row = "dots", n_drawn, 1
        bands = tuple(
            (n, int(f), int(s))
            for n, f, s in zip(
                names, np.concatenate([[0], np.cumsum(drawn_size)[:-1]]), drawn_size, strict=True
            )
        )
    else:
        mode = "density"
        per_row, left_out = _rows_per_bin(drawn_size, DENSITY_ROWS)
        if left_out.any():  # more bands than rows: the largest bands are drawn, one row each
            before = int(ev_keep.sum())
            keep_case = keep_case & ~left_out[cohort]
            ev_keep = keep_case[code]
            left = (int((band_size > 0).sum()), int(left_out.sum()), int(drawn_size[left_out].sum()))
            left = (*left, before - int(ev_keep.sum()))
            drawn_size = np.where(left_out, 0, drawn_size)
            n_drawn = int(drawn_size.sum())
        bins = (drawn_size + per_row - 1) // per_row
        bin_first = np.concatenate([[0], np.cumsum(bins)[:-1]])
        n_rows = int(bins.sum())
        row = (bin_first[cohort] + drawn_in_band // per_row)[code[ev_keep]]
        col = np.minimum((x[ev_keep] - x0) / span * DENSITY_COLS, DENSITY_COLS - 1).astype(np.int64)
        t = pl.DataFrame(
            {"row": row, "col": col, "category_index": cats[ev_keep], "c": cohort[code[ev_keep]]}
        )
        per_cat = t.group_by("row", "col", "category_index", "c").agg(pl.len().alias("n"))
        cells = (
            per_cat.sort(["row", "col", "n", "category_index"], descending=[False, False, True, False])
            .group_by("row", "col", maintain_order=True)
            .agg(
                pl.col("n").sum().alias("events"),
                pl.col("category_index").first(),
                pl.col("n").first().alias("category_events"),
                pl.col("c").first(),
            )
        )
        top_n = max(int(cells.get_column("events").max() or 1), 1)  # type: ignore[arg-type]
        in_bin = (
            drawn_size[cells.get_column("c").to_numpy()]
            - (cells.get_column("row").to_numpy() - bin_first[cells.get_column("c").to_numpy()]) * per_row
        )
        cells = cells.with_columns(
            (1 + (pl.col("events").log1p() / math.log1p(top_n) * 6).round().cast(pl.Int64))
            .clip(1, 7)
            .alias("level"),
            pl.Series("accounts", np.minimum(in_bin, per_row).astype(np.int64)),
            ((pl.col("row") - pl.lit(pl.Series(bin_first)).gather(pl.col("c"))) * per_row)
            .cast(pl.Int64)
            .alias("first_account"),
            pl.lit(pl.Series(names, dtype=pl.String)).gather(pl.col("c")).alias("cohort"),
            pl.lit(pl.Series(legend, dtype=pl.String)).gather(pl.col("category_index")).alias("category"),
            (x0 + pl.col("col") * span / DENSITY_COLS).alias("x_from"),
            (x0 + (pl.col("col") + 1) * span / DENSITY_COLS).alias("x_to"),
        ).sort("row", "col")
        cells = cells.select(
            "cohort",
            "row",
            "first_account",
            "accounts",
            "x_from",
            "x_to",
            pl.col("events").cast(pl.Int64),
            "category",
            pl.col("category_events").cast(pl.Int64),
            "col",
            "category_index",
            "level",
        )
        drawn = _x_out(cells, time, columns=("x_from", "x_to")).to_pandas()
        bands = tuple(
            (n, int(f), int(s))
            for n, f, s, gone in zip(names, bin_first, bins, left_out, strict=True)
            if not gone
        )
    n_accounts, n_events = cases.height, int(code.size)
    caption = _caption(
        mode, n_accounts, n_events, n_drawn, n_rows, per_row, step, sort, descending, color, time, left
    )
    summary = pl.DataFrame(
        {
            "accounts": [n_accounts],
            "events": [n_events],
            "drawn_accounts": [n_drawn],
            "drawn_events": [int(ev_keep.sum())],
            "drawn_rows": [n_rows],
            "accounts_per_row": [per_row],
            "mode": [mode],
            "sample_every": [step or 1],
            "time": [time],
            "x_min": [_x_value(x0, time)],
            "x_max": [_x_value(x1, time)],
            "color": [f"{color} ({what})"],
            "categories": [len(legend)],
        }
    )
    return DottedChart(
        mode=mode,
        time=time,
        sort=sort,
        descending=descending,
        color=color,
        legend=tuple(legend),
        caption=caption,
        bands=bands,
        ticks=tuple(_time_ticks(x0, x1, time == "relative")),
        n_rows=n_rows,
        _drawn=drawn,
        _summary=summary.to_pandas(),
    )


def _x_value(v: float, time: str) -> Any:
    if time == "relative":
        return v
    return dt.datetime.fromtimestamp(v / 1e6, tz=dt.UTC).isoformat()


def _x_out(frame: pl.DataFrame, time: str, columns: tuple[str, ...] = ("x",)) -> pl.DataFrame:
    if time == "relative":
        return frame
    return frame.with_columns(pl.col(c).cast(pl.Int64).cast(pl.Datetime("us", "UTC")) for c in columns)


def _ordinal(n: int) -> str:
    """``2nd``, ``3rd``, ``11th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _caption(
    mode: str,
    n_accounts: int,
    n_events: int,
    n_drawn: int,
    n_rows: int,
    per_row: int,
    step: int | None,
    sort: str,
    descending: bool,
    color: str,
    time: str,
    left: tuple[int, ...] | None = None,
) -> str:
    order = f"sorted by {sort}{' (descending)' if descending else ''}, ties by case id"
    sampled = (
        f"every {_ordinal(step)} account of each band in sort order drawn, from the first "
        f"({n_drawn:,} of {n_accounts:,} accounts); "
        if step and step > 1
        else ""
    )
    axis = "days since each account's first event" if time == "relative" else "time in UTC"
    if mode == "dots":
        body = (
            f"{n_drawn:,} accounts, one row each, {order}; every event a dot (events of an account on "
            "the same pixel with the same colour drawn as one)"
        )
    else:
        counted = "every event counted" if left is None else "every event of the drawn bands counted"
        body = (
            f"{n_drawn:,} accounts in {n_rows:,} rows of {per_row:,} ({order}); {counted}: "
            f"colour = the most frequent {color} in the cell, opacity = events (log scale)"
        )
    bands = ""
    if left is not None:
        n_bands, n_left, left_accounts, left_events = left
        bands = (
            f" {n_bands:,} cohort bands are more than the {DENSITY_ROWS} rows: the {n_bands - n_left:,} "
            f"largest are drawn, one row each; {n_left:,} smaller ones ({left_accounts:,} accounts, "
            f"{left_events:,} events) are left out."
        )
    return f"{sampled}{body}. {n_events:,} events in the log; x: {axis}; colour: {color}.{bands}"
