"""Role paths: the touchpoints each buying-committee role passes through, per account.

A role's path in an account is the sequence of activities of the account's events whose
``role`` is that role, in journey order (the log's sort by case, timestamp and input row),
with consecutive repeats of an activity collapsed: removing the other roles' touches turns
``Demo → (champion's) Webinar → Demo`` into ``Demo → Demo``, which is an artefact of the
projection, and two emails in a row do not change the path a role takes. Paths are grouped
into variants like journeys (:func:`journeymine.variants`), so the subway map can draw each
role's representative path with the rule it uses for cohorts.

The paths read every event's role, so they need the events in memory; no engine primitive
aggregates them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ._encoding import encode, require_events
from ._engine import require_embedded
from .errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd

    from ._log import JourneyLog

__all__ = ["role_paths"]


def role_paths(log: JourneyLog, owner: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The distinct paths of each role, and how many accounts each role engaged in.

    Returns one row per (role, path): ``role``, ``variant`` (tuple of activities),
    ``length`` and ``cases`` (accounts whose path of that role it is), ordered by role,
    then most frequent first, ties by their first account; and ``role -> accounts``.
    ``owner`` names the call in errors (``'subway_map(lines="roles")'``).
    """
    if "role" not in log.mapping.roles():
        raise SchemaError(
            f"{owner} needs a role column: each touch's buying-committee role (Champion, "
            "Economic buyer, …). Map it when building the log, e.g. JourneyLog.from_frame(df, "
            "case=..., activity=..., timestamp=..., contact='contact_id', role='contact_role')."
        )
    require_events(log, owner)
    require_embedded(log, owner, instead="Role lines read every event's role.")
    enc = encode(log)
    touches = enc.frame.select("code", "act").with_columns(log.to_polars("events").get_column("role"))
    touches = touches.filter(pl.col("role").is_not_null())
    if touches.is_empty():
        raise SchemaError(
            f"{owner}: no event of the log has a role (the role column is empty), so there is "
            "no role to draw."
        )
    repeat = pl.col("act") == pl.col("act").shift(1).over("code", "role")
    paths = (
        touches.filter(~repeat.fill_null(False))
        .group_by("role", "code", maintain_order=True)
        .agg(pl.col("act").alias("variant"))
    )
    accounts = paths.group_by("role").len().sort("role")
    grouped = (
        paths.group_by("role", "variant")
        .agg(pl.len().cast(pl.Int64).alias("cases"), pl.col("code").min().alias("first"))
        .sort(["role", "cases", "first"], descending=[False, True, False])
    )
    names = enc.activities
    out = grouped.select("role", "cases").to_pandas()
    variant = [tuple(names[i] for i in seq) for seq in grouped.get_column("variant").to_list()]
    out.insert(1, "variant", _objects(variant))
    out.insert(2, "length", [len(v) for v in variant])
    return out, {str(r): int(n) for r, n in accounts.iter_rows()}


def _objects(values: list[tuple[str, ...]]) -> np.ndarray:
    """A numpy object array holding the tuples as they are (pandas would unpack them)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr
