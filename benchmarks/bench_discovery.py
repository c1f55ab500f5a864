"""Discovery benchmark: journey maps with time statistics, per cohort, and variants.

For every size (default 1M and 5M generated events, 12 cohorts), compares in one run and
in fresh processes, each reading the same Parquet file:

* **journeymine**: ``jm.read_parquet`` (load), then ``jm.journey_map(log)`` +
  ``jm.journey_map(log, by="cohort")`` + ``jm.variants(log)`` (discovery); a second row
  reads only the columns the maps need (``event_attributes=[]``), for memory;
* **pm4py on pandas**: ``pandas.read_parquet`` + ``pm4py.format_dataframe`` (load), then
  ``discover_dfg`` + ``discover_performance_dfg`` on the whole frame and on each of the 12
  cohort sub-frames, and ``get_variants`` (discovery);
* **pm4py on polars** (its fastest path; pm4py 2.7.23 takes a ``polars.LazyFrame``):
  ``polars.read_parquet`` + sort by (case, timestamp) + ``.lazy()`` (load; pm4py's polars
  start/end activities need the sort), then the same calls (discovery);
* **floor**: hand-written polars: read of the four needed columns (load), then one sort by
  (case, timestamp), one shift, group-bys by (cohort, source, target) and (source, target)
  with count, distinct cases, mean, median, p90, min and max seconds, start and end
  activities, and variant counts (discovery);
* **DuckDB floor**: hand-written DuckDB SQL (2 threads, default memory) on the same file:
  one ``lead()`` window per case ordered by (timestamp, file row number), materialised as a
  table of steps (load: read + sort), then group-bys by (cohort, source, target) and
  (source, target) with the same statistics, start and end activity counts, and every
  case's variant (an ordered ``string_agg``) counted per cohort and overall (discovery);
* optionally (``--baseline SRC``) **journeymine before**: the journeymine step run with
  another checkout's ``src`` folder first on ``PYTHONPATH``, for before/after figures
  measured in the same run.

The 12 cohorts are segment x quarter of the account's first touch (3 x 4), precomputed
as a ``cohort`` column in the cached Parquet and used by every contender. Each step reports
its load and discovery seconds separately (timed inside the child), the peak memory of
the whole process (load included) and the peak reached by the end of loading. Repeats run
in rounds (each contender once per round). After timing, each step writes what it found
(edge counts and times for the log and each cohort, start/end activities, variant counts)
and the parent checks that all contenders agree.

Usage: ``python benchmarks/bench_discovery.py [--events 1000000 5000000] [--repeat 1]
[--skip-pm4py-pandas] [--no-profile] [--baseline SRC] [--name NAME]``; for a baseline from an earlier
commit: ``git archive <commit> src | tar -x -C /tmp/base`` and ``--baseline /tmp/base/src``. Data from ``jm.datasets.demo_b2b`` (~7.3 events per account,
rows shuffled), cached in ``benchmarks/.cache``. Writes ``benchmarks/results/discovery.json``
(``--name``: another name; the issue-29 runs are ``discovery_issue29.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import _peak_rss_mb, write_json

CACHE = Path(__file__).resolve().parent / ".cache"
CASE, ACT, TS = "account_id", "touchpoint", "timestamp"
CASE_ATTRS = ["segment", "product", "market", "cohort"]
PM4PY_KEYS = dict(case_id_key=CASE, activity_key=ACT, timestamp_key=TS)
SEP = "\x1f"  # joins a variant's activities in DuckDB (no activity name holds it)


def make_data(n_events: int) -> Path:
    """Generate (once) a Parquet log of about ``n_events`` with a 12-value ``cohort`` column."""
    path = CACHE / f"demo_disc_{n_events}.parquet"
    if path.exists():
        return path
    import polars as pl

    import journeymine as jm

    CACHE.mkdir(exist_ok=True)
    probe = jm.datasets.demo_b2b(2_000, random_state=0, as_frame=True)
    n_accounts = round(n_events / (len(probe) / 2_000))
    df = pl.from_pandas(jm.datasets.demo_b2b(n_accounts, random_state=0, as_frame=True))
    first = pl.col(TS).min().over(CASE)
    df = df.with_columns(
        (pl.col("segment") + " Q" + first.dt.quarter().cast(pl.String)).alias("cohort")
    )
    # real exports are not sorted by case
    df.sample(fraction=1.0, shuffle=True, seed=0).write_parquet(path)
    return path


# -- fingerprints of the outputs (computed after timing, compared in the parent) -----------
def _variant_digest(counts: dict[tuple[str, ...], int]) -> dict[str, Any]:
    lines = sorted(f"{'>'.join(v)}\t{n}" for v, n in counts.items())
    return {"n": len(lines), "cases": sum(counts.values()),
            "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest()}


def _write_fingerprint(step: str, path: str, fp: dict[str, Any]) -> None:
    out = CACHE / f"fp_{step}_{Path(path).stem}.json"
    out.write_text(json.dumps(fp))


def _pm4py_fingerprint(whole: tuple, perf: tuple, cohorts: dict, variants: dict) -> dict[str, Any]:
    dfg, starts, ends = whole
    pdfg = perf[0]
    edges = {f"{a}\t{b}": {"count": int(n), "mean": pdfg[(a, b)]["mean"],
                           "median": pdfg[(a, b)]["median"], "min": pdfg[(a, b)]["min"],
                           "max": pdfg[(a, b)]["max"]} for (a, b), n in dfg.items()}
    cohort_edges = {}
    for key, (cdfg, cperf) in cohorts.items():
        for (a, b), n in cdfg.items():
            cohort_edges[f"{key}\t{a}\t{b}"] = {"count": int(n), "mean": cperf[(a, b)]["mean"],
                                                "median": cperf[(a, b)]["median"]}
    return {"edges": edges, "cohort_edges": cohort_edges,
            "starts": {k: int(v) for k, v in starts.items()},
            "ends": {k: int(v) for k, v in ends.items()},
            "variants": _variant_digest({tuple(k): int(v) for k, v in variants.items()})}


# -- steps (run in child processes); each returns n, load seconds and discovery phases -----
def jm_step(path: str, event_attributes: Any = "all", name: str = "jm") -> dict[str, Any]:
    import journeymine as jm

    t0 = time.perf_counter()
    log = jm.read_parquet(path, case=CASE, activity=ACT, timestamp=TS, case_attributes=CASE_ATTRS,
                          event_attributes=event_attributes)
    t1 = time.perf_counter()
    load_peak = _peak_rss_mb()
    whole = jm.journey_map(log)
    t2 = time.perf_counter()
    maps = jm.journey_map(log, by="cohort")
    t3 = time.perf_counter()
    var = jm.variants(log)
    t4 = time.perf_counter()
    assert len(maps) == 12, len(maps)

    def rows(frame: Any, prefix: str = "") -> dict[str, Any]:
        return {f"{prefix}{r.source}\t{r.target}": {"count": int(r.count), "cases": int(r.cases),
                                                    "mean": r.mean, "median": r.median, "p90": r.p90,
                                                    "min": r.min, "max": r.max}
                for r in frame.itertuples()}

    cohort_edges: dict[str, Any] = {}
    for key, m in maps.items():
        cohort_edges.update(rows(m.edges, f"{key}\t"))
    _write_fingerprint(name, path, {
        "edges": rows(whole.edges), "cohort_edges": cohort_edges,
        "starts": dict(zip(whole.start_activities["activity"], map(int, whole.start_activities["count"]), strict=True)),
        "ends": dict(zip(whole.end_activities["activity"], map(int, whole.end_activities["count"]), strict=True)),
        "variants": _variant_digest(dict(zip(var["variant"], map(int, var["cases"]), strict=True))),
    })
    return {"n": log.n_events, "load": t1 - t0, "load_peak_mb": load_peak,
            "phases": {"whole-log map": t2 - t1, "12 cohort maps": t3 - t2, "variants": t4 - t3}}


def _pm4py_discovery(frame: Any, parts: Callable[[], dict[str, Any]], keys: dict[str, str]) -> tuple:
    import pm4py

    t0 = time.perf_counter()
    whole = pm4py.discover_dfg(frame, **keys)
    t1 = time.perf_counter()
    perf = pm4py.discover_performance_dfg(frame, **keys)
    t2 = time.perf_counter()
    cohorts = {}
    for key, sub in parts().items():
        cohorts[key] = (pm4py.discover_dfg(sub, **keys)[0], pm4py.discover_performance_dfg(sub, **keys)[0])
    t3 = time.perf_counter()
    variants = pm4py.get_variants(frame, **keys)
    t4 = time.perf_counter()
    phases = {"dfg": t1 - t0, "performance dfg": t2 - t1,
              "12 cohorts (dfg + performance dfg)": t3 - t2, "variants": t4 - t3}
    assert len(cohorts) == 12, len(cohorts)
    return phases, _pm4py_fingerprint(whole, perf, cohorts, variants)


def pm4py_pandas(path: str) -> dict[str, Any]:
    import pandas as pd
    import pm4py

    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    df = pm4py.format_dataframe(df, case_id=CASE, activity_key=ACT, timestamp_key=TS)
    t1 = time.perf_counter()
    load_peak = _peak_rss_mb()

    def parts() -> dict[str, Any]:
        return {str(k): sub for k, sub in df.groupby("cohort", sort=True)}

    phases, fp = _pm4py_discovery(df, parts, {})  # format_dataframe's standard column names
    _write_fingerprint("pm4py_pandas", path, fp)
    return {"n": len(df), "load": t1 - t0, "load_peak_mb": load_peak, "phases": phases}


def pm4py_polars(path: str) -> dict[str, Any]:
    import polars as pl

    t0 = time.perf_counter()
    # pm4py's polars start/end activities take each case's first/last row as stored, so
    # the frame must be sorted by (case, timestamp) first, as format_dataframe does
    df = pl.read_parquet(path).sort([CASE, TS], maintain_order=True)
    lf = df.lazy()
    t1 = time.perf_counter()
    load_peak = _peak_rss_mb()

    def parts() -> dict[str, Any]:
        return {str(k[0]): sub.lazy() for k, sub in df.partition_by("cohort", as_dict=True).items()}

    phases, fp = _pm4py_discovery(lf, parts, PM4PY_KEYS)
    _write_fingerprint("pm4py_polars", path, fp)
    return {"n": df.height, "load": t1 - t0, "load_peak_mb": load_peak, "phases": phases}


def floor_step(path: str) -> dict[str, Any]:
    import polars as pl

    t0 = time.perf_counter()
    df = pl.read_parquet(path, columns=[CASE, ACT, TS, "cohort"])
    t1 = time.perf_counter()
    load_peak = _peak_rss_mb()
    df = df.sort([CASE, TS], maintain_order=True)
    t2 = time.perf_counter()
    same_case = pl.col(CASE) == pl.col(CASE).shift(-1)
    steps = df.with_columns(
        pl.col(ACT).shift(-1).alias("target"),
        ((pl.col(TS).shift(-1) - pl.col(TS)).dt.total_microseconds() / 1e6).alias("seconds"),
    ).filter(same_case)
    stats = [pl.len().alias("count"), pl.col(CASE).n_unique().alias("cases"),
             pl.col("seconds").mean().alias("mean"), pl.col("seconds").median().alias("median"),
             pl.col("seconds").quantile(0.9, interpolation="linear").alias("p90"),
             pl.col("seconds").min().alias("min"), pl.col("seconds").max().alias("max")]
    cohort_edges = steps.group_by("cohort", ACT, "target").agg(stats)
    edges = steps.group_by(ACT, "target").agg(stats)
    t3 = time.perf_counter()
    first = df.filter(pl.col(CASE) != pl.col(CASE).shift(1).fill_null(""))
    last = df.filter(same_case.not_().fill_null(True))
    cohort_starts = first.group_by("cohort", ACT).len("count")
    cohort_ends = last.group_by("cohort", ACT).len("count")
    starts = cohort_starts.group_by(ACT).agg(pl.col("count").sum())
    ends = cohort_ends.group_by(ACT).agg(pl.col("count").sum())
    t4 = time.perf_counter()
    variants = df.group_by(CASE, maintain_order=True).agg(pl.col(ACT)).group_by(ACT).len("count")
    t5 = time.perf_counter()

    def rows(frame: pl.DataFrame, key: list[str], fields: list[str]) -> dict[str, Any]:
        return {"\t".join(r[k] for k in key): {f: r[f] for f in fields} for r in frame.iter_rows(named=True)}

    fields = ["count", "cases", "mean", "median", "p90", "min", "max"]
    _write_fingerprint("floor", path, {
        "edges": rows(edges, [ACT, "target"], fields),
        "cohort_edges": rows(cohort_edges, ["cohort", ACT, "target"], fields),
        "starts": dict(starts.iter_rows()), "ends": dict(ends.iter_rows()),
        "variants": _variant_digest({tuple(v): n for v, n in variants.iter_rows()}),
    })
    return {"n": df.height, "load": t1 - t0, "load_peak_mb": load_peak,
            "phases": {"sort": t2 - t1, "shift + edge group-bys": t3 - t2,
                       "start/end activities": t4 - t3, "variants": t5 - t4}}


def duckdb_step(path: str) -> dict[str, Any]:
    """Hand-written DuckDB SQL doing the journeymine step's aggregations (a floor)."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    # one window per case; ties in time keep the file's order, as journeymine's stable sort
    con.execute(f"""
        CREATE TEMP TABLE steps AS
        SELECT {CASE} AS c, cohort, {ACT} AS a,
               lead({ACT}) OVER w AS b,
               (epoch_us(lead("{TS}") OVER w) - epoch_us("{TS}")) / 1e6 AS s,
               row_number() OVER w AS pos
        FROM read_parquet(?, file_row_number = true)
        WINDOW w AS (PARTITION BY {CASE} ORDER BY "{TS}", file_row_number)
    """, [path])
    t1 = time.perf_counter()
    load_peak = _peak_rss_mb()
    stats = ("count(*) AS count, count(DISTINCT c) AS cases, avg(s) AS mean, median(s) AS median, "
             "quantile_cont(s, 0.9) AS p90, min(s) AS min, max(s) AS max")
    cohort_edges = con.sql(f"SELECT cohort, a, b, {stats} FROM steps WHERE b IS NOT NULL "
                           "GROUP BY cohort, a, b").fetchall()
    edges = con.sql(f"SELECT a, b, {stats} FROM steps WHERE b IS NOT NULL GROUP BY a, b").fetchall()
    t2 = time.perf_counter()
    cohort_starts = con.sql("SELECT cohort, a, count(*) FROM steps WHERE pos = 1 GROUP BY cohort, a").fetchall()
    cohort_ends = con.sql("SELECT cohort, a, count(*) FROM steps WHERE b IS NULL GROUP BY cohort, a").fetchall()
    t3 = time.perf_counter()
    # string_agg ordered by position: 3x faster here than an ordered list() of the activities
    con.execute(f"""
        CREATE TEMP TABLE case_variants AS
        SELECT any_value(cohort) AS cohort, string_agg(a, '{SEP}' ORDER BY pos) AS v
        FROM steps GROUP BY c
    """)
    cohort_variants = con.sql("SELECT cohort, v, count(*) FROM case_variants GROUP BY cohort, v").fetchall()
    variants = con.sql("SELECT v, count(*) FROM case_variants GROUP BY v").fetchall()
    t4 = time.perf_counter()
    n = con.sql("SELECT count(*) FROM steps").fetchall()[0][0]
    con.close()
    assert len({c for c, _, _ in cohort_variants}) == 12, "12 cohorts"
    assert sum(k for _, _, k in cohort_variants) == sum(k for _, k in variants), "cases per cohort"

    fields = ["count", "cases", "mean", "median", "p90", "min", "max"]

    def counts(rows: list[tuple]) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, act, k in rows:
            out[act] = out.get(act, 0) + int(k)
        return out

    _write_fingerprint("duckdb", path, {
        "edges": {f"{a}\t{b}": dict(zip(fields, rest, strict=True)) for a, b, *rest in edges},
        "cohort_edges": {f"{c}\t{a}\t{b}": dict(zip(fields, rest, strict=True))
                         for c, a, b, *rest in cohort_edges},
        "starts": counts(cohort_starts), "ends": counts(cohort_ends),
        "variants": _variant_digest({tuple(v.split(SEP)): int(k) for v, k in variants}),
    })
    return {"n": n, "load": t1 - t0, "load_peak_mb": load_peak,
            "phases": {"edge group-bys": t2 - t1, "start/end activities": t3 - t2,
                       "variants (per cohort and overall)": t4 - t3}}


def jm_profile(path: str) -> dict[str, Any]:
    """Where journeymine's discovery time goes (not part of the comparison)."""
    import journeymine as jm
    from journeymine._discovery import journey_tables
    from journeymine._encoding import case_variants, encode
    from journeymine._stages import activity_ranks, stage_assignment

    t0 = time.perf_counter()
    log = jm.read_parquet(path, case=CASE, activity=ACT, timestamp=TS, case_attributes=CASE_ATTRS)
    t = time.perf_counter()
    load = t - t0
    phases = {}

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        phases[name] = now - t
        t = now

    encode(log)
    lap("encode (integer codes, cached)")
    ranks = activity_ranks(log, stage_assignment(log))
    lap("stage assignment (cached)")
    journey_tables(log, None, stage_rank=ranks)
    lap("journey_tables, whole log")
    journey_tables(log, "cohort", stage_rank=ranks)
    lap("journey_tables, 12 cohorts")
    jm.journey_map(log)
    lap("journey_map(log), codes and stages cached")
    jm.journey_map(log, by="cohort")
    lap("journey_map(log, by=cohort), codes and stages cached")
    case_variants(log)
    lap("case_variants (list per case, cached)")
    jm.variants(log)
    lap("variants(log), case lists cached")
    return {"n": log.n_events, "load": load, "phases": phases}


def jm_narrow(path: str) -> dict[str, Any]:
    """journeymine reading only the columns the maps need (``event_attributes=[]``)."""
    return jm_step(path, event_attributes=[], name="jm_narrow")


def jm_base(path: str) -> dict[str, Any]:
    """The journeymine step with the ``--baseline`` source (put first on PYTHONPATH)."""
    return jm_step(path, name="jm_base")


STEPS: dict[str, Callable[[str], dict[str, Any]]] = {
    "jm": jm_step, "jm_narrow": jm_narrow, "pm4py_pandas": pm4py_pandas, "pm4py_polars": pm4py_polars,
    "floor": floor_step, "duckdb": duckdb_step, "jm_base": jm_base, "jm_profile": jm_profile,
}
LABELS = {
    "jm": "journeymine: journey_map + 12 cohort maps + variants",
    "jm_narrow": "journeymine, reading only the needed columns",
    "pm4py_pandas": "pm4py on pandas: DFG + perf DFG, x13, variants",
    "pm4py_polars": "pm4py on polars LazyFrame: same",
    "floor": "floor: polars sort, shift, group-bys, variants",
    "duckdb": "DuckDB floor: lead() window, group-bys, string_agg",
    "jm_base": "journeymine before (--baseline source)",
}


def child() -> None:
    step, arg = sys.argv[2], sys.argv[3]
    out = STEPS[step](arg)
    out["discovery"] = sum(out["phases"].values())
    out["peak_mb"] = _peak_rss_mb()
    print(json.dumps(out))


# -- parent --------------------------------------------------------------------------------
def run_once(script: str, step: str, arg: str, baseline: str | None = None) -> dict[str, Any]:
    """Run ``step`` once in a fresh process and return what it reported; ``jm_base`` runs
    with the ``baseline`` source folder first on ``PYTHONPATH``."""
    env = None
    if step == "jm_base":
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(baseline), os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, script, "--child", step, arg],
                         capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"step {step} failed:\n{out.stderr[-3000:]}")
    run: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    run["total"] = run["load"] + run["discovery"]
    return run


def summarise(step: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs of one step."""
    med = {k: statistics.median(r[k] for r in runs)
           for k in ("load", "discovery", "total", "peak_mb", "load_peak_mb") if k in runs[0]}
    phases = {p: statistics.median(r["phases"][p] for r in runs) for p in runs[0]["phases"]}
    return {"step": step, "label": LABELS.get(step, step), "n": runs[0]["n"], **med,
            "phases": phases, "runs": runs}


def compare(fps: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Check every contender's outputs against journeymine's; return a verdict per contender."""
    ref = fps["jm"]
    verdicts = {}
    for name, fp in fps.items():
        if name == "jm":
            continue
        problems = []
        for part in ("edges", "cohort_edges"):
            if set(fp[part]) != set(ref[part]):
                problems.append(f"{part}: different keys ({len(fp[part])} vs {len(ref[part])})")
                continue
            for key, got in fp[part].items():
                want = ref[part][key]
                for field, value in got.items():
                    w = want[field]
                    if value is None or w is None or abs(value - w) > 1e-6 * max(1.0, abs(w)):
                        problems.append(f"{part} {key!r} {field}: {value} vs {w}")
        for part in ("starts", "ends", "variants"):
            if fp[part] != ref[part]:
                problems.append(f"{part} differ")
        verdicts[name] = "same outputs" if not problems else f"{len(problems)} differences: {problems[:3]}"
    return verdicts


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    ratio_keys = [k for k in ("x pd disc", "x pd total", "x pl disc", "x pl total", "/floor disc",
                              "/floor total", "/duckdb disc", "/duckdb total", "mem/pd", "mem/pl")
                  if any(k in r for r in rows)]
    header = (f"{'step':<54} {'events':>10} {'disc s':>7} {'load s':>7} {'total s':>7} {'peak MB':>8} "
              f"{'(load)':>7} " + " ".join(f"{k:>12}" for k in ratio_keys))
    print(f"\n{title}\n{header}\n{'-' * len(header)}")
    for r in rows:
        ratios = " ".join(f"{r[k]:>12.2f}" if k in r else f"{'':>12}" for k in ratio_keys)
        print(f"{r['label']:<54} {r['n']:>10,} {r['discovery']:>7.2f} {r['load']:>7.2f} "
              f"{r['total']:>7.2f} {r['peak_mb']:>8.0f} {r['load_peak_mb']:>7.0f} {ratios}")
        for phase, s in r["phases"].items():
            print(f"    {phase:<50} {'':>10} {s:>7.2f}")


def load_average() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-pm4py-pandas", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="skip journeymine's breakdown")
    parser.add_argument("--baseline", metavar="SRC",
                        help="also run the journeymine step with this src folder (an earlier version)")
    parser.add_argument("--name", default="discovery",
                        help="results file: benchmarks/results/NAME.json (default: discovery)")
    args = parser.parse_args()
    if not re.fullmatch(r"[\w.-]+", args.name) or args.name.endswith(".json"):
        parser.error(f"--name {args.name!r}: a plain file name without .json (letters, digits, _ . -)")
    if args.baseline and not (Path(args.baseline) / "journeymine" / "__init__.py").exists():
        parser.error(f"--baseline {args.baseline!r} holds no journeymine package")
    script = str(Path(__file__).resolve())
    results: dict[str, Any] = {}
    load_before = load_average()
    for n_events in args.events:
        path = make_data(n_events)
        names = ["floor", "duckdb", "jm", *(["jm_base"] if args.baseline else []), "jm_narrow",
                 "pm4py_polars"] + ([] if args.skip_pm4py_pandas else ["pm4py_pandas"])
        size_load = load_average()
        # rounds: every contender once per round, so that load from other processes on a
        # shared machine falls on all of them alike
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for rnd in range(args.repeat):
            for name in names:
                r = run_once(script, name, str(path), args.baseline)
                runs[name].append(r)
                print(f"  {n_events:,} round {rnd + 1} {name}: discovery {r['discovery']:.2f} s, "
                      f"load {r['load']:.2f} s, {r['peak_mb']:.0f} MB", flush=True)
        table = {name: summarise(name, rs) for name, rs in runs.items()}
        for mine in ("jm", "jm_base", "jm_narrow"):
            if mine not in table:
                continue
            ours = table[mine]
            for peer, tag in (("pm4py_pandas", "pd"), ("pm4py_polars", "pl")):
                if peer in table:
                    ours[f"x {tag} disc"] = table[peer]["discovery"] / ours["discovery"]
                    ours[f"x {tag} total"] = table[peer]["total"] / ours["total"]
                    ours[f"mem/{tag}"] = ours["peak_mb"] / table[peer]["peak_mb"]
            ours["/floor disc"] = ours["discovery"] / table["floor"]["discovery"]
            ours["/floor total"] = ours["total"] / table["floor"]["total"]
            ours["/duckdb disc"] = ours["discovery"] / table["duckdb"]["discovery"]
            ours["/duckdb total"] = ours["total"] / table["duckdb"]["total"]
            # the same ratios round by round (each round runs every contender once): their spread
            ours["per round"] = {
                "/duckdb total": [m["total"] / d["total"] for m, d in zip(runs[mine], runs["duckdb"], strict=True)],
                **({"x pd total": [p["total"] / m["total"]
                                   for m, p in zip(runs[mine], runs["pm4py_pandas"], strict=True)]}
                   if "pm4py_pandas" in runs else {}),
            }
        ours = table["jm"]
        fps = {name: json.loads((CACHE / f"fp_{name}_{path.stem}.json").read_text()) for name in names}
        checks = compare(fps)
        rows = [table[k] for k in ("jm", "jm_base", "jm_narrow", "pm4py_pandas", "pm4py_polars", "floor",
                                   "duckdb") if k in table]
        print_table(f"Discovery, {ours['n']:,} events, 12 cohorts; median of {args.repeat} fresh "
                    f"process(es) each, in rounds; discovery = timed after loading", rows)
        for r in rows:
            for ratio, values in r.get("per round", {}).items():
                print(f"  {r['step']} {ratio} by round: {', '.join(f'{v:.2f}' for v in values)}")
        print("Outputs vs journeymine:", checks)
        targets = {
            "faster than pm4py on polars (discovery)": ours.get("x pl disc", 0) > 1,
            "faster than pm4py on polars (load + discovery)": ours.get("x pl total", 0) > 1,
            ">= 3x faster than pm4py on pandas (discovery)": ours.get("x pd disc", 0) >= 3,
            ">= 3x faster than pm4py on pandas (load + discovery)": ours.get("x pd total", 0) >= 3,
            "within 1.5x of the floor (discovery)": ours["/floor disc"] <= 1.5,
            "within 1.5x of the floor (load + discovery)": ours["/floor total"] <= 1.5,
            "within 1.3x of the DuckDB floor (load + discovery)": ours["/duckdb total"] <= 1.3,
            ">= 6x faster than pm4py on pandas (load + discovery)": ours.get("x pd total", 0) >= 6,
            "peak memory below pm4py's (both paths)": all(
                ours.get(k, 9) < 1 for k in ("mem/pd", "mem/pl") if k in ours),
        }
        print("Targets:", ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items()))
        profile = None
        if not args.no_profile:
            profile = summarise("jm_profile", [run_once(script, "jm_profile", str(path))])
            print("journeymine breakdown (one process):")
            for phase, s in profile["phases"].items():
                print(f"    {phase:<56} {s:>7.2f}")
        results[str(n_events)] = {"rows": rows, "targets": targets, "output_checks": checks,
                                  "jm_profile": profile, "load_average_at_start": size_load}
    load_after = load_average()
    print(f"\n1-minute load average: {load_before:.2f} before, {load_after:.2f} after "
          f"({os.cpu_count()} CPUs)")
    path = write_json(args.name, {"events": args.events, "repeat": args.repeat,
                                  "load_average": {"before": load_before, "after": load_after},
                                  "sizes": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child()
    else:
        main()
