"""JourneyLog: the one validated, immutable event log every analysis consumes."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import polars as pl

from ._base import restore_slots
from ._cohorts import Period, period_from_name
from ._embedded import EMBEDDED
from ._encoding import filter_variants
from ._engine import require_embedded
from ._frames import OwnedFrame, to_polars_frame
from ._mapping import OPTIONAL_ROLES, ColumnMapping
from ._params import as_names, check_choice, close_matches, invalid
from ._typing import CohortBy, FrameLike, OnInvalid, TimeLike
from ._validate import (
    MISSING_COHORT,
    build,
    check_build_options,
    resolve_mapping,
    role_columns,
    source_counts,
)
from ._warnings import warn
from .errors import JourneymineWarning, SchemaError

if TYPE_CHECKING:
    import pandas as pd

    from ._engine import Engine

__all__ = ["JourneyLog", "TimeSpan"]


class TimeSpan(NamedTuple):
    """First and last event timestamp of a log (UTC).

    Examples
    --------
    >>> import journeymine as jm
    >>> span = jm.datasets.demo_b2b(n_accounts=200, random_state=0).time_span
    >>> span.start, span.end
    (Timestamp('2023-01-04 09:34:27+0000', tz='UTC'), Timestamp('2025-12-28 18:45:25+0000', tz='UTC'))
    >>> span.duration
    Timedelta('1089 days 09:10:58')
    """

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def duration(self) -> pd.Timedelta:
        """Time between the first and the last event."""
        return self.end - self.start


class JourneyLog:
    """A validated, immutable event log of customer journeys.

    Build one with :meth:`from_frame`, :func:`read_csv`, :func:`read_parquet`,
    :func:`read_xes` or :meth:`from_pm4py`; construction is the only place input is
    checked. Each *case* is one account's journey, each *event* one touchpoint.

    Events are sorted by (case, timestamp) with ties kept in input order (a stable sort);
    cases appear in the order of their first row in the input. Timestamps are UTC.
    Rows that cannot be used are kept in :attr:`rejected` with a reason, never dropped:
    ``log.n_events + len(log.rejected)`` equals the number of rows read.

    Filters (:meth:`filter_cases`, :meth:`filter_time`, :meth:`filter_activities`,
    :meth:`cohorts`) return new logs; a log never changes.

    Examples
    --------
    >>> import pandas as pd
    >>> import journeymine as jm
    >>> df = pd.DataFrame({
    ...     "account": ["A", "A", "B"],
    ...     "touchpoint": ["Webinar", "Demo", "Webinar"],
    ...     "at": ["2024-01-02", "2024-02-01", "2024-01-05"],
    ...     "segment": ["SMB", "SMB", "Enterprise"],
    ... })
    >>> log = jm.JourneyLog.from_frame(df, case="account", activity="touchpoint",
    ...                                timestamp="at", case_attributes=["segment"])
    >>> log
    <JourneyLog: 2 cases, 3 events, 2 activities, 2024-01-02 → 2024-02-01>
    >>> log.cases[["case", "segment", "n_events"]]
      case     segment  n_events
    0    A         SMB         2
    1    B  Enterprise         1
    """

    __slots__ = (
        "_cache",
        "_case_attributes",
        "_cases",
        "_engine",
        "_event_attributes",
        "_events",
        "_files",
        "_mapping",
        "_rejected",
        "_source",
        "_sources",
        "_stage_order",
    )
    _cache: dict[str, Any]
    _case_attributes: tuple[str, ...]
    _cases: pl.DataFrame
    _engine: Engine
    _event_attributes: tuple[str, ...]
    _events: pl.DataFrame
    _files: tuple[str, ...]
    _mapping: ColumnMapping
    _rejected: pl.DataFrame
    _source: str
    _sources: pl.DataFrame | None
    _stage_order: tuple[str, ...] | None

    def __init__(self) -> None:
        raise TypeError(
            "Build a JourneyLog with JourneyLog.from_frame(...), jm.read_csv(...), "
            "jm.read_parquet(...), jm.read_xes(...) or JourneyLog.from_pm4py(...)."
        )

    # -- construction -------------------------------------------------------------------
    @classmethod
    def _create(
        cls,
        *,
        events: pl.DataFrame,
        cases: pl.DataFrame,
        rejected: pl.DataFrame,
        mapping: ColumnMapping,
        case_attributes: Sequence[str],
        event_attributes: Sequence[str],
        stage_order: Sequence[str] | None,
        source: str,
        engine: Engine = EMBEDDED,
        sources: pl.DataFrame | None = None,
        files: Sequence[str] = (),
    ) -> JourneyLog:
        self = object.__new__(cls)
        setter = object.__setattr__
        setter(self, "_files", tuple(files))
        setter(self, "_events", events)
        setter(self, "_cases", cases)
        setter(self, "_rejected", rejected)
        setter(self, "_mapping", mapping)
        setter(self, "_case_attributes", tuple(case_attributes))
        setter(self, "_event_attributes", tuple(event_attributes))
        setter(self, "_stage_order", tuple(stage_order) if stage_order is not None else None)
        setter(self, "_source", source)
        setter(self, "_sources", sources)
        setter(self, "_engine", engine)
        setter(self, "_cache", {})
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("JourneyLog is immutable: filters return new logs.")

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        # pickle and copy: the slots without the caches (derived, rebuilt on demand)
        slots = {name: object.__getattribute__(self, name) for name in _all_slots(type(self))}
        slots["_cache"] = {}
        return None, slots

    def __setstate__(self, state: Any) -> None:
        restore_slots(self, state)

    def __delattr__(self, name: str) -> None:
        raise AttributeError("JourneyLog is immutable.")

    @classmethod
    def from_frame(
        cls,
        frame: FrameLike,
        *,
        case: str,
        activity: str,
        timestamp: str,
        resource: str | None = None,
        contact: str | None = None,
        role: str | None = None,
        channel: str | None = None,
        stage: str | None = None,
        lifecycle: str | None = None,
        value: str | None = None,
        case_attributes: str | Sequence[str] = (),
        event_attributes: str | Sequence[str] | Literal["all"] = "all",
        stage_order: str | Sequence[str] | None = None,
        tz: str | None = None,
        timestamp_format: str | None = None,
        dayfirst: bool | None = None,
        valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
        duplicates: Literal["reject", "keep"] = "reject",
        on_invalid: OnInvalid = "reject",
    ) -> JourneyLog:
        """Validate a pandas or polars frame of events and build a log from it.

        Parameters
        ----------
        frame : pandas.DataFrame, polars.DataFrame or polars.LazyFrame
            One row per event. The index of a pandas frame is ignored; row numbers in
            :attr:`rejected` are 0-based positions.
        case, activity, timestamp : str
            Columns holding the case (account) id, the activity (touchpoint) and when it
            happened. Case ids and activities are read as text, so ``"0001"`` and ``"NA"``
            stay ids; empty strings count as missing.
        resource, contact, role, channel, stage, lifecycle, value : str, optional
            Columns playing these optional roles (see :class:`ColumnMapping`); in
            :attr:`events` they are renamed to the role name. ``value`` is read as a number.
            A column named exactly like an unmapped role (say ``channel``) plays that role.
        case_attributes : str or sequence of str
            Per-case attributes such as segment, product or market. They must be constant
            within a case; where they are not, a :class:`DataQualityWarning` names the
            column and each case keeps its earliest non-missing value.
        event_attributes : str, sequence of str or "all"
            Other columns to keep on the events; "all" keeps every remaining column.
        stage_order : sequence of str, optional
            The journey order of the values of the ``stage`` column (e.g. awareness,
            consideration, decision, retention, advocacy).
        tz : str, optional
            IANA time zone of naive timestamps (UTC when not given). Aware timestamps are
            converted to UTC whatever their offsets.
        timestamp_format : str, optional
            A strftime format for text timestamps, applied strictly (a value it does not
            fit is an unparsable timestamp). When not given, one format is decided per
            column from all its values (see ``docs/data-model.md``).
        dayfirst : bool, optional
            For numeric dates such as ``01/02/2024``: True reads day first (1 February),
            False month first (January 2). Needed only when the column does not decide
            it (every value has day and month ≤ 12): then the log is refused with a
            :class:`SchemaError` that shows examples, rather than guessed.
        valid_time : (start, end)
            Timestamps outside ``[start, end)`` are set aside as out of range.
        duplicates : {"reject", "keep"}
            Whether an exact repeat of an earlier event (same values in every kept column)
            is set aside or kept.
        on_invalid : {"reject", "raise"}
            Set unusable rows aside in :attr:`rejected` with a warning, or raise
            :class:`DataQualityError`.

        Returns
        -------
        JourneyLog

        Raises
        ------
        SchemaError
            A named column is missing or plays two parts.
        DataQualityError
            Rows are unusable and ``on_invalid="raise"``.
        EmptyLogError
            The input has no rows, or none is usable.

        Examples
        --------
        >>> import polars as pl
        >>> import journeymine as jm
        >>> df = pl.DataFrame({"id": ["0001", "0001"], "act": ["Visit", "Demo"],
        ...                    "ts": ["2024-03-01T10:00:00+01:00", "2024-03-02T09:00:00Z"]})
        >>> log = jm.JourneyLog.from_frame(df, case="id", activity="act", timestamp="ts")
        >>> log.events[["case", "activity", "timestamp"]]
           case activity                 timestamp
        0  0001    Visit 2024-03-01 09:00:00+00:00
        1  0001     Demo 2024-03-02 09:00:00+00:00
        """
        roles = role_columns(locals())
        owner = "JourneyLog.from_frame"
        case_attributes, event_attributes = check_build_options(
            owner, on_invalid, duplicates, case_attributes, event_attributes, roles=roles, tz=tz,
            timestamp_format=timestamp_format, dayfirst=dayfirst, valid_time=valid_time,
        )
        if stage_order is not None:
            stage_order = as_names(stage_order, "stage_order", owner, what="stage names")
        pl_frame, source, owned = to_polars_frame(frame, owner=owner)
        mapping = resolve_mapping(
            pl_frame.columns, roles, case_attributes=case_attributes, event_attributes=event_attributes
        )
        built = build(
            pl_frame,
            mapping=mapping,
            case_attributes=list(case_attributes),
            event_attributes=event_attributes,
            tz=tz,
            timestamp_format=timestamp_format,
            dayfirst=dayfirst,
            valid_time=valid_time,
            duplicates=duplicates,
            on_invalid=on_invalid,
            stage_order=stage_order,
            owned=owned,
            input_rows=frame.rows if isinstance(frame, OwnedFrame) else None,
        )
        del pl_frame
        reserved = {"case", "activity", "timestamp", "row", *OPTIONAL_ROLES}
        event_attrs = [c for c in built.events.columns if c not in reserved]
        return cls._create(
            events=built.events,
            cases=built.cases,
            rejected=built.rejected,
            mapping=mapping,
            case_attributes=list(case_attributes),
            event_attributes=event_attrs,
            stage_order=stage_order,
            source=source,
        )

    @classmethod
    def from_pm4py(cls, data: Any, **options: Any) -> JourneyLog:
        """Build a log from a pm4py event log: a formatted pandas frame or an ``EventLog``.

        Columns follow pm4py's conventions: ``case:concept:name`` is the case,
        ``concept:name`` the activity, ``time:timestamp`` the timestamp,
        ``org:resource`` the resource and ``lifecycle:transition`` the lifecycle when
        present; other ``case:*`` columns become case attributes without the prefix.
        pm4py's bookkeeping columns (``@@index``, ``@@case_index``) are dropped.
        ``options`` are passed on to :meth:`from_frame`; ``case_attributes`` there names
        event attributes to lift to the case, in addition to the ``case:*`` columns.

        Examples
        --------
        >>> import pandas as pd
        >>> import journeymine as jm
        >>> df = pd.DataFrame({"case:concept:name": ["1", "1"], "concept:name": ["a", "b"],
        ...     "time:timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
        ...     "case:channel": ["Web", "Web"]})
        >>> jm.JourneyLog.from_pm4py(df).case_attributes
        ('channel',)
        """
        from ._pm4py import lift_case_attributes, pm4py_frame_arguments

        frame, kwargs = pm4py_frame_arguments(data)
        kwargs = lift_case_attributes(kwargs, options.pop("case_attributes", ()), "JourneyLog.from_pm4py")
        kwargs.update(options)
        return cls.from_frame(frame, **kwargs)

    @classmethod
    def from_spark(
        cls,
        sdf: Any,
        *,
        case: str,
        activity: str,
        timestamp: str,
        resource: str | None = None,
        contact: str | None = None,
        role: str | None = None,
        channel: str | None = None,
        stage: str | None = None,
        lifecycle: str | None = None,
        value: str | None = None,
        case_attributes: str | Sequence[str] = (),
        event_attributes: str | Sequence[str] | Literal["all"] = "all",
        stage_order: str | Sequence[str] | None = None,
        tz: str | None = None,
        timestamp_format: str | None = None,
        valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
        duplicates: Literal["reject", "keep"] = "reject",
        on_invalid: OnInvalid = "reject",
        quantiles: Literal["exact", "approx"] = "approx",
        accuracy: int = 10_000,
    ) -> JourneyLog:
        """Validate a Spark DataFrame of events with Spark; the events stay in Spark.

        The rules and options are those of :meth:`from_frame` (but ``dayfirst``: text
        timestamps are read as ISO 8601 or by ``timestamp_format``), applied by Spark. The
        result is a :class:`~journeymine._spark.SparkJourneyLog` (``log.engine == "spark"``):
        its case table (one row per account) is in memory, its events stay in Spark, persisted, and
        :attr:`rejected` is a Spark DataFrame of the rows set aside with their ``reason``.
        :func:`journey_map`, :func:`variants`, :func:`stage_durations`, :func:`kpis`,
        :func:`subway_map` and :class:`JourneyClusterer` accept it unchanged; what needs
        every event in memory raises :class:`UnsupportedOperationError` (``log.to_local()``
        collects the log). Needs ``pip install 'journeymine[spark]'``; see
        ``docs/scaling.md``.

        Parameters
        ----------
        sdf : pyspark.sql.DataFrame
            One row per event.
        case, activity, timestamp, resource, contact, role, channel, stage, lifecycle, value : str
            The columns playing these roles, as in :meth:`from_frame`.
        case_attributes, event_attributes, stage_order, tz, timestamp_format : optional
            As in :meth:`from_frame`.
        valid_time, duplicates, on_invalid : optional
            As in :meth:`from_frame`.
        quantiles : {"approx", "exact"}
            How medians and 90th percentiles of durations are computed: Spark's
            ``percentile_approx`` (rank error at most ``n / accuracy``) or the exact
            ``percentile`` (holds each group's values in one task's memory).
        accuracy : int
            The accuracy of ``percentile_approx``.

        Examples
        --------
        >>> import journeymine as jm
        >>> from pyspark.sql import SparkSession  # doctest: +SKIP
        >>> spark = SparkSession.builder.master("local[2]").getOrCreate()  # doctest: +SKIP
        >>> demo = jm.datasets.demo_b2b(100, random_state=0).to_pm4py()  # doctest: +SKIP
        >>> sdf = spark.createDataFrame(demo)  # doctest: +SKIP
        >>> log = jm.JourneyLog.from_spark(sdf, case="case:concept:name",
        ...     activity="concept:name", timestamp="time:timestamp")  # doctest: +SKIP
        >>> jm.journey_map(log).n_cases  # doctest: +SKIP
        100
        """
        roles = role_columns(locals())
        from ._spark import from_spark

        return from_spark(
            sdf, roles, case_attributes=case_attributes, event_attributes=event_attributes,
            stage_order=stage_order, tz=tz, timestamp_format=timestamp_format,
            valid_time=valid_time, duplicates=duplicates, on_invalid=on_invalid,
            quantiles=quantiles, accuracy=accuracy,
        )

    def _with_source(self, source: str, files: Sequence[str] = ()) -> JourneyLog:
        """Name where the log came from: ``source`` (shown to people, and itself refused as
        an output: a path, usually) and ``files``, the other paths its events were read
        from, which no writer may replace either (:attr:`_inputs`)."""
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_files", tuple(files))
        return self

    @property
    def _inputs(self) -> tuple[str, ...]:
        """What writers must not write onto: the source and the files the events came from,
        kept through filters, episodes and flattening (whose ``source`` says more than a path)."""
        return (self._source, *getattr(self, "_files", ()))

    # -- accessors ---------------------------------------------------------------------
    @property
    def mapping(self) -> ColumnMapping:
        """Which input column played which role."""
        return self._mapping

    @property
    def case_attributes(self) -> tuple[str, ...]:
        """Names of the per-case attributes (columns of :attr:`cases`)."""
        return self._case_attributes

    @property
    def event_attributes(self) -> tuple[str, ...]:
        """Names of the extra per-event attributes kept in :attr:`events`."""
        return self._event_attributes

    @property
    def stage_order(self) -> tuple[str, ...] | None:
        """The declared journey order of the ``stage`` values, if one was given."""
        return self._stage_order

    @property
    def source(self) -> str:
        """Where the log was read from (a path, or the kind of frame)."""
        return self._source

    @property
    def engine(self) -> str:
        """Where the events are and what computes over them: ``"embedded"`` (in memory,
        polars), ``"duckdb"`` (on disk, a log read by ``read_parquet(path,
        engine="duckdb")``) or ``"spark"`` (a log built by :meth:`from_spark`).

        On a DuckDB or Spark log, what needs every event in memory (:attr:`events`,
        :meth:`to_pm4py`, :meth:`filter_time`, ...) raises
        :class:`UnsupportedOperationError`; ``docs/scaling.md`` lists what runs where.

        Examples
        --------
        >>> import journeymine as jm
        >>> jm.datasets.demo_b2b(n_accounts=5, random_state=0).engine
        'embedded'
        """
        return self._engine.name

    @property
    def events(self) -> pd.DataFrame:
        """The events as a pandas DataFrame, sorted by (case, timestamp, input row).

        Columns: ``case``, ``activity``, ``timestamp`` (UTC), the mapped optional roles
        under their role names, the event attributes, and ``row`` (0-based input row).
        """
        require_embedded(self, "log.events")
        return self._pandas("events", self._events)

    @property
    def cases(self) -> pd.DataFrame:
        """One row per case: ``case``, the case attributes, ``n_events``, ``start``, ``end``."""
        return self._pandas("cases", self._cases)

    @property
    def rejected(self) -> pd.DataFrame:
        """Rows set aside: ``row`` (0-based input row), ``reason``, then the input values.

        Only the log built from the input has them; filtered sub-logs have none.
        """
        return self._pandas("rejected", self._rejected)

    @property
    def sources(self) -> pd.DataFrame:
        """Where the input rows went, one row per input table.

        Columns: ``source`` (the table's name: the path or frame read, or the name of
        an :class:`EventSpec`), ``first_row`` (the ``row`` in :attr:`events` and
        :attr:`rejected` of the table's first row: rows of several tables are numbered
        one after the other), ``rows`` (read), ``events``, ``no timestamp`` (rows of a
        table given to :func:`from_tables` whose timestamp is empty: no event, and
        nothing wrong), ``unmapped id`` (rows whose case could not be found), one
        column per reason of :attr:`rejected` (``missing case id`` …
        ``duplicate event``), and ``unmapped examples`` (a few of those ids). Every
        row read is counted once: ``rows`` is ``events + no timestamp + unmapped id``
        plus the reasons. A log read from one table has one row; a filtered log
        describes its own events (it holds no rejected rows).

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=20, random_state=0)
        >>> log.sources[["rows", "events", "duplicate event"]].to_dict("records") == [
        ...     {"rows": log.n_events, "events": log.n_events, "duplicate event": 0}]
        True
        """
        if self._sources is None:
            self._cache.setdefault("sources", source_counts(
                self._source, first_row=0, rows=self.n_events + self.n_rejected,
                events=self.n_events, rejected=self._rejected,
            ))
            return self._pandas("sources_pd", self._cache["sources"])
        return self._pandas("sources_pd", self._sources)

    def to_polars(self, table: Literal["events", "cases", "rejected"] = "events") -> pl.DataFrame:
        """Return one of the log's tables as a polars DataFrame (no copy).

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=20, random_state=0)
        >>> log.to_polars("cases").height
        20
        """
        check_choice("table", "JourneyLog.to_polars", table, ("events", "cases", "rejected"))
        if table != "cases":
            require_embedded(self, f"log.to_polars({table!r})")
        return {"events": self._events, "cases": self._cases, "rejected": self._rejected}[table]

    def _pandas(self, key: str, frame: pl.DataFrame) -> pd.DataFrame:
        cached = self._cache.get(key)
        if cached is None:
            cached = frame.to_pandas()
            self._cache[key] = cached
        return cached.copy(deep=False)

    @property
    def n_cases(self) -> int:
        """Number of cases (accounts)."""
        return self._cases.height

    @property
    def n_events(self) -> int:
        """Number of usable events."""
        return self._events.height

    @property
    def n_rejected(self) -> int:
        """Number of input rows set aside."""
        return self._rejected.height

    @property
    def activities(self) -> tuple[str, ...]:
        """Distinct activities, most frequent first (ties by name)."""
        if "activities" not in self._cache:
            counts = self._events.group_by("activity").len().sort(
                ["len", "activity"], descending=[True, False]
            )
            self._cache["activities"] = tuple(counts.get_column("activity").to_list())
        return self._cache["activities"]  # type: ignore[no-any-return]

    @property
    def time_span(self) -> TimeSpan:
        """First and last event timestamps (UTC)."""
        import pandas as pd

        start, end = self._cases.get_column("start").min(), self._cases.get_column("end").max()
        return TimeSpan(pd.Timestamp(start), pd.Timestamp(end))  # type: ignore[arg-type]

    # -- conversion --------------------------------------------------------------------
    def to_pm4py(self) -> pd.DataFrame:
        """Return the events as a pandas frame in pm4py's standard columns.

        ``case:concept:name``, ``concept:name``, ``time:timestamp`` (UTC),
        ``org:resource``, ``org:role`` and ``lifecycle:transition`` where mapped, the
        other roles under their role names (``contact``, ``channel``, ``stage``,
        ``value``), case attributes as ``case:<name>`` and the event attributes as they
        are; :meth:`from_pm4py` and :func:`read_xes` map the same names back. pm4py's
        discovery functions accept it unchanged; pm4py itself is not imported.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=5, random_state=0)
        >>> list(log.to_pm4py().columns[:3])
        ['case:concept:name', 'concept:name', 'time:timestamp']
        """
        from ._pm4py import pm4py_layout

        require_embedded(self, "log.to_pm4py()")
        return pm4py_layout(self).to_pandas()

    # -- filters -----------------------------------------------------------------------
    def _with(self, events: pl.DataFrame, cases: pl.DataFrame | None = None) -> JourneyLog:
        """A new log over a subset of this log's events (cases recomputed as needed)."""
        if cases is None:
            kept = events.get_column("case").unique()
            cases = self._cases.filter(pl.col("case").is_in(kept.implode()))
            if cases.height and int(cases.get_column("n_events").sum()) != events.height:
                stats = events.group_by("case", maintain_order=True).agg(
                    pl.len().cast(pl.Int64).alias("n_events"),
                    pl.col("timestamp").first().alias("start"),
                    pl.col("timestamp").last().alias("end"),
                )
                cases = cases.drop("n_events", "start", "end").join(
                    stats, on="case", how="inner", maintain_order="left"
                )
        return JourneyLog._create(
            events=events,
            cases=cases,
            rejected=self._rejected.clear(),
            mapping=self._mapping,
            case_attributes=self._case_attributes,
            event_attributes=self._event_attributes,
            stage_order=self._stage_order,
            source=self._source,
            files=self._files,
        )

    def _subset_cases(self, keep: pl.Series) -> JourneyLog:
        cases = self._cases.filter(keep)
        events = self._events.filter(pl.col("case").is_in(cases.get_column("case").implode()))
        return self._with(events, cases)

    def filter_cases(
        self,
        where: Mapping[str, Any] | Callable[[pd.DataFrame], Any] | None = None,
        /,
        **equals: Any,
    ) -> JourneyLog:
        """Keep the cases whose attributes match.

        Parameters
        ----------
        where : mapping or callable, optional
            ``{attribute: value or list of values}``, or a function of :attr:`cases`
            returning a boolean mask (one value per case).
        **equals
            More ``attribute=value`` (or list of values) conditions; all must hold.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=50, random_state=0)
        >>> ent = log.filter_cases(segment="Enterprise")
        >>> set(ent.cases["segment"])
        {'Enterprise'}
        """
        conditions: dict[str, Any] = {}
        mask = pl.Series([True] * self.n_cases)
        if callable(where):
            got = where(self.cases)
            mask = pl.Series([bool(v) for v in list(got)]) if not isinstance(got, pl.Series) else got
            if len(mask) != self.n_cases:
                raise invalid("where", "JourneyLog.filter_cases",
                              f"a function returning {self.n_cases} booleans (one per case)",
                              f"{len(mask)} values")
        elif isinstance(where, Mapping):
            conditions.update(where)
        elif where is not None:
            raise invalid(
                "where", "JourneyLog.filter_cases",
                "a mapping {attribute: value(s)} or a function of log.cases returning one boolean per case "
                "(e.g. lambda cases: cases['case'].isin(ids))",
                type(where).__name__,
            )
        conditions.update(equals)
        for name, wanted in conditions.items():
            self._require_case_attribute(name, "JourneyLog.filter_cases")
            values = list(wanted) if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
            col = self._cases.get_column(name)
            mask = mask & col.is_in(pl.Series(values, dtype=col.dtype, strict=False).implode())
        return self._subset_cases(mask.fill_null(False))

    def filter_time(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        mode: Literal["contained", "intersecting", "events"] = "intersecting",
    ) -> JourneyLog:
        """Keep what falls in ``[start, end)``.

        ``mode="contained"`` keeps cases that start and end inside the window,
        ``"intersecting"`` cases with at least one event inside it (all their events are
        kept), and ``"events"`` only the events inside it. Naive bounds are UTC.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=50, random_state=0)
        >>> h1 = log.filter_time("2023-01-01", "2023-07-01", mode="events")
        >>> h1.time_span.end < jm.datasets.demo_b2b(50, random_state=0).time_span.end
        True
        """
        owner = "JourneyLog.filter_time"
        require_embedded(self, "log.filter_time")
        check_choice("mode", owner, mode, ("contained", "intersecting", "events"))
        lo = _utc(start, "start", owner)
        hi = _utc(end, "end", owner)
        ts = pl.col("timestamp")
        inside = pl.lit(True)
        if lo is not None:
            inside = inside & (ts >= lo)
        if hi is not None:
            inside = inside & (ts < hi)
        if mode == "events":
            return self._with(self._events.filter(inside))
        if mode == "intersecting":
            hit = self._events.filter(inside).get_column("case").unique()
            return self._subset_cases(self._cases.get_column("case").is_in(hit.implode()))
        keep = pl.lit(True)
        if lo is not None:
            keep = keep & (pl.col("start") >= lo)
        if hi is not None:
            keep = keep & (pl.col("end") < hi)
        return self._subset_cases(self._cases.select(keep.alias("k")).get_column("k"))

    def filter_activities(
        self, activities: str | Iterable[str], *, how: Literal["any", "all", "none"] = "any"
    ) -> JourneyLog:
        """Keep the cases that contain any, all, or none of ``activities``.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=50, random_state=0)
        >>> won = log.filter_activities("Contract signed")
        >>> bool((won.events.groupby("case")["activity"]
        ...       .apply(lambda a: "Contract signed" in set(a))).all())
        True
        """
        owner = "JourneyLog.filter_activities"
        require_embedded(self, "log.filter_activities")
        check_choice("how", owner, how, ("any", "all", "none"))
        wanted = [activities] if isinstance(activities, str) else list(activities)
        if not wanted:
            raise invalid("activities", owner, "a non-empty list of activity names", activities)
        unknown = sorted(set(wanted) - set(self.activities))
        if unknown and how == "all":
            raise SchemaError(
                f"Activities {unknown} do not occur in this log, so no case contains all of "
                f"them. Known activities include: {list(self.activities[:10])}."
            )
        hits = (
            self._events.filter(pl.col("activity").is_in(pl.Series(wanted).implode()))
            .group_by("case")
            .agg(pl.col("activity").n_unique().alias("n"))
        )
        need = len(set(wanted)) if how == "all" else 1
        hit = hits.filter(pl.col("n") >= need).get_column("case")
        mask = self._cases.get_column("case").is_in(hit.implode())
        return self._subset_cases(~mask if how == "none" else mask)

    def split_episodes(
        self,
        on: str | Iterable[str] | None = None,
        *,
        gap: Any = None,
        customer: str | Iterable[str] | None = None,
    ) -> JourneyLog:
        """Split each account's journey into episodes: new business, renewal cycles,
        re-engagement after a churn or after a silence.

        An episode starts at an account's first event, at every event of an ``on`` activity
        (e.g. ``["Renewal", "Re-engaged"]``) and after every silence longer than ``gap``. Each
        episode becomes a case ``"<account>#<n>"`` (n from 1) with the account's attributes
        and three more: ``account`` (the account's id), ``episode`` (n) and, with ``customer``
        activities (e.g. ``"Contract signed"``), ``existing_customer`` (the account reached
        one before the episode started). Every analysis then runs per episode, e.g.
        ``jm.journey_map(episodes, by="existing_customer")``.

        Parameters
        ----------
        on : str or list of str, optional
            Activities that start a new episode.
        gap : str or Timedelta, optional
            A silence longer than this starts a new episode.
        customer : str or list of str, optional
            Activities that make the account a customer (for ``existing_customer``).

        Returns
        -------
        JourneyLog

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
        >>> ep = log.split_episodes(on=["Renewal", "Re-engaged"], gap="365D", customer="Contract signed")
        >>> ep.n_events == log.n_events, ep.n_cases > log.n_cases
        (True, True)
        >>> sorted(ep.case_attributes)[:3]
        ['account', 'episode', 'existing_customer']
        """
        import pandas as pd

        owner = "JourneyLog.split_episodes"
        require_embedded(self, "log.split_episodes")
        if on is None and gap is None:
            raise invalid("on", owner, "activities that start an episode, or gap= (or both)", on)
        known = set(self.activities)
        starts = [] if on is None else [on] if isinstance(on, str) else list(on)
        wanted = [] if customer is None else [customer] if isinstance(customer, str) else list(customer)
        for param, acts in (("on", starts), ("customer", wanted)):
            unknown = [a for a in acts if a not in known]
            if unknown:
                hint = close_matches(unknown[0], self.activities)
                raise invalid(param, owner, f"activities of the log{hint}", unknown[0])
        silence = None
        if gap is not None:
            try:
                silence = pd.Timedelta(gap)
            except (TypeError, ValueError) as exc:
                raise invalid("gap", owner, "a duration such as '180D'", gap) from exc
            if silence <= pd.Timedelta(0):
                raise invalid("gap", owner, "a positive duration", gap)
        ev = self._events.sort("case", "timestamp", "row")
        first = pl.int_range(0, pl.len()).over("case") == 0
        new = pl.col("activity").is_in(starts) & ~first
        if silence is not None:
            quiet = (pl.col("timestamp") - pl.col("timestamp").shift(1).over("case")) > silence
            new = new | quiet.fill_null(False)
        ev = ev.with_columns((new.cast(pl.Int64).cum_sum().over("case") + 1).alias("_episode"))
        if wanted:
            reached = pl.col("activity").is_in(wanted).cum_max().over("case")  # so far, this event too
            ev = ev.with_columns(reached.alias("_reached"))
            ev = ev.with_columns(
                pl.col("_reached").shift(1).over("case").fill_null(False).alias("_before")
            )
        per = ev.group_by("case", "_episode", maintain_order=True).agg(
            *([pl.col("_before").first().alias("existing_customer")] if wanted else [])
        )
        events = ev.with_columns(pl.format("{}#{}", pl.col("case"), pl.col("_episode")).alias("_new_case"))
        attrs = self._cases.select("case", *self._case_attributes)
        episodes = per.join(attrs, on="case", how="left").with_columns(
            pl.format("{}#{}", pl.col("case"), pl.col("_episode")).alias("_new_case"),
            pl.col("case").alias("account"),
            pl.col("_episode").alias("episode"),
        )
        optional = ("resource", "contact", "role", "channel", "stage", "lifecycle", "value")
        roles = [c for c in optional if c in ev.columns]
        frame = events.drop("case").rename({"_new_case": "case"}).join(
            episodes.drop("case").rename({"_new_case": "case"}).drop("_episode"), on="case", how="left"
        )
        new_attrs = [*self._case_attributes, "account", "episode", *(["existing_customer"] if wanted else [])]
        out = frame.select("case", "activity", "timestamp", *roles, *self._event_attributes, *new_attrs)
        mapped: dict[str, Any] = {r: r for r in roles}
        return JourneyLog.from_frame(
            out.to_pandas(), case="case", activity="activity", timestamp="timestamp",
            case_attributes=new_attrs, event_attributes=list(self._event_attributes),
            stage_order=self._stage_order, duplicates="keep", **mapped,
        )._with_source(f"{self.source} split into episodes", files=self._inputs)

    def filter_variants(
        self,
        variants: Iterable[Sequence[str]] | None = None,
        *,
        top: int | None = None,
        exclude: bool = False,
    ) -> JourneyLog:
        """Keep the cases whose journey is one of the given variants.

        Parameters
        ----------
        variants : list of sequences of str, optional
            Activity sequences, as in the ``variant`` column of :func:`journeymine.variants`.
            Sequences that occur in no case are ignored.
        top : int, optional
            Instead of ``variants``: the ``top`` most frequent variants (ties by first case).
        exclude : bool
            Keep the other cases instead.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
        >>> v = jm.variants(log, top=2)
        >>> sub = log.filter_variants(v["variant"])
        >>> sub.n_cases == int(v["cases"].sum())
        True
        >>> log.filter_variants(top=2).n_cases == sub.n_cases
        True
        """
        require_embedded(self, "log.filter_variants")
        return filter_variants(self, variants, top=top, exclude=exclude)

    def cohorts(self, by: CohortBy, *, min_cases: int = 1) -> dict[Any, JourneyLog]:
        """Split the log into one sub-log per cohort.

        Parameters
        ----------
        by : str, list of str, or callable
            A case attribute, several (keys join the values with ``" | "``), or a function of
            :attr:`cases` returning one key per case. Missing keys form the cohort
            ``"(missing)"``.
        min_cases : int
            Cohorts with fewer cases are left out of the result, and a
            :class:`JourneymineWarning` names them with their sizes.

        Returns
        -------
        dict
            Cohort key to sub-log, largest cohort first (ties by key).

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=60, random_state=0)
        >>> sorted(log.cohorts(by="segment"))
        ['Enterprise', 'Mid-market', 'SMB']
        """
        from ._params import check_int

        check_int("min_cases", "JourneyLog.cohorts", min_cases, minimum=1)
        keys = self.cohort_keys(by)
        out: dict[Any, JourneyLog] = {}
        frame = self._cases.with_columns(keys.alias("__key"))
        sizes = frame.group_by("__key").len().sort(["len", "__key"], descending=[True, False])
        for key, size in sizes.iter_rows():
            if size < min_cases:
                continue
            out[key] = self._subset_cases(frame.get_column("__key") == key)
        small = [(k, n) for k, n in sizes.iter_rows() if n < min_cases]
        if small:
            listed = ", ".join(f"{k!r} ({n})" for k, n in small[:10])
            warn(
                f"{len(small)} cohort(s) have fewer than min_cases={min_cases} cases and are "
                f"left out: {listed}{' …' if len(small) > 10 else ''}.",
                JourneymineWarning,
            )
        return out

    def cohort_keys(self, by: CohortBy) -> pl.Series:
        """Return the cohort key of every case (aligned with :attr:`cases`), as text.

        Several attributes give keys joined by ``" | "``; missing values become
        ``"(missing)"``.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=10, random_state=0)
        >>> log.cohort_keys(["segment", "market"]).head(2).to_list()  # doctest: +SKIP
        ['Enterprise | EMEA', 'SMB | NA']
        """
        owner = "cohorts"
        if isinstance(by, str) and by not in self._case_attributes:
            by = period_from_name(by) or by
        if isinstance(by, Period):
            return by.keys(self)[0]
        if callable(by):
            got = by(self.cases)
            values = [MISSING_COHORT if _is_missing(v) else str(v) for v in list(got)]
            if len(values) != self.n_cases:
                raise invalid("by", owner, f"a function returning {self.n_cases} keys (one per case)",
                              f"{len(values)} values")
            return pl.Series("cohort", values, dtype=pl.String)
        names = [by] if isinstance(by, str) else list(by)
        if not names:
            raise invalid("by", owner, "a case attribute, a list of them, or a callable", by)
        for name in names:
            self._require_case_attribute(name, owner)
        parts = [
            pl.col(n).cast(pl.String).fill_null(MISSING_COHORT) for n in names
        ]
        expr = parts[0] if len(parts) == 1 else pl.concat_str(parts, separator=" | ")
        return self._cases.select(expr.alias("cohort")).get_column("cohort")

    def _require_case_attribute(self, name: Any, owner: str) -> None:
        if name not in self._case_attributes:
            known = ", ".join(repr(a) for a in self._case_attributes) or "none"
            hint = (
                f" {name!r} is an event attribute; declare it in case_attributes=[...] when "
                "reading the log if it is constant per case."
                if name in self._event_attributes or name in OPTIONAL_ROLES
                else ""
            )
            raise SchemaError(
                f"{owner}: {name!r} is not a case attribute of this log. Case attributes: "
                f"{known}.{hint}"
            )

    # -- display -----------------------------------------------------------------------
    def _span_text(self) -> str:
        if self.n_events == 0:
            return "empty"
        span = self.time_span
        fmt = "%Y-%m-%d"
        return f"{span.start.strftime(fmt)} → {span.end.strftime(fmt)}"

    def __repr__(self) -> str:
        parts = [
            f"{self.n_cases:,} cases",
            f"{self.n_events:,} events",
            f"{len(self.activities):,} activities",
            self._span_text(),
        ]
        if self.n_rejected:
            parts.append(f"{self.n_rejected:,} rows rejected")
        return f"<JourneyLog: {', '.join(parts)}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = [
            ("Source", self._source),
            ("Cases", f"{self.n_cases:,}"),
            ("Events", f"{self.n_events:,}"),
            ("Activities", f"{len(self.activities):,}"),
            ("Time span", self._span_text()),
            ("Case attributes", ", ".join(self._case_attributes) or "—"),
            ("Roles", ", ".join(f"{k} ← {v}" for k, v in self._mapping.roles().items())),
            ("Rejected rows", f"{self.n_rejected:,}"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>"
            f"{esc(v)}</td></tr>"
            for k, v in rows
        )
        if self.n_rejected:
            counts = self._rejected.group_by("reason").len().sort(
                ["len", "reason"], descending=[True, False]
            )
            body += "".join(
                f"<tr><td></td><td style='text-align:left'>{n:,} × {esc(r)}</td></tr>"
                for r, n in counts.iter_rows()
            )
        top = ", ".join(esc(a) for a in self.activities[:8])
        more = " …" if len(self.activities) > 8 else ""
        return (
            "<div class='journeymine-log'><strong>JourneyLog</strong>"
            f"<table>{body}</table><div>Most frequent activities: {top}{more}</div></div>"
        )


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):
        return False


def _utc(value: TimeLike | None, name: str, owner: str) -> Any:
    if value is None:
        return None
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise invalid(name, owner, "a timestamp (e.g. '2024-01-31') or None", value) from exc
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def _event_slot(i: int) -> str:
    """The internal name of the ``i``-th event attribute in the events an engine other than
    the embedded one keeps (no name the user chose is ever given to it as text)."""
    return f"__event_{i}"


class _EventsElsewhere(JourneyLog):
    """A log whose events are kept by another engine (Spark, DuckDB) and whose case table
    is in memory: what such logs share. What needs the events raises in :class:`JourneyLog`
    itself, through the engine (:func:`journeymine._engine.require_embedded`)."""

    __slots__ = ("_n_events", "_rejected_counts")
    _n_events: int
    _rejected_counts: dict[str, int]
    #: the engine's name as its logs show it ("Spark", "DuckDB")
    _where: str = ""

    @classmethod
    def _create_elsewhere(
        cls,
        *,
        cases: pl.DataFrame,
        rejected_counts: Mapping[str, int],
        n_events: int,
        activities: Sequence[str],
        mapping: ColumnMapping,
        case_attributes: Sequence[str],
        event_attributes: Sequence[str],
        stage_order: Sequence[str] | None,
        source: str,
        engine: Engine,
    ) -> Any:
        """A log of this class without events in memory: ``activities`` most frequent
        first, the counts of the rows set aside per reason."""
        self = cls._create(
            events=pl.DataFrame(),
            cases=cases,
            rejected=pl.DataFrame({"row": [], "reason": []}, schema={"row": pl.Int64, "reason": pl.String}),
            mapping=mapping,
            case_attributes=case_attributes,
            event_attributes=event_attributes,
            stage_order=stage_order,
            source=source,
            engine=engine,
        )
        object.__setattr__(self, "_rejected_counts", dict(rejected_counts))
        object.__setattr__(self, "_n_events", int(n_events))
        self._cache["activities"] = tuple(activities)
        return self

    def _slot_names(self) -> dict[str, str]:
        """The event attributes' names, by their internal names in the engine's events."""
        return {_event_slot(i): name for i, name in enumerate(self._event_attributes)}

    @property
    def n_rejected(self) -> int:
        return sum(self._rejected_counts.values())

    @property
    def n_events(self) -> int:
        return self._n_events

    @property
    def sources(self) -> Any:  # a pandas DataFrame
        """As :attr:`JourneyLog.sources`, with the reasons counted by the engine."""
        from ._validate import source_counts

        if "sources" not in self._cache:
            self._cache["sources"] = source_counts(
                self._source, first_row=0, rows=self.n_events + self.n_rejected, events=self.n_events,
                rejected=pl.DataFrame(), reason_counts=self._rejected_counts,
            )
        return self._cache["sources"].to_pandas()

    def __repr__(self) -> str:
        return f"<{self._where}" + super().__repr__()[1:]

    def _repr_html_(self) -> str:
        body = super()._repr_html_()
        return body.replace("<strong>JourneyLog</strong>", f"<strong>JourneyLog ({self._where})</strong>", 1)


def _all_slots(cls: type) -> list[str]:
    """Every slot of ``cls`` and its bases (a Spark log adds its own)."""
    return [name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())]
