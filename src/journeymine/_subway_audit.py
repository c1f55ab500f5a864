"""The legibility audit of a subway map: what a reader could misread, found in the SVG.

The audit reads the SVG through its public markup (see docs/subway.md), not the layout
that produced it, so it checks what is drawn and works on any map that keeps the contract:

* ``g.line[data-line]`` holds ``path.line-path``; each subpath (``M …``) is one step
  between two consecutive stops (a self-loop is a subpath that starts and ends at its
  station);
* ``g.station[data-station]`` holds the station's body, its first ``rect`` or ``circle``
  that is not a channel tag;
* every ``text`` with a fill is text a reader sees (white halos are drawn with
  ``fill="none"`` and skipped).

It finds three kinds of problem:

``run-through``
    A step of a line comes within half its stroke width (plus 1 px) of the body of a
    station other than the two stops it joins: a reader cannot tell a stop from a pass.
``overlap``
    Two of the boxes a reader must tell apart intersect: texts (their extents estimated
    as in :mod:`journeymine._textsize`), station bodies and marks (channel tags, drop-off
    marks, legend swatches); or a text box is crossed by a line's stroke.
``clipped``
    A box, or a line's stroke, reaches outside the ``viewBox``.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._subway_geometry import segment_hits_box
from ._textsize import text_box

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AUDIT_COLUMNS", "audit_svg"]

AUDIT_COLUMNS = ["kind", "element", "other", "x0", "y0", "x1", "y1"]
_NS = "{http://www.w3.org/2000/svg}"
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class _Item:
    name: str
    box: Box
    role: str  # text, body, mark


@dataclass(frozen=True)
class _Step:
    line: str
    points: np.ndarray  # (n, 2)
    half: float  # half the stroke width


def audit_svg(svg: str) -> pd.DataFrame:
    """The legibility problems of a subway map's SVG, one row each (see the module notes).

    Columns: ``kind`` (run-through, overlap, clipped), ``element`` and ``other`` (what is
    involved, e.g. ``line 'Journey 2' A → B`` and ``station 'C'``), and the box where it
    happens (``x0``, ``y0``, ``x1``, ``y1``, SVG user units). No rows: nothing to fix."""
    import pandas as pd

    root = ET.fromstring(svg)
    view = _view_box(root)
    items: list[_Item] = []
    steps: list[_Step] = []
    _walk(root, {}, [], items, steps)
    rows = _run_throughs(items, steps) + _overlaps(items, steps) + _clipped(items, steps, view)
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


# -- reading the SVG -------------------------------------------------------------------------
def _view_box(root: ET.Element) -> Box:
    vb = root.get("viewBox")
    if vb:
        x, y, w, h = (float(v) for v in vb.replace(",", " ").split())
        return (x, y, x + w, y + h)
    return (0.0, 0.0, _number(root.get("width"), 0.0), _number(root.get("height"), 0.0))


def _number(value: str | None, default: float) -> float:
    if value is None:
        return default
    m = re.match(r"\s*(-?[\d.]+)", value)
    return float(m.group(1)) if m else default


_INHERITED = ("font-size", "font-weight", "text-anchor", "fill", "letter-spacing", "stroke-width")


def _walk(
    el: ET.Element,
    inherited: dict[str, str],
    groups: list[ET.Element],
    items: list[_Item],
    steps: list[_Step],
) -> None:
    attrs = dict(inherited)
    for key in _INHERITED:
        if el.get(key) is not None:
            attrs[key] = str(el.get(key))
    tag = el.tag.removeprefix(_NS)
    classes = (el.get("class") or "").split()
    if tag == "g":
        groups = [*groups, el]
    elif tag == "text":
        item = _text_item(el, attrs, groups)
        if item is not None:
            items.append(item)
        return
    elif tag == "path" and "line-path" in classes:
        steps.extend(_line_steps(el, attrs, groups))
        return
    elif tag in ("rect", "circle", "line", "path", "polyline"):
        item = _shape_item(el, tag, classes, attrs, groups)
        if item is not None:
            items.append(item)
        return
    for child in el:
        _walk(child, attrs, groups, items, steps)


def _group_of(groups: list[ET.Element], cls: str) -> ET.Element | None:
    for g in reversed(groups):
        if cls in (g.get("class") or "").split():
            return g
    return None


def _text_item(el: ET.Element, attrs: dict[str, str], groups: list[ET.Element]) -> _Item | None:
    if attrs.get("fill", "#000") in ("none", "transparent"):
        return None
    size = _number(attrs.get("font-size"), 16.0)
    bold = attrs.get("font-weight", "normal") in ("bold", "700", "800", "900")
    spacing = _number(attrs.get("letter-spacing"), 0.0)
    anchor = attrs.get("text-anchor", "start")
    x, y = _number(el.get("x"), 0.0), _number(el.get("y"), 0.0)
    spans = el.findall(f"{_NS}tspan")
    boxes: list[Box] = []
    content: list[str] = []
    if spans:
        cx, cy = x, y
        for sp in spans:
            cx = _number(sp.get("x"), cx)
            cy = _number(sp.get("y"), cy) + _number(sp.get("dy"), 0.0)
            text = "".join(sp.itertext())
            content.append(text)
            boxes.append(text_box(cx, cy, [text], size, anchor=anchor, bold=bold, letter_spacing=spacing))
    else:
        text = "".join(el.itertext())
        content.append(text)
        boxes.append(text_box(x, y, [text], size, anchor=anchor, bold=bold, letter_spacing=spacing))
    content = [c for c in content if c.strip()]
    if not content:
        return None
    box = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    return _Item(_describe_text(el, " ".join(content), groups), box, "text")


def _describe_text(el: ET.Element, text: str, groups: list[ET.Element]) -> str:
    short = text if len(text) <= 40 else text[:39] + "…"
    classes = (el.get("class") or "").split()
    station = _group_of(groups, "station")
    if station is not None:
        what = "label" if "label" in classes else "text"
        return f"{what} of station {station.get('data-station')!r}: {short!r}"
    for cls in ("timing", "dropoff", "legend", "stage", "footnote", "title"):
        if cls in classes or _group_of(groups, cls) is not None:
            return f"{cls} {short!r}"
    return f"text {short!r}"


def _shape_item(
    el: ET.Element, tag: str, classes: list[str], attrs: dict[str, str], groups: list[ET.Element]
) -> _Item | None:
    station = _group_of(groups, "station")
    if "channel" in classes:
        role, name = "mark", f"channel tag {el.get('data-channel') or ''}".strip()
    elif "legend-swatch" in classes:
        role, name = "mark", "legend swatch"
    elif "dropoff-mark" in classes:
        role, name = "mark", "drop-off mark"
    elif station is not None and el is _body_of(station):
        role, name = "body", f"station {station.get('data-station')!r}"
    else:
        return None
    box = _shape_box(el, tag, attrs)
    return None if box is None else _Item(name, box, role)


def _body_of(station: ET.Element) -> ET.Element | None:
    """A station's body: its first ``rect`` or ``circle`` child that is not a channel tag."""
    for child in station:
        if (
            child.tag.removeprefix(_NS) in ("rect", "circle")
            and "channel" not in (child.get("class") or "").split()
        ):
            return child
    return None


def _shape_box(el: ET.Element, tag: str, attrs: dict[str, str]) -> Box | None:
    half = _number(el.get("stroke-width") or attrs.get("stroke-width"), 0.0) / 2
    if tag == "rect":
        x, y = _number(el.get("x"), 0.0), _number(el.get("y"), 0.0)
        w, h = _number(el.get("width"), 0.0), _number(el.get("height"), 0.0)
        return (x - half, y - half, x + w + half, y + h + half)
    if tag == "circle":
        cx, cy, r = (_number(el.get(k), 0.0) for k in ("cx", "cy", "r"))
        return (cx - r - half, cy - r - half, cx + r + half, cy + r + half)
    if tag == "line":
        xs = [_number(el.get("x1"), 0.0), _number(el.get("x2"), 0.0)]
        ys = [_number(el.get("y1"), 0.0), _number(el.get("y2"), 0.0)]
        return (min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half)
    pts = [p for sub in _subpaths(el.get("d") or el.get("points") or "") for p in sub]
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half)


def _line_steps(el: ET.Element, attrs: dict[str, str], groups: list[ET.Element]) -> list[_Step]:
    line = _group_of(groups, "line")
    name = line.get("data-line") if line is not None else None
    half = _number(el.get("stroke-width") or attrs.get("stroke-width"), 1.0) / 2
    return [
        _Step(str(name), np.asarray(sub, dtype=float), half) for sub in _subpaths(el.get("d") or "") if sub
    ]


_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtAaZz]|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _subpaths(d: str) -> list[list[tuple[float, float]]]:
    """The subpaths of SVG path data as polylines (curves flattened, 8 pieces each)."""
    tokens = _TOKEN.findall(d)
    out: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = []
    x = y = 0.0
    start = (0.0, 0.0)
    cmd = ""
    i = 0

    def num() -> float:
        nonlocal i
        v = float(tokens[i])
        i += 1
        return v

    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
            if cmd in "Zz":
                cur.append(start)
                x, y = start
                continue
        rel = cmd.islower()
        c = cmd.upper()
        if c == "M":
            if cur:
                out.append(cur)
            x, y = (x + num(), y + num()) if rel else (num(), num())
            cur = [(x, y)]
            start = (x, y)
            cmd = "l" if rel else "L"
        elif c == "L":
            x, y = (x + num(), y + num()) if rel else (num(), num())
            cur.append((x, y))
        elif c == "H":
            x = x + num() if rel else num()
            cur.append((x, y))
        elif c == "V":
            y = y + num() if rel else num()
            cur.append((x, y))
        elif c in "CQ":
            n = 3 if c == "C" else 2
            pts = [(x + num(), y + num()) if rel else (num(), num()) for _ in range(n)]
            cur.extend(_bezier((x, y), pts))
            x, y = pts[-1]
        elif c == "A":
            rx, ry = num(), num()
            num(), num(), num()
            ex, ey = (x + num(), y + num()) if rel else (num(), num())
            r = max(rx, ry)
            cur.extend([(min(x, ex) - r, min(y, ey) - r), (max(x, ex) + r, max(y, ey) + r), (ex, ey)])
            x, y = ex, ey
        else:  # S, T: not written by journeymine; skip their numbers
            i += 4 if c == "S" else 2
    if cur:
        out.append(cur)
    return out


def _bezier(p0: tuple[float, float], ctrl: list[tuple[float, float]]) -> list[tuple[float, float]]:
    pts = [p0, *ctrl]
    out = []
    for k in range(1, 9):
        t = k / 8
        q = pts
        while len(q) > 1:
            q = [((1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1]) for a, b in itertools.pairwise(q)]
        out.append(q[0])
    return out


# -- the checks -------------------------------------------------------------------------------
def _hits(points: np.ndarray, box: Box, pad: float) -> bool:
    """Whether the polyline comes within ``pad`` of the box (Liang–Barsky on each piece)."""
    x0, y0, x1, y1 = box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad
    px, py = points[:, 0], points[:, 1]
    if px.max() < x0 or px.min() > x1 or py.max() < y0 or py.min() > y1:
        return False
    if len(points) == 1:
        return bool(x0 <= px[0] <= x1 and y0 <= py[0] <= y1)
    pts = [(float(x), float(y)) for x, y in points]
    return any(segment_hits_box(a, b, box, pad) for a, b in itertools.pairwise(pts))


def _inside(point: np.ndarray, box: Box, pad: float = 1.0) -> bool:
    return bool(box[0] - pad <= point[0] <= box[2] + pad and box[1] - pad <= point[1] <= box[3] + pad)


def _step_name(step: _Step, ends: list[str]) -> str:
    where = " → ".join(ends) if ends else "step"
    return f"line {step.line!r} {where}"


def _run_throughs(items: list[_Item], steps: list[_Step]) -> list[dict[str, object]]:
    bodies = [it for it in items if it.role == "body"]
    rows: list[dict[str, object]] = []
    for step in steps:
        first = [b for b in bodies if _inside(step.points[0], b.box)]
        last = [b for b in bodies if _inside(step.points[-1], b.box)]
        stops = {b.name for b in first + last}
        ends = [_station(first), _station(last)]
        for b in bodies:
            if b.name not in stops and _hits(step.points, b.box, step.half + 1.0):
                rows.append(_row("run-through", _step_name(step, ends), b.name, b.box))
    return rows


def _station(found: list[_Item]) -> str:
    return found[0].name.removeprefix("station ").strip("'\"") if found else "?"


def _overlaps(items: list[_Item], steps: list[_Step]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    if items:
        boxes = np.asarray([it.box for it in items])
        for i, it in enumerate(items):
            others = np.arange(i + 1, len(items))
            if not others.size:
                continue
            b = boxes[others]
            hit = (
                (b[:, 0] < it.box[2]) & (b[:, 2] > it.box[0]) & (b[:, 1] < it.box[3]) & (b[:, 3] > it.box[1])
            )
            for j in others[hit]:
                other = items[int(j)]
                if it.role != "text" and other.role != "text" and "body" not in (it.role, other.role):
                    continue  # two marks (a swatch and a tag) may touch
                rows.append(_row("overlap", it.name, other.name, _intersection(it.box, other.box)))
    texts = [it for it in items if it.role == "text"]
    seen: set[tuple[int, str]] = set()
    for step in steps:
        for k, t in enumerate(texts):
            if (k, step.line) not in seen and _hits(step.points, t.box, step.half):
                seen.add((k, step.line))
                rows.append(_row("overlap", t.name, f"line {step.line!r}", t.box))
    return rows


def _intersection(a: Box, b: Box) -> Box:
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def _clipped(items: list[_Item], steps: list[_Step], view: Box) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for it in items:
        x0, y0, x1, y1 = it.box
        if x0 < view[0] or y0 < view[1] or x1 > view[2] or y1 > view[3]:
            rows.append(_row("clipped", it.name, "", it.box))
    for step in steps:
        p = step.points
        box = (
            p[:, 0].min() - step.half,
            p[:, 1].min() - step.half,
            p[:, 0].max() + step.half,
            p[:, 1].max() + step.half,
        )
        if box[0] < view[0] or box[1] < view[1] or box[2] > view[2] or box[3] > view[3]:
            rows.append(_row("clipped", f"line {step.line!r}", "", tuple(float(v) for v in box)))  # type: ignore[arg-type]
    return rows


def _row(kind: str, element: str, other: str, box: Box) -> dict[str, object]:
    return {
        "kind": kind,
        "element": element,
        "other": other,
        "x0": round(float(box[0]), 1),
        "y0": round(float(box[1]), 1),
        "x1": round(float(box[2]), 1),
        "y1": round(float(box[3]), 1),
    }
