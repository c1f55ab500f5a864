"""Data: a generator of realistic synthetic B2B touchpoint logs, and loaders for the public logs.

:func:`demo_b2b` generates the bundled demo log. The real public event logs used in
journeymine's tests, docs and benchmarks are not bundled and never downloaded: :func:`load`
reads a local copy and checks its SHA-256 (``docs/data.md``).
"""

from __future__ import annotations

from typing import Literal, overload

import pandas as pd

from .._log import JourneyLog
from .._params import check_int, invalid
from ._demo import generate_demo_events
from ._public import PUBLIC_LOGS, PublicLog, data_home, load

__all__ = [
    "DEMO_OUTCOMES", "DEMO_STAGE_ORDER", "PUBLIC_LOGS", "PublicLog",
    "data_home", "demo_b2b", "demo_spend", "load",
]

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
    n_accounts: int = ...,
    *,
    random_state: int | None = ...,
    as_frame: Literal[False] = ...,
    version: int = ...,
) -> JourneyLog: ...
@overload
def demo_b2b(
    n_accounts: int = ..., *, random_state: int | None = ..., as_frame: Literal[True], version: int = ...
) -> pd.DataFrame: ...
def demo_b2b(
    n_accounts: int = 400, *, random_state: int | None = 0, as_frame: bool = False, version: int = 1
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
    version : {1, 2}
        1 (the default): the journeys, committees and deal values described in
        ``docs/data.md``, unchanged since they were first published. 2: the same journeys
        with money and voice added (issue 25): a seller-side ``team`` (the log's resource),
        deal values that depend on the journey, NPS surveys (``nps``) whose scores relate to
        churn, renewals at a new value, expansions and contractions typed in ``deal_type``
        with their ``deal_product`` and ``deal_unit`` (the business unit that bought);
        :func:`demo_spend` gives its marketing spend.

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
    >>> v2 = jm.datasets.demo_b2b(n_accounts=200, random_state=7, version=2)
    >>> v2.mapping.resource, v2.event_attributes
    ('team', ('deal_type', 'deal_product', 'deal_unit', 'nps'))
    """
    check_int("n_accounts", "demo_b2b", n_accounts, minimum=1)
    if random_state is not None and (
        not isinstance(random_state, int) or isinstance(random_state, bool)
    ):
        raise invalid("random_state", "demo_b2b", "an int or None", random_state)
    if version not in (1, 2) or isinstance(version, bool):
        raise invalid("version", "demo_b2b", "1 (journeys, committees and deals) or 2 (with money and voice)",
                      version)
    frame = _frame(n_accounts, random_state, version)
    if as_frame:
        return frame
    extra: dict[str, object] = (
        {"resource": "team", "event_attributes": ["deal_type", "deal_product", "deal_unit", "nps"]}
        if version == 2
        else {}
    )
    source = f"journeymine.datasets.demo_b2b(n_accounts={n_accounts}, random_state={random_state}" + (
        ", version=2)" if version == 2 else ")"
    )
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
        **extra,  # type: ignore[arg-type]
    )._with_source(source)


def _frame(n_accounts: int, random_state: int | None, version: int) -> pd.DataFrame:
    frame = generate_demo_events(n_accounts, random_state=random_state)
    if version == 2:
        from ._demo_value import add_value_and_voice

        frame = add_value_and_voice(frame, random_state)
    return frame


def demo_spend(n_accounts: int = 400, *, random_state: int | None = 0) -> pd.DataFrame:
    """The monthly marketing spend behind ``demo_b2b(n_accounts, random_state=..., version=2)``.

    Per month and channel: a fixed amount plus an amount per awareness or consideration
    touch of that channel in the month, × a log-normal factor; a "Podcast" channel has
    spend and no touches in the log. The rules are in ``docs/data.md``.

    Returns
    -------
    pandas.DataFrame
        ``channel``, ``month`` (``YYYY-MM``) and ``spend``.

    Examples
    --------
    >>> import journeymine as jm
    >>> spend = jm.datasets.demo_spend(n_accounts=200, random_state=7)
    >>> sorted(spend["channel"].unique())
    ['Email', 'Event', 'Paid social', 'Partner', 'Podcast', 'Web']
    """
    from ._demo_value import spend_table

    check_int("n_accounts", "demo_spend", n_accounts, minimum=1)
    return spend_table(_frame(n_accounts, random_state, 2), random_state)
