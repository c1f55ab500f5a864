"""The command line: demo, inspect, convert, and their exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

import journeymine as jm
from journeymine._cli import main


def test_demo_prints_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--accounts", "50", "--summary"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<JourneyLog: 50 cases")
    assert "case attributes: segment, product, market" in out


def test_inspect_and_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(30, random_state=0, as_frame=True).to_csv(src, index=False)
    args = ["--case", "account_id", "--activity", "touchpoint", "--timestamp", "timestamp",
            "--case-attr", "segment"]
    assert main(["inspect", str(src), *args]) == 0
    assert "rejected rows: none" in capsys.readouterr().out
    out = tmp_path / "events.xes.gz"
    assert main(["convert", str(src), *args, "--to", "xes", "-o", str(out)]) == 0
    assert jm.read_xes(out).n_cases == 30


def test_errors_exit_with_codes_and_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "missing.csv"), "--case", "a", "--activity", "b",
                 "--timestamp", "c"]) == 2
    err = capsys.readouterr().err
    assert "No such file" in err and "Traceback" not in err
    src = tmp_path / "events.csv"
    src.write_text("a,b,c\nx,y,not-a-date\n")
    assert main(["inspect", str(src), "--case", "a", "--activity", "b", "--timestamp", "c"]) == 1
    assert "None of the 1 input rows is usable" in capsys.readouterr().err
    assert main(["inspect", str(src), "--case", "a"]) == 2
    assert "needs --activity, --timestamp" in capsys.readouterr().err


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed command, in a subprocess: report, and the error paths with exit codes."""
    import os
    import subprocess
    import sys

    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(120, random_state=0, as_frame=True).to_csv(src, index=False)
    cols = ["--case", "account_id", "--activity", "touchpoint", "--timestamp", "timestamp"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "journeymine", *args], capture_output=True, text=True,
                              check=False, env={**os.environ, "JOURNEYMINE_PROGRESS": "0"})

    out = tmp_path / "report.html"
    done = run("report", str(src), *cols, "--case-attr", "segment", "--by", "segment",
               "--outcome", "won=Contract signed", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("<!DOCTYPE html>") and "wrote the journey report" in done.stdout
    missing = run("inspect", str(tmp_path / "nope.csv"), *cols)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "No such file" in missing.stderr
    bad_col = run("inspect", str(src), "--case", "account", "--activity", "touchpoint", "--timestamp", "timestamp")
    assert bad_col.returncode == 2 and "account" in bad_col.stderr and "Traceback" not in bad_col.stderr
    usage = run("report")
    assert usage.returncode == 2 and "usage:" in usage.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("account_id,touchpoint,timestamp\nA,,not a date\n")
    nothing = run("inspect", str(empty), *cols)
    assert nothing.returncode == 1 and "Traceback" not in nothing.stderr


# -- the command line's contract ---------------------------------------------------------------
ARGS = ["--case", "account_id", "--activity", "touchpoint", "--timestamp", "timestamp"]


@pytest.fixture()
def events_csv(tmp_path: Path) -> Path:
    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(20, random_state=0, as_frame=True).to_csv(src, index=False)
    return src


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    last = err[-1]
    assert last.startswith("journeymine: error:"), err
    assert "Traceback" not in "\n".join(err)
    for needle in needles:
        assert needle in last, (needle, last)
    return last


@pytest.mark.parametrize("command", [["report"], ["convert", "--to", "pm4py-csv"], ["convert", "--to", "xes"]])
def test_output_onto_the_input_is_refused_and_the_input_kept(
    events_csv: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    before = events_csv.read_bytes()
    cmd, *rest = command
    assert main([cmd, str(events_csv), *ARGS, *rest, "-o", str(events_csv)]) == 2
    _one_line_error(capsys, "is the input file", "Choose another output path")
    # the same file through another spelling of its path
    other = events_csv.parent / "." / events_csv.name
    assert main([cmd, str(events_csv), *ARGS, *rest, "-o", str(other)]) == 2
    assert events_csv.read_bytes() == before


def test_library_writers_refuse_the_source_too(events_csv: Path) -> None:
    log = jm.read_csv(events_csv, case="account_id", activity="touchpoint", timestamp="timestamp")
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        jm.write_csv(log, events_csv)
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        jm.report(log, path=events_csv)


def test_derived_logs_keep_their_input_file(events_csv: Path, tmp_path: Path) -> None:
    """A log derived from a read one (episodes, a filter, a collected copy) names its source
    differently, but its writers still refuse the file the events came from."""
    import sqlite3
    from contextlib import closing

    log = jm.read_csv(events_csv, case="account_id", activity="touchpoint", timestamp="timestamp")
    before = events_csv.read_bytes()
    episodes = log.split_episodes(gap="30D")
    assert episodes.source != log.source
    some = log.filter_time(end=log.events["timestamp"].max())
    cases = log.cases["case"].tolist()
    joined = jm.concat([log.filter_cases(lambda c: c["case"].isin(cases[:3])),
                        log.filter_cases(lambda c: c["case"].isin(cases[3:]))])
    for derived in (episodes, some, episodes.filter_time(end=log.events["timestamp"].max()), joined):
        for write in (jm.write_csv, jm.write_xes, lambda lg, p: jm.report(lg, path=p)):
            with pytest.raises(jm.InvalidParameterError, match="is the input file"):
                write(derived, events_csv)
    assert events_csv.read_bytes() == before
    # a database file read through an open connection (its source names the connection)
    db = tmp_path / "events.sqlite"
    with closing(sqlite3.connect(db)) as con:
        con.execute("CREATE TABLE ev (c TEXT, a TEXT, t TEXT)")
        con.execute("INSERT INTO ev VALUES ('1', 'x', '2024-01-01T00:00:00Z')")
        con.commit()
    saved = db.read_bytes()
    with closing(sqlite3.connect(db)) as con:
        from_db = jm.read_sql("ev", con, case="c", activity="a", timestamp="t")
    assert "sqlite3.Connection" in from_db.source
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        jm.write_csv(from_db, db)
    from_uri = jm.read_sql("ev", f"sqlite:///{db}", case="c", activity="a", timestamp="t")
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        jm.write_xes(from_uri.filter_time(end=from_uri.events["timestamp"].max()), db)
    assert db.read_bytes() == saved


@pytest.mark.parametrize(
    ("output", "needles"),
    [
        ("{file}/x.html", ["Not a directory", "a part of the path is a file"]),
        ("/dev/full", ["not a regular file"]),
        ("{dir}", ["is a folder"]),
        ("{dir}/no/such/folder/x.html", ["No such folder", "missing folder"]),
    ],
)
def test_impossible_outputs_are_one_line_errors(
    events_csv: Path, capsys: pytest.CaptureFixture[str], output: str, needles: list[str]
) -> None:
    out = output.format(file=events_csv, dir=events_csv.parent)
    before = sorted(p.name for p in events_csv.parent.iterdir())
    assert main(["convert", str(events_csv), *ARGS, "--to", "pm4py-csv", "-o", out]) == 2
    _one_line_error(capsys, *needles)
    assert sorted(p.name for p in events_csv.parent.iterdir()) == before  # no temporary file left
    assert Path("/dev/full").is_char_device()


@pytest.mark.parametrize("sep", [";;", "", '"'])
def test_bad_separators(events_csv: Path, capsys: pytest.CaptureFixture[str], sep: str) -> None:
    assert main(["inspect", str(events_csv), *ARGS, "--sep", sep]) == 2
    _one_line_error(capsys, "--sep must be one single-byte character")


def test_tab_separator_spelled_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "events.tsv"
    jm.datasets.demo_b2b(5, random_state=0, as_frame=True).to_csv(src, index=False, sep="\t")
    assert main(["inspect", str(src), *ARGS, "--sep", "\\t"]) == 0
    assert main(["inspect", str(src), *ARGS, "--sep", "tab"]) == 0


def test_unreadable_input(events_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    if os.geteuid() == 0:  # root reads anything: make the path a folder-less file path instead
        bad = events_csv / "inside"
        assert main(["inspect", str(bad), *ARGS]) == 2
        _one_line_error(capsys)
        return
    events_csv.chmod(0)
    try:
        assert main(["inspect", str(events_csv), *ARGS]) == 2
        _one_line_error(capsys, "Permission denied")
    finally:
        events_csv.chmod(0o644)


def test_failed_write_leaves_no_half_file(events_csv: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = events_csv.parent / "out.csv"
    out.write_text("old")
    import polars as pl

    def boom(*args: object, **kwargs: object) -> None:
        Path(str(args[1])).write_text("half")  # type: ignore[arg-type]
        raise OSError(28, "No space left on device", str(args[1]))

    monkeypatch.setattr(pl.DataFrame, "write_csv", boom)
    assert main(["convert", str(events_csv), *ARGS, "--to", "pm4py-csv", "-o", str(out)]) == 2
    _one_line_error(capsys, "No space left on device", "free disk space")
    assert out.read_text() == "old"
    assert sorted(p.name for p in events_csv.parent.iterdir()) == ["events.csv", "out.csv"]


def test_debug_shows_the_traceback(events_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--debug", "inspect", str(events_csv), *ARGS, "--sep", ";;"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("journeymine: error:")


def test_excel_safe_export(events_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "formulas.csv"
    src.write_text("a,t,ts\n=1+2,@SUM(A1),2024-01-01\n+x,-y,2024-01-02\nok,fine,2024-01-03\n")
    plain, safe = tmp_path / "plain.csv", tmp_path / "safe.csv"
    args = ["--case", "a", "--activity", "t", "--timestamp", "ts"]
    assert main(["convert", str(src), *args, "--to", "pm4py-csv", "-o", str(plain)]) == 0
    assert main(["convert", str(src), *args, "--to", "pm4py-csv", "--excel-safe", "-o", str(safe)]) == 0
    back = jm.read_csv(plain, case="case:concept:name", activity="concept:name", timestamp="time:timestamp")
    assert back.cases["case"].tolist() == ["=1+2", "+x", "ok"]  # values unchanged by default
    guarded = jm.read_csv(safe, case="case:concept:name", activity="concept:name", timestamp="time:timestamp")
    assert guarded.cases["case"].tolist() == ["'=1+2", "'+x", "ok"]
    assert set(guarded.activities) == {"'@SUM(A1)", "'-y", "fine"}
    assert main(["convert", str(src), *args, "--to", "xes", "--excel-safe", "-o", str(tmp_path / "x.xes")]) == 2


@pytest.mark.parametrize("value", ["a\rb", "c\nd", 'q"uote', "s,ep", " lead", "trail ", "tab\there", "=1+2"])
def test_csv_export_round_trips_every_value(tmp_path: Path, value: str) -> None:
    import pandas as pd

    df = pd.DataFrame({"c": [value, value + "2"], "act": [value, "x"], "ts": ["2024-01-01", "2024-01-02"],
                       "note": [value, None]})
    log = jm.JourneyLog.from_frame(df, case="c", activity="act", timestamp="ts")
    out = tmp_path / "o.csv"
    jm.write_csv(log, out)
    back = jm.read_csv(out, case="case:concept:name", activity="concept:name", timestamp="time:timestamp")
    assert back.events["case"].tolist() == log.events["case"].tolist()
    assert back.events["activity"].tolist() == log.events["activity"].tolist()
    assert back.events["note"].tolist()[0] == value
    assert pd.isna(back.events["note"].tolist()[1])
    assert (back.events["timestamp"] == log.events["timestamp"]).all()


def test_max_bytes_bounds_a_compressed_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import gzip

    src = tmp_path / "events.csv.gz"
    src.write_bytes(gzip.compress(b"a,b,c\n" + b"x,y,2024-01-01\n" * 1000))
    assert main(["inspect", str(src), "--case", "a", "--activity", "b", "--timestamp", "c", "--max-bytes", "100"]) == 2
    _one_line_error(capsys, "events.csv.gz")
    assert main(["inspect", str(src), "--case", "a", "--activity", "b", "--timestamp", "c"]) == 0


def test_report_and_inspect_read_sql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb

    frame = jm.datasets.demo_b2b(40, random_state=0, as_frame=True)
    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE touches AS SELECT * FROM frame")
    args = ["--db", f"duckdb:///{db}", "--case", "account_id", "--activity", "touchpoint",
            "--timestamp", "timestamp", "--case-attr", "segment"]
    assert main(["inspect", "--sql", "touches", *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<JourneyLog: 40 cases")
    assert f"source: duckdb:///{db}, table touches" in out
    report = tmp_path / "report.html"
    query = "SELECT * FROM touches WHERE segment <> 'Public sector'"
    assert main(["report", "--sql", query, *args, "--by", "segment", "-o", str(report)]) == 0
    assert report.read_text().startswith("<!DOCTYPE html>")
    assert "Public sector" not in jm.read_sql(query, f"duckdb:///{db}", case="account_id", activity="touchpoint",
                                             timestamp="timestamp", case_attributes="segment").cases["segment"].tolist()


@pytest.mark.parametrize(("extra", "message"), [
    (["--sql", "touches"], "--sql QUERY and --db URI go together"),
    (["events.csv", "--sql", "touches", "--db", "sqlite:///x.db"], "drop the events file"),
    (["--sql", "touches", "--db", "sqlite:///x.db", "--sep", ";"], "--sep are for files"),
])
def test_sql_option_errors(extra: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", *extra, "--case", "a", "--activity", "b", "--timestamp", "c"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_no_events_file_nor_sql_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["inspect", "--case", "a", "--activity", "b", "--timestamp", "c"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "give an events file, or --sql QUERY and --db URI" in err


def test_csv_export_to_a_gz_path_is_gzip(tmp_path: Path) -> None:
    """write_csv to ``.csv.gz`` compresses (polars refused the suffix), with no time or
    temporary name in the header: the same log gives the same bytes."""
    import gzip

    log = jm.datasets.demo_b2b(n_accounts=15, random_state=0)
    plain, first, second = tmp_path / "e.csv", tmp_path / "e.csv.gz", tmp_path / "f.CSV.GZ"
    jm.write_csv(log, plain)
    jm.write_csv(log, first)
    jm.write_csv(log, second)
    assert gzip.decompress(first.read_bytes()) == plain.read_bytes()
    assert first.read_bytes() == second.read_bytes()
    assert int.from_bytes(first.read_bytes()[4:8], "little") == 0
    back = jm.read_csv(first, case="case:concept:name", activity="concept:name", timestamp="time:timestamp")
    assert back.n_events == log.n_events
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "e.csv.gz", "f.CSV.GZ"]
