"""Where each open account stands now: its stage and last touchpoint, how long it has been
in that stage against its cohort's typical time, whether it is stalled, the journey type it
resembles, and the most likely next steps ("next best step").

Only what is known at ``at`` is used (the events before it), so the table of a past ``at``
is what a team could have seen that day. The rules (docs/positions.md):

* An account is **open** at ``at`` when it has an event before ``at``, its last event
  before ``at`` is not one of the ``ended`` activities (a lost deal, a churn), and that
  event is less than ``dormant`` ago (default a year: an account silent for longer is
  counted as dormant, not as one to act on today).
* Its **stage** is the stage of that last event; it **entered** the stage at the first
  event of the run of events in that stage that ends with it; ``days_in_stage`` runs from
  then to ``at``.
* The **typical** time in a stage is the Kaplan–Meier median and 90th percentile of the
  visits of that stage in the account's cohort before ``at``: a visit ends at the first
  event in another stage (the last visit of a closed or dormant account at its last
  event), and an open account's visit still going on at ``at`` is censored there (counting
  only finished visits would make long stays look rarer than they are). The whole log's
  are used when the cohort has fewer than ``min_visits`` visits of the stage; NaN when the
  curve never gets that far (too few visits ended).
* **Stalled**: more days in the stage than the typical 90th percentile (None when fewer
  than ``min_visits`` completed visits exist anywhere).
* **Next steps**: a first-order model: the share of the cohort's moves from the account's
  last touchpoint to each next touchpoint, before ``at`` (the whole log's when the cohort
  has fewer than ``min_visits`` such moves); the ``top`` likeliest with their shares.
* **Journey type**: with a fitted ``JourneyClusterer``, the cluster its journey so far
  resembles (``predict`` on the events before ``at``).
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
from ._params import as_names, check_int, close_matches, invalid
from ._stages import stage_assignment
from ._typing import CohortBy

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Positions", "positions"]

_DAY_S = 86_400.0


#: reasons that move a probability by less than this are not listed
_SHOWN_EFFECT = 0.005


def positions(
    log: JourneyLog,
    *,
    at: Any = None,
    by: CohortBy | None = None,
    ended: str | Sequence[str] | None = None,
    clusterer: Any = None,
    model: Any = None,
    dormant: Any = "365D",
    top: int = 3,
    min_visits: int = 10,
) -> Positions:
    """Where each open account stands at ``at``: stage, time in it, stalled, next steps.

    Parameters
    ----------
    log : JourneyLog
    at : timestamp, optional
        The moment to look from (naive times are UTC); default the log's end. Only the
        events before it are used.
    by : str, list of str or callable, optional
        Cohorts: typical times and next steps are learned per cohort.
    ended : str or list of str, optional
        Activities after which an account is no longer open (e.g. ``["Closed lost",
        "Churned"]``).
    clusterer : JourneyClusterer, optional
        A fitted clusterer: each account's journey so far is assigned to a journey type.
    model : JourneyOutcomeModel, optional
        A fitted outcome model: each open account gets ``probability`` (of the model's
        target within its horizon, scored at ``at``; empty where the account has reached
        the target already) and ``reasons``, the (up to) two features that move it most
        by half a percentage point or more (:meth:`JourneyOutcomeModel.reasons`, as
        sentences joined by "; ").
    dormant : str or Timedelta or None
        Accounts whose last event is longer ago than this are dormant (counted in the
        summary, not listed); None lists them all.
    top : int
        How many next steps to give.
    min_visits : int
        Fewest completed stage visits (or moves from a touchpoint) a cohort needs for its
        own typical time (or next-step shares); below it the whole log's are used.

    Returns
    -------
    Positions

    Raises
    ------
    InvalidParameterError
        ``at`` is before the log starts or after it ends (the error gives the span), or an
        ``ended`` activity is not in the log.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_000, random_state=0)
    >>> pos = jm.positions(log, at="2025-06-01", by="segment", ended=["Closed lost", "Churned"])
    >>> list(pos.table.columns)[:6]
    ['case', 'cohort', 'stage', 'last_touchpoint', 'last_at', 'days_in_stage']
    >>> bool(pos.table["next_1_share"].between(0, 1).all())
    True
    """
    owner = "positions"
    require_events(log, owner)
    require_embedded(log, owner)
    check_int("top", owner, top, minimum=1)
    check_int("min_visits", owner, min_visits, minimum=1)
    first, last = log.time_span
    at_ts = _at(at, first, last, owner)
    silence = _dormant(dormant, owner)
    ended_acts = _ended(log, ended, owner)
    cohorts = resolve(log, by, until=at_ts)
    names = cohorts.names if cohorts is not None else (ALL,)
    codes = (
        cohorts.codes.to_numpy().astype(np.int64) if cohorts is not None else np.zeros(log.n_cases, np.int64)
    )
    stages = stage_assignment(log)
    cases = log.to_polars("cases").select(
        "case",
        pl.int_range(0, pl.len(), dtype=pl.Int64).alias("code"),
        pl.Series("cohort", np.asarray(names, dtype=object)[codes].tolist(), dtype=pl.String),
    )
    at_lit = pl.lit(at_ts).cast(pl.Datetime("us", "UTC"))
    ev = (
        log.to_polars("events")
        .filter(pl.col("timestamp") < at_lit)
        .join(cases, on="case", how="left")
        .sort("code", "timestamp", "row")
        .with_columns(
            pl.col("activity")
            .replace_strict(stages.activity_stage, default=None, return_dtype=pl.String)
            .alias("stage")
        )
    )
    if not ev.height:
        raise invalid("at", owner, f"a moment after the log's first event ({first})", at)
    # runs of events in one stage
    ev = ev.with_columns(
        (pl.col("stage") != pl.col("stage").shift(1).over("code"))
        .fill_null(True)
        .cum_sum()
        .over("code")
        .alias("run")
    )
    runs = (
        ev.group_by("code", "run")
        .agg(pl.col("cohort").first(), pl.col("stage").first(), pl.col("timestamp").min().alias("entered"))
        .sort("code", "run")
    )
    runs = runs.with_columns(pl.col("entered").shift(-1).over("code").alias("left"))
    moves = _moves(ev, min_visits)
    last_ev = ev.group_by("code").agg(
        pl.col("case").last(),
        pl.col("cohort").last(),
        pl.col("stage").last(),
        pl.col("activity").last().alias("last_touchpoint"),
        pl.col("timestamp").last().alias("last_at"),
        pl.col("run").last(),
    )
    current = last_ev.join(runs.select("code", "run", "entered"), on=["code", "run"], how="left")
    is_closed = pl.col("last_touchpoint").is_in(ended_acts)
    is_quiet = (at_lit - pl.col("last_at") > pl.lit(silence)) if silence is not None else pl.lit(False)
    current = current.with_columns(
        pl.when(is_closed)
        .then(pl.lit("closed"))
        .when(is_quiet)
        .then(pl.lit("dormant"))
        .otherwise(pl.lit("open"))
        .alias("status")
    )
    # every visit: finished when the account moved to another stage; the last visit of a
    # closed or dormant account finished at its last event; an open account's is censored
    # at ``at`` (it is still going on)
    status = current.select("code", "status", "last_at")
    visits = (
        runs.join(status, on="code", how="left")
        .with_columns(
            pl.when(pl.col("left").is_not_null())
            .then(pl.col("left"))
            .when(pl.col("status") != "open")
            .then(pl.col("last_at"))
            .otherwise(at_lit)
            .alias("until"),
            (pl.col("left").is_not_null() | (pl.col("status") != "open")).alias("finished"),
        )
        .with_columns(((pl.col("until") - pl.col("entered")).dt.total_seconds() / _DAY_S).alias("days"))
    )
    typical = _typical(visits, min_visits)
    closed = current.filter(pl.col("status") == "closed")
    dormant_accounts = current.filter(pl.col("status") == "dormant")
    current = current.filter(pl.col("status") == "open")
    open_ = current.with_columns(
        ((at_lit - pl.col("entered")).dt.total_seconds() / _DAY_S).alias("days_in_stage"),
        ((at_lit - pl.col("last_at")).dt.total_seconds() / _DAY_S).alias("days_since_last"),
    )
    open_ = _with_typical(open_, typical, min_visits)
    open_ = _with_next(open_, moves, top)
    if clusterer is not None:
        if not hasattr(clusterer, "predict") or not hasattr(clusterer, "labels_"):
            raise invalid("clusterer", owner, "a fitted JourneyClusterer", type(clusterer).__name__)
        so_far = log.filter_time(end=at_ts, mode="events")
        labels = clusterer.predict(so_far)
        open_ = open_.join(
            pl.DataFrame(
                {"case": [str(c) for c in labels.index], "journey_type": labels.to_numpy().astype(np.int64)}
            ),
            on="case",
            how="left",
        )
    else:
        open_ = open_.with_columns(pl.lit(None, dtype=pl.Int64).alias("journey_type"))
    scored = []
    if model is not None:
        if not hasattr(model, "reasons") or not hasattr(model, "learner_"):
            raise invalid("model", owner, "a fitted JourneyOutcomeModel", type(model).__name__)
        import pandas as pd

        from .errors import InvalidParameterError

        try:
            p = model.predict_proba(log, at=at_ts)
        except InvalidParameterError:  # no account the model would score is open at ``at``
            p = pd.Series([], dtype=float, index=pd.Index([], name="case"), name="probability")
        reasons = (
            model.reasons(log, at=at_ts, top=2)
            if len(p)
            else pd.DataFrame({"case": [], "effect": [], "text": []})
        )
        reasons = reasons[reasons["effect"].abs() >= _SHOWN_EFFECT]  # under half a point is not a reason
        why = reasons.groupby("case", sort=False)["text"].agg("; ".join)
        open_ = open_.join(
            pl.DataFrame({
                "case": [str(c) for c in p.index],
                "probability": p.to_numpy().astype(float),
                "reasons": [why.get(c, "") for c in p.index],
            }, schema={"case": pl.String, "probability": pl.Float64, "reasons": pl.String}),
            on="case",
            how="left",
        )
        scored = ["probability", "reasons"]
    cols = [
        "case",
        "cohort",
        "stage",
        "last_touchpoint",
        "last_at",
        "days_in_stage",
        "days_since_last",
        "typical_days",
        "p90_days",
        "stalled",
        "overdue",
        "journey_type",
        *scored,
    ]
    nexts = [c for i in range(1, top + 1) for c in (f"next_{i}", f"next_{i}_share")]
    frame = open_.select(*cols, *nexts, "next_from").sort(
        [pl.col("stalled").fill_null(False), "overdue", "case"],
        descending=[True, True, False],
        nulls_last=True,
    )
    summary = _summary(frame, closed, dormant_accounts, names)
    return Positions(
        at=at_ts.to_pydatetime() if hasattr(at_ts, "to_pydatetime") else at_ts,
        by=cohorts.by if cohorts is not None else None,
        cohorts=tuple(names),
        ended=tuple(ended_acts),
        top=top,
        rule=(
            "stalled: more days in the current stage than the 90th percentile (Kaplan–Meier, visits still "
            f"going on censored) of that stage's visits in the account's cohort before {at_ts:%Y-%m-%d} (the "
            f"whole log's below {min_visits} visits; no verdict where too few visits ended)"
            + (
                f"; dormant (not listed): no event for more than {silence.days} days"
                if silence is not None
                else ""
            )
        ),
        _table=frame.to_pandas(),
        _summary=summary,
    )


def _at(at: Any, first: Any, last: Any, owner: str) -> Any:
    import pandas as pd

    if at is None:
        return pd.Timestamp(last) + pd.Timedelta(microseconds=1)
    try:
        ts = pd.Timestamp(at)
    except (TypeError, ValueError) as exc:
        raise invalid("at", owner, "a timestamp", at) from exc
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if ts <= pd.Timestamp(first) or ts > pd.Timestamp(last) + pd.Timedelta(days=1):
        raise invalid("at", owner, f"a moment within the log's span, {first} to {last}", at)
    return ts


def _dormant(dormant: Any, owner: str) -> Any:
    import pandas as pd

    if dormant is None:
        return None
    try:
        span = pd.Timedelta(dormant)
    except (TypeError, ValueError) as exc:
        raise invalid("dormant", owner, "a duration such as '365D', or None", dormant) from exc
    if span <= pd.Timedelta(0):
        raise invalid("dormant", owner, "a positive duration, or None", dormant)
    return span.to_pytimedelta()


def _ended(log: JourneyLog, ended: Any, owner: str) -> list[str]:
    if ended is None:
        return []
    acts = as_names(ended, "ended", owner, what="activities")
    known = set(log.activities)
    unknown = [a for a in acts if a not in known]
    if unknown:
        raise invalid(
            "ended", owner, f"activities of the log{close_matches(unknown[0], log.activities)}", ended
        )
    return list(acts)


def _typical(visits: pl.DataFrame, min_visits: int) -> pl.DataFrame:
    """Kaplan–Meier median and 90th percentile of the visits per (cohort, stage) and per
    stage over the whole log (``cohort`` null), with the number of visits."""
    from . import _stats as st

    rows = []
    for keys, sub in [
        *((k, g) for k, g in visits.group_by("cohort", "stage", maintain_order=True)),
        *(((None, k[0]), g) for k, g in visits.group_by("stage", maintain_order=True)),
    ]:
        t = sub.get_column("days").to_numpy().astype(float)
        e = sub.get_column("finished").to_numpy().astype(float)
        med, p90 = st.km_quantiles(t, e, (0.5, 0.9)) if e.any() else (math.nan, math.nan)
        rows.append(
            {
                "cohort": keys[0],
                "stage": keys[1],
                "n": int(t.size),
                "typical_days": None if math.isnan(med) else med,
                "p90_days": None if math.isnan(p90) else p90,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "cohort": pl.String,
            "stage": pl.String,
            "n": pl.Int64,
            "typical_days": pl.Float64,
            "p90_days": pl.Float64,
        },
    )


def _with_typical(open_: pl.DataFrame, typical: pl.DataFrame, min_visits: int) -> pl.DataFrame:
    per = typical.filter(pl.col("cohort").is_not_null() & (pl.col("n") >= min_visits)).select(
        "cohort", "stage", "typical_days", "p90_days"
    )
    whole = typical.filter(pl.col("cohort").is_null() & (pl.col("n") >= min_visits)).select(
        "stage", pl.col("typical_days").alias("typical_all"), pl.col("p90_days").alias("p90_all")
    )
    out = open_.join(per, on=["cohort", "stage"], how="left").join(whole, on="stage", how="left")
    own = pl.col("cohort").is_in(per.get_column("cohort").unique().implode()) & pl.struct(
        "cohort", "stage"
    ).is_in(per.select(pl.struct("cohort", "stage")).to_series().implode())
    return out.with_columns(
        pl.when(own).then(pl.col("typical_days")).otherwise(pl.col("typical_all")).alias("typical_days"),
        pl.when(own).then(pl.col("p90_days")).otherwise(pl.col("p90_all")).alias("p90_days"),
    ).with_columns(
        (pl.col("days_in_stage") > pl.col("p90_days")).alias("stalled"),
        (pl.col("days_in_stage") / pl.col("p90_days")).alias("overdue"),
    )


def _moves(ev: pl.DataFrame, min_visits: int) -> pl.DataFrame:
    """Per (cohort or "(all)", source): the next touchpoints by share, most likely first."""
    steps = ev.with_columns(pl.col("activity").shift(-1).over("code").alias("next")).filter(
        pl.col("next").is_not_null()
    )
    per = steps.group_by("cohort", "activity", "next").len()
    whole = (
        steps.group_by("activity", "next").len().with_columns(pl.lit(None, dtype=pl.String).alias("cohort"))
    )
    both = pl.concat([per, whole.select(per.columns)])
    both = both.with_columns(
        (pl.col("len") / pl.col("len").sum().over("cohort", "activity")).alias("share"),
        pl.col("len").sum().over("cohort", "activity").alias("from_n"),
    ).sort(["cohort", "activity", "share", "next"], descending=[False, False, True, False], nulls_last=True)
    return both.with_columns(pl.lit(min_visits).alias("min_n"))


def _with_next(open_: pl.DataFrame, moves: pl.DataFrame, top: int) -> pl.DataFrame:
    ranked = moves.with_columns(pl.int_range(1, pl.len() + 1).over("cohort", "activity").alias("k")).filter(
        pl.col("k") <= top
    )

    def wide(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        cols = []
        for i in range(1, top + 1):
            sub = frame.filter(pl.col("k") == i).select(
                *keys, pl.col("next").alias(f"next_{i}"), pl.col("share").alias(f"next_{i}_share")
            )
            cols.append(sub)
        out = frame.select(*keys, "from_n").unique(subset=keys, keep="first")
        for sub in cols:
            out = out.join(sub, on=keys, how="left")
        return out

    per = wide(ranked.filter(pl.col("cohort").is_not_null()), ["cohort", "activity"])
    whole = wide(ranked.filter(pl.col("cohort").is_null()).drop("cohort"), ["activity"])
    min_n = int(moves.get_column("min_n").to_numpy().max()) if moves.height else 1
    joined = open_.join(
        per.rename({"activity": "last_touchpoint"}), on=["cohort", "last_touchpoint"], how="left"
    )
    joined = joined.join(
        whole.rename(
            {
                "activity": "last_touchpoint",
                "from_n": "from_all",
                **{f"next_{i}": f"next_{i}_all" for i in range(1, top + 1)},
                **{f"next_{i}_share": f"next_{i}_share_all" for i in range(1, top + 1)},
            }
        ),
        on="last_touchpoint",
        how="left",
    )
    use_cohort = pl.col("from_n").fill_null(0) >= min_n
    return joined.with_columns(
        *[
            pl.when(use_cohort)
            .then(pl.col(f"next_{i}"))
            .otherwise(pl.col(f"next_{i}_all"))
            .alias(f"next_{i}")
            for i in range(1, top + 1)
        ],
        *[
            pl.when(use_cohort)
            .then(pl.col(f"next_{i}_share"))
            .otherwise(pl.col(f"next_{i}_share_all"))
            .alias(f"next_{i}_share")
            for i in range(1, top + 1)
        ],
        pl.when(use_cohort)
        .then(pl.lit("cohort"))
        .when(pl.col("from_all").fill_null(0) > 0)
        .then(pl.lit("all"))
        .otherwise(None)
        .alias("next_from"),
    )


def _summary(
    frame: pl.DataFrame, closed: pl.DataFrame, dormant: pl.DataFrame, names: Sequence[str]
) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for name in names:
        sub = frame.filter(pl.col("cohort") == name)
        n = sub.height
        stalled = int(sub.get_column("stalled").fill_null(False).sum())
        rows.append(
            {
                "cohort": name,
                "open": n,
                "closed": int(closed.filter(pl.col("cohort") == name).height),
                "dormant": int(dormant.filter(pl.col("cohort") == name).height),
                "stalled": stalled,
                "stalled_share": stalled / n if n else math.nan,
                "median_days_in_stage": float(np.median(sub.get_column("days_in_stage").to_numpy()))
                if n
                else math.nan,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False, repr=False)
class Positions(Displayed):
    """Where each open account stands (rules in :func:`positions` and docs/positions.md).

    Attributes
    ----------
    at : datetime.datetime
        The moment looked from (only events before it are used).
    by : str, tuple of str or None
    cohorts : tuple of str
    ended : tuple of str
    top : int
    rule : str
        The stalled rule, in words.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> pos = jm.positions(log, at="2025-06-01", ended=["Closed lost", "Churned"])
    >>> pos
    <Positions at 2025-06-01: 34 open accounts, 14 stalled>
    >>> pos.summary[["open", "closed", "dormant", "stalled", "stalled_share"]].round(2)
       open  closed  dormant  stalled  stalled_share
    0    34      48      118       14           0.41
    >>> pos.table[["case", "stage", "last_touchpoint", "days_in_stage"]].head(3).round(1)
            case      stage last_touchpoint  days_in_stage
    0  ACC-00062  awareness         Webinar          391.3
    1  ACC-00161  awareness   Website visit          350.2
    2  ACC-00199  awareness         Webinar          343.4
    """

    at: dt.datetime
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    ended: tuple[str, ...]
    top: int
    rule: str
    _table: pd.DataFrame
    _summary: pd.DataFrame

    @property
    def table(self) -> pd.DataFrame:
        """One row per open account, stalled and most overdue first: ``case``, ``cohort``,
        ``stage``, ``last_touchpoint``, ``last_at``, ``days_in_stage``, ``days_since_last``,
        ``typical_days`` and ``p90_days`` (of the stage in the cohort), ``stalled``,
        ``overdue`` (days in stage over p90), ``journey_type``, ``next_1`` … with their
        ``_share``, and ``next_from`` (``"cohort"`` or ``"all"``: whose moves gave them)."""
        return self._table.copy()

    @property
    def summary(self) -> pd.DataFrame:
        """Per cohort: open, closed (an ``ended`` activity last) and dormant accounts,
        stalled ones and their share of the open, the median days in the current stage."""
        return self._summary.copy()

    def to_dataframe(self) -> pd.DataFrame:
        """The table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe table and summary."""
        from ._jsonsafe import jsonable, records

        return {
            "at": self.at.isoformat(),
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "ended": list(self.ended),
            "rule": self.rule,
            "summary": records(self._summary),
            "table": records(self._table),
        }

    def __repr__(self) -> str:
        n = len(self._table)
        stalled = int(self._table["stalled"].fillna(False).astype(bool).sum())
        return f"<Positions at {self.at:%Y-%m-%d}: {n:,} open accounts, {stalled:,} stalled>"

    def _display_html(self, svg: str | None) -> str:
        shown = self._table.head(20)[
            [
                "case",
                "cohort",
                "stage",
                "last_touchpoint",
                "days_in_stage",
                "p90_days",
                "stalled",
                "next_1",
                "next_1_share",
            ]
        ]
        days = {
            c: (lambda v: "–" if v != v or v is None else f"{v:.0f}") for c in ("days_in_stage", "p90_days")
        }
        parts = [
            table(self._summary),
            table(
                shown, formats={**days, "next_1_share": lambda v: "–" if v != v or v is None else f"{v:.0%}"}
            ),
            note(self.rule + "."),
        ]
        return section("positions", repr(self), *parts)
