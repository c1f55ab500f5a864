"""Journey stages: their order, each activity's stage, and the time spent in each stage.

Where stages come from
----------------------
1. **A mapped ``stage`` column with an order** (``stage_order=`` given here or when the log
   was read): the order is taken as given.
2. **A ``stage`` column without an order**: stage values are ordered by the median
   relative position of their events in the journeys (see below).
3. **No ``stage`` column**: stages are derived from positions. Each activity's *typical
   position* is the median, over all its events, of the event's relative position in its
   journey, ``i / (n - 1)`` for the ``i``-th of ``n`` events (0 for one-event journeys).
   Activities fall into five equal-width bands of typical position, named ``early``,
   ``early-middle``, ``middle``, ``middle-late`` and ``late``; empty bands are left out.

Each activity belongs to one stage: with a stage column, the stage most of its events
carry (ties go to the earlier stage; an activity whose events carry no stage gets the
stage whose median position is nearest). Activities are ordered by stage, then by flow
within the stage (:func:`flow_order`: few directly-follows steps point backwards), then
typical position and name. A step between two activities is a *back-step* when the
target's stage comes before the source's.

Time in a stage
---------------
The time from one event to the next event of the same journey is spent in the stage of
the first event (the stage column's value where it is mapped and set, else the activity's
stage). An account's time in a stage is the sum of those gaps; the last event of a journey
adds nothing (what comes after it is unknown). ``visits`` counts the times the account
entered the stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from ._display import Displayed, section, table
from ._embedded import summarise_stages
from ._encoding import ALL, cohort_codes, require_events
from ._engine import engine_of
from ._log import JourneyLog
from ._params import as_names, invalid
from ._typing import CohortBy
from ._warnings import warn
from .errors import DataQualityWarning, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DERIVED_STAGES", "StageAssignment", "StageDurations", "stage_assignment", "stage_durations"]

#: Names of the position bands used when a log has no stage column.
DERIVED_STAGES: tuple[str, ...] = ("early", "early-middle", "middle", "middle-late", "late")

StageSource = Literal["stage column", "stage column, order derived", "derived from positions"]


@dataclass(frozen=True)
class StageAssignment:
    """The journey stages of a log: their order and the stage of each activity."""

    order: tuple[str, ...]
    source: StageSource
    activity_stage: dict[str, str] = field(repr=False)
    activity_position: dict[str, float] = field(repr=False)
    flow_rank: dict[str, int] = field(default_factory=dict, repr=False)

    def rank(self, activity: str) -> int:
        """Position of ``activity``'s stage in :attr:`order`."""
        return self.order.index(self.activity_stage[activity])

    def activity_order(self) -> list[str]:
        """Activities ordered by stage, then by flow within the stage (see module notes)."""
        return sorted(
            self.activity_stage,
            key=lambda a: (self.rank(a), self.flow_rank.get(a, 0), self.activity_position[a], a),
        )


def stage_assignment(log: JourneyLog, stage_order: Sequence[str] | None = None) -> StageAssignment:
    """Work out the stage order and each activity's stage (rules in the module docstring).

    Examples
    --------
    >>> import journeymine as jm
    >>> from journeymine._stages import stage_assignment
    >>> s = stage_assignment(jm.datasets.demo_b2b(300, random_state=0))
    >>> s.order[0], s.source, s.activity_stage["Demo"]
    ('awareness', 'stage column', 'consideration')
    """
    if stage_order is not None:
        stage_order = as_names(stage_order, "stage_order", "stage_assignment", what="stage names")
    order_given = tuple(stage_order) if stage_order is not None else log.stage_order
    cache_key = f"stages:{order_given!r}"
    cached = log._cache.get(cache_key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if stage_order is not None and (
        len(set(stage_order)) != len(stage_order)
    ):
        raise invalid("stage_order", "stage_assignment", "a sequence of distinct stage names", stage_order)
    require_events(log, "stage_assignment")
    acts = log.activities
    stats = engine_of(log).position_stats(log)
    typical = stats["typical"].sort("act")
    position = {acts[i]: float(p) for i, p in typical.iter_rows()}
    has_column = "stage_pos" in stats  # the log has a stage column
    if has_column and stats["stage_pos"].height == 0:
        warn(
            "The stage column has no values in this log, so stages are derived from the "
            "activities' typical positions instead.",
            DataQualityWarning,
        )
        has_column, order_given = False, None
    if has_column:
        stage_pos = stats["stage_pos"].sort("position", "stage")
        if order_given is not None:
            unknown = sorted(set(stage_pos.get_column("stage").to_list()) - set(order_given))
            if unknown:
                raise SchemaError(
                    f"The stage column has value(s) {unknown[:10]} that are not in stage_order="
                    f"{list(order_given)!r}. Add them to stage_order in journey order."
                )
            order = tuple(order_given)
            source: StageSource = "stage column"
        else:
            order = tuple(stage_pos.get_column("stage").to_list())
            source = "stage column, order derived"
        rank_of = {s: i for i, s in enumerate(order)}
        counts = stats["act_stage"].to_dicts()
        best: dict[str, tuple[int, int]] = {}
        for row in counts:
            a = acts[row["act"]]
            cand = (-row["len"], rank_of[row["stage"]])
            if a not in best or cand < best[a]:
                best[a] = cand
        mids = dict(stage_pos.iter_rows())
        activity_stage = {}
        for a in acts:
            if a in best:
                activity_stage[a] = order[best[a][1]]
            else:  # no event of this activity carries a stage: nearest by position
                known = [s for s in order if s in mids] or list(order)
                activity_stage[a] = min(
                    known, key=lambda s: (abs(mids.get(s, 0.5) - position[a]), rank_of[s])
                )
    else:
        if order_given is not None:
            raise SchemaError(
                "stage_order was given, but the log has no stage column. Map one when reading "
                "the log (stage='your_stage_column'), or leave stage_order out to derive stages "
                "from the activities' typical positions."
            )
        band = {a: min(int(p * len(DERIVED_STAGES)), len(DERIVED_STAGES) - 1) for a, p in position.items()}
        used = sorted(set(band.values()))
        order = tuple(DERIVED_STAGES[b] for b in used)
        activity_stage = {a: DERIVED_STAGES[b] for a, b in band.items()}
        source = "derived from positions"
    steps = stats["weights"].select("act", "tgt", "len")
    weights = {(acts[a], acts[b]): int(n) for a, b, n in steps.iter_rows()}
    flow: dict[str, int] = {}
    for stage_name in order:
        members = [a for a in acts if activity_stage[a] == stage_name]
        for i, a in enumerate(flow_order(members, weights, position)):
            flow[a] = i
    result = StageAssignment(
        order=order, source=source, activity_stage=activity_stage, activity_position=position, flow_rank=flow
    )
    log._cache[cache_key] = result
    return result


def flow_order(
    members: Sequence[str], weights: dict[tuple[str, str], int], position: dict[str, float]
) -> list[str]:
    """Order ``members`` so that few steps (weighted by count) point backwards.

    The greedy heuristic of Eades, Lin and Smyth (1993) for the feedback arc set: sinks
    go to the back, sources to the front, otherwise the activity whose outgoing minus
    incoming weight is largest goes to the front; ties go to the earlier typical position,
    then the name. Deterministic.

    Examples
    --------
    >>> from journeymine._stages import flow_order
    >>> w = {("Security review", "Contract signed"): 30, ("Contract signed", "Security review"): 2}
    >>> pos = {"Contract signed": 0.5, "Security review": 0.5}
    >>> flow_order(["Contract signed", "Security review"], w, pos)
    ['Security review', 'Contract signed']
    """
    names = list(members)
    k = len(names)
    index = {a: i for i, a in enumerate(names)}
    w = np.zeros((k, k))
    for (a, b), n in weights.items():
        if a in index and b in index and a != b:
            w[index[a], index[b]] += n
    alive = np.ones(k, dtype=bool)
    w_out = w.sum(axis=1)  # weight to the activities still left, kept up to date on removal
    w_in = w.sum(axis=0)
    tie = sorted(range(k), key=lambda i: (position.get(names[i], 0.0), names[i]))
    rank_of = np.empty(k, dtype=np.int64)
    rank_of[tie] = np.arange(k)
    front: list[str] = []
    back: list[str] = []

    def remove(i: int) -> None:
        alive[i] = False
        w_in[:] -= w[i, :]
        w_out[:] -= w[:, i]

    while alive.any():
        idx = np.flatnonzero(alive)
        sinks = idx[w_out[idx] <= 0]
        if sinks.size:
            i = int(sinks[np.argmax(rank_of[sinks])])
            back.insert(0, names[i])
            remove(i)
            continue
        sources = idx[w_in[idx] <= 0]
        if sources.size:
            i = int(sources[np.argmin(rank_of[sources])])
            front.append(names[i])
            remove(i)
            continue
        delta = w_out[idx] - w_in[idx]
        best = idx[delta == delta.max()]
        i = int(best[np.argmin(rank_of[best])])
        front.append(names[i])
        remove(i)
    return front + back


def activity_ranks(log: JourneyLog, stages: StageAssignment) -> np.ndarray:
    """Stage rank of each activity, in :attr:`JourneyLog.activities` order."""
    rank_of = {s: i for i, s in enumerate(stages.order)}
    return np.array([rank_of[stages.activity_stage[a]] for a in log.activities], dtype=np.int32)


@dataclass(frozen=True, eq=False, repr=False)
class StageDurations(Displayed):
    """Time spent in each journey stage, per account and summarised per cohort.

    Attributes
    ----------
    per_account : pandas.DataFrame
        One row per (cohort, case, stage) the account entered: ``seconds`` spent there,
        ``visits`` (times it entered the stage) and ``events``.
    summary : pandas.DataFrame
        One row per (cohort, stage): ``accounts`` that entered it, their ``share``,
        ``median``, ``p90`` and ``mean`` seconds spent there, and ``median_visits``.
    transitions : pandas.DataFrame
        Stage-to-stage moves between consecutive events (stage changes only): ``count``,
        ``cases`` and ``share`` of the moves out of ``from_stage``.
    order : tuple of str
        The stage order used.
    source : str
        Where the stages came from (see :func:`stage_durations`).

    Examples
    --------
    >>> import journeymine as jm
    >>> sd = jm.stage_durations(jm.datasets.demo_b2b(n_accounts=200, random_state=0))
    >>> sd
    <StageDurations: 5 stages (awareness, consideration, decision, retention, advocacy), 1 cohort, ...>
    >>> s = sd.summary.set_index("stage")
    >>> s.assign(median_days=s["median"] / 86_400)[["accounts", "share", "median_days"]].round(2)
                   accounts  share  median_days
    stage
    awareness           171   0.86        11.37
    consideration       162   0.81        26.24
    decision            120   0.60        23.74
    retention            51   0.26       159.66
    advocacy             18   0.09         0.00
    """

    per_account: pd.DataFrame
    transitions: pd.DataFrame
    order: tuple[str, ...]
    source: str
    _summary: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """One row per (cohort, stage): accounts, share, time spent there and visits."""
        return self._summary.copy()

    def matrix(self, cohort: Any = None, *, normalize: bool = False) -> pd.DataFrame:
        """The stage transition matrix of one cohort (rows: from, columns: to).

        ``cohort`` may be left out when there is only one. ``normalize=True`` gives row
        shares instead of counts.
        """
        t = self.transitions
        cohorts = list(dict.fromkeys(self._summary["cohort"]))
        if cohort is None:
            if len(cohorts) != 1:
                raise invalid("cohort", "StageDurations.matrix", f"one of {cohorts}", cohort)
            cohort = cohorts[0]
        elif cohort not in cohorts:
            raise invalid("cohort", "StageDurations.matrix", f"one of {cohorts}", cohort)
        sub = t[t["cohort"] == cohort]
        value = "share" if normalize else "count"
        m: pd.DataFrame = sub.pivot_table(
            index="from_stage",
            columns="to_stage",
            values=value,
            aggfunc="sum",
            fill_value=0.0 if normalize else 0,
        )
        m = m.reindex(index=list(self.order), columns=list(self.order), fill_value=0)
        m.index.name, m.columns.name = "from", "to"
        return m

    def to_dataframe(self) -> pd.DataFrame:
        """The per-cohort summary (one row per cohort and stage)."""
        return self._summary.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary and transitions."""
        from ._jsonsafe import records

        return {
            "order": list(self.order),
            "source": self.source,
            "summary": records(self._summary),
            "transitions": records(self.transitions),
        }

    @property
    def _origin(self) -> str:
        """Where the stages come from, as text: "from the stage column" or "derived from …"."""
        return f"from the {self.source}" if self.source.startswith("stage column") else self.source

    def __repr__(self) -> str:
        n = self._summary["cohort"].nunique()
        return (
            f"<StageDurations: {len(self.order)} stages ({', '.join(self.order)}), "
            f"{n} cohort{'s' if n != 1 else ''}, stages {self._origin}>"
        )

    def _display_html(self, svg: str | None) -> str:
        from ._format import duration

        columns = ["cohort", "stage", "accounts", "share", "median", "p90", "median_visits"]
        shown = self._summary[columns].rename(
            columns={"median": "median time", "p90": "p90 time", "median_visits": "median visits"}
        )
        formats = {"accounts": "{:,}".format, "share": "{:.0%}".format, "median time": duration,
                   "p90 time": duration, "median visits": "{:g}".format}
        return section("stages", f"Time in stage (stages {self._origin})", table(shown, formats=formats,
                                                                             max_rows=60))


def stage_durations(
    log: JourneyLog,
    *,
    by: CohortBy | None = None,
    stage_order: Sequence[str] | None = None,
) -> StageDurations:
    """Time each account spends in each journey stage, summarised per cohort.

    Parameters
    ----------
    log : JourneyLog
    by : str, list of str or callable, optional
        Cohorts (case attributes, or a function of :attr:`JourneyLog.cases`).
    stage_order : sequence of str, optional
        The order of the ``stage`` column's values, when the log does not declare one.

    Returns
    -------
    StageDurations

    Notes
    -----
    Stages come from the log's ``stage`` column, or are derived from the activities'
    typical positions when there is none; the rules are in ``docs/journeys.md``. The time
    from one event to the next is spent in the stage of the first; the last event of a
    journey adds nothing.

    Examples
    --------
    >>> import journeymine as jm
    >>> sd = jm.stage_durations(jm.datasets.demo_b2b(300, random_state=0), by="segment")
    >>> sd.order
    ('awareness', 'consideration', 'decision', 'retention', 'advocacy')
    >>> sd.matrix("SMB").loc["decision", "consideration"] > 0  # back-steps
    np.True_
    """
    require_events(log, "stage_durations")
    stages = stage_assignment(log, stage_order)
    cohort, names = cohort_codes(log, by)
    per, trans = _visits(log, cohort, stages)
    cohort_name = pl.Series(names, dtype=pl.String)
    stage_name = pl.Series(list(stages.order), dtype=pl.String)
    case_ids = log.to_polars("cases").get_column("case")
    per_account = _per_account(per, cohort_name, stage_name, case_ids)
    summary = _stage_summary(per, cohort.value_counts(name="n"), cohort_name, stage_name)
    transitions = _stage_transitions(trans, cohort_name, stage_name)
    if by is None:
        per_account, summary, transitions = (
            f.with_columns(pl.lit(ALL).alias("cohort")) for f in (per_account, summary, transitions)
        )
    return StageDurations(
        per_account=per_account.to_pandas(),
        transitions=transitions.to_pandas(),
        order=stages.order,
        source=stages.source,
        _summary=summary.to_pandas(),
    )


def _visits(log: JourneyLog, cohort: pl.Series, stages: StageAssignment) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per (cohort, case code, stage rank): seconds, visits and events; and the moves
    between stages per (cohort, stage rank, next rank), from the log's engine or in memory."""
    ranks = activity_ranks(log, stages)
    rank_of = {s: i for i, s in enumerate(stages.order)}
    return engine_of(log).stage_visits(log, cohort, ranks, rank_of)


def _with_cohort_names(frame: pl.DataFrame, cohort_name: pl.Series) -> pl.DataFrame:
    """``frame`` with its cohort codes replaced by the cohorts' names."""
    return frame.with_columns(pl.lit(cohort_name).gather(pl.col("cohort")).alias("cohort"))


def _per_account(
    per: pl.DataFrame, cohort_name: pl.Series, stage_name: pl.Series, case_ids: pl.Series
) -> pl.DataFrame:
    """:attr:`StageDurations.per_account`: one row per (cohort, case, stage) entered."""
    return (
        _with_cohort_names(per, cohort_name)
        .with_columns(
            pl.lit(case_ids).gather(pl.col("code")).alias("case"),
            pl.lit(stage_name).gather(pl.col("srank")).alias("stage"),
        )
        .sort("cohort", "code", "srank")
        .select(
            "cohort",
            "case",
            "stage",
            "seconds",
            pl.col("visits").cast(pl.Int64),
            pl.col("events").cast(pl.Int64),
        )
    )


def stage_summary(log: JourneyLog, *, by: CohortBy | None = None) -> pd.DataFrame:
    """:attr:`StageDurations.summary` of ``stage_durations(log, by=by)`` without its
    per-account table (what :func:`kpis` needs): the engine summarises the visits where
    they are (``stage_summary``), so that no row per account and stage is built."""
    require_events(log, "stage_durations")
    stages = stage_assignment(log)
    cohort, names = cohort_codes(log, by)
    ranks = activity_ranks(log, stages)
    agg = engine_of(log).stage_summary(log, cohort, ranks, {s: i for i, s in enumerate(stages.order)})
    summary = _finish_summary(
        agg, cohort.value_counts(name="n"), pl.Series(names, dtype=pl.String),
        pl.Series(list(stages.order), dtype=pl.String),
    )
    if by is None:
        summary = summary.with_columns(pl.lit(ALL).alias("cohort"))
    return summary.to_pandas()


def _stage_summary(
    per: pl.DataFrame, sizes: pl.DataFrame, cohort_name: pl.Series, stage_name: pl.Series
) -> pl.DataFrame:
    """:attr:`StageDurations.summary`: per (cohort, stage), the accounts that entered it,
    their share of the cohort (``sizes``), and the time spent there."""
    return _finish_summary(summarise_stages(per), sizes, cohort_name, stage_name)


def _finish_summary(
    agg: pl.DataFrame, sizes: pl.DataFrame, cohort_name: pl.Series, stage_name: pl.Series
) -> pl.DataFrame:
    """The engine's per (cohort, stage rank) summary (``stage_summary``) as
    :attr:`StageDurations.summary`: names, shares of the cohort (``sizes``), sorted."""
    summary = (
        agg.join(sizes, on="cohort")
        .with_columns((pl.col("accounts") / pl.col("n")).alias("share"))
        .sort("cohort", "srank")
    )
    return (
        _with_cohort_names(summary, cohort_name)
        .with_columns(pl.lit(stage_name).gather(pl.col("srank")).alias("stage"))
        .select(
            "cohort",
            "stage",
            pl.col("accounts").cast(pl.Int64),
            "share",
            "median",
            "p90",
            "mean",
            "median_visits",
        )
    )


def _stage_transitions(trans: pl.DataFrame, cohort_name: pl.Series, stage_name: pl.Series) -> pl.DataFrame:
    """:attr:`StageDurations.transitions`: the moves between stages, each with its share of
    the moves out of its stage."""
    trans = trans.with_columns(
        (pl.col("count") / pl.col("count").sum().over("cohort", "srank")).alias("share")
    )
    trans = trans.sort("cohort", "srank", "to")
    return (
        _with_cohort_names(trans, cohort_name)
        .with_columns(
            pl.lit(stage_name).gather(pl.col("srank")).alias("from_stage"),
            pl.lit(stage_name).gather(pl.col("to")).alias("to_stage"),
        )
        .select(
            "cohort",
            "from_stage",
            "to_stage",
            pl.col("count").cast(pl.Int64),
            pl.col("cases").cast(pl.Int64),
            "share",
        )
    )

