"""Hostile and damaged files: decompression bombs, forged and cut gzip streams, external
entities, and files that only one of the XES reader's two paths would accept.

Every case ends in a journeymine error that names the file and says what to do, never a
raw ``MemoryError``, ``EOFError``, ``zlib.error`` or polars error; bombs are made here,
small, and read with a small ``max_bytes``.
"""

from __future__ import annotations

import gzip
import re
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

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
