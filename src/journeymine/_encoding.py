"""The log as integers: what every analysis reads first, cached on the log.

A log's events are encoded once as integers: ``code``, the case's position in
:attr:`JourneyLog.cases` (events are sorted by case, so it is a run number), and ``act``,
the activity's position in :attr:`JourneyLog.activities`. Cohorts become an index into the
sorted cohort names, and each case's journey an Arrow list of activity codes (its variant).

This module sits just above the log (it reads a log's public tables and its cache, and
imports :class:`JourneyLog` only for type checking), below the engines and everything that
analyses a log, so nothing above it has to reach sideways for these helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from ._cohorts import ALL, resolve
from ._params import check_int, invalid
from ._typing import CohortBy
from .errors import EmptyLogError

if TYPE_CHECKING:
    from ._log import JourneyLog

__all__ = [
    "ALL",
    "Encoded",
    "case_variants",
    "cohort_codes",
    "encode",
    "filter_variants",
    "require_events",
]


def require_events(log: JourneyLog, owner: str) -> None:
    """Raise :class:`EmptyLogError` when ``log`` has no events (a filter can leave none)."""
    if log.n_events == 0:
        raise EmptyLogError(
            f"{owner}: the log has no events, so there is nothing to analyse. A filter "
            "(filter_cases, filter_time, filter_activities, filter_variants) left no case; "
            "loosen it."
        )


@dataclass(frozen=True)
class Encoded:
    """A log's events as integers: ``code`` (case index), ``act`` (activity index), ``ts``."""

    frame: pl.DataFrame
    activities: tuple[str, ...]
    n_cases: int


def encode(log: JourneyLog) -> Encoded:
    """Encode the events of ``log`` as integer codes (computed once per log, then cached)."""
    cached = log._cache.get("encoded")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    events = log.to_polars("events")
    activities = log.activities
    case = events.get_column("case")
    new_case = (case != case.shift(1)).fill_null(True)
    code = (new_case.cum_sum() - 1).cast(pl.UInt32).alias("code")
    starts = new_case.arg_true()
    # The case table lists cases in the order of their runs in the sorted events; check it,
    # since every per-case lookup below relies on it.
    if starts.len() != log.n_cases or not case.gather(starts).equals(
        log.to_polars("cases").get_column("case"), check_names=False
    ):
        raise RuntimeError("journeymine internal error: events are not grouped in case-table order")
    act = events.get_column("activity").cast(pl.Enum(activities)).to_physical().cast(pl.UInt32)
    frame = pl.DataFrame({"code": code, "act": act, "ts": events.get_column("timestamp")})
    enc = Encoded(frame=frame, activities=activities, n_cases=log.n_cases)
    log._cache["encoded"] = enc
    return enc


def cohort_codes(log: JourneyLog, by: CohortBy | None) -> tuple[pl.Series, list[str]]:
    """Return each case's cohort as an index into the sorted cohort names, and the names.

    ``by`` may be resolved cohorts (:class:`journeymine._cohorts.Cohorts`): their codes are
    returned as they are, so a ``by`` function is not called again.
    """
    cohorts = resolve(log, by)
    if cohorts is None:
        return pl.Series("cohort", np.zeros(log.n_cases, dtype=np.uint32)), [ALL]
    return cohorts.codes, list(cohorts.names)


def case_variants(log: JourneyLog) -> pl.Series:
    """Each case's activity sequence as a list of activity codes (cached on the log)."""
    cached = log._cache.get("case_variants")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    enc = encode(log)
    n = log.to_polars("cases").get_column("n_events").to_numpy()
    offsets = np.zeros(n.size + 1, dtype=np.int64)
    np.cumsum(n, out=offsets[1:])
    acts = enc.frame.get_column("act").to_arrow()
    lists = pl.Series("variant", pa.LargeListArray.from_arrays(pa.array(offsets), acts))
    log._cache["case_variants"] = lists
    return lists


def filter_variants(
    log: JourneyLog,
    variants: Iterable[Sequence[str]] | None = None,
    *,
    top: int | None = None,
    exclude: bool = False,
) -> JourneyLog:
    """Keep the cases whose journey is one of ``variants`` (or of the ``top`` most frequent).

    See :meth:`JourneyLog.filter_variants`.
    """
    owner = "JourneyLog.filter_variants"
    if (variants is None) == (top is None):
        raise invalid("variants", owner, "given, or top=k given instead (not both, not neither)", variants)
    check_int("top", owner, top, minimum=1, allow_none=True)
    lists = case_variants(log)
    if top is not None:
        table = pl.DataFrame({"variant": lists, "code": pl.int_range(0, lists.len(), eager=True)})
        counts = table.group_by("variant").agg(pl.len().alias("n"), pl.col("code").first().alias("first"))
        chosen = counts.sort(["n", "first"], descending=[True, False]).head(top).get_column("variant")
    else:
        if isinstance(variants, str):
            raise invalid("variants", owner, "a list of variants (each a sequence of activities)", variants)
        code_of = {a: i for i, a in enumerate(encode(log).activities)}
        wanted = []
        for v in variants:  # type: ignore[union-attr]
            if isinstance(v, str):
                raise invalid(
                    "variants",
                    owner,
                    "a list of variants, each a sequence of activity names (not a string)",
                    v,
                )
            seq = list(v)
            if all(a in code_of for a in seq):
                wanted.append([code_of[a] for a in seq])
        chosen = pl.Series("variant", wanted, dtype=lists.dtype)
    mask = lists.is_in(chosen.implode()) if chosen.len() else pl.Series([False] * lists.len())
    return log._subset_cases(~mask if exclude else mask)
