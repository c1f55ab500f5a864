"""Cohorts resolved once: ``by=`` turned into each case's cohort code, in one place.

A function given ``by=`` resolves it here once (:func:`resolve`), into a :class:`Cohorts`
value: each case's index into the sorted cohort names, the names, and a description of
``by`` for display and JSON. Results carry that value instead of the recipe, so a
:meth:`JourneyMap.simplify` or a :func:`subway_map` drawn from a result never calls a
``by`` function again.

A :class:`Cohorts` is also a valid ``by=`` (a function of the case table returning one key
per case): :func:`journeymine._encoding.cohort_codes`, behind every aggregation, returns
its codes as they are, and anything else that asks for keys gets the stored ones.

This module sits just below :mod:`journeymine._encoding` and knows the log only through
type checking (it calls :meth:`JourneyLog.cohort_keys`, the one place keys are computed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import polars as pl

from ._typing import CohortBy

if TYPE_CHECKING:
    from ._log import JourneyLog

__all__ = ["ALL", "Cohorts", "describe", "resolve"]

#: the cohort name of a log analysed without ``by=``
ALL = "(all)"


def describe(by: CohortBy) -> str | tuple[str, ...]:
    """How ``by`` formed the cohorts, for display and JSON: the attribute, the attributes,
    or ``"<function name>"``."""
    if isinstance(by, Cohorts):
        return by.by
    if isinstance(by, str):
        return by
    if callable(by):
        return f"<function {getattr(by, '__name__', type(by).__name__)}>"
    return tuple(str(b) for b in by)


@dataclass(frozen=True, eq=False, repr=False)
class Cohorts:
    """The cohort of every case of one log, resolved once from ``by=``.

    Attributes
    ----------
    codes : polars.Series
        One ``UInt32`` per case (aligned with :attr:`JourneyLog.cases`): the index of its
        cohort in ``names``.
    names : tuple of str
        The cohort names, sorted.
    by : str or tuple of str
        What formed them (:func:`describe`); never called again.
    cases : polars.Series
        The case ids of the log they were resolved on, so that they are never applied to
        another log's cases.
    """

    codes: pl.Series
    names: tuple[str, ...]
    by: str | tuple[str, ...]
    cases: pl.Series

    @property
    def n_cases(self) -> int:
        """Number of cases (of the log the cohorts were resolved on)."""
        return self.codes.len()

    @property
    def keys(self) -> np.ndarray:
        """Each case's cohort name, as a numpy array of text."""
        out: np.ndarray = np.asarray(self.names, dtype=str)[self.codes.to_numpy()]
        return out

    def mask(self, name: Any) -> pl.Series:
        """True for the cases of cohort ``name`` (all False for an unknown name)."""
        if str(name) not in self.names:
            return pl.Series("cohort", np.zeros(self.n_cases, dtype=bool))
        return self.codes == self.names.index(str(name))

    def check(self, log: JourneyLog) -> None:
        """Raise :class:`InvalidParameterError` when these cohorts were resolved on a log
        with other cases."""
        cases = log.to_polars("cases").get_column("case")
        if cases is not self.cases and not cases.equals(self.cases, check_names=False):
            from .errors import InvalidParameterError

            raise InvalidParameterError(
                f"These cohorts were resolved on another log ({self.n_cases:,} cases) than the "
                f"one given ({log.n_cases:,} cases, not the same case ids). Pass by= as an "
                "attribute, a list of them or a function, and they are resolved on this log."
            )

    def __call__(self, cases: Any) -> pl.Series:
        """The stored keys (as ``by=`` functions return them); ``cases`` is not read."""
        return pl.Series("cohort", self.keys, dtype=pl.String)

    def __repr__(self) -> str:
        return f"<Cohorts by {self.by!r}: {len(self.names)} cohorts of {self.n_cases:,} cases>"


@overload
def resolve(log: JourneyLog, by: None) -> None: ...


@overload
def resolve(log: JourneyLog, by: CohortBy) -> Cohorts: ...


@overload
def resolve(log: JourneyLog, by: CohortBy | None) -> Cohorts | None: ...


def resolve(log: JourneyLog, by: CohortBy | None) -> Cohorts | None:
    """Resolve ``by`` on ``log`` once (None stays None: the whole log is one cohort).

    Calls a ``by`` function exactly once; a :class:`Cohorts` is returned as it is.

    Examples
    --------
    >>> import journeymine as jm
    >>> from journeymine._cohorts import resolve
    >>> c = resolve(jm.datasets.demo_b2b(n_accounts=50, random_state=0), "segment")
    >>> c.names, c.by
    (('Enterprise', 'Mid-market', 'SMB'), 'segment')
    """
    if by is None:
        return None
    if isinstance(by, Cohorts):
        by.check(log)
        return by
    keys = log.cohort_keys(by)
    names = sorted(keys.unique().to_list())
    codes = keys.cast(pl.Enum(names)).to_physical().cast(pl.UInt32).alias("cohort")
    cases = log.to_polars("cases").get_column("case")
    return Cohorts(codes=codes, names=tuple(names), by=describe(by), cases=cases)
