"""Sources benchmark: events from a database into a validated JourneyLog.

Compares, in one run and in fresh processes, for PostgreSQL (a throwaway cluster on this
machine, ``journeymine._testing.throwaway_postgres``) and for a DuckDB file holding the
same table:

* ``jm.read_sql`` (PostgreSQL through ADBC, DuckDB natively; Arrow batches);
* the database's own export followed by the file reader: DuckDB ``COPY ... TO`` Parquet then
  ``jm.read_parquet``; PostgreSQL has no Parquet writer without an extension, so its own
  export is ``COPY ... TO STDOUT (FORMAT csv)`` (psql's ``\\copy``) then ``jm.read_csv``;
* ``pandas.read_sql`` then ``JourneyLog.from_frame`` (pandas 2.2+ reads an ADBC connection
  through Arrow; a DuckDB connection through the DB-API, row by row);
* where connectorx is installed (it is not a dependency): ``polars.read_database_uri``
  with connectorx then ``JourneyLog.from_frame``, for PostgreSQL.

Usage: ``python benchmarks/bench_sources.py [--events 5000000] [--repeat 1]``. The events
come from the demo generator (``generate_demo_events``, ~7.3 events per account), cached in
``benchmarks/.cache``. Writes ``benchmarks/results/sources.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import child_main_timed, measure, print_table, write_json

CACHE = Path(__file__).resolve().parent / ".cache"
MAP = dict(case="account_id", activity="touchpoint", timestamp="timestamp")
CASE_ATTRS = ["segment", "product", "market"]
EVENTS_PER_ACCOUNT = 7.3


def make_parquet(n_events: int) -> Path:
    """The demo events (``n_events`` rows) as Parquet, generated once."""
    import polars as pl

    from journeymine.datasets._demo import generate_demo_events

    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"sources_{n_events}.parquet"
    if not path.exists():
        frame = generate_demo_events(int(n_events / EVENTS_PER_ACCOUNT) + 2_000, random_state=0)
        pl.from_pandas(frame).head(n_events).write_parquet(path)
    return path


def load_postgres(uri: str, parquet: Path) -> None:
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    with pg.connect(uri) as conn, conn.cursor() as cur:
        cur.adbc_ingest("events", table, mode="create")
        conn.commit()
        cur.execute("ANALYZE events")
        conn.commit()


def load_duckdb(path: Path, parquet: Path) -> None:
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE events AS SELECT * FROM read_parquet(?)", [str(parquet)])


# -- steps (run in child processes; each times itself) ---------------------------------------
def _timed(fn: Any) -> tuple[int, float]:
    start = time.perf_counter()
    log = fn()
    return log.n_events, time.perf_counter() - start


def pg_read_sql(arg: str) -> tuple[int, float]:
    import journeymine as jm

    env = json.loads(arg)
    return _timed(lambda: jm.read_sql("events", env["postgres"], **MAP, case_attributes=CASE_ATTRS))


def pg_copy_csv_read_csv(arg: str) -> tuple[int, float]:
    import journeymine as jm

    env = json.loads(arg)
    out = Path(env["tmp"]) / "pg_export.csv"

    def run() -> Any:
        subprocess.run(["psql", "-q", "-d", env["postgres"], "-c",
                        f"\\copy events TO '{out}' WITH (FORMAT csv, HEADER)"], check=True)
        return jm.read_csv(out, **MAP, case_attributes=CASE_ATTRS)

    try:
        return _timed(run)
    finally:
        out.unlink(missing_ok=True)


def pg_pandas_read_sql(arg: str) -> tuple[int, float]:
    import adbc_driver_postgresql.dbapi as pg
    import pandas as pd

    import journeymine as jm

    env = json.loads(arg)

    def run() -> Any:
        with pg.connect(env["postgres"]) as conn:
            frame = pd.read_sql("SELECT * FROM events", conn)
        return jm.JourneyLog.from_frame(frame, **MAP, case_attributes=CASE_ATTRS)

    return _timed(run)


def pg_connectorx(arg: str) -> tuple[int, float]:
    import polars as pl

    import journeymine as jm

    env = json.loads(arg)

    def run() -> Any:
        frame = pl.read_database_uri("SELECT * FROM events", env["postgres"], engine="connectorx")
        return jm.JourneyLog.from_frame(frame, **MAP, case_attributes=CASE_ATTRS)

    return _timed(run)


def duck_read_sql(arg: str) -> tuple[int, float]:
    import journeymine as jm

    env = json.loads(arg)
    return _timed(lambda: jm.read_sql("events", f"duckdb:///{env['duckdb']}", **MAP,
                                      case_attributes=CASE_ATTRS))


def duck_copy_parquet_read_parquet(arg: str) -> tuple[int, float]:
    import duckdb

    import journeymine as jm

    env = json.loads(arg)
    out = Path(env["tmp"]) / "duck_export.parquet"

    def run() -> Any:
        with duckdb.connect(env["duckdb"], read_only=True) as con:
            con.execute(f"COPY events TO '{out}' (FORMAT parquet)")
        return jm.read_parquet(out, **MAP, case_attributes=CASE_ATTRS)

    try:
        return _timed(run)
    finally:
        out.unlink(missing_ok=True)


def duck_pandas_read_sql(arg: str) -> tuple[int, float]:
    import warnings

    import duckdb
    import pandas as pd

    import journeymine as jm

    env = json.loads(arg)

    def run() -> Any:
        with duckdb.connect(env["duckdb"], read_only=True) as con, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas: "only supports SQLAlchemy connectable …"
            frame = pd.read_sql("SELECT * FROM events", con)
        return jm.JourneyLog.from_frame(frame, **MAP, case_attributes=CASE_ATTRS)

    return _timed(run)


STEPS = {f.__name__: f for f in (pg_read_sql, pg_copy_csv_read_csv, pg_pandas_read_sql, pg_connectorx,
                                  duck_read_sql, duck_copy_parquet_read_parquet, duck_pandas_read_sql)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    from journeymine._testing import throwaway_postgres

    parquet = make_parquet(args.events)
    script = str(Path(__file__).resolve())
    tmp = Path(tempfile.mkdtemp(prefix="jm-bench-sources-"))
    os.chmod(tmp, 0o777)  # psql's \copy writes as this user; the server never touches it
    rows: list[dict[str, Any]] = []
    try:
        with throwaway_postgres() as uri:
            start = time.perf_counter()
            load_postgres(uri, parquet)
            load_duckdb(tmp / "events.duckdb", parquet)
            print(f"loaded {args.events:,} events into PostgreSQL and DuckDB in "
                  f"{time.perf_counter() - start:.0f} s")
            env = json.dumps({"postgres": uri, "duckdb": str(tmp / "events.duckdb"), "tmp": str(tmp)})
            have_cx = subprocess.run([sys.executable, "-c", "import connectorx"], check=False,
                                     capture_output=True).returncode == 0
            for db, steps in (("PostgreSQL", ["pg_read_sql", "pg_copy_csv_read_csv", "pg_pandas_read_sql",
                                              *(["pg_connectorx"] if have_cx else [])]),
                              ("DuckDB", ["duck_read_sql", "duck_copy_parquet_read_parquet",
                                          "duck_pandas_read_sql"])):
                measured = [measure(script, step, env, args.repeat) for step in steps]
                base = measured[0]["seconds"]
                for m in measured:
                    m["database"] = db
                    m["x read_sql"] = m["seconds"] / base
                rows += measured
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(f"Sources: {args.events:,} events into a validated JourneyLog (median of {args.repeat})", rows)
    path = write_json("sources", {"events": args.events, "repeat": args.repeat, "rows": rows})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main_timed(STEPS)
    else:
        main()
