"""Subway maps: journeys drawn as metro lines through shared stations.

Gartner describes the B2B buying journey as "an asymmetric subway map", not a funnel. Here
stations are touchpoints (activities) and lines are journeys: the top variants of a log,
the representative journey of each cohort or cluster, the typical path of each
buying-committee role, or journeys given by hand.

This module finds the lines and the overlays (timing, drop-off, channels) and puts the
stations in order; :mod:`journeymine._subway_layout` places them and routes the lines so
that no line runs through a station it does not stop at, :mod:`journeymine._subway_labels`
places the labels without overlaps, and :mod:`journeymine._subway_draw` writes the SVG.
:meth:`SubwayMap.audit` checks the result (:mod:`journeymine._subway_audit`). The SVG is
written directly, with no layout library, and the same input always gives the same bytes.
Every string from user data is escaped for XML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._cohorts import resolve
from ._display import Displayed, escape
from ._params import as_names, check_choice, check_int, invalid
from ._subway_draw import PALETTE, Scene, render
from .errors import MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from ._log import JourneyLog
    from ._stages import StageAssignment

__all__ = ["PALETTE", "SubwayLine", "SubwayMap", "subway_map"]

#: Channel tags: ColorBrewer Dark2 then Set1, distinct from the line colours' saturation.
CHANNEL_PALETTE = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
    "#377eb8",
    "#4daf4a",
)


@dataclass(frozen=True)
class SubwayLine:
    """One line of a subway map: a journey and how many accounts it stands for.

    A plain value (a row of :attr:`SubwayMap.summary`), not a result: it has
    :meth:`to_dict` but no display of its own.

    Examples
    --------
    >>> import journeymine as jm
    >>> line = jm.subway_map(jm.datasets.demo_b2b(n_accounts=200, random_state=0), top=3).lines[0]
    >>> line.name, line.stations, line.accounts, line.share
    ('Journey 1', ('Ad click', 'Website visit'), 5, 0.025)
    >>> line.to_dict()
    {'name': 'Journey 1', 'stations': ['Ad click', 'Website visit'], 'accounts': 5, 'share': 0.025,
     'median_duration': 587886.0, 'kind': 'variant'}
    """

    name: str
    stations: tuple[str, ...]
    accounts: int
    share: float | None = None
    median_duration: float | None = None  # seconds
    kind: str = "given"  # "variant", "cohort", "cluster", "role" or "given"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        from ._jsonsafe import jsonable

        out: dict[str, Any] = jsonable(
            {
                "name": self.name,
                "stations": list(self.stations),
                "accounts": self.accounts,
                "share": self.share,
                "median_duration": self.median_duration,
                "kind": self.kind,
            }
        )
        return out


_LINE_COLUMNS = ["line", "kind", "stations", "accounts", "share", "median_duration"]


@dataclass(frozen=True, eq=False, repr=False)
class SubwayMap(Displayed):
    """A drawn subway map: stations, lines, their layout, and the SVG.

    Attributes
    ----------
    lines : tuple of SubwayLine
        In track order (most accounts first); colours follow this order.
    stations : pandas.DataFrame
        One row per station: ``station``, ``stage``, ``column``, ``row``, ``x``, ``y``
        (SVG pixels), ``lines`` (names of the lines stopping there), ``interchange``,
        ``ends`` (accounts whose journey ends there) and ``dropoff`` (of those, without
        reaching a conversion activity).
    positions : dict
        ``station -> (column, row)``; pass it back as ``positions=`` to pin another map to
        the same layout.
    stages : tuple of str
        The stage bands, left to right.
    left_out : dict
        ``{"lines": [...], "stations": [...]}`` dropped to keep the map readable.
    summary : pandas.DataFrame
        One row per line, in track order: ``line`` (its name), ``kind``, ``stations`` (how
        many), ``accounts``, ``share`` and ``median_duration`` (seconds).

    Examples
    --------
    >>> import journeymine as jm
    >>> sm = jm.subway_map(jm.datasets.demo_b2b(n_accounts=200, random_state=0), top=3)
    >>> sm
    <SubwayMap: 3 lines, 6 stations (2 interchanges), 3 stages>
    >>> sm.summary[["line", "stations", "accounts", "share"]]
            line  stations  accounts  share
    0  Journey 1         2         5  0.025
    1  Journey 2         3         3  0.015
    2  Journey 3         3         3  0.015
    >>> sm.stations[sm.stations["interchange"]]["station"].tolist()  # stations shared by lines
    ['Ad click', 'Website visit']
    >>> sm.svg.startswith("<svg")
    True
    """

    lines: tuple[SubwayLine, ...]
    stations: pd.DataFrame
    positions: dict[str, tuple[int, int]]
    stages: tuple[str, ...]
    left_out: dict[str, list[str]]
    title: str
    svg: str = field(repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per line: its name, kind, number of stations, accounts, share and
        median duration (seconds)."""
        frame = self.to_dataframe("lines")
        return frame.assign(stations=frame["stations"].map(len))

    def to_dataframe(self, kind: Literal["stations", "lines"] = "stations") -> pd.DataFrame:
        """The stations (as :attr:`stations`) or the lines (one row each, ``stations`` a
        tuple of names) as a new DataFrame."""
        import pandas as pd

        check_choice("kind", "SubwayMap.to_dataframe", kind, ("stations", "lines"))
        if kind == "stations":
            return self.stations.copy()
        rows = [(ln.name, ln.kind, ln.stations, ln.accounts, ln.share, ln.median_duration)
                for ln in self.lines]
        return pd.DataFrame(rows, columns=_LINE_COLUMNS)

    def _display_svg(self) -> str:
        return self.svg

    def _repr_svg_(self) -> str:
        return self.svg

    def _display_html(self, svg: str | None) -> str:
        return self.to_html()

    def to_html(self) -> str:
        """An embeddable ``<figure>`` fragment (inline SVG plus a caption), for reports."""
        note = ""
        if self.left_out["lines"] or self.left_out["stations"]:
            parts = []
            if self.left_out["lines"]:
                parts.append(f"{len(self.left_out['lines'])} less frequent line(s)")
            if self.left_out["stations"]:
                parts.append(
                    f"{len(self.left_out['stations'])} rare station(s): "
                    + ", ".join(escape(s) for s in self.left_out["stations"][:8])
                    + (" …" if len(self.left_out["stations"]) > 8 else "")
                )
            note = f" Left out to stay readable: {'; '.join(parts)}."
        return (
            f"<figure class='journeymine-subway'>{self.svg}<figcaption>{escape(self.title)}."
            f"{note}</figcaption></figure>"
        )

    def save(self, path: str | os.PathLike[str], *, scale: float = 1.0) -> Path:
        """Write the map: ``.svg``, ``.png`` (needs cairosvg), or ``.html`` (a fragment)."""
        p = Path(path)
        fmt = p.suffix.lower().lstrip(".")
        check_choice("suffix", "SubwayMap.save", fmt, ("svg", "png", "html"))
        from ._output import write_file

        data = self.svg if fmt == "svg" else self.to_html() if fmt == "html" else self.to_png(scale=scale)
        return write_file(p, data, owner="SubwayMap.save")

    def to_png(self, *, scale: float = 1.0) -> bytes:
        """The map as PNG bytes (rendered by cairosvg)."""
        try:
            import cairosvg
        except (ImportError, OSError) as exc:
            raise MissingDependencyError(
                "PNG output needs cairosvg and the Cairo library: pip install cairosvg "
                "(Cairo comes with Graphviz on Debian/Ubuntu)."
            ) from exc
        out: bytes = cairosvg.svg2png(bytestring=_fixed_size(self.svg).encode("utf-8"), scale=scale)
        return out

    def audit(self) -> pd.DataFrame:
        """What a reader could misread in the drawn map, one row per problem.

        Read from the SVG's markup (docs/subway.md, "Markup"). ``kind`` is
        ``"run-through"`` (a line's step passes over a station other than the two it
        joins), ``"overlap"`` (two texts, a text and a station, a mark or a line's stroke,
        or two stations, intersect) or ``"clipped"`` (outside the ``viewBox``);
        ``element`` and ``other`` name what is involved, and ``x0, y0, x1, y1`` the place
        (SVG units). Text extents are estimated conservatively from the font size and the
        characters (:mod:`journeymine._textsize`). An empty frame means nothing to fix.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
        >>> jm.subway_map(log, top=4, timing=True).audit().empty
        True
        """
        from ._subway_audit import audit_svg

        return audit_svg(self.svg)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe layout and lines (no SVG)."""
        from ._jsonsafe import jsonable, records

        return {
            "title": self.title,
            "stages": list(self.stages),
            "lines": [ln.to_dict() for ln in self.lines],
            "stations": records(self.stations),
            "positions": jsonable(self.positions),
            "left_out": jsonable(self.left_out),
        }

    def __repr__(self) -> str:
        inter = int(self.stations["interchange"].sum())
        return (
            f"<SubwayMap: {_count(len(self.lines), 'line')}, {_count(len(self.stations), 'station')} "
            f"({_count(inter, 'interchange')}), {_count(len(self.stages), 'stage')}>"
        )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------------------------------
# lines from the supported sources
# ------------------------------------------------------------------------------------------
def _levenshtein_pairs(seqs: Sequence[Sequence[int]]) -> np.ndarray:
    """The edit distances of all pairs of ``seqs`` (n × n, as floats), the same integers as
    the textbook cell-by-cell dynamic programme pair by pair (kept in tests/test_subway.py
    as the reference).

    rapidfuzz computes them on the token sequences in C++ (Hyyrö's bit-parallel algorithm,
    64 cells a word). A numpy programme over all pairs at once took 4 s for one cluster of
    BPI Challenge 2019 (60 candidates up to 797 events long); rapidfuzz takes 3 ms.
    """
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    n = len(seqs)
    if n < 2:
        return np.zeros((n, n))
    lists = [list(q) for q in seqs]
    dist = cdist(lists, lists, scorer=Levenshtein.distance, dtype=np.int64, workers=1)
    out: np.ndarray = dist.astype(float)
    return out


def medoid(variants: Sequence[Sequence[str]], weights: Sequence[int]) -> int:
    """Index of the variant with the least count-weighted edit distance to all others."""
    codes: dict[str, int] = {}
    seqs = [[codes.setdefault(a, len(codes)) for a in v] for v in variants]
    dist = _levenshtein_pairs(seqs)
    cost = dist @ np.asarray(weights, dtype=float)
    return int(np.argmin(cost))  # first minimum: the more frequent variant wins ties


def representative(group: pd.DataFrame, *, min_stations: int = 1, candidates: int = 60) -> int | None:
    """Position (``iloc``) of a cohort's representative journey among its variants.

    ``group`` is the cohort's rows of :func:`journeymine.variants` (most frequent first).
    The representative is the medoid (least count-weighted edit distance to the others) of
    the ``candidates`` most frequent variants at least as long as the cohort's median
    journey (and at least ``min_stations`` long): a journey of typical length, whatever
    its length is, so a cohort of single touches is drawn as one station. None when no
    variant is long enough."""
    column = group["variant"]
    return representative_at(
        group["length"].to_numpy(), group["cases"].to_numpy(), lambda at: list(column.iloc[at]),
        min_stations=min_stations, candidates=candidates,
    )


def gather_lists(lists: pl.Series, at: np.ndarray) -> list[Any]:
    """The lists of ``lists`` at positions ``at``, as Python lists (``variants_at`` of
    :func:`representative_at` on a polars column)."""
    out: list[Any] = lists.gather(at).to_list()
    return out


def representative_at(
    lengths: np.ndarray,
    cases: np.ndarray,
    variants_at: Callable[[np.ndarray], Sequence[Sequence[Any]]],
    *,
    min_stations: int = 1,
    candidates: int = 60,
) -> int | None:
    """:func:`representative` on a cohort's variant ``lengths`` and ``cases`` (most frequent
    first); ``variants_at(positions)`` gives the sequences of those variants (names or
    codes: only equality is compared), so only the candidates are read."""
    typical = max(min_stations, int(np.median(np.repeat(lengths, cases))))
    long_enough = np.flatnonzero(lengths >= typical)[:candidates]
    if not long_enough.size:
        return None
    return int(long_enough[medoid(variants_at(long_enough), list(cases[long_enough]))])


def representative_lines(
    log: JourneyLog, by: Any, *, min_stations: int = 1, candidates: int = 60, only: set[str] | None = None
) -> list[SubwayLine]:
    """One line per cohort: its representative journey (:func:`representative`)."""
    from ._variants import variant_table

    cohorts = resolve(log, by)  # once: a by function is not called again below
    # variants as activity codes: names only for the chosen journey of each cohort
    v = variant_table(log, by=cohorts, examples=0)
    acts = log.activities
    cases = log.cases
    all_keys = cohorts.keys if cohorts is not None else None
    lines = []
    for (name,), group in v.partition_by("cohort", as_dict=True, maintain_order=True).items():
        key = "All accounts" if cohorts is None else name
        if only is not None and str(key) not in only:
            continue
        seqs = group.get_column("variant")
        n_cases = group.get_column("cases").to_numpy()
        best = representative_at(
            group.get_column("length").to_numpy(), n_cases, partial(gather_lists, seqs),
            min_stations=min_stations, candidates=candidates,
        )
        if best is None:
            continue
        total = int(n_cases.sum())
        keys = (all_keys == key) if all_keys is not None else np.ones(len(cases), bool)
        dur = (cases["end"] - cases["start"])[keys].dt.total_seconds()
        lines.append(
            SubwayLine(
                name=str(key),
                stations=tuple(acts[i] for i in seqs[best].to_list()),
                accounts=total,
                share=total / log.n_cases,
                median_duration=float(dur.median()),
                kind="cohort",
            )
        )
    if cohorts is not None and cohorts.in_time:  # periods stay in time order
        return sorted(lines, key=lambda ln: cohorts.names.index(ln.name))
    return sorted(lines, key=lambda ln: (-ln.accounts, ln.name))


def role_lines(log: JourneyLog, owner: str) -> list[SubwayLine]:
    """One line per buying-committee role: its representative path (:func:`representative`
    over the role's paths, :mod:`journeymine._role_paths`), at any length, weighted by
    accounts; ``accounts`` are the accounts where the role made a touch."""
    from ._role_paths import role_paths

    paths, engaged = role_paths(log, f'{owner}(lines="roles")')
    lines = []
    for role, group in paths.groupby("role", sort=True):
        best = representative(group, min_stations=1)
        if best is None:  # pragma: no cover - with min_stations=1 every path is long enough
            continue
        lines.append(
            SubwayLine(
                name=str(role),
                stations=tuple(group["variant"].iloc[best]),
                accounts=engaged[str(role)],
                share=engaged[str(role)] / log.n_cases,
                kind="role",
            )
        )
    return sorted(lines, key=lambda ln: (-ln.accounts, ln.name))


def variant_lines(log: JourneyLog, *, top: int, min_stations: int) -> list[SubwayLine]:
    """The ``top`` most frequent variants with at least ``min_stations`` stations."""
    from ._variants import variants

    v = variants(log, examples=0)
    v = v[v["length"] >= min_stations].head(top)
    return [
        SubwayLine(
            name=f"Journey {i + 1}",
            stations=tuple(r["variant"]),
            accounts=int(r["cases"]),
            share=float(r["share"]),
            median_duration=float(r["median_duration"]),
            kind="variant",
        )
        for i, r in enumerate(v.to_dict("records"))
    ]


# ------------------------------------------------------------------------------------------
# the public function
# ------------------------------------------------------------------------------------------
def subway_map(
    source: Any,
    *,
    lines: Mapping[str, str | Sequence[str]] | Literal["roles"] | None = None,
    top: int = 6,
    stations: str | Sequence[str] | None = None,
    positions: Mapping[str, tuple[int, int]] | None = None,
    conversion: str | Sequence[str] | None = None,
    timing: bool = False,
    dropoff: bool = False,
    channels: bool = False,
    scores: Any = None,
    min_stations: int = 2,
    max_stations: int = 40,
    max_lines: int = 12,
    title: str | None = None,
) -> SubwayMap:
    """Draw journeys as metro lines through shared stations.

    Parameters
    ----------
    source : JourneyLog, JourneyMap, JourneyMaps or JourneyClusterer
        Where the lines come from: the ``top`` variants of a log or of a map's accounts;
        the representative journey of each cohort of a :class:`JourneyMaps` (the medoid
        of its most frequent variants by edit distance, weighted by accounts); the
        representative journey of each cluster of a fitted clusterer (anything with
        ``representatives_``).
    lines : mapping of str to sequence of str, or "roles", optional
        Journeys given by hand (name → stations), drawn instead of the above; the source
        still gives the stages, timing and drop-off. ``"roles"`` draws one line per
        buying-committee role (the log needs a mapped ``role`` column): the typical path
        of the touches that role's contacts make. A role's path in an account is the
        sequence of activities of its events whose role it is, consecutive repeats
        collapsed; its line is the representative of those paths (the rule of cohort
        lines, weighted by accounts), at any length, so a role whose typical path is one
        touch is a short bar inside that station, named in the notes. Its legend gives the
        accounts the role made a touch in. The source is then a log or a single map (its
        accounts), not a :class:`JourneyMaps` or a clusterer; the events must be in memory
        (not on Spark).
    top : int
        How many variants to draw for a log or a single map.
    stations : sequence of str, optional
        The stations to show, in this order left to right; lines are projected onto them.
    positions : mapping, optional
        ``station -> (column, row)`` from another map's :attr:`SubwayMap.positions`, so
        that the same station sits at the same place (every station must be in it).
    conversion : sequence of str, optional
        Activities that count as converting, for the drop-off overlay.
    timing : bool
        Label each step with the median time between the two stations (over all the
        source's accounts that take that step).
    dropoff : bool
        Under each station, the accounts whose journey ends there without converting.
    channels : bool
        A coloured tag at each station for the channel most of its events came through
        (needs a mapped ``channel`` column), with a channel legend.
    scores : Voice, optional
        The voice of the customer along the lines (:func:`voice`): a tag at each station
        coloured by the responses given after it (NPS below 0, 0 to 30, above 30; for other
        scales the band of the mean score), with the figure and the number of responses in
        its tooltip; stations with fewer than 5 responses have none. Instead of
        ``channels`` (one tag per station).
    min_stations : int
        Top variants with fewer stations are not drawn as lines (single touches are not
        journeys). A cohort's or cluster's line is its representative journey whatever
        its length, so a cohort of single touches is drawn as one station.
    max_stations, max_lines : int
        Above these, the map keeps the most frequent lines and the stations visited by the
        most accounts, and says what it left out (:attr:`SubwayMap.left_out` and caption).
    title : str, optional

    Returns
    -------
    SubwayMap

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=500, random_state=0)
    >>> sm = jm.subway_map(jm.journey_map(log, by="segment"))
    >>> [ln.name for ln in sm.lines]
    ['SMB', 'Mid-market', 'Enterprise']
    >>> sm.svg.startswith("<svg")
    True

    One line per buying-committee role (Procurement joins to sign the contract):

    >>> roles = jm.subway_map(log, lines="roles")
    >>> {ln.name: ln.stations for ln in roles.lines}["Procurement"]
    ('Contract signed',)
    >>> roles.summary[["line", "kind", "accounts"]].head(2)
           line  kind  accounts
    0  Champion  role       453
    1      User  role       153
    """
    owner = "subway_map"
    check_int("top", owner, top, minimum=1)
    check_int("min_stations", owner, min_stations, minimum=1)
    check_int("max_stations", owner, max_stations, minimum=2)
    check_int("max_lines", owner, max_lines, minimum=1)
    if stations is not None:
        stations = as_names(stations, "stations", owner, what="activities")
    if conversion is not None:
        conversion = as_names(conversion, "conversion", owner, what="activities")
    if lines is not None and not (lines == "roles" if isinstance(lines, str) else isinstance(lines, Mapping)):
        raise invalid("lines", owner, "a mapping of line name to a sequence of stations, or 'roles'", lines)
    if scores is not None and not hasattr(scores, "by_station"):
        raise invalid("scores", owner, "the result of jm.voice(...)", type(scores).__name__)
    if scores is not None and channels:
        raise invalid("scores", owner, "given without channels=True (each station has one tag)", "scores")
    log, by = _source_log(source, owner)
    drawn = _source_lines(source, log, by, lines=lines, top=top, min_stations=min_stations, owner=owner)
    return _draw(
        log,
        drawn,
        stations=stations,
        positions=positions,
        conversion=conversion,
        timing=timing,
        dropoff=dropoff,
        channels=channels,
        scores=scores,
        max_stations=max_stations,
        max_lines=max_lines,
        title=title,
    )


#: the voice tags' colours: below, around and above (Okabe–Ito vermilion, orange, green)
_VOICE_COLOURS = ("#D55E00", "#E69F00", "#009E73")
_MIN_VOICE_RESPONSES = 5


def _voice_tags(
    scores: Any, order: Sequence[str]
) -> tuple[dict[str, str], dict[str, str], dict[str, str], str]:
    """Per station with enough responses: its tag's category and tooltip, the categories'
    colours, and the legend title."""
    table = scores.by_station().set_index("station")
    if scores.scale == "nps":
        cats = ("NPS below 0", "NPS 0 to 30", "NPS above 30")
        title = "Voice (NPS after the station)"
    else:
        low, high = float(scores.low), float(scores.high)
        cats = ("low mean score", "mid mean score", "high mean score")
        title = f"Voice (mean score after the station, {low:g}-{high:g})"
    of, tip = {}, {}
    for s in order:
        if s not in table.index or int(table.loc[s, "responses"]) < _MIN_VOICE_RESPONSES:
            continue
        n = int(table.loc[s, "responses"])
        if scores.scale == "nps":
            v = float(table.loc[s, "nps"])
            of[s] = cats[0] if v < 0 else cats[1] if v <= 30 else cats[2]
            tip[s] = f"{s}: NPS {v:+.0f} from {n:,} responses after it"
        else:
            m = float(table.loc[s, "mean_score"])
            third = (high - low) / 3
            of[s] = cats[0] if m < low + third else cats[1] if m < low + 2 * third else cats[2]
            tip[s] = f"{s}: mean score {m:.1f} from {n:,} responses after it"
    colours = {c: _VOICE_COLOURS[i] for i, c in enumerate(cats) if c in set(of.values())}
    return of, tip, colours, title


def _source_log(source: Any, owner: str) -> tuple[JourneyLog, Any]:
    """The log behind ``source`` (for a single cohort's map, that cohort's accounts), and
    the cohorts ``by`` of a :class:`JourneyMaps`."""
    from ._journeymap import JourneyMap, JourneyMaps
    from ._log import JourneyLog

    log: JourneyLog
    by: Any = None
    if isinstance(source, JourneyLog):
        log = source
    elif isinstance(source, (JourneyMap, JourneyMaps)):
        first = source if isinstance(source, JourneyMap) else next(iter(source.values()), None)
        origin = getattr(first, "_origin", None)
        if origin is None:
            raise invalid("source", owner, "a map built by jm.journey_map", type(source).__name__)
        log = origin.log
        if isinstance(source, JourneyMaps):
            by = origin.cohorts  # resolved by journey_map: by is not called again
        else:
            log = origin.cases()
    elif hasattr(source, "representatives_") and hasattr(source, "_subway_source"):
        log = source._subway_source()
    else:
        raise invalid(
            "source",
            owner,
            "a JourneyLog, JourneyMap, JourneyMaps or fitted JourneyClusterer",
            type(source).__name__,
        )
    return log, by


def _source_lines(
    source: Any,
    log: JourneyLog,
    by: Any,
    *,
    lines: Mapping[str, str | Sequence[str]] | str | None,
    top: int,
    min_stations: int,
    owner: str,
) -> list[SubwayLine]:
    """The lines to draw: each role's typical path, given by hand, a clusterer's
    representatives, each cohort's representative journey, or the top variants."""
    from ._journeymap import JourneyMaps

    if isinstance(lines, str):  # "roles", as subway_map checked
        if isinstance(source, JourneyMaps) or hasattr(source, "representatives_"):
            raise invalid(
                "source",
                f'{owner}(lines="roles")',
                "a JourneyLog or a single JourneyMap (one set of accounts, say maps['SMB']), "
                "since role lines replace the cohorts' or clusters' lines",
                type(source).__name__,
            )
        drawn = role_lines(log, owner)
    elif isinstance(lines, Mapping):
        drawn = [
            SubwayLine(name=str(k), stations=tuple(as_names(v, "lines", owner, what="stations")), accounts=0)
            for k, v in lines.items()
        ]
    elif hasattr(source, "representatives_") and hasattr(source, "_subway_lines"):
        drawn = source._subway_lines()  # the journeys of representatives_
    elif isinstance(source, JourneyMaps):
        drawn = representative_lines(log, by, only={str(k) for k in source})
    else:
        drawn = variant_lines(log, top=top, min_stations=min_stations)
    if not drawn:
        raise invalid(
            "min_stations",
            owner,
            f"at most the longest journey's length; no journey has {min_stations} or more stations",
            min_stations,
        )
    return drawn


def _draw(
    log: JourneyLog,
    drawn: list[SubwayLine],
    *,
    stations: Sequence[str] | None,
    positions: Mapping[str, tuple[int, int]] | None,
    conversion: Sequence[str] | None,
    timing: bool,
    dropoff: bool,
    channels: bool,
    max_stations: int,
    max_lines: int,
    title: str | None,
    scores: Any = None,
) -> SubwayMap:
    from ._stages import stage_assignment

    stages = stage_assignment(log)
    left_lines = [ln.name for ln in drawn[max_lines:]]
    drawn = drawn[:max_lines]
    _check_known(drawn, set(stages.activity_stage))
    drawn, order = _stations_in_order(drawn, stages, stations)
    drawn, order, left_stations = _keep_busiest(drawn, order, max_stations)
    drawn = [ln for ln in drawn if ln.stations]
    home, col, row = _grid(drawn, order, positions)
    step_median = _step_medians(log, drawn, col) if timing else {}
    ends, drops = _ends(log, conversion)
    channel_of = _main_channels(log, order) if channels else {}
    channel_names = sorted({channel_of[s] for s in order if s in channel_of})
    channel_colour = {c: CHANNEL_PALETTE[i % len(CHANNEL_PALETTE)] for i, c in enumerate(channel_names)}
    tag_tip: dict[str, str] = {}
    tag_title = "Main channel"
    if scores is not None:
        channel_of, tag_tip, channel_colour, tag_title = _voice_tags(scores, order)
    title_text = title or _default_title(drawn)
    shown, note = _dropoff(order, ends, drops, conversion) if dropoff else ({}, None)
    scene = Scene(
        title=title_text,
        order=order,
        col=col,
        row=row,
        lines=drawn,
        home=home,
        stage_of=stages.activity_stage,
        stage_order=list(stages.order),
        timing=step_median,
        dropoff=shown,
        dropoff_note=note,
        info=_station_info(order, drawn, stages.activity_stage, ends, drops, conversion),
        channel_of=channel_of,
        channel_colour=channel_colour,
        tag_title=tag_title,
        tag_tip=tag_tip,
    )
    svg, centres = render(scene)
    return SubwayMap(
        lines=tuple(drawn),
        stations=_station_frame(scene, centres, ends, drops),
        positions={s: (col[s], row[s]) for s in order},
        stages=tuple(st for st in stages.order if any(stages.activity_stage[s] == st for s in order)),
        left_out={"lines": left_lines, "stations": left_stations},
        title=title_text,
        svg=svg,
    )


def _check_known(drawn: list[SubwayLine], known: set[str]) -> None:
    """Raise when a line goes through an activity the log does not have."""
    unknown = sorted({s for ln in drawn for s in ln.stations} - known)
    if unknown:
        raise invalid(
            "lines",
            "subway_map",
            f"journeys through activities of the log; unknown: {unknown[:8]}",
            unknown[:3],
        )


def _stations_in_order(
    drawn: list[SubwayLine], stages: StageAssignment, stations: Sequence[str] | None
) -> tuple[list[SubwayLine], list[str]]:
    """The stations left to right: ``stations`` (the lines projected onto them), else the
    activities the lines visit in stage order."""
    if stations is not None:
        keep = list(dict.fromkeys(s for s in stations if s in stages.activity_stage))
        return [_project(ln, set(keep)) for ln in drawn], keep
    return drawn, [a for a in stages.activity_order() if any(a in ln.stations for ln in drawn)]


def _keep_busiest(
    drawn: list[SubwayLine], order: list[str], max_stations: int
) -> tuple[list[SubwayLine], list[str], list[str]]:
    """At most ``max_stations`` stations, those visited by the most accounts, the lines
    projected onto them; and the stations left out."""
    if len(order) <= max_stations:
        return drawn, order, []
    weight = {s: sum(max(ln.accounts, 1) for ln in drawn if s in ln.stations) for s in order}
    ranked = sorted(order, key=lambda s: (-weight[s], order.index(s)))
    kept = set(ranked[:max_stations])
    left_stations = [s for s in order if s not in kept]
    return [_project(ln, kept) for ln in drawn], [s for s in order if s in kept], left_stations


def _grid(
    drawn: list[SubwayLine], order: list[str], positions: Mapping[str, tuple[int, int]] | None
) -> tuple[list[int], dict[str, int], dict[str, int]]:
    """Each line's home row, and each station's column and row: from ``positions``, else
    in order left to right, on the median home row of the lines that stop there."""
    if positions is not None:
        missing = [s for s in order if s not in positions]
        if missing:
            raise invalid(
                "positions",
                "subway_map",
                f"a position for every station; missing {missing[:8]} (build the reference map "
                "over all cohorts, or pass stations=)",
                sorted(positions)[:3],
            )
    # line 0 on row 0, then alternately below and above: 0, 1, -1, 2, -2, …
    home = [-((i + 1) // 2 * (1 if i % 2 == 0 else -1)) for i in range(len(drawn))]
    if positions is not None:
        col = {s: int(positions[s][0]) for s in order}
        row = {s: int(positions[s][1]) for s in order}
    else:
        col = {s: i for i, s in enumerate(order)}
        row = {s: _median_row([home[i] for i, ln in enumerate(drawn) if s in ln.stations]) for s in order}
    return home, col, row


def _step_medians(
    log: JourneyLog, drawn: list[SubwayLine], col: dict[str, int]
) -> dict[tuple[str, str], float]:
    """The median time of each forward step the lines take, from the source's map."""
    from ._journeymap import JourneyMap, journey_map

    whole = journey_map(log)
    e = whole.edges if isinstance(whole, JourneyMap) else None
    if e is None:
        return {}
    taken = {(a, b) for ln in drawn for a, b in zip(ln.stations, ln.stations[1:], strict=False)}
    return {
        (s, t): float(v)
        for s, t, v in zip(e["source"], e["target"], e["median"], strict=True)
        if (s, t) in taken and s != t and col[t] > col[s]
    }


def _dropoff(
    order: list[str], ends: dict[str, int], drops: dict[str, int], conversion: Sequence[str] | None
) -> tuple[dict[str, int], str]:
    """The count under each station (journeys ending there, without converting when
    ``conversion`` is given) and the caption that says so."""
    shown = {s: (drops.get(s, 0) if conversion else ends.get(s, 0)) for s in order}
    note = "n: journeys that end at the station"
    if conversion:
        note += f" without reaching {', '.join(conversion)}"
    return shown, note + "."


def _station_info(
    order: list[str],
    drawn: list[SubwayLine],
    stage_of: Mapping[str, str],
    ends: dict[str, int],
    drops: dict[str, int],
    conversion: Sequence[str] | None,
) -> dict[str, str]:
    """Each station's tooltip: stage, lines, and the journeys ending there."""
    info = {}
    for s in order:
        on = [ln.name for ln in drawn if s in ln.stations]
        text = f"{s}\nstage: {stage_of[s]}\nlines: {', '.join(on) or '–'}"
        if s in ends:
            text += f"\njourneys ending here: {ends[s]:,}"
            if conversion:
                text += f" ({drops.get(s, 0):,} without converting)"
        info[s] = text
    return info


def _station_frame(
    scene: Scene, centres: Mapping[str, tuple[float, float]], ends: dict[str, int], drops: dict[str, int]
) -> pd.DataFrame:
    """:attr:`SubwayMap.stations`: one row per station, where it is drawn and what stops there."""
    import pandas as pd

    drawn, col, row = scene.lines, scene.col, scene.row
    station_rows = [
        {
            "station": s,
            "stage": scene.stage_of[s],
            "column": col[s],
            "row": row[s],
            "x": centres[s][0],
            "y": centres[s][1],
            "lines": tuple(ln.name for ln in drawn if s in ln.stations),
            "interchange": sum(s in ln.stations for ln in drawn) > 1,
            "ends": int(ends.get(s, 0)),
            "dropoff": int(drops.get(s, 0)),
            "channel": scene.channel_of.get(s),
        }
        for s in scene.order
    ]
    return pd.DataFrame(
        station_rows,
        columns=[
            "station",
            "stage",
            "column",
            "row",
            "x",
            "y",
            "lines",
            "interchange",
            "ends",
            "dropoff",
            "channel",
        ],
    )


def _median_row(rows_here: list[int]) -> int:
    """The median of the home rows of the lines stopping at a station (0 when none); of the
    two middle rows, the one nearer 0 (then the upper one)."""
    rows_here = sorted(rows_here) or [0]
    if len(rows_here) % 2:
        return rows_here[(len(rows_here) - 1) // 2]
    return min(rows_here[len(rows_here) // 2 - 1 : len(rows_here) // 2 + 1], key=lambda r: (abs(r), r))


def _main_channels(log: JourneyLog, order: Sequence[str]) -> dict[str, str]:
    """The channel most of each activity's events came through (ties: the first name)."""
    ev = log.to_polars("events")
    if "channel" not in ev.columns:
        from .errors import SchemaError

        raise SchemaError(
            "subway_map: channels=True needs a channel column; map one when reading the log "
            "(channel='your_column')."
        )
    main_channel = (
        ev.group_by("activity", "channel")
        .len()
        .sort(["activity", "len", "channel"], descending=[False, True, False])
        .group_by("activity", maintain_order=True)
        .first()
    )
    return {str(a): str(c) for a, c in main_channel.select("activity", "channel").iter_rows()}


def _fixed_size(svg: str) -> str:
    """The SVG with its natural size in pixels (from the ``viewBox``) instead of
    ``width="100%"``, for renderers without a container (cairosvg)."""
    head_end = svg.index(">")
    head = svg[:head_end]
    m = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', head)
    if m is None:  # pragma: no cover - every map has a viewBox
        return svg
    head = head.replace('width="100%"', f'width="{m.group(1)}" height="{m.group(2)}"', 1)
    head = re.sub(r' style="[^"]*"', "", head, count=1)
    return head + svg[head_end:]


def _project(line: SubwayLine, keep: set[str]) -> SubwayLine:
    """The line through the kept stations only. A repeat that projection creates (a → x → a
    becoming a → a) is collapsed; a repeat that was in the journey (a → a) stays a loop."""
    out: list[str] = []
    last_index = -2
    for i, s in enumerate(line.stations):
        if s not in keep:
            continue
        if out and out[-1] == s and last_index != i - 1:
            last_index = i
            continue
        out.append(s)
        last_index = i
    return SubwayLine(line.name, tuple(out), line.accounts, line.share, line.median_duration, line.kind)


def _ends(log: JourneyLog, conversion: Sequence[str] | None) -> tuple[dict[str, int], dict[str, int]]:
    """How many journeys end at each activity, of all accounts and of the accounts that
    never reach a conversion activity (from the engine's aggregations)."""
    from ._discovery import journey_tables
    from ._encoding import ALL
    from ._outcomes import outcome_times

    def counts(t: Any, cohort: str) -> dict[str, int]:
        rows = t.ends.filter(t.ends["cohort"] == cohort).select("activity", "count").iter_rows()
        return {a: int(n) for a, n in rows}

    present = set(log.activities)
    known = [a for a in conversion or () if a in present]
    if not known:
        ends = counts(journey_tables(log), ALL)
        return ends, (dict(ends) if conversion else {})
    # one pass split by conversion: the ends of all accounts are the two cohorts' sums
    reached = outcome_times(log, {"c": known}, "subway_map").get_column("c").is_not_null().to_list()
    split = journey_tables(log, by=lambda cases: ["won" if r else "open" for r in reached])
    still_open, won = counts(split, "open"), counts(split, "won")
    return {a: still_open.get(a, 0) + won.get(a, 0) for a in {**won, **still_open}}, still_open


def _default_title(lines: list[SubwayLine]) -> str:
    kinds = {ln.kind for ln in lines}
    if kinds == {"cohort"}:
        return "Representative journey of each cohort"
    if kinds == {"cluster"}:
        return "Representative journey of each cluster"
    if kinds == {"role"}:
        return "Typical path of each buying-committee role"
    if kinds == {"variant"}:
        return f"The {len(lines)} most frequent journeys"
    return "Journeys"
