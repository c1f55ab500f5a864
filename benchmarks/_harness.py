"""A small harness for journeymine's benchmarks.

Each measured step runs in a fresh Python process (so imports, caches and peak memory
do not leak from one step into the next); the parent prints a table of medians with
ratios against the peers measured in the same run, and writes JSON. Absolute times on
shared 2-core machines are noise; the ratios are the result.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def child_main(steps: dict[str, Callable[[str], int]]) -> None:
    """Entry point of a child process: ``script --child STEP ARG`` prints one JSON line."""
    step, arg = sys.argv[2], sys.argv[3]
    start = time.perf_counter()
    n = steps[step](arg)
    seconds = time.perf_counter() - start
    peak_mb = _peak_rss_mb()
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "n": n}))


def child_main_timed(steps: dict[str, Callable[[str], tuple[int, float]]]) -> None:
    """Like :func:`child_main`, for steps that time their own measured part: each returns
    ``(n, seconds)`` so that building the input is left out of the time."""
    step, arg = sys.argv[2], sys.argv[3]
    n, seconds = steps[step](arg)
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_rss_mb(), "n": n}))


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM). Unlike ``ru_maxrss``, which Linux
    carries over from the parent across fork and exec, VmHWM starts afresh at exec."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(script: str, step: str, arg: str, repeat: int) -> dict[str, Any]:
    """Run ``step`` ``repeat`` times in fresh processes; return medians and all runs."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, script, "--child", step, arg],
            capture_output=True, text=True, check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"step {step} failed:\n{out.stderr[-3000:]}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "step": step,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mb": statistics.median(r["peak_mb"] for r in runs),
        "n": runs[0]["n"],
        "runs": runs,
    }


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    """Print rows with columns step, seconds, peak MB and any ratio columns."""
    ratio_keys = sorted({k for r in rows for k in r if k.startswith("x ")})
    header = f"{'step':<52} {'events':>10} {'seconds':>8} {'peak MB':>8} " + " ".join(
        f"{k:>14}" for k in ratio_keys)
    print(f"\n{title}\n{header}\n{'-' * len(header)}")
    for r in rows:
        ratios = " ".join(
            f"{r[k]:>14.2f}" if isinstance(r.get(k), float) else f"{'':>14}" for k in ratio_keys)
        print(f"{r['step']:<52} {r['n']:>10,} {r['seconds']:>8.2f} {r['peak_mb']:>8.0f} {ratios}")


def write_json(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` with machine facts to ``benchmarks/results/<name>.json``."""
    import os

    RESULTS.mkdir(exist_ok=True)
    payload = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
