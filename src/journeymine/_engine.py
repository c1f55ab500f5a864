"""The engine interface: the few heavy aggregations over events, behind one small protocol.

Everything journeymine computes from events reduces to a handful of aggregations keyed by
small integers (the case ``code``, the activity index ``act``, a ``cohort`` index). Every
log has an engine object (``log._engine``; its name is the public ``log.engine``), and
there are three:

* :class:`~journeymine._embedded.EmbeddedEngine` (``"embedded"``, the default): polars
  over the sorted events held in memory;
* :class:`~journeymine._duckdb.DuckDBEngine` (``"duckdb"``): the same aggregations in
  DuckDB SQL, for logs read with ``read_parquet(path, engine="duckdb")``, whose events
  stay on disk in a DuckDB database (out of core, with a memory limit);
* :class:`~journeymine._spark.SparkEngine` (``"spark"``): the same aggregations in Spark
  SQL, for logs built with :meth:`JourneyLog.from_spark`, whose events stay in Spark.

Consumers call ``engine_of(log).primitive(log, ...)`` and never ask which engine it is.
Each primitive returns a *small* polars frame: one row per cohort and edge, per variant,
per (variant, pace) unit, or per case; never one row per event. Everything downstream
(maps, subway maps, clustering EM, statistics, reports) consumes those frames and does not
know which engine produced them. The per-case tables (``log.cases``, one row per account)
live on the driver: B2B logs have at most millions of accounts even when they have
billions of events.

What has no aggregated form (``log.events``, ``to_pm4py``, event filters, predicates over
events, the analyses that read every event) needs the events in memory; on another engine
it raises the one :class:`UnsupportedOperationError` of :func:`require_embedded`.

The contract of each primitive (columns, dtypes, order, semantics) is the embedded
implementation; ``tests/test_spark.py`` checks the Spark implementation against it on the
demo data and on BPI Challenge 2012, ``tests/test_duckdb.py`` the DuckDB implementation on
the demo data and on every real log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import polars as pl

if TYPE_CHECKING:
    import numpy as np

    from ._log import JourneyLog

__all__ = ["Engine", "engine_of", "per_case_frame", "require_embedded"]

#: the functions that run on every engine (they call only the primitives)
_ON_EVERY_ENGINE = (
    "journey_map, variants, stage_durations, kpis, subway_map, buying_committee and JourneyClusterer.fit"
)


class Engine(Protocol):
    """The aggregations an engine provides (integer keys in, small polars frames out).

    Twelve primitives: ``direct_follows``, ``variant_groups``, ``transition_gaps``,
    ``clustering_units``, ``case_items``, ``position_stats``, ``stage_visits``,
    ``stage_summary``, ``first_times``, ``case_facts``, ``committee_touches`` and
    ``committee_handovers``. Case codes are positions in ``log.cases``, activity indices
    positions in ``log.activities``, cohort indices positions in the sorted cohort names.
    """

    #: ``"embedded"``, ``"duckdb"`` or ``"spark"``: what ``log.engine`` says
    name: str
    #: whether the events are in memory (``log.events`` and event-level work available)
    events_in_memory: bool

    def direct_follows(
        self, log: JourneyLog, cohort: pl.Series, ranks: np.ndarray
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """``edges, nodes, starts, ends, sizes`` keyed by cohort index and activity index
        (all UInt32): ``edges`` (cohort, act, tgt, count, cases, mean, median, p90, min,
        max in seconds, self_loop, backstep: the target's ``ranks`` below the source's),
        ``nodes`` (cohort, act, events, cases, rework_cases), ``starts`` and ``ends``
        (cohort, act, count), ``sizes`` (cohort, n_cases, n_events, backstep_cases,
        backsteps, rework_cases, self_loop_cases, Int64)."""

    def variant_groups(
        self, log: JourneyLog, cohort: pl.Series, seconds: pl.Series, examples: int
    ) -> pl.DataFrame:
        """One row per (cohort, variant): ``cohort`` (UInt32), ``variant`` (list of activity
        indices), ``cases``, ``first`` (smallest case code), ``codes`` (at least the first
        ``examples`` case codes, ascending), ``median_duration``, ``p90_duration`` (of
        ``seconds``, one value per case); in no particular order."""

    def transition_gaps(self, log: JourneyLog) -> pl.DataFrame:
        """Per transition (``act``, ``tgt``, Int32): the number ``n`` and sum ``s`` of its
        log10 gaps (seconds, at least 1 s), sorted by ``act``, ``tgt``."""

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

    def case_items(self, log: JourneyLog) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Distinct (code, act) pairs and distinct (code, act, tgt) steps of every case."""

    def position_stats(self, log: JourneyLog) -> dict[str, pl.DataFrame]:
        """What stage assignment needs, from each event's relative position ``i / (n - 1)``
        in its journey: ``typical`` (act, median position), ``weights`` (act, tgt, len) over
        steps between different activities and, when the log has a stage column,
        ``stage_pos`` (stage, median position) and ``act_stage`` (act, stage, len) over the
        events with a stage."""

    def stage_visits(
        self, log: JourneyLog, cohort: pl.Series, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``per`` (cohort UInt32, code UInt32, srank Int32, seconds, visits, events) and
        ``trans`` (cohort UInt32, srank Int32, to Int32, count, cases). An event's stage
        rank is its stage column's rank in ``stage_rank`` where set, else ``act_rank`` of
        its activity; its time is the gap to the next event of the case."""

    def stage_summary(
        self, log: JourneyLog, cohort: pl.Series, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> pl.DataFrame:
        """What :meth:`stage_visits`' ``per`` summarises to, without the per-account rows:
        per (``cohort`` UInt32, ``srank`` Int32), ``accounts`` (that entered the stage),
        ``median``, ``p90`` and ``mean`` seconds spent there and ``median_visits``; in no
        particular order."""

    def first_times(self, log: JourneyLog, outcomes: dict[str, list[str]]) -> pl.DataFrame:
        """Per case code reaching an outcome: ``code`` (Int64) and, per outcome, the first
        time (UTC) one of its activities occurs."""

    def case_facts(
        self, log: JourneyLog, per_case: pl.DataFrame, sales: list[str], buys: list[str]
    ) -> pl.DataFrame:
        """Per case ``code`` of ``per_case`` (code Int64, ``won`` and ``_close`` times):
        ``touches_before`` and ``contacts_before`` (events and distinct contacts before
        ``won``), ``_sales`` (first ``sales`` activity up to ``_close``), ``purchases``
        (events of ``buys``), ``revenue`` (sum of ``value``; null without a value column)
        and ``events``."""

    def committee_touches(
        self, log: JourneyLog, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> pl.DataFrame:
        """One row per (``code`` Int64, ``contact``, ``role`` (String, null where the event
        has none or the log has no role column), ``srank`` Int32): ``first`` (the earliest
        time, UTC) and ``touches`` (events, Int64); in no particular order. Events without a
        contact form the rows whose ``contact`` is null. An event's ``srank`` is as in
        :meth:`stage_visits`."""

    def committee_handovers(self, log: JourneyLog, cohort: pl.Series) -> pl.DataFrame:
        """Handovers between contacts of the same account: over the events that have a
        contact, each pair of consecutive events made by different contacts, grouped by
        ``cohort`` (UInt32), ``source`` and ``target`` role (String; ``"(no role)"`` where
        an event has none): ``count``, ``accounts`` (Int64) and ``median`` gap (seconds).
        Empty without a role column."""


def engine_of(log: JourneyLog) -> Engine:
    """The log's engine: :class:`~journeymine._embedded.EmbeddedEngine`,
    :class:`~journeymine._duckdb.DuckDBEngine` or :class:`~journeymine._spark.SparkEngine`."""
    return log._engine


def per_case_frame(log: JourneyLog, **columns: pl.Series) -> pl.DataFrame:
    """A per-case frame keyed by the case ``code`` (the case table's row number, Int32), for
    an engine to join to the events it keeps: ``columns`` one value per case."""
    return pl.DataFrame({"code": pl.int_range(0, log.n_cases, eager=True, dtype=pl.Int32), **columns})


def require_embedded(log: JourneyLog, operation: str, *, instead: str = "") -> None:
    """Raise the one :class:`UnsupportedOperationError` when ``operation`` needs every
    event of ``log`` in memory and its engine holds them elsewhere (Spark).

    ``operation`` names what was called (``"log.events"``, ``"compare_cohorts"``);
    ``instead`` is an optional first fix, a sentence of its own.
    """
    engine = log._engine
    if engine.events_in_memory:
        return
    from .errors import UnsupportedOperationError

    where, events = {"spark": ("Spark", "log.spark_events"), "duckdb": ("DuckDB", "log.duckdb_events")}.get(
        engine.name, (engine.name, "the engine's own events")
    )
    raise UnsupportedOperationError(
        f"{operation} needs every event in memory, and this log's {log.n_events:,} events are in "
        f"{where}. {instead + ' ' if instead else ''}{_ON_EVERY_ENGINE} run in "
        f"{where}; for the rest, collect the log with log.to_local() when it fits in memory, or a "
        "sample of its accounts with log.filter_cases(...).to_local(). For event-level work in "
        f"{where}, use {events}."
    )
