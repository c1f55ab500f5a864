"""A pandas reference for ``jm.paths``: the same link counts, written as an analyst would.

``pandas_paths`` takes the events as a pandas frame (``case``, ``activity``, ``timestamp``:
``log.events``) and computes, with the default rules of :func:`journeymine.paths`
(first occurrence, repeats collapsed, no cohorts), the links between consecutive positions
around ``around``, grouping all but the ``top`` most frequent activities of each position
as "other (n activities)". It is vectorised pandas (a group-wise ``shift`` per offset),
not a loop per account, so its timing is a fair peer. ``check_equal`` compares it with
``jm.paths(...).links``.
"""

from __future__ import annotations

import pandas as pd

START, END = "(start of journey)", "(end of journey)"
COLUMNS = ["cohort", "from_position", "from", "to_position", "to", "accounts", "share"]


def pandas_paths(
    events: pd.DataFrame, around: str, before: int = 3, after: int = 3, top: int = 8, *, presorted: bool = False
) -> pd.DataFrame:
    """The links frame of ``jm.paths(log, around, before=..., after=..., top=...)``.

    ``presorted=True``: the events are already in journeymine's order (by case, then time,
    then input row), so the sort is skipped (the benchmark times the counting only)."""
    ev = events[["case", "activity", "timestamp"]]
    # journeymine's order: by case, then time, ties in input order (a stable sort keeps it)
    if not presorted:
        ev = ev.sort_values(["case", "timestamp"], kind="stable")
    ev = ev.reset_index(drop=True)
    repeat = (ev["case"] == ev["case"].shift()) & (ev["activity"] == ev["activity"].shift())
    ev = ev.loc[~repeat, ["case", "activity"]].reset_index(drop=True)
    is_anchor = ev["activity"] == around
    first = is_anchor & ~is_anchor.groupby(ev["case"]).cumsum().gt(1)
    by_case = ev.groupby("case", sort=False)["activity"]
    window = {}
    for d in range(-before, after + 1):
        col = ev["activity"] if d == 0 else by_case.shift(-d)
        window[d] = col[first].fillna(START if d < 0 else END).to_numpy()
    paths = pd.DataFrame(window)
    n = len(paths)
    for d in paths.columns:
        if d == 0:
            continue
        counts = paths[d][~paths[d].isin([START, END])].value_counts()
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        keep = {a for a, _ in ranked[:top]} | {START, END}
        rest = len(ranked) - min(top, len(ranked))
        if rest:
            label = f"other ({rest} activit{'y' if rest == 1 else 'ies'})"
            paths[d] = paths[d].where(paths[d].isin(keep), label)
    parts = []
    for d in range(-before, after):
        links = paths.groupby([d, d + 1]).size().rename("accounts").reset_index()
        links.columns = ["from", "to", "accounts"]
        parts.append(links.assign(from_position=d, to_position=d + 1))
    out = pd.concat(parts, ignore_index=True).assign(cohort="(all)")
    out["share"] = out["accounts"] / n
    return out[COLUMNS]


def check_equal(jm_frame: pd.DataFrame, pandas_frame: pd.DataFrame) -> None:
    """Raise AssertionError unless both links frames hold the same rows (order aside)."""
    keys = ["cohort", "from_position", "from", "to_position", "to"]
    a = jm_frame[COLUMNS].sort_values(keys).reset_index(drop=True)
    b = pandas_frame[COLUMNS].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
