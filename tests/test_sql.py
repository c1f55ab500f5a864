"""read_sql against a real PostgreSQL server (a throwaway cluster), DuckDB and SQLite files:
the same rows give the same log as the CSV reader."""

from __future__ import annotations

import csv
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import journeymine as jm
from journeymine._testing import PostgresUnavailable, throwaway_postgres

pytestmark = [pytest.mark.xdist_group("postgres"), pytest.mark.filterwarnings(
    "ignore::journeymine.errors.DataQualityWarning")]

COLUMNS = ["acc_text", "acc_num", "touch", "at_tz", "at_naive", "on_day", "segment", "amount"]
PG_TYPES = ["TEXT", "BIGINT", "TEXT", "TIMESTAMPTZ", "TIMESTAMP", "DATE", "TEXT", "DOUBLE PRECISION"]
DUCK_TYPES = ["VARCHAR", "BIGINT", "VARCHAR", "TIMESTAMPTZ", "TIMESTAMP", "DATE", "VARCHAR", "DOUBLE"]
# every way a row can come through: text ids that look like numbers or missing values,
# a bigint id, offsets, microseconds, a DST gap (Amsterdam), NULLs, out of range, a repeat
ROWS: list[tuple[str | None, ...]] = [
    ("0001", "1", "Webinar", "2024-01-02 10:00:00+01:00", "2024-01-02 10:00:00", "2024-01-02", "SMB", "1.5"),
    ("0001", "1", "Demo", "2024-01-09 09:30:00-05:00", "2024-01-09 09:30:00", "2024-01-09", "SMB", None),
    ("NA", "12345678901234", "Webinar", "2024-03-31 01:30:00+00:00", "2024-03-31 02:30:00", "2024-03-31",
     "Enterprise", "2"),
    ("NA", "12345678901234", "Proposal", "2024-06-01 12:00:00.123456+02:00", "2024-06-01 12:00:00.123456",
     "2024-06-01", "Enterprise", "-0.25"),
    ("7", "7", "Webinar", None, None, None, "Mid", None),
    (None, None, "Demo", "2024-02-01 08:00:00+00:00", "2024-02-01 08:00:00", "2024-02-01", "Mid", None),
    ("7", "7", None, "2024-02-01 08:00:00+00:00", "2024-02-01 08:00:00", "2024-02-01", "Mid", None),
    ("7", "7", "Demo", "1850-01-01 00:00:00+00:00", "1850-01-01 00:00:00", "1850-01-01", "Mid", None),
    ("0001", "1", "Webinar", "2024-01-02 10:00:00+01:00", "2024-01-02 10:00:00", "2024-01-02", "SMB", "1.5"),
    ("7", "7", "Demo", "2024-02-02 08:00:00+00:00", "2024-02-02 08:00:00", "2024-02-02", "Mid", "3"),
    ("null", "8", "Contract signed", "2024-02-03 23:59:59+05:30", "2024-02-03 23:59:59", "2024-02-03", "SMB", "0"),
]
# (case, timestamp, tz): a text id with aware times, a bigint id with naive times read in a
# zone, dates read in another
MAPPINGS = [("acc_text", "at_tz", None), ("acc_num", "at_naive", "Europe/Amsterdam"),
            ("acc_text", "on_day", "America/New_York")]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster holding the table ``touches``; skipped where
    PostgreSQL is not installed (a failure under CI=true)."""
    try:
        with throwaway_postgres() as uri:
            _load_postgres(uri)
            yield uri
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def _load_postgres(uri: str) -> None:
    import adbc_driver_postgresql.dbapi as pg

    columns = ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, PG_TYPES, strict=True))
    values = ", ".join(f"CAST(${i} AS {t})" for i, t in enumerate(PG_TYPES, start=1))
    with pg.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE touches ({columns})")
        cur.execute("CREATE SCHEMA crm")
        cur.execute(f"CREATE TABLE crm.touches ({columns})")
        for table in ("touches", "crm.touches"):
            cur.executemany(f"INSERT INTO {table} VALUES ({values})", ROWS)
        conn.commit()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The rows as a CSV file, a DuckDB file and a SQLite file (timestamps as text there)."""
    import duckdb

    folder = tmp_path_factory.mktemp("sql")
    paths = {"csv": folder / "touches.csv", "duckdb": folder / "touches.duckdb",
             "sqlite": folder / "touches.sqlite"}
    with open(paths["csv"], "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows([["" if v is None else v for v in row] for row in ROWS])
    with duckdb.connect(str(paths["duckdb"])) as duck:
        duck.execute(f"CREATE TABLE touches ({', '.join(f'{c} {t}' for c, t in zip(COLUMNS, DUCK_TYPES, strict=True))})")
        values = ", ".join(f"CAST(${i} AS {t})" for i, t in enumerate(DUCK_TYPES, start=1))
        duck.executemany(f"INSERT INTO touches VALUES ({values})", ROWS)
    with closing(sqlite3.connect(paths["sqlite"])) as lite, lite:
        lite.execute("CREATE TABLE touches (acc_text TEXT, acc_num INTEGER, touch TEXT, at_tz TEXT, "
                     "at_naive TEXT, on_day TEXT, segment TEXT, amount REAL)")
        lite.executemany("INSERT INTO touches VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (*r[:1], None if r[1] is None else int(r[1]), *r[2:7], None if r[7] is None else float(r[7]))
            for r in ROWS])
    lite.close()
    return paths


def _options(case: str, timestamp: str, tz: str | None) -> dict[str, Any]:
    return dict(case=case, activity="touch", timestamp=timestamp, tz=tz, case_attributes=["segment"],
                event_attributes=["amount"])


def _rejected(log: jm.JourneyLog, case: str) -> pd.DataFrame:
    """The rejected rows' number, reason and case id as text (the CSV reader keeps ids as
    the text read, a database as its type, which pandas holds as float when it has nulls;
    timestamps are compared through the events)."""
    out = log.rejected[["row", "reason", case]].copy()
    out[case] = [None if pd.isna(v) else str(int(v)) if isinstance(v, float) else str(v) for v in out[case]]
    return out.reset_index(drop=True)


def _assert_same(log: jm.JourneyLog, expected: jm.JourneyLog, case: str) -> None:
    pd.testing.assert_frame_equal(log.events, expected.events)
    pd.testing.assert_frame_equal(log.cases, expected.cases)
    pd.testing.assert_frame_equal(_rejected(log, case), _rejected(expected, case))


@pytest.mark.parametrize(("case", "timestamp", "tz"), MAPPINGS)
def test_postgres_duckdb_sqlite_and_csv_give_the_same_log(
    postgres: str, files: dict[str, Path], case: str, timestamp: str, tz: str | None
) -> None:
    options = _options(case, timestamp, tz)
    from_csv = jm.read_csv(files["csv"], **options)
    # missing case, activity, timestamp; 1850; the repeat; 02:30 in Amsterdam on 31 March
    # 2024 does not exist (unparsable)
    gap = timestamp == "at_naive"
    assert from_csv.n_rejected == 5 + gap
    assert from_csv.rejected["reason"].value_counts().get("unparsable timestamp", 0) == gap
    assert from_csv.n_events == 6 - gap
    for uri in (postgres, f"duckdb:///{files['duckdb']}", f"sqlite:///{files['sqlite']}"):
        _assert_same(jm.read_sql("touches", uri, **options), from_csv, case)


def test_ids_come_through_as_the_csv_reader_reads_them(postgres: str, files: dict[str, Path]) -> None:
    by_text = jm.read_sql("touches", postgres, case="acc_text", activity="touch", timestamp="at_tz")
    assert by_text.cases["case"].tolist() == ["0001", "NA", "7", "null"]
    by_number = jm.read_sql("touches", f"duckdb:///{files['duckdb']}", case="acc_num", activity="touch",
                            timestamp="at_tz")
    assert by_number.cases["case"].tolist() == ["1", "12345678901234", "7", "8"]
    assert str(by_number.events["timestamp"].dtype) == "datetime64[us, UTC]"
    assert by_number.events["timestamp"].iloc[0] == pd.Timestamp("2024-01-02 09:00", tz="UTC")


def test_connection_objects_give_the_same_log(postgres: str, files: dict[str, Path]) -> None:
    import adbc_driver_postgresql.dbapi as pg
    import duckdb
    import sqlalchemy

    options = _options("acc_text", "at_tz", None)
    expected = jm.read_csv(files["csv"], **options)
    engine = sqlalchemy.create_engine(f"sqlite:///{files['sqlite']}")
    with pg.connect(postgres) as adbc, duckdb.connect(str(files["duckdb"]), read_only=True) as duck, \
            closing(sqlite3.connect(files["sqlite"])) as lite:
        for conn in (adbc, duck, lite, engine):
            _assert_same(jm.read_sql("touches", conn, **options), expected, "acc_text")
        # a connection passed in is left open
        assert duck.execute("SELECT count(*) FROM touches").fetchone() == (len(ROWS),)
    lite.close()
    engine.dispose()


@pytest.mark.parametrize("batch_size", [1, 3])
def test_small_batches_give_the_same_log(files: dict[str, Path], batch_size: int) -> None:
    options = _options("acc_text", "at_tz", None)
    expected = jm.read_csv(files["csv"], **options)
    for uri in (f"duckdb:///{files['duckdb']}", f"sqlite:///{files['sqlite']}"):
        _assert_same(jm.read_sql("touches", uri, batch_size=batch_size, **options), expected, "acc_text")


def test_sqlite_values_typed_one_by_one_become_text_ids(tmp_path: Path) -> None:
    # SQLite types values, not columns: an untyped column holding 1, '0001' and 'NA'
    path = tmp_path / "mixed.sqlite"
    with closing(sqlite3.connect(path)) as lite, lite:
        lite.execute("CREATE TABLE t (account, touch TEXT, at TEXT)")
        lite.executemany("INSERT INTO t VALUES (?, ?, ?)",
                         [(1, "a", "2024-01-01"), ("0001", "a", "2024-01-02"), ("NA", "a", "2024-01-03"),
                          (2.5, "a", "2024-01-04")])
    lite.close()
    for batch_size in (1, 100):
        log = jm.read_sql("t", f"sqlite:///{path}", case="account", activity="touch", timestamp="at",
                          batch_size=batch_size)
        assert log.cases["case"].tolist() == ["1", "0001", "NA", "2.5"], batch_size


def test_a_query_is_sent_as_written_and_a_table_name_is_quoted(postgres: str) -> None:
    log = jm.read_sql("SELECT * FROM touches WHERE touch <> 'Demo'", postgres, case="acc_text",
                      activity="touch", timestamp="at_tz")
    assert "Demo" not in log.activities
    assert log.source.endswith(", query")
    # schema-qualified: "crm"."touches"
    qualified = jm.read_sql("crm.touches", postgres, case="acc_text", activity="touch", timestamp="at_tz")
    assert qualified.n_events == 6
    assert qualified.source.endswith(", table crm.touches")
    with pytest.raises(jm.DatabaseError, match=r"relation \"Touches\" does not exist.*stored as 'touches'"):
        jm.read_sql("Touches", postgres, case="acc_text", activity="touch", timestamp="at_tz")


def test_only_the_columns_needed_are_read(files: dict[str, Path]) -> None:
    log = jm.read_sql("touches", f"duckdb:///{files['duckdb']}", case="acc_text", activity="touch",
                      timestamp="at_tz", event_attributes=[])
    assert list(log.events.columns) == ["case", "activity", "timestamp", "row"]
    everything = jm.read_sql("touches", f"duckdb:///{files['duckdb']}", case="acc_text", activity="touch",
                             timestamp="at_tz")
    assert {"acc_num", "at_naive", "on_day", "segment", "amount"} <= set(everything.events.columns)


def test_sql_errors_carry_the_database_message_and_never_the_password(postgres: str) -> None:
    password = "jm-test-password"
    with pytest.raises(jm.DatabaseError, match="syntax error") as err:
        jm.read_sql("SELEC nothing", postgres, case="a", activity="b", timestamp="c")
    assert password not in str(err.value)
    wrong = postgres.replace(password, "not-the-Secret-42")
    with pytest.raises(jm.DatabaseError, match='password authentication failed for user "jm"') as err:
        jm.read_sql("touches", wrong, case="acc_text", activity="touch", timestamp="at_tz")
    assert "not-the-Secret-42" not in str(err.value)
    assert ":***@127.0.0.1" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # the driver's error is not shown
    log = jm.read_sql("touches", postgres, case="acc_text", activity="touch", timestamp="at_tz")
    for text in (log.source, repr(log), log._repr_html_()):
        assert password not in text
    assert log.source.startswith("postgresql://jm:***@127.0.0.1:")
    # a password given as a parameter of the URI
    with pytest.raises(jm.DatabaseError) as err:
        jm.read_sql("touches", wrong.replace(":not-the-Secret-42@", "@") + "?password=not-the-Secret-42",
                    case="acc_text", activity="touch", timestamp="at_tz")
    assert "not-the-Secret-42" not in str(err.value)


def test_bad_connections_and_empty_results(files: dict[str, Path], tmp_path: Path) -> None:
    options = dict(case="acc_text", activity="touch", timestamp="at_tz")
    with pytest.raises(FileNotFoundError, match="No such file"):
        jm.read_sql("touches", f"sqlite:///{tmp_path / 'missing.sqlite'}", **options)
    assert not (tmp_path / "missing.sqlite").exists()  # not created either
    with pytest.raises(jm.InvalidParameterError, match=r"must be a URI starting with one of postgresql://"):
        jm.read_sql("touches", "mysql://u:pw@host/db", **options)
    with pytest.raises(jm.InvalidParameterError, match="'connection' parameter of read_sql"):
        jm.read_sql("touches", 42, **options)
    with pytest.raises(jm.InvalidParameterError, match="'batch_size' parameter of read_sql"):
        jm.read_sql("touches", f"sqlite:///{files['sqlite']}", batch_size=0, **options)
    with pytest.raises(jm.EmptyLogError, match="returned no rows"):
        jm.read_sql("SELECT * FROM touches WHERE 1 = 0", f"duckdb:///{files['duckdb']}", **options)
    with pytest.raises(jm.DatabaseError, match="no such table: nope"):
        jm.read_sql("nope", f"sqlite:///{files['sqlite']}", **options)
    with pytest.raises(jm.SchemaError, match=r"Column 'acc' .* not found"):
        jm.read_sql("touches", f"sqlite:///{files['sqlite']}", case="acc", activity="touch", timestamp="at_tz")


def test_an_interval_column_is_named_with_the_fix(postgres: str) -> None:
    with pytest.raises(jm.DatabaseError, match=r"Column 'wait' holds .*interval.*CAST\(wait AS TEXT\)"):
        jm.read_sql("SELECT acc_text, touch, at_tz, interval '1 day' AS wait FROM touches", postgres,
                    case="acc_text", activity="touch", timestamp="at_tz")


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "adbc_driver_postgresql.dbapi", None)
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(jm.MissingDependencyError, match=r"pip install 'journeymine\[sql\]'"):
        jm.read_sql("touches", "postgresql://jm@127.0.0.1:1/postgres", case="a", activity="b", timestamp="c")
    with pytest.raises(jm.MissingDependencyError, match="'duckdb' package"):
        jm.read_sql("touches", f"duckdb:///{files['duckdb']}", case="a", activity="b", timestamp="c")


def test_the_command_line_never_prints_the_password(postgres: str, capsys: pytest.CaptureFixture[str]) -> None:
    from journeymine._cli import main

    wrong = postgres.replace("jm-test-password", "not-the-Secret-42")
    args = ["--case", "acc_text", "--activity", "touch", "--timestamp", "at_tz"]
    assert main(["inspect", "--sql", "touches", "--db", wrong, *args]) == 2
    err = capsys.readouterr().err
    assert "password authentication failed" in err and "not-the-Secret-42" not in err
    assert main(["inspect", "--sql", "touches", "--db", postgres, *args]) == 0
    out = capsys.readouterr().out
    assert "source: postgresql://jm:***@127.0.0.1:" in out and "jm-test-password" not in out


def test_cli_never_writes_onto_the_database_it_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    from journeymine._cli import main

    db = tmp_path / "crm.db"
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("create table ev (account text, touch text, ts text)")
        con.execute("insert into ev values ('A', 'Demo', '2024-01-01 10:00:00')")
    before = db.read_bytes()
    code = main(["convert", "--sql", "ev", "--db", f"sqlite:///{db}", "--case", "account", "--activity",
                 "touch", "--timestamp", "ts", "--to", "parquet", "-o", str(db)])
    assert code == 2 and db.read_bytes() == before
    assert "input" in capsys.readouterr().err


def test_a_keyword_connection_string_is_never_echoed() -> None:
    with pytest.raises(jm.InvalidParameterError) as err:
        jm.read_sql("ev", "host=localhost port=1 user=jm password=S3cretPW dbname=crm",
                    case="a", activity="b", timestamp="c")
    assert "S3cretPW" not in str(err.value) and "not shown" in str(err.value)
    from journeymine._sql import redact

    assert "S3cret" not in redact("postgresql://jm@h/db?sslpassword=S3cret&x=1")


def test_a_duckdb_uri_reads_only_its_own_file(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table ev as select 'A' as account, 'Demo' as touch, timestamp '2024-01-01' as ts")
    leak = tmp_path / "leak.csv"
    with pytest.raises(jm.DatabaseError):
        jm.read_sql(f"copy (select 1) to '{leak}'", f"duckdb:///{db}", case="account", activity="touch",
                    timestamp="ts")
    assert not leak.exists()
    assert jm.read_sql("ev", f"duckdb:///{db}", case="account", activity="touch", timestamp="ts").n_events == 1


@pytest.mark.parametrize("batch_size", [1, 2, 3, 100])
def test_sqlite_mixed_id_values_do_not_depend_on_the_batch_size(tmp_path: Path, batch_size: int) -> None:
    # an untyped SQLite column holding a real, an integer and text: as a CSV export writes them
    db = tmp_path / "mixed.db"
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("CREATE TABLE t (account, touch TEXT, at TEXT, amount)")
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [
            (7.0, "a", "2024-01-01", 10), (1, "b", "2024-01-02", 2.5), ("NA", "c", "2024-01-03", None),
            ("0001", "d", "2024-01-04", 4)])
    log = jm.read_sql("t", f"sqlite:///{db}", case="account", activity="touch", timestamp="at",
                      value="amount", batch_size=batch_size)
    assert sorted(log.cases["case"]) == ["0001", "1", "7.0", "NA"]
    assert sorted(log.events["value"].dropna().tolist()) == [2.5, 4.0, 10.0]


@pytest.mark.parametrize("batch_size", [1, 2])
def test_sqlite_integers_and_reals_in_one_id_column(tmp_path: Path, batch_size: int) -> None:
    db = tmp_path / "nums.db"
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("CREATE TABLE t (account, touch TEXT, at TEXT)")
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(7.0, "a", "2024-01-01"), (1, "b", "2024-01-02")])
    log = jm.read_sql("t", f"sqlite:///{db}", case="account", activity="touch", timestamp="at",
                      batch_size=batch_size)
    assert sorted(log.cases["case"]) == ["1", "7.0"]
