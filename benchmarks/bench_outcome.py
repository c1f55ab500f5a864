"""Outcome-model benchmark on BPI Challenge 2012, with the recency/frequency baseline.

Outcome: application approved (A_APPROVED) vs declined or cancelled. Applications are
split by start date: the earlier 60% train, the later 40% evaluate (a later time window).
Every application is scored at the halfway point of its own journey. Also the demo log:
fit on cut-offs before mid-2024, evaluate whether accounts open on 1 Sep 2024 sign within
90 days.

Usage: ``python benchmarks/bench_outcome.py``. Writes ``benchmarks/results/outcome.json``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import write_json


def main() -> None:
    import journeymine as jm
    from journeymine._testing import shared_data_dir

    rows = {}
    data = shared_data_dir()
    if data is not None:
        bpic = jm.read_xes(data / "bpic2012.xes.gz", transitions="complete")
        split = bpic.cases["start"].quantile(0.6)
        train = bpic.filter_cases(lambda c: c["start"] < split)
        later = bpic.filter_cases(lambda c: c["start"] >= split)
        outs = {"approved": ["A_APPROVED"], "declined": ["A_DECLINED"], "cancelled": ["A_CANCELLED"]}
        start = time.perf_counter()
        m = jm.JourneyOutcomeModel(outcomes=outs, target="approved", horizon=None, random_state=0)
        r = m.fit(train, at="halfway").evaluate(later, at="halfway")
        r["seconds"] = time.perf_counter() - start
        r.pop("calibration")
        rows["bpic2012_halfway"] = r
    demo = jm.datasets.demo_b2b(n_accounts=3_000, random_state=0)
    start = time.perf_counter()
    m = jm.JourneyOutcomeModel(outcomes=jm.datasets.DEMO_OUTCOMES, target="won", horizon="90D", random_state=0)
    r = m.fit(demo.filter_time(end="2024-06-01", mode="contained")).evaluate(demo, at="2024-09-01")
    r["seconds"] = time.perf_counter() - start
    r.pop("calibration")
    rows["demo_won_90d"] = r
    print(f"{'log':<20} {'n':>7} {'base rate':>9} {'AUC':>7} {'AUC RF':>7} {'Brier':>7} {'Brier RF':>8} "
          f"{'Brier base':>10} {'s':>6}")
    for name, r in rows.items():
        print(f"{name:<20} {r['n']:>7,} {r['base_rate']:>9.3f} {r['auc']:>7.3f} {r['auc_baseline']:>7.3f} "
              f"{r['brier']:>7.3f} {r['brier_baseline']:>8.3f} {r['brier_base_rate']:>10.3f} {r['seconds']:>6.1f}")
    print(f"\nwrote {write_json('outcome', {'rows': rows})}")


if __name__ == "__main__":
    main()
