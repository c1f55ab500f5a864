"""Interoperability with pm4py's column conventions.

Nothing here imports pm4py at module level: pm4py is AGPL-3.0 and optional. Frames in
pm4py's layout are plain pandas/polars frames; only an ``EventLog`` object needs pm4py
to be converted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ._mapping import RESERVED_CASE_COLUMNS, RESERVED_EVENT_COLUMNS
from ._params import free_name, shown_names
from .errors import MissingDependencyError, SchemaError

if TYPE_CHECKING:
    from ._log import JourneyLog

CASE = "case:concept:name"
ACTIVITY = "concept:name"
TIMESTAMP = "time:timestamp"
RESOURCE = "org:resource"
LIFECYCLE = "lifecycle:transition"
ROLE = "org:role"
#: Role → column in pm4py's layout: XES standard keys where one exists, else the role name.
ROLE_COLUMNS = {
    "case": CASE,
    "activity": ACTIVITY,
    "timestamp": TIMESTAMP,
    "resource": RESOURCE,
    "lifecycle": LIFECYCLE,
    "role": ROLE,
    "contact": "contact",
    "channel": "channel",
    "stage": "stage",
    "value": "value",
}
PM4PY_BOOKKEEPING = ("@@index", "@@case_index", "@@event_index")


def require_pm4py(purpose: str) -> Any:
    """Import pm4py, or explain which extra to install."""
    try:
        import pm4py
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs pm4py, which is not installed. Install it with "
            "pip install 'journeymine[pm4py]' (pm4py is AGPL-3.0 licensed)."
        ) from exc
    return pm4py


def pm4py_frame_arguments(data: Any) -> tuple[Any, dict[str, Any]]:
    """Return a frame and ``from_frame`` keyword arguments for pm4py-style data."""
    if type(data).__name__ in ("EventLog", "EventStream"):
        pm4py = require_pm4py("Reading a pm4py EventLog object")
        data = pm4py.convert_to_dataframe(data)
    columns = [str(c) for c in getattr(data, "columns", [])]
    if not columns:
        raise SchemaError(
            "from_pm4py expects a pandas/polars frame in pm4py's layout or a pm4py EventLog; "
            f"got {type(data).__name__}."
        )
    missing = [c for c in (CASE, ACTIVITY, TIMESTAMP) if c not in columns]
    if missing:
        raise SchemaError(
            f"Column(s) {missing} not found: a pm4py frame has {CASE!r}, {ACTIVITY!r} and "
            f"{TIMESTAMP!r}. Available columns: {shown_names(columns, 20)}. Use pm4py.format_dataframe "
            "first, or JourneyLog.from_frame with case=, activity=, timestamp=."
        )
    drop = [c for c in PM4PY_BOOKKEEPING if c in columns]
    renames: dict[str, str] = {}
    taken = set(columns)
    case_attrs: list[str] = []
    for col in columns:
        if col.startswith("case:") and col != CASE:
            short = col[len("case:"):]
            # a trace attribute "start" (a name log.cases gives its own column) stays "case:start"
            name = short if short and short not in taken and short not in RESERVED_CASE_COLUMNS else col
            if name != col:
                renames[col] = name
                taken.add(name)
            case_attrs.append(name)
    mapped = {c for c in ROLE_COLUMNS.values() if c in columns}
    for col in columns:
        # an event attribute named like a column of log.events that no role fills ("row",
        # "resource" beside org:resource...) is kept as "<name> (attribute)", as in OCEL logs
        if col in RESERVED_EVENT_COLUMNS and col not in mapped and not col.startswith("case:"):
            renames[col] = free_name(f"{col} (attribute)", taken, lambda n: f"{n} (attribute)")
    if isinstance(data, pl.DataFrame):
        frame: Any = data.drop(drop).rename(renames)
    else:
        frame = data.drop(columns=drop).rename(columns=renames)
    kwargs: dict[str, Any] = {
        "case": CASE,
        "activity": ACTIVITY,
        "timestamp": TIMESTAMP,
        "case_attributes": case_attrs,
    }
    for role, col in ROLE_COLUMNS.items():
        if role not in kwargs and col in columns:
            kwargs[role] = col
    return frame, kwargs


def lift_case_attributes(kwargs: dict[str, Any], lifted: Any, owner: str) -> dict[str, Any]:
    """``kwargs`` of :func:`pm4py_frame_arguments` with the event attributes ``lifted``
    (a name or a list) added to the case attributes. The user's choice wins over a role
    the column would play by its name; trace attributes stay case attributes."""
    from ._params import as_names

    names = as_names(lifted, "case_attributes", owner)
    if not names:
        return kwargs
    out = {k: v for k, v in kwargs.items()
           if k in ("case", "activity", "timestamp", "case_attributes") or v not in names}
    known = list(out["case_attributes"])
    out["case_attributes"] = [*known, *(c for c in names if c not in known)]
    return out


def pm4py_layout(log: JourneyLog) -> pl.DataFrame:
    """The log's events (with case attributes) as a polars frame in pm4py's columns.

    Roles go to :data:`ROLE_COLUMNS` (XES standard keys ``org:resource``, ``org:role``,
    ``lifecycle:transition`` where they exist, else the role name), case attributes to
    ``case:<name>``; :func:`pm4py_frame_arguments` maps the same names back.
    """
    events = log.to_polars("events")
    renames = {role: ROLE_COLUMNS[role] for role in log.mapping.roles()}
    out = events.drop("row").rename(renames)
    if log.case_attributes:
        cases = log.to_polars("cases").select(
            "case", *[pl.col(a).alias(f"case:{a}") for a in log.case_attributes]
        )
        out = out.join(
            cases.rename({"case": CASE}), on=CASE, how="left", maintain_order="left"
        )
    return out
