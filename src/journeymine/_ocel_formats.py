"""Parsing the OCEL serialisations into long text tables, before any checking.

Each reader gives a :class:`Parts`: events, event attribute values, objects, object
attribute values (with their times), event–object and object–object links, all as text,
and the declared types. :mod:`journeymine._ocel` types, checks and assembles them.

* JSON (OCEL 2.0 and 1.0) and XML are read through :func:`~journeymine._decompress.read_bytes`
  (gzip, zlib or zstd recognised by their first bytes; at most ``max_bytes`` of text).
* XML is parsed with the XES reader's options (no DTD loaded, no entity resolved, nothing
  fetched, libxml2's limits on), and a document with a DOCTYPE is refused.
* SQLite is opened read-only (``file:…?mode=ro``) with an authorizer that allows only
  reads: only SELECTs on the schema table and on the OCEL tables (never a view) run, and
  every value is read as text (``CAST(… AS TEXT)``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl

from ._decompress import codec_of, read_bytes, resolve_max_bytes
from ._xes import _SAFE_XML
from .errors import FileFormatError

__all__ = ["FORMATS", "Parts", "frame", "parse"]

FORMATS: Final = ("auto", "ocel2-json", "ocel2-xml", "ocel2-sqlite", "ocel1-json")
#: what a file name ending says about its content
_SUFFIX_KIND: Final = {
    ".jsonocel": "json", ".json": "json", ".xmlocel": "xml", ".xml": "xml",
    ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite",
}
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_S = pl.String


@dataclass
class Parts:
    events: pl.DataFrame  # event_id, activity, time (text)
    event_values: pl.DataFrame  # event_id, attribute, value (text)
    objects: pl.DataFrame  # object_id, object_type
    object_values: pl.DataFrame  # object_id, attribute, time (text), value (text)
    event_objects: pl.DataFrame  # event_id, object_id, qualifier
    object_objects: pl.DataFrame  # source_id, target_id, qualifier
    #: type name -> {attribute: OCEL type}; ``declared`` says whether the file declared them
    event_types: dict[str, dict[str, str]]
    object_types: dict[str, dict[str, str]]
    declared_events: bool = True
    declared_objects: bool = True
    problems: list[dict[str, Any]] = field(default_factory=list)


def frame(columns: Sequence[str], rows: Sequence[Sequence[Any]] | dict[str, list[Any]]) -> pl.DataFrame:
    if isinstance(rows, dict):
        return pl.DataFrame(rows, schema=dict.fromkeys(columns, _S))
    return pl.DataFrame(list(rows), schema=dict.fromkeys(columns, _S), orient="row")


def _text(value: Any) -> str | None:
    """A JSON value as the text OCEL means: strings as they are, other values as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _kind(value: Any) -> str:
    """The OCEL type of an untyped (OCEL 1.0) JSON value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    return "string"


def parse(p: Path, *, format: str, max_bytes: int | None, owner: str) -> tuple[Parts, str]:
    """The parts of the OCEL file ``p`` and the name of its format (recognised from the
    content; ``format`` other than ``"auto"`` must agree with it, and so must the name)."""
    where = repr(str(p))
    with open(p, "rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head == _SQLITE_MAGIC:
        _check_name(p, "sqlite", format, where)
        parts, name = _read_sqlite(p, where), "OCEL 2.0 SQLite"
    else:
        limit = resolve_max_bytes(max_bytes, owner)
        buf, n = read_bytes(p, where, max_bytes=limit, owner=owner, codecs=("gzip", "zlib", "zstd"))
        with memoryview(buf) as view:
            data = bytes(view[:n])
        del buf
        start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if data.startswith(_SQLITE_MAGIC):
            raise FileFormatError(f"{where}: a compressed SQLite database; decompress it first (SQLite "
                                  "needs a plain file).")
        if start == b"<":
            _check_name(p, "xml", format, where)
            parts, name = _read_xml(data, where), "OCEL 2.0 XML"
        elif start == b"{":
            _check_name(p, "json", format, where)
            doc = _load_json(data, where)
            version = _json_version(doc, format, where)
            parts = _read_json1(doc, where) if version == 1 else _read_json2(doc, where)
            name = f"OCEL {version}.0 JSON"
        else:
            compressed = f" ({codec_of(head)}-compressed)" if codec_of(head) else ""
            raise FileFormatError(
                f"{where}{compressed}: not an OCEL file: OCEL 2.0 is JSON (starts with '{{'), XML "
                f"(starts with '<') or a SQLite database; this starts with {data[:16]!r}."
            )
    return parts, name

def _check_name(p: Path, content: str, given: str, where: str) -> None:
    """Refuse a file whose name or ``format=`` says another format than its content."""
    wanted = {"ocel2-json": "json", "ocel1-json": "json", "ocel2-xml": "xml", "ocel2-sqlite": "sqlite"}
    if given != "auto":
        if wanted[given] != content:
            raise FileFormatError(
                f"{where}: format={given!r} was asked, but the file holds {content.upper()}. Pass "
                "format='auto' to read it as what it holds."
            )
        return
    suffixes = [s.lower() for s in p.suffixes]
    while suffixes and suffixes[-1] in (".gz", ".zst", ".zlib"):
        suffixes.pop()
    said = _SUFFIX_KIND.get(suffixes[-1]) if suffixes else None
    if said is not None and said != content:
        choice = {"json": "'ocel2-json' or 'ocel1-json'", "xml": "'ocel2-xml'", "sqlite": "'ocel2-sqlite'"}
        raise FileFormatError(
            f"{where}: the file name says {said.upper()} but the content is {content.upper()}, so "
            f"which was meant is unclear. Rename the file, or pass format={choice[content]} to read "
            "it as its content."
        )


def _load_json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise FileFormatError(f"{where}: the JSON is nested too deeply to be an OCEL log.") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise FileFormatError(f"{where}: not valid JSON: {exc}") from None


def _json_version(doc: Any, given: str, where: str) -> int:
    keys = set(doc) if isinstance(doc, dict) else set()
    two = bool(keys & {"objectTypes", "eventTypes"}) or {"events", "objects"} <= keys
    one = bool(keys & {"ocel:events", "ocel:objects", "ocel:global-log"})
    if given != "auto":
        version = 1 if given == "ocel1-json" else 2
        if (version == 1 and not one) or (version == 2 and not two):
            raise FileFormatError(f"{where}: format={given!r} was asked, but the JSON has no "
                                  f"{'ocel:events' if version == 1 else 'events or objectTypes'} key.")
        return version
    if one and two:
        raise FileFormatError(
            f"{where}: the JSON has keys of both OCEL 1.0 (ocel:events …) and OCEL 2.0 (events, "
            "objectTypes …), so its version is unclear. Pass format='ocel1-json' or 'ocel2-json'."
        )
    if not (one or two):
        shown = ", ".join(sorted(map(repr, keys))[:8]) or "none"
        raise FileFormatError(
            f"{where}: JSON, but not OCEL: OCEL 2.0 JSON has the keys objectTypes, eventTypes, "
            f"objects and events; OCEL 1.0 has ocel:events and ocel:objects. Its keys: {shown}."
        )
    return 1 if one else 2


def _malformed(where: str, fmt: str, exc: BaseException) -> FileFormatError:
    return FileFormatError(f"{where}: not {fmt} as the standard defines it ({type(exc).__name__}: {exc}).")


def _read_json2(doc: dict[str, Any], where: str) -> Parts:
    try:
        return _json2_parts(doc)
    except (KeyError, TypeError, AttributeError) as exc:
        raise _malformed(where, "OCEL 2.0 JSON", exc) from None


def _types_of(entries: Any) -> dict[str, dict[str, str]]:
    return {
        str(t["name"]): {str(a["name"]): str(a.get("type") or "string") for a in t.get("attributes") or []}
        for t in entries or []
    }


def _json2_parts(doc: dict[str, Any]) -> Parts:
    events, e_vals, e2o = [], [], []
    for e in doc.get("events") or []:
        eid = _text(e["id"])
        events.append((eid, _text(e["type"]), _text(e.get("time"))))
        e_vals += [(eid, _text(a["name"]), _text(a.get("value"))) for a in e.get("attributes") or []]
        e2o += [(eid, _text(r["objectId"]), _text(r.get("qualifier"))) for r in e.get("relationships") or []]
    objects, o_vals, o2o = [], [], []
    for o in doc.get("objects") or []:
        oid = _text(o["id"])
        objects.append((oid, _text(o["type"])))
        o_vals += [(oid, _text(a["name"]), _text(a.get("time")), _text(a.get("value")))
                   for a in o.get("attributes") or []]
        o2o += [(oid, _text(r["objectId"]), _text(r.get("qualifier"))) for r in o.get("relationships") or []]
    return Parts(
        events=frame(("event_id", "activity", "time"), events),
        event_values=frame(("event_id", "attribute", "value"), e_vals),
        objects=frame(("object_id", "object_type"), objects),
        object_values=frame(("object_id", "attribute", "time", "value"), o_vals),
        event_objects=frame(("event_id", "object_id", "qualifier"), e2o),
        object_objects=frame(("source_id", "target_id", "qualifier"), o2o),
        event_types=_types_of(doc.get("eventTypes")),
        object_types=_types_of(doc.get("objectTypes")),
    )


def _read_json1(doc: dict[str, Any], where: str) -> Parts:
    try:
        return _json1_parts(doc)
    except (KeyError, TypeError, AttributeError) as exc:
        raise _malformed(where, "OCEL 1.0 JSON", exc) from None


def _listed(value: Any, key: str) -> list[Any]:
    """A JSON list the standard asks for (absent or null: empty); a text, where iterating
    would give its characters, is a TypeError naming the key."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{key} must be a list, not {type(value).__name__} {str(value)[:40]!r}")
    return value


def _json1_parts(doc: dict[str, Any]) -> Parts:
    events, e_vals, e2o = [], [], []
    event_kinds: dict[str, dict[str, set[str]]] = {}
    for eid, e in (doc.get("ocel:events") or {}).items():
        act = _text(e["ocel:activity"])
        events.append((eid, act, _text(e.get("ocel:timestamp"))))
        kinds = event_kinds.setdefault(str(act), {})
        for k, v in (e.get("ocel:vmap") or {}).items():
            e_vals.append((eid, k, _text(v)))
            kinds.setdefault(k, set()).add(_kind(v))
        e2o += [(eid, _text(oid), None) for oid in _listed(e.get("ocel:omap"), "ocel:omap")]
    objects, o_vals = [], []
    object_kinds: dict[str, dict[str, set[str]]] = {}
    for oid, o in (doc.get("ocel:objects") or {}).items():
        otype = _text(o["ocel:type"])
        objects.append((oid, otype))
        kinds = object_kinds.setdefault(str(otype), {})
        for k, v in (o.get("ocel:ovmap") or {}).items():
            o_vals.append((oid, k, None, _text(v)))
            kinds.setdefault(k, set()).add(_kind(v))
    declared = (doc.get("ocel:global-log") or {}).get("ocel:object-types")
    if declared is not None:
        declared = _listed(declared, "ocel:object-types")

    def one(kinds: dict[str, dict[str, set[str]]]) -> dict[str, dict[str, str]]:
        return {t: {a: next(iter(k)) if len(k) == 1 else "string" for a, k in attrs.items()}
                for t, attrs in kinds.items()}

    object_types = one(object_kinds)
    if declared is not None:
        object_types = {str(t): object_types.get(str(t), {}) for t in declared} | {
            t: a for t, a in object_types.items() if t in declared
        }
    return Parts(
        events=frame(("event_id", "activity", "time"), events),
        event_values=frame(("event_id", "attribute", "value"), e_vals),
        objects=frame(("object_id", "object_type"), objects),
        object_values=frame(("object_id", "attribute", "time", "value"), o_vals),
        event_objects=frame(("event_id", "object_id", "qualifier"), e2o),
        object_objects=frame(("source_id", "target_id", "qualifier"), []),
        event_types=one(event_kinds),
        object_types=object_types,
        declared_events=False,
        declared_objects=declared is not None,
    )


def _read_xml(data: bytes, where: str) -> Parts:
    from lxml import etree

    parser = etree.XMLParser(remove_comments=True, remove_pis=True, **_SAFE_XML)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FileFormatError(f"{where}: not OCEL 2.0 XML: invalid XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise FileFormatError(
            f"{where}: the XML has a DOCTYPE. OCEL 2.0 XML needs none, and journeymine never loads "
            "DTDs or entities (they could read local files or reach the network): remove the DOCTYPE "
            "and replace any entity with its text."
        )
    if root.tag != "log" or (root.find("events") is None and root.find("object-types") is None):
        old = root.find("global") is not None
        raise FileFormatError(
            f"{where}: not OCEL 2.0 XML (root <{root.tag}> without <object-types> or <events>)."
            + (" It looks like OCEL 1.0 XML, which journeymine does not read: convert it to OCEL 2.0 "
               "or to OCEL 1.0 JSON." if old else "")
        )
    try:
        return _xml_parts(root)
    except (KeyError, TypeError, AttributeError) as exc:
        raise _malformed(where, "OCEL 2.0 XML", exc) from None


def _xml_types(root: Any, path: str) -> dict[str, dict[str, str]]:
    return {
        t.get("name"): {a.get("name"): a.get("type") or "string" for a in t.iterfind("attributes/attribute")}
        for t in root.iterfind(path)
    }


def _xml_parts(root: Any) -> Parts:
    events, e_vals, e2o = [], [], []
    for e in root.iterfind("events/event"):
        eid = e.get("id")
        events.append((eid, e.get("type"), e.get("time")))
        e_vals += [(eid, a.get("name"), a.text) for a in e.iterfind("attributes/attribute")]
        e2o += [(eid, r.get("object-id"), r.get("qualifier")) for r in e.iterfind("objects/relationship")]
    objects, o_vals, o2o = [], [], []
    for o in root.iterfind("objects/object"):
        oid = o.get("id")
        objects.append((oid, o.get("type")))
        o_vals += [(oid, a.get("name"), a.get("time"), a.text) for a in o.iterfind("attributes/attribute")]
        o2o += [(oid, r.get("object-id"), r.get("qualifier")) for r in o.iterfind("objects/relationship")]
    return Parts(
        events=frame(("event_id", "activity", "time"), events),
        event_values=frame(("event_id", "attribute", "value"), e_vals),
        objects=frame(("object_id", "object_type"), objects),
        object_values=frame(("object_id", "attribute", "time", "value"), o_vals),
        event_objects=frame(("event_id", "object_id", "qualifier"), e2o),
        object_objects=frame(("source_id", "target_id", "qualifier"), o2o),
        event_types=_xml_types(root, "event-types/event-type"),
        object_types=_xml_types(root, "object-types/object-type"),
    )


# -- SQLite --------------------------------------------------------------------------------
_READ_ONLY: Final = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ}


def _only_reads(action: int, *_: Any) -> int:
    """sqlite3 authorizer: reads and SELECTs, nothing else (no PRAGMA, ATTACH, write …)."""
    return sqlite3.SQLITE_OK if action in _READ_ONLY else sqlite3.SQLITE_DENY


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Sqlite:
    """A read-only connection that runs SELECTs on known tables, all values as text."""

    def __init__(self, p: Path, where: str) -> None:
        self.where = where
        self.conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        self.conn.text_factory = lambda b: b.decode("utf-8", "replace")
        self.conn.set_authorizer(_only_reads)
        rows = self.conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')")
        self.kinds: dict[str, str] = dict(rows.fetchall())

    def has(self, table: str) -> bool:
        kind = self.kinds.get(table)
        if kind == "view":
            raise FileFormatError(f"{self.where}: {table!r} is a view, not a table; journeymine reads only "
                                  "the tables of an OCEL SQLite file.")
        return kind == "table"

    def columns(self, table: str) -> list[str]:
        cursor = self.conn.execute(f"SELECT * FROM {_quote(table)} LIMIT 0")
        return [d[0] for d in cursor.description]

    def read(self, table: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
        cols = list(columns) if columns is not None else self.columns(table)
        if not self.has(table):
            raise FileFormatError(f"{self.where}: not OCEL 2.0 SQLite: no table {table!r}.")
        missing = [c for c in cols if c not in self.columns(table)]
        if missing:
            raise FileFormatError(f"{self.where}: not OCEL 2.0 SQLite: table {table!r} has no column "
                                  f"{missing[0]!r}.")
        select = ", ".join(f"CAST({_quote(c)} AS TEXT)" for c in cols)
        rows = self.conn.execute(f"SELECT {select} FROM {_quote(table)}").fetchall()
        return frame(cols, rows)


def _read_sqlite(p: Path, where: str) -> Parts:
    try:
        db = _Sqlite(p, where)
    except sqlite3.Error as exc:
        raise FileFormatError(f"{where}: not a readable SQLite database: {exc}") from None
    try:
        return _sqlite_parts(db)
    except sqlite3.Error as exc:
        raise FileFormatError(f"{where}: could not be read as OCEL 2.0 SQLite: {exc}") from None
    finally:
        db.conn.close()


def _type_tables(
    db: _Sqlite, kind: str, map_table: str, problems: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, str]], list[tuple[pl.DataFrame, dict[str, str]]]]:
    """The attribute tables of each type (``event_<map>``, ``object_<map>``), each with its
    attribute columns under working names (an attribute may be called ``row``, ``type`` or
    ``value``, as the columns added here) and the map back to the attributes' names."""
    types: dict[str, dict[str, str]] = {}
    melted: list[tuple[pl.DataFrame, dict[str, str]]] = []
    fixed = {"ocel_id", "ocel_time", "ocel_changed_field"}
    for name, mapped in db.read(map_table, ["ocel_type", "ocel_type_map"]).iter_rows():
        if name is None or mapped is None:
            continue
        table_name = f"{kind}_{mapped}"
        if not db.has(table_name):
            problems.append({"problem": f"{kind} type without its table {table_name!r}", "count": 1,
                             "examples": repr(name)})
            types[name] = {}
            continue
        cols = db.columns(table_name)
        attrs = [c for c in cols if c not in fixed]
        types[name] = dict.fromkeys(attrs, "string")
        work = {a: f" attribute {i}" for i, a in enumerate(attrs)}
        frame = db.read(table_name, cols).rename(work).with_row_index("row")
        if "ocel_time" not in frame.columns:
            frame = frame.with_columns(ocel_time=pl.lit(None, _S))
        if "ocel_changed_field" not in frame.columns:
            frame = frame.with_columns(ocel_changed_field=pl.lit(None, _S))
        melted.append((frame.with_columns(type=pl.lit(name, _S)), {w: a for a, w in work.items()}))
    return types, melted


def _sqlite_parts(db: _Sqlite) -> Parts:
    problems: list[dict[str, Any]] = []
    event = db.read("event", ["ocel_id", "ocel_type"]).select(event_id="ocel_id", activity="ocel_type")
    obj = db.read("object", ["ocel_id", "ocel_type"]).select(object_id="ocel_id", object_type="ocel_type")
    event_types, e_tables = _type_tables(db, "event", "event_map_type", problems)
    object_types, o_tables = _type_tables(db, "object", "object_map_type", problems)
    times: list[pl.DataFrame] = []
    e_vals: list[pl.DataFrame] = []
    for t, names in e_tables:
        # a type table row counts for the event of that id *and* that type; an event holds
        # one row: a repeated one is counted, and the first is kept for its time and values
        repeated = t.filter(pl.col("ocel_id").is_duplicated() & ~pl.col("ocel_id").is_first_distinct())
        if repeated.height:
            problems.append({"problem": "repeated row in an event type table (first kept)",
                             "count": repeated.height,
                             "examples": ", ".join(map(repr, repeated.get_column("ocel_id").head(3)))})
            t = t.filter(pl.col("ocel_id").is_first_distinct())
        times.append(t.select(event_id="ocel_id", activity="type", time="ocel_time"))
        if names:
            long = t.unpivot(list(names), index=["row", "ocel_id"], variable_name="attribute").sort("row")
            e_vals.append(long.select(event_id="ocel_id", attribute=pl.col("attribute").replace_strict(names),
                                      value="value"))
    timed = pl.concat(times) if times else frame(("event_id", "activity", "time"), [])
    orphans = timed.join(event, on=["event_id", "activity"], how="anti")
    if orphans.height:
        problems.append({"problem": "row of an event type table without its event", "count": orphans.height,
                         "examples": ", ".join(map(repr, orphans.get_column("event_id").head(3)))})
    events = event.join(timed.unique(["event_id", "activity"], keep="first"), on=["event_id", "activity"],
                        how="left", maintain_order="left")
    o_vals: list[pl.DataFrame] = []
    for t, names in o_tables:
        if not names:
            continue
        long = t.unpivot(list(names), index=["row", "ocel_id", "ocel_time", "ocel_changed_field"],
                         variable_name="attribute").sort("row").with_columns(
            pl.col("attribute").replace_strict(names))
        # a change row holds the changed attribute; the first rows hold every value
        keep = pl.when(pl.col("ocel_changed_field").is_null()).then(pl.col("value").is_not_null()).otherwise(
            pl.col("attribute") == pl.col("ocel_changed_field"))
        o_vals.append(long.filter(keep).select(object_id="ocel_id", attribute="attribute", time="ocel_time",
                                               value="value"))
    e2o = db.read("event_object", ["ocel_event_id", "ocel_object_id", "ocel_qualifier"])
    o2o = db.read("object_object", ["ocel_source_id", "ocel_target_id", "ocel_qualifier"])
    return Parts(
        events=events.select("event_id", "activity", "time"),
        event_values=pl.concat(e_vals) if e_vals else frame(("event_id", "attribute", "value"), []),
        objects=obj,
        object_values=(pl.concat(o_vals) if o_vals
                       else frame(("object_id", "attribute", "time", "value"), [])),
        event_objects=e2o.rename({"ocel_event_id": "event_id", "ocel_object_id": "object_id",
                                  "ocel_qualifier": "qualifier"}),
        object_objects=o2o.rename({"ocel_source_id": "source_id", "ocel_target_id": "target_id",
                                   "ocel_qualifier": "qualifier"}),
        event_types=event_types,
        object_types=object_types,
        problems=problems,
    )
