"""Writing a laid-out subway map as SVG: canvas, stage bands, lines, stations, legend, notes.

The canvas is computed from what is drawn: the map's content (stations, lines, labels)
sets the height and, with the title, legend and notes, the width, so nothing is cut off.
The SVG has a ``viewBox``, ``width="100%"`` and a ``max-width`` of its natural width, so
it scales down to its container in reports and notebooks and never grows past 1:1.

The markup is a public contract (docs/subway.md, "Markup"): ``g.line[data-line]`` with a
``<title>`` listing its stations and one ``path.line-path`` whose subpaths are its steps;
``g.station[data-station]`` with its body (``rect.body``), name (``text.label``) and
drop-off figure (``g.dropoff``); ``g.timing`` for step times; ``g.legend``; ``g.footnote``.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._format import duration
from ._subway_geometry import Box, polyline_box, union
from ._subway_labels import (
    DROP_SIZE,
    MARK_W,
    NAME_SIZE,
    NAME_STEP,
    Label,
    place_dropoffs,
    place_marks,
    place_names,
    place_timings,
    wrap,
)
from ._subway_layout import Layout, Step, layout
from ._textsize import ASCENT, DESCENT, text_width

if TYPE_CHECKING:
    from ._subway import SubwayLine

__all__ = ["PALETTE", "Scene", "render"]

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
_MARGIN = 20.0
_NAME_WIDTH = 150.0  # station names wrap at this width (two lines at most)
_TITLE_SIZE, _STAGE_SIZE, _LEGEND_SIZE, _NOTE_SIZE = 16.0, 12.0, 12.0, 10.5
_DROP_COLOUR = "#c92a2a"


@dataclass
class Scene:
    """What to draw: stations in order with their columns and rows, lines, overlays."""

    title: str
    order: list[str]
    col: dict[str, int]
    row: dict[str, int]
    lines: list[SubwayLine]
    home: list[int]
    stage_of: Mapping[str, str]
    stage_order: Sequence[str]
    timing: dict[tuple[str, str], float] = field(default_factory=dict)
    dropoff: dict[str, int] = field(default_factory=dict)  # the figure shown per station
    dropoff_note: str | None = None
    info: dict[str, str] = field(default_factory=dict)  # station tooltips
    channel_of: dict[str, str] = field(default_factory=dict)
    channel_colour: dict[str, str] = field(default_factory=dict)
    # the station tags' legend title and tooltips (main channel, or the voice of the customer)
    tag_title: str = "Main channel"
    tag_tip: dict[str, str] = field(default_factory=dict)


@dataclass
class _Drawn:
    lay: Layout
    names: dict[str, Label]
    drops: dict[str, Label]
    times: dict[tuple[str, str], Label]
    tags: dict[str, Box]
    missed_drops: int
    missed_times: int


def render(scene: Scene) -> tuple[str, dict[str, tuple[float, float]]]:
    """The SVG of ``scene`` and each station's centre (x, y) on it."""
    drawn = _lay_out(scene)
    content = _content_box(drawn)
    stages = _stage_bands(scene, drawn.lay)
    header_rows, headers = _stage_headers(stages, content)
    top = 44.0 + 16.0 * header_rows + 10.0
    dx, dy = _MARGIN + 8.0 - content[0], top - content[1]
    drawn = _moved(drawn, dx, dy)
    content = (content[0] + dx, content[1] + dy, content[2] + dx, content[3] + dy)
    legend = _legend_rows(scene)
    notes = _notes(scene, drawn)
    width = max(
        content[2] + 8.0 + _MARGIN,
        2 * _MARGIN + text_width(scene.title, _TITLE_SIZE, bold=True),
        2 * _MARGIN + 70.0 + max((text_width(t, _LEGEND_SIZE) for t in legend), default=0.0),
        2 * _MARGIN + _channel_legend_width(scene),
        360.0,
    )
    note_lines = [ln for note in notes for ln in _wrap_note(note, width - 2 * _MARGIN - 14.0)]
    bands_bottom = content[3] + 10.0
    legend_top = bands_bottom + 14.0
    channel_y = legend_top + 26.0 + 22.0 * len(legend)
    notes_top = channel_y + (22.0 if scene.channel_colour else 0.0) + 4.0
    height = notes_top + 14.0 * len(note_lines) + 10.0
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="100%" '
        f'style="max-width: {width:.0f}px; height: auto" font-family="Helvetica, Arial, sans-serif" '
        f'role="img" aria-label="{esc(scene.title)}">',
        f"<title>{esc(scene.title)}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    out += _svg_stages(stages, headers, dx, content, bands_bottom)
    out.append(
        f'<text class="title" x="{_MARGIN:.0f}" y="26" font-size="{_TITLE_SIZE:.0f}" font-weight="bold" '
        f'fill="#212529">{esc(scene.title)}</text>'
    )
    out += _svg_lines(scene, drawn, kinds=("forward", "back", "loop"))
    out += [_halo_text(lb, "#495057", cls="timing") for _, lb in sorted(drawn.times.items())]
    centres: dict[str, tuple[float, float]] = {}
    for s in scene.order:
        out.append(_svg_station(scene, drawn, s))
        b = drawn.lay.body[s]
        centres[s] = ((b[0] + b[2]) / 2, drawn.lay.y[s])
    out += _svg_lines(scene, drawn, kinds=("dot",))
    out += _svg_legend(scene, legend, drawn.lay.widths, legend_top, channel_y)
    out += _svg_notes(note_lines, notes_top)
    out.append("</svg>")
    return "".join(out), centres


# -- layout and labels -------------------------------------------------------------------------
def _lay_out(scene: Scene) -> _Drawn:
    n = len(scene.lines)
    max_acc = max([ln.accounts for ln in scene.lines] + [1])
    widths = [
        3.0 + 5.0 * math.sqrt(max(ln.accounts, 1) / max_acc) if max_acc > 1 else 5.0 for ln in scene.lines
    ]
    track = max(9.0, 1.42 * max(widths, default=5.0) + 1.0)
    slot = {i: k for k, i in enumerate(sorted(range(n), key=lambda i: (scene.home[i], i)))}
    offsets = [(slot[i] - (n - 1) / 2) * track for i in range(n)]
    names = {s: wrap(s, _NAME_WIDTH, max_lines=3) for s in scene.order}
    label_h = {s: NAME_STEP * len(names[s]) + 8.0 for s in scene.order}
    below_h = 18.0 if scene.dropoff else 6.0
    lay = layout(
        scene.order,
        scene.col,
        scene.row,
        [ln.stations for ln in scene.lines],
        widths,
        offsets,
        label_h=label_h,
        below_h=below_h,
    )
    placed = place_names(lay, names)
    tags = place_marks(lay, [s for s in scene.order if s in scene.channel_of])
    drops, left = place_dropoffs(lay, {s: c for s, c in scene.dropoff.items() if c and s in lay.x})
    times, missed = place_timings(lay, {k: duration(v) for k, v in scene.timing.items()})
    return _Drawn(lay, placed, drops, times, tags, len(left), missed)


def _content_box(d: _Drawn) -> Box:
    boxes = list(d.lay.body.values())
    boxes += [polyline_box(st.points, d.lay.widths[st.line] / 2 + 1) for st in d.lay.steps]
    boxes += [lb.box for lb in (*d.names.values(), *d.drops.values(), *d.times.values())]
    boxes += list(d.tags.values())
    return union(boxes)


def _moved(d: _Drawn, dx: float, dy: float) -> _Drawn:
    lay = d.lay
    moved = Layout(
        {s: v + dx for s, v in lay.x.items()},
        {s: v + dy for s, v in lay.y.items()},
        {s: (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for s, b in lay.body.items()},
        lay.on,
        lay.widths,
        lay.offsets,
        [st.moved(dx, dy) for st in lay.steps],
        lay.grid,
        lay.pitch,
        lay.loops,
    )
    return _Drawn(
        moved,
        {k: v.moved(dx, dy) for k, v in d.names.items()},
        {k: v.moved(dx, dy) for k, v in d.drops.items()},
        {k: v.moved(dx, dy) for k, v in d.times.items()},
        {k: (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for k, b in d.tags.items()},
        d.missed_drops,
        d.missed_times,
    )


# -- stage bands ---------------------------------------------------------------------------------
def _stage_bands(scene: Scene, lay: Layout) -> list[tuple[str, float, float]]:
    """(stage, x0, x1) in layout units: bands meet halfway between their stations."""
    cols: dict[str, list[float]] = {}
    for s in scene.order:
        cols.setdefault(scene.stage_of[s], []).append(lay.x[s])
    seq = sorted(
        (st for st in cols if st in scene.stage_order), key=lambda st: list(scene.stage_order).index(st)
    )
    seq += sorted(st for st in cols if st not in scene.stage_order)
    out = []
    for k, st in enumerate(seq):
        x0 = min(cols[st]) - lay.pitch / 2
        x1 = max(cols[st]) + lay.pitch / 2
        if k > 0:
            x0 = max(x0, (max(cols[seq[k - 1]]) + min(cols[st])) / 2)
        if k + 1 < len(seq):
            x1 = min(x1, (max(cols[st]) + min(cols[seq[k + 1]])) / 2)
        out.append((st, x0, x1))
    return out


def _stage_headers(stages: list[tuple[str, float, float]], content: Box) -> tuple[int, list[tuple[str, int]]]:
    """Each band's header text and its row (a header too wide for its band moves down a row)."""
    rows: list[list[tuple[float, float]]] = []
    out = []
    for k, (st, x0, x1) in enumerate(stages):
        left = content[0] - 8 if k == 0 else x0
        right = content[2] + 8 if k == len(stages) - 1 else x1
        text = st.upper()
        limit = max(right - left - 8, 150.0)
        if _header_width(text) > limit:
            text = _clip_width(text, limit)
        w = _header_width(text)
        c = (left + right) / 2
        span = (c - w / 2 - 4, c + w / 2 + 4)
        r = 0
        while r < len(rows) and any(span[0] < b and a < span[1] for a, b in rows[r]):
            r += 1
        if r == len(rows):
            rows.append([])
        rows[r].append(span)
        out.append((text, r))
    return max(len(rows), 1), out


def _header_width(text: str) -> float:
    return text_width(text, _STAGE_SIZE, bold=True, letter_spacing=1.0)


def _clip_width(text: str, limit: float) -> str:
    while text and _header_width(text + "…") > limit:
        text = text[:-1]
    return text + "…"


def _svg_stages(
    stages: list[tuple[str, float, float]],
    headers: list[tuple[str, int]],
    dx: float,
    content: Box,
    bottom: float,
) -> list[str]:
    out = []
    for k, ((_, x0, x1), (text, r)) in enumerate(zip(stages, headers, strict=True)):
        left = content[0] - 8 if k == 0 else x0 + dx
        right = content[2] + 8 if k == len(stages) - 1 else x1 + dx
        fill = "#f1f3f5" if k % 2 == 0 else "#f8f9fa"
        out.append(
            f'<g class="stage"><rect x="{left:.1f}" y="44" width="{right - left:.1f}" '
            f'height="{bottom - 44:.1f}" '
            f'fill="{fill}"/><text x="{(left + right) / 2:.1f}" y="{60 + 16 * r:.1f}" text-anchor="middle" '
            f'font-size="{_STAGE_SIZE:.0f}" font-weight="bold" fill="#868e96" letter-spacing="1">'
            f"{html.escape(text)}</text></g>"
        )
    return out


# -- lines and stations ----------------------------------------------------------------------------
def _line_steps(lay: Layout, i: int, stations: Sequence[str], kinds: Sequence[str]) -> list[Step]:
    mine = {(st.a, st.b, st.kind): st for st in lay.steps if st.line == i and st.kind in kinds}
    out: list[Step] = []
    for a, b in itertools.pairwise(stations):
        for kind in ("loop", "forward", "back"):
            st = mine.pop((a, b, kind), None)
            if st is not None:
                out.append(st)
    out += [st for st in mine.values()]
    return out


def _svg_lines(scene: Scene, d: _Drawn, *, kinds: Sequence[str]) -> list[str]:
    esc = html.escape
    out = []
    for i, ln in enumerate(scene.lines):
        is_dot = len(ln.stations) == 1
        if is_dot != ("dot" in kinds):
            continue
        steps = _line_steps(d.lay, i, ln.stations, kinds)
        colour = PALETTE[i % len(PALETTE)]
        w = d.lay.widths[i]
        chevrons = "".join(
            f'<path class="chevron" d="M{cx + 3:.1f},{cy - w / 2 + 1:.1f} L{cx - 2:.1f},{cy:.1f} '
            f'L{cx + 3:.1f},{cy + w / 2 - 1:.1f}" fill="none" stroke="#ffffff" stroke-width="1.6"/>'
            for st in steps
            if st.chevron is not None
            for cx, cy in [st.chevron]
        )
        out.append(
            f'<g class="line" data-line="{esc(ln.name)}"><title>{esc(line_tip(ln))}</title>'
            f'<path class="line-path" d="{" ".join(st.d for st in steps)}" fill="none" stroke="{colour}" '
            f'stroke-width="{w:.1f}" stroke-linecap="round" stroke-linejoin="round" '
            f'stroke-opacity="0.92"/>{chevrons}</g>'
        )
    return out


def _svg_station(scene: Scene, d: _Drawn, s: str) -> str:
    esc = html.escape
    on = d.lay.on[s]
    inter = len(on) > 1
    stroke = "#212529" if inter else PALETTE[on[0] % len(PALETTE)] if on else "#adb5bd"
    x0, y0, x1, y1 = d.lay.body[s]
    parts = [
        f'<g class="station{" interchange" if inter else ""}" data-station="{esc(s)}">',
        f"<title>{esc(scene.info.get(s, s))}</title>",
        f'<rect class="body" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" rx="8" '
        f'fill="#ffffff" stroke="{stroke}" stroke-width="{3 if inter else 2.2}"/>',
    ]
    name = d.names[s]
    if name.leader is not None:
        (ax, ay), (bx, by) = name.leader
        parts.append(
            f'<line class="leader" x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" '
            'stroke="#868e96" stroke-width="1" stroke-dasharray="2 2"/>'
        )
    parts.append(_name_text(name))
    if s in d.tags:
        tx, ty, _, _ = d.tags[s]
        c = scene.channel_of[s]
        parts.append(
            f'<rect class="channel" data-channel="{esc(c)}" x="{tx:.1f}" y="{ty:.1f}" '
            'width="9" height="9" rx="2" '
            f'fill="{scene.channel_colour[c]}">'
            f'<title>{esc(scene.tag_tip.get(s, f"{s}: mostly {c}"))}</title></rect>'
        )
    if s in d.drops:
        parts.append(_dropoff(d.drops[s]))
    parts.append("</g>")
    return "".join(parts)


def _name_text(lb: Label) -> str:
    spans = "".join(
        f'<tspan x="{lb.x:.1f}" dy="{0 if k == 0 else NAME_STEP:.0f}">{html.escape(t)}</tspan>'
        for k, t in enumerate(lb.lines)
    )
    common = f'x="{lb.x:.1f}" y="{lb.y:.1f}" font-size="{NAME_SIZE}" text-anchor="{lb.anchor}"'
    return (
        f'<text {common} fill="none" stroke="#ffffff" stroke-width="3.5" '
        f'stroke-linejoin="round">{spans}</text>'
        f'<text class="label" {common} fill="#212529">{spans}</text>'
    )


def _dropoff(lb: Label) -> str:
    x0, top, _, bottom = lb.box
    a, b = (x0 + 1.5, top + 2.5), (x0 + MARK_W - 1.5, bottom - 2.5)
    return (
        f'<g class="dropoff">{drop_mark(a, b)}'
        f'<text x="{lb.x:.1f}" y="{lb.y:.1f}" font-size="{DROP_SIZE:.0f}" fill="{_DROP_COLOUR}">'
        f"{html.escape(lb.lines[0])}</text></g>"
    )


def drop_mark(a: tuple[float, float], b: tuple[float, float]) -> str:
    """The drop-off arrow (down and to the right) from ``a`` to ``b``, drawn as a path so that
    it shows in every font."""
    (ax, ay), (bx, by) = a, b
    head = min(bx - ax, by - ay) * 0.6
    return (
        f'<path class="dropoff-mark" d="M{ax:.1f},{ay:.1f} L{bx:.1f},{by:.1f} M{bx - head:.1f},{by:.1f} '
        f'L{bx:.1f},{by:.1f} L{bx:.1f},{by - head:.1f}" fill="none" stroke="{_DROP_COLOUR}" '
        'stroke-width="1.4" stroke-linecap="round" stroke-linejoin="round"/>'
    )


def _halo_text(lb: Label, fill: str, *, cls: str) -> str:
    t = html.escape(lb.lines[0])
    common = f'x="{lb.x:.1f}" y="{lb.y:.1f}" font-size="{lb.size}" text-anchor="{lb.anchor}"'
    return (
        f'<g class="{cls}"><text {common} fill="none" stroke="#ffffff" stroke-width="3" '
        f'stroke-linejoin="round">{t}</text><text {common} fill="{fill}">{t}</text></g>'
    )


# -- legend and notes --------------------------------------------------------------------------------
def _legend_rows(scene: Scene) -> list[str]:
    return [legend_text(ln) for ln in scene.lines]


def legend_text(ln: SubwayLine) -> str:
    """A line's legend entry: name, accounts (share), median duration, stops."""
    parts = [_short(ln.name)]
    if ln.accounts:
        share = f" ({ln.share:.0%})" if ln.share is not None else ""
        parts.append(f"{ln.accounts:,} account{'s' if ln.accounts != 1 else ''}{share}")
    if ln.median_duration is not None and not math.isnan(ln.median_duration):
        parts.append(f"median {duration(ln.median_duration)}")
    n = len(ln.stations)
    parts.append(f"{n} stop{'s' if n != 1 else ''}")
    return " · ".join(parts)


def _short(name: str) -> str:
    """A line's name as the legend and notes show it: at most 60 characters."""
    return name if len(name) <= 60 else name[:59] + "…"


def line_tip(ln: SubwayLine) -> str:
    """A line's tooltip: its legend entry, then its stations."""
    return f"{legend_text(ln)}\n" + " → ".join(ln.stations)


def _channel_legend_width(scene: Scene) -> float:
    if not scene.channel_colour:
        return 0.0
    title = max(90.0, text_width(scene.tag_title, 11.0) + 14.0)
    return 10.0 + title + sum(14.0 + text_width(c, 11.0) + 16.0 for c in scene.channel_colour)


def _svg_legend(
    scene: Scene, rows: list[str], widths: list[float], top: float, channel_y: float
) -> list[str]:
    out = [
        f'<g class="legend"><text x="{_MARGIN:.0f}" y="{top + 14:.1f}" font-size="{_LEGEND_SIZE:.0f}" '
        'font-weight="bold" fill="#495057">Lines</text>'
    ]
    for i, text in enumerate(rows):
        ly = top + 34 + 22 * i
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<line class="legend-swatch" x1="{_MARGIN + 2:.0f}" y1="{ly - 4:.1f}" x2="{_MARGIN + 40:.0f}" '
            f'y2="{ly - 4:.1f}" stroke="{colour}" stroke-width="{widths[i]:.1f}" stroke-linecap="round"/>'
            f'<text x="{_MARGIN + 52:.0f}" y="{ly:.1f}" font-size="{_LEGEND_SIZE:.0f}" fill="#212529">'
            f"{html.escape(text)}</text>"
        )
    if scene.channel_colour:
        x = _MARGIN
        out.append(
            f'<text x="{x:.0f}" y="{channel_y + 9:.1f}" font-size="11" fill="#495057">'
            f"{html.escape(scene.tag_title)}</text>"
        )
        x += max(90.0, text_width(scene.tag_title, 11.0) + 14.0)
        for c, colour in scene.channel_colour.items():
            out.append(
                f'<rect class="legend-swatch" x="{x:.1f}" y="{channel_y:.1f}" width="10" height="10" rx="2" '
                f'fill="{colour}"/><text x="{x + 14:.1f}" y="{channel_y + 9:.1f}" font-size="11" '
                f'fill="#212529">{html.escape(c)}</text>'
            )
            x += 14.0 + text_width(c, 11.0) + 16.0
    out.append("</g>")
    return out


def _notes(scene: Scene, d: _Drawn) -> list[str]:
    kinds = {st.kind for st in d.lay.steps}
    notes = []
    if scene.timing:
        notes.append("Grey figures on the lines: median time between the two stations.")
    if scene.dropoff_note is not None:
        notes.append("\x00" + scene.dropoff_note)
    if "back" in kinds:
        notes.append(
            "A line that turns down and runs back to the left returns to an earlier station "
            "(white chevrons point back)."
        )
    if "loop" in kinds:
        notes.append("A small loop under a station is a repeated station.")
    if "dot" in kinds:
        # named, since a bar inside a shared station is easy to miss
        dots = [f"{_short(ln.name)} ({ln.stations[0]})" for ln in scene.lines if len(ln.stations) == 1]
        notes.append(f"A short bar inside a station is a journey of that one station: {', '.join(dots)}.")
    missed = []
    if d.missed_times:
        missed.append(f"{d.missed_times} timing figure{'s' if d.missed_times != 1 else ''}")
    if d.missed_drops:
        missed.append(
            f"{d.missed_drops} drop-off figure{'s' if d.missed_drops != 1 else ''} "
            "(see the stations' tooltips)"
        )
    if missed:
        notes.append("Left off where they would overlap: " + ", ".join(missed) + ".")
    return notes


def _wrap_note(note: str, width: float) -> list[str]:
    mark = note.startswith("\x00")
    text = note.removeprefix("\x00")
    words, lines, cur = text.split(" "), [], ""
    for w in words:
        trial = f"{cur} {w}" if cur else w
        if cur and text_width(trial, _NOTE_SIZE) > width:
            lines.append(cur)
            cur = w
        else:
            cur = trial
    lines.append(cur)
    if mark:
        lines[0] = "\x00" + lines[0]
    return lines


def _svg_notes(lines: list[str], top: float) -> list[str]:
    if not lines:
        return []
    out = ['<g class="footnote">']
    for k, line in enumerate(lines):
        y = top + 11 + 14 * k
        x = _MARGIN
        if line.startswith("\x00"):
            line = line[1:]
            out.append(
                drop_mark(
                    (x + 1.5, y - ASCENT * _NOTE_SIZE + 2.5),
                    (x + MARK_W - 1.5, y + DESCENT * _NOTE_SIZE - 2.5),
                )
            )
            x += MARK_W + 3
        out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{_NOTE_SIZE}" fill="#868e96">'
            f"{html.escape(line)}</text>"
        )
    out.append("</g>")
    return out
