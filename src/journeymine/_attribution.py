"""Multi-touch attribution: which touchpoints (or channels) get credit for conversions.

A *path* is an account's touches in time order up to its first conversion event (the
conversion itself is not a touch), or its whole journey when it never converts. ``by``
says what a touch is: the activity, or the value of the ``channel`` column. Definitions
(also in ``docs/kpis.md``), each over converting paths unless said otherwise:

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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    ``summary`` has one row per touch and the credit share of each model.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> att = jm.attribution(log, conversion=["Contract signed"], by="channel")
    >>> att
    <Attribution: 7 models, 8 touches, 55 conversions of 200 paths>

    The web opens journeys that meetings close:

    >>> share = att.summary.set_index("touch")
    >>> share.loc[["Web", "Meeting"], ["first_touch", "last_touch", "markov"]].round(2)
             first_touch  last_touch  markov
    touch
    Web             0.42        0.04     0.2
    Meeting         0.02        0.40     0.2
    """

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


@dataclass(frozen=True)
class _Paths:
    """Every path as one row per touch, in path order, the paths in account order (as the
    accounts first occur in the events; the converted accounts without a touch last)."""

    path: np.ndarray  # the path of each touch (0, 0, 1, 2, 2, 2, ...)
    code: np.ndarray  # the touch, as its position in ``names``
    lag: np.ndarray  # seconds before the conversion (0.0 on paths that never convert)
    converted: np.ndarray  # per path
    names: list[str]  # the touches, sorted
    at: np.ndarray | None = None  # each touch's time (µs since 1970, UTC)
    cases: np.ndarray | None = None  # each path's case id (the converted without a touch last)
    converted_at: np.ndarray | None = None  # each path's first conversion (µs; -1: none)

    @property
    def n_paths(self) -> int:
        return int(self.converted.size)

    def touches(self, converted_only: bool) -> _Paths:
        """The touches of the converting paths (numbered as before), or all."""
        if not converted_only:
            return self
        keep = self.converted[self.path]
        return _Paths(
            self.path[keep], self.code[keep], self.lag[keep], self.converted, self.names,
            None if self.at is None else self.at[keep], self.cases, self.converted_at,
        )

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first row of each non-empty path, its number of touches, and each touch's
        position in its path."""
        if not self.path.size:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        starts = np.flatnonzero(np.r_[True, self.path[1:] != self.path[:-1]])
        lengths = np.diff(np.r_[starts, self.path.size])
        pos = np.arange(self.path.size) - np.repeat(starts, lengths)
        return starts, lengths, pos


def _paths(log: JourneyLog, conversion: Sequence[str], by: str) -> _Paths:
    """Touches per account up to the first conversion, their seconds before it, converted?"""
    ev = log.to_polars("events")
    # a touch is the activity, the channel, or (for acquisition_cost) any event attribute
    touch = by
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
        ((pl.col("at") - pl.col("timestamp")).dt.total_microseconds() / 1e6).fill_null(0.0).alias("lag"),
        pl.col("timestamp").dt.epoch("us").alias("when"),
        pl.col("at").is_not_null().first().alias("converted"),
        pl.col("at").first().dt.epoch("us").fill_null(-1).alias("converted_at"),
    )
    no_touch = first.join(g.select("case"), on="case", how="anti").sort("at", "case")
    converted_no_touch = no_touch.height
    rows = g.with_row_index("path").select("path", "touch", "lag", "when").explode("touch", "lag", "when")
    names = sorted(rows.get_column("touch").unique().to_list())
    code = rows.get_column("touch").cast(pl.Enum(names)).to_physical()
    conv_flags = g.get_column("converted").to_numpy().astype(bool)
    if converted_no_touch:
        conv_flags = np.concatenate([conv_flags, np.ones(converted_no_touch, bool)])
    cases = np.concatenate([g.get_column("case").to_numpy(), no_touch.get_column("case").to_numpy()])
    conv_at = np.concatenate([
        g.get_column("converted_at").to_numpy(), no_touch.get_column("at").dt.epoch("us").to_numpy()
    ]).astype(np.int64)
    return _Paths(
        path=rows.get_column("path").to_numpy().astype(np.int64),
        code=code.to_numpy().astype(np.int64),
        lag=rows.get_column("lag").to_numpy().astype(np.float64),
        converted=conv_flags,
        names=names,
        at=rows.get_column("when").to_numpy().astype(np.int64),
        cases=cases,
        converted_at=conv_at,
    )


# Credit is summed per touch with np.bincount, which adds the weights one after another in
# row order, as the loop over the paths did (np.sum and np.add.reduceat sum pairwise, which
# can move the last bit): the shares stay bit for bit those of the loop. Per account rather
# than per distinct path, since time decay weighs every account's own lags (31,853 distinct
# paths of 100,000 accounts on the synthetic log: little to gain from weights).
def _heuristic(p: _Paths, model: str, half_life: float) -> dict[str, float]:
    """Credit per touch of a position or time model, over the converting paths ``p``."""
    w = touch_weights(p, model, half_life)
    credit = np.bincount(p.code, weights=w, minlength=len(p.names))
    return dict(zip(p.names, credit.tolist(), strict=True))


def touch_weights(p: _Paths, model: str, half_life: float) -> np.ndarray:
    """Each touch's share of its path's conversion under a position or time model (the
    weights of one path sum to 1), over the converting paths ``p``."""
    starts, lengths, pos = p.bounds()
    n = np.repeat(lengths, lengths)
    if model == "first_touch":
        w = (pos == 0).astype(np.float64)
    elif model == "last_touch":
        w = (pos == n - 1).astype(np.float64)
    elif model == "linear":
        w = 1.0 / n
    elif model == "time_decay":
        w = _time_decay(p.lag, starts, lengths, half_life)
    else:  # position_based: 100% for one touch, 50/50 for two, else 40/20/40
        ends = (pos == 0) | (pos == n - 1)
        middle = 0.2 / np.maximum(n - 2, 1)
        w = np.where(n == 1, 1.0, np.where(n == 2, 0.5, np.where(ends, 0.4, middle)))
    out: np.ndarray = np.asarray(w, dtype=np.float64)
    return out


def _time_decay(lag: np.ndarray, starts: np.ndarray, lengths: np.ndarray, half_life: float) -> np.ndarray:
    """Weight 2^(−Δt / half_life) per touch, normalised per path (``starts``, ``lengths``)."""
    if not lag.size:
        return np.zeros(0)
    # relative to the last touch, so no weight underflows to 0
    nearest = np.repeat(np.minimum.reduceat(lag, starts), lengths)
    # the power and the per-path sums stay Python's own: numpy's SIMD power may differ from
    # libm's in the last bit, and builtins.sum is not a sequential sum on every Python
    raw = [2.0**x for x in (-(lag - nearest) / half_life).tolist()]
    total = [sum(raw[a : a + k]) for a, k in zip(starts.tolist(), lengths.tolist(), strict=True)]
    out: np.ndarray = np.asarray(raw) / np.repeat(np.asarray(total), lengths)
    return out


def _markov_counts(p: _Paths, order: int) -> dict[tuple[Any, Any], int]:
    """Transition counts between the order-k states of all paths (counted once).

    A state is the last ``order`` touches; it is numbered without building a tuple per
    touch: the state at a touch is the pair (state at the touch before, touch), renumbered
    densely, ``order - 1`` times. Only the distinct states become tuples."""
    starts, lengths, pos = p.bounds()
    n_touch = len(p.names)
    state = p.code.copy()
    for _ in range(1, order):
        prev = np.where(pos >= 1, np.roll(state, 1), -1)  # the first touch of a path: none before
        _, state = np.unique((prev + 1) * (n_touch + 1) + p.code, return_inverse=True)
        state = state.reshape(-1)
    n_states = int(state.max()) + 1 if state.size else 0
    start_id, conv_id, null_id = n_states, n_states + 1, n_states + 2
    ends = starts + lengths - 1
    conv = p.converted
    nonempty = np.zeros(p.n_paths, bool)
    nonempty[p.path[starts]] = True
    empty_conv = int((conv & ~nonempty).sum())
    empty_null = int((~conv & ~nonempty).sum())
    within = pos[1:] > 0
    size = n_states + 3
    pairs = np.concatenate(
        [
            start_id * size + state[starts],
            state[:-1][within] * size + state[1:][within],
            state[ends] * size + np.where(conv[p.path[ends]], conv_id, null_id),
        ]
    )
    edges, counts = np.unique(pairs, return_counts=True)
    label: dict[int, Any] = {start_id: (_START,), conv_id: _CONV, null_id: _NULL}
    ids, first = np.unique(state, return_index=True)
    for s, i in zip(ids.tolist(), first.tolist(), strict=True):
        lo = i - min(int(pos[i]), order - 1)
        label[s] = tuple(p.names[c] for c in p.code[lo : i + 1].tolist())
    out = {
        (label[e // size], label[e % size]): c for e, c in zip(edges.tolist(), counts.tolist(), strict=True)
    }
    for b, c in ((_CONV, empty_conv), (_NULL, empty_null)):
        if c:
            out[((_START,), b)] = out.get(((_START,), b), 0) + c
    return out


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
    by: str = "activity",
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
    by : str
        What a touch is: ``"activity"``, ``"channel"`` (the mapped channel column), or any
        event attribute of the log (e.g. ``"campaign"``, ``"content"``); a touch whose
        value is missing counts as ``"(missing)"``.
    models : str or sequence of str
        Any of "first_touch", "last_touch", "linear", "time_decay", "position_based",
        "markov", "shapley" (definitions in the module docs and ``docs/kpis.md``).
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
    require_events(log, owner)
    by = touch_column(log, by, owner)
    conversion, models = _check_options(log, conversion, by, models, half_life, order, owner)
    paths = _paths(log, conversion, by)
    conv_paths = paths.touches(converted_only=True)
    n_conv = int(paths.converted.sum())
    touches = paths.names
    rows = []
    for model in models:
        if model in ("first_touch", "last_touch", "linear", "time_decay", "position_based"):
            credit = _heuristic(conv_paths, model, float(half_life))
        elif model == "shapley":
            credit = _shapley(conv_paths)
        else:
            credit = _markov_removal(paths, order) if n_conv else {}
        rows += _shares(model, credit, touches, n_conv)
    # columns even when no touch precedes a conversion
    credits = pd.DataFrame(rows, columns=["model", "touch", "share", "conversions"])
    return Attribution(
        credits=credits, assisted=_assisted(conv_paths), conversions=n_conv, paths=paths.n_paths
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


def touch_column(log: JourneyLog, by: Any, owner: str, param: str = "by") -> str:
    """The events column a touch is read from: ``"activity"``, a mapped role (``"channel"``,
    ``"resource"``, ``"contact"``, ``"role"``, ``"stage"``) or its source column's name (the
    column read as ``resource``, e.g. ``"team"``), or an event attribute."""
    roles = {r: c for r, c in log.mapping.roles().items() if r not in ("case", "timestamp", "value")}
    if isinstance(by, str):
        # "channel" without a channel column is the caller's error to explain (it says how to map one)
        if by in ("activity", "channel") or by in log.event_attributes or by in roles:
            return by
        for role, column in roles.items():
            if column == by:
                return role
    usable = ["activity", *(r for r in roles if r != "activity"), *log.event_attributes]
    raise invalid(
        param, owner, f"'activity', a mapped column or an event attribute of the log ({usable})", by
    )


def _shapley(conv: _Paths) -> dict[str, float]:
    """The closed-form Shapley value: each converting path's one conversion shared equally
    by its distinct touches (summed per touch in path order, as :func:`_heuristic`)."""
    n_touch = len(conv.names)
    _, first = np.unique(conv.path * n_touch + conv.code, return_index=True)
    first.sort()  # each path's distinct touches, paths in order
    path, code = conv.path[first], conv.code[first]
    distinct = np.bincount(path, minlength=conv.n_paths)
    credit = np.bincount(code, weights=1.0 / distinct[path], minlength=n_touch)
    return dict(zip(conv.names, credit.tolist(), strict=True))


def _markov_removal(paths: _Paths, order: int) -> dict[str, float]:
    """Each touch's removal effect in the order-``order`` Markov chain of all paths."""
    counts = _markov_counts(paths, order)
    n = len({a for a, _ in counts})
    if n > _DENSE_STATES or len(paths.names) * float(n) ** 3 > _DENSE_WORK:
        return _markov_removal_sparse(counts, paths.names)
    base = _markov_conversion(counts, None)
    return {t: max(0.0, 1.0 - _markov_conversion(counts, t) / base) for t in paths.names}


#: chains of more states, or whose dense solves (one per touch, each states³) would take
#: more operations, are solved as sparse systems, only for the touches on a path to a
#: conversion: the dense work grew with the fourth power of the touches (1,000 distinct
#: touches took 160 s). Below both, the dense solve stays (its results to the last digit).
_DENSE_STATES = 2_000
_DENSE_WORK = 1e10


def _markov_removal_sparse(counts: dict[tuple[Any, Any], int], names: Sequence[str]) -> dict[str, float]:
    """:func:`_markov_removal` of a large chain: the system of :func:`_markov_conversion`
    stored sparse and built from arrays per removed touch; a touch on no path from the start
    to a conversion changes nothing (effect 0) and needs no solve."""
    from scipy import sparse
    from scipy.sparse.csgraph import breadth_first_order
    from scipy.sparse.linalg import spsolve

    transient = sorted({a for a, _ in counts}, key=str)
    index = {st: i for i, st in enumerate(transient)}
    n, start = len(transient), index[(_START,)]
    src = np.array([index[a] for a, _ in counts], dtype=np.int64)
    dst = np.array([-1 if b == _CONV else -2 if b == _NULL else index[b] for _, b in counts], dtype=np.int64)
    weight = np.array(list(counts.values()), dtype=float)
    prob = weight / np.bincount(src, weights=weight, minlength=n)[src]
    step = dst >= 0

    def conversion(dead: np.ndarray) -> float:
        keep = ~dead[src] & (dst == -1)
        r = np.bincount(src[keep], weights=prob[keep], minlength=n)
        move = ~dead[src] & step
        move[step] &= ~dead[dst[step]]
        q = sparse.csc_matrix((-prob[move], (src[move], dst[move])), shape=(n, n))
        return float(spsolve(sparse.identity(n, format="csc") + q, r)[start])

    # the states on a path from the start to a conversion
    graph = sparse.csr_matrix((np.ones(int(step.sum())), (src[step], dst[step])), shape=(n, n))
    ahead = np.zeros(n, dtype=bool)
    ahead[breadth_first_order(graph, start, return_predecessors=False)] = True
    behind = np.zeros(n, dtype=bool)
    ends = np.unique(src[dst == -1])
    if ends.size:
        back = graph.T.tocsr()
        for end in ends:
            if not behind[end]:
                behind[breadth_first_order(back, int(end), return_predecessors=False)] = True
    useful = ahead & behind
    base = conversion(np.zeros(n, dtype=bool))
    holds: dict[str, list[int]] = {}  # the states holding each touch
    for st, i in index.items():
        if i != start:
            for touch in set(st):
                holds.setdefault(touch, []).append(i)
    out: dict[str, float] = {}
    for touch in names:
        states = holds.get(touch, [])
        if base == 0.0 or not useful[states].any():
            out[touch] = 0.0
            continue
        dead = np.zeros(n, dtype=bool)
        dead[states] = True
        out[touch] = max(0.0, 1.0 - conversion(dead) / base)
    return out


def _shares(model: str, credit: dict[str, float], touches: list[str], n_conv: int) -> list[dict[str, Any]]:
    """A model's credit as shares of the conversions, one row per touch."""
    rows = []
    total = math.fsum(credit.values())  # exactly rounded, so independent of the order
    for t in touches:
        share = credit.get(t, 0.0) / total if total > 0 else 0.0
        rows.append({"model": model, "touch": t, "share": share, "conversions": share * n_conv})
    return rows


def _assisted(conv: _Paths) -> pd.DataFrame:
    """Per touch, the converting paths it assists (appears in, not last) and closes (last)."""
    import pandas as pd

    touches, n_touch = conv.names, len(conv.names)
    starts, lengths, pos = conv.bounds()
    last_code = conv.code[starts + lengths - 1]
    last = np.bincount(last_code, minlength=n_touch)
    # a touch before the last one, other than the last touch itself, once per path
    helper = (pos < np.repeat(lengths, lengths) - 1) & (conv.code != np.repeat(last_code, lengths))
    pairs = np.unique(conv.path[helper] * n_touch + conv.code[helper])
    assisted = np.bincount(pairs % n_touch, minlength=n_touch) if n_touch else np.zeros(0, np.int64)
    assist = pd.DataFrame(
        {
            "touch": touches,
            "assisted_conversions": assisted.astype(np.int64),
            "last_touch_conversions": last.astype(np.int64),
        }
    )
    assist["assist_ratio"] = assist["assisted_conversions"] / assist["last_touch_conversions"].replace(
        0, np.nan
    )
    return assist.sort_values(["assisted_conversions", "touch"], ascending=[False, True]).reset_index(
        drop=True
    )
