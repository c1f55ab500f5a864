"""Funnels that are honest about open accounts: per-step windows, censoring, tested cohorts.

A funnel is a list of steps (activities, sets of activities, or stages). For each step
an account that reached it either **converts** (reaches the next step within the
step's window), **drops** (its window closed by the end of the log, or ``at``, without
the next step; or it reached a ``lost`` activity first), or is **still open** (its window
has not closed yet): open accounts are censored, never counted as drop-offs.

Rules (also in ``docs/funnels.md``):

* ``order="strict"``: an account enters the funnel at its first event of step 1; each
  later step is reached at the account's first event of it *after* the event that
  reached the previous step (in the log's event order: time, then input row), as
  Mixpanel's and Amplitude's funnels count "first time". ``order="any"``: a step counts
  whenever it happens: its first event, before or after the previous step, and the step
  is reached when the account has done it and every step before it (so the time to
  convert is 0 when it was done earlier).
* ``window``: the time allowed from reaching a step to reaching the next, per step
  (``"30D"``, or a list with one window per transition; None: no limit, so an account
  that has not converted stays open to the end of the log unless it reached ``lost``).
* **Conversion** of a step is the Kaplan–Meier probability of reaching the next step
  within the window, time counted from reaching the step; open accounts are censored at
  the end of the log (or ``at``), so it uses what is known of them without counting them
  as failures. Its 95% interval is the log–log interval with Greenwood's variance.
  When no account that could still convert was watched for the whole window (all entered
  recently) and some are open, the conversion is not known yet: NaN, with ``followed_days``
  (the longest watch) saying how far the data reach; such a group is not tested.
  ``converted_share`` (converted / entered) is the naive figure other tools show;
  ``closed_rate`` (converted / (converted + dropped)) leaves the open accounts out.
* With ``by``, each cohort's conversion of each step is compared with the rest (or as
  ``pairs``/``reference`` say): the difference of the two Kaplan–Meier conversions at the
  window, with Greenwood's variance (a 95% interval and a z-test: the fixed-time comparison
  of Klein et al. 2007; where a group's curve has no variance, e.g. none of its 3 accounts
  converted, the two-proportion test of converted accounts instead, Fisher's exact where
  counts are small), Benjamini–Hochberg q-values over every test of the call. The
  log-rank p-value (``p_logrank``: does one group convert *sooner* over the window) is
  given too, not used for the findings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from . import _stats as st
from ._cohorts import ALL, Cohorts, resolve
from ._compare import REST, _groups
from ._display import Displayed, note, section, table
from ._encoding import encode, require_events
from ._engine import require_embedded
from ._format import duration, percent, q_text
from ._log import JourneyLog
from ._params import check_choice, check_int, close_matches, invalid
from ._stages import stage_assignment
from ._typing import CohortBy, TimeLike
from ._validate import MISSING_COHORT
from ._warnings import warn
from .errors import JourneymineWarning

if TYPE_CHECKING:
    import os
    from pathlib import Path

    import pandas as pd

__all__ = ["Funnel", "funnel", "timestamp_resolution"]

_US = 1_000_000
_DAY_US = 86_400 * _US
_UNITS = (
    (_DAY_US, "1 day"),
    (3_600 * _US, "1 hour"),
    (60 * _US, "1 minute"),
    (_US, "1 second"),
    (1_000, "1 millisecond"),
    (1, "1 microsecond"),
)
StepSpec = Any  # str | set/list of str | ("activity" | "stage", name)


@dataclass(frozen=True)
class _Step:
    name: str
    activities: tuple[str, ...]
    kind: str  # "activity", "activities" or "stage"


@dataclass(frozen=True, eq=False, repr=False)
class Funnel(Displayed):
    """A funnel: accounts entering, converting, dropping and still open at every step.

    Built by :func:`funnel`.

    Attributes
    ----------
    steps : pandas.DataFrame
        One row per cohort and step: ``entered``, ``converted``, ``dropped``, ``open``,
        ``share_of_start`` (entered / entered the first step), ``conversion`` with
        ``ci_low``/``ci_high`` (Kaplan–Meier, open accounts censored), ``converted_share``,
        ``closed_rate``, and the time to convert among converters (``median_days``,
        ``p25_days``, ``p75_days``, ``p90_days``). The last step has entries only.
    comparisons : pandas.DataFrame
        With ``by``: one row per step transition and pair of groups, with both
        conversions, their difference and interval, Cohen's h, the log-rank ``p`` and the
        Benjamini–Hochberg ``q``; empty without cohorts.
    step_names : tuple of str
    windows : tuple
        The window of each transition in seconds (None: no limit).
    order : str
    at : pandas.Timestamp
        The end of observation: ``at``, or the log's last event.
    by : str or tuple of str or None
    alpha : float

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> f = jm.funnel(log, ["Demo request", "Demo", "Proposal sent", "Contract signed"])
    >>> f
    <Funnel: 4 steps, 97 accounts entering, 75 still open>
    >>> f.steps[["name", "entered", "converted", "open", "conversion"]].round(2)
                  name  entered  converted  open  conversion
    0     Demo request       97         72    25        0.74
    1             Demo       72         51    21        0.71
    2    Proposal sent       51         22    29        0.43
    3  Contract signed       22          0     0         NaN
    """

    steps: pd.DataFrame
    comparisons: pd.DataFrame
    step_names: tuple[str, ...]
    windows: tuple[float | None, ...]
    order: str
    at: Any
    by: str | tuple[str, ...] | None
    alpha: float
    resolution: str
    _accounts: pl.DataFrame = field(repr=False)
    _curves: pl.DataFrame = field(repr=False)
    _cohort_names: tuple[str, ...] = field(repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per cohort: accounts entering the first step, reaching the last, still
        open somewhere in the funnel, and the overall conversion (the product of the
        steps' Kaplan–Meier conversions)."""
        import pandas as pd

        rows = []
        for cohort, part in self.steps.groupby("cohort", sort=False):
            first, last = part.iloc[0], part.iloc[-1]
            conv = part["conversion"].iloc[:-1]
            rows.append(
                {
                    "cohort": cohort,
                    "entered": int(first["entered"]),
                    "reached_last": int(last["entered"]),
                    "open": int(part["open"].sum()),
                    "dropped": int(part["dropped"].sum()),
                    "reached_share": float(last["entered"]) / first["entered"]
                    if first["entered"]
                    else math.nan,
                    "conversion": float(np.prod(conv)) if len(conv) and conv.notna().all() else math.nan,
                }
            )
        return pd.DataFrame(rows)

    def to_dataframe(
        self, kind: Literal["steps", "comparisons", "accounts", "curves"] = "steps"
    ) -> pd.DataFrame:
        """A table: ``"steps"`` (default), ``"comparisons"``, ``"accounts"`` (one row per
        account and step it reached: when, its status there and the days to convert) or
        ``"curves"`` (the Kaplan–Meier conversion curve of each cohort and step)."""
        check_choice("kind", "Funnel.to_dataframe", kind, ("steps", "comparisons", "accounts", "curves"))
        if kind == "steps":
            return self.steps.copy()
        if kind == "comparisons":
            return self.comparisons.copy()
        if kind == "curves":
            return self._curves.to_pandas()
        return self._accounts.to_pandas()

    def curve(self, step: int | str = 1, cohort: str | None = None) -> pd.DataFrame:
        """The Kaplan–Meier conversion curve of one step (its name or 1-based number) and
        cohort: ``days`` since reaching the step and ``conversion`` by then."""
        k = self._step_index(step, "Funnel.curve")
        name = ALL if cohort is None and self.by is None else cohort
        if name not in self._cohort_names:
            need = "given: this funnel has cohorts, " if cohort is None else ""
            raise invalid("cohort", "Funnel.curve", f"{need}one of {list(self._cohort_names)[:12]}", cohort)
        part = self._curves.filter((pl.col("step") == k) & (pl.col("cohort") == name))
        return part.select("days", "conversion", "at_risk").to_pandas()

    def _step_index(self, step: int | str, owner: str) -> int:
        if isinstance(step, str) and step in self.step_names:
            return self.step_names.index(step) + 1
        if isinstance(step, int) and not isinstance(step, bool) and 1 <= step < len(self.step_names):
            return step
        raise invalid(
            "step", owner, f"a step name or a number 1–{len(self.step_names) - 1} (not the last step)", step
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the steps, comparisons and options."""
        from ._jsonsafe import jsonable, records

        return {
            "steps": records(self.steps),
            "comparisons": records(self.comparisons),
            "step_names": list(self.step_names),
            "windows": list(self.windows),
            "order": self.order,
            "at": str(self.at),
            "by": jsonable(self.by),
            "alpha": self.alpha,
        }

    @property
    def findings(self) -> list[str]:
        """The cohort differences significant at ``alpha``, as sentences (strongest first)."""
        c = self.comparisons
        if c.empty:
            return []
        sig = c[c["q"] <= self.alpha].sort_values(["q", "step", "group_a"], kind="stable")
        return [str(s) for s in sig["finding"]]

    @property
    def svg(self) -> str:
        """The funnel chart: one panel per cohort, bars in % of the accounts entering the
        first step, each split into converted, still open and dropped."""
        from ._funnel_draw import funnel_svg

        return funnel_svg(
            self.steps,
            step_names=self.step_names,
            windows=[_window_text(w) for w in self.windows],
            cohorts=list(self._cohort_names),
            title=self._title(),
            subtitle=self._subtitle(),
            flags=self._flags(),
        )

    def _flags(self) -> dict[tuple[str, int], str]:
        """(cohort, step) → "▲ vs the rest" for the cohort's first significant comparison
        at that step."""
        c = self.comparisons
        out: dict[tuple[str, int], str] = {}
        if c.empty:
            return out
        for r in c[c["q"] <= self.alpha].sort_values(["q", "step"], kind="stable").to_dict("records"):
            key = (str(r["group_a"]), int(r["step"]))
            if key not in out:
                other = "the rest" if r["group_b"] == REST else str(r["group_b"])
                out[key] = f"{'▲' if r['difference'] > 0 else '▼'} vs {other}|{q_text(r['q'])}"
        return out

    def _title(self) -> str:
        by = "" if self.by is None else f" by {self.by if isinstance(self.by, str) else ', '.join(self.by)}"
        return f"Funnel{by}"

    def _subtitle(self) -> str:
        windows = sorted({_window_text(w) for w in self.windows})
        window = f"window {windows[0]}" if len(windows) == 1 else "a window per step"
        at = "" if self.at is None else f" · observed to {self.at:%Y-%m-%d}"
        return (
            f"{self.order} order · {window}{at} · bars: % of the accounts entering step 1 · arrows: "
            "Kaplan–Meier conversion to the next step within the window (open accounts censored), its 95% CI "
            "and the median time of those who converted"
        )

    def save(self, path: str | os.PathLike[str], *, scale: float = 1.0) -> Path:
        """Write the chart: ``.svg``, ``.png`` (needs cairosvg) or ``.html`` (chart and
        tables), atomically."""
        from ._output import save_drawing

        return save_drawing(self, path, "Funnel.save", scale)

    def to_png(self, *, scale: float = 1.0) -> bytes:
        """The chart as PNG bytes (rendered by cairosvg)."""
        from ._output import svg_to_png

        return svg_to_png(self.svg, scale=scale)

    def _display_svg(self) -> str | None:
        return self.svg

    def _display_html(self, svg: str | None) -> str:
        shown = self.steps[
            [
                "cohort",
                "step",
                "name",
                "entered",
                "converted",
                "open",
                "dropped",
                "conversion",
                "ci_low",
                "ci_high",
                "median_days",
            ]
        ]
        parts = [f'<div class="jm-drawing">{svg}</div>'] if svg else []
        parts.append(
            table(
                shown,
                formats={
                    "conversion": _pct,
                    "ci_low": _pct,
                    "ci_high": _pct,
                    "median_days": lambda v: "–" if v != v else f"{v:,.1f}",
                },
            )
        )
        if self.findings:
            parts.append(
                note("Cohort differences (q ≤ " + f"{self.alpha:g}): " + "; ".join(self.findings[:5]))
            )
        return section("funnel", self._title(), *parts)

    def __repr__(self) -> str:
        s = self.summary
        n = int(s["entered"].sum())
        opened = int(s["open"].sum())
        return (
            f"<Funnel: {len(self.step_names)} steps, {n:,} accounts entering, "
            f"{opened:,} still open{'' if self.by is None else f', {len(s)} cohorts'}>"
        )


def _pct(v: Any) -> str:
    return "–" if v != v else percent(float(v))


def _window_text(seconds: float | None) -> str:
    if seconds is None:
        return "no limit"
    days = seconds / 86_400
    if days >= 1 and days == int(days):
        return f"{int(days)} day{'s' if days != 1 else ''}"
    return duration(seconds)


def timestamp_resolution(log: JourneyLog) -> tuple[int, str]:
    """The coarsest unit every timestamp of ``log`` is a whole multiple of (in
    microseconds, and as text): a log of dates has a resolution of 1 day.

    Examples
    --------
    >>> import journeymine as jm
    >>> timestamp_resolution(jm.datasets.demo_b2b(n_accounts=20, random_state=0))
    (1000000, '1 second')
    """
    cached = log._cache.get("resolution")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    us = log.to_polars("events").get_column("timestamp").dt.epoch("us").to_numpy()
    found = (1, "1 microsecond")
    for unit, text in _UNITS:
        if not np.any(us % unit):
            found = (unit, text)
            break
    log._cache["resolution"] = found
    return found


def _parse_window(value: Any, owner: str, resolution: tuple[int, str], param: str = "window") -> float | None:
    """One window in seconds (None: no limit)."""
    import datetime as dt

    import pandas as pd

    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (int, float, np.number)):
        raise invalid(
            param,
            owner,
            "a duration with its unit, e.g. '30D', '12h' or datetime.timedelta (a bare number has no unit)",
            value,
        )
    try:
        td = (
            pd.Timedelta(value)
            if isinstance(value, (str, dt.timedelta, np.timedelta64, pd.Timedelta))
            else None
        )
    except (ValueError, TypeError):
        td = None
    if td is None or pd.isna(td):
        raise invalid(param, owner, "a duration such as '30D', '2W', '12h' or a datetime.timedelta", value)
    us = td.value // 1_000
    if us <= 0:
        raise invalid(param, owner, "a positive duration (a window of zero or less can never be met)", value)
    if us < resolution[0]:
        raise invalid(
            param,
            owner,
            f"a duration of at least {resolution[1]}: every timestamp of this log is a whole "
            f"{resolution[1].removeprefix('1 ')}, so a shorter window cannot tell steps apart",
            value,
        )
    return us / _US


def _windows(
    window: Any, n: int, owner: str, log: JourneyLog, param: str = "window"
) -> tuple[float | None, ...]:
    if window is None:
        return (None,) * n
    resolution = timestamp_resolution(log)
    if isinstance(window, (list, tuple)):
        if len(window) != n:
            raise invalid(
                param,
                owner,
                f"one window per step transition ({n} for {n + 1} steps), or one window for all",
                f"{len(window)} windows",
            )
        return tuple(_parse_window(w, owner, resolution, param) for w in window)
    w = _parse_window(window, owner, resolution, param)
    return (w,) * n


def _stage_names(log: JourneyLog) -> set[str]:
    """The log's stage names, without working out each activity's stage: the values of its
    stage column (and its declared order), or the names derived stages can take."""
    from ._stages import DERIVED_STAGES

    if "stage" not in log.mapping.roles():
        cached = [v for k, v in log._cache.items() if k.startswith("stages:")]
        return set(cached[0].order) if cached else set(DERIVED_STAGES)
    values = log.to_polars("events").get_column("stage").drop_nulls().unique().to_list()
    return {str(v) for v in values} | set(log.stage_order or ())


def _resolve_steps(log: JourneyLog, steps: Any, owner: str, param: str = "steps") -> list[_Step]:
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence) or len(steps) < 2:
        raise invalid(
            param, owner, "a list of at least two steps (activities, sets of activities or stages)", steps
        )
    activities = set(log.activities)
    stage_names = _stage_names(log)
    assigned: list[Any] = []

    def stages() -> Any:
        if not assigned:  # the stage assignment reads the whole log: only when a step may be a stage
            assigned.append(stage_assignment(log))
        return assigned[0]

    def is_stage(name: Any) -> bool:
        return name in stage_names and name in stages().order

    def of_stage(name: str) -> tuple[str, ...]:
        return tuple(sorted(a for a, s in stages().activity_stage.items() if s == name))

    def unknown(name: Any, known: Any, what: str) -> Any:
        return invalid(param, owner, f"{what} of the log{_did_you_mean(name, known)}", name)

    out: list[_Step] = []
    for spec in steps:
        if isinstance(spec, tuple) and len(spec) == 2 and spec[0] in ("activity", "stage"):
            kind, name = spec
            if kind == "activity":
                if name not in activities:
                    raise unknown(name, activities, "an activity")
                out.append(_Step(str(name), (str(name),), "activity"))
            else:
                if not is_stage(name):
                    raise unknown(name, stages().order, "a stage")
                out.append(_Step(str(name), of_stage(str(name)), "stage"))
        elif isinstance(spec, str):
            if spec in activities and is_stage(spec):
                raise invalid(
                    param,
                    owner,
                    f"an unambiguous step: {spec!r} is both an activity and a stage; "
                    f"pass ('activity', {spec!r}) or ('stage', {spec!r})",
                    spec,
                )
            if spec in activities:
                out.append(_Step(spec, (spec,), "activity"))
            elif is_stage(spec):
                out.append(_Step(spec, of_stage(spec), "stage"))
            else:
                raise unknown(spec, activities | set(stages().order), "an activity or a stage")
        elif isinstance(spec, (set, frozenset, list, tuple)) and spec:
            names = [str(a) for a in spec]
            for a in names:
                if a not in activities:
                    raise unknown(a, activities, "an activity")
            acts = tuple(sorted(set(names)))
            out.append(_Step(" | ".join(acts), acts, "activities"))
        else:
            raise invalid(
                param,
                owner,
                "each step an activity or stage name, a non-empty set of activities, or "
                "('activity' | 'stage', name)",
                spec,
            )
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise invalid(param, owner, "steps that differ from each other", f"{dup[0]!r} given twice")
    return out


def funnel(
    log: JourneyLog,
    steps: Sequence[StepSpec],
    *,
    window: Any = None,
    order: Literal["strict", "any"] = "strict",
    by: CohortBy | None = None,
    at: TimeLike | None = None,
    lost: str | Sequence[str] | None = None,
    reference: str | None = None,
    pairs: Literal["vs-rest", "all", "consecutive"] | Sequence[tuple[str, str]] = "vs-rest",
    alpha: float = 0.05,
    min_cases: int = 30,
) -> Funnel:
    """Count a funnel, with open accounts censored (never counted as drop-offs).

    Parameters
    ----------
    log : JourneyLog
    steps : list
        At least two steps, in funnel order. Each is an activity, a stage (its
        activities), a set or list of activities (any of them reaches the step), or
        ``("activity" | "stage", name)`` for a name that is both.
    window : str, timedelta, list of them, or None
        Time allowed from reaching a step to reaching the next (``"30D"``, ``"12h"``,
        ``datetime.timedelta``); a list gives one per transition (``None`` in it: no
        limit). Must be positive and at least the log's timestamp resolution (a log of
        dates: 1 day). ``None``: no limit, so an account is open until it converts or
        reaches ``lost``.
    order : {"strict", "any"}
        ``"strict"``: each step after the previous one; ``"any"``: a step counts
        whenever it happens (module notes).
    by : str, list of str, callable or jm.period(...), optional
        Cohorts: each has its own funnel, and each cohort's conversion at each step is
        tested against the others.
    at : timestamp, optional
        The end of observation: only events up to ``at`` are seen, so windows still
        running at ``at`` are open (a funnel as it looked on that day). Default: the
        log's last event.
    lost : str or list of str, optional
        Activities that end an account's journey without converting (e.g. "Closed
        lost"): an account that reaches one within its window, before the next step,
        has dropped, even if the window is still open (and even if it comes back later:
        a drop-off is final, so an account counted as dropped on one day is dropped on
        every later day).
    reference, pairs : optional
        Which cohorts are compared, as in :func:`compare_cohorts` (default: each
        against the rest; ``"consecutive"`` for periods).
    alpha : float
        False discovery rate for :attr:`Funnel.findings`.
    min_cases : int
        A compared cohort with fewer accounts entering the funnel gets a warning that its
        tests have little power.

    Returns
    -------
    Funnel

    Raises
    ------
    InvalidParameterError
        An unknown step (with the closest names), a window that is not positive or is
        shorter than the log's timestamp resolution, an unknown order.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=2_000, random_state=0)
    >>> f = jm.funnel(log, ["Demo request", "Demo", "Proposal sent", "Contract signed"],
    ...               window="90D", lost="Closed lost", at="2024-06-30")
    >>> f.steps[["name", "entered", "converted", "dropped", "open"]]
                  name  entered  converted  dropped  open
    0     Demo request      882        576      241    65
    1             Demo      576        344      183    49
    2    Proposal sent      344        144      164    36
    3  Contract signed      144          0        0     0

    Open accounts are censored: the conversion lies between the naive share (open
    accounts as failures) and the rate among closed accounts (open ones ignored):

    >>> f.steps[["name", "converted_share", "conversion", "closed_rate"]].head(3).round(3)
                name  converted_share  conversion  closed_rate
    0   Demo request            0.653       0.683        0.705
    1           Demo            0.597       0.626        0.653
    2  Proposal sent            0.419       0.442        0.468
    """
    owner = "funnel"
    if not isinstance(log, JourneyLog):
        raise invalid("log", owner, "a JourneyLog", type(log).__name__)
    require_embedded(log, owner)
    require_events(log, owner)
    check_choice("order", owner, order, ("strict", "any"))
    check_int("min_cases", owner, min_cases, minimum=1)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise invalid("alpha", owner, "a number between 0 and 1", alpha)
    spec = _resolve_steps(log, steps, owner)
    if order == "any":
        _check_disjoint(spec, owner)
    windows = _windows(window, len(spec) - 1, owner, log)
    lost_acts = _lost(log, lost, owner)
    end = _end(log, at, owner)
    cohorts = resolve(log, by, until=None if at is None else end)  # period cohorts: no look past at
    enc = encode(log)
    code_of = {a: i for i, a in enumerate(enc.activities)}
    frame = enc.frame.with_row_index("pos").with_columns(pl.col("ts").dt.epoch("us").alias("t"))
    end_us = int(end.value // 1_000)
    frame = frame.filter(pl.col("t") <= end_us).select("pos", "code", "act", "t")
    names = [ALL] if cohorts is None else list(cohorts.names)
    cohort_of = (
        np.zeros(log.n_cases, dtype=np.int64)
        if cohorts is None
        else cohorts.codes.to_numpy().astype(np.int64)
    )
    accounts = _walk(frame, spec, windows, order, [code_of[a] for a in lost_acts], code_of, end_us)
    accounts = accounts.sort("code", "step").with_columns(
        pl.Series("_c", cohort_of).gather(accounts.sort("code", "step").get_column("code"))
    )
    steps_table, curves = _steps_table(accounts, spec, windows, names)
    drawn = list(names)
    if at is not None and cohorts is not None and cohorts.in_time and MISSING_COHORT in names:
        unseen = steps_table[(steps_table["cohort"] == MISSING_COHORT) & (steps_table["step"] == 1)]
        if int(unseen["entered"].sum()) == 0:  # accounts not seen by at: no period, no funnel
            steps_table = steps_table[steps_table["cohort"] != MISSING_COHORT].reset_index(drop=True)
            drawn.remove(MISSING_COHORT)
    comparisons = _compare(accounts, spec, windows, names, cohorts, reference, pairs, alpha, min_cases)
    cases = log.to_polars("cases").get_column("case")
    shown = pl.DataFrame(
        {
            "case": cases.gather(accounts.get_column("code")),
            "cohort": pl.Series(names, dtype=pl.String).gather(accounts.get_column("_c")),
            "step": accounts.get_column("step"),
            "name": pl.Series([s.name for s in spec], dtype=pl.String).gather(
                accounts.get_column("step") - 1
            ),
            "reached_at": accounts.get_column("t").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "status": accounts.get_column("status"),
            "days": accounts.get_column("days"),
        }
    )
    import pandas as pd

    return Funnel(
        steps=steps_table,
        comparisons=comparisons,
        step_names=tuple(s.name for s in spec),
        windows=windows,
        order=order,
        at=pd.Timestamp(end),
        by=None if cohorts is None else cohorts.by,
        alpha=float(alpha),
        resolution=timestamp_resolution(log)[1],
        _accounts=shown,
        _curves=curves,
        _cohort_names=tuple(drawn),
    )


def _check_disjoint(spec: list[_Step], owner: str, param: str = "steps") -> None:
    """In any order, one event would reach two steps that share an activity."""
    for i, a in enumerate(spec):
        for b in spec[i + 1 :]:
            shared = sorted(set(a.activities) & set(b.activities))
            if shared:
                raise invalid(
                    param,
                    owner,
                    f"steps without shared activities with order='any': {a.name!r} and {b.name!r} both "
                    f"contain {shared[0]!r}, so one event would reach both (use order='strict', where each "
                    "step is a later event, or make the steps disjoint)",
                    [a.name, b.name],
                )


def _did_you_mean(name: Any, known: Any) -> str:
    near = close_matches(str(name), known)
    return f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""


def _lost(log: JourneyLog, lost: Any, owner: str) -> list[str]:
    if lost is None:
        return []
    names = [lost] if isinstance(lost, str) else list(lost) if isinstance(lost, Sequence) else None
    if names is None or not names:
        raise invalid("lost", owner, "an activity or a list of activities", lost)
    for a in names:
        if a not in log.activities:
            raise invalid("lost", owner, f"an activity of the log{_did_you_mean(a, log.activities)}", a)
    return [str(a) for a in names]


def _end(log: JourneyLog, at: Any, owner: str) -> Any:
    import pandas as pd

    last = log.time_span.end
    if at is None:
        return last
    try:
        stamp = pd.Timestamp(at)
    except (ValueError, TypeError) as exc:
        raise invalid("at", owner, "a timestamp (e.g. '2024-06-30') or None", at) from exc
    if pd.isna(stamp):
        raise invalid("at", owner, "a timestamp (e.g. '2024-06-30') or None", at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if stamp < log.time_span.start:
        raise invalid("at", owner, f"a time after the log's first event ({log.time_span.start})", at)
    if stamp > last:
        warn(
            f"{owner}: at={stamp} is after the log's last event ({last}): the accounts are taken as seen "
            "until then, so a window that closed in between without an event counts as a drop-off. Leave "
            "at=None if the log was extracted at its last event.",
            JourneymineWarning,
        )
    return stamp


def _walk(
    frame: pl.DataFrame,
    spec: list[_Step],
    windows: tuple[float | None, ...],
    order: str,
    lost_codes: list[int],
    code_of: Mapping[str, int],
    end_us: int,
) -> pl.DataFrame:
    """One row per account and step it reached: ``code``, ``step`` (1-based), ``t`` (when it
    reached it), ``status`` (converted / dropped / open; "reached" at the last step) and
    ``days`` (to convert, converters only), plus ``km_t`` and ``km_e`` for the curves."""
    acts = [[code_of[a] for a in s.activities] for s in spec]
    first = (
        frame.filter(pl.col("act").is_in(acts[0]))
        .group_by("code", maintain_order=True)
        .agg(pl.col("pos").first(), pl.col("t").first())
    )
    lost_events = frame.filter(pl.col("act").is_in(lost_codes)) if lost_codes else None
    first_us = int(frame.get_column("t").min() or 0)  # type: ignore[arg-type]
    rows: list[pl.DataFrame] = []
    reached = first  # code, pos, t
    for k in range(1, len(spec)):
        w = windows[k - 1]
        w_us = None if w is None else round(w * _US)
        nxt = frame.filter(pl.col("act").is_in(acts[k]))
        if order == "strict":
            left = reached.with_columns((pl.col("pos") + 1).alias("key")).sort("key")
            hit = left.join_asof(
                nxt.select(
                    pl.col("code"),
                    pl.col("pos").alias("n_pos"),
                    pl.col("t").alias("n_t"),
                    pl.col("pos").alias("key"),
                ),
                on="key",
                by="code",
                strategy="forward",
                check_sortedness=False,
            ).drop("key")
            hit = hit.with_columns((pl.col("n_t") - pl.col("t")).alias("dt"))
        else:
            firsts = nxt.group_by("code").agg(
                pl.col("pos").first().alias("n_pos"), pl.col("t").first().alias("f")
            )
            hit = (
                reached.join(firsts, on="code", how="left")
                .with_columns(
                    pl.max_horizontal("t", "f").alias("n_t"),
                    pl.when(pl.col("f").is_null())
                    .then(None)
                    .otherwise(pl.max_horizontal(pl.col("f") - pl.col("t"), pl.lit(0)))
                    .alias("dt"),
                )
                .drop("f")
            )
        within = pl.col("dt").is_not_null() & (pl.lit(True) if w_us is None else pl.col("dt") <= w_us)
        closed = pl.lit(False) if w_us is None else (pl.col("t") + w_us <= end_us)
        if lost_events is not None:
            hit = _with_lost(hit, lost_events, order)
            limit = pl.lit(True) if w_us is None else (pl.col("l_t") <= pl.col("t") + w_us)
            # lost first: before the next step's event (strict: in event order; any: in time)
            before = pl.col("l_pos") < pl.col("n_pos") if order == "strict" else pl.col("l_t") < pl.col("n_t")
            lost_hit = pl.col("l_t").is_not_null() & limit & (pl.col("dt").is_null() | before)
        else:
            lost_hit = pl.lit(False)
        conv = within & ~lost_hit
        # KM time: to converting; an open account is censored at the end of observation; a
        # dropped one is known not to convert within the window (with no window: ever)
        follow = (
            (pl.lit(end_us) - pl.col("t"))
            if w_us is None
            else pl.min_horizontal(pl.lit(end_us) - pl.col("t"), pl.lit(w_us))
        )
        never = pl.lit(w_us if w_us is not None else end_us - first_us)
        hit = hit.with_columns(
            pl.when(conv)
            .then(pl.lit("converted"))
            .when(closed | lost_hit)
            .then(pl.lit("dropped"))
            .otherwise(pl.lit("open"))
            .alias("status"),
        ).with_columns(
            pl.when(pl.col("status") == "converted")
            .then(pl.col("dt"))
            .when(pl.col("status") == "dropped")
            .then(never)
            .otherwise(follow)
            .alias("km_t"),
            (pl.col("status") == "converted").alias("km_e"),
            # how long the account was watched while it could still convert: a lost account
            # only until its lost event, so that it does not make a short follow-up look long
            pl.when(pl.col("status") == "converted")
            .then(pl.col("dt"))
            .when((pl.col("status") == "dropped") & closed)
            .then(never)
            .when(pl.col("status") == "dropped")
            .then(pl.col("l_t") - pl.col("t") if lost_events is not None else never)
            .otherwise(follow)
            .alias("km_f"),
            pl.when(pl.col("status") == "converted")
            .then(pl.col("dt") / _DAY_US)
            .otherwise(None)
            .alias("days"),
            pl.lit(k, dtype=pl.Int32).alias("step"),
        )
        rows.append(hit.select("code", "step", "t", "status", "days", "km_t", "km_e", "km_f"))
        reached = hit.filter(pl.col("status") == "converted").select(
            "code", pl.col("n_pos").alias("pos"), pl.col("n_t").alias("t")
        )
    last = reached.select(
        "code",
        pl.lit(len(spec), dtype=pl.Int32).alias("step"),
        "t",
        pl.lit("reached").alias("status"),
        pl.lit(None, dtype=pl.Float64).alias("days"),
        pl.lit(None, dtype=pl.Int64).alias("km_t"),
        pl.lit(None, dtype=pl.Boolean).alias("km_e"),
        pl.lit(None, dtype=pl.Int64).alias("km_f"),
    )
    rows.append(last.with_columns(pl.col("t").cast(pl.Int64)))
    out = pl.concat(
        [
            r.with_columns(
                pl.col("t").cast(pl.Int64), pl.col("km_t").cast(pl.Int64), pl.col("km_f").cast(pl.Int64)
            )
            for r in rows
        ]
    )
    return out


def _with_lost(hit: pl.DataFrame, lost_events: pl.DataFrame, order: str) -> pl.DataFrame:
    """The first ``lost`` event after the account reached the step (``l_t``, ``l_pos``)."""
    if order == "strict":
        left = hit.with_columns((pl.col("pos") + 1).alias("key")).sort("key")
        right = lost_events.select(
            "code", pl.col("pos").alias("key"), pl.col("pos").alias("l_pos"), pl.col("t").alias("l_t")
        )
        return left.join_asof(right, on="key", by="code", strategy="forward", check_sortedness=False).drop(
            "key"
        )
    left = hit.sort("t")
    right = lost_events.select(
        "code", pl.col("t").alias("l_t"), pl.col("pos").alias("l_pos"), pl.col("t").alias("key")
    ).sort("key")
    return left.join_asof(
        right, left_on="t", right_on="key", by="code", strategy="forward", check_sortedness=False
    ).drop("key")


def _steps_table(
    accounts: pl.DataFrame, spec: list[_Step], windows: tuple[float | None, ...], names: list[str]
) -> tuple[pd.DataFrame, pl.DataFrame]:
    import pandas as pd

    counts = accounts.group_by("_c", "step", "status").len()
    lookup = {(c, s, st_): n for c, s, st_, n in counts.iter_rows()}
    parts = accounts.filter(pl.col("km_t").is_not_null()).partition_by("_c", "step", as_dict=True)
    rows: list[dict[str, Any]] = []
    curves: list[pl.DataFrame] = []
    for ci, cohort in enumerate(names):
        start = None
        for k, s in enumerate(spec, start=1):
            if k < len(spec):
                conv, drop, op = (lookup.get((ci, k, x), 0) for x in ("converted", "dropped", "open"))
                entered = conv + drop + op
            else:
                conv = drop = op = 0
                entered = lookup.get((ci, k, "reached"), 0)
            start = entered if k == 1 else start
            row: dict[str, Any] = {
                "cohort": cohort,
                "step": k,
                "name": s.name,
                "activities": list(s.activities),
                "entered": entered,
                "converted": conv,
                "dropped": drop,
                "open": op,
                "share_of_start": entered / start if start else math.nan,
            }
            part = parts.get((ci, k))
            if k < len(spec) and part is not None and part.height:
                t = part.get_column("km_t").to_numpy().astype(float) / _US
                e = part.get_column("km_e").to_numpy().astype(bool)
                w = windows[k - 1]
                f = part.get_column("km_f").to_numpy().astype(float) / _US
                horizon = float(f.max()) if w is None else w  # no window: the longest follow-up
                open_ = part.get_column("status").to_numpy() == "open"
                est, lo, hi, _var, followed = _km_at(t, e, f, horizon, open_)
                days = part.filter(pl.col("km_e")).get_column("days").to_numpy()
                q = np.quantile(days, [0.25, 0.5, 0.75, 0.9]) if days.size else [math.nan] * 4
                row.update(
                    {
                        "conversion": est,
                        "ci_low": lo,
                        "ci_high": hi,
                        "followed_days": followed,
                        "converted_share": conv / entered if entered else math.nan,
                        "closed_rate": conv / (conv + drop) if conv + drop else math.nan,
                        "p25_days": float(q[0]),
                        "median_days": float(q[1]),
                        "p75_days": float(q[2]),
                        "p90_days": float(q[3]),
                    }
                )
                times, surv = st.km_curve(t, e)
                if times.size:
                    risk = t.size - np.searchsorted(np.sort(t), times, side="left")
                    curves.append(
                        pl.DataFrame(
                            {
                                "cohort": [cohort] * times.size,
                                "step": [k] * times.size,
                                "days": times / 86_400,
                                "conversion": 1 - surv,
                                "at_risk": risk.astype(np.int64),
                            }
                        )
                    )
            else:
                row.update(
                    {
                        c: math.nan
                        for c in (
                            "conversion",
                            "ci_low",
                            "ci_high",
                            "followed_days",
                            "converted_share",
                            "closed_rate",
                            "p25_days",
                            "median_days",
                            "p75_days",
                            "p90_days",
                        )
                    }
                )
            row["window"] = _window_text(windows[k - 1]) if k < len(spec) else ""
            rows.append(row)
    schema = {
        "cohort": pl.String,
        "step": pl.Int64,
        "days": pl.Float64,
        "conversion": pl.Float64,
        "at_risk": pl.Int64,
    }
    curve_frame = pl.concat(curves) if curves else pl.DataFrame(schema=schema)
    return pd.DataFrame(rows), curve_frame


def _compare(
    accounts: pl.DataFrame,
    spec: list[_Step],
    windows: tuple[float | None, ...],
    names: list[str],
    cohorts: Cohorts | None,
    reference: str | None,
    pairs: Any,
    alpha: float,
    min_cases: int,
) -> pd.DataFrame:
    import pandas as pd

    columns = [
        "step",
        "from",
        "to",
        "group_a",
        "group_b",
        "n_a",
        "n_b",
        "conversion_a",
        "conversion_b",
        "difference",
        "ci_low",
        "ci_high",
        "cohens_h",
        "test",
        "p",
        "p_logrank",
        "q",
        "finding",
    ]
    if cohorts is None:
        return pd.DataFrame(columns=columns)
    sizes = accounts.filter(pl.col("step") == 1).group_by("_c").len()
    present = {names[c]: n for c, n in sizes.iter_rows() if n > 0}
    ordered = _in_order(cohorts, present)
    if len(ordered) < 2:
        return pd.DataFrame(columns=columns)
    comparisons = _groups(np.asarray([]), ordered, pairs, reference)
    named = sorted({g for pair in comparisons for g in pair if g != REST and present[g] < min_cases})
    if named:
        listed = ", ".join(f"{g!r} ({present[g]})" for g in named[:8])
        warn(
            f"{len(named)} cohort(s) have fewer than min_cases={min_cases} accounts entering the funnel: "
            f"{listed}{' …' if len(named) > 8 else ''}. Their tests have little power, so a real difference "
            "may not show as significant.",
            JourneymineWarning,
        )
    index = {n: i for i, n in enumerate(names)}
    rows = []
    km = accounts.filter(pl.col("km_t").is_not_null())
    for k in range(1, len(spec)):
        part = km.filter(pl.col("step") == k)
        c = part.get_column("_c").to_numpy()
        t = part.get_column("km_t").to_numpy().astype(float) / _US
        e = part.get_column("km_e").to_numpy().astype(bool)
        closed = part.get_column("status").to_numpy() != "open"
        f = part.get_column("km_f").to_numpy().astype(float) / _US
        w = windows[k - 1]
        for a, b in comparisons:
            ma = c == index[a]
            mb = (c != index[a]) if b == REST else (c == index[b])
            if not ma.any() or not mb.any():
                continue
            # no window: both groups at the follow-up they share
            horizon = w if w is not None else float(min(f[ma].max(), f[mb].max()))
            ea, _, _, va, _ = _km_at(t[ma], e[ma], f[ma], horizon, ~closed[ma])
            eb, _, _, vb, _ = _km_at(t[mb], e[mb], f[mb], horizon, ~closed[mb])
            if ea != ea or eb != eb:  # a group not followed for the whole window: nothing to test
                p, test, half = math.nan, "not followed long enough", math.nan
            else:
                p, test = _z_p(ea - eb, va, vb, e[ma & closed], e[mb & closed])
                half = st.Z95 * math.sqrt(va + vb) if va > 0 and vb > 0 else math.nan
            rows.append(
                {
                    "step": k,
                    "from": spec[k - 1].name,
                    "to": spec[k].name,
                    "group_a": a,
                    "group_b": b,
                    "n_a": int(ma.sum()),
                    "n_b": int(mb.sum()),
                    "conversion_a": ea,
                    "conversion_b": eb,
                    "difference": ea - eb,
                    "ci_low": ea - eb - half,
                    "ci_high": ea - eb + half,
                    "cohens_h": float(st.cohens_h(np.array([ea]), np.array([eb]))[0]),
                    "test": test,
                    "p": p,
                    "p_logrank": st.logrank(t[ma], e[ma], t[mb], e[mb]),
                }
            )
    out = pd.DataFrame(rows, columns=[c for c in columns if c not in ("q", "finding")])
    if out.empty:
        return pd.DataFrame(columns=columns)
    pv = out["p"].to_numpy(dtype=float)
    q = np.full(pv.shape, np.nan)
    ok = np.isfinite(pv)
    q[ok] = st.bh_qvalues(pv[ok])
    out["q"] = q
    out["finding"] = [_sentence(r, windows[int(r["step"]) - 1]) for r in _records(out)]
    return out


def _km_at(
    t: np.ndarray, e: np.ndarray, f: np.ndarray, horizon: float, open_: np.ndarray
) -> tuple[float, float, float, float, float]:
    """Kaplan–Meier conversion by ``horizon`` (seconds) with its interval and Greenwood
    variance, and the follow-up in days: NaN when no account of the group was watched that
    long while it could still convert (``f``: a lost account only until its lost event) and
    the curve had not reached 100% (the data say nothing about conversion by then), unless
    no account is open (``open_``): then every account's fate by the horizon is known."""
    if t.size == 0:
        return math.nan, math.nan, math.nan, math.nan, math.nan
    followed = float(f.max())
    est, lo, hi, var = st.km_incidence_at(t, e, horizon)
    if followed < horizon and est < 1.0 and open_.any():
        return math.nan, math.nan, math.nan, math.nan, followed / 86_400
    return est, lo, hi, var, min(followed, horizon) / 86_400


def _in_order(cohorts: Cohorts, present: Mapping[str, int]) -> list[str]:
    """The cohorts with accounts, in the order pairs are formed: periods in time order
    (without ``(missing)``, which is no period), other cohorts by name."""
    if cohorts.in_time:
        return [n for n in cohorts.names if n in present and n != MISSING_COHORT]
    return sorted(present)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _z_p(diff: float, va: float, vb: float, ea: np.ndarray, eb: np.ndarray) -> tuple[float, str]:
    """Two-sided p of the difference of two Kaplan–Meier conversions, and the test's name.

    The z-test on Greenwood's variances, unless a group's curve has none (every account
    converted, or none did: Greenwood's variance is then 0, which would make a group of 3
    look certain); then the two-proportion test of converted against dropped accounts,
    the open ones left out (``ea``/``eb`` are the closed accounts' conversions; Fisher's
    exact where counts are small), and the interval is NaN."""
    from scipy.stats import norm

    if va > 0 and vb > 0:
        return float(2 * norm.sf(abs(diff) / math.sqrt(va + vb))), "KM difference"
    if ea.size == 0 or eb.size == 0:
        return math.nan, "no closed accounts"
    x = (
        np.array([float(ea.sum())]),
        np.array([float(ea.size)]),
        np.array([float(eb.sum())]),
        np.array([float(eb.size)]),
    )
    p, test = st.two_proportion_tests(*x)
    return float(p[0]), str(test[0])


def _sentence(r: Mapping[str, Any], window: float | None) -> str:
    a, b = r["group_a"], r["group_b"]
    who = f"{a} accounts" if a != REST else "The rest"
    than = "the rest" if b == REST else str(b)
    more = "more" if r["difference"] > 0 else "less"
    within = "" if window is None else f" within {_window_text(window)}"
    return (
        f"{who} go from {r['from']} to {r['to']}{within} {more} often than {than} "
        f"({percent(r['conversion_a'])} vs {percent(r['conversion_b'])}, h = {r['cohens_h']:+.2f}, "
        f"{q_text(r['q'])})"
    )
