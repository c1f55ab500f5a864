"""Journey-report benchmark: the time of every section, before and after, in one run.

For each log — the demo (2,000 accounts), BPI 2012 (13,087 applications) and 100,000
synthetic accounts in 23 cohorts (the demo generator with a ``territory`` attribute) — a
fresh process per version reads the log, times one **discovery pass** (journey maps by
cohort + the whole map + variants: the peer in the same run) and then the report, section
by section. "before" is the library at ``--before`` (a git ref, exported to a temporary
folder), "after" the working tree. Ratios are against the discovery pass of the same
process (the median of three); absolute times on shared 2-core machines are noise.

``demo_v2`` (the demo's version 2 with revenue, NPS and spend) times the "Value and voice"
section, which only the working tree has.

Usage: ``python benchmarks/bench_report.py [--before 899c33f] [--repeat 1] [--logs demo,demo_v2,bpic2012,syn100k]``.
Writes ``benchmarks/results/report.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import _peak_rss_mb, write_json

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("data_quality", "kpi_section", "committee_section", "journeys_section", "subway_section",
            "clusters_section", "compare_section", "variants_section", "attribution_section",
            "funnel_section", "paths_section", "time_section", "value_section", "positions_section")


#: logs that only the working tree can build (the demo's version 2 came with issue 25)
NEW_LOGS = {"demo_v2"}


def _data() -> Path:
    return Path(os.environ.get("JOURNEYMINE_DATA", ROOT.parent / "shared" / "data"))


def _synthetic(path: Path, n: int) -> None:
    import numpy as np
    import pandas as pd

    import journeymine as jm

    df = jm.datasets.demo_b2b(n_accounts=n, random_state=0, as_frame=True)
    acc = df["account_id"].unique()
    rng = np.random.default_rng(1)
    share = rng.dirichlet(np.ones(23) * 2.0)
    names = np.array([f"T{i:02d}" for i in range(23)])
    df["territory"] = df["account_id"].map(pd.Series(names[rng.choice(23, size=len(acc), p=share)], index=acc))
    df.to_parquet(path)


def _load(name: str, tmp: Path):  # type: ignore[no-untyped-def]
    """(log, report keyword arguments) of one benchmark log."""
    import journeymine as jm

    if name == "demo":
        return jm.datasets.demo_b2b(2_000, random_state=0), {
            "by": "segment", "outcomes": jm.datasets.DEMO_OUTCOMES, "committee_at": "Proposal sent"}
    if name == "demo_v2":  # the demo with money and voice (issue 25): the whole "Value and voice" section
        return jm.datasets.demo_b2b(2_000, random_state=0, version=2), {
            "by": "segment", "outcomes": jm.datasets.DEMO_OUTCOMES, "committee_at": "Proposal sent",
            "value_kind": "deal_type", "value_product": "deal_product", "score": "nps",
            "spend": jm.datasets.demo_spend(2_000, random_state=0)}
    if name == "bpic2012":
        log = jm.read_xes(_data() / "bpic2012.xes.gz")
        return log, {"by": "first_touch_quarter", "outcomes": {
            "won": ["A_APPROVED"], "lost": ["A_DECLINED"], "churned": ["A_CANCELLED"]}}
    path = tmp / "syn100k.parquet"
    log = jm.read_parquet(path, case="account_id", activity="touchpoint", timestamp="timestamp",
                          contact="contact_id", role="contact_role", channel="channel", stage="stage",
                          value="value", case_attributes=["segment", "product", "market", "territory"],
                          stage_order=list(jm.datasets.DEMO_STAGE_ORDER))
    return log, {"by": "territory", "outcomes": jm.datasets.DEMO_OUTCOMES, "committee_at": "Proposal sent"}


def child(name: str, tmp: str) -> None:
    import warnings

    import journeymine as jm
    import journeymine._report as report_module
    import journeymine._report_sections as sections
    import journeymine._report_views as views

    warnings.simplefilter("ignore")
    log, kw = _load(name, Path(tmp))
    import numpy as np  # noqa: F401  (imports outside the timed parts)
    import scipy.stats  # noqa: F401
    import sklearn.cluster  # noqa: F401

    # every timed part starts from the log as read (what the reader cached, no more): the
    # discovery passes and the report each pay for encoding the log, as a first call would
    as_read = dict(log._cache)

    def fresh() -> None:
        log._cache.clear()
        log._cache.update(as_read)

    passes = []
    for _ in range(3):  # the median of three passes: one pass swings by ±30% on a shared machine
        fresh()
        start = time.perf_counter()
        jm.journey_map(log, by=kw["by"])
        jm.journey_map(log)
        jm.variants(log)
        passes.append(time.perf_counter() - start)
    discovery = statistics.median(passes)
    fresh()  # the report computes its own tables: nothing is left over from the discovery passes
    times: dict[str, float] = {}
    for module in (sections, views):
        for section in SECTIONS:
            fn = getattr(module, section, None)
            if fn is None:
                continue

            def timed(*a, _fn=fn, _name=section, **k):  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                out = _fn(*a, **k)
                times[_name] = times.get(_name, 0.0) + time.perf_counter() - t0
                return out

            setattr(report_module, section, timed)
    start = time.perf_counter()
    html = jm.report(log, generated=False, random_state=0, **kw)
    total = time.perf_counter() - start
    print(json.dumps({"discovery": discovery, "report": total, "sections": times, "peak_mb": _peak_rss_mb(),
                      "accounts": log.n_cases, "events": log.n_events, "html_bytes": len(html.encode()),
                      "html_hash": __import__("hashlib").sha256(html.encode()).hexdigest()[:16]}))


def _run(src: Path, name: str, tmp: Path) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "PYTHONPATH": str(src), "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "2")}
    out = subprocess.run([sys.executable, __file__, "--child", name, str(tmp)], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="899c33f")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--logs", default="demo,demo_v2,bpic2012,syn100k")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        before = tmp / "before"
        before.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "src"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        logs = args.logs.split(",")
        if "syn100k" in logs:
            _synthetic(tmp / "syn100k.parquet", 100_000)
        results = []
        for name in logs:
            for version, src in (("before", before / "src"), ("after", ROOT / "src")):
                if name in NEW_LOGS and version == "before":
                    print(f"{name:9s} before  (not in {args.before}: the section is new)", flush=True)
                    continue
                runs = [_run(src, name, tmp) for _ in range(args.repeat)]
                best = min(runs, key=lambda r: r["report"])
                row = {"log": name, "version": version, "accounts": best["accounts"], "events": best["events"],
                       "discovery_s": statistics.median(r["discovery"] for r in runs),
                       "report_s": statistics.median(r["report"] for r in runs),
                       "sections_s": best["sections"], "peak_mb": best["peak_mb"],
                       "html_hash": best["html_hash"], "runs": runs}
                row["x discovery"] = row["report_s"] / row["discovery_s"]
                results.append(row)
                print(f"{name:9s} {version:6s} {row['accounts']:>8,} acc  discovery {row['discovery_s']:6.2f} s  "
                      f"report {row['report_s']:6.2f} s  = {row['x discovery']:5.1f}x  html {row['html_hash']}",
                      flush=True)
    print(f"\n{'section':22s}" + "".join(f"{r['log'][:8] + ' ' + r['version'][:3]:>14s}" for r in results))
    for section in SECTIONS:
        print(f"{section:22s}" + "".join(f"{r['sections_s'].get(section, 0.0):14.2f}" for r in results))
    write_json("report", {"before": args.before, "results": results})


if __name__ == "__main__":
    main()
