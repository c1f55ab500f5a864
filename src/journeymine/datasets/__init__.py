"""Bundled data: a generator of realistic synthetic B2B touchpoint logs.

The real public event logs used in journeymine's tests and benchmarks are not bundled;
see ``docs/data.md``.
"""

from __future__ import annotations

from typing import Literal, overload

import pandas as pd

from .._log import JourneyLog
from .._params import check_int, invalid
from ._demo import generate_demo_events

__all__ = ["DEMO_OUTCOMES", "DEMO_STAGE_ORDER", "demo_b2b"]

#: Journey order of the demo log's ``stage`` values.
DEMO_STAGE_ORDER: tuple[str, ...] = ("awareness", "consideration", "decision", "retention", "advocacy")

#: Outcome activities of the demo log.
DEMO_OUTCOMES: dict[str, list[str]] = {
    "won": ["Contract signed"],
    "lost": ["Closed lost"],
    "churned": ["Churned"],
}


@overload
def demo_b2b(
    n_accounts: int = ..., *, random_state: int | None = ..., as_frame: Literal[False] = ...
) -> JourneyLog: ...
@overload
def demo_b2b(
    n_accounts: int = ..., *, random_state: int | None = ..., as_frame: Literal[True]
) -> pd.DataFrame: ...
def demo_b2b(
    n_accounts: int = 400, *, random_state: int | None = 0, as_frame: bool = False
) -> JourneyLog | pd.DataFrame:
    """Generate a realistic synthetic B2B touchpoint log.

    Accounts in three segments (Enterprise, Mid-market, SMB), three products and three
    markets travel through ~25 touchpoints from awareness to advocacy, with several
    contacts per account in buying-committee roles, channels, loops, back-steps from
    decision to consideration, and won, lost, churned, re-engaged and still-open
    accounts. The generative model is described in ``docs/data.md``.

    Parameters
    ----------
    n_accounts : int
        Number of accounts (cases), at least 1.
    random_state : int or None
        Seed; the same seed gives the same log.
    as_frame : bool
        Return the raw events as a pandas DataFrame instead of a :class:`JourneyLog`.

    Returns
    -------
    JourneyLog or pandas.DataFrame
        The log maps ``account_id`` → case, ``touchpoint`` → activity, ``timestamp``,
        ``contact_id`` → contact, ``contact_role`` → role, ``channel``, ``stage`` (with
        :data:`DEMO_STAGE_ORDER`) and ``value``; ``segment``, ``product`` and ``market``
        are case attributes.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=7)
    >>> log.n_cases, log.case_attributes
    (200, ('segment', 'product', 'market'))
    """
    check_int("n_accounts", "demo_b2b", n_accounts, minimum=1)
    if random_state is not None and (
        not isinstance(random_state, int) or isinstance(random_state, bool)
    ):
        raise invalid("random_state", "demo_b2b", "an int or None", random_state)
    frame = generate_demo_events(n_accounts, random_state=random_state)
    if as_frame:
        return frame
    return JourneyLog.from_frame(
        frame,
        case="account_id",
        activity="touchpoint",
        timestamp="timestamp",
        contact="contact_id",
        role="contact_role",
        channel="channel",
        stage="stage",
        value="value",
        case_attributes=["segment", "product", "market"],
        stage_order=DEMO_STAGE_ORDER,
    )._with_source(f"journeymine.datasets.demo_b2b(n_accounts={n_accounts}, random_state={random_state})")
