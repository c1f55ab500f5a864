"""Readers and writers: CSV, Parquet and XES in, XES out.

Each reader parses the file with a columnar engine (polars for CSV and Parquet, a
streaming lxml parser for XES) and hands the frame to :meth:`JourneyLog.from_frame`, so
every source is validated by the same rules.
"""

from __future__ import annotations

import codecs
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ._decompress import codec_of, read_bytes, resolve_max_bytes
from ._frames import OwnedFrame
from ._log import JourneyLog
from ._output import write_atomic
from ._params import as_names, check_choice, invalid, shown_names
from ._pm4py import (
    ACTIVITY,
    CASE,
    LIFECYCLE,
    TIMESTAMP,
    lift_case_attributes,
    pm4py_frame_arguments,
    pm4py_layout,
)
from ._timestamps import _zone_ok
from ._typing import OnInvalid, PathLike, TimeLike
from ._validate import check_build_options, role_columns
from ._warnings import warn
from .errors import DataQualityWarning, FileFormatError, InvalidParameterError, SchemaError

__all__ = ["read_csv", "read_parquet", "read_xes", "write_xes"]


def _existing(path: PathLike) -> Path:
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"No such file: {str(p)!r}")
    if p.is_dir():
        raise IsADirectoryError(f"{str(p)!r} is a folder; give the path of a file.")
    if not p.is_file():
        raise FileFormatError(
            f"{str(p)!r} is not a regular file (a device, pipe or socket), which the readers "
            "cannot size or map; save the data to a file first."
        )
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
    case_attributes: str | Sequence[str] = (),
    event_attributes: str | Sequence[str] | Literal["all"] = "all",
    stage_order: str | Sequence[str] | None = None,
    sep: str = ",",
    encoding: str = "utf8",
    tz: str | None = None,
    timestamp_format: str | None = None,
    dayfirst: bool | None = None,
    valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
    duplicates: Literal["reject", "keep"] = "reject",
    on_invalid: OnInvalid = "reject",
    max_bytes: int | None = None,
) -> JourneyLog:
    """Read a CSV file (plain or compressed) of events into a :class:`JourneyLog`.

    The case, activity, timestamp and role columns are read as text, so ids such as
    ``"NA"``, ``"null"`` or ``"0001"`` stay ids; only empty fields are missing. Other
    columns get types inferred from the whole file. The remaining options are those of
    :meth:`JourneyLog.from_frame`.

    Parameters
    ----------
    path : str or os.PathLike
        The file; gzip, zlib and zstd files are recognised by their first bytes (whatever
        their name) and decompressed.
    case, activity, timestamp, resource, contact, role, channel, stage, lifecycle, value : str
        The columns playing these roles, as in :meth:`JourneyLog.from_frame`.
    sep : str
        Field separator (``";"`` for Disco exports).
    encoding : str
        The file's text encoding: ``"utf8"`` (default), ``"utf8-lossy"`` (invalid bytes
        become U+FFFD instead of failing), or any Python codec name (``"latin-1"``,
        ``"cp1252"``, ``"utf-16"``, ``"shift_jis"`` …), compressed or not. Bytes that are
        invalid in the declared encoding are a :class:`FileFormatError` naming the line
        and byte offset.
    max_bytes : int, optional
        The most text held in memory when the file is compressed or decoded from another
        encoding (a plain UTF-8 file is read by polars directly): a longer text is a
        :class:`FileFormatError` that says so, rather than a ``MemoryError`` or a machine
        out of memory. None (default): the environment variable ``JOURNEYMINE_MAX_BYTES``
        (e.g. ``8G``) if set, else a quarter of the machine's memory. See
        ``docs/security.md``.

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
    roles = role_columns(locals())
    if not isinstance(sep, str) or len(sep.encode("utf-8")) != 1 or sep in "\"\r\n":
        raise invalid("sep", "read_csv", "one single-byte character other than a quote or a line break",
                      sep)
    p = _existing(path)
    polars_encoding = _csv_encoding(encoding)
    limit = resolve_max_bytes(max_bytes, "read_csv")
    overrides = {c: pl.String for c in _text_columns(roles)}
    kwargs: dict[str, Any] = dict(
        separator=sep, encoding=polars_encoding or "utf8", schema_overrides=overrides,
        null_values=None, try_parse_dates=False,
    )
    # polars would decompress gzip, zlib and zstd itself, without a bound and taking a
    # truncated gzip file for a short one: such files are decompressed here
    text: bytes | None = None
    compressed = _codec(p)
    if compressed is not None or not polars_encoding:
        text = _decompressed(p, limit)
    source: Any = p
    if text is not None:
        utf8 = text if polars_encoding else _recode(p, encoding, text, compressed)
        del text
        _check_rows_fit(p, utf8, limit, sep)
        source = io.BytesIO(utf8)
    try:
        try:
            frame = pl.read_csv(source, infer_schema_length=10_000, **kwargs)
        except pl.exceptions.ComputeError as first:
            if "utf-8" in str(first) or "utf8" in str(first):
                raise
            if isinstance(source, io.BytesIO):
                source.seek(0)
            frame = pl.read_csv(source, infer_schema_length=None, **kwargs)
    except pl.exceptions.NoDataError as exc:
        raise FileFormatError(f"{str(p)!r} is empty: there is no header and no event.") from exc
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError) as exc:
        if "utf-8" in str(exc) or "utf8" in str(exc):
            # raises naming the line and byte offset
            _recode(p, "utf-8", source.getvalue() if isinstance(source, io.BytesIO) else p.read_bytes(),
                    compressed)
        found = _csv_diagnosis(source, sep)
        if found is None:  # polars' own words, without its advice on options read_csv has not
            found = str(exc).split("\n\n")[0]
        raise FileFormatError(f"{str(p)!r} could not be read as CSV (sep={sep!r}): {found}") from exc
    requested = [*(c for c in roles.values() if c), *as_names(case_attributes, "case_attributes", "read_csv")]
    if event_attributes != "all":
        requested += as_names(event_attributes, "event_attributes", "read_csv")
    _check_single_column(frame, p, sep, source, requested)
    return _finish(frame, str(p), roles, case_attributes=case_attributes,
                   event_attributes=event_attributes, stage_order=stage_order, tz=tz,
                   timestamp_format=timestamp_format, dayfirst=dayfirst, valid_time=valid_time,
                   duplicates=duplicates, on_invalid=on_invalid)


def _csv_encoding(encoding: Any) -> str | None:
    """polars' name for ``encoding`` when polars reads it natively, else None (the file is
    decoded by Python's codec); an unknown name is the standard parameter error."""
    if not isinstance(encoding, str):
        raise invalid("encoding", "read_csv", "'utf8', 'utf8-lossy' or a Python codec name", encoding)
    if encoding.lower().replace("_", "-") in ("utf8-lossy", "utf-8-lossy"):
        return "utf8-lossy"
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    # a text encoding: 'rot13', 'hex' or 'zlib' are codecs too, but not of bytes to text
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise invalid(
            "encoding", "read_csv",
            "one of {'utf8', 'utf8-lossy'} or a Python text codec name (e.g. 'latin-1', "
            "'cp1252', 'utf-16')", encoding,
        )
    return "utf8" if info.name == "utf-8" else None


def _codec(p: Path) -> str | None:
    """The compression of ``p`` from its first bytes (gzip, zlib or zstd), or None."""
    with open(p, "rb") as fh:
        return codec_of(fh.read(4))


def _decompressed(p: Path, limit: int) -> bytes:
    """The text of ``p``, decompressed when it is gzip, zlib or zstd, at most ``limit``
    bytes of it (else a :class:`FileFormatError` saying how to read it)."""
    buf, n = read_bytes(p, repr(str(p)), max_bytes=limit, owner="read_csv",
                           codecs=("gzip", "zlib", "zstd"))
    with memoryview(buf) as view:
        return bytes(view[:n])


#: bytes a CSV row takes while a log is built from it, besides its text: the frame's row,
#: the work columns and, for a row set aside, its line in log.rejected (measured: about 150
#: bytes for three columns); a row per column adds a little more
_ROW_BYTES, _CELL_BYTES = 48, 32


def _refuse_binary(p: Path, sample: bytes, sep: str) -> None:
    """A FileFormatError when the start of a text is binary rather than CSV: a NUL byte, or
    more than one byte in ten a control byte (tab, line breaks and the separator, which may
    be one such as Hive's \\x01, not counted)."""
    ok = {9, 10, 13, *sep.encode("utf-8")}
    controls = sum(1 for b in sample if b < 32 and b not in ok)
    if b"\x00" in sample or controls * 10 > len(sample):
        raise FileFormatError(
            f"{str(p)!r} does not look like CSV text: it starts with control bytes such as "
            f"{sample[:24]!r}. A compressed or binary file? journeymine reads gzip, zlib and zstd by "
            "their first bytes; unpack other archives (zip, bz2, xz) first."
        )


def _check_rows_fit(p: Path, text: bytes, limit: int, sep: str) -> None:
    """Refuse a text whose rows would take more memory than ``limit`` to build a log from,
    though the text itself fits: 100 MB of blank lines (a 100 kB gzip file) are 100 million
    rows, 13 GB."""
    _refuse_binary(p, text[:4096], sep)  # before polars holds it
    rows = text.count(b"\n")
    first = text.find(b"\n")
    header = text[: first if first >= 0 else min(len(text), 1 << 20)]
    columns = header.count(sep.encode("utf-8")) + 1
    need = len(text) + rows * (_ROW_BYTES + _CELL_BYTES * min(columns, 64))
    if need > 3 * limit:  # the three times the limit docs/security.md allows while parsing
        raise FileFormatError(
            f"{str(p)!r}: its {len(text):,} bytes of text hold {rows:,} lines, and building a log from "
            f"them takes about {need / 2**30:.1f} GiB, more than three times the limit of "
            f"{limit / 2**30:.1f} GiB (max_bytes=, or JOURNEYMINE_MAX_BYTES; see docs/security.md). "
            "Raise the limit if the machine has the memory (a text of mostly empty lines is no event log)."
        )


def _csv_diagnosis(source: Path | io.BytesIO, sep: str) -> str | None:
    """What makes the UTF-8 CSV ``source`` unreadable, with its line, found by reading it
    again with Python's csv module (the error path only; streamed, so memory stays flat):
    a line with more fields than the header, or a quote never closed. None if neither."""
    import csv

    if isinstance(source, io.BytesIO):
        source.seek(0)
        handle: Any = io.TextIOWrapper(source, encoding="utf-8-sig", errors="replace", newline="")
    else:
        handle = open(source, encoding="utf-8-sig", errors="replace", newline="")
    field_limit = csv.field_size_limit(sys.maxsize)  # a long quoted value is no error here
    try:
        rows = csv.reader(handle, delimiter=sep, strict=True)
        header = next(rows, None)
        if header is None:
            return None
        start = 2
        for row in rows:
            if len(row) > len(header):
                return (
                    f"the record starting on line {start:,} has {len(row):,} fields where the header has "
                    f"{len(header):,} ({shown_names(row, 6, 30)}). Quote values that hold {sep!r}, "
                    "remove the extra fields, or pass the right sep."
                )
            start = rows.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc) or "EOF" in str(exc):
            return (
                f"a quote opened in the record starting on line {start:,} is never closed, so the rest "
                "of the file reads as one value. Close or remove the stray quote (a quote inside a "
                'quoted value is written twice: "")'
            )
        return None  # stricter than polars (e.g. "x"y): polars' own words say more
    finally:
        csv.field_size_limit(field_limit)
        if isinstance(source, io.BytesIO):
            handle.detach()
        else:
            handle.close()
    return None


def _recode(p: Path, encoding: str, data: bytes, compressed: str | None) -> bytes:
    """The text ``data`` of ``p`` in ``encoding``, as UTF-8 bytes for polars; invalid bytes
    are a :class:`FileFormatError` naming the line and the byte offset."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start:exc.end][:8]
        where = "of the decompressed text, " if compressed else ""
        raise FileFormatError(
            f"{str(p)!r} is not valid {codecs.lookup(encoding).name}: byte(s) {bad!r} at byte "
            f"offset {exc.start:,} ({where}line {line:,} of the file) cannot be decoded. Pass the "
            "file's real encoding (e.g. encoding='latin-1' or 'cp1252' for Western European "
            "exports), or encoding='utf8-lossy' to replace invalid bytes with U+FFFD."
        ) from None
    del data
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.encode("utf-8")


def _header_counts(source: Path | io.BytesIO, sep: str) -> dict[str, int]:
    """How many times each name occurs in the header line of the UTF-8 CSV ``source``."""
    import csv
    from collections import Counter

    if isinstance(source, io.BytesIO):
        head = source.getvalue()[: 1 << 20]
    else:
        with open(source, "rb") as f:
            head = f.read(1 << 20)
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r")
    try:
        names = next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return {}
    return dict(Counter(names))


def _check_single_column(
    frame: pl.DataFrame, path: Path, sep: str, source: Path | io.BytesIO, requested: Sequence[str] = ()
) -> None:
    """The header as read: binary content, a name given twice, or the wrong separator."""
    first = frame.columns[0] if frame.width else ""
    _refuse_binary(path, first[:4096].encode("utf-8", "replace"), sep)
    # polars renames a repeated name "<name>_duplicated_<i>": the header line as written tells
    # (read again only when such a name is there)
    renamed = any("_duplicated_" in c for c in frame.columns)
    copies = {n: c for n, c in _header_counts(source, sep).items() if c > 1} if renamed else {}
    wanted = set(requested)
    for base, n in copies.items():
        if base in wanted:
            raise SchemaError(
                f"{str(path)!r}: the header names {base!r} {n} times, so which column holds its values "
                "is unclear. Rename the repeats where the file is written."
            )
    if copies:
        listed = ", ".join(f"{b!r} ({n} times)" for b, n in copies.items())
        warn(f"{str(path)!r}: the header repeats {listed}; the repeats are read as "
             f"'<name>_duplicated_<i>' columns.", DataQualityWarning)
    if frame.width == 1 and any(s in first for s in ";,\t|" if s != sep):
        raise SchemaError(
            f"{str(path)!r} was read as a single column {shown_names([first], 1)}: the separator "
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
    case_attributes: str | Sequence[str] = (),
    event_attributes: str | Sequence[str] | Literal["all"] = "all",
    stage_order: str | Sequence[str] | None = None,
    tz: str | None = None,
    timestamp_format: str | None = None,
    dayfirst: bool | None = None,
    valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
    duplicates: Literal["reject", "keep"] = "reject",
    on_invalid: OnInvalid = "reject",
    engine: Literal["embedded", "duckdb", "spark"] = "embedded",
    spark: Any = None,
    memory_limit: str | int | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    max_temp_directory_size: str | int | None = None,
    threads: int | None = None,
) -> JourneyLog:
    """Read a Parquet file (or a folder of them) of events into a :class:`JourneyLog`.

    Only the columns the log needs are read when ``event_attributes`` is a list. The
    options are those of :meth:`JourneyLog.from_frame`. With ``engine="duckdb"`` the file
    is validated by DuckDB and the events stay in a DuckDB database that keeps to
    ``memory_limit`` by spilling to a temporary folder, for logs bigger than memory
    (``docs/scaling.md``). With ``engine="spark"`` the file is read and validated by Spark (``spark``, a
    ``SparkSession``, or the active one) and the events stay there: see
    :meth:`JourneyLog.from_spark`.

    A folder is read as one table from its ``.parquet`` files (searched recursively),
    which must share one schema. Files that differ, a column name used twice in a file,
    or a file that is not Parquet are a :class:`SchemaError` or :class:`FileFormatError`
    naming the files and the columns, and saying how to fix them.

    Parameters
    ----------
    path : str or os.PathLike
        A Parquet file, or a folder of them.
    case, activity, timestamp, resource, contact, role, channel, stage, lifecycle, value : str
        The columns playing these roles, as in :meth:`JourneyLog.from_frame`.
    engine : {"embedded", "duckdb", "spark"}
        Read into memory (polars); with DuckDB, the events spilling to disk past
        ``memory_limit``; or with
        Spark, the events staying there.
    spark : pyspark.sql.SparkSession, optional
        The session of ``engine="spark"`` (default: the active one).
    memory_limit : str or int, optional
        ``engine="duckdb"``: the most memory DuckDB may hold (``"2GB"``, ``"512MiB"`` or
        bytes); past it, it spills to disk. Default: DuckDB's (80% of the machine's
        memory). The case table and per-account results (a few hundred bytes per account)
        are held besides.
    temp_directory : str or os.PathLike, optional
        ``engine="duckdb"``: where DuckDB's spill files go (a new folder inside it,
        removed when the log is garbage collected); default: the system's
        temporary folder.
    max_temp_directory_size : str or int, optional
        ``engine="duckdb"``: the most disk the spill files may take.
    threads : int, optional
        ``engine="duckdb"``: the threads DuckDB uses (default: one per core).

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
    >>> jm.read_parquet(path, case="id", activity="act", timestamp="ts", engine="duckdb",
    ...                 memory_limit="256MB").engine
    'duckdb'
    """
    roles = role_columns(locals())
    check_choice("engine", "read_parquet", engine, ("embedded", "duckdb", "spark"))
    # the options every engine shares, checked before the engines part ways so that each
    # gives the same error (e.g. a column listed twice in event_attributes); the names as
    # checked go on to every engine (an iterator given is read once, here)
    case_attributes, event_attributes = check_build_options(
        "read_parquet", on_invalid, duplicates, case_attributes, event_attributes, roles=roles,
        tz=tz, timestamp_format=timestamp_format, dayfirst=dayfirst, valid_time=valid_time,
    )
    p = Path(os.fspath(path))
    duck_options = dict(memory_limit=memory_limit, temp_directory=temp_directory,
                        max_temp_directory_size=max_temp_directory_size, threads=threads)
    if engine != "duckdb":
        given = [k for k, v in duck_options.items() if v is not None]
        if given:
            raise InvalidParameterError(
                f"read_parquet: {', '.join(given)} set the DuckDB engine's resources; pass "
                "engine='duckdb' with them, or leave them out."
            )
    if engine == "duckdb":
        if dayfirst is not None:
            raise InvalidParameterError(
                "read_parquet(engine='duckdb') reads text timestamps as ISO 8601 or by "
                "timestamp_format; dayfirst= is for the embedded engine. Pass "
                "timestamp_format='%d/%m/%Y %H:%M' (or the column's format) instead."
            )
        if not p.exists():
            raise FileNotFoundError(f"No such file: {str(p)!r}")
        files = _parquet_files(p)
        _explain_parquet(p, files)  # raises when the files cannot be one table
        from ._duckdb import read_parquet_duckdb

        return read_parquet_duckdb(
            files, roles, case_attributes=case_attributes, event_attributes=event_attributes,
            stage_order=stage_order, tz=tz, timestamp_format=timestamp_format, valid_time=valid_time,
            duplicates=duplicates, on_invalid=on_invalid, source=str(p), **duck_options,  # type: ignore[arg-type]
        )
    if engine == "spark":
        if dayfirst is not None:
            raise InvalidParameterError(
                "read_parquet(engine='spark') reads text timestamps as ISO 8601 or by "
                "timestamp_format; dayfirst= is for the embedded engine. Pass "
                "timestamp_format='%d/%m/%Y %H:%M' (or the column's format) instead."
            )
        return _read_parquet_spark(
            str(path), spark, roles, case_attributes=case_attributes,
            event_attributes=event_attributes, stage_order=stage_order, tz=tz,
            timestamp_format=timestamp_format, valid_time=valid_time, duplicates=duplicates,
            on_invalid=on_invalid,
        )
    if not p.exists():
        raise FileNotFoundError(f"No such file: {str(p)!r}")
    files = _parquet_files(p)
    wanted = None if event_attributes == "all" else {
        *(c for c in roles.values() if c), *case_attributes, *event_attributes
    }
    try:
        zones = _foreign_zones(files)
        if zones:  # polars cannot read these zones: pyarrow reads the instants, in UTC
            frame = _read_parquet_arrow(files, wanted)
        else:
            # glob=False: the paths are file names, never patterns ('[', '*' and '?' are
            # characters of the name)
            lazy = pl.scan_parquet(files, glob=False)
            names = lazy.collect_schema().names()
            if wanted is not None:
                lazy = lazy.select([c for c in names if c in wanted])
            frame = lazy.collect()
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as exc:
        _explain_parquet(p, files)  # raises naming the files and columns when it finds why
        raise FileFormatError(f"{str(p)!r} could not be read as Parquet: {exc}") from exc
    return _finish(frame, str(p), roles, case_attributes=case_attributes,
                   event_attributes=event_attributes, stage_order=stage_order, tz=tz,
                   timestamp_format=timestamp_format, dayfirst=dayfirst, valid_time=valid_time,
                   duplicates=duplicates, on_invalid=on_invalid)


def _parquet_files(p: Path) -> list[Path]:
    """The file ``p``, or the ``.parquet`` files under the folder ``p`` (sorted)."""
    if not p.is_dir():
        return [p]
    files = sorted(f for f in p.rglob("*.parquet") if f.is_file())
    if not files:
        raise FileFormatError(f"{str(p)!r} is a folder without any .parquet file (searched recursively).")
    return files


def _utc_type(dtype: pa.DataType) -> pa.DataType:
    """``dtype`` with each timestamp in a zone polars does not know (a fixed offset such as
    ``+05:30``, which pyarrow and pandas write for ``datetime.timezone`` values) made a
    timestamp in UTC: the same instants, since Parquet stores zoned times in UTC."""
    if pa.types.is_timestamp(dtype):
        zone = dtype.tz
        return pa.timestamp(dtype.unit, "UTC") if zone is not None and not _zone_ok(zone) else dtype
    if pa.types.is_struct(dtype):
        return pa.struct([f.with_type(_utc_type(f.type)) for f in dtype])
    if pa.types.is_map(dtype):
        return pa.map_(dtype.key_field.with_type(_utc_type(dtype.key_type)),
                       dtype.item_field.with_type(_utc_type(dtype.item_type)), dtype.keys_sorted)
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_fixed_size_list(dtype):
        inner = dtype.value_field
        field = inner.with_type(_utc_type(inner.type))
        if pa.types.is_fixed_size_list(dtype):
            return pa.list_(field, dtype.list_size)
        return pa.large_list(field) if pa.types.is_large_list(dtype) else pa.list_(field)
    return dtype


def _utc_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with the zones polars does not know made UTC (:func:`_utc_type`)."""
    return pa.schema([f.with_type(_utc_type(f.type)) for f in schema], metadata=schema.metadata)


def _foreign_zones(files: list[Path]) -> bool:
    """Whether a column of ``files`` holds timestamps in a zone polars cannot read (it
    would abort the process-level reader with a panic, not an error)."""
    for f in files:
        schema = pq.read_schema(f)
        if not _utc_schema(schema).equals(schema):
            return True
    return False


def _read_parquet_arrow(files: list[Path], wanted: set[str] | None) -> pl.DataFrame:
    """``files`` as one table read by pyarrow, only the ``wanted`` columns (None: all),
    timestamps in a zone polars does not know converted to UTC."""
    tables: list[pa.Table] = []
    for f in files:
        with pq.ParquetFile(f) as parquet:
            names = parquet.schema_arrow.names
            columns = None if wanted is None else [c for c in names if c in wanted]
            table = parquet.read(columns=columns)
        table = table.cast(_utc_schema(table.schema))
        if tables and set(table.column_names) == set(tables[0].column_names):
            table = table.select(tables[0].column_names)  # files may order the columns otherwise
        tables.append(table)
    return pl.DataFrame(pa.concat_tables(tables) if len(tables) > 1 else tables[0])


def _polars_schema(arrow: pa.Schema) -> dict[str, Any]:
    """The column types of a file's Arrow ``schema`` as polars reads them (a zone polars
    does not know is UTC); the Arrow type where polars has no equivalent."""
    schema = _utc_schema(arrow)
    try:
        return dict(pl.DataFrame(schema.empty_table()).schema)
    except (pl.exceptions.PolarsError, pa.ArrowException, TypeError, ValueError):
        return {name: str(t) for name, t in zip(schema.names, schema.types, strict=True)}


def _explain_parquet(p: Path, files: list[Path]) -> None:
    """Raise the reason polars could not read ``files`` as one table, when it is one of
    ours: a file that is not Parquet, a column name used twice, or files whose columns
    differ. Return when none of these is found."""
    schemas: dict[Path, dict[str, Any]] = {}
    unreadable: list[str] = []
    for f in files:
        try:
            arrow = pq.read_schema(f)  # read by pyarrow: a file name is never a pattern
        except (pa.ArrowException, OSError):
            unreadable.append(str(f))
            continue
        names = arrow.names
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SchemaError(
                f"{str(f)!r} has {_several('column name', twice)} more than once "
                f"(its columns: {', '.join(map(repr, names))}). Column names must be unique to "
                "be read as a table. Rename the duplicates where the file is written, or read "
                "it with pyarrow.parquet.read_table, rename_columns([...]) and pass the result "
                "to JourneyLog.from_frame."
            )
        schemas[f] = _polars_schema(arrow)
    if unreadable:
        raise FileFormatError(
            f"{str(p)!r} could not be read as Parquet: {_several('file', unreadable, 3)} "
            f"{'are' if len(unreadable) > 1 else 'is'} not Parquet (or damaged). Remove or "
            "replace them, or copy them again."
        )
    if len(schemas) < 2:
        return
    (first, schema), *others = schemas.items()
    differences = []
    for f, other in others:
        missing = [c for c in schema if c not in other]
        extra = [c for c in other if c not in schema]
        retyped = [f"has {c!r} as {other[c]} (not {schema[c]})" for c in schema
                   if c in other and other[c] != schema[c]]
        found = ([f"lacks the {_several('column', missing)}"] if missing else []) + (
            [f"has the extra {_several('column', extra)}"] if extra else []) + retyped
        if found:
            differences.append(f"{str(f)!r} {'; '.join(found)}")
    if differences:
        shown = differences[:5] + ([f"and {len(differences) - 5} more files"] if len(differences) > 5 else [])
        raise SchemaError(
            f"The Parquet files in {str(p)!r} do not share one schema, so they cannot be read as "
            f"one table. Compared with {str(first)!r}: {'; '.join(shown)}. Rewrite them with the "
            "same columns and types, or read them one by one and combine them with "
            "polars.concat([...], how='diagonal_relaxed') before JourneyLog.from_frame."
        )


def _several(what: str, names: list[str], most: int = 10) -> str:
    """``"column name 'a'"`` or ``"column names 'a', 'b'"`` (at most ``most`` named)."""
    shown = ", ".join(map(repr, names[:most]))
    if len(names) > most:
        shown += f" and {len(names) - most} more"
    return f"{what}{'s' if len(names) > 1 else ''} {shown}"


def _read_parquet_spark(path: str, spark: Any, roles: dict[str, Any], **options: Any) -> JourneyLog:
    from ._spark import _pyspark, from_spark

    _pyspark()
    from pyspark.sql import SparkSession

    session = spark if spark is not None else SparkSession.getActiveSession()
    if session is None:
        raise InvalidParameterError(
            "read_parquet(engine='spark') needs a Spark session: pass spark=<SparkSession>, or "
            "create one first (SparkSession.builder.getOrCreate())."
        )
    return from_spark(session.read.parquet(path), roles, source=path, **options)


#: XES keys read as the text written in the file, whatever their XES type: ids and names
#: (``<int key="concept:name" value="0007"/>`` is the case "0007", not 7), and the
#: timestamp, which validation parses so that a failure keeps its raw text
_XES_TEXT_KEYS = frozenset({ACTIVITY, "org:resource", "org:role", LIFECYCLE, TIMESTAMP})


def read_xes(
    path: PathLike,
    *,
    case_attributes: str | Sequence[str] = (),
    transitions: str | Sequence[str] | None = None,
    join_transition: bool = False,
    tz: str | None = None,
    timestamp_format: str | None = None,
    dayfirst: bool | None = None,
    valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
    duplicates: Literal["reject", "keep"] = "reject",
    on_invalid: OnInvalid = "reject",
    max_bytes: int | None = None,
) -> JourneyLog:
    """Read an XES event log (``.xes`` or ``.xes.gz``) into a :class:`JourneyLog`.

    As in pm4py, every event is kept and ``concept:name`` is the activity; the trace's
    ``concept:name`` is the case, ``org:resource`` the resource, ``org:role`` the
    buying-committee role and ``lifecycle:transition`` the lifecycle; event attributes
    named ``contact``, ``channel``, ``stage`` or ``value`` play those roles. Other trace
    attributes become case attributes (without the ``case:`` prefix), other event
    attributes stay on the events.

    Ids and names (``concept:name`` of traces and events, ``org:resource``, ``org:role``,
    ``lifecycle:transition``) are the text written in the file whatever their XES type:
    ``<int key="concept:name" value="0007"/>`` is the case ``"0007"``, distinct from
    ``"7"``. Timestamps are parsed by the rules of :meth:`JourneyLog.from_frame` (naive
    ones in ``tz``); a value that cannot be read is set aside as "unparsable timestamp"
    with its text.

    Parameters
    ----------
    path : str or os.PathLike
        The XES file, plain or gzip-compressed.
    case_attributes : str or sequence of str
        Event attributes to lift to the case (e.g. a segment or priority written on every
        event, as many exports do), by their XES key. A value that varies within a case
        gets a :class:`DataQualityWarning` and the case keeps its earliest one (as in
        :meth:`JourneyLog.from_frame`). Trace attributes are case attributes anyway
        (without their ``case:`` prefix); naming one here is allowed.
    transitions : str or sequence of str, optional
        Keep only events with these lifecycle transitions (case-insensitive), e.g.
        ``"complete"``. Events left out this way are a choice, not a data problem: they
        are not counted in :attr:`JourneyLog.rejected`.
    join_transition : bool
        Make the activity ``"<concept:name>+<lifecycle:transition>"`` (pm4py's
        classifier of the same name), so that start and complete stay apart.
    tz, timestamp_format, dayfirst, valid_time, duplicates, on_invalid
        As in :meth:`JourneyLog.from_frame`.
    max_bytes : int, optional
        The most text (after decompression) held in memory: a longer text, such as a
        small ``.xes.gz`` that expands to gigabytes, is a :class:`FileFormatError` that
        says how far it got, rather than a ``MemoryError``. None (default): the
        environment variable ``JOURNEYMINE_MAX_BYTES`` (e.g. ``8G``) if set, else a
        quarter of the machine's memory. See ``docs/security.md``.

    Notes
    -----
    The file is parsed without loading a DTD, expanding an external or parameter
    entity, or touching the network; an entity that would need one is a
    :class:`FileFormatError`. libxml2's default limits hold (about 10 MB for one tag,
    256 levels of nesting).

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
    limit = resolve_max_bytes(max_bytes, "read_xes")
    try:
        frame = read_xes_frame(p, text_keys=_XES_TEXT_KEYS, max_bytes=limit)
    except FileFormatError:
        raise
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
    positions = None
    if transitions is not None:
        wanted = _transitions(transitions)
        lower = [t.lower() for t in wanted]
        keep = frame.get_column(LIFECYCLE).str.to_lowercase().is_in(lower)
        positions = keep.arg_true()  # the kept events' places in the file: their ``row``
        frame = frame.filter(keep)
        if frame.height == 0:
            raise SchemaError(f"{str(p)!r}: no event has a lifecycle transition in {wanted}.")
    if join_transition:
        # an event without a name stays without one (validation sets it aside), whatever
        # its transition; one without a transition keeps its name
        frame = frame.with_columns(
            pl.when(pl.col(ACTIVITY).is_not_null())
            .then(pl.concat_str([pl.col(ACTIVITY), pl.col(LIFECYCLE)], separator="+", ignore_nulls=True))
            .alias(ACTIVITY)
        )
    frame_args, kwargs = pm4py_frame_arguments(frame)
    kwargs = lift_case_attributes(kwargs, case_attributes, "read_xes")
    # the reader's own frame: validation may release it; with transitions= it holds some of
    # the file's events, whose ``row`` is their place in the file
    owned: Any = OwnedFrame(frame_args, rows=positions)
    return JourneyLog.from_frame(
        owned, tz=tz, timestamp_format=timestamp_format, dayfirst=dayfirst,
        valid_time=valid_time, duplicates=duplicates,
        on_invalid=on_invalid, **kwargs,
    )._with_source(str(p))


def _transitions(transitions: Any) -> list[str]:
    """``transitions=`` of :func:`read_xes` as a non-empty list of names."""
    wanted = as_names(transitions, "transitions", "read_xes", what="transition names")
    if not wanted or not all(t.strip() for t in wanted):
        raise invalid("transitions", "read_xes", "a transition name or a non-empty list of names",
                      transitions)
    return wanted


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
    frame = pm4py_layout(log)
    write_atomic(path, lambda tmp: write_xes_frame(frame, tmp), owner="write_xes", inputs=log._inputs)


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

