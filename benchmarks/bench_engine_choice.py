"""Out-of-core engine choice (issue 29): DuckDB against polars' streaming engine.

(The engine chosen here is measured against the embedded engine and a DuckDB floor by
``bench_outofcore.py``.)

For every size (default 20M, 50M, 100M generated events), each engine runs in a fresh
process over the same Parquet file and computes what journeymine's engine needs for
"journey maps by cohort + whole map + variants":

a. directly-follows edges per cohort and overall: for each case ordered by timestamp
   (timestamps are strictly increasing within a case in the generated data, so the row
   order tie-break never matters), (activity, next activity) with the number of
   occurrences, the number of distinct cases and the exact median duration in
   microseconds (mean of the two middle values for an even count: DuckDB's ``median`` and
   polars' ``median`` both interpolate);
b. start and end activity counts per cohort;
c. variants (activities joined by ``>``), counted per cohort; the top 100 per cohort
   (ties broken by variant string) and the number of distinct variants per cohort.

Engines:

* ``duckdb``: SQL over ``read_parquet`` with ``memory_limit='3GB'``, ``threads=2``,
  ``temp_directory='/tmp/outofcore_spill'``; ``lead()`` over (partition by case order by
  timestamp) materialised as a temp table, then group by (cohort, a, b) and (a, b) with
  ``count(DISTINCT case)`` and ``median``; a case
  table (``arg_min``/``arg_max``/ordered ``string_agg``) for starts, ends and variants.
* ``polars_streaming``: ``scan_parquet`` ... ``collect_all(engine="streaming")``: sort by
  (case, timestamp), shift(-1) with a case-boundary check, group-bys; case level by
  ``group_by(case)`` with ``sort_by`` inside the aggregate. Run with ``POLARS_VERBOSE=1``;
  stderr is kept so that fallbacks to the in-memory engine can be read off.
* ``polars_eager``: ``read_parquet`` then the same work on a DataFrame (the embedded
  engine's style).

Each child reports wall seconds (timed inside), peak RSS (VmHWM) and the peak size of its
spill directory (sampled every 0.25 s). The parent checks every engine's results against
DuckDB's (the reference) and writes ``benchmarks/results/outofcore_choice.json``.

Data: ``case`` string ``c000012345``, ``activity`` string (25 values), ``timestamp``
timestamp[us, UTC], ``cohort`` string (12 values, a case attribute); ~7.5 events per case;
variants drawn from 3000 Zipf-weighted templates, 30% of cases with one mutated activity;
rows shuffled within each 4M-event chunk; zstd, 1M-row row groups; cached in
``/tmp/outofcore_data``.

Usage: ``python benchmarks/bench_engine_choice.py [--events 20000000 50000000]
[--engines duckdb polars_streaming polars_eager] [--eager-max 50000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import _peak_rss_mb, write_json

DATA = Path("/tmp/outofcore_data")
SPILL = Path("/tmp/outofcore_spill")
N_ACT, N_COHORT, CHUNK = 25, 12, 4_000_000
ACTS = [f"A{i:02d} touchpoint" for i in range(N_ACT)]
COHORTS = [f"{s}-Q{q}" for s in ("smb", "mid", "ent") for q in range(1, 5)]


# ---------------------------------------------------------------- data generation
def make_data(n_events: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"events_{n_events // 1_000_000}M.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(29)
    n_t = 3000
    w = 1.0 / np.arange(1, n_t + 1) ** 1.1
    w /= w.sum()
    while True:  # template lengths whose Zipf-weighted mean is ~7.5 events per case
        t_len = 2 + rng.poisson(5.5, n_t)
        if abs(float(w @ t_len) - 7.5) < 0.05:
            break
    t_off = np.concatenate([[0], np.cumsum(t_len)[:-1]])
    flat = rng.integers(3, N_ACT - 3, t_len.sum())
    flat[t_off] = rng.integers(0, 3, n_t)  # start activities
    flat[t_off + t_len - 1] = rng.integers(N_ACT - 3, N_ACT, n_t)  # end activities
    acts = pa.array(ACTS)
    cohorts = pa.array(COHORTS)
    t0 = int(np.datetime64("2024-01-01", "us").astype(np.int64))
    span = 2 * 365 * 86400 * 10**6
    schema = pa.schema([("case", pa.string()), ("activity", pa.string()),
                        ("timestamp", pa.timestamp("us", tz="UTC")), ("cohort", pa.string())])
    tmp = path.with_suffix(".part")
    written, next_case = 0, 0
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        while written < n_events:
            n_cases = int(CHUNK / 7.5)  # ~CHUNK events
            t = rng.choice(n_t, n_cases, p=w)
            lens = t_len[t]
            keep = np.cumsum(lens) <= n_events - written
            t, lens = t[keep], lens[keep]
            n_cases = len(t)
            if n_cases == 0:
                break
            e = int(lens.sum())
            starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
            case_of = np.repeat(np.arange(n_cases), lens)
            pos = np.arange(e) - starts[case_of]
            act = flat[t_off[t][case_of] + pos]
            noisy = rng.random(n_cases) < 0.3
            k = (rng.random(n_cases) * lens).astype(np.int64)
            idx = (starts + k)[noisy]
            act[idx] = rng.integers(0, N_ACT, len(idx))
            d = (rng.exponential(3 * 86400, e).astype(np.int64) + 1) * 10**6
            d[starts] = 0
            cs = np.cumsum(d)
            ts = (t0 + rng.integers(0, span, n_cases))[case_of] + cs - cs[starts][case_of]
            cohort = rng.integers(0, N_COHORT, n_cases)[case_of]
            ids = pa.array(next_case + case_of).cast(pa.string())
            ids = pc.binary_join_element_wise("c", pc.utf8_lpad(ids, 9, "0"), "")
            perm = rng.permutation(e)
            table = pa.table({
                "case": ids.take(perm),
                "activity": acts.take(pa.array(act[perm])),
                "timestamp": pa.array(ts[perm], pa.timestamp("us", tz="UTC")),
                "cohort": cohorts.take(pa.array(cohort[perm])),
            }, schema=schema)
            writer.write_table(table, row_group_size=1_000_000)
            written += e
            next_case += n_cases
            if not keep.all():
                break
    tmp.rename(path)
    return path


# ---------------------------------------------------------------- engines
def _norm_edges(rows: list[tuple]) -> list[list]:
    return sorted([[str(c), a, b, int(n), int(nc), float(m)] for c, a, b, n, nc, m in rows])


def _result(edges: list, se: list, top: list, distinct: list) -> dict[str, Any]:
    return {
        "edges": _norm_edges(edges),
        "start_end": sorted([[k, str(c), a, int(n)] for k, c, a, n in se]),
        "top_variants": sorted([[str(c), v, int(n)] for c, v, n in top],
                               key=lambda r: (r[0], -r[2], r[1])),
        "distinct_variants": sorted([[str(c), int(n)] for c, n in distinct]),
    }


def run_duckdb(path: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET memory_limit='3GB'")
    con.execute("SET threads=2")
    con.execute(f"SET temp_directory='{SPILL}'")
    con.execute("SET preserve_insertion_order=false")
    con.execute("SET max_temp_directory_size='12GB'")  # the disk budget
    con.execute(f"CREATE VIEW ev AS SELECT * FROM read_parquet('{path}')")
    # One query with the window in a CTE and GROUPING SETS + count(DISTINCT) spilled
    # without bound here (it filled the disk at 20M events); materialising the window
    # first and grouping each level on its own takes seconds.
    con.execute("""
        CREATE TEMP TABLE w AS
        SELECT * FROM (
          SELECT "case", cohort, activity AS a,
                 lead(activity) OVER win AS b,
                 epoch_us(lead(timestamp) OVER win) - epoch_us(timestamp) AS dur
          FROM ev WINDOW win AS (PARTITION BY "case" ORDER BY timestamp))
        WHERE b IS NOT NULL""")
    edges = con.execute("""
        SELECT cohort, a, b, count(*), count(DISTINCT "case"), median(dur)
        FROM w GROUP BY cohort, a, b""").fetchall()
    edges += con.execute("""
        SELECT '*', a, b, count(*), count(DISTINCT "case"), median(dur)
        FROM w GROUP BY a, b""").fetchall()
    con.execute("DROP TABLE w")
    con.execute("""
        CREATE TEMP TABLE cs AS
        SELECT "case", any_value(cohort) AS cohort,
               arg_min(activity, timestamp) AS s, arg_max(activity, timestamp) AS e,
               string_agg(activity, '>' ORDER BY timestamp) AS v
        FROM ev GROUP BY "case" """)
    se = con.execute("""
        SELECT 'start', cohort, s, count(*) FROM cs GROUP BY cohort, s
        UNION ALL SELECT 'end', cohort, e, count(*) FROM cs GROUP BY cohort, e""").fetchall()
    con.execute("CREATE TEMP TABLE vc AS SELECT cohort, v, count(*) AS n FROM cs GROUP BY cohort, v")
    top = con.execute("""
        SELECT cohort, v, n FROM vc
        QUALIFY row_number() OVER (PARTITION BY cohort ORDER BY n DESC, v) <= 100""").fetchall()
    distinct = con.execute("SELECT cohort, count(*) FROM vc GROUP BY cohort").fetchall()
    return _result(edges, se, top, distinct)


def _polars_plans(lf: Any) -> list[Any]:
    import polars as pl

    s = lf.select("case", "activity", "timestamp", "cohort").sort(["case", "timestamp"])
    e = s.select(
        "cohort", "case", a=pl.col("activity"), b=pl.col("activity").shift(-1),
        nxt_case=pl.col("case").shift(-1),
        dur=(pl.col("timestamp").shift(-1) - pl.col("timestamp")).dt.total_microseconds(),
    ).filter(pl.col("case") == pl.col("nxt_case"))
    aggs = [pl.len().alias("n"), pl.col("case").n_unique().alias("n_cases"),
            pl.col("dur").median().alias("med")]
    per = e.group_by("cohort", "a", "b").agg(aggs)
    whole = e.group_by("a", "b").agg(aggs).with_columns(cohort=pl.lit("*"))
    edges = pl.concat([per.select("cohort", "a", "b", "n", "n_cases", "med"),
                       whole.select("cohort", "a", "b", "n", "n_cases", "med")])
    ordered = pl.col("activity").sort_by("timestamp")
    cs = lf.group_by("case").agg(
        pl.col("cohort").first(), s=ordered.first(), e=ordered.last(),
        v=ordered.str.join(">"))
    se = pl.concat([
        cs.group_by("cohort", "s").len().select(k=pl.lit("start"), cohort="cohort", a="s", n="len"),
        cs.group_by("cohort", "e").len().select(k=pl.lit("end"), cohort="cohort", a="e", n="len"),
    ])
    vc = cs.group_by("cohort", "v").len()
    top = (vc.sort(["cohort", "len", "v"], descending=[False, True, False])
           .group_by("cohort", maintain_order=True).head(100))
    distinct = vc.group_by("cohort").len()
    return [edges, se, top, distinct]


def _polars_result(frames: list[Any]) -> dict[str, Any]:
    edges, se, top, distinct = frames
    return _result(edges.rows(), se.rows(), top.select("cohort", "v", "len").rows(),
                   distinct.rows())


def run_polars_streaming(path: str) -> dict[str, Any]:
    import polars as pl

    plans = _polars_plans(pl.scan_parquet(path))
    return _polars_result(pl.collect_all(plans, engine="streaming"))


def run_polars_eager(path: str) -> dict[str, Any]:
    import polars as pl

    df = pl.read_parquet(path)
    plans = _polars_plans(df.lazy())
    return _polars_result(pl.collect_all(plans, engine="in-memory"))


ENGINES = {"duckdb": run_duckdb, "polars_streaming": run_polars_streaming,
           "polars_eager": run_polars_eager}


def _dir_size(p: Path) -> int:
    total = 0
    for root, _, files in os.walk(p):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def child(engine: str, path: str, out: str) -> None:
    peak_spill = [0]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peak_spill[0] = max(peak_spill[0], _dir_size(SPILL))
            stop.wait(0.25)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    start = time.perf_counter()
    res = ENGINES[engine](path)
    seconds = time.perf_counter() - start
    stop.set()
    th.join()
    Path(out).write_text(json.dumps(res))
    info = {"seconds": seconds, "peak_mb": _peak_rss_mb(), "spill_mb": peak_spill[0] / 2**20}
    if engine == "polars_streaming":
        info["in_memory_nodes"] = streaming_fallbacks(path)
    print(json.dumps(info))


def streaming_fallbacks(path: str) -> dict[str, list[str]]:
    """Nodes of the streaming physical plans that run on the in-memory engine."""
    import re

    import polars as pl

    names = ["edges", "start_end", "top_variants", "distinct_variants"]
    found = {}
    for name, plan in zip(names, _polars_plans(pl.scan_parquet(path)), strict=True):
        dot = plan.show_graph(engine="streaming", plan_stage="physical", raw_output=True)
        labels = re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)
        found[name] = [lab.replace("\\n", " ").replace('\\"', '"')[:300]
                       for lab in labels if lab.startswith("in-memory")]
    return found


# ---------------------------------------------------------------- parent
def compare(ref: dict[str, Any], got: dict[str, Any]) -> tuple[bool, str]:
    notes = []
    for key in ("start_end", "top_variants", "distinct_variants"):
        if ref[key] != got[key]:
            notes.append(f"{key} differ")
    re_, ge = ref["edges"], got["edges"]
    if [r[:5] for r in re_] != [g[:5] for g in ge]:
        notes.append("edge counts differ")
    else:
        bad = sum(abs(r[5] - g[5]) > 1e-6 * max(1.0, abs(r[5])) for r, g in zip(re_, ge, strict=True))
        if bad:
            notes.append(f"{bad} edge medians differ")
    return (not notes), "; ".join(notes) or "identical"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[20_000_000, 50_000_000, 100_000_000])
    ap.add_argument("--engines", nargs="+", default=list(ENGINES))
    ap.add_argument("--eager-max", type=int, default=50_000_000)
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args()
    result_path = Path(__file__).resolve().parent / "results" / "outofcore_choice.json"
    rows: list[dict[str, Any]] = []
    if result_path.exists():  # keep the cells of earlier sizes, replace the ones rerun
        old = json.loads(result_path.read_text()).get("rows", [])
        rows = [r for r in old if r["events"] not in args.events]
    for n in args.events:
        t = time.perf_counter()
        path = make_data(n)
        import pyarrow.parquet as pq

        md = pq.ParquetFile(path).metadata
        print(f"\n{n:,} events: {path} ({md.num_rows:,} rows, {md.num_row_groups} row groups, "
              f"{path.stat().st_size / 2**20:.0f} MB; ready in {time.perf_counter() - t:.1f} s)",
              flush=True)
        results: dict[str, dict[str, Any]] = {}
        for eng in args.engines:
            if eng == "polars_eager" and n > args.eager_max:
                print(f"  {eng}: skipped (above --eager-max)")
                continue
            shutil.rmtree(SPILL, ignore_errors=True)
            SPILL.mkdir(parents=True)
            out = DATA / f"result_{eng}_{n}.json"
            env = dict(os.environ, POLARS_VERBOSE="1", POLARS_TEMP_DIR=str(SPILL))
            t0 = time.perf_counter()
            try:
                p = subprocess.run([sys.executable, __file__, "--child", eng, str(path), str(out)],
                                   capture_output=True, text=True, env=env, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                p = None
            wall = time.perf_counter() - t0
            row: dict[str, Any] = {"events": md.num_rows, "engine": eng, "process_wall_s": wall}
            if p is None or p.returncode != 0:
                err = "timeout" if p is None else p.stderr[-1500:]
                row.update(seconds=None, peak_mb=None, spill_mb=None, equal=None, note=err)
                print(f"  {eng}: FAILED after {wall:.1f} s\n{err}", flush=True)
            else:
                row.update(json.loads(p.stdout.strip().splitlines()[-1]))
                results[eng] = json.loads(out.read_text())
                if eng == "polars_streaming":
                    fb = [ln for ln in p.stderr.splitlines()
                          if "fallback" in ln.lower() or "running in-memory" in ln.lower()
                          or "not supported" in ln.lower()]
                    row["fallback_log"] = sorted(set(fb))[:40]
                    (DATA / f"polars_verbose_{n}.log").write_text(p.stderr[-200_000:])
            rows = [r for r in rows if not (r["events"] == md.num_rows and r["engine"] == eng)]
            rows.append(row)
        ref = results.get("duckdb")
        for row in rows:
            if row["events"] != md.num_rows or row["engine"] not in results:
                continue
            if ref is None:
                row["equal"], row["note"] = None, "no reference"
            else:
                row["equal"], row["note"] = compare(ref, results[row["engine"]])
            row["n_edges"] = len(results[row["engine"]]["edges"])
        write_json("outofcore_choice", {"rows": rows, "data": str(DATA), "reference": "duckdb",
                                        "median": "exact, mean of the two middle values"})
    print(f"\n{'events':>12} {'engine':<18} {'seconds':>8} {'peak MB':>8} {'spill MB':>9} "
          f"{'s/M ev':>7} equal")
    for r in sorted(rows, key=lambda r: (r["events"], r["engine"])):
        s = r.get("seconds")
        print(f"{r['events']:>12,} {r['engine']:<18} "
              + (f"{s:>8.1f} {r['peak_mb']:>8.0f} {r['spill_mb']:>9.0f} "
                 f"{s / r['events'] * 1e6:>7.3f} {r.get('equal')} ({r.get('note')})"
                 if s is not None else "  failed"))


if __name__ == "__main__":
    main()
