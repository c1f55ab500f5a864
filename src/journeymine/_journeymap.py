"""Journey maps: what the journeys of a log (or of each cohort) really look like.

:func:`journey_map` turns the directly-follows tables of :mod:`journeymine._discovery`
into frozen :class:`JourneyMap` results (one per cohort, in a :class:`JourneyMaps` mapping
when ``by`` is given). A map knows its stations (activities) and steps (directly-follows
edges) with frequency and timing, its start and end activities, the journey stages and
how non-linear the journeys are (back-steps, rework, self-loops). It draws itself
(:mod:`journeymine._mapdraw`), exports to pandas and JSON, and simplifies like Disco's two
sliders (:meth:`JourneyMap.simplify`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import polars as pl

from ._cohorts import Cohorts, resolve
from ._discovery import journey_tables
from ._display import GraphvizDisplayed
from ._encoding import ALL, require_events
from ._log import JourneyLog
from ._mapdraw import Drawing, LabelMode, TimeStat, map_dot, shared_positions
from ._params import check_int, invalid
from ._results import CohortResults
from ._stages import StageAssignment, activity_ranks, stage_assignment
from ._typing import CohortBy
from ._warnings import warn
from .errors import JourneymineWarning

if TYPE_CHECKING:
    import pandas as pd

    from ._explore import Explorer

__all__ = ["JourneyMap", "JourneyMaps", "journey_map"]

_TIME_COLUMNS = ("mean", "median", "p90", "min", "max")
#: the columns of each table of a map (for a JourneyMaps with no map)
_COLUMNS = {
    "edges": ["source", "target", "count", "cases", "share", *_TIME_COLUMNS, "self_loop", "backstep"],
    "nodes": ["activity", "stage", "position", "events", "cases", "share", "rework_cases"],
    "start": ["activity", "count"],
    "end": ["activity", "count"],
}
_SUMMARY_COLUMNS = [
    "cohort", "n_cases", "n_events", "activities", "paths",
    "backstep_share", "mean_backsteps", "rework_share", "self_loop_share",
]


@dataclass(frozen=True)
class _Origin:
    """Where a map came from, so that it can be recomputed on fewer activities: the log,
    its cohorts as resolved once by :func:`journey_map` (None without ``by``) and the
    map's cohort among them."""

    log: JourneyLog
    cohorts: Cohorts | None
    cohort: Any
    stages: StageAssignment

    def cases(self) -> JourneyLog:
        """The log of the map's own accounts (its cohort's, or the whole log)."""
        if self.cohorts is None or self.cohort is None:
            return self.log
        return self.log._subset_cases(self.cohorts.mask(self.cohort))


@dataclass(frozen=True, eq=False, repr=False)
class JourneyMap(GraphvizDisplayed):
    """The journeys of one log or cohort as a directly-follows map with timing.

    Attributes
    ----------
    nodes : pandas.DataFrame
        One row per activity (station), in journey order (stage, then typical position):
        ``activity``, ``stage``, ``position`` (typical relative position in a journey, 0 to
        1), ``events``, ``cases`` (accounts that touched it), ``share`` (of accounts),
        ``rework_cases`` (accounts where it occurs more than once).
    edges : pandas.DataFrame
        One row per directly-follows step, most frequent first: ``source``, ``target``,
        ``count`` (occurrences), ``cases`` (distinct accounts), ``share`` (of accounts),
        ``mean``, ``median``, ``p90``, ``min``, ``max`` (seconds between the two events),
        ``self_loop`` and ``backstep`` (the target's stage comes before the source's).
    start_activities, end_activities : pandas.DataFrame
        ``activity`` and ``count`` of the first and last events of the journeys.
    n_cases, n_events : int
        What the map was built from.
    cohort : object
        The cohort key (None for a whole log).
    stages : tuple of str
        The journey stages in order; ``stage_source`` says where they came from.
    nonlinearity : dict
        ``accounts``, ``backstep_accounts``, ``backstep_share`` (accounts with at least one
        back-step), ``backsteps``, ``mean_backsteps`` (per account), ``rework_accounts``,
        ``rework_share``, ``self_loop_accounts``, ``self_loop_share``.
    simplified : dict or None
        The ``activities`` and ``paths`` settings when the map was simplified.
    summary : pandas.DataFrame
        One row: the cohort (``"(all)"`` for a whole log), ``n_cases``, ``n_events``,
        ``activities``, ``paths`` and the non-linearity shares.

    Examples
    --------
    >>> import journeymine as jm
    >>> m = jm.journey_map(jm.datasets.demo_b2b(n_accounts=300, random_state=0))
    >>> m.edges[["source", "target", "count"]].head(2)
               source         target  count
    0  Discovery call           Demo    108
    1            Demo  Proposal sent    107
    >>> round(m.nonlinearity["backstep_share"], 2)
    0.22
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    start_activities: pd.DataFrame
    end_activities: pd.DataFrame
    n_cases: int
    n_events: int
    cohort: Any = None
    stages: tuple[str, ...] = ()
    stage_source: str = ""
    nonlinearity: dict[str, float] = field(default_factory=dict)
    simplified: dict[str, float] | None = None
    _origin: _Origin | None = field(default=None, repr=False)

    # -- figures -------------------------------------------------------------------------
    @property
    def activities(self) -> tuple[str, ...]:
        """The map's activities in journey order."""
        return tuple(self.nodes["activity"])

    @property
    def summary(self) -> pd.DataFrame:
        """One row: size, activities, paths and non-linearity figures (as
        :attr:`JourneyMaps.summary` has per cohort)."""
        import pandas as pd

        row = {
            "cohort": ALL if self.cohort is None else self.cohort,
            "n_cases": self.n_cases,
            "n_events": self.n_events,
            "activities": len(self.nodes),
            "paths": len(self.edges),
            **{k: self.nonlinearity[k] for k in _SUMMARY_COLUMNS[5:]},
        }
        return pd.DataFrame([row], columns=_SUMMARY_COLUMNS)

    def to_dataframe(
        self,
        kind: Literal["edges", "nodes", "start", "end"] = "edges",
        *,
        durations: Literal["seconds", "timedelta"] = "seconds",
    ) -> pd.DataFrame:
        """One of the map's tables as a new DataFrame.

        ``durations="timedelta"`` turns the edge time columns into ``Timedelta``.

        Examples
        --------
        >>> import journeymine as jm
        >>> m = jm.journey_map(jm.datasets.demo_b2b(n_accounts=100, random_state=0))
        >>> str(m.to_dataframe(durations="timedelta")["median"].dtype)
        'timedelta64[us]'
        """
        from ._params import check_choice

        check_choice("kind", "JourneyMap.to_dataframe", kind, ("edges", "nodes", "start", "end"))
        check_choice("durations", "JourneyMap.to_dataframe", durations, ("seconds", "timedelta"))
        table = {
            "edges": self.edges,
            "nodes": self.nodes,
            "start": self.start_activities,
            "end": self.end_activities,
        }[kind].copy()
        if kind == "edges" and durations == "timedelta":
            import pandas as pd

            for c in _TIME_COLUMNS:
                table[c] = pd.to_timedelta(table[c], unit="s").astype("timedelta64[us]")
        return table

    def to_dict(self) -> dict[str, Any]:
        """The whole map as JSON-safe Python values (durations in seconds)."""
        from ._jsonsafe import jsonable, records

        return {
            "cohort": jsonable(self.cohort),
            "n_cases": self.n_cases,
            "n_events": self.n_events,
            "stages": list(self.stages),
            "stage_source": self.stage_source,
            "nonlinearity": jsonable(self.nonlinearity),
            "simplified": jsonable(self.simplified),
            "nodes": records(self.nodes),
            "edges": records(self.edges),
            "start_activities": records(self.start_activities),
            "end_activities": records(self.end_activities),
        }

    # -- simplification --------------------------------------------------------------------
    def simplify(self, *, activities: float | int = 1.0, paths: float = 1.0) -> JourneyMap:
        """A simpler map: the most frequent activities and paths, still connected.

        Like Disco's two sliders. ``activities`` keeps that share (a float in (0, 1]) or
        number (an int) of the activities reached by the most accounts; the journeys are
        then *projected* on them (events of other activities are removed and the
        directly-follows steps recomputed, so a → x → b becomes a → b), which keeps every
        figure on the map true of the data. ``paths`` keeps that share (0 to 1) of the
        remaining steps, most frequent first, on top of a backbone that keeps every kept
        activity reachable from the start and able to reach an end: for each activity,
        the path from the start with the largest minimum frequency, and the same towards
        the end. ``paths=0`` leaves the backbone only.

        Returns
        -------
        JourneyMap
            With ``simplified`` set (the settings, and ``accounts_without_kept_activities``:
        accounts none of whose activities was kept, which the projected map no longer
        counts in ``n_cases``; shares stay shares of all the original accounts). Its start
        and end activities are the drawn ones.

        Examples
        --------
        >>> import journeymine as jm
        >>> m = jm.journey_map(jm.datasets.demo_b2b(n_accounts=300, random_state=0))
        >>> s = m.simplify(activities=0.5, paths=0.2)
        >>> len(s.nodes), len(s.edges) < len(m.edges)
        (13, True)
        """
        owner = "JourneyMap.simplify"
        n_act = len(self.nodes)
        if isinstance(activities, bool) or not isinstance(activities, (int, float)):
            raise invalid("activities", owner, "a float in (0, 1] or an int >= 1", activities)
        if isinstance(activities, int):
            if activities < 1:
                raise invalid("activities", owner, "a float in (0, 1] or an int >= 1", activities)
            keep_n = min(activities, n_act)
        else:
            if not 0 < activities <= 1:
                raise invalid("activities", owner, "a float in (0, 1] or an int >= 1", activities)
            keep_n = max(1, math.ceil(activities * n_act))
        if isinstance(paths, bool) or not isinstance(paths, (int, float)) or not 0 <= paths <= 1:
            raise invalid("paths", owner, "a float in [0, 1]", paths)
        base = self
        if keep_n < n_act:
            if self._origin is None:
                raise invalid(
                    "activities", owner, "1.0 for a map that was not built by journey_map", activities
                )
            ranked = self.nodes.sort_values(["cases", "events", "activity"], ascending=[False, False, True])
            kept = list(ranked["activity"][:keep_n])
            base = _projected(self._origin, kept)
            # shares stay shares of all the map's accounts, not only of those that touched
            # a kept activity (which would inflate them)
            nodes = base.nodes.assign(share=base.nodes["cases"] / self.n_cases)
            edges = base.edges.assign(share=base.edges["cases"] / self.n_cases)
            base = replace(base, nodes=nodes, edges=edges)
        out = _filter_paths(base, float(paths))
        return replace(
            out,
            simplified={
                "activities": float(activities) if isinstance(activities, float) else int(activities),
                "paths": float(paths),
                "accounts_without_kept_activities": self.n_cases - base.n_cases,
            },
        )

    # -- display ---------------------------------------------------------------------------
    def draw(
        self,
        *,
        labels: LabelMode = "frequency",
        time: TimeStat = "median",
        positions: Mapping[str, tuple[float, float]] | None = None,
        all_activities: Sequence[str] | None = None,
    ) -> Drawing:
        """Draw the map (Graphviz); the result shows in a notebook and saves to a file.

        Parameters
        ----------
        labels : {"frequency", "time", "both"}
            Edge labels: step counts, the ``time`` statistic, or both.
        time : {"median", "mean", "p90", "min", "max"}
            Which duration statistic time labels show.
        positions : mapping, optional
            Fixed node positions in points (as :meth:`JourneyMaps.positions` gives), so
            several maps share one layout.
        all_activities : sequence of str, optional
            Activities to draw as faded placeholders when this map lacks them.

        Examples
        --------
        >>> import journeymine as jm
        >>> m = jm.journey_map(jm.datasets.demo_b2b(n_accounts=100, random_state=0))
        >>> d = m.draw(labels="time")
        >>> d.svg.startswith("<svg")
        True
        """
        source = map_dot(self, labels=labels, time=time, positions=positions, all_activities=all_activities)
        return Drawing(source, fixed=positions is not None)

    def to_dot(self, **options: Any) -> str:
        """The Graphviz DOT text of :meth:`draw` with the same options."""
        return self.draw(**options).source

    def save(self, path: Any, **options: Any) -> Any:
        """Draw the map and write it (.svg, .png, .pdf or .dot by suffix); returns the path."""
        inputs = self._origin.log._inputs if self._origin is not None else ()
        return self.draw(**options).save(path, _inputs=inputs, _owner="JourneyMap.save")

    def explore(self, path: Any = None) -> Explorer:
        """The interactive explorer of this map's accounts (:func:`explore`), opened at the
        map's own simplification; also written to ``path`` when given.

        Examples
        --------
        >>> import journeymine as jm
        >>> m = jm.journey_map(jm.datasets.demo_b2b(n_accounts=60), by="segment")["SMB"]
        >>> m.simplify(activities=8, paths=0.2).explore()
        <Explorer: 27 accounts, 195 events; ... kB of HTML; .save(path)>
        """
        from ._explore import explore_map  # the explorer sits above the maps (pyproject layers)

        return explore_map(self, path=path)

    _display_kind: ClassVar[str] = "map"

    def _drawing_svg(self) -> str:
        return self.draw().svg

    def _title(self) -> str:
        name = "All accounts" if self.cohort in (None, ALL) else str(self.cohort)
        back = self.nonlinearity.get("backstep_share", 0.0)
        note = " (simplified)" if self.simplified else ""
        return f"{name}{note}: {self.n_cases:,} accounts, {self.n_events:,} events; {back:.0%} step back"

    def __repr__(self) -> str:
        name = "" if self.cohort in (None, ALL) else f" {self.cohort!r}"
        return (
            f"<JourneyMap{name}: {self.n_cases:,} accounts, {self.n_events:,} events, "
            f"{len(self.nodes)} activities, {len(self.edges)} paths; "
            f"{self.nonlinearity.get('backstep_share', 0.0):.0%} of accounts step back>"
        )


def _projected(origin: _Origin, kept: list[str]) -> JourneyMap:
    log = origin.cases()
    events = log.to_polars("events").filter(pl.col("activity").is_in(pl.Series(kept).implode()))
    sub = log._with(events)
    stages = StageAssignment(
        order=origin.stages.order,
        source=origin.stages.source,
        activity_stage={a: origin.stages.activity_stage[a] for a in kept},
        activity_position={a: origin.stages.activity_position[a] for a in kept},
    )
    maps = _build(sub, None, stages=stages)
    return replace(maps[ALL], cohort=origin.cohort, _origin=origin)


def _widest_tree(adj: dict[str, list[tuple[str, int]]], root: str) -> set[tuple[str, str]]:
    """Edges of the maximum-bottleneck (widest) paths from ``root`` to every node."""
    best: dict[str, float] = {root: math.inf}
    parent: dict[str, str] = {}
    heap: list[tuple[float, str]] = [(-math.inf, root)]
    done: set[str] = set()
    while heap:
        neg, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        for nxt, w in sorted(adj.get(node, ())):
            width = min(-neg, w)
            if nxt not in done and width > best.get(nxt, -1):
                best[nxt] = width
                parent[nxt] = node
                heapq.heappush(heap, (-width, nxt))
    return {(p, c) for c, p in parent.items()}


def _filter_paths(jmap: JourneyMap, paths: float) -> JourneyMap:
    """Keep the backbone plus the top ``paths`` share of edges (see JourneyMap.simplify)."""
    e = jmap.edges
    weighted: list[tuple[str, str, int]] = [
        (str(s), str(t), int(c)) for s, t, c in zip(e["source"], e["target"], e["count"], strict=True)
    ]
    st, en = jmap.start_activities, jmap.end_activities
    weighted += [("(start)", str(a), int(c)) for a, c in zip(st["activity"], st["count"], strict=True)]
    weighted += [(str(a), "(end)", int(c)) for a, c in zip(en["activity"], en["count"], strict=True)]
    fwd: dict[str, list[tuple[str, int]]] = {}
    rev: dict[str, list[tuple[str, int]]] = {}
    for s, t, w in weighted:
        if s != t:
            fwd.setdefault(s, []).append((t, w))
            rev.setdefault(t, []).append((s, w))
    keep = _widest_tree(fwd, "(start)") | {(s, t) for t, s in _widest_tree(rev, "(end)")}
    ranked = sorted(weighted, key=lambda x: (-x[2], x[0], x[1]))
    keep |= {(s, t) for s, t, _ in ranked[: math.ceil(paths * len(ranked))]}
    mask = [(s, t) in keep for s, t in zip(e["source"], e["target"], strict=True)]
    # .loc: an empty list of flags (a map with no steps) selects no rows, not no columns
    starts = st.loc[[("(start)", a) in keep for a in st["activity"]]]
    ends = en.loc[[(a, "(end)") in keep for a in en["activity"]]]
    return replace(
        jmap,
        edges=e.loc[mask].reset_index(drop=True),
        start_activities=starts.reset_index(drop=True),
        end_activities=ends.reset_index(drop=True),
    )


def union_map(maps: Sequence[JourneyMap]) -> JourneyMap:
    """One map over the union of several maps' nodes and edges (counts added), for layout."""
    import pandas as pd

    nodes = (
        pd.concat([m.nodes for m in maps])
        .groupby("activity", sort=False, as_index=False)
        .agg(
            stage=("stage", "first"),
            position=("position", "first"),
            events=("events", "sum"),
            cases=("cases", "sum"),
            rework_cases=("rework_cases", "sum"),
        )
    )
    total = sum(m.n_cases for m in maps)
    nodes["share"] = nodes["cases"] / max(total, 1)
    nodes = nodes.sort_values(["position", "activity"]).reset_index(drop=True)
    edges = (
        pd.concat([m.edges for m in maps])
        .groupby(["source", "target"], sort=False, as_index=False)
        .agg(
            count=("count", "sum"),
            cases=("cases", "sum"),
            share=("share", "mean"),
            mean=("mean", "mean"),
            median=("median", "mean"),
            p90=("p90", "mean"),
            min=("min", "min"),
            max=("max", "max"),
            self_loop=("self_loop", "first"),
            backstep=("backstep", "first"),
        )
    )

    def ends(attr: str) -> pd.DataFrame:
        t = (
            pd.concat([getattr(m, attr) for m in maps])
            .groupby("activity", sort=False, as_index=False)["count"]
            .sum()
        )
        out: pd.DataFrame = t.sort_values(["count", "activity"], ascending=[False, True])
        return out.reset_index(drop=True)

    return JourneyMap(
        nodes=nodes,
        edges=edges,
        start_activities=ends("start_activities"),
        end_activities=ends("end_activities"),
        n_cases=total,
        n_events=sum(m.n_events for m in maps),
        stages=maps[0].stages if maps else (),
    )


class JourneyMaps(CohortResults[JourneyMap]):
    """Journey maps of several cohorts, computed in one pass; a read-only mapping.

    Keys are cohort keys, largest cohort first (ties by key). Cohorts smaller than
    ``min_cases`` are not mapped: :attr:`excluded` lists them with their sizes.
    Drawings of the cohorts share one layout (:meth:`positions`), so the same station
    sits at the same place in every panel.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per cohort: size, activities, paths and non-linearity figures.
    by : str or tuple of str
        How the cohorts were formed (a function shows as ``"<function name>"``).
    excluded : dict
        Cohorts left out for having fewer than ``min_cases`` accounts, with their sizes.

    Examples
    --------
    >>> import journeymine as jm
    >>> maps = jm.journey_map(jm.datasets.demo_b2b(n_accounts=300, random_state=0), by="segment")
    >>> list(maps)
    ['SMB', 'Mid-market', 'Enterprise']
    >>> maps.summary[["cohort", "n_cases", "backstep_share"]].round(2)
           cohort  n_cases  backstep_share
    0         SMB      136            0.15
    1  Mid-market       98            0.22
    2  Enterprise       66            0.35
    """

    __slots__ = ("_layout",)
    _layout: dict[str, tuple[float, float]]
    _noun = "journey map"
    _items_key = "maps"
    _unit = "accounts"

    def __init__(
        self, maps: Mapping[str, JourneyMap], *, cohorts: Cohorts, excluded: Mapping[str, int]
    ) -> None:
        super().__init__(maps, cohorts=cohorts, excluded=excluded)
        object.__setattr__(self, "_layout", {})

    def to_dataframe(
        self, kind: Literal["edges", "nodes", "start", "end"] = "edges", **options: Any
    ) -> pd.DataFrame:
        """One long table of all cohorts (a ``cohort`` column first); options as
        :meth:`JourneyMap.to_dataframe`."""
        return super().to_dataframe(kind, **options)

    def simplify(self, *, activities: float | int = 1.0, paths: float = 1.0) -> JourneyMaps:
        """Simplify every cohort's map the same way (see :meth:`JourneyMap.simplify`)."""
        maps = {k: m.simplify(activities=activities, paths=paths) for k, m in self._items.items()}
        return JourneyMaps(maps, cohorts=self._cohorts, excluded=self._excluded)

    def positions(self) -> dict[str, tuple[float, float]]:
        """Node positions (points) shared by every cohort's drawing, laid out once."""
        if not self._layout:
            self._layout.update(shared_positions(union_map(list(self._items.values()))))
        return dict(self._layout)

    def draw(self, key: str, **options: Any) -> Drawing:
        """Draw one cohort's map in the shared layout (options as :meth:`JourneyMap.draw`)."""
        every = list(dict.fromkeys(a for m in self._items.values() for a in m.activities))
        return self[key].draw(positions=self.positions(), all_activities=every, **options)

    def _draw(self, key: str) -> str:
        return self.draw(key).svg

    def _summary_columns(self) -> list[str]:
        return list(_SUMMARY_COLUMNS)

    def _empty_columns(self, kind: str = "edges", **options: Any) -> list[str]:
        return list(_COLUMNS.get(kind, []))

    def __repr__(self) -> str:
        keys = ", ".join(repr(k) for k in list(self._items)[:6])
        more = ", …" if len(self._items) > 6 else ""
        ex = f"; {len(self._excluded)} small cohort(s) excluded" if self._excluded else ""
        return f"<JourneyMaps: {len(self._items)} cohorts ({keys}{more}){ex}>"


def _loops(loops: Any, stages: StageAssignment, activities: set[str], owner: str) -> set[tuple[str, str]]:
    """The declared loops as (source activity, target activity) pairs that are back-steps."""
    if loops is None:
        return set()
    pairs = list(loops) if not isinstance(loops, str) else None
    if pairs is None or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
        raise invalid("loops", owner, "a list of (from, to) pairs of stages or activities", loops)
    out: set[tuple[str, str]] = set()
    by_stage: dict[str, list[str]] = {}
    for a, st in stages.activity_stage.items():
        by_stage.setdefault(st, []).append(a)
    rank = {st: i for i, st in enumerate(stages.order)}
    for a, b in pairs:
        srcs = by_stage.get(str(a)) if str(a) in rank else [str(a)] if str(a) in activities else None
        tgts = by_stage.get(str(b)) if str(b) in rank else [str(b)] if str(b) in activities else None
        if not srcs or not tgts:
            bad = a if not srcs else b
            expected = f"pairs of stages ({list(stages.order)}) or activities of the log"
            raise invalid("loops", owner, expected, bad)
        out.update((x, y) for x in srcs for y in tgts)
    return out


def _loop_counts(
    log: JourneyLog, cohorts: Cohorts | None, t: Any, loops: set[tuple[str, str]]
) -> dict[str, tuple[int, int]]:
    """Per cohort: accounts with a back-step that is not a declared loop, and such steps (a
    pass over the events: which accounts took which step is not in the tables)."""
    from ._engine import require_embedded

    require_embedded(log, "journey_map(loops=...)")
    back = {(r["source"], r["target"]) for r in t.edges.filter(pl.col("backstep")).iter_rows(named=True)}
    real = back - loops
    names = cohorts.names if cohorts is not None else (ALL,)
    codes = cohorts.codes if cohorts is not None else pl.Series("cohort", [0] * log.n_cases, dtype=pl.UInt32)
    cohort = pl.lit(pl.Series(names, dtype=pl.String)).gather(codes).alias("cohort")
    cases = log.to_polars("cases").select("case", cohort)
    steps = (
        log.to_polars("events")
        .select("case", "activity", "timestamp", "row")
        .sort("case", "timestamp", "row")
        .with_columns(pl.col("activity").shift(-1).over("case").alias("next"))
        .filter(pl.col("next").is_not_null())
    )
    pairs = pl.DataFrame({"activity": [a for a, _ in real], "next": [b for _, b in real]},
                         schema={"activity": pl.String, "next": pl.String})
    hit = steps.join(pairs, on=["activity", "next"], how="inner").join(cases, on="case", how="left")
    per = hit.group_by("cohort").agg(pl.col("case").n_unique().alias("n"), pl.len().alias("steps"))
    return {c: (int(n), int(k)) for c, n, k in per.iter_rows()}


def _build(
    log: JourneyLog,
    cohorts: Cohorts | None,
    *,
    stages: StageAssignment,
    loops: set[tuple[str, str]] | None = None,
) -> dict[Any, JourneyMap]:
    """Compute the map of every cohort of ``log`` in one pass (declared ``loops``: back-step
    pairs that are not counted as back-steps)."""
    ranks = activity_ranks(log, stages)
    t = journey_tables(log, cohorts, stage_rank=ranks)
    loop_counts = _loop_counts(log, cohorts, t, loops) if loops else None
    order = {a: i for i, a in enumerate(stages.activity_order())}
    parts = {name: {} for name in ("nodes", "edges", "starts", "ends")}  # type: dict[str, dict[Any, pl.DataFrame]]
    for name in parts:
        frame: pl.DataFrame = getattr(t, name)
        for (key,), sub in frame.partition_by("cohort", as_dict=True, maintain_order=True).items():
            parts[name][key] = sub.drop("cohort")
    empty_edges = t.edges.clear().drop("cohort")
    empty_ends = t.starts.clear().drop("cohort")
    out: dict[Any, JourneyMap] = {}
    for row in t.sizes.iter_rows(named=True):
        key, n = row["cohort"], int(row["n_cases"])
        nodes = (
            parts["nodes"][key]
            .with_columns(
                pl.col("activity")
                .replace_strict(stages.activity_stage, return_dtype=pl.String)
                .alias("stage"),
                pl.col("activity")
                .replace_strict(stages.activity_position, return_dtype=pl.Float64)
                .alias("position"),
                (pl.col("cases") / n).alias("share"),
                pl.col("activity").replace_strict(order, return_dtype=pl.Int64).alias("_o"),
            )
            .sort("_o")
            .select("activity", "stage", "position", "events", "cases", "share", "rework_cases")
        )
        edges = (
            parts["edges"]
            .get(key, empty_edges)
            .with_columns((pl.col("cases") / n).alias("share"))
            .select("source", "target", "count", "cases", "share", *_TIME_COLUMNS, "self_loop", "backstep")
        )
        back_cases, back_steps, loop_steps = int(row["backstep_cases"]), int(row["backsteps"]), 0
        if loop_counts is not None:
            keys = pl.Series([f"{a}\x1f{b}" for a, b in sorted(loops or ())], dtype=pl.String)
            is_loop = pl.concat_str(["source", "target"], separator="\x1f").is_in(keys.implode())
            loop_steps = int(edges.filter(pl.col("backstep") & is_loop).get_column("count").sum())
            edges = edges.with_columns((pl.col("backstep") & ~is_loop).alias("backstep"))
            back_cases, back_steps = loop_counts.get(key, (0, 0))
        nonlin = {
            "accounts": n,
            "backstep_accounts": back_cases,
            "backstep_share": back_cases / n,
            "backsteps": back_steps,
            "mean_backsteps": back_steps / n,
            "rework_accounts": int(row["rework_cases"]),
            "rework_share": row["rework_cases"] / n,
            "self_loop_accounts": int(row["self_loop_cases"]),
            "self_loop_share": row["self_loop_cases"] / n,
            **({"loop_steps": loop_steps} if loop_counts is not None else {}),
        }
        out[key] = JourneyMap(
            nodes=nodes.to_pandas(),
            edges=edges.to_pandas(),
            start_activities=parts["starts"].get(key, empty_ends).to_pandas(),
            end_activities=parts["ends"].get(key, empty_ends).to_pandas(),
            n_cases=n,
            n_events=int(row["n_events"]),
            cohort=None if cohorts is None else key,
            stages=stages.order,
            stage_source=stages.source,
            nonlinearity=nonlin,
            _origin=_Origin(log=log, cohorts=cohorts, cohort=None if cohorts is None else key, stages=stages),
        )
    return out


@overload
def journey_map(
    log: JourneyLog,
    *,
    by: None = None,
    min_cases: int = ...,
    stage_order: Sequence[str] | None = ...,
    loops: Sequence[tuple[str, str]] | None = ...,
) -> JourneyMap: ...


@overload
def journey_map(
    log: JourneyLog,
    *,
    by: CohortBy,
    min_cases: int = ...,
    stage_order: Sequence[str] | None = ...,
    loops: Sequence[tuple[str, str]] | None = ...,
) -> JourneyMaps: ...


def journey_map(
    log: JourneyLog,
    *,
    by: CohortBy | None = None,
    min_cases: int = 1,
    stage_order: Sequence[str] | None = None,
    loops: Sequence[tuple[str, str]] | None = None,
) -> JourneyMap | JourneyMaps:
    """Discover the journey map of a log, or of each of its cohorts in one pass.

    Parameters
    ----------
    log : JourneyLog
    by : str, list of str or callable, optional
        Cohorts: a case attribute, several (keys joined with ``" | "``), or a function of
        :attr:`JourneyLog.cases` returning one key per case. Missing values form the
        cohort ``"(missing)"``.
    min_cases : int
        Cohorts with fewer accounts are not mapped; they are listed in
        :attr:`JourneyMaps.excluded` and named in a warning. Period cohorts
        (``by=jm.period("Q")``) are kept in time order, and an empty period is listed
        there with 0 accounts.
    stage_order : sequence of str, optional
        Journey order of the ``stage`` column's values, if the log does not declare one.
        Without a stage column, stages are derived from the activities' typical positions
        (``docs/journeys.md`` has the rule).
    loops : list of (str, str), optional
        Declared loops: (from, to) pairs of stages or activities whose back-steps are part of
        the relationship, not a step back from a decision (e.g. ``[("advocacy",
        "retention")]``: a referral, then usage again; ``[("Churned", "Re-engaged")]``).
        Their edges have ``backstep`` False and they are not counted in ``nonlinearity``'s
        back-steps; ``nonlinearity["loop_steps"]`` counts them.

    Returns
    -------
    JourneyMap or JourneyMaps
        A single map without ``by``; a mapping of cohort key to map with it.

    Raises
    ------
    SchemaError
        ``by`` names a column that is not a case attribute (the message lists them).

    Notes
    -----
    Edge counts, start and end activities equal ``pm4py.discover_dfg`` and the time
    statistics equal ``pm4py.discover_performance_dfg`` on the same events (events are
    ordered by case, timestamp, input row).

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> jm.journey_map(log)
    <JourneyMap: 300 accounts, 2,370 events, 25 activities, 91 paths; 22% of accounts step back>
    >>> maps = jm.journey_map(log, by="segment")
    >>> maps["Enterprise"].n_cases
    66
    """
    owner = "journey_map"
    check_int("min_cases", owner, min_cases, minimum=1)
    require_events(log, owner)
    stages = stage_assignment(log, stage_order)
    declared = _loops(loops, stages, set(log.activities), owner)
    cohorts = resolve(log, by)  # a by function is called here, and only here
    maps = _build(log, cohorts, stages=stages, loops=declared)
    if cohorts is None:
        return maps[ALL]
    sizes = {k: m.n_cases for k, m in maps.items()}
    sizes.update({k: 0 for k in cohorts.names if k not in maps} if cohorts.in_time else {})
    ordered = [(k, sizes[k]) for k in cohorts.order(sizes)]
    kept = {k: maps[k] for k, n in ordered if n >= min_cases}
    excluded = {k: n for k, n in ordered if n < min_cases}
    if excluded:
        listed = ", ".join(f"{k!r} ({n})" for k, n in list(excluded.items())[:10])
        warn(
            f"{len(excluded)} cohort(s) have fewer than min_cases={min_cases} accounts and are not "
            f"mapped: {listed}{' …' if len(excluded) > 10 else ''}. They are listed in .excluded.",
            JourneymineWarning,
        )
    return JourneyMaps(kept, cohorts=cohorts, excluded=excluded)
