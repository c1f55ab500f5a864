"""The column mapping: which input column plays which role in a journey log."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

#: Optional roles a column can play, beyond case, activity and timestamp.
OPTIONAL_ROLES: tuple[str, ...] = (
    "resource",
    "contact",
    "role",
    "channel",
    "stage",
    "lifecycle",
    "value",
)
#: Column names journeymine uses in ``JourneyLog.events``; input columns kept as event
#: attributes may not take them.
RESERVED_EVENT_COLUMNS: frozenset[str] = frozenset(
    ("case", "activity", "timestamp", "row", *OPTIONAL_ROLES)
)
#: Column names of ``JourneyLog.cases`` computed by journeymine.
RESERVED_CASE_COLUMNS: frozenset[str] = frozenset(("case", "n_events", "start", "end"))


@dataclass(frozen=True)
class ColumnMapping:
    """Which input column plays which role.

    ``case``, ``activity`` and ``timestamp`` are required. The optional roles are
    ``resource`` (who handled the event on the seller's side), ``contact`` (the person at
    the account), ``role`` (that person's buying-committee role), ``channel``, ``stage``
    (the journey stage of the event), ``lifecycle`` (XES lifecycle transition) and
    ``value`` (money). In :attr:`JourneyLog.events` each mapped column is renamed to its
    role name.

    Examples
    --------
    >>> from journeymine import ColumnMapping
    >>> m = ColumnMapping(case="account_id", activity="touchpoint", timestamp="ts")
    >>> m.roles()
    {'case': 'account_id', 'activity': 'touchpoint', 'timestamp': 'ts'}
    """

    case: str
    activity: str
    timestamp: str
    resource: str | None = None
    contact: str | None = None
    role: str | None = None
    channel: str | None = None
    stage: str | None = None
    lifecycle: str | None = None
    value: str | None = None

    def roles(self) -> dict[str, str]:
        """Return ``{role: input column}`` for every mapped role, in a fixed order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def to_dict(self) -> dict[str, str | None]:
        """Return every role, mapped or not, as a JSON-safe dict."""
        return asdict(self)
