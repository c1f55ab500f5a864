"""Subway maps: journeys drawn as metro lines through shared stations.

Gartner describes the B2B buying journey as "an asymmetric subway map", not a funnel. Here
stations are touchpoints (activities) and lines are journeys: the top variants of a log,
the representative journey of each cohort or cluster, or journeys given by hand.

Layout (computed here, deterministic; the SVG is written directly, no layout library):

* **x**: one column per station, in journey order (stage, then the activity's typical
  position; see :mod:`journeymine._stages`), so time runs left to right through labelled
  stage bands.
* **y**: lines are ordered by the accounts they stand for; line ``i`` has a home row
  (0, -1, 1, -2, 2, …). A station sits on the median home row of the lines that stop there,
  so shared stations form a trunk and a line's own stations branch off on its row.
* **tracks**: each line keeps one fixed offset from the station centre everywhere, in line
  order, so lines that share stations run side by side and never cross one another.
* **segments** are octilinear: horizontal, then a 45° diagonal, then horizontal. A step to
  an earlier station (a back-step) leaves the station downwards, runs back to the left
  below the trunk with chevrons pointing back, and rises into the earlier station, so a
  journey's non-linearity is seen at a glance. A repeated station is a small loop.

Stations on more than one line are interchanges (a capsule across the lines' tracks with a
heavier outline). Line width grows with the square root of the accounts a line stands for.
Every string from user data is escaped for XML.
"""

from __future__ import annotations

import html
import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._format import duration
from ._params import as_names, check_choice, check_int, invalid
from .errors import MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd

    from ._log import JourneyLog

__all__ = ["SubwayLine", "SubwayMap", "subway_map"]

#: Okabe–Ito colour-blind-safe palette, then four more distinct hues (12 lines).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#000000",
    "#F0E442",
    "#7F3C8D",
    "#11A579",
    "#A5AA99",
    "#E73F74",
)
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
_COL_W, _ROW_H, _TRACK = 132.0, 92.0, 9.0
_MARGIN_X, _TOP = 70.0, 96.0


@dataclass(frozen=True)
class SubwayLine:
    """One line of a subway map: a journey and how many accounts it stands for."""

    name: str
    stations: tuple[str, ...]
    accounts: int
    share: float | None = None
    median_duration: float | None = None  # seconds
    kind: str = "given"

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


@dataclass(frozen=True, eq=False)
class SubwayMap:
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
    """

    lines: tuple[SubwayLine, ...]
    stations: pd.DataFrame
    positions: dict[str, tuple[int, int]]
    stages: tuple[str, ...]
    left_out: dict[str, list[str]]
    title: str
    svg: str = field(repr=False)

    def _repr_svg_(self) -> str:
        return self.svg

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
                    + ", ".join(html.escape(s) for s in self.left_out["stations"][:8])
                    + (" …" if len(self.left_out["stations"]) > 8 else "")
                )
            note = f" Left out to stay readable: {'; '.join(parts)}."
        return (
            f"<figure class='journeymine-subway'>{self.svg}<figcaption>{html.escape(self.title)}."
            f"{note}</figcaption></figure>"
        )

    def save(self, path: str | os.PathLike[str], *, scale: float = 1.0) -> Path:
        """Write the map: ``.svg``, ``.png`` (needs cairosvg), or ``.html`` (a fragment)."""
        p = Path(path)
        fmt = p.suffix.lower().lstrip(".")
        check_choice("suffix", "SubwayMap.save", fmt, ("svg", "png", "html"))
        if fmt == "svg":
            p.write_text(self.svg, encoding="utf-8")
        elif fmt == "html":
            p.write_text(self.to_html(), encoding="utf-8")
        else:
            p.write_bytes(self.to_png(scale=scale))
        return p

    def to_png(self, *, scale: float = 1.0) -> bytes:
        """The map as PNG bytes (rendered by cairosvg)."""
        try:
            import cairosvg
        except (ImportError, OSError) as exc:
            raise MissingDependencyError(
                "PNG output needs cairosvg and the Cairo library: pip install cairosvg "
                "(Cairo comes with Graphviz on Debian/Ubuntu)."
            ) from exc
        out: bytes = cairosvg.svg2png(bytestring=self.svg.encode("utf-8"), scale=scale)
        return out

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
            f"<SubwayMap: {len(self.lines)} lines, {len(self.stations)} stations "
            f"({inter} interchanges), {len(self.stages)} stages>"
        )


# ------------------------------------------------------------------------------------------
# lines from the supported sources
# ------------------------------------------------------------------------------------------
def _levenshtein(a: Sequence[int], b: Sequence[int]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def medoid(variants: Sequence[Sequence[str]], weights: Sequence[int]) -> int:
    """Index of the variant with the least count-weighted edit distance to all others."""
    codes: dict[str, int] = {}
    seqs = [[codes.setdefault(a, len(codes)) for a in v] for v in variants]
    n = len(seqs)
    dist = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            dist[i, j] = dist[j, i] = _levenshtein(seqs[i], seqs[j])
    cost = dist @ np.asarray(weights, dtype=float)
    return int(np.argmin(cost))  # first minimum: the more frequent variant wins ties


def representative_lines(
    log: JourneyLog, by: Any, *, min_stations: int, candidates: int = 60, only: set[str] | None = None
) -> list[SubwayLine]:
    """One line per cohort: its representative journey.

    That is the medoid (least count-weighted edit distance to the others) of the cohort's
    most frequent variants that are at least as long as its median journey (and at least
    ``min_stations`` long), so that a cohort dominated by single touches is still shown by
    a journey of typical length rather than by a one-stop line."""
    from ._variants import variants

    v = variants(log, by=by, examples=0)
    if by is None:
        v.insert(0, "cohort", "All accounts")
    cases = log.cases
    all_keys = log.cohort_keys(by).to_numpy() if by is not None else None
    lines = []
    for key, group in v.groupby("cohort", sort=False):
        if only is not None and str(key) not in only:
            continue
        total = int(group["cases"].sum())
        lengths = np.repeat(group["length"].to_numpy(), group["cases"].to_numpy())
        typical = max(min_stations, int(np.median(lengths)))
        pool = group[group["length"] >= typical].head(candidates)
        if pool.empty:
            continue
        best = medoid(list(pool["variant"]), list(pool["cases"]))
        keys = (all_keys == key) if all_keys is not None else np.ones(len(cases), bool)
        dur = (cases["end"] - cases["start"])[keys].dt.total_seconds()
        lines.append(
            SubwayLine(
                name=str(key),
                stations=tuple(pool["variant"].iloc[best]),
                accounts=total,
                share=total / log.n_cases,
                median_duration=float(dur.median()),
                kind="cohort",
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
    lines: Mapping[str, str | Sequence[str]] | None = None,
    top: int = 6,
    stations: str | Sequence[str] | None = None,
    positions: Mapping[str, tuple[int, int]] | None = None,
    conversion: str | Sequence[str] | None = None,
    timing: bool = False,
    dropoff: bool = False,
    channels: bool = False,
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
    lines : mapping of str to sequence of str, optional
        Journeys given by hand (name → stations), drawn instead of the above; the source
        still gives the stages, timing and drop-off.
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
    min_stations : int
        Variants with fewer stations are not drawn as lines (single touches are not
        journeys).
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
    """
    from ._journeymap import JourneyMap, JourneyMaps
    from ._log import JourneyLog

    owner = "subway_map"
    check_int("top", owner, top, minimum=1)
    check_int("min_stations", owner, min_stations, minimum=1)
    check_int("max_stations", owner, max_stations, minimum=2)
    check_int("max_lines", owner, max_lines, minimum=1)
    if stations is not None:
        stations = as_names(stations, "stations", owner, what="activities")
    if conversion is not None:
        conversion = as_names(conversion, "conversion", owner, what="activities")
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
            by = origin.by
        elif origin.cohort is not None:
            log = log._subset_cases(log.cohort_keys(origin.by) == str(origin.cohort))
    elif hasattr(source, "representatives_") and hasattr(source, "_subway_source"):
        log = source._subway_source()
    else:
        raise invalid(
            "source",
            owner,
            "a JourneyLog, JourneyMap, JourneyMaps or fitted JourneyClusterer",
            type(source).__name__,
        )

    if lines is not None:
        if isinstance(lines, str) or not isinstance(lines, Mapping):
            raise invalid("lines", owner, "a mapping of line name to a sequence of stations", lines)
        drawn = [
            SubwayLine(name=str(k), stations=tuple(as_names(v, "lines", owner, what="stations")), accounts=0)
            for k, v in lines.items()
        ]
    elif hasattr(source, "representatives_") and hasattr(source, "_subway_lines"):
        drawn = source._subway_lines(min_stations=min_stations)
    elif isinstance(source, JourneyMaps):
        drawn = representative_lines(log, by, min_stations=min_stations, only={str(k) for k in source})
    else:
        drawn = variant_lines(log, top=top, min_stations=min_stations)
    if not drawn:
        raise invalid(
            "min_stations",
            owner,
            f"at most the longest journey's length; no journey has {min_stations} or more stations",
            min_stations,
        )
    return _draw(
        log,
        drawn,
        stations=stations,
        positions=positions,
        conversion=conversion,
        timing=timing,
        dropoff=dropoff,
        channels=channels,
        max_stations=max_stations,
        max_lines=max_lines,
        title=title,
    )


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
) -> SubwayMap:
    import pandas as pd

    from ._journeymap import JourneyMap, journey_map
    from ._stages import stage_assignment

    stages = stage_assignment(log)
    known = set(stages.activity_stage)
    left_lines = [ln.name for ln in drawn[max_lines:]]
    drawn = drawn[:max_lines]
    unknown = sorted({s for ln in drawn for s in ln.stations} - known)
    if unknown:
        raise invalid(
            "lines",
            "subway_map",
            f"journeys through activities of the log; unknown: {unknown[:8]}",
            unknown[:3],
        )
    if stations is not None:
        keep = list(dict.fromkeys(s for s in stations if s in known))
        drawn = [_project(ln, set(keep)) for ln in drawn]
        order = keep
    else:
        order = [a for a in stages.activity_order() if any(a in ln.stations for ln in drawn)]
    left_stations: list[str] = []
    if len(order) > max_stations:
        weight = {s: sum(max(ln.accounts, 1) for ln in drawn if s in ln.stations) for s in order}
        ranked = sorted(order, key=lambda s: (-weight[s], order.index(s)))
        kept = set(ranked[:max_stations])
        left_stations = [s for s in order if s not in kept]
        order = [s for s in order if s in kept]
        drawn = [_project(ln, kept) for ln in drawn]
    drawn = [ln for ln in drawn if ln.stations]
    n_lines = len(drawn)

    # -- layout: columns, home rows, station rows, tracks ------------------------------------
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
    home = [-((i + 1) // 2 * (1 if i % 2 == 0 else -1)) for i in range(n_lines)]
    if positions is not None:
        col = {s: int(positions[s][0]) for s in order}
        row = {s: int(positions[s][1]) for s in order}
    else:
        col = {s: i for i, s in enumerate(order)}
        row = {}
        for s in order:
            rows_here = sorted(home[i] for i, ln in enumerate(drawn) if s in ln.stations) or [0]
            mid = (
                rows_here[(len(rows_here) - 1) // 2]
                if len(rows_here) % 2
                else min(
                    rows_here[len(rows_here) // 2 - 1 : len(rows_here) // 2 + 1], key=lambda r: (abs(r), r)
                )
            )
            row[s] = mid
    max_acc = max([ln.accounts for ln in drawn] + [1])
    widths = [3.0 + 5.0 * math.sqrt(max(ln.accounts, 1) / max_acc) if max_acc > 1 else 5.0 for ln in drawn]
    track = max(_TRACK, max(widths) + 2.0)
    # tracks in the order of the home rows, so that a line branching off to its own row
    # leaves the bundle on its own side and crosses no other line
    slot = {i: k for k, i in enumerate(sorted(range(n_lines), key=lambda i: (home[i], i)))}
    offsets = [(slot[i] - (n_lines - 1) / 2) * track for i in range(n_lines)]
    min_row = min(row.values())
    max_row = max(row.values())
    min_col = min(col.values())
    max_col = max(col.values())

    def X(s: str) -> float:
        return _MARGIN_X + (col[s] - min_col) * _COL_W

    def Y(s: str) -> float:
        return _TOP + (row[s] - min_row) * _ROW_H + (n_lines - 1) / 2 * track

    trunk_bottom = _TOP + (max_row - min_row) * _ROW_H + (n_lines - 1) * track
    back_base = trunk_bottom + 34.0

    # -- overlays: timing from the source's map, ends and drop-off per station ---------------
    step_median: dict[tuple[str, str], float] = {}
    if timing:
        whole = journey_map(log)
        e = whole.edges if isinstance(whole, JourneyMap) else None
        if e is not None:
            step_median = {
                (s, t): float(v) for s, t, v in zip(e["source"], e["target"], e["median"], strict=True)
            }
    ends, drops = _ends(log, conversion)
    channel_of: dict[str, str] = {}
    if channels:
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
        channel_of = {str(a): str(c) for a, c in main_channel.select("activity", "channel").iter_rows()}
    channel_names = sorted({channel_of[s] for s in order if s in channel_of})
    channel_colour = {c: CHANNEL_PALETTE[i % len(CHANNEL_PALETTE)] for i, c in enumerate(channel_names)}

    # -- SVG ------------------------------------------------------------------------------------
    esc = html.escape
    width = 2 * _MARGIN_X + (max_col - min_col) * _COL_W
    any_back = any(
        _is_back(a, b, col) for ln in drawn for a, b in zip(ln.stations, ln.stations[1:], strict=False)
    )
    legend_top = back_base + (n_lines * track + 30.0 if any_back else 10.0) + (18.0 if dropoff else 0.0)
    height = legend_top + 26.0 + 22.0 * n_lines + 16.0
    title_text = title or _default_title(drawn)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
        f'role="img" aria-label="{esc(title_text)}">',
        f"<title>{esc(title_text)}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    # stage bands
    band_cols: dict[str, list[int]] = {}
    for s in order:
        band_cols.setdefault(stages.activity_stage[s], []).append(col[s])
    stage_seq = [st for st in stages.order if st in band_cols]
    for k, st in enumerate(stage_seq):
        x0 = _MARGIN_X + (min(band_cols[st]) - min_col) * _COL_W - _COL_W / 2
        x1 = _MARGIN_X + (max(band_cols[st]) - min_col) * _COL_W + _COL_W / 2
        out.append(
            f'<g class="stage"><rect x="{x0:.1f}" y="44" width="{x1 - x0:.1f}" '
            f'height="{legend_top - 52:.1f}" fill="{"#f1f3f5" if k % 2 == 0 else "#f8f9fa"}"/>'
            f'<text x="{(x0 + x1) / 2:.1f}" y="60" text-anchor="middle" font-size="12" '
            f'font-weight="bold" fill="#868e96" letter-spacing="1">{esc(st.upper())}</text></g>'
        )
    out.append(
        f'<text x="{_MARGIN_X - 40:.0f}" y="26" font-size="16" font-weight="bold" '
        f'fill="#212529">{esc(title_text)}</text>'
    )
    # lines
    timing_at: dict[tuple[str, str], tuple[float, float]] = {}
    for i, ln in enumerate(drawn):
        colour = PALETTE[i % len(PALETTE)]
        off = offsets[i]
        depth = back_base + i * track
        segs: list[str] = []
        chevrons: list[str] = []
        for a, b in zip(ln.stations, ln.stations[1:], strict=False):
            xa, ya, xb, yb = X(a), Y(a) + off, X(b), Y(b) + off
            if a == b:
                segs.append(f"M{xa:.1f},{ya:.1f} c 14,6 14,26 0,26 c -14,0 -14,-20 0,-26")
            elif col[b] > col[a]:
                segs.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in _octilinear(xa, ya, xb, yb)))
                if timing and (a, b) in step_median:
                    mx, my = _midpoint(_octilinear(xa, ya, xb, yb))
                    top = my - widths[i] / 2 - 4
                    if (a, b) not in timing_at or top < timing_at[(a, b)][1]:
                        timing_at[(a, b)] = (mx, top)
            else:
                pts = _backstep(xa, ya, xb, yb, depth)
                segs.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts))
                mid_x = (pts[1][0] + pts[2][0]) / 2
                chevrons.append(
                    f'<path d="M{mid_x + 3:.1f},{depth - 4:.1f} L{mid_x - 3:.1f},{depth:.1f} '
                    f'L{mid_x + 3:.1f},{depth + 4:.1f}" fill="none" stroke="#ffffff" '
                    f'stroke-width="1.6"/>'
                )
        tip = _line_tip(ln)
        out.append(
            f'<g class="line" data-line="{esc(ln.name)}"><title>{esc(tip)}</title>'
            f'<path class="line-path" d="{" ".join(segs)}" fill="none" stroke="{colour}" '
            f'stroke-width="{widths[i]:.1f}" stroke-linecap="round" stroke-linejoin="round" '
            f'stroke-opacity="0.92"/>{"".join(chevrons)}</g>'
        )
    for (a, b), (tx, ty) in sorted(timing_at.items()):
        out.append(_halo_text(tx, ty, duration(step_median[(a, b)]), size=9.5, fill="#495057", cls="timing"))
    # stations
    station_rows = []
    for s in order:
        on = [i for i, ln in enumerate(drawn) if s in ln.stations]
        x, y = X(s), Y(s)
        if on:
            top_y = y + min(offsets[i] - widths[i] / 2 for i in on) - 4
            bot_y = y + max(offsets[i] + widths[i] / 2 for i in on) + 4
        else:
            top_y, bot_y = y - 6, y + 6
        inter = len(on) > 1
        stroke = "#212529" if inter else PALETTE[on[0] % len(PALETTE)] if on else "#adb5bd"
        name_lines = _wrap(s)
        label_y = top_y - 6 - 13 * (len(name_lines) - 1)
        text = "".join(
            f'<tspan x="{x:.1f}" dy="{0 if k == 0 else 13}">{esc(t)}</tspan>'
            for k, t in enumerate(name_lines)
        )
        common = f'x="{x:.1f}" y="{label_y:.1f}" font-size="11.5" text-anchor="middle"'
        info = f"{s}\nstage: {stages.activity_stage[s]}\nlines: {', '.join(drawn[i].name for i in on) or '–'}"
        if s in ends:
            info += f"\njourneys ending here: {ends[s]:,}"
            if conversion:
                info += f" ({drops.get(s, 0):,} without converting)"
        out.append(
            f'<g class="station{" interchange" if inter else ""}" data-station="{esc(s)}">'
            f"<title>{esc(info)}</title>"
            f'<rect x="{x - 8:.1f}" y="{top_y:.1f}" width="16" height="{bot_y - top_y:.1f}" rx="8" '
            f'fill="#ffffff" stroke="{stroke}" stroke-width="{3 if inter else 2.2}"/>'
            f'<text {common} fill="none" stroke="#ffffff" stroke-width="3.5" '
            f'stroke-linejoin="round">{text}</text>'
            f'<text class="label" {common} fill="#212529">{text}</text>'
        )
        if s in channel_of:
            c = channel_of[s]
            out.append(
                f'<rect class="channel" x="{x + 11:.1f}" y="{top_y + 1:.1f}" width="9" height="9" rx="2" '
                f'fill="{channel_colour[c]}"><title>{esc(f"{s}: mostly {c}")}</title></rect>'
            )
        if dropoff and s in ends:
            shown = drops.get(s, 0) if conversion else ends[s]
            if shown:
                out.append(
                    f'<text x="{x:.1f}" y="{bot_y + 13:.1f}" font-size="10" text-anchor="middle" '
                    f'fill="#c92a2a">↘ {shown:,}</text>'
                )
        out.append("</g>")
        station_rows.append(
            {
                "station": s,
                "stage": stages.activity_stage[s],
                "column": col[s],
                "row": row[s],
                "x": x,
                "y": y,
                "lines": tuple(drawn[i].name for i in on),
                "interchange": inter,
                "ends": int(ends.get(s, 0)),
                "dropoff": int(drops.get(s, 0)),
                "channel": channel_of.get(s),
            }
        )
    # legend
    out.append(
        f'<g class="legend"><text x="{_MARGIN_X - 40:.0f}" y="{legend_top + 14:.1f}" font-size="12" '
        f'font-weight="bold" fill="#495057">Lines</text>'
    )
    notes = []
    if timing:
        notes.append("grey figures on the lines: median time between the two stations")
    if dropoff:
        what = f"without reaching {', '.join(conversion)}" if conversion else ""
        notes.append(f"↘ n: journeys that end at the station {what}".rstrip())
    if notes:
        out.append(
            f'<text x="{_MARGIN_X + 20:.0f}" y="{legend_top + 14:.1f}" font-size="10.5" fill="#868e96">'
            f"{esc(' · '.join(notes))}</text>"
        )
    if channel_names:
        cx = width - 20 - 110 * len(channel_names)
        out.append(
            f'<text x="{cx - 12:.0f}" y="{legend_top + 34:.1f}" font-size="11" fill="#495057" '
            'text-anchor="end">Main channel</text>'
        )
        for k, c in enumerate(channel_names):
            out.append(
                f'<rect x="{cx + 110 * k:.0f}" y="{legend_top + 25:.1f}" width="10" height="10" rx="2" '
                f'fill="{channel_colour[c]}"/><text x="{cx + 110 * k + 14:.0f}" y="{legend_top + 34:.1f}" '
                f'font-size="11" fill="#212529">{esc(_clip(c, 14))}</text>'
            )
    for i, ln in enumerate(drawn):
        ly = legend_top + 34 + 22 * i
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<line class="legend-swatch" x1="{_MARGIN_X - 40:.0f}" y1="{ly - 4:.1f}" '
            f'x2="{_MARGIN_X:.0f}" y2="{ly - 4:.1f}" stroke="{colour}" stroke-width="{widths[i]:.1f}" '
            f'stroke-linecap="round"/><text x="{_MARGIN_X + 10:.0f}" y="{ly:.1f}" font-size="12" '
            f'fill="#212529">{esc(_legend_text(ln))}</text>'
        )
    out.append("</g>")
    if any_back:
        out.append(
            f'<text x="{width - 20:.0f}" y="{height - 8:.1f}" font-size="10" text-anchor="end" '
            f'fill="#868e96">A line that dips below the map runs back to an earlier station '
            f"(‹ back-step); a small loop is a repeated station</text>"
        )
    out.append("</svg>")
    station_frame = pd.DataFrame(
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
    return SubwayMap(
        lines=tuple(drawn),
        stations=station_frame,
        positions={s: (col[s], row[s]) for s in order},
        stages=tuple(stage_seq),
        left_out={"lines": left_lines, "stations": left_stations},
        title=title_text,
        svg="".join(out),
    )


def _halo_text(x: float, y: float, text: str, *, size: float, fill: str, cls: str) -> str:
    """Text with a white outline drawn underneath (works where paint-order does not)."""
    t = html.escape(text)
    common = f'x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="middle"'
    return (
        f'<g class="{cls}"><text {common} fill="none" stroke="#ffffff" stroke-width="3" '
        f'stroke-linejoin="round">{t}</text><text {common} fill="{fill}">{t}</text></g>'
    )


def _midpoint(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The point halfway along a polyline (timing labels sit there, so that steps leaving
    one station for different rows are labelled at different places)."""
    lengths = [math.dist(p, q) for p, q in itertools.pairwise(points)]
    half = sum(lengths) / 2
    for (p, q), n in zip(itertools.pairwise(points), lengths, strict=True):
        if half <= n and n > 0:
            t = half / n
            return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))
        half -= n
    return points[-1]


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


def _is_back(a: str, b: str, col: Mapping[str, int]) -> bool:
    return a != b and col[b] < col[a]


def _octilinear(xa: float, ya: float, xb: float, yb: float) -> list[tuple[float, float]]:
    """Horizontal, 45° diagonal, horizontal (or vertical-diagonal-vertical when steep)."""
    dx, dy = xb - xa, yb - ya
    if abs(dy) < 0.5:
        return [(xa, ya), (xb, yb)]
    if abs(dy) <= abs(dx):
        run = (abs(dx) - abs(dy)) / 2
        x1 = xa + math.copysign(run, dx)
        return [(xa, ya), (x1, ya), (x1 + math.copysign(abs(dy), dx), yb), (xb, yb)]
    rise = (abs(dy) - abs(dx)) / 2
    y1 = ya + math.copysign(rise, dy)
    return [(xa, ya), (xa, y1), (xb, y1 + math.copysign(abs(dx), dy)), (xb, yb)]


def _backstep(xa: float, ya: float, xb: float, yb: float, depth: float) -> list[tuple[float, float]]:
    """Down from ``a``, back to the left below the trunk, up into ``b``."""
    da, db = depth - ya, depth - yb
    if xa - da >= xb + db:
        return [(xa, ya), (xa - da, depth), (xb + db, depth), (xb, yb)]
    return [(xa, ya), (xa, depth), (xb, depth), (xb, yb)]


def _ends(log: JourneyLog, conversion: Sequence[str] | None) -> tuple[dict[str, int], dict[str, int]]:
    import polars as pl

    from ._engine import engine_of

    if engine_of(log) is not None:
        return _engine_ends(log, conversion)
    ev = log.to_polars("events").select("case", "activity")
    last = ev.group_by("case", maintain_order=True).agg(
        pl.col("activity").last().alias("last"), pl.col("activity").alias("all")
    )
    ends = dict(last.group_by("last").len().iter_rows())
    if not conversion:
        return ends, {}
    conv = pl.Series(list(conversion))
    open_ = last.filter(~pl.col("all").list.eval(pl.element().is_in(conv.implode())).list.any())
    return ends, dict(open_.group_by("last").len().iter_rows())


def _engine_ends(log: JourneyLog, conversion: Sequence[str] | None) -> tuple[dict[str, int], dict[str, int]]:
    """:func:`_ends` from the engine's aggregations (end activities of all and of the
    accounts that never reach a conversion activity)."""
    from ._discovery import ALL, journey_tables
    from ._outcomes import outcome_times

    def counts(t: Any, cohort: str) -> dict[str, int]:
        rows = t.ends.filter(t.ends["cohort"] == cohort).select("activity", "count").iter_rows()
        return {a: int(n) for a, n in rows}

    known = [a for a in conversion or () if a in set(log.activities)]
    if not known:
        ends = counts(journey_tables(log), ALL)
        return ends, (dict(ends) if conversion else {})
    # one pass split by conversion: the ends of all accounts are the two cohorts' sums
    reached = outcome_times(log, {"c": known}, "subway_map").get_column("c").is_not_null().to_list()
    split = journey_tables(log, by=lambda cases: ["won" if r else "open" for r in reached])
    still_open, won = counts(split, "open"), counts(split, "won")
    return {a: still_open.get(a, 0) + won.get(a, 0) for a in {**won, **still_open}}, still_open


def _wrap(text: str, width: int = 17) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [ln if len(ln) <= width + 3 else ln[: width + 2] + "…" for ln in lines] or [""]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _legend_text(ln: SubwayLine) -> str:
    parts = [ln.name]
    if ln.accounts:
        share = f" ({ln.share:.0%})" if ln.share is not None else ""
        parts.append(f"{ln.accounts:,} accounts{share}")
    if ln.median_duration is not None and not math.isnan(ln.median_duration):
        parts.append(f"median {duration(ln.median_duration)}")
    parts.append(f"{len(ln.stations)} stops")
    return " · ".join(parts)


def _line_tip(ln: SubwayLine) -> str:
    return f"{_legend_text(ln)}\n" + " → ".join(ln.stations)


def _default_title(lines: list[SubwayLine]) -> str:
    kinds = {ln.kind for ln in lines}
    if kinds == {"cohort"}:
        return "Representative journey of each cohort"
    if kinds == {"cluster"}:
        return "Representative journey of each cluster"
    if kinds == {"variant"}:
        return f"The {len(lines)} most frequent journeys"
    return "Journeys"
