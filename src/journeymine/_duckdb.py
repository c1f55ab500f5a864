"""The DuckDB engine: journey logs whose events stay on disk, for logs bigger than memory.

``jm.read_parquet(path, engine="duckdb")`` validates the file with DuckDB, in its own
database (in memory up to ``memory_limit``, spilling to a temporary folder past it), by
the same rules as the embedded engine
(:mod:`journeymine._validate`), and returns a :class:`DuckDBJourneyLog`. Its events stay in
that database (one table, integer columns: case ``code``, activity ``act``, ``ts`` in UTC
microseconds, input ``row``, and what one window pass over each journey gives once for
all: the next activity ``tgt``, the ``gap`` to the next event and the position ``i``);
its case table, one row per account, is in memory. The public functions that run on the
Spark engine run here unchanged: they ask the log's engine for the aggregations they need
(:mod:`journeymine._engine`), and the engine answers with small polars frames computed by
DuckDB, which spills to disk when its memory limit is reached.

**Memory.** ``memory_limit`` caps what DuckDB holds (its buffer pool: tables, hash tables,
sorts); beyond it DuckDB writes to ``temp_directory`` (at most
``max_temp_directory_size``). Exact quantiles and lists, whose states DuckDB cannot
spill, run in slices of their groups sized from the limit (:meth:`_Database.slices`). The
case table and the per-account results are extra, on the Python side: about 0.05 GB per
million events (some 350 bytes per account) in ``benchmarks/bench_outofcore.py``, which
measures the peak resident memory of the whole process.

**Column names.** The input's columns are read by position (``#1``, ``#2`` ...) and
renamed ``__in_<i>``; attributes are stored as ``__event_<i>`` and ``__case_<j>``. No name
the user chose is ever parsed as SQL, and paths, zones and formats are passed as quoted
literals (``'`` doubled). Any column name works.

Differences from the embedded engine, all documented in ``docs/scaling.md``:

* **Text timestamps** are read by DuckDB's ISO 8601 casts (a trailing ``Z`` or offset is
  honoured, naive text is read in ``tz``), or by ``timestamp_format`` (a strftime format,
  DuckDB's ``strptime``); the embedded engine's other formats (``01/02/2024``) and
  ``dayfirst=`` are not guessed: such rows are set aside as unparsable, with the count.
* **Sums of floats** (log10 gaps for clustering, revenue) are exact sums of the values in
  fixed point (multiples of 2**-40, :func:`_fixed_sum`), so that they do not depend on the
  order in which DuckDB's threads combine partial sums (they differ from polars' float sums
  by about 1e-13); durations, their means and stage times come from exact integer sums of
  microseconds.
  Quantiles are exact. The same input gives the same bytes on any run.
* **log.duckdb_events** is a DuckDB relation (lazy), not a frame.

duckdb is imported only here, and only when such a log is built.
"""

from __future__ import annotations

import contextlib
import datetime
import glob
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import polars as pl

from ._embedded import NO_ROLE
from ._engine import per_case_frame
from ._log import JourneyLog, _event_slot, _EventsElsewhere
from ._mapping import ColumnMapping
from ._params import as_names, invalid, shown_names
from ._timestamps import _zone_ok
from ._typing import OnInvalid, TimeLike
from ._validate import (
    REASONS,
    REPLACEMENT,
    _check_columns,
    check_build_options,
    duration_id_error,
    report_rejected,
    report_varying,
    resolve_mapping,
    utc_bounds,
    value_dtype_error,
    warn_replaced,
)
from ._warnings import warn
from .errors import (
    DataQualityWarning,
    EmptyLogError,
    FileFormatError,
    InvalidParameterError,
    MissingDependencyError,
    SchemaError,
)

__all__ = ["DuckDBEngine", "DuckDBJourneyLog", "read_parquet_duckdb"]

#: bytes a holistic aggregate state (an exact quantile, a list) holds per value, with room
#: to spare (DuckDB's quantile keeps each 8-byte value in a vector per group, which grows by
#: doubling; at 20 bytes and half the limit, 100M events ran out of memory)
_HELD = 40
#: the embedded engine's CONTROL_CHARS, in RE2's syntax
_CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
#: white space, as the embedded engine strips it (RE2's \s lacks \v and NEL; \p{Z} is Unicode's)
_SPACE = r"[\s\x0B\p{Z}\x{85}]"
_BLANK = rf"^{_SPACE}*$"
#: text timestamps the DuckDB engine reads (after trimming white space, tabs included): a
#: date (- or / between its parts), or a date and a time of day (hours 0-23; DuckDB's cast
#: would read 24:00 as the next day); anything else is unparsable (DuckDB's cast to
#: TIMESTAMP ignores words after the time: "10:00 PM" and "10:00 foo" would read as 10:00)
_ISO_DATE = r"\d{4}[-/]\d{1,2}[-/]\d{1,2}"
_ISO_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
_NAIVE_TEXT = rf"^{_ISO_DATE}(?:(?:T|\s+){_ISO_TIME})?$"
#: ... and a time followed by a zone: Z, an offset (+05, +0530, +05:30) or a word (UTC,
#: EST, GMT+2, Zulu, an IANA name such as Etc/GMT+2). Such text is cast to TIMESTAMPTZ,
#: which reads the zone or gives null for a word that is none ("PM", "foo", "BC")
_OFFSET = (
    rf"^{_ISO_DATE}(?:T|\s+){_ISO_TIME}\s*"
    # offsets as the embedded engine reads them: hours below 24, minutes below 60
    r"(?:[Zz]|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?|[A-Za-z][A-Za-z0-9_/+-]*)$"
)
#: white space at either end (DuckDB's trim() keeps tabs and newlines)
_ENDS = rf"^{_SPACE}+|{_SPACE}+$"
_NAIVE_TYPES = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE")
_NOT_TEXT = re.compile(r"^(BLOB|STRUCT|MAP|UNION)|\[\d*\]$")
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "engine='duckdb' needs duckdb, an optional extra: pip install 'journeymine[sql]'."
        ) from exc
    return duckdb


def _lit(text: str) -> str:
    """A SQL string literal (quotes doubled; DuckDB reads no backslash escapes in it)."""
    return "'" + text.replace("'", "''") + "'"


def _input(i: int) -> str:
    return f"__in_{i}"


def _case_slot(j: int) -> str:
    return f"__case_{j}"


def _q(name: str) -> str:
    """A quoted identifier (for the engine's own names and the user's, as aliases only)."""
    return '"' + name.replace('"', '""') + '"'


def _size(value: str | int | None, name: str) -> str | None:
    """A memory size for DuckDB ("2GB", "512MiB", or bytes as an int)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(name, "read_parquet", "a size such as '2GB' or a number of bytes", value)
    if isinstance(value, int):
        if value < 64 * 2**20:
            raise invalid(name, "read_parquet", "at least 64 MiB", value)
        return f"{value}B"
    if not _SIZE.match(value):
        raise invalid(name, "read_parquet", "a size such as '2GB', '512MiB' or a number of bytes", value)
    if _bytes(value) < 64 * 2**20:
        raise invalid(name, "read_parquet", "at least 64 MiB", value)
    return value.strip()


def _folder(value: str | os.PathLike[str] | None) -> str | None:
    """``temp_directory`` checked: a path to a folder that exists or can be made, as text."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise invalid("temp_directory", "read_parquet", "a path to a folder (str or os.PathLike)", value)
    path = os.fspath(value)
    if not isinstance(path, str):
        raise invalid("temp_directory", "read_parquet", "a path given as text, not bytes", value)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise InvalidParameterError(
            f"read_parquet: temp_directory={path!r} is not a folder that can be used for DuckDB's "
            f"spill files ({exc.strerror or exc}). Pass a writable folder, or None for the system's "
            "temporary folder."
        ) from exc
    return path


def _bytes(text: str) -> int:
    """A size as DuckDB writes it ("1.3 GiB", "512MB", "100 bytes") in bytes."""
    found = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$", text)
    if found is None:
        raise ValueError(f"not a size: {text!r}")
    scale = {"": 1, "b": 1, "bytes": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
             "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}[found.group(2).lower()]
    return int(float(found.group(1)) * scale)


class _Database:
    """One DuckDB database spilling to its own temporary folder, with the settings the user
    chose; closed and removed when the last log that uses it is garbage collected (or at
    exit). Queries run one at a time (a lock): a DuckDB connection is not shared across
    threads."""

    def __init__(
        self,
        *,
        memory_limit: str | None,
        temp_directory: str | None,
        max_temp_directory_size: str | None,
        threads: int | None,
    ) -> None:
        duckdb = _duckdb()
        try:
            self.folder = tempfile.mkdtemp(prefix="journeymine-duckdb-", dir=temp_directory)
        except OSError as exc:
            raise InvalidParameterError(
                f"read_parquet: cannot make DuckDB's spill folder in "
                f"{temp_directory or tempfile.gettempdir()!r} ({exc.strerror or exc}). Pass a writable "
                "temp_directory."
            ) from exc
        config: dict[str, Any] = {
            "temp_directory": os.path.join(self.folder, "spill"),
            "preserve_insertion_order": False,
            # memory DuckDB frees goes back to the system at once (its allocator's background
            # threads), not kept as the process's for seconds: what polars and numpy allocate
            # between queries comes on top of what DuckDB holds now, not of its past peak
            # (a 13M-account case table: peak 1.1 -> 0.8 GB above the start, 1.1 -> 0.4 GB kept)
            "allocator_background_threads": True,
        }
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        if max_temp_directory_size is not None:
            config["max_temp_directory_size"] = max_temp_directory_size
        if threads is not None:
            config["threads"] = threads
        try:
            # an in-memory database: its tables spill to temp_directory past memory_limit
            # (a database file would compress and checkpoint every table: 3-6x slower to build)
            self.con = duckdb.connect(":memory:", config=config)
            # timestamps with a zone are instants: shown and cast in UTC, whatever the machine
            self.con.execute("SET TimeZone = 'UTC'")
        except duckdb.Error as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise InvalidParameterError(f"DuckDB refused the engine's settings {config!r}: {exc}") from exc
        self.lock = threading.RLock()
        self._names = 0
        #: tables of logs that are gone, dropped before the next query (never from inside
        #: the garbage collector, which may run in the middle of a query)
        self._forgotten: list[str] = []
        self._finalizer = weakref.finalize(self, _close, self.con, self.folder)

    def name(self, prefix: str) -> str:
        """A fresh table name."""
        with self.lock:
            self._names += 1
            return f"{prefix}_{self._names}"

    def forget(self, tables: list[str], cache: dict[str, Any]) -> None:
        """Queue the tables of a log that is gone (its events, its rejected rows, and what
        its ``cache`` names) to be dropped."""
        self._forgotten += tables + [str(v) for k, v in cache.items() if str(k).startswith("duckdb_table:")]
        if "duckdb_names" in cache:
            self._forgotten += [f"{tables[0]}_names_cases", f"{tables[0]}_names_acts"]

    def _drop_forgotten(self) -> None:
        while self._forgotten:
            self.con.execute(f"DROP TABLE IF EXISTS {self._forgotten.pop()}")

    def run(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.lock, self._limits():
            self._drop_forgotten()
            self.con.execute(sql, params or [])

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """A result as a polars frame, through Arrow in DuckDB's own batches (not copied into
        one: a per-account result of 13M rows peaked at 0.7 GB instead of 1.1 GB)."""
        with self.lock, self._limits():
            self._drop_forgotten()
            out = self.con.sql(sql, params=list(params) if params else None).pl()
        if not isinstance(out, pl.DataFrame):  # pragma: no cover - a table gives a frame
            raise TypeError("expected a table")
        return out

    @contextlib.contextmanager
    def _limits(self) -> Iterator[None]:
        """DuckDB's out-of-memory error (past ``memory_limit``, or past
        ``max_temp_directory_size`` on disk) as a :class:`MemoryError` that says which
        setting to raise."""
        duckdb = _duckdb()
        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            settings = dict(self.con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('memory_limit', 'max_temp_directory_size', 'threads')"
            ).fetchall())
            raise MemoryError(
                f"DuckDB ran out of room (memory_limit={settings.get('memory_limit')!r}, "
                f"max_temp_directory_size={settings.get('max_temp_directory_size')!r}, "
                f"threads={settings.get('threads')}): {str(exc).splitlines()[0]} Pass a larger "
                "memory_limit (or max_temp_directory_size when the disk budget ran out), or fewer "
                "threads, to read_parquet(engine='duckdb', ...)."
            ) from exc

    @property
    def limit_bytes(self) -> int:
        """DuckDB's memory limit in bytes (as DuckDB reports it)."""
        with self.lock:
            text = self.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        return _bytes(str(text))

    def slices(self, n_values: int) -> int:
        """In how many slices to run a holistic aggregation (exact quantiles, lists) over
        ``n_values`` values: DuckDB holds such states in memory and cannot spill them, so
        each slice's states are kept to a quarter of the memory limit (the rest: the scan,
        the join, the hash table and the result)."""
        return max(1, min(1024, -(-n_values * _HELD // max(self.limit_bytes // 4, 1))))

    def sliced(self, sql: str, key: str, n: int, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """``sql`` run once per slice, its ``__SLICE__`` replaced by "``key`` falls in the
        slice" (a non-negative integer modulo ``n``); the results stacked."""
        if n == 1:
            return self.frame(sql.replace("__SLICE__", "true"), params)
        frames = [self.frame(sql.replace("__SLICE__", f"(({key}) % {n}) = {i}"), params) for i in range(n)]
        return pl.concat(frames, how="vertical_relaxed")

    @contextlib.contextmanager
    def temp(self, prefix: str, select: str) -> Iterator[str]:
        """A temporary table of ``select``'s rows for the length of a ``with`` (its name),
        dropped after, whatever happens."""
        name = self.name(prefix)
        try:
            self.run(f"CREATE TEMP TABLE {name} AS {select}")
            yield name
        finally:
            self.run(f"DROP TABLE IF EXISTS {name}")

    def register(self, frame: pl.DataFrame) -> _Registered:
        """Make a polars frame (per-case, small) a DuckDB view for the length of a ``with``."""
        return _Registered(self, frame)


def _close(con: Any, folder: str) -> None:
    try:
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Registered:
    def __init__(self, db: _Database, frame: pl.DataFrame) -> None:
        self.db, self.frame, self.name = db, frame, db.name("__frame")

    def __enter__(self) -> str:
        with self.db.lock:
            self.db.con.register(self.name, self.frame.to_arrow())
        return self.name

    def __exit__(self, *exc: object) -> None:
        with self.db.lock:
            self.db.con.unregister(self.name)


@dataclass(frozen=True)
class _Spec:
    """A Parquet input with its options checked and its column mapping resolved."""

    files: list[Path]
    #: the files as DuckDB reads them: links in the database's folder, so that no path is
    #: read as a glob pattern ("a[1].parquet") or as hive partitions ("seg=x/part.parquet")
    #: and a relative path still works after a change of working directory
    links: list[Path]
    offsets: list[int]
    #: the number of input rows (all files)
    n_rows: int
    #: the columns of each file, in its order (files may order the same columns differently)
    file_names: list[list[str]]
    names: list[str]
    types: list[str]
    mapping: ColumnMapping
    extra: list[str]
    case_attributes: list[str]
    stage_order: list[str] | None
    zone: str
    timestamp_format: str | None
    valid_time: tuple[TimeLike, TimeLike]
    duplicates: str
    on_invalid: str
    #: a fixed-offset zone DuckDB does not know ("+02:00"): its offset in microseconds
    zone_offset: int | None = None

    def col(self, name: str) -> str:
        return _input(self.names.index(name))

    def type_of(self, name: str) -> str:
        return self.types[self.names.index(name)]

    @property
    def slots(self) -> dict[str, str]:
        return {
            **{c: _event_slot(i) for i, c in enumerate(self.extra)},
            **{c: _case_slot(j) for j, c in enumerate(self.case_attributes)},
        }

    @property
    def controls(self) -> dict[str, str]:
        """Each text attribute column → the flag (a column of the flagged rows) that says a
        row's value held control characters (replaced by U+FFFD, as the embedded engine
        does, with a warning)."""
        text = [c for c in self.slots if self.type_of(c) == "VARCHAR"]
        return {c: f"__c{k}" for k, c in enumerate(text)}

    def notes(self, controls: Mapping[str, str] | None = None) -> list[str]:
        """The flag columns of the flagged rows, in their order: ``__lost`` (a value that is
        not a number) when a value column is mapped, then the :attr:`controls` flags."""
        flags = (self.controls if controls is None else controls).values()
        return [*(["__lost"] if self.mapping.value is not None else []), *flags]

    @property
    def optional(self) -> list[str]:
        return [r for r in self.mapping.roles() if r not in ("case", "activity", "timestamp")]

    def source(self, columns: Sequence[int] | None = None) -> str:
        """The input as SQL: the columns at ``columns`` (all by default) as ``__in_<i>``,
        and ``__row``, the input row number (files in order, rows in file order)."""
        wanted = range(len(self.names)) if columns is None else columns
        parts = []
        for f, offset, own in zip(self.links, self.offsets, self.file_names, strict=True):
            cols = ", ".join(f"#{own.index(self.names[i]) + 1} AS {_input(i)}" for i in wanted)
            parts.append(
                f"SELECT {cols}, file_row_number + {offset} AS __row "
                f"FROM read_parquet({_lit(str(f))}, file_row_number = true, "
                "hive_partitioning = false)"
            )
        return "(" + " UNION ALL ".join(parts) + ")"


def _resolve(files: list[Path], roles: dict[str, Any], db: _Database, **options: Any) -> _Spec:
    import pyarrow as pa
    import pyarrow.parquet as pq

    owner = "read_parquet"
    case_attributes, event_attributes = check_build_options(
        owner, options["on_invalid"], options["duplicates"], options["case_attributes"],
        options["event_attributes"], roles=roles, tz=options["tz"],
        timestamp_format=options["timestamp_format"], valid_time=options["valid_time"],
    )
    stage_order = options["stage_order"]
    if stage_order is not None:
        stage_order = as_names(stage_order, "stage_order", owner, what="stage names")
    footers = [pq.read_metadata(f) for f in files]  # once per file: the schema and the rows
    schemas = [footer.schema.to_arrow_schema() for footer in footers]
    file_names = [schema.names for schema in schemas]
    names = file_names[0]
    #: durations are stored as integers in Parquet (DuckDB reads a number); Arrow's schema
    #: in the file says what they are
    durations = {field.name for field in schemas[0] if pa.types.is_duration(field.type)}
    if "file_row_number" in {n.lower() for fn in file_names for n in fn}:
        raise SchemaError(
            "The input has a column named 'file_row_number', the name DuckDB gives the row numbers "
            "journeymine reads with the events. Rename it where the file is written, or read the "
            "file with engine='embedded'."
        )
    zone = options["tz"] or "UTC"
    if not _zone_ok(zone):
        raise SchemaError(
            f"Unknown time zone {zone!r} for naive timestamps in column {roles['timestamp']!r}: use "
            "an IANA name such as 'Europe/Amsterdam' or 'UTC'."
        )
    links = []
    for k, f in enumerate(files):
        link = Path(db.folder) / f"input_{k}.parquet"
        try:
            os.symlink(os.path.abspath(f), link)
        except OSError:  # pragma: no cover - no symlinks on this system
            if glob.has_magic(str(f)):
                raise SchemaError(
                    f"{str(f)!r} has characters DuckDB reads as a pattern ([, *, ?); rename the file."
                ) from None
            link = Path(os.path.abspath(f))
        links.append(link)
    offsets, total = [], 0
    for footer in footers:
        offsets.append(total)
        total += footer.num_rows
    mapping = resolve_mapping(
        names, roles, case_attributes=case_attributes, event_attributes=event_attributes
    )
    names_only = pl.DataFrame(schema={c: pl.String for c in names})
    extra = _check_columns(names_only, mapping, case_attributes, event_attributes)
    with db.lock:
        described = db.con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_lit(str(links[0]))}, hive_partitioning = false)"
        ).fetchall()
    types = [str(row[1]) for row in described][: len(names)]
    spec = _Spec(
        files=files, links=links, offsets=offsets, n_rows=total, file_names=file_names, names=names,
        types=types,
        mapping=mapping,
        extra=extra,
        case_attributes=case_attributes, stage_order=stage_order, zone=zone,
        timestamp_format=options["timestamp_format"], valid_time=options["valid_time"],
        duplicates=options["duplicates"], on_invalid=options["on_invalid"],
        zone_offset=_zone_offset(db, zone, mapping.timestamp),
    )
    _check_format(db, spec.timestamp_format, mapping.timestamp)
    for role, col in mapping.roles().items():
        if role == "timestamp":
            continue
        dtype = spec.type_of(col)
        if role == "value":
            # as the embedded engine: numbers, text (numbers as text) or booleans are amounts;
            # nested values, bytes, points in time and durations are not
            if _NOT_TEXT.search(dtype) or dtype.startswith(("DATE", "TIME", "INTERVAL")) or col in durations:
                kind = "durations" if col in durations else f"values of type {dtype}"
                raise value_dtype_error(col, kind, total, "map a column of amounts as value (one "
                                        "amount per row: explode lists, or sum their items)")
            continue
        if dtype == "INTERVAL" or col in durations:
            raise duration_id_error(col, role, "durations", total)
        if _NOT_TEXT.search(dtype):
            raise SchemaError(
                f"Column {col!r} ({role}) holds values of type {dtype}; journeymine reads "
                f"{role} values as text. Give one text or number per row (explode lists, decode bytes) "
                "when the file is written."
            )
    return spec


@contextlib.contextmanager
def _file_errors(files: Sequence[Path]) -> Iterator[None]:
    """DuckDB's errors in reading the input (damaged pages, a file changed while read) as a
    :class:`FileFormatError` naming the files; other errors pass unchanged."""
    duckdb = _duckdb()
    try:
        yield
    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
        raise _unreadable(files, exc) from exc
    except duckdb.Error as exc:
        if type(exc) is not duckdb.Error:  # a binder or conversion error is not the file's
            raise
        raise _unreadable(files, exc) from exc


def _unreadable(files: Sequence[Path], exc: Exception) -> FileFormatError:
    shown = shown_names([str(f) for f in files], 3, width=10_000)
    return FileFormatError(
        f"DuckDB could not read the Parquet data of {shown}: {str(exc).splitlines()[0]}. The file "
        "may be damaged or incomplete: write it again, or check it with pyarrow.parquet.read_table."
    )


def _zone_offset(db: _Database, zone: str, column: str) -> int | None:
    """None when DuckDB knows the time ``zone`` (polars knows it: checked before); for a
    fixed offset it does not know ("+02:00", which polars reads), the offset in
    microseconds; any other zone is a :class:`SchemaError`."""
    duckdb = _duckdb()
    try:
        with db.lock:
            db.con.execute("SELECT timezone(?, TIMESTAMP '2000-01-01')", [zone]).fetchall()
        return None
    except duckdb.Error:
        pass
    if re.fullmatch(r"[+-]\d{2}:?\d{2}", zone):
        local = datetime.datetime(2000, 1, 1)
        aware = pl.Series([local]).dt.replace_time_zone(zone)
        utc = aware.dt.convert_time_zone("UTC").dt.replace_time_zone(None).item()
        return int((local - utc) // datetime.timedelta(microseconds=1))
    raise SchemaError(
        f"The time zone {zone!r} for naive timestamps in column {column!r} is known to polars but not "
        "to DuckDB. Pass its IANA name (such as 'Europe/Amsterdam'), or read the file with "
        "engine='embedded'."
    )


def _check_format(db: _Database, fmt: str | None, column: str) -> None:
    """A :class:`SchemaError` when DuckDB's ``strptime`` does not read ``timestamp_format``."""
    if fmt is None:
        return
    duckdb = _duckdb()
    try:
        with db.lock:
            db.con.execute("SELECT try_strptime('2000-01-01', ?)", [fmt]).fetchall()
    except duckdb.Error as exc:
        raise SchemaError(
            f"timestamp_format={fmt!r} (column {column!r}) is not a format DuckDB's strptime reads "
            f"({str(exc).splitlines()[0]}). With engine='duckdb' use DuckDB's codes (%Y, %m, %d, %H, "
            "%M, %S, %f for microseconds, %z for an offset; see DuckDB's 'Date Format' page), or "
            "read the file with engine='embedded', which takes polars' (chrono) codes."
        ) from exc


def _as_id(col: str, dtype: str) -> str:
    """SQL for an id or name as text, as in the embedded engine: integral floats within
    ±2**63 lose '.0', NaN and blank strings are missing."""
    if dtype in ("DOUBLE", "FLOAT"):
        # DuckDB evaluates every branch of a CASE: the cast to BIGINT gets a value it can
        # always take (NaN, infinities and the too large are cast as 0, then not used)
        small = f"isfinite({col}) AND abs({col}) < 9.223372036854775807e18"
        whole = f"CAST(CAST(CASE WHEN {small} THEN {col} ELSE 0 END AS BIGINT) AS VARCHAR)"
        text = (
            # NaN is missing; isnan() answers false for some NaNs read from Parquet (DuckDB
            # 2.0.1), their text does not
            f"CASE WHEN NOT isfinite({col}) AND lower(CAST({col} AS VARCHAR)) IN ('nan', '-nan') THEN NULL "
            f"WHEN {small} AND round({col}) = {col} "
            f"THEN {whole} ELSE CAST({col} AS VARCHAR) END"
        )
    else:
        text = f"CAST({col} AS VARCHAR)"
    return f"(CASE WHEN regexp_matches({text}, {_lit(_BLANK)}) THEN NULL ELSE {text} END)"


def _timestamp(spec: _Spec) -> tuple[str, str]:
    """SQL for the timestamp in UTC microseconds (null where unparsable), and for "the
    timestamp is missing"."""
    column = spec.mapping.timestamp
    col, dtype = spec.col(column), spec.type_of(column)
    zone = _lit(spec.zone)

    def naive(expr: str) -> str:
        if spec.zone == "UTC":
            return f"epoch_us(CAST({expr} AS TIMESTAMP))"
        if spec.zone_offset is not None:  # a fixed offset: no gaps, no repeats
            return f"(epoch_us(CAST({expr} AS TIMESTAMP)) - {spec.zone_offset})"
        # as the embedded engine: a wall time that does not exist in the zone (the hour
        # skipped in spring) is unparsable, one that exists twice (autumn) is the earlier
        local = f"CAST({expr} AS TIMESTAMP)"
        u = f"epoch_us(timezone({zone}, {local}))"
        return (
            f"list_min(list_filter([{u} - 3600000000, {u} - 1800000000, {u}], "
            f"lambda c: timezone({zone}, make_timestamptz(c)) = {local}))"
        )

    missing = f"({col} IS NULL)"
    if dtype == '"NULL"':  # a column without a single value
        return "CAST(NULL AS BIGINT)", "true"
    # nanoseconds to microseconds rounded down, as polars casts them (DuckDB's cast rounds
    # to the nearest): the floor of an integer division, exact for any instant
    floor_us = f"((epoch_ns({col}) - ((epoch_ns({col}) % 1000) + 1000) % 1000) // 1000)"
    if dtype == "TIMESTAMP WITH TIME ZONE":
        return f"epoch_us({col})", missing
    if dtype in ("TIMESTAMPTZ_NS", "TIMESTAMP_NS WITH TIME ZONE"):
        return floor_us, missing
    if dtype == "TIMESTAMP_NS":
        return naive(f"make_timestamp({floor_us})"), missing
    if dtype in _NAIVE_TYPES:
        return naive(col), missing
    if dtype == "VARCHAR":
        text = f"regexp_replace({col}, {_lit(_ENDS)}, '', 'g')"
        missing = f"({col} IS NULL OR regexp_matches({col}, {_lit(_BLANK)}))"
        fmt = spec.timestamp_format
        if fmt is not None:
            parsed = f"try_strptime({text}, {_lit(fmt)})"
            return (f"epoch_us({parsed})" if "%z" in fmt or "%Z" in fmt else naive(parsed)), missing
        aware = f"epoch_us(TRY_CAST({text} AS TIMESTAMPTZ))"
        return (
            f"(CASE WHEN regexp_matches({text}, {_lit(_OFFSET)}) THEN {aware} "
            f"WHEN regexp_matches({text}, {_lit(_NAIVE_TEXT)}) "
            f"THEN {naive(f'TRY_CAST({text} AS TIMESTAMP)')} END)"
        ), missing
    raise SchemaError(
        f"The timestamp column {column!r} holds values of type {dtype}, which journeymine cannot "
        "read as points in time. Convert it when the file is written (for epoch seconds: "
        "pl.from_epoch(column, time_unit='s'))."
    )


def _derived(spec: _Spec) -> tuple[str, str]:
    """SQL for every input row with its values as journeymine reads them (``row``, the
    roles, ids as text, the attributes in their slots, ``ts`` in UTC microseconds), and
    SQL for the reason the row is unusable over those columns (null when it is usable).
    Nothing is materialised: each pass below reads the file again (Parquet is read
    column by column, so a pass reads only the columns it uses), which costs less than a
    copy of every input row in DuckDB."""
    mapping = spec.mapping
    roles = mapping.roles()
    cols = ["__row AS row"]
    for role, column in roles.items():
        if role == "timestamp":
            continue
        col = spec.col(column)
        if role == "value":
            cols.append(f"TRY_CAST({col} AS DOUBLE) AS value")
            cols.append(f"({col} IS NOT NULL AND TRY_CAST({col} AS DOUBLE) IS NULL"
                        + (f" AND NOT regexp_matches(CAST({col} AS VARCHAR), {_lit(_BLANK)})"
                           if spec.type_of(column) == "VARCHAR" else "")
                        + ") AS __lost")
        else:
            cols.append(f"{_as_id(col, spec.type_of(column))} AS {_q(role)}")
    controls = spec.controls
    for column, slot in spec.slots.items():
        col = spec.col(column)
        if column in controls:
            cols.append(f"regexp_replace({col}, {_lit(_CONTROL)}, {_lit(REPLACEMENT)}, 'g') AS {slot}")
            cols.append(f"coalesce(regexp_matches({col}, {_lit(_CONTROL)}), false) AS {controls[column]}")
        else:
            cols.append(f"{col} AS {slot}")
    ts, missing = _timestamp(spec)
    cols += [f"{ts} AS ts", f"{missing} AS __ts_missing"]
    # microseconds since the epoch, exactly for any year (a pandas Timestamp's .value is in
    # nanoseconds, which overflow outside 1677-2262)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    lo, hi = (
        (t.to_pydatetime() - epoch) // datetime.timedelta(microseconds=1) for t in utc_bounds(spec.valid_time)
    )
    control = " OR ".join(
        f"coalesce(regexp_matches({_q(r)}, {_lit(_CONTROL)}), false)"
        for r in roles if r not in ("timestamp", "value")
    )
    r = [_lit(x) for x in REASONS]
    reason = (
        f"CASE WHEN \"case\" IS NULL THEN {r[0]} WHEN activity IS NULL THEN {r[1]} "
        f"WHEN {control} THEN {r[2]} WHEN __ts_missing THEN {r[3]} WHEN ts IS NULL THEN {r[4]} "
        f"WHEN ts < {lo} OR ts >= {hi} THEN {r[5]} END"
    )
    used = sorted({spec.names.index(c) for c in [*roles.values(), *spec.slots]})
    return f"(SELECT {', '.join(cols)} FROM {spec.source(used)})", reason


def _flag(db: _Database, spec: _Spec) -> tuple[str, str]:
    """One pass over the input: the rows set aside (``row``, ``reason``) and those whose
    value is not a number (``__lost``), in a table (few rows, normally); and SQL for the
    usable rows (the input less those set aside, read again)."""
    derived, reason = _derived(spec)
    notes = spec.notes()
    flagged = db.name("flagged")
    db.run(
        f"CREATE TEMP TABLE {flagged} AS SELECT row, reason{''.join(', ' + n for n in notes)} FROM "
        f"(SELECT *, {reason} AS reason FROM {derived}) "
        f"WHERE reason IS NOT NULL{''.join(' OR ' + n for n in notes)}"
    )
    valid = (
        f"(SELECT d.* EXCLUDE (__ts_missing{''.join(', ' + n for n in notes)}) FROM {derived} d "
        f"ANTI JOIN (SELECT row FROM {flagged} WHERE reason IS NOT NULL) f USING (row))"
    )
    return flagged, valid


def _mark_repeats(db: _Database, spec: _Spec, flagged: str, valid: str) -> None:
    """Set aside an exact repeat of an earlier valid row (same values in every kept
    column) as a duplicate event. A repeat shares its case and timestamp: the candidates
    are the rows tied on one 64-bit hash of (case, ts), a group-by over one integer (a
    hash collision only adds candidates); only they are compared column by column."""
    tied = f"SELECT hash(\"case\", ts) AS h FROM {valid} GROUP BY ALL HAVING count(*) > 1"
    with db.temp("ties", tied) as ties:
        if not db.frame(f"SELECT count(*) AS n FROM {ties}").item():
            return
        kept = ["case", "activity", "ts", *spec.optional, *spec.slots.values()]
        partition = ", ".join(_q(c) for c in kept)
        lost = ", false" * len(spec.notes())
        db.run(
            f"INSERT INTO {flagged} SELECT row, ?{lost} FROM ("
            f"  SELECT row, row_number() OVER (PARTITION BY {partition} ORDER BY row) AS rn"
            f"  FROM (SELECT *, hash(\"case\", ts) AS h FROM {valid}) v SEMI JOIN {ties} t USING (h)"
            f") WHERE rn > 1",
            [REASONS[6]],
        )


def _set_aside(db: _Database, spec: _Spec, flagged: str, valid: str) -> dict[str, int]:
    """Count what was read and set aside, warn or raise as :meth:`JourneyLog.from_frame`
    does, and return the count per reason."""
    controls = spec.controls
    lost = "".join(f", count(*) FILTER (WHERE {f}) AS {f}" for f in spec.notes(controls))
    parts = ", ".join(f"count(*) FILTER (WHERE reason = ?) AS n{i}" for i in range(len(REASONS)))
    params = list(REASONS)
    stats = db.frame(f"SELECT count(*) AS flagged, {parts}{lost} FROM {flagged}", params).row(0, named=True)
    rows_read = spec.n_rows
    if rows_read == 0:
        raise EmptyLogError("The input has no rows: there is no event to build a journey log from.")
    if stats.get("__lost"):
        warn(
            f"Column {spec.mapping.value!r} (value): {int(stats['__lost']):,} value(s) are not numbers "
            "and were read as missing. The events are kept. Clean the column (e.g. remove currency "
            "signs) to keep those amounts.",
            DataQualityWarning,
        )
    dirty = {c: int(stats[f]) for c, f in controls.items() if stats[f]}
    if dirty:
        first = db.frame(
            f"SELECT row FROM {flagged} WHERE {controls[next(iter(dirty))]} ORDER BY row LIMIT 5"
        ).get_column("row").to_list()
        warn_replaced(dirty, first)  # the embedded engine's warning
    counts = {r: int(stats[f"n{i}"]) for i, r in enumerate(REASONS) if stats[f"n{i}"]}
    n_bad = sum(counts.values())
    summary = ", ".join(f"{n:,} {r}" for r, n in sorted(counts.items(), key=lambda t: (-t[1], t[0])))
    first_rows = (
        db.frame(f"SELECT row FROM {flagged} WHERE reason IS NOT NULL ORDER BY row LIMIT 5")
        .get_column("row").to_list() if n_bad else []
    )
    hint = ""
    text_ts = spec.type_of(spec.mapping.timestamp) == "VARCHAR"
    if counts.get(REASONS[4]) and spec.timestamp_format is None and text_ts:
        hint = (
            "; the DuckDB engine reads text timestamps as ISO 8601 only: pass timestamp_format= "
            f"with the format of column {spec.mapping.timestamp!r} (e.g. '%d/%m/%Y %H:%M')"
        )
    if n_bad == rows_read:
        raise EmptyLogError(
            f"None of the {rows_read:,} input rows is usable ({summary}{hint}). The rejected rows are "
            "the input's rows: read a sample with engine='embedded' to see them with their reasons."
        )
    if n_bad:
        report_rejected(n_bad, rows_read, summary + hint, first_rows, spec.on_invalid,
                        where="log.rejected")
    if spec.stage_order is not None and spec.mapping.stage is not None:
        seen = db.frame(
            f"SELECT DISTINCT stage FROM {valid} WHERE stage IS NOT NULL ORDER BY stage"
        ).get_column("stage").to_list()
        unknown = sorted(set(seen) - set(spec.stage_order))
        if unknown:
            raise SchemaError(
                f"Column {spec.mapping.stage!r} (stage) has value(s) {unknown[:10]} that are not in "
                f"stage_order={list(spec.stage_order)!r}. Add them to stage_order in journey order."
            )
    return counts


def _case_table(db: _Database, spec: _Spec, valid: str, codes: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The case table (cases in order of their first input row; attributes as
    :meth:`JourneyLog.from_frame` keeps them) and the events per activity, most frequent
    first (ties by name); and, as the DuckDB table ``codes``, each case's code (its position
    in the case table), for the events to be stored with (the case ids never go from
    Python back to DuckDB).

    Every step has fixed-size aggregate states or is a sort, so that DuckDB can spill it:
    a case attribute is read as its distinct (case, value) pairs with the first (time,
    row) of each, packed into one 128-bit integer; the first pair of each case is its value,
    and more than one pair means it varies."""
    slots = spec.slots
    temps = [db.name("cases")]
    db.run(
        f"CREATE TEMP TABLE {temps[0]} AS SELECT \"case\", min(row) AS __key, count(*) AS n_events, "
        f"min(ts) AS \"start\", max(ts) AS \"end\" FROM {valid} GROUP BY \"case\""
    )
    try:
        joins, cols = [], []
        for col in spec.case_attributes:
            s = slots[col]
            pairs, first = db.name("pairs"), db.name("first")
            temps += [pairs, first]
            db.run(
                f"CREATE TEMP TABLE {pairs} AS SELECT \"case\", {s}, "
                f"min(CAST(ts AS HUGEINT) * 9223372036854775808 + row) AS k "
                f"FROM {valid} WHERE {s} IS NOT NULL GROUP BY \"case\", {s}"
            )
            db.run(
                f"CREATE TEMP TABLE {first} AS SELECT \"case\", {s}, "
                "count(*) OVER (PARTITION BY \"case\") > 1 AS __varies FROM " + pairs + " "
                "QUALIFY row_number() OVER (PARTITION BY \"case\" ORDER BY k) = 1"
            )
            joins.append(f"LEFT JOIN {first} USING (\"case\")")
            cols += [f"{first}.{s}", f"coalesce({first}.__varies, false) AS {s}_varies"]
        # the final types in SQL (Arrow hands them over without a copy), the sort key left out
        db.run(
            f"CREATE TEMP TABLE {codes} AS SELECT \"case\", "
            f"CAST(row_number() OVER (ORDER BY __key) - 1 AS INTEGER) AS code FROM {temps[0]}"
        )
        cases = db.frame(
            "SELECT \"case\", CAST(n_events AS UINTEGER) AS n_events, \"start\", "
            f"\"end\"{''.join(', ' + c for c in cols)} "
            f"FROM {temps[0]} {' '.join(joins)} ORDER BY __key"
        )
    finally:
        for t in temps:
            db.run(f"DROP TABLE IF EXISTS {t}")
    for col in spec.case_attributes:
        varying = cases.filter(pl.col(f"{slots[col]}_varies"))
        if varying.height:
            report_varying(col, varying.height, cases.height, repr(varying.get_column("case")[0]),
                           spec.on_invalid)
    cases = cases.select(
        pl.col("case").cast(pl.String),
        *[pl.col(slots[col]).alias(col) for col in spec.case_attributes],
        pl.col("n_events").cast(pl.UInt32),
        pl.col("start", "end").cast(pl.Datetime("us", "UTC")),
    )
    counts = db.frame(
        f"SELECT activity, count(*) AS len FROM {valid} GROUP BY activity"
    ).sort(["len", "activity"], descending=[True, False])
    return cases, counts


def _events_table(
    db: _Database,
    select: str,
    columns: Sequence[str],
) -> str:
    """Store events (``code``, ``act``, ``ts``, ``row`` and ``columns`` from ``select``) with
    what one window pass over each journey gives: ``tgt`` (next activity), ``gap`` (to the
    next event, microseconds) and ``i`` (position in the journey, from 0)."""
    name = db.name("events")
    rest = "".join(f", {_q(c)}" for c in columns)
    db.run(
        f"CREATE TABLE {name} AS SELECT code, act, ts, row, "
        "CAST(lead(act) OVER w AS INTEGER) AS tgt, lead(ts) OVER w - ts AS gap, "
        f"CAST(row_number() OVER w - 1 AS INTEGER) AS i{rest} "
        f"FROM ({select}) WINDOW w AS (PARTITION BY code ORDER BY ts, row)"
    )
    return name


def read_parquet_duckdb(
    files: list[Path],
    roles: dict[str, Any],
    *,
    case_attributes: str | Sequence[str],
    event_attributes: str | Sequence[str] | Literal["all"],
    stage_order: str | Sequence[str] | None,
    tz: str | None,
    timestamp_format: str | None,
    valid_time: tuple[TimeLike, TimeLike],
    duplicates: Literal["reject", "keep"],
    on_invalid: OnInvalid,
    memory_limit: str | int | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    max_temp_directory_size: str | int | None = None,
    threads: int | None = None,
    source: str,
) -> DuckDBJourneyLog:
    """Validate Parquet files of events with DuckDB; see :func:`journeymine.read_parquet`.

    The steps: resolve the mapping (:func:`_resolve`), give every input row its reason to
    be set aside, or none (:func:`_flag`, :func:`_mark_repeats`), count and report
    what was set aside (:func:`_set_aside`), collect the case table (:func:`_case_table`),
    and store the encoded events (:func:`_events_table`).
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise invalid("threads", "read_parquet", "a positive int or None", threads)
    db = _Database(
        memory_limit=_size(memory_limit, "memory_limit"),
        temp_directory=_folder(temp_directory),
        max_temp_directory_size=_size(max_temp_directory_size, "max_temp_directory_size"),
        threads=threads,
    )
    spec = _resolve(
        files, roles, db, case_attributes=case_attributes, event_attributes=event_attributes,
        stage_order=stage_order, tz=tz, timestamp_format=timestamp_format, valid_time=valid_time,
        duplicates=duplicates, on_invalid=on_invalid,
    )
    codes, flagged = db.name("codes"), None
    try:
        with _file_errors(files):  # a damaged page or a file changed while read: FileFormatError
            flagged, valid = _flag(db, spec)
            if spec.duplicates == "reject":
                _mark_repeats(db, spec, flagged, valid)
            counts = _set_aside(db, spec, flagged, valid)
            cases, activity_counts = _case_table(db, spec, valid, codes)
        rejected = db.name("rejected")
        db.run(f"CREATE TABLE {rejected} AS SELECT row, reason FROM {flagged} WHERE reason IS NOT NULL")
        acts = pl.DataFrame({"activity": activity_counts.get_column("activity"),
                             "act": pl.int_range(0, activity_counts.height, eager=True, dtype=pl.Int32)})
        kept = [*spec.optional, *(_event_slot(i) for i in range(len(spec.extra)))]
        with db.register(acts) as a:
            events = _events_table(
                db,
                f"SELECT c.code, a.act, w.ts, w.row{''.join(f', w.{_q(k)}' for k in kept)} "
                f"FROM {valid} w JOIN {codes} c USING (\"case\") JOIN {a} a USING (activity)",
                kept,
            )
    finally:
        if flagged is not None:
            db.run(f"DROP TABLE IF EXISTS {flagged}")
        db.run(f"DROP TABLE IF EXISTS {codes}")
    return DuckDBJourneyLog._create_duckdb(
        db=db, table=events, spec=spec, rejected=rejected, rejected_counts=counts,
        cases=cases, activity_counts=activity_counts, source=source,
    )


class DuckDBJourneyLog(_EventsElsewhere):
    """A :class:`JourneyLog` whose events stay in a DuckDB database (built by
    ``jm.read_parquet(path, engine="duckdb")``).

    The case table (:attr:`cases`) is in memory; :attr:`duckdb_events` is a DuckDB
    relation over the validated events, :attr:`rejected` one over the rows set aside with
    their ``reason``. :meth:`to_local` collects the log into an embedded
    :class:`JourneyLog`.
    """

    __slots__ = ("__weakref__", "_db", "_rejected_table", "_spec", "_table")
    _db: _Database
    _rejected_table: str
    _spec: _Spec
    _table: str
    _where = "DuckDB"

    @classmethod
    def _create_duckdb(
        cls,
        *,
        db: _Database,
        table: str,
        spec: _Spec,
        rejected: str,
        rejected_counts: dict[str, int],
        cases: pl.DataFrame,
        activity_counts: pl.DataFrame,
        source: str,
    ) -> DuckDBJourneyLog:
        self = cls._create_elsewhere(
            cases=cases,
            rejected_counts=rejected_counts,
            n_events=int(cases.get_column("n_events").sum()),
            activities=activity_counts.get_column("activity").to_list(),
            mapping=spec.mapping,
            case_attributes=spec.case_attributes,
            event_attributes=spec.extra,
            stage_order=spec.stage_order,
            source=source,
            engine=DUCKDB,
        )
        for name, value in (("_db", db), ("_table", table), ("_spec", spec), ("_rejected_table", rejected)):
            object.__setattr__(self, name, value)
        return self  # type: ignore[no-any-return]

    def _event_columns(self) -> list[str]:
        return [*self._spec.optional, *self._slot_names()]

    @property
    def duckdb_events(self) -> Any:
        """The validated events as a DuckDB relation (lazy; ``.pl()`` collects it):
        ``case``, ``activity``, ``timestamp`` (UTC), the roles, the event attributes under
        their own names, ``row``; in no particular order."""
        db, names = self._db, self._slot_names()
        lookup = f"{self._table}_names"
        with db.lock:
            if "duckdb_names" not in self._cache:
                codes = self._cases.select("case", pl.int_range(0, pl.len(), dtype=pl.Int32).alias("code"))
                acts = pl.DataFrame({"activity": list(self.activities)}, schema={"activity": pl.String})
                acts = acts.with_columns(pl.int_range(0, pl.len(), dtype=pl.Int32).alias("act"))
                with db.register(codes) as c, db.register(acts) as a:
                    db.run(f"CREATE OR REPLACE TABLE {lookup}_cases AS SELECT * FROM {c}")
                    db.run(f"CREATE OR REPLACE TABLE {lookup}_acts AS SELECT * FROM {a}")
                self._cache["duckdb_names"] = True
            rest = "".join(f", e.{_q(col)} AS {_q(names.get(col, col))}" for col in self._event_columns())
            return db.con.sql(
                f"SELECT c.\"case\", a.activity, make_timestamptz(e.ts) AS \"timestamp\"{rest}, e.row "
                f"FROM {self._table} e JOIN {lookup}_cases c USING (code) JOIN {lookup}_acts a USING (act)"
            )

    @property
    def rejected(self) -> Any:  # a pandas DataFrame
        """The rows set aside, as :attr:`JourneyLog.rejected` gives them (a pandas
        DataFrame): ``row``, ``reason`` and the input's columns, read again from the file."""
        if "rejected_pd" not in self._cache:
            spec = self._spec
            cols = ", ".join(f"s.{_input(i)}" for i in range(len(spec.names)))
            frame = self._db.frame(
                f"SELECT r.row, r.reason, {cols} FROM {self._rejected_table} r "
                f"JOIN {spec.source()} s ON s.__row = r.row ORDER BY r.row"
            )
            self._cache["rejected_pd"] = frame.rename(
                {_input(i): f"{n}_input" if n in ("row", "reason") else n for i, n in enumerate(spec.names)}
            ).to_pandas()
        return self._cache["rejected_pd"].copy(deep=False)

    def _subset_cases(self, keep: pl.Series) -> JourneyLog:
        db = self._db
        cases = self._cases.filter(keep)
        old = pl.int_range(0, self._cases.height, eager=True, dtype=pl.Int32).filter(keep)
        remap = pl.DataFrame({"code": old, "__new": pl.int_range(0, old.len(), eager=True, dtype=pl.Int32)})
        with db.register(remap) as r:
            counts = db.frame(
                f"SELECT act, count(*) AS len FROM {self._table} e SEMI JOIN {r} USING (code) GROUP BY act"
            )
        names = pl.Series(list(self.activities))
        counts = counts.select(
            names.gather(counts.get_column("act")).alias("activity"), pl.col("len"), pl.col("act")
        ).sort(["len", "activity"], descending=[True, False])
        amap = counts.select(pl.col("act"), pl.int_range(0, pl.len(), dtype=pl.Int32).alias("__act"))
        cols = "".join(f", e.{_q(c)}" for c in self._event_columns())
        name = db.name("events")
        with db.register(remap) as r, db.register(amap) as a:
            db.run(
                f"CREATE TABLE {name} AS SELECT r.__new AS code, a.__act AS act, e.ts, e.row, "
                f"CAST(t.__act AS INTEGER) AS tgt, e.gap, e.i{cols} "
                f"FROM {self._table} e JOIN {r} r USING (code) JOIN {a} a ON a.act = e.act "
                f"LEFT JOIN {a} t ON t.act = e.tgt"
            )
        empty = db.name("rejected")
        db.run(f"CREATE TABLE {empty} AS SELECT row, reason FROM {self._rejected_table} LIMIT 0")
        sub = DuckDBJourneyLog._create_duckdb(
            db=db, table=name, spec=self._spec, rejected=empty, rejected_counts={}, cases=cases,
            activity_counts=counts.select("activity", "len"), source=self._source,
        )
        # a sub-log's tables go with it (the database goes with the last log using it)
        weakref.finalize(sub, db.forget, [name, empty], sub._cache)
        return sub

    def to_local(self) -> JourneyLog:
        """Collect this log into an embedded (in-memory) :class:`JourneyLog`.

        The events come back in the same order (case, time, input row) with the same case
        table; only for logs that fit in memory.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import polars as pl
        >>> import journeymine as jm
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
        >>> pl.DataFrame({"id": [1, 1], "act": ["a", "b"],
        ...               "ts": ["2024-01-01", "2024-01-02"]}).write_parquet(path)
        >>> log = jm.read_parquet(path, case="id", activity="act", timestamp="ts", engine="duckdb")
        >>> log.to_local().events["activity"].tolist()
        ['a', 'b']
        """
        cols = "".join(f", {_q(c)}" for c in self._event_columns())
        frame = self._db.frame(f"SELECT code, act, ts{cols}, row FROM {self._table} ORDER BY code, ts, row")
        case = self._cases.get_column("case").gather(frame.get_column("code"))
        activity = pl.Series(list(self.activities), dtype=pl.String).gather(frame.get_column("act"))
        events = frame.select(
            case.alias("case"),
            activity.alias("activity"),
            pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("timestamp"),
            *[pl.col(c) for c in self._event_columns()],
            pl.col("row"),
        ).rename(self._slot_names())
        return JourneyLog._create(
            events=events,
            cases=self._cases,
            rejected=pl.from_pandas(self.rejected) if self.n_rejected else self._rejected,
            mapping=self._mapping,
            case_attributes=self._case_attributes,
            event_attributes=self._event_attributes,
            stage_order=self._stage_order,
            source=self._source,
            files=self._inputs,
        )


def _log(log: JourneyLog) -> DuckDBJourneyLog:
    return cast(DuckDBJourneyLog, log)


#: the fixed point of :func:`_fixed_sum`: sums of log10 gaps (below 10) and their squares
#: (below 100) in multiples of 2**-40 stay exact in 128-bit integers for any number of events
_FIXED = 2**40


#: values the fixed point of :func:`_fixed_sum` holds (a missing value is null, not counted)
_FITS = f"isfinite(e.value) AND abs(e.value) < {float(2**40)!r}"


def _fixed_sum(expr: str) -> str:
    """SQL for the sum of a float ``expr`` (terms of magnitude below 2**40) as the exact sum of
    its values rounded to multiples of 2**-40: the same result whatever the order of the
    terms (a float sum depends on it, and DuckDB's threads combine partial sums in any
    order)."""
    return f"CAST(sum(CAST(round(({expr}) * {_FIXED}) AS HUGEINT)) AS DOUBLE) / {_FIXED}"


def _median_of_counts(counts: pl.DataFrame, key: str) -> pl.DataFrame:
    """The median ``position`` per ``key`` from the count ``n`` of each distinct (key,
    position), as polars' ``median()`` over every value gives it (the embedded engine's
    typical positions): the values at ranks floor and ceil of (N - 1) / 2, interpolated as
    ``lo + (hi - lo) * d``. (DuckDB's ``quantile_cont`` interpolates otherwise and can
    differ in the last bit.)"""
    if counts.height == 0:
        return pl.DataFrame({key: counts.get_column(key), "position": pl.Series([], dtype=pl.Float64)})
    f = counts.sort(key, "position")
    keys = f.get_column(key)
    pos = f.get_column("position").cast(pl.Float64).to_numpy()
    n = f.get_column("n").cast(pl.Int64).to_numpy()
    starts = np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1]).to_numpy()])
    ends = np.r_[starts[1:], len(n)]
    medians = np.empty(len(starts))
    for g, (a, b) in enumerate(zip(starts, ends, strict=True)):
        cum = np.cumsum(n[a:b])
        rn = (cum[-1] - 1) * 0.5
        lo_rank, hi_rank = np.floor(rn), np.ceil(rn)
        lo = pos[a + np.searchsorted(cum, lo_rank, side="right")]
        hi = pos[a + np.searchsorted(cum, hi_rank, side="right")]
        medians[g] = lo if lo_rank == hi_rank else lo + (hi - lo) * (rn - lo_rank)
    return pl.DataFrame({key: keys.gather(starts), "position": medians})


def _int_list(values: np.ndarray | Sequence[int]) -> str:
    """A DuckDB list literal of integers (ranks), indexed from 1 by ``list_extract``."""
    return "[" + ", ".join(str(int(v)) for v in values) + "]::INTEGER[]" if len(values) else "[0]::INTEGER[]"


class DuckDBEngine:
    """The engine primitives (:class:`journeymine._engine.Engine`) in DuckDB SQL, over the
    events of a :class:`DuckDBJourneyLog`; the frames they return have the dtypes of the
    embedded engine's."""

    name = "duckdb"
    events_in_memory = False

    def __repr__(self) -> str:
        return "DuckDBEngine()"

    # -- journey maps --------------------------------------------------------------------
    def direct_follows(
        self, log: JourneyLog, cohort: pl.Series, ranks: np.ndarray
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        lg = _log(log)
        db, ev = lg._db, lg._table
        rank = _int_list(ranks)
        per_case = per_case_frame(log, cohort=cohort.cast(pl.Int32))
        back = f"(list_extract({rank}, e.tgt + 1) < list_extract({rank}, e.act + 1))"
        # one cohort (the whole log's map): its code as a constant, no join with the cases
        single = cohort.len() > 0 and cohort.n_unique() == 1
        with db.register(per_case) as pc:
            coh = f"CAST({int(cohort[0])} AS INTEGER) AS cohort" if single else "p.cohort"
            join = "" if single else f"JOIN {pc} p USING (code)"
            edges = db.sliced(
                f"SELECT {coh}, e.act, e.tgt, count(*) AS count, "
                "CAST(sum(e.gap) AS DOUBLE) / count(*) / 1e6 AS mean, "
                # both quantiles from one state (each holds the group's values in memory)
                "quantile_cont(e.gap, [0.5, 0.9]) AS q, "
                "min(e.gap) / 1e6 AS min, max(e.gap) / 1e6 AS max "
                f"FROM {ev} e {join} WHERE e.tgt IS NOT NULL AND __SLICE__ GROUP BY ALL",
                "hash(e.act, e.tgt)", db.slices(log.n_events - log.n_cases),
            )
            # each account's distinct steps and activities (with counts) do not depend on the
            # cohorts: kept with the log, so that the next map (the whole log's, another
            # cohort split) counts accounts from them instead of grouping every event again
            steps = self._kept(
                lg, "steps", [f"SELECT DISTINCT code, act, tgt FROM {ev} WHERE tgt IS NOT NULL"]
            )
            pairs = self._kept(lg, "pairs", [f"SELECT code, act, count(*) AS n FROM {ev} GROUP BY ALL"])
            edge_cases = db.frame(
                f"SELECT {coh}, d.act, d.tgt, count(*) AS cases FROM {steps} d {join} GROUP BY ALL"
            )
            nodes = db.frame(
                f"SELECT {coh}, x.act, sum(x.n) AS events, count(*) AS cases, "
                "count(*) FILTER (WHERE x.n > 1) AS rework_cases "
                f"FROM {pairs} x {join} GROUP BY ALL"
            )
            per_case_counts = db.frame(
                f"SELECT {coh}, count(*) FILTER (WHERE x.most > 1) AS rework_cases, "
                "sum(x.n) AS n_events FROM (SELECT code, max(n) AS most, sum(n) AS n "
                f"FROM {pairs} GROUP BY code) x {join} GROUP BY ALL"
            )
            bounds = db.frame(
                f"SELECT {coh}, e.act, count(*) FILTER (WHERE e.i = 0) AS starts, "
                "count(*) FILTER (WHERE e.tgt IS NULL) AS ends "
                f"FROM {ev} e {join} WHERE e.i = 0 OR e.tgt IS NULL GROUP BY ALL"
            )
            per_cohort = db.frame(
                f"SELECT {coh}, count(*) FILTER (WHERE x.b > 0) AS backstep_cases, "
                "sum(x.b) AS backsteps, count(*) FILTER (WHERE x.l) AS self_loop_cases FROM "
                f"(SELECT e.code, count(*) FILTER (WHERE {back}) AS b, bool_or(e.act = e.tgt) AS l "
                f"FROM {ev} e WHERE e.tgt IS NOT NULL GROUP BY e.code) x "
                f"{join} GROUP BY ALL"
            )
        ranks_s = pl.Series(np.asarray(ranks, dtype=np.int64)) if len(ranks) else pl.Series([0])
        edges = edges.with_columns(
            (pl.col("q").list.get(0) / 1e6).alias("median"), (pl.col("q").list.get(1) / 1e6).alias("p90")
        ).drop("q")
        edges = edges.join(edge_cases, on=["cohort", "act", "tgt"], how="left").with_columns(
            (pl.col("act") == pl.col("tgt")).alias("self_loop"),
            (pl.lit(ranks_s).gather(pl.col("tgt")) < pl.lit(ranks_s).gather(pl.col("act"))).alias("backstep"),
        )
        edges = edges.select(
            pl.col("cohort", "act", "tgt").cast(pl.UInt32),
            pl.col("count", "cases").cast(pl.UInt32),
            pl.col("mean", "median", "p90", "min", "max").cast(pl.Float64),
            "self_loop",
            "backstep",
        )
        nodes = nodes.select(
            pl.col("cohort", "act").cast(pl.UInt32),
            pl.col("events", "cases", "rework_cases").cast(pl.UInt32),
        )
        starts = bounds.filter(pl.col("starts") > 0).select(
            pl.col("cohort", "act").cast(pl.UInt32), pl.col("starts").cast(pl.UInt32).alias("count")
        )
        ends = bounds.filter(pl.col("ends") > 0).select(
            pl.col("cohort", "act").cast(pl.UInt32), pl.col("ends").cast(pl.UInt32).alias("count")
        )
        sizes = cohort.cast(pl.Int32).value_counts(name="n_cases")
        for extra in (per_case_counts, per_cohort):
            sizes = sizes.join(extra.with_columns(pl.col("cohort").cast(pl.Int32)), on="cohort", how="left")
        sizes = sizes.select(
            pl.col("cohort").cast(pl.UInt32),
            *[pl.col(c).fill_null(0).cast(pl.Int64)
              for c in ("n_cases", "n_events", "backstep_cases", "backsteps", "rework_cases",
                        "self_loop_cases")],
        )
        return edges, nodes, starts, ends, sizes

    # -- variants ------------------------------------------------------------------------
    def variant_groups(
        self, log: JourneyLog, cohort: pl.Series, seconds: pl.Series, examples: int
    ) -> pl.DataFrame:
        lg = _log(log)
        db = lg._db
        per_case = per_case_frame(log, cohort=cohort.cast(pl.Int32), seconds=seconds.cast(pl.Float64))
        variants = self._variants(lg)
        with db.register(per_case) as pc:
            out = db.sliced(
                "SELECT p.cohort, v.variant, count(*) AS cases, min(v.code) AS first, "
                f"min(v.code, {max(int(examples), 1)}) AS codes, "
                f"quantile_cont(p.seconds, [0.5, 0.9]) AS q FROM {variants} v "
                f"JOIN {pc} p USING (code) WHERE __SLICE__ GROUP BY p.cohort, v.variant",
                "v.h", db.slices(log.n_cases),
            )
        out = out.with_columns(
            pl.col("q").list.get(0).alias("median_duration"), pl.col("q").list.get(1).alias("p90_duration")
        )
        return out.select(
            pl.col("cohort").cast(pl.UInt32),
            pl.col("variant").cast(pl.List(pl.UInt32)),
            pl.col("cases").cast(pl.UInt32),
            pl.col("first").cast(pl.UInt32),
            pl.col("codes").cast(pl.List(pl.UInt32)),
            pl.col("median_duration", "p90_duration").cast(pl.Float64),
        )

    @staticmethod
    def _kept(lg: DuckDBJourneyLog, what: str, selects: Sequence[str], columns: str | None = None) -> str:
        """A table of the rows of ``selects``, built once per log and dropped with it: one
        ``CREATE TABLE AS``, or, with ``columns``, a table of those columns filled by each
        select in turn (slices whose states must not be held at once)."""
        key = f"duckdb_table:{what}"
        name = lg._cache.get(key)
        if name is None:
            db = lg._db
            name = db.name(what)
            if columns is None:
                db.run(f"CREATE TABLE {name} AS {' UNION ALL '.join(selects)}")
            else:
                db.run(f"CREATE TABLE {name} ({columns})")
                try:
                    for select in selects:
                        db.run(f"INSERT INTO {name} {select}")
                except BaseException:
                    db.run(f"DROP TABLE IF EXISTS {name}")
                    raise
            lg._cache[key] = name
        return str(name)

    @classmethod
    def _variants(cls, lg: DuckDBJourneyLog) -> str:
        """A table of each case's variant (``code``, ``variant``, the list of its activity
        indices, and ``h``, a hash of it for slicing), built once per log, in slices of
        cases (list states are held in memory)."""
        n = lg._db.slices(lg.n_events)
        return cls._kept(
            lg, "variants",
            [
                f"SELECT code, variant, hash(variant) FROM (SELECT code, list(act ORDER BY i) AS variant "
                f"FROM {lg._table} WHERE {'true' if n == 1 else f'code % {n} = {i}'} GROUP BY code)"
                for i in range(n)
            ],
            columns="code INTEGER, variant INTEGER[], h UBIGINT",
        )

    # -- clustering ----------------------------------------------------------------------
    @staticmethod
    def _g() -> str:
        # (greatest() skips nulls: the last event of a journey, without a gap, stays null)
        return "CASE WHEN e.gap IS NOT NULL THEN log10(greatest(e.gap / 1e6, 1.0)) END"

    def transition_gaps(self, log: JourneyLog) -> pl.DataFrame:
        lg = _log(log)
        out = lg._db.frame(
            f"SELECT e.act, e.tgt, count(*) AS n, {_fixed_sum(self._g())} AS s FROM {lg._table} e "
            "WHERE e.tgt IS NOT NULL GROUP BY ALL ORDER BY e.act, e.tgt"
        )
        return out.select(pl.col("act", "tgt").cast(pl.Int32), pl.col("n").cast(pl.UInt32),
                          pl.col("s").cast(pl.Float64))

    def clustering_units(
        self,
        log: JourneyLog,
        pace_edges: np.ndarray,
        coarse_edges: np.ndarray,
        n_buckets: int,
        baseline: tuple[pl.DataFrame, float] | None,
    ) -> pl.DataFrame:
        lg = _log(log)
        db = lg._db
        table, default = baseline if baseline is not None else (
            pl.DataFrame(schema={"act": pl.Int32, "tgt": pl.Int32, "base": pl.Float64}), 0.0)
        table = table.select(pl.col("act", "tgt").cast(pl.Int32), pl.col("base").cast(pl.Float64))
        variants = self._variants(lg)
        pace = db.name("pace")
        try:
            self._pace(lg, pace, table, default)
            out = self._units_of(lg, pace, variants, pace_edges, coarse_edges, n_buckets)
        finally:
            db.run(f"DROP TABLE IF EXISTS {pace}")
        return out

    def _pace(self, lg: DuckDBJourneyLog, pace: str, table: pl.DataFrame, default: float) -> None:
        """Each case's pace in the table ``pace``: its median (residual) log gap and the sums
        of its gaps, in slices of cases (the quantile states hold every gap)."""
        db = lg._db
        with db.register(table) as b:
            db.run(f"CREATE TEMP TABLE {pace} (code INTEGER, m DOUBLE, gn BIGINT, gs DOUBLE, gq DOUBLE)")
            n = db.slices(lg.n_events)
            for i in range(n):
                db.run(
                    f"INSERT INTO {pace} SELECT code, quantile_cont(g, 0.5), count(g), "
                    f"{_fixed_sum('g')}, {_fixed_sum('g * g')} FROM ("
                    f"  SELECT e.code, {self._g()} - coalesce(b.base, {float(default)!r}) AS g"
                    f"  FROM {lg._table} e LEFT JOIN {b} b ON b.act = e.act AND b.tgt = e.tgt"
                    f"  WHERE {'true' if n == 1 else f'e.code % {n} = {i}'}"
                    ") GROUP BY code"
                )

    @staticmethod
    def _units_of(
        lg: DuckDBJourneyLog, pace: str, variants: str, pace_edges: np.ndarray, coarse_edges: np.ndarray,
        n_buckets: int,
    ) -> pl.DataFrame:
        """The (variant, pace group) units from each case's pace and variant."""

        def above(edges: np.ndarray) -> str:
            # numpy's searchsorted(edges, m, side="right"): how many edges are <= m
            if not len(edges):
                return "0"
            items = ", ".join(repr(float(e)) for e in edges)
            return f"len(list_filter([{items}]::DOUBLE[], lambda x: x <= m))"

        out = lg._db.sliced(
            "SELECT variant, \"group\", arg_min(pace, code) AS pace, count(*) AS n, "
            "list(code ORDER BY code) AS code, sum(gn) AS pn, "
            f"coalesce({_fixed_sum('gs')}, 0.0) AS ps, coalesce({_fixed_sum('gq')}, 0.0) AS pq FROM ("
            f"  SELECT v.variant, v.h, p.*, CASE WHEN m IS NULL THEN {int(n_buckets)} "
            f"  ELSE {above(coarse_edges)} END AS pace,"
            f"  CASE WHEN m IS NULL THEN -1 ELSE {above(pace_edges)} END AS \"group\" "
            f"  FROM {pace} p JOIN {variants} v USING (code)"
            ") WHERE __SLICE__ GROUP BY variant, \"group\"",
            "h", lg._db.slices(lg.n_cases),
        )
        out = out.select(
            pl.col("variant").cast(pl.List(pl.UInt32)),
            pl.col("group").cast(pl.Int64),
            pl.col("pace").cast(pl.Int64),
            pl.col("n").cast(pl.UInt32),
            pl.col("code").cast(pl.List(pl.Int64)),
            pl.col("pn", "ps", "pq").cast(pl.Float64),
        )
        return out.sort(pl.col("code").list.first())

    def case_items(self, log: JourneyLog) -> tuple[pl.DataFrame, pl.DataFrame]:
        lg = _log(log)
        pairs = lg._db.frame(f"SELECT DISTINCT code, act FROM {lg._table} ORDER BY code, act")
        steps = lg._db.frame(
            f"SELECT DISTINCT code, act, tgt FROM {lg._table} WHERE tgt IS NOT NULL ORDER BY code, act, tgt"
        )
        return (pairs.cast(pl.Int64), steps.cast(pl.Int64))

    # -- stages --------------------------------------------------------------------------
    def _positions(self, lg: DuckDBJourneyLog, pc: str) -> str:
        return (
            f"SELECT e.*, CASE WHEN p.n > 1 THEN e.i / (p.n - 1) ELSE 0.0 END AS position "
            f"FROM {lg._table} e JOIN {pc} p USING (code)"
        )

    def position_stats(self, log: JourneyLog) -> dict[str, pl.DataFrame]:
        lg = _log(log)
        db = lg._db
        has_stage = "stage" in log.mapping.roles()
        per_case = per_case_frame(log, n=log.to_polars("cases").get_column("n_events").cast(pl.Float64))
        with db.register(per_case) as pc:
            pos = self._positions(lg, pc)
            # medians from the counts of each distinct position (i / (n - 1) takes few values):
            # one scan with a small group-by, where quantile states would hold every event
            out = {
                "typical": _median_of_counts(db.frame(
                    f"SELECT act, position, count(*) AS n FROM ({pos}) GROUP BY ALL"
                ), "act"),
                "weights": db.frame(
                    f"SELECT act, tgt, count(*) AS len FROM {lg._table} "
                    "WHERE tgt IS NOT NULL AND act <> tgt GROUP BY ALL"
                ),
            }
            if has_stage:
                out["stage_pos"] = _median_of_counts(db.frame(
                    f"SELECT stage, position, count(*) AS n FROM ({pos}) WHERE stage IS NOT NULL GROUP BY ALL"
                ), "stage")
                out["act_stage"] = db.frame(
                    f"SELECT act, stage, count(*) AS len FROM {lg._table} "
                    "WHERE stage IS NOT NULL GROUP BY ALL"
                )
        out["typical"] = out["typical"].cast({"act": pl.UInt32, "position": pl.Float64})
        out["weights"] = out["weights"].cast({"act": pl.UInt32, "tgt": pl.UInt32, "len": pl.UInt32})
        if has_stage:
            out["stage_pos"] = out["stage_pos"].cast({"stage": pl.String, "position": pl.Float64})
            out["act_stage"] = out["act_stage"].cast({"act": pl.UInt32, "stage": pl.String, "len": pl.UInt32})
        return out

    @staticmethod
    @contextlib.contextmanager
    def _stage_ranks(
        lg: DuckDBJourneyLog, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> Iterator[tuple[str, str]]:
        """For the length of a ``with``: the join an event's stage rank needs and SQL for
        that rank (the events as ``e``): its stage column's rank where set (a registered
        (stage, rank) table joined as ``s``), else its activity's."""
        rank = f"list_extract({_int_list(act_rank)}, e.act + 1)"
        if "stage" not in lg.mapping.roles() or not stage_rank:
            yield "", rank
            return
        stages = pl.DataFrame({"stage": list(stage_rank), "rank": list(stage_rank.values())},
                              schema={"stage": pl.String, "rank": pl.Int32})
        with lg._db.register(stages) as sr:
            yield f"LEFT JOIN {sr} s ON s.stage = e.stage", f"coalesce(s.rank, {rank})"

    @staticmethod
    def _stage_steps(lg: DuckDBJourneyLog, join: str, srank: str, *, moves: bool) -> str:
        """SQL for every event with its account, stage rank, the microseconds to the next
        event (``us``, 0 for the last) and whether it opens a visit to its stage; with
        ``moves``, the next event's stage rank (``to``) as well. ``join`` and ``srank`` come
        from :meth:`_stage_ranks`."""
        to = "lead(srank) OVER w AS \"to\", " if moves else ""
        return (
            f"SELECT code, srank, coalesce(gap, 0) AS us, {to}"
            "coalesce(lag(srank) OVER w <> srank, true) AS visit FROM ("
            f"SELECT e.code, e.i, e.gap, {srank} AS srank FROM {lg._table} e {join}"
            ") WINDOW w AS (PARTITION BY code ORDER BY i)"
        )

    def stage_visits(
        self, log: JourneyLog, cohort: pl.Series, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        lg = _log(log)
        db = lg._db
        per_case = per_case_frame(log, cohort=cohort.cast(pl.Int32))
        with (
            db.register(per_case) as pc,
            self._stage_ranks(lg, act_rank, stage_rank) as (join, srank),
            db.temp("visits", self._stage_steps(lg, join, srank, moves=True)) as visits,
        ):
            per = db.frame(
                # sums of integer microseconds: exact, whatever the order threads add them in
                "SELECT p.cohort, v.code, v.srank, CAST(sum(v.us) AS DOUBLE) / 1e6 AS seconds, "
                "count(*) FILTER (WHERE v.visit) AS visits, count(*) AS events "
                f"FROM {visits} v JOIN {pc} p USING (code) GROUP BY ALL"
            )
            # distinct cases from a table of (case, move) counts: a distinct-count state
            # is held in memory, a group-by spills
            trans = db.frame(
                "SELECT p.cohort, m.srank, m.\"to\", sum(m.n) AS count, count(*) AS cases FROM ("
                f"  SELECT code, srank, \"to\", count(*) AS n FROM {visits} "
                "  WHERE \"to\" IS NOT NULL AND \"to\" <> srank GROUP BY ALL"
                f") m JOIN {pc} p USING (code) GROUP BY ALL"
            )
        per = per.select(
            pl.col("cohort").cast(pl.UInt32), pl.col("code").cast(pl.UInt32), pl.col("srank").cast(pl.Int32),
            pl.col("seconds").cast(pl.Float64),
            pl.col("visits", "events").cast(pl.UInt32),
        )
        trans = trans.select(
            pl.col("cohort").cast(pl.UInt32), pl.col("srank").cast(pl.Int32), pl.col("to").cast(pl.Int32),
            pl.col("count").cast(pl.UInt32), pl.col("cases").cast(pl.UInt32),
        )
        return per, trans

    def stage_summary(
        self, log: JourneyLog, cohort: pl.Series, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> pl.DataFrame:
        lg = _log(log)
        db = lg._db
        per_case = per_case_frame(log, cohort=cohort.cast(pl.Int32))
        with (
            db.register(per_case) as pc,
            self._stage_ranks(lg, act_rank, stage_rank) as (join, srank),
            db.temp(
                "per",
                "SELECT p.cohort, x.* FROM ("
                "  SELECT code, srank, sum(us) AS us, CAST(sum(us) AS DOUBLE) / 1e6 AS seconds,"
                "  count(*) FILTER (WHERE visit) AS visits "
                f"  FROM ({self._stage_steps(lg, join, srank, moves=False)}) GROUP BY code, srank"
                f") x JOIN {pc} p USING (code)",
            ) as per,
        ):
            n_rows = int(db.frame(f"SELECT count(*) AS n FROM {per}").item())
            out = db.sliced(
                "SELECT cohort, srank, count(*) AS accounts, quantile_cont(seconds, [0.5, 0.9]) AS q, "
                "CAST(sum(us) AS DOUBLE) / count(*) / 1e6 AS mean, "
                f"quantile_cont(visits, 0.5) AS median_visits FROM {per} "
                "WHERE __SLICE__ GROUP BY cohort, srank",
                "hash(cohort, srank)", db.slices(2 * n_rows),
            )
        return out.select(
            pl.col("cohort").cast(pl.UInt32),
            pl.col("srank").cast(pl.Int32),
            pl.col("accounts").cast(pl.UInt32),
            pl.col("q").list.get(0).alias("median"),
            pl.col("q").list.get(1).alias("p90"),
            pl.col("mean").cast(pl.Float64),
            pl.col("median_visits").cast(pl.Float64),
        )

    # -- outcomes and KPIs ---------------------------------------------------------------
    def first_times(self, log: JourneyLog, outcomes: dict[str, list[str]]) -> pl.DataFrame:
        lg = _log(log)
        index = {a: i for i, a in enumerate(log.activities)}
        codes = {name: [index[a] for a in acts if a in index] for name, acts in outcomes.items()}
        wanted = sorted({c for cs in codes.values() for c in cs})
        if not wanted or not codes:
            out = pl.DataFrame(schema={"code": pl.Int64, **{n: pl.Int64 for n in outcomes}})
        else:
            cols = ", ".join(
                f"min(ts) FILTER (WHERE act IN ({', '.join(map(str, cs)) or 'NULL'})) AS __t{i}"
                for i, cs in enumerate(codes.values())
            )
            out = lg._db.frame(
                f"SELECT code, {cols} FROM {lg._table} WHERE act IN ({', '.join(map(str, wanted))}) "
                "GROUP BY code ORDER BY code"
            ).rename({f"__t{i}": name for i, name in enumerate(codes)})
        return out.with_columns(
            pl.col("code").cast(pl.Int64),
            *[pl.col(n).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for n in outcomes],
        )

    def case_facts(
        self, log: JourneyLog, per_case: pl.DataFrame, sales: list[str], buys: list[str]
    ) -> pl.DataFrame:
        lg = _log(log)
        roles = log.mapping.roles()
        index = {a: i for i, a in enumerate(log.activities)}

        def acts(names: list[str]) -> str:
            found = [str(index[a]) for a in names if a in index]
            return f"e.act IN ({', '.join(found)})" if found else "false"

        # only the accounts with a win or a close: for the others the LEFT JOIN below gives
        # the same nulls, and on millions of open accounts they would be sent for nothing
        times = per_case.filter(pl.col("won").is_not_null() | pl.col("_close").is_not_null()).select(
            pl.col("code").cast(pl.Int32),
            pl.col("won").dt.epoch("us").alias("won"),
            pl.col("_close").dt.epoch("us").alias("close"),
        )
        revenue = (
            # exact (fixed point) unless a value is not finite or too large for it: then the
            # float sum (NaN, inf); DuckDB evaluates both branches, so the fixed point's terms
            # are kept in its range (the others are 0 there, and that branch is not used)
            f"CASE WHEN count(*) FILTER (WHERE NOT ({_FITS})) > 0 THEN sum(e.value) "
            f"ELSE coalesce({_fixed_sum(f'CASE WHEN {_FITS} THEN e.value ELSE 0 END')}, 0.0) END"
            if "value" in roles else "NULL::DOUBLE"
        )
        with lg._db.register(times) as t:
            # distinct contacts before the win from the distinct (case, contact) pairs with
            # their first time: a group-by spills, a distinct-count state does not
            contacts = (
                "(SELECT c.code, count(*) FILTER (WHERE c.first < t.won) AS contacts_before FROM ("
                f"  SELECT code, contact, min(ts) AS first FROM {lg._table} WHERE contact IS NOT NULL "
                f"  GROUP BY code, contact) c LEFT JOIN {t} t USING (code) GROUP BY c.code)"
            )
            has_contact, has_value = "contact" in roles, "value" in roles
            out = lg._db.frame(
                # the final types in SQL (Arrow hands them over without a copy per column), and
                # no column for a role the log lacks (a constant null below, never materialised)
                "SELECT CAST(f.code AS BIGINT) AS code, "
                "CAST(f.touches_before AS UINTEGER) AS touches_before, "
                + ("CAST(coalesce(c.contacts_before, 0) AS UINTEGER) AS contacts_before, "
                   if has_contact else "")
                + "f._sales, CAST(f.purchases AS UINTEGER) AS purchases, "
                + ("CAST(f.revenue AS DOUBLE) AS revenue, " if has_value else "")
                + "CAST(f.events AS UINTEGER) AS events FROM ("
                "  SELECT e.code, count(*) FILTER (WHERE e.ts < t.won) AS touches_before, "
                f"  min(e.ts) FILTER (WHERE {acts(sales)} AND e.ts <= t.close) AS _sales, "
                f"  count(*) FILTER (WHERE {acts(buys)}) AS purchases, "
                + (f"{revenue} AS revenue, " if has_value else "")
                + f"  count(*) AS events FROM {lg._table} e LEFT JOIN {t} t USING (code) GROUP BY e.code"
                ") f "
                + (f"LEFT JOIN {contacts} c USING (code) " if has_contact else "")
                + "ORDER BY f.code"
            )
        return out.select(
            "code",
            "touches_before",
            pl.col("contacts_before") if has_contact
            else pl.lit(None, dtype=pl.UInt32).alias("contacts_before"),
            pl.col("_sales").cast(pl.Datetime("us", "UTC")),  # from integer microseconds: no copy
            "purchases",
            pl.col("revenue") if has_value else pl.lit(None, dtype=pl.Float64).alias("revenue"),
            "events",
        )

    # -- buying committees ---------------------------------------------------------------
    def committee_touches(
        self, log: JourneyLog, act_rank: np.ndarray, stage_rank: dict[str, int]
    ) -> pl.DataFrame:
        lg = _log(log)
        db = lg._db
        role = "CAST(e.role AS VARCHAR)" if "role" in log.mapping.roles() else "NULL::VARCHAR"
        contact = "CAST(e.contact AS VARCHAR)" if "contact" in log.mapping.roles() else "NULL::VARCHAR"
        with self._stage_ranks(lg, act_rank, stage_rank) as (join, srank):
            out = db.frame(
                f"SELECT e.code, {contact} AS contact, {role} AS role, {srank} AS srank, "
                f"min(e.ts) AS first, count(*) AS touches FROM {lg._table} e {join} GROUP BY ALL"
            )
        return out.select(
            pl.col("code").cast(pl.Int64),
            pl.col("contact").cast(pl.String),
            pl.col("role").cast(pl.String),
            pl.col("srank").cast(pl.Int32),
            pl.col("first").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            pl.col("touches").cast(pl.Int64),
        )

    def committee_handovers(self, log: JourneyLog, cohort: pl.Series) -> pl.DataFrame:
        lg = _log(log)
        db = lg._db
        schema = {"cohort": pl.UInt32, "source": pl.String, "target": pl.String,
                  "count": pl.Int64, "accounts": pl.Int64, "median": pl.Float64}
        roles = log.mapping.roles()
        if "role" not in roles or "contact" not in roles:
            return pl.DataFrame(schema=schema)
        per_case = per_case_frame(log, cohort=cohort.cast(pl.Int32))
        with db.register(per_case) as pc, db.temp(
            "handovers",
            "SELECT p.cohort, h.code, h.source, h.target, h.gap FROM ("
            "  SELECT code, source, target, gap FROM ("
            "    SELECT code, contact, source, lead(contact) OVER w AS next_contact,"
            "    lead(source) OVER w AS target, lead(ts) OVER w - ts AS gap FROM ("
            "      SELECT code, i, ts, CAST(contact AS VARCHAR) AS contact,"
            f"      coalesce(CAST(role AS VARCHAR), {_lit(NO_ROLE)}) AS source FROM {lg._table}"
            "      WHERE contact IS NOT NULL"
            "    ) WINDOW w AS (PARTITION BY code ORDER BY i)"
            "  ) WHERE next_contact IS NOT NULL AND next_contact <> contact"
            f") h JOIN {pc} p USING (code)",
        ) as steps:
            n_steps = int(db.frame(f"SELECT count(*) AS n FROM {steps}").item())
            out = db.sliced(
                "SELECT cohort, source, target, count(*) AS count, quantile_cont(gap, 0.5) / 1e6 AS median "
                f"FROM {steps} WHERE __SLICE__ GROUP BY ALL",
                "hash(cohort, source, target)", db.slices(n_steps),
            )
            # distinct accounts from distinct (account, pair) rows: a group-by spills
            accounts = db.frame(
                "SELECT cohort, source, target, count(*) AS accounts FROM "
                f"(SELECT DISTINCT cohort, code, source, target FROM {steps}) GROUP BY ALL"
            )
        out = out.join(accounts, on=["cohort", "source", "target"], how="left")
        if out.height == 0:
            return pl.DataFrame(schema=schema)
        return out.select(*schema).cast(schema).sort("cohort", "source", "target")  # type: ignore[arg-type]


#: the engine of every DuckDB log (it holds no state: the log holds its database)
DUCKDB = DuckDBEngine()

