"""Directly-follows discovery: the tables behind every journey map, for all cohorts at once.

A log's events are encoded once (and cached on the log) as integers: ``code``, the
case's position in :attr:`JourneyLog.cases` (events are sorted by case, so it is a run
number), and ``act``, the activity's position in :attr:`JourneyLog.activities`. Every
cohort is then computed in one pass: the cohort of each case is gathered onto its events,
the next event of the same case is found with a shift, and group-bys run over small
integer keys. Nothing loops over events or cohorts in Python.

The numbers follow pm4py's definitions, so they can be checked against it:

* an edge (a, b) counts each time b directly follows a in a case (``count``), and the
  number of distinct cases with that step (``cases``);
* its duration statistics are over the seconds between the two events: ``mean``,
  ``median`` (the midpoint of the two middle values for an even count, as numpy and pm4py),
  ``p90`` (linear interpolation), ``min``, ``max``;
* start and end activities count the first and last event of each case.

Non-linearity is measured on the same pass, with each activity's stage from
:mod:`journeymine._stages`: an edge is a *back-step* when its target's stage comes before
its source's stage, a *self-loop* when source and target are the same activity; an
activity is *reworked* in a case when it occurs there more than once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ._encoding import cohort_codes
from ._engine import engine_of
from ._log import JourneyLog
from ._typing import CohortBy

__all__ = ["Tables", "journey_tables"]


@dataclass(frozen=True)
class Tables:
    """Long polars tables keyed by ``cohort`` (a name), one row per cohort and item.

    ``nodes``: cohort, activity, events, cases, rework_cases.
    ``edges``: cohort, source, target, count, cases, mean, median, p90, min, max (seconds),
    self_loop, backstep.
    ``starts`` / ``ends``: cohort, activity, count.
    ``sizes``: cohort, n_cases, n_events, backstep_cases, backsteps, rework_cases,
    self_loop_cases.
    """

    nodes: pl.DataFrame
    edges: pl.DataFrame
    starts: pl.DataFrame
    ends: pl.DataFrame
    sizes: pl.DataFrame


def journey_tables(
    log: JourneyLog, by: CohortBy | None = None, *, stage_rank: np.ndarray | None = None
) -> Tables:
    """Compute nodes, edges with timing, start/end activities and sizes of every cohort.

    ``stage_rank[i]`` is the stage rank of activity ``i`` (in :attr:`JourneyLog.activities`
    order); without it no edge is a back-step.

    Examples
    --------
    >>> import journeymine as jm
    >>> from journeymine._discovery import journey_tables
    >>> t = journey_tables(jm.datasets.demo_b2b(200, random_state=0), by="segment")
    >>> t.sizes["cohort"].to_list()
    ['Enterprise', 'Mid-market', 'SMB']
    """
    cohort, names = cohort_codes(log, by)
    n_act = len(log.activities)
    ranks = np.zeros(n_act, dtype=np.int32) if stage_rank is None else np.asarray(stage_rank, np.int32)
    # the tables of a log are kept on it (a JourneyLog is immutable, Tables are polars frames):
    # the report and compare_cohorts ask for the same cohorts' tables several times. The key
    # is what the tables depend on: the cohorts' names, the stage ranks and, compared in
    # full, every case's cohort (so a by function giving the same names is never confused)
    memos: dict[tuple[tuple[str, ...], bytes], list[tuple[pl.Series, Tables]]]
    memos = log._cache.setdefault("journey_tables", {})
    memo = memos.setdefault((tuple(names), ranks.tobytes()), [])
    for codes, tables in memo:
        if codes.equals(cohort):
            return tables
    tables = _tables(log, cohort, names, ranks)
    memo[:] = [*memo[-(_MEMO_PER_KEY - 1):], (cohort, tables)]
    return tables


#: cohort codings kept per key (names and ranks) by :func:`journey_tables`
_MEMO_PER_KEY = 4


def _tables(log: JourneyLog, cohort: pl.Series, names: list[str], ranks: np.ndarray) -> Tables:
    """:func:`journey_tables` computed (no memo)."""
    edges, nodes, starts, ends, sizes = engine_of(log).direct_follows(log, cohort, ranks)
    enc_activities = log.activities
    cohort_name = pl.Series(names, dtype=pl.String)
    act_name = pl.Series(list(enc_activities), dtype=pl.String)

    def named(frame: pl.DataFrame, acts: dict[str, str]) -> pl.DataFrame:
        out = frame.with_columns(pl.lit(cohort_name).gather(pl.col("cohort")).alias("cohort"))
        return out.with_columns(pl.lit(act_name).gather(pl.col(src)).alias(dst) for src, dst in acts.items())

    edges = (
        named(edges, {"act": "source", "tgt": "target"})
        .select(
            "cohort",
            "source",
            "target",
            pl.col("count").cast(pl.Int64),
            pl.col("cases").cast(pl.Int64),
            "mean",
            "median",
            "p90",
            "min",
            "max",
            "self_loop",
            "backstep",
        )
        .sort(["cohort", "count", "source", "target"], descending=[False, True, False, False])
    )
    nodes = (
        named(nodes, {"act": "activity"})
        .select(
            "cohort",
            "activity",
            pl.col("events").cast(pl.Int64),
            pl.col("cases").cast(pl.Int64),
            pl.col("rework_cases").cast(pl.Int64),
        )
        .sort(["cohort", "events", "activity"], descending=[False, True, False])
    )
    starts, ends = (
        named(t, {"act": "activity"})
        .select("cohort", "activity", pl.col("count").cast(pl.Int64))
        .sort(["cohort", "count", "activity"], descending=[False, True, False])
        for t in (starts, ends)
    )
    sizes = sizes.with_columns(pl.lit(cohort_name).gather(pl.col("cohort")).alias("cohort")).sort("cohort")
    return Tables(nodes=nodes, edges=edges, starts=starts, ends=ends, sizes=sizes)

