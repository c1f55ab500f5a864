"""XES reading and writing: types, time zones, escaping, nesting, bad files, round trips
through our reader and pm4py's, and the real logs read as pm4py reads them.

The reader has two paths, a numpy tokeniser and lxml's ``iterparse``; most tests check
that the first one was taken and that both give the same frame.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import re
import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lxml import etree
from polars.testing import assert_frame_equal

from journeymine import _xes
from journeymine._xes import read_xes_frame, write_xes_frame

UTC = dt.timezone.utc

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand: <trace> in a comment -->
<log xes.version="1.0" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <classifier name="Activity" keys="concept:name"/>
  <string key="log-level" value="ignored"/>
  <float key="meta" value="1.0"><float key="nested-in-header" value="2.0"/></float>
"""

XES = HEADER + """  <trace>
    <string key="concept:name" value="c1"/>
    <boolean key="vip" value="true"/>
    <int key="size" value="250"/>
    <event>
      <string key="concept:name" value="R&amp;D &lt;b&gt; &quot;x&quot; &apos;y&apos;"/>
      <date key="time:timestamp" value="2024-01-01T10:00:00.000+02:00"/>
      <string key="lifecycle:transition" value="complete"/>
      <string key="org:resource" value="Ann"/>
      <int key="n" value="3"/>
      <float key="amount" value="2.5"/>
      <boolean key="ok" value="false"/>
      <id key="ref" value="9f1c"/>
    </event>
    <event>
      <string key="concept:name" value="Démo 🎥 – 日本"/>
      <date key="time:timestamp" value="2024-01-02T00:00:00Z"/>
      <string key="n" value="three"/>
      <float key="amount" value="-1e3"/>
    </event>
  </trace>
  <trace><string key="concept:name" value="empty"/><string key="only-on-empty" value="x"/></trace>
  <trace/>
  <trace>
    <string key="concept:name" value="c2"/>
    <int key="size" value="7"/>
    <event><string key="concept:name" value="a"/><date key="time:timestamp" value="2024-01-03T00:00:00.123-05:00"/></event>
    <event/>
  </trace>
</log>
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "log.xes") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def _both_paths(path: Path) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """The frame of the numpy path (None when it declines) and of the lxml path."""
    buf, n = _xes._read_buffer(path, str(path))
    fast = _xes._scan(buf, n)
    stream = _xes._stream(memoryview(buf)[:n], str(path))
    return (None if fast is None else _xes._assemble(fast)), _xes._assemble(stream)


def _read_checked(path: Path, *, fast: bool = True) -> pl.DataFrame:
    """``read_xes_frame``, checked against both paths (and that the numpy one was taken)."""
    got = read_xes_frame(path)
    numpy_frame, lxml_frame = _both_paths(path)
    assert_frame_equal(got, lxml_frame)
    if fast:
        assert numpy_frame is not None, "the numpy path should read this file"
        assert_frame_equal(numpy_frame, lxml_frame)
    else:
        assert numpy_frame is None, "the numpy path should leave this file to lxml"
    return got


# -----------------------------------------------------------------------------------------
# reading
# -----------------------------------------------------------------------------------------
def test_layout_types_zones_entities_and_empty_traces(tmp_path: Path) -> None:
    frame = _read_checked(_write(tmp_path, XES))
    # pm4py's layout: event attributes in order of appearance, then the trace attributes
    assert frame.columns == [
        "concept:name", "time:timestamp", "lifecycle:transition", "org:resource", "n", "amount",
        "ok", "ref", "case:concept:name", "case:vip", "case:size",
    ]
    # traces without events give no rows; the key only on an empty trace is no column
    assert frame.get_column("case:concept:name").to_list() == ["c1", "c1", "c2", "c2"]
    assert frame.get_column("concept:name").to_list() == ['R&D <b> "x" \'y\'', "Démo 🎥 – 日本", "a", None]
    assert frame.schema["time:timestamp"] == pl.Datetime("us", "UTC")
    assert frame.get_column("time:timestamp").to_list() == [
        dt.datetime(2024, 1, 1, 8, 0, tzinfo=UTC),
        dt.datetime(2024, 1, 2, 0, 0, tzinfo=UTC),
        dt.datetime(2024, 1, 3, 5, 0, 0, 123000, tzinfo=UTC),
        None,
    ]
    assert frame.get_column("n").to_list() == ["3", "three", None, None]  # int and string: text
    assert frame.schema["amount"] == pl.Float64
    assert frame.get_column("amount").to_list() == [2.5, -1000.0, None, None]
    assert frame.schema["ok"] == pl.Boolean
    assert frame.get_column("ok").to_list() == [False, None, None, None]
    assert frame.schema["ref"] == pl.String
    assert frame.get_column("case:vip").to_list() == [True, True, None, None]
    assert frame.schema["case:size"] == pl.Int64
    assert frame.get_column("case:size").to_list() == [250, 250, 7, 7]
    assert frame.get_column("lifecycle:transition").to_list() == ["complete", None, None, None]


def test_dates_in_every_iso_form_become_utc(tmp_path: Path) -> None:
    values = {
        "2011-10-01T00:38:44.546+02:00": dt.datetime(2011, 9, 30, 22, 38, 44, 546000, tzinfo=UTC),
        "2011-10-01T00:38:44-03:30": dt.datetime(2011, 10, 1, 4, 8, 44, tzinfo=UTC),
        "2011-10-01T00:38:44.5Z": dt.datetime(2011, 10, 1, 0, 38, 44, 500000, tzinfo=UTC),
        "2011-10-01T00:38:44.1234567+0100": dt.datetime(2011, 9, 30, 23, 38, 44, 123456, tzinfo=UTC),
        "2011-10-01T00:38:44": dt.datetime(2011, 10, 1, 0, 38, 44, tzinfo=UTC),  # no offset: UTC
        " 2011-10-01T00:38:44+02:00 ": dt.datetime(2011, 9, 30, 22, 38, 44, tzinfo=UTC),
        "2011-10-01": dt.datetime(2011, 10, 1, tzinfo=UTC),
        "2011-10-01T02:00:00+02": dt.datetime(2011, 10, 1, 0, 0, tzinfo=UTC),
        "not a date": None,
    }
    events = "".join(f'<event><date key="time:timestamp" value="{v}"/></event>' for v in values)
    frame = _read_checked(_write(tmp_path, HEADER + f'<trace><string key="concept:name" value="c"/>{events}</trace></log>'))
    assert frame.schema["time:timestamp"] == pl.Datetime("us", "UTC")
    assert frame.get_column("time:timestamp").to_list() == list(values.values())


def test_booleans_ints_and_floats_as_xml_schema_reads_them(tmp_path: Path) -> None:
    cases = [("true", " 1 ", "1.5"), ("FALSE", "-2", "NaN"), ("1", "+3", "inf"), ("0", "x", "1e-3"), ("yes", "1.0", "")]
    events = "".join(
        f'<event><boolean key="b" value="{b}"/><int key="i" value="{i}"/><float key="f" value="{f}"/></event>'
        for b, i, f in cases
    )
    frame = _read_checked(_write(tmp_path, HEADER + f"<trace>{events}</trace></log>"))
    assert frame.get_column("b").to_list() == [True, False, True, False, None]
    assert frame.get_column("i").to_list() == [1, -2, 3, None, None]
    floats = frame.get_column("f").to_list()
    assert floats[0] == 1.5 and floats[1] != floats[1] and floats[2] == float("inf") and floats[3] == 0.001
    assert floats[4] is None


def test_xml_details_are_decoded_as_an_xml_parser_does(tmp_path: Path) -> None:
    text = HEADER + (
        "<trace>\r\n\t<string key='concept:name'  value = 'single \"quoted\"' />\r\n"
        '\t<event><string value="value first" key="concept:name" /></event>\r\n'
        '\t<event><string key="concept:name" value="tab\there\nnew line\r\nend"/>'
        '<string key="k&amp;&#233;" value="&#10;&#x41;&#65;&amp;lt;"/></event>\r\n'
        '\t<event><string key="concept:name" value="a"/><string key="concept:name" value="b"/>'
        '<string key="no value"/><string value="no key"/></event>\r\n'
        "</trace>\r\n</log>\r\n"
    )
    frame = _read_checked(_write(tmp_path, "\ufeff" + text))  # with a byte-order mark
    assert frame.get_column("case:concept:name").to_list() == ['single "quoted"'] * 3
    assert frame.get_column("concept:name").to_list() == [
        "value first",
        "tab here new line end",  # literal tabs and line ends in values are spaces in XML
        "b",  # a key twice on one event: the last value, as pm4py
    ]
    assert frame.get_column("k&é").to_list() == [None, "\nAA&lt;", None]  # references decoded once
    assert frame.get_column("no value").to_list() == [None, None, None]
    assert "no key" not in frame.to_pandas().to_numpy().ravel().tolist()


def test_nested_attributes_are_skipped_with_their_children(tmp_path: Path) -> None:
    text = HEADER + """<trace><string key="concept:name" value="c"/>
      <list key="tags"><values><string key="t" value="1"/></values></list>
      <event>
        <string key="concept:name" value="parent"><string key="child" value="x"/><int key="child2" value="3"/></string>
        <container key="box"><string key="inside" value="d"/><container key="deeper"><int key="deepest" value="1"/></container></container>
        <list key="empty-list"/>
        <float key="after" value="1.5"/>
      </event></trace></log>"""
    frame = _read_checked(_write(tmp_path, text))
    assert frame.columns == ["concept:name", "after", "case:concept:name"]
    assert frame.row(0) == ("parent", 1.5, "c")


@pytest.mark.parametrize(
    "body",
    [
        '<trace><!-- a comment --><string key="concept:name" value="c"/><event><string key="concept:name" value="a"/></event></trace>',
        '<trace><string key="concept:name" value="c"/><event><?pi data?><string key="concept:name" value="a"/></event></trace>',
        '<trace><string key="concept:name" value="c"/><event>text <![CDATA[<x>]]><string key="concept:name" value="a"/></event></trace>',
        '<trace><string key="concept:name" value="c"/><event><extra/><string key="concept:name" value="a"/></event></trace>',
        '<trace><string key="concept:name" value="c"/><x:note xmlns:x="urn:x"/><event><string key="concept:name" value="a"/></event></trace>',
    ],
    ids=["comment", "processing-instruction", "cdata-and-text", "unknown-element", "namespace-prefix"],
)
def test_files_the_numpy_path_leaves_to_lxml(tmp_path: Path, body: str) -> None:
    frame = _read_checked(_write(tmp_path, HEADER + body + "</log>"), fast=False)
    assert frame.select("case:concept:name", "concept:name").rows() == [("c", "a")]


def test_other_encodings_and_namespaces(tmp_path: Path) -> None:
    latin = ('<?xml version="1.0" encoding="ISO-8859-1"?><log><trace><string key="concept:name" value="c"/>'
             '<event><string key="concept:name" value="caf\u00e9"/></event></trace></log>').encode("latin-1")
    assert _read_checked(_write(tmp_path, latin), fast=False).get_column("concept:name").to_list() == ["café"]
    old_ns = ('<log xmlns="http://code.deckfour.org/xes"><trace><string key="concept:name" value="c"/>'
              '<event><string key="concept:name" value="a"/></event></trace></log>')
    assert _read_checked(_write(tmp_path, old_ns, "old.xes")).get_column("concept:name").to_list() == ["a"]
    prefixed = ('<xes:log xmlns:xes="http://www.xes-standard.org/"><xes:trace><xes:string key="concept:name" value="c"/>'
                '<xes:event><xes:string key="concept:name" value="a"/></xes:event></xes:trace></xes:log>')
    frame = _read_checked(_write(tmp_path, prefixed, "prefixed.xes"), fast=False)
    assert frame.rows() == [("a", "c")]


def test_gzip_is_recognised_by_its_magic_bytes(tmp_path: Path) -> None:
    plain = read_xes_frame(_write(tmp_path, XES))
    assert_frame_equal(read_xes_frame(_write(tmp_path, gzip.compress(XES.encode()), "zipped.xes")), plain)
    assert_frame_equal(read_xes_frame(_write(tmp_path, XES, "not-zipped.xes.gz")), plain)
    # several gzip members, as concatenated files are: the size hint in the trailer is short
    half = len(XES) // 2
    members = gzip.compress(XES[:half].encode()) + gzip.compress(XES[half:].encode())
    assert_frame_equal(read_xes_frame(_write(tmp_path, members, "members.xes.gz")), plain)


def test_windows_of_the_numpy_path_join_up(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_data / "receipt.xes.gz"
    whole = read_xes_frame(path)
    monkeypatch.setattr(_xes, "_WINDOW", 4_096)  # about 170 windows, cut at trace starts
    buf, n = _xes._read_buffer(path, str(path))
    parsed = _xes._scan(buf, n)
    assert parsed is not None
    assert_frame_equal(_xes._assemble(parsed), whole)


def test_bad_files_raise_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.xes"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        read_xes_frame(missing)
    bad = {
        "not xml": ("hello world", r"not an XES file: invalid XML: Start tag expected.*line 1, column 1"),
        "empty": ("", r"not an XES file: invalid XML"),
        "html": ("<html><body><trace/></body></html>", r"not an XES file: no <log> element \(the root element is <html>\)"),
        "mismatch": (HEADER + "<trace><event></trace></event></log>", r"invalid XML: Opening and ending tag mismatch: event line \d+ and trace, line \d+, column \d+"),
        "truncated": XES[: len(XES) // 2],
        "bare ampersand": (HEADER + '<trace><event><string key="concept:name" value="R & D"/></event></trace></log>', "invalid XML"),
        "unknown entity": (HEADER + '<trace><event><string key="a" value="&nbsp;"/></event></trace></log>', "Entity 'nbsp' not defined"),
        "bad character reference": (HEADER + '<trace><event><string key="a" value="&#1;"/></event></trace></log>', "invalid XML"),
        "< in a value": (HEADER + '<trace><event><string key="a" value="a < b"/></event></trace></log>', "invalid XML"),
        "text after the log": (XES + "junk", r"Extra content at the end of the document"),
        "invalid utf-8": ((HEADER + '<trace><event><string key="a" value="\udcff"/></event></trace></log>'), "invalid XML"),
    }
    for name, spec in bad.items():
        text, pattern = spec if isinstance(spec, tuple) else (spec, "invalid XML")
        data = text.encode("utf-8", errors="surrogateescape")
        path = _write(tmp_path, data, f"{name}.xes")
        with pytest.raises(ValueError, match=pattern) as info:
            read_xes_frame(path)
        assert str(path) in str(info.value), name
    cut = _write(tmp_path, gzip.compress(XES.encode())[:200], "cut.xes.gz")
    with pytest.raises(ValueError, match="is a truncated gzip file"):
        read_xes_frame(cut)
    with pytest.raises(ValueError, match="not a regular file"):
        read_xes_frame(tmp_path)


#: bytes XML forbids (C0 controls, U+FFFE, U+FFFF) and, last, three it allows (DEL, NEL, U+FDD0)
ODD_CHARACTERS = [b"\x00", b"\x01", b"\x0b", b"\x1f", "\ufffe".encode(), "\uffff".encode(),
                  b"\x7f", "\x85".encode(), "\ufdd0".encode()]


def _lxml_accepts(data: bytes) -> bool:
    """Whether the lxml path (iterparse with the reader's options) reads ``data``."""
    try:
        _xes._stream(memoryview(data), "mutant")
    except ValueError:
        return False
    return True


def _nest(data: bytearray, rng: random.Random) -> tuple[bytearray, str]:
    """Attributes nested around 256 levels deep inside a random event (at depth 3)."""
    starts = [m.end() for m in re.finditer(rb"<event>", data)]
    if not starts:
        return data, "deep"
    k = rng.choice([252, 253, 254])
    inner = b'<int key="leaf" value="1"/>' if rng.random() < 0.5 else b""
    at = rng.choice(starts)
    data[at:at] = b'<string key="d" value="v">' * k + inner + b"</string>" * k
    return data, "deep"


def _inflate(data: bytearray, rng: random.Random) -> tuple[bytearray, str]:
    """One value made 7.9 MB (both paths read it) or 12 MB (over libxml2's limit)."""
    values = [m.span(1) for m in re.finditer(rb' value="([^"]*)"', data)]
    a, b = rng.choice(values)
    data[a:b] = b"v" * rng.choice([7_900_000, 12_000_000])
    return data, "huge"


def test_mutated_files_are_rejected_exactly_when_lxml_rejects_them(tmp_path: Path) -> None:
    """Random small damage to valid files: the numpy path never accepts what the lxml
    path refuses, and on what both read they agree. The damage includes characters XML
    forbids, nesting around libxml2's depth limit of 256 and values past its size limit,
    which the numpy path once accepted."""
    sources = [XES.encode(), _hostile_xes(tmp_path).read_bytes()]
    rng = random.Random(20240101)
    alphabet = [bytes([c]) for c in b'<>"\'&/=; \n\tx#!?'] + ODD_CHARACTERS
    path = tmp_path / "mutant.xes"
    outcomes: dict[str, int] = {}
    for _ in range(500):
        data = bytearray(rng.choice(sources))
        kind = "small"
        roll = rng.random()
        if roll < 0.1:
            data, kind = _nest(data, rng)
        elif roll < 0.115:
            data, kind = _inflate(data, rng)
        else:
            for _ in range(rng.randint(1, 2)):
                i = rng.randrange(len(data))
                if rng.random() < 0.5:
                    del data[i]
                else:
                    char = rng.choice(alphabet)
                    data[i:i] = char
                    kind = "odd character" if char in ODD_CHARACTERS else kind
        path.write_bytes(bytes(data))
        valid = _lxml_accepts(bytes(data))
        outcome = f"{kind} {'valid' if valid else 'invalid'}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if not valid:
            with pytest.raises(ValueError):
                read_xes_frame(path)
            continue
        numpy_frame, lxml_frame = _both_paths(path)
        assert_frame_equal(read_xes_frame(path), lxml_frame)
        if numpy_frame is not None:
            assert_frame_equal(numpy_frame, lxml_frame)
    # every kind of damage was seen both read and refused
    assert outcomes["small valid"] > 20 and outcomes["small invalid"] > 100, outcomes
    for kind in ("odd character", "deep", "huge"):
        assert outcomes.get(f"{kind} valid", 0) and outcomes.get(f"{kind} invalid", 0), outcomes


# -----------------------------------------------------------------------------------------
# writing and round trips
# -----------------------------------------------------------------------------------------
HOSTILE = ["<script>alert(1)</script>", 'a"];x->y[', "R&D", "&amp; stays &amp;", "Démo 🎥 日本 ключ",
           "tab\tnew\nline", "quote ' and \"", "a > b", "]]>", "-->"]


def _hostile_frame() -> pl.DataFrame:
    n = len(HOSTILE)
    cases = ["<script>alert(1)</script>", "<script>alert(1)</script>", 'case "2" & co', 'case "2" & co',
             "日本", "日本", "c7", "c7", "c8", "c9"]
    return pl.DataFrame({
        "case:concept:name": cases,
        "concept:name": HOSTILE,
        "time:timestamp": pl.datetime_range(
            dt.datetime(2024, 3, 31, 0, 59, 59, 999000), dt.datetime(2024, 3, 31, 1, 0, 9, 999000), "1s",
            time_unit="us", time_zone="UTC", eager=True,
        )[:n],
        "org:resource": ["Ann", None, "Bob & Co <x>", None, "Ann", "Ann", None, "Bob", "Bob", None],
        "n": pl.Series([1, None, -3, 4, 5, 6, 7, 8, 2**40, None], dtype=pl.Int64),
        "amount": [0.1, 2.5, None, -1e-7, 1e20, float("inf"), 3.0, 4.25, 5.0, None],
        "ok": [True, False, None, True, True, False, None, True, False, True],
        'odd key <&"': ["v1", None, None, None, None, None, None, None, None, "v10"],
        "case:segment": ["SMB <b>", "SMB <b>", None, "Mid & Large", "日本", "日本", None, None, "x", None],
        "case:score": pl.Series([None, 1, 2, 2, 3, 3, None, None, 4, 5], dtype=pl.Int64),
    })


def _hostile_xes(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.xes"
    write_xes_frame(_hostile_frame(), path)
    return path


def _expected_after_round_trip(frame: pl.DataFrame) -> pl.DataFrame:
    """Trace attributes are written once per case, from its first non-null value."""
    case = "case:concept:name"
    return frame.with_columns(
        [pl.col(c).drop_nulls().first().over(case) for c in frame.columns if c.startswith("case:") and c != case]
    )


@pytest.mark.parametrize("name", ["out.xes", "out.xes.gz"])
def test_round_trip_through_our_reader(tmp_path: Path, name: str) -> None:
    frame = _hostile_frame()
    path = tmp_path / name
    write_xes_frame(frame, path)
    back = _read_checked(path)
    assert sorted(back.columns) == sorted(frame.columns)
    assert_frame_equal(back.select(frame.columns), _expected_after_round_trip(frame))
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw
    root = etree.fromstring(raw)  # well-formed XML that lxml accepts
    assert etree.QName(root).localname == "log" and len(root.findall("{*}trace")) == 6


def test_gzip_output_is_the_same_bytes_each_time(tmp_path: Path) -> None:
    """write_xes to .xes.gz: no time and no (temporary) file name in the gzip header, so
    the same log gives the same bytes, in any run and under any name."""
    import journeymine as jm

    log = jm.datasets.demo_b2b(n_accounts=20, random_state=0)
    first, second = tmp_path / "a.xes.gz", tmp_path / "b.xes.gz"
    jm.write_xes(log, first)
    jm.write_xes(log, second)
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert data[3] & 0x08 == 0  # FLG.FNAME unset: no name stored
    assert int.from_bytes(data[4:8], "little") == 0  # MTIME
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xes.gz", "b.xes.gz"]
    assert jm.read_xes(first).n_events == log.n_events


def test_round_trip_through_pm4py(tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    frame = _hostile_frame()
    for name in ("out.xes", "out.xes.gz"):
        path = tmp_path / name
        write_xes_frame(frame, path)
        theirs = pm4py.read_xes(str(path))
        expected = _expected_after_round_trip(frame)
        assert sorted(theirs.columns) == sorted(frame.columns)
        assert len(theirs) == frame.height
        for col in frame.columns:
            assert _plain(theirs[col].tolist()) == _plain(expected.get_column(col).to_list()), (name, col)


def _plain(values: list[Any]) -> list[Any]:
    """Values comparable across pandas and polars: NaN and NaT as None, timestamps in UTC."""
    out: list[Any] = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v) or str(v) == "NaT":
            out.append(None)
        elif hasattr(v, "to_pydatetime"):
            out.append(v.to_pydatetime().astimezone(UTC))
        elif isinstance(v, dt.datetime):
            out.append(v.astimezone(UTC))
        elif isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
            out.append(int(v))  # pandas makes an int column with NaN a float column
        else:
            out.append(v)
    return out


def test_writer_types_and_escaping_in_the_file(tmp_path: Path) -> None:
    frame = pl.DataFrame({
        "case:concept:name": ["c1", "c1"],
        "concept:name": ["a", "b"],
        "time:timestamp": pl.Series([dt.datetime(2024, 1, 1, 10, 0, 0, 123456), dt.datetime(2024, 1, 1, 11)]),
        "local": pl.Series([dt.datetime(2024, 1, 1, 10), None]).dt.replace_time_zone("Europe/Amsterdam"),
        "day": [dt.date(2024, 2, 29), None],
        "i": pl.Series([1, 2], dtype=pl.Int8),
        "f": pl.Series([0.5, None], dtype=pl.Float32),
        "b": [True, False],
        "cat": pl.Series(["x", "y"], dtype=pl.Categorical),
        "tags": [["p", "q"], None],
        "wait": [dt.timedelta(hours=1), dt.timedelta(0)],
        "ctrl": ["bell\x07here", None],
        "case:vip": [None, True],
    })
    path = tmp_path / "types.xes"
    write_xes_frame(frame, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0" '
                           'xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">')
    for ext in ("concept", "time", "lifecycle", "org"):
        assert f'prefix="{ext}" uri="http://www.xes-standard.org/{ext}.xesext"' in text
    expected = [
        '<trace><string key="concept:name" value="c1"/><boolean key="vip" value="true"/>',
        # sub-millisecond values in the column: microseconds, else milliseconds
        '<date key="time:timestamp" value="2024-01-01T10:00:00.123456+00:00"/>',
        '<date key="time:timestamp" value="2024-01-01T11:00:00.000000+00:00"/>',
        '<date key="local" value="2024-01-01T09:00:00.000+00:00"/>',
        '<date key="day" value="2024-02-29T00:00:00.000+00:00"/>',
        '<int key="i" value="1"/>', '<float key="f" value="0.5"/>', '<boolean key="b" value="false"/>',
        '<string key="cat" value="y"/>', "<string key=\"tags\" value=\"['p', 'q']\"/>",
        '<string key="wait" value="1:00:00"/>', '<string key="ctrl" value="bell\ufffdhere"/>',
    ]
    for piece in expected:
        assert piece in text, piece
    assert text.count("<trace>") == 1 and text.count("<event>") == 2
    back = read_xes_frame(path)
    assert back.schema["i"] == pl.Int64 and back.schema["f"] == pl.Float64 and back.schema["day"] == pl.Datetime("us", "UTC")
    assert back.get_column("time:timestamp").to_list()[0] == dt.datetime(2024, 1, 1, 10, 0, 0, 123456, tzinfo=UTC)


def test_writer_groups_cases_by_first_appearance(tmp_path: Path) -> None:
    frame = pl.DataFrame({
        "case:concept:name": ["b", "a", "b", "c", "a"],
        "concept:name": ["1", "2", "3", "4", "5"],
        "case:segment": [None, "A", "B", "C", None],
    })
    path = tmp_path / "grouped.xes"
    write_xes_frame(frame, path)
    back = read_xes_frame(path)
    assert back.get_column("case:concept:name").to_list() == ["b", "b", "a", "a", "c"]
    assert back.get_column("concept:name").to_list() == ["1", "3", "2", "5", "4"]
    assert back.get_column("case:segment").to_list() == ["B", "B", "A", "A", "C"]


def test_writer_slices_give_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _hostile_frame()
    whole, sliced = tmp_path / "whole.xes", tmp_path / "sliced.xes"
    write_xes_frame(frame, whole)
    monkeypatch.setattr(_xes, "_WRITE_SLICE", 3)
    write_xes_frame(frame, sliced)
    assert whole.read_bytes() == sliced.read_bytes()


def test_writer_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="case:concept:name"):
        write_xes_frame(pl.DataFrame({"concept:name": ["a"]}), tmp_path / "x.xes")
    with pytest.raises(ValueError, match="1 events have a null 'case:concept:name'"):
        write_xes_frame(pl.DataFrame({"case:concept:name": ["c", None]}), tmp_path / "x.xes")
    empty = tmp_path / "empty.xes"
    write_xes_frame(pl.DataFrame({"case:concept:name": pl.Series([], dtype=pl.String)}), empty)
    assert read_xes_frame(empty).shape == (0, 0)


# -----------------------------------------------------------------------------------------
# the real logs, as pm4py reads them
# -----------------------------------------------------------------------------------------
REAL = {
    "running_example.xes.gz": (6, 42),
    "receipt.xes.gz": (1_434, 8_577),
    "bpic2012.xes.gz": (13_087, 262_200),
}


@pytest.mark.realdata
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n.startswith("bpic") else n for n in REAL],
)
def test_real_logs_read_as_pm4py_reads_them(shared_data: Path, name: str) -> None:
    pm4py = pytest.importorskip("pm4py")
    path = shared_data / name
    ours = _read_checked(path)
    n_cases, n_events = REAL[name]
    assert ours.height == n_events
    assert ours.get_column("case:concept:name").n_unique() == n_cases
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = pm4py.read_xes(str(path))
    assert len(theirs) == n_events
    assert list(theirs.columns) == ours.columns  # the same columns, in the same order
    key = ["case:concept:name", "concept:name", "time:timestamp"]
    for col in key:
        assert _plain(theirs[col].tolist()) == _plain(ours.get_column(col).to_list()), col
    for col in ours.columns:  # every other attribute too (all text or dates in these logs)
        assert _plain(theirs[col].tolist()) == _plain(ours.get_column(col).to_list()), col
