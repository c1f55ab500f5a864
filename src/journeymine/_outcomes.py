"""Outcomes: what counts as won, lost or churned, and when each account reached it.

A log does not know what an outcome is; the caller says it once, as a mapping of outcome
name to the activities that mean it (``{"won": ["Contract signed"], "lost": ["Closed
lost"], "churned": ["Churned"]}``), or to a predicate over the events (a function of the
pandas :attr:`JourneyLog.events` returning one boolean per event). Accounts that have not
reached an outcome are *open*: censored at the end of the log, never counted as failures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._encoding import encode
from ._engine import engine_of, require_embedded
from ._log import JourneyLog
from ._params import invalid
from .errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ByOutcome", "OutcomeSpec", "by_outcome", "normalize_outcomes", "outcome_roles", "outcome_times"]

#: outcome name → activities, or a predicate over the events frame
OutcomeSpec = Mapping[str, Sequence[str] | Callable[["pd.DataFrame"], Any]]


def normalize_outcomes(outcomes: Any, owner: str) -> dict[str, Any]:
    """Outcome name → list of activities (a single string is one activity) or predicate.

    Examples
    --------
    >>> normalize_outcomes({"won": "Contract signed", "lost": ("Closed lost",)}, "kpis")
    {'won': ['Contract signed'], 'lost': ['Closed lost']}
    """
    if not isinstance(outcomes, Mapping) or not outcomes:
        raise invalid(
            "outcomes", owner, "a non-empty mapping of outcome name to activities or a predicate", outcomes
        )
    out: dict[str, Any] = {}
    for name, spec in outcomes.items():
        if callable(spec):
            out[str(name)] = spec
        elif isinstance(spec, str):
            out[str(name)] = [spec]
        else:
            out[str(name)] = [str(a) for a in spec]
    return out


def outcome_roles(
    outcomes: Mapping[str, Any], won: str, lost: str | None, churned: str | None, owner: str
) -> tuple[str, str | None, str | None]:
    """Which outcomes are the win, the loss and churn, by name; never guessed.

    ``won`` must name an outcome. ``lost`` and ``churned`` left at their defaults
    (``"lost"``, ``"churned"``) name the outcome of that name when there is one and are
    None otherwise; any other name must be an outcome.

    Examples
    --------
    >>> outcome_roles({"won": ["Signed"]}, "won", "lost", "churned", "kpis")
    ('won', None, None)
    """
    if won not in outcomes:
        raise invalid(
            "won", owner,
            f"the name of the outcome that is a win, one of {sorted(outcomes)} (e.g. "
            f"won={next(iter(outcomes))!r}); journeymine does not guess it", won,
        )
    if lost == "lost" and "lost" not in outcomes:
        lost = None
    if churned == "churned" and "churned" not in outcomes:
        churned = None
    for name, part in (("lost", lost), ("churned", churned)):
        if part is not None and part not in outcomes:
            raise invalid(name, owner, f"an outcome name in {sorted(outcomes)} (or None)", part)
    return won, lost, churned


#: the prefix callers give the outcome columns of :func:`outcome_times` (``prefix=PREFIX``):
#: no outcome name can then clash with a column of the table they sit in ("end", "code")
PREFIX = "@"


def outcome_times(
    log: JourneyLog,
    outcomes: OutcomeSpec,
    owner: str,
    *,
    require_known: bool = True,
    case: bool = True,
    prefix: str = "",
) -> pl.DataFrame:
    """One row per case (in :attr:`JourneyLog.cases` order): ``case`` (unless ``case`` is
    False), ``start``, ``end`` and, per outcome, the timestamp it was first reached (null
    when open). An outcome none of whose activities occurs in the log is an error (a typo,
    most often) unless ``require_known`` is False (scoring a log in which no account has
    reached it yet). The outcome columns are named ``prefix`` + the outcome's name: a
    prefix such as :data:`PREFIX` lets any outcome name through (``"end"`` is a fine outcome); without one,
    a name that is one of the table's own columns is an error.

    The outcome columns are joined onto the case codes alone and set beside the case
    table's own columns (no copy of them): on a log of millions of accounts, each join
    copying the case ids would weigh more than the times."""
    if not isinstance(outcomes, Mapping) or not outcomes:
        raise invalid(
            "outcomes", owner, "a non-empty mapping of outcome name to activities or a predicate", outcomes
        )
    clash = sorted({prefix + str(n) for n in outcomes} & {"case", "start", "end"})
    if clash:
        raise invalid(
            "outcomes", owner, "outcome names other than 'case', 'start' and 'end' (the columns they sit "
            f"beside); rename {clash[0]!r}, e.g. to {clash[0] + '_reached'!r}", list(outcomes),
        )
    cases = log.to_polars("cases").select(*(["case"] if case else []), "start", "end")
    # inside, each outcome's column has a name of its own (an outcome may be named "code")
    inner = {name: f"__outcome{i}" for i, name in enumerate(outcomes)}
    lists: dict[str, list[str]] = {}
    found: list[pl.DataFrame] = []  # code and first times: the lists' at once, then each predicate's
    for name, spec in outcomes.items():
        if callable(spec):
            found.append(_predicate_times(log, name, spec, owner, inner[name]))
        else:
            acts = [spec] if isinstance(spec, str) else list(spec)
            if require_known:
                _check_known(owner, name, acts, log)
            lists[inner[name]] = acts
    if lists:
        found.insert(0, engine_of(log).first_times(log, lists).select("code", *lists))
    out = pl.DataFrame({"code": pl.int_range(0, cases.height, eager=True, dtype=pl.Int64)})
    for part in found:
        out = out.join(part, on="code", how="left", maintain_order="left")
    times = out.select(pl.col(inner[n]).alias(prefix + n) for n in outcomes)
    return pl.concat([cases, times], how="horizontal")


def check_outcomes(log: JourneyLog, outcomes: Mapping[str, Any], owner: str) -> None:
    """Raise what :func:`outcome_times` would raise for these (normalized) outcomes, before
    any work: an outcome none of whose activities occurs in the log, a predicate on a log
    whose events are not in memory."""
    for name, spec in outcomes.items():
        if callable(spec):
            _require_events_for(log, name, owner)
        else:
            _check_known(owner, name, [spec] if isinstance(spec, str) else list(spec), log)


def _require_events_for(log: JourneyLog, name: str, owner: str) -> None:
    require_embedded(
        log, f"The outcome {name!r} of {owner}, a predicate over the events,",
        instead="Give the outcome as a list of activities instead.",
    )


def _predicate_times(log: JourneyLog, name: str, predicate: Any, owner: str, column: str) -> pl.DataFrame:
    """``code`` and, as ``column``, the first time of the events ``predicate`` marks (a
    function of :attr:`JourneyLog.events`), per case code; the events must be in memory."""
    _require_events_for(log, name, owner)
    mask = np.asarray(predicate(log.events), dtype=bool)
    if mask.shape != (log.n_events,):
        raise invalid(
            "outcomes",
            owner,
            f"a predicate returning {log.n_events} booleans (one per event) for outcome {name!r}",
            f"{mask.shape[0] if mask.ndim else 0} values",
        )
    hits = encode(log).frame.filter(pl.Series(mask))
    first = hits.group_by("code").agg(pl.col("ts").min().alias("__first"))
    return first.select(pl.col("code").cast(pl.Int64), pl.col("__first").alias(column))


def check_known_outcomes(outcomes: Mapping[str, Any], log: JourneyLog, owner: str) -> None:
    """Every outcome given by activities names at least one activity of the log (a typo,
    most often); outcomes given by a predicate are not checked here."""
    for name, spec in outcomes.items():
        if not callable(spec):
            _check_known(owner, str(name), list(spec), log)


def _check_known(owner: str, name: str, acts: list[str], log: JourneyLog) -> None:
    if not any(a in set(log.activities) for a in acts):
        raise SchemaError(
            f"{owner}: none of the activities {acts} of outcome {name!r} occurs in the log. "
            f"Known activities include: {list(log.activities[:10])}."
        )



class ByOutcome:
    """Cohorts by outcome (``by=jm.by_outcome(outcomes)``): each account's first outcome in
    the order of ``outcomes`` that it ever reaches (``{"won": ..., "lost": ...}``: won if it
    ever won, else lost if it ever lost), else ``"open"``. Read the events, so they are
    resolved on the log they are used with. Compare such cohorts with ``until=`` a milestone
    before the outcome: over the whole journey the outcome itself would be the finding."""

    def __init__(self, outcomes: OutcomeSpec, *, open_name: str = "open") -> None:
        self.outcomes = normalize_outcomes(outcomes, "by_outcome")
        if open_name in self.outcomes:
            raise invalid("open_name", "by_outcome", "a name that is not an outcome's", open_name)
        self.open_name = str(open_name)
        self.name = "outcome"

    def resolve_keys(self, log: JourneyLog, *, check: bool = True) -> tuple[pl.Series, list[str]]:
        """Each case's outcome cohort and the cohort names; ``check=False`` takes outcomes
        whose activities the log (a part of one) lacks as never reached."""
        if check:
            times = outcome_times(log, self.outcomes, "by_outcome", prefix=PREFIX)
        else:
            present = set(log.activities)
            lists = {k: [a for a in v if a in present] for k, v in self.outcomes.items() if not callable(v)}
            known = {k: v for k, v in lists.items() if v}
            never = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
            times = log.to_polars("cases").select(
                pl.int_range(0, pl.len(), dtype=pl.Int64).alias("code"),
                *(never.alias(PREFIX + k) for k in self.outcomes if k not in known),
            )
            if known:
                inner = {k: f"__outcome{i}" for i, k in enumerate(known)}
                first = engine_of(log).first_times(log, {inner[k]: v for k, v in known.items()}).select(
                    "code", *(pl.col(inner[k]).alias(PREFIX + k) for k in known))
                times = times.join(first, on="code", how="left", maintain_order="left")
        key = pl.lit(self.open_name)
        for name in reversed(list(self.outcomes)):  # the first outcome in the mapping wins
            key = pl.when(pl.col(PREFIX + name).is_not_null()).then(pl.lit(name)).otherwise(key)
        keys = times.select(key.alias("cohort")).get_column("cohort")
        return keys, sorted(keys.unique().to_list())

    def __call__(self, cases: Any) -> Any:
        raise invalid(
            "by", "by_outcome", "passed to a journeymine function (it reads the events), not called", self
        )

    def __repr__(self) -> str:
        return f"by_outcome({list(self.outcomes)})"


def by_outcome(outcomes: OutcomeSpec, *, open_name: str = "open") -> ByOutcome:
    """Cohorts by outcome, for ``by=``: each account's first outcome (in the order given)
    that it ever reaches, else ``open_name``.

    Parameters
    ----------
    outcomes : mapping
        Outcome name → activities, e.g. ``{"won": ["Contract signed"], "lost": ["Closed lost"]}``.
    open_name : str
        The cohort of the accounts that reach none.

    Returns
    -------
    ByOutcome

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> maps = jm.journey_map(log, by=jm.by_outcome({"won": ["Contract signed"], "lost": ["Closed lost"]}))
    >>> sorted(maps.keys())
    ['lost', 'open', 'won']
    """
    return ByOutcome(outcomes, open_name=open_name)
