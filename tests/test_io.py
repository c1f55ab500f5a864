"""Readers and writers: CSV, Parquet, XES, pm4py frames, and their errors."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import journeymine as jm

CSV = (
    "account_id,touchpoint,occurred_at,segment,amount\n"
    "NA,Webinar,2024-01-02 10:00,SMB,\n"
    "NA,Demo,2024-01-09 11:00,SMB,\n"
    "0001,Webinar,2024-01-03,Enterprise,\n"
    "0001,Contract signed,2024-03-01,Enterprise,12000.5\n"
    "null,Visit,2024-02-01,SMB,\n"
)
OPTS = dict(case="account_id", activity="touchpoint", timestamp="occurred_at")


def test_read_csv_keeps_id_like_values(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    log = jm.read_csv(path, **OPTS, value="amount", case_attributes=["segment"])
    assert log.cases["case"].tolist() == ["NA", "0001", "null"]
    assert log.source == str(path)
    assert log.events["value"].max() == 12000.5


def test_read_csv_gzip_and_separator(tmp_path: Path) -> None:
    path = tmp_path / "events.csv.gz"
    path.write_bytes(gzip.compress(CSV.replace(",", ";").encode()))
    assert jm.read_csv(path, **OPTS, sep=";").n_events == 5
    with pytest.raises(jm.SchemaError, match="separator is probably not ','"):
        jm.read_csv(path, **OPTS)


def test_read_csv_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No such file"):
        jm.read_csv(tmp_path / "missing.csv", **OPTS)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(jm.FileFormatError, match="is empty"):
        jm.read_csv(empty, **OPTS)
    header_only = tmp_path / "header.csv"
    header_only.write_text("account_id,touchpoint,occurred_at\n")
    with pytest.raises(jm.EmptyLogError, match="no rows"):
        jm.read_csv(header_only, **OPTS)
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    with pytest.raises(jm.SchemaError, match=r"Column 'ts' \(timestamp\) not found"):
        jm.read_csv(path, case="account_id", activity="touchpoint", timestamp="ts")


def test_read_parquet_selects_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pl.read_csv(CSV.encode(), schema_overrides={"account_id": pl.String}).write_parquet(path)
    log = jm.read_parquet(path, **OPTS, case_attributes=["segment"], event_attributes=[])
    assert log.n_events == 5
    assert log.event_attributes == ()
    with pytest.raises(FileNotFoundError):
        jm.read_parquet(tmp_path / "nope.parquet", **OPTS)
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(jm.FileFormatError, match="could not be read as Parquet"):
        jm.read_parquet(bad, **OPTS)


def _parquet(path: Path, columns: dict[str, list[object]], names: list[str] | None = None) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_arrays([pa.array(v) for v in columns.values()], names=names or list(columns))
    pq.write_table(table, path)
    return path


PARQUET_OPTS = dict(case="case", activity="activity", timestamp="at")
PART = {"case": ["c1", "c1"], "activity": ["a", "b"], "at": ["2024-01-01", "2024-01-02"]}


def test_read_parquet_duplicate_column_names(tmp_path: Path) -> None:
    """pyarrow writes them; polars alone stops with a DuplicateError."""
    path = _parquet(tmp_path / "dup.parquet", {**PART, "x": ["p", "q"]}, names=["case", "activity", "at", "activity"])
    for event_attributes in ("all", []):
        with pytest.raises(jm.SchemaError, match=(
            rf"'{path}' has column name 'activity' more than once \(its columns: 'case', 'activity', "
            r"'at', 'activity'\)\. .*Rename the duplicates")):
            jm.read_parquet(path, **PARQUET_OPTS, event_attributes=event_attributes)


def test_read_parquet_folder_with_mixed_schemas(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    first = _parquet(folder / "part-0.parquet", PART)
    retyped = _parquet(folder / "part-1.parquet", {**PART, "case": [2, 2]})
    extra = _parquet(folder / "sub" / "part-2.parquet", {**PART, "extra": [1, 2]})
    with pytest.raises(jm.SchemaError) as info:
        jm.read_parquet(folder, **PARQUET_OPTS)
    message = str(info.value)
    assert f"The Parquet files in '{folder}' do not share one schema" in message
    assert f"Compared with '{first}'" in message
    assert f"'{retyped}' has 'case' as Int64 (not String)" in message
    assert f"'{extra}' has the extra column 'extra'" in message
    assert "how='diagonal_relaxed'" in message
    retyped.unlink()
    extra.unlink()
    _parquet(folder / "part-3.parquet", {**PART, "case": ["c3", "c3"], "extra": [1, 2]})
    first.rename(folder / "part-9.parquet")  # now the first file has the extra column, the last not
    with pytest.raises(jm.SchemaError, match=r"part-9\.parquet' lacks the column 'extra'"):
        jm.read_parquet(folder, **PARQUET_OPTS)
    # a column no file needs does not stop the read
    assert jm.read_parquet(folder, **PARQUET_OPTS, event_attributes=[]).n_events == 4


def test_read_parquet_folder_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(jm.FileFormatError, match=r"is a folder without any \.parquet file"):
        jm.read_parquet(empty, **PARQUET_OPTS)
    folder = tmp_path / "events"
    _parquet(folder / "part-0.parquet", PART)
    (folder / "part-1.parquet").write_text("not parquet")
    with pytest.raises(jm.FileFormatError, match=r"file '.*part-1\.parquet' is not Parquet \(or damaged\)"):
        jm.read_parquet(folder, **PARQUET_OPTS)
    (folder / "part-1.parquet").unlink()
    _parquet(folder / "a" / "part-1.parquet", {**PART, "case": ["c2", "c2"]})
    assert jm.read_parquet(folder, **PARQUET_OPTS).n_events == 4


def test_xes_round_trip_keeps_events_and_attributes(tmp_path: Path) -> None:
    log = jm.datasets.demo_b2b(n_accounts=30, random_state=1)
    path = tmp_path / "demo.xes.gz"
    jm.write_xes(log, path)
    back = jm.read_xes(path)
    assert (back.n_cases, back.n_events) == (log.n_cases, log.n_events)
    a = log.events[["case", "activity", "timestamp"]].reset_index(drop=True)
    b = back.events[["case", "activity", "timestamp"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert set(log.case_attributes) <= set(back.case_attributes)
    pd.testing.assert_series_equal(
        log.cases.set_index("case")["segment"], back.cases.set_index("case")["segment"]
    )


def test_xes_escapes_hostile_strings(tmp_path: Path) -> None:
    df = pd.DataFrame({
        "c": ['<script>alert(1)</script>', '<script>alert(1)</script>'],
        "a": ['a"];x->y[', "R&D <b>"],
        "t": ["2024-01-01", "2024-01-02"],
    })
    log = jm.JourneyLog.from_frame(df, case="c", activity="a", timestamp="t")
    path = tmp_path / "hostile.xes"
    jm.write_xes(log, path)
    text = path.read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    back = jm.read_xes(path)
    assert back.events["activity"].tolist() == ['a"];x->y[', "R&D <b>"]
    assert back.cases["case"].tolist() == ['<script>alert(1)</script>']


def test_read_xes_lifecycle_options(shared_data: Path) -> None:
    path = shared_data / "bpic2012.xes.gz"
    complete = jm.read_xes(path, transitions="complete")
    assert set(complete.events["lifecycle"]) == {"COMPLETE"}
    joined = jm.read_xes(path, join_transition=True)
    assert "W_Completeren aanvraag+START" in joined.activities
    assert joined.n_events == 262_200
    with pytest.raises(jm.SchemaError, match="no event has a lifecycle transition"):
        jm.read_xes(path, transitions=["paused"])


def test_read_xes_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xes"
    bad.write_text("<notxes><x></notxes>")
    with pytest.raises(jm.FileFormatError):
        jm.read_xes(bad)
    with pytest.raises(FileNotFoundError):
        jm.read_xes(tmp_path / "nope.xes")


def test_to_pm4py_columns_and_from_pm4py_round_trip() -> None:
    log = jm.datasets.demo_b2b(n_accounts=25, random_state=2)
    df = log.to_pm4py()
    for col in ("case:concept:name", "concept:name", "time:timestamp", "case:segment"):
        assert col in df.columns
    back = jm.JourneyLog.from_pm4py(df)
    assert back.case_attributes == ("segment", "product", "market")
    pd.testing.assert_frame_equal(
        log.events[["case", "activity", "timestamp"]],
        back.events[["case", "activity", "timestamp"]],
    )
    with pytest.raises(jm.SchemaError, match=r"pm4py\.format_dataframe"):
        jm.JourneyLog.from_pm4py(pd.DataFrame({"a": [1]}))


def test_from_pm4py_event_log_object() -> None:
    pm4py = pytest.importorskip("pm4py")
    log = jm.datasets.demo_b2b(n_accounts=10, random_state=0)
    event_log = pm4py.convert_to_event_log(log.to_pm4py())
    back = jm.JourneyLog.from_pm4py(event_log)
    assert (back.n_cases, back.n_events) == (log.n_cases, log.n_events)


def test_write_xes_is_read_back_by_pm4py(tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    log = jm.datasets.demo_b2b(n_accounts=40, random_state=5)
    path = tmp_path / "demo.xes"
    jm.write_xes(log, path)
    theirs = pm4py.read_xes(str(path))
    ours = log.to_pm4py()
    cols = ["case:concept:name", "concept:name", "time:timestamp", "case:segment", "channel", "org:role"]
    a = ours[cols].sort_values(cols[:3]).reset_index(drop=True)
    b = theirs[cols].sort_values(cols[:3]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert pm4py.discover_dfg(theirs)[0] == pm4py.discover_dfg(ours)[0]


def test_read_xes_transitions_keep_input_rows_and_nameless_events(tmp_path: Path) -> None:
    """``row`` stays the event's place in the file when transitions= filters; an event
    without a name is set aside whatever join_transition does; bad transitions= values
    are parameter errors."""
    path = tmp_path / "t.xes"
    ev = '<event>{}<string key="lifecycle:transition" value="{}"/><date key="time:timestamp" value="{}"/></event>'
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><log><trace><string key="concept:name" value="c1"/>'
        + ev.format('<string key="concept:name" value="A"/>', "start", "2024-01-01T10:00:00Z")
        + ev.format('<string key="concept:name" value="A"/>', "complete", "2024-01-01T11:00:00Z")
        + ev.format('<string key="concept:name" value="B"/>', "start", "2024-01-01T12:00:00Z")
        + ev.format("", "complete", "2024-01-01T13:00:00Z")
        + "</trace></log>"
    )
    with pytest.warns(jm.DataQualityWarning, match=r"1 of 2 input rows were set aside .*first rows: \[3\]"):
        complete = jm.read_xes(path, transitions="complete")
    assert complete.events["row"].tolist() == [1]
    with pytest.raises(jm.DataQualityError, match=r"first rows: \[3\]") as info:
        jm.read_xes(path, transitions="complete", on_invalid="raise")
    assert info.value.rejected["row"].tolist() == [3]  # type: ignore[attr-defined]
    assert complete.rejected[["row", "reason"]].values.tolist() == [[3, "missing activity"]]
    with pytest.warns(jm.DataQualityWarning):
        joined = jm.read_xes(path, join_transition=True)
    assert joined.events["activity"].tolist() == ["A+start", "A+complete", "B+start"]
    assert joined.rejected[["row", "reason"]].values.tolist() == [[3, "missing activity"]]
    for bad in (123, [None], [], [""], "  "):
        with pytest.raises(jm.InvalidParameterError, match="'transitions' parameter of read_xes"):
            jm.read_xes(path, transitions=bad)
    with pytest.warns(jm.DataQualityWarning):  # any collection of names, as elsewhere
        assert jm.read_xes(path, transitions={"complete"}).events["row"].tolist() == [1]


def test_a_wide_csv_keeps_every_attribute(tmp_path: Path) -> None:
    """Thousands of attribute columns (each in-place drop once cost time in proportion
    to the width: 8,000 columns took 5 s, 32,000 never finished)."""
    n = 3_000
    path = tmp_path / "wide.csv"
    header = "c,a,t," + ",".join(f"x{i}" for i in range(n))
    rows = [f"c{k},A{k},2024-01-0{k + 1}," + ",".join(str(i * 10 + k) for i in range(n)) for k in range(3)]
    path.write_text("\n".join([header, *rows]) + "\n")
    log = jm.read_csv(path, case="c", activity="a", timestamp="t")
    assert len(log.case_attributes) + len(log.event_attributes) == n
    table = log.cases.set_index("case") if "x0" in log.case_attributes else log.events.set_index("case")
    assert table.loc["c2", "x0"] == 2 and table.loc["c1", f"x{n - 1}"] == (n - 1) * 10 + 1


# -- messages for broken CSV and XES files (hostile-file sweep) ----------------------------------
def _csv(tmp_path: Path, text: str | bytes, name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _read(path: Path) -> jm.JourneyLog:
    return jm.read_csv(path, case="c", activity="a", timestamp="t")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("c,a,t\nc1,A,2024-01-01,EXTRA\n",
         r"record starting on line 2 has 4 fields where the header has 3 \('c1', 'A', '2024-01-01', 'EXTRA'\)"),
        ('c,a,t\nc1,A,2024-01-01\nc1,"B,2024-01-02\nc2,C,2024-01-03\n',
         r"a quote opened in the record starting on line 3 is never closed"),
        ("c,a,t\n" + "c1,A,2024-01-01\n" * 3 + 'c1,"B,2024-01-02\n' + "c2,C,2024-01-03\n" * 20_000,
         r"a quote opened in the record starting on line 5 is never closed"),
    ],
)
def test_broken_csv_records_are_named_by_line(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(jm.FileFormatError, match=pattern) as info:
        _read(_csv(tmp_path, text))
    # none of polars' advice on options read_csv does not have
    assert "truncate_ragged_lines" not in str(info.value) and "infer_schema_length" not in str(info.value)


def test_csv_headers_that_cannot_be_read_as_given(tmp_path: Path) -> None:
    import bz2

    with pytest.raises(jm.SchemaError, match=r"the header names 't' 2 times, so which column holds"):
        _read(_csv(tmp_path, "c,a,t,t\nc1,A,2024-01-01,2025-06-30\n"))
    with pytest.raises(jm.SchemaError, match=r"the header names 'a' 3 times"):
        _read(_csv(tmp_path, "c,a,a,t,a,n,n\nc1,A,B,2024-01-01,C,1,2\n", "three.csv"))
    # a repeated column nobody asked for is read, with a word; a genuine "_duplicated_" name is no repeat
    with pytest.warns(jm.DataQualityWarning, match=r"the header repeats 'n' \(2 times\)"):
        assert _read(_csv(tmp_path, "c,a,t,n,n\nc1,A,2024-01-01,1,2\n", "extra.csv")).n_events == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _read(_csv(tmp_path, "c,a,t,x,x_duplicated_0\nc1,A,2024-01-01,1,2\n", "named.csv")).n_events == 1
    with pytest.raises(jm.FileFormatError, match=r"does not look like CSV text.*unpack other archives"):
        _read(_csv(tmp_path, bz2.compress(b"c,a,t\nc1,A,2024-01-01\n"), "y.csv.gz"))
    with pytest.raises(jm.FileFormatError, match="not a regular file"):
        _read(Path("/dev/null"))
    # a header of megabytes is shown cut, and the message stays short
    wide = _csv(tmp_path, "h" * 3_000_000 + ",x\n1,2\n", "long.csv")
    with pytest.raises(jm.SchemaError, match=r"Available columns: 'h{60}…' \(3,000,000 characters\), 'x'") as info:
        _read(wide)
    assert len(str(info.value)) < 500
    with pytest.raises(jm.SchemaError, match=r"'row' would be kept .*To fix: rename them, or leave them out"):
        _read(_csv(tmp_path, "c,a,t,row\nc1,A,2024-01-01,5\n", "row.csv"))


def test_numbers_as_text_timestamps_are_an_error_not_every_row_unparsable(tmp_path: Path) -> None:
    with pytest.raises(jm.SchemaError, match=r"holds numbers in all of its 2 non-empty values \(e.g. '1704067200', '1704153600'\).*unit='s'"):
        _read(_csv(tmp_path, "c,a,t\nc1,A,1704067200\nc1,B,1704153600\n"))
    # a column where some rows are times: the numbers are unparsable rows, as before
    with pytest.warns(jm.DataQualityWarning, match="1 unparsable timestamp"):
        log = _read(_csv(tmp_path, "c,a,t\nc1,A,1704067200\nc1,B,2024-01-02\n", "mixed.csv"))
    assert log.n_events == 1


def test_xes_attributes_named_like_log_columns_are_renamed(tmp_path: Path) -> None:
    """An XES user cannot rename a key: a trace attribute "start" stays "case:start", an
    event attribute "row" becomes "row (attribute)"."""
    path = tmp_path / "names.xes"
    path.write_text(
        '<?xml version="1.0"?><log><trace><string key="concept:name" value="c1"/>'
        '<date key="start" value="2023-01-01T00:00:00Z"/><int key="n_events" value="7"/>'
        '<event><string key="concept:name" value="A"/><date key="time:timestamp" value="2024-01-01T10:00:00Z"/>'
        '<string key="row" value="r1"/><string key="resource" value="bob"/></event></trace></log>'
    )
    log = jm.read_xes(path)
    assert log.cases.loc[0, "case:start"] == pd.Timestamp("2023-01-01", tz="UTC")
    assert log.cases.loc[0, "case:n_events"] == 7 and log.cases.loc[0, "n_events"] == 1
    assert log.events.loc[0, "row (attribute)"] == "r1" and log.events.loc[0, "row"] == 0
    assert log.events.loc[0, "resource (attribute)"] == "bob"


def test_compressed_csv_of_blank_lines_is_refused_before_it_takes_the_memory(tmp_path: Path) -> None:
    """100 MB of blank lines in a 100 kB gzip file made 100 million rows and 13 GB; the
    rows a text would make are weighed against max_bytes first (about 150 bytes a row for
    three columns), and binary text is refused before polars holds it."""
    import gzip

    path = tmp_path / "blank.csv.gz"
    path.write_bytes(gzip.compress(b"c,a,t\n" + b"\n" * 2_000_000))
    with pytest.raises(jm.FileFormatError, match=r"2,000,001 lines, and building a log .* more than three times"):
        jm.read_csv(path, case="c", activity="a", timestamp="t", max_bytes=50_000_000)
    zeros = tmp_path / "zeros.csv.gz"
    zeros.write_bytes(gzip.compress(b"\0" * 5_000_000))
    with pytest.raises(jm.FileFormatError, match="does not look like CSV text"):
        jm.read_csv(zeros, case="c", activity="a", timestamp="t")
    # a real file of the same size passes: the weight is per row, not per byte
    rows = b"".join(b"c%d,A,2024-01-01\n" % i for i in range(100_000))
    fine = tmp_path / "fine.csv.gz"
    fine.write_bytes(gzip.compress(b"c,a,t\n" + rows))
    assert jm.read_csv(fine, case="c", activity="a", timestamp="t", max_bytes=50_000_000).n_events == 100_000
    # text in another encoding is weighed (and checked) after decoding: UTF-16 is full of NUL bytes
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes("c,a,t\nc1,A,2024-01-01\n".encode("utf-16"))
    assert jm.read_csv(utf16, case="c", activity="a", timestamp="t", encoding="utf-16").n_events == 1


def test_xes_of_empty_events_is_weighed_against_the_limit(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "events.xes.gz"
    path.write_bytes(gzip.compress(b'<log><trace><string key="concept:name" value="c"/>'
                                   + b"<event/>" * 1_000_000 + b"</trace></log>"))
    with pytest.raises(jm.FileFormatError, match=r"1,000,000 events, and building a log from them takes about"):
        jm.read_xes(path, max_bytes=10_000_000)


def test_control_byte_separators_and_lossy_text_are_still_csv(tmp_path: Path) -> None:
    """The binary-content check counts NUL bytes and a high share of control bytes, never
    the separator itself (Hive writes \\x01) nor what utf8-lossy replaced."""
    import gzip

    hive = tmp_path / "hive.csv.gz"
    hive.write_bytes(gzip.compress(b"c\x01a\x01t\nc1\x01A\x012024-01-01\n"))
    assert jm.read_csv(hive, case="c", activity="a", timestamp="t", sep="\x01").n_events == 1
    lossy = tmp_path / "lossy.csv"
    lossy.write_bytes("Numéro;act;ts\nc1;A;2024-01-01\n".encode("cp1252"))
    log = jm.read_csv(lossy, case="Num\ufffdro", activity="act", timestamp="ts", sep=";", encoding="utf8-lossy")
    assert log.n_events == 1
