"""Spark benchmark: the same journeys on Spark ``local[2]`` and on the embedded engine.

For every size (default 1M and 5M generated events, the cached Parquet of
``bench_discovery.py``), two fresh processes read the same file and do the same work:

* **embedded**: ``jm.read_parquet`` (load and validate, all 12 columns), then
  ``jm.journey_map(log)`` + ``jm.journey_map(log, by="cohort")`` (maps; 12 cohorts),
  ``jm.variants(log)``, the clustering units (variant x pace, what
  ``JourneyClusterer.fit`` aggregates from events) and ``jm.kpis(log, by="segment")``;
* **spark**: the JVM and session start (timed apart), ``JourneyLog.from_spark`` on
  ``spark.read.parquet`` (validation, case table collected, events persisted), then the same
  calls on the Spark log. ``quantiles="approx"`` (the default).

Each step is timed inside its process; the parent prints one table per size with the
Spark/embedded ratio of every part and checks that both engines found the same edge
counts, variant counts and KPI values (medians within the approximate quantiles' error).

Spark settings: ``local[2]``, ``spark.sql.shuffle.partitions=8`` (four per core; the
default 200 costs ~0.2 s of task overhead per shuffle here), driver memory 8 GB, adaptive
query execution on (Spark's default). Peak memory is the Python process's VmHWM plus the
JVM's (read from ``/proc`` of the Java child), since a local Spark session runs in a
separate JVM process.

Usage: ``python benchmarks/bench_spark.py [--events 1000000 5000000]``. Writes
``benchmarks/results/spark.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import _peak_rss_mb, write_json
from bench_discovery import make_data

ROLES: dict[str, Any] = dict(
    case="account_id", activity="touchpoint", timestamp="timestamp", contact="contact_id",
    role="contact_role", channel="channel", stage="stage", value="value",
    case_attributes=["segment", "product", "market", "cohort"],
)
OUTCOMES = {"won": ["Contract signed"], "lost": ["Closed lost"], "churned": ["Churned"]}
PARTS = ["session", "load", "maps", "variants", "cluster_units", "kpis"]


def _jvm_peak_mb() -> float:
    """Peak resident memory (VmHWM) of this process's Java children (the Spark driver)."""
    total = 0.0
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if fields[1] != me:
                continue
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def child(engine: str, path: str) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore")
    os.environ["JOURNEYMINE_PROGRESS"] = "0"
    import journeymine as jm
    from journeymine._clustering import _OTHER, _Baseline, _units

    times: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        start = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - start
        return out

    if engine == "spark":
        from journeymine._testing import local_spark

        spark = timed(
            "session",
            lambda: local_spark(
                "journeymine-bench", {"spark.sql.shuffle.partitions": "8", "spark.driver.memory": "8g"}
            ),
        )
        log = timed("load", lambda: jm.JourneyLog.from_spark(spark.read.parquet(path), **ROLES))
    else:
        times["session"] = 0.0
        log = timed("load", lambda: jm.read_parquet(path, **ROLES))
    maps = timed("maps", lambda: (jm.journey_map(log), jm.journey_map(log, by="cohort")))
    var = timed("variants", lambda: jm.variants(log))
    alphabet = {a: i for i, a in enumerate([*log.activities, _OTHER])}
    units = timed("cluster_units", lambda: _units(log, alphabet, _Baseline.of(log)))
    k = timed("kpis", lambda: jm.kpis(log, outcomes=OUTCOMES, by="segment"))
    edges = maps[0].edges
    kp = k.to_dataframe()
    return {
        "times": times,
        "peak_mb": _peak_rss_mb() + _jvm_peak_mb(),
        "n": log.n_events,
        "check": {
            "edges": sorted(f"{s}>{t}:{c}" for s, t, c in edges[["source", "target", "count"]].itertuples(index=False)),
            "edge_medians": {f"{s}>{t}": m for s, t, m in edges[["source", "target", "median"]].itertuples(index=False)},
            "variants": sorted(f"{'>'.join(v)}:{c}" for v, c in var[["variant", "cases"]].itertuples(index=False)),
            "units": len(units.variants),
            "kpis": {f"{r.cohort}|{r.kpi}": r.value for r in kp.itertuples()},
        },
    }


def run(engine: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{engine} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Counts must be equal; medians (approximate on Spark) within 5% or 1 s."""
    ca, cb = a["check"], b["check"]
    med = [
        abs(cb["edge_medians"][k] - v) <= max(0.05 * abs(v), 1.0) for k, v in ca["edge_medians"].items()
    ]
    kpi_diff = {
        k: (v, cb["kpis"].get(k))
        for k, v in ca["kpis"].items()
        if not (v != v and cb["kpis"].get(k) != cb["kpis"].get(k))
        and abs((cb["kpis"].get(k) or 0.0) - v) > max(0.05 * abs(v), 1e-9) + (3600.0 if "time" in k else 0.0)
    }
    return {
        "edges_equal": ca["edges"] == cb["edges"],
        "variants_equal": ca["variants"] == cb["variants"],
        "units_equal": ca["units"] == cb["units"],
        "edge_medians_within_5pct": f"{sum(med)}/{len(med)}",
        "kpis_differing": kpi_diff,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000])
    args = parser.parse_args()
    results = []
    for n in args.events:
        path = make_data(n)
        emb, spk = run("embedded", path), run("spark", path)
        check = compare(emb, spk)
        rows = []
        for part in PARTS:
            e, s = emb["times"][part], spk["times"][part]
            rows.append({"part": part, "embedded_s": e, "spark_s": s, "x spark/embedded": s / e if e else None})
        total_e = sum(emb["times"][p] for p in PARTS)
        total_s = sum(spk["times"][p] for p in PARTS)
        work_s = total_s - spk["times"]["session"]
        rows.append({"part": "total", "embedded_s": total_e, "spark_s": total_s, "x spark/embedded": total_s / total_e})
        rows.append({"part": "total without session", "embedded_s": total_e, "spark_s": work_s,
                     "x spark/embedded": work_s / total_e})
        print(f"\n{emb['n']:,} events (embedded peak {emb['peak_mb']:,.0f} MB; Spark peak "
              f"{spk['peak_mb']:,.0f} MB, Python + JVM)")
        print(f"{'part':<24} {'embedded s':>11} {'spark s':>9} {'spark/embedded':>15}")
        for r in rows:
            ratio = r["x spark/embedded"]
            print(f"{r['part']:<24} {r['embedded_s']:>11.2f} {r['spark_s']:>9.2f} "
                  f"{(f'{ratio:.1f}x' if ratio else ''):>15}")
        print("checks:", json.dumps(check))
        results.append({"events": emb["n"], "rows": rows, "embedded_peak_mb": emb["peak_mb"],
                        "spark_peak_mb": spk["peak_mb"], "checks": check})
    out = write_json("spark", {"sizes": results, "spark_settings": {
        "master": "local[2]", "spark.sql.shuffle.partitions": 8, "spark.driver.memory": "8g",
        "quantiles": "approx", "accuracy": 10_000}})
    print(f"\nwrote {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        main()
