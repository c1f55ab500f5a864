"""Bigger than memory (issue 29): the DuckDB engine against the embedded engine and a
hand-written DuckDB floor, on synthetic Parquet at 20M, 50M and 100M events.

For every size, in one run and in fresh processes over the same Parquet file (the data of
``bench_engine_choice.py``: string case ids, 25 activities, 12 cohorts as a case
attribute, ~7.5 events per account, rows shuffled), each contender does "journey maps by
cohort + whole map + variants + KPIs + clustering units":

* ``jm_duckdb``: ``jm.read_parquet(path, engine="duckdb", memory_limit=...)``, then
  ``journey_map(log, by="cohort")``, ``journey_map(log)``, ``variants(log)``,
  ``kpis(log, outcomes=...)`` and the clustering units (the engine's
  ``clustering_units``, what ``JourneyClusterer.fit`` aggregates before its EM);
* ``jm_embedded``: the same calls on ``jm.read_parquet(path)`` (in memory; only up to
  ``--embedded-max`` events, as it needs ~0.45 GB per million events);
* ``floor``: hand-written DuckDB SQL with the same threads and DuckDB's default memory
  limit (80% of RAM: its ``count(DISTINCT)``, quantile and list states cannot spill, and
  it is a floor for time, not memory), doing the
  same aggregations once each: a ``lead()`` window per account ordered by (timestamp, file
  row), edges per cohort and overall (count, distinct accounts, mean, median, p90, min,
  max), activities per cohort (events, accounts), start and end activities, variants per
  cohort (count, median duration), the KPI basics (accounts reaching each outcome, median
  time to it, per cohort, and what stage durations need: a second window giving time,
  visits and events per account and stage, and the moves between stages; each activity
  is its own stage here) and the clustering units (variant x pace bin: count, sums of the
  log10 gaps).

Each child reports wall seconds (timed inside, Python start-up excluded), peak RSS
(VmHWM) and the peak size of the folders DuckDB spills to; journeymine children also the
time of each phase. At each size where both ran, the parent checks that the two
journeymine engines' tables are equal (counts exactly, floats to 1e-9) and that the floor's
edge counts agree with them. Writes ``benchmarks/results/outofcore.json``.

Usage: ``python benchmarks/bench_outofcore.py [--events 20000000 50000000 100000000]
[--memory-limit 1.5GB] [--floor-memory-limit default] [--embedded-max 20000000] [--contenders jm_duckdb jm_embedded floor]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import _peak_rss_mb, write_json
from bench_engine_choice import ACTS, DATA, _dir_size, make_data

SPILL = Path(tempfile.gettempdir()) / "outofcore_jm_spill"
OUTCOMES = {"won": [ACTS[-1]], "lost": [ACTS[-2]]}
MAP_COLUMNS = ["count", "cases", "mean", "median", "p90", "min", "max"]


def _spill_watch() -> tuple[threading.Event, list[int], threading.Thread]:
    peak = [0]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _dir_size(SPILL))
            stop.wait(0.5)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    return stop, peak, th


# ---------------------------------------------------------------- journeymine
def run_jm(engine: str, path: str, out: Path, memory_limit: str) -> dict[str, Any]:
    import polars as pl

    import journeymine as jm
    from journeymine._clustering import _PACE_BUCKETS, _PACE_EDGES
    from journeymine._engine import engine_of

    phases: dict[str, float] = {}
    t = time.perf_counter()
    options: dict[str, Any] = (
        dict(engine="duckdb", memory_limit=memory_limit, threads=2, temp_directory=str(SPILL))
        if engine == "duckdb" else {}
    )
    log = jm.read_parquet(path, case="case", activity="activity", timestamp="timestamp",
                          case_attributes=["cohort"], **options)
    phases["read + validate"] = time.perf_counter() - t
    t = time.perf_counter()
    by_cohort = jm.journey_map(log, by="cohort")
    phases["12 cohort maps"] = time.perf_counter() - t
    t = time.perf_counter()
    whole = jm.journey_map(log)
    phases["whole map"] = time.perf_counter() - t
    t = time.perf_counter()
    variants = jm.variants(log)
    phases["variants"] = time.perf_counter() - t
    t = time.perf_counter()
    kpis = jm.kpis(log, outcomes=OUTCOMES, won="won", by="cohort").to_dataframe()
    phases["KPIs"] = time.perf_counter() - t
    t = time.perf_counter()
    units = engine_of(log).clustering_units(log, _PACE_EDGES, _PACE_EDGES, _PACE_BUCKETS, None)
    phases["clustering units"] = time.perf_counter() - t
    seconds = sum(phases.values())
    edges = [pl.from_pandas(whole.edges).with_columns(cohort=pl.lit("*"))]
    edges += [pl.from_pandas(by_cohort[k].edges).with_columns(cohort=pl.lit(k)) for k in by_cohort]  # type: ignore[index]
    out.mkdir(parents=True, exist_ok=True)
    pl.concat(edges, how="diagonal_relaxed").sort("cohort", "source", "target").write_parquet(out / "edges.parquet")
    pl.from_pandas(variants).write_parquet(out / "variants.parquet")
    pl.from_pandas(kpis.reset_index()).write_parquet(out / "kpis.parquet")
    units.select("variant", "group", "pace", "n", "pn", "ps", "pq",
                 pl.col("code").list.first().alias("first")).write_parquet(out / "units.parquet")
    return {"seconds": seconds, "phases": phases, "n_events": log.n_events, "n_cases": log.n_cases,
            "n_variants": len(variants), "n_units": units.height}


# ---------------------------------------------------------------- floor
def run_floor(path: str, out: Path, memory_limit: str) -> dict[str, Any]:
    import duckdb
    import polars as pl

    phases: dict[str, float] = {}
    t = time.perf_counter()
    config = {"threads": 2, "temp_directory": str(SPILL / "tmp"), "preserve_insertion_order": False}
    if memory_limit != "default":
        config["memory_limit"] = memory_limit
    con = duckdb.connect(config=config)
    lit = "'" + path.replace("'", "''") + "'"
    con.execute(f"""
        CREATE TABLE ev AS SELECT "case", cohort, activity AS a, lead(activity) OVER w AS b,
          epoch_us(timestamp) AS ts, lead(epoch_us(timestamp)) OVER w - epoch_us(timestamp) AS gap,
          row_number() OVER w AS i
        FROM read_parquet({lit}, file_row_number = true)
        WINDOW w AS (PARTITION BY "case" ORDER BY timestamp, file_row_number)""")
    phases["read + window"] = time.perf_counter() - t
    t = time.perf_counter()
    edges = []
    for key, group in (("cohort", "cohort, a, b"), ("'*'", "a, b")):
        edges.append(con.sql(f"""
            SELECT {key} AS cohort, a AS source, b AS target, count(*) AS count,
              count(DISTINCT "case") AS cases, avg(gap) / 1e6 AS mean,
              quantile_cont(gap, 0.5) / 1e6 AS median, quantile_cont(gap, 0.9) / 1e6 AS p90,
              min(gap) / 1e6 AS min, max(gap) / 1e6 AS max
            FROM ev WHERE b IS NOT NULL GROUP BY {group}""").pl())
        con.sql(f"""SELECT {key} AS cohort, a, count(*) AS events, count(DISTINCT "case") AS cases
                    FROM ev GROUP BY {group.replace(', b', '')}""").pl()
        con.sql(f"""SELECT {key} AS cohort, a, count(*) FILTER (WHERE i = 1) AS starts,
                    count(*) FILTER (WHERE b IS NULL) AS ends FROM ev
                    WHERE i = 1 OR b IS NULL GROUP BY {group.replace(', b', '')}""").pl()
    phases["maps"] = time.perf_counter() - t
    t = time.perf_counter()
    con.execute("""
        CREATE TEMP TABLE cs AS SELECT "case", any_value(cohort) AS cohort, list(a ORDER BY i) AS v,
          (max(ts) - min(ts)) / 1e6 AS seconds,
          min(ts) FILTER (WHERE a = $won) - min(ts) AS won, min(ts) FILTER (WHERE a = $lost) AS lost,
          quantile_cont(log10(greatest(gap / 1e6, 1.0)), 0.5) AS m, count(gap) AS gn,
          sum(log10(greatest(gap / 1e6, 1.0))) AS gs, sum(pow(log10(greatest(gap / 1e6, 1.0)), 2)) AS gq
        FROM ev GROUP BY "case" """, {"won": OUTCOMES["won"][0], "lost": OUTCOMES["lost"][0]})
    variants = con.sql("""SELECT v, count(*) AS n, median(seconds) AS median_duration FROM cs
                          GROUP BY v""").pl()
    con.sql("SELECT cohort, v, count(*) FROM cs GROUP BY cohort, v").pl()
    phases["variants"] = time.perf_counter() - t
    t = time.perf_counter()
    con.sql("""SELECT cohort, count(*) AS accounts, count(won) AS won, count(lost) AS lost,
               median(won) / 1e6 AS median_to_won FROM cs GROUP BY cohort""").pl()
    # what kpis() needs besides: time in each stage (here each activity is its own stage)
    # per account, visits and stage-to-stage moves, from a second window over the accounts
    con.execute("""
        CREATE TEMP TABLE sv AS SELECT "case", cohort, a, coalesce(gap / 1e6, 0.0) AS seconds, b,
          coalesce(lag(a) OVER w <> a, true) AS visit
        FROM ev WINDOW w AS (PARTITION BY "case" ORDER BY i)""")
    con.sql("""SELECT cohort, "case", a, sum(seconds), count(*) FILTER (WHERE visit), count(*)
               FROM sv GROUP BY ALL""").pl()
    con.sql("""SELECT cohort, a, b, count(*), count(DISTINCT "case") FROM sv
               WHERE b IS NOT NULL AND b <> a GROUP BY ALL""").pl()
    phases["KPIs"] = time.perf_counter() - t
    t = time.perf_counter()
    units = con.sql("""SELECT v, CASE WHEN m IS NULL THEN -1 ELSE floor(m * 2) END AS pace, count(*) AS n,
                       sum(gn) AS pn, sum(gs) AS ps, sum(gq) AS pq FROM cs GROUP BY ALL""").pl()
    phases["clustering units"] = time.perf_counter() - t
    out.mkdir(parents=True, exist_ok=True)
    pl.concat(edges).sort("cohort", "source", "target").write_parquet(out / "edges.parquet")
    con.close()
    return {"seconds": sum(phases.values()), "phases": phases, "n_variants": variants.height,
            "n_units": units.height}


def child(contender: str, path: str, out: str, memory_limit: str) -> None:
    shutil.rmtree(SPILL, ignore_errors=True)
    SPILL.mkdir(parents=True)
    stop, peak, th = _spill_watch()
    if contender == "floor":
        info = run_floor(path, Path(out), memory_limit)
    else:
        info = run_jm(contender.removeprefix("jm_"), path, Path(out), memory_limit)
    stop.set()
    th.join()
    info.update(peak_mb=_peak_rss_mb(), spill_mb=peak[0] / 2**20)
    shutil.rmtree(SPILL, ignore_errors=True)
    print(json.dumps(info))


# ---------------------------------------------------------------- parent
def compare(a: Path, b: Path) -> str:
    import polars as pl
    from polars.testing import assert_frame_equal

    notes = []
    for name in ("edges", "variants", "kpis", "units"):
        x, y = pl.read_parquet(a / f"{name}.parquet"), pl.read_parquet(b / f"{name}.parquet")
        if name == "variants":
            x, y = x.sort(x.columns[:2]), y.sort(y.columns[:2])
        try:
            assert_frame_equal(x, y, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-6)
        except AssertionError as exc:
            notes.append(f"{name}: {str(exc)[:300]}")
    return "; ".join(notes) or "equal"


def floor_agrees(jm_dir: Path, floor_dir: Path) -> str:
    import polars as pl

    x = pl.read_parquet(jm_dir / "edges.parquet").select("cohort", "source", "target", "count", "cases")
    y = pl.read_parquet(floor_dir / "edges.parquet").select("cohort", "source", "target", "count", "cases")
    x, y = x.sort(x.columns), y.sort(y.columns)
    return "edge counts agree" if x.cast(y.schema).equals(y) else "edge counts DIFFER"  # type: ignore[arg-type]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[20_000_000, 50_000_000, 100_000_000])
    ap.add_argument("--contenders", nargs="+", default=["jm_duckdb", "jm_embedded", "floor"])
    ap.add_argument("--memory-limit", default="1.5GB", help="the DuckDB engine's memory_limit")
    ap.add_argument("--floor-memory-limit", default="default",
                    help="the floor's (default: DuckDB's own, 80%% of RAM: the floor is a time floor; its "
                         "count(DISTINCT), quantile and list states cannot spill)")
    ap.add_argument("--embedded-max", type=int, default=20_000_000)
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args()
    result_path = Path(__file__).resolve().parent / "results" / "outofcore.json"
    rows: list[dict[str, Any]] = []
    if result_path.exists():  # keep the cells of other sizes
        rows = [r for r in json.loads(result_path.read_text()).get("rows", []) if r["events"] not in args.events]
    for n in args.events:
        t = time.perf_counter()
        path = make_data(n)
        print(f"\n{n:,} events: {path} ({path.stat().st_size / 2**20:.0f} MB; ready in "
              f"{time.perf_counter() - t:.0f} s)", flush=True)
        outs: dict[str, Path] = {}
        for who in args.contenders:
            if who == "jm_embedded" and n > args.embedded_max:
                print(f"  {who}: skipped (above --embedded-max: it would not fit in memory)", flush=True)
                continue
            out = DATA / f"outofcore_{who}_{n}"
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            try:
                limit = args.floor_memory_limit if who == "floor" else args.memory_limit
                p = subprocess.run([sys.executable, __file__, "--child", who, str(path), str(out), limit],
                                   capture_output=True, text=True, timeout=args.timeout,
                                   env={**os.environ, "PYTHONWARNINGS": "ignore"})
            except subprocess.TimeoutExpired:
                p = None
            row: dict[str, Any] = {"events": n, "contender": who, "process_wall_s": time.perf_counter() - t0,
                                   "memory_limit": limit if who != "jm_embedded" else None}
            if p is None or p.returncode != 0:
                row.update(seconds=None, note="timeout" if p is None else p.stderr[-1500:])
                print(f"  {who}: FAILED\n{row['note']}", flush=True)
            else:
                row.update(json.loads(p.stdout.strip().splitlines()[-1]))
                outs[who] = out
                print(f"  {who}: {row['seconds']:.1f} s, peak {row['peak_mb']:.0f} MB, spill "
                      f"{row['spill_mb']:.0f} MB  {json.dumps({k: round(v, 1) for k, v in row['phases'].items()})}",
                      flush=True)
            rows.append(row)
        here = [r for r in rows if r["events"] == n and r.get("seconds")]
        floor = next((r for r in here if r["contender"] == "floor"), None)
        for r in here:
            if floor is not None:
                r["x_floor"] = r["seconds"] / floor["seconds"]
            if r["contender"] == "jm_duckdb" and "jm_embedded" in outs:
                r["equal_to_embedded"] = compare(outs["jm_duckdb"], outs["jm_embedded"])
            if r["contender"].startswith("jm_") and "floor" in outs:
                r["floor_check"] = floor_agrees(outs[r["contender"]], outs["floor"])
        write_json("outofcore", {"rows": rows, "data": str(DATA), "threads": 2,
                                 "note": "seconds timed inside each child; peak_mb is the process's VmHWM"})
    print(f"\n{'events':>12} {'contender':<12} {'seconds':>8} {'x floor':>8} {'peak MB':>8} {'spill MB':>9} "
          f"{'s/M ev':>7}")
    for r in sorted(rows, key=lambda r: (r["events"], r["contender"])):
        s = r.get("seconds")
        if s is None:
            print(f"{r['events']:>12,} {r['contender']:<12}  failed")
            continue
        print(f"{r['events']:>12,} {r['contender']:<12} {s:>8.1f} {r.get('x_floor', float('nan')):>8.2f} "
              f"{r['peak_mb']:>8.0f} {r['spill_mb']:>9.0f} {s / r['events'] * 1e6:>7.3f} "
              f"{r.get('equal_to_embedded', '')} {r.get('floor_check', '')}")
    marginal = {}
    for who in ("jm_duckdb", "floor", "jm_embedded"):
        s = {r["events"]: r["seconds"] for r in rows if r["contender"] == who and r.get("seconds")}
        sizes = sorted(s)
        if len(sizes) > 1:
            lo, hi = sizes[0], sizes[-1]
            marginal[who] = {"from": lo, "to": hi, "s_per_million": (s[hi] - s[lo]) / ((hi - lo) / 1e6)}
            print(f"marginal cost of {who}: {marginal[who]['s_per_million']:.2f} s per million events "
                  f"({lo:,} -> {hi:,})")
    write_json("outofcore", {"rows": rows, "marginal": marginal, "data": str(DATA), "threads": 2,
                             "note": "seconds timed inside each child; peak_mb is the process's VmHWM"})


if __name__ == "__main__":
    main()
