"""Explorer benchmark: page size, build time and time to first render on the real logs.

The peer in the same run is ``jm.journey_map(log)``, the discovery the page shows: the
build's ratio to it says what the sliders' precomputed levels, the account lists and the
subway view cost on top. Time to first render is measured in headless Chromium (Debian's
``chromium`` through playwright, as the browser tests drive it), 1400×900, from navigation
start: ``domInteractive`` (the page's one script has run and drawn the map) and the moment
playwright sees a station. Each timed run reads its log afresh (``jm.datasets.load``; a log
caches its discovery), untimed; each figure is the median of ``--repeat`` runs.

Usage: ``python benchmarks/bench_explore.py [--repeat 3] [--loads 7]``. Writes
``benchmarks/results/explore.json``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import write_json

import journeymine as jm

LOGS: dict[str, Any] = {
    "demo by segment": (lambda: jm.datasets.demo_b2b(n_accounts=400, random_state=0), "segment"),
    "receipt": (lambda: jm.datasets.load("receipt"), None),
    "sepsis": (lambda: jm.datasets.load("sepsis", duplicates="keep"), None),
    "bpic2012": (lambda: jm.datasets.load("bpic2012"), None),
    "road_traffic_fines": (lambda: jm.datasets.load("road_traffic_fines", duplicates="keep"), None),
}


def _median_seconds(load: Any, fn: Any, repeat: int) -> tuple[float, Any]:
    """The median time of ``fn(log)``, each run on a freshly loaded log (a log caches its
    discovery, which would flatter the second run)."""
    times, out = [], None
    for _ in range(repeat):
        log = load()
        start = time.perf_counter()
        out = fn(log)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _render_ms(html_path: Path, loads: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    interactive, station = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(html_path.as_uri())  # warm-up
        for _ in range(loads):
            start = time.perf_counter()
            page.goto(html_path.as_uri())
            page.wait_for_selector("#jm-map g.station")
            station.append((time.perf_counter() - start) * 1000)
            interactive.append(page.evaluate("performance.getEntriesByType('navigation')[0].domInteractive"))
        browser.close()
    return {"dom_interactive_ms": statistics.median(interactive), "station_seen_ms": statistics.median(station)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--logs", nargs="*", default=list(LOGS))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.logs:
            load, by = LOGS[name]
            log = load()
            discover, _ = _median_seconds(load, lambda log, by=by: jm.journey_map(log, by=by), args.repeat)
            build, explorer = _median_seconds(load, lambda log, by=by: jm.explore(log, by=by), args.repeat)
            path = Path(tmp) / f"{name.replace(' ', '_')}.html"
            explorer.save(path)
            render = _render_ms(path, args.loads)
            rows.append({
                "log": name, "cases": log.n_cases, "events": log.n_events, "by": by,
                "bytes": len(explorer.html.encode("utf-8")), "build_seconds": build,
                "journey_map_seconds": discover, "x journey_map": build / discover, **render,
            })
            print(f"{name:<20} {rows[-1]['bytes']:>10,} B  build {build:6.2f} s  "
                  f"({rows[-1]['x journey_map']:5.1f}x journey_map)  first render "
                  f"{render['dom_interactive_ms']:6.0f} ms (station seen {render['station_seen_ms']:6.0f} ms)")
    path = write_json("explore", {"repeat": args.repeat, "loads": args.loads, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
