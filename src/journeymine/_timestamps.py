"""Parsing of timestamp columns into one representation: microseconds, UTC.

Rules (documented in ``docs/data-model.md``):

* tz-aware values are converted to UTC, whatever their offsets (mixed offsets are fine);
* naive values are read in the time zone ``tz`` (UTC unless given), then converted to UTC;
  local times that do not exist (a daylight-saving gap) cannot be placed and are
  reported as unparsable; ambiguous ones (the hour repeated in autumn) take the earlier;
* date-only values mean midnight in ``tz``;
* with a format given (``fmt``), text is read with that format only: rows it does not fit
  are unparsable, nothing is guessed;
* otherwise the date order is decided once per column, from all of its values, never per
  value:

  - year-first numbers (``2024-01-02``, ``2024/01/02``, ``2024.1.2``) are always
    year-month-day; a month above 12 is unparsable, never swapped;
  - day/month/year or month/day/year numbers (``02/01/2024``, ``2.1.24``, ``02-01-2024``):
    a first field of 13-31 anywhere in the column makes it day-first, a second field of
    13-31 month-first; both in one column, or neither (every value could be read both
    ways), is a :class:`~journeymine.SchemaError` unless ``dayfirst`` decides; values
    impossible in the chosen order are unparsable;
  - two-digit years follow the C ``strptime`` ``%y`` pivot: 00-68 are 2000-2068, 69-99
    are 1969-1999;
  - the time may follow after a space or ``T``: ``14:30``, ``14:30:05``, ``14:30:05.25``,
    ``2:30 PM``, then an offset (``Z``, ``+02:00``, ``-0500``, ``+02``);
  - a time-zone name at the end (``UTC``, ``GMT``, ``Europe/Berlin``) places that row in
    that zone; ``GMT+2`` and ``UTC+2`` mean two hours *ahead* of UTC (as people write them,
    not the inverted POSIX ``Etc/GMT+2``); an unknown name makes the row unparsable;
  - values with a month name and a four-digit year (``Jan 2, 2024``, ``2 February 2024
    10:00``) and compact ``20240102[T1030[00]]`` values go to pandas' ``format="mixed"``
    parser, where the order cannot be mistaken; nothing else does.

How: the common ISO 8601 column is read in one vectorised pass with one ISO format (the
candidate that reads most of a sample of the first 1,000 values; only the speed depends on
the sample), in parallel chunks when large. Only the rows that pass misses go to
:func:`_read_rest`: zone names are split off (and resolved once per distinct name), a
second ISO pass reads ISO in another form, numeric dates are taken apart with one regex
per family and rebuilt from integers, and the rest goes to pandas as above. Every input
string is either read or null; no single bad row raises.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import warnings
from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl

from .errors import SchemaError

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

UTC_US = pl.Datetime("us", "UTC")
_NAIVE_US = pl.Datetime("us")

# ISO 8601 forms for the first pass, most common first. Only year-first formats: they
# cannot misread a day as a month (but see the two-digit-year guard in _parse_strings).
_CANDIDATES = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",  # XES and ISO with Z, +hh:mm, +hhmm or +hh
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)
_CHUNK = 500_000
_YEAR_100 = -59_011_459_200_000_000  # 0100-01-01 in microseconds since 1970 (an int compare is cheap)

# The numeric date families, with an optional time and offset after the date.
_TIME = (
    r"(?:[Tt ]\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d+))?)?"
    r"(?:\s*(?P<P>[AaPp])\.?[Mm]\.?)?)?"
    r"(?:\s*(?P<Z>[Zz]|[+-]\d{2}(?::?\d{2})?))?$"
)
_YMD = r"^(?P<y>\d{4})[/.\-](?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})" + _TIME
_DMY_DATE = r"^(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})"
_DMY = _DMY_DATE + _TIME
_NUMERIC_DATE = r"^(?:\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2}))(?:\D|$)"
# What pandas may read: a month name and a four-digit year and no d/m/y triple, or compact.
_MONTH_NAME = r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b\.?"
_DMY_ANYWHERE = r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}"
_COMPACT = r"^\d{8}(?:[Tt ]?\d{4}(?:\d{2})?(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}:?\d{2})?$"
_OFFSET_END = r"(?:[Zz]|[+-]\d{2}:?\d{2})\s*$"
# A trailing word after the date/time that may be a time-zone name (or AM/PM, a month …).
_ZONE_TOKEN = r"\s([A-Za-z][A-Za-z0-9_]*(?:[+-]\d{1,2}(?::?\d{2})?)?(?:/[A-Za-z0-9_+\-]+)*)$"
_UTC_PLUS = re.compile(r"(?:UTC|GMT|UT|Z)(?:([+-])(\d{1,2})(?::?(\d{2}))?)?", re.IGNORECASE)
_NOT_ZONES = frozenset(
    ["AM", "PM"]
    + [m.upper() for m in (*calendar.month_name[1:], *calendar.month_abbr[1:], "Sept")]
    + [d.upper() for d in (*calendar.day_name, *calendar.day_abbr)]
)


def parse_timestamps(
    values: pl.Series, *, column: str, tz: str | None, fmt: str | None, dayfirst: bool | None = None
) -> pl.Series:
    """Return ``values`` as ``Datetime("us", "UTC")``; nulls mark missing or unparsable values.

    Parameters
    ----------
    values : polars.Series
        Text, ``Datetime`` (naive or aware), ``Date`` or all-null values.
    column : str
        The column's name, for error messages.
    tz : str or None
        IANA zone in which naive values are read (UTC when ``None``).
    fmt : str or None
        A strftime format that every value should have; rows it does not fit are null.
    dayfirst : bool or None
        How to read ``01/02/2024``: ``True`` as 1 February, ``False`` as January 2,
        ``None`` to decide from the column (and raise if the column cannot tell).

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.Series(["01/02/2024", "25/12/2024 18:00", "2024-03-01T09:00Z", "bad"])
    >>> parse_timestamps(s, column="at", tz=None, fmt=None).dt.to_string("%Y-%m-%d %H:%M").to_list()
    ['2024-02-01 00:00', '2024-12-25 18:00', '2024-03-01 09:00', None]
    """
    zone = tz or "UTC"
    if not _zone_ok(zone):
        raise SchemaError(
            f"Unknown time zone {zone!r} for naive timestamps in column {column!r}: use an IANA "
            "name such as 'Europe/Amsterdam' or 'UTC'."
        )
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return _localize(values.cast(_NAIVE_US), zone)
        return values.dt.convert_time_zone("UTC").cast(UTC_US)
    if dtype == pl.Date:
        return _localize(values.cast(_NAIVE_US), zone)
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return _parse_strings(values.cast(pl.String), column=column, zone=zone, fmt=fmt, dayfirst=dayfirst)
    if dtype == pl.Null:
        return _nulls(values.name, len(values), UTC_US)
    raise SchemaError(
        f"The timestamp column {column!r} holds values of type {dtype}, which journeymine "
        "cannot read as points in time. Convert it first, for example with "
        f"df[{column!r}] = pandas.to_datetime(df[{column!r}], unit='s') for epoch seconds."
    )


def check_numbers_as_text(text: pl.Series, parsed: pl.Series, column: str) -> None:
    """The timestamp column of a log is text of which no value is a time and every value a
    number (a CSV export of epoch seconds): an error naming the possible units, rather than
    every row set aside as unparsable."""
    if text.dtype not in (pl.String, pl.Categorical) and not isinstance(text.dtype, pl.Enum):
        return
    if parsed.null_count() < len(parsed):
        return
    given = text.cast(pl.String).drop_nulls()
    if given.len() == 0 or not bool(given.str.contains(r"^\s*[+-]?\d+(?:\.\d+)?\s*$").all()):
        return
    examples = ", ".join(repr(v) for v in given.unique(maintain_order=True).head(3).to_list())
    raise SchemaError(
        f"The timestamp column {column!r} holds numbers in all of its {given.len():,} non-empty "
        f"values (e.g. {examples}), which could be epoch seconds, milliseconds or spreadsheet serial "
        "days; journeymine does not guess which. Convert them to times first, e.g. in pandas "
        f"df[{column!r}] = pandas.to_datetime(pandas.to_numeric(df[{column!r}]), unit='s', utc=True) "
        "(unit='ms' for milliseconds) and read the frame with JourneyLog.from_frame, or write the "
        "times as ISO 8601 text."
    )


def _nulls(name: str, n: int, dtype: PolarsDataType) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype, eager=True).alias(name)


@lru_cache(maxsize=1024)
def _zone_ok(zone: str) -> bool:
    """Whether polars knows the time zone ``zone``."""
    try:
        pl.Series([None], dtype=_NAIVE_US).dt.replace_time_zone(zone)
    except pl.exceptions.PolarsError:
        return False
    return True


def _localize(naive: pl.Series, zone: str) -> pl.Series:
    """Naive local times in a known ``zone`` as UTC; DST gaps become null."""
    aware = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    return aware.dt.convert_time_zone("UTC").cast(UTC_US)


def _to_utc(parsed: pl.Series, zone: str) -> pl.Series:
    if isinstance(parsed.dtype, pl.Datetime) and parsed.dtype.time_zone is not None:
        return parsed.dt.convert_time_zone("UTC").cast(UTC_US)
    return _localize(parsed.cast(_NAIVE_US), zone)


def _clean(values: pl.Series) -> pl.Series:
    """Strip blanks; empty strings become null."""
    text = values
    stripped = values.str.strip_chars()  # a length check is faster than a regex for ^\s|\s$
    if bool((stripped.str.len_bytes() != values.str.len_bytes()).any()):
        text = stripped
    del stripped
    if bool((text == "").any()):
        text = text.set(text == "", None)  # type: ignore[arg-type,unused-ignore]
    return text


def _parse_strings(
    values: pl.Series, *, column: str, zone: str, fmt: str | None, dayfirst: bool | None
) -> pl.Series:
    text = _clean(values)
    if fmt is not None:
        try:
            return _to_utc(_first_pass(text, fmt), zone)
        except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
            return _nulls(values.name, len(text), UTC_US)
    iso = _iso_format(text)
    if iso is None:
        parsed = _nulls(values.name, len(text), UTC_US)
        missed = text.is_not_null()
    else:
        first = _first_pass(text, iso)
        # chrono's %Y also reads one or two digits: "12/10/11" fits %Y/%m/%d as the year 12.
        # Such rows are day/month dates and go to _read_rest (a real year < 100 comes back).
        missed = text.is_not_null() & (first.is_null() | (first.to_physical() < _YEAR_100))
        parsed = _to_utc(first, zone)
        del first
    if not bool(missed.any()):
        return parsed
    idx = missed.arg_true()
    rest = _read_rest(text.gather(idx), column=column, zone=zone, dayfirst=dayfirst)
    return parsed.scatter(idx, rest)


def _iso_format(text: pl.Series) -> str | None:
    """The ISO candidate that reads most of a sample of the column (all of it, usually).

    Only the speed depends on this choice: the rows it misses are read by ``_read_rest``.
    """
    sample = text.drop_nulls().head(1_000)
    best, best_hits = None, 0
    for fmt in _CANDIDATES:
        got = sample.str.to_datetime(format=fmt, strict=False, time_unit="us")
        hits = int((got.dt.year() >= 100).sum())
        if hits == sample.len():
            return fmt
        if hits > best_hits:
            best, best_hits = fmt, hits
    return best


def _first_pass(text: pl.Series, fmt: str) -> pl.Series:
    """Parse with one format; large columns in parallel chunks (polars runs the chunks'
    queries on every core)."""
    if text.len() <= _CHUNK:
        return text.str.to_datetime(format=fmt, strict=False, time_unit="us")
    queries = [
        pl.LazyFrame({"t": text.slice(start, _CHUNK)}).select(
            # no cache: timestamps are mostly distinct, hashing them costs more than it saves
            pl.col("t").str.to_datetime(format=fmt, strict=False, time_unit="us", cache=False)
        )
        for start in range(0, text.len(), _CHUNK)
    ]
    return pl.concat([f.to_series() for f in pl.collect_all(queries)]).alias(text.name)


# -- the rows the ISO pass missed ---------------------------------------------------------
def _read_rest(rest: pl.Series, *, column: str, zone: str, dayfirst: bool | None) -> pl.Series:
    """Read non-ISO text: zone names, numeric day/month dates, month names."""
    body, zone_offset, named = _split_zones(rest)
    local, offset = _read_iso(body)  # ISO in another form than the first pass, or before a zone
    idx = (local.is_null() & body.is_not_null()).arg_true()
    if idx.len():
        got = _read_numeric(body.gather(idx), rest.gather(idx), column=column, dayfirst=dayfirst)
        local, offset = local.scatter(idx, got[0]), offset.scatter(idx, got[1])
    todo = _where(local.is_null(), body)
    by_pandas = (
        ~todo.str.contains(_NUMERIC_DATE).fill_null(True)
        & (
            (todo.str.contains(_MONTH_NAME) & todo.str.contains(r"\d{4}") & ~todo.str.contains(_DMY_ANYWHERE))
            | todo.str.contains(_COMPACT)
        ).fill_null(False)
    )
    if bool(by_pandas.any()):
        idx = by_pandas.arg_true()
        p_local, p_offset = _read_with_pandas(body.gather(idx))
        local, offset = local.scatter(idx, p_local), offset.scatter(idx, p_offset)
    return _place(local, _coalesce(offset, zone_offset), named, zone)


def _where(keep: pl.Series, values: pl.Series) -> pl.Series:
    """``values`` where ``keep``, else null (null rows cost string functions nothing)."""
    keep = keep.fill_null(False)
    if bool(keep.all()):
        return values
    return pl.select(pl.when(keep).then(values)).to_series().alias(values.name)


def _coalesce(first: pl.Series, then: pl.Series) -> pl.Series:
    return pl.select(pl.coalesce(first, then)).to_series().alias(first.name)


def _read_iso(body: pl.Series) -> tuple[pl.Series, pl.Series]:
    """ISO values as (naive local time, or UTC with offset 0 when they had an offset)."""
    fmt = _iso_format(body)
    if fmt is None:
        return _nulls(body.name, len(body), _NAIVE_US), _nulls(body.name, len(body), pl.Int32)
    first = _first_pass(body, fmt)
    first = _where(first.is_not_null() & (first.to_physical() >= _YEAR_100), first)  # see _parse_strings
    if isinstance(first.dtype, pl.Datetime) and first.dtype.time_zone is not None:
        local = first.dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(_NAIVE_US)
        return local, _where(local.is_not_null(), pl.repeat(0, len(local), dtype=pl.Int32, eager=True))
    return first.cast(_NAIVE_US), _nulls(body.name, len(body), pl.Int32)


def _split_zones(rest: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Strip a trailing zone name: the text before it, its UTC offset in minutes (for
    ``UTC``, ``GMT+2`` …) and the IANA name (for ``Europe/Berlin`` …). A zone-like name
    that is not known makes the row's text null."""
    token = rest.str.extract(_ZONE_TOKEN, 1)
    offsets: dict[str, int] = {}
    zones: dict[str, str] = {}
    unknown: list[str] = []
    for name in token.drop_nulls().unique().to_list():
        kind = _zone_kind(name)
        if isinstance(kind, int):
            offsets[name] = kind
        elif kind == "zone":
            zones[name] = name
        elif kind == "unknown":
            unknown.append(name)
    no_offset = _nulls(rest.name, len(rest), pl.Int32)
    no_zone = _nulls(rest.name, len(rest), pl.String)
    if not (offsets or zones or unknown):
        return rest, no_offset, no_zone
    rows = pl.DataFrame({"rest": rest, "token": token})
    body = rows.select(
        pl.when(pl.col("token").is_in(unknown)).then(pl.lit(None, pl.String))
        .when(pl.col("token").is_in([*offsets, *zones]))
        .then(pl.col("rest").str.strip_suffix(pl.col("token")).str.strip_chars_end())
        .otherwise(pl.col("rest"))
    ).to_series().alias(rest.name)
    offset = token.replace_strict(offsets, default=None, return_dtype=pl.Int32) if offsets else no_offset
    named = token.replace_strict(zones, default=None, return_dtype=pl.String) if zones else no_zone
    return body, offset, named


def _zone_kind(token: str) -> int | str:
    """A trailing word: its UTC offset in minutes, ``"zone"`` (an IANA name),
    ``"unknown"`` (looks like a zone, is none) or ``"text"`` (AM/PM, a month or day name)."""
    if token.upper() in _NOT_ZONES:
        return "text"
    m = _UTC_PLUS.fullmatch(token)
    if m is not None:
        if m.group(1) is None:
            return 0
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes > 59:
            return "unknown"
        return (1 if m.group(1) == "+" else -1) * (60 * hours + minutes)
    return "zone" if _zone_ok(token) else "unknown"


def _read_numeric(
    body: pl.Series, raw: pl.Series, *, column: str, dayfirst: bool | None
) -> tuple[pl.Series, pl.Series]:
    """Year-first and day/month numeric dates: (naive local time, offset in minutes)."""
    ymd = _extract(body, _YMD, r"^\d{4}\D")
    dmy = _extract(body, _DMY, r"^\d{1,2}\D")
    first_is_day = True  # when no day/month date is readable, the order changes nothing
    if dmy.get_column("y").null_count() < dmy.height:
        a = dmy.get_column("a").cast(pl.Int32)
        b = dmy.get_column("b").cast(pl.Int32)
        first_is_day = _decide_order(a, b, raw, column=column, dayfirst=dayfirst)
    yy = pl.col("y").cast(pl.Int32)
    dmy = dmy.with_columns(
        pl.col("b" if first_is_day else "a").alias("month"),
        pl.col("a" if first_is_day else "b").alias("day"),
        pl.when(pl.col("y").str.len_bytes() == 4).then(yy)  # two-digit years: the %y pivot
        .when(yy < 69).then(yy + 2000).otherwise(yy + 1900).cast(pl.String).alias("y"),
    )
    ymd = ymd.rename({"a": "month", "b": "day"})
    fields = ("y", "month", "day", "H", "M", "S", "F", "P", "Z")
    parts = ymd.select(pl.coalesce(pl.col(f), dmy.get_column(f)).alias(f) for f in fields)
    local = _local_time(parts)
    if parts.get_column("Z").null_count() == parts.height:
        offset = _nulls(body.name, parts.height, pl.Int32)
    else:
        offset = parts.select(_offset_minutes()).to_series()
        # an offset that cannot be (+25:00, +01:99) makes the time unknown, not local
        impossible = parts.get_column("Z").is_not_null() & offset.is_null()
        if impossible.any():
            local = local.set(impossible, None)
    return local.alias(body.name), offset.alias(body.name)


def _extract(body: pl.Series, pattern: str, shape: str) -> pl.DataFrame:
    """The regex groups of ``pattern``, run only where the cheap ``shape`` test allows."""
    return _where(body.str.contains(shape).fill_null(False), body).str.extract_groups(pattern).struct.unnest()


def _local_time(parts: pl.DataFrame) -> pl.Series:
    """Naive datetime from the extracted fields; impossible dates and times give null.

    Built from integers in steps (a text round trip, or one nested expression, costs
    several times more on large columns).
    """
    hour, pm = pl.col("H").cast(pl.Int32).fill_null(0), pl.col("P").str.to_lowercase() == "p"
    ints = parts.select(
        *(pl.col(c).cast(pl.Int32) for c in ("y", "month", "day")),
        pl.when(pl.col("P").is_null()).then(hour)  # 12 AM is 0 h, 12 PM 12 h, 13 PM nothing
        .when(hour.is_between(1, 12)).then(hour % 12 + pl.when(pm).then(12).otherwise(0)).alias("H"),
        *(pl.col(c).cast(pl.Int32).fill_null(0) for c in ("M", "S")),
        pl.col("F").str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int32).fill_null(0),
    )
    y, month = pl.col("y"), pl.col("month")
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = (
        pl.when(month == 2).then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11])).then(30).otherwise(31)
    )
    ok = ints.select(
        month.is_between(1, 12) & pl.col("day").is_between(1, days) & pl.col("H").is_between(0, 23)
        & pl.col("M").is_between(0, 59) & pl.col("S").is_between(0, 59)
    ).to_series()
    if not bool(ok.all()):
        ints = ints.select(pl.when(ok).then(pl.col(c)).alias(c) for c in ints.columns)
    return ints.select(pl.datetime(*ints.columns, time_unit="us")).to_series()


def _offset_minutes() -> pl.Expr:
    """``Z``, ``+02:00``, ``-0500``, ``+02`` as minutes east of UTC; null when absent or
    impossible (24 hours or more, or minutes past 59: the range the ISO pass reads)."""
    z = pl.col("Z")
    digits = z.str.replace(":", "", literal=True)
    hours = digits.str.slice(1, 2).cast(pl.Int32, strict=False)
    minutes = digits.str.slice(3, 2).cast(pl.Int32, strict=False).fill_null(0)
    sign = pl.when(z.str.starts_with("-")).then(-1).otherwise(1)
    return (
        pl.when(z.str.to_uppercase() == "Z").then(0)
        .when((hours <= 23) & (minutes <= 59)).then(sign * (hours * 60 + minutes))
        .cast(pl.Int32)
    )


def _decide_order(a: pl.Series, b: pl.Series, raw: pl.Series, *, column: str, dayfirst: bool | None) -> bool:
    """Whether day/month dates of the column are day-first, from all of them at once."""
    if dayfirst is not None:
        return dayfirst
    day_first = (a.is_between(13, 31) & b.is_between(1, 12)).fill_null(False)
    month_first = (b.is_between(13, 31) & a.is_between(1, 12)).fill_null(False)
    n_day, n_month = int(day_first.sum()), int(month_first.sum())
    if n_day and n_month:
        fmt_d, fmt_m = _suggest_formats(raw.filter(day_first)[0])
        raise SchemaError(
            f"The timestamp column {column!r} mixes two date orders: {_rows(n_day)} can only be "
            f"day/month/year ({_examples(raw.filter(day_first), 3)}) and {_rows(n_month)} only "
            f"month/day/year ({_examples(raw.filter(month_first), 3)}), so no one reading of the "
            f"column is right. Clean the column to one order, or pass dayfirst=True or False (or "
            f"timestamp_format={fmt_d!r} or {fmt_m!r}; --dayfirst, --monthfirst or "
            "--timestamp-format on the command line) to read one order and set the rows that "
            "do not fit it aside as unparsable."
        )
    if n_day or n_month:
        return n_day > 0
    either = (a.is_between(1, 12) & b.is_between(1, 12)).fill_null(False)
    if bool(either.any()):
        ex = raw.filter(either)
        x, y = int(a.filter(either)[0]), int(b.filter(either)[0])
        date = re.split(r"[ Tt]", str(ex[0]))[0]
        year = int(re.split(r"[/.\-]", date)[-1][:4])
        year += 0 if year >= 100 else 2000 if year < 69 else 1900
        fmt_d, fmt_m = _suggest_formats(ex[0])
        raise SchemaError(
            f"The timestamp column {column!r} cannot tell day from month: {_rows(int(either.sum()))} "
            f"({_examples(ex, 5)}) write dates as day/month/year or month/day/year, and no value "
            f"has a day above 12 to show which. Pass dayfirst=True to read {date!r} as "
            f"{x} {calendar.month_name[y]} {year}, dayfirst=False to read it as "
            f"{calendar.month_name[x]} {y}, {year}, or timestamp_format={fmt_d!r} (or {fmt_m!r}); "
            "on the command line --dayfirst, --monthfirst or --timestamp-format."
        )
    return True  # no readable day/month date: the order changes nothing


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _examples(values: pl.Series, n: int) -> str:
    got = values.unique(maintain_order=True).head(n).to_list()
    return "e.g. " + ", ".join(repr(v) for v in got)


def _suggest_formats(example: str) -> tuple[str, str]:
    """Day-first and month-first strftime formats that fit ``example``."""
    m = re.match(_DMY_DATE + _TIME.removesuffix("$"), example)
    if m is None:
        return "%d/%m/%Y", "%m/%d/%Y"
    d1, d2 = example[m.end("a")], example[m.end("b")]
    year = "%Y" if len(m.group("y")) == 4 else "%y"
    time = ""
    if m.group("H") is not None:
        time = example[m.end("y")] + ("%I" if m.group("P") else "%H") + ":%M"
        time += ":%S" if m.group("S") else ""
        time += "%.f" if m.group("F") else ""
        time += " %p" if m.group("P") else ""
    return f"%d{d1}%m{d2}{year}{time}", f"%m{d1}%d{d2}{year}{time}"


def _read_with_pandas(body: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Month-name and compact values with pandas' mixed parser: (naive local, offset)."""
    aware = body.str.contains(_OFFSET_END).fill_null(False)
    local = _nulls(body.name, len(body), _NAIVE_US)
    offset = _nulls(body.name, len(body), pl.Int32)
    for rows, utc in ((aware, True), (~aware, False)):
        idx = rows.arg_true()
        if idx.len():
            got_local, got_offset = _pandas_mixed(body.gather(idx), utc=utc)
            local, offset = local.scatter(idx, got_local), offset.scatter(idx, got_offset)
    return local, offset


def _pandas_mixed(values: pl.Series, *, utc: bool) -> tuple[pl.Series, pl.Series]:
    """pandas ``format="mixed"``: (naive local, or UTC with offset 0 where pandas found one).

    One vectorised call; if pandas raises (mixed zones, out of bounds …) or finds offsets
    in values thought naive, each distinct value alone. No pandas error escapes.
    """
    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = pd.to_datetime(pd.Series(values.to_list(), dtype=object), format="mixed",
                                 errors="coerce", utc=utc)
        if utc or got.dt.tz is None:
            naive = got.dt.tz_convert(None) if utc else got
            local = pl.Series(values.name, naive.dt.as_unit("us")).cast(_NAIVE_US)
            found = pl.select(pl.when(local.is_not_null()).then(pl.lit(0 if utc else None, pl.Int32)))
            return local, found.to_series().alias(values.name)
    except Exception:  # mixed zones, out of bounds, overflow …: read each value alone
        pass
    one = {v: _pandas_one(v) for v in values.unique().drop_nulls().to_list()}  # rare: a loop is fine
    local = values.replace_strict({v: t[0] for v, t in one.items()}, default=None, return_dtype=_NAIVE_US)
    offset = values.replace_strict({v: t[1] for v, t in one.items()}, default=None, return_dtype=pl.Int32)
    return local, offset


def _pandas_one(value: str) -> tuple[dt.datetime | None, int | None]:
    """One value with pandas: (naive local or UTC, 0 if it had an offset)."""
    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts = pd.Timestamp(pd.to_datetime(value, format="mixed"))
        if pd.isna(ts):
            return None, None
        if ts.tzinfo is not None:
            return ts.tz_convert("UTC").tz_localize(None).as_unit("us").to_pydatetime(), 0
        return ts.as_unit("us").to_pydatetime(), None
    except Exception:  # pandas and dateutil raise many kinds; a value they cannot read is unparsable
        return None, None


def _place(local: pl.Series, offset: pl.Series, named: pl.Series, zone: str) -> pl.Series:
    """UTC instants from local times: by offset, else by the row's zone name, else in ``zone``."""
    rows = pl.DataFrame({"local": local, "offset": offset})
    by_offset = (pl.col("local") - pl.duration(minutes=pl.col("offset"))).dt.replace_time_zone("UTC")
    out = rows.select(by_offset).to_series().cast(UTC_US).alias(local.name)
    no_offset = offset.is_null()
    for name, rows_in in [(zone, named.is_null()), *((z, named == z) for z in named.drop_nulls().unique())]:
        idx = (no_offset & rows_in).arg_true()
        if idx.len():
            out = out.scatter(idx, _localize(local.gather(idx), name))
    return out
