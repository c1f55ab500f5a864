"""Plane geometry for subway maps: boxes, polylines, and a grid index of what is drawn.

Layout asks two questions many times: does this box (a label, a station) touch anything
already drawn, and does this piece of line lie on top of another line? :class:`Grid`
answers both from the cells a query covers, so a map with 40 stations and 12 lines is laid
out in milliseconds rather than by comparing every pair.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Box",
    "Grid",
    "Item",
    "Point",
    "box_hits_box",
    "orientation",
    "parallel_overlap",
    "polyline_box",
    "segment_hits_box",
    "union",
]

Point = tuple[float, float]
Box = tuple[float, float, float, float]


def union(boxes: Iterable[Box]) -> Box:
    """The smallest box around ``boxes`` (which must not be empty)."""
    b = list(boxes)
    return (min(v[0] for v in b), min(v[1] for v in b), max(v[2] for v in b), max(v[3] for v in b))


def box_hits_box(a: Box, b: Box, pad: float = 0.0) -> bool:
    """Whether two boxes overlap once ``a`` grows by ``pad`` on every side (touching is not)."""
    return a[0] - pad < b[2] and b[0] < a[2] + pad and a[1] - pad < b[3] and b[1] < a[3] + pad


def segment_hits_box(p: Point, q: Point, box: Box, pad: float = 0.0) -> bool:
    """Whether the segment ``p``–``q`` comes within ``pad`` of ``box`` (Liang–Barsky)."""
    x0, y0, x1, y1 = box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad
    px, py, qx, qy = p[0], p[1], q[0], q[1]
    if (px < x0 and qx < x0) or (px > x1 and qx > x1) or (py < y0 and qy < y0) or (py > y1 and qy > y1):
        return False
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for a, b in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if a == 0:
            if b < 0:
                return False
            continue
        r = b / a
        if a < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return False
    return True


def polyline_box(points: Sequence[Point], half: float = 0.0) -> Box:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half)


def orientation(p: Point, q: Point) -> int:
    """0 level, 1 vertical, 2 falling diagonal (down-right), 3 rising diagonal, 4 other, 5 a point."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    if abs(dx) < 1e-6 and abs(dy) < 1e-6:
        return 5
    if abs(dy) < 1e-6:
        return 0
    if abs(dx) < 1e-6:
        return 1
    if abs(abs(dx) - abs(dy)) < 1e-6:
        return 2 if dx * dy > 0 else 3
    return 4


def _direction(p: Point, q: Point) -> tuple[float, float] | None:
    n = math.dist(p, q)
    return None if n < 1e-9 else ((q[0] - p[0]) / n, (q[1] - p[1]) / n)


def parallel_overlap(p: Point, q: Point, r: Point, s: Point, gap: float) -> bool:
    """Whether segments ``p``–``q`` and ``r``–``s`` run side by side closer than ``gap``
    (same direction, perpendicular distance < gap, and more than 1 px of common length)."""
    if abs(p[1] - q[1]) < 1e-6 and abs(r[1] - s[1]) < 1e-6:  # both level: the common case
        if abs(p[1] - r[1]) >= gap:
            return False
        return min(max(p[0], q[0]), max(r[0], s[0])) - max(min(p[0], q[0]), min(r[0], s[0])) > 1.0
    if abs(p[0] - q[0]) < 1e-6 and abs(r[0] - s[0]) < 1e-6:  # both vertical
        if abs(p[0] - r[0]) >= gap:
            return False
        return min(max(p[1], q[1]), max(r[1], s[1])) - max(min(p[1], q[1]), min(r[1], s[1])) > 1.0
    u, v = _direction(p, q), _direction(r, s)
    if u is None or v is None or abs(u[0] * v[1] - u[1] * v[0]) > 1e-6:
        return False
    dist = abs((r[0] - p[0]) * u[1] - (r[1] - p[1]) * u[0])
    if dist >= gap:
        return False
    a, b = 0.0, math.dist(p, q)
    c = (r[0] - p[0]) * u[0] + (r[1] - p[1]) * u[1]
    d = (s[0] - p[0]) * u[0] + (s[1] - p[1]) * u[1]
    return min(b, max(c, d)) - max(a, min(c, d)) > 1.0


@dataclass(frozen=True)
class Item:
    """Something drawn: a box, or one straight piece of a line with half its width."""

    kind: str  # "box" or "seg"
    box: Box  # the box, or the segment's bounding box with its half width
    tag: str  # "body", "label", "line", "mark", "loop", "leader"
    owner: int = -1  # a line's index for pieces of lines, -1 otherwise
    p: Point = (0.0, 0.0)
    q: Point = (0.0, 0.0)
    half: float = 0.0
    orient: int = 5

    def hits(self, box: Box, pad: float = 0.0) -> bool:
        if self.kind == "box":
            return box_hits_box(box, self.box, pad)
        return segment_hits_box(self.p, self.q, box, pad + self.half)


class Grid:
    """A uniform grid of cells, each listing the items whose box reaches into it."""

    def __init__(self, cell: float = 48.0) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[int]] = {}
        self.items: list[Item] = []

    def _keys(self, box: Box) -> Iterable[tuple[int, int]]:
        c = self.cell
        for i in range(math.floor(box[0] / c), math.floor(box[2] / c) + 1):
            for j in range(math.floor(box[1] / c), math.floor(box[3] / c) + 1):
                yield (i, j)

    def add(self, item: Item) -> None:
        k = len(self.items)
        self.items.append(item)
        for key in self._keys(item.box):
            self.cells.setdefault(key, []).append(k)

    def add_box(self, box: Box, tag: str) -> None:
        self.add(Item("box", box, tag))

    def add_polyline(self, points: Sequence[Point], half: float, tag: str, owner: int = -1) -> None:
        for p, q in itertools.pairwise(points):
            self.add(Item("seg", polyline_box((p, q), half), tag, owner, p, q, half, orientation(p, q)))
        if len(points) == 1:
            p = points[0]
            self.add(Item("seg", polyline_box((p, p), half), tag, owner, p, p, half, 5))

    def near(self, box: Box) -> list[Item]:
        """The items whose cells meet ``box``, each once (callers count or test them, so the
        order does not matter)."""
        c = self.cell
        i0, i1 = math.floor(box[0] / c), math.floor(box[2] / c)
        j0, j1 = math.floor(box[1] / c), math.floor(box[3] / c)
        cells = self.cells
        if i0 == i1 and j0 == j1:
            return [self.items[k] for k in cells.get((i0, j0), ())]
        found: set[int] = set()
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                hit = cells.get((i, j))
                if hit:
                    found.update(hit)
        items = self.items
        return [items[k] for k in found]

    def hits(self, box: Box, pad: float = 0.0, *, tags: Sequence[str] | None = None) -> list[Item]:
        """The items that come within ``pad`` of ``box`` (of the given tags, if any)."""
        grown = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
        return [it for it in self.near(grown) if (tags is None or it.tag in tags) and it.hits(box, pad)]

    def free(self, box: Box, pad: float = 0.0, *, tags: Sequence[str] | None = None) -> bool:
        grown = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
        return not any((tags is None or it.tag in tags) and it.hits(box, pad) for it in self.near(grown))

    def polyline_hits(
        self, points: Sequence[Point], half: float, *, tags: Sequence[str], pad: float = 0.0
    ) -> list[Item]:
        """The boxes (of ``tags``) that a polyline of half width ``half`` comes within ``pad`` of."""
        out: dict[int, Item] = {}
        for p, q in itertools.pairwise(points):
            for it in self.near(polyline_box((p, q), half + pad)):
                if (
                    it.kind == "box"
                    and it.tag in tags
                    and id(it) not in out
                    and segment_hits_box(p, q, it.box, half + pad)
                ):
                    out[id(it)] = it
        return list(out.values())
