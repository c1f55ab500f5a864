"""Hostile and damaged files: decompression bombs, forged and cut gzip streams, external
entities, and files that only one of the XES reader's two paths would accept.

Every case ends in a journeymine error that names the file and says what to do, never a
raw ``MemoryError``, ``EOFError``, ``zlib.error`` or polars error; bombs are made here,
small, and read with a small ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import socket
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

import journeymine as jm
from journeymine import _decompress, _xes

OPTS = dict(case="case", activity="activity", timestamp="at")
CSV = b"case,activity,at\n" + b"".join(b"c%d,a%d,2024-01-%02d\n" % (i, i % 7, 1 + i % 28) for i in range(2_000))


def _xes_text(n_traces: int = 200) -> bytes:
    traces = "".join(
        f'<trace><string key="concept:name" value="c{t}"/>'
        f'<event><string key="concept:name" value="a{t % 5}"/>'
        f'<date key="time:timestamp" value="2024-01-{1 + t % 28:02d}T10:00:00Z"/></event></trace>\n'
        for t in range(n_traces)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n{traces}</log>\n'.encode()


XES = _xes_text()


def _zstd(data: bytes) -> bytes:
    return bytes(pa.Codec("zstd").compress(data, asbytes=True))


# -----------------------------------------------------------------------------------------
# decompression bombs and the memory limit
# -----------------------------------------------------------------------------------------
BOMB = 8_000_000  # bytes of text in each bomb; the limit in the tests is 1 MB


def _bomb_xes(tmp_path: Path) -> Path:
    path = tmp_path / "bomb.xes.gz"
    path.write_bytes(gzip.compress(b"<" * BOMB, compresslevel=9))
    return path


def test_an_xes_bomb_stops_at_the_limit_with_advice(tmp_path: Path) -> None:
    path = _bomb_xes(tmp_path)
    with pytest.raises(jm.FileFormatError) as info:
        jm.read_xes(path, max_bytes=1_000_000)
    message = str(info.value)
    assert str(path) in message
    assert "expands to more than 1.0 MB (1,000,000 bytes) of text when decompressed" in message
    assert "decompression bomb" in message and "max_bytes=" in message and "Parquet" in message
    assert "JOURNEYMINE_MAX_BYTES" in message


@pytest.mark.parametrize(
    ("name", "pack"),
    [("events.csv.gz", gzip.compress), ("events.csv.zlib", zlib.compress), ("events.csv.zst", _zstd)],
)
def test_a_csv_bomb_stops_at_the_limit_whatever_its_compression(
    tmp_path: Path, name: str, pack: Callable[[bytes], bytes]
) -> None:
    """polars would decompress all three itself, without a bound."""
    path = tmp_path / name
    path.write_bytes(pack(CSV + b"c,a,2024-01-01\n" * (BOMB // 15)))
    with pytest.raises(jm.FileFormatError, match=r"expands to more than 1\.0 MB .* read_csv holds the whole text"):
        jm.read_csv(path, **OPTS, max_bytes=1_000_000)
    path.write_bytes(pack(CSV))  # the same compression below the limit reads
    assert jm.read_csv(path, **OPTS, max_bytes=1_000_000).n_events == 2_000


def test_a_csv_in_another_encoding_is_bounded_too(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(CSV.replace(b"a1,", "\u00e91,".encode("latin-1")))
    assert jm.read_csv(path, **OPTS, encoding="latin-1").n_events == 2_000
    with pytest.raises(jm.FileFormatError, match=r"is [0-9.]+ kB .* of text\. read_csv holds .* or convert it to Parquet"):
        jm.read_csv(path, **OPTS, encoding="latin-1", max_bytes=10_000)


def test_the_bomb_is_never_held_in_memory(tmp_path: Path) -> None:
    path = _bomb_xes(tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(jm.FileFormatError):
            _xes._read_buffer(path, str(path), 1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000  # the limit, one step of text and the compressed input


def test_a_forged_gzip_trailer_is_not_believed(tmp_path: Path) -> None:
    """The trailer claims 4 GiB: the buffer is sized from the file, not from the claim,
    and the lie is a corrupt file."""
    packed = gzip.compress(XES)
    path = tmp_path / "forged.xes.gz"
    path.write_bytes(packed[:-4] + (2**32 - 1).to_bytes(4, "little"))
    tracemalloc.start()
    try:
        with pytest.raises(jm.FileFormatError, match="corrupt gzip file: the length in its trailer does not match"):
            jm.read_xes(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * len(packed) + 4_000_000


def test_a_plain_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.xes"
    path.write_bytes(XES)
    with pytest.raises(jm.FileFormatError, match=rf"{re.escape(str(path))}' is .* of text\. read_xes holds"):
        jm.read_xes(path, max_bytes=len(XES) - 1)
    assert jm.read_xes(path, max_bytes=len(XES)).n_events == 200


def test_the_limit_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bomb_xes(tmp_path)
    monkeypatch.setenv(_decompress.ENV_VAR, "1M")
    with pytest.raises(jm.FileFormatError, match=r"more than 1\.0 MB \(1,048,576 bytes\)"):
        jm.read_xes(path)
    with pytest.raises(jm.FileFormatError, match=r"more than 2\.0 MB"):  # the keyword wins
        jm.read_xes(path, max_bytes=2_000_000)
    for text, limit in [("1048576", 1 << 20), ("8G", 8 << 30), ("8 GiB", 8 << 30), ("512k", 512 << 10), ("1_000", 1000)]:
        monkeypatch.setenv(_decompress.ENV_VAR, text)
        assert _decompress.resolve_max_bytes(None, "read_xes") == limit
    monkeypatch.setenv(_decompress.ENV_VAR, "lots")
    with pytest.raises(jm.InvalidParameterError, match="JOURNEYMINE_MAX_BYTES must be a number of bytes"):
        jm.read_xes(path)
    monkeypatch.delenv(_decompress.ENV_VAR)
    assert _decompress.resolve_max_bytes(None, "read_xes") == _decompress.default_max_bytes()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "1G", True])
def test_max_bytes_must_be_a_positive_int(tmp_path: Path, bad: object) -> None:
    path = tmp_path / "log.xes"
    path.write_bytes(XES)
    with pytest.raises(jm.InvalidParameterError, match=r"The 'max_bytes' parameter of read_xes must be an int >= 1"):
        jm.read_xes(path, max_bytes=bad)  # type: ignore[arg-type]
    with pytest.raises(jm.InvalidParameterError, match=r"The 'max_bytes' parameter of read_csv must be an int >= 1"):
        jm.read_csv(path, **OPTS, max_bytes=bad)  # type: ignore[arg-type]


def test_the_default_limit_is_a_quarter_of_the_memory() -> None:
    import os

    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 1 << 20 <= _decompress.default_max_bytes() <= memory // 4


def test_running_out_of_memory_is_a_file_format_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log.xes.gz"
    path.write_bytes(gzip.compress(XES))

    def no_memory(self: object, capacity: int) -> None:
        raise MemoryError

    monkeypatch.setattr(_decompress._Reader, "reserve", no_memory)
    with pytest.raises(jm.FileFormatError, match="memory ran out after reading 0 bytes of its text"):
        jm.read_xes(path)


def test_gzip_members_and_zero_padding_are_read_as_gzip_reads_them(tmp_path: Path) -> None:
    half = len(XES) // 2
    path = tmp_path / "members.xes.gz"
    path.write_bytes(gzip.compress(XES[:half]) + b"\0" * 7 + gzip.compress(XES[half:]) + b"\0" * 3)
    buf, n = _xes._read_buffer(path, str(path))
    assert bytes(buf[:n]) == gzip.decompress(path.read_bytes()) == XES
    assert bytes(buf[n:]) == bytes(_xes._PAD)


# -----------------------------------------------------------------------------------------
# truncated and corrupt compressed files
# -----------------------------------------------------------------------------------------
def _damaged(data: bytes) -> dict[str, tuple[bytes, str]]:
    packed = gzip.compress(data)
    bad_crc = bytearray(packed)
    bad_crc[-8] ^= 0xFF
    bad_block = bytearray(packed)
    bad_block[12:20] = b"\xff" * 8
    return {
        "cut in half": (packed[: len(packed) // 2], "is a truncated gzip file: the compressed stream stops before its end"),
        "cut in the trailer": (packed[:-3], "is a truncated gzip file"),
        "header only": (packed[:10], "is a truncated gzip file"),
        "bad checksum": (bytes(bad_crc), "is a corrupt gzip file: the checksum in its trailer does not match its data"),
        "bad block": (bytes(bad_block), "is a corrupt gzip file: Error -3 while decompressing data"),
        "junk after the end": (packed + b"junk", "is a corrupt gzip file: other data follows the end of the gzip stream"),
    }


@pytest.mark.parametrize("damage", list(_damaged(b"x")))
def test_a_damaged_xes_gz_names_the_file_and_the_damage(tmp_path: Path, damage: str) -> None:
    data, message = _damaged(XES)[damage]
    path = tmp_path / "log.xes.gz"
    path.write_bytes(data)
    with pytest.raises(jm.FileFormatError, match=re.escape(message)) as info:
        jm.read_xes(path)
    assert str(path) in str(info.value)
    assert "again" in str(info.value)


@pytest.mark.parametrize("damage", list(_damaged(b"x")))
@pytest.mark.parametrize("encoding", ["utf8", "latin-1"])
def test_a_damaged_csv_gz_names_the_file_and_the_damage(tmp_path: Path, damage: str, encoding: str) -> None:
    """polars alone reads a cut gzip file as a shorter one, without a word."""
    data, message = _damaged(CSV)[damage]
    path = tmp_path / "events.csv.gz"
    path.write_bytes(data)
    with pytest.raises(jm.FileFormatError, match=re.escape(message)) as info:
        jm.read_csv(path, **OPTS, encoding=encoding)
    assert str(path) in str(info.value)


def test_a_cut_zstd_or_zlib_csv_is_truncated(tmp_path: Path) -> None:
    for name, packed in [("events.csv.zst", _zstd(CSV)), ("events.csv.zlib", zlib.compress(CSV))]:
        path = tmp_path / name
        path.write_bytes(packed[: len(packed) // 2])
        with pytest.raises(jm.FileFormatError, match=rf"{re.escape(str(path))}' is a truncated z"):
            jm.read_csv(path, **OPTS)


# -----------------------------------------------------------------------------------------
# entities: nothing outside the file is read, nothing is fetched
# -----------------------------------------------------------------------------------------
SECRET = b"SECRET-7f3a9c"
EVENT = '<date key="time:timestamp" value="2024-01-01T00:00:00Z"/>'


def _entity_xes(doctype: str, value: str = "&x;", content: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE log [\n{doctype}\n]>\n<log>'
        f'<trace><string key="concept:name" value="c"/><event>{content}'
        f'<string key="concept:name" value="{value}"/>{EVENT}</event></trace></log>\n'
    ).encode()


@contextlib.contextmanager
def _tripwire(tmp_path: Path) -> Iterator[tuple[Path, threading.Event]]:
    """A named pipe that records whether anything opened it to read (and hands SECRET to
    whatever did): proof that the parser never opened the file, not only that its text
    did not show up."""
    path = tmp_path / "secret.txt"
    os.mkfifo(path)
    opened, stop = threading.Event(), threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # fails until a reader opens it
            except OSError:
                stop.wait(0.005)
                continue
            opened.set()
            try:
                os.write(fd, SECRET)
            finally:
                os.close(fd)
            return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path, opened
    finally:
        stop.set()
        thread.join(5)


@contextlib.contextmanager
def _listener() -> Iterator[tuple[int, Callable[[], bool]]]:
    """A TCP port on the loopback and a check of whether anything connected to it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)

        def touched() -> bool:
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                return False
            conn.close()
            return True

        yield sock.getsockname()[1], touched


def _read_both_ways(path: Path) -> list[str]:
    """Read with read_xes_frame and read_xes: the texts of every cell of what was read,
    and of every error raised (each must be a FileFormatError or a ValueError)."""
    texts = []
    try:
        frame = _xes.read_xes_frame(path)
        texts += [str(v) for col in frame.iter_columns() for v in col.to_list()] + frame.columns
    except ValueError as exc:
        texts.append(str(exc))
    try:
        log = jm.read_xes(path)
        texts += [str(v) for v in log.events.astype(str).to_numpy().ravel()]
    except (jm.FileFormatError, jm.SchemaError) as exc:
        texts.append(str(exc))
    return texts


def _no_leak(texts: list[str]) -> None:
    leaked = [t for t in texts if SECRET.decode() in t]
    assert not leaked, leaked
    hostname = Path("/etc/hostname")
    if hostname.is_file() and len(hostname.read_text().strip()) >= 6:  # long enough not to occur by chance
        assert not [t for t in texts if hostname.read_text().strip() in t]


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


@needs_fifo
def test_an_external_entity_in_a_value_is_refused_unread(tmp_path: Path) -> None:
    with _tripwire(tmp_path) as (secret, opened):
        path = tmp_path / "classic.xes"
        path.write_bytes(_entity_xes(f'<!ENTITY x SYSTEM "file://{secret}">'))
        with pytest.raises(jm.FileFormatError, match="Attribute references external entity 'x'") as info:
            jm.read_xes(path)
        _no_leak([*_read_both_ways(path), str(info.value)])
    assert not opened.is_set()


def test_an_external_entity_on_etc_hostname_is_never_read(tmp_path: Path) -> None:
    path = tmp_path / "hostname.xes"
    path.write_bytes(_entity_xes('<!ENTITY x SYSTEM "file:///etc/hostname">'))
    with pytest.raises(jm.FileFormatError, match=rf"{re.escape(str(path))}.*external entity 'x'"):
        jm.read_xes(path)
    # in element content the reference stays an unexpanded node, which XES ignores
    path.write_bytes(_entity_xes('<!ENTITY x SYSTEM "file:///etc/hostname">', value="a", content="&x;"))
    texts = _read_both_ways(path)
    _no_leak(texts)
    assert jm.read_xes(path).events["activity"].tolist() == ["a"]


@needs_fifo
def test_a_parameter_entity_dtd_is_never_loaded(tmp_path: Path) -> None:
    """The attack that works on lxml 5.x-6.0.x's iterparse defaults: an external DTD,
    pulled in by a parameter entity, declares x from a local file."""
    with _tripwire(tmp_path) as (secret, opened):
        evil = tmp_path / "evil.dtd"
        evil.write_text(f'<!ENTITY % q SYSTEM "file://{secret}"><!ENTITY % w "<!ENTITY x \'%q;\'>">%w;')
        path = tmp_path / "param.xes"
        path.write_bytes(_entity_xes(f'<!ENTITY % p SYSTEM "file://{evil}">%p;'))
        with pytest.raises(jm.FileFormatError, match=r"Entity 'x' not defined .*never loads .*remove the DOCTYPE"):
            jm.read_xes(path)
        _no_leak(_read_both_ways(path))
        # the same, inline: a parameter entity read into an entity declaration
        path.write_bytes(_entity_xes(
            f'<!ENTITY % p SYSTEM "file://{secret}"><!ENTITY % w "<!ENTITY x \'%p;\'>">%w;'
        ))
        with pytest.raises(jm.FileFormatError, match="PEReferences forbidden in internal subset"):
            jm.read_xes(path)
        _no_leak(_read_both_ways(path))
    assert not opened.is_set()


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    levels = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    path = tmp_path / "laughs.xes"
    path.write_bytes(_entity_xes("".join(levels), value="&l9;"))
    with pytest.raises(jm.FileFormatError, match="amplification"):
        jm.read_xes(path)


def test_network_entities_and_dtds_are_never_fetched(tmp_path: Path) -> None:
    with _listener() as (port, touched):
        url = f"http://127.0.0.1:{port}"
        path = tmp_path / "net.xes"
        path.write_bytes(_entity_xes(f'<!ENTITY % p SYSTEM "{url}/evil.dtd">%p;'))
        with pytest.raises(jm.FileFormatError, match="Entity 'x' not defined"):
            jm.read_xes(path)
        path.write_bytes(_entity_xes(f'<!ENTITY x SYSTEM "{url}/x">'))
        with pytest.raises(jm.FileFormatError, match="external entity 'x'"):
            jm.read_xes(path)
        # an external DTD by SYSTEM id is not loaded: the file reads without it, and an
        # entity it would declare is refused
        external = f' SYSTEM "{url}/log.dtd">'.encode()
        path.write_bytes(_entity_xes("", value="a").replace(b" [\n\n]>", external, 1))
        assert jm.read_xes(path).events["activity"].tolist() == ["a"]
        path.write_bytes(_entity_xes("").replace(b" [\n\n]>", external, 1))
        with pytest.raises(jm.FileFormatError, match="Entity 'x' not defined"):
            jm.read_xes(path)
        assert not touched()
    # the address in the issue: the discard port, where nothing listens
    path.write_bytes(_entity_xes('<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd">%p;'))
    with pytest.raises(jm.FileFormatError, match="Entity 'x' not defined"):
        jm.read_xes(path)


def test_internal_entities_are_expanded_as_xml_requires(tmp_path: Path) -> None:
    path = tmp_path / "internal.xes"
    path.write_bytes(_entity_xes('<!ENTITY x "Demo &amp; call">'))
    frame = _xes.read_xes_frame(path)
    assert frame.get_column("concept:name").to_list() == ["Demo & call"]
    assert frame.schema["time:timestamp"] == pl.Datetime("us", "UTC")


def test_every_xml_parser_is_built_safe() -> None:
    assert _xes._SAFE_XML == dict(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


# -----------------------------------------------------------------------------------------
# one answer from both XES paths
# -----------------------------------------------------------------------------------------
def _xes_with(event: bytes, *, comment: bool) -> bytes:
    """A log whose second trace holds ``event``; with ``comment``, a comment after the
    first trace sends the file to the lxml path."""
    first = b'<trace><string key="concept:name" value="c0"/><event><string key="concept:name" value="a"/></event></trace>'
    note = b"<!-- unrelated -->" if comment else b""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n' + first + note
        + b'\n<trace><string key="concept:name" value="c1"/>' + event + b"</trace>\n</log>\n"
    )


def _event(*attributes: bytes) -> bytes:
    return b"<event>" + b"".join(attributes) + b"</event>"


def _nested(levels: int, leaf: bytes = b"") -> bytes:
    """Attributes nested inside an event: the innermost at depth 3 + ``levels`` (+1 for ``leaf``)."""
    return _event(b'<string key="d" value="v">' * levels + leaf + b"</string>" * levels)


REFUSED = {
    "control character in a value": _event(b'<string key="concept:name" value="a\x01b"/>'),
    "NUL in a value": _event(b'<string key="concept:name" value="a\x00b"/>'),
    "control character in a key": _event(b'<string key="k\x1f" value="v"/>'),
    "U+FFFE in a value": _event('<string key="concept:name" value="a\ufffe"/>'.encode()),
    "U+FFFF in a trace attribute": '<string key="segment" value="\uffff"/>'.encode() + _event(),
    "control character in a nested attribute": _event(b'<string key="a" value="b"><int key="n" value="\x0c"/></string>'),
    "control character in another XML attribute": _event(b'<string key="a" value="b" note="\x0b"/>'),
    "nesting past 256 levels": _nested(254),
    "an empty element at level 257": _nested(253, b'<int key="leaf" value="1"/>'),
    "a 12 MB attribute": _event(b'<string key="concept:name" value="' + b"x" * 12_000_000 + b'"/>'),
    "10 MB of whitespace between tags": _event(b'<string key="a" value="b"/>' + b" " * 10_000_001),
    "an attribute name of 50,001 bytes": _event(b'<string key="a" value="b" ' + b"n" * 50_001 + b'="x"/>'),
    "xmlns that is not a URI": _event(b'<string xmlns="not a uri" key="a" value="b"/>'),
}
READ = {
    "nesting 256 levels deep": _nested(252, b'<int key="leaf" value="1"/>'),
    "DEL, NEL and U+FDD0 in a value": _event('<string key="concept:name" value="a\x7f\x85\ufdd0"/>'.encode()),
    "tab, line feed and carriage return in a value": _event(b'<string key="concept:name" value="a\tb\nc\r\nd"/>'),
    "a 7.9 MB attribute": _event(b'<string key="concept:name" value="' + b"x" * 7_900_000 + b'"/>'),
    "an attribute name of 50,000 bytes": _event(b'<string key="a" value="b" ' + b"n" * 50_000 + b'="x"/>'),
    "an empty default namespace": _event(b'<string xmlns="" key="a" value="b"/>'),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_lxml_refuses_both_paths_refuse(tmp_path: Path, case: str) -> None:
    for comment in (False, True):
        path = tmp_path / f"log-{comment}.xes"
        path.write_bytes(_xes_with(REFUSED[case], comment=comment))
        buf, n = _xes._read_buffer(path, str(path))
        if not comment:
            assert _xes._scan(buf, n) is None, "the numpy path must decline"
        with pytest.raises(ValueError, match="not an XES file: invalid XML"):
            _xes._stream(memoryview(buf)[:n], str(path))
        with pytest.raises(jm.FileFormatError, match=rf"{re.escape(str(path))}': not an XES file: invalid XML: .*line \d+"):
            jm.read_xes(path)


@pytest.mark.parametrize("case", list(READ))
def test_what_lxml_reads_both_paths_read_alike(tmp_path: Path, case: str) -> None:
    frames = []
    for comment in (False, True):
        path = tmp_path / f"log-{comment}.xes"
        path.write_bytes(_xes_with(READ[case], comment=comment))
        buf, n = _xes._read_buffer(path, str(path))
        expected = _xes._assemble(_xes._stream(memoryview(buf)[:n], str(path)))
        fast = _xes._scan(buf, n)
        if fast is not None:
            assert_frame_equal(_xes._assemble(fast), expected)
        assert_frame_equal(_xes.read_xes_frame(path), expected)
        frames.append(expected)
    assert_frame_equal(frames[0], frames[1])
    assert frames[0].height == 2


def test_a_header_near_the_buffer_limit_is_left_to_lxml(tmp_path: Path) -> None:
    """lxml checks the header before the first trace in one piece (not through
    iterparse's buffer): a log-level attribute of 9,999,900 bytes passes there but not
    in iterparse."""
    path = tmp_path / "head.xes"
    first = b'<trace><string key="concept:name" value="c"/><event><string key="concept:name" value="a"/></event></trace>'
    path.write_bytes(b'<log><string key="meta" value="' + b"m" * 9_999_900 + b'"/>' + first + b"</log>")
    buf, n = _xes._read_buffer(path, str(path))
    assert _xes._scan(buf, n) is None
    with pytest.raises(jm.FileFormatError, match="Buffer size limit exceeded"):
        jm.read_xes(path)


def test_the_numpy_path_still_reads_what_it_can(tmp_path: Path) -> None:
    """Declining is for what comes near a limit: these stay on the fast path."""
    for case in ("nesting 256 levels deep", "DEL, NEL and U+FDD0 in a value", "a 7.9 MB attribute",
                 "tab, line feed and carriage return in a value", "an attribute name of 50,000 bytes"):
        path = tmp_path / "log.xes"
        path.write_bytes(_xes_with(READ[case], comment=False))
        buf, n = _xes._read_buffer(path, str(path))
        assert _xes._scan(buf, n) is not None, case


@needs_fifo
def test_drawings_are_saved_atomically_and_never_onto_a_pipe_or_the_input(tmp_path: Path) -> None:
    """Every ``save`` goes through the safe write: a named pipe (which a plain open would
    block on), a folder or the log's own file is refused, and no temporary file is left."""
    log = jm.datasets.demo_b2b(n_accounts=40, random_state=0)
    jmap = jm.journey_map(log)
    savers = {
        "JourneyMap.save": jmap.save,
        "Drawing.save": jmap.draw().save,
        "SubwayMap.save": jm.subway_map(log, top=2).save,
    }
    if _has_module("pm4py"):
        savers["ProcessModel.save"] = jm.discover_process_model(log).save
    for owner, save in savers.items():
        folder = tmp_path / owner
        folder.mkdir()
        pipe = folder / "pipe.svg"
        os.mkfifo(pipe)
        with pytest.raises(jm.InvalidParameterError, match=rf"{re.escape(owner)}: .*not a regular file"):
            save(pipe)
        (folder / "dir.svg").mkdir()
        with pytest.raises(jm.InvalidParameterError, match="is a folder"):
            save(folder / "dir.svg")
        out = save(folder / "map.svg")
        assert out.read_text(encoding="utf-8").lstrip().startswith(("<svg", "<?xml"))
        assert sorted(p.name for p in folder.iterdir()) == ["dir.svg", "map.svg", "pipe.svg"]
    # a map knows its log: an input file named like a drawing is refused
    source = tmp_path / "events.dot"
    jm.write_csv(log, source)
    from_file = jm.read_csv(source, case="case:concept:name", activity="concept:name", timestamp="time:timestamp")
    before = source.read_bytes()
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        jm.journey_map(from_file).save(source)
    assert source.read_bytes() == before


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
