"""Subway-map layout: where stations sit and how each line runs between its stops.

Rules (docs/subway.md, "Layout"):

* **One column per station.** x follows journey order, so at any column there is exactly
  one station, and a piece of line that stays between two columns can touch no station.
* **Rows.** A station sits on the median home row of the lines that stop there. Rows are as
  far apart as their tallest stations, labels and drop-off figures need.
* **Tracks.** Each line keeps one offset from the station centres, so lines that share
  stations run side by side and never cross inside a station.
* **No line runs through a station it does not stop at.** A step to the next column turns
  between the two columns. A step that skips columns first tries the same octilinear
  route; if that route would touch a station in between, it takes a *lane*: it turns to a
  free height within the gap after its first stop, runs level past the stations in
  between (above or below them and their labels), and turns into its next stop within the
  gap before it. Every route is checked against every station body, and the lane is
  chosen to avoid labels' places and other lines' pieces too.
* **Back-steps** leave their station to the right, drop to the nearest free height below
  both stations and everything in between, run back left there (white chevrons point
  back), and rise into the earlier station from its left.
* **Self-loops** hang below the station like petals, one per line, fanned out in line
  order.
* **One-station lines** are a short bar of the line's colour inside the station.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._subway_geometry import Box, Grid, Point, orientation, segment_hits_box

__all__ = ["COL_W", "Layout", "Step", "layout"]

COL_W = 132.0
_ROW_MIN = 92.0
_H = 10.0  # a line runs level this far out of a station before it turns
_PAD = 3.0  # routes keep this far from station bodies (the audit asks for 1 px)
_CORNER = 6.0


@dataclass
class Step:
    """One step of a line between two consecutive stops, as drawn."""

    line: int
    a: str
    b: str
    kind: str  # "forward", "back", "loop" or "dot"
    points: list[Point]  # the polyline (a loop's curve, flattened)
    curve: tuple[Point, Point, Point, Point] | None = None  # a loop's cubic Bézier
    chevron: Point | None = None  # back-steps: a point on the lane where a chevron sits

    @property
    def d(self) -> str:
        """SVG path data: one subpath."""
        if self.curve is not None:
            (ax, ay), (bx, by), (cx, cy), (ex, ey) = self.curve
            return f"M{ax:.1f},{ay:.1f} C{bx:.1f},{by:.1f} {cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"
        return "M" + " L".join(f"{_tenth(px):.1f},{_tenth(py):.1f}" for px, py in self.points)

    def moved(self, dx: float, dy: float) -> Step:
        def mv(p: Point) -> Point:
            return (p[0] + dx, p[1] + dy)

        curve = (
            None
            if self.curve is None
            else (mv(self.curve[0]), mv(self.curve[1]), mv(self.curve[2]), mv(self.curve[3]))
        )
        return Step(
            self.line,
            self.a,
            self.b,
            self.kind,
            [mv(p) for p in self.points],
            curve,
            None if self.chevron is None else mv(self.chevron),
        )


@dataclass
class Layout:
    """Positions of stations and the route of every step, in layout units (pixels)."""

    x: dict[str, float]
    y: dict[str, float]
    body: dict[str, Box]
    on: dict[str, list[int]]
    widths: list[float]
    offsets: list[float]
    steps: list[Step]
    grid: Grid
    pitch: float = COL_W
    loops: dict[str, list[int]] = field(default_factory=dict)


def layout(
    order: Sequence[str],
    col: Mapping[str, int],
    row: Mapping[str, int],
    lines: Sequence[Sequence[str]],
    widths: Sequence[float],
    offsets: Sequence[float],
    *,
    label_h: Mapping[str, float],
    below_h: float,
) -> Layout:
    """Lay out ``lines`` (station sequences, in track order) on the given columns and rows.

    ``label_h`` is the height each station's name needs above it and ``below_h`` what a
    drop-off figure needs under it; rows are spaced so both fit."""
    on = {s: [i for i, ln in enumerate(lines) if s in ln] for s in order}
    loops = {
        s: [i for i, ln in enumerate(lines) if any(a == b == s for a, b in itertools.pairwise(ln))]
        for s in order
    }
    max_w = max(widths, default=5.0)
    loop_h = 16.0 + 1.5 * max_w  # how far a self-loop hangs below its station
    top_rel, bot_rel = {}, {}
    for s in order:
        if on[s]:
            top_rel[s] = min(offsets[i] - widths[i] / 2 for i in on[s]) - 4.0
            bot_rel[s] = max(offsets[i] + widths[i] / 2 for i in on[s]) + 4.0
        else:
            top_rel[s], bot_rel[s] = -6.0, 6.0
    y_row = _row_heights(order, row, top_rel, bot_rel, label_h, below_h, loops, loop_h)
    min_col = min(col.values())
    x = {s: (col[s] - min_col) * COL_W for s in order}
    y = {s: y_row[row[s]] for s in order}
    body = {s: (x[s] - 8.0, y[s] + top_rel[s], x[s] + 8.0, y[s] + bot_rel[s]) for s in order}
    grid = Grid()
    for s in order:
        grid.add_box(body[s], "body")
    router = _Router(order, x, y, body, list(widths), list(offsets), grid, max_w, label_h, below_h)
    steps = router.loops(loops, loop_h)
    forward = [
        (i, k, a, b)
        for i, ln in enumerate(lines)
        for k, (a, b) in enumerate(itertools.pairwise(ln))
        if a != b and x[b] > x[a]
    ]
    forward.sort(key=lambda t: (x[t[3]] - x[t[2]], x[t[2]], t[0], t[1]))
    done: dict[tuple[int, str, str], Step] = {}
    for i, _, a, b in forward:
        if (i, a, b) not in done:
            done[(i, a, b)] = router.forward(i, a, b)
    steps += [done[k] for k in sorted(done, key=lambda k: (k[0], x[k[1]], x[k[2]]))]
    back = [
        (i, a, b) for i, ln in enumerate(lines) for a, b in itertools.pairwise(ln) if a != b and x[b] <= x[a]
    ]
    steps += router.back(list(dict.fromkeys(back)))
    steps += [router.dot(i, ln[0]) for i, ln in enumerate(lines) if len(ln) == 1]
    return Layout(x, y, body, on, list(widths), list(offsets), steps, grid, COL_W, loops)


def _row_heights(
    order: Sequence[str],
    row: Mapping[str, int],
    top_rel: Mapping[str, float],
    bot_rel: Mapping[str, float],
    label_h: Mapping[str, float],
    below_h: float,
    loops: Mapping[str, list[int]],
    loop_h: float,
) -> dict[int, float]:
    """The y of each row: rows are as far apart as the stations on them need."""
    rows = sorted(set(row.values()))
    up = {r: 0.0 for r in rows}
    down = {r: 0.0 for r in rows}
    for s in order:
        r = row[s]
        up[r] = min(up[r], top_rel[s] - label_h[s])
        down[r] = max(down[r], bot_rel[s] + max(below_h, loop_h if loops[s] else 0.0))
    y = {rows[0]: 0.0}
    for prev, r in itertools.pairwise(rows):
        y[r] = y[prev] + max(_ROW_MIN, down[prev] - up[r] + 14.0)
    return y


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and points in the middle of a straight run."""
    out: list[Point] = []
    for p in points:
        if out and math.dist(out[-1], p) < 0.05:
            continue
        if len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            if (
                abs((bx - ax) * (p[1] - by) - (by - ay) * (p[0] - bx)) < 1e-6
                and (bx - ax) * (p[0] - bx) + (by - ay) * (p[1] - by) >= 0
            ):
                out[-1] = p
                continue
        out.append(p)
    return out


def _tenth(v: float) -> float:
    """``v`` rounded to 0.1, half up with a margin, so that two points that differ by a
    multiple of 0.1 (the ends of a 45° run, moved by the same offset) round alike."""
    return math.floor(v * 10 + 0.5 + 1e-6) / 10


def connect(x0: float, y0: float, x1: float, y1: float, xm: float, h: float = _H) -> list[Point]:
    """An octilinear route from (x0, y0) right to (x1, y1): level, 45°, level; when the
    rise is too steep for that, level, 45°, vertical at ``xm``, 45°, level. The ends are
    snapped to a 0.1 grid first, so a 45° run stays 45° when its points are written with one
    decimal."""
    x0, y0, x1, y1, xm = (_tenth(v) for v in (x0, y0, x1, y1, xm))
    dy = y1 - y0
    if abs(dy) < 0.5:
        return [(x0, y0), (x1, y1)]
    run = x1 - x0
    if abs(dy) <= run - 2 * h:
        d0 = min(max(xm - abs(dy) / 2, x0 + h), x1 - h - abs(dy))
        return [(x0, y0), (d0, y0), (d0 + abs(dy), y1), (x1, y1)]
    xm = min(max(xm, x0 + h + 2), x1 - h - 2)
    s = 1.0 if dy > 0 else -1.0
    return [
        (x0, y0),
        (x0 + h, y0),
        (xm, y0 + s * (xm - x0 - h)),
        (xm, y1 - s * (x1 - h - xm)),
        (x1 - h, y1),
        (x1, y1),
    ]


class _Router:
    """Routes steps one at a time; each route is checked against what is already drawn."""

    def __init__(
        self,
        order: Sequence[str],
        x: Mapping[str, float],
        y: Mapping[str, float],
        body: Mapping[str, Box],
        widths: list[float],
        offsets: list[float],
        grid: Grid,
        max_w: float,
        label_h: Mapping[str, float],
        below_h: float,
    ) -> None:
        self.order, self.x, self.y, self.body = order, x, y, body
        self.label_h, self.below_h = label_h, below_h
        self.horizontals: list[tuple[float, float, float, float, int]] = []
        self.widths, self.offsets, self.grid, self.max_w = widths, offsets, grid, max_w
        self.columns = sorted({x[s] for s in order})
        # stations by x, with the places their labels and drop-off figures will want
        self.stations = sorted(
            (
                x[s],
                s,
                body[s],
                (body[s][0] - 50, body[s][1] - label_h[s], body[s][2] + 50, body[s][1]),
                (body[s][0] - 14, body[s][3], body[s][2] + 14, body[s][3] + below_h),
            )
            for s in order
        )
        self.station_x = [t[0] for t in self.stations]
        # pieces of lines by direction and offset, to find pieces lying on top of each other
        self.pieces: dict[tuple[int, int], list[tuple[float, float, float, float, int]]] = {}
        self._level = np.zeros((0, 5))
        self._level_n = 0
        spread = max((abs(o) for o in offsets), default=0.0)
        self.turn_scale = min(1.0, (COL_W / 2 - _H - 8) / spread) if spread else 1.0
        self.leaving: dict[str, int] = {}
        self.arriving: dict[str, int] = {}

    # -- costs -------------------------------------------------------------------------------
    def _cost(self, i: int, a: str, b: str, points: list[Point]) -> tuple[int, int]:
        """(stations other than ``a`` and ``b`` the route touches, then places of labels it
        crosses plus three for each piece of another line it would lie on)."""
        half = self.widths[i] / 2
        hard: set[str] = set()
        soft: set[tuple[str, int]] = set()
        side = 0
        for p, q in itertools.pairwise(points):
            lo = bisect.bisect_left(self.station_x, min(p[0], q[0]) - 72.0)
            hi = bisect.bisect_right(self.station_x, max(p[0], q[0]) + 72.0)
            y0, y1 = min(p[1], q[1]) - half, max(p[1], q[1]) + half
            for _, s, body, above, below in self.stations[lo:hi]:
                if y1 < above[1] or y0 > below[3]:
                    continue
                if s != a and s != b and s not in hard and segment_hits_box(p, q, body, half + _PAD):
                    hard.add(s)
                if (s, 0) not in soft and segment_hits_box(p, q, above, half):
                    soft.add((s, 0))
                if self.below_h and (s, 1) not in soft and segment_hits_box(p, q, below, half):
                    soft.add((s, 1))
            side += self._lying_on(i, p, q, half)
        return len(hard), len(soft) + 3 * side

    def _between(self, x0: float, x1: float) -> list[tuple[float, str, Box, Box, Box]]:
        """The stations strictly between x0 and x1 (with their label and drop-off places)."""
        lo = bisect.bisect_right(self.station_x, x0)
        hi = bisect.bisect_left(self.station_x, x1)
        return self.stations[lo:hi]

    def _level_pieces(self, x0: float, x1: float, half: float, *, skip: int) -> list[tuple[float, float]]:
        """Heights (with a margin) taken by level pieces of lines other than ``skip`` that
        overlap x0..x1."""
        h = self.horizontals
        if len(h) != self._level_n:
            self._level = np.asarray(h, dtype=float).reshape(-1, 5)
            self._level_n = len(h)
        a = self._level
        keep = (a[:, 1] < x1) & (a[:, 2] > x0) & (a[:, 4] != skip)
        g = half + a[keep, 3] + 1.5
        ys = a[keep, 0]
        return list(zip((ys - g).tolist(), (ys + g).tolist(), strict=True))

    def _lying_on(self, i: int, p: Point, q: Point, half: float) -> int:
        """How many pieces of other lines the piece ``p``–``q`` would lie on."""
        o = orientation(p, q)
        if o > 3:
            return 0
        c, lo, hi = _intercept(o, p, q)
        k = int(c // 8.0)
        n = 0
        for key in ((o, k - 2), (o, k - 1), (o, k), (o, k + 1), (o, k + 2)):
            for c2, lo2, hi2, half2, owner in self.pieces.get(key, ()):
                gap = half + half2 + 1.0
                dist = abs(c - c2) / (math.sqrt(2.0) if o >= 2 else 1.0)
                if owner != i and dist < gap and min(hi, hi2) - max(lo, lo2) > 1.0:
                    n += 1
        return n

    def _commit(self, step: Step) -> Step:
        half = self.widths[step.line] / 2
        self.grid.add_polyline(step.points, half, "line", step.line)
        for p, q in zip(step.points, step.points[1:], strict=False):
            o = orientation(p, q)
            if o <= 3:
                c, lo, hi = _intercept(o, p, q)
                self.pieces.setdefault((o, int(c // 8.0)), []).append((c, lo, hi, half, step.line))
            if abs(p[1] - q[1]) < 1e-6:
                self.horizontals.append((p[1], min(p[0], q[0]), max(p[0], q[0]), half, step.line))
        return step

    # -- forward steps ---------------------------------------------------------------------------
    def forward(self, i: int, a: str, b: str) -> Step:
        """A step to a later column: the octilinear route if it touches no station in
        between, else the best of a few lanes (:meth:`_lanes`)."""
        off = self.offsets[i]
        xa, ya, xb, yb = self.x[a], self.y[a] + off, self.x[b], self.y[b] + off
        sign = 1.0 if yb > ya else -1.0
        lean = -sign * off * self.turn_scale  # bundles turn without crossing
        inner = [c for c in self.columns if xa < c < xb]
        direct = connect(xa, ya, xb, yb, (xa + xb) / 2 + lean)
        best_cost, best = (1 << 30, 1 << 30), direct
        for k in range(2):  # lanes are only worked out when the direct route is not clean
            if k == 0:
                candidates = [direct]
            elif inner:
                candidates = self._lanes(i, xa, ya, xb, yb, inner)
            else:
                candidates = [connect(xa, ya, xb, yb, xa + f * (xb - xa) + lean) for f in (0.3, 0.7)]
            for pts in candidates:
                pts = _simplify(pts)
                cost = self._cost(i, a, b, pts)
                if cost < best_cost:
                    best_cost, best = cost, pts
                if cost == (0, 0):
                    return self._commit(Step(i, a, b, "forward", best))
        return self._commit(Step(i, a, b, "forward", best))

    def _lanes(
        self, i: int, xa: float, ya: float, xb: float, yb: float, inner: list[float]
    ) -> list[list[Point]]:
        """Routes that turn to a free height after ``a``, pass the stations in between level,
        and turn into ``b`` before it."""
        half = self.widths[i] / 2
        x1 = inner[0] - 8.0 - half - _PAD - 2.0
        x2 = inner[-1] + 8.0 + half + _PAD + 2.0
        hard: list[tuple[float, float]] = []
        soft: list[tuple[float, float]] = []
        for _, _s, body, above, below in self._between(xa, xb):
            hard.append((body[1] - half - _PAD - 1, body[3] + half + _PAD + 1))
            soft.append((above[1] - half - 1, below[3] + half + 1))
        soft += self._level_pieces(x1, x2, half, skip=i)
        heights: list[float] = []
        for blocked in (_merged(hard + soft), _merged(hard)):
            for ideal in (ya, yb):
                heights += _free_near(ideal, blocked)
        seen: list[float] = []
        for h in sorted(heights, key=lambda v: (min(abs(v - ya), abs(v - yb)), v)):
            if all(abs(h - s) > 0.5 for s in seen):
                seen.append(h)
        out = []
        for lane in seen[:5]:
            sa = 1.0 if lane > ya else -1.0
            sb = 1.0 if yb > lane else -1.0
            first = connect(xa, ya, x1, lane, (xa + x1) / 2 - sa * self.offsets[i] * self.turn_scale)
            last = connect(x2, lane, xb, yb, (x2 + xb) / 2 - sb * self.offsets[i] * self.turn_scale)
            out.append(first + last)
        return out

    # -- back-steps --------------------------------------------------------------------------------
    def back(self, steps: list[tuple[int, str, str]]) -> list[Step]:
        """Each back-step: right out of its station, down to the nearest free height below
        both stations, back left under everything in between, and up into the earlier
        station from its left."""
        gap = self.max_w + 5.0
        room = COL_W / 2 - 12.0
        out = []
        for i, a, b in steps:
            off = self.offsets[i]
            half = self.widths[i] / 2
            xa, ya, xb, yb = self.x[a], self.y[a] + off, self.x[b], self.y[b] + off
            ka, kb = self.leaving.get(a, 0), self.arriving.get(b, 0)
            self.leaving[a], self.arriving[b] = ka + 1, kb + 1
            ea = 28.0 + (ka * gap) % max(room - 28.0, gap)
            eb = 28.0 + (kb * gap) % max(room - 28.0, gap)
            x0, x1 = xb - eb - half - 2, xa + ea + half + 2
            hard: list[tuple[float, float]] = []
            soft: list[tuple[float, float]] = []
            for _, _, body, above, below in self._between(x0 - 8.5, x1 + 8.5):
                hard.append((body[1] - half - _PAD - 1, body[3] + half + _PAD + 1))
                soft.append((above[1] - half - 1, below[3] + half + 1))
            soft += self._level_pieces(x0, x1, half + 0.5, skip=-1)
            low = max(ya, yb)
            heights = _free_near(low + 30.0, _merged(hard + soft)) + _free_near(low + 30.0, _merged(hard))
            heights = sorted(h for h in dict.fromkeys(round(h, 1) for h in heights) if h > low + 2 * _CORNER)
            best: tuple[tuple[int, int], list[Point], float] | None = None
            for lane in heights[:6]:
                pts = _back_route(xa, ya, xb, yb, ea, eb, lane)
                cost = self._cost(i, a, b, pts)
                if best is None or cost < best[0]:
                    best = (cost, pts, lane)
                if cost == (0, 0):
                    break
            if best is None:  # pragma: no cover - below everything is always free
                lane = max(it.box[3] for it in self.grid.items) + self.below_h + 16.0
                pts = _back_route(xa, ya, xb, yb, ea, eb, lane)
                best = ((0, 0), pts, lane)
            _, pts, lane = best
            mid = ((xa + ea + xb - eb) / 2, lane)
            out.append(self._commit(Step(i, a, b, "back", pts, chevron=mid)))
        return out

    # -- loops and one-station lines ---------------------------------------------------------------
    def loops(self, loops: Mapping[str, list[int]], loop_h: float) -> list[Step]:
        """Self-loops hang below their station like petals, one per line, fanned out in line
        order so that each stays visible."""
        out = []
        for s in self.order:
            here = loops[s]
            if not here:
                continue
            bx0, _, bx1, bot = self.body[s]
            base = ((bx0 + bx1) / 2, bot - 3.0)
            m = len(here)
            spread = min(140.0, 45.0 * (m - 1))
            for k, i in enumerate(here):
                w = self.widths[i]
                theta = math.radians(0.0 if m == 1 else -spread / 2 + spread * k / (m - 1))
                u = (math.sin(theta), math.cos(theta))
                v = (math.cos(theta), -math.sin(theta))
                reach = 20.0 + 2.0 * w  # a cubic's tip reaches 3/4 of its control points
                r = 5.0 + w
                p0 = (base[0] - 2.5 * v[0], base[1] - 2.5 * v[1])
                p3 = (base[0] + 2.5 * v[0], base[1] + 2.5 * v[1])
                c1 = (base[0] + reach * u[0] - r * v[0], base[1] + reach * u[1] - r * v[1])
                c2 = (base[0] + reach * u[0] + r * v[0], base[1] + reach * u[1] + r * v[1])
                pts = _bezier(p0, c1, c2, p3)
                out.append(self._commit(Step(i, s, s, "loop", pts, (p0, c1, c2, p3))))
        return out

    def dot(self, i: int, s: str) -> Step:
        yy = self.y[s] + self.offsets[i]
        pts = [(self.x[s] - 4.0, yy), (self.x[s] + 4.0, yy)]
        return self._commit(Step(i, s, s, "dot", pts))


def _intercept(o: int, p: Point, q: Point) -> tuple[float, float, float]:
    """Where a level, vertical or diagonal piece lies (its line's intercept) and the range it
    covers along that line (x, except y for vertical pieces)."""
    if o == 0:
        return p[1], min(p[0], q[0]), max(p[0], q[0])
    if o == 1:
        return p[0], min(p[1], q[1]), max(p[1], q[1])
    c = p[1] - p[0] if o == 2 else p[1] + p[0]
    return c, min(p[0], q[0]), max(p[0], q[0])


def _merged(blocked: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping intervals joined, in order."""
    merged: list[list[float]] = []
    for lo, hi in sorted(blocked):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def _free_near(ideal: float, merged: list[tuple[float, float]]) -> list[float]:
    """For each free gap between the ``merged`` blocked intervals, its height nearest
    ``ideal`` (and ``ideal`` itself when it is free)."""
    if not merged:
        return [ideal]
    out = [merged[0][0]]  # above everything
    for (_, hi), (lo, _) in itertools.pairwise(merged):
        out.append(min(max(ideal, hi), lo))
    out.append(merged[-1][1])  # below everything
    if not any(lo < ideal < hi for lo, hi in merged):
        out.append(ideal)
    return out


def _back_route(xa: float, ya: float, xb: float, yb: float, ea: float, eb: float, lane: float) -> list[Point]:
    """Right out of ``a``, down (or up) to the lane, back left, up (or down) into ``b`` from
    its left; corners cut at 45°."""
    c = _CORNER
    xa2, xb2 = xa + ea, xb - eb
    sa = 1.0 if lane > ya else -1.0
    sb = 1.0 if lane > yb else -1.0
    return [
        (xa, ya),
        (xa2 - c, ya),
        (xa2, ya + sa * c),
        (xa2, lane - sa * c),
        (xa2 - c, lane),
        (xb2 + c, lane),
        (xb2, lane - sb * c),
        (xb2, yb + sb * c),
        (xb2 + c, yb),
        (xb, yb),
    ]


def _bezier(p0: Point, p1: Point, p2: Point, p3: Point, n: int = 10) -> list[Point]:
    out = []
    for k in range(n + 1):
        t = k / n
        u = 1 - t
        out.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return out
