"""The Spark engine: journey logs whose events stay in Apache Spark.

:meth:`JourneyLog.from_spark` validates a Spark DataFrame of events with Spark, by the same
rules as the embedded engine (see :mod:`journeymine._validate`), and returns a
:class:`SparkJourneyLog`. Its events stay in Spark (persisted, with integer ``code`` and
``act`` columns); its case table, one row per account, is collected to the driver. The
public functions (:func:`journey_map`, :func:`variants`, :func:`stage_durations`,
:func:`kpis`, :class:`JourneyClusterer`, :func:`subway_map`, :func:`buying_committee`) accept
it unchanged: they ask
the log's engine for the aggregations they need (:mod:`journeymine._engine`), and the
engine answers with small polars frames.

**Column names.** Spark parses a column name given as text (``F.col("a.b")`` is the field
``b`` of a struct ``a``; ``.order`` is a syntax error) and resolves it ignoring case, so an
input column ``Code`` would be ambiguous next to the engine's own ``code``. No name the
user chose is ever given to Spark as text: the input's columns are renamed by position
(``DataFrame.toDF``) to ``__in_<i>``, attributes are carried as ``__event_<i>`` and
``__case_<j>`` (:func:`_event_slot`, :func:`_case_slot`), and the user's names come back
only as aliases (:attr:`SparkJourneyLog.spark_events`, ``rejected``) or in polars (the
case table, :meth:`SparkJourneyLog.to_local`). Any column name works, as in the embedded
engine.

Differences from the embedded engine, all documented in ``docs/scaling.md``:

* **Input row numbers** are Spark's ``monotonically_increasing_id()``: unique and
  increasing in input order (partition, then position), not consecutive. Ties in time are
  broken by it, as the embedded engine breaks them by input row.
* **Quantiles** (medians and 90th percentiles of durations) are exact with
  ``quantiles="exact"`` (Spark's ``percentile``), or approximate with
  ``quantiles="approx"`` (Spark's ``percentile_approx`` with ``accuracy``: the value
  returned has a rank within ``n / accuracy`` of the exact one; and it is one of the
  values, not the midpoint of the two middle ones). Counts, sums, means, minima and maxima
  are exact either way.
* **Timestamps** are kept as integer microseconds since the epoch, UTC. Spark timestamps
  are instants; ``TIMESTAMP_NTZ`` and dates are read in ``tz`` (UTC unless given); text is
  read by Spark's ISO 8601 cast (or ``timestamp_format``, a strftime format translated to
  Spark's pattern), with an explicit offset honoured and naive text read in ``tz``.
* Outcome **predicates** (functions of the events frame) need the events in memory; on
  Spark, outcomes are lists of activities.

pyspark is imported only here, and only when a Spark log is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import polars as pl

from ._embedded import NO_ROLE, summarise_stages
from ._engine import Engine, per_case_frame
from ._log import JourneyLog, _event_slot, _EventsElsewhere
from ._mapping import ColumnMapping
from ._params import as_names, check_choice, check_int, invalid
from ._typing import OnInvalid, TimeLike
from ._validate import (
    REASONS,
    REPLACEMENT,
    _check_columns,
    check_build_options,
    report_rejected,
    report_varying,
    resolve_mapping,
    utc_bounds,
)
from ._warnings import warn
from .errors import (
    DataQualityWarning,
    EmptyLogError,
    MissingDependencyError,
    SchemaError,
)

__all__ = ["SparkEngine", "SparkJourneyLog", "from_spark"]

Quantiles = Literal["exact", "approx"]
_OFFSET_RE = r"(?:[Zz]|[+-]\d{2}:?\d{2})\s*$"
_US_PER_DAY = 86_400_000_000
#: above this many cases, per-case tables are joined to the events by a shuffle join
_BROADCAST_CASES = 2_000_000


def _input(i: int) -> str:
    """The internal name of the input's ``i``-th column (see "Column names" above)."""
    return f"__in_{i}"


def _case_slot(j: int) -> str:
    """The internal name of the ``j``-th case attribute while the case table is built."""
    return f"__case_{j}"


def _pyspark() -> Any:
    try:
        from pyspark.sql import functions as F
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "Spark logs need pyspark, an optional extra: pip install 'journeymine[spark]'."
        ) from exc
    return F


def _strftime_to_spark(fmt: str) -> tuple[str, bool]:
    """Translate a strftime format to a Spark datetime pattern; say if it has an offset."""
    table = {
        "Y": "yyyy",
        "y": "yy",
        "m": "MM",
        "d": "dd",
        "H": "HH",
        "I": "hh",
        "M": "mm",
        "S": "ss",
        "f": "SSSSSS",
        "p": "a",
        "b": "MMM",
        "B": "MMMM",
        "j": "DDD",
        "z": "Z",
        "Z": "z",
        "T": "HH:mm:ss",
        "F": "yyyy-MM-dd",
        "%": "%",
    }
    out: list[str] = []
    offset = False
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            key = fmt[i + 1]
            if key not in table:
                raise invalid(
                    "timestamp_format",
                    "JourneyLog.from_spark",
                    f"a strftime format using only %{' %'.join(sorted(table))}",
                    fmt,
                )
            offset = offset or key in "zZ"
            out.append(table[key])
            i += 2
            continue
        out.append(f"'{ch}'" if ch.isalpha() else ("''" if ch == "'" else ch))
        i += 1
    return "".join(out), offset


def _ntz_micros(F: Any, ntz: Any) -> Any:
    """Microseconds since the epoch of a TIMESTAMP_NTZ read as UTC (session zone unused)."""
    seconds = F.date_part(F.lit("SECOND"), ntz)  # decimal(8, 6), fraction included
    return (
        F.unix_date(F.to_date(ntz)).cast("long") * F.lit(_US_PER_DAY)
        + F.hour(ntz).cast("long") * F.lit(3_600_000_000)
        + F.minute(ntz).cast("long") * F.lit(60_000_000)
        + (seconds * F.lit(1_000_000)).cast("long")
    )


def _timestamp_micros(F: Any, col: Any, dtype: str, column: str, tz: str, fmt: str | None) -> Any:
    """The column as UTC microseconds (null where unparsable), by its Spark type."""

    def naive(ntz: Any) -> Any:
        return _ntz_micros(F, F.convert_timezone(F.lit(tz), F.lit("UTC"), ntz))

    if dtype == "timestamp":
        return F.unix_micros(col)
    if dtype == "timestamp_ntz":
        return naive(col)
    if dtype == "date":
        return naive(col.cast("timestamp_ntz"))
    if dtype == "string":
        if fmt is not None:
            pattern, has_offset = _strftime_to_spark(fmt)
            inst = F.try_to_timestamp(col, F.lit(pattern))
            return F.unix_micros(inst) if has_offset else naive(inst.cast("timestamp_ntz"))
        text = F.trim(col)
        return F.when(text.rlike(_OFFSET_RE), F.unix_micros(text.try_cast("timestamp"))).otherwise(
            naive(text.try_cast("timestamp_ntz"))
        )
    raise SchemaError(
        f"The timestamp column {column!r} holds values of Spark type {dtype}, which journeymine "
        "cannot read as points in time. Convert it in Spark first, for example with "
        f"F.timestamp_seconds({column!r}) for epoch seconds."
    )


#: the embedded engine's CONTROL_CHARS, in Java's regex syntax
_JAVA_CONTROL = "[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\uFFFE\\uFFFF]"


def _as_id(F: Any, col: Any, dtype: str) -> Any:
    """Ids and activities as text, as in the embedded engine: integral floats within
    ±2**63 lose '.0', NaN and blank strings are missing. (Other floats take Spark's text,
    e.g. '1.0E20' where the embedded engine writes '1e+20'.)"""
    if dtype in ("double", "float"):
        integral = (F.round(col, 0) == col) & ~F.isnan(col) & (F.abs(col) < F.lit(float(2**63)))
        text = (
            F.when(F.isnan(col), F.lit(None).cast("string"))
            .when(integral, col.cast("long").cast("string"))
            .otherwise(col.cast("string"))
        )
    else:
        text = col.cast("string")
    return F.when(F.trim(text) == "", F.lit(None).cast("string")).otherwise(text)


def _bounds_us(valid_time: tuple[object, object]) -> tuple[int, int]:
    lo, hi = utc_bounds(valid_time)
    return int(lo.value // 1000), int(hi.value // 1000)


def _collect(frame: Any) -> pl.DataFrame:
    """A (small) Spark result as a polars frame, through Arrow."""
    out = pl.from_arrow(frame.toArrow())
    if not isinstance(out, pl.DataFrame):  # pragma: no cover - toArrow gives a table
        raise TypeError("expected a table")
    return out


def _to_spark(session: Any, frame: pl.DataFrame) -> Any:
    """A polars frame (per-case, small) as a Spark DataFrame."""
    return session.createDataFrame(frame.to_arrow())


def from_spark(
    sdf: Any,
    roles: Mapping[str, Any],
    *,
    case_attributes: str | Sequence[str],
    event_attributes: str | Sequence[str] | Literal["all"],
    stage_order: str | Sequence[str] | None,
    tz: str | None,
    timestamp_format: str | None,
    valid_time: tuple[TimeLike, TimeLike],
    duplicates: Literal["reject", "keep"],
    on_invalid: OnInvalid,
    quantiles: Quantiles = "approx",
    accuracy: int = 10_000,
    source: str = "Spark DataFrame",
) -> SparkJourneyLog:
    """Validate a Spark DataFrame of events with Spark; see :meth:`JourneyLog.from_spark`
    (``roles``: its role keywords, :func:`journeymine._validate.role_columns`).

    The steps: resolve the mapping and check the options (:func:`_resolve`), give every
    input row its reason to be set aside, or none (:func:`_reasons`, :func:`_mark_repeats`),
    count and report what was set aside (:func:`_set_aside`), collect the case table
    (:func:`_case_table`), encode and persist the events (:func:`_encoded_events`), and
    build the log. The intermediate frames Spark persists are released on the way out.
    """
    F = _pyspark()
    spec = _resolve(
        sdf, roles, case_attributes=case_attributes, event_attributes=event_attributes,
        stage_order=stage_order, tz=tz, timestamp_format=timestamp_format,
        valid_time=valid_time, duplicates=duplicates, on_invalid=on_invalid,
        quantiles=quantiles, accuracy=accuracy,
    )
    persisted = _Persisted()
    try:
        work, work_full = _reasons(F, spec)
        if spec.duplicates == "reject":
            work, work_full = _mark_repeats(F, spec, work, work_full, persisted)
        work = persisted.keep(work)
        good, counts, rejected = _set_aside(F, spec, work, work_full)
        cases, activity_counts = _case_table(F, spec, good)
        events, n_events = _encoded_events(F, spec, good, cases, activity_counts)
    finally:
        persisted.release()
    return SparkJourneyLog._create_spark(
        sdf=events,
        cases=cases,
        rejected=rejected,
        rejected_counts=counts,
        n_events=n_events,
        activity_counts=activity_counts,
        mapping=spec.mapping,
        case_attributes=spec.case_attributes,
        event_attributes=spec.extra,
        stage_order=spec.stage_order,
        source=source,
        engine=SparkEngine(quantiles=quantiles, accuracy=accuracy),
    )


@dataclass(frozen=True)
class _Spec:
    """A Spark input with its options checked and its column mapping resolved."""

    sdf: Any
    mapping: ColumnMapping
    #: the internal names of the columns an event keeps beyond ``row``: the roles, then
    #: the event attributes' slots, then the case attributes' slots
    kept: list[str]
    #: the event attributes (the input's names)
    extra: list[str]
    case_attributes: list[str]
    #: each input column's position (its internal name is ``_input(position)``)
    index: dict[str, int]
    types: dict[str, str]
    stage_order: list[str] | None
    zone: str
    timestamp_format: str | None
    valid_time: tuple[TimeLike, TimeLike]
    duplicates: str
    on_invalid: str

    @property
    def event_columns(self) -> list[str]:
        """The columns an encoded event keeps (all of :attr:`kept` but case attributes)."""
        return self.kept[: len(self.kept) - len(self.case_attributes)]

    @property
    def slots(self) -> dict[str, str]:
        """The internal name of each attribute (event, then case), by its input name."""
        return {
            **{c: _event_slot(i) for i, c in enumerate(self.extra)},
            **{c: _case_slot(j) for j, c in enumerate(self.case_attributes)},
        }

    def source(self, name: str) -> Any:
        """The input column ``name``, referred to by its position (no name parsing)."""
        return _pyspark().col(_input(self.index[name]))


class _Persisted:
    """The Spark frames persisted while a log is built, released together at the end."""

    def __init__(self) -> None:
        self._frames: list[Any] = []

    def keep(self, frame: Any) -> Any:
        frame = frame.persist()
        self._frames.append(frame)
        return frame

    def release(self) -> None:
        for frame in self._frames:
            frame.unpersist()
        self._frames.clear()


def _resolve(sdf: Any, roles: Mapping[str, Any], **options: Any) -> _Spec:
    """Check the input and the options as :meth:`JourneyLog.from_frame` does, and resolve
    the column mapping against the input's columns."""
    from pyspark.sql import DataFrame as SparkFrame

    owner = "JourneyLog.from_spark"
    if not isinstance(sdf, SparkFrame):
        raise invalid("sdf", owner, "a pyspark.sql.DataFrame", type(sdf).__name__)
    case_attributes, event_attributes = check_build_options(
        owner, options["on_invalid"], options["duplicates"], options["case_attributes"],
        options["event_attributes"], roles=roles, tz=options["tz"],
        timestamp_format=options["timestamp_format"], valid_time=options["valid_time"],
    )
    check_choice("quantiles", owner, options["quantiles"], ("exact", "approx"))
    check_int("accuracy", owner, options["accuracy"], minimum=1)
    stage_order = options["stage_order"]
    if stage_order is not None:
        stage_order = as_names(stage_order, "stage_order", owner, what="stage names")
    twice = sorted({c for c in sdf.columns if sdf.columns.count(c) > 1})
    if twice:
        raise SchemaError(
            f"The Spark DataFrame has the column name(s) {', '.join(map(repr, twice))} more than "
            "once; column names must be unique to be read as a journey log. Rename or drop the "
            "duplicates first (for example after a join: df.select(left['id'].alias('left_id'), ...))."
        )
    mapping = resolve_mapping(
        sdf.columns, roles, case_attributes=case_attributes, event_attributes=event_attributes
    )
    names_only = pl.DataFrame(schema={c: pl.String for c in sdf.columns})
    extra = _check_columns(names_only, mapping, case_attributes, event_attributes)
    optional = [r for r in mapping.roles() if r not in ("case", "activity", "timestamp")]
    return _Spec(
        sdf=sdf,
        mapping=mapping,
        kept=[
            "case", "activity", "ts", *optional,
            *(_event_slot(i) for i in range(len(extra))),
            *(_case_slot(j) for j in range(len(case_attributes))),
        ],
        extra=extra,
        case_attributes=case_attributes,
        index={c: i for i, c in enumerate(sdf.columns)},
        types=dict(sdf.dtypes),
        stage_order=stage_order,
        zone=options["tz"] or "UTC",
        timestamp_format=options["timestamp_format"],
        valid_time=options["valid_time"],
        duplicates=options["duplicates"],
        on_invalid=options["on_invalid"],
    )


def _reasons(F: Any, spec: _Spec) -> tuple[Any, Any]:
    """One row per input row: the row number, the role columns, the attributes, the
    timestamp in UTC microseconds and ``__reason``, why the row is unusable (null when it
    is usable). Returned twice: without the input's own columns (what is persisted) and
    with them (``__in_<i>``, for the rejected rows, recomputed from the input when looked
    at). The input's columns are renamed by position first, so that no name of theirs is
    parsed by Spark; the attributes become their slots (:attr:`_Spec.slots`)."""
    sdf, mapping, types, source = spec.sdf, spec.mapping, spec.types, spec.source
    case, activity, timestamp = mapping.case, mapping.activity, mapping.timestamp
    positional = sdf.toDF(*[_input(i) for i in range(len(sdf.columns))])
    numbered = positional.withColumn("__row", F.monotonically_increasing_id())
    roles = mapping.roles()
    cols: list[Any] = [
        F.col("__row").alias("row"),
        _as_id(F, source(case), types[case]).alias("case"),
        _as_id(F, source(activity), types[activity]).alias("activity"),
    ]
    for role_name, col in roles.items():
        if role_name in ("case", "activity", "timestamp"):
            continue
        if role_name == "value":
            cols.append(source(col).try_cast("double").alias("value"))
        else:
            cols.append(_as_id(F, source(col), types[col]).alias(role_name))
    cols += [
        (F.regexp_replace(source(c), _JAVA_CONTROL, REPLACEMENT) if types[c] == "string"
         else source(c)).alias(slot)
        for c, slot in spec.slots.items()
    ]
    raw_ts = source(timestamp)
    missing_ts = raw_ts.isNull()
    if types[timestamp] == "string":
        missing_ts = missing_ts | (F.trim(raw_ts) == "")
    lo, hi = _bounds_us(spec.valid_time)
    ts = _timestamp_micros(F, raw_ts, types[timestamp], timestamp, spec.zone, spec.timestamp_format)
    cols += [ts.alias("ts"), missing_ts.alias("__ts_missing")]
    work = numbered.select(*cols, *positional.columns)
    control = F.lit(False)
    for role_name in roles:
        if role_name not in ("timestamp", "value"):
            control = control | F.coalesce(F.col(role_name).rlike(_JAVA_CONTROL), F.lit(False))
    reason = (
        F.when(F.col("case").isNull(), F.lit(REASONS[0]))
        .when(F.col("activity").isNull(), F.lit(REASONS[1]))
        .when(control, F.lit(REASONS[2]))
        .when(F.col("__ts_missing"), F.lit(REASONS[3]))
        .when(F.col("ts").isNull(), F.lit(REASONS[4]))
        .when((F.col("ts") < F.lit(lo)) | (F.col("ts") >= F.lit(hi)), F.lit(REASONS[5]))
    )
    work_full = work.withColumn("__reason", reason)
    # the input's own columns are kept out of the persisted frame: only the rejected rows
    # need them (and the value check its raw input)
    value_in = _value_input(spec)
    work = work_full.select(*[c for c in work_full.columns if not c.startswith("__in_") or c == value_in])
    return work, work_full


def _value_input(spec: _Spec) -> str | None:
    """The name of the raw input column of the ``value`` role in :func:`_reasons`."""
    value = spec.mapping.value
    return _input(spec.index[value]) if value is not None else None


def _mark_repeats(F: Any, spec: _Spec, work: Any, work_full: Any, persisted: _Persisted) -> tuple[Any, Any]:
    """Mark an exact repeat of an earlier valid row (same values in every kept column) as
    a duplicate event. A repeat shares its case and timestamp: only rows tied on (case, ts)
    are compared, so the wide window runs over the few tied rows instead of shuffling the
    whole input."""
    from pyspark.sql import Window

    valid = work.where(F.col("__reason").isNull())
    ties = valid.groupBy("case", "ts").agg(F.count(F.lit(1)).alias("__n")).where(F.col("__n") > 1)
    tied = valid.join(ties.select("case", "ts"), on=["case", "ts"], how="left_semi")
    first = Window.partitionBy(*spec.kept).orderBy("row")
    repeats = persisted.keep(
        tied.select("row", (F.row_number().over(first) > 1).alias("__dup")).where(F.col("__dup"))
    )

    def mark(frame: Any) -> Any:
        dup = F.coalesce(F.col("__dup"), F.lit(False))
        return (
            frame.join(repeats, on="row", how="left")
            .withColumn(
                "__reason",
                F.when(F.col("__reason").isNull() & dup, F.lit(REASONS[6])).otherwise(F.col("__reason")),
            )
            .drop("__dup")
        )

    return mark(work), mark(work_full)


def _set_aside(F: Any, spec: _Spec, work: Any, work_full: Any) -> tuple[Any, dict[str, int], Any]:
    """Count what was read and set aside (one pass), warn or raise as
    :meth:`JourneyLog.from_frame` does, and return the usable rows (``row`` and the kept
    columns), the count per reason and the rejected rows (a Spark DataFrame)."""
    sdf, mapping = spec.sdf, spec.mapping
    summary_cols = [
        F.count(F.lit(1)).alias("rows"),
        *[F.sum(F.when(F.col("__reason") == r, 1).otherwise(0)).alias(r) for r in REASONS],
        *[F.min(F.when(F.col("__reason") == r, F.col("row"))).alias(f"first {r}") for r in REASONS],
    ]
    value_in = _value_input(spec)
    if value_in is not None:
        raw_value = F.col(value_in)
        lost = raw_value.isNotNull() & F.col("value").isNull()
        if spec.types[str(mapping.value)] == "string":
            lost = lost & (F.trim(raw_value) != "")
        summary_cols.append(F.sum(F.when(lost, 1).otherwise(0)).alias("__lost_values"))
    stats = work.agg(*summary_cols).collect()[0].asDict()
    rows_read = int(stats["rows"])
    if rows_read == 0:
        raise EmptyLogError("The input has no rows: there is no event to build a journey log from.")
    if stats.get("__lost_values"):
        warn(
            f"Column {mapping.value!r} (value): {int(stats['__lost_values']):,} value(s) are not "
            "numbers and were read as missing. The events are kept. Clean the column (e.g. "
            "remove currency signs) to keep those amounts.",
            DataQualityWarning,
        )
    counts = {r: int(stats[r] or 0) for r in REASONS if stats[r]}
    n_bad = sum(counts.values())
    rejected = work_full.filter(F.col("__reason").isNotNull()).select(
        F.col("row"),
        F.col("__reason").alias("reason"),
        *[
            F.col(_input(i)).alias(f"{c}_input" if c in ("row", "reason") else c)
            for i, c in enumerate(sdf.columns)
        ],
    )
    summary = ", ".join(f"{n:,} {r}" for r, n in sorted(counts.items(), key=lambda t: (-t[1], t[0])))
    first_rows = sorted(int(stats[f"first {r}"]) for r in counts)[:5]
    if n_bad == rows_read:
        err = EmptyLogError(
            f"None of the {rows_read:,} input rows is usable ({summary}); see the rejected rows "
            "on this error's .rejected attribute (a Spark DataFrame)."
        )
        err.rejected = rejected  # type: ignore[attr-defined]
        raise err
    if n_bad:
        report_rejected(n_bad, rows_read, summary, first_rows, spec.on_invalid, rejected=rejected,
                        where="log.rejected (a Spark DataFrame)")
    good = work.filter(F.col("__reason").isNull()).select("row", *spec.kept)
    if spec.stage_order is not None and mapping.stage is not None:
        seen = [r[0] for r in good.select("stage").where(F.col("stage").isNotNull()).distinct().collect()]
        unknown = sorted(set(seen) - set(spec.stage_order))
        if unknown:
            raise SchemaError(
                f"Column {mapping.stage!r} (stage) has value(s) {unknown[:10]} that are not in "
                f"stage_order={list(spec.stage_order)!r}. Add them to stage_order in journey order."
            )
    return good, counts, rejected


def _case_table(F: Any, spec: _Spec, good: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The case table, collected (cases in order of their first input row; attributes as
    :meth:`JourneyLog.from_frame` keeps them), and the events per activity, most frequent
    first (ties by name)."""
    order_ts = F.struct(F.col("ts"), F.col("row"))
    case_aggs = [
        F.min("row").alias("__key"),
        F.count(F.lit(1)).cast("long").alias("n_events"),
        F.min("ts").alias("start"),
        F.max("ts").alias("end"),
    ]
    slots = spec.slots
    for col in spec.case_attributes:
        value = F.col(slots[col])
        case_aggs += [
            F.min_by(value, F.when(value.isNotNull(), order_ts)).alias(slots[col]),
            # more than one distinct non-null value (min/max: no distinct aggregation needed)
            F.coalesce(F.min(value) != F.max(value), F.lit(False)).alias(f"{slots[col]}_varies"),
        ]
    cases = _collect(good.groupBy("case").agg(*case_aggs)).sort("__key")
    for col in spec.case_attributes:
        varying = cases.filter(pl.col(f"{slots[col]}_varies"))
        if varying.height:
            example = repr(varying.get_column("case")[0])
            report_varying(col, varying.height, cases.height, example, spec.on_invalid)
    cases = cases.select(
        "case",
        *[pl.col(slots[col]).alias(col) for col in spec.case_attributes],
        "n_events",
        pl.col("start").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        pl.col("end").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    )
    activity_counts = _collect(good.groupBy("activity").agg(F.count(F.lit(1)).alias("len"))).sort(
        ["len", "activity"], descending=[True, False]
    )
    return cases, activity_counts


def _encoded_events(
    F: Any, spec: _Spec, good: Any, cases: pl.DataFrame, activity_counts: pl.DataFrame
) -> tuple[Any, int]:
    """The usable events with integer case codes (``code``, the case's row in ``cases``)
    and activity indices (``act``, by ``activity_counts``), persisted; and their number."""
    session = spec.sdf.sparkSession
    codes = _to_spark(
        session,
        pl.DataFrame(
            {
                "case": cases.get_column("case"),
                "code": pl.int_range(0, cases.height, eager=True, dtype=pl.Int32),
            }
        ),
    )
    if cases.height <= _BROADCAST_CASES:
        codes = F.broadcast(codes)
    act_index = F.broadcast(
        _to_spark(
            session,
            pl.DataFrame(
                {
                    "activity": activity_counts.get_column("activity"),
                    "act": pl.int_range(0, activity_counts.height, eager=True, dtype=pl.Int32),
                }
            ),
        )
    )
    event_cols = spec.event_columns
    events = (
        good.select("row", *event_cols)
        .join(codes, on="case")
        .join(act_index, on="activity")
        .select("code", "act", *event_cols, "row")
        .persist()
    )
    return events, int(events.count())


class SparkJourneyLog(_EventsElsewhere):
    """A :class:`JourneyLog` whose events stay in Spark (built by :meth:`JourneyLog.from_spark`).

    The case table (:attr:`cases`) is in memory; :attr:`spark_events` is the validated,
    persisted Spark DataFrame of events (columns ``code``, ``act``, ``case``, ``activity``,
    ``ts`` in UTC microseconds, the roles and event attributes, ``row``), and
    :attr:`rejected` a Spark DataFrame of the rows set aside with their ``reason``.
    :meth:`to_local` collects the log into an embedded :class:`JourneyLog`.
    """

    __slots__ = ("_sdf", "_spark_rejected")
    _sdf: Any
    _spark_rejected: Any
    _where = "Spark"

    @classmethod
    def _create_spark(
        cls,
        *,
        sdf: Any,
        cases: pl.DataFrame,
        rejected: Any,
        rejected_counts: dict[str, int],
        n_events: int,
        activity_counts: pl.DataFrame,
        mapping: ColumnMapping,
        case_attributes: Sequence[str],
        event_attributes: Sequence[str],
        stage_order: Sequence[str] | None,
        source: str,
        engine: Engine,
    ) -> SparkJourneyLog:
        self = cls._create_elsewhere(
            cases=cases,
            rejected_counts=rejected_counts,
            n_events=n_events,
            activities=activity_counts.get_column("activity").to_list(),
            mapping=mapping,
            case_attributes=case_attributes,
            event_attributes=event_attributes,
            stage_order=stage_order,
            source=source,
            engine=engine,
        )
        object.__setattr__(self, "_sdf", sdf)
        object.__setattr__(self, "_spark_rejected", rejected)
        return self  # type: ignore[no-any-return]

    # -- what differs from an in-memory log (what needs the events in memory raises in
    # -- JourneyLog itself, through the engine: journeymine._engine.require_embedded) ----
    @property
    def spark_events(self) -> Any:
        """The validated events as a (persisted) Spark DataFrame, the event attributes under
        their own names. (Spark parses a name given as text and ignores its case: refer to a
        name such as ``.order`` as ``F.col("`.order`")``.)"""
        F = _pyspark()
        names = self._slot_names()
        return self._sdf.select(*[F.col(c).alias(names.get(c, c)) for c in self._sdf.columns])

    @property
    def rejected(self) -> Any:
        """The rows set aside, as a Spark DataFrame: ``row``, ``reason``, the input values."""
        return self._spark_rejected

    def _subset_cases(self, keep: pl.Series) -> JourneyLog:
        F = _pyspark()
        cases = self._cases.filter(keep)
        old = pl.int_range(0, self._cases.height, eager=True, dtype=pl.Int32).filter(keep)
        remap = _to_spark(
            self._sdf.sparkSession,
            pl.DataFrame({"code": old, "__new": pl.int_range(0, old.len(), eager=True, dtype=pl.Int32)}),
        )
        if cases.height <= _BROADCAST_CASES:
            remap = F.broadcast(remap)
        sdf = self._sdf.join(remap, on="code").withColumn("code", F.col("__new")).drop("__new")
        counts = _collect(sdf.groupBy("activity").agg(F.count(F.lit(1)).alias("len"))).sort(
            ["len", "activity"], descending=[True, False]
        )
        # activity indices follow the sub-log's own frequency order
        index = F.broadcast(
            _to_spark(
                self._sdf.sparkSession,
                pl.DataFrame(
                    {
                        "activity": counts.get_column("activity"),
                        "__act": pl.int_range(0, counts.height, eager=True, dtype=pl.Int32),
                    }
                ),
            )
        )
        sdf = sdf.join(index, on="activity").withColumn("act", F.col("__act")).drop("__act")
        sdf = sdf.select(*self._sdf.columns).persist()
        return SparkJourneyLog._create_spark(
            sdf=sdf,
            cases=cases,
            rejected=self._spark_rejected.limit(0),
            rejected_counts={},
            n_events=int(cases.get_column("n_events").sum()),
            activity_counts=counts,
            mapping=self._mapping,
            case_attributes=self._case_attributes,
            event_attributes=self._event_attributes,
            stage_order=self._stage_order,
            source=self._source,
            engine=self._engine,
        )

    def to_local(self) -> JourneyLog:
        """Collect this log into an embedded (in-memory) :class:`JourneyLog`.

        The events come back in the same order (case, time, input row) with the same case
        table; only for logs that fit in the driver's memory.
        """
        frame = _collect(self._sdf.orderBy("code", "ts", "row")).drop("code", "act")
        events = frame.with_columns(
            pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("timestamp")
        )
        first = ["case", "activity", "timestamp"]
        rest = [c for c in events.columns if c not in (*first, "row", "ts")]
        events = events.select(*first, *rest, "row").rename(self._slot_names())
        return JourneyLog._create(
            events=events,
            cases=self._cases,
            rejected=self._rejected,
            mapping=self._mapping,
            case_attributes=self._case_attributes,
            event_attributes=self._event_attributes,
            stage_order=self._stage_order,
            source=self._source,
            files=self._inputs,
        )


class SparkEngine:
    """The engine primitives (:class:`journeymine._engine.Engine`) in Spark SQL, over the
    events of a :class:`SparkJourneyLog`; the frames they return have the dtypes of the
    embedded engine's."""

    name = "spark"
    events_in_memory = False

    def __init__(self, *, quantiles: Quantiles = "approx", accuracy: int = 10_000) -> None:
        self.quantiles = quantiles
        self.accuracy = accuracy

    def __repr__(self) -> str:
        return f"SparkEngine(quantiles={self.quantiles!r}, accuracy={self.accuracy!r})"

    def _q(self, col: str, q: float) -> Any:
        F = _pyspark()
        if self.quantiles == "exact":
            return F.percentile(F.col(col), F.lit(q))
        return F.percentile_approx(F.col(col), F.lit(q), F.lit(self.accuracy)).cast("double")

    @staticmethod
    def _with_cohort(frame: Any, per_case: pl.DataFrame) -> Any:
        F = _pyspark()
        small = _to_spark(frame.sparkSession, per_case)
        if per_case.height <= _BROADCAST_CASES:
            small = F.broadcast(small)
        return frame.join(small, on="code")

    @staticmethod
    def _steps(events: Any, *columns: str) -> Any:
        """Each event with the next event of its case (``tgt``, ``nts``) and the previous
        activity (``prev``)."""
        F = _pyspark()
        from pyspark.sql import Window

        order = Window.partitionBy("code").orderBy("ts", "row")
        return events.select("code", "act", "ts", "row", *columns).select(
            "*",
            F.lead("act").over(order).alias("tgt"),
            F.lead("ts").over(order).alias("nts"),
            F.lag("act").over(order).alias("prev"),
        )

    def direct_follows(
        self, log: JourneyLog, cohort: pl.Series, ranks: np.ndarray
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        F = _pyspark()
        per_case = per_case_frame(log, cohort=cohort.cast(pl.Int32))
        ev = self._with_cohort(self._steps(_events(log)), per_case).persist()
        try:
            rank = F.array(*[F.lit(int(r)) for r in ranks]) if len(ranks) else F.array(F.lit(0))
            steps = ev.where(F.col("tgt").isNotNull()).select(
                "cohort",
                "code",
                "act",
                "tgt",
                ((F.col("nts") - F.col("ts")) / F.lit(1e6)).alias("seconds"),
                (F.element_at(rank, F.col("tgt") + 1) < F.element_at(rank, F.col("act") + 1)).alias(
                    "backstep"
                ),
                (F.col("act") == F.col("tgt")).alias("self_loop"),
            )
            # no distinct aggregate next to the quantiles: Spark would then aggregate the
            # quantile sketches per (edge, case) first, which is slow; distinct counts come
            # from a second, per-case aggregation instead
            edges = _collect(
                steps.groupBy("cohort", "act", "tgt").agg(
                    F.count(F.lit(1)).alias("count"),
                    F.avg("seconds").alias("mean"),
                    self._q("seconds", 0.5).alias("median"),
                    self._q("seconds", 0.9).alias("p90"),
                    F.min("seconds").alias("min"),
                    F.max("seconds").alias("max"),
                    F.first("self_loop").alias("self_loop"),
                    F.first("backstep").alias("backstep"),
                )
            )
            edge_cases = _collect(
                steps.select("cohort", "act", "tgt", "code")
                .distinct()
                .groupBy("cohort", "act", "tgt")
                .agg(F.count(F.lit(1)).alias("cases"))
            )
            edges = edges.join(edge_cases, on=["cohort", "act", "tgt"], how="left")
            pairs = ev.groupBy("cohort", "code", "act").agg(F.count(F.lit(1)).alias("n")).persist()
            nodes = _collect(
                pairs.groupBy("cohort", "act").agg(
                    F.sum("n").alias("events"),
                    F.count(F.lit(1)).alias("cases"),
                    F.sum(F.when(F.col("n") > 1, 1).otherwise(0)).alias("rework_cases"),
                )
            )
            per_case_counts = _collect(
                pairs.groupBy("cohort", "code")
                .agg(F.max("n").alias("most"), F.sum("n").alias("n"))
                .groupBy("cohort")
                .agg(
                    F.sum(F.when(F.col("most") > 1, 1).otherwise(0)).alias("rework_cases"),
                    F.sum("n").alias("n_events"),
                )
            )
            pairs.unpersist()
            bounds = _collect(
                ev.where(F.col("prev").isNull() | F.col("tgt").isNull())
                .groupBy("cohort", "act")
                .agg(
                    F.sum(F.when(F.col("prev").isNull(), 1).otherwise(0)).alias("starts"),
                    F.sum(F.when(F.col("tgt").isNull(), 1).otherwise(0)).alias("ends"),
                )
            )
            starts = bounds.filter(pl.col("starts") > 0).select(
                "cohort", "act", pl.col("starts").alias("count")
            )
            ends = bounds.filter(pl.col("ends") > 0).select("cohort", "act", pl.col("ends").alias("count"))
            per_cohort = _collect(
                steps.groupBy("cohort", "code")
                .agg(
                    F.sum(F.col("backstep").cast("long")).alias("b"),
                    F.max(F.col("self_loop").cast("long")).alias("l"),
                )
                .groupBy("cohort")
                .agg(
                    F.sum(F.when(F.col("b") > 0, 1).otherwise(0)).alias("backstep_cases"),
                    F.sum("b").alias("backsteps"),
                    F.sum("l").alias("self_loop_cases"),
                )
            )
        finally:
            ev.unpersist()
        sizes = cohort.cast(pl.Int32).value_counts(name="n_cases")
        for extra in (per_case_counts, per_cohort):
            sizes = sizes.join(extra.with_columns(pl.col("cohort").cast(pl.Int32)), on="cohort", how="left")
        sizes = sizes.with_columns(
            pl.col(c).fill_null(0).cast(pl.Int64)
            for c in ("n_cases", "n_events", "backstep_cases", "backsteps", "rework_cases", "self_loop_cases")
        )
        edges = edges.with_columns(pl.col(c).cast(pl.UInt32) for c in ("cohort", "act", "tgt"))
        nodes, starts, ends = (
            t.with_columns(pl.col(c).cast(pl.UInt32) for c in ("cohort", "act"))
            for t in (nodes, starts, ends)
        )
        return edges, nodes, starts, ends, sizes.with_columns(pl.col("cohort").cast(pl.UInt32))

    def variant_groups(
        self, log: JourneyLog, cohort: pl.Series, seconds: pl.Series, examples: int
    ) -> pl.DataFrame:
        F = _pyspark()
        seqs = (
            _events(log).groupBy("code")
            .agg(F.sort_array(F.collect_list(F.struct("ts", "row", "act"))).alias("s"))
            .select("code", F.transform("s", lambda x: x["act"]).alias("variant"))
        )
        per_case = per_case_frame(log, cohort=cohort.cast(pl.Int32), seconds=seconds)
        grouped = (
            self._with_cohort(seqs, per_case)
            .groupBy("cohort", "variant")
            .agg(
                F.count(F.lit(1)).alias("cases"),
                F.min("code").alias("first"),
                F.slice(F.sort_array(F.collect_list("code")), 1, max(examples, 1)).alias("codes"),
                self._q("seconds", 0.5).alias("median_duration"),
                self._q("seconds", 0.9).alias("p90_duration"),
            )
        )
        out = _collect(grouped)
        return out.with_columns(pl.col("variant").cast(pl.List(pl.UInt32)), pl.col("cohort").cast(pl.UInt32))

    @classmethod
    def _gaps(cls, log: JourneyLog) -> Any:
        """Every event with the log10 gap to the next event of its case (``g``, null for
        the last), at least 1 s."""
        F = _pyspark()
        return cls._steps(_events(log)).select(
            "code",
            "ts",
            "row",
            "act",
            "tgt",
            F.when(
                F.col("nts").isNotNull(),
                F.log10(F.greatest((F.col("nts") - F.col("ts")) / F.lit(1e6), F.lit(1.0))),
            ).alias("g"),
        )

    def transition_gaps(self, log: JourneyLog) -> pl.DataFrame:
        F = _pyspark()
        stats = (
            self._gaps(log)
            .where(F.col("g").isNotNull())
            .groupBy("act", "tgt")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("g").alias("s"))
        )
        return _collect(stats).with_columns(pl.col("act", "tgt").cast(pl.Int32)).sort("act", "tgt")

    def clustering_units(
        self,
        log: JourneyLog,
        pace_edges: np.ndarray,
        coarse_edges: np.ndarray,
        n_buckets: int,
        baseline: tuple[pl.DataFrame, float] | None,
    ) -> pl.DataFrame:
        F = _pyspark()
        steps = self._gaps(log)
        if baseline is not None:
            table, default = baseline
            small = F.broadcast(_to_spark(steps.sparkSession, table))
            steps = steps.join(small, on=["act", "tgt"], how="left").withColumn(
                "g", F.col("g") - F.coalesce(F.col("base"), F.lit(float(default)))
            )
        per_case = steps.groupBy("code").agg(
            F.transform(F.sort_array(F.collect_list(F.struct("ts", "row", "act"))), lambda x: x["act"]).alias(
                "variant"
            ),
            F.percentile(F.col("g"), F.lit(0.5)).alias("m"),
            F.count("g").alias("gn"),
            F.sum("g").alias("gs"),
            F.sum(F.col("g") * F.col("g")).alias("gq"),
        )

        def above(edges: np.ndarray) -> Any:
            # numpy's searchsorted(edges, m, side="right"): how many edges are <= m
            return sum((F.when(F.col("m") >= F.lit(float(e)), 1).otherwise(0) for e in edges), F.lit(0))

        per_case = per_case.select(
            "*",
            F.when(F.col("m").isNull(), F.lit(n_buckets))
            .otherwise(above(coarse_edges))
            .cast("long")
            .alias("pace"),
            F.when(F.col("m").isNull(), F.lit(-1)).otherwise(above(pace_edges)).cast("long").alias("group"),
        )
        units = per_case.groupBy("variant", "group").agg(
            F.first("pace").alias("pace"),
            F.count(F.lit(1)).alias("n"),
            F.sort_array(F.collect_list("code")).alias("code"),
            F.sum("gn").alias("pn"),
            F.sum("gs").alias("ps"),
            F.sum("gq").alias("pq"),
        )
        out = _collect(units).with_columns(
            pl.col("variant").cast(pl.List(pl.UInt32)),
            pl.col("code").cast(pl.List(pl.Int64)),
            pl.col("pn").cast(pl.Float64),
        )
        return out.sort(pl.col("code").list.first())

    def position_stats(self, log: JourneyLog) -> dict[str, pl.DataFrame]:
        F = _pyspark()
        from pyspark.sql import Window

        has_stage = "stage" in _events(log).columns
        order = Window.partitionBy("code").orderBy("ts", "row")
        n = Window.partitionBy("code")
        ev = (
            self._steps(_events(log), *(["stage"] if has_stage else []))
            .select(
                "*",
                (F.row_number().over(order) - 1).alias("i"),
                F.count(F.lit(1)).over(n).alias("len"),
            )
            .withColumn(
                "position",
                F.when(F.col("len") > 1, (F.col("i") / (F.col("len") - 1))).otherwise(F.lit(0.0)),
            )
            .persist()
        )
        try:
            out = {
                "typical": _collect(ev.groupBy("act").agg(self._q("position", 0.5).alias("position"))),
                "weights": _collect(
                    ev.where(F.col("tgt").isNotNull() & (F.col("act") != F.col("tgt")))
                    .groupBy("act", "tgt")
                    .agg(F.count(F.lit(1)).alias("len"))
                ),
            }
            if has_stage:
                staged = ev.where(F.col("stage").isNotNull())
                out["stage_pos"] = _collect(
                    staged.groupBy("stage").agg(self._q("position", 0.5).alias("position"))
                )
                out["act_stage"] = _collect(
                    staged.groupBy("act", "stage").agg(F.count(F.lit(1)).alias("len"))
                )
        finally:
            ev.unpersist()
        for key in ("typical", "weights", "act_stage"):
            if key in out:
                out[key] = out[key].with_columns(
                    pl.col(c).cast(pl.UInt32) for c in ("act", "tgt") if c in out[key].columns
                )
        return out

    def stage_visits(
        self, log: JourneyLog, cohort: pl.Series, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        F = _pyspark()
        from pyspark.sql import Window

        has_stage = "stage" in _events(log).columns
        rank = F.element_at(F.array(*[F.lit(int(r)) for r in act_rank]), F.col("act") + 1)
        if has_stage and stage_rank:
            mapped = F.element_at(
                F.create_map(*[x for s, r in stage_rank.items() for x in (F.lit(s), F.lit(int(r)))]),
                F.col("stage"),
            )
            rank = F.coalesce(mapped, rank)
        order = Window.partitionBy("code").orderBy("ts", "row")
        per_case = per_case_frame(log, cohort=cohort.cast(pl.Int32))
        ev = _events(log).select("code", "act", "ts", "row", *(["stage"] if has_stage else [])).withColumn(
            "srank", rank
        )
        ev = ev.select(
            "code",
            "srank",
            F.coalesce((F.lead("ts").over(order) - F.col("ts")) / F.lit(1e6), F.lit(0.0)).alias("seconds"),
            F.lead("srank").over(order).alias("to"),
            F.coalesce(F.lag("srank").over(order) != F.col("srank"), F.lit(True)).alias("visit"),
        )
        ev = self._with_cohort(ev, per_case).persist()
        try:
            per = _collect(
                ev.groupBy("cohort", "code", "srank").agg(
                    F.sum("seconds").alias("seconds"),
                    F.sum(F.col("visit").cast("long")).alias("visits"),
                    F.count(F.lit(1)).alias("events"),
                )
            )
            trans = _collect(
                ev.where(F.col("to").isNotNull() & (F.col("to") != F.col("srank")))
                .groupBy("cohort", "srank", "to", "code")
                .agg(F.count(F.lit(1)).alias("n"))
                .groupBy("cohort", "srank", "to")
                .agg(F.sum("n").alias("count"), F.count(F.lit(1)).alias("cases"))
            )
        finally:
            ev.unpersist()
        per = per.with_columns(
            pl.col("cohort").cast(pl.UInt32), pl.col("code").cast(pl.UInt32), pl.col("srank").cast(pl.Int32)
        )
        trans = trans.with_columns(
            pl.col("cohort").cast(pl.UInt32), pl.col("srank").cast(pl.Int32), pl.col("to").cast(pl.Int32)
        )
        return per, trans

    def stage_summary(
        self, log: JourneyLog, cohort: pl.Series, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> pl.DataFrame:
        # the per-account rows are one per account and stage: collected, then summarised
        # as the embedded engine does
        per, _ = self.stage_visits(log, cohort, act_rank, stage_rank)
        return summarise_stages(per)

    def first_times(self, log: JourneyLog, outcomes: dict[str, list[str]]) -> pl.DataFrame:
        F = _pyspark()
        wanted = sorted({a for acts in outcomes.values() for a in acts})
        hits = (
            _events(log).where(F.col("activity").isin(wanted))
            .groupBy("code")
            .agg(
                *[
                    F.min(F.when(F.col("activity").isin(acts), F.col("ts"))).alias(name)
                    for name, acts in outcomes.items()
                ]
            )
        )
        out = _collect(hits)
        if out.height == 0:
            out = pl.DataFrame(schema={"code": pl.Int32, **{n: pl.Int64 for n in outcomes}})
        return out.with_columns(
            pl.col(n).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for n in outcomes
        ).with_columns(pl.col("code").cast(pl.Int64))

    def case_facts(
        self, log: JourneyLog, per_case: pl.DataFrame, sales: list[str], buys: list[str]
    ) -> pl.DataFrame:
        F = _pyspark()
        cols = _events(log).columns
        times = per_case.select(
            pl.col("code").cast(pl.Int32),
            pl.col("won").dt.epoch("us").alias("won"),
            pl.col("_close").dt.epoch("us").alias("close"),
        )
        ev = self._with_cohort(_events(log), times)
        before = F.col("ts") < F.col("won")
        facts = ev.groupBy("code").agg(
            F.sum(F.when(before, 1).otherwise(0)).alias("touches_before"),
            (
                F.count_distinct(F.when(before, F.col("contact")))
                if "contact" in cols
                else F.lit(None).cast("long")
            ).alias("contacts_before"),
            F.min(F.when(F.col("activity").isin(sales) & (F.col("ts") <= F.col("close")), F.col("ts"))).alias(
                "_sales"
            ),
            F.sum(F.when(F.col("activity").isin(buys), 1).otherwise(0)).alias("purchases"),
            (F.coalesce(F.sum("value"), F.lit(0.0)) if "value" in cols else F.lit(None).cast("double")).alias(
                "revenue"
            ),
            F.count(F.lit(1)).alias("events"),
        )
        out = _collect(facts)
        return out.with_columns(
            pl.col("code").cast(pl.Int64),
            pl.col("_sales").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        )

    def _srank(self, log: JourneyLog, act_rank: np.ndarray, stage_rank: dict[str, int]) -> Any:
        """Each event's stage rank: its stage column's rank where set, else its activity's."""
        F = _pyspark()
        rank = F.element_at(F.array(*[F.lit(int(r)) for r in act_rank]), F.col("act") + 1)
        if "stage" in _events(log).columns and stage_rank:
            mapped = F.element_at(
                F.create_map(*[x for s, r in stage_rank.items() for x in (F.lit(s), F.lit(int(r)))]),
                F.col("stage"),
            )
            rank = F.coalesce(mapped, rank)
        return rank

    def committee_touches(
        self, log: JourneyLog, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> pl.DataFrame:
        F = _pyspark()
        ev = _events(log)
        role = F.col("role").cast("string") if "role" in ev.columns else F.lit(None).cast("string")
        touches = (
            ev.select(
                "code",
                "ts",
                F.col("contact").cast("string").alias("contact"),
                role.alias("role"),
                self._srank(log, act_rank, stage_rank).alias("srank"),
            )
            .groupBy("code", "contact", "role", "srank")
            .agg(F.min("ts").alias("first"), F.count(F.lit(1)).alias("touches"))
        )
        out = _collect(touches)
        if out.height == 0:
            out = pl.DataFrame(
                schema={"code": pl.Int32, "contact": pl.String, "role": pl.String, "srank": pl.Int32,
                        "first": pl.Int64, "touches": pl.Int64}
            )
        return out.with_columns(
            pl.col("code").cast(pl.Int64),
            pl.col("contact").cast(pl.String),
            pl.col("role").cast(pl.String),
            pl.col("srank").cast(pl.Int32),
            pl.col("first").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            pl.col("touches").cast(pl.Int64),
        )

    def committee_handovers(self, log: JourneyLog, cohort: pl.Series) -> pl.DataFrame:
        F = _pyspark()
        from pyspark.sql import Window

        schema = {"cohort": pl.UInt32, "source": pl.String, "target": pl.String,
                  "count": pl.Int64, "accounts": pl.Int64, "median": pl.Float64}
        ev = _events(log)
        if "role" not in ev.columns:
            return pl.DataFrame(schema=schema)
        order = Window.partitionBy("code").orderBy("ts", "row")
        steps = (
            ev.where(F.col("contact").isNotNull())
            .select(
                "code",
                "ts",
                "row",
                F.col("contact").cast("string").alias("contact"),
                F.coalesce(F.col("role").cast("string"), F.lit(NO_ROLE)).alias("source"),
            )
            .select(
                "code",
                "source",
                "contact",
                F.lead("contact").over(order).alias("next_contact"),
                F.lead("source").over(order).alias("target"),
                ((F.lead("ts").over(order) - F.col("ts")) / F.lit(1e6)).alias("gap"),
            )
            .where(F.col("next_contact").isNotNull() & (F.col("next_contact") != F.col("contact")))
        )
        steps = self._with_cohort(steps, per_case_frame(log, cohort=cohort.cast(pl.Int32))).persist()
        key = ["cohort", "source", "target"]
        try:
            # no distinct count next to the quantile (see direct_follows): accounts come from
            # a second aggregation
            out = _collect(
                steps.groupBy(*key).agg(F.count(F.lit(1)).alias("count"), self._q("gap", 0.5).alias("median"))
            )
            accounts = _collect(
                steps.select(*key, "code").distinct().groupBy(*key).agg(F.count(F.lit(1)).alias("accounts"))
            )
        finally:
            steps.unpersist()
        if out.height == 0:
            return pl.DataFrame(schema=schema)
        out = out.join(accounts, on=key, how="left").select(*schema)
        return out.cast(schema).sort(*key)  # type: ignore[arg-type]

    def case_items(self, log: JourneyLog) -> tuple[pl.DataFrame, pl.DataFrame]:
        F = _pyspark()
        pairs = _collect(_events(log).select("code", "act").distinct())
        steps = _collect(
            self._steps(_events(log)).where(F.col("tgt").isNotNull()).select("code", "act", "tgt").distinct()
        )
        return pairs, steps


def _events(log: JourneyLog) -> Any:
    """The Spark events of a log the Spark engine computes over (a :class:`SparkJourneyLog`),
    with the event attributes under their internal names (so no user's name can clash with
    the engine's columns)."""
    return cast(SparkJourneyLog, log)._sdf
