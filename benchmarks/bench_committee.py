"""Buying-committee benchmark: ``jm.buying_committee`` against a pandas groupby baseline.

Data: the demo generator (``journeymine.datasets._demo.generate_demo_events(n,
random_state=0)``: every event has a contact and a role; ~7.3 events per account), cached
as Parquet in ``benchmarks/.cache``. Default sizes: 250,000 accounts (~1.8M events) and
686,000 accounts (~5.0M events). For each size, three steps, each in a fresh process that
reads the cached events into pandas first (not timed):

* **build**: ``jm.JourneyLog.from_frame`` with the demo's mapping (as ``demo_b2b`` builds
  it): validation, sort, case table;
* **journeymine**: on the log built beforehand (not timed), the whole
  ``jm.buying_committee(log, outcomes=DEMO_OUTCOMES, at="Proposal sent", by="segment",
  random_state=0)`` call: accounts, roles (with bootstrap intervals), drivers, engagement,
  handover, summary, sentences;
* **pandas**: :func:`pandas_baseline` on the raw events frame, idiomatic vectorised pandas
  (groupby, unstack; no Python loop over accounts), computing the core aggregates only: per
  account distinct contacts, roles and top-contact share; per (account, role) first touch;
  milestone and outcome times; contacts and roles engaged by the milestone; per (segment,
  role) the win rate of the closed accounts with and without the role engaged by the
  milestone. It leaves out what journeymine adds on top (per-stage counts and role lists,
  bootstrap intervals, engagement by stage, handovers, tests and q-values, size bands,
  sentences), so the ratio flatters pandas.

Before timing, the parent checks on 3,000 accounts that the baseline's numbers equal
journeymine's (``check`` in the JSON).

Usage: ``python benchmarks/bench_committee.py [--accounts 250000 686000] [--repeat 1]``.
Writes ``benchmarks/results/committee.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import child_main_timed, measure, print_table, write_json

CACHE = Path(__file__).resolve().parent / ".cache"
MILESTONE, WON, LOST = "Proposal sent", "Contract signed", "Closed lost"
ACC, CON, ROLE, TS, ACT = "account_id", "contact_id", "contact_role", "timestamp", "touchpoint"


def _path(n: int) -> Path:
    return CACHE / f"committee_{n}.parquet"


def make_data(n: int) -> Path:
    """The demo events of ``n`` accounts as Parquet (generated once, then cached)."""
    path = _path(n)
    if not path.exists():
        import polars as pl

        from journeymine.datasets._demo import generate_demo_events

        CACHE.mkdir(exist_ok=True)
        pl.from_pandas(generate_demo_events(n, random_state=0)).write_parquet(path)
    return path


def _build(frame: pd.DataFrame) -> Any:
    import journeymine as jm

    return jm.JourneyLog.from_frame(
        frame,
        case=ACC,
        activity=ACT,
        timestamp=TS,
        contact=CON,
        role=ROLE,
        channel="channel",
        stage="stage",
        value="value",
        case_attributes=["segment", "product", "market"],
        stage_order=jm.datasets.DEMO_STAGE_ORDER,
    )


def _committee(log: Any) -> Any:
    import journeymine as jm

    return jm.buying_committee(
        log, outcomes=jm.datasets.DEMO_OUTCOMES, at=MILESTONE, by="segment", random_state=0
    )


def pandas_baseline(ev: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The core aggregates of ``buying_committee`` in idiomatic pandas, from the raw events.

    Returns ``accounts`` (per account: ``contacts``, ``roles``, ``top_contact_share``,
    ``first_<role>``, ``milestone``, ``contacts_at``, ``at_<role>`` flags, ``outcome``) and
    ``rates`` (per segment and role: closed accounts with and without the role engaged by
    the milestone, their wins and win rates).
    """
    by_acc = ev.groupby(ACC, sort=True)
    per_contact = ev.groupby([ACC, CON], sort=True)[TS].agg(["size", "min"])
    touches = per_contact["size"].groupby(level=0).sum()
    accounts = pd.DataFrame(
        {
            "segment": by_acc["segment"].first(),
            "contacts": by_acc[CON].nunique(),
            "roles": by_acc[ROLE].nunique(),
            "top_contact_share": per_contact["size"].groupby(level=0).max() / touches,
        }
    )
    first = ev.groupby([ACC, ROLE], sort=True)[TS].min()
    accounts = accounts.join(first.unstack().add_prefix("first_"))

    def first_of(activity: str) -> pd.Series:
        return ev.loc[ev[ACT] == activity].groupby(ACC)[TS].min()

    accounts["milestone"], won, lost = first_of(MILESTONE), first_of(WON), first_of(LOST)
    # as kpis: ever won is won, else lost if lost, else open
    won_at, lost_at = won.reindex(accounts.index), lost.reindex(accounts.index)
    accounts["outcome"] = np.where(won_at.notna(), "won", np.where(lost_at.notna(), "lost", "open"))
    accounts["closed"] = won_at.fillna(lost_at)
    # engaged by the milestone: a first touch at or before it
    milestone_of = accounts["milestone"]
    contact_at = per_contact["min"] <= milestone_of.reindex(per_contact.index.get_level_values(0)).to_numpy()
    accounts["contacts_at"] = contact_at.groupby(level=0).sum().where(milestone_of.notna())
    role_at = (first <= milestone_of.reindex(first.index.get_level_values(0)).to_numpy()).unstack(
        fill_value=False
    )
    accounts = accounts.join(role_at.add_prefix("at_"))
    # win rates by the milestone: accounts that reached it undecided (not closed at or before
    # it) with a known contact, closed ones only
    undecided = (
        accounts["milestone"].notna()
        & ~(accounts["closed"] <= accounts["milestone"])
        & (accounts["contacts"] > 0)
    )
    closed = accounts[undecided & (accounts["outcome"] != "open")]
    won_flag = closed["outcome"] == "won"
    parts = []
    for role in role_at.columns:  # six roles: a loop over roles, not accounts
        g = won_flag.groupby([closed["segment"], closed[f"at_{role}"].fillna(False).astype(bool)]).agg(
            ["sum", "count"]
        )
        g = g.unstack(fill_value=0)
        parts.append(
            pd.DataFrame(
                {
                    "role": role,
                    "n_with": g[("count", True)],
                    "won_with": g[("sum", True)],
                    "n_without": g[("count", False)],
                    "won_without": g[("sum", False)],
                }
            )
        )
    rates = pd.concat(parts).rename_axis("segment").reset_index()
    rates["rate_with"] = rates["won_with"] / rates["n_with"]
    rates["rate_without"] = rates["won_without"] / rates["n_without"]
    return {"accounts": accounts, "rates": rates}


def check(n: int = 3_000) -> dict[str, Any]:
    """The baseline's numbers against journeymine's, on ``n`` accounts."""
    from journeymine.datasets._demo import generate_demo_events

    frame = generate_demo_events(n, random_state=0)
    bc = _committee(_build(frame))
    base = pandas_baseline(frame)
    a = bc.accounts.set_index("case")
    b = base["accounts"].loc[a.index]
    roles = sorted(c.removeprefix("first_") for c in a.columns if c.startswith("first_"))
    agree = {
        "contacts": bool((a["contacts"] == b["contacts"]).all()),
        "roles": bool((a["roles"] == b["roles"]).all()),
        "top_contact_share": bool(np.allclose(a["top_contact_share"], b["top_contact_share"])),
        "first": all(a[f"first_{r}"].equals(b[f"first_{r}"]) for r in roles),
        "milestone": bool(a["milestone"].equals(b["milestone"])),
        "outcome": bool((a["outcome"] == b["outcome"]).all()),
        "contacts_at": bool(
            a["contacts_at"].fillna(-1).astype(int).equals(b["contacts_at"].fillna(-1).astype(int))
        ),
        "roles_at": all(
            (a["roles_at"].map(lambda t, r=r: t is not None and r in t) == b[f"at_{r}"].fillna(False)).all()
            for r in roles
        ),
    }
    drivers = bc.drivers
    drivers = drivers[drivers["kind"] == "role"].rename(columns={"cohort": "segment", "feature": "role"})
    cols = ["n_with", "won_with", "n_without", "won_without", "rate_with", "rate_without"]
    mine = drivers.set_index(["segment", "role"])[cols].sort_index()
    theirs = base["rates"].set_index(["segment", "role"])[cols].sort_index()
    agree["rates"] = bool(np.allclose(mine.to_numpy(float), theirs.to_numpy(float), equal_nan=True))
    return {"accounts": n, **agree, "all": all(agree.values())}


def _frame(arg: str) -> pd.DataFrame:
    return pd.read_parquet(_path(int(arg)))


def step_build(arg: str) -> tuple[int, float]:
    frame = _frame(arg)
    start = time.perf_counter()
    log = _build(frame)
    return log.n_events, time.perf_counter() - start


def step_committee(arg: str) -> tuple[int, float]:
    warnings.simplefilter("error")  # the demo has no missing or shared contacts
    log = _build(_frame(arg))
    start = time.perf_counter()
    _committee(log)
    return log.n_events, time.perf_counter() - start


def step_pandas(arg: str) -> tuple[int, float]:
    frame = _frame(arg)
    start = time.perf_counter()
    pandas_baseline(frame)
    return len(frame), time.perf_counter() - start


STEPS = {"build": step_build, "committee": step_committee, "pandas": step_pandas}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, nargs="+", default=[250_000, 686_000])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    agreement = check()
    print("baseline agrees with journeymine on 3,000 accounts:", agreement)
    if not agreement["all"]:
        raise SystemExit("the pandas baseline does not compute what journeymine does")
    sizes = []
    for n in args.accounts:
        make_data(n)
        build = measure(__file__, "build", str(n), args.repeat)
        call = measure(__file__, "committee", str(n), args.repeat)
        base = measure(__file__, "pandas", str(n), args.repeat)
        build["step"] = "JourneyLog.from_frame (log build)"
        call["step"] = "journeymine: buying_committee(...) call"
        base["step"] = "pandas baseline (core aggregates only)"
        call["x faster"] = base["seconds"] / call["seconds"]
        both = {
            "step": "journeymine: build + call",
            "n": call["n"],
            "seconds": build["seconds"] + call["seconds"],
            "peak_mb": max(build["peak_mb"], call["peak_mb"]),
        }
        both["x faster"] = base["seconds"] / both["seconds"]
        rows = [build, call, both, base]
        print_table(f"{n:,} accounts (n = events)", rows)
        sizes.append({"accounts": n, "events": call["n"], "rows": rows})
    path = write_json("committee", {"check": agreement, "sizes": sizes})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main_timed(STEPS)
    else:
        main()
