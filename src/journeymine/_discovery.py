"""Directly-follows discovery: nodes, edges with timing, start and end activities.

One pass over the sorted events computes every cohort at once: the cohort key is attached
to each event, the next event of the same case is found with a shift (events are sorted
by case, timestamp, input row), and the group-bys run over (cohort, ...) keys. Nothing
loops over events or cohorts in Python.

The numbers follow pm4py's definitions, so they can be checked against it:

* an edge (a, b) counts each time b directly follows a in a case (``count``), and the
  number of distinct cases with that step (``cases``);
* its duration statistics are over the seconds between the two events: ``mean``,
  ``median`` (the midpoint of the two middle values for an even count, as numpy and pm4py),
  ``p90`` (linear interpolation), ``min``, ``max``;
* start and end activities count the first and last event of each case.

Not public yet: issue 3 builds ``jm.journey_map`` and its result objects on this.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ._log import JourneyLog
from ._typing import CohortBy

ALL = "(all)"


@dataclass(frozen=True)
class DFGTables:
    """Long tables keyed by ``cohort``: nodes, edges, start and end activities, sizes."""

    nodes: pl.DataFrame
    edges: pl.DataFrame
    starts: pl.DataFrame
    ends: pl.DataFrame
    sizes: pl.DataFrame


def dfg_tables(log: JourneyLog, by: CohortBy | None = None) -> DFGTables:
    """Compute the directly-follows tables of every cohort in one pass.

    Examples
    --------
    >>> import journeymine as jm
    >>> from journeymine._discovery import dfg_tables
    >>> t = dfg_tables(jm.datasets.demo_b2b(200, random_state=0), by="segment")
    >>> sorted(t.sizes["cohort"].to_list())
    ['Enterprise', 'Mid-market', 'SMB']
    """
    events = log.to_polars("events").select("case", "activity", "timestamp")
    cases = log.to_polars("cases").select("case")
    keys = log.cohort_keys(by) if by is not None else pl.Series("cohort", [ALL] * cases.height)
    # integer case codes: counting distinct cases on integers is fast and exact
    cases = cases.with_columns(keys.alias("cohort"), pl.int_range(pl.len(), dtype=pl.UInt32).alias("code"))
    ev = events.join(cases, on="case", how="left", maintain_order="left").drop("case")
    same_case = pl.col("code") == pl.col("code").shift(-1)
    seconds = (pl.col("timestamp").shift(-1) - pl.col("timestamp")).dt.total_microseconds() / 1e6
    steps = ev.with_columns(
        pl.col("activity").shift(-1).alias("target"), seconds.alias("seconds"), same_case.alias("step")
    ).filter(pl.col("step"))
    edges = (
        steps.group_by("cohort", pl.col("activity").alias("source"), "target")
        .agg(
            pl.len().alias("count"),
            pl.col("code").n_unique().alias("cases"),
            pl.col("seconds").mean().alias("mean"),
            pl.col("seconds").median().alias("median"),
            pl.col("seconds").quantile(0.9, interpolation="linear").alias("p90"),
            pl.col("seconds").min().alias("min"),
            pl.col("seconds").max().alias("max"),
        )
        .sort(["cohort", "count", "source", "target"], descending=[False, True, False, False])
    )
    nodes = (
        ev.group_by("cohort", "activity")
        .agg(pl.len().alias("events"), pl.col("code").n_unique().alias("cases"))
        .sort(["cohort", "events", "activity"], descending=[False, True, False])
    )
    first = ev.filter(pl.col("code") != pl.col("code").shift(1).fill_null(-1))
    last = ev.filter(pl.col("code") != pl.col("code").shift(-1).fill_null(-1))
    starts = first.group_by("cohort", "activity").len("count").sort(["cohort", "count", "activity"],
                                                                     descending=[False, True, False])
    ends = last.group_by("cohort", "activity").len("count").sort(["cohort", "count", "activity"],
                                                                 descending=[False, True, False])
    sizes = ev.group_by("cohort").agg(
        pl.col("code").n_unique().alias("n_cases"), pl.len().alias("n_events")
    ).sort("cohort")
    return DFGTables(nodes=nodes, edges=edges, starts=starts, ends=ends, sizes=sizes)
