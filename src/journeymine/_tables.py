"""Events from wide tables: a declarative builder over CRM-style exports, and ``concat``.

A CRM export is not an event log: it is an opportunities table with an engage date and a
close date, a contacts table mapping people to accounts, an accounts table with the
sector. :func:`from_tables` turns such tables into one :class:`JourneyLog`:

* each :class:`EventSpec` turns one timestamp column of one table into events, the
  activity being a fixed name or another :class:`Column` (several specs may read one
  table);
* the case comes from a column of the table, or through a mapping table (``via``:
  opportunity → account, contact → account) given as an :class:`IdMap`, which must map
  each id to one case;
* :class:`Lookup` tables add attributes, per event (a product's series) or per case
  (an account's sector), each key at most once.

Every row of every spec is accounted for in ``log.sources``: an event, ``no timestamp``
(no event, nothing wrong), ``unmapped id``, or rejected by the one validation path
(:func:`journeymine._validate.build`, run on each spec's rows) with its reason; the
unmapped and rejected rows are in ``log.rejected`` with their ``source``. The rows of the
specs are numbered one after the other (``log.sources["first_row"]``).

:func:`concat` merges logs that map the same roles; events repeated across them are set
aside by the usual duplicate rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from ._frames import to_polars_frame
from ._log import JourneyLog
from ._mapping import OPTIONAL_ROLES, RESERVED_CASE_COLUMNS, ColumnMapping
from ._params import as_names, check_choice, close_matches, invalid, shown_names
from ._timestamps import UTC_US
from ._typing import FrameLike, OnInvalid, TimeLike
from ._validate import (
    REASONS,
    SOURCE_COLUMNS,
    UNMAPPED,
    _as_id_strings,
    build,
    check_build_options,
    source_counts,
)
from ._warnings import warn
from .errors import DataQualityError, DataQualityWarning, EmptyLogError, SchemaError

__all__ = ["Column", "EventSpec", "IdMap", "Lookup", "concat", "from_tables"]

_DUPLICATE = REASONS[-1]
#: the column holding a fixed activity name while a spec's rows are validated
_FIXED_ACTIVITY = "__activity"
_EXAMPLES = 5


def _describe(table: Any) -> str:
    shape = getattr(table, "shape", None)
    kind = f"{type(table).__module__.split('.')[0]}.{type(table).__name__}"
    return f"<{kind} {shape[0]:,}×{shape[1]}>" if shape else f"<{kind}>"


@dataclass(frozen=True)
class Column:
    """A column of the table, where a fixed value could be given instead.

    ``EventSpec(activity="Engage")`` gives every event the activity ``"Engage"``;
    ``EventSpec(activity=jm.Column("deal_stage"))`` takes each event's activity from the
    row's ``deal_stage``.

    Examples
    --------
    >>> import journeymine as jm
    >>> jm.Column("deal_stage")
    Column('deal_stage')
    """

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise invalid("name", "Column", "a column name (non-empty str)", self.name)

    def __repr__(self) -> str:
        return f"Column({self.name!r})"


@dataclass(frozen=True, eq=False)
class IdMap:
    """A table that maps ids of one kind to cases: contact → account, opportunity → account.

    Each id must map to one case: an id with two cases is a :class:`SchemaError` naming
    it. Rows with a missing case map nothing (events reaching them are ``unmapped id``).
    Ids on both sides are matched as text, by the rules of case ids (``7`` and ``7.0``
    are ``"7"``).

    Parameters
    ----------
    table : pandas.DataFrame, polars.DataFrame or polars.LazyFrame
    id : str
        The column of the ids (``"Id"`` of a Salesforce Contact table).
    case : str
        The column of the case they belong to (``"AccountId"``).

    Examples
    --------
    >>> import pandas as pd
    >>> import journeymine as jm
    >>> contacts = pd.DataFrame({"Id": ["c1", "c2"], "AccountId": ["a1", "a1"]})
    >>> jm.IdMap(contacts, id="Id", case="AccountId")
    IdMap(<pandas.DataFrame 2×2>, id='Id', case='AccountId')
    """

    table: FrameLike
    _: KW_ONLY
    id: str
    case: str

    def __post_init__(self) -> None:
        for name in ("id", "case"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise invalid(name, "IdMap", "a column name (non-empty str)", value)

    def __repr__(self) -> str:
        return f"IdMap({_describe(self.table)}, id={self.id!r}, case={self.case!r})"


@dataclass(frozen=True, eq=False)
class Lookup:
    """A table of attributes by key, joined many-to-one: per event (a product's series,
    in :attr:`EventSpec.lookups`) or per case (an account's sector, in ``case_tables``).

    Each key must occur once: repeated keys are a :class:`SchemaError` naming them. Keys
    are matched as text, like case ids.

    Parameters
    ----------
    table : pandas.DataFrame, polars.DataFrame or polars.LazyFrame
    key : str
        The table's key column.
    on : str, optional
        For an event lookup: the column of the spec's table matched with ``key`` (default:
        the column named ``key``). A case table is matched with the case id.
    attributes : str or sequence of str, optional
        The columns to add (default: every column but the key).

    Examples
    --------
    >>> import pandas as pd
    >>> import journeymine as jm
    >>> products = pd.DataFrame({"product": ["GTX Basic"], "series": ["GTX"]})
    >>> jm.Lookup(products, key="product")
    Lookup(<pandas.DataFrame 1×2>, key='product')
    """

    table: FrameLike
    _: KW_ONLY
    key: str
    on: str | None = None
    attributes: str | Sequence[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise invalid("key", "Lookup", "a column name (non-empty str)", self.key)
        if self.on is not None and (not isinstance(self.on, str) or not self.on):
            raise invalid("on", "Lookup", "a column name (non-empty str) or None", self.on)
        if self.attributes is not None:
            object.__setattr__(self, "attributes", tuple(as_names(self.attributes, "attributes", "Lookup")))

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={v!r}" for k, v in (("on", self.on), ("attributes", self.attributes)) if v is not None
        )
        return f"Lookup({_describe(self.table)}, key={self.key!r}{extra})"


@dataclass(frozen=True, eq=False)
class EventSpec:
    """One timestamp column of one table, as events of :func:`from_tables`.

    Each row with a timestamp gives one event; a row whose timestamp is empty gives none
    and is counted as ``no timestamp`` (an open deal has no close date).

    Parameters
    ----------
    table : pandas.DataFrame, polars.DataFrame or polars.LazyFrame
        One row per record (opportunity, task, lead …); several specs may read it.
    timestamp : str
        The column of when the event happened, read by the rules of
        :meth:`JourneyLog.from_frame` (date-only values are midnight in ``tz``).
    activity : str or Column
        A fixed activity name (``"Engage"``), or ``Column("deal_stage")`` to take it
        from a column.
    case : str, optional
        The column holding the case id (the account). Give this or ``via``.
    via : str, optional
        The column holding an id that the ``mappings`` of :func:`from_tables` map to the
        case (``"opportunity_id"`` → account).
    resource, contact, role, channel, stage, lifecycle, value : str, optional
        Columns playing these roles, as in :meth:`JourneyLog.from_frame`.
    attributes : str or sequence of str
        Columns kept on the events.
    lookups : Lookup or sequence of Lookup
        Tables whose attributes are added to the events (matched on a column of the
        table); any column they add can play a role or be the activity.
    name : str, optional
        The source's name in ``log.sources`` and messages (default: ``timestamp``);
        names must be unique.

    Examples
    --------
    >>> import pandas as pd
    >>> import journeymine as jm
    >>> deals = pd.DataFrame({"account": ["A"], "closed": ["2024-02-01"], "stage": ["Won"]})
    >>> jm.EventSpec(deals, timestamp="closed", activity=jm.Column("stage"), case="account")
    EventSpec('closed', <pandas.DataFrame 1×3>, timestamp='closed', activity=Column('stage'), case='account')
    """

    table: FrameLike
    _: KW_ONLY
    timestamp: str
    activity: str | Column
    case: str | None = None
    via: str | None = None
    resource: str | None = None
    contact: str | None = None
    role: str | None = None
    channel: str | None = None
    stage: str | None = None
    lifecycle: str | None = None
    value: str | None = None
    attributes: str | Sequence[str] = ()
    lookups: Lookup | Sequence[Lookup] = field(default=())
    name: str | None = None

    def __post_init__(self) -> None:
        owner = "EventSpec"
        if not isinstance(self.timestamp, str) or not self.timestamp:
            raise invalid("timestamp", owner, "a column name (non-empty str)", self.timestamp)
        fixed = isinstance(self.activity, str) and bool(self.activity)
        if not fixed and not isinstance(self.activity, Column):
            raise invalid("activity", owner, "a fixed activity name (non-empty str) or jm.Column(name)",
                          self.activity)
        if (self.case is None) == (self.via is None):
            raise invalid("case", owner, "given when via is not (one of case= and via= names where the "
                          f"case comes from; got case={self.case!r}, via={self.via!r})", self.case)
        for role in ("case", "via", *OPTIONAL_ROLES, "name"):
            value = getattr(self, role)
            if value is not None and (not isinstance(value, str) or not value):
                raise invalid(role, owner, "a column name (non-empty str) or None", value)
        object.__setattr__(self, "attributes", tuple(as_names(self.attributes, "attributes", owner)))
        object.__setattr__(self, "lookups", _lookups(self.lookups, "lookups", owner))
        if self.name is None:
            object.__setattr__(self, "name", self.timestamp)

    @property
    def roles(self) -> dict[str, str]:
        """The optional roles this spec maps, ``{role: column}``."""
        return {r: getattr(self, r) for r in OPTIONAL_ROLES if getattr(self, r) is not None}

    def __repr__(self) -> str:
        where = f"case={self.case!r}" if self.case is not None else f"via={self.via!r}"
        return (f"EventSpec({self.name!r}, {_describe(self.table)}, timestamp={self.timestamp!r}, "
                f"activity={self.activity!r}, {where})")


def _lookups(value: Any, name: str, owner: str) -> tuple[Lookup, ...]:
    """One :class:`Lookup` or a list of them, as a tuple."""
    out = (value,) if isinstance(value, Lookup) else tuple(value) if isinstance(value, Sequence) else None
    if out is None or not all(isinstance(lk, Lookup) for lk in out):
        raise invalid(name, owner, "a Lookup or a list of them", value)
    return out


# -- resolving columns and keys ------------------------------------------------------------
def _require(columns: Sequence[str], col: str, part: str, where: str) -> None:
    if col in columns:
        return
    close = close_matches(col, columns)
    hint = f" Close matches: {', '.join(map(repr, close))}." if close else ""
    shown = shown_names(columns)
    raise SchemaError(f"Column {col!r} ({part}) not found in {where}.{hint} Available columns: {shown}.")


def _text(frame: pl.DataFrame, col: str) -> pl.Expr:
    """The ids of ``col`` as text, by the rules of case ids (blank is missing)."""
    return _as_id_strings(pl.col(col), frame.schema[col])


def _listed(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) for v in values[:_EXAMPLES]) + (" …" if len(values) > _EXAMPLES else "")


def _id_table(idmap: IdMap, via: str, case: str) -> pl.DataFrame:
    """``idmap`` as two text columns ``__id`` and ``__case``, one row per mapped id."""
    owner = "IdMap"
    frame, _, _ = to_polars_frame(idmap.table, owner=owner)
    where = f"the mapping table of via={via!r}"
    _require(frame.columns, idmap.id, "id", where)
    _require(frame.columns, idmap.case, case, where)
    pairs = frame.select(_text(frame, idmap.id).alias("__id"), _text(frame, idmap.case).alias("__case"))
    pairs = pairs.drop_nulls().unique(maintain_order=True)
    many = pairs.filter(pl.len().over("__id") > 1)
    if many.height:
        ids = many.get_column("__id").unique(maintain_order=True)
        first = ids[0]
        cases = many.filter(pl.col("__id") == first).get_column("__case").to_list()
        raise SchemaError(
            f"The mapping table of via={via!r} maps {ids.len():,} id(s) to more than one {case}: "
            f"{_listed(ids.to_list())} (e.g. {first!r} → {cases}). Each {idmap.id!r} must belong to "
            f"one {case}; keep one row per id (e.g. the current owner) before building the log."
        )
    return pairs


def _lookup_table(lookup: Lookup, where: str, taken: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
    """A lookup as ``__key`` and its attributes, checked to have each key once."""
    frame, _, _ = to_polars_frame(lookup.table, owner="Lookup")
    _require(frame.columns, lookup.key, "key", where)
    attrs = list(lookup.attributes) if lookup.attributes is not None else [
        c for c in frame.columns if c != lookup.key]
    for col in attrs:
        _require(frame.columns, col, "attribute", where)
    clash = [c for c in attrs if c in taken]
    if clash:
        raise SchemaError(
            f"Attribute(s) {_listed(clash)} of {where} are already columns here; leave them out "
            "with attributes=[...] or rename them."
        )
    table = frame.select(_text(frame, lookup.key).alias("__key"), *attrs).drop_nulls("__key")
    repeated = table.filter(pl.len().over("__key") > 1).get_column("__key").unique(maintain_order=True)
    if repeated.len():
        raise SchemaError(
            f"Key {lookup.key!r} of {where} is not unique: {repeated.len():,} key(s) occur more than "
            f"once ({_listed(repeated.to_list())}). A lookup gives one row per key; remove the repeats."
        )
    return table, attrs


def _with_lookups(frame: pl.DataFrame, spec: EventSpec) -> tuple[pl.DataFrame, list[str]]:
    """The spec's table with the attributes of its lookups added (rows in order)."""
    added: list[str] = []
    for lookup in _lookups(spec.lookups, "lookups", "EventSpec"):
        on = lookup.on or lookup.key
        where = f"the lookup on {on!r} of EventSpec {spec.name!r}"
        _require(frame.columns, on, "lookup column", f"EventSpec {spec.name!r}")
        table, attrs = _lookup_table(lookup, where, frame.columns)
        keys = frame.select(_text(frame, on).alias("__key"))
        joined = keys.join(table, on="__key", how="left", maintain_order="left")
        missed = joined.drop_nulls("__key").join(table.select("__key"), on="__key", how="anti")
        if missed.height:
            ids = missed.get_column("__key").unique(maintain_order=True).to_list()
            warn(
                f"EventSpec {spec.name!r}: {missed.height:,} row(s) have a {on!r} that the lookup table "
                f"does not hold ({_listed(ids)}), so their {_listed(attrs)} are missing. The rows are "
                "kept; fix the spelling in one of the tables to fill them.",
                DataQualityWarning,
            )
        frame = frame.with_columns(joined.select(attrs))
        added += attrs
    return frame, added


# -- one spec ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Part:
    """What one spec gave: its events and rejected rows (rows numbered from ``first_row``),
    its line of ``log.sources`` and its checked input columns (for cross-spec repeats)."""

    events: pl.DataFrame
    rejected: pl.DataFrame
    sources: pl.DataFrame
    work: pl.DataFrame


def _spec_part(
    spec: EventSpec, *, case: str, first_row: int, id_tables: Mapping[str, pl.DataFrame],
    options: Mapping[str, Any],
) -> _Part:
    """Read one spec: its rows' cases, then which rows have no timestamp or no case, then
    validation of the rest; rows are numbered from ``first_row``."""
    name = str(spec.name)
    where = f"EventSpec {name!r}"
    frame, _, _ = to_polars_frame(spec.table, owner="EventSpec")
    frame, lookup_attrs = _with_lookups(frame, spec)
    _check_spec_columns(frame.columns, spec, where)
    case_col, ids, case_ids = _case_ids(frame, spec, case, id_tables, where)
    raw = frame.get_column(spec.timestamp)
    no_ts = raw.is_null() | ((raw.str.strip_chars() == "") if raw.dtype == pl.String else False)
    unmapped = ~no_ts & case_ids.is_null()

    activity_col = spec.activity.name if isinstance(spec.activity, Column) else _FIXED_ACTIVITY
    used = [spec.timestamp, activity_col, *spec.roles.values(), *spec.attributes, *lookup_attrs]
    fixed = [] if isinstance(spec.activity, Column) else [pl.lit(spec.activity).alias(_FIXED_ACTIVITY)]
    work = frame.with_columns(case_ids.alias(case_col), *fixed).select(
        list(dict.fromkeys([case_col, *([spec.via] if spec.via else []), *used])))
    mapping = ColumnMapping(case=case_col, activity=activity_col, timestamp=spec.timestamp, **spec.roles)
    playing = set(mapping.roles().values())
    attributes = [*spec.attributes, *(c for c in lookup_attrs if c not in playing)]
    events, checked = _validated(
        work, (~no_ts & ~unmapped).arg_true().cast(pl.Int64), first_row, where,
        mapping=mapping, event_attributes=attributes, **options,
    )
    lost = work.filter(unmapped).select(
        (unmapped.arg_true().cast(pl.Int64) + first_row).alias("row"), pl.lit(UNMAPPED).alias("reason"),
        pl.all(),
    )
    rejected = pl.concat([lost, checked], how="diagonal_relaxed").sort("row")
    rejected = _with_source(rejected.drop(_FIXED_ACTIVITY, strict=False), pl.lit(name))
    examples: list[str] = [] if ids is None else (
        ids.filter(unmapped).drop_nulls().unique(maintain_order=True).head(_EXAMPLES).to_list())
    counts = source_counts(
        name, first_row=first_row, rows=frame.height, events=events.height, rejected=rejected,
        no_timestamp=int(no_ts.sum()), unmapped_examples=examples,
    )
    work = work.drop(_FIXED_ACTIVITY, strict=False)
    return _Part(events=events, rejected=rejected, sources=counts, work=work)


def _check_spec_columns(columns: Sequence[str], spec: EventSpec, where: str) -> None:
    _require(columns, spec.timestamp, "timestamp", where)
    if isinstance(spec.activity, Column):
        _require(columns, spec.activity.name, "activity", where)
    elif spec.activity in columns:
        raise invalid(
            "activity", where,
            f"a fixed activity name, which is also a column of the table; to take the activity from "
            f"the column, write activity=jm.Column({spec.activity!r})", spec.activity,
        )
    for role, col in spec.roles.items():
        _require(columns, col, role, where)
    for col in spec.attributes:
        _require(columns, col, "attribute", where)


def _case_ids(
    frame: pl.DataFrame, spec: EventSpec, case: str, id_tables: Mapping[str, pl.DataFrame], where: str
) -> tuple[str, pl.Series | None, pl.Series]:
    """The column name under which the case is validated, the via ids (None without
    ``via``) and each row's case id as text (null: unmapped)."""
    if spec.case is not None:
        _require(frame.columns, spec.case, "case", where)
        return spec.case, None, frame.select(_text(frame, spec.case)).to_series()
    via = str(spec.via)
    _require(frame.columns, via, "via", where)
    if via not in id_tables:
        raise SchemaError(
            f"{where} reaches the {case} through via={via!r}, but mappings has no table for "
            f"{via!r} (it has: {_listed(sorted(id_tables)) or 'none'}). Add "
            f"mappings={{{via!r}: jm.IdMap(table, id=..., case=...)}}."
        )
    ids = frame.select(_text(frame, via).alias("__id")).to_series()
    case_ids = pl.DataFrame({"__id": ids}).join(
        id_tables[via], on="__id", how="left", maintain_order="left").get_column("__case")
    return f"{case} (via {via})", ids, case_ids


def _validated(
    work: pl.DataFrame, positions: pl.Series, first_row: int, where: str, **options: Any
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The events and rejected rows of ``work``'s rows at ``positions`` by the one
    validation path, their rows numbered as rows of ``work`` from ``first_row``."""
    if positions.len() == 0:
        events = pl.DataFrame(schema={"case": pl.String, "activity": pl.String, "timestamp": UTC_US,
                                      "row": pl.Int64})
        return events, pl.DataFrame(schema={"row": pl.Int64, "reason": pl.String})
    try:
        built = build(work[positions], owned=True, report=False, **options)
    except SchemaError as exc:
        raise SchemaError(f"{where}: {exc}") from exc
    events, checked = (
        t.with_columns((positions.gather(t.get_column("row")) + first_row).alias("row"))
        for t in (built.events, built.rejected)
    )
    return events, checked


def _with_source(rejected: pl.DataFrame, source: pl.Expr) -> pl.DataFrame:
    """``rejected`` with a ``source`` column after ``reason`` (an input column of that
    name becomes ``source_input``)."""
    if "source" in rejected.columns:
        rejected = rejected.rename({"source": "source_input"})
    rest = [c for c in rejected.columns if c not in ("row", "reason")]
    return rejected.select("row", "reason", source.alias("source"), *rest)


# -- merging events ------------------------------------------------------------------------
def _merge(parts: Sequence[pl.DataFrame], duplicates: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stack events (rows already numbered apart), sort them by (case in order of first
    row, timestamp, row) and, with ``duplicates="reject"``, split off exact repeats of an
    earlier row: the rule of :func:`journeymine._validate.build`, across inputs."""
    try:
        events = pl.concat([p for p in parts if p.height] or parts[:1], how="diagonal_relaxed")
    except (pl.exceptions.SchemaError, pl.exceptions.ComputeError) as exc:
        raise SchemaError(f"The inputs' event columns have types that do not combine: {exc}") from exc
    first = ["case", "activity", "timestamp", *[r for r in OPTIONAL_ROLES if r in events.columns]]
    order = [*first, *[c for c in events.columns if c not in (*first, "row")], "row"]
    events = events.select(order).sort(
        [pl.col("row").min().over("case"), "timestamp", "row"], maintain_order=True
    )
    if duplicates == "keep":
        return events, events.clear()
    repeat = events.select(~pl.struct([c for c in order if c != "row"]).is_first_distinct()).to_series()
    return events.filter(~repeat), events.filter(repeat)


def _case_table(events: pl.DataFrame) -> pl.DataFrame:
    return events.group_by("case", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("n_events"),
        pl.col("timestamp").first().alias("start"),
        pl.col("timestamp").last().alias("end"),
    )


def _add_case_tables(
    cases: pl.DataFrame, tables: Sequence[Lookup], case: str
) -> tuple[pl.DataFrame, list[str]]:
    names: list[str] = []
    for i, lookup in enumerate(tables):
        if lookup.on is not None:
            raise invalid("on", "from_tables", f"None for a case table (it is matched with the {case})",
                          lookup.on)
        where = f"case table {i} (key {lookup.key!r})"
        table, attrs = _lookup_table(lookup, where, [*names, *RESERVED_CASE_COLUMNS])
        joined = cases.select("case").join(
            table.rename({"__key": "case"}), on="case", how="left", maintain_order="left")
        missing = cases.join(table.select(pl.col("__key").alias("case")), on="case", how="anti")
        if missing.height:
            warn(
                f"{missing.height:,} of {cases.height:,} {case}s have no row in {where} "
                f"({_listed(missing.get_column('case').to_list())}); their {_listed(attrs)} are missing.",
                DataQualityWarning,
            )
        cases = cases.with_columns(joined.select(attrs))
        names += attrs
    return cases.select("case", *names, "n_events", "start", "end"), names


def _report(
    sources: pl.DataFrame, rejected: pl.DataFrame, n_events: int, on_invalid: str, owner: str
) -> None:
    """One warning (or, for rows that could not be used and ``on_invalid="raise"``, one
    error) saying what did not become an event, per source."""
    rows = int(sources.get_column("rows").sum())
    parts = []
    no_ts = sources.filter(pl.col("no timestamp") > 0)
    if no_ts.height:
        per = ", ".join(f"{s}: {n:,}" for s, n in no_ts.select("source", "no timestamp").iter_rows())
        parts.append(f"{int(no_ts.get_column('no timestamp').sum()):,} without a timestamp ({per})")
    lost = sources.filter(pl.col(UNMAPPED) > 0)
    if lost.height:
        per = ", ".join(
            f"{s}: {n:,}" + (f", e.g. {_listed(ex)}" if len(ex) else "")
            for s, n, ex in lost.select("source", UNMAPPED, "unmapped examples").iter_rows()
        )
        parts.append(f"{int(lost.get_column(UNMAPPED).sum()):,} with an unmapped id ({per})")
    checked = rejected.filter(pl.col("reason") != UNMAPPED)
    if checked.height:
        counts = checked.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
        per = ", ".join(f"{n:,} {r}" for r, n in counts.iter_rows())
        parts.append(f"{checked.height:,} rejected ({per})")
    if not parts:
        return
    message = (
        f"{owner}: {rows:,} rows in {sources.height} source(s) gave {n_events:,} events; not events: "
        f"{'; '.join(parts)}."
    )
    if rejected.height and on_invalid == "raise":
        err = DataQualityError(
            message + " The unmapped and rejected rows are on this error's .rejected attribute; pass "
            "on_invalid='reject' to set them aside in log.rejected."
        )
        err.rejected = rejected.to_pandas()  # type: ignore[attr-defined]
        raise err
    warn(
        message + " Every row is counted in log.sources; the unmapped and rejected rows are in "
        "log.rejected with their source and reason.",
        DataQualityWarning,
    )


def _count_repeats(sources: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    """``sources`` with the events at ``rows`` moved from ``events`` to ``duplicate event``."""
    if rows.len() == 0:
        return sources
    which = _source_of(rows, sources)
    hits = pl.Series(np.bincount(which, minlength=sources.height).astype(np.int64))
    return sources.with_columns(pl.col("events") - hits, pl.col(_DUPLICATE) + hits)


def _source_of(rows: pl.Series, sources: pl.DataFrame) -> np.ndarray:
    """The source (its position in ``sources``) of each input row number: the last source
    whose ``first_row`` is at or before it. One rule for every count, so a filtered input,
    whose kept rows keep their numbers, is counted where its rows are attributed."""
    starts = sources.get_column("first_row").to_numpy()
    which = np.searchsorted(starts, rows.to_numpy(), side="right") - 1
    return np.clip(which, 0, None)


def _finish(
    *,
    events: pl.DataFrame,
    cases: pl.DataFrame,
    rejected: pl.DataFrame,
    sources: pl.DataFrame,
    mapping: ColumnMapping,
    case_attributes: Sequence[str],
    stage_order: Sequence[str] | None,
    source: str,
    files: Sequence[str] = (),
) -> JourneyLog:
    if events.height == 0:
        err = EmptyLogError(
            f"None of the {int(sources.get_column('rows').sum()):,} input rows gave an event; see "
            "this error's .sources and .rejected attributes."
        )
        err.rejected = rejected.to_pandas()  # type: ignore[attr-defined]
        err.sources = sources.to_pandas()  # type: ignore[attr-defined]
        raise err
    reserved = {"case", "activity", "timestamp", "row", *OPTIONAL_ROLES}
    return JourneyLog._create(
        events=events,
        cases=cases,
        rejected=rejected,
        mapping=mapping,
        case_attributes=case_attributes,
        event_attributes=[c for c in events.columns if c not in reserved],
        stage_order=stage_order,
        source=source,
        sources=sources.select(SOURCE_COLUMNS),
        files=files,
    )


# -- public --------------------------------------------------------------------------------
def from_tables(
    events: EventSpec | Sequence[EventSpec],
    *,
    case: str,
    mappings: Mapping[str, IdMap | FrameLike] | None = None,
    case_tables: Lookup | Sequence[Lookup] = (),
    tz: str | None = None,
    timestamp_format: str | None = None,
    dayfirst: bool | None = None,
    valid_time: tuple[TimeLike, TimeLike] = ("1900-01-01", "2100-01-01"),
    duplicates: Literal["reject", "keep"] = "reject",
    on_invalid: OnInvalid = "reject",
) -> JourneyLog:
    """Build one journey log from wide tables, as declared by :class:`EventSpec` s.

    Each spec's rows are validated by the rules of :meth:`JourneyLog.from_frame` (its
    timestamp column read on its own, as ``read_csv`` reads a column); the events of all
    specs are then sorted by (case, timestamp, row), and an exact repeat of an earlier
    event (in any spec) is set aside as ``duplicate event``.

    Every row of every spec is counted once in ``log.sources``: an event, ``no timestamp``
    (its timestamp is empty: no event, and not an error), ``unmapped id`` (the case id is
    missing, or the ``via`` id is missing, not in its mapping table or mapped to no case),
    or rejected by validation with its reason. The unmapped and rejected rows are in
    ``log.rejected`` with ``row``, ``reason``, ``source`` (the spec's name) and the
    spec's input columns. Rows of the specs are numbered one after the other, spec by spec
    (``log.sources["first_row"]``). One :class:`DataQualityWarning` sums up what did not
    become an event.

    Parameters
    ----------
    events : EventSpec or sequence of EventSpec
        What makes events; names must be unique.
    case : str
        What a case is (``"account"``): ``log.mapping.case`` and the wording of messages.
    mappings : mapping of str to IdMap or frame, optional
        For each ``via`` column, the table mapping its ids to cases. A plain frame is read
        as ``IdMap(frame, id=<the via column>, case=case)``. Use the same :class:`IdMap`
        under several names when tables call the same id differently (``WhoId``,
        ``ContactId``).
    case_tables : Lookup or sequence of Lookup
        Per-case attributes, joined on the case id (each key once); the attributes become
        the log's case attributes. Cases missing from a table are named in a warning.
    tz, timestamp_format, dayfirst, valid_time, duplicates, on_invalid : optional
        As in :meth:`JourneyLog.from_frame`, for every spec. ``on_invalid="raise"`` raises
        :class:`DataQualityError` when a row is unmapped or rejected (rows without a
        timestamp are not an error).

    Returns
    -------
    JourneyLog

    Raises
    ------
    SchemaError
        A column is missing (the message names it, the spec and close matches), a mapping
        table maps an id to two cases, or a lookup key occurs twice (naming the ids).
    InvalidParameterError
        A spec gives both or neither of ``case`` and ``via``, names repeat, or an option
        is not allowed.
    DataQualityError
        Rows are unmapped or rejected and ``on_invalid="raise"``.
    EmptyLogError
        No row gives an event.

    Examples
    --------
    >>> import pandas as pd
    >>> import journeymine as jm
    >>> deals = pd.DataFrame({
    ...     "deal": ["d1", "d2", "d3"], "account": ["A", "B", None],
    ...     "engaged": ["2024-01-02", "2024-01-05", "2024-01-07"],
    ...     "closed": ["2024-02-01", None, None], "stage": ["Won", "Engaging", "Engaging"],
    ... })
    >>> accounts = pd.DataFrame({"account": ["A", "B"], "sector": ["retail", "software"]})
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     log = jm.from_tables(
    ...         [jm.EventSpec(deals, timestamp="engaged", activity="Engage", case="account"),
    ...          jm.EventSpec(deals, timestamp="closed", activity=jm.Column("stage"), case="account")],
    ...         case="account", case_tables=jm.Lookup(accounts, key="account"),
    ...     )
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    from_tables: 6 rows in 2 source(s) gave 3 events; not events: 2 without a timestamp
    (closed: 2); 1 with an unmapped id (engaged: 1). ...
    >>> log.sources[["source", "rows", "events", "no timestamp", "unmapped id"]]
        source  rows  events  no timestamp  unmapped id
    0  engaged     3       2             0            1
    1   closed     3       1             2            0
    >>> log.cases[["case", "sector", "n_events"]]
      case    sector  n_events
    0    A    retail         2
    1    B  software         1
    """
    owner = "from_tables"
    specs = _check_specs(events, owner)
    if not isinstance(case, str) or not case:
        raise invalid("case", owner, "a name for the cases (non-empty str), e.g. 'account'", case)
    check_build_options(
        owner, on_invalid, duplicates, (), (), roles={"case": case, "activity": "a", "timestamp": "t"},
        tz=tz, timestamp_format=timestamp_format, dayfirst=dayfirst, valid_time=valid_time,
    )
    tables = _lookups(case_tables, "case_tables", owner)
    id_tables = _id_tables(mappings, specs, case, owner)
    options = dict(tz=tz, timestamp_format=timestamp_format, dayfirst=dayfirst, valid_time=valid_time,
                   duplicates="keep", on_invalid=on_invalid)
    parts: list[_Part] = []
    first_row = 0
    for spec in specs:
        part = _spec_part(spec, case=case, first_row=first_row, id_tables=id_tables, options=options)
        parts.append(part)
        first_row += int(part.sources.get_column("rows")[0])
    merged, repeats = _merge([p.events for p in parts], duplicates)
    sources = _count_repeats(pl.concat([p.sources for p in parts]), repeats.get_column("row"))
    rejected = pl.concat(
        [*(p.rejected for p in parts), *_repeated_rows(parts, repeats)], how="diagonal_relaxed"
    ).sort("row")
    cases, case_attributes = _add_case_tables(_case_table(merged), tables, case)
    _report(sources, rejected, merged.height, on_invalid, owner)
    roles = {r: r for r in OPTIONAL_ROLES if r in merged.columns}
    return _finish(
        events=merged, cases=cases, rejected=rejected, sources=sources,
        mapping=ColumnMapping(case=case, activity="activity", timestamp="timestamp", **roles),
        case_attributes=case_attributes, stage_order=None,
        source=f"from_tables({', '.join(repr(s.name) for s in specs)})",
    )


def _check_specs(events: Any, owner: str) -> list[EventSpec]:
    specs: list[Any] = [events] if isinstance(events, EventSpec) else (
        list(events) if isinstance(events, Sequence) else [])
    if not specs or not all(isinstance(s, EventSpec) for s in specs):
        raise invalid("events", owner, "an EventSpec or a non-empty list of them", events)
    names = [str(s.name) for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise invalid("events", owner, f"specs with unique names (repeated: {repeated}); give each "
                      "EventSpec a name=", names)
    return specs


def _id_tables(
    mappings: Mapping[str, IdMap | FrameLike] | None, specs: Sequence[EventSpec], case: str, owner: str
) -> dict[str, pl.DataFrame]:
    """The mapping tables the specs use, read and checked once per :class:`IdMap`."""
    if mappings is None:
        return {}
    if not isinstance(mappings, Mapping):
        raise invalid("mappings", owner, "a dict of via column to jm.IdMap(...) or frame", mappings)
    used = {s.via for s in specs if s.via is not None}
    # one IdMap given under several via names is read once; the cache holds the IdMap
    # itself, so its id cannot be reused by another object while the cache lives
    seen: dict[int, tuple[IdMap, pl.DataFrame]] = {}
    out: dict[str, pl.DataFrame] = {}
    for via, table in mappings.items():
        if via not in used:
            continue
        idmap = table if isinstance(table, IdMap) else IdMap(table, id=via, case=case)
        if id(idmap) not in seen:
            seen[id(idmap)] = (idmap, _id_table(idmap, via, case))
        out[via] = seen[id(idmap)][1]
    return out


def _repeated_rows(parts: Sequence[_Part], repeats: pl.DataFrame) -> list[pl.DataFrame]:
    """The rejected rows of events that repeat an event of an earlier spec: their spec's
    input columns, found by row."""
    if repeats.height == 0:
        return []
    rows = repeats.get_column("row")
    out = []
    for part in parts:
        first = int(part.sources.get_column("first_row")[0])
        mine = rows.filter((rows >= first) & (rows < first + part.work.height))
        if mine.len():
            original = part.work[mine - first].select(
                mine.alias("row"), pl.lit(_DUPLICATE).alias("reason"), pl.all())
            out.append(_with_source(original, pl.lit(part.sources.get_column("source")[0])))
    return out


def concat(logs: Sequence[JourneyLog], *, duplicates: Literal["reject", "keep"] = "reject") -> JourneyLog:
    """Merge logs that map the same roles into one log.

    The inputs' rows are numbered one after the other, log by log (``log.sources`` lists
    each input with its ``first_row``); events are sorted by (case, timestamp, row), and
    an event that repeats an event of an earlier log exactly is set aside as
    ``duplicate event`` (the usual rule; ``duplicates="keep"`` keeps it), with a
    :class:`DataQualityWarning`. Such a row is in ``log.rejected`` with the event's
    values (role names), the inputs' rejected rows with their ``source`` (named apart:
    a second ``pandas.DataFrame`` is ``pandas.DataFrame (2)``). A case in
    several logs must have the same case attributes in each (missing values are filled
    from the others).

    Parameters
    ----------
    logs : sequence of JourneyLog
        In memory; the mapping, the stage order and the event columns' roles come from
        the first.
    duplicates : {"reject", "keep"}

    Raises
    ------
    SchemaError
        The logs map different roles or stage orders, or a column has types that do not
        combine.
    DataQualityError
        A case has different values of a case attribute in two logs (naming them).

    Examples
    --------
    >>> import pandas as pd
    >>> import journeymine as jm
    >>> jan = jm.JourneyLog.from_frame(pd.DataFrame(
    ...     {"account": ["A"], "touch": ["Webinar"], "at": ["2024-01-10"]}),
    ...     case="account", activity="touch", timestamp="at")
    >>> feb = jm.JourneyLog.from_frame(pd.DataFrame(
    ...     {"id": ["A", "B"], "act": ["Demo", "Webinar"], "ts": ["2024-02-01", "2024-02-03"]}),
    ...     case="id", activity="act", timestamp="ts")
    >>> both = jm.concat([jan, feb])
    >>> both
    <JourneyLog: 2 cases, 3 events, 2 activities, 2024-01-10 → 2024-02-03>
    >>> both.sources[["source", "first_row", "rows", "events"]]
                     source  first_row  rows  events
    0      pandas.DataFrame          0     1       1
    1  pandas.DataFrame (2)          1     2       2
    """
    from ._engine import require_embedded

    owner = "concat"
    check_choice("duplicates", owner, duplicates, ("reject", "keep"))
    if isinstance(logs, JourneyLog) or not isinstance(logs, Sequence) or not logs or not all(
        isinstance(log, JourneyLog) for log in logs
    ):
        raise invalid("logs", owner, "a non-empty list of JourneyLog", logs)
    for log in logs:
        require_embedded(log, "jm.concat")
    _check_same_roles(logs)
    events, rejected, sources = _stack(logs)
    merged, repeats = _merge(events, duplicates)
    source_table = _count_repeats(sources, repeats.get_column("row"))
    if repeats.height:
        rejected = pl.concat([rejected, _repeats_rejected(repeats, source_table)], how="diagonal_relaxed")
        warn(
            f"concat: {repeats.height:,} event(s) repeat an event of an earlier log and were set aside "
            f"as {_DUPLICATE!r} (first rows: {repeats.get_column('row').head(5).to_list()}); they are in "
            "log.rejected. Pass duplicates='keep' to keep them.",
            DataQualityWarning,
        )
    cases, case_attributes = _concat_cases(logs, _case_table(merged))
    first = logs[0]
    return _finish(
        events=merged, cases=cases, rejected=rejected.sort("row"), sources=source_table,
        mapping=first.mapping, case_attributes=case_attributes, stage_order=first.stage_order,
        source=f"concat({', '.join(log.source for log in logs)})",
        files=tuple(dict.fromkeys(f for log in logs for f in log._inputs)),  # no writer replaces one
    )


def _stack(logs: Sequence[JourneyLog]) -> tuple[list[pl.DataFrame], pl.DataFrame, pl.DataFrame]:
    """The logs' events (a frame per log), rejected rows and sources, rows numbered one log
    after the other (a log takes as many numbers as it read rows) and sources named apart."""
    events, rejected, sources = [], [], []
    offset = 0
    seen: set[str] = set()
    for log in logs:
        own, bad = log.to_polars("events"), log.to_polars("rejected")
        mine = pl.from_pandas(log.sources)
        names = _unique_names(mine.get_column("source").to_list(), seen)
        events.append(own.with_columns(pl.col("row") + offset))
        if log._sources is None:  # a log read from one input: its rejected rows have no source yet
            bad = _with_source(bad, pl.lit(log.source))
        rejected.append(bad.with_columns(pl.col("row") + offset, pl.col("source").replace(names)))
        sources.append(mine.with_columns(pl.col("first_row") + offset, pl.col("source").replace(names)))
        last = pl.concat([own.get_column("row"), bad.get_column("row")]).max()
        offset += max(int(mine.get_column("rows").sum()), 0 if last is None else int(last) + 1)  # type: ignore[arg-type]
    return events, pl.concat(rejected, how="diagonal_relaxed"), pl.concat(sources, how="vertical_relaxed")


def _repeats_rejected(repeats: pl.DataFrame, sources: pl.DataFrame) -> pl.DataFrame:
    """Events of a later log that repeat an earlier one, as rejected rows with their source."""
    names = sources.get_column("source").to_list()
    which = [names[i] for i in _source_of(repeats.get_column("row"), sources)]
    repeated = repeats.select("row", pl.lit(_DUPLICATE).alias("reason"), pl.all().exclude("row"))
    return _with_source(repeated, pl.lit(pl.Series(which, dtype=pl.String)))


def _unique_names(names: Sequence[str], seen: set[str]) -> dict[str, str]:
    """New names for the sources ``names`` of one log, so that no two inputs of concat share
    one (the second ``pandas.DataFrame`` is ``pandas.DataFrame (2)``); ``seen`` grows."""
    out = {}
    for name in names:
        new, k = name, 2
        while new in seen:
            new, k = f"{name} ({k})", k + 1
        seen.add(new)
        out[name] = new
    return out


def _check_same_roles(logs: Sequence[JourneyLog]) -> None:
    want = list(logs[0].mapping.roles())
    for i, log in enumerate(logs[1:], start=1):
        got = list(log.mapping.roles())
        if set(got) != set(want):
            raise SchemaError(
                f"Log {i} maps the roles {got}, log 0 maps {want}: concat merges logs with the same "
                "roles. Rebuild them with the same roles mapped."
            )
        if log.stage_order != logs[0].stage_order:
            raise SchemaError(
                f"Log {i} has stage_order={log.stage_order!r}, log 0 {logs[0].stage_order!r}: concat "
                "needs one stage order."
            )


def _concat_cases(logs: Sequence[JourneyLog], cases: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The merged case table: per case attribute, each case's value, which must agree
    between the logs that have the case."""
    names = list(dict.fromkeys(a for log in logs for a in log.case_attributes))
    for name in names:
        values = pl.concat(
            [log.to_polars("cases").select("case", name).with_columns(pl.lit(i).alias("__log"))
             for i, log in enumerate(logs) if name in log.case_attributes],
            how="vertical_relaxed",
        ).drop_nulls(name)
        per_case = values.group_by("case", maintain_order=True).agg(
            pl.col(name).first(), (pl.col(name) != pl.col(name).first()).any().alias("__differs"),
            pl.col(name).alias("__all"), pl.col("__log").alias("__logs"),
        )
        bad = per_case.filter(pl.col("__differs"))
        if bad.height:
            row = bad.row(0, named=True)
            raise DataQualityError(
                f"Case attribute {name!r} differs between the logs for {bad.height:,} case(s), e.g. case "
                f"{row['case']!r}: {row['__all']} in logs {row['__logs']}. A case attribute has one value "
                "per case; fix the inputs, or drop the attribute from all but one log."
            )
        cases = cases.join(per_case.select("case", name), on="case", how="left", maintain_order="left")
    return cases.select("case", *names, "n_events", "start", "end"), names
