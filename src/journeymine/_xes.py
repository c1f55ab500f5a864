"""XES in and out, fast.

Reading
-------
:func:`read_xes_frame` gives one polars frame in pm4py's layout: one row per event in
file order, event attributes under their XES keys, trace attributes as ``case:<key>``
on every event of the trace. Traces without events give no rows. XES types map to
polars: string/id → String, date → Datetime("us", "UTC") (offsets converted), int →
Int64, float → Float64, boolean → Boolean; a key seen with several types is read as text.

The file is read into memory once (gzip is detected by its magic bytes) and tokenised
with numpy: the positions of ``<``, ``>`` and ``"`` are found in windows of the buffer,
every tag is classified from the bytes after its ``<``, nesting is checked with cumulative
sums, and keys and values become Arrow string views into the buffer, so that no Python
object is made per event. Values are typed column by column at the end with polars.
This path also checks that the body is well-formed (tags balanced and matched, only
whitespace between tags, entity references valid, UTF-8 valid, only characters XML
allows) and within libxml2's limits (256 levels of nesting, names of 50,000 bytes; a tag
or whitespace run near 10 MB is left to lxml). Anything it does not understand or cannot
prove valid (comments or processing instructions after the first trace, CDATA, a
DOCTYPE, another encoding, unknown elements, namespace prefixes, ``xmlns``…) sends the
file to the general path: ``lxml.etree.iterparse``, one trace at a time, which also
reports malformed XML. Both paths give the same answer: the same frame, or an error.

Nested attributes (``list``, ``container`` and attributes inside attributes) are skipped
with all their children: an attribute with children keeps its own value. Log-level
attributes, globals, extensions and classifiers are ignored. An attribute without a
``key`` is ignored; one without a ``value`` is null; a key repeated on one event keeps
its last value (as pm4py). A key that is both an event attribute ``case:x`` and a trace
attribute ``x`` gives the trace attribute.

Writing
-------
:func:`write_xes_frame` builds every ``<event>`` line with vectorised polars string
expressions (keys and values escaped for XML) and writes them in slices.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from ._decompress import read_bytes, resolve_max_bytes
from ._output import GzipOut
from ._progress import progress
from .errors import FileFormatError

__all__ = ["read_xes_frame", "write_xes_frame"]

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Bytes = npt.NDArray[np.uint8]

#: XES attribute types, in the order of their codes
_TYPES: Final = ("string", "date", "int", "float", "boolean", "id")
_TYPE_CODE: Final = {name: code for code, name in enumerate(_TYPES)}
_STRING, _DATE, _INT, _FLOAT, _BOOLEAN, _ID = range(len(_TYPES))

#: padding after the data, so that 8-byte reads near the end stay in the buffer
_PAD: Final = 16


# =========================================================================================
# reading: the entry point
# =========================================================================================
def read_xes_frame(
    path: str | os.PathLike[str], *, text_keys: frozenset[str] = frozenset(), max_bytes: int | None = None
) -> pl.DataFrame:
    """Read an XES event log into one polars frame in pm4py's layout.

    Parameters
    ----------
    path : str or os.PathLike
        The XES file, plain or gzip-compressed (recognised by its magic bytes, whatever
        its name).
    text_keys : frozenset of str
        Attribute keys (of events and traces) kept as the text written in the file,
        whatever their XES type: ids such as ``<int key="concept:name" value="0007"/>``
        stay ``"0007"``, and a ``time:timestamp`` kept as text can be parsed (and its
        failures reported with the raw text) by the caller.
    max_bytes : int, optional
        The most text (after decompression) held in memory; None for
        ``$JOURNEYMINE_MAX_BYTES`` or a quarter of the machine's memory.

    Returns
    -------
    polars.DataFrame
        One row per event in file order. Event attributes are columns under their XES
        keys (``concept:name``, ``time:timestamp``, ``lifecycle:transition``,
        ``org:resource``, …) in order of first appearance, followed by the trace
        attributes as ``case:<key>`` (so the trace's ``concept:name`` is
        ``case:concept:name``), repeated on every event of the trace. Types: string and
        id → String, date → Datetime("us", "UTC"), int → Int64, float → Float64,
        boolean → Boolean; a key seen with more than one type is String (the values as
        written). Missing attributes and values that cannot be read as their type are
        null. A log without events gives an empty frame without columns.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not XES: not XML (the message gives the parser's line and column),
        or no ``<log>`` root element. A :class:`FileFormatError` (a ValueError) when the
        gzip stream is truncated or corrupt, or the text is longer than ``max_bytes``.

    Notes
    -----
    Nested attributes (``list``, ``container``, attributes inside attributes) are
    skipped with their children; log-level attributes, globals, extensions and
    classifiers are ignored. Booleans are true for ``true``/``1`` and false for
    ``false``/``0`` (any case); other values are null. Dates without an offset are
    taken as UTC.
    """
    p = Path(os.fspath(path))
    if not p.is_file():
        if p.exists():
            raise ValueError(f"{str(p)!r}: not an XES file: it is not a regular file")
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(p))
    where = repr(str(p))
    buf, n = _read_buffer(p, where, max_bytes)
    parsed = _scan(buf, n)
    if parsed is None:
        parsed = _stream(memoryview(buf)[:n], where)
    del buf
    return _assemble(parsed, text_keys)


def _read_buffer(p: Path, where: str, max_bytes: int | None = None) -> tuple[bytearray, int]:
    """The text of the file (gunzipped when it starts with gzip's magic bytes) and its
    length, followed by ``_PAD`` zeros; at most ``max_bytes`` of text (see
    :mod:`journeymine._decompress`)."""
    limit = resolve_max_bytes(max_bytes, "read_xes")
    buf, n = read_bytes(p, where, max_bytes=limit, owner="read_xes", pad=_PAD)
    # events are weighed too: 100 MB of "<event/>" are 13 million rows (2.3 GB)
    events = buf.count(b"<event", 0, n)
    need = n + events * _EVENT_BYTES
    if need > 3 * limit:  # the three times the limit docs/security.md allows while parsing
        raise FileFormatError(
            f"{where}: its {n:,} bytes of text hold {events:,} events, and building a log from them "
            f"takes about {need / 2**30:.1f} GiB, more than three times the limit of {limit / 2**30:.1f} GiB "
            "(max_bytes=, or JOURNEYMINE_MAX_BYTES; see docs/security.md). If the file is genuine, raise "
            "the limit."
        )
    return buf, n


#: bytes an XES event takes while a log is built from it, besides its text (measured: about
#: 175 for an empty event; a real event's text is longer than that, so the text limit holds first)
_EVENT_BYTES = 200


# =========================================================================================
# parsed data, shared by both paths
# =========================================================================================
@dataclass
class _Bucket:
    """The values of one key at one level: row numbers, raw texts and the types seen."""

    rows: list[Ints] = field(default_factory=list)
    values: list[pl.Series] = field(default_factory=list)
    types: set[int] = field(default_factory=set)


@dataclass
class _Parsed:
    n_traces: int = 0
    n_events: int = 0
    event_trace: list[Ints] = field(default_factory=list)
    events: dict[str, _Bucket] = field(default_factory=dict)
    traces: dict[str, _Bucket] = field(default_factory=dict)


# =========================================================================================
# the fast path: numpy tokeniser
# =========================================================================================
_WINDOW: Final = 1 << 24  # bytes of body per window (cut at the next "<trace")

# element names of the body, with their codes
_TRACE, _EVENT, _LOG = 100, 101, 102
_LIST, _CONTAINER, _VALUES = 103, 104, 105
_UNKNOWN: Final = 255
_NAMES: Final = (
    (b"trace", _TRACE), (b"event", _EVENT), (b"log", _LOG), (b"list", _LIST),
    (b"container", _CONTAINER), (b"values", _VALUES),
    *((name.encode(), code) for name, code in _TYPE_CODE.items()),
)
_WS_TABLE = np.zeros(256, dtype=np.bool_)
_WS_TABLE[[9, 10, 13, 32]] = True
_DELIM_TABLE = _WS_TABLE.copy()
_DELIM_TABLE[[ord("/"), ord(">")]] = True
_LT, _GT, _QUOTE, _SLASH, _AMP = ord("<"), ord(">"), ord('"'), ord("/"), ord("&")


def _le(text: bytes) -> int:
    return int.from_bytes(text.ljust(8, b"\0"), "little")


def _mask(length: int) -> int:
    return (1 << (8 * length)) - 1


_KEY_EQ: Final = (_le(b" key="), _mask(5))
_VALUE_EQ: Final = (_le(b" value="), _mask(7))
_U32_MASKS = np.array([0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF], dtype=np.uint32)
#: libxml2's limits without huge_tree, which the lxml path keeps: nesting depth (the
#: <log> element at 1), attribute name length, and the input buffer of iterparse (about
#: 10,000,000 bytes for one tag, less what is left of the chunk before it; a text run
#: may be 10,000,000 bytes). The numpy path declines a tag or run past _MAX_TOKEN, well
#: short of the buffer limit, and so a header (checked by lxml in one piece) past it, so
#: that lxml decides near the limit.
_MAX_DEPTH: Final = 256
_MAX_NAME: Final = 50_000
_MAX_TOKEN: Final = 8_000_000
#: characters XML 1.0 cannot carry, even escaped (C0 controls but tab, LF and CR;
#: U+FFFE, U+FFFF): lxml refuses them, so the numpy path declines them; the writer
#: writes them as U+FFFD. For Python's re and polars alike.
_NOT_XML: Final = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
_NOT_XML_STR = re.compile(_NOT_XML)
_NOT_XML_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")
_XML_ATTRIBUTE = re.compile(
    rb"[ \t\r\n]+([A-Za-z_:][-A-Za-z0-9._:]*)[ \t\r\n]*=[ \t\r\n]*(?:\"([^\"<]*)\"|'([^'<]*)')"
)
_BAD_AMP = re.compile(rb"&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")


class _Fallback(Exception):
    """The fast path does not handle this file: use the general path."""


@dataclass
class _Scanner:
    """Views of the buffer shared by the windows of one scan."""

    buf: bytearray
    n: int
    arr: Bytes
    u32: npt.NDArray[np.uint32]
    u64: npt.NDArray[np.uint64]
    parsed: _Parsed
    key_ids: dict[str, int] = field(default_factory=dict)
    key_names: list[str] = field(default_factory=list)
    # bucket per (is_trace, key id), in order of first appearance
    buckets: dict[tuple[bool, int], _Bucket] = field(default_factory=dict)


def _scan(buf: bytearray, n: int) -> _Parsed | None:
    """Parse the buffer with the numpy tokeniser, or return None (use :func:`_stream`)."""
    start = _body_start(buf, n)
    if start is None:
        return None
    cuts = [start]
    while cuts[-1] + _WINDOW < n:
        cut = buf.find(b"<trace", cuts[-1] + _WINDOW, n)
        if cut < 0:
            break
        cuts.append(cut)
    cuts.append(n)
    arr = np.frombuffer(buf, dtype=np.uint8)
    sc = _Scanner(
        buf=buf, n=n, arr=arr,
        u32=np.ndarray((len(buf) - 3,), dtype="<u4", buffer=buf, strides=(1,)),
        u64=np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,)),
        parsed=_Parsed(),
    )
    windows = list(itertools.pairwise(cuts))
    try:
        for i, (a, b) in enumerate(progress(windows, total=len(windows), desc="reading XES", min_total=8)):
            _window(sc, a, b, last=i == len(windows) - 1)
    except _Fallback:
        return None
    finally:
        del sc.u32, sc.u64, sc.arr
    parsed = sc.parsed
    for (is_trace, kid), bucket in sc.buckets.items():
        (parsed.traces if is_trace else parsed.events)[sc.key_names[kid]] = bucket
    return parsed


def _body_start(buf: bytearray, n: int) -> int | None:
    """Offset of the first ``<trace``, once the header before it is checked with lxml."""
    from lxml import etree

    start = buf.find(b"<trace", 0, n)
    while start >= 0:
        comment = buf.rfind(b"<!--", 0, start)
        if comment < 0 or buf.find(b"-->", comment + 4, start) >= 0:
            break
        end = buf.find(b"-->", start, n)  # that "<trace" is inside a comment
        start = -1 if end < 0 else buf.find(b"<trace", end, n)
    if start < 0 or start > _MAX_TOKEN:  # a header near iterparse's buffer limit: lxml decides
        return None
    head = bytes(buf[:start])
    declared = re.match(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", head)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        return None
    if b"<!DOCTYPE" in head or b"<![CDATA[" in head:
        return None
    parser = etree.XMLParser(remove_comments=True, **_SAFE_XML)
    try:
        root = etree.fromstring(head + b"</log>", parser=parser)
    except etree.XMLSyntaxError:
        return None
    if _local(root.tag) != "log":
        return None
    return start


def _window(sc: _Scanner, a: int, b: int, *, last: bool) -> None:
    """Tokenise ``buf[a:b]`` (whole traces; the end of the log in the last window)."""
    arr, parsed = sc.arr, sc.parsed
    seg = arr[a:b]
    lt = np.flatnonzero(seg == _LT).astype(np.int64) + a
    gt = np.flatnonzero(seg == _GT).astype(np.int64) + a
    qt = np.flatnonzero(seg == _QUOTE).astype(np.int64) + a
    amp = np.flatnonzero(seg == _AMP).astype(np.int64) + a
    del seg
    m = lt.size
    if m == 0 or lt[0] != a:
        raise _Fallback
    _check_utf8(sc, a, b)
    nxt = np.empty(m, dtype=np.int64)
    nxt[:-1] = lt[1:]
    nxt[-1] = b
    if int((nxt - lt).max()) > _MAX_TOKEN:  # a tag and the run after it: lxml decides
        raise _Fallback
    gi = np.searchsorted(gt, nxt) - 1
    if gi[0] < 0:
        raise _Fallback
    te = gt[gi]  # each tag ends at the last ">" before the next "<"
    if not (te > lt).all() or not _all_ws(sc, te + 1, nxt):
        raise _Fallback
    del gt, gi
    closing = arr[lt + 1] == _SLASH
    ns = lt + 1 + closing  # start of the element name
    selfc = (arr[te - 1] == _SLASH) & ~closing
    code, nlen = _classify(sc, ns)

    # -- nesting: depth before/after each token, matched open/close pairs
    delta = np.where(closing, -1, np.where(selfc, 0, 1)).astype(np.int64)
    after = 1 + np.cumsum(delta)
    before = after - delta
    is_log = code == _LOG
    if last:
        if not (is_log[-1] and closing[-1] and before[-1] == 1) or is_log[:-1].any():
            raise _Fallback
        body = slice(0, m - 1)
    else:
        if is_log.any() or after[-1] != 1:
            raise _Fallback
        body = slice(0, m)
    if (before[body] < 1).any() or (after[body] < 1).any():
        raise _Fallback
    if int((before + ~closing).max()) > _MAX_DEPTH:  # depth of each element, <log> at 1
        raise _Fallback
    _check_pairs(code[body], delta[body], before[body], after[body])

    # -- the rest of each tag: whitespace only, except the attributes of attribute tags
    attr_tag = (code < len(_TYPES)) | (code == _LIST) | (code == _CONTAINER)
    rest_start = ns + nlen
    rest_end = te - selfc
    plain = ~(attr_tag & ~closing)
    if not _all_ws(sc, rest_start[plain], rest_end[plain]):
        raise _Fallback

    # -- traces, events and the attributes that are theirs
    is_trace = code == _TRACE
    is_event = code == _EVENT
    t_open = is_trace & ~closing
    e_open = is_event & ~closing
    in_trace = np.cumsum(t_open) - np.cumsum(is_trace & (closing | selfc))
    in_event = np.cumsum(e_open) - np.cumsum(is_event & (closing | selfc))
    if (before[t_open] != 1).any() or (before[e_open] != 2).any() or (in_trace[e_open] != 1).any():
        raise _Fallback
    trace_no = parsed.n_traces + np.cumsum(t_open) - 1
    event_no = parsed.n_events + np.cumsum(e_open) - 1
    parsed.event_trace.append(trace_no[e_open])
    parsed.n_traces += int(t_open.sum())
    parsed.n_events += int(e_open.sum())

    typed = (code < len(_TYPES)) & ~closing
    ev_attr = typed & (before == 3) & (in_event == 1)
    tr_attr = typed & (before == 2) & (in_trace == 1)
    wanted = np.flatnonzero(ev_attr | tr_attr)
    others = np.flatnonzero(attr_tag & ~closing & ~(ev_attr | tr_attr))
    ks, ke, vs, ve = _attributes(sc, rest_start, rest_end, qt, wanted, others)
    keyed = ks >= 0
    if not keyed.all():  # attributes without a key are ignored
        wanted, ks, ke, vs, ve = wanted[keyed], ks[keyed], ke[keyed], vs[keyed], ve[keyed]
    if amp.size and _BAD_AMP.search(sc.buf, a, b):
        raise _Fallback
    if wanted.size == 0:
        return
    kid = _key_ids(sc, ks, ke)
    values = _values(sc, vs, ve, amp)
    is_tr = tr_attr[wanted]
    rows = np.where(is_tr, trace_no[wanted], event_no[wanted])
    _collect(sc, kid, values, code[wanted].astype(np.int64), rows, is_tr)


def _check_utf8(sc: _Scanner, a: int, b: int) -> None:
    """Raise :class:`_Fallback` unless ``buf[a:b]`` is valid UTF-8 (checked by Arrow)."""
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([a, b], dtype=np.int64))
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(sc.buf)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid as exc:
        raise _Fallback from exc


def _classify(sc: _Scanner, ns: Ints) -> tuple[npt.NDArray[np.uint8], Ints]:
    """Element code and name length of each tag, from the 8 bytes after its name start."""
    word = sc.u64[ns]
    code = np.full(ns.size, _UNKNOWN, dtype=np.uint8)
    nlen = np.zeros(ns.size, dtype=np.int64)
    for name, c in _NAMES:
        head = name[:8]
        hit = np.flatnonzero((word & np.uint64(_mask(len(head)))) == np.uint64(_le(head)))
        if len(name) > 8:
            hit = hit[sc.arr[ns[hit] + 8] == name[8]]
        hit = hit[_DELIM_TABLE[sc.arr[ns[hit] + len(name)]]]
        code[hit] = c
        nlen[hit] = len(name)
    if (code == _UNKNOWN).any():
        raise _Fallback
    return code, nlen


def _check_pairs(code: npt.NDArray[np.uint8], delta: Ints, before: Ints, after: Ints) -> None:
    """Every closing tag closes the element opened last at its level, with the same name."""
    oc = np.flatnonzero(delta != 0)
    if oc.size == 0:
        return
    level = np.where(delta[oc] > 0, after[oc], before[oc])  # at most _MAX_DEPTH
    order = oc[np.argsort(level.astype(np.uint16), kind="stable")]
    if order.size % 2:
        raise _Fallback
    opens, closes = order[0::2], order[1::2]
    if (
        (delta[opens] != 1).any()
        or (delta[closes] != -1).any()
        or (code[opens] != code[closes]).any()
        or (after[opens] != before[closes]).any()
    ):
        raise _Fallback


def _all_ws(sc: _Scanner, starts: Ints, ends: Ints) -> bool:
    """Whether every byte in each range ``[start, end)`` is XML whitespace."""
    length = ends - starts
    if (length < 0).any():
        return False
    idx = np.flatnonzero(length > 0)
    k = 0
    while idx.size:
        if not _WS_TABLE[sc.arr[starts[idx] + k]].all():
            return False
        k += 1
        idx = idx[length[idx] > k]
        if k >= 64 and idx.size:  # long runs (rare): plain bytes
            return all(
                not sc.buf[s + k : e].strip(b" \t\r\n")
                for s, e in zip(starts[idx].tolist(), ends[idx].tolist(), strict=True)
            )
    return True


def _attributes(
    sc: _Scanner, rest_start: Ints, rest_end: Ints, qt: Ints, wanted: Ints, others: Ints
) -> tuple[Ints, Ints, Ints, Ints]:
    """Key and value spans of the ``wanted`` tags; the ``others`` are only checked.

    The usual form ``<type key="K" value="V"/>`` (either order, whitespace before the
    end allowed) is read with numpy; any other form with a regular expression.
    """
    rs, re_ = rest_start[wanted], rest_end[wanted]
    if qt.size == 0:
        qt = np.zeros(1, dtype=np.int64)  # no quote at all: every tag is irregular
    qi = np.searchsorted(qt, rs)
    ok = qi + 3 < qt.size
    q = [qt[np.minimum(qi + j, qt.size - 1)] for j in range(5)]
    ok &= q[3] < re_
    ok &= (qi + 4 >= qt.size) | (q[4] >= re_)
    key_word, key_mask = _KEY_EQ
    value_word, value_mask = _VALUE_EQ
    u64 = sc.u64
    head5 = (u64[rs] & np.uint64(key_mask)) == np.uint64(key_word)
    head7 = (u64[rs] & np.uint64(value_mask)) == np.uint64(value_word)
    mid5 = (u64[q[1] + 1] & np.uint64(key_mask)) == np.uint64(key_word)
    mid7 = (u64[q[1] + 1] & np.uint64(value_mask)) == np.uint64(value_word)
    key_first = ok & head5 & (q[0] == rs + 5) & mid7 & (q[2] == q[1] + 8)
    value_first = ok & head7 & (q[0] == rs + 7) & mid5 & (q[2] == q[1] + 6)
    regular = (key_first | value_first) & _ws_tail(sc, q[3] + 1, re_)
    ks = np.where(key_first, q[0], q[2]) + 1
    ke = np.where(key_first, q[1], q[3])
    vs = np.where(key_first, q[2], q[0]) + 1
    ve = np.where(key_first, q[3], q[1])
    irregular = np.flatnonzero(~regular)
    for i in irregular.tolist():
        got = _attribute_spans(sc.buf, int(rs[i]), int(re_[i]))
        if got is None:
            raise _Fallback
        ks[i], ke[i], vs[i], ve[i] = got  # ks < 0: no key, the caller drops the tag
    for i in others.tolist():
        if _attribute_spans(sc.buf, int(rest_start[i]), int(rest_end[i])) is None:
            raise _Fallback
    return ks, ke, vs, ve


def _ws_tail(sc: _Scanner, starts: Ints, ends: Ints) -> Bools:
    """Per range of at most two bytes: whether it is whitespace (longer ranges: False)."""
    length = ends - starts
    ok = (length >= 0) & (length <= 2)
    for k in (0, 1):
        ok &= (length <= k) | _WS_TABLE[sc.arr[starts + k]]
    return ok


def _attribute_spans(buf: bytearray, start: int, end: int) -> tuple[int, int, int, int] | None:
    """Spans of key and value among the XML attributes in ``buf[start:end]``.

    None when the text is not a list of well-formed attributes; ``(-1, -1, -1, -1)``
    when there is no ``key``; value span ``(-1, -1)`` when there is no ``value``.
    """
    pos = start
    seen: set[bytes] = set()
    key = value = (-1, -1)
    while True:
        match = _XML_ATTRIBUTE.match(buf, pos, end)
        if match is None:
            break
        name = match.group(1)
        if name in seen or b":" in name or name == b"xmlns" or len(name) > _MAX_NAME:
            return None  # namespaces: lxml checks them
        if _NOT_XML_BYTES.search(buf, match.start(), match.end()):
            return None
        seen.add(name)
        group = 2 if match.group(2) is not None else 3
        if name == b"key":
            key = match.span(group)
        elif name == b"value":
            value = match.span(group)
        pos = match.end()
    if bytes(buf[pos:end]).strip(b" \t\r\n"):
        return None
    if key[0] < 0:
        return (-1, -1, -1, -1)
    return key[0], key[1], value[0], value[1]


def _binary(sc: _Scanner, starts: Ints, lengths: Ints, null: Bools | None) -> Any:
    """A ``pyarrow`` binary-view array of ``buf[start:start+length]``, without a copy.

    The 16-byte views (length, then the bytes inline up to 12, else prefix, buffer and
    offset) are built with numpy; the data buffers are the file buffer itself, one per
    GiB (overlapping by a GiB, as view offsets are 32-bit).
    """
    import pyarrow as pa

    if null is not None:
        starts = np.where(null, 0, starts)
        lengths = np.where(null, 0, lengths)
    m = starts.size
    views = np.empty((m, 4), dtype="<u4")
    views[:, 0] = lengths
    short = lengths <= 12
    w0 = sc.u32[starts]
    views[:, 1] = np.where(short, w0 & _U32_MASKS[np.clip(lengths, 0, 4)], w0)
    views[:, 2] = np.where(short, sc.u32[starts + 4] & _U32_MASKS[np.clip(lengths - 4, 0, 4)], starts >> 30)
    views[:, 3] = np.where(short, sc.u32[starts + 8] & _U32_MASKS[np.clip(lengths - 8, 0, 4)],
                           starts & ((1 << 30) - 1))
    mv = memoryview(sc.buf)
    data = [pa.py_buffer(mv[k << 30 : (k + 2) << 30]) for k in range((len(sc.buf) >> 30) + 1)]
    validity = pa.array(~null).buffers()[1] if null is not None and null.any() else None
    return pa.Array.from_buffers(pa.binary_view(), m, [validity, pa.py_buffer(views), *data])


def _key_ids(sc: _Scanner, ks: Ints, ke: Ints) -> Ints:
    """Global ids of the keys at ``buf[ks:ke]`` (dictionary-encoded: keys are few)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(_binary(sc, ks, ke - ks, None))
    lut = np.empty(len(encoded.dictionary), dtype=np.int64)
    for j, raw in enumerate(encoded.dictionary.to_pylist()):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Fallback from exc
        if _NOT_XML_STR.search(text):
            raise _Fallback
        key = _xml_text(text)
        kid = sc.key_ids.get(key)
        if kid is None:
            kid = sc.key_ids[key] = len(sc.key_names)
            sc.key_names.append(key)
        lut[j] = kid
    ids: Ints = lut[encoded.indices.to_numpy(zero_copy_only=False)]
    return ids


def _values(sc: _Scanner, vs: Ints, ve: Ints, amp: Ints) -> pl.Series:
    """The values at ``buf[vs:ve]`` as text (null where ``vs`` < 0), decoded as XML does.

    The bytes are copied out of the file buffer (checked as UTF-8); literal tabs and
    line ends become spaces; entity and character references are decoded in the values
    that hold an ``&`` (found from the positions ``amp`` of all ``&`` in the window).
    """
    import pyarrow as pa

    null = vs < 0
    try:
        text = _binary(sc, vs, ve - vs, null).cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:  # not UTF-8
        raise _Fallback from exc
    values = pl.from_arrow(text)
    if not isinstance(values, pl.Series):  # pragma: no cover - from_arrow of an array
        raise _Fallback
    if _odd_bytes(text):
        values = values.str.replace_all("\r\n", " ", literal=True)
        values = values.str.replace_many(["\t", "\n", "\r"], [" ", " ", " "])
    if amp.size:
        has_amp = (np.searchsorted(amp, ve) > np.searchsorted(amp, vs)) & ~null
        idx = np.flatnonzero(has_amp)
        if idx.size:
            sub = values.gather(idx)
            if idx.size > 1000 and not bool(sub.str.contains("&#", literal=True).any()):
                decoded = sub.str.replace_many(*_NAMED_REFS)
            else:
                decoded = pl.Series([_decode_refs(v) for v in sub.to_list()], dtype=pl.String)
            values = _patch(values, idx, decoded)
    return values


def _odd_bytes(text: Any) -> bool:
    """Whether the values hold tabs or line ends (to be made spaces); raise
    :class:`_Fallback` when they hold a character XML forbids.

    Two numpy passes over the values' bytes (controls, and the lead byte of U+FFFE and
    U+FFFF), with regular expressions only when one of them finds something: cheaper
    than a regular expression per value.
    """
    data = text.buffers()[2]
    if data is None:
        return False
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    first, last = int(offsets[text.offset]), int(offsets[text.offset + len(text)])
    raw = np.frombuffer(data, dtype=np.uint8)[first:last]
    if np.count_nonzero(raw == 0xEF) and re.search(rb"\xef\xbf[\xbe\xbf]", raw.tobytes()):
        raise _Fallback
    if not np.count_nonzero(raw < 0x20):
        return False
    if _NOT_XML_BYTES.search(raw.tobytes()):
        raise _Fallback
    return True


def _collect(sc: _Scanner, kid: Ints, values: pl.Series, types: Ints, rows: Ints, is_tr: Bools) -> None:
    """Add one window's attributes to their (level, key) buckets."""
    group = kid * 2 + is_tr
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    bounds = np.flatnonzero(np.diff(sorted_group)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [group.size]])
    first_seen = np.argsort(order[starts], kind="stable")  # buckets in order of appearance
    ordered_values = values.gather(order)
    for j in first_seen.tolist():
        s, e = int(starts[j]), int(ends[j])
        g = int(sorted_group[s])
        bucket = sc.buckets.setdefault((bool(g & 1), g >> 1), _Bucket())
        bucket.rows.append(rows[order[s:e]])
        bucket.values.append(ordered_values.slice(s, e - s))
        bucket.types.update(np.unique(types[order[s:e]]).tolist())


_NAMED_REFS: Final = (["&lt;", "&gt;", "&quot;", "&apos;", "&amp;"], ["<", ">", '"', "'", "&"])
_REF = re.compile(r"&(?:(lt)|(gt)|(amp)|(quot)|(apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_REF_TEXT: Final = ("<", ">", "&", '"', "'")


def _decode_refs(text: str) -> str:
    """Decode the entity and character references of XML text."""

    def one(match: re.Match[str]) -> str:
        for i, ch in enumerate(_REF_TEXT, start=1):
            if match.group(i):
                return ch
        number = int(match.group(6)) if match.group(6) else int(match.group(7), 16)
        if not (number in (0x9, 0xA, 0xD) or 0x20 <= number <= 0xD7FF
                or 0xE000 <= number <= 0xFFFD or 0x10000 <= number <= 0x10FFFF):
            raise _Fallback  # not an XML character: lxml reports it
        return chr(number)

    return _REF.sub(one, text)


def _xml_text(raw: str) -> str:
    """An attribute value as an XML parser gives it: line ends and tabs as spaces,
    references decoded."""
    if "\r" in raw or "\n" in raw or "\t" in raw:
        raw = raw.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _decode_refs(raw) if "&" in raw else raw


def _patch(series: pl.Series, idx: Ints, replacement: pl.Series) -> pl.Series:
    """``series`` with the values at ``idx`` replaced (a gather, not a scatter)."""
    take = np.arange(series.len(), dtype=np.int64)
    take[idx] = series.len() + np.arange(idx.size, dtype=np.int64)
    return pl.concat([series, replacement.cast(series.dtype)]).gather(take)


# =========================================================================================
# the general path: lxml
# =========================================================================================
#: the options of every XML parser here. No DTD is loaded or validated and nothing is
#: fetched, so no external or parameter entity is ever expanded: a XES file cannot read a
#: local file or reach the network (lxml 5.x-6.0.x expand them by default in iterparse).
#: Internal entities are expanded as XML requires, within libxml2's amplification limit,
#: and libxml2's default limits stay on (huge_tree=False: about 10 MB for one tag or text
#: run, 256 levels of nesting); the numpy path declines what comes near them.
_SAFE_XML: Final = dict(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
)


def _first_error(context: Any, exc: Exception) -> str:
    """The parser's first error with its place (with resolve_entities=False, lxml's
    exception can say only "no element found" where its log has the cause)."""
    for error in context.error_log:
        if error.level_name in ("ERROR", "FATAL"):
            message = error.message.strip()
            limit = "XML_PARSE_HUGE" in message
            if limit:  # an option journeymine keeps off: say which limits hold instead
                message = re.sub(r",? (?:try|use) XML_PARSE_HUGE(?: option)?", "", message)
            where = f"{message}, line {error.line}, column {error.column}"
            return where + (_LIMITS if limit else "")
    return str(exc)


_LIMITS: Final = (
    ". journeymine reads XES within libxml2's safety limits (a tag or a text of about "
    "10 MB at most, 256 levels of nesting), and this file goes past one of them"
)


def _check_entities(errors: Any, where: str) -> None:
    """Refuse a document that uses an entity its parser left empty: one declared in an
    external DTD or parameter entity, which are never loaded."""
    for error in errors:
        if error.type_name == "WAR_UNDECLARED_ENTITY":
            raise ValueError(
                f"{where}: not an XES file that can be read safely: {error.message} (line "
                f"{error.line}). Its DOCTYPE refers to a DTD or parameter entity outside the "
                "file, which journeymine never loads (it could read local files or reach the "
                "network). Replace the entity with its text, or remove the DOCTYPE."
            )


class _MemoryReader:
    """A minimal binary file over a memoryview (lxml reads it in chunks, without a copy)."""

    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._pos + size)
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk


def _local(tag: Any) -> str:
    if not isinstance(tag, str):  # comments, processing instructions, entities
        return ""
    return tag.rsplit("}", 1)[-1]


class _Lists:
    __slots__ = ("rows", "types", "values")

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.values: list[str | None] = []
        self.types: set[int] = set()

    def bucket(self) -> _Bucket:
        return _Bucket(
            rows=[np.asarray(self.rows, dtype=np.int64)],
            values=[pl.Series(self.values, dtype=pl.String)],
            types=self.types,
        )


def _stream(data: memoryview, where: str) -> _Parsed:
    """Parse with ``lxml.etree.iterparse``, one ``<trace>`` at a time."""
    from lxml import etree

    event_cols: dict[str, _Lists] = {}
    trace_cols: dict[str, _Lists] = {}
    event_trace: list[int] = []
    n_traces = 0
    names: dict[Any, str] = {}

    def local(tag: Any) -> str:
        name = names.get(tag)
        if name is None:
            name = names[tag] = _local(tag)
        return name

    def add(cols: dict[str, _Lists], elem: Any, type_code: int, row: int) -> None:
        key = elem.get("key")
        if key is None:
            return
        col = cols.get(key)
        if col is None:
            col = cols[key] = _Lists()
        col.rows.append(row)
        col.values.append(elem.get("value"))
        col.types.add(type_code)

    root_name = ""
    context = etree.iterparse(
        _MemoryReader(data), events=("end",), tag="{*}trace", remove_comments=True,
        remove_pis=True, **_SAFE_XML,
    )
    try:
        for _, trace in context:
            t = n_traces
            n_traces += 1
            for child in trace:
                name = local(child.tag)
                if name == "event":
                    e = len(event_trace)
                    event_trace.append(t)
                    for attr in child:
                        code = _TYPE_CODE.get(local(attr.tag))
                        if code is not None:
                            add(event_cols, attr, code, e)
                else:
                    code = _TYPE_CODE.get(name)
                    if code is not None:
                        add(trace_cols, child, code, t)
            trace.clear()
            parent = trace.getparent()
            if parent is not None:
                while trace.getprevious() is not None:
                    del parent[0]
        root = context.root
        root_name = local(root.tag) if root is not None else ""
        _check_entities(context.error_log, where)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"{where}: not an XES file: invalid XML: {_first_error(context, exc)}") from exc
    except (OSError, EOFError) as exc:  # pragma: no cover - the data is in memory
        raise ValueError(f"{where}: could not be read: {exc}") from exc
    if root_name != "log":
        found = f"the root element is <{root_name}>" if root_name else "no root element"
        raise ValueError(f"{where}: not an XES file: no <log> element ({found})")
    return _Parsed(
        n_traces=n_traces,
        n_events=len(event_trace),
        event_trace=[np.asarray(event_trace, dtype=np.int64)],
        events={k: v.bucket() for k, v in event_cols.items()},
        traces={k: v.bucket() for k, v in trace_cols.items()},
    )


# =========================================================================================
# assembling the frame
# =========================================================================================
def _assemble(parsed: _Parsed, text_keys: frozenset[str] = frozenset()) -> pl.DataFrame:
    """The frame in pm4py's layout from the parsed buckets (types converted here, but for
    the keys in ``text_keys``, kept as written)."""
    n = parsed.n_events
    if n == 0:
        return pl.DataFrame()
    event_trace = np.concatenate(parsed.event_trace) if parsed.event_trace else np.zeros(0, np.int64)
    columns: dict[str, pl.Series] = {}
    for key, bucket in parsed.events.items():
        column = _column(key, bucket, n, None, key in text_keys)
        if column is not None:
            columns[key] = column
    has_events = np.bincount(event_trace, minlength=parsed.n_traces) > 0
    for key, bucket in parsed.traces.items():
        name = f"case:{key}"
        per_trace = _column(name, bucket, parsed.n_traces, has_events, key in text_keys)
        if per_trace is None:
            continue
        columns.pop(name, None)  # the trace attribute wins over an event key "case:<key>"
        columns[name] = per_trace.gather(event_trace)
    return pl.DataFrame(list(columns.values()))


def _column(
    name: str, bucket: _Bucket, length: int, keep_rows: Bools | None, as_text: bool = False
) -> pl.Series | None:
    rows = np.concatenate(bucket.rows)
    values = pl.concat(bucket.values, rechunk=True) if len(bucket.values) > 1 else bucket.values[0]
    if keep_rows is not None:
        keep = keep_rows[rows]
        if not keep.all():
            if not keep.any():
                return None
            rows, values = rows[keep], values.filter(pl.Series(keep))
    if rows.size > 1:
        dup = rows[1:] == rows[:-1]
        if dup.any():  # one key twice on an element: the last value, as pm4py
            keep = np.append(~dup, True)
            rows, values = rows[keep], values.filter(pl.Series(keep))
    types = bucket.types
    kind = next(iter(types)) if len(types) == 1 and not as_text else _STRING
    typed = _convert(values, kind).alias(name)
    if rows.size == length:  # strictly increasing rows in range: every row, in order
        return typed
    take = np.full(length, rows.size, dtype=np.int64)
    take[rows] = np.arange(rows.size, dtype=np.int64)
    return pl.concat([typed, pl.Series(name, [None], dtype=typed.dtype)]).gather(take)


def _convert(raw: pl.Series, kind: int) -> pl.Series:
    """Type a column of raw XES value texts by its XES type code."""
    if kind == _DATE:
        return _dates(raw)
    if kind == _INT:
        return _retry_stripped(raw, lambda s: s.cast(pl.Int64, strict=False))
    if kind == _FLOAT:
        return _retry_stripped(raw, lambda s: s.cast(pl.Float64, strict=False))
    if kind == _BOOLEAN:
        return raw.str.strip_chars().str.to_lowercase().replace_strict(
            {"true": True, "1": True, "false": False, "0": False}, default=None, return_dtype=pl.Boolean
        )
    return raw


def _retry_stripped(raw: pl.Series, cast: Callable[[pl.Series], pl.Series]) -> pl.Series:
    out = cast(raw)
    if out.null_count() > raw.null_count():
        out = cast(raw.str.strip_chars())
    return out


_UTC_US = pl.Datetime("us", "UTC")


def _dates(raw: pl.Series) -> pl.Series:
    """Parse XES dates (ISO 8601, with or without offset or fraction) to UTC, vectorised.

    The usual form is parsed by polars in one call; the values it misses are tried again
    without surrounding whitespace and as times without offset (taken as UTC), and the
    few left with :meth:`datetime.fromisoformat` (dates alone, hour-only offsets…).
    """
    out = raw.str.to_datetime(format=_ISO, strict=False, time_unit="us", time_zone="UTC")
    missed = out.is_null() & raw.is_not_null()
    if not bool(missed.any()):
        return out
    idx = np.flatnonzero(missed.to_numpy())
    texts = raw.gather(idx).str.strip_chars()
    again = texts.str.to_datetime(format=_ISO, strict=False, time_unit="us", time_zone="UTC")
    naive = texts.str.to_datetime(format=_ISO_NAIVE, strict=False, time_unit="us")
    again = again.fill_null(naive.dt.replace_time_zone("UTC"))
    left = np.flatnonzero(again.is_null().to_numpy())
    if left.size:
        fixed: list[datetime | None] = []
        for text in texts.gather(left).to_list():
            try:
                value = datetime.fromisoformat(text.replace("z", "Z"))
            except (ValueError, TypeError):
                fixed.append(None)
                continue
            fixed.append(value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value)
        again = _patch(again, left, pl.Series(fixed, dtype=_UTC_US))
    return _patch(out, idx, again)


_ISO: Final = "%Y-%m-%dT%H:%M:%S%.f%#z"
_ISO_NAIVE: Final = "%Y-%m-%dT%H:%M:%S%.f"


# =========================================================================================
# writing
# =========================================================================================
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
_WRITE_SLICE = 200_000
_CASE = "case:concept:name"


def _escape_text(text: str) -> str:
    text = re.sub(_NOT_XML, "\ufffd", text)
    for a, b in zip(*_ESCAPES, strict=True):
        text = text.replace(a, b)
    return text


def write_xes_frame(events: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a frame in pm4py's layout as an XES 1.0 file.

    Parameters
    ----------
    events : polars.DataFrame
        One row per event, with ``case:concept:name``. Events are written in frame order
        within their case, and cases in order of first appearance. ``case:<key>``
        columns become trace attributes ``<key>`` (the first non-null value of the case),
        other columns event attributes. Nulls are left out.
    path : str or os.PathLike
        Where to write; gzip-compressed when the name ends with ``.gz``.

    Raises
    ------
    ValueError
        ``case:concept:name`` is missing or has nulls.

    Notes
    -----
    Types come from dtypes: String, Categorical, Enum → string; Datetime → date in UTC
    with milliseconds (microseconds when a column has sub-millisecond values), naive
    datetimes taken as UTC; Date → date at midnight UTC; integers → int; floats → float;
    Boolean → boolean; anything else → string of ``str(value)``. Keys and values are
    escaped for XML (``& < > "`` and tab, newline, carriage return); characters XML
    cannot carry at all (other control characters) become U+FFFD.
    """
    if _CASE not in events.columns:
        raise ValueError(f"write_xes_frame needs a {_CASE!r} column; got {events.columns}")
    nulls = events.get_column(_CASE).null_count()
    if nulls:
        raise ValueError(f"write_xes_frame: {nulls} events have a null {_CASE!r}")
    p = Path(os.fspath(path))
    frame, body = _prepare(events)
    line = pl.concat_str([body, pl.lit("\n")])
    # a slice is rendered by polars while the previous one is compressed and written
    # by a second thread (zlib and file writes release the GIL)
    with _open_out(p) as out, ThreadPoolExecutor(max_workers=1) as writer:
        out.write(_HEADER.encode())
        pending: Future[Any] | None = None
        for start in range(0, frame.height, _WRITE_SLICE):
            chunk = _rendered(frame.slice(start, _WRITE_SLICE), line)
            if pending is not None:
                pending.result()
            pending = writer.submit(out.write, chunk)
        if pending is not None:
            pending.result()
        out.write(b"</log>\n")


def _rendered(frame: pl.DataFrame, line: pl.Expr) -> memoryview:
    """The UTF-8 bytes of the lines of ``frame``: the data buffer of their Arrow array."""
    lines = frame.select(line).to_series().to_arrow(compat_level=pl.CompatLevel.oldest())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    data = lines.buffers()[2]
    if data is None:  # pragma: no cover - only when every line is empty
        return memoryview(b"")
    return memoryview(data)[first:last]


def _open_out(p: Path) -> IO[bytes]:
    if p.name.lower().endswith(".gz"):
        return GzipOut(p)  # type: ignore[return-value]
    return open(p, "wb")


def _native(dtype: pl.DataType) -> bool:
    """Whether polars renders the dtype itself (else values are written as ``str(value)``)."""
    return (
        dtype in (pl.String, pl.Boolean, pl.Date)
        or isinstance(dtype, (pl.Datetime, pl.Categorical, pl.Enum))
        or dtype.is_integer()
        or dtype.is_float()
    )


def _attribute(name: str, key: str, series: pl.Series) -> pl.Expr:
    """An expression giving the XES element of column ``name`` (empty when null)."""
    dtype = series.dtype
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        sub_ms = bool((series.dt.microsecond() % 1000 != 0).any())
        fmt = "%Y-%m-%dT%H:%M:%S%.6f+00:00" if sub_ms else "%Y-%m-%dT%H:%M:%S%.3f+00:00"
        text, tag = col.dt.convert_time_zone("UTC").dt.strftime(fmt), "date"
    elif dtype == pl.Date:
        text, tag = col.dt.strftime("%Y-%m-%dT00:00:00.000+00:00"), "date"
    elif dtype.is_integer():
        text, tag = col.cast(pl.String), "int"
    elif dtype.is_float():
        text, tag = col.cast(pl.String), "float"
    elif dtype == pl.Boolean:
        text, tag = col.cast(pl.String), "boolean"
    else:
        text, tag = col.cast(pl.String), "string"
        if bool(series.cast(pl.String).str.contains(_NOT_XML).any()):
            text = text.str.replace_all(_NOT_XML, "\ufffd")
        text = text.str.replace_many(*_ESCAPES)
    prefix = f'<{tag} key="{_escape_text(key)}" value="'
    return pl.concat_str([pl.lit(prefix), text, pl.lit('"/>')]).fill_null("")  # null: nothing


def _prepare(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """Events grouped by case (first-appearance order) with trace flags, and the
    expression that renders one event line (opening and closing its trace as needed)."""
    case = _CASE
    events = events.with_columns(pl.col(case).cast(pl.String))
    other = [
        pl.Series(name, [None if v is None else str(v) for v in events.get_column(name).to_list()],
                  dtype=pl.String)
        for name, dtype in events.schema.items()
        if not _native(dtype)
    ]
    if other:
        events = events.with_columns(other)
    ids = events.get_column(case)
    runs = int((ids != ids.shift()).fill_null(True).sum())
    if runs != ids.n_unique():  # not grouped by case yet: group, keeping first appearance
        events = (
            events.with_row_index("__row")
            .sort(pl.col("__row").min().over(case), maintain_order=True)
            .drop("__row")
        )
    trace_cols = [c for c in events.columns if c.startswith("case:")]
    event_cols = [c for c in events.columns if not c.startswith("case:")]
    frame = events.with_columns(
        [pl.col(c).drop_nulls().first().over(case) for c in trace_cols if c != case]
        + [(pl.col(case) != pl.col(case).shift()).fill_null(True).alias("__first"),
           (pl.col(case) != pl.col(case).shift(-1)).fill_null(True).alias("__last")]
    )
    trace_attrs = [_attribute(c, c[len("case:"):], frame.get_column(c)) for c in trace_cols]
    head = pl.when(pl.col("__first")).then(
        pl.concat_str([pl.lit("<trace>"), *trace_attrs, pl.lit("\n")])
    ).otherwise(pl.lit(""))
    tail = pl.when(pl.col("__last")).then(pl.lit("\n</trace>")).otherwise(pl.lit(""))
    body = pl.concat_str(
        [head, pl.lit("<event>"), *[_attribute(c, c, frame.get_column(c)) for c in event_cols],
         pl.lit("</event>"), tail]
    )
    return frame, body
