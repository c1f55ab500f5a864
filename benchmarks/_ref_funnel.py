"""A pandas implementation of ``jm.funnel``'s counts, for bench_funnels.py and its test.

Idiomatic vectorised pandas (``merge_asof`` by account, no Python loop over accounts): the
strict-order funnel with one window for every step and ``lost`` activities, observed to
the log's last event; per step the accounts entering, converting, dropping and still open.
The same rules as ``journeymine._funnel`` (module notes): a step is reached at its first
event after the event that reached the previous step; converted within the window unless
a lost event comes first; else dropped when the window has closed by the end or a lost
event came within it; else open.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def pandas_funnel(
    events: pd.DataFrame,
    steps: list[str],
    *,
    window: pd.Timedelta,
    lost: list[str],
    case: str = "case",
    activity: str = "activity",
    timestamp: str = "timestamp",
) -> pd.DataFrame:
    """Per step: ``step``, ``name``, ``entered``, ``converted``, ``dropped``, ``open``.

    ``events`` must be sorted by case, then time, then input row (as a JourneyLog's)."""
    ev = events[[case, activity, timestamp]].rename(columns={case: "case", activity: "act", timestamp: "t"})
    ev = ev.reset_index(drop=True)
    ev["pos"] = np.arange(len(ev), dtype=np.int64)
    end = ev["t"].max()
    first = ev[ev["act"] == steps[0]].groupby("case", sort=False).first()[["pos", "t"]].reset_index()
    lost_ev = ev[ev["act"].isin(lost)][["case", "pos", "t"]].rename(columns={"pos": "l_pos", "t": "l_t"})
    rows = []
    reached = first
    for k in range(1, len(steps)):
        nxt = ev[ev["act"] == steps[k]][["case", "pos", "t"]].rename(columns={"pos": "n_pos", "t": "n_t"})
        left = reached.assign(key=reached["pos"] + 1).sort_values("key")
        hit = pd.merge_asof(
            left, nxt.assign(key=nxt["n_pos"]).sort_values("key"), on="key", by="case", direction="forward"
        )
        hit = pd.merge_asof(
            hit.sort_values("key"),
            lost_ev.assign(key=lost_ev["l_pos"]).sort_values("key"),
            on="key",
            by="case",
            direction="forward",
        )
        dt = hit["n_t"] - hit["t"]
        within = dt.notna() & (dt <= window)
        lost_hit = (
            hit["l_t"].notna()
            & (hit["l_t"] <= hit["t"] + window)
            & (dt.isna() | (hit["l_pos"] < hit["n_pos"]))
        )
        conv = within & ~lost_hit
        dropped = ~conv & ((hit["t"] + window <= end) | lost_hit)
        rows.append(
            {
                "step": k,
                "name": steps[k - 1],
                "entered": len(hit),
                "converted": int(conv.sum()),
                "dropped": int(dropped.sum()),
                "open": int((~conv & ~dropped).sum()),
            }
        )
        reached = hit.loc[conv, ["case", "n_pos", "n_t"]].rename(columns={"n_pos": "pos", "n_t": "t"})
        reached = reached.astype({"pos": "int64"})
    rows.append(
        {
            "step": len(steps),
            "name": steps[-1],
            "entered": len(reached),
            "converted": 0,
            "dropped": 0,
            "open": 0,
        }
    )
    return pd.DataFrame(rows)


def check_equal(jm_steps: pd.DataFrame, ref: pd.DataFrame) -> bool:
    """True when journeymine's ``steps`` table (no cohorts) has the reference's counts."""
    cols = ["step", "name", "entered", "converted", "dropped", "open"]
    mine = jm_steps[cols].reset_index(drop=True).astype({c: "int64" for c in cols if c != "name"})
    return bool(mine.equals(ref[cols].astype({c: "int64" for c in cols if c != "name"})))
