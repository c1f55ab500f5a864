"""The XES parser: its vectorised fast path and its streaming path agree, and both
handle types, time zones, escaping and bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from journeymine._xes import _fast_frame, _stream_frame, read_xes_frame, write_xes_frame

XES = """<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand -->
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <float key="meta" value="1.0"><float key="nested-in-header" value="2.0"/></float>
  <trace>
    <string key="concept:name" value="c1"/>
    <boolean key="vip" value="true"/>
    <event>
      <string key="concept:name" value="R&amp;D &lt;b&gt; &quot;x&quot;"/>
      <date key="time:timestamp" value="2024-01-01T10:00:00.000+02:00"/>
      <int key="n" value="3"/>
      <float key="amount" value="2.5"/>
    </event>
    <event>
      <string key="concept:name" value="Démo 🎥"/>
      <date key="time:timestamp" value="2024-01-02T00:00:00Z"/>
      <string key="n" value="three"/>
    </event>
  </trace>
  <trace><string key="concept:name" value="empty"/></trace>
  <trace>
    <string key="concept:name" value="c2"/>
    <event><string key="concept:name" value="a"/><date key="time:timestamp" value="2024-01-03T00:00:00.123-05:00"/></event>
  </trace>
</log>
"""


def _both(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    text = path.read_bytes()
    if text[:2] == b"\x1f\x8b":
        text = gzip.decompress(text)
    fast = _fast_frame(text.decode())
    assert fast is not None, "the fast path should handle this file"
    return fast, _stream_frame(path)


def test_types_zones_entities_and_empty_traces(tmp_path: Path) -> None:
    path = tmp_path / "x.xes"
    path.write_text(XES, encoding="utf-8")
    for frame in _both(path):
        assert frame.columns[:3] == ["case:concept:name", "concept:name", "time:timestamp"]
        assert frame.get_column("case:concept:name").to_list() == ["c1", "c1", "c2"]  # empty trace: no rows
        assert frame.get_column("concept:name").to_list() == ['R&D <b> "x"', "Démo 🎥", "a"]
        ts = frame.get_column("time:timestamp").dt.to_string("%Y-%m-%d %H:%M:%S%.3f").to_list()
        assert ts == ["2024-01-01 08:00:00.000", "2024-01-02 00:00:00.000", "2024-01-03 05:00:00.123"]
        assert frame.schema["time:timestamp"] == pl.Datetime("us", "UTC")
        assert frame.get_column("n").to_list() == ["3", "three", None]  # mixed types: text
        assert frame.schema["amount"] == pl.Float64
        assert frame.get_column("case:vip").to_list() == [True, True, None]


def test_fast_and_stream_paths_agree_on_real_logs(shared_data: Path) -> None:
    for name in ("running_example.xes.gz", "receipt.xes.gz", "bpic2012.xes.gz"):
        fast, stream = _both(shared_data / name)
        assert_frame_equal(fast.select(sorted(fast.columns)), stream.select(sorted(stream.columns)))


def test_unsupported_structures_fall_back_to_streaming(tmp_path: Path) -> None:
    nested = XES.replace('<int key="n" value="3"/>', '<int key="n" value="3"><string key="unit" value="pcs"/></int>')
    assert _fast_frame(nested) is None
    path = tmp_path / "nested.xes"
    path.write_text(nested, encoding="utf-8")
    frame = read_xes_frame(path)
    assert frame.get_column("n").to_list() == ["3", "three", None]
    assert "unit" not in frame.columns  # nested attributes are skipped
    single_quotes = XES.replace("key=\"amount\" value=\"2.5\"", "key='amount' value='2.5'")
    assert _fast_frame(single_quotes) is None


def test_write_read_round_trip_with_hostile_strings(tmp_path: Path) -> None:
    frame = pl.DataFrame({
        "case:concept:name": ["<script>alert(1)</script>", "<script>alert(1)</script>", "b"],
        "concept:name": ['a"];x->y[', "tab\there & <there>", "日本"],
        "time:timestamp": pl.Series(["2024-01-01 10:00:00", "2024-01-01 11:00:00.5", "2024-01-02"]).str.to_datetime(
            time_unit="us", time_zone="UTC"),
        "n": [1, None, 3],
        "ok": [True, False, None],
        "case:segment": ["SMB", "SMB", None],
    })
    for name in ("out.xes", "out.xes.gz"):
        path = tmp_path / name
        write_xes_frame(frame, path)
        back = read_xes_frame(path)
        assert_frame_equal(back.select(frame.columns), frame)
    assert "<script>" not in (tmp_path / "out.xes").read_text()


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_xes_frame(tmp_path / "missing.xes")
    broken = tmp_path / "broken.xes"
    broken.write_text("<log><trace><event></trace></log>")
    with pytest.raises(ValueError, match="not valid XES/XML"):
        read_xes_frame(broken)
    other = tmp_path / "other.xml"
    other.write_text("<html><body/></html>")
    with pytest.raises(ValueError, match="no <log> element"):
        read_xes_frame(other)
    with pytest.raises(ValueError, match="case:concept:name"):
        write_xes_frame(pl.DataFrame({"a": [1]}), tmp_path / "x.xes")


def test_writer_slices_give_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from journeymine import _xes

    frame = pl.DataFrame({
        "case:concept:name": ["a", "b", "a", "c", "b"],
        "concept:name": ["x", "y", "z", "x", "x"],
        "case:segment": ["S", "T", "S", "S", "T"],
    })
    whole, sliced = tmp_path / "whole.xes", tmp_path / "sliced.xes"
    write_xes_frame(frame, whole)
    monkeypatch.setattr(_xes, "_WRITE_SLICE", 2)
    write_xes_frame(frame, sliced)
    assert whole.read_text() == sliced.read_text()
    back = read_xes_frame(sliced)
    assert back.get_column("case:concept:name").to_list() == ["a", "a", "b", "b", "c"]
    assert back.get_column("concept:name").to_list() == ["x", "z", "y", "x", "x"]
