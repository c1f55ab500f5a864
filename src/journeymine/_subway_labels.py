"""Subway-map labels placed without overlaps: station names, drop-off figures, step timing.

Each label has a short list of candidate places, tried in order; a place is taken when the
label's box (text extents estimated by :mod:`journeymine._textsize`, plus its white halo)
touches no station, line, mark or label already placed. Station names come first and are
never dropped: past the near places they move further out, joined to their station by a
thin leader line. Drop-off and timing figures that find no place are left off and counted
in the footnote (their numbers remain in the station tooltips and ``SubwayMap.stations``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._subway_geometry import Box, Grid, Point, segment_hits_box
from ._subway_layout import Layout, Step
from ._textsize import ASCENT, DESCENT, char_em, text_box, text_width

__all__ = ["NAME_SIZE", "Label", "place_dropoffs", "place_marks", "place_names", "place_timings", "wrap"]

NAME_SIZE, NAME_STEP = 11.5, 13.0
TIMING_SIZE = 9.5
DROP_SIZE = 10.0
MARK_W = 9.0  # the drop-off arrow, drawn as a path before the figure
_HALO = 2.0
_BLOCKERS = ("body", "line", "label", "mark", "leader")


@dataclass
class Label:
    """A placed label: its text lines, first baseline, anchor and box."""

    kind: str  # "name", "dropoff", "timing"
    key: str
    lines: list[str]
    size: float
    anchor: str
    x: float
    y: float
    box: Box
    leader: tuple[Point, Point] | None = None

    def moved(self, dx: float, dy: float) -> Label:
        leader = None
        if self.leader is not None:
            (a, b), (c, d) = self.leader
            leader = ((a + dx, b + dy), (c + dx, d + dy))
        b0, b1, b2, b3 = self.box
        return Label(
            self.kind,
            self.key,
            self.lines,
            self.size,
            self.anchor,
            self.x + dx,
            self.y + dy,
            (b0 + dx, b1 + dy, b2 + dx, b3 + dy),
            leader,
        )


def wrap(text: str, width: float, size: float = NAME_SIZE, max_lines: int = 2) -> list[str]:
    """``text`` in at most ``max_lines`` lines of at most ``width`` px (estimated); breaks at
    spaces, after ``_ - / .``, and between wide (CJK) characters; an ellipsis ends a cut. A
    name up to a sixth wider than ``width`` stays on one line rather than leave a stub."""
    if text_width(text, size) <= width * 7 / 6:
        return [text]
    pieces: list[str] = []
    cur = ""
    for ch in text:
        cur += ch
        if ch in " _-/." or (ord(ch) >= 0x2E80 and char_em(ch) >= 1.0):
            pieces.append(cur)
            cur = ""
    if cur:
        pieces.append(cur)
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and text_width((line + piece).rstrip(), size) > width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
        while text_width(line.rstrip(), size) > width and len(line) > 1:  # one piece too long
            cut = _fit(line, width, size)
            lines.append(cut)
            line = line[len(cut) :].lstrip()
    if line.strip() or not lines:
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        last = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], _fit(last, width - text_width("…", size), size) + "…"]
    return lines


def _fit(text: str, width: float, size: float) -> str:
    """The longest start of ``text`` (at least one character) that fits ``width``."""
    k = 1
    while k < len(text) and text_width(text[: k + 1], size) <= width:
        k += 1
    return text[:k]


def _baseline_for_bottom(bottom: float, n: int, size: float, step: float) -> float:
    return bottom - DESCENT * size - (n - 1) * step


def _baseline_for_top(top: float, size: float) -> float:
    return top + ASCENT * size


def _free(grid: Grid, box: Box) -> bool:
    return grid.free(box, _HALO, tags=_BLOCKERS)


def _take(grid: Grid, label: Label) -> Label:
    x0, y0, x1, y1 = label.box
    grid.add_box((x0 - _HALO / 2, y0 - _HALO / 2, x1 + _HALO / 2, y1 + _HALO / 2), "label")
    if label.leader is not None:
        grid.add_polyline(list(label.leader), 0.5, "leader")
    return label


# -- channel tags --------------------------------------------------------------------------------
def place_marks(lay: Layout, stations: Sequence[str]) -> dict[str, Box]:
    """A 9 px channel tag beside each station, where no line or station is."""
    out: dict[str, Box] = {}
    for s in stations:
        bx0, by0, bx1, by1 = lay.body[s]
        spots = [
            (bx1 + 3, by0 + 1),
            (bx1 + 3, by1 - 10),
            (bx0 - 12, by0 + 1),
            (bx0 - 12, by1 - 10),
            (bx1 + 1, by0 - 11),
            (bx0 - 10, by0 - 11),
            (bx1 + 1, by1 + 1),
            (bx0 - 10, by1 + 1),
        ]
        boxes = [(x, y, x + 9, y + 9) for x, y in spots]
        chosen = next((b for b in boxes if lay.grid.free(b, 1.5, tags=_BLOCKERS)), None)
        if chosen is None:
            chosen = next(
                (b for b in boxes if lay.grid.free(b, 1.0, tags=("body", "label", "mark"))), boxes[0]
            )
        lay.grid.add_box(chosen, "mark")
        out[s] = chosen
    return out


# -- station names -------------------------------------------------------------------------------
def place_names(lay: Layout, names: Mapping[str, list[str]]) -> dict[str, Label]:
    """Every station's name, near it, or further out with a leader line (never dropped)."""
    out: dict[str, Label] = {}
    for s in sorted(names, key=lambda s: (lay.x[s], s)):
        lines = names[s]
        out[s] = _take(lay.grid, _place_name(lay, s, lines))
    return out


def _name_label(
    lines: list[str], anchor: str, x: float, y: float, s: str, leader: tuple[Point, Point] | None = None
) -> Label:
    box = text_box(x, y, lines, NAME_SIZE, anchor=anchor, line_height=NAME_STEP)
    return Label("name", s, lines, NAME_SIZE, anchor, x, y, box, leader)


def _place_name(lay: Layout, s: str, lines: list[str]) -> Label:
    bx0, by0, bx1, by1 = lay.body[s]
    xs, ys = (bx0 + bx1) / 2, (by0 + by1) / 2
    n = len(lines)
    height = ASCENT * NAME_SIZE + (n - 1) * NAME_STEP + DESCENT * NAME_SIZE
    above = _baseline_for_bottom(by0 - 4, n, NAME_SIZE, NAME_STEP)
    below = _baseline_for_top(by1 + 4, NAME_SIZE)
    side = _baseline_for_top(ys - height / 2, NAME_SIZE)
    near = [
        ("middle", xs, above),
        ("middle", xs, below),
        ("start", bx0, above),
        ("end", bx1, above),
        ("start", bx1 + 5, side),
        ("end", bx0 - 5, side),
        ("start", bx0, below),
        ("end", bx1, below),
        ("start", bx1 + 5, side - height / 2 - 2),
        ("end", bx0 - 5, side - height / 2 - 2),
        ("start", bx1 + 5, side + height / 2 + 2),
        ("end", bx0 - 5, side + height / 2 + 2),
    ]
    for anchor, x, y in near:
        label = _name_label(lines, anchor, x, y, s)
        if _free(lay.grid, label.box):
            return label
    for k in range(1, 400):  # further out, in rings, with a leader line
        d = 9.0 * k
        for dx, dy in ((0, -1), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1), (1, 0), (-1, 0)):
            if dx == 0:
                x, anchor = xs, "middle"
            elif dx > 0:
                x, anchor = bx1 + 5 + d * 0.7, "start"
            else:
                x, anchor = bx0 - 5 - d * 0.7, "end"
            if dy < 0:
                y = above - (d if dx == 0 else d * 0.7)
            elif dy > 0:
                y = below + (d if dx == 0 else d * 0.7)
            else:
                y = side
            label = _name_label(lines, anchor, x, y, s)
            if not _free(lay.grid, label.box):
                continue
            leader = _leader(lay.body[s], label.box)
            if not any(
                it.box != lay.body[s] and segment_hits_box(leader[0], leader[1], it.box, 1.0)
                for it in lay.grid.near(_seg_box(leader))
                if it.kind == "box" and it.tag in ("body", "label", "mark")
            ):
                return Label("name", s, lines, NAME_SIZE, anchor, x, y, label.box, leader)
    return _name_label(lines, "middle", xs, above, s)  # pragma: no cover - beyond everything drawn is free


def _leader(body: Box, box: Box) -> tuple[Point, Point]:
    """A leader line from a station's body to the nearest point of its label's box."""
    cx, cy = (body[0] + body[2]) / 2, (body[1] + body[3]) / 2
    px = min(max(cx, box[0]), box[2])
    py = min(max(cy, box[1]), box[3])
    sx = min(max(px, body[0] + 2), body[2] - 2)
    sy = min(max(py, body[1]), body[3])
    if sy == py and sx != px:  # level: leave from the side
        sx = body[2] if px > cx else body[0]
    return ((sx, sy), (px, py))


def _seg_box(seg: tuple[Point, Point]) -> Box:
    (a, b), (c, d) = seg
    return (min(a, c) - 1, min(b, d) - 1, max(a, c) + 1, max(b, d) + 1)


# -- drop-off figures ------------------------------------------------------------------------------
def place_dropoffs(lay: Layout, counts: Mapping[str, int]) -> tuple[dict[str, Label], list[str]]:
    """The drop-off figure of each station beside it; the stations left without one."""
    out: dict[str, Label] = {}
    left_off: list[str] = []
    for s in sorted(counts, key=lambda s: (lay.x[s], s)):
        text = f"{counts[s]:,}"
        width = MARK_W + 3 + text_width(text, DROP_SIZE)
        bx0, by0, bx1, by1 = lay.body[s]
        xs = (bx0 + bx1) / 2
        h = (ASCENT + DESCENT) * DROP_SIZE
        spots = [
            (xs - width / 2, by1 + 3),
            (bx1 + 4, by1 - h),
            (bx0 - 4 - width, by1 - h),
            (bx1 + 2, by1 + 2),
            (bx0 - 2 - width, by1 + 2),
            (bx1 + 4, by0),
            (bx0 - 4 - width, by0),
            (bx1 + 2, by0 - h - 2),
            (bx0 - 2 - width, by0 - h - 2),
            (xs - width / 2, by1 + 3 + h),
            (bx1 + 2, by1 + 2 + h),
            (bx0 - 2 - width, by1 + 2 + h),
            (bx1 + 4, (by0 + by1 - h) / 2),
            (bx0 - 4 - width, (by0 + by1 - h) / 2),
            (bx1 + 14, by1 + 2),
            (bx0 - 14 - width, by1 + 2),
            (xs - width / 2, by1 + 3 + 2 * h),
        ]
        for x0, top in spots:
            y = _baseline_for_top(top, DROP_SIZE)
            box = (x0, top, x0 + width, top + h)
            if _free(lay.grid, box):
                out[s] = _take(
                    lay.grid, Label("dropoff", s, [text], DROP_SIZE, "start", x0 + MARK_W + 3, y, box)
                )
                break
        else:
            left_off.append(s)
    return out, left_off


# -- step timing -----------------------------------------------------------------------------------
def place_timings(
    lay: Layout, timing: Mapping[tuple[str, str], str]
) -> tuple[dict[tuple[str, str], Label], int]:
    """Each step's median time once, beside a line taking it; how many found no place."""
    by_step: dict[tuple[str, str], list[Step]] = {}
    for st in lay.steps:
        if st.kind == "forward" and (st.a, st.b) in timing:
            by_step.setdefault((st.a, st.b), []).append(st)
    out: dict[tuple[str, str], Label] = {}
    missed = 0
    for key in sorted(by_step, key=lambda k: (lay.x[k[0]], lay.x[k[1]], k)):
        text = timing[key]
        steps = sorted(by_step[key], key=lambda st: (min(p[1] for p in st.points), st.line))
        label = _place_timing(lay, key, text, steps)
        if label is None:
            missed += 1
        else:
            out[key] = _take(lay.grid, label)
    return out, missed


def _place_timing(lay: Layout, key: tuple[str, str], text: str, steps: list[Step]) -> Label | None:
    width = text_width(text, TIMING_SIZE)
    height = (ASCENT + DESCENT) * TIMING_SIZE
    for st in steps:
        half = lay.widths[st.line] / 2
        gap = half + _HALO + 1.5
        pieces = sorted(
            zip(st.points, st.points[1:], strict=False),
            key=lambda pq: (
                abs(pq[0][1] - pq[1][1]) > 1e-6,
                -abs(pq[1][0] - pq[0][0]) - abs(pq[1][1] - pq[0][1]),
            ),
        )
        for p, q in pieces:
            level = abs(p[1] - q[1]) < 1e-6
            length = abs(q[0] - p[0])
            if level and length >= width + 6:
                lo = min(p[0], q[0]) + width / 2 + 3
                spots = [(lo + t * (length - width - 6), p[1]) for t in (0.5, 0.3, 0.7, 0.15, 0.85)]
                tops = [p[1] - gap - height, p[1] + gap]
                for cx, _ in spots:
                    for top in tops:
                        box = (cx - width / 2, top, cx + width / 2, top + height)
                        if _free(lay.grid, box):
                            return _timing_label(key, text, cx, top)
            elif not level:
                mx, my = (p[0] + q[0]) / 2, (p[1] + q[1]) / 2
                for ox, oy in ((1, -1), (-1, 1), (1, 1), (-1, -1), (1, 0), (-1, 0)):
                    cx = mx + ox * (gap + width / 2)
                    top = my - height / 2 + oy * (gap + height / 2)
                    box = (cx - width / 2, top, cx + width / 2, top + height)
                    if _free(lay.grid, box):
                        return _timing_label(key, text, cx, top)
    return None


def _timing_label(key: tuple[str, str], text: str, cx: float, top: float) -> Label:
    y = _baseline_for_top(top, TIMING_SIZE)
    box = text_box(cx, y, [text], TIMING_SIZE, anchor="middle")
    return Label("timing", f"{key[0]} → {key[1]}", [text], TIMING_SIZE, "middle", cx, y, box)
