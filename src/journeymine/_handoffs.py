"""The seller's side of the journey: which team touches accounts at each stage, how accounts
are handed from team to team (MQL → SDR → AE → CSM), how long each handoff takes, and how
many accounts are lost after it.

The rules (docs/handoffs.md):

* A **touch** is an event with a team (the ``team`` column: the log's ``resource`` by
  default, e.g. the demo's Marketing, SDR, AE, CSM); events without one are left out and
  counted.
* A **handoff** A → B is a pair of consecutive touches of one account by teams A ≠ B; its
  **lag** is the time between them. Pairs with A = B are continuations. The counts of all
  consecutive pairs (continuations included) over their total are pm4py's handover-of-work
  network with ``beta=0`` (tested on a real log).
* **Lost after a handoff**: for each handoff type, from each account's first handoff of
  that type, the Kaplan–Meier probability of a ``lost`` activity within ``window``, open
  accounts censored at the log's end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from . import _stats as st
from ._cohorts import resolve
from ._display import Displayed, note, section, table
from ._encoding import ALL, require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._params import as_names, close_matches, invalid
from ._stages import stage_assignment
from ._typing import CohortBy
from .errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Handoffs", "handoffs"]

_DAY_S = 86_400.0
#: most lanes in the swimlane view
MAX_LANES = 12


def handoffs(
    log: JourneyLog,
    *,
    team: str = "resource",
    by: CohortBy | None = None,
    lost: str | Sequence[str] | None = None,
    window: Any = "90D",
) -> Handoffs:
    """Touches per team and stage, the handoffs between teams, their lag, and the accounts
    lost after each.

    Parameters
    ----------
    log : JourneyLog
    team : str
        The column of the seller-side team: ``"resource"`` (the mapped resource column), its
        source name, or an event attribute.
    by : str, list of str or callable, optional
        Cohorts of accounts.
    lost : str or list of str, optional
        Activities of a lost account, for the losses after each handoff.
    window : str or Timedelta
        How long after a handoff a loss counts.

    Returns
    -------
    Handoffs

    Raises
    ------
    SchemaError
        The log has no such team column (map the resource when reading the log).

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_000, random_state=0, version=2)
    >>> h = jm.handoffs(log, lost="Closed lost")
    >>> h.matrix().loc["SDR", "AE"] > 0
    np.True_
    """
    import pandas as pd

    owner = "handoffs"
    require_events(log, owner)
    require_embedded(log, owner)
    column = _team_column(log, team, owner)
    lost_acts = _lost(log, lost, owner)
    try:
        span = pd.Timedelta(window)
    except (TypeError, ValueError) as exc:
        raise invalid("window", owner, "a duration such as '90D'", window) from exc
    if span <= pd.Timedelta(0):
        raise invalid("window", owner, "a positive duration", window)
    cohorts = resolve(log, by)
    names = cohorts.names if cohorts is not None else (ALL,)
    codes = (
        cohorts.codes.to_numpy().astype(np.int64) if cohorts is not None else np.zeros(log.n_cases, np.int64)
    )
    stages = stage_assignment(log)
    cases = log.to_polars("cases").select(
        "case", pl.Series("cohort", np.asarray(names, dtype=object)[codes].tolist(), dtype=pl.String)
    )
    ev = (
        log.to_polars("events")
        .select("case", "timestamp", "row", "activity", pl.col(column).cast(pl.String).alias("team"))
        .join(cases, on="case", how="left")
        .sort("case", "timestamp", "row")
        .with_columns(
            pl.col("activity")
            .replace_strict(stages.activity_stage, default=None, return_dtype=pl.String)
            .alias("stage")
        )
    )
    untouched = int(ev.get_column("team").is_null().sum())
    touched = ev.filter(pl.col("team").is_not_null())
    if not touched.height:
        raise SchemaError(
            f"{owner}: no event has a {team!r} value; map the seller-side team when reading the log."
        )
    touches = (
        touched.group_by("cohort", "team", "stage")
        .agg(pl.len().alias("touches"), pl.col("case").n_unique().alias("accounts"))
        .sort("cohort", "team", "stage")
    )
    pairs = touched.with_columns(
        pl.col("team").shift(-1).over("case").alias("to"),
        pl.col("timestamp").shift(-1).over("case").alias("at"),
    ).filter(pl.col("to").is_not_null())
    pairs = pairs.with_columns(
        (pl.col("team") != pl.col("to")).alias("handoff"),
        ((pl.col("at") - pl.col("timestamp")).dt.total_seconds() / _DAY_S).alias("lag_days"),
    )
    table_ = (
        pairs.group_by("cohort", "team", "to", "handoff")
        .agg(
            pl.len().alias("count"),
            pl.col("case").n_unique().alias("accounts"),
            pl.col("lag_days").median().alias("median_lag_days"),
        )
        .rename({"team": "from"})
        .sort(["cohort", "count", "from", "to"], descending=[False, True, False, False])
    )
    losses = (
        _losses(pairs.filter(pl.col("handoff")), ev, lost_acts, span, log.time_span[1]) if lost_acts else None
    )
    return Handoffs(
        team=team,
        by=cohorts.by if cohorts is not None else None,
        cohorts=tuple(names),
        lost=tuple(lost_acts),
        window_days=span.total_seconds() / _DAY_S,
        untouched=untouched,
        _touches=touches.to_pandas(),
        _pairs=table_.to_pandas(),
        _losses=losses,
        _stage_order=tuple(stages.order),
    )


def _team_column(log: JourneyLog, team: Any, owner: str) -> str:
    roles = log.mapping.roles()
    if isinstance(team, str):
        if team in log.event_attributes or (team in roles and team not in ("case", "timestamp", "value")):
            return team
        for role, col in roles.items():
            if col == team and role not in ("case", "timestamp", "value"):
                return role
    raise SchemaError(
        f"{owner}: the log has no {team!r} column for the seller-side team. Map the team (the role that "
        "owns each touch: marketing, SDR, AE, CSM) when reading the log, e.g. jm.read_csv(path, ..., "
        "resource='owner_team'), or name an event attribute with team=."
    )


def _lost(log: JourneyLog, lost: Any, owner: str) -> list[str]:
    if lost is None:
        return []
    acts = as_names(lost, "lost", owner, what="activities")
    known = set(log.activities)
    unknown = [a for a in acts if a not in known]
    if unknown:
        raise invalid(
            "lost", owner, f"activities of the log{close_matches(unknown[0], log.activities)}", lost
        )
    return list(acts)


def _losses(handoffs_: pl.DataFrame, ev: pl.DataFrame, lost: list[str], span: Any, end: Any) -> pd.DataFrame:
    """Per cohort and handoff type: accounts handed so, lost within the window (Kaplan–Meier,
    censored at the log's end)."""
    import pandas as pd

    first = handoffs_.group_by("cohort", "team", "to", "case").agg(pl.col("at").min().alias("t0"))
    losses = ev.filter(pl.col("activity").is_in(lost)).select("case", pl.col("timestamp").alias("tl"))
    after = first.join(losses, on="case", how="left").filter(
        pl.col("tl").is_null() | (pl.col("tl") >= pl.col("t0"))
    )
    when = after.group_by("cohort", "team", "to", "case").agg(pl.col("tl").min())
    end_t = pl.lit(end).cast(pl.Datetime("us", "UTC"))
    first = first.join(when, on=["cohort", "team", "to", "case"], how="left").with_columns(
        ((pl.coalesce("tl", end_t) - pl.col("t0")).dt.total_seconds() / _DAY_S)
        .clip(lower_bound=0)
        .alias("days"),
        pl.col("tl").is_not_null().alias("event"),
    )
    horizon = span.total_seconds() / _DAY_S
    rows = []
    for (cohort, a, b), sub in first.group_by("cohort", "team", "to", maintain_order=True):
        t = sub.get_column("days").to_numpy().astype(float)
        e = sub.get_column("event").to_numpy().astype(float)
        est, low, high, _ = st.km_incidence_at(t, e, horizon)
        rows.append(
            {
                "cohort": cohort,
                "from": a,
                "to": b,
                "accounts": int(t.size),
                "lost": int(((t <= horizon) & (e > 0)).sum()),
                "lost_share": est,
                "lost_low": low,
                "lost_high": high,
            }
        )
    out = pd.DataFrame(
        rows, columns=["cohort", "from", "to", "accounts", "lost", "lost_share", "lost_low", "lost_high"]
    )
    return out.sort_values(
        ["cohort", "accounts", "from", "to"], ascending=[True, False, True, True], kind="stable"
    ).reset_index(drop=True)


@dataclass(frozen=True, eq=False, repr=False)
class Handoffs(Displayed):
    """The seller's side of the journey (rules in :func:`handoffs` and docs/handoffs.md).

    Attributes
    ----------
    team : str
        The team column.
    by : str, tuple of str or None
    cohorts : tuple of str
    lost : tuple of str
        The activities of a lost account.
    window_days : float
        How long after a handoff a loss counts.
    untouched : int
        Events without a team (left out).

    Examples
    --------
    >>> import journeymine as jm
    >>> h = jm.handoffs(jm.datasets.demo_b2b(n_accounts=200, random_state=0, version=2), lost="Closed lost")
    >>> h
    <Handoffs: 4 teams, 453 handoffs of 9 kinds>
    >>> h.summary[["from", "to", "count", "accounts", "lost_share"]].head(3).round(2)
            from   to  count  accounts  lost_share
    0        SDR   AE    128       104        0.24
    1  Marketing  SDR    121       111        0.17
    2         AE  CSM     67        55        0.00
    """

    team: str
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    lost: tuple[str, ...]
    window_days: float
    untouched: int
    _touches: pd.DataFrame
    _pairs: pd.DataFrame
    _losses: pd.DataFrame | None
    _stage_order: tuple[str, ...]

    @property
    def touches(self) -> pd.DataFrame:
        """Per cohort, team and stage: ``touches`` (events) and ``accounts``."""
        return self._touches.copy()

    @property
    def pairs(self) -> pd.DataFrame:
        """Every kind of consecutive pair of touches per cohort: ``from``, ``to``,
        ``handoff`` (teams differ), ``count``, ``accounts`` and ``median_lag_days``."""
        return self._pairs.copy()

    @property
    def summary(self) -> pd.DataFrame:
        """The handoffs (pairs whose teams differ), most frequent first, with the losses after
        each when ``lost`` was given."""
        h = self._pairs[self._pairs["handoff"]].drop(columns="handoff")
        if self._losses is not None:
            h = h.merge(
                self._losses.rename(columns={"accounts": "accounts_handed"}),
                on=["cohort", "from", "to"],
                how="left",
            )
        return h.reset_index(drop=True)

    def matrix(self, cohort: Any = None, *, value: str = "count") -> pd.DataFrame:
        """The handoff matrix of one cohort (teams × teams): ``count``, ``accounts`` or
        ``median_lag_days``; continuations (same team) on the diagonal."""
        if value not in ("count", "accounts", "median_lag_days"):
            raise invalid("value", "Handoffs.matrix", "'count', 'accounts' or 'median_lag_days'", value)
        name = self._cohort(cohort)
        sub = self._pairs[self._pairs["cohort"] == name]
        teams = sorted(set(sub["from"]) | set(sub["to"]))
        m = sub.pivot(index="from", columns="to", values=value).reindex(index=teams, columns=teams)
        return m.fillna(0).astype(int) if value != "median_lag_days" else m

    def _cohort(self, cohort: Any) -> str:
        if cohort is None:
            if len(self.cohorts) != 1:
                raise invalid(
                    "cohort", "Handoffs.matrix", f"one of {list(self.cohorts)} (there are several)", cohort
                )
            return self.cohorts[0]
        if str(cohort) not in self.cohorts:
            raise invalid("cohort", "Handoffs.matrix", f"one of {list(self.cohorts)}", cohort)
        return str(cohort)

    def to_dataframe(self) -> pd.DataFrame:
        """The summary."""
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe tables."""
        from ._jsonsafe import jsonable, records

        return {
            "team": self.team,
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "lost": list(self.lost),
            "window_days": self.window_days,
            "untouched": self.untouched,
            "touches": records(self._touches),
            "pairs": records(self._pairs),
            "summary": records(self.summary),
        }

    def __repr__(self) -> str:
        h = self._pairs[self._pairs["handoff"]]
        teams = sorted(set(self._touches["team"]))
        return (
            f"<Handoffs: {len(teams)} teams, {int(h['count'].sum()):,} handoffs of {len(h):,} kinds"
            f"{f', {self.untouched:,} events without a team' if self.untouched else ''}>"
        )

    def draw(self, cohort: Any = None) -> str:
        """The swimlane view as SVG text: a lane per team, the stages left to right, a circle
        per team and stage sized by its touches, and an arrow per frequent handoff (width by
        count, labelled with the count and the median lag)."""
        from ._handoffs_draw import swimlane_svg

        name = self._cohort(cohort)
        t = self._touches[self._touches["cohort"] == name]
        # at most MAX_LANES lanes: the teams with the most touches (the tables keep them all)
        volume = t.groupby("team")["touches"].sum().sort_values(ascending=False, kind="stable")
        shown = set(volume.index[:MAX_LANES])
        t = t[t["team"].isin(shown)]
        h = self.summary
        h = h[(h["cohort"] == name) & h["from"].isin(shown) & h["to"].isin(shown)]
        more = len(volume) - len(shown)
        return swimlane_svg(
            note=f"{more:,} teams with fewer touches are not drawn (they are in .touches and .summary)."
            if more else "",
            teams=_team_order(t, self._stage_order),
            stages=[s for s in self._stage_order if s in set(t["stage"])],
            touches={(r["team"], r["stage"]): int(r["touches"]) for r in t.to_dict("records") if r["stage"]},
            handoffs=[
                (r["from"], r["to"], int(r["count"]), float(r["median_lag_days"]))
                for r in h.head(12).to_dict("records")
            ],
            title=f"Handoffs between teams{'' if name == ALL else f' ({name})'}",
        )

    def _display_svg(self) -> str | None:
        return self.draw(None if len(self.cohorts) == 1 else self.cohorts[0])

    def _display_html(self, svg: str | None) -> str:
        pct = {
            c: (lambda v: "–" if v != v or v is None else f"{v:.0%}")
            for c in ("lost_share", "lost_low", "lost_high")
        }
        parts = [
            svg or "",
            table(
                self.summary.head(15),
                formats={**pct, "median_lag_days": lambda v: "–" if v != v else f"{v:.1f}"},
            ),
        ]
        if self.untouched:
            parts.append(note(f"{self.untouched:,} events have no team and are left out."))
        return section("handoffs", repr(self), *parts)


def _team_order(touches: pd.DataFrame, stage_order: Sequence[str]) -> list[str]:
    """Teams top to bottom by the mean stage of their touches (marketing first, success last)."""
    rank = {st_: i for i, st_ in enumerate(stage_order)}
    weight: dict[str, float] = {}
    total: dict[str, float] = {}
    for r in touches.to_dict("records"):
        team, n = str(r["team"]), float(r["touches"])
        if r["stage"] in rank:
            weight[team] = weight.get(team, 0.0) + rank[r["stage"]] * n
            total[team] = total.get(team, 0.0) + n
    teams = sorted({str(t) for t in touches["team"]})
    return sorted(teams, key=lambda t: (weight[t] / total[t] if total.get(t) else math.inf, t))
