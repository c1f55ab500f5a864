"""Parsing of timestamp columns into one representation: microseconds, UTC.

Rules (documented in ``docs/data-model.md``):

* tz-aware values are converted to UTC, whatever their offsets (mixed offsets are fine);
* naive values are read in the time zone ``tz`` (UTC unless given), then converted to UTC;
  local times that do not exist (a daylight-saving gap) cannot be placed and are
  reported as unparsable; ambiguous ones (the hour repeated in autumn) take the earlier;
* date-only values mean midnight in ``tz``;
* strings are parsed in one vectorised pass with one format: the one given, else the first
  of a list of common formats (ISO 8601 with or without offset and fraction, with ``T`` or a
  space, date-only, ``Y/m/d``) that reads every value of a sample of the first 1,000, else
  the one polars infers from the first value. Large columns are parsed in parallel chunks.
  The few rows that pass fails on get a second vectorised pass with pandas'
  ``format="mixed"`` parser; what both fail on is unparsable.
"""

from __future__ import annotations

import polars as pl

from .errors import SchemaError

UTC_US = pl.Datetime("us", "UTC")
_OFFSET_RE = r"(?:[Zz]|[+-]\d{2}:?\d{2})\s*$"


def parse_timestamps(
    values: pl.Series, *, column: str, tz: str | None, fmt: str | None, dayfirst: bool | None = None
) -> pl.Series:
    """Return ``values`` as ``Datetime("us", "UTC")``; nulls mark unparsable values."""
    zone = tz or "UTC"
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return _localize(values.cast(pl.Datetime("us")), zone)
        return values.dt.convert_time_zone("UTC").cast(UTC_US)
    if dtype == pl.Date:
        return _localize(values.cast(pl.Datetime("us")), zone)
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return _parse_strings(values.cast(pl.String), zone, fmt)
    if dtype == pl.Null:
        return pl.Series(values.name, [None] * len(values), dtype=UTC_US)
    raise SchemaError(
        f"The timestamp column {column!r} holds values of type {dtype}, which journeymine "
        "cannot read as points in time. Convert it first, for example with "
        f"df[{column!r}] = pandas.to_datetime(df[{column!r}], unit='s') for epoch seconds."
    )


def _localize(naive: pl.Series, zone: str) -> pl.Series:
    try:
        aware = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    except pl.exceptions.ComputeError as exc:  # unknown zone name
        raise SchemaError(
            f"Unknown time zone {zone!r} for naive timestamps: use an IANA name such as "
            "'Europe/Amsterdam' or 'UTC'."
        ) from exc
    return aware.dt.convert_time_zone("UTC").cast(UTC_US)


_CANDIDATES = (
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d",
)
_CHUNK = 500_000


def _guess_format(text: pl.Series) -> str | None:
    """The first candidate format that reads every value of a sample of the column."""
    sample = text.drop_nulls().head(1_000)
    if sample.len() == 0:
        return None
    for fmt in _CANDIDATES:
        got = sample.str.to_datetime(format=fmt, strict=False, time_unit="us")
        if got.null_count() == 0:
            return fmt
    return None


def _first_pass(text: pl.Series, fmt: str | None) -> pl.Series:
    """Parse with one format; large columns in parallel chunks (polars runs the chunks'
    queries on every core)."""
    if fmt is None or text.len() <= _CHUNK:
        return text.str.to_datetime(format=fmt, strict=False, time_unit="us")
    queries = [
        pl.LazyFrame({"t": text.slice(start, _CHUNK)}).select(
            # no cache: timestamps are mostly distinct, hashing them costs more than it saves
            pl.col("t").str.to_datetime(format=fmt, strict=False, time_unit="us", cache=False)
        )
        for start in range(0, text.len(), _CHUNK)
    ]
    return pl.concat([f.to_series() for f in pl.collect_all(queries)]).alias(text.name)


def _parse_strings(values: pl.Series, zone: str, fmt: str | None) -> pl.Series:
    text = values
    stripped = values.str.strip_chars()  # a length check is faster than a regex for ^\s|\s$
    if bool((stripped.str.len_bytes() != values.str.len_bytes()).any()):
        text = stripped
    del stripped
    if bool((text == "").any()):
        text = text.set(text == "", None)  # type: ignore[arg-type,unused-ignore]
    try:
        first = _first_pass(text, fmt if fmt is not None else _guess_format(text))
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
        first = pl.Series(values.name, [None] * len(text), dtype=pl.Datetime("us"))
    if isinstance(first.dtype, pl.Datetime) and first.dtype.time_zone is not None:
        parsed = first.dt.convert_time_zone("UTC").cast(UTC_US)
    else:
        parsed = _localize(first, zone)
    missed = text.is_not_null() & parsed.is_null()
    if fmt is not None or not bool(missed.any()):
        return parsed
    return _fallback(text, parsed, missed, zone)


def _fallback(text: pl.Series, parsed: pl.Series, missed: pl.Series, zone: str) -> pl.Series:
    """Second pass for the rows the first format did not fit, with pandas' mixed parser."""
    import pandas as pd

    idx = missed.arg_true()
    rest = text.gather(idx)
    aware = rest.str.contains(_OFFSET_RE)
    out = pd.Series(pd.NaT, index=range(len(rest)), dtype="datetime64[us, UTC]")
    rest_pd = pd.Series(rest.to_list(), dtype=object)
    aware_np = aware.fill_null(False).to_numpy()
    if aware_np.any():
        got = pd.to_datetime(rest_pd[aware_np], format="mixed", errors="coerce", utc=True)
        out[aware_np] = got.dt.as_unit("us")
    if (~aware_np).any():
        naive = pd.to_datetime(rest_pd[~aware_np], format="mixed", errors="coerce")
        if naive.dt.tz is not None:  # pandas found offsets after all
            local = naive.dt.tz_convert("UTC")
        else:
            local = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        out[~aware_np] = local.dt.tz_convert("UTC").dt.as_unit("us")
    filled = pl.Series(parsed.name, out).cast(UTC_US)
    return parsed.scatter(idx, filled)
