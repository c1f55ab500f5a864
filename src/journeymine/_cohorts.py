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

from ._periods import PERIODS, period_label, resolve_period
from ._typing import CohortBy

if TYPE_CHECKING:
    from ._log import JourneyLog

__all__ = ["ALL", "Cohorts", "Period", "describe", "period", "period_from_name", "resolve"]

#: the cohort name of a log analysed without ``by=``
ALL = "(all)"


_TRUNCATE = {"D": "1d", "W": "1w", "M": "1mo", "Q": "1q", "Y": "1y"}
_EDGES = ("first_touch", "last_touch")


class Period:
    """Calendar-period cohorts: each account's cohort is the period of its first touch (or
    of its last touch, or of its first event of an activity). Built by :func:`period`.

    Used as ``by=`` in any function, it gives every period from the first to the last as a
    cohort, **empty periods included** (results show them with 0 accounts; they are never
    dropped), named so that they sort in time: ``2024-01-05`` (day), ``2024-W01`` (ISO
    week, Monday first), ``2024-01`` (month), ``2024-Q1`` (quarter), ``2024`` (year).
    Periods are calendar periods in UTC.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> signed = jm.period("Q", of="Contract signed")
    >>> signed.name, signed.freq, signed.of
    ('quarter of first Contract signed', 'Q', 'Contract signed')
    >>> r = jm.retention(log, by=signed)
    >>> r.cohorts[:3]  # accounts that never signed are "(missing)"
    ('(missing)', '2023-Q1', '2023-Q2')
    >>> r.summary.set_index("cohort").loc[["2025-Q1", "2025-Q2", "2025-Q3"], "accounts"].tolist()
    [1, 0, 0]
    """

    __slots__ = ("freq", "of")

    def __init__(self, freq: str = "Q", *, of: str = "first_touch") -> None:
        from ._params import invalid

        key = resolve_period(freq, "period", "freq")
        if not isinstance(of, str) or not of:
            raise invalid("of", "period", "'first_touch', 'last_touch' or an activity name", of)
        self.freq: str = key
        self.of: str = of

    @property
    def name(self) -> str:
        """What the cohorts are, e.g. ``first_touch_quarter``."""
        unit = PERIODS[self.freq]
        if self.of in _EDGES:
            return f"{self.of}_{unit}"
        return f"{unit} of first {self.of}"

    def labels(self, times: pl.Expr) -> pl.Expr:
        """The period name of each time (a polars expression)."""
        return period_label(times, self.freq)

    def keys(self, log: JourneyLog, until: Any = None) -> tuple[pl.Series, list[str]]:
        """Each case's period (text, ``(missing)`` for an account without the activity)
        and every period name from the first to the last, in time order.

        ``until`` (a UTC timestamp): only the events up to it are seen, so that a funnel
        seen on a past day does not sort its accounts by what they did later; an account
        with no event by then is ``(missing)``."""
        from ._validate import MISSING_COHORT

        cases = log.to_polars("cases")
        if until is not None:
            from ._params import invalid

            if self.of not in _EDGES and self.of not in log.activities:
                expected = "'first_touch', 'last_touch' or an activity of the log"
                raise invalid("of", "period", expected, self.of)
            seen = log.to_polars("events").filter(pl.col("timestamp") <= until)
            if self.of not in _EDGES:
                seen = seen.filter(pl.col("activity") == self.of)
            agg = pl.col("timestamp").max() if self.of == "last_touch" else pl.col("timestamp").min()
            per_case = seen.group_by("case", maintain_order=True).agg(agg.alias("t"))
            times = cases.select("case").join(per_case, on="case", how="left").get_column("t")
        elif self.of in _EDGES:
            times = cases.get_column("start" if self.of == "first_touch" else "end")
        else:
            from ._params import close_matches, invalid

            if self.of not in log.activities:
                near = close_matches(self.of, log.activities)
                hint = f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""
                raise invalid("of", "period", f"'first_touch', 'last_touch' or an activity of the log{hint}",
                              self.of)
            first = (
                log.to_polars("events")
                .filter(pl.col("activity") == self.of)
                .group_by("case", maintain_order=True)
                .agg(pl.col("timestamp").min().alias("t"))
            )
            times = cases.select("case").join(first, on="case", how="left").get_column("t")
        frame = pl.DataFrame({"t": times})
        label = self.labels(pl.col("t")).fill_null(MISSING_COHORT).alias("cohort")
        keys = frame.select(label).get_column("cohort")
        present = times.drop_nulls()
        names: list[str] = []
        if present.len():
            lo = present.min()
            hi = present.max()
            every = pl.datetime_range(
                pl.lit(lo).dt.truncate(_TRUNCATE[self.freq]),
                pl.lit(hi).dt.truncate(_TRUNCATE[self.freq]),
                _TRUNCATE[self.freq],
                eager=True,
            )
            names = pl.DataFrame({"t": every}).select(self.labels(pl.col("t"))).to_series().to_list()
        if present.len() < times.len():
            names.insert(0, MISSING_COHORT)
        return keys, names

    def __call__(self, cases: Any) -> Any:
        """Keys from a case table with ``start`` and ``end`` (as ``by`` functions are called);
        ``resolve`` uses :meth:`keys` instead, which also knows the empty periods."""
        import pandas as pd

        if self.of not in _EDGES:
            from ._params import invalid

            raise invalid("by", "period", "resolved on a log (pass it as by=)", self)
        column = "start" if self.of == "first_touch" else "end"
        times = pl.from_pandas(pd.DataFrame({"t": cases[column]})).get_column("t")
        return pl.DataFrame({"t": times}).select(self.labels(pl.col("t"))).to_series().to_list()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Period) and (self.freq, self.of) == (other.freq, other.of)

    def __hash__(self) -> int:
        return hash(("Period", self.freq, self.of))

    def __repr__(self) -> str:
        of = "" if self.of == "first_touch" else f", of={self.of!r}"
        return f"jm.period({self.freq!r}{of})"


def period(freq: str = "Q", *, of: str = "first_touch") -> Period:
    """Cohorts by calendar period, for ``by=``: drift over time.

    Parameters
    ----------
    freq : {"D", "W", "M", "Q", "Y"}
        Day, ISO week (Monday first), month, quarter or year (calendar periods, in UTC).
        ``"day"``, ``"week"``, ``"month"``, ``"quarter"``, ``"year"`` also work.
    of : str
        Whose period: ``"first_touch"`` (the account's first event, the default),
        ``"last_touch"``, or an activity (the account's first event of it, e.g. the
        quarter it signed; accounts without it form the ``(missing)`` cohort).

    Returns
    -------
    Period
        A valid ``by=``: every period from the first to the last is a cohort, the empty
        ones included, named so that they sort in time (``2024-Q1``). ``by=
        "first_touch_quarter"`` (or ``_day``, ``_week``, ``_month``, ``_year``, and
        ``last_touch_…``) is the same, unless the log has a case attribute of that name.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> maps = jm.journey_map(log, by=jm.period("Y"))
    >>> list(maps)
    ['2023', '2024']
    >>> jm.period("Q", of="Contract signed").name
    'quarter of first Contract signed'
    """
    return Period(freq, of=of)


def period_from_name(name: str) -> Period | None:
    """The :class:`Period` a ``by`` name such as ``first_touch_quarter`` stands for, or None."""
    for edge in _EDGES:
        prefix = edge + "_"
        if name.startswith(prefix):
            unit = name[len(prefix):]
            for code, word in PERIODS.items():
                if unit == word:
                    return Period(code, of=edge)
    return None


def describe(by: CohortBy) -> str | tuple[str, ...]:
    """How ``by`` formed the cohorts, for display and JSON: the attribute, the attributes,
    or ``"<function name>"``."""
    if isinstance(by, Cohorts):
        return by.by
    if isinstance(by, Period):
        return by.name
    if hasattr(by, "resolve_keys"):
        return str(getattr(by, "name", type(by).__name__))
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
    in_time : bool
        The names are periods in time order (:func:`period`): results keep that order
        (instead of largest first) and show the empty periods.
    """

    codes: pl.Series
    names: tuple[str, ...]
    by: str | tuple[str, ...]
    cases: pl.Series
    in_time: bool = False

    def order(self, sizes: dict[str, int]) -> list[str]:
        """The cohorts in the order results list them: time order for periods, else
        largest first (ties by name). ``sizes`` maps a cohort to its accounts."""
        if self.in_time:
            return [n for n in self.names if n in sizes]
        return sorted(sizes, key=lambda k: (-sizes[k], str(k)))

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
def resolve(log: JourneyLog, by: None, until: Any = ...) -> None: ...


@overload
def resolve(log: JourneyLog, by: CohortBy, until: Any = ...) -> Cohorts: ...


@overload
def resolve(log: JourneyLog, by: CohortBy | None, until: Any = ...) -> Cohorts | None: ...


def resolve(log: JourneyLog, by: CohortBy | None, until: Any = None) -> Cohorts | None:
    """Resolve ``by`` on ``log`` once (None stays None: the whole log is one cohort).

    Calls a ``by`` function exactly once; a :class:`Cohorts` is returned as it is. Period
    cohorts see only the events up to ``until`` when it is given (:meth:`Period.keys`).

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
    if isinstance(by, str) and by not in log.case_attributes:
        by = period_from_name(by) or by
    in_time = isinstance(by, Period)
    if isinstance(by, Period):
        keys, names = by.keys(log, until)
    elif hasattr(by, "resolve_keys"):  # cohorts that read the events (jm.by_outcome)
        keys, names = by.resolve_keys(log)
    else:
        keys = log.cohort_keys(by)
        names = sorted(keys.unique().to_list())
    codes = keys.cast(pl.Enum(names)).to_physical().cast(pl.UInt32).alias("cohort")
    cases = log.to_polars("cases").get_column("case")
    return Cohorts(codes=codes, names=tuple(names), by=describe(by), cases=cases, in_time=in_time)
