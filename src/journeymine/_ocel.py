"""Object-centric event logs (OCEL 2.0 and 1.0): read, check, flatten, write.

Reading
-------
:func:`read_ocel` reads the three OCEL 2.0 serialisations (JSON, XML, SQLite) and OCEL 1.0
JSON into an :class:`ObjectCentricLog` of six polars tables: events, objects, the history
of the objects' attribute values, event–object links and object–object links (each with its
qualifier), and the problems found. The format is recognised from the content (SQLite's
magic bytes, ``<`` for XML, ``{`` for JSON and its keys for the version), after gzip, zlib
or zstd decompression in bounded steps (:mod:`journeymine._decompress`). A file name that
says another format than the content is an error that names both.

Hostile files: XML is parsed with the XES reader's options (no DTD loaded, no entity
resolved, nothing fetched, libxml2's limits on), and a document with a DOCTYPE is refused;
JSON and XML text is held within ``max_bytes``; SQLite is opened read-only
(``file:…?mode=ro``) with an authorizer that allows only reads, and only SELECTs on the
schema table and the OCEL tables (never a view) are run.

Nothing is dropped silently: every link is kept as read (a SQLite file's link tables give
exactly their rows), and links to unknown events or objects, events and objects of
undeclared types, events without a time and repeated ids are counted in
:attr:`ObjectCentricLog.problems` and announced in one :class:`DataQualityWarning`.

Flattening
----------
:meth:`ObjectCentricLog.flatten` makes a :class:`JourneyLog` with one case per object of a
type; an event reaches a case through a direct event–object link or, with ``via``, through
an object of a ``via`` type linked to the case object (one object–object link, either
direction). An event reaching several cases is copied into each; events reaching none are
left out; :meth:`ObjectCentricLog.flattening` counts both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import polars as pl

from ._display import Displayed, note, section, table
from ._jsonsafe import jsonable, records
from ._log import JourneyLog
from ._ocel_formats import FORMATS, Parts
from ._ocel_formats import parse as parse_file
from ._output import write_atomic
from ._params import as_names, check_choice, free_name, invalid
from ._timestamps import parse_timestamps
from ._typing import PathLike
from ._warnings import warn
from .errors import (
    DataQualityWarning,
    EmptyLogError,
    InvalidParameterError,
    JourneymineWarning,
    SchemaError,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Flattening", "ObjectCentricLog", "read_ocel", "write_ocel"]

OcelFormat = Literal["auto", "ocel2-json", "ocel2-xml", "ocel2-sqlite", "ocel1-json"]
_S = pl.String
_TABLES: Final = ("events", "objects", "object_attributes", "event_objects", "object_objects", "problems")


# =========================================================================================
# the result
# =========================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class ObjectCentricLog(Displayed):
    """An object-centric event log: events, objects and the links between them.

    Read one with :func:`read_ocel`; write it with :func:`write_ocel` (or :meth:`save`);
    turn it into a :class:`JourneyLog` of one object type with :meth:`flatten`.

    The tables (pandas through the properties, polars through :meth:`to_polars`):

    * ``events``: ``event_id``, ``activity`` (the OCEL event type), ``timestamp`` (UTC;
      null when missing or unparsable), then one column per event attribute;
    * ``objects``: ``object_id``, ``object_type``, then one column per object attribute
      holding its *first* value (the earliest in time);
    * ``object_attributes``: every value an object attribute took: ``object_id``,
      ``attribute``, ``time`` (UTC; null for OCEL 1.0, whose values have no time) and
      ``value`` as written in the file (text);
    * ``event_objects``: ``event_id``, ``object_id``, ``qualifier`` (null in OCEL 1.0);
    * ``object_objects``: ``source_id``, ``target_id``, ``qualifier``;
    * ``problems``: ``problem``, ``count``, ``examples``: links to unknown events or
      objects, undeclared types, events without a time, repeated ids. Problem rows stay
      in the tables above (repeated ids excepted: the first row of an id is kept).

    Attribute columns are typed by the file's declared types (integer → Int64, float →
    Float64, boolean → Boolean, time → Datetime UTC) when every value fits, else text.
    An attribute named like a fixed column is renamed ``"<name> (attribute)"``.

    :func:`read_ocel` and :meth:`flatten` show one in use.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> import journeymine as jm
    >>> doc = {"objectTypes": [{"name": "account"}, {"name": "contact"}],
    ...        "eventTypes": [{"name": "Demo"}, {"name": "Webinar"}],
    ...        "objects": [{"id": "A1", "type": "account"}, {"id": "A2", "type": "account"},
    ...                    {"id": "C1", "type": "contact"}],
    ...        "events": [{"id": "e1", "type": "Demo", "time": "2024-01-02T10:00:00Z",
    ...                    "relationships": [{"objectId": "A1", "qualifier": "buyer"},
    ...                                      {"objectId": "A2", "qualifier": "partner"}]},
    ...                   {"id": "e2", "type": "Webinar", "time": "2024-01-03T10:00:00Z",
    ...                    "relationships": [{"objectId": "C1", "qualifier": "attendee"}]}]}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.jsonocel"
    >>> _ = path.write_text(json.dumps(doc))
    >>> ocel = jm.read_ocel(path)
    >>> ocel
    <ObjectCentricLog: 2 events, 3 objects of 2 types, 3 event–object links, 0 object–object links>
    >>> ocel.summary  # per object type: how many objects, and events linked to them
      object_type  n_objects  n_events  n_event_object_links
    0     account          2         1                     2
    1     contact          1         1                     1
    >>> ocel.event_objects
      event_id object_id qualifier
    0       e1        A1     buyer
    1       e1        A2   partner
    2       e2        C1  attendee
    """

    _events: pl.DataFrame
    _objects: pl.DataFrame
    _object_attributes: pl.DataFrame
    _event_objects: pl.DataFrame
    _object_objects: pl.DataFrame
    _problems: pl.DataFrame
    #: declared (or, for OCEL 1.0, inferred) types: kind, type, attribute, attribute_type
    _types: pl.DataFrame
    #: attribute column -> OCEL attribute name, for events and objects
    _columns: dict[str, dict[str, str]]
    source: str
    format: str

    # -- tables -----------------------------------------------------------------------------
    @property
    def events(self) -> pd.DataFrame:
        """One row per event: ``event_id``, ``activity``, ``timestamp``, attributes."""
        return self._events.to_pandas()

    @property
    def objects(self) -> pd.DataFrame:
        """One row per object: ``object_id``, ``object_type``, first attribute values."""
        return self._objects.to_pandas()

    @property
    def object_attributes(self) -> pd.DataFrame:
        """Every value of every object attribute, with its time: the attributes' history."""
        return self._object_attributes.to_pandas()

    @property
    def event_objects(self) -> pd.DataFrame:
        """The event–object links, as read: ``event_id``, ``object_id``, ``qualifier``."""
        return self._event_objects.to_pandas()

    @property
    def object_objects(self) -> pd.DataFrame:
        """The object–object links, as read: ``source_id``, ``target_id``, ``qualifier``."""
        return self._object_objects.to_pandas()

    @property
    def problems(self) -> pd.DataFrame:
        """What does not fit together, counted: one row per kind of problem."""
        return self._problems.to_pandas()

    def to_polars(
        self,
        table: Literal["events", "objects", "object_attributes", "event_objects", "object_objects",
                       "problems"] = "events",
    ) -> pl.DataFrame:
        """One of the tables as a polars frame."""
        check_choice("table", "ObjectCentricLog.to_polars", table, _TABLES)
        frame: pl.DataFrame = getattr(self, f"_{table}")
        return frame

    # -- figures ----------------------------------------------------------------------------
    @property
    def n_events(self) -> int:
        return self._events.height

    @property
    def n_objects(self) -> int:
        return self._objects.height

    @property
    def object_types(self) -> tuple[str, ...]:
        """The object types that have objects, most objects first."""
        counts = self._objects.group_by("object_type").len().sort(["len", "object_type"],
                                                                   descending=[True, False])
        return tuple(counts.get_column("object_type").drop_nulls().to_list())

    @property
    def activities(self) -> tuple[str, ...]:
        """The event types, most frequent first."""
        counts = self._events.group_by("activity").len().sort(["len", "activity"], descending=[True, False])
        return tuple(counts.get_column("activity").drop_nulls().to_list())

    @property
    def summary(self) -> pd.DataFrame:
        """One row per object type: objects, events linked to them, event–object links."""
        links = self._event_objects.join(self._objects.select("object_id", "object_type"),
                                         on="object_id", how="inner")
        per_type = links.group_by("object_type").agg(
            pl.col("event_id").n_unique().alias("n_events"), pl.len().alias("n_event_object_links")
        )
        out = (
            self._objects.group_by("object_type").agg(pl.len().alias("n_objects"))
            .join(per_type, on="object_type", how="left")
            .with_columns(pl.col("n_events", "n_event_object_links").fill_null(0).cast(pl.Int64))
            .sort(["n_objects", "object_type"], descending=[True, False])
        )
        return out.to_pandas()

    def to_dataframe(
        self,
        table: Literal["events", "objects", "object_attributes", "event_objects", "object_objects",
                       "problems"] = "events",
    ) -> pd.DataFrame:
        """One of the tables as a pandas frame (the events by default)."""
        return self.to_polars(table).to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: source, format, counts, object types and problems (not the tables)."""
        return {
            "source": self.source,
            "format": self.format,
            "n_events": self.n_events,
            "n_objects": self.n_objects,
            "n_event_object_links": self._event_objects.height,
            "n_object_object_links": self._object_objects.height,
            "object_types": records(self.summary),
            "problems": records(self._problems),
        }

    def save(self, path: PathLike) -> Path:
        """Write the log as OCEL 2.0 JSON (see :func:`write_ocel`).

        Examples
        --------
        >>> import json, tempfile, pathlib
        >>> import journeymine as jm
        >>> doc = {"objectTypes": [{"name": "account"}], "eventTypes": [{"name": "Demo"}],
        ...        "objects": [{"id": "A1", "type": "account"}],
        ...        "events": [{"id": "e1", "type": "Demo", "time": "2024-01-02T10:00:00Z",
        ...                    "relationships": [{"objectId": "A1", "qualifier": ""}]}]}
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "in.jsonocel").write_text(json.dumps(doc))
        >>> ocel = jm.read_ocel(folder / "in.jsonocel")
        >>> ocel.save(folder / "out.jsonocel").name
        'out.jsonocel'
        """
        return write_ocel(self, path)

    def __repr__(self) -> str:
        types = len(self.object_types)
        parts = [
            f"{self.n_events:,} events",
            f"{self.n_objects:,} objects of {types:,} type{'' if types == 1 else 's'}",
            f"{self._event_objects.height:,} event–object links",
            f"{self._object_objects.height:,} object–object links",
        ]
        n_problems = int(self._problems.get_column("count").sum()) if self._problems.height else 0
        if n_problems:
            parts.append(f"{n_problems:,} problems")
        return f"<ObjectCentricLog: {', '.join(parts)}>"

    def _display_html(self, svg: str | None) -> str:
        parts = [note(f"{self.format} from {self.source}"), table(self.summary)]
        if self._problems.height:
            parts += [note("Problems (kept in the tables, counted here):"), table(self.problems)]
        return section("ocel", repr(self), *parts)

    # -- flattening -------------------------------------------------------------------------
    def flattening(self, object_type: str, *, via: str | Sequence[str] | None = None) -> Flattening:
        """What :meth:`flatten` with these options copies and leaves out, without building
        the log: a :class:`Flattening` with one summary row and one row per event.

        Examples
        --------
        >>> import json, tempfile, pathlib
        >>> import journeymine as jm
        >>> doc = {"objectTypes": [{"name": "account"}], "eventTypes": [{"name": "Demo"}],
        ...        "objects": [{"id": "A1", "type": "account"}],
        ...        "events": [{"id": "e1", "type": "Demo", "time": "2024-01-02T10:00:00Z",
        ...                    "relationships": [{"objectId": "A1", "qualifier": ""}]}]}
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "in.jsonocel").write_text(json.dumps(doc))
        >>> ocel = jm.read_ocel(folder / "in.jsonocel")
        >>> ocel.flattening("account").n_rows
        1
        """
        cases, _ = _case_events(self, object_type, via, "ObjectCentricLog.flattening")
        return _flattening_of(self, cases, object_type, via)

    def flatten(self, object_type: str, *, via: str | Sequence[str] | None = None) -> JourneyLog:
        """A :class:`JourneyLog` with one case per object of ``object_type``.

        Parameters
        ----------
        object_type : str
            The object type whose objects become the cases (e.g. ``"account"``).
        via : str or sequence of str, optional
            Object types through which events also reach a case: an event linked to an
            object of a ``via`` type that has an object–object link (either direction) with
            the case object belongs to that case too. One hop: ``via=["contact",
            "opportunity"]`` reaches accounts through their contacts and through their
            opportunities, not through the contacts of the opportunities.

        Returns
        -------
        JourneyLog
            Cases are the objects of ``object_type`` that reach at least one event. Each
            event appears once per case it reaches (an event reaching one case through two
            paths counts once), with its ``event_id`` and attributes as event attributes.
            The case object's attributes become case attributes, with the value **in
            force at the case's first event** (the latest value set at or before it; an
            attribute first set later takes its first value): what the object was when
            its journey began, so that a later status (say ``won``) does not leak into
            cohorts. Names that clash with the log's own columns get an ``event_`` or
            ``object_`` prefix.

        Warns
        -----
        JourneymineWarning
            One sentence when events are copied to several cases or left out (reaching
            no object of the type); :meth:`flattening` gives the counts as tables.

        Examples
        --------
        >>> import json, tempfile, pathlib, warnings
        >>> import journeymine as jm
        >>> doc = {"objectTypes": [{"name": "account"}, {"name": "contact"}],
        ...        "eventTypes": [{"name": "Webinar"}],
        ...        "objects": [{"id": "A1", "type": "account"},
        ...                    {"id": "C1", "type": "contact",
        ...                     "relationships": [{"objectId": "A1", "qualifier": "works at"}]}],
        ...        "events": [{"id": "e1", "type": "Webinar", "time": "2024-01-02T10:00:00Z",
        ...                    "relationships": [{"objectId": "C1", "qualifier": "attendee"}]}]}
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "small.jsonocel"
        >>> _ = path.write_text(json.dumps(doc))
        >>> ocel = jm.read_ocel(path)
        >>> ocel
        <ObjectCentricLog: 1 events, 2 objects of 2 types, 1 event–object links, 1 object–object links>
        >>> ocel.flatten("account", via="contact").cases["case"].tolist()
        ['A1']
        """
        owner = "ObjectCentricLog.flatten"
        cases, via_types = _case_events(self, object_type, via, owner)
        report = _flattening_of(self, cases, object_type, via)
        frame, case_attrs, event_attrs = _flat_frame(self, cases, object_type)
        if frame.height == 0:
            raise EmptyLogError(
                f"No event reaches an object of type {object_type!r}"
                + (f" directly or via {', '.join(map(repr, via_types))}" if via_types else "")
                + ": the flattened log would be empty. Check the event–object links, or add via=."
            )
        log = JourneyLog.from_frame(
            frame, case="case", activity="activity", timestamp="timestamp",
            case_attributes=case_attrs, event_attributes=event_attrs,
        )
        if report.n_copied or report.n_dropped or log.n_rejected:
            text = report.sentence
            if log.n_rejected:  # validation's own warning gives the reasons
                text += (
                    f" Of those {report.n_rows:,} rows, {log.n_rejected:,} were set aside by "
                    f"validation (no usable time, or a repeat), so the log holds {log.n_events:,} "
                    "events: see log.rejected."
                )
            warn(text, JourneymineWarning)
        how = f" via {', '.join(via_types)}" if via_types else ""
        return log._with_source(f"{self.source} (flattened by {object_type}{how})", files=(self.source,))


@dataclass(frozen=True, eq=False, repr=False)
class Flattening(Displayed):
    """What flattening an :class:`ObjectCentricLog` by one object type copies and drops.

    ``per_event`` has one row per event of the log: ``event_id``, ``activity`` and
    ``n_cases`` (0: left out; 2 or more: copied). :attr:`summary` is one row of totals;
    :attr:`sentence` says it in words.

    Examples
    --------
    A demo shown to two accounts at once, and a webinar that reaches no account:

    >>> import json, tempfile, pathlib
    >>> import journeymine as jm
    >>> doc = {"objectTypes": [{"name": "account"}, {"name": "contact"}],
    ...        "eventTypes": [{"name": "Demo"}, {"name": "Webinar"}],
    ...        "objects": [{"id": "A1", "type": "account"}, {"id": "A2", "type": "account"},
    ...                    {"id": "C1", "type": "contact"}],
    ...        "events": [{"id": "e1", "type": "Demo", "time": "2024-01-02T10:00:00Z",
    ...                    "relationships": [{"objectId": "A1", "qualifier": ""},
    ...                                      {"objectId": "A2", "qualifier": ""}]},
    ...                   {"id": "e2", "type": "Webinar", "time": "2024-01-03T10:00:00Z",
    ...                    "relationships": [{"objectId": "C1", "qualifier": ""}]}]}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.jsonocel"
    >>> _ = path.write_text(json.dumps(doc))
    >>> fl = jm.read_ocel(path).flattening("account")
    >>> fl
    <Flattening by account: 2 cases, 2 events, 1 copied, 1 dropped>
    >>> fl.to_dataframe()
      event_id activity  n_cases
    0       e1     Demo        2
    1       e2  Webinar        0
    >>> fl.sentence  # doctest: +ELLIPSIS
    'Flattening by account gives 2 cases and 2 events from 1 of the 2 events: 1 event copied to ... left out.'
    """

    object_type: str
    via: tuple[str, ...]
    per_event: pl.DataFrame
    n_cases: int
    n_objects: int

    @property
    def n_events(self) -> int:
        """Events in the object-centric log."""
        return self.per_event.height

    @property
    def n_rows(self) -> int:
        """Rows handed to the flattened log (copies included), before validation: an event
        without a usable time is one of them and is set aside in ``log.rejected``."""
        return int(self.per_event.get_column("n_cases").sum())

    @property
    def n_copied(self) -> int:
        """Events that reach two or more cases."""
        return int((self.per_event.get_column("n_cases") > 1).sum())

    @property
    def n_copies(self) -> int:
        """Rows added by copying: the flattened log's events minus the events it holds."""
        return self.n_rows - (self.n_events - self.n_dropped)

    @property
    def n_dropped(self) -> int:
        """Events that reach no object of the type."""
        return int((self.per_event.get_column("n_cases") == 0).sum())

    @property
    def summary(self) -> pd.DataFrame:
        """One row: the counts behind :attr:`sentence`."""
        import pandas as pd

        return pd.DataFrame([{
            "object_type": self.object_type, "via": ", ".join(self.via), "n_objects": self.n_objects,
            "n_cases": self.n_cases, "n_events": self.n_events, "n_rows": self.n_rows,
            "n_events_copied": self.n_copied, "n_copies": self.n_copies, "n_events_dropped": self.n_dropped,
        }])

    @property
    def sentence(self) -> str:
        """The counts in one sentence."""

        def n(count: int, noun: str) -> str:
            if noun.endswith("cop"):
                return f"{count:,} {noun}" + ("y" if count == 1 else "ies")
            return f"{count:,} {noun}" + ("" if count == 1 else "s")

        how = f" (directly or via {', '.join(self.via)})" if self.via else ""
        kept = self.n_events - self.n_dropped
        text = (
            f"Flattening by {self.object_type}{how} gives {n(self.n_cases, 'case')} and "
            f"{n(self.n_rows, 'event')} from {kept:,} of the {n(self.n_events, 'event')}: "
            + (f"{n(self.n_copied, 'event')} copied to several cases ({n(self.n_copies, 'extra cop')})"
               if self.n_copied else "no event is copied to several cases")
        )
        if self.n_dropped:
            text += f", and {n(self.n_dropped, 'event')} reaching no {self.object_type} left out"
        if self.n_objects > self.n_cases:
            idle = self.n_objects - self.n_cases
            text += f"; {n(idle, self.object_type + ' object')} reach{'es' if idle == 1 else ''} no event"
        return text + "."

    def to_dataframe(self) -> pd.DataFrame:
        """One row per event: ``event_id``, ``activity``, ``n_cases``."""
        return self.per_event.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the summary row and the sentence."""
        return {**records(self.summary)[0], "sentence": self.sentence}

    def __repr__(self) -> str:
        return (
            f"<Flattening by {self.object_type}: {self.n_cases:,} cases, {self.n_rows:,} events, "
            f"{self.n_copied:,} copied, {self.n_dropped:,} dropped>"
        )

    def _display_html(self, svg: str | None) -> str:
        return section("flattening", repr(self), note(self.sentence), table(self.summary))


def _check_types(ocel: ObjectCentricLog, object_type: Any, via: Any, owner: str) -> tuple[str, ...]:
    known = sorted(ocel.object_types)
    if not isinstance(object_type, str) or object_type not in known:
        raise invalid("object_type", owner, f"one of the log's object types {known}", object_type)
    via_types = () if via is None else tuple(as_names(via, "via", owner, what="object types"))
    for v in via_types:
        if v not in known or v == object_type:
            raise invalid("via", owner, f"object types of the log other than {object_type!r}, from {known}",
                          via)
    return via_types


def _case_events(
    ocel: ObjectCentricLog, object_type: str, via: Any, owner: str
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """(case, event_id) pairs, each once: the events that reach each object of the type."""
    via_types = _check_types(ocel, object_type, via, owner)
    objects = ocel._objects.select("object_id", "object_type")
    cases = objects.filter(pl.col("object_type") == object_type).select(case=pl.col("object_id"))
    e2o = ocel._event_objects.select("event_id", "object_id").drop_nulls()
    direct = e2o.join(cases, left_on="object_id", right_on="case")
    pairs = [direct.select(case="object_id", event_id="event_id")]
    if via_types:
        o2o = ocel._object_objects.select(a="source_id", b="target_id").drop_nulls()
        both = pl.concat([o2o, o2o.select(a="b", b="a")])
        middle = objects.filter(pl.col("object_type").is_in(via_types)).select(b="object_id")
        hops = both.join(cases, left_on="a", right_on="case").join(middle, on="b")
        pairs.append(hops.join(e2o, left_on="b", right_on="object_id").select(case="a", event_id="event_id"))
    known = ocel._events.select("event_id")
    found = pl.concat(pairs).join(known, on="event_id").unique(maintain_order=True)
    return found, via_types


def _flattening_of(ocel: ObjectCentricLog, cases: pl.DataFrame, object_type: str, via: Any) -> Flattening:
    per = cases.group_by("event_id").agg(pl.len().alias("n_cases"))
    per_event = (
        ocel._events.select("event_id", "activity").join(per, on="event_id", how="left")
        .with_columns(pl.col("n_cases").fill_null(0).cast(pl.Int64))
    )
    n_objects = ocel._objects.filter(pl.col("object_type") == object_type).height
    via_types = () if via is None else tuple(as_names(via, "via", "flatten", what="object types"))
    return Flattening(object_type=object_type, via=via_types, per_event=per_event,
                      n_cases=cases.get_column("case").n_unique(), n_objects=n_objects)


def _flat_frame(
    ocel: ObjectCentricLog, cases: pl.DataFrame, object_type: str
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """The events of each case with the case object's attributes in force at its first event."""
    from ._mapping import RESERVED_CASE_COLUMNS, RESERVED_EVENT_COLUMNS

    events = ocel._events
    event_cols = [c for c in events.columns if c not in ("event_id", "activity", "timestamp")]
    rename_e = {c: f"event_{c}" for c in event_cols if c in RESERVED_EVENT_COLUMNS or c == "event_id"}
    rows = cases.join(events, on="event_id").rename(rename_e)
    event_attrs = ["event_id", *(rename_e.get(c, c) for c in event_cols)]
    start = rows.group_by("case").agg(pl.col("timestamp").min().alias("start"))
    history = (
        ocel._object_attributes.join(start, left_on="object_id", right_on="case")
        .with_row_index("order").sort("object_id", "attribute", "time", "order", nulls_last=False)
    )
    in_force = history.group_by("object_id", "attribute", maintain_order=True).agg(
        pl.coalesce(
            pl.col("value").filter(pl.col("time").is_null() | (pl.col("time") <= pl.col("start"))).last(),
            pl.col("value").first(),
        ).alias("value")
    )
    attrs = ocel._types.filter((pl.col("kind") == "object") & (pl.col("type") == object_type))
    names = [a for a in dict.fromkeys(attrs.get_column("attribute").to_list())]
    present = in_force.get_column("attribute").unique(maintain_order=True).to_list()
    names = [a for a in names if a in present] + [a for a in present if a not in names]
    wide = pl.DataFrame({"case": cases.get_column("case").unique(maintain_order=True)})
    # an attribute named like a column of the flat log ("case", "event_id", ...) becomes
    # "object_<name>" (again while that is taken too)
    taken = {"case", "activity", "timestamp", *event_attrs, *RESERVED_CASE_COLUMNS, *RESERVED_EVENT_COLUMNS}
    used = taken | set(names)
    final = {a: free_name(f"object_{a}", used, lambda n: f"object_{n}") if a in taken else a for a in names}
    if names:
        # pivoted under working names: the attributes' own may clash with the index column
        work = {a: f" attribute {i}" for i, a in enumerate(names)}
        pivot = in_force.with_columns(pl.col("attribute").replace_strict(work)).pivot(
            on="attribute", index="object_id", values="value", aggregate_function="first"
        )
        pivot = pivot.select(
            pl.col("object_id").alias("case"),
            *(_as_dtype(work[a], _object_dtype(ocel, a)).alias(final[a]) for a in names),
        )
        wide = wide.join(pivot, on="case", how="left")
    case_attrs = [final[a] for a in names]
    frame = rows.join(wide, on="case", how="left").select(
        "case", "activity", "timestamp", *event_attrs, *case_attrs
    )
    return frame, case_attrs, event_attrs


def _as_dtype(column: str, dtype: Any) -> pl.Expr:
    """The text column as ``dtype`` (booleans read as ``_typed`` reads them; polars cannot
    cast text to Boolean)."""
    if dtype == _S:
        return pl.col(column)
    if dtype == pl.Boolean:
        return (
            pl.col(column)
            .str.to_lowercase()
            .replace_strict({"true": True, "false": False, "1": True, "0": False}, default=None,
                            return_dtype=pl.Boolean)
        )
    return pl.col(column).cast(dtype, strict=False)


def _object_dtype(ocel: ObjectCentricLog, attribute: str) -> Any:
    """The dtype of an object attribute in the objects table (text when not there)."""
    column = next((c for c, a in ocel._columns["object"].items() if a == attribute), None)
    if column is None:
        return _S
    dtype = ocel._objects.schema[column]
    return _S if isinstance(dtype, pl.Datetime) else dtype


# =========================================================================================
# reading
# =========================================================================================
def read_ocel(
    path: PathLike,
    *,
    format: OcelFormat = "auto",
    tz: str | None = None,
    max_bytes: int | None = None,
) -> ObjectCentricLog:
    """Read an object-centric event log: OCEL 2.0 JSON, XML or SQLite, or OCEL 1.0 JSON.

    Parameters
    ----------
    path : str or os.PathLike
        The file. JSON and XML may be gzip, zlib or zstd compressed (recognised by their
        first bytes); SQLite must be a plain database file.
    format : {"auto", "ocel2-json", "ocel2-xml", "ocel2-sqlite", "ocel1-json"}
        ``"auto"`` recognises the format from the content; a file name that says
        another format (``.xmlocel`` holding JSON) is then an error. Naming the format
        reads the file only as that format.
    tz : str, optional
        IANA zone of timestamps written without an offset (UTC when not given). OCEL
        2.0 XML and SQLite files often hold local times: the example log of the OCEL
        standard needs ``tz="Europe/Berlin"`` for its XML and SQLite forms to agree with
        its JSON form.
    max_bytes : int, optional
        The most text (after decompression) of a JSON or XML file held in memory; None
        for ``$JOURNEYMINE_MAX_BYTES`` or a quarter of the machine's memory.

    Returns
    -------
    ObjectCentricLog

    Raises
    ------
    FileFormatError
        The file is none of these formats, its name and content disagree, it is
        malformed, it is XML with a DOCTYPE, or its text passes ``max_bytes``.

    Warns
    -----
    DataQualityWarning
        Links to unknown events or objects, undeclared types, events without a time or
        repeated ids, with their counts (also in :attr:`ObjectCentricLog.problems`).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> import journeymine as jm
    >>> doc = {"ocel:global-log": {"ocel:object-types": ["account"]},
    ...        "ocel:objects": {"A1": {"ocel:type": "account", "ocel:ovmap": {"segment": "SMB"}}},
    ...        "ocel:events": {"1": {"ocel:activity": "Demo", "ocel:timestamp": "2024-01-02T10:00:00Z",
    ...                              "ocel:vmap": {}, "ocel:omap": ["A1"]}}}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "small.jsonocel"
    >>> _ = path.write_text(json.dumps(doc))
    >>> ocel = jm.read_ocel(path)
    >>> ocel.format, ocel.objects.to_dict("records")
    ('OCEL 1.0 JSON', [{'object_id': 'A1', 'object_type': 'account', 'segment': 'SMB'}])
    """
    owner = "read_ocel"
    check_choice("format", owner, format, FORMATS)
    if tz is not None and (not isinstance(tz, str) or not tz):
        raise invalid("tz", owner, "an IANA time-zone name or None", tz)
    p = Path(os.fspath(path))
    if not p.is_file():
        if p.exists():
            raise IsADirectoryError(f"{str(p)!r} is not a regular file; give the path of an OCEL file.")
        raise FileNotFoundError(f"No such file: {str(p)!r}")
    parts, name = parse_file(p, format=format, max_bytes=max_bytes, owner=owner)
    return _assemble(parts, source=str(p), fmt=name, tz=tz)


# =========================================================================================
# assembling: types, times, wide attribute tables, problems
# =========================================================================================
def _examples(ids: pl.Series, n: int = 3) -> str:
    shown = ids.unique(maintain_order=True).head(n).to_list()
    return ", ".join(repr(v) for v in shown)


def _count(problems: list[dict[str, Any]], kind: str, ids: pl.Series) -> None:
    if ids.len():
        problems.append({"problem": kind, "count": ids.len(), "examples": _examples(ids)})


def _unknown(values: pl.Series, known: pl.Series) -> pl.Series:
    """The ``values`` (in order, repeats kept) that are null or not among ``known``."""
    frame = values.alias("id").to_frame()
    return frame.join(known.alias("id").to_frame(), on="id", how="anti", nulls_equal=False).get_column("id")


def _typed(values: pl.Series, kind: str, tz: str | None) -> pl.Series:
    """``values`` (text) as the OCEL type ``kind`` when every value fits, else unchanged."""
    kind = kind.lower()
    try:
        if kind in ("integer", "int"):
            got = values.cast(pl.Int64, strict=False)
        elif kind in ("float", "double"):
            got = values.cast(pl.Float64, strict=False)
        elif kind == "boolean":
            got = values.str.to_lowercase().replace_strict(
                {"true": True, "false": False, "1": True, "0": False}, default=None, return_dtype=pl.Boolean)
        elif kind in ("time", "date", "datetime"):
            got = parse_timestamps(values, column=values.name, tz=tz, fmt=None)
        else:
            return values
    except SchemaError:  # a time column whose date order cannot be told: keep the text
        return values
    return got if got.null_count() == values.null_count() else values


def _wide(
    ids: pl.DataFrame, key: str, values: pl.DataFrame, types: Mapping[str, str], fixed: Sequence[str],
    tz: str | None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """``ids`` with one typed column per attribute of the long ``values`` (key, attribute,
    value); returns the frame and {column: attribute}."""
    values = values.filter(pl.col("attribute").is_not_null())
    if values.height == 0:
        return ids, {}
    names = values.get_column("attribute").unique(maintain_order=True).to_list()
    # an attribute named like a fixed column (the key too) is renamed "<name> (attribute)",
    # before the pivot, whose index column would otherwise clash with it
    used = {key, *fixed, *names}
    columns = {a: free_name(_attribute(a), used, _attribute) if a in fixed or a == key else a for a in names}
    renamed = {a: c for a, c in columns.items() if a != c}
    if renamed:
        values = values.with_columns(pl.col("attribute").replace(renamed))
    pivot = values.pivot(on="attribute", index=key, values="value", aggregate_function="last")
    pivot = pivot.select(
        key, *(_typed(pivot.get_column(columns[a]), types.get(a, "string"), tz) for a in names)
    )
    return ids.join(pivot, on=key, how="left", maintain_order="left"), {c: a for a, c in columns.items()}


def _attribute(name: str) -> str:
    return f"{name} (attribute)"


def _attribute_types(types: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One OCEL type per attribute name: the declared one, or string when types disagree."""
    seen: dict[str, set[str]] = {}
    for attrs in types.values():
        for a, t in attrs.items():
            seen.setdefault(a, set()).add(t.lower())
    return {a: next(iter(t)) if len(t) == 1 else "string" for a, t in seen.items()}


def _first_ids(frame: pl.DataFrame, key: str, what: str, problems: list[dict[str, Any]]) -> pl.DataFrame:
    missing = frame.filter(pl.col(key).is_null())
    if missing.height:  # kept (no link can name it), and not taken for one id repeated
        kind = frame.columns[1]  # the activity or object type, shown as the examples
        problems.append({"problem": f"{what} without an id (the examples are its type)",
                         "count": missing.height, "examples": _examples(missing.get_column(kind))})
    named = pl.col(key).is_not_null()
    repeated = frame.filter(named & pl.col(key).is_duplicated() & ~pl.col(key).is_first_distinct())
    _count(problems, f"repeated {what} id (the first row is kept)", repeated.get_column(key))
    return frame.filter(~named | pl.col(key).is_first_distinct()) if repeated.height else frame


def _assemble(parts: Parts, *, source: str, fmt: str, tz: str | None) -> ObjectCentricLog:
    problems = list(parts.problems)
    events = _first_ids(parts.events, "event_id", "event", problems)
    objects = _first_ids(parts.objects, "object_id", "object", problems)
    stamp = parse_timestamps(events.get_column("time"), column="time", tz=tz, fmt=None)
    raw = events.get_column("time")
    _count(problems, "event without a time", events.filter(raw.is_null()).get_column("event_id"))
    _count(problems, "event with an unparsable time",
           events.filter(raw.is_not_null() & stamp.is_null()).get_column("event_id"))
    events = events.select("event_id", "activity").with_columns(timestamp=stamp)
    if parts.declared_events:
        _count(problems, "event of an undeclared type",
               _unknown(events.get_column("activity"), pl.Series(list(parts.event_types), dtype=_S)))
    if parts.declared_objects:
        _count(problems, "object of an undeclared type",
               _unknown(objects.get_column("object_type"), pl.Series(list(parts.object_types), dtype=_S)))
    event_ids, object_ids = events.get_column("event_id"), objects.get_column("object_id")
    e2o, o2o = parts.event_objects, parts.object_objects
    _count(problems, "event–object link from an unknown event",
           _unknown(e2o.get_column("event_id"), event_ids))
    _count(problems, "event–object link to an unknown object",
           _unknown(e2o.get_column("object_id"), object_ids))
    _count(problems, "object–object link from an unknown object",
           _unknown(o2o.get_column("source_id"), object_ids))
    _count(problems, "object–object link to an unknown object",
           _unknown(o2o.get_column("target_id"), object_ids))
    o_vals = parts.object_values.with_row_index("order")
    o_time = parse_timestamps(o_vals.get_column("time"), column="time", tz=tz, fmt=None)
    _count(problems, "object attribute value with an unparsable time",
           o_vals.filter(o_vals.get_column("time").is_not_null() & o_time.is_null()).get_column("object_id"))
    _count(problems, "attribute value of an unknown object",
           _unknown(o_vals.get_column("object_id"), object_ids))
    history = o_vals.with_columns(time=o_time).select("object_id", "attribute", "time", "value")
    e_types, o_types = _attribute_types(parts.event_types), _attribute_types(parts.object_types)
    events, e_cols = _wide(events, "event_id", parts.event_values, e_types,
                           ("event_id", "activity", "timestamp"), tz)
    first = history.with_row_index("order").sort("object_id", "attribute", "time", "order", nulls_last=False)
    first = first.unique(["object_id", "attribute"], keep="first", maintain_order=True).sort("order")
    objects, o_cols = _wide(objects, "object_id", first.select("object_id", "attribute", "value"), o_types,
                            ("object_id", "object_type"), tz)
    types = pl.DataFrame(
        [(kind, t, a, at) for kind, declared in (("event", parts.event_types), ("object", parts.object_types))
         for t, attrs in declared.items() for a, at in ({None: None} | dict(attrs)).items()],
        schema={"kind": _S, "type": _S, "attribute": _S, "attribute_type": _S}, orient="row",
    )
    problem_frame = pl.DataFrame(problems, schema={"problem": _S, "count": pl.Int64, "examples": _S})
    if problem_frame.height:
        listed = "; ".join(f"{r['problem']}: {r['count']:,} (e.g. {r['examples']})" for r in problems)
        warn(f"{source!r}: {listed}. They are kept in the tables and counted in .problems; flatten() "
             "leaves out links to unknown events or objects.", DataQualityWarning)
    return ObjectCentricLog(
        _events=events, _objects=objects, _object_attributes=history, _event_objects=e2o,
        _object_objects=o2o, _problems=problem_frame, _types=types,
        _columns={"event": e_cols, "object": o_cols}, source=source, format=fmt,
    )


# =========================================================================================
# writing
# =========================================================================================
_WRITE_TYPE: Final[dict[type[pl.DataType], str]] = {
    pl.Int64: "integer", pl.Int32: "integer", pl.Float64: "float", pl.Boolean: "boolean", pl.Datetime: "time",
}


def write_ocel(ocel: ObjectCentricLog, path: PathLike) -> Path:
    """Write an :class:`ObjectCentricLog` as OCEL 2.0 JSON, atomically.

    Every event, object, attribute value (with its time) and link is written; types are
    declared from the file read (every type present is declared). Object attribute values
    without a time (OCEL 1.0) are written at 1970-01-01T00:00:00Z, as OCEL 2.0 tools mark
    initial values; timestamps are written in UTC. Object–object links are written under
    their source object (so they come back in the order of the objects), a missing
    qualifier as ``""`` (OCEL 2.0 requires one). Links whose source is unknown (an
    object–object link from an unknown object, an event–object link from an unknown
    event) and attribute values of unknown objects have no place in OCEL 2.0 JSON: they
    are left out with a :class:`DataQualityWarning` that counts them.

    Parameters
    ----------
    ocel : ObjectCentricLog
    path : str or os.PathLike
        The output file (``.jsonocel`` or ``.json``); never one of the inputs.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> import journeymine as jm
    >>> doc = {"objectTypes": [{"name": "account"}], "eventTypes": [{"name": "Demo"}],
    ...        "objects": [{"id": "A1", "type": "account"}],
    ...        "events": [{"id": "e1", "type": "Demo", "time": "2024-01-02T10:00:00Z",
    ...                    "relationships": [{"objectId": "A1", "qualifier": ""}]}]}
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonocel").write_text(json.dumps(doc))
    >>> ocel = jm.read_ocel(folder / "in.jsonocel")
    >>> jm.read_ocel(jm.write_ocel(ocel, folder / "out.jsonocel")).n_events
    1
    """
    if not isinstance(ocel, ObjectCentricLog):
        raise invalid("ocel", "write_ocel", "an ObjectCentricLog (from read_ocel)", type(ocel).__name__)
    p = Path(os.fspath(path))
    suffix = "".join(s.lower() for s in p.suffixes[-1:])
    if suffix not in (".jsonocel", ".json"):
        raise InvalidParameterError(
            f"write_ocel writes OCEL 2.0 JSON; give a path ending in .jsonocel or .json. Got {str(p)!r}."
        )
    doc = _json_document(ocel)
    text = json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False)
    return write_atomic(p, lambda tmp: tmp.write_text(text, encoding="utf-8"), owner="write_ocel",
                        inputs=[ocel.source])


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    text: str = value.isoformat()
    return text.replace("+00:00", "Z")


def _declared(
    ocel: ObjectCentricLog, kind: str, present: list[str], frame: pl.DataFrame
) -> list[dict[str, Any]]:
    types = ocel._types.filter(pl.col("kind") == kind)
    out: dict[str, dict[str, str]] = {}
    for t, a, at in types.select("type", "attribute", "attribute_type").iter_rows():
        attrs = out.setdefault(t, {})
        if a is not None:
            attrs[a] = at
    columns = ocel._columns[kind]
    for t in present:
        attrs = out.setdefault(t, {})
        for column, a in columns.items():
            if a not in attrs and column in frame.columns:
                dtype = frame.schema[column]
                written = next((v for k, v in _WRITE_TYPE.items() if isinstance(dtype, k)), "string")
                attrs.setdefault(a, written)
    return [{"name": t, "attributes": [{"name": a, "type": at} for a, at in attrs.items()]}
            for t, attrs in out.items()]


def _value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return _iso(value)
    return jsonable(value)


def _json_document(ocel: ObjectCentricLog) -> dict[str, Any]:
    events, objects = ocel._events, ocel._objects
    e_cols = ocel._columns["event"]
    e2o = ocel._event_objects.group_by("event_id", maintain_order=True).agg("object_id", "qualifier")
    links = {e: list(zip(o, q, strict=True)) for e, o, q in e2o.iter_rows()}
    o2o = ocel._object_objects.group_by("source_id", maintain_order=True).agg("target_id", "qualifier")
    o_links = {s: list(zip(t, q, strict=True)) for s, t, q in o2o.iter_rows()}
    hist = ocel._object_attributes.group_by("object_id", maintain_order=True).agg(
        "attribute", "time", "value")
    values = {o: list(zip(a, t, v, strict=True)) for o, a, t, v in hist.iter_rows()}
    known_e = set(events.get_column("event_id").to_list())
    known_o = set(objects.get_column("object_id").to_list())
    lost = sum(len(v) for k, v in links.items() if k not in known_e) + sum(
        len(v) for k, v in o_links.items() if k not in known_o)
    if lost:
        warn(f"write_ocel: {lost:,} links from unknown events or objects have no place in OCEL 2.0 JSON "
             "(a link is written with its source) and were left out.", DataQualityWarning)
    orphans = [k for k in values if k not in known_o]
    if orphans:
        n_values = sum(len(values[k]) for k in orphans)
        warn(f"write_ocel: {n_values:,} attribute values of {len(orphans):,} unknown objects (e.g. "
             f"{', '.join(map(repr, orphans[:3]))}) have no place in OCEL 2.0 JSON (a value is written "
             "with its object) and were left out; read_ocel counted them in .problems.", DataQualityWarning)

    def rel(pairs: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
        return [{"objectId": o, "qualifier": q if q is not None else ""} for o, q in pairs]

    nameless = events.get_column("event_id").null_count() + objects.get_column("object_id").null_count()
    if nameless:
        warn(f"write_ocel: {nameless:,} events or objects without an id have no place in OCEL 2.0 JSON "
             "(every one needs an id, and links name it) and were left out.", DataQualityWarning)
    out_events = []
    for row in events.iter_rows(named=True):
        if row["event_id"] is None:
            continue
        attrs = [{"name": e_cols[c], "value": _value(row[c])} for c in e_cols if row[c] is not None]
        out_events.append({"id": row["event_id"], "type": row["activity"], "time": _iso(row["timestamp"]),
                           "attributes": attrs, "relationships": rel(links.get(row["event_id"], []))})
    out_objects = []
    for oid, otype in objects.select("object_id", "object_type").iter_rows():
        if oid is None:
            continue
        attrs = [{"name": a, "time": _iso(t) or "1970-01-01T00:00:00Z", "value": v}
                 for a, t, v in values.get(oid, [])]
        out_objects.append({"id": oid, "type": otype, "attributes": attrs,
                            "relationships": rel(o_links.get(oid, []))})
    return {
        "objectTypes": _declared(ocel, "object", list(ocel.object_types), objects),
        "eventTypes": _declared(ocel, "event", list(ocel.activities), events),
        "objects": out_objects,
        "events": out_events,
    }

