"""The touch mix: which channels (or contents, teams, roles …) accounts are touched through at
each stage, per cohort; grouped (online / offline, or any grouping); and the empty cells,
e.g. the stages where a buying-committee role is never reached (content gaps).

The rules (docs/positions.md, "Touch mix"): every event is a touch; ``touches`` counts them
per (cohort, ``across`` value, ``dim`` value), ``accounts`` the accounts with such a touch,
``share`` the touches' share of the (cohort, ``across`` value). A missing ``dim`` or
``across`` value is "(missing)". ``groups`` maps a group name to ``dim`` values; the values of
no group form "(other)". A gap is a (cohort, ``across`` value, ``dim`` value) with no touch
while the cohort has touches at that ``across`` value and that ``dim`` value elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._cohorts import resolve
from ._display import Displayed, section, table
from ._encoding import ALL, require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._params import invalid
from ._typing import CohortBy
from ._validate import MISSING_COHORT
from .errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TouchMix", "touch_mix"]


def touch_mix(
    log: JourneyLog,
    *,
    dim: str = "channel",
    across: str = "stage",
    by: CohortBy | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> TouchMix:
    """The mix of touches by ``dim`` (channel, content, role …) at each ``across`` value.

    Parameters
    ----------
    log : JourneyLog
    dim : str
        What the mix is of: a mapped column (``"channel"``, ``"role"``, ``"resource"`` …, or
        its source name), an event attribute, or ``"activity"``.
    across : str
        What the mix is taken at: ``"stage"`` (the journey stages) or any column as ``dim``.
    by : str, list of str or callable, optional
        Cohorts of accounts.
    groups : mapping of str to list of str, optional
        Groups of ``dim`` values, e.g. ``{"online": ["Web", "Email"], "offline": ["Event",
        "Meeting"]}``; the values of no group form "(other)".

    Returns
    -------
    TouchMix

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=500, random_state=0)
    >>> mix = jm.touch_mix(log, groups={"online": ["Web", "Email", "Paid social", "Product"],
    ...                                 "offline": ["Event", "Meeting", "Sales call", "Partner"]})
    >>> round(float(mix.table.groupby("across")["share"].sum().max()), 6)
    1.0
    >>> gaps = jm.touch_mix(log, dim="role").gaps  # stages where a role never makes a touch
    >>> list(gaps.columns)
    ['cohort', 'across', 'dim']
    """
    owner = "touch_mix"
    require_events(log, owner)
    require_embedded(log, owner)
    dim_col = _column(log, dim, "dim", owner)
    across_col = "stage" if across == "stage" else _column(log, across, "across", owner)
    group_of = _groups(groups, owner)
    cohorts = resolve(log, by)
    names = cohorts.names if cohorts is not None else (ALL,)
    codes = (
        cohorts.codes.to_numpy().astype(np.int64) if cohorts is not None else np.zeros(log.n_cases, np.int64)
    )
    cases = log.to_polars("cases").select(
        "case", pl.Series("cohort", np.asarray(names, dtype=object)[codes].tolist(), dtype=pl.String)
    )
    ev = log.to_polars("events").join(cases, on="case", how="left")
    if across_col == "stage":
        from ._stages import stage_assignment

        stages = stage_assignment(log)
        ev = ev.with_columns(
            pl.col("activity")
            .replace_strict(stages.activity_stage, default=None, return_dtype=pl.String)
            .alias("_across")
        )
        order = list(stages.order)
    else:
        ev = ev.with_columns(pl.col(across_col).cast(pl.String).alias("_across"))
        order = []
    ev = ev.with_columns(
        pl.col("_across").fill_null(MISSING_COHORT),
        pl.col(dim_col).cast(pl.String).fill_null(MISSING_COHORT).alias("_dim"),
    )
    counts = (
        ev.group_by("cohort", "_across", "_dim")
        .agg(pl.len().alias("touches"), pl.col("case").n_unique().alias("accounts"))
        .with_columns((pl.col("touches") / pl.col("touches").sum().over("cohort", "_across")).alias("share"))
    )
    rank = {v: i for i, v in enumerate(order)}
    frame = counts.rename({"_across": "across", "_dim": "dim"}).to_pandas()
    frame["_o"] = frame["across"].map(lambda v: rank.get(v, len(rank)))
    frame = (
        frame.sort_values(
            ["cohort", "_o", "across", "touches", "dim"],
            ascending=[True, True, True, False, True],
            kind="stable",
        )
        .drop(columns="_o")
        .reset_index(drop=True)
    )
    grouped = None
    if group_of:
        g = frame.assign(group=frame["dim"].map(lambda v: group_of.get(v, "(other)")))
        grouped = g.groupby(["cohort", "across", "group"], sort=False, as_index=False)[
            ["touches", "share"]
        ].sum()
    gaps = _gaps(frame)
    return TouchMix(
        dim=dim,
        across=across,
        by=cohorts.by if cohorts is not None else None,
        cohorts=tuple(names),
        _table=frame,
        _grouped=grouped,
        _gaps=gaps,
    )


def _column(log: JourneyLog, name: Any, param: str, owner: str) -> str:
    roles = log.mapping.roles()
    if isinstance(name, str):
        if (
            name == "activity"
            or name in log.event_attributes
            or (name in roles and name not in ("case", "timestamp", "value"))
        ):
            if name in roles or name in log.event_attributes or name == "activity":
                return name
        for role, col in roles.items():
            if col == name and role not in ("case", "timestamp", "value"):
                return role
    usable = [
        "activity",
        *(r for r in roles if r not in ("case", "timestamp", "value", "activity")),
        *log.event_attributes,
    ]
    raise SchemaError(
        f"{owner}: {param}={name!r} is not a column of the log's events ({usable}); map it when reading "
        f"the log (e.g. channel='your_column') or keep it as an event attribute "
        f"(event_attributes=[{name!r}])."
    )


def _groups(groups: Any, owner: str) -> dict[str, str]:
    if groups is None:
        return {}
    if not isinstance(groups, Mapping) or not groups:
        raise invalid("groups", owner, "a mapping of group name to a list of values", groups)
    out: dict[str, str] = {}
    for name, values in groups.items():
        for v in [values] if isinstance(values, str) else list(values):
            if str(v) in out and out[str(v)] != str(name):
                raise invalid(
                    "groups",
                    owner,
                    f"groups that share no value ({v!r} is in {out[str(v)]!r} and {name!r})",
                    groups,
                )
            out[str(v)] = str(name)
    return out


def _gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """(cohort, across, dim) with no touch although the cohort has touches at that across
    value and of that dim value."""
    import pandas as pd

    rows = []
    for cohort, sub in frame.groupby("cohort", sort=True):
        seen = set(zip(sub["across"], sub["dim"], strict=True))
        for a in dict.fromkeys(sub["across"]):
            for d in sorted(set(sub["dim"])):
                if (a, d) not in seen:
                    rows.append({"cohort": cohort, "across": a, "dim": d})
    return pd.DataFrame(rows, columns=["cohort", "across", "dim"])


@dataclass(frozen=True, eq=False, repr=False)
class TouchMix(Displayed):
    """The touch mix (rules in :func:`touch_mix`).

    Attributes
    ----------
    dim, across : str
    by : str, tuple of str or None
    cohorts : tuple of str

    Examples
    --------
    >>> import journeymine as jm
    >>> mix = jm.touch_mix(jm.datasets.demo_b2b(n_accounts=200, random_state=0))
    >>> mix
    <TouchMix: channel across stage, 1 cohort, 3 empty cells>
    >>> mix.matrix()[["Web", "Meeting", "Email"]].round(2)  # share of each stage's touches
    dim             Web  Meeting  Email
    across
    awareness      0.54     0.02   0.07
    consideration  0.26     0.29   0.01
    decision       0.01     0.23   0.39
    retention      0.02     0.29   0.16
    advocacy       0.45     0.05   0.00
    >>> mix.gaps["dim"].tolist()  # channels with no touch in a stage (here: advocacy)
    ['Email', 'Paid social', 'Product']
    """

    dim: str
    across: str
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    _table: pd.DataFrame
    _grouped: pd.DataFrame | None
    _gaps: pd.DataFrame

    @property
    def table(self) -> pd.DataFrame:
        """Per cohort, ``across`` and ``dim`` value: ``touches``, ``accounts``, ``share``."""
        return self._table.copy()

    @property
    def grouped(self) -> pd.DataFrame | None:
        """With ``groups``: per cohort, ``across`` value and group, ``touches`` and ``share``."""
        return None if self._grouped is None else self._grouped.copy()

    @property
    def gaps(self) -> pd.DataFrame:
        """The empty cells: (cohort, across, dim) with no touch."""
        return self._gaps.copy()

    def matrix(self, cohort: Any = None) -> pd.DataFrame:
        """``across`` values × ``dim`` values of one cohort: the shares."""
        name = self.cohorts[0] if cohort is None and len(self.cohorts) == 1 else str(cohort)
        if name not in self.cohorts:
            raise invalid("cohort", "TouchMix.matrix", f"one of {list(self.cohorts)}", cohort)
        sub = self._table[self._table["cohort"] == name]
        rows = list(dict.fromkeys(sub["across"]))
        return sub.pivot(index="across", columns="dim", values="share").reindex(rows).fillna(0.0)

    @property
    def summary(self) -> pd.DataFrame:
        """The table."""
        return self.table

    def to_dataframe(self) -> pd.DataFrame:
        """The table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe tables."""
        from ._jsonsafe import jsonable, records

        return {
            "dim": self.dim,
            "across": self.across,
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "table": records(self._table),
            "gaps": records(self._gaps),
            "grouped": None if self._grouped is None else records(self._grouped),
        }

    def __repr__(self) -> str:
        return (
            f"<TouchMix: {self.dim} across {self.across}, {len(self.cohorts)} cohort"
            f"{'s' if len(self.cohorts) != 1 else ''}, {len(self._gaps):,} empty cells>"
        )

    def _display_html(self, svg: str | None) -> str:
        m = self.matrix(self.cohorts[0])
        shown = m.reset_index()
        fmt = {c: (lambda v: f"{v:.0%}") for c in m.columns}
        return section("touchmix", repr(self), table(shown, formats=fmt))
