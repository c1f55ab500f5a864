"""XES in and out, fast.

Reading streams the file with ``lxml.etree.iterparse``, one ``<trace>`` at a time (each
is cleared once read, so memory stays flat), collects raw attribute strings column by
column and types each column once at the end with polars. Nothing is built per event but
list appends: no dicts, no pm4py objects.

Layout of the frame (pm4py's): one row per event in file order; event attributes under
their XES keys; trace attributes as ``case:<key>`` on every event of the trace. Traces
without events give no rows. XES types map to polars: string/id → String, date →
Datetime("us", "UTC") (offsets converted), int → Int64, float → Float64, boolean →
Boolean; a key seen with several types is read as text. Nested attributes (lists,
containers, attributes inside attributes) are skipped; log-level globals, extensions and
classifiers are ignored.

Writing builds every ``<event>`` line with vectorised polars string expressions, escaping
keys and values for XML.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from ._progress import progress
from ._timestamps import parse_timestamps

_TYPES = {"string", "date", "int", "float", "boolean", "id"}


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _local(tag: Any) -> str:
    if not isinstance(tag, str):  # comments, processing instructions
        return ""
    return tag.rsplit("}", 1)[-1]


class _Column:
    __slots__ = ("rows", "types", "values")

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.values: list[str | None] = []
        self.types: set[str] = set()


def read_xes_frame(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Parse an XES file (plain or gzip) into one polars frame in pm4py's layout.

    Flat XES (attributes without children, the common case) is tokenised with vectorised
    regular expressions over trace chunks, which polars runs on all cores; anything else
    (nested attributes, CDATA, character references, non-UTF-8, or tokens that do not
    balance) is streamed through lxml, which also reports malformed XML.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not XML, or has no ``<log>`` element.
    """
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"No such file: {str(p)!r}")
    try:
        with _open(p) as fh:
            raw = fh.read()
        text: str | None = raw.decode("utf-8")
    except (OSError, EOFError) as exc:
        raise ValueError(f"{str(p)!r} could not be read: {exc}") from exc
    except UnicodeDecodeError:
        text = None
    del raw
    if text is not None:
        pieces = _trace_pieces(text)
        del text  # only the pieces stay in memory, and they are consumed batch by batch
        fast = None if pieces is None else _fast_from_pieces(pieces)
        if fast is not None:
            return fast
    return _stream_frame(p)


def _stream_frame(p: Path) -> pl.DataFrame:
    """The general path: stream the file with lxml, one trace at a time."""
    from lxml import etree

    event_cols: dict[str, _Column] = {}
    trace_cols: dict[str, _Column] = {}
    trace_sizes: list[int] = []
    n_events = 0
    names: dict[Any, str] = {}  # full tag -> local name, so each is split once

    def local(tag: Any) -> str:
        name = names.get(tag)
        if name is None:
            name = names[tag] = _local(tag)
        return name

    root_name = ""
    try:
        with _open(p) as fh:
            context = etree.iterparse(fh, events=("end",), tag="{*}trace", huge_tree=True,
                                      remove_comments=True)
            for _, elem in context:
                n_trace = len(trace_sizes)
                first = n_events
                for child in elem:
                    tag = names.get(child.tag) or local(child.tag)
                    if tag == "event":
                        for attr in child:
                            atype = names.get(attr.tag) or local(attr.tag)
                            if atype in _TYPES:
                                key = attr.get("key")
                                col = event_cols.get(key)
                                if col is None:
                                    col = event_cols[key] = _Column()
                                col.rows.append(n_events)
                                col.values.append(attr.get("value"))
                                col.types.add(atype)
                        n_events += 1
                    elif tag in _TYPES:
                        key = child.get("key")
                        col = trace_cols.get(key)
                        if col is None:
                            col = trace_cols[key] = _Column()
                        col.rows.append(n_trace)
                        col.values.append(child.get("value"))
                        col.types.add(tag)
                trace_sizes.append(n_events - first)
                elem.clear()
                parent = elem.getparent()
                if parent is not None:
                    while elem.getprevious() is not None:
                        del parent[0]
            root = context.root
            root_name = _local(root.tag) if root is not None else ""
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"{str(p)!r} is not valid XES/XML: {exc}") from exc
    except (OSError, EOFError) as exc:
        raise ValueError(f"{str(p)!r} could not be read: {exc}") from exc
    if root_name != "log":
        raise ValueError(f"{str(p)!r}: not an XES file: no <log> element")
    columns: dict[str, pl.Series] = {}
    sizes = np.asarray(trace_sizes, dtype=np.int64)
    for key, col in trace_cols.items():
        per_trace = _typed(f"case:{key}", col, len(trace_sizes))
        columns[f"case:{key}"] = per_trace.gather(np.repeat(np.arange(len(sizes)), sizes))
    for key, col in event_cols.items():
        if f"case:{key}" == key:
            continue
        columns[key] = _typed(key, col, n_events)
    if not columns:
        return pl.DataFrame()
    order: list[str] = [k for k in ("case:concept:name", "concept:name", "time:timestamp") if k in columns]
    order += [k for k in columns if k not in order]
    return pl.DataFrame({k: columns[k] for k in order})


def _typed(name: str, col: _Column, length: int) -> pl.Series:
    if len(col.rows) == length:  # rows are appended in order, so this is every row
        raw = pl.Series(name, col.values, dtype=pl.String)
    else:
        # a numpy object array, not Series.scatter: with polars 2.1, hashing (n_unique,
        # unique) miscounts strings that were scattered and then gathered
        full = np.full(length, None, dtype=object)
        full[np.asarray(col.rows, dtype=np.int64)] = col.values
        raw = pl.Series(name, full.tolist(), dtype=pl.String)
    kind = next(iter(col.types)) if len(col.types) == 1 else "string"
    return _convert(raw, kind)


def _convert(raw: pl.Series, kind: str) -> pl.Series:
    """Type a column of raw XES value strings by its XES type."""
    name = raw.name
    if kind == "date":
        return parse_timestamps(raw, column=name, tz="UTC", fmt=None).alias(name)
    if kind == "int":
        return raw.cast(pl.Int64, strict=False)
    if kind == "float":
        return raw.cast(pl.Float64, strict=False)
    if kind == "boolean":
        return raw.str.to_lowercase().replace_strict(
            {"true": True, "false": False}, default=None, return_dtype=pl.Boolean
        )
    return raw


# -- fast path: vectorised tokenising with polars -------------------------------------------
_ATTRIBUTE = r'<(?:string|date|int|float|boolean|id)\s+key="[^"]*"\s+value="[^"]*"\s*/>'
_ANY_ATTRIBUTE = r"<(?:string|date|int|float|boolean|id)\b"
#: what the fast path does not handle; the streaming lxml parser reads such files
_UNSUPPORTED = (
    r"<(?:string|date|int|float|boolean|id)\b[^>]*[^/]>"  # attributes with children
    r"|<(?:list|container)\b|<!\[CDATA\[|&#|<!--|<trace\s[^>]*>|<event\s[^>]*>"
    r"|</event>[\s\S]*<(?:string|date|int|float|boolean|id)\b"  # trace attribute after events
)
_ENTITIES = (["&lt;", "&gt;", "&quot;", "&apos;", "&amp;"], ["<", ">", '"', "'", "&"])


def _fast_frame(text: str) -> pl.DataFrame | None:
    """Parse flat XES text with vectorised string operations, or return None.

    The text is cut at ``<trace>`` and then at ``<event>`` (plain splits), attribute
    elements are extracted per piece and their tag, key and value read with simple
    regular expressions, all in polars on every core, a batch of traces at a time so that
    memory stays near the size of the result. Returns None (so the caller streams the
    file through lxml, which validates fully) when the file uses anything this path does
    not handle or when the pieces do not balance.
    """
    pieces = _trace_pieces(text)
    del text
    return None if pieces is None else _fast_from_pieces(pieces)


def _trace_pieces(text: str) -> list[str] | None:
    """The text of each ``<trace>``, or None when there is no log header or no trace."""
    import re

    head_end = text.find("<trace>")
    if head_end < 0 or not re.search(r"<log\b", text[:head_end]):
        return None
    # the log header (globals, classifiers, metadata) is ignored
    return text[head_end + len("<trace>"):].split("<trace>")


_BATCH = 20_000


def _fast_from_pieces(pieces: list[str]) -> pl.DataFrame | None:
    """Parse trace texts batch by batch; ``pieces`` is emptied as it is consumed."""
    event_parts: list[pl.DataFrame] = []
    trace_parts: list[pl.DataFrame] = []
    kinds: dict[tuple[str, str], set[str]] = {}
    offset = 0
    n_batches = -(-len(pieces) // _BATCH)
    for _ in progress(range(n_batches), total=n_batches, desc="reading XES", min_total=5):
        chunk = pieces[:_BATCH]
        del pieces[:_BATCH]
        got = _fast_batch(chunk, offset, kinds)
        if got is None:
            return None
        event_parts.append(got[0])
        trace_parts.append(got[1])
        offset += len(chunk)
    events = pl.concat(event_parts, how="diagonal")
    traces = pl.concat(trace_parts, how="diagonal")
    del event_parts, trace_parts
    if events.height == 0:
        return pl.DataFrame()

    def typed(frame: pl.DataFrame, level: str) -> list[pl.Series]:
        out = []
        for col in frame.columns:
            if col == "trace":
                continue
            tags = kinds[(level, col)]
            out.append(_convert(frame.get_column(col), next(iter(tags)) if len(tags) == 1 else "string"))
        return out

    ev = pl.DataFrame([events.get_column("trace"), *typed(events, "event")])
    del events
    tr = pl.DataFrame([traces.get_column("trace"), *typed(traces, "trace")])
    tr = tr.rename({c: f"case:{c}" for c in tr.columns if c != "trace"})
    out = ev.join(tr, on="trace", how="left", maintain_order="left").drop("trace")
    order = [k for k in ("case:concept:name", "concept:name", "time:timestamp") if k in out.columns]
    return out.select([*order, *[c for c in out.columns if c not in order]])


def _fast_batch(
    chunk: list[str], offset: int, kinds: dict[tuple[str, str], set[str]]
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Raw (untyped) wide frames of the events and traces of one batch of traces."""
    units = pl.DataFrame({"text": chunk}).with_row_index("trace", offset=offset)
    units = units.with_columns(pl.col("trace").cast(pl.Int64), pl.col("text").str.split("<event>"))
    units = units.explode("text").with_columns(
        (pl.int_range(pl.len()).over("trace") - 1).alias("k")  # -1: the trace's own part
    )
    checks = units.select(
        bad=pl.col("text").str.contains(_UNSUPPORTED).any(),
        open_events=((pl.col("k") >= 0) & ~pl.col("text").str.contains("</event>", literal=True)).sum(),
        header_closes=((pl.col("k") < 0) & pl.col("text").str.contains("</event>", literal=True)).sum(),
        closes=pl.col("text").str.count_matches("</trace>", literal=True).sum(),
        n_tags=pl.col("text").str.count_matches(_ANY_ATTRIBUTE).sum(),
    ).row(0, named=True)
    if checks["bad"] or checks["open_events"] or checks["header_closes"] or checks["closes"] != len(chunk):
        return None
    units = units.with_columns(
        event=pl.when(pl.col("k") >= 0).then((pl.col("k") >= 0).cum_sum() - 1).cast(pl.Int64)
    )
    attrs = (
        units.select("trace", "event", pl.col("text").str.extract_all(_ATTRIBUTE).alias("tok"))
        .explode("tok")
        .drop_nulls("tok")
        .with_columns(
            tag=pl.col("tok").str.extract(r"^<(\w+)", 1),
            key=pl.col("tok").str.extract(r'key="([^"]*)"', 1),
            value=pl.col("tok").str.extract(r'value="([^"]*)"', 1),
        )
        .drop("tok")
    )
    if attrs.height != checks["n_tags"]:
        return None
    if attrs.height and bool(attrs.get_column("value").str.contains("&", literal=True).any()):
        attrs = attrs.with_columns(pl.col("value").str.replace_many(*_ENTITIES))
    found = attrs.group_by(pl.col("event").is_null().alias("at_trace"), "key", "tag").len()
    for at_trace, key, tag, _ in found.iter_rows():
        kinds.setdefault(("trace" if at_trace else "event", key), set()).add(tag)
    events = units.filter(pl.col("k") >= 0).select("event", "trace")
    ev_wide = _wide(attrs.filter(pl.col("event").is_not_null()).drop("trace"), "event")
    events = events.join(ev_wide, on="event", how="left", maintain_order="left").drop("event")
    traces = _wide(attrs.filter(pl.col("event").is_null()).drop("event"), "trace")
    return events, traces


def _wide(attrs: pl.DataFrame, index: str) -> pl.DataFrame:
    """Long (index, key, value) rows to one raw text column per key."""
    if attrs.height == 0:
        return pl.DataFrame({index: pl.Series([], dtype=pl.Int64)})
    return attrs.pivot(on="key", index=index, values="value", aggregate_function="first",
                       maintain_order=True)


# -- writing --------------------------------------------------------------------------------
_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<log xes.version="1.0" xes.features="nested-attributes" '
    'xmlns="http://www.xes-standard.org/">\n'
    '<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
    '<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
    '<extension name="Lifecycle" prefix="lifecycle" '
    'uri="http://www.xes-standard.org/lifecycle.xesext"/>\n'
    '<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
)
_ESCAPES = (["&", "<", ">", '"', "\n", "\r", "\t"],
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#10;", "&#13;", "&#9;"])


def _escape_text(text: str) -> str:
    for a, b in zip(*_ESCAPES, strict=True):
        text = text.replace(a, b)
    return text


def _attribute(name: str, key: str, dtype: pl.DataType) -> pl.Expr:
    """An expression giving the XES element of column ``name`` (empty when null)."""
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        text = col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00")
        tag = "date"
    elif dtype == pl.Date:
        text = col.dt.strftime("%Y-%m-%dT00:00:00.000+00:00")
        tag = "date"
    elif dtype.is_integer():
        text, tag = col.cast(pl.String), "int"
    elif dtype.is_float():
        text, tag = col.cast(pl.String), "float"
    elif dtype == pl.Boolean:
        text, tag = col.cast(pl.String).str.to_lowercase(), "boolean"
    else:
        text = col.cast(pl.String).str.replace_many(*_ESCAPES)
        tag = "string"
    prefix = f'<{tag} key="{_escape_text(key)}" value="'
    return pl.when(col.is_not_null()).then(pl.concat_str([pl.lit(prefix), text, pl.lit('"/>')])).otherwise(
        pl.lit("")
    )


def write_xes_frame(events: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a frame in pm4py's layout as XES 1.0 (gzip when the path ends with .gz).

    Lines are rendered with polars string expressions and written in slices, so the text
    of the whole log is never held in memory at once.
    """
    if "case:concept:name" not in events.columns:
        raise ValueError("write_xes_frame needs a 'case:concept:name' column")
    p = Path(os.fspath(path))
    frame, body = _prepare(events)
    opener: Any = gzip.open if p.name.endswith(".gz") else open
    with opener(p, "wt", encoding="utf-8") as out:
        out.write(_HEADER)
        for start in range(0, frame.height, _WRITE_SLICE):
            lines = frame.slice(start, _WRITE_SLICE).select(body.str.join("\n")).item()
            out.write(lines)
            out.write("\n")
        out.write("</log>\n")


_WRITE_SLICE = 200_000


def _prepare(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """Events grouped by case (first-appearance order) with trace flags, and the
    expression that renders one event line (opening and closing its trace as needed)."""
    case = "case:concept:name"
    events = events.with_columns(pl.col(case).cast(pl.String))
    order = events.get_column(case).unique(maintain_order=True)
    code = pl.col(case).cast(pl.Enum(order)).to_physical()
    events = events.sort(code, maintain_order=True)
    trace_cols = [c for c in events.columns if c.startswith("case:")]
    event_cols = [c for c in events.columns if not c.startswith("case:")]
    # trace attributes are written from each trace's first event: fill them from the case
    frame = events.with_columns(
        [pl.col(c).drop_nulls().first().over(case) for c in trace_cols]
        + [pl.col(case).is_first_distinct().alias("__first"),
           pl.col(case).is_last_distinct().alias("__last")]
    )
    trace_attrs = [_attribute(c, c[len("case:"):], events.schema[c]) for c in trace_cols]
    head = pl.when(pl.col("__first")).then(
        pl.concat_str([pl.lit("<trace>"), *trace_attrs, pl.lit("\n")])
    ).otherwise(pl.lit(""))
    tail = pl.when(pl.col("__last")).then(pl.lit("\n</trace>")).otherwise(pl.lit(""))
    body = pl.concat_str(
        [head, pl.lit("<event>"), *[_attribute(c, c, events.schema[c]) for c in event_cols],
         pl.lit("</event>"), tail]
    )
    return frame, body
