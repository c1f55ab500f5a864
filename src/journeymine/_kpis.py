"""Journey KPIs per cohort: conversion, time to purchase, sales cycle, churn, revenue, engagement.

Definitions (also in ``docs/kpis.md``):

* ``conversion_rate``: won / (won + lost) among the accounts with an outcome; open
  accounts are left out, never counted as failures (Wilson 95% interval). Without a
  ``lost`` outcome it is the Kaplan–Meier probability of being won by the longest observed
  time, open accounts censored.
* ``time_to_purchase_days``: first touch to the first won event; Kaplan–Meier median with
  p25/p75, accounts not won censored at the end of the log (NaN when fewer than half of
  the accounts are ever won, which is common: then read p25, or
  ``time_to_purchase_among_won_days``, the plain median over won accounts).
* ``sales_cycle_days``: first *sales touch* to close (the first won or lost event), over
  closed accounts with a sales touch before the close: median, p25, p75. A sales touch is an
  activity in ``sales_start``, or by default any event of the second journey stage or later
  (e.g. consideration onwards) other than the won and lost activities themselves: the close
  does not open its own cycle, so a two-step funnel (touch → won) has no sales cycle (NaN,
  shown as "–"), rather than a cycle of 0 days.
* ``touches_before_purchase`` and ``contacts_before_purchase``: events and distinct
  contacts before the first won event, median over won accounts.
* ``dwell_<stage>_days``: median time spent in each stage (:func:`stage_durations`).
* ``churn_rate``: churned / won (Wilson 95% interval).
* ``purchase_frequency``: purchase events (``purchases``, by default the won activities)
  per won account, mean.
* ``revenue_per_account``: sum of the ``value`` column per won account, mean (when mapped).
* ``engagement_per_month``: events per active month (first to last event, at least one
  month), median.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from . import _stats as st
from ._cohorts import Cohorts, resolve
from ._display import Displayed, section, table
from ._encoding import ALL, require_events
from ._engine import engine_of
from ._log import JourneyLog
from ._outcomes import PREFIX, OutcomeSpec, check_outcomes, normalize_outcomes, outcome_roles, outcome_times
from ._params import as_names, invalid
from ._typing import CohortBy

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["JourneyKPIs", "kpis"]

_DAY = 86_400.0
_MONTH = 30.4375 * _DAY


def _km_incidence(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan–Meier probability of the event by the longest observed time."""
    _, surv = st.km_curve(time, event)
    return float(1 - surv[-1]) if surv.size else 0.0


@dataclass(frozen=True, eq=False, repr=False)
class JourneyKPIs(Displayed):
    """KPIs per cohort. ``table`` is tidy: one row per cohort and KPI with ``value``,
    ``ci_low``, ``ci_high`` (where an interval applies), ``unit`` and ``n`` (accounts the
    figure is computed over); ``summary`` is the same table (a copy).

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> k = jm.kpis(log, outcomes=jm.datasets.DEMO_OUTCOMES, by="segment")
    >>> k
    <JourneyKPIs: 23 KPIs for 3 cohort(s)>
    >>> round(k.value("conversion_rate", "SMB"), 2)
    0.37
    >>> k.table.query("kpi == 'conversion_rate'")[["cohort", "value", "ci_low", "ci_high", "n"]].round(2)
            cohort  value  ci_low  ci_high   n
    4          SMB   0.37    0.24     0.52  41
    27  Mid-market   0.75    0.58     0.87  32
    50  Enterprise   0.64    0.45     0.80  25
    """

    table: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """The KPIs with their intervals: one row per cohort and KPI (a copy of ``table``)."""
        return self.table.copy()

    def to_dataframe(self, *, wide: bool = False) -> pd.DataFrame:
        """The tidy table, or one row per cohort and one column per KPI (``wide=True``)."""
        if not wide:
            return self.table.copy()
        out: pd.DataFrame = self.table.pivot(index="cohort", columns="kpi", values="value")
        order = list(dict.fromkeys(self.table["kpi"]))
        return out[order]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe rows."""
        from ._jsonsafe import records

        return {"kpis": records(self.table)}

    def value(self, kpi: str, cohort: Any = ALL) -> float:
        """One figure, e.g. ``k.value("conversion_rate", "Enterprise")``."""
        row = self.table[(self.table["kpi"] == kpi) & (self.table["cohort"] == cohort)]
        if row.empty:
            raise invalid(
                "kpi",
                "JourneyKPIs.value",
                f"one of {sorted(set(self.table['kpi']))} for a cohort in "
                f"{sorted(map(str, set(self.table['cohort'])))}",
                (kpi, cohort),
            )
        return float(row["value"].iloc[0])

    def __repr__(self) -> str:
        return (
            f"<JourneyKPIs: {self.table['kpi'].nunique()} KPIs for "
            f"{self.table['cohort'].nunique()} cohort(s)>"
        )

    def _display_html(self, svg: str | None) -> str:
        """KPIs down, cohorts across; shares with their 95% interval."""
        import pandas as pd

        def text(r: dict[Any, Any]) -> str:
            v = r["value"]
            out = "–" if v != v else (f"{v:.1%}" if r["unit"] == "share" else f"{v:,.1f}")
            if r["ci_low"] == r["ci_low"] and r["unit"] == "share":
                out += f" ({r['ci_low']:.0%}–{r['ci_high']:.0%})"
            return out

        cells = self.table.assign(text=[text(r) for r in self.table.to_dict("records")])
        grid = cells.pivot(index="kpi", columns="cohort", values="text").fillna("")
        grid = grid.reindex(index=list(dict.fromkeys(self.table["kpi"])),
                            columns=list(dict.fromkeys(self.table["cohort"])))
        grid.index.name, grid.columns.name = "KPI", None
        return section("kpis", repr(self), table(pd.DataFrame(grid), index=True, max_rows=60))


def kpis(
    log: JourneyLog,
    *,
    outcomes: OutcomeSpec,
    by: CohortBy | None = None,
    won: str = "won",
    lost: str | None = "lost",
    churned: str | None = "churned",
    sales_start: str | Sequence[str] | None = None,
    purchases: str | Sequence[str] | None = None,
) -> JourneyKPIs:
    """Journey KPIs per cohort, with open accounts treated as censored.

    Parameters
    ----------
    log : JourneyLog
    outcomes : mapping
        Outcome name → activities (or a predicate over the events), e.g.
        ``{"won": ["Contract signed"], "lost": ["Closed lost"], "churned": ["Churned"]}``.
    by : str, list of str or callable, optional
        Cohorts; without it one row set for the whole log (cohort ``"(all)"``).
    won, lost, churned : str
        Which outcome names play these parts. ``won`` must be an outcome of ``outcomes``.
        ``lost`` and ``churned`` may be None; their defaults (``"lost"``, ``"churned"``)
        name the outcome of that name when there is one, and are simply absent otherwise
        (a won-only lead funnel gives no lost count, and conversion is then the share won
        by the end of the log, with open accounts censored). Another name that is not an
        outcome is an error.
    sales_start : str or sequence of str, optional
        Activities that open a sales cycle (default: any event of the second stage or later
        that is not a won or lost activity).
    purchases : str or sequence of str, optional
        Activities that count as purchases for the purchase frequency (default: the won
        activities).

    Returns
    -------
    JourneyKPIs

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_000, random_state=0)
    >>> k = jm.kpis(log, outcomes=jm.datasets.DEMO_OUTCOMES, by="segment")
    >>> round(k.value("conversion_rate", "Enterprise"), 2) > round(k.value("conversion_rate", "SMB"), 2)
    True
    """
    import pandas as pd

    from ._stages import stage_summary

    owner = "kpis"
    require_events(log, owner)
    outcomes = normalize_outcomes(outcomes, owner)
    won, lost, churned = outcome_roles(outcomes, won, lost, churned, owner)
    check_outcomes(log, outcomes, owner)
    cohorts = resolve(log, by)  # a by function is called here, and only here
    # the stage summary before anything per account is held here: on the DuckDB engine its
    # queries then do not add to the per-account tables below
    dwell = stage_summary(log, by=cohorts)
    # (the outcome times check a predicate's answer before the sales activities use it)
    cases = _outcome_cases(log, outcomes, cohorts=cohorts, won=won, lost=lost, owner=owner)
    sales_acts = _sales_activities(log, outcomes, sales_start, won=won, lost=lost, owner=owner)
    buy_acts = _purchase_activities(outcomes[won], purchases, owner)
    horizon: Any = log.to_polars("cases").get_column("end").max()  # open accounts are censored here
    event_columns = set(log.mapping.roles())
    per_case = _case_facts(log, cases, PREFIX + won, sales_acts, buy_acts)
    names = cohorts.names if cohorts is not None else (ALL,)
    codes = cases.get_column("cohort").rechunk()
    cases = cases.drop("cohort")
    rows: list[dict[str, Any]] = []
    # one cohort's accounts at a time, by cohort code in order of first appearance: on
    # millions of accounts, a copy of the whole table per cohort (or of its text keys) would
    # weigh more than the rest of the KPIs together. The two tables are filtered apart (by
    # one mask) and put side by side after: side by side first, their columns' different
    # chunks would be copied into one each
    for code in codes.unique(maintain_order=True).to_list():
        mask = codes == code
        rows += _cohort_kpis(
            names[code],
            pl.concat([cases.filter(mask), per_case.filter(mask)], how="horizontal").to_pandas(),
            won=PREFIX + won,
            lost=None if lost is None else PREFIX + lost,
            churned=None if churned is None else PREFIX + churned,
            horizon=horizon,
            event_columns=event_columns,
            dwell=dwell,
        )
    table = pd.DataFrame(rows)
    if cohorts is not None and cohorts.in_time:
        table = _periods_in_time(table, cohorts.names)
    elif by is not None:
        table = _largest_cohort_first(table)
    return JourneyKPIs(table=table)


def _outcome_cases(
    log: JourneyLog,
    outcomes: dict[str, Any],
    *,
    cohorts: Cohorts | None,
    won: str,
    lost: str | None,
    owner: str,
) -> pl.DataFrame:
    """One row per case (no case id: rows are in :attr:`JourneyLog.cases` order): ``start``,
    ``end``, its outcome times (as ``@`` + the outcome's name), ``cohort`` (the cohort's
    code, 0 without cohorts) and ``_close`` (the first won or lost event)."""
    times = outcome_times(log, {k: v for k, v in outcomes.items()}, owner, case=False, prefix=PREFIX)
    codes = cohorts.codes if cohorts is not None else pl.repeat(0, log.n_cases, dtype=pl.UInt32, eager=True)
    won_at = pl.col(PREFIX + won)
    close = pl.min_horizontal(won_at, pl.col(PREFIX + lost)) if lost is not None else won_at
    return times.with_columns(codes.alias("cohort"), close.alias("_close"))


def _sales_activities(
    log: JourneyLog,
    outcomes: dict[str, Any],
    sales_start: str | Sequence[str] | None,
    *,
    won: str,
    lost: str | None,
    owner: str,
) -> list[str]:
    """The activities that open a sales cycle: ``sales_start``, or by default those of the
    second stage or later other than the won and lost activities."""
    from ._stages import stage_assignment

    stages = stage_assignment(log)
    if sales_start is not None:
        return as_names(sales_start, "sales_start", owner, what="activities")
    later = set(stages.order[1:]) if len(stages.order) > 1 else set(stages.order)
    # the close itself does not open a cycle: a two-step funnel (touch → won) has no
    # sales cycle, which is undefined (NaN), not 0 days
    closing: set[str] = set()
    for part in (won, lost):
        if part is None:
            continue
        spec = outcomes[part]
        if callable(spec):  # the activities of the events the predicate marks
            events = log.events
            closing |= set(events.loc[np.asarray(spec(events), dtype=bool), "activity"])
        else:
            closing |= set(spec)
    return [a for a, s in stages.activity_stage.items() if s in later and a not in closing]


def _purchase_activities(won_spec: Any, purchases: str | Sequence[str] | None, owner: str) -> list[str]:
    """The activities that count as purchases: ``purchases``, by default the won activities."""
    return (
        as_names(purchases, "purchases", owner, what="activities")
        if purchases is not None
        else ([] if callable(won_spec) else list(won_spec))
    )


def _case_facts(
    log: JourneyLog, cases: pl.DataFrame, won: str, sales_acts: list[str], buy_acts: list[str]
) -> pl.DataFrame:
    """Per case (in the order of ``cases``), its events relative to the outcome times
    (``won``: the win's column): touches and contacts before the win, the first sales touch
    before the close, purchases, revenue and events."""
    with_code = cases.select(pl.col(won).alias("won"), "_close").with_columns(
        pl.int_range(0, cases.height, dtype=pl.Int64).alias("code")
    )
    facts = engine_of(log).case_facts(log, with_code, sales_acts, buy_acts)
    code = with_code.get_column("code")
    if facts.height == code.len() and facts.get_column("code").equals(code):
        return facts.drop("code")  # every case, in order (as engines give them): no copy
    return with_code.select("code").join(facts, on="code", how="left", maintain_order="left").drop("code")


def _row(
    cohort: Any, kpi: str, value: float, unit: str, n: int, lo: float = np.nan, hi: float = np.nan
) -> dict[str, Any]:
    """A row of the tidy KPI table."""
    return {
        "cohort": cohort,
        "kpi": kpi,
        "value": float(value),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "unit": unit,
        "n": int(n),
    }


def _cohort_kpis(
    key: Any,
    p: pd.DataFrame,
    *,
    won: str,
    lost: str | None,
    churned: str | None,
    horizon: Any,
    event_columns: set[str],
    dwell: pd.DataFrame,
) -> list[dict[str, Any]]:
    """Every KPI of one cohort (``p``: its cases), in the table's order."""
    import pandas as pd

    n = len(p)
    is_won = p[won].notna().to_numpy()
    is_lost = p[lost].notna().to_numpy() & ~is_won if lost is not None else np.zeros(n, bool)
    t_won = (p[won].fillna(pd.Timestamp(horizon)) - p["start"]).dt.total_seconds().to_numpy()
    won_rows = p[is_won]
    return [
        *_counts(key, n, is_won, is_lost, has_lost=lost is not None),
        _conversion(key, n, t_won, is_won, is_lost, has_lost=lost is not None),
        *_time_to_purchase(key, n, t_won, is_won),
        *_sales_cycle(key, p),
        *_before_purchase(key, won_rows, event_columns),
        *_churn(key, won_rows, churned),
        *_after_purchase(key, won_rows, event_columns),
        _engagement(key, p),
        *_dwell(key, dwell),
    ]


def _counts(
    key: Any, n: int, is_won: np.ndarray, is_lost: np.ndarray, *, has_lost: bool
) -> list[dict[str, Any]]:
    """Accounts, won, lost (when there is a lost outcome) and open."""
    return [
        _row(key, "accounts", n, "count", n),
        _row(key, "won", is_won.sum(), "count", n),
        *([_row(key, "lost", is_lost.sum(), "count", n)] if has_lost else []),
        _row(key, "open", n - is_won.sum() - is_lost.sum(), "count", n),
    ]


def _conversion(
    key: Any, n: int, t_won: np.ndarray, is_won: np.ndarray, is_lost: np.ndarray, *, has_lost: bool
) -> dict[str, Any]:
    """Won / decided with a Wilson interval; without a lost outcome, the Kaplan–Meier share
    won by the end of the log."""
    if not has_lost:
        return _row(key, "conversion_rate", _km_incidence(t_won, is_won), "share", n)
    decided = int(is_won.sum() + is_lost.sum())
    lo, hi = st.wilson(np.array([is_won.sum()], float), np.array([max(decided, 1)], float))
    return _row(
        key,
        "conversion_rate",
        is_won.sum() / decided if decided else np.nan,
        "share",
        decided,
        lo[0],
        hi[0],
    )


def _time_to_purchase(key: Any, n: int, t_won: np.ndarray, is_won: np.ndarray) -> list[dict[str, Any]]:
    """Kaplan–Meier median and quartiles of the time to the win, and the median among won."""
    labels = ("time_to_purchase_days", "time_to_purchase_p25_days", "time_to_purchase_p75_days")
    quantiles = st.km_quantiles(t_won, is_won, (0.5, 0.25, 0.75))  # one curve for the three
    rows = [_row(key, label, q / _DAY, "days", n) for q, label in zip(quantiles, labels, strict=True)]
    among = t_won[is_won] / _DAY
    rows.append(
        _row(
            key,
            "time_to_purchase_among_won_days",
            float(np.median(among)) if among.size else np.nan,
            "days",
            int(is_won.sum()),
        )
    )
    return rows


def _sales_cycle(key: Any, p: pd.DataFrame) -> list[dict[str, Any]]:
    """Median and quartiles of the first sales touch to the close, over closed accounts."""
    closed = p["_close"].notna() & p["_sales"].notna()
    cycle = ((p.loc[closed, "_close"] - p.loc[closed, "_sales"]).dt.total_seconds() / _DAY).to_numpy()
    return [
        _row(
            key,
            label,
            float(np.percentile(cycle, q)) if cycle.size else np.nan,
            "days",
            int(closed.sum()),
        )
        for q, label in (
            (50, "sales_cycle_days"),
            (25, "sales_cycle_p25_days"),
            (75, "sales_cycle_p75_days"),
        )
    ]


def _before_purchase(key: Any, won_rows: pd.DataFrame, event_columns: set[str]) -> list[dict[str, Any]]:
    """Touches, and contacts when mapped, before the win: median over won accounts."""
    rows = [
        _row(
            key,
            "touches_before_purchase",
            won_rows["touches_before"].median() if len(won_rows) else np.nan,
            "events",
            len(won_rows),
        )
    ]
    if "contact" in event_columns:
        rows.append(
            _row(
                key,
                "contacts_before_purchase",
                won_rows["contacts_before"].median() if len(won_rows) else np.nan,
                "contacts",
                len(won_rows),
            )
        )
    return rows


def _churn(key: Any, won_rows: pd.DataFrame, churned: str | None) -> list[dict[str, Any]]:
    """Churned / won with a Wilson interval (none without a churned outcome)."""
    if churned is None:
        return []
    churn = int((won_rows[churned].notna()).sum())
    lo, hi = st.wilson(np.array([churn], float), np.array([max(len(won_rows), 1)], float))
    return [
        _row(
            key,
            "churn_rate",
            churn / len(won_rows) if len(won_rows) else np.nan,
            "share",
            len(won_rows),
            lo[0],
            hi[0],
        )
    ]


def _after_purchase(key: Any, won_rows: pd.DataFrame, event_columns: set[str]) -> list[dict[str, Any]]:
    """Purchases, and revenue when a value is mapped, per won account (mean)."""
    rows = [
        _row(
            key,
            "purchase_frequency",
            won_rows["purchases"].mean() if len(won_rows) else np.nan,
            "purchases",
            len(won_rows),
        )
    ]
    if "value" in event_columns:
        rows.append(
            _row(
                key,
                "revenue_per_account",
                won_rows["revenue"].mean() if len(won_rows) else np.nan,
                "money",
                len(won_rows),
            )
        )
    return rows


def _engagement(key: Any, p: pd.DataFrame) -> dict[str, Any]:
    """Events per active month (first to last event, at least a month), median."""
    months = np.maximum((p["end"] - p["start"]).dt.total_seconds().to_numpy() / _MONTH, 1.0)
    per_month = float(np.median(p["events"].to_numpy() / months))
    return _row(key, "engagement_per_month", per_month, "events", len(p))


def _dwell(key: Any, dwell: pd.DataFrame) -> list[dict[str, Any]]:
    """The median time in each stage (:func:`stage_durations`)."""
    return [
        _row(key, f"dwell_{r['stage']}_days", r["median"] / _DAY, "days", r["accounts"])
        for r in dwell[dwell["cohort"] == key].to_dict("records")
    ]


def _periods_in_time(table: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Period cohorts in time order, an empty period shown with 0 accounts (its other KPIs
    NaN, n 0) rather than dropped."""
    import pandas as pd

    template = table[table["cohort"] == table["cohort"].iloc[0]]
    counts = {"accounts", "won", "lost", "open", "churned"}
    empty = []
    for name in names:
        if name in set(table["cohort"]):
            continue
        rows = template.assign(cohort=name, ci_low=math.nan, ci_high=math.nan, n=0)
        rows["value"] = [0.0 if k in counts else math.nan for k in rows["kpi"]]
        empty.append(rows)
    table = pd.concat([table, *empty], ignore_index=True) if empty else table
    table["cohort"] = pd.Categorical(table["cohort"], categories=list(names), ordered=True)
    table = table.sort_values("cohort", kind="stable").reset_index(drop=True)
    table["cohort"] = table["cohort"].astype(object)
    return table


def _largest_cohort_first(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its cohorts ordered by size, largest first (ties by name)."""
    import pandas as pd

    sizes = table[table["kpi"] == "accounts"].set_index("cohort")["value"]
    order = sorted(sizes.index, key=lambda c: (-sizes[c], str(c)))
    table["cohort"] = pd.Categorical(table["cohort"], categories=order, ordered=True)
    table = table.sort_values("cohort", kind="stable").reset_index(drop=True)
    table["cohort"] = table["cohort"].astype(object)
    return table
