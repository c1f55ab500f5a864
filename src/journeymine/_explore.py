"""The journey explorer: one self-contained HTML file to explore a journey map by hand.

:func:`explore` computes everything in Python from the log (journey maps per cohort with
:func:`~journeymine.journey_map`, their simplifications with
:meth:`JourneyMap.simplify`, subway maps with :func:`~journeymine.subway_map`) and embeds
it as JSON in a page whose one inline script draws the map as SVG and reacts to the
sliders, the cohort switcher, hovering and clicking. Nothing is computed in the browser
that could differ from Python: for every position of the activities slider the page holds
the projected map's steps, ranked as :meth:`JourneyMap.simplify` ranks them, and the
indices of the backbone that keeps the map connected; the paths slider keeps the backbone
and the first ``ceil(paths * steps)`` of that ranking, which is what ``simplify`` keeps.
A level of more than ``MAX_STEPS`` steps holds the strongest of them, and its paths slider
stops at the last position they cover (the page says so), which keeps the page's size
bounded by activities levels and cohorts, not by the square of the activities.

Safety: the data sits in a ``<script type="application/json">`` block with ``<``, ``>``,
``&``, U+2028 and U+2029 escaped as ``\\uXXXX``; the script builds every element with
``createElement``/``createElementNS`` and sets text with ``textContent``, never
``innerHTML``; a Content-Security-Policy lets only that script (by its SHA-256) run and
forbids every request. The subway views are the package's own escaped SVG.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from ._display import Displayed, escape
from ._encoding import ALL, case_variants, encode, require_events
from ._log import JourneyLog
from ._output import check_output_path, write_atomic
from ._params import check_int, invalid
from ._typing import CohortBy
from ._version import __version__
from .errors import InvalidParameterError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

    from ._cohorts import Cohorts
    from ._journeymap import JourneyMap

__all__ = ["Explorer", "explore", "explore_map"]

#: the journeys embedded for the account lists: at most this many variants, and at most
#: this many activity codes in all (the most frequent journeys first)
MAX_VARIANTS = 5_000
MAX_CODES = 500_000
#: positions of the activities slider: every number of activities up to this many
#: activities, else this many positions spread from 1 to all (each is one projected map)
MAX_LEVELS = 40
#: the steps of one activities level the page holds beyond its backbone: the strongest
#: this many (the paths slider then stops at the last position that keeps no more)
MAX_STEPS = 500
#: the longest journey (in touches) the subway view draws; longer ones are a tangle
MAX_SUBWAY_STOPS = 40
#: the layout grid (CSS pixels of the SVG's user space): station box, column and row pitch
_NODE_W, _NODE_H = 144, 46
_COL_PITCH, _ROW_PITCH = 236, 66
#: the shape the stations' grid aims for (width / height), as a screen's map panel
_ASPECT = 1.7
#: what JourneyLog.source says of an in-memory table: not a name to show
_IN_MEMORY = ("pandas.DataFrame", "polars.DataFrame", "polars.LazyFrame", "pyspark.sql.DataFrame")
_START, _END = -1, -2


@dataclass(frozen=True, eq=False, repr=False)
class Explorer(Displayed):
    """An interactive journey explorer: one self-contained HTML page.

    Open the saved file in a browser (it works offline, from ``file://``), or show it in a
    notebook, where it runs inside a sandboxed ``<iframe>``. ``docs/explore.md`` explains
    how to read it.

    Attributes
    ----------
    html : str
        The page: inline CSS, one inline script, the data as JSON; no network request.
    n_cases, n_events : int
        What it was built from.
    cohorts : tuple of str
        The entries of the cohort switcher, ``"All accounts"`` first.
    source : str
        The log's source (a file is never overwritten by :meth:`save`).

    Examples
    --------
    >>> import journeymine as jm
    >>> ex = jm.explore(jm.datasets.demo_b2b(n_accounts=60), by="segment")
    >>> ex.cohorts
    ('All accounts', 'SMB', 'Mid-market', 'Enterprise')
    >>> ex.html.startswith("<!DOCTYPE html>")
    True
    """

    html: str
    n_cases: int
    n_events: int
    cohorts: tuple[str, ...]
    source: str = ""
    _data: dict[str, Any] = field(default_factory=dict)
    _inputs: tuple[str, ...] = ()

    @property
    def summary(self) -> pd.DataFrame:
        """One row per entry of the cohort switcher: ``cohort``, ``n_cases``, ``n_events``,
        ``stations`` and ``steps`` (of the whole map) and ``subway`` (whether it has one)."""
        import pandas as pd

        rows = [
            (e["name"], e["n_cases"], e["n_events"], len(e["nodes"]), e["levels"][-1]["n_steps"], has)
            for e, has in zip(self._data["entries"], self._data["subway"], strict=True)
        ]
        return pd.DataFrame(rows, columns=["cohort", "n_cases", "n_events", "stations", "steps", "subway"])

    def to_dataframe(self, kind: Literal["steps", "stations"] = "steps") -> pd.DataFrame:
        """What the page holds, as a table.

        ``"steps"``: one row per entry, activities level (``activities``, the slider's
        position) and step the page holds, in the order the paths slider keeps them
        (``rank``, from 0; a level of more than ``MAX_STEPS`` steps holds the strongest
        ones and its backbone, see ``to_dict()["entries"][i]["levels"]``):
        ``source``, ``target`` (``"(start)"`` and ``"(end)"`` for the journeys' ends),
        ``count``, ``cases``, ``median``, ``mean`` (seconds), ``backstep``, ``self_loop``
        and ``backbone`` (kept at any paths position). ``"stations"``: one row per entry and
        station, in the order the activities slider keeps them: ``activity``, ``events``,
        ``cases``, ``rework_cases`` and ``median_dwell`` (seconds to the next touch).

        Examples
        --------
        >>> import journeymine as jm
        >>> ex = jm.explore(jm.datasets.demo_b2b(n_accounts=60))
        >>> steps = ex.to_dataframe()
        >>> full = steps[steps["activities"] == steps["activities"].max()]
        >>> int(full["count"][full["target"] != "(end)"].sum()) == ex.n_events  # every event entered
        True
        """
        import pandas as pd

        from ._params import check_choice

        check_choice("kind", "Explorer.to_dataframe", kind, ("steps", "stations"))
        names = self._data["activities"]

        def name(a: int) -> str:
            return "(start)" if a == _START else "(end)" if a == _END else str(names[a])

        if kind == "stations":
            station_rows = [
                (e["name"], i, names[a], ev, c, rw, dw)
                for e in self._data["entries"]
                for i, (a, ev, c, rw, dw) in enumerate(e["nodes"])
            ]
            return pd.DataFrame(station_rows, columns=["cohort", "rank", "activity", "events", "cases",
                                                       "rework_cases", "median_dwell"])
        rows = []
        for e in self._data["entries"]:
            for k, lv in zip(e["ks"], e["levels"], strict=True):
                bone = set(lv["backbone"])
                for i, (s, t, c, n, md, mn, flags) in enumerate(lv["steps"]):
                    rows.append((e["name"], k, i, name(s), name(t), c, n, md, mn, bool(flags & 1),
                                 bool(flags & 2), i in bone))
        columns = ["cohort", "activities", "rank", "source", "target", "count", "cases", "median", "mean",
                   "backstep", "self_loop", "backbone"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """The data the page embeds (JSON-safe; a copy): activities, layout, one entry per
        cohort with its stations and the steps of every activities level, the journeys
        behind the account lists and the caps."""
        out: dict[str, Any] = json.loads(json.dumps(self._data))
        return out

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` atomically (never onto the log's own file)."""
        html = self.html
        return write_atomic(path, lambda tmp: tmp.write_text(html, encoding="utf-8"),
                            owner="Explorer.save", inputs=(self.source, *self._inputs))

    def _display_html(self, svg: str | None) -> str:
        # srcdoc holds the page escaped as an attribute; sandbox without allow-same-origin
        # keeps its script away from the notebook
        return (
            '<iframe sandbox="allow-scripts" style="width:100%;height:980px;border:1px solid #dee2e6" '
            f'title="{escape(self._data.get("title", "Journey explorer"))}" '
            f'srcdoc="{escape(self.html)}"></iframe>'
        )

    def __repr__(self) -> str:
        kb = len(self.html.encode("utf-8")) / 1000
        cohorts = f", {len(self.cohorts) - 1} cohorts" if len(self.cohorts) > 1 else ""
        return (
            f"<Explorer: {self.n_cases:,} accounts, {self.n_events:,} events{cohorts}; "
            f"{kb:,.0f} kB of HTML; .save(path)>"
        )


# ------------------------------------------------------------------------------------------
# the public functions
# ------------------------------------------------------------------------------------------
def explore(
    log: JourneyLog,
    *,
    by: CohortBy | None = None,
    path: str | os.PathLike[str] | None = None,
    activities: float | int = 1.0,
    paths: float = 0.3,
    max_cohorts: int = 12,
    max_accounts: int = 200,
    title: str | None = None,
) -> Explorer:
    """Build an interactive journey explorer: one self-contained HTML page.

    The page shows the journey map (:func:`journey_map`) with two sliders, as Disco has:
    *activities* keeps the stations reached by the most accounts, *paths* the strongest
    steps on top of a backbone that keeps the map connected, exactly as
    :meth:`JourneyMap.simplify` does; every count on the map is the log's. A cohort
    switcher, hover details (accounts, median dwell, step durations), the accounts behind
    a clicked station or step with their journeys, and the subway view of the most
    frequent journeys complete it.

    Parameters
    ----------
    log : JourneyLog
    by : str, list of str or callable, optional
        Cohorts, as :func:`journey_map` takes them; the switcher lists "All accounts" and
        each cohort.
    path : path, optional
        Also write the page there (atomically; never onto the log's source file).
    activities : float or int
        The activities slider's first position: a share (in (0, 1]) or number (>= 1) of the
        activities, as ``simplify(activities=...)``.
    paths : float
        The paths slider's first position (0 to 1, taken to the whole percent), as
        ``simplify(paths=...)``.
    max_cohorts : int
        The switcher lists the first ``max_cohorts`` cohorts (largest first; time order for
        period cohorts); the other cohorts' accounts are in "All accounts" only.
    max_accounts : int
        A click lists at most this many accounts (the first in case order), then says how
        many more there are.
    title : str, optional
        The page's title (default: "Journey explorer" and the log's file name).

    Returns
    -------
    Explorer
        ``.html``, ``.save(path)``; shows itself in a notebook.

    Raises
    ------
    EmptyLogError
        The log has no events.
    SchemaError
        ``by`` names a column that is not a case attribute.
    InvalidParameterError
        An option is out of range, or ``path`` is the log's own file.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=60)
    >>> ex = jm.explore(log, by="segment", activities=10, paths=0.2)
    >>> ex
    <Explorer: 60 accounts, 466 events, 3 cohorts; ... kB of HTML; .save(path)>
    >>> "Content-Security-Policy" in ex.html and "innerHTML" not in ex.html
    True
    """
    from ._cohorts import resolve
    from ._engine import require_embedded
    from ._journeymap import journey_map

    owner = "explore"
    require_events(log, owner)
    require_embedded(log, owner)
    _check_by(log, by, owner)
    _check_options(log, path=path, activities=activities, paths=paths, max_cohorts=max_cohorts,
                   max_accounts=max_accounts, title=title, owner=owner)
    cohorts = resolve(log, by)
    whole = journey_map(log)
    entries: list[tuple[str, JourneyMap]] = [("All accounts", whole)]
    left_out: list[str] = []
    maps = None
    if cohorts is not None:
        maps = journey_map(log, by=cohorts)
        keys = list(maps)
        entries += [(str(k), maps[k]) for k in keys[:max_cohorts]]
        left_out = [str(k) for k in keys[max_cohorts:]]
    many = maps is not None and len(maps) > 1
    subways = [_subway(maps if many else whole, "cohorts" if many else "top")]
    subways += [_subway(m, "top") for _, m in entries[1:]]
    call = _by_call(log, by)
    calls = ["jm.journey_map(log)"] + [f"jm.journey_map(log, by={call})[{name!r}]" for name, _ in entries[1:]]
    return _explorer(
        log,
        cohorts,
        entries,
        subways,
        whole=whole,
        left_out=left_out,
        activities=activities,
        paths=paths,
        max_accounts=max_accounts,
        title=title,
        by_label=_by_label(cohorts),
        calls=calls,
        path=path,
    )


def explore_map(jmap: JourneyMap, *, path: str | os.PathLike[str] | None = None) -> Explorer:
    """:meth:`JourneyMap.explore`: the explorer of one map's accounts; a simplified map
    opens at its own slider settings (the page holds the whole map)."""
    from ._journeymap import _projected

    owner = "JourneyMap.explore"
    origin = jmap._origin
    if origin is None:
        raise InvalidParameterError(
            f"{owner}: this map was not built by journey_map (a union of maps has no log behind it); "
            "explore the log itself with jm.explore(log)."
        )
    log = origin.cases()
    if path is not None:
        check_output_path(path, owner=owner, inputs=log._inputs)
    settings = jmap.simplified or {}
    full = jmap if not settings else _projected(origin, list(origin.stages.activity_stage))
    whole = jmap.cohort in (None, ALL)
    name = "All accounts" if whole else str(jmap.cohort)
    call = "jm.journey_map(log)" if whole else f"jm.journey_map(log, by=\u2026)[{name!r}]"
    return _explorer(
        log,
        None,
        [(name, full)],
        [_subway(full, "top")],
        whole=full,
        left_out=[],
        activities=settings.get("activities", 1.0),
        paths=settings.get("paths", 1.0),
        max_accounts=200,
        title=None,
        by_label="",
        calls=[call],
        path=path,
    )


def _check_options(log: JourneyLog, *, path: Any, activities: Any, paths: Any, max_cohorts: Any,
                   max_accounts: Any, title: Any, owner: str) -> None:
    """Fail before the work on a bad option or an output path that cannot be written."""
    share = "a float in (0, 1] or an int >= 1"
    if isinstance(activities, bool) or not isinstance(activities, (int, float)):
        raise invalid("activities", owner, share, activities)
    if (isinstance(activities, int) and activities < 1) or (
        isinstance(activities, float) and not 0 < activities <= 1
    ):
        raise invalid("activities", owner, share, activities)
    if isinstance(paths, bool) or not isinstance(paths, (int, float)) or not 0 <= paths <= 1:
        raise invalid("paths", owner, "a float in [0, 1]", paths)
    check_int("max_cohorts", owner, max_cohorts, minimum=1)
    check_int("max_accounts", owner, max_accounts, minimum=1)
    if title is not None and not isinstance(title, str):
        raise invalid("title", owner, "a str or None", title)
    if path is not None:
        check_output_path(path, owner=owner, inputs=log._inputs)


def _check_by(log: JourneyLog, by: Any, owner: str) -> None:
    """Fail on a ``by`` column that is not a case attribute, naming ``by`` and the choices
    (other forms of ``by`` are checked where they are resolved)."""
    from ._cohorts import period_from_name

    if isinstance(by, str) and (by in log.case_attributes or period_from_name(by) is not None):
        return
    names = [by] if isinstance(by, str) else list(by) if isinstance(by, (list, tuple)) else []
    for name in names:
        if isinstance(name, str) and name in log.case_attributes:
            continue
        known = ", ".join(repr(a) for a in log.case_attributes) or "none"
        raise SchemaError(
            f"{owner}: by={name!r} is not a case attribute of this log (case attributes: {known}). "
            "Give a case attribute or a list of them, a period such as jm.period('M'), or a function "
            "of the cases table; declare a column in case_attributes=[...] when reading the log."
        )


def _by_call(log: JourneyLog, by: Any) -> str:
    """``by`` as the page's Python call shows it: the column(s), else an ellipsis."""
    if isinstance(by, str) and by in log.case_attributes:
        return repr(by)
    if isinstance(by, (list, tuple)) and all(isinstance(b, str) for b in by):
        return repr(list(by))
    return "\u2026"


def _by_label(cohorts: Cohorts | None) -> str:
    if cohorts is None:
        return ""
    by = cohorts.by
    return by if isinstance(by, str) else " × ".join(by)


def _subway(source: Any, kind: str) -> tuple[str | None, str]:
    """The subway view of one entry (the package's own escaped SVG), or None and why: no
    journey has two touchpoints, or a journey to draw is longer than ``MAX_SUBWAY_STOPS``
    (a line of hundreds of stops is a tangle, and slow to lay out)."""
    from ._subway import _source_lines, _source_log, subway_map

    top, max_lines = 6, 12  # subway_map's line count and its default cap
    log, by = _source_log(source, "subway_map")
    try:
        lines = _source_lines(source, log, by, lines=None, top=top, min_stations=2, owner="subway_map")
    except InvalidParameterError:
        return None, "No subway view: no journey of these accounts has two touchpoints."
    longest = max(len(line.stations) for line in lines[:max_lines])
    if longest > MAX_SUBWAY_STOPS:
        return None, (
            f"No subway view: a journey to draw has {longest:,} touches, more than the "
            f"{MAX_SUBWAY_STOPS} a subway line shows legibly."
        )
    if kind == "cohorts":
        return subway_map(source, timing=True, max_lines=max_lines).to_html(), ""
    return subway_map(source, top=top, timing=True, max_lines=max_lines).to_html(), ""


# ------------------------------------------------------------------------------------------
# the data the page embeds
# ------------------------------------------------------------------------------------------
def _explorer(
    log: JourneyLog,
    cohorts: Cohorts | None,
    entries: list[tuple[str, JourneyMap]],
    subways: list[tuple[str | None, str]],
    *,
    whole: JourneyMap,
    left_out: list[str],
    activities: float | int,
    paths: float,
    max_accounts: int,
    title: str | None,
    by_label: str,
    calls: list[str],
    path: str | os.PathLike[str] | None,
) -> Explorer:
    """Assemble the data, render the page, write it when ``path`` is given."""
    names = list(log.activities)
    code = {a: i for i, a in enumerate(names)}
    entry_of_case = _entry_codes(log, cohorts, [name for name, _ in entries[1:]])
    dwell = _dwell(log, entry_of_case, len(entries))
    title = title or _default_title(log.source)
    entry_data = [_entry(name, jmap, code, dwell[i], calls[i]) for i, (name, jmap) in enumerate(entries)]
    data: dict[str, Any] = {
        "title": title,
        "by": by_label,
        "activities": names,
        "layout": _layout(whole, code),
        "entries": entry_data,
        "left_out_cohorts": left_out,
        "journeys": _journeys(log, entry_of_case, len(entries), max_accounts),
        "initial": {"activities": _initial_k(activities, [e["ks"] for e in entry_data]),
                    "paths": round(float(paths) * 100)},
        "subway": [s is not None for s, _ in subways],
        "subway_notes": [note for _, note in subways],
        "max_steps": MAX_STEPS,
    }
    html = _render(data, [s for s, _ in subways], log)
    out = Explorer(
        html=html,
        n_cases=log.n_cases,
        n_events=log.n_events,
        cohorts=tuple(name for name, _ in entries),
        source=log.source,
        _data=data,
        _inputs=log._inputs,
    )
    if path is not None:
        out.save(path)
    return out


def _initial_k(activities: float | int, ks: list[list[int]]) -> list[int]:
    """The activities slider's first position in each entry, as ``simplify`` reads
    ``activities``: that number of activities, or the nearest position above it when the
    slider has fewer positions than activities."""
    out = []
    for positions in ks:
        n = positions[-1]
        k = min(activities, n) if isinstance(activities, int) else max(1, math.ceil(activities * n))
        out.append(next(p for p in positions if p >= k))
    return out


def slider_positions(n: int) -> list[int]:
    """The numbers of activities the activities slider offers for a map of ``n``.

    Examples
    --------
    >>> from journeymine._explore import slider_positions
    >>> slider_positions(4)
    [1, 2, 3, 4]
    >>> len(slider_positions(300)), slider_positions(300)[:3], slider_positions(300)[-1]
    (40, [1, 9, 16], 300)
    """
    if n <= MAX_LEVELS:
        return list(range(1, n + 1))
    return sorted({1 + round(i * (n - 1) / (MAX_LEVELS - 1)) for i in range(MAX_LEVELS)})


def _default_title(source: str) -> str:
    if not source or source in _IN_MEMORY or source.startswith("journeymine."):
        return "Journey explorer"
    return f"Journey explorer: {Path(source).name or source}"


def _entry_codes(log: JourneyLog, cohorts: Cohorts | None, shown: list[str]) -> np.ndarray:
    """Each case's entry in the switcher: 1.. for the listed cohorts, 0 for the others."""
    if cohorts is None:
        return np.zeros(log.n_cases, dtype=np.int64)
    index = {name: i + 1 for i, name in enumerate(shown)}
    per_name = np.array([index.get(str(n), 0) for n in cohorts.names], dtype=np.int64)
    out: np.ndarray = per_name[cohorts.codes.to_numpy()]
    return out


def _dwell(log: JourneyLog, entry_of_case: np.ndarray, n_entries: int) -> list[dict[int, float]]:
    """Per entry, each activity's median dwell: the time from a touch there to the
    account's next touch (touches with a next one; the whole log, whatever is shown)."""
    frame = encode(log).frame
    nxt = pl.col("ts").shift(-1)
    gaps = frame.with_columns(
        pl.when(pl.col("code").shift(-1) == pl.col("code"))
        .then((nxt - pl.col("ts")).dt.total_microseconds() / 1e6)
        .alias("gap"),
        pl.Series("entry", entry_of_case).gather(frame.get_column("code").cast(pl.Int64)).alias("entry"),
    ).filter(pl.col("gap").is_not_null())
    out: list[dict[int, float]] = []
    whole = gaps.group_by("act").agg(pl.col("gap").median()).sort("act")
    out.append({int(a): float(g) for a, g in whole.iter_rows()})
    per = gaps.group_by("entry", "act").agg(pl.col("gap").median()).sort("entry", "act")
    for i in range(1, n_entries):
        sub = per.filter(pl.col("entry") == i)
        out.append({int(a): float(g) for _, a, g in sub.iter_rows()})
    return out


def _num(x: Any) -> float | int | None:
    """Seconds as embedded: whole seconds from a minute on (the page shows minutes, hours
    and days to one decimal), a tenth of a second below; NaN as null."""
    f = float(x)
    if math.isnan(f):
        return None
    return round(f) if abs(f) >= 60 else round(f, 1)


def _entry(
    name: str, jmap: JourneyMap, code: Mapping[str, int], dwell: Mapping[int, float], call: str
) -> dict[str, Any]:
    """One switcher entry: its stations ranked as ``simplify`` ranks them (the activities
    slider keeps the first k) and, for every k, the steps of the projected map; ``call``
    is the Python expression of its map, for the status line."""
    ranked = jmap.nodes.sort_values(["cases", "events", "activity"], ascending=[False, False, True])
    nodes = [
        [code[a], int(ev), int(c), int(rw), _num(dwell[code[a]]) if code[a] in dwell else None]
        for a, ev, c, rw in zip(ranked["activity"], ranked["events"], ranked["cases"],
                                ranked["rework_cases"], strict=True)
    ]
    ks = slider_positions(len(nodes))
    levels = [_level(jmap.simplify(activities=k), code) for k in ks]
    return {"name": name, "call": call, "n_cases": jmap.n_cases, "n_events": jmap.n_events, "nodes": nodes,
            "ks": ks, "levels": levels}


def _level(m: JourneyMap, code: Mapping[str, int]) -> dict[str, Any]:
    """One activities level: its steps (the map's, and from the start and to the end) in
    the order ``simplify(paths=...)`` ranks them, and the indices of its backbone.

    Of ``n_ranked`` steps the level holds the first ``ceil(paths_max / 100 * n_ranked)``
    and the backbone: ``paths_max`` is the last whole percent that keeps at most
    ``MAX_STEPS`` steps (100 for most maps), where the paths slider stops."""
    e = m.edges
    rows: list[tuple[str, str, list[Any]]] = [
        (s, t, [code[s], code[t], int(c), int(k), _num(md), _num(mn), int(bool(b)) + 2 * int(bool(lp))])
        for s, t, c, k, md, mn, b, lp in zip(e["source"], e["target"], e["count"], e["cases"], e["median"],
                                             e["mean"], e["backstep"], e["self_loop"], strict=True)
    ]
    st, en = m.start_activities, m.end_activities
    rows += [("(start)", a, [_START, code[a], int(c), int(c), None, None, 0])
             for a, c in zip(st["activity"], st["count"], strict=True)]
    rows += [(a, "(end)", [code[a], _END, int(c), int(c), None, None, 0])
             for a, c in zip(en["activity"], en["count"], strict=True)]
    # the ranking of JourneyMap.simplify's _filter_paths: count, then source and target names
    rows.sort(key=lambda r: (-r[2][2], r[0], r[1]))
    bone = m.simplify(paths=0.0)
    keep = set(zip(bone.edges["source"], bone.edges["target"], strict=True))
    keep |= {("(start)", a) for a in bone.start_activities["activity"]}
    keep |= {(a, "(end)") for a in bone.end_activities["activity"]}
    n = len(rows)
    # the page computes ceil(p / 100 * n) in the same float arithmetic
    paths_max = max([p for p in range(101) if math.ceil(p / 100 * n) <= MAX_STEPS], default=0)
    first = math.ceil(paths_max / 100 * n)
    held = [i for i, r in enumerate(rows) if i < first or (r[0], r[1]) in keep]
    return {
        "n_cases": m.n_cases,
        "n_steps": len(e),
        "n_ranked": n,
        "paths_max": paths_max,
        "steps": [rows[i][2] for i in held],
        "backbone": [j for j, i in enumerate(held) if (rows[i][0], rows[i][1]) in keep],
    }


def _journeys(
    log: JourneyLog, entry_of_case: np.ndarray, n_entries: int, max_accounts: int
) -> dict[str, Any]:
    """The journeys behind the account lists: the variant table (most frequent first, as
    :func:`variants` orders them), each variant's accounts per entry, and for each variant
    and entry the first ``max_accounts`` case ids (which hold the first ``max_accounts`` of
    any set of variants)."""
    lists = case_variants(log)
    n = log.n_cases
    keys = lists.cast(pl.List(pl.String)).list.join(",")
    table = pl.DataFrame({"key": keys, "case": np.arange(n, dtype=np.int64), "entry": entry_of_case})
    groups = (
        table.group_by("key")
        .agg(pl.len().alias("n"), pl.col("case").min().alias("first"))
        .sort(["n", "first"], descending=[True, False])
        .with_columns(pl.int_range(0, pl.len()).alias("v"))
    )
    lengths = (groups.get_column("key").str.count_matches(",") + 1).to_numpy()
    fits = np.cumsum(lengths) <= MAX_CODES
    n_kept = int(min(MAX_VARIANTS, int(np.argmin(fits)) if not fits.all() else len(fits)))
    n_kept = max(n_kept, 1)
    kept = groups.head(n_kept)
    cases = table.join(kept.select("key", "v"), on="key", how="inner").sort("v", "entry", "case")
    counts = cases.group_by("v", "entry").agg(pl.len().alias("n")).sort("v", "entry")
    members = cases.filter(pl.int_range(0, pl.len()).over("v", "entry") < max_accounts)
    shown = np.unique(members.get_column("case").to_numpy())
    pos = np.full(n, -1, dtype=np.int64)
    pos[shown] = np.arange(shown.size)
    ids = log.to_polars("cases").get_column("case").cast(pl.String).gather(pl.Series(shown))
    by_v_counts: list[list[int]] = [[] for _ in range(n_kept)]
    for v, e, c in counts.iter_rows():
        by_v_counts[v] += [int(e), int(c)]
    by_v_members: list[list[int]] = [[] for _ in range(n_kept)]
    for v, e, c in members.select("v", "entry", "case").iter_rows():
        by_v_members[v] += [int(e), int(pos[c])]
    seqs = [[int(x) for x in k.split(",")] for k in kept.get_column("key").to_list()]
    covered = int(kept.get_column("n").sum())
    return {
        "seq": seqs,
        "counts": by_v_counts,
        "members": by_v_members,
        "case_ids": ids.to_list(),
        "n_variants": groups.height,
        "covered_accounts": covered,
        "max_accounts": max_accounts,
        "n_entries": n_entries,
    }


def _layout(whole: JourneyMap, code: Mapping[str, int]) -> dict[str, Any]:
    """Station positions: one column per stage (a crowded stage split into several, in
    journey order), the stations of a column ordered to keep steps short (barycentre
    sweeps), columns centred; the start dot on the left, the end dot on the right."""
    order = list(whole.nodes["activity"])
    stage_of = dict(zip(whole.nodes["activity"], whole.nodes["stage"], strict=True))
    stages = [s for s in dict.fromkeys(stage_of[a] for a in order)]
    groups = [[a for a in order if stage_of[a] == s] for s in stages]
    rows = _rows_per_column(groups)
    columns: list[list[str]] = []
    column_stage: list[int] = []
    for i, g in enumerate(groups):
        parts = math.ceil(len(g) / rows)
        size = math.ceil(len(g) / parts)
        for j in range(parts):
            columns.append(g[j * size:(j + 1) * size])
            column_stage.append(i)
    weight: dict[tuple[str, str], int] = {}
    for s, t, c in zip(whole.edges["source"], whole.edges["target"], whole.edges["count"], strict=True):
        if s != t:
            key = (s, t) if s < t else (t, s)
            weight[key] = weight.get(key, 0) + int(c)
    columns = _order_columns(columns, weight)
    x = [None] * len(code)  # type: list[float | None]
    y = [None] * len(code)  # type: list[float | None]
    for j, col in enumerate(columns):
        for i, a in enumerate(col):
            x[code[a]] = float(j * _COL_PITCH)
            y[code[a]] = float((i - (len(col) - 1) / 2) * _ROW_PITCH)
    last = (len(columns) - 1) * _COL_PITCH
    return {
        "x": x,
        "y": y,
        "node": [_NODE_W, _NODE_H],
        "stages": stages,
        "columns": [[float(j * _COL_PITCH), column_stage[j]] for j in range(len(columns))],
        "start": [-_NODE_W / 2 - 64, 0.0],
        "end": [last + _NODE_W / 2 + 64, 0.0],
    }


def _rows_per_column(groups: Sequence[Sequence[str]]) -> int:
    """The most stations a column holds: the grid closest to the aimed shape."""
    biggest = max((len(g) for g in groups), default=1)
    best, best_score = biggest, math.inf
    for rows in range(2, max(biggest, 2) + 1):
        cols = sum(math.ceil(len(g) / rows) for g in groups)
        tall = max(min(len(g), math.ceil(len(g) / math.ceil(len(g) / rows))) for g in groups)
        width = cols * _COL_PITCH + _COL_PITCH
        height = max(tall, 1) * _ROW_PITCH + 60
        score = abs(math.log(width / height / _ASPECT))
        if score < best_score - 1e-9:
            best, best_score = rows, score
    return best


def _order_columns(columns: list[list[str]], weight: Mapping[tuple[str, str], int]) -> list[list[str]]:
    """Order each column's stations by the weighted mean row of their neighbours in the
    other columns (a few sweeps left to right and back; ties keep journey order)."""
    neighbours: dict[str, list[tuple[str, int]]] = {}
    for (a, b), w in sorted(weight.items()):
        neighbours.setdefault(a, []).append((b, w))
        neighbours.setdefault(b, []).append((a, w))
    col_of = {a: j for j, col in enumerate(columns) for a in col}
    cols = [list(c) for c in columns]

    def rows() -> dict[str, float]:
        return {a: i - (len(c) - 1) / 2 for c in cols for i, a in enumerate(c)}

    for sweep in range(6):
        order = range(len(cols)) if sweep % 2 == 0 else range(len(cols) - 1, -1, -1)
        for j in order:
            at = rows()

            def centre(a: str, j: int = j, at: dict[str, float] = at) -> float:
                near = [(at[b], w) for b, w in neighbours.get(a, []) if col_of[b] != j]
                total = sum(w for _, w in near)
                return sum(r * w for r, w in near) / total if total else at[a]

            cols[j] = [a for _, _, a in sorted((centre(a), i, a) for i, a in enumerate(cols[j]))]
    return cols


# ------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------
def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026`` (so no
    ``</script>`` or ``<!--`` can end or change the element), U+2028 and U+2029 become
    ``\\u2028`` and ``\\u2029``; JSON.parse reads the same strings back.

    Examples
    --------
    >>> from journeymine._explore import script_json
    >>> print(script_json({"a": "</script><b>&"}))
    {"a":"\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script: ``'sha256-<base64>'``."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _template(name: str) -> str:
    return resources.files("journeymine").joinpath(f"templates/{name}").read_text("utf-8")


def _render(data: Mapping[str, Any], subways: Sequence[str | None], log: JourneyLog) -> str:
    """The page: ``templates/explore.html.j2`` (autoescaped) around the JSON and the
    script of ``templates/explore.js.j2`` (read as it is, never rendered)."""
    import jinja2
    from markupsafe import Markup

    script = _template("explore.js.j2")
    if "</" in script or "<!--" in script:  # pragma: no cover - a guard on the template
        raise RuntimeError("journeymine internal error: the explorer script would end its element")
    span = log.time_span
    subtitle = (
        f"{log.n_cases:,} accounts · {log.n_events:,} events · {len(log.activities)} touchpoints · "
        f"{span.start:%Y-%m-%d} → {span.end:%Y-%m-%d}"
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_template("explore.html.j2")).render(
        title=data["title"],
        subtitle=subtitle,
        version=__version__,
        csp_script=Markup(script_hash(script)),  # base64 and quotes: nothing to escape
        data=Markup(script_json(data)),
        script=Markup(script),
        subways=[(i, Markup(s)) for i, s in enumerate(subways) if s is not None],
    )
