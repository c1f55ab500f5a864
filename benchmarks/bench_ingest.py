"""Ingest benchmark: reading event logs into a validated JourneyLog.

Compares, in one run and in fresh processes:

* CSV, 5M events: ``jm.read_csv`` vs ``pandas.read_csv`` + ``pm4py.format_dataframe``, on
  the full 11-column export and on a narrow one (the three keys and three case attributes);
* Parquet, 5M events: ``jm.read_parquet`` vs ``pandas.read_parquet`` +
  ``pm4py.format_dataframe``;
* the floor: a pyarrow read of the three key columns plus a polars sort by (case,
  timestamp), i.e. reading and ordering with nothing validated;
* XES, 1M events: ``jm.read_xes`` vs ``pm4py.read_xes``.

Usage: ``python benchmarks/bench_ingest.py [--events 5000000] [--xes-events 1000000]
[--repeat 1]``. Synthetic logs come from ``jm.datasets.demo_b2b`` (realistic B2B
journeys: ~14 events per account) and are cached in ``benchmarks/.cache``.
Writes ``benchmarks/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import child_main, measure, print_table, write_json

CACHE = Path(__file__).resolve().parent / ".cache"
MAP = dict(case="account_id", activity="touchpoint", timestamp="timestamp")
CASE_ATTRS = ["segment", "product", "market"]


def make_data(n_events: int, n_xes: int) -> dict[str, Path]:
    """Generate (once) CSV and Parquet logs of about ``n_events`` and an XES of ``n_xes``."""
    import polars as pl

    import journeymine as jm

    CACHE.mkdir(exist_ok=True)
    paths = {
        "csv": CACHE / f"demo_{n_events}.csv",
        "csv_narrow": CACHE / f"demo_{n_events}_narrow.csv",
        "parquet": CACHE / f"demo_{n_events}.parquet",
        "xes": CACHE / f"demo_{n_xes}.xes.gz",
    }
    if all(p.exists() for p in paths.values()):
        return paths
    probe = jm.datasets.demo_b2b(2_000, random_state=0, as_frame=True)
    per_account = len(probe) / 2_000
    frame = jm.datasets.demo_b2b(int(n_events / per_account) + 1, random_state=0, as_frame=True)
    df = pl.from_pandas(frame).head(n_events)
    # shuffle account order a little as real exports are not sorted by case
    df = df.sample(fraction=1.0, shuffle=True, seed=0)
    df.write_parquet(paths["parquet"])
    as_text = df.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f%:z"))
    as_text.write_csv(paths["csv"])
    as_text.select(*MAP.values(), *CASE_ATTRS).write_csv(paths["csv_narrow"])
    xes_log = jm.JourneyLog.from_frame(df.head(n_xes).to_pandas(), **MAP, case_attributes=CASE_ATTRS,
                                       contact="contact_id", channel="channel")
    jm.write_xes(xes_log, paths["xes"])
    return paths


# -- steps (run in child processes) ---------------------------------------------------------
def jm_csv(path: str) -> int:
    import journeymine as jm

    return jm.read_csv(path, **MAP, case_attributes=CASE_ATTRS).n_events


def jm_parquet(path: str) -> int:
    import journeymine as jm

    return jm.read_parquet(path, **MAP, case_attributes=CASE_ATTRS).n_events


def jm_xes(path: str) -> int:
    import journeymine as jm

    return jm.read_xes(path).n_events


def pm4py_csv(path: str) -> int:
    import pandas as pd
    import pm4py

    df = pd.read_csv(path)
    df = pm4py.format_dataframe(df, case_id="account_id", activity_key="touchpoint",
                                timestamp_key="timestamp")
    return len(df)


def pm4py_parquet(path: str) -> int:
    import pandas as pd
    import pm4py

    df = pd.read_parquet(path)
    df = pm4py.format_dataframe(df, case_id="account_id", activity_key="touchpoint",
                                timestamp_key="timestamp")
    return len(df)


def pm4py_xes(path: str) -> int:
    import pm4py

    return len(pm4py.read_xes(path))


def floor_parquet(path: str) -> int:
    import polars as pl
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["account_id", "touchpoint", "timestamp"])
    df = pl.from_arrow(table)
    return df.sort(["account_id", "timestamp"], maintain_order=True).height  # type: ignore[union-attr]


def floor_csv(path: str) -> int:
    import polars as pl
    import pyarrow.csv as pacsv

    opts = pacsv.ConvertOptions(include_columns=["account_id", "touchpoint", "timestamp"])
    df = pl.from_arrow(pacsv.read_csv(path, convert_options=opts))
    return df.sort(["account_id", "timestamp"], maintain_order=True).height  # type: ignore[union-attr]


STEPS = {f.__name__: f for f in (jm_csv, jm_parquet, jm_xes, pm4py_csv, pm4py_parquet,
                                  pm4py_xes, floor_parquet, floor_csv)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--xes-events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-pm4py", action="store_true")
    args = parser.parse_args()
    paths = make_data(args.events, args.xes_events)
    script = str(Path(__file__).resolve())
    rows = []

    def run(step: str, kind: str) -> dict[str, object]:
        row = measure(script, step, str(paths[kind]), args.repeat)
        if kind == "csv_narrow":
            row["step"] = step.replace("csv", "csv_narrow")
        rows.append(row)
        print(f"  {step}: {row['seconds']:.2f} s, {row['peak_mb']:.0f} MB", flush=True)
        return row

    table = {}
    for kind in ("csv", "csv_narrow", "parquet"):
        step = "csv" if kind == "csv_narrow" else kind
        table[f"floor_{kind}"] = run(f"floor_{step}", kind)
        table[f"jm_{kind}"] = run(f"jm_{step}", kind)
        if not args.skip_pm4py:
            table[f"pm4py_{kind}"] = run(f"pm4py_{step}", kind)
    table["jm_xes"] = run("jm_xes", "xes")
    if not args.skip_pm4py:
        table["pm4py_xes"] = run("pm4py_xes", "xes")
    for kind in ("csv", "csv_narrow", "parquet", "xes"):
        ours = table[f"jm_{kind}"]
        if f"floor_{kind}" in table:
            ours["x floor"] = ours["seconds"] / table[f"floor_{kind}"]["seconds"]
        if f"pm4py_{kind}" in table:
            peer = table[f"pm4py_{kind}"]
            ours["x faster pm4py"] = peer["seconds"] / ours["seconds"]
            ours["mem / pm4py"] = ours["peak_mb"] / peer["peak_mb"]
    for r in rows:
        for k in ("x floor", "x faster pm4py", "mem / pm4py"):
            if k in r:
                r[k.replace("mem", "x mem") if k.startswith("mem") else k] = r.pop(k)
    print_table(f"Ingest: {args.events:,} events (CSV, Parquet), {args.xes_events:,} (XES); "
                f"median of {args.repeat} fresh process(es)", rows)
    targets = {
        "csv within 2x of floor": table["jm_csv"].get("x floor", 99) <= 2,
        "parquet within 2x of floor": table["jm_parquet"].get("x floor", 99) <= 2,
        "csv >= 5x faster than pm4py": table["jm_csv"].get("x faster pm4py", 0) >= 5,
        "narrow csv >= 5x faster than pm4py": table["jm_csv_narrow"].get("x faster pm4py", 0) >= 5,
        "xes >= 5x faster than pm4py": table["jm_xes"].get("x faster pm4py", 0) >= 5,
        "peak memory below pm4py": all(
            table[f"jm_{k}"].get("x mem / pm4py", 9) < 1 for k in ("csv", "csv_narrow", "parquet", "xes")),
    }
    print("\nTargets:", ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items()))
    path = write_json("ingest", {"events": args.events, "xes_events": args.xes_events,
                                 "repeat": args.repeat, "rows": rows, "targets": targets})
    print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(STEPS)
    else:
        main()
