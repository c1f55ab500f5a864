"""Subway-map benchmark: drawing 40 stations and 12 lines, and a larger map that simplifies.

The issue's budget: a map for 40 stations and 12 lines renders in under 2 s. The peer in
the same run is Graphviz (``dot``) drawing the journey map of the same log to SVG, the
other picture journeymine makes of it. Steps run in fresh processes (``_harness``); each
child times only the drawing, after the log is built.

Usage: ``python benchmarks/bench_subway.py [--repeat 3]``. Writes
``benchmarks/results/subway.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import child_main_timed, measure, print_table, write_json


def _log(n_activities: int, n_lines: int, accounts: int = 400):  # type: ignore[no-untyped-def]
    import pandas as pd

    import journeymine as jm

    rows = []
    for i in range(n_lines):
        # each journey visits 12 of the activities, with a back-step in every third one
        acts = [f"Touchpoint {(i * 3 + k) % n_activities:02d}" for k in range(12)]
        if i % 3 == 0:
            acts = [*acts[:6], acts[3], *acts[6:]]
        for n in range(max(accounts // (i + 1), 1)):
            rows += [(f"j{i}-{n}", a, k * 3600 + n) for k, a in enumerate(acts)]
    df = pd.DataFrame(rows, columns=["case", "activity", "t"])
    df["t"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(df["t"], unit="s")
    return jm.JourneyLog.from_frame(df, case="case", activity="activity", timestamp="t")


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def subway(arg: str) -> tuple[int, float]:
    import journeymine as jm

    n_act, n_lines = (int(v) for v in arg.split("x"))
    log = _log(n_act, n_lines)
    jm.variants(log)  # warm the per-log caches, as a notebook would have
    sm = None

    def draw() -> None:
        nonlocal sm
        sm = jm.subway_map(log, top=n_lines, timing=True, dropoff=True)
        _ = sm.svg

    seconds = _timed(draw)
    return (len(sm.stations) if sm is not None else 0), seconds


def graphviz_map(arg: str) -> tuple[int, float]:
    import journeymine as jm

    n_act, n_lines = (int(v) for v in arg.split("x"))
    log = _log(n_act, n_lines)
    m = jm.journey_map(log)
    seconds = _timed(lambda: m.draw(labels="both").svg)  # type: ignore[union-attr]
    return len(m.nodes), seconds  # type: ignore[union-attr]


STEPS = {"subway": subway, "graphviz_map": graphviz_map}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for size in ("40x12", "60x20"):
        sub = measure(__file__, "subway", size, args.repeat)
        peer = measure(__file__, "graphviz_map", size, args.repeat)
        sub["step"] = f"jm.subway_map, {size.replace('x', ' activities x ')} lines"
        peer["step"] = f"Graphviz dot, journey map of the same log ({size})"
        sub["x vs graphviz"] = peer["seconds"] / sub["seconds"] if sub["seconds"] else None
        rows += [sub, peer]
    print_table("Subway maps (drawing only; n = stations / nodes drawn)", rows)
    path = write_json("subway", {"rows": rows, "budget_seconds": 2.0})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main_timed(STEPS)
    else:
        main()
