"""The benchmark tables of the docs, written from benchmarks/results/*.json.

A generated table sits in a markdown file between two markers::

    <!-- begin: table ingest -->
    | step | events | ... |
    <!-- end: table ingest -->

``python benchmarks/docs_tables.py`` rewrites every such table in README.md and docs/*.md
after a benchmark run; ``--check`` only reports the tables that differ (tests/test_docs.py
runs the same check). Labels and the figures of earlier runs that the results no longer
hold are written here; every other number comes from the JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TABLE = re.compile(r"(<!-- begin: table (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end: table (?P=name) -->)", re.S)


def results(name: str) -> Any:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def num(x: float, decimals: int = 2) -> str:
    return f"{x:,.{decimals}f}"


def mb(x: float) -> str:
    return f"{round(x):,}"


def ratio(x: float) -> str:
    """1.5x, 5.7x, 15x: one decimal below 10."""
    return f"{x:.1f}x" if x < 9.95 else f"{x:.0f}x"


def pick(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    hits = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    if len(hits) != 1:
        raise KeyError(f"{len(hits)} rows match {match}")
    return hits[0]


# --- ingest ------------------------------------------------------------------------------

INGEST = [
    ("floor_csv", "floor: pyarrow CSV read (3 cols) + polars sort"),
    ("jm_csv", "**`jm.read_csv`**, 11-column export"),
    ("pm4py_csv", "pm4py: `pandas.read_csv` + `format_dataframe`"),
    ("floor_csv_narrow", "floor, narrow CSV"),
    ("jm_csv_narrow", "**`jm.read_csv`**, narrow CSV"),
    ("pm4py_csv_narrow", "pm4py, narrow CSV"),
    ("floor_parquet", "floor: pyarrow Parquet read (3 cols) + polars sort"),
    ("jm_parquet", "**`jm.read_parquet`**"),
    ("pm4py_parquet", "pm4py: `pandas.read_parquet` + `format_dataframe`"),
    ("jm_xes", "**`jm.read_xes`**"),
    ("pm4py_xes", "`pm4py.read_xes`"),
]


def ingest() -> str:
    data = results("ingest")
    rows = []
    for step, label in INGEST:
        r = pick(data["rows"], step=step)
        rows.append([
            label, f"{r['n']:,}", num(r["seconds"]), mb(r["peak_mb"]),
            f"**{r['x faster pm4py']:.1f}x faster**" if "x faster pm4py" in r else "",
            f"{r['x floor']:.2f}x" if "x floor" in r else "",
            f"{r['x mem / pm4py']:.2f}" if "x mem / pm4py" in r else "",
        ])
    return table(["step", "events", "seconds", "peak MB", "journeymine vs pm4py (speed)", "vs floor (time)",
                  "memory / pm4py"], rows)


# --- discovery ---------------------------------------------------------------------------

DISCOVERY = [
    ("jm", "**journeymine**: `journey_map` + 12 cohort maps + `variants`"),
    ("jm_narrow", "journeymine, needed columns only"),
    ("pm4py_pandas", "pm4py on pandas"),
    ("pm4py_polars", "pm4py on polars (LazyFrame)"),
    ("floor", "floor (polars)"),
]


def discovery(size: str) -> Callable[[], str]:
    def make() -> str:
        rows = []
        for step, label in DISCOVERY:
            r = pick(results("discovery")["sizes"][size]["rows"], step=step)
            cells = [label, num(r["discovery"]), num(r["load"]), num(r["total"]),
                     f"{mb(r['peak_mb'])} ({mb(r['load_peak_mb'])})"]
            if step.startswith("jm"):
                bold = (lambda s: f"**{s}**") if step == "jm" else (lambda s: s)
                cells += [
                    f"{bold(ratio(r['x pd disc']))} / {ratio(r['x pd total'])}",
                    f"{bold(ratio(r['x pl disc']))} / {ratio(r['x pl total'])}",
                    f"{bold(num(r['/floor disc']))} / {num(r['/floor total'])}",
                    f"{num(r['mem/pd'])}, {num(r['mem/pl'])}",
                ]
            else:
                cells += ["", "", "", ""]
            rows.append(cells)
        return table(["step", "discovery s", "load s", "total s", "peak MB (after load)", "vs pm4py pandas",
                      "vs pm4py polars", "vs floor (time)", "memory / pm4py pandas, polars"], rows)

    return make


DISCOVERY_PARTS = [
    ("jm", "journeymine", "whole-log map / 12 cohort maps / variants",
     ["whole-log map", "12 cohort maps", "variants"]),
    ("pm4py_pandas", "pm4py on pandas", "DFG / performance DFG / 12 cohorts (both) / variants",
     ["dfg", "performance dfg", "12 cohorts (dfg + performance dfg)", "variants"]),
    ("pm4py_polars", "pm4py on polars", "DFG / performance DFG / 12 cohorts (both) / variants",
     ["dfg", "performance dfg", "12 cohorts (dfg + performance dfg)", "variants"]),
    ("floor", "floor", "sort / shift + edge group-bys / start, end / variants",
     ["sort", "shift + edge group-bys", "start/end activities", "variants"]),
]


def discovery_parts() -> str:
    sizes = results("discovery")["sizes"]
    rows = []
    for step, label, parts, keys in DISCOVERY_PARTS:
        cells = [label, parts]
        for size in ("1000000", "5000000"):
            phases = pick(sizes[size]["rows"], step=step)["phases"]
            cells.append(" / ".join(num(phases[k]) for k in keys))
        rows.append(cells)
    return table(["contender", "part", "1M", "5M"], rows)


PROFILE = [
    ("encode (integer codes, cached)", "`_discovery.encode` (integer case and activity codes)"),
    ("stage assignment (cached)", "stage assignment (`_stages.stage_assignment` + `activity_ranks`)"),
    ("journey_tables, whole log", "`_discovery.journey_tables`, whole log"),
    ("journey_tables, 12 cohorts", "`_discovery.journey_tables`, 12 cohorts"),
    ("journey_map(log), codes and stages cached", "`journey_map(log)`, codes and stages cached"),
    ("journey_map(log, by=cohort), codes and stages cached",
     '`journey_map(log, by="cohort")`, codes and stages cached'),
    ("case_variants (list per case, cached)", "`_variants.case_variants` (one list per account)"),
    ("variants(log), case lists cached", "`variants(log)`, lists cached"),
]


def discovery_profile() -> str:
    sizes = results("discovery")["sizes"]
    rows = [[label] + [num(sizes[s]["jm_profile"]["phases"][key]) for s in ("1000000", "5000000")]
            for key, label in PROFILE]
    return table(["part", "1M", "5M"], rows)


# --- comparison --------------------------------------------------------------------------


def compare_validity() -> str:
    v = results("compare")["validity"]
    aa, p300, p150 = v["aa"], v["planted_300"], v["planted_150"]

    def found(p: dict[str, Any]) -> str:
        return f"**{p['share_found']:.0%}** ({p['found']} of {p['planted']})"

    return table(["check", "setting", "result", "target"], [
        ["A/A: seeds with any finding at q < 0.05",
         f"2 × {aa['accounts_per_cohort']} accounts from one process, {aa['seeds']} seeds, "
         f"~{aa['mean_tests_per_seed']:.0f} tests each",
         f"**{aa['rate']:.1%}** ({aa['seeds_with_a_finding']} of {aa['seeds']})", "≤ 5%"],
        ["planted differences found",
         "B: trials 55% vs 30%, Proposal → Demo loop 30% vs 10%, gaps ×1.6; "
         f"{p300['accounts_per_cohort']} accounts per cohort, {p300['seeds']} seeds", found(p300), "≥ 95%"],
        ["planted differences found", f"the same with {p150['accounts_per_cohort']} accounts per cohort",
         found(p150), "≥ 95%"],
    ])


def compare_speed() -> str:
    speed = results("compare")["speed"]
    cmp = speed[0]
    base = speed[1]
    return table(["step", "seconds", "peak MB", "× one map pass"], [
        [f"`compare_cohorts`, 12 cohorts against the rest, with outcomes ({cmp['n']:,} events)",
         f"**{num(cmp['seconds'])}**", mb(cmp["peak_mb"]), ratio(cmp["x vs one map pass"])],
        ["`journey_map(by=12 cohorts)` on the same log (the one pass any comparison needs)",
         num(base["seconds"]), mb(base["peak_mb"]), ""],
    ])


# --- subway ------------------------------------------------------------------------------


def subway() -> str:
    rows = results("subway")["rows"]
    out = []
    for label, jm_step, gv_step in [
        ("40 stations × 12 lines (with timing and drop-off overlays)", "jm.subway_map, 40 activities x 12 lines",
         "Graphviz dot, journey map of the same log (40x12)"),
        ("60 activities × 20 journeys (simplified to 40 stations and 12 lines, the rest listed as left out)",
         "jm.subway_map, 60 activities x 20 lines", "Graphviz dot, journey map of the same log (60x20)"),
    ]:
        out.append([label, num(pick(rows, step=jm_step)["seconds"]), num(pick(rows, step=gv_step)["seconds"])])
    return table(["map", "seconds", "Graphviz journey map"], out)


# --- committees --------------------------------------------------------------------------


def committee() -> str:
    out = []
    for size in results("committee")["sizes"]:
        rows = size["rows"]
        build = pick(rows, step="JourneyLog.from_frame (log build)")
        call = pick(rows, step="journeymine: buying_committee(...) call")
        both = pick(rows, step="journeymine: build + call")
        pandas = pick(rows, step="pandas baseline (core aggregates only)")
        out.append([f"{size['accounts']:,}", f"{size['events']:,}", num(build["seconds"]),
                    f"**{num(call['seconds'])}**", num(pandas["seconds"]), f"{call['x faster']:.2f}x faster",
                    f"{both['x faster']:.2f}x", f"{mb(call['peak_mb'])} / {mb(pandas['peak_mb'])}"])
    return table(["accounts", "events", "log build s", "`buying_committee` s", "pandas baseline s",
                  "journeymine vs pandas (call)", "build + call vs pandas", "peak MB journeymine / pandas"], out)


# --- clustering --------------------------------------------------------------------------

PLANTED = [
    ("journeymine, auto k", "**journeymine, auto k (BIC)**"),
    ("journeymine, true k=4", "journeymine, true k = 4 (default representation, Markov mixture with pace)"),
    ("journeymine, k=4, representation='profile'", "journeymine, k = 4, trace profiles + k-means"),
    ("journeymine, k=4, representation='ngram'", "journeymine, k = 4, n-gram TF-IDF + k-means"),
    ("journeymine, k=4, representation='profile+timing'", "journeymine, k = 4, profile + timing + k-means"),
    ("pm4py cluster_log k=4, as-is after format_dataframe",
     "pm4py `cluster_log`, k = 4, as-is after `format_dataframe`"),
    ("pm4py cluster_log k=4, @@index/@@case_index dropped",
     "pm4py `cluster_log`, k = 4, `@@index`/`@@case_index` dropped"),
    ("bag-of-activities k-means, k=4", "bag-of-activities k-means, k = 4 (L1-normalised counts)"),
    ("oracle (true generating model)", "oracle (true generating model)"),
    ("journeymine, auto k: predict() on a fresh log", "journeymine auto k, `predict()` on a fresh log from the same types"),
]


def clustering_planted() -> str:
    rows = results("clustering")["planted"]["rows"]
    out = []
    for contender, label in PLANTED:
        r = pick(rows, contender=contender)
        ari = f"{r['ari_mean']:.3f} ± {r['ari_std']:.3f}"
        oracle = f"{abs(r['x oracle']):.2f}"
        if "auto k" in contender and "predict" not in contender:
            ks = ", ".join(str(k) for k in r["k_per_seed"])
            ari, oracle = f"**{ari}**", f"**{oracle}**"
        elif "predict" in contender:
            ks = "—"
        else:
            ks = str(r["k_per_seed"][0])
        out.append([label, ari, oracle, ks])
    return table(["contender", "ARI mean ± sd", "of the oracle", "k chosen"], out)


def clustering_scale() -> str:
    rows = results("clustering")["scale"]["rows"]
    pm4py = {r["accounts"]: r for r in rows if r["step"] == "pm4py_cluster"}
    out = []
    for r in (r for r in rows if r["step"] == "jm_fit"):
        p = pm4py[r["accounts"]]
        runs = [run["seconds"] for run in r["runs"]]
        out.append([f"{r['accounts']:,} ({r['n']:,})", "before the consensus (2026-11-25)",
                    f"{r['seconds']:.1f} s ({min(runs):.1f}–{max(runs):.1f})", mb(r["peak_mb"]),
                    f"{r['k']} ({r['ari']:.2f})", f"{p['seconds']:.1f} s", mb(p["peak_mb"]),
                    ratio(p["seconds"] / r["seconds"]), f"{r['peak_mb'] / p['peak_mb']:.2f}"])
    now = results("clustering_scale_jm")["scale"]["rows"][0]
    p = pm4py[now["accounts"]]
    out.append([f"{now['accounts']:,} ({now['n']:,})", "default consensus (2026-12-03)",
                f"**{now['seconds']:.1f} s**", mb(now["peak_mb"]), f"{now['k']} ({now['ari']:.2f})",
                f"{p['seconds']:.1f} s (2026-11-25)", mb(p["peak_mb"]), f"**{ratio(p['seconds'] / now['seconds'])}**",
                f"{now['peak_mb'] / p['peak_mb']:.2f}"])
    return table(["accounts (events)", "estimator", "journeymine fit", "peak MB", "k (ARI)", "pm4py `cluster_log`",
                  "peak MB", "journeymine faster", "memory / pm4py"], out)


# the figures of the version before the one measured (`1e6a8495…`, seeds 0–2, one random draw)
REAL_PREVIOUS = {
    "sepsis": ["(same)", "0.960, 0.469", "0.950, 0.468", "0.970, 0.441 (1 draw)", "0.932, 0.473",
               "0.975, 0.430 (1 draw)", "(same)"],
    "BPI Challenge 2012": ["(same)", "0.963, 0.568", "0.971, 0.563 (seeds 0–2)", "0.995, 0.125", "0.982, 0.687",
                           "0.994, 0.124", "(same)"],
}


def _sizes(sizes: list[int]) -> str:
    return " / ".join(f"{s:,}" for s in sizes)


def clustering_real(log: str) -> Callable[[], str]:
    def make() -> str:
        rows = results("clustering")["real"]["logs"][log]["rows"]
        bpi = log == "BPI Challenge 2012"
        out = []
        for r, previous in zip(rows, REAL_PREVIOUS[log], strict=True):
            name = r["clustering"]
            fit, prec = f"{r['fitness']:.3f}", f"{r['precision']:.3f}"
            if name == "whole log (one model)":
                label = "one model for the whole log"
            elif name == "journeymine k=4":
                label = f"journeymine, k = 4, seed 0 (sizes {_sizes(r['sizes'])})"
                prec = f"**{prec}**" if bpi else prec
            elif name.startswith("journeymine k=4, mean"):
                seeds = ", ".join(f"{p:.3f}" for p in r["precision_per_seed"])
                label = "journeymine, k = 4, mean of seeds 0–4" + ("" if bpi else f" ({seeds})")
                fit, prec = (f"**{fit}**", f"**{prec}**") if bpi else (fit, prec)
            elif name.startswith("random"):
                which = "journeymine k = 4" if r["k"] == 4 else "journeymine auto k"
                draws = len(r["precision_per_repeat"])
                lo, hi = r["precision_range"]
                label = f"random clusters, same sizes as {which}" + (
                    f", {draws} draws (range {lo:.3f}–{hi:.3f})" if draws > 1 else "")
            elif name == "journeymine auto k":
                label = ("journeymine, auto k (BIC chose 8, the `max_clusters` cap, and warned)" if bpi
                         else f"journeymine, auto k (sizes {_sizes(r['sizes'])})")
            else:
                label = "pm4py `cluster_log`, k = 4, `@@` columns dropped" + (
                    f" (sizes {_sizes(r['sizes'])})" if bpi else "")
            out.append([label, str(r["k"]), fit, prec, previous])
        if bpi:
            published = results("clustering")["real"]["published_bpic2012_k4"]
            out.append(["published: trace2vec, k = 4", "4", f"{published['trace2vec_fitness']:.3f}",
                        f"{published['trace2vec_precision']:.3f}", ""])
            out.append(["published: random clusters", "4", "—", f"{published['random_precision']:.3f}", ""])
        return table(["clustering", "k", "fitness", "precision", "previous: fitness, precision"], out)

    return make


def clustering_bpi_seeds() -> str:
    real = results("clustering")["real"]
    mean = pick(real["logs"]["BPI Challenge 2012"]["rows"], clustering="journeymine k=4, mean of seeds 0-4")
    bar = real["published_bpic2012_k4"]
    beats = []
    for p, f in zip(mean["precision_per_seed"], mean["fitness_per_seed"], strict=True):
        if p > bar["trace2vec_precision"] and f >= bar["trace2vec_fitness"]:
            beats.append("yes")
        elif p > bar["trace2vec_precision"]:
            beats.append(f"no (fitness {bar['trace2vec_fitness'] - f:.4f} short)")
        else:
            beats.append("no")
    mean_beats = "yes" if mean["precision"] > bar["trace2vec_precision"] and mean["fitness"] >= bar[
        "trace2vec_fitness"] else "no"
    return table(["seed", *[str(i) for i in range(len(beats))], "mean"], [
        ["precision", *[f"{p:.3f}" for p in mean["precision_per_seed"]], f"{mean['precision']:.3f}"],
        ["fitness", *[f"{f:.3f}" for f in mean["fitness_per_seed"]], f"{mean['fitness']:.3f}"],
        ["beats trace2vec on both counts", *beats, mean_beats],
    ])


STABILITY_LOGS = [
    ("BPI Challenge 2012, k=4", "BPI Challenge 2012", "4"),
    ("receipt, auto k", "receipt", "auto"),
    ("sepsis, k=4", "sepsis", "4"),
    ("planted types 0, k=4", "planted 0", "4"),
    ("planted types 1, k=4", "planted 1", "4"),
    ("planted types 2, k=4", "planted 2", "4"),
]


def _stability(log: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = results("clustering_stability")["stability"]["rows"]
    return pick(rows, log=log, mode="before (consensus=False)"), pick(rows, log=log, mode="after (default)")


def clustering_stability() -> str:
    out = []
    for log, label, k in STABILITY_LOGS:
        before, after = _stability(log)
        oracle = (f"{after['truth_ari_mean_over_oracle']:.2f} (before {before['truth_ari_mean_over_oracle']:.2f})"
                  if "truth_ari_mean_over_oracle" in after else "–")
        out.append([label, k, f"{before['seed_ari_median']:.2f} / {before['seed_ari_min']:.2f}",
                    f"{after['seed_ari_median']:.2f} / {after['seed_ari_min']:.2f}", f"{after['stability_median']:.2f}",
                    f"{before['seconds_per_fit_median']:.1f} → {after['seconds_per_fit_median']:.1f}",
                    f"{after['traced_peak_mb_max']:.0f}", oracle])
    return table(["log", "k", "seed ARI before: median / min", "after: median / min", "`stability_` after (median)",
                  "s / fit before → after", "traced peak MB after", "ARI / oracle after"], out)


STABILITY_NAMES = {"BPI Challenge 2012": "BPI Challenge 2012", "receipt": "receipt", "sepsis": "sepsis",
                   "planted 0": "planted types, log 0", "planted 1": "planted types, log 1",
                   "planted 2": "planted types, log 2"}


def clustering_stability_by_seed() -> str:
    out = []
    for log, label, k in STABILITY_LOGS:
        before, after = _stability(log)
        auto = k == "auto"
        ks_before = f" (k = {', '.join(map(str, before['k_per_seed']))})" if auto else ""
        ks_after = f" (k = {', '.join(map(str, after['k_per_seed']))})" if auto else ""
        out.append([STABILITY_NAMES[label], "auto (BIC)" if auto else k,
                    f"{before['seed_ari_median']:.2f} / {before['seed_ari_min']:.2f}{ks_before}",
                    f"{after['seed_ari_median']:.2f} / {after['seed_ari_min']:.2f}{ks_after}",
                    " ".join(f"{s:.2f}" for s in after["stability_per_seed"]),
                    " ".join(f"{s:.2f}" for s in after["cluster_stability_per_seed"][0])])
    return table(["log", "k", "seed ARI before: median / min", "after: median / min",
                  "`stability_` after (seeds 0–4)", "per-cluster stability, seed 0"], out)


# --- sources -----------------------------------------------------------------------------

SOURCES = [
    ("pg_read_sql", "`jm.read_sql` (ADBC)"),
    ("pg_copy_csv_read_csv", "`COPY ... TO` CSV (psql `\\copy`) + `jm.read_csv`"),
    ("pg_pandas_read_sql", "`pandas.read_sql` (same ADBC connection) + `from_frame`"),
    ("pg_connectorx", "`polars.read_database_uri` (connectorx) + `from_frame`"),
    ("duck_read_sql", "`jm.read_sql`"),
    ("duck_copy_parquet_read_parquet", "`COPY ... TO` Parquet + `jm.read_parquet`"),
    ("duck_pandas_read_sql", "`pandas.read_sql` (DB-API rows) + `from_frame`"),
]


def sources() -> str:
    rows = results("sources")["rows"]
    out = []
    for step, label in SOURCES:
        r = pick(rows, step=step)
        out.append([r["database"], label, num(r["seconds"]), mb(r["peak_mb"]), num(r["x read_sql"])])
    return table(["source", "way in", "seconds", "peak MB", "× read_sql"], out)


# --- Spark -------------------------------------------------------------------------------


def _spark_size(events: int) -> dict[str, Any]:
    return pick(results("spark")["sizes"], events=events)


def spark_summary() -> str:
    out = []
    for size in results("spark")["sizes"]:
        total = pick(size["rows"], part="total without session")
        out.append([f"{size['events']:,}", f"{total['embedded_s']:.1f}", f"{total['spark_s']:.1f}",
                    ratio(total["x spark/embedded"]), f"{mb(size['embedded_peak_mb'])} / {mb(size['spark_peak_mb'])}"])
    return table(["events", "embedded s", "Spark s (without the session start)", "Spark / embedded",
                  "peak MB embedded / Spark (Python + JVM)"], out)


SPARK_PARTS = [
    ("session", "JVM and session start"), ("load", "load and validate"),
    ("maps", "maps (whole log + 12 cohorts)"), ("variants", "variants"),
    ("cluster_units", "clustering units"), ("kpis", "KPIs by segment"),
    ("total without session", "**total, without session**"),
]


def spark_parts() -> str:
    small, large = results("spark")["sizes"]
    out = []
    for part, label in SPARK_PARTS:
        cells = [label]
        for size in (small, large):
            r = pick(size["rows"], part=part)
            if part == "session":
                cells += ["–", f"{r['spark_s']:.1f}", ""]
            elif part == "total without session":
                cells += [f"**{r['embedded_s']:.1f}**", f"**{r['spark_s']:.1f}**", f"**{ratio(r['x spark/embedded'])}**"]
            else:
                cells += [num(r["embedded_s"]), f"{r['spark_s']:.1f}", ratio(r["x spark/embedded"])]
        out.append(cells)
    out.append(["peak memory (Python + JVM)", f"{mb(small['embedded_peak_mb'])} MB", f"{mb(small['spark_peak_mb'])} MB", "",
                f"{mb(large['embedded_peak_mb'])} MB", f"{mb(large['spark_peak_mb'])} MB", ""])
    return table(["part", "1M embedded s", "1M Spark s", "Spark / embedded", "5M embedded s", "5M Spark s",
                  "Spark / embedded"], out)


# --- funnels, paths, retention, dotted chart ---------------------------------------------

VIEWS = [("funnel", "funnel (4 steps, 90 days, lost)"), ("paths", "paths (3 before, 3 after, top 8)"),
         ("retention", "retention (monthly)")]


def _view(name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    rows = results("funnels")["views"][name]["rows"]
    first = next(r for r in rows if "first call" in r["step"])
    warm = next(r for r in rows if "warm" in r["step"])
    by = next(r for r in rows if "by segment" in r["step"])
    pandas = next(r for r in rows if r["step"].startswith("pandas"))
    return first, warm, by, pandas


def funnels_views() -> str:
    data = results("funnels")
    out = []
    for name, label in VIEWS:
        first, warm, by, pandas = _view(name)
        out.append([label, num(first["seconds"]), num(warm["seconds"]), num(pandas["seconds"]),
                    f"**{first['x pandas/jm']:.2f}x / {warm['x pandas/jm']:.2f}x**", num(by["seconds"]),
                    f"{mb(first['peak_mb'])} / {mb(pandas['peak_mb'])}"])
    return table([f"view, {data['events']:,} events", "journeymine first call s", "journeymine warm s",
                  "pandas reference s", "pandas / journeymine (first / warm)", "journeymine by segment s",
                  "peak MB jm (first) / pandas"], out)


FUNNELS_SHORT = [("funnel", "`funnel`, 4 steps, 90 days, lost"), ("paths", '`paths(log, "Proposal sent")`, 3 + 3'),
                 ("retention", '`retention(log, period="M")`')]


def funnels_speed() -> str:
    out = []
    for name, label in FUNNELS_SHORT:
        first, warm, _, pandas = _view(name)
        ratios = f"{first['x pandas/jm']:.1f}x / {warm['x pandas/jm']:.1f}x"
        note = f"counts only: {ratios}" if name == "funnel" else ratios
        out.append([label, f"{num(first['seconds'])} / {num(warm['seconds'])} s", f"{num(pandas['seconds'])} s ({note})"])
    return table(["what", "journeymine, first call / warm", "pandas reference (same table)"], out)


DOTTED = [("receipt", "receipt", "dots"), ("sepsis", "sepsis", "dots"), ("bpic2012", "BPI 2012", "density"),
          ("demo_100000", "demo, 100,000 accounts", "density")]


def _seconds(x: float) -> str:
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 10 else f"{x:.1f}"


def _size(n: int) -> str:
    if n < 1_000_000:
        return f"{n / 1000:.0f} kB"
    return f"{n / 1e6:.1f} MB" if n < 10_000_000 else f"{n / 1e6:.0f} MB"


def _dotted(key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = results("funnels")["dotted"]["logs"][key]["rows"]
    return next(r for r in rows if r["step"].startswith("jm")), next(r for r in rows if r["step"].startswith("pm4py"))


ACCOUNTS = {"receipt": 1_434, "sepsis": 1_050, "bpic2012": 13_087}


def funnels_dotted() -> str:
    out = []
    for key, label, mode in DOTTED:
        jm, pm = _dotted(key)
        who = f"{ACCOUNTS[key]:,} accounts, {mode}" if key in ACCOUNTS else mode
        out.append([f"{label} ({who})", f"{jm['n']:,}", _seconds(jm["seconds"]), _seconds(pm["seconds"]),
                    ratio(jm["x pm4py/jm"]), f"{_size(jm['svg_bytes'])} / {_size(pm['svg_bytes'])}",
                    f"{mb(jm['peak_mb'])} / {mb(pm['peak_mb'])}"])
    return table(["log", "events", "journeymine s", "pm4py s", "pm4py / journeymine", "SVG journeymine / pm4py",
                  "peak MB journeymine / pm4py"], out)


def funnels_dotted_short() -> str:
    labels = {"receipt": "receipt ({k}k events)", "sepsis": "sepsis ({k}k events)",
              "bpic2012": "BPI 2012 ({k}k events, density view)", "demo_100000": "demo, 100k accounts ({k}k events)"}
    out = []
    for key, _, _ in DOTTED:
        jm, pm = _dotted(key)
        k = f"{jm['n'] / 1000:.1f}" if jm["n"] < 10_000 else f"{jm['n'] / 1000:.0f}"
        note = ratio(jm["x pm4py/jm"]) + (f"; a {_size(pm['svg_bytes'])} SVG" if key == "demo_100000" else "")
        pm_s = num(pm["seconds"]) if pm["seconds"] < 10 else f"{pm['seconds']:.1f}"
        out.append([labels[key].format(k=k), f"{num(jm['seconds'])} s", f"{pm_s} s ({note})"])
    return table(["dotted chart to SVG", "journeymine", "pm4py 2.7.23 `save_vis_dotted_chart`"], out)


# --- the report --------------------------------------------------------------------------

REPORT = [("demo", "demo (`by=\"segment\"`)"), ("demo_v2", "demo version 2 (with money, NPS, spend)"),
          ("bpic2012", "BPI 2012 (`by=\"first_touch_quarter\"`)"), ("syn100k", "synthetic, 23 territories")]


def report() -> str:
    rows = results("report")["results"]
    out = []
    for log, label in REPORT:
        after = pick(rows, log=log, version="after")
        before = [r for r in rows if r["log"] == log and r["version"] == "before"]
        disc = sorted({f"{r['discovery_s']:.2f}" for r in [after, *before]}, key=float)
        out.append([label, f"{after['accounts']:,}", "–".join(disc),
                    num(before[0]["report_s"]) if before else "(new)", num(after["report_s"]),
                    f"{before[0]['x discovery']:.0f}x" if before else "–", f"{after['x discovery']:.0f}x"])
    return table(["log", "accounts", "discovery s", "report before s", "report after s", "before", "after"], out)


# --- outcome model -----------------------------------------------------------------------

OUTCOME = {
    "demo": "demo (3,000 accounts), won in 90 days",
    "bpic2012": "BPI 2012, approved (30 days / ever)",
    "road_traffic_fines": "road fines, sent to collection (1 year / ever)",
    "sepsis": "sepsis, returns to the ER (90 days / ever)",
    "receipt": "receipt, stop indication (30 days / ever)",
}


def outcome() -> str:
    out = []
    for r in results("outcome")["rows"]:
        out.append([OUTCOME[r["task"]], r["kind"], f"{r['n_test']:,} ({r['positives']:,})", r["default"]["learner"],
                    *[f"{r[k]['auc']:.3f}" for k in ("default", "logistic", "baseline", "generic")],
                    *[f"{r[k]['brier']:.4f}" for k in ("default", "logistic", "baseline", "generic")],
                    f"{r['default']['fit_seconds']:.1f}", mb(r["peak_mb"])])
    return table(["log, outcome", "cut-off", "test examples (with outcome)", "learner", "AUC", "AUC logistic",
                  "AUC rec./freq.", "AUC generic", "Brier", "Brier logistic", "Brier rec./freq.", "Brier generic",
                  "fit s", "peak MB"], out)


ENCODINGS = ["aggregate", "aggregate+last (default)", "aggregate+last+stages", "aggregate+transitions",
             "aggregate+index", "all"]
TASKS = {"demo": "demo", "bpic2012": "BPI 2012", "sepsis": "sepsis", "receipt": "receipt"}


def outcome_encodings() -> str:
    rows = results("outcome_encodings")["rows"]
    header = ["encoding", *[f"{TASKS[r['task']]} {r['kind']}" for r in rows]]
    out = [[enc.replace("+", " + "), *[f"{r[enc]['auc']:.3f}" for r in rows]] for enc in ENCODINGS]
    return table(header, out)


def explore() -> str:
    out = []
    for r in results("explore")["rows"]:
        out.append([r["log"], f"{r['cases']:,}", f"{r['events']:,}", f"{r['bytes'] / 1000:,.0f} kB",
                    num(r["build_seconds"]), num(r["journey_map_seconds"]), ratio(r["x journey_map"]),
                    f"{r['dom_interactive_ms']:.0f}", f"{r['station_seen_ms']:.0f}"])
    return table(["log", "cases", "events", "page", "build s", "journey map s", "x journey map",
                  "first render ms", "station seen ms"], out)


TABLES: dict[str, Callable[[], str]] = {
    "ingest": ingest,
    "discovery-1m": discovery("1000000"),
    "discovery-5m": discovery("5000000"),
    "discovery-parts": discovery_parts,
    "discovery-profile": discovery_profile,
    "compare-validity": compare_validity,
    "compare-speed": compare_speed,
    "subway": subway,
    "committee": committee,
    "clustering-planted": clustering_planted,
    "clustering-scale": clustering_scale,
    "clustering-sepsis": clustering_real("sepsis"),
    "clustering-bpic2012": clustering_real("BPI Challenge 2012"),
    "clustering-bpic2012-seeds": clustering_bpi_seeds,
    "clustering-stability": clustering_stability,
    "clustering-stability-by-seed": clustering_stability_by_seed,
    "sources": sources,
    "spark-summary": spark_summary,
    "spark-parts": spark_parts,
    "funnels-views": funnels_views,
    "funnels-dotted": funnels_dotted,
    "funnels-speed": funnels_speed,
    "funnels-dotted-short": funnels_dotted_short,
    "report": report,
    "outcome": outcome,
    "outcome-encodings": outcome_encodings,
    "explore": explore,
}


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def rewrite(text: str) -> str:
    return TABLE.sub(lambda m: m.group(1) + TABLES[m["name"]]() + "\n" + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list the tables that differ; exit 1 if any")
    args = parser.parse_args(argv)
    stale = []
    for path in markdown_files():
        text = path.read_text(encoding="utf-8")
        new = rewrite(text)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "differ" if args.check else "rewritten"
    print(f"{len(stale)} file(s) {verb}: {', '.join(map(str, stale)) or '-'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
