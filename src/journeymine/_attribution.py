"""Multi-touch attribution: which touchpoints (or channels) get credit for conversions.

A *path* is an account's touches in time order up to its first conversion event (the
conversion itself is not a touch), or its whole journey when it never converts. ``by``
says what a touch is: the activity, or the value of the ``channel`` column. Definitions
(also in ``docs/attribution.md``), each over converting paths unless said otherwise:

* ``first_touch`` / ``last_touch``: all credit to the first / last touch;
* ``linear``: 1/n to each of the n touches;
* ``time_decay``: weight 2^(−Δt / half_life) for a touch Δt before the conversion,
  normalised per path;
* ``position_based`` (U-shaped): 40% first, 40% last, 20% shared by the touches in
  between (one touch: 100%; two: 50/50);
* ``markov``: the removal effect in a Markov chain of order ``order`` fitted on *all*
  paths (converting and not): states are the last ``order`` touches, with absorbing
  CONVERSION and NULL. The removal effect of a channel is 1 − P(conversion without it) /
  P(conversion), where removing a channel sends every transition into it to NULL; credit
  shares are the removal effects normalised to sum to 1;
* ``shapley``: the Shapley value of each channel in the coalition game whose value of a set
  S of channels is the number of conversions of the paths whose channels all lie in S
  (Zhao et al. 2018). For this game the Shapley value has the closed form
  φᵢ = Σ over paths with i of conversions / (number of distinct channels on the path), which
  is exact for any number of channels, so no sampling is needed.

``conversions`` in the result is the credit share times the number of converting paths.
*Assisted conversions* count, per touch, the converting paths where it appears but is not
the last touch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from ._display import Displayed, section, table
from ._encoding import require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._params import as_names, check_choice, check_int, invalid
from ._validate import MISSING_COHORT
from .errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Attribution", "attribution"]

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley")
_CONV, _NULL, _START = "(conversion)", "(null)", "(start)"


@dataclass(frozen=True, eq=False, repr=False)
class Attribution(Displayed):
    """Credit per model and touch (``credits``) and assisted conversions (``assisted``);
    ``summary`` has one row per touch and the credit share of each model."""

    credits: pd.DataFrame
    assisted: pd.DataFrame
    conversions: int
    paths: int

    @property
    def summary(self) -> pd.DataFrame:
        """One row per touch (``touch`` first) with each model's credit share, the touch
        with the most credit under the first model first."""
        out: pd.DataFrame = self.to_dataframe(wide=True).reset_index()
        out.columns.name = None
        return out

    def to_dataframe(self, *, wide: bool = False) -> pd.DataFrame:
        """Tidy credits, or touches × models of credit shares (``wide=True``)."""
        if not wide:
            return self.credits.copy()
        out: pd.DataFrame = self.credits.pivot(index="touch", columns="model", values="share")
        out = out[[m for m in MODELS if m in out.columns]]
        return out.sort_values(out.columns[0], ascending=False) if len(out.columns) else out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe tables."""
        from ._jsonsafe import records

        return {
            "conversions": self.conversions,
            "paths": self.paths,
            "credits": records(self.credits),
            "assisted": records(self.assisted),
        }

    def __repr__(self) -> str:
        return (
            f"<Attribution: {self.credits['model'].nunique()} models, {self.credits['touch'].nunique()} "
            f"touches, {self.conversions:,} conversions of {self.paths:,} paths>"
        )

    def _display_html(self, svg: str | None) -> str:
        shares = self.summary
        formats = {m: "{:.1%}".format for m in shares.columns if m != "touch"}
        return section("attribution", repr(self), table(shares, formats=formats, max_rows=60))


def _paths(
    log: JourneyLog, conversion: Sequence[str], by: str
) -> tuple[list[list[str]], list[list[float]], np.ndarray]:
    """Touches per account up to the first conversion, their seconds before it, converted?"""
    ev = log.to_polars("events")
    touch = "activity" if by == "activity" else "channel"
    conv = pl.col("activity").is_in(pl.Series(list(conversion), dtype=pl.String).implode())
    ev = ev.select(
        "case",
        "timestamp",
        pl.col(touch).cast(pl.String).fill_null(MISSING_COHORT).alias("touch"),
        conv.alias("conv"),
    )
    first = ev.filter(pl.col("conv")).group_by("case").agg(pl.col("timestamp").min().alias("at"))
    ev = ev.join(first, on="case", how="left", maintain_order="left")
    before = ev.filter(pl.col("at").is_null() | (pl.col("timestamp") < pl.col("at")))
    before = before.filter(~pl.col("conv") | pl.col("at").is_null())
    g = before.group_by("case", maintain_order=True).agg(
        pl.col("touch"),
        ((pl.col("at") - pl.col("timestamp")).dt.total_microseconds() / 1e6).alias("lag"),
        pl.col("at").is_not_null().first().alias("converted"),
    )
    converted_no_touch = first.join(g.select("case"), on="case", how="anti").height
    paths = g.get_column("touch").to_list()
    lags = [[float(x) if x is not None else 0.0 for x in row] for row in g.get_column("lag").to_list()]
    conv_flags = g.get_column("converted").to_numpy().astype(bool)
    if converted_no_touch:
        paths += [[] for _ in range(converted_no_touch)]
        lags += [[] for _ in range(converted_no_touch)]
        conv_flags = np.concatenate([conv_flags, np.ones(converted_no_touch, bool)])
    return paths, lags, conv_flags


def _heuristic(
    paths: list[list[str]], lags: list[list[float]], model: str, half_life: float
) -> dict[str, float]:
    credit: dict[str, float] = {}
    for path, lag in zip(paths, lags, strict=True):
        n = len(path)
        if n == 0:
            continue
        if model == "first_touch":
            w = [1.0] + [0.0] * (n - 1)
        elif model == "last_touch":
            w = [0.0] * (n - 1) + [1.0]
        elif model == "linear":
            w = [1.0 / n] * n
        elif model == "time_decay":
            nearest = min(lag)  # relative to the last touch, so no weight underflows to 0
            raw = [2.0 ** (-(x - nearest) / half_life) for x in lag]
            total = sum(raw)
            w = [r / total for r in raw]
        else:  # position_based
            if n == 1:
                w = [1.0]
            elif n == 2:
                w = [0.5, 0.5]
            else:
                w = [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
        for t, x in zip(path, w, strict=True):
            credit[t] = credit.get(t, 0.0) + x
    return credit


def _markov_counts(paths: list[list[str]], converted: np.ndarray, order: int) -> dict[tuple[Any, Any], int]:
    """Transition counts between the order-k states of all paths (counted once)."""
    counts: dict[tuple[Any, Any], int] = {}
    for path, conv in zip(paths, converted, strict=True):
        states: list[Any] = [(_START,)]
        for i in range(len(path)):
            states.append(tuple(path[max(0, i - order + 1) : i + 1]))
        states.append(_CONV if conv else _NULL)
        for a, b in itertools.pairwise(states):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    return counts


def _markov_conversion(counts: dict[tuple[Any, Any], int], removed: str | None) -> float:
    """P(conversion) from START in the chain of ``counts``, optionally with one touch removed
    (every transition into a state holding it goes to NULL)."""
    transient = sorted({a for a, _ in counts}, key=str)
    index = {s: i for i, s in enumerate(transient)}
    n = len(transient)
    q = np.zeros((n, n))
    r = np.zeros(n)
    out_total = np.zeros(n)
    for (a, _b), c in counts.items():
        out_total[index[a]] += c
    for (a, b), c in counts.items():
        i = index[a]
        if removed is not None and b not in (_CONV, _NULL) and removed in b:
            continue  # into a removed touch: the path is lost (NULL)
        if b == _CONV:
            r[i] += c / out_total[i]
        elif b != _NULL:
            q[i, index[b]] += c / out_total[i]
    if removed is not None:
        for s, i in index.items():
            if s != (_START,) and removed in s:
                q[i, :] = 0.0
                r[i] = 0.0
    absorb = np.linalg.solve(np.eye(n) - q, r)
    return float(absorb[index[(_START,)]])


def attribution(
    log: JourneyLog,
    *,
    conversion: str | Sequence[str],
    by: Literal["activity", "channel"] = "activity",
    models: str | Sequence[str] = MODELS,
    half_life: float = 7 * 86_400.0,
    order: int = 1,
) -> Attribution:
    """Multi-touch attribution of conversions to touchpoints or channels.

    Parameters
    ----------
    log : JourneyLog
    conversion : str or sequence of str
        The activities that are a conversion (e.g. ``"Contract signed"``).
    by : {"activity", "channel"}
        What a touch is: the activity, or the mapped ``channel`` column.
    models : str or sequence of str
        Any of "first_touch", "last_touch", "linear", "time_decay", "position_based",
        "markov", "shapley" (definitions in the module docs and ``docs/attribution.md``).
    half_life : float
        Seconds for the time-decay model (default 7 days).
    order : int
        Order of the Markov chain (1 = the last touch is the state).

    Returns
    -------
    Attribution
        ``credits``: model, touch, share, conversions; ``assisted``: touch,
        assisted_conversions, last_touch_conversions, assist_ratio.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=800, random_state=0)
    >>> a = jm.attribution(log, conversion=["Contract signed"], by="channel")
    >>> sorted(a.credits["model"].unique())[:3]
    ['first_touch', 'last_touch', 'linear']
    >>> a.credits.groupby("model")["share"].sum().round(6).unique().tolist()
    [1.0]
    """
    import pandas as pd

    owner = "attribution"
    conversion, models = _check_options(log, conversion, by, models, half_life, order, owner)
    paths, lags, converted = _paths(log, conversion, by)
    conv_paths = [p for p, c in zip(paths, converted, strict=True) if c]
    conv_lags = [x for x, c in zip(lags, converted, strict=True) if c]
    n_conv = int(converted.sum())
    touches = sorted({t for p in paths for t in p})
    rows = []
    for model in models:
        if model in ("first_touch", "last_touch", "linear", "time_decay", "position_based"):
            credit = _heuristic(conv_paths, conv_lags, model, float(half_life))
        elif model == "shapley":
            credit = _shapley(conv_paths)
        else:
            credit = _markov_removal(paths, converted, touches, order) if n_conv else {}
        rows += _shares(model, credit, touches, n_conv)
    # columns even when no touch precedes a conversion
    credits = pd.DataFrame(rows, columns=["model", "touch", "share", "conversions"])
    return Attribution(
        credits=credits, assisted=_assisted(conv_paths, touches), conversions=n_conv, paths=len(paths)
    )


def _check_options(
    log: JourneyLog,
    conversion: str | Sequence[str],
    by: str,
    models: str | Sequence[str],
    half_life: float,
    order: int,
    owner: str,
) -> tuple[list[str], list[str]]:
    """The conversion activities and model names, checked against the log and :data:`MODELS`."""
    require_events(log, owner)
    require_embedded(log, owner)
    check_choice("by", owner, by, ("activity", "channel"))
    check_int("order", owner, order, minimum=1)
    conversion = as_names(conversion, "conversion", owner, what="activities")
    if not conversion:
        raise invalid("conversion", owner, "a non-empty list of conversion activities", conversion)
    models = as_names(models, "models", owner, what="model names")
    missing = [a for a in conversion if a not in set(log.activities)]
    if len(missing) == len(list(conversion)):
        raise SchemaError(
            f"{owner}: none of the conversion activities {list(conversion)} occurs in the log. "
            f"Known activities include: {list(log.activities[:10])}."
        )
    if by == "channel" and "channel" not in log.to_polars("events").columns:
        raise SchemaError(
            f"{owner}: by='channel' needs a channel column; map one when reading the log "
            "(channel='your_column') or use by='activity'."
        )
    for m in models:
        check_choice("models", owner, m, MODELS)
    if isinstance(half_life, bool) or not isinstance(half_life, (int, float)) or half_life <= 0:
        raise invalid("half_life", owner, "a positive number of seconds", half_life)
    return conversion, models


def _shapley(conv_paths: list[list[str]]) -> dict[str, float]:
    """The closed-form Shapley value: each converting path's one conversion shared equally
    by its distinct touches."""
    credit: dict[str, float] = {}
    for p in conv_paths:
        distinct = dict.fromkeys(p)  # in path order: a set's order follows string hashing
        for t in distinct:
            credit[t] = credit.get(t, 0.0) + 1.0 / len(distinct)
    return credit


def _markov_removal(
    paths: list[list[str]], converted: np.ndarray, touches: list[str], order: int
) -> dict[str, float]:
    """Each touch's removal effect in the order-``order`` Markov chain of all paths."""
    counts = _markov_counts(paths, converted, order)
    base = _markov_conversion(counts, None)
    return {t: max(0.0, 1.0 - _markov_conversion(counts, t) / base) for t in touches}


def _shares(model: str, credit: dict[str, float], touches: list[str], n_conv: int) -> list[dict[str, Any]]:
    """A model's credit as shares of the conversions, one row per touch."""
    rows = []
    total = math.fsum(credit.values())  # exactly rounded, so independent of the order
    for t in touches:
        share = credit.get(t, 0.0) / total if total > 0 else 0.0
        rows.append({"model": model, "touch": t, "share": share, "conversions": share * n_conv})
    return rows


def _assisted(conv_paths: list[list[str]], touches: list[str]) -> pd.DataFrame:
    """Per touch, the converting paths it assists (appears in, not last) and closes (last)."""
    import pandas as pd

    assisted: dict[str, int] = {}
    last: dict[str, int] = {}
    for p in conv_paths:
        if not p:
            continue
        last[p[-1]] = last.get(p[-1], 0) + 1
        for t in set(p[:-1]) - {p[-1]}:
            assisted[t] = assisted.get(t, 0) + 1
    assist = pd.DataFrame(
        {
            "touch": touches,
            "assisted_conversions": [assisted.get(t, 0) for t in touches],
            "last_touch_conversions": [last.get(t, 0) for t in touches],
        }
    )
    assist["assist_ratio"] = assist["assisted_conversions"] / assist["last_touch_conversions"].replace(
        0, np.nan
    )
    return assist.sort_values(["assisted_conversions", "touch"], ascending=[False, True]).reset_index(
        drop=True
    )
