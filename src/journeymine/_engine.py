"""The engine interface: the few heavy aggregations over events, behind one small protocol.

Everything journeymine computes from events reduces to a handful of aggregations keyed by
small integers (the case ``code``, the activity index ``act``, a ``cohort`` index). They
are written twice:

* the **embedded** engine (the default): polars over the sorted events held in memory; its
  code lives next to its consumer (``_discovery``, ``_variants``, ``_clustering``,
  ``_stages``, ``_outcomes``, ``_kpis``), and is what a log without an engine uses;
* the **Spark** engine (:mod:`journeymine._spark`): the same aggregations in Spark SQL,
  for logs built with :meth:`JourneyLog.from_spark`, whose events stay in Spark.

Each primitive returns a *small* polars frame: one row per cohort and edge, per variant,
per (variant, pace) unit, or per case; never one row per event. Everything downstream
(maps, subway maps, clustering EM, statistics, reports) consumes those frames and does not
know which engine produced them. The per-case tables (``log.cases``, one row per account)
live on the driver: B2B logs have at most millions of accounts even when they have
billions of events.

The contract of each primitive (columns, order, semantics) is the embedded implementation;
``tests/test_spark.py`` checks the Spark implementation against it on the demo data and on
BPI Challenge 2012.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from ._log import JourneyLog

__all__ = ["Engine", "engine_of", "require_embedded"]


class Engine(Protocol):
    """The aggregations an engine provides (integer keys in, small polars frames out)."""

    name: str

    def direct_follows(
        self, log: JourneyLog, cohort: pl.Series, ranks: np.ndarray
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """``edges, nodes, starts, ends, sizes`` keyed by cohort index and activity index
        (columns as in the embedded :func:`journeymine._discovery.journey_tables`)."""

    def variant_groups(
        self, log: JourneyLog, cohort: pl.Series, seconds: pl.Series, examples: int
    ) -> pl.DataFrame:
        """One row per (cohort, variant): ``cohort``, ``variant`` (list of activity indices),
        ``cases``, ``first`` (smallest case code), ``codes`` (the first ``examples`` case
        codes), ``median_duration``, ``p90_duration``."""

    def clustering_units(
        self,
        log: JourneyLog,
        pace_edges: np.ndarray,
        coarse_edges: np.ndarray,
        n_buckets: int,
        baseline: tuple[pl.DataFrame, float] | None,
    ) -> pl.DataFrame:
        """One row per (variant, pace group): ``variant``, ``group`` (bin of the account's
        median log10 gap by ``pace_edges``, -1 without gaps), ``pace`` (its bin by
        ``coarse_edges``, ``n_buckets`` without gaps), ``n``, ``code`` (case codes,
        ascending), ``pn``, ``ps``, ``pq`` (count, sum and sum of squares of the log10 gaps
        of its accounts); ordered by first case code. With a ``baseline`` (``act``, ``tgt``,
        ``base`` in the log's activity codes, and a default for the pairs it lacks), every
        gap is taken less the ``base`` of its transition."""

    def transition_gaps(self, log: JourneyLog) -> pl.DataFrame:
        """Per transition (``act``, ``tgt``): the number ``n`` and sum ``s`` of its log10
        gaps (seconds, at least 1 s), sorted by ``act``, ``tgt``."""

    def position_stats(self, log: JourneyLog) -> dict[str, pl.DataFrame]:
        """What stage assignment needs: ``typical`` (act, position median), ``stage_pos``
        (stage, position median), ``act_stage`` (act, stage, len), ``weights`` (act, tgt,
        len) over steps between different activities; ``stage_values`` (non-null count)."""

    def stage_visits(
        self, log: JourneyLog, cohort: pl.Series, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``per`` (cohort, code, srank, seconds, visits, events) and ``trans`` (cohort,
        srank, to, count, cases)."""

    def first_times(self, log: JourneyLog, outcomes: dict[str, list[str]]) -> pl.DataFrame:
        """Per case code reaching an outcome: ``code`` and, per outcome, its first time."""

    def case_facts(
        self, log: JourneyLog, per_case: pl.DataFrame, sales: list[str], buys: list[str]
    ) -> pl.DataFrame:
        """Per case: event facts relative to its ``won`` and ``_close`` times (KPIs)."""

    def case_items(self, log: JourneyLog) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Distinct (code, act) pairs and distinct (code, act, tgt) steps of every case."""

    def max_timestamp(self, log: JourneyLog) -> Any:
        """The last event time."""


def engine_of(log: JourneyLog) -> Engine | None:
    """The log's engine, or ``None`` for the embedded engine (events in memory)."""
    return getattr(log, "_engine", None)


def require_embedded(log: JourneyLog, owner: str) -> None:
    """Raise :class:`UnsupportedOperationError` when ``owner`` needs every event of ``log``
    in memory and the log's events are held by an engine (Spark)."""
    engine = engine_of(log)
    if engine is not None:
        from .errors import UnsupportedOperationError

        raise UnsupportedOperationError(
            f"{owner} works on the events in memory, and this log's {log.n_events:,} events are in "
            f"{engine.name.capitalize()}. On a Spark log, journey_map, variants, stage_durations, kpis, "
            "subway_map and JourneyClusterer.fit run in Spark; for the rest, collect the log with "
            "log.to_local() (or a sample of its accounts: log.filter_cases(...).to_local())."
        )
