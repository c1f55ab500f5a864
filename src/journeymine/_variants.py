"""Variants: the distinct activity sequences of a log, with counts, timing and examples.

A case's variant is its sequence of activities after the stable sort by (case, timestamp,
input row), as in pm4py's ``get_variants``. The sequences are built without a Python
loop: the encoded activity column and the case boundaries (every case's events are
contiguous) form an Arrow list array, and polars groups equal lists.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from ._encoding import cohort_codes, require_events
from ._engine import engine_of
from ._log import JourneyLog
from ._params import check_int
from ._typing import CohortBy

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["variant_table", "variants"]


def variants(
    log: JourneyLog,
    *,
    by: CohortBy | None = None,
    top: int | None = None,
    examples: int = 3,
) -> pd.DataFrame:
    """The distinct journeys (activity sequences) of a log, most frequent first.

    Parameters
    ----------
    log : JourneyLog
    by : str, list of str or callable, optional
        Count variants per cohort (case attributes, or a function of
        :attr:`JourneyLog.cases`); shares are then within each cohort.
    top : int, optional
        Keep only the ``top`` most frequent variants (of each cohort).
    examples : int
        How many example case ids to list per variant (the first in case order).

    Returns
    -------
    pandas.DataFrame
        One row per variant (and cohort): ``cohort`` (with ``by``), ``rank`` (1 = most
        frequent), ``variant`` (tuple of activities), ``length``, ``cases``, ``share``,
        ``cumulative_share``, ``median_duration`` and ``p90_duration`` (seconds from first
        to last event of the journey) and ``examples`` (list of case ids). Ties in
        frequency are ordered by their first case. Counts equal pm4py's
        ``get_variants`` on the same events.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> v = jm.variants(log, top=3)
    >>> list(v.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['rank', 'variant', 'length', 'cases', 'share', 'cumulative_share',
     'median_duration', 'p90_duration', 'examples']
    >>> int(jm.variants(log)["cases"].sum()) == log.n_cases
    True
    """
    owner = "variants"
    check_int("top", owner, top, minimum=1, allow_none=True)
    check_int("examples", owner, examples, minimum=0)
    require_events(log, owner)
    out = variant_table(log, by=by, top=top, examples=examples)
    variant_lists = out.get_column("variant")
    names = np.array(log.activities, dtype=object)[variant_lists.explode(empty_as_null=False).to_numpy()]
    variant_col = _cut(variant_lists, names.tolist(), tuple)
    example_lists = out.get_column("examples")
    example_col = _cut(example_lists, example_lists.explode(empty_as_null=False).to_list(), list)
    result = out.drop("variant", "examples", *(["cohort"] if by is None else [])).to_pandas()
    result.insert(1 if by is None else 2, "variant", _object_array(variant_col))
    result["examples"] = example_col
    return result


def variant_table(
    log: JourneyLog, *, by: CohortBy | None = None, top: int | None = None, examples: int = 3
) -> pl.DataFrame:
    """:func:`variants` as a polars frame, each ``variant`` a list of activity codes (positions
    in :attr:`JourneyLog.activities`) and ``cohort`` always present: for the functions that
    read a few variants of many (representative journeys), without a tuple of names per
    variant. Arguments are checked by the caller."""
    cohort, names = cohort_codes(log, by)
    cases = log.to_polars("cases")
    seconds = (cases.get_column("end") - cases.get_column("start")).dt.total_microseconds() / 1e6
    grouped = engine_of(log).variant_groups(log, cohort, seconds, examples)
    grouped = (
        grouped.with_columns(_case_ids(grouped.get_column("codes"), cases.get_column("case"), examples))
        .drop("codes")
        .sort(["cohort", "cases", "first"], descending=[False, True, False])
    )
    grouped = grouped.with_columns(
        pl.int_range(1, pl.len() + 1).over("cohort").alias("rank"),
        (pl.col("cases") / pl.col("cases").sum().over("cohort")).alias("share"),
    ).with_columns(pl.col("share").cum_sum().over("cohort").alias("cumulative_share"))
    if top is not None:
        grouped = grouped.filter(pl.col("rank") <= top)
    return grouped.with_columns(
        pl.lit(pl.Series(names, dtype=pl.String)).gather(pl.col("cohort")).alias("cohort"),
        pl.col("variant").list.len().cast(pl.Int64).alias("length"),
    ).select(
        "cohort",
        pl.col("rank").cast(pl.Int64),
        "variant",
        "length",
        pl.col("cases").cast(pl.Int64),
        "share",
        "cumulative_share",
        "median_duration",
        "p90_duration",
        "examples",
    )


def _case_ids(codes: pl.Series, case_ids: pl.Series, examples: int) -> pl.Series:
    """The ids of the first ``examples`` case codes of each list of ``codes``, as lists."""
    head = codes.list.head(examples)
    offsets = np.zeros(head.len() + 1, dtype=np.int64)
    np.cumsum(head.list.len().to_numpy(), out=offsets[1:])
    ids = case_ids.gather(head.explode().drop_nulls()).to_arrow(compat_level=pl.CompatLevel.oldest())
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), ids)
    return pl.Series("examples", lists).cast(pl.List(pl.String))


def _cut(lists: pl.Series, items: list[Any], kind: type) -> list[Any]:
    """``items`` (the items of ``lists``, flattened in order) cut back into one ``kind``
    (tuple or list) per list of ``lists``: a loop over the lists (distinct variants), not
    over their items, which polars' own ``to_list`` of a list column would build one by one.

    Python's cyclic garbage collector is paused meanwhile: every new tuple or list is a
    container it tracks, and the collections they set off cost several times the building
    itself (0.054 against 0.006 s for the example lists of 58,000 variants)."""
    ends = np.cumsum(lists.list.len().to_numpy()).tolist()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        out = []
        start = 0
        for end in ends:
            out.append(kind(items[start:end]))
            start = end
    finally:
        if was_enabled:
            gc.enable()
    return out


def _object_array(values: list[Any]) -> Any:
    """A numpy object array holding ``values`` as they are (tuples stay tuples)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr
