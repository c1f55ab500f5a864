"""Cohort-comparison benchmark: statistical validity and speed.

* **A/A**: two cohorts drawn from the same journey process; the share of seeds with any
  finding at q < 0.05 (under the complete null that is BH's false discovery rate, which
  must stay at or below 5%).
* **Planted differences**: cohort B differs from A by a changed transition probability
  (more free trials), an added loop (Proposal → Demo) and a slower step (gaps ×1.6); the
  share of the planted differences found at q < 0.05, over seeds and sample sizes.
* **Speed**: 12 cohorts (segment × first-touch quarter) against the rest on ~1M demo events
  with outcomes, in a fresh process; the peer in the same run is journeymine's own
  `journey_map(by=...)` over the same cohorts, the pass that any comparison needs.

Usage: ``python benchmarks/bench_compare.py [--aa-seeds 200] [--planted-seeds 50]``.
Writes ``benchmarks/results/compare.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _harness import child_main_timed, measure, print_table, write_json


def _journeys(n: int, rng: np.random.Generator, *, loop: float = 0.1, trial: float = 0.3, slow: float = 1.0,
              group: str = "A") -> list[tuple[str, str, pd.Timestamp, str]]:
    from test_compare import journeys

    return journeys(n, rng, loop=loop, trial=trial, slow=slow, group=group)


def _log(rows):  # type: ignore[no-untyped-def]
    from test_compare import log_of

    return log_of(rows)


def aa(seeds: int, n: int) -> dict[str, float]:
    import journeymine as jm

    hits, findings, tests = 0, 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(10_000 + seed)
        rows = _journeys(n, rng, group="A") + _journeys(n, rng, group="B")
        cmp = jm.compare_cohorts(_log(rows), by="cohort", pairs=[("A", "B")], random_state=seed, n_permutations=199)
        hits += len(cmp.summary) > 0
        findings += len(cmp.summary)
        tests += len(cmp.to_dataframe())
    return {"seeds": seeds, "accounts_per_cohort": n, "seeds_with_a_finding": hits, "rate": hits / seeds,
            "mean_tests_per_seed": tests / seeds}


def planted(seeds: int, n: int) -> dict[str, float]:
    import journeymine as jm

    found = {"Trial": 0, "Proposal → Demo": 0, "Webinar → Demo": 0}
    for seed in range(seeds):
        rng = np.random.default_rng(20_000 + seed)
        rows = _journeys(n, rng, trial=0.3, group="A") + _journeys(n, rng, trial=0.55, loop=0.3, slow=1.6, group="B")
        cmp = jm.compare_cohorts(_log(rows), by="cohort", pairs=[("B", "A")], random_state=seed, n_permutations=199)
        feats = set(cmp.summary["feature"])
        for k in found:
            found[k] += k in feats
    total = sum(found.values())
    return {"seeds": seeds, "accounts_per_cohort": n, "found": total, "planted": 3 * seeds,
            "share_found": total / (3 * seeds),
            **{f"found[{k}]": v / seeds for k, v in found.items()}}




def _cohorts(cases: pd.DataFrame) -> pd.Series:
    return cases["segment"] + " Q" + cases["start"].dt.quarter.astype(str)


def step_compare(arg: str) -> tuple[int, float]:
    import journeymine as jm

    log = jm.datasets.demo_b2b(int(arg), random_state=0)
    start = time.perf_counter()
    cmp = jm.compare_cohorts(log, by=_cohorts, outcomes=jm.datasets.DEMO_OUTCOMES, random_state=0)
    seconds = time.perf_counter() - start
    assert len(cmp.comparisons) == 12
    return log.n_events, seconds


def step_maps(arg: str) -> tuple[int, float]:
    import journeymine as jm

    log = jm.datasets.demo_b2b(int(arg), random_state=0)
    start = time.perf_counter()
    jm.journey_map(log, by=_cohorts)
    return log.n_events, time.perf_counter() - start


STEPS = {"compare": step_compare, "maps": step_maps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--aa-seeds", type=int, default=200)
    parser.add_argument("--planted-seeds", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=137_000, help="demo accounts for the speed step (~1M events)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    validity = {"aa": aa(args.aa_seeds, 150), "planted_300": planted(args.planted_seeds, 300),
                "planted_150": planted(args.planted_seeds, 150)}
    print("\nA/A (same process, 150 accounts per cohort):", validity["aa"])
    print("Planted differences, 300 per cohort:", validity["planted_300"])
    print("Planted differences, 150 per cohort:", validity["planted_150"])
    rows = [measure(__file__, "compare", str(args.accounts), args.repeat),
            measure(__file__, "maps", str(args.accounts), args.repeat)]
    rows[0]["step"] = "compare_cohorts: 12 cohorts vs rest, outcomes"
    rows[1]["step"] = "journey_map(by=12 cohorts), same log"
    rows[0]["x vs one map pass"] = rows[0]["seconds"] / rows[1]["seconds"]
    print_table("Speed (n = events)", rows)
    path = write_json("compare", {"validity": validity, "speed": rows})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main_timed(STEPS)
    else:
        main()
