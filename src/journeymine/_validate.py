"""Validation at the boundary: from any input table to the columns of a JourneyLog.

This is the only place where input is checked. It returns three polars frames:

* ``events``: the usable events, renamed to role names, timestamps in UTC, sorted by
  (case, timestamp, input row): a stable sort, so events with tied timestamps keep the
  order they had in the input; cases appear in the order of their first row in the input;
* ``cases``: one row per case with its attributes and ``n_events``, ``start``, ``end``;
* ``rejected``: every input row that could not be used, with its original values, its
  0-based input ``row`` and a ``reason``.

Every row read ends up in exactly one of ``events`` and ``rejected``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from ._mapping import OPTIONAL_ROLES, RESERVED_CASE_COLUMNS, RESERVED_EVENT_COLUMNS, ColumnMapping
from ._params import close_matches, shown_names
from ._timestamps import UTC_US, check_numbers_as_text, parse_timestamps
from ._warnings import warn
from .errors import DataQualityError, DataQualityWarning, EmptyLogError, SchemaError

#: Reasons a row is set aside, in the order they are checked (a row gets the first).
REASONS: tuple[str, ...] = (
    "missing case id",
    "missing activity",
    "control character",
    "missing timestamp",
    "unparsable timestamp",
    "timestamp out of range",
    "duplicate event",
)
MISSING_COHORT = "(missing)"
#: What :func:`journeymine.from_tables` says of a row whose case cannot be found (its id is
#: missing, not in the mapping table, or mapped to no case): a reason of ``log.rejected``
UNMAPPED = "unmapped id"
#: The columns of ``log.sources``: per input table, where its rows went. ``rows`` equals
#: ``events + no timestamp + unmapped id +`` the validation reasons.
SOURCE_COLUMNS: tuple[str, ...] = (
    "source", "first_row", "rows", "events", "no timestamp", UNMAPPED, *REASONS,
    "unmapped examples",
)
#: characters XML 1.0 cannot carry, even escaped (C0 controls but tab, LF and CR; U+FFFE,
#: U+FFFF): an id or name holding one makes its row unusable, attribute text has them
#: replaced by U+FFFD, so that every drawing and export of a log is valid XML
CONTROL_CHARS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
REPLACEMENT = "\ufffd"

#: The role keywords every log constructor takes (``JourneyLog.from_frame``, ``read_csv``,
#: ``read_parquet``, ``JourneyLog.from_spark``), in signature order: the fields of
#: :class:`ColumnMapping`. Each constructor spells them out as keyword-only parameters,
#: for ``help()`` and IDEs, and reads them with :func:`role_columns`;
#: ``tests/test_log.py`` checks that the signatures agree.
REQUIRED_ROLES: tuple[str, ...] = ("case", "activity", "timestamp")
ROLE_KEYWORDS: tuple[str, ...] = (*REQUIRED_ROLES, *OPTIONAL_ROLES)


def role_columns(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The role keywords of a constructor call, from its arguments (``locals()`` at the
    top of the constructor): ``{role: column name or None}`` in :data:`ROLE_KEYWORDS`
    order."""
    return {name: arguments[name] for name in ROLE_KEYWORDS}


@dataclass(frozen=True)
class Built:
    """What validation produces."""

    events: pl.DataFrame
    cases: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int


def check_build_options(
    owner: str,
    on_invalid: str,
    duplicates: str,
    case_attributes: Any,
    event_attributes: Any,
    *,
    roles: Mapping[str, Any],
    tz: Any = None,
    timestamp_format: Any = None,
    dayfirst: Any = None,
    valid_time: Any = None,
) -> tuple[list[str], list[str] | Literal["all"]]:
    """The option checks every log constructor shares; returns the case and event
    attributes as lists (one column name given as a string is a list of one). ``roles``
    are the role keywords (:func:`role_columns`); the required ones must be column names."""
    from ._params import as_names, check_choice, invalid

    check_choice("on_invalid", owner, on_invalid, ("reject", "raise"))
    check_choice("duplicates", owner, duplicates, ("reject", "keep"))
    for name in REQUIRED_ROLES:
        value = roles[name]
        if not isinstance(value, str) or not value:
            raise invalid(name, owner, "a column name (str)", value)
    for name, value in (("tz", tz), ("timestamp_format", timestamp_format)):
        if value is not None and (not isinstance(value, str) or not value):
            raise invalid(name, owner, "a non-empty str or None", value)
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise invalid("dayfirst", owner, "True, False or None", dayfirst)
    if valid_time is not None:
        check_valid_time(valid_time, owner)
    cases = as_names(case_attributes, "case_attributes", owner)
    events: list[str] | Literal["all"] = (
        "all" if event_attributes == "all" else as_names(event_attributes, "event_attributes", owner)
    )
    check_distinct_attributes(cases, events, owner)
    return cases, events


def check_distinct_attributes(
    case_attributes: Sequence[str], event_attributes: Sequence[str] | Literal["all"], owner: str
) -> None:
    """Each attribute column is named once: a name listed twice in ``case_attributes`` or
    in ``event_attributes``, or in both, is the standard parameter error naming it."""
    from collections import Counter

    from ._params import invalid

    events = () if event_attributes == "all" else event_attributes
    for name, names in (("case_attributes", case_attributes), ("event_attributes", events)):
        twice = [c for c, n in Counter(names).items() if n > 1]
        if twice:
            raise invalid(
                name, owner,
                f"a list of distinct column names ({', '.join(map(repr, twice))} listed more than once)",
                list(names),
            )
    in_events = set(events)
    both = [c for c in dict.fromkeys(case_attributes) if c in in_events]
    if both:
        raise SchemaError(
            f"Column {both[0]!r} is given both as case attribute and as event attribute; a column "
            "can play one part only. Remove it from case_attributes or event_attributes (copy "
            "the column if it must play both)."
        )


def resolve_mapping(
    columns: Sequence[str],
    roles: Mapping[str, Any],
    *,
    case_attributes: Sequence[str],
    event_attributes: Sequence[str] | Literal["all"],
) -> ColumnMapping:
    """The column mapping of the role keywords ``roles`` (:func:`role_columns`); a column
    named after an unmapped optional role plays that role."""
    given = dict(roles)
    taken = {*case_attributes, *(v for v in given.values() if v)}
    for name in OPTIONAL_ROLES:
        if given[name] is None and name in columns and name not in taken and (
            event_attributes == "all" or name in event_attributes
        ):
            given[name] = name
    return ColumnMapping(**given)


def _suggest(name: str, available: Sequence[str]) -> str:
    close = close_matches(name, available, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _check_columns(
    frame: pl.DataFrame,
    mapping: ColumnMapping,
    case_attributes: Sequence[str],
    event_attributes: Sequence[str] | Literal["all"],
) -> list[str]:
    """Check every named column exists and plays one part; return the event attributes."""
    available = frame.columns
    shown = shown_names(available)
    named: list[tuple[str, str]] = [(role, col) for role, col in mapping.roles().items()]
    named += [("case attribute", col) for col in case_attributes]
    if event_attributes != "all":
        named += [("event attribute", col) for col in event_attributes]
    for part, col in named:
        if not isinstance(col, str):
            raise SchemaError(f"The {part} column must be given as a column name (str). Got {col!r}.")
        if col not in available:
            fix = (
                f"pass {part}=<column name>"
                if part in mapping.roles()
                else f"remove {col!r} from the {part}s or fix its spelling"
            )
            raise SchemaError(
                f"Column {col!r} ({part}) not found in the input.{_suggest(col, available)} "
                f"Available columns: {shown}. To fix: {fix}."
            )
    seen: dict[str, str] = {}
    for part, col in named:
        if col in seen and seen[col] != part:
            raise SchemaError(
                f"Column {col!r} is given both as {seen[col]} and as {part}; a column can "
                "play one part only. Copy the column if it must play both."
            )
        seen[col] = part
    for col in case_attributes:
        if col in RESERVED_CASE_COLUMNS:
            raise SchemaError(
                f"Case attribute {col!r} has a name journeymine uses in log.cases "
                f"({', '.join(sorted(RESERVED_CASE_COLUMNS))}); rename the column first."
            )
    if event_attributes == "all":
        extra = [c for c in available if c not in seen]
    else:
        extra = list(event_attributes)
    clash = [c for c in extra if c in RESERVED_EVENT_COLUMNS]
    if clash:
        roles = [c for c in clash if c in OPTIONAL_ROLES]
        fix = "rename them"
        if roles:
            fix = f"map them to their role (e.g. {roles[0]}={roles[0]!r}), {fix}"
        raise SchemaError(
            f"Column(s) {', '.join(repr(c) for c in clash)} would be kept as event attributes "
            "but have names journeymine gives its own columns of log.events (the roles, and "
            f"row: the input row number). To fix: {fix}, or leave them out with "
            "event_attributes=[...]."
        )
    return extra


#: dtypes an id or name column cannot have: they have no one text form
_NOT_TEXT = (pl.Binary, pl.List, pl.Array, pl.Struct, pl.Object)


#: the kinds of values an id or name column may hold, for error messages
ID_KINDS = "text, categories, integers, decimals, floats, booleans, dates, times or datetimes"


def _check_id_dtypes(frame: pl.DataFrame, mapping: ColumnMapping) -> None:
    """Id and name columns must hold scalars that have a text form; the value column
    must hold numbers or text."""
    _check_value_dtype(frame, mapping)
    for role, col in mapping.roles().items():
        if role in ("timestamp", "value"):
            continue
        dtype = frame.schema[col]
        if isinstance(dtype, pl.Duration):
            raise duration_id_error(col, role, f"durations ({dtype})", frame.height)
        if isinstance(dtype, _NOT_TEXT) or dtype in _NOT_TEXT:
            kind = "bytes" if dtype == pl.Binary else f"values of type {dtype}"
            fix = (
                f"decode it first, e.g. df[{col!r}] = df[{col!r}].str.decode('utf-8')"
                if dtype == pl.Binary
                else f"give one value per row, e.g. df.explode({col!r}) or join the items into text"
            )
            raise SchemaError(
                f"Column {col!r} ({role}) holds {kind} in {frame.height:,} rows; journeymine "
                f"reads {role} values as text. To fix: {fix}."
            )


def _check_value_dtype(frame: pl.DataFrame, mapping: ColumnMapping) -> None:
    """The value column holds numbers, or text (or categories) read as numbers: nested
    values, bytes and points in time or durations are no amounts."""
    col = mapping.value
    if col is None:
        return
    dtype = frame.schema[col]
    if dtype.is_numeric() or _is_text(dtype) or dtype in (pl.Boolean, pl.Null):
        return
    fix = (
        f"give one amount per row, e.g. df.explode({col!r}) or the sum of the items"
        if dtype.is_nested()
        else "map a column of amounts (numbers, or numbers as text) as value"
    )
    raise value_dtype_error(col, f"values of type {dtype}", frame.height, fix)


def duration_id_error(col: str, role: str, kind: str, n: int) -> SchemaError:
    """The error for an id or name column of durations (``kind``), in both engines."""
    return SchemaError(
        f"Column {col!r} ({role}) holds {kind} in {n:,} rows, which are not ids or names; a "
        f"{role} column may hold {ID_KINDS}. To fix: map the column that holds the {role} ids, "
        "or convert this one to text first."
    )


def value_dtype_error(col: str, kind: str, n: int, fix: str) -> SchemaError:
    """The error for a value column of ``kind`` that holds no amounts, in both engines."""
    return SchemaError(
        f"Column {col!r} (value) holds {kind} in {n:,} rows; the value column must hold numbers "
        f"(or numbers as text). To fix: {fix}."
    )


def _value_number(col: str, dtype: pl.DataType) -> pl.Expr:
    """The value column as Float64; text and categories that are not numbers are missing
    (:func:`_check_value_column` says how many)."""
    expr = pl.col(col)
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        expr = expr.cast(pl.String)
    return expr.cast(pl.Float64, strict=False)


def _as_id_strings(col: pl.Expr, dtype: pl.DataType, blanks: bool = True) -> pl.Expr:
    """Ids become text, deterministically; blank strings become missing (``blanks=False``
    says the column has none: no copy).

    Integral floats (pandas' NaN-able integer ids) within ±2**63 are written as integers
    ("7", not "7.0"; "100000000000000000000" is out of that range and stays "1e+20");
    other floats take polars' shortest round-trip text ("1.5", "inf"). NaN is missing.
    """
    if dtype == pl.String and not blanks:
        return col
    if dtype.is_float():
        integral = (col.round(0) == col) & col.is_finite() & (col.abs() < 2.0**63)
        as_int = col.cast(pl.Int64, strict=False).cast(pl.String)
        col = pl.when(col.is_nan()).then(None).when(integral).then(as_int).otherwise(col.cast(pl.String))
    else:
        col = col.cast(pl.String)
    return pl.when(col.str.strip_chars() == "").then(None).otherwise(col)


def build(
    frame: pl.DataFrame,
    *,
    mapping: ColumnMapping,
    case_attributes: Sequence[str] = (),
    event_attributes: Sequence[str] | Literal["all"] = "all",
    tz: str | None = None,
    timestamp_format: str | None = None,
    dayfirst: bool | None = None,
    valid_time: tuple[object, object] = ("1900-01-01", "2100-01-01"),
    duplicates: Literal["reject", "keep"] = "reject",
    on_invalid: Literal["reject", "raise"] = "reject",
    stage_order: Sequence[str] | None = None,
    owned: bool = False,
    report: bool = True,
    input_rows: pl.Series | None = None,
) -> Built:
    """Validate ``frame`` and split it into events, cases and rejected rows.

    ``owned`` says the frame is journeymine's own (a reader's): its columns are then
    dropped from it once they are no longer needed, so that the input and the sorted
    copy are not both held whole. Otherwise a shallow copy is used and the caller's
    frame is left as it was.

    ``report=False`` is for a caller that builds one log from several frames and reports
    the rejected rows of all of them once (:func:`journeymine.from_tables`): no warning
    or error about rejected rows, and no :class:`EmptyLogError` when none is usable (the
    events and cases are then empty).

    ``input_rows`` numbers the frame's rows when it holds some rows of a larger input (the
    events of one lifecycle transition of an XES file): ``row`` in the events, the rejected
    rows, the warnings and the errors is then the row of that input.
    """
    extra = _check_columns(frame, mapping, case_attributes, event_attributes)
    _check_id_dtypes(frame, mapping)
    rows_read = frame.height
    if rows_read == 0:
        raise EmptyLogError("The input has no rows: there is no event to build a journey log from.")
    if not owned:
        frame = frame.clone()  # shallow: columns are shared, dropping them leaves the caller's
    roles = mapping.roles()
    schema = frame.schema
    text_roles = [c for r, c in roles.items() if r not in ("timestamp", "value") and schema[c] == pl.String]
    attributes = [*extra, *case_attributes]
    has_blank, has_control = _scan_text(frame, text_roles, attributes)

    def as_id(col: str) -> pl.Expr:
        return _as_id_strings(pl.col(col), schema[col], has_blank.get(col, True))

    cols: list[pl.Expr] = [
        pl.int_range(0, pl.len(), dtype=pl.Int64).alias("row"),
        as_id(mapping.case).alias("case"),
        as_id(mapping.activity).alias("activity"),
    ]
    for role, col in roles.items():
        if role in ("case", "activity", "timestamp"):
            continue
        if role == "value":
            cols.append(_value_number(col, schema[col]).alias("value"))
        else:
            cols.append(as_id(col).alias(role))
    dirty = _report_replaced(frame, attributes, has_control)
    # attributes take working names of their own while the log is built (an input column
    # may be named 'row', 'activity', '__reason' or '' and must not meet the work columns);
    # they get their names back at the end
    alias = {c: _attribute_name(i) for i, c in enumerate(dict.fromkeys(attributes))}
    cols += [(_clean_text(c) if c in dirty else pl.col(c)).alias(alias[c]) for c in alias]
    work = frame.select(cols)
    raw_ts = frame.get_column(mapping.timestamp)
    ts = parse_timestamps(raw_ts, column=mapping.timestamp, tz=tz, fmt=timestamp_format, dayfirst=dayfirst)
    if timestamp_format is None:
        check_numbers_as_text(raw_ts, ts, mapping.timestamp)
    raw_missing = raw_ts.is_null()
    if raw_ts.dtype == pl.String:
        raw_missing = raw_missing | (raw_ts.str.strip_chars() == "")
    lo, hi = _bounds(valid_time)
    work = work.with_columns(
        ts.alias("timestamp"), raw_missing.alias("__ts_missing")
    )
    del raw_ts, ts, raw_missing  # only ``frame`` and ``work`` hold columns from here on
    # ids and names row by row only where the scan found control characters, or could not
    # look (ids that were not text); a text id that is blank becomes missing, never dirty
    names = [r for r, c in roles.items() if r not in ("timestamp", "value") and has_control.get(c, True)]
    flags = [_has_control(pl.col(r)).fill_null(False) for r in names]
    control = pl.any_horizontal(flags) if flags else pl.lit(False)
    reason = (
        pl.when(pl.col("case").is_null())
        .then(pl.lit(REASONS[0]))
        .when(pl.col("activity").is_null())
        .then(pl.lit(REASONS[1]))
        .when(control)
        .then(pl.lit(REASONS[2]))
        .when(pl.col("__ts_missing"))
        .then(pl.lit(REASONS[3]))
        .when(pl.col("timestamp").is_null())
        .then(pl.lit(REASONS[4]))
        .when((pl.col("timestamp") < lo) | (pl.col("timestamp") >= hi))
        .then(pl.lit(REASONS[5]))
    )
    work = work.with_columns(reason.alias("__reason")).drop("__ts_missing")
    _check_value_column(frame, mapping, work)
    if stage_order is not None and mapping.stage is not None:
        _check_stage_order(work, mapping.stage, stage_order)

    ok = work.get_column("__reason").is_null()
    ordered = _order(work, ok)
    if duplicates == "reject":
        ordered, repeated = _drop_repeats(work, ordered)
        if repeated.len():
            at = pl.Series(repeated).sort()
            work = work.with_columns(
                pl.when(pl.col("row").is_in(at.implode())).then(pl.lit(REASONS[6]))
                .otherwise(pl.col("__reason")).alias("__reason")
            )
    bad_mask = work.get_column("__reason").is_not_null()
    n_bad = int(bad_mask.sum())
    rejected = _input_numbered(_rejected_rows(frame, work, bad_mask), input_rows)
    if frame.width <= _RELEASE_WIDTH:  # release the input (only ``work`` may still hold columns)
        for col in frame.columns:
            frame.drop_in_place(col)
    holder = [work]  # _gather takes the only reference, to free each column once gathered
    del work
    events = _input_numbered(_gather(holder, ordered), input_rows)
    del ordered
    if n_bad and events.height and report:
        _report_rejected(rejected, rows_read, on_invalid)
    if events.height == 0 and report:
        err = EmptyLogError(
            f"None of the {rows_read:,} input rows is usable ({_reason_counts(rejected)}); "
            "see the rejected rows on this error's .rejected attribute."
        )
        err.rejected = rejected.to_pandas()  # type: ignore[attr-defined]
        raise err
    given = {a: c for c, a in alias.items()}  # working name -> input name
    events, cases = _split_cases(events, [alias[c] for c in case_attributes], on_invalid, given)
    in_events, in_cases = set(events.columns), set(cases.columns)  # once: wide inputs
    events = events.rename({a: c for a, c in given.items() if a in in_events})
    cases = cases.rename({a: c for a, c in given.items() if a in in_cases})
    return Built(events=events, cases=cases, rejected=rejected, rows_read=rows_read)


def _attribute_name(i: int) -> str:
    """The working name of the ``i``-th attribute column while a log is built: every
    attribute is renamed so, and the fixed work columns (``row``, ``case``, the roles,
    ``timestamp``, ``__reason`` …) never start with a space, so no input name can clash."""
    return f" attribute {i}"


def source_counts(
    source: str,
    *,
    first_row: int,
    rows: int,
    events: int,
    rejected: pl.DataFrame,
    no_timestamp: int = 0,
    unmapped_examples: Sequence[str | None] = (),
    reason_counts: Mapping[str, int] | None = None,
) -> pl.DataFrame:
    """One row of ``log.sources`` (:data:`SOURCE_COLUMNS`): the rows read from one input,
    how many became events, had no timestamp, and were rejected, by reason (``rejected``
    holds that input's rejected rows, with their ``reason``; or ``reason_counts`` gives the
    counts, for a log whose rejected rows are not in memory)."""
    if reason_counts is not None:
        counts = {r: int(reason_counts.get(r, 0)) for r in (UNMAPPED, *REASONS)}
    else:
        reasons = rejected.get_column("reason") if rejected.height else pl.Series([], dtype=pl.String)
        counts = {r: int((reasons == r).sum()) for r in (UNMAPPED, *REASONS)}
    return pl.DataFrame(
        {
            "source": [source], "first_row": [first_row], "rows": [rows], "events": [events],
            "no timestamp": [no_timestamp], **{r: [n] for r, n in counts.items()},
            "unmapped examples": [list(unmapped_examples)],
        },
        schema={**{c: pl.Int64 for c in SOURCE_COLUMNS}, "source": pl.String,
                "unmapped examples": pl.List(pl.String)},
    )


def _is_text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))


def _clean_text(col: str) -> pl.Expr:
    """Attribute text with the characters XML cannot carry replaced by U+FFFD (categorical
    columns become text)."""
    return pl.col(col).cast(pl.String).str.replace_all(CONTROL_CHARS, REPLACEMENT)


#: :data:`CONTROL_CHARS` one by one, for ``str.contains_any`` (a search for any of several
#: strings, exactly what the class matches, and 1.3-1.7 times as fast as the regex)
_CONTROL_LIST = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)]


def _has_control(text: pl.Expr) -> pl.Expr:
    """Whether each value of ``text`` holds one of the :data:`CONTROL_CHARS`."""
    return text.str.contains_any(_CONTROL_LIST)


def _scan_text(
    frame: pl.DataFrame, text_roles: Sequence[str], attributes: Sequence[str]
) -> tuple[dict[str, bool], dict[str, bool]]:
    """Two facts about the input's text, in one pass over the frame: which of the
    ``text_roles`` (id and name columns stored as text) hold a blank value, and which of
    them and of the text ``attributes`` hold control characters (a column that is not
    text is not a key of the second)."""
    roles = list(dict.fromkeys(text_roles))
    schema = frame.schema  # built once: per column it made wide inputs quadratic
    text = [c for c in dict.fromkeys([*roles, *attributes]) if _is_text(schema[c])]
    if not text:
        return {}, {}
    found = frame.select(
        [(pl.col(c).str.strip_chars() == "").any().alias(f"b{i}") for i, c in enumerate(roles)]
        + [_has_control(pl.col(c).cast(pl.String)).any().alias(f"c{i}") for i, c in enumerate(text)]
    ).row(0)
    return (
        {c: bool(found[i]) for i, c in enumerate(roles)},
        {c: bool(found[len(roles) + i]) for i, c in enumerate(text)},
    )


def _report_replaced(frame: pl.DataFrame, columns: Sequence[str], has_control: dict[str, bool]) -> set[str]:
    """The text attribute columns holding control characters (``has_control``, from
    :func:`_scan_text`; only those are copied with them replaced), with one warning naming
    them."""
    dirty = [c for c in dict.fromkeys(columns) if has_control.get(c, False)]
    if not dirty:
        return set()
    counts = frame.select(
        [_has_control(pl.col(c).cast(pl.String)).sum().alias(c) for c in dirty]
    ).row(0, named=True)
    found = {c: int(n) for c, n in counts.items()}
    hit = _has_control(pl.col(next(iter(found))).cast(pl.String)).fill_null(False)
    warn_replaced(found, frame.select(pl.arg_where(hit)).to_series().head(5).to_list())
    return set(dirty)


def warn_replaced(found: Mapping[str, int], first: Sequence[int]) -> None:
    """The warning that ``found`` (column → values) held control characters, replaced by
    U+FFFD; ``first``: the first rows of the first column (both engines give it)."""
    listed = ", ".join(f"{c!r} ({n:,} values)" for c, n in found.items())
    warn(
        f"Control characters (NUL, \\x01 … \\x1f but tab and newlines) in attribute column(s) "
        f"{listed} were replaced by U+FFFD, since no drawing or XML export can carry them "
        f"(first rows of {next(iter(found))!r}: {list(first)}). The events are kept. Clean the column "
        "to keep other text.",
        DataQualityWarning,
    )


def _drop_repeats(work: pl.DataFrame, ordered: _Sorted) -> tuple[_Sorted, pl.Series]:
    """Drop exact repeats (every kept column equal) of an earlier row from ``ordered``;
    return what is left and the rows of the repeats.

    Repeats share case and timestamp, so in sorted order they sit in runs of tied
    (case, timestamp), ordered by input row: only those runs are compared, column by
    column, keeping the first (earliest input row) of each set of equal rows.
    """
    keys = [c for c in work.columns if c not in ("row", "__reason")]
    same = (pl.col("case") == pl.col("case").shift(1)) & (
        pl.col("timestamp") == pl.col("timestamp").shift(1)
    )
    tied = pl.DataFrame({"case": ordered.case, "timestamp": ordered.timestamp}).select(
        (same | same.shift(-1)).fill_null(False).alias("t")
    ).to_series()
    if not bool(tied.any()):
        return ordered, pl.Series("row", [], dtype=pl.Int64)
    runs = work.select("row", *keys)[ordered.order.filter(tied)]
    repeat = runs.select(~pl.struct(keys).is_first_distinct()).to_series()
    rows = runs.get_column("row").filter(repeat)
    if rows.len() == 0:
        return ordered, rows
    return ordered.without(~ordered.order.cast(pl.Int64).is_in(rows.implode())), rows


def check_valid_time(valid_time: Any, owner: str) -> tuple[Any, Any]:
    """``valid_time`` as two UTC ``pandas.Timestamp``, or the standard parameter error: it
    must be two points in time (text, datetime or Timestamp), the first before the second."""
    import pandas as pd

    from ._params import invalid

    expected = "a (start, end) pair of times, e.g. ('2020-01-01', '2030-01-01'), start before end"
    if not isinstance(valid_time, (tuple, list)) or len(valid_time) != 2:
        raise invalid("valid_time", owner, expected, valid_time)
    out = []
    for bound in valid_time:
        try:
            stamp = pd.Timestamp(bound)
        except (ValueError, TypeError, OverflowError):
            raise invalid("valid_time", owner, expected, valid_time) from None
        if pd.isna(stamp):
            raise invalid("valid_time", owner, expected + " (not missing)", valid_time)
        out.append(stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC"))
    if not out[0] < out[1]:
        raise invalid("valid_time", owner, expected, valid_time)
    return out[0], out[1]


def utc_bounds(valid_time: tuple[object, object]) -> tuple[Any, Any]:
    """``valid_time`` as two UTC ``pandas.Timestamp`` (naive bounds are UTC)."""
    return check_valid_time(valid_time, "JourneyLog.from_frame")


def _bounds(valid_time: tuple[object, object]) -> tuple[pl.Expr, pl.Expr]:
    lo, hi = utc_bounds(valid_time)
    return pl.lit(lo.to_pydatetime()).cast(UTC_US), pl.lit(hi.to_pydatetime()).cast(UTC_US)


def _check_value_column(
    frame: pl.DataFrame, mapping: ColumnMapping, work: pl.DataFrame
) -> None:
    if mapping.value is None:
        return
    raw = frame.get_column(mapping.value)
    if isinstance(raw.dtype, (pl.Categorical, pl.Enum)):
        raw = raw.cast(pl.String)
    lost = raw.is_not_null() & work.get_column("value").is_null()
    if raw.dtype == pl.String:
        lost = lost & (raw.str.strip_chars() != "")
    n = int(lost.sum())
    if n:
        rows = work.get_column("row").filter(lost).head(5).to_list()
        warn(
            f"Column {mapping.value!r} (value): {n:,} value(s) are not numbers and were read "
            f"as missing (rows {rows}{' …' if n > 5 else ''}). The events are kept. Clean the "
            "column (e.g. remove currency signs) to keep those amounts.",
            DataQualityWarning,
        )


def _check_stage_order(work: pl.DataFrame, column: str, stage_order: Sequence[str]) -> None:
    seen = set(work.get_column("stage").drop_nulls().unique().to_list())
    unknown = sorted(seen - set(stage_order))
    if unknown:
        raise SchemaError(
            f"Column {column!r} (stage) has value(s) {unknown[:10]} that are not in "
            f"stage_order={list(stage_order)!r}. Add them to stage_order in journey order."
        )


def _rejected_rows(frame: pl.DataFrame, work: pl.DataFrame, bad_mask: pl.Series) -> pl.DataFrame:
    original = frame.filter(bad_mask)
    taken = {"row", "reason"} & set(original.columns)
    if taken:  # the input's own 'row'/'reason' become 'row_input' (or 'row_input_2' …)
        names = set(original.columns) | {"row", "reason"}
        renames = {}
        for c in sorted(taken):
            new, k = f"{c}_input", 2
            while new in names:
                new, k = f"{c}_input_{k}", k + 1
            names.add(new)
            renames[c] = new
        original = original.rename(renames)
    meta = work.filter(bad_mask).select("row", pl.col("__reason").alias("reason"))
    return pl.concat([meta, original], how="horizontal")


def _reason_counts(rejected: pl.DataFrame) -> str:
    counts = rejected.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    return ", ".join(f"{n:,} {r}" for r, n in counts.iter_rows())


def _report_rejected(
    rejected: pl.DataFrame, rows_read: int, on_invalid: str
) -> None:
    report_rejected(
        rejected.height, rows_read, _reason_counts(rejected), rejected.get_column("row").head(5).to_list(),
        on_invalid, rejected=rejected.to_pandas() if on_invalid == "raise" else None,
    )


def report_rejected(
    n: int,
    rows_read: int,
    summary: str,
    rows: list[int],
    on_invalid: str,
    *,
    rejected: Any = None,
    where: str = "log.rejected",
) -> None:
    """Raise :class:`DataQualityError` (``on_invalid="raise"``, with ``rejected`` attached)
    or warn that ``n`` of ``rows_read`` rows were set aside."""
    if on_invalid == "raise":
        err = DataQualityError(
            f"{n:,} of {rows_read:,} input rows cannot be used ({summary}; first rows: "
            f"{rows}). Fix them, or pass on_invalid='reject' to set them aside in log.rejected."
        )
        err.rejected = rejected  # type: ignore[attr-defined]
        raise err
    warn(
        f"{n:,} of {rows_read:,} input rows were set aside ({summary}; first rows: {rows}). "
        f"They are in {where} with their input row number and reason; pass "
        "on_invalid='raise' to stop instead.",
        DataQualityWarning,
    )


class _Sorted:
    """The order of the usable rows and the case and timestamp columns in that order."""

    def __init__(self, order: pl.Series, case: pl.Series, timestamp: pl.Series) -> None:
        self.order, self.case, self.timestamp = order, case, timestamp

    def without(self, keep: pl.Series) -> _Sorted:
        return _Sorted(self.order.filter(keep), self.case.filter(keep), self.timestamp.filter(keep))


def _order(work: pl.DataFrame, ok: pl.Series) -> _Sorted:
    """Positions of the usable rows of ``work`` in the order of a stable sort by (case
    in order of first appearance, timestamp, input row).

    The case key is the input row of the case's first usable event (a numeric sort key
    that orders cases by first appearance), found by grouping on a 64-bit hash of the
    case id. The result is checked: should two cases ever share a key (a hash
    collision), the sort falls back to an explicit code per distinct case id.

    The three keys are packed into one 128-bit integer (case key, then time since the
    earliest timestamp, then row, each in as many bits as its range needs), since polars
    sorts one integer column about twice as fast as three columns (0.28 s against 0.54 s
    for 5M events); a range too wide for 127 bits is sorted by the three columns.
    """
    keys = work.select("row", "case", "timestamp")
    if not bool(ok.all()):
        keys = keys.filter(ok)
    keys = keys.rechunk()  # gathers from a contiguous column are much faster
    keys = keys.with_columns(pl.col("row").min().over(pl.col("case").hash()).alias("__key"))
    at = keys.select(_arg_sort(keys)).to_series()
    ordered = keys[at]  # the columns gathered in parallel
    case, key = ordered.get_column("case"), ordered.get_column("__key")
    if bool(((case != case.shift(1)) & (key == key.shift(1))).any()):  # pragma: no cover
        first = keys.get_column("case").unique(maintain_order=True)  # safety net
        code = pl.col("case").cast(pl.Enum(first)).to_physical()
        ordered = keys[keys.select(pl.arg_sort_by(code, "timestamp", "row")).to_series()]
    order = ordered.get_column("row").cast(pl.get_index_type())
    return _Sorted(order, ordered.get_column("case"), ordered.get_column("timestamp"))


def _arg_sort(keys: pl.DataFrame) -> pl.Expr:
    """The positions of ``keys`` sorted by (``__key``, ``timestamp``, ``row``): a sort of
    the three packed into one Int128 when they fit (``__key`` is one of the rows, the
    timestamps are not missing), else a sort by the three columns."""
    time = pl.col("timestamp").to_physical()
    lo, hi, last = keys.select(
        time.min().alias("lo"), time.max().alias("hi"), pl.col("row").max().alias("last")
    ).row(0)
    if lo is None:
        return pl.arg_sort_by("__key", "timestamp", "row")
    row_bits, time_bits = int(last).bit_length(), int(hi - lo).bit_length()
    if 2 * row_bits + time_bits > 127:
        return pl.arg_sort_by("__key", "timestamp", "row")
    packed: pl.Expr = (
        pl.col("__key").cast(pl.Int128) * pl.lit(2 ** (row_bits + time_bits), dtype=pl.Int128)
        + (time.cast(pl.Int128) - lo) * pl.lit(2**row_bits, dtype=pl.Int128)
        + pl.col("row").cast(pl.Int128)
    )
    return packed.arg_sort()


def _input_numbered(frame: pl.DataFrame, input_rows: pl.Series | None) -> pl.DataFrame:
    """``frame`` with its ``row`` read through ``input_rows`` (the input's row of each row
    of the frame that was built), or as it is without them."""
    if input_rows is None or frame.height == 0:
        return frame
    return frame.with_columns(input_rows.cast(pl.Int64).gather(frame.get_column("row")).alias("row"))


#: inputs wider than this are not released column by column while a log is built (each
#: in-place drop costs time in proportion to the width: quadratic on thousands of columns)
_RELEASE_WIDTH = 512


def _gather(owned: list[pl.DataFrame], ordered: _Sorted) -> pl.DataFrame:
    """The columns of the frame in ``owned`` (taken from it: the only reference) but the
    reason, in order. They are built a few at a time (as many as there are threads, at most
    four, gathered in parallel; more on wide frames, in at most 64 rounds) and the frame is
    replaced by one without them once their sorted copies exist, so that only those few
    are held twice (unless someone else holds the input: the caller's own input frame is
    released column by column only up to _RELEASE_WIDTH columns)."""
    work = owned.pop()
    columns = [c for c in work.columns if c != "__reason"]
    out: dict[str, pl.Series] = {
        "case": ordered.case, "timestamp": ordered.timestamp, "row": ordered.order.cast(pl.Int64),
    }
    todo = [c for c in columns if c not in out]
    step = max(1, min(4, pl.thread_pool_size()), -(-len(todo) // 64))
    for start in range(0, len(todo), step):
        batch = todo[start:start + step]
        part = work.select(batch).rechunk()
        work = work.drop(batch)
        out.update(part[ordered.order].to_dict())
        del part
    return pl.DataFrame([out[c] for c in columns])


def _split_cases(
    events: pl.DataFrame, case_attributes: Sequence[str], on_invalid: str,
    names: Mapping[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Move the case attributes of the sorted events into a table of cases (``names``:
    the input name of each working attribute name, for messages).

    The events are sorted by case, so each case is a run of rows: its first and last rows
    give ``start`` and ``end``, and an attribute without missing values is constant when
    no row differs from the row before it in the same case. Only attributes with missing
    values, or ones that do vary, need a group-by.
    """
    n = events.height
    new_case = events.select(
        (pl.col("case") != pl.col("case").shift(1)).fill_null(True).alias("f")
    ).to_series()
    firsts = new_case.arg_true()
    lasts = pl.concat([firsts.slice(1) - 1, pl.Series([n - 1], dtype=firsts.dtype)]) if n else firsts
    cases = pl.DataFrame({
        "case": events.get_column("case").gather(firsts),
        "n_events": (lasts - firsts + 1).cast(pl.Int64),
        "start": events.get_column("timestamp").gather(firsts),
        "end": events.get_column("timestamp").gather(lasts),
    })
    columns: dict[str, pl.Series] = {}
    for col in case_attributes:
        values = events.get_column(col)
        if values.null_count() == 0:
            columns[col] = values.gather(firsts)
            changes = events.select(
                ((pl.col(col) != pl.col(col).shift(1)) & ~new_case).any()
            ).item()
            if not changes:
                continue
        per_case = events.group_by("case", maintain_order=True).agg(
            pl.col(col).drop_nulls().first().alias(col),
            # equality, not n_unique: polars 2.1's string hashing can miscount some inputs
            (pl.col(col).drop_nulls() != pl.col(col).drop_nulls().first())
            .any().fill_null(False).alias(f"__n_{col}"),
        )
        columns[col] = per_case.get_column(col)
        _check_constant(events, per_case, col, on_invalid, (names or {}).get(col, col))
    cases = cases.select("case", *[pl.lit(columns[c]).alias(c) for c in case_attributes],
                         "n_events", "start", "end")
    events = events.drop(list(case_attributes))
    first = ["case", "activity", "timestamp"]
    rest = [c for c in events.columns if c not in (*first, "row")]
    return events.select([*first, *rest, "row"]), cases


def _check_constant(
    events: pl.DataFrame, cases: pl.DataFrame, col: str, on_invalid: str, name: str
) -> None:
    varying = cases.filter(pl.col(f"__n_{col}"))
    if varying.height == 0:
        return
    example = varying.get_column("case")[0]
    values = (
        events.filter(pl.col("case") == example).get_column(col).drop_nulls().unique(maintain_order=True)
    )
    shown = f"{example!r} has {values.head(4).to_list()}"
    report_varying(name, varying.height, cases.height, shown, on_invalid)


def report_varying(col: str, n_varying: int, n_cases: int, example: str, on_invalid: str) -> None:
    """Raise or warn that case attribute ``col`` is not constant within ``n_varying`` cases."""
    msg = (
        f"Case attribute {col!r} is not constant within {n_varying:,} of {n_cases:,} "
        f"cases (e.g. case {example}). "
    )
    if on_invalid == "raise":
        raise DataQualityError(
            msg + "Map it as an event attribute if it changes over a journey, or clean it."
        )
    warn(
        msg + "Each case keeps the value of its earliest event that has one; map the column "
        "as an event attribute instead if it changes over a journey.",
        DataQualityWarning,
    )
