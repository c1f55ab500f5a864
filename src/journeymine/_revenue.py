"""The revenue journey: recurring revenue per account over time, the waterfall (new,
expansion, contraction, churned, reactivated) per cohort and calendar period, and gross and
net revenue retention.

The rules, in the order they apply (docs/value.md says the same with examples):

* **Value events** are the events with a ``value``. A value that is negative or not finite
  cannot be revenue: the row is kept aside in :attr:`RevenueJourney.problems` with the
  reason, and a :class:`~journeymine.errors.DataQualityWarning` says how many.
* **Churn events** are the events of the ``churned`` activities: they end the relationship,
  and the account's recurring revenue is 0 from then on, until a later value event starts
  a new relationship (a *reactivation*). The events of one account between two churns are
  one *relationship*.
* **Kinds.** Each value event is ``new``, ``renewal``, ``expansion`` or ``contraction``:
  from the ``kind`` column when one is named (values compared without case or surrounding
  spaces; anything else is an error that lists the values and their counts), else inferred
  per relationship in time order: its first value event is ``new``; a later one is a
  ``renewal`` of a product already bought in the relationship (without a ``product``
  column there is one product) and an ``expansion`` (cross-sell) for a product not bought
  yet.
* **Recurring revenue** (ARR when values are annual) is kept per account and product:
  ``new`` and ``renewal`` set the product's amount to the value, ``expansion`` adds it,
  ``contraction`` takes it off (a contraction larger than the amount stops at 0; the row
  goes to ``problems``). The account's recurring revenue is the sum over its products.
* **Snapshots** are taken at calendar period starts (UTC): the revenue after every event
  strictly before that instant. The last period ends at the log's end and is ``partial``.
* **Waterfall.** Per account and period, the snapshots at the period's start (``opening``)
  and end (``closing``) classify the change: from 0 to more is ``new`` (the account's first
  revenue) or ``reactivation`` (it had revenue before); to 0 is ``churned`` (the opening
  amount); up is ``expansion``, down ``contraction``. So ``opening + new + reactivation +
  expansion - contraction - churned == closing`` for every cohort and period, and changes
  within a period net out (the standard ARR bridge).
* **Retention.** ``grr = (opening - contraction - churned) / opening`` and ``nrr =
  (opening + expansion - contraction - churned) / opening`` per period (only accounts with
  opening revenue count). The trailing twelve months at each period end: of the accounts
  with revenue twelve months before, ``nrr_12m`` is their revenue now over their revenue
  then, ``grr_12m`` the same with each account's revenue now capped at its revenue then.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._cohorts import resolve
from ._display import Displayed, note, section, table
from ._encoding import ALL, require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._params import as_names, close_matches, invalid
from ._periods import PERIODS, period_labels, period_ordinal, period_start, resolve_period
from ._typing import CohortBy
from ._warnings import warn
from .errors import DataQualityWarning, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KINDS", "RevenueJourney", "revenue"]

#: the kinds of value events, in the order the waterfall lists their effects
KINDS: tuple[str, ...] = ("new", "renewal", "expansion", "contraction")
_SETS = {"new", "renewal"}
#: the waterfall's movements: added (drawn above zero) and taken off (below)
MOVES_UP: tuple[str, ...] = ("new", "reactivation", "expansion")
MOVES_DOWN: tuple[str, ...] = ("contraction", "churned")
_US = 1_000_000
#: relative size below which a remainder of recurring revenue is rounding, not revenue
_EPS = 1e-9


def revenue(
    log: JourneyLog,
    *,
    period: str = "Q",
    by: CohortBy | None = None,
    churned: str | Sequence[str] | None = None,
    kind: str | None = None,
    product: str | None = None,
) -> RevenueJourney:
    """Recurring revenue over the journey: the waterfall and revenue retention per cohort.

    Parameters
    ----------
    log : JourneyLog
        A log with a ``value`` column (map one when reading: ``value="amount"``).
    period : {"M", "Q", "Y"}
        Calendar months, quarters or years (UTC); pandas-like aliases are accepted.
    by : str, list of str or callable, optional
        Cohorts of accounts (case attributes, or a function of :attr:`JourneyLog.cases`).
    churned : str or list of str, optional
        The activities that end a customer relationship: from such an event the account's
        recurring revenue is 0. Without them revenue only falls through contractions and
        renewals at a lower value.
    kind : str, optional
        An event attribute saying what each value event is: ``new``, ``renewal``,
        ``expansion`` or ``contraction`` (any case). Without it the kinds are inferred (the
        module's rules; docs/value.md).
    product : str, optional
        An event or case attribute naming the product of each value event: recurring
        revenue is then kept per product, and the first purchase of another product is an
        expansion (cross-sell).

    Returns
    -------
    RevenueJourney

    Raises
    ------
    SchemaError
        The log has no ``value`` column, ``kind`` or ``product`` is not an attribute of the
        log, a ``kind`` value is not one of the four, or no event has a usable value.
    InvalidParameterError
        ``period`` is not a month, quarter or year, or no ``churned`` activity is in the log.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=500, random_state=0)
    >>> rv = jm.revenue(log, period="Y", churned="Churned")
    >>> w = rv.waterfall
    >>> bool(((w["opening"] + w["new"] + w["reactivation"] + w["expansion"]
    ...        - w["contraction"] - w["churned"] - w["closing"]).abs() < 1e-6).all())
    True
    >>> rv.events["kind"].value_counts().to_dict()  # churn events have no kind
    {'new': 135, 'renewal': 69}
    """
    owner = "revenue"
    code = _period(log, period, owner)
    prep = _prepare(log, churned, kind, product, owner, "RevenueJourney")
    timeline, problems, rules = prep.timeline, prep.problems, prep.rules
    churn_acts, kind_col, product_col = prep.churned, prep.kind_column, prep.product_column
    cohorts = resolve(log, by)
    names = cohorts.names if cohorts is not None else (ALL,)
    cohort_of = (
        cohorts.codes.to_numpy().astype(np.int64) if cohorts is not None else np.zeros(log.n_cases, np.int64)
    )
    _, end = log.time_span
    end_us = int(end.timestamp() * _US) + 1  # the closing snapshot holds every event of the log
    first_us = int(timeline.get_column("us").to_numpy().min()) if timeline.height else end_us - 1
    first_ord = _ordinal(first_us, code)
    last_ord = _ordinal(end_us - 1, code)
    bounds = [int(period_start(o, code).timestamp() * _US) for o in range(first_ord, last_ord + 1)] + [end_us]
    snap = _Snapshots(timeline, log.n_cases)
    waterfall = _waterfall(snap, bounds, first_ord, code, cohort_of, names, end_us)
    accounts = _accounts(timeline, snap, cohort_of, names, end_us)
    shown_events = timeline.select(
        "case",
        "timestamp",
        "activity",
        (pl.col("product") if product_col is not None else pl.lit(None, dtype=pl.String)).alias("product"),
        "kind",
        "value",
        "arr_after",
        "row",
    )
    return RevenueJourney(
        period=code,
        by=cohorts.by if cohorts is not None else None,
        cohorts=tuple(names),
        churned=tuple(churn_acts),
        kind_column=kind_col,
        product_column=product_col,
        end=end.to_pydatetime() if hasattr(end, "to_pydatetime") else end,
        rules=rules,
        _waterfall=waterfall,
        _accounts=accounts,
        _events=shown_events.to_pandas(),
        _problems=problems.to_pandas(),
    )


@dataclass(frozen=True)
class _Prepared:
    """The typed value and churn events of a log (see :func:`_prepare`)."""

    timeline: pl.DataFrame
    problems: pl.DataFrame
    rules: str
    churned: list[str]
    kind_column: str | None
    product_column: str | None


def _prepare(
    log: JourneyLog, churned: Any, kind: str | None, product: str | None, owner: str, result: str
) -> _Prepared:
    """Check the log and the options, type the value events, compute the recurring revenue
    after each, and warn once about the rows set aside (``result`` names where they are)."""
    require_events(log, owner)
    require_embedded(log, owner)
    if "value" not in log.mapping.roles():
        raise SchemaError(
            f"{owner} needs a value column (the amount of each deal, renewal or expansion): map it when "
            "reading the log, e.g. jm.read_csv(path, ..., value='amount')."
        )
    churn_acts = _churn_activities(log, churned, owner)
    kind_col = _attribute(log, kind, "kind", owner, events_only=True)
    product_col = _attribute(log, product, "product", owner, events_only=False)
    # kept on the log (immutable; polars frames): revenue, lifetime value and acquisition
    # cost of one report type the same events once
    memo: dict[tuple[Any, ...], tuple[pl.DataFrame, pl.DataFrame, str]] = log._cache.setdefault("revenue", {})
    key = (tuple(churn_acts), kind_col, product_col)
    if key not in memo:
        events, problems = _value_events(log, churn_acts, kind_col, product_col, owner)
        memo[key] = _timeline(events, problems, kind_col is not None, product_col is not None)
    timeline, problems, rules = memo[key]
    if problems.height:
        reasons = problems.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
        top = "; ".join(f"{n:,} {r}" for r, n in reasons.iter_rows())
        warn(
            f"{owner}: {problems.height:,} value event{'s' if problems.height != 1 else ''} set aside or "
            f"adjusted ({top}). They are listed with their rows in {result}.problems; fix them at "
            "the source, or filter them out, to have them counted.",
            DataQualityWarning,
        )
    return _Prepared(timeline, problems, rules, churn_acts, kind_col, product_col)


def _period(log: JourneyLog, period: Any, owner: str) -> str:
    code = resolve_period(period, owner)
    if code not in ("M", "Q", "Y"):
        raise invalid(
            "period",
            owner,
            "'M' (month), 'Q' (quarter) or 'Y' (year): recurring revenue is reported per month, quarter "
            "or year",
            period,
        )
    return code


# -- checks ------------------------------------------------------------------------------------


def _churn_activities(log: JourneyLog, churned: Any, owner: str) -> list[str]:
    if churned is None:
        return []
    acts = as_names(churned, "churned", owner, what="activities")
    known = set(log.activities)
    if not any(a in known for a in acts):
        hint = close_matches(acts[0], log.activities) if acts else ""
        raise invalid("churned", owner, f"activities of the log{hint}", churned)
    return [a for a in acts if a in known]


def _attribute(log: JourneyLog, name: str | None, param: str, owner: str, *, events_only: bool) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise invalid(param, owner, "the name of a column of the log", name)
    if name in log.event_attributes or (not events_only and name in log.case_attributes):
        return name
    where = "event attributes" if events_only else "event or case attributes"
    known = [*log.event_attributes, *([] if events_only else log.case_attributes)]
    raise SchemaError(
        f"{owner}: {param}={name!r} is not one of the log's {where} ({known or 'none'}). Keep the column "
        f"when reading the log (event_attributes=[{name!r}])."
    )


# -- events ------------------------------------------------------------------------------------


def _value_events(
    log: JourneyLog, churn_acts: list[str], kind_col: str | None, product_col: str | None, owner: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The value and churn events (``code``, ``us``, ``row``, ``timestamp``, ``activity``,
    ``value``, ``churn``, ``product``, ``kind``) in (account, time, row) order, and the value
    events set aside (with ``reason``)."""
    ev = log.to_polars("events")
    cases = log.to_polars("cases").select("case", pl.int_range(0, pl.len(), dtype=pl.Int64).alias("code"))
    if product_col is not None and product_col in log.case_attributes and product_col not in ev.columns:
        ev = ev.join(log.to_polars("cases").select("case", pl.col(product_col)), on="case", how="left")
    frame = ev.select(
        "case",
        "timestamp",
        "activity",
        "row",
        pl.col("value").cast(pl.Float64),
        (pl.col(product_col).cast(pl.String) if product_col else pl.lit(None, dtype=pl.String)).alias(
            "product"
        ),
        (pl.col(kind_col).cast(pl.String) if kind_col else pl.lit(None, dtype=pl.String)).alias("kind"),
    ).with_columns(
        pl.col("activity").is_in(churn_acts).alias("churn"),
        (pl.col("timestamp").dt.epoch("us")).alias("us"),
    )
    frame = frame.filter(pl.col("churn") | pl.col("value").is_not_null())
    frame = frame.join(cases, on="case", how="left").sort("code", "us", "row")
    values = ~pl.col("churn")
    reason = (
        pl.when(values & ~pl.col("value").is_finite())
        .then(pl.lit("value is not a finite number"))
        .when(values & (pl.col("value") < 0))
        .then(pl.lit("negative value (give a contraction as the positive amount of the decrease)"))
        .when(values & (pl.col("value") == 0))
        .then(pl.lit("zero value: not counted (a placeholder? a lost customer is a churn activity)"))
    )
    if kind_col is not None:
        normal = pl.col("kind").str.strip_chars().str.to_lowercase()
        frame = frame.with_columns(normal.alias("kind"))
        unknown = frame.filter(values & pl.col("kind").is_not_null() & ~pl.col("kind").is_in(KINDS))
        if unknown.height:
            counts = unknown.group_by("kind").len().sort(["len", "kind"], descending=[True, False]).head(8)
            shown = ", ".join(f"{k!r} ({n:,})" for k, n in counts.iter_rows())
            raise SchemaError(
                f"{owner}: the {kind_col!r} column has values that are not a kind of value event: {shown} "
                f"({unknown.height:,} rows). Each value event must be one of {list(KINDS)}; map the others "
                f"first, e.g. df[{kind_col!r}] = df[{kind_col!r}].replace({{'upsell': 'expansion'}})."
            )
        reason = reason.when(values & pl.col("kind").is_null()).then(pl.lit(f"no kind in {kind_col!r}"))
    if product_col is not None:
        reason = reason.when(values & pl.col("product").is_null()).then(
            pl.lit(f"no product in {product_col!r}")
        )
    frame = frame.with_columns(reason.otherwise(None).alias("reason"))
    problems = frame.filter(pl.col("reason").is_not_null()).select(
        "case", "timestamp", "activity", "value", "row", "reason"
    )
    # a churn event that carries a value stays a churn; its value is listed, not counted
    valued_churn = frame.filter(pl.col("churn") & pl.col("value").is_not_null()).select(
        "case", "timestamp", "activity", "value", "row",
        pl.lit("a value on a churn event is not revenue (the churn is kept)").alias("reason"),
    )
    problems = pl.concat([problems, valued_churn]).sort("row")
    kept = frame.filter(pl.col("reason").is_null()).drop("reason")
    if not kept.filter(~pl.col("churn")).height:
        raise SchemaError(
            f"{owner}: no event has a usable value ({problems.height:,} set aside: see the warning's "
            "reasons). The value column holds the amount of each deal, renewal or expansion."
        )
    return kept, problems


def _timeline(
    events: pl.DataFrame, problems: pl.DataFrame, kinds_given: bool, by_product: bool
) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """Each value and churn event with its ``kind`` and the account's recurring revenue
    after it (``arr_after``); contractions beyond the amount are stopped at 0 and listed
    in ``problems``. Returns the rule text too."""
    f = events.with_columns(
        # a relationship ends at a churn event: the events after it start the next one
        pl.col("churn").cast(pl.Int64).cum_sum().over("code").alias("rel"),
        pl.col("product").fill_null("").alias("product"),
    )
    # the churn event itself closes its relationship
    f = f.with_columns(pl.when(pl.col("churn")).then(pl.col("rel") - 1).otherwise(pl.col("rel")).alias("rel"))
    if kinds_given:
        rules = "kinds from the kind column"
    else:
        first_in_rel = pl.int_range(0, pl.len()).over("code", "rel", "churn") == 0
        first_of_product = pl.int_range(0, pl.len()).over("code", "rel", "product", "churn") == 0
        f = f.with_columns(
            pl.when(pl.col("churn"))
            .then(pl.lit(None, dtype=pl.String))
            .when(first_in_rel)
            .then(pl.lit("new"))
            .when(first_of_product)
            .then(pl.lit("expansion"))
            .otherwise(pl.lit("renewal"))
            .alias("kind")
        )
        rules = (
            "kinds inferred: the first value event of a relationship is new, a later one a renewal of a "
            + (
                "product already bought (an expansion for a product not bought yet)"
                if by_product
                else "product already bought (there is no product column: one product)"
            )
        )
    f = f.with_columns(
        pl.when(pl.col("churn")).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("kind")).alias("kind")
    )
    kind = f.get_column("kind").to_numpy()
    value = f.get_column("value").fill_null(0.0).to_numpy()
    churn = f.get_column("churn").to_numpy()
    code = f.get_column("code").to_numpy()
    rel = f.get_column("rel").to_numpy()
    prod = f.get_column("product").to_numpy()
    arr_after, floored = _recurring(code, rel, prod, kind, value, churn)
    f = f.with_columns(pl.Series("arr_after", arr_after))
    if floored.any():
        extra = f.filter(pl.Series(floored)).select(
            "case",
            "timestamp",
            "activity",
            "value",
            "row",
            pl.lit("contraction larger than the recurring revenue: stopped at 0").alias("reason"),
        )
        problems = pl.concat([problems, extra]).sort("row")
    return f, problems, rules


def _recurring(
    code: np.ndarray,
    rel: np.ndarray,
    prod: np.ndarray,
    kind: np.ndarray,
    value: np.ndarray,
    churn: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The account's recurring revenue after each event (events in account, time order) and
    which contractions were stopped at 0. One pass; amounts per (account, relationship,
    product) in a dict that is cleared at each account."""
    n = code.size
    after = np.zeros(n)
    floored = np.zeros(n, dtype=bool)
    amounts: dict[tuple[int, Any], float] = {}
    total = 0.0
    last = -1
    for i in range(n):
        c = int(code[i])
        if c != last:
            amounts.clear()
            total, last = 0.0, c
        if churn[i]:
            amounts.clear()
            total = 0.0
            after[i] = 0.0
            continue
        key = (int(rel[i]), prod[i])
        before = amounts.get(key, 0.0)
        k = kind[i]
        v = float(value[i])
        if k in _SETS:
            now = v
        elif k == "expansion":
            now = before + v
        else:  # contraction
            now = before - v
            # what is left after taking off an amount equal to the product's, up to rounding
            # (100.1 + 200.2 - 200.2 - 100.1 leaves -2.8e-14), is nothing
            if abs(now) <= _EPS * max(abs(before), abs(v), 1.0):
                now = 0.0
            elif now < 0:
                now, floored[i] = 0.0, True
        amounts[key] = now
        # summed afresh (few products per account): no drift from adding and taking off
        total = math.fsum(amounts.values())
        after[i] = total
    return after, floored


# -- snapshots ----------------------------------------------------------------------------------


class _Snapshots:
    """Every account's recurring revenue at an instant: the ``arr_after`` of its last event
    strictly before it (0 before its first)."""

    def __init__(self, timeline: pl.DataFrame, n_cases: int) -> None:
        self.code = timeline.get_column("code").to_numpy()
        self.us = timeline.get_column("us").to_numpy()
        self.arr = timeline.get_column("arr_after").to_numpy()
        self.n = n_cases
        counts = np.bincount(self.code, minlength=n_cases)
        self.start = np.zeros(n_cases + 1, dtype=np.int64)
        np.cumsum(counts, out=self.start[1:])
        paid = self.arr > 0  # a deal of 0 is no revenue yet: the first real revenue is new
        first = np.full(n_cases, np.iinfo(np.int64).max)
        np.minimum.at(first, self.code[paid], self.us[paid])
        self.first_paid = first

    def at(self, us: int) -> np.ndarray:
        """Recurring revenue per account (all accounts) just before ``us``."""
        seen = np.bincount(self.code[self.us < us], minlength=self.n)
        out = np.zeros(self.n)
        has = seen > 0
        out[has] = self.arr[self.start[:-1][has] + seen[has] - 1]
        return out


def _ordinal(us: int, code: str) -> int:
    ts = pl.Series([us]).cast(pl.Datetime("us", "UTC"))
    return int(pl.select(period_ordinal(pl.lit(ts), code)).item())


def _twelve_months_before(us: int) -> int:
    t = dt.datetime.fromtimestamp(us / _US, tz=dt.UTC)
    try:
        back = t.replace(year=t.year - 1)
    except ValueError:  # 29 February
        back = t.replace(year=t.year - 1, day=28)
    return int(back.timestamp() * _US)


def _waterfall(
    snap: _Snapshots,
    bounds: list[int],
    first_ord: int,
    code: str,
    cohort_of: np.ndarray,
    names: Sequence[str],
    end_us: int,
) -> pd.DataFrame:
    import pandas as pd

    labels = period_labels(first_ord, first_ord + len(bounds) - 2, code)
    k = len(names)
    shots = [snap.at(b) for b in bounds]
    rows = []
    for i, label in enumerate(labels):
        open_, close = shots[i], shots[i + 1]
        before = snap.first_paid < bounds[i]
        up, down = close > open_, close < open_
        moves = {
            "new": np.where((open_ == 0) & up & ~before, close, 0.0),
            "reactivation": np.where((open_ == 0) & up & before, close, 0.0),
            "expansion": np.where((open_ > 0) & up, close - open_, 0.0),
            "contraction": np.where((close > 0) & down, open_ - close, 0.0),
            "churned": np.where((close == 0) & down, open_, 0.0),
        }
        sums = {m: np.bincount(cohort_of, weights=v, minlength=k) for m, v in moves.items()}
        opening = np.bincount(cohort_of, weights=open_, minlength=k)
        closing = np.bincount(cohort_of, weights=close, minlength=k)
        n_open = np.bincount(cohort_of, weights=(open_ > 0).astype(float), minlength=k)
        n_close = np.bincount(cohort_of, weights=(close > 0).astype(float), minlength=k)
        back_us = _twelve_months_before(bounds[i + 1] if i + 1 < len(bounds) - 1 else end_us)
        base = snap.at(back_us) if back_us >= bounds[0] else None
        for c, name in enumerate(names):
            o = float(opening[c])
            row: dict[str, Any] = {
                "cohort": name,
                "period": label,
                "start": dt.datetime.fromtimestamp(bounds[i] / _US, tz=dt.UTC),
                "end": dt.datetime.fromtimestamp(min(bounds[i + 1], end_us - 1) / _US, tz=dt.UTC),
                "partial": i == len(labels) - 1,
                "opening": o,
                **{m: float(sums[m][c]) for m in moves},
                "closing": float(closing[c]),
                "accounts_opening": int(n_open[c]),
                "accounts_closing": int(n_close[c]),
                "grr": (o - sums["contraction"][c] - sums["churned"][c]) / o if o > 0 else math.nan,
                "nrr": (o + sums["expansion"][c] - sums["contraction"][c] - sums["churned"][c]) / o
                if o > 0
                else math.nan,
            }
            row["grr_12m"], row["nrr_12m"] = _trailing(base, close, cohort_of == c)
            rows.append(row)
    out = pd.DataFrame(rows)
    return (
        out.sort_values(["cohort", "start"], kind="stable").reset_index(drop=True) if len(names) > 1 else out
    )


def _trailing(base: np.ndarray | None, now: np.ndarray, members: np.ndarray) -> tuple[float, float]:
    if base is None:
        return math.nan, math.nan
    had = members & (base > 0)
    then = float(base[had].sum())
    if then <= 0:
        return math.nan, math.nan
    return float(np.minimum(now[had], base[had]).sum()) / then, float(now[had].sum()) / then


def _accounts(
    timeline: pl.DataFrame,
    snap: _Snapshots,
    cohort_of: np.ndarray,
    names: Sequence[str],
    end_us: int,
) -> pd.DataFrame:
    """Per account with a value or churn event: cohort, first revenue, recurring revenue at
    the log's end, amounts by kind, relationships and the last churn."""

    per = (
        timeline.group_by("code")
        .agg(
            pl.col("case").first(),
            pl.col("timestamp").filter(pl.col("arr_after") > 0).min().alias("first_revenue"),
            *[pl.col("value").filter(pl.col("kind") == k).sum().alias(k) for k in KINDS],
            pl.col("rel").filter(~pl.col("churn")).n_unique().alias("relationships"),
            pl.col("timestamp").filter(pl.col("churn")).max().alias("last_churn"),
        )
        .sort("code")
    )
    code = per.get_column("code").to_numpy()
    now = snap.at(end_us)[code]
    out = per.with_columns(
        pl.Series("cohort", np.asarray(names, dtype=object)[cohort_of[code]].tolist(), dtype=pl.String),
        pl.Series("recurring_now", now),
    ).select("case", "cohort", "first_revenue", "recurring_now", *KINDS, "relationships", "last_churn")
    frame: pd.DataFrame = out.to_pandas()
    return frame


# -- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class RevenueJourney(Displayed):
    """Recurring revenue over the journey (rules in :func:`revenue` and docs/value.md).

    Attributes
    ----------
    period : str
        ``"M"``, ``"Q"`` or ``"Y"``.
    by : str, tuple of str or None
        What formed the cohorts.
    cohorts : tuple of str
    churned : tuple of str
        The activities that end a relationship.
    kind_column, product_column : str or None
        The columns the kinds and products came from.
    end : datetime.datetime
        The log's end: the last period closes there (``partial``).
    rules : str
        How the kinds were decided.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0, version=2)
    >>> rv = jm.revenue(log, period="Y", churned="Churned")
    >>> rv
    <RevenueJourney: 55 accounts with revenue, 42 paying at the end (2,482,806 recurring), 3 years, 1 cohort>
    >>> rv.waterfall[["period", "opening", "new", "churned", "closing"]].round(0)
      period    opening        new   churned    closing
    0   2023        0.0  1283719.0       0.0  1283719.0
    1   2024  1283719.0  1719938.0  351725.0  2661893.0
    2   2025  2661893.0   314638.0  406688.0  2482806.0
    """

    period: str
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    churned: tuple[str, ...]
    kind_column: str | None
    product_column: str | None
    end: dt.datetime
    rules: str
    _waterfall: pd.DataFrame
    _accounts: pd.DataFrame
    _events: pd.DataFrame
    _problems: pd.DataFrame

    @property
    def waterfall(self) -> pd.DataFrame:
        """Per cohort and period: ``start``, ``end``, ``partial``, ``opening``, ``new``,
        ``reactivation``, ``expansion``, ``contraction``, ``churned``, ``closing`` (amounts),
        ``accounts_opening``, ``accounts_closing``, and ``grr``, ``nrr``, ``grr_12m``,
        ``nrr_12m`` (NaN without revenue to retain)."""
        return self._waterfall.copy()

    @property
    def accounts(self) -> pd.DataFrame:
        """Per account with revenue or a churn: ``cohort``, ``first_revenue``,
        ``recurring_now`` (at the log's end), the amounts of its ``new``, ``renewal``,
        ``expansion`` and ``contraction`` events, ``relationships`` and ``last_churn``."""
        return self._accounts.copy()

    @property
    def events(self) -> pd.DataFrame:
        """The value and churn events used: ``case``, ``timestamp``, ``activity``,
        ``product``, ``kind`` (None for a churn), ``value``, ``arr_after`` (the account's
        recurring revenue after the event) and ``row`` (the input row)."""
        return self._events.copy()

    @property
    def problems(self) -> pd.DataFrame:
        """Value events set aside or adjusted: ``case``, ``timestamp``, ``activity``,
        ``value``, ``row`` and ``reason``."""
        return self._problems.copy()

    @property
    def summary(self) -> pd.DataFrame:
        """Per cohort: recurring revenue and paying accounts at the log's end, the sums of
        the waterfall's movements over all periods, and the latest complete period's
        trailing-twelve-month ``grr_12m`` and ``nrr_12m``."""
        import pandas as pd

        w = self._waterfall
        rows = []
        for name in self.cohorts:
            sub = w[w["cohort"] == name]
            done = sub[~sub["partial"] & sub["nrr_12m"].notna()]
            last = done.iloc[-1] if len(done) else None
            rows.append(
                {
                    "cohort": name,
                    "recurring_now": float(sub["closing"].iloc[-1]) if len(sub) else 0.0,
                    "paying_now": int(sub["accounts_closing"].iloc[-1]) if len(sub) else 0,
                    **{m: float(sub[m].sum()) for m in (*MOVES_UP, *MOVES_DOWN)},
                    "latest_period": None if last is None else str(last["period"]),
                    "grr_12m": math.nan if last is None else float(last["grr_12m"]),
                    "nrr_12m": math.nan if last is None else float(last["nrr_12m"]),
                }
            )
        return pd.DataFrame(rows)

    def to_dataframe(self) -> pd.DataFrame:
        """The waterfall (tidy: one row per cohort and period)."""
        return self.waterfall

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe waterfall, summary, accounts and problems."""
        from ._jsonsafe import jsonable, records

        return {
            "period": self.period,
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "churned": list(self.churned),
            "kind_column": self.kind_column,
            "product_column": self.product_column,
            "end": self.end.isoformat(),
            "rules": self.rules,
            "summary": records(self.summary),
            "waterfall": records(self._waterfall),
            "accounts": records(self._accounts),
            "problems": records(self._problems),
        }

    def __repr__(self) -> str:
        paying = int(self._accounts["recurring_now"].gt(0).sum())
        now = float(self._accounts["recurring_now"].sum())
        periods = self._waterfall["period"].nunique()
        earned = int(self._accounts["first_revenue"].notna().sum())
        return (
            f"<RevenueJourney: {earned:,} accounts with revenue, {paying:,} paying at the end "
            f"({now:,.0f} recurring), {periods} {PERIODS[self.period]}s, {len(self.cohorts)} "
            f"cohort{'s' if len(self.cohorts) != 1 else ''}>"
        )

    def draw(self, cohort: Any = None) -> str:
        """The waterfall of one cohort (or every cohort, ``cohort=None``) as SVG text: per
        period the revenue added (new, reactivation, expansion) above zero, the revenue lost
        (contraction, churned) below, and the closing recurring revenue as a line."""
        from ._revenue_draw import WaterfallPanel, waterfall_svg

        if cohort is None:
            names = list(self.cohorts)
        elif str(cohort) in self.cohorts:
            names = [str(cohort)]
        else:
            raise invalid("cohort", "RevenueJourney.draw", f"one of {list(self.cohorts)}", cohort)
        w = self._waterfall
        panels = []
        for name in names:
            sub = w[w["cohort"] == name]
            panels.append(
                WaterfallPanel(
                    name=None if self.by is None else name,
                    periods=[str(p) for p in sub["period"]],
                    up=sub[list(MOVES_UP)].to_numpy(dtype=float),
                    down=sub[list(MOVES_DOWN)].to_numpy(dtype=float),
                    closing=sub["closing"].to_numpy(dtype=float),
                    partial=bool(sub["partial"].any()),
                )
            )
        unit = PERIODS[self.period]
        by = "" if self.by is None else f" by {self.by if isinstance(self.by, str) else ', '.join(self.by)}"
        churn = " or ".join(self.churned) if self.churned else "no churn activity given"
        caption = (
            f"Recurring revenue per {unit} (UTC), compared at the start and the end of each {unit}; "
            f"churn: {churn}; {self.rules}; observed until {self.end:%Y-%m-%d} (the last {unit} is partial)."
        )
        return waterfall_svg(panels, title=f"Revenue waterfall per {unit}{by}", caption=caption)

    def _display_svg(self) -> str | None:
        return self.draw()

    def _display_html(self, svg: str | None) -> str:
        money = {c: (lambda v: f"{v:,.0f}") for c in ("recurring_now", *MOVES_UP, *MOVES_DOWN)}
        share = {c: (lambda v: "–" if v != v else f"{v:.0%}") for c in ("grr_12m", "nrr_12m")}
        parts = [svg or "", table(self.summary, formats={**money, **share})]
        if len(self._problems):
            parts.append(note(f"{len(self._problems):,} value events set aside or adjusted: see .problems."))
        return section("revenue", repr(self), *parts)
