"""Readers and writers: CSV, Parquet and XES in, XES out.

Each reader parses the file with a columnar engine (polars for CSV and Parquet, a
streaming lxml parser for XES) and hands the frame to :meth:`JourneyLog.from_frame`, so
every source is validated by the same rules.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ._frames import OwnedFrame
from ._log import JourneyLog
from ._params import check_choice, invalid
from ._pm4py import ACTIVITY, CASE, LIFECYCLE, TIMESTAMP, pm4py_frame_arguments, pm4py_layout
from ._typing import OnInvalid, PathLike, TimeLike
from .errors import FileFormatError, InvalidParameterError, SchemaError

__all__ = ["read_csv", "read_parquet", "read_xes", "write_xes"]


def _existing(path: PathLike) -> Path:
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"No such file: {str(p)!r}")
    if p.is_dir():
        raise IsADirectoryError(f"{str(p)!r} is a folder; give the path of a file.")
    return p


def _text_columns(roles: dict[str, str | None]) -> list[str]:
    """Columns to read as text: ids, names and timestamps (never numbers or NaN)."""
    return [col for role, col in roles.items() if col and role != "value"]


def read_csv(
    path: PathLike,
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
    case_attributes: Sequence[str] = (),
    event_attributes: Sequence[str] | Literal["all"] = "all",
    stage_order: Sequence[str] | None = None,
    sep: str = ",",
    encoding: Literal["utf8", "utf8-lossy"] = "utf8",
    tz: str | None = None,
    timestamp_format: str | None = None,
    valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
    duplicates: Literal["reject", "keep"] = "reject",
    on_invalid: OnInvalid = "reject",
) -> JourneyLog:
    """Read a CSV file (plain or gzip-compressed) of events into a :class:`JourneyLog`.

    The case, activity, timestamp and role columns are read as text, so ids such as
    ``"NA"``, ``"null"`` or ``"0001"`` stay ids; only empty fields are missing. Other
    columns get types inferred from the whole file. The remaining options are those of
    :meth:`JourneyLog.from_frame`.

    Parameters
    ----------
    path : str or os.PathLike
        The file; ``.gz`` files are decompressed.
    sep : str
        Field separator (``";"`` for Disco exports).
    encoding : {"utf8", "utf8-lossy"}
        ``"utf8-lossy"`` replaces invalid bytes instead of failing.

    Returns
    -------
    JourneyLog

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import journeymine as jm
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> _ = path.write_text("account,touchpoint,at\\nNA,Webinar,2024-01-02\\nNA,Demo,2024-01-09\\n")
    >>> jm.read_csv(path, case="account", activity="touchpoint", timestamp="at").cases["case"].tolist()
    ['NA']
    """
    p = _existing(path)
    roles = dict(case=case, activity=activity, timestamp=timestamp, resource=resource,
                 contact=contact, role=role, channel=channel, stage=stage,
                 lifecycle=lifecycle, value=value)
    overrides = {c: pl.String for c in _text_columns(roles)}
    kwargs: dict[str, Any] = dict(
        separator=sep, encoding=encoding, schema_overrides=overrides, null_values=None,
        try_parse_dates=False,
    )
    try:
        try:
            frame = pl.read_csv(p, infer_schema_length=10_000, **kwargs)
        except pl.exceptions.ComputeError:
            frame = pl.read_csv(p, infer_schema_length=None, **kwargs)
    except pl.exceptions.NoDataError as exc:
        raise FileFormatError(f"{str(p)!r} is empty: there is no header and no event.") from exc
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError) as exc:
        raise FileFormatError(f"{str(p)!r} could not be read as CSV (sep={sep!r}): {exc}") from exc
    _check_single_column(frame, p, sep)
    return _finish(frame, str(p), roles, case_attributes=case_attributes,
                   event_attributes=event_attributes, stage_order=stage_order, tz=tz,
                   timestamp_format=timestamp_format, valid_time=valid_time,
                   duplicates=duplicates, on_invalid=on_invalid)


def _check_single_column(frame: pl.DataFrame, path: Path, sep: str) -> None:
    if frame.width == 1 and any(s in frame.columns[0] for s in ";,\t|" if s != sep):
        raise SchemaError(
            f"{str(path)!r} was read as a single column {frame.columns[0]!r}: the separator "
            f"is probably not {sep!r}. Pass sep=';' (or the right one)."
        )


def read_parquet(
    path: PathLike,
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
    case_attributes: Sequence[str] = (),
    event_attributes: Sequence[str] | Literal["all"] = "all",
    stage_order: Sequence[str] | None = None,
    tz: str | None = None,
    timestamp_format: str | None = None,
    valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
    duplicates: Literal["reject", "keep"] = "reject",
    on_invalid: OnInvalid = "reject",
    engine: Literal["embedded", "spark"] = "embedded",
    spark: Any = None,
) -> JourneyLog:
    """Read a Parquet file (or a folder of them) of events into a :class:`JourneyLog`.

    Only the columns the log needs are read when ``event_attributes`` is a list. The
    options are those of :meth:`JourneyLog.from_frame`. With ``engine="spark"`` the file
    is read and validated by Spark (``spark``, a ``SparkSession``, or the active one) and
    the events stay there: see :meth:`JourneyLog.from_spark`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import polars as pl
    >>> import journeymine as jm
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
    >>> pl.DataFrame({"id": [1, 1], "act": ["a", "b"],
    ...               "ts": ["2024-01-01", "2024-01-02"]}).write_parquet(path)
    >>> jm.read_parquet(path, case="id", activity="act", timestamp="ts").n_events
    2
    """
    check_choice("engine", "read_parquet", engine, ("embedded", "spark"))
    p = Path(os.fspath(path))
    if engine == "spark":
        return _read_parquet_spark(
            str(path), spark, case=case, activity=activity, timestamp=timestamp,
            resource=resource, contact=contact, role=role, channel=channel, stage=stage,
            lifecycle=lifecycle, value=value, case_attributes=case_attributes,
            event_attributes=event_attributes, stage_order=stage_order, tz=tz,
            timestamp_format=timestamp_format, valid_time=valid_time, duplicates=duplicates,
            on_invalid=on_invalid,
        )
    if not p.exists():
        raise FileNotFoundError(f"No such file: {str(p)!r}")
    roles = dict(case=case, activity=activity, timestamp=timestamp, resource=resource,
                 contact=contact, role=role, channel=channel, stage=stage,
                 lifecycle=lifecycle, value=value)
    source: Any = str(p / "**" / "*.parquet") if p.is_dir() else p
    try:
        lazy = pl.scan_parquet(source)
        names = lazy.collect_schema().names()
        if event_attributes != "all":
            wanted = [c for c in roles.values() if c] + list(case_attributes) + list(event_attributes)
            lazy = lazy.select([c for c in names if c in set(wanted)])
        frame = lazy.collect()
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise FileFormatError(f"{str(p)!r} could not be read as Parquet: {exc}") from exc
    return _finish(frame, str(p), roles, case_attributes=case_attributes,
                   event_attributes=event_attributes, stage_order=stage_order, tz=tz,
                   timestamp_format=timestamp_format, valid_time=valid_time,
                   duplicates=duplicates, on_invalid=on_invalid)


def _read_parquet_spark(path: str, spark: Any, **options: Any) -> JourneyLog:
    from ._spark import _pyspark, from_spark

    _pyspark()
    from pyspark.sql import SparkSession

    session = spark if spark is not None else SparkSession.getActiveSession()
    if session is None:
        raise InvalidParameterError(
            "read_parquet(engine='spark') needs a Spark session: pass spark=<SparkSession>, or "
            "create one first (SparkSession.builder.getOrCreate())."
        )
    return from_spark(session.read.parquet(path), source=path, **options)


def read_xes(
    path: PathLike,
    *,
    transitions: str | Sequence[str] | None = None,
    join_transition: bool = False,
    tz: str | None = None,
    valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
    duplicates: Literal["reject", "keep"] = "reject",
    on_invalid: OnInvalid = "reject",
) -> JourneyLog:
    """Read an XES event log (``.xes`` or ``.xes.gz``) into a :class:`JourneyLog`.

    As in pm4py, every event is kept and ``concept:name`` is the activity; the trace's
    ``concept:name`` is the case, ``org:resource`` the resource, ``org:role`` the
    buying-committee role and ``lifecycle:transition`` the lifecycle; event attributes
    named ``contact``, ``channel``, ``stage`` or ``value`` play those roles. Other trace
    attributes become case attributes (without the ``case:`` prefix), other event
    attributes stay on the events.

    Parameters
    ----------
    path : str or os.PathLike
        The XES file, plain or gzip-compressed.
    transitions : str or sequence of str, optional
        Keep only events with these lifecycle transitions (case-insensitive), e.g.
        ``"complete"``. Events left out this way are a choice, not a data problem: they
        are not counted in :attr:`JourneyLog.rejected`.
    join_transition : bool
        Make the activity ``"<concept:name>+<lifecycle:transition>"`` (pm4py's
        classifier of the same name), so that start and complete stay apart.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=5, random_state=0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.xes.gz"
    >>> jm.write_xes(log, path)
    >>> jm.read_xes(path).n_events == log.n_events
    True
    """
    from ._xes import read_xes_frame

    p = _existing(path)
    try:
        frame = read_xes_frame(p)
    except ValueError as exc:
        raise FileFormatError(str(exc)) from exc
    if frame.height == 0:
        from .errors import EmptyLogError

        raise EmptyLogError(f"{str(p)!r} holds no event.")
    for col in (CASE, ACTIVITY, TIMESTAMP):
        if col not in frame.columns:
            raise SchemaError(
                f"{str(p)!r}: no {col!r} attribute found, so cases, activities or times "
                "are unknown. journeymine needs traces named by concept:name and events with "
                "concept:name and time:timestamp."
            )
    if transitions is not None or join_transition:
        if LIFECYCLE not in frame.columns:
            raise SchemaError(
                f"{str(p)!r} has no {LIFECYCLE!r} attribute; transitions= and "
                "join_transition= need it."
            )
    if transitions is not None:
        wanted = [transitions] if isinstance(transitions, str) else list(transitions)
        if not wanted:
            raise invalid("transitions", "read_xes", "a transition name or a non-empty list", transitions)
        lower = [t.lower() for t in wanted]
        frame = frame.filter(pl.col(LIFECYCLE).str.to_lowercase().is_in(lower))
        if frame.height == 0:
            raise SchemaError(f"{str(p)!r}: no event has a lifecycle transition in {wanted}.")
    if join_transition:
        frame = frame.with_columns(
            pl.concat_str([pl.col(ACTIVITY), pl.col(LIFECYCLE)], separator="+", ignore_nulls=True)
            .alias(ACTIVITY)
        )
    frame_args, kwargs = pm4py_frame_arguments(frame)
    return JourneyLog.from_frame(
        frame_args, tz=tz, valid_time=valid_time, duplicates=duplicates,
        on_invalid=on_invalid, **kwargs,
    )._with_source(str(p))


def write_xes(log: JourneyLog, path: PathLike) -> None:
    """Write a log as XES (gzip-compressed when the path ends with ``.gz``).

    Case attributes become trace attributes, the mapped roles their standard XES keys
    (``org:resource``, ``org:role``, ``lifecycle:transition``) or their role names,
    other event attributes keep their names. pm4py reads the file back to the same events.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import journeymine as jm
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.xes"
    >>> jm.write_xes(jm.datasets.demo_b2b(n_accounts=3, random_state=0), path)
    >>> path.read_text()[:5]
    '<?xml'
    """
    from ._engine import require_embedded
    from ._xes import write_xes_frame

    if not isinstance(log, JourneyLog):
        raise invalid("log", "write_xes", "a JourneyLog", type(log).__name__)
    require_embedded(log, "write_xes")
    write_xes_frame(pm4py_layout(log), Path(os.fspath(path)))


def _finish(
    frame: pl.DataFrame,
    source: str,
    roles: dict[str, str | None],
    **options: Any,
) -> JourneyLog:
    mapped: dict[str, Any] = {k: v for k, v in roles.items() if v is not None}
    # handed over: validation releases the input's columns as it builds the sorted ones
    owned: Any = OwnedFrame(frame)
    return JourneyLog.from_frame(owned, **mapped, **options)._with_source(source)

