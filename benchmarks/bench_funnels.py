"""Funnel, paths and retention against pandas (same counts), and the dotted chart against pm4py.

**Views against pandas.** Data: the demo generator (``generate_demo_events(n,
random_state=0)``, ~7.3 events per account), cached as Parquet in ``benchmarks/.cache``
(shared with ``bench_committee.py``: 686,000 accounts are 5.02M events). Three views:

* funnel: ``jm.funnel(log, ["Demo request", "Demo", "Proposal sent", "Contract signed"],
  window="90D", lost="Closed lost")`` (strict order), its ``steps`` table;
* paths: ``jm.paths(log, "Proposal sent", before=3, after=3, top=8)``, its ``links``;
* retention: ``jm.retention(log, period="M")``, its ``to_dataframe()`` cells.

Each step runs in a fresh process that reads the events (not timed):

* **journeymine**: on a log built beforehand (``JourneyLog.from_frame``, not timed), the
  call and the table compared, in a fresh process: the first call, so lazy imports (scipy
  for the funnel's Kaplan–Meier intervals) are in the time;
* **journeymine, warm**: the same after one untimed call on a 3,000-account log in the
  same process (imports done; the big log's work is not cached by it);
* **journeymine by segment**: ``by="segment"`` (cohorts, and for the funnel the cohort
  tests); first call. pandas has no peer for it (the references compute no cohorts);
* **pandas**: the reference in ``_ref_funnel.py`` / ``_ref_paths.py`` /
  ``_ref_retention.py`` (vectorised pandas, no loop over accounts) on the raw events frame
  sorted stably by (account, time), as the log's events are; reading and sorting not
  timed, one untimed warm-up call on 3,000 accounts first.

Before timing, the parent checks on 3,000 accounts and once on the full size (in a child
process) that journeymine's table equals the reference's (``check`` in the JSON); it stops
if not.

**Dotted chart against pm4py** (``_ref_dotted.py``): ``jm.dotted_chart(log).save(svg)``
against ``pm4py.save_vis_dotted_chart(frame, svg)``, both writing an SVG file of the
default chart (x time, y case, colour activity), checked to hold an ``<svg`` element. Logs:
receipt, sepsis, BPI 2012 (read by journeymine as ``tests/real_logs.py`` does; pm4py gets
the same events through ``to_pm4py()`` + ``format_dataframe``, not timed) and the demo at
100,000 accounts. Both sides make one untimed warm-up chart of the 42-event running example
first. pm4py's runs are stopped (with its ``neato``) after ``--pm4py-timeout`` seconds and
reported as not finished.

Usage: ``python benchmarks/bench_funnels.py [--accounts 686000] [--repeat 3]``. Writes
``benchmarks/results/funnels.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import child_main_timed, measure, print_table, write_json
from bench_committee import _build, _path, make_data

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache"
SVG_DIR = CACHE / "dotted"
SMALL = 3_000
STEPS = ["Demo request", "Demo", "Proposal sent", "Contract signed"]
WINDOW, LOST = "90D", "Closed lost"
AROUND, BEFORE, AFTER, TOP = "Proposal sent", 3, 3, 8
PERIOD = "M"
VIEWS = ("funnel", "paths", "retention")
DOTTED_LOGS = ("receipt", "sepsis", "bpic2012", "demo_100000")
DEMO_DOTTED = 100_000


# -- the views, both sides --------------------------------------------------------------------


def jm_view(view: str, log: Any, by: str | None = None) -> pd.DataFrame:
    """journeymine's call and the table that is compared with the reference."""
    import journeymine as jm

    if view == "funnel":
        return jm.funnel(log, STEPS, window=WINDOW, lost=LOST, order="strict", by=by).steps
    if view == "paths":
        return jm.paths(log, AROUND, before=BEFORE, after=AFTER, top=TOP, by=by).links
    return jm.retention(log, period=PERIOD, by=by).to_dataframe()


def sorted_events(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw events in the log's order: by account, then time, then input row."""
    return frame.sort_values(["account_id", "timestamp"], kind="stable").reset_index(drop=True)


def pandas_view(view: str, ev: pd.DataFrame) -> pd.DataFrame:
    """The pandas reference's table, on events already in the log's order."""
    if view == "funnel":
        from _ref_funnel import pandas_funnel

        return pandas_funnel(
            ev, STEPS, window=pd.Timedelta(WINDOW), lost=[LOST], case="account_id", activity="touchpoint"
        )
    if view == "paths":
        from _ref_paths import pandas_paths

        ev = ev.rename(columns={"account_id": "case", "touchpoint": "activity"})
        return pandas_paths(ev, AROUND, BEFORE, AFTER, TOP, presorted=True)
    from _ref_retention import pandas_retention

    return pandas_retention(ev, PERIOD)


def equal(view: str, mine: pd.DataFrame, ref: pd.DataFrame) -> bool:
    if view == "funnel":
        from _ref_funnel import check_equal

        return check_equal(mine, ref)
    if view == "paths":
        from _ref_paths import check_equal
    else:
        from _ref_retention import check_equal
    try:
        check_equal(mine, ref)
    except AssertionError as exc:
        print(f"{view}: {str(exc)[:2000]}", file=sys.stderr)
        return False
    return True


def check_frame(frame: pd.DataFrame) -> dict[str, bool]:
    """Per view: does journeymine's table equal the pandas reference's?"""
    log = _build(frame)
    ev = sorted_events(frame)
    return {view: equal(view, jm_view(view, log), pandas_view(view, ev)) for view in VIEWS}


def _small_frame() -> pd.DataFrame:
    from journeymine.datasets._demo import generate_demo_events

    return generate_demo_events(SMALL, random_state=0)


# -- child steps ------------------------------------------------------------------------------


def _jm_step(view: str, *, warm: bool = False, by: str | None = None) -> Any:
    def step(arg: str) -> tuple[int, float]:
        log = _build(pd.read_parquet(_path(int(arg))))
        if warm:
            jm_view(view, _build(_small_frame()), by=by)
        start = time.perf_counter()
        jm_view(view, log, by=by)
        return log.n_events, time.perf_counter() - start

    return step


def _pandas_step(view: str) -> Any:
    def step(arg: str) -> tuple[int, float]:
        ev = sorted_events(pd.read_parquet(_path(int(arg))))
        pandas_view(view, sorted_events(_small_frame()))
        start = time.perf_counter()
        pandas_view(view, ev)
        return len(ev), time.perf_counter() - start

    return step


def step_check(arg: str) -> tuple[int, float]:
    """Not a timing: prints the full-size check as a JSON line of its own first."""
    frame = pd.read_parquet(_path(int(arg)))
    start = time.perf_counter()
    print(json.dumps({"check": check_frame(frame)}))
    return len(frame), time.perf_counter() - start


def dotted_log(name: str) -> Any:
    """A JourneyLog of a real log (read as the tests read it) or of the demo."""
    if name.startswith("demo_"):
        return _build(pd.read_parquet(make_data(int(name.removeprefix("demo_")))))
    sys.path.insert(0, str(ROOT / "tests"))
    from real_logs import LOGS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LOGS[name][0](DATA)


def _svg_side(name: str, side: str, n: int) -> None:
    out = SVG_DIR / f"{name}_{side}.svg"
    info = {"svg_bytes": out.stat().st_size, "events": n}
    out.with_suffix(".json").write_text(json.dumps(info))


def _dotted_step(side: str) -> Any:
    def step(name: str) -> tuple[int, float]:
        from _ref_dotted import jm_dotted, pm4py_dotted, pm4py_frame

        SVG_DIR.mkdir(parents=True, exist_ok=True)
        log = dotted_log(name)
        warm = dotted_log("running_example")
        out = SVG_DIR / f"{name}_{side}.svg"
        with tempfile.TemporaryDirectory() as folder:
            tempfile.tempdir = folder  # pm4py's .gv and image files, removed with the folder
            if side == "jm":
                jm_dotted(warm)
                seconds = jm_dotted(log, out=out)
            else:
                frame = pm4py_frame(log)
                pm4py_dotted(pm4py_frame(warm))
                seconds = pm4py_dotted(frame, out=out)
            tempfile.tempdir = None
        _svg_side(name, side, log.n_events)
        return log.n_events, seconds

    return step


CHILD_STEPS: dict[str, Any] = {"check": step_check, "dotted_jm": _dotted_step("jm"),
                               "dotted_pm4py": _dotted_step("pm4py")}
for _view in VIEWS:
    CHILD_STEPS[f"jm_{_view}"] = _jm_step(_view)
    CHILD_STEPS[f"jm_{_view}_warm"] = _jm_step(_view, warm=True)
    CHILD_STEPS[f"jm_{_view}_by"] = _jm_step(_view, by="segment")
    CHILD_STEPS[f"pandas_{_view}"] = _pandas_step(_view)


# -- parent -----------------------------------------------------------------------------------


def measure_capped(step: str, arg: str, repeat: int, timeout: float) -> dict[str, Any]:
    """As :func:`measure`, each run stopped (its whole process group: pm4py's shell and
    neato too) after ``timeout`` seconds; a run that did not finish counts as ``inf`` and
    ends the repeats."""
    runs = []
    for _ in range(repeat):
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", step, arg],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            runs.append({"seconds": math.inf, "peak_mb": math.nan, "n": None, "timeout": timeout})
            break
        if proc.returncode != 0:
            raise RuntimeError(f"step {step} {arg} failed:\n{err[-3000:]}")
        runs.append(json.loads(out.strip().splitlines()[-1]))
    finished = [r for r in runs if math.isfinite(r["seconds"])]
    return {
        "step": step,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mb": statistics.median(r["peak_mb"] for r in finished) if finished else math.nan,
        "n": next((r["n"] for r in runs if r["n"] is not None), 0),
        "runs": runs,
    }


def run_check_full(n: int) -> dict[str, bool]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", "check", str(n)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"full-size check failed:\n{out.stderr[-3000:]}")
    line = next(x for x in out.stdout.splitlines() if x.startswith('{"check"'))
    return json.loads(line)["check"]


LABELS = {
    "funnel": f"funnel ({len(STEPS)} steps, {WINDOW}, lost)",
    "paths": f"paths (around {AROUND!r}, {BEFORE}+{AFTER}, top {TOP})",
    "retention": f"retention (period {PERIOD})",
}


def views(n: int, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for view in VIEWS:
        label = LABELS[view]
        cold = measure(__file__, f"jm_{view}", str(n), repeat)
        warm = measure(__file__, f"jm_{view}_warm", str(n), repeat)
        by = measure(__file__, f"jm_{view}_by", str(n), repeat)
        ref = measure(__file__, f"pandas_{view}", str(n), repeat)
        cold["step"] = f"jm {view}: first call in the process"
        warm["step"] = f"jm {view}: warm (after a 3k-account call)"
        by["step"] = f"jm {view} by segment (no pandas peer)"
        ref["step"] = f"pandas reference {view}"
        for row in (cold, warm):
            row["x pandas/jm"] = ref["seconds"] / row["seconds"]
        rows = [cold, warm, by, ref]
        print_table(f"{label}: {n:,} accounts (n = events)", rows)
        out[view] = {"call": label, "rows": rows}
    return out


def dotted(repeat: int, timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in DOTTED_LOGS:
        mine = measure(__file__, "dotted_jm", name, repeat)
        theirs = measure_capped("dotted_pm4py", name, repeat, timeout)
        mine["step"] = f"jm dotted_chart → SVG: {name}"
        theirs["step"] = f"pm4py save_vis_dotted_chart → SVG: {name}"
        for side, row in (("jm", mine), ("pm4py", theirs)):
            info = SVG_DIR / f"{name}_{side}.json"
            if math.isfinite(row["seconds"]) and info.exists():
                facts = json.loads(info.read_text())
                row["svg_bytes"] = facts["svg_bytes"]
        if math.isfinite(theirs["seconds"]):
            mine["x pm4py/jm"] = theirs["seconds"] / mine["seconds"]
        else:
            theirs["did_not_finish"] = f"did not finish within {timeout:.0f} s"
            theirs["n"] = mine["n"]
        rows = [mine, theirs]
        print_table(f"dotted chart: {name} (n = events)", rows)
        out[name] = {"rows": rows}
    return out


def _finite(value: Any) -> Any:
    """The payload with ``inf`` / ``nan`` as ``None`` (strict JSON); a run past the cap
    says so in ``did_not_finish``."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def code_facts() -> dict[str, Any]:
    """Which journeymine was measured: its source folder, and the commit of that checkout
    with whether its ``src`` differs from the commit (None outside a git checkout)."""
    import importlib.metadata as md

    import journeymine as jm

    folder = Path(jm.__file__).resolve().parent
    facts: dict[str, Any] = {"source": str(folder), "commit": None, "src_modified": None}

    def git(*cmd: str) -> str | None:
        out = subprocess.run(["git", "-C", str(folder), *cmd], capture_output=True, text=True, check=False)
        return out.stdout.strip() if out.returncode == 0 else None

    facts["commit"] = git("rev-parse", "HEAD")
    if facts["commit"] is not None:
        facts["src_modified"] = bool(git("status", "--porcelain", "--", str(folder)))
    facts["versions"] = {}
    for name in ("pandas", "polars", "numpy", "scipy", "pm4py"):
        try:
            facts["versions"][name] = md.version(name)
        except md.PackageNotFoundError:
            facts["versions"][name] = None
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=686_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pm4py-timeout", type=float, default=600.0)
    parser.add_argument("--skip-dotted", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    small = check_frame(_small_frame())
    print(f"journeymine equals the pandas reference on {SMALL:,} accounts:", small)
    if not all(small.values()):
        raise SystemExit(f"journeymine and the pandas reference disagree on {SMALL:,} accounts: {small}")
    make_data(args.accounts)
    full = run_check_full(args.accounts)
    print(f"journeymine equals the pandas reference on {args.accounts:,} accounts:", full)
    if not all(full.values()):
        raise SystemExit(f"journeymine and the pandas reference disagree on {args.accounts:,} accounts: {full}")
    measured = views(args.accounts, args.repeat)
    events = measured["funnel"]["rows"][0]["n"]
    chart = {} if args.skip_dotted else dotted(args.repeat, args.pm4py_timeout)
    payload = {
        "code": code_facts(),
        "repeat": args.repeat,
        "accounts": args.accounts,
        "events": events,
        "check": {"accounts_3000": small, f"accounts_{args.accounts}": full},
        "views": measured,
        "dotted": {
            "pm4py_timeout_s": args.pm4py_timeout,
            "includes": {
                "jm": "jm.dotted_chart(log).save(svg): chart computed and SVG written, log in memory",
                "pm4py": "pm4py.save_vis_dotted_chart(frame, svg) on a format_dataframe'd frame in memory: "
                "Graphviz source written, neato -n1 run, SVG copied",
            },
            "logs": chart,
        },
        "peak_mb": "VmHWM of the timed process (events frame and log included); pm4py's neato runs as a "
        "process of its own, its memory is not in the figure",
        "wall_seconds": time.perf_counter() - started,
    }
    path = write_json("funnels", _finite(payload))
    print(f"\nwrote {path} ({payload['wall_seconds'] / 60:.1f} min)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main_timed(CHILD_STEPS)
    else:
        main()
