"""Outcome-model benchmark: every real log with an outcome and the demo, two cut-off kinds.

For each task the model is trained on what was known earlier and scored on later accounts:

* **calendar** (live-like, the primary evaluation): the log as known at a date T (events
  before T) trains the model on calendar cut-offs; every account open at each date from
  T + horizon to the log's end minus the horizon (a step apart) is scored and labelled by
  whether the outcome happens within the horizon after it.
* **halfway** (the literature comparison, labelled as such): cases are split by start
  date (earlier 60% train, later 40% test); each is scored at the midpoint of its own
  journey, labelled by whether the outcome ever happens after it. The midpoint depends on
  the journey's end, so this is not a live-like figure.

Scorers: the default model (``learner="auto"``, calibrated), the logistic model
(``learner="logistic"``), the recency/frequency baseline (fitted with the default model)
and a generic encoding: scikit-learn's ``HistGradientBoostingClassifier`` with default
settings on the aggregation encoding (activity counts, events so far, days since the first
and the last event, case attributes), the standard benchmark encoding of predictive
process monitoring. Every (log, kind) runs in a fresh process: time and peak memory are its.

Usage: ``python benchmarks/bench_outcome.py [task ...]``. Writes ``benchmarks/results/outcome.json``.
``python benchmarks/bench_outcome.py --encodings`` compares the encodings (the blend's test
AUC on each) and writes ``benchmarks/results/outcome_encodings.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _harness import _peak_rss_mb, write_json

#: task → (reader, outcomes, target, calendar horizon, calendar step, calendar T as a share of the span)
TASKS: dict[str, tuple[str, dict[str, list[str]], str, str, str, float]] = {
    "demo": ("demo", {}, "won", "90D", "30D", 0.55),
    "bpic2012": (
        "bpic2012",
        {"approved": ["A_APPROVED"], "declined": ["A_DECLINED"], "cancelled": ["A_CANCELLED"]},
        "approved",
        "30D",
        "7D",
        0.6,
    ),
    "road_traffic_fines": (
        "road_traffic_fines",
        {"collection": ["Send for Credit Collection"], "paid": ["Payment"]},
        "collection",
        "365D",
        "180D",
        0.6,
    ),
    "sepsis": ("sepsis", {"returned": ["Return ER"]}, "returned", "90D", "14D", 0.6),
    "receipt": (
        "receipt",
        {"stop": ["T10 Determine necessity to stop indication"]},
        "stop",
        "30D",
        "7D",
        0.6,
    ),
}


def _read(name: str) -> Any:
    import journeymine as jm

    if name == "demo":
        return jm.datasets.demo_b2b(n_accounts=3_000, random_state=0)
    import real_logs
    from journeymine._testing import shared_data_dir

    data = shared_data_dir()
    if data is None:
        raise SystemExit("the shared data folder is absent")
    reader = real_logs.LOGS[name][0]
    if name == "bpic2012":
        return reader(data, transitions="complete")
    return reader(data)


def _generic(model: Any, train: Any, at_train: Any, test: Any, at_test: Any) -> dict[str, float]:
    """Default HistGradientBoosting on the aggregation encoding, trained on the same examples."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import brier_score_loss, roc_auc_score

    x, y = model._aligned(train, at_train)
    keep = [
        c
        for c in x.columns
        if c.startswith("activity: ") or " = " in c or c in ("n_events", "days_since_first", "recency_days")
    ]
    clf = HistGradientBoostingClassifier(random_state=0).fit(x[keep].to_numpy(), y)
    xt, yt = model._aligned(test, at_test)
    p = clf.predict_proba(xt[keep].to_numpy())[:, 1]
    return {"auc": float(roc_auc_score(yt, p)), "brier": float(brier_score_loss(yt, p))}


def _split(log: Any, kind: str, horizon: str, step: str, share: float) -> tuple[Any, Any, Any, Any, Any]:
    """(train, its cut-offs, test, its cut-offs, horizon) of one kind of evaluation."""
    import pandas as pd

    if kind == "halfway":
        split = log.cases["start"].quantile(0.6)
        train = log.filter_cases(lambda c: c["start"] < split)
        test = log.filter_cases(lambda c: c["start"] >= split)
        return train, "halfway", test, "halfway", None
    first, last = log.time_span
    t = first + (last - first) * share
    train = log.filter_time(end=t, mode="events")  # the log as known at t
    # every account open at each date from t + horizon (no label known at t) to the
    # last date whose horizon the log covers, a step apart
    grid = pd.date_range(t + pd.Timedelta(horizon), last - pd.Timedelta(horizon), freq=pd.Timedelta(step))
    return train, None, log, (list(grid) if len(grid) else [t + pd.Timedelta(horizon)]), horizon


def run_one(task: str, kind: str) -> dict[str, Any]:
    import journeymine as jm

    reader, outcomes, target, horizon, step, share = TASKS[task]
    outcomes = outcomes or dict(jm.datasets.DEMO_OUTCOMES)
    log = _read(reader)
    start = time.perf_counter()
    train, at_train, test, at_test, h = _split(log, kind, horizon, step, share)
    out: dict[str, Any] = {"task": task, "kind": kind, "target": target, "horizon": h}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        for name, learner in (("default", "auto"), ("logistic", "logistic")):
            t0 = time.perf_counter()
            m = jm.JourneyOutcomeModel(
                outcomes=outcomes, target=target, horizon=h, step=step, learner=learner, random_state=0
            ).fit(train, at=at_train)
            fit_s = time.perf_counter() - t0
            r = m.evaluate(test, at=at_test)
            out[name] = {"auc": r["auc"], "brier": r["brier"], "fit_seconds": fit_s, "learner": r["learner"]}
            if name == "default":
                out["baseline"] = {"auc": r["auc_baseline"], "brier": r["brier_baseline"]}
                out["n_test"], out["positives"], out["n_train"] = r["n"], r["positives"], m.n_examples_
                out["brier_base_rate"] = r["brier_base_rate"]
                out["selection"] = m.selection_[["learner", "auc", "brier"]].to_dict("list")
                default_model = m
        out["generic"] = _generic(default_model, train, at_train, test, at_test)
    out["note"] = str(default_model.selection_["note"].iloc[0])
    out["seconds"] = time.perf_counter() - start
    out["peak_mb"] = _peak_rss_mb()
    return out


#: the encodings compared by ``--encodings`` (the blend, uncalibrated, on each)
ENCODINGS = {
    "aggregate": ("aggregate",),
    "aggregate+last (default)": ("aggregate", "last"),
    "aggregate+last+stages": ("aggregate", "last", "stages"),
    "aggregate+transitions": ("aggregate", "transitions"),
    "aggregate+index": ("aggregate", "index"),
    "all": ("aggregate", "last", "stages", "transitions", "index"),
}


def run_encodings(task: str, kind: str) -> dict[str, Any]:
    """Test AUC and Brier of the blend on each encoding (which encodings help)."""
    import journeymine as jm

    reader, outcomes, target, horizon, step, share = TASKS[task]
    outcomes = outcomes or dict(jm.datasets.DEMO_OUTCOMES)
    train, at_train, test, at_test, h = _split(_read(reader), kind, horizon, step, share)
    out: dict[str, Any] = {"task": task, "kind": kind}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.JourneymineWarning)
        for name, enc in ENCODINGS.items():
            m = jm.JourneyOutcomeModel(
                outcomes=outcomes,
                target=target,
                horizon=h,
                step=step,
                encoding=enc,
                learner="blend",
                calibration=None,
                random_state=0,
            ).fit(train, at=at_train)
            r = m.evaluate(test, at=at_test)
            out[name] = {"auc": r["auc"], "brier": r["brier"], "features": len(m.feature_names_)}
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(run_one(sys.argv[2], sys.argv[3])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-encodings":
        print(json.dumps(run_encodings(sys.argv[2], sys.argv[3])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--encodings":
        tasks = sys.argv[2:] or ["demo", "bpic2012", "sepsis", "receipt"]
        rows = []
        for task in tasks:
            for kind in ("calendar", "halfway"):
                proc = subprocess.run(
                    [sys.executable, __file__, "--child-encodings", task, kind],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode != 0:
                    raise RuntimeError(f"{task} {kind} failed:\n{proc.stderr[-3000:]}")
                rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"{'encoding':<28} " + " ".join(f"{r['task'][:8] + ' ' + r['kind'][:3]:>13}" for r in rows))
        for name in ENCODINGS:
            print(f"{name:<28} " + " ".join(f"{r[name]['auc']:>13.3f}" for r in rows))
        print(f"\nwrote {write_json('outcome_encodings', {'rows': rows})}")
        return
    tasks = sys.argv[1:] or list(TASKS)
    rows = []
    for task in tasks:
        for kind in ("calendar", "halfway"):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", task, kind], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise RuntimeError(f"{task} {kind} failed:\n{proc.stderr[-3000:]}")
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"{task:<20} {kind:<9} done in {r['seconds']:.1f} s", file=sys.stderr)
    head = (
        f"{'log':<20} {'cut-off':<9} {'test n':>7} {'pos':>6} {'learner':>9} {'AUC':>6} {'AUC log':>7} "
        f"{'AUC RF':>6} {'AUC gen':>7} {'Brier':>6} {'Br log':>6} {'Br RF':>6} {'Br gen':>6} "
        f"{'fit s':>6} {'peak MB':>7}"
    )
    print(head + "\n" + "-" * len(head))
    for r in rows:
        d, lg, b, g = r["default"], r["logistic"], r["baseline"], r["generic"]
        print(
            f"{r['task']:<20} {r['kind']:<9} {r['n_test']:>7,} {r['positives']:>6,} {d['learner']:>9} "
            f"{d['auc']:>6.3f} {lg['auc']:>7.3f} {b['auc']:>6.3f} {g['auc']:>7.3f} {d['brier']:>6.3f} "
            f"{lg['brier']:>6.3f} {b['brier']:>6.3f} {g['brier']:>6.3f} {d['fit_seconds']:>6.1f} "
            f"{r['peak_mb']:>7.0f}"
        )
    print(f"\nwrote {write_json('outcome', {'rows': rows})}")


if __name__ == "__main__":
    main()
