"""The paths Sankey: positions as columns, nodes stacked by count, links as bands, as SVG.

One panel per cohort, stacked vertically, all on one layout: the same nodes in the same
order at every position (computed on the whole log by :func:`journeymine.paths`). In a
panel, node heights and band widths are proportional to the counts, on the panel's own
scale (its anchor count fills the height), so the panels compare as shares.

* Columns are the positions, ``-before .. +after``; the anchor's column is highlighted.
* Nodes in a column are stacked in the layout's order (most frequent on the whole log
  first, then "other", then the start or end of journey), centred vertically.
* A band joins a node to a node of the next position; its width is its count. It leaves
  its source below the bands to earlier targets and reaches its target below the bands
  from earlier sources, so bands do not cross at the nodes. It has the colour of its end
  farther from the anchor: where the path came from (before the anchor) or where it went
  (after it). The most frequent activities have the palette's colours, the same in every
  panel; the others are grey, "other" lighter, the start and end of journey lightest.
* A node's label ("Demo · 1,234") is drawn to its right, over a white halo, when the node
  is at least as tall as the text (a long name wraps onto the lines the node's height
  holds, else it is cut and whole in the tooltip); a smaller node has no label, and is
  listed with its count in the tooltip of the "+n small" note under its column. Every
  node and band has a ``<title>`` tooltip with its exact count and share.

The renderer knows no log: it is given plain data (:class:`Panel`). Every text from the data
is escaped, cut to its room (the whole text is then in the tooltip). The same input gives
the same bytes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._textsize import shorten, svg_text, text_width

__all__ = ["Panel", "fixed_size", "sankey_svg"]

#: activity colours: the Okabe–Ito colour-blind-safe hues without black and yellow, then two more
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#7F3C8D", "#8C8C3C")
_INK, _GREY, _FAINT = "#212529", "#5c636a", "#dee2e6"
_REST, _OTHER, _EDGE = "#8d959c", "#b6bcc2", "#d3d7db"  # unpaletted activity, other, start/end
_HIGHLIGHT = "#fff4d6"
_M = 20.0
_TITLE, _HEAD, _SMALL, _TINY = 17.0, 13.0, 11.0, 10.0
_NODE_W = 10.0
_GAP = 8.0  # between the nodes of a column
_ROW = 26.0  # height per node of the fullest column
_MIN_PLOT = 200.0
_LABEL_MAX = 150.0  # widest node label before it is cut
_MIN_WIDTH = 640.0


@dataclass(frozen=True)
class Panel:
    """One cohort's counts: ``nodes[(position, node)]`` and ``links`` as
    ``(from_position, from, to, count)``; ``name`` None for the whole log."""

    name: str | None
    accounts: int
    with_anchor: int
    anchors: int
    nodes: dict[tuple[int, str], int]
    links: list[tuple[int, str, str, int]]

    @property
    def without(self) -> int:
        return self.accounts - self.with_anchor


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)




def _text(x: float, y: float, text: str, *, size: float, cls: str, fill: str = _INK, **kw: Any) -> str:
    """One ``<text>`` (escaped), over a white halo when ``halo``."""
    return svg_text(x, y, text, size=size, cls=cls, fill=fill, **kw)


def _pct(x: float) -> str:
    if x != x:
        return "–"
    if 0 < x < 0.001:
        return "<0.1%"
    return f"{x:.1%}"


def _step(p: int, anchor: str) -> str:
    if p == 0:
        return anchor
    return f"{-p} before" if p < 0 else f"{p} after"


def _where(p: int, anchor: str) -> str:
    if p == 0:
        return "the anchor"
    n = abs(p)
    return f"{n} step{'s' if n != 1 else ''} {'before' if p < 0 else 'after'} {anchor}"


def colours(layout: Sequence[Sequence[tuple[str, str]]], colour_order: Sequence[str]) -> dict[str, str]:
    """The fill of every node name of ``layout``: the palette for the first activities of
    ``colour_order``, grey for the rest, lighter for "other", lightest for start and end."""
    rank = {name: i for i, name in enumerate(colour_order)}
    out: dict[str, str] = {}
    for col in layout:
        for name, kind in col:
            if kind == "anchor":
                out[name] = _INK
            elif kind == "other":
                out[name] = _OTHER
            elif kind in ("start", "end"):
                out[name] = _EDGE
            else:
                r = rank.get(name, len(_PALETTE))
                out[name] = _PALETTE[r] if r < len(_PALETTE) else _REST
    return out


@dataclass(frozen=True)
class _Geometry:
    width: float
    xs: tuple[float, ...]  # left edge of each column's nodes
    col_gap: float
    plot_h: float
    max_nodes: int
    subtitle: tuple[str, ...]


def _geometry(
    positions: Sequence[int],
    layout: Sequence[Sequence[tuple[str, str]]],
    panels: Sequence[Panel],
    subtitle: str,
) -> _Geometry:
    widest = 0.0
    for panel in panels:
        for (_p, name), n in panel.nodes.items():
            widest = max(widest, text_width(f"{name} · {n:,}", _SMALL))
    label_w = min(_LABEL_MAX, widest) + 8.0
    col_gap = max(130.0, label_w + 36.0)
    n = len(positions)
    span = (n - 1) * col_gap + _NODE_W + label_w  # the last column's labels on its right too
    width = max(_MIN_WIDTH, 2 * _M + span)
    left = (width - span) / 2
    xs = tuple(left + i * col_gap for i in range(n))
    max_nodes = max((len(col) for col in layout), default=1)
    plot_h = max(_MIN_PLOT, _ROW * max_nodes)
    return _Geometry(
        width=width,
        xs=xs,
        col_gap=col_gap,
        plot_h=plot_h,
        max_nodes=max_nodes,
        subtitle=tuple(_wrap(subtitle, width - 2 * _M, 4, bold=False)),
    )


def _heading(panel: Panel, anchor: str, unit: str) -> str:
    who = f"{panel.name}: " if panel.name is not None else ""
    if panel.accounts == 0:
        return f"{who}no accounts"
    if unit == "accounts":
        core = f"{panel.anchors:,} accounts with {anchor}"
    else:
        core = f"{panel.anchors:,} occurrences of {anchor} in {panel.with_anchor:,} accounts"
    return f"{who}{core}; {panel.without:,} account{'s' if panel.without != 1 else ''} without it"


def _panel(
    panel: Panel,
    positions: Sequence[int],
    layout: Sequence[Sequence[tuple[str, str]]],
    g: _Geometry,
    fill: dict[str, str],
    anchor: str,
    unit: str,
    top: float,
) -> tuple[str, float]:
    """One panel's SVG group, from ``top`` down; returns it and its height."""
    name_attr = f' data-cohort="{_esc(panel.name)}"' if panel.name is not None else ""
    out = [f'<g class="panel"{name_attr}>']
    heading = _heading(panel, anchor, unit)
    shown = shorten(heading, g.width - 2 * _M, _HEAD, bold=True)
    head = _text(_M, top + 14, shown, size=_HEAD, cls="panel-title", bold=True)
    out.append(f"<g><title>{_esc(heading)}</title>{head}</g>" if shown != heading else head)
    if panel.anchors == 0:
        why = "no accounts in this cohort" if panel.accounts == 0 else f"no account here has {anchor}"
        out.append(_text(_M, top + 38, why, size=_SMALL, cls="empty", fill=_GREY))
        out.append("</g>")
        return "".join(out), 52.0
    header_y = top + 36
    plot_top = header_y + 14
    zero = positions.index(0)
    ax = g.xs[zero]
    out.append(
        f'<rect class="anchor-band" x="{ax - 8:.1f}" y="{header_y - 14:.1f}" width="{_NODE_W + 16:.1f}" '
        f'height="{g.plot_h + 32:.1f}" rx="4" fill="{_HIGHLIGHT}"/>'
    )
    for i, p in enumerate(positions):
        # centred over the column; the first starts at its node, not in the margin
        cx, where = (g.xs[i], "start") if i == 0 else (g.xs[i] + _NODE_W / 2, "middle")
        label = shorten(_step(p, anchor), g.col_gap - 12, _SMALL, bold=p == 0)
        out.append(
            _text(
                cx,
                header_y,
                label,
                size=_SMALL,
                cls="step",
                anchor=where,
                bold=p == 0,
                fill=_INK if p == 0 else _GREY,
            )
        )
    scale = (g.plot_h - _GAP * (g.max_nodes - 1)) / panel.anchors
    # node boxes: (position index, name) -> (y, height)
    box: dict[tuple[int, str], tuple[float, float]] = {}
    for i, p in enumerate(positions):
        present = [(name, kind) for name, kind in layout[i] if panel.nodes.get((p, name), 0) > 0]
        col_h = sum(panel.nodes[(p, n)] for n, _ in present) * scale + _GAP * max(len(present) - 1, 0)
        y = plot_top + (g.plot_h - col_h) / 2
        for name, _kind in present:
            h = panel.nodes[(p, name)] * scale
            box[(i, name)] = (y, h)
            y += h + _GAP
    out.append(_links(panel, positions, layout, g, fill, box, scale, anchor, unit))
    out.append(_nodes(panel, positions, layout, g, fill, box, anchor, unit, plot_top))
    out.append("</g>")
    return "".join(out), plot_top - top + g.plot_h + 24


def _links(
    panel: Panel,
    positions: Sequence[int],
    layout: Sequence[Sequence[tuple[str, str]]],
    g: _Geometry,
    fill: dict[str, str],
    box: dict[tuple[int, str], tuple[float, float]],
    scale: float,
    anchor: str,
    unit: str,
) -> str:
    index = {p: i for i, p in enumerate(positions)}
    order = [{name: k for k, (name, _kind) in enumerate(col)} for col in layout]
    kinds = [dict(col) for col in layout]
    bands = []
    by_step: dict[int, list[tuple[str, str, int]]] = {}
    for p, a, b, n in panel.links:
        if n > 0:
            by_step.setdefault(index[p], []).append((a, b, n))
    for i in sorted(by_step):
        links = by_step[i]
        out_off: dict[str, float] = {}
        in_off: dict[str, float] = {}
        src_y: dict[tuple[str, str], float] = {}
        for a, b, _n in sorted(links, key=lambda t: (order[i][t[0]], order[i + 1][t[1]])):
            src_y[(a, b)] = box[(i, a)][0] + out_off.get(a, 0.0)
            out_off[a] = out_off.get(a, 0.0) + _n * scale
        dst_y: dict[tuple[str, str], float] = {}
        for a, b, _n in sorted(links, key=lambda t: (order[i + 1][t[1]], order[i][t[0]])):
            dst_y[(a, b)] = box[(i + 1, b)][0] + in_off.get(b, 0.0)
            in_off[b] = in_off.get(b, 0.0) + _n * scale
        x0, x1 = g.xs[i] + _NODE_W, g.xs[i + 1]
        xm = (x0 + x1) / 2
        p0, p1 = positions[i], positions[i + 1]
        outer, outer_i = (0, i) if p1 <= 0 else (1, i + 1)
        for a, b, n in sorted(links, key=lambda t: (order[i][t[0]], order[i + 1][t[1]])):
            w = n * scale
            y0, y1 = src_y[(a, b)], dst_y[(a, b)]
            colour = fill[(a, b)[outer]]
            kind = kinds[outer_i][(a, b)[outer]]
            opacity = "0.3" if kind in ("start", "end") else "0.45"
            d = (
                f"M{x0:.2f},{y0:.2f} C{xm:.2f},{y0:.2f} {xm:.2f},{y1:.2f} {x1:.2f},{y1:.2f} "
                f"L{x1:.2f},{y1 + w:.2f} C{xm:.2f},{y1 + w:.2f} {xm:.2f},{y0 + w:.2f} {x0:.2f},{y0 + w:.2f} Z"
            )
            tip = (
                f"{a} ({_step(p0, anchor)}) → {b} ({_step(p1, anchor)}): {n:,} {unit}, "
                f"{_pct(n / panel.anchors)} of {panel.anchors:,}"
            )
            bands.append(
                f'<path class="link" d="{d}" fill="{colour}" fill-opacity="{opacity}">'
                f"<title>{_esc(tip)}</title></path>"
            )
    return f'<g class="links">{"".join(bands)}</g>'


def _nodes(
    panel: Panel,
    positions: Sequence[int],
    layout: Sequence[Sequence[tuple[str, str]]],
    g: _Geometry,
    fill: dict[str, str],
    box: dict[tuple[int, str], tuple[float, float]],
    anchor: str,
    unit: str,
    plot_top: float,
) -> str:
    out = ['<g class="nodes">']
    room = min(_LABEL_MAX, g.col_gap - 36)
    for i, p in enumerate(positions):
        x = g.xs[i]
        small: list[str] = []
        for name, kind in layout[i]:
            if (i, name) not in box:
                continue
            y, h = box[(i, name)]
            n = panel.nodes[(p, name)]
            share = _pct(n / panel.anchors)
            where = "" if p == 0 else f" at {_where(p, anchor)}"
            tip = f"{name}{where}: {n:,} {unit} ({share})"
            stroke = (
                ' stroke="#868e96" stroke-width="0.6" stroke-dasharray="2 2"'
                if kind in ("start", "end")
                else ""
            )
            out.append(
                f'<g class="node" data-kind="{kind}"><title>{_esc(tip)}</title>'
                f'<rect x="{x:.1f}" y="{y:.2f}" width="{_NODE_W:.0f}" height="{max(h, 1.0):.2f}" '
                f'fill="{fill[name]}"{stroke}/></g>'
            )
            if h < _SMALL:
                small.append(f"{name} · {n:,} ({share})")
                continue
            lines = _label_lines(name, n, room, h, bold=p == 0)
            step = _SMALL * 1.15
            y0 = y + h / 2 + 4 - step * (len(lines) - 1) / 2
            text = "".join(
                _text(x + _NODE_W + 4, y0 + k * step, line, size=_SMALL, cls="label", bold=p == 0, halo=True)
                for k, line in enumerate(lines)
            )
            whole = " ".join(" ".join(lines).split())
            out.append(
                f"<g><title>{_esc(tip)}</title>{text}</g>"
                if not whole.startswith(" ".join(name.split()))
                else text
            )
        if small:
            tip = f"Too small to label at {_where(p, anchor)}: " + "; ".join(small)
            note = _text(
                x, plot_top + g.plot_h + 14, f"+{len(small)} small", size=_TINY, cls="small-note", fill=_GREY
            )
            out.append(f'<g class="small"><title>{_esc(tip)}</title>{note}</g>')
    out.append("</g>")
    return "".join(out)


def _label_lines(name: str, n: int, room: float, height: float, *, bold: bool) -> list[str]:
    """A node's label, "name · count": on one line when it fits ``room``, else the name
    wrapped on as many lines as the node's height holds (the count after it), else cut."""
    one = f"{name} · {n:,}"
    if text_width(one, _SMALL, bold=bold) <= room:
        return [one]
    count = f" · {n:,}"
    fit = int(height // (_SMALL * 1.15))
    if fit >= 2:
        lines = _wrap(name, room, fit, bold=bold)
        last = lines[-1] + count
        if text_width(last, _SMALL, bold=bold) <= room:
            return [*lines[:-1], last]
        if len(lines) < fit:
            return [*lines, f"{n:,}"]
        return [*_wrap(name, room, fit - 1, bold=bold), f"{n:,}"]
    return [_cut(name, room, count, bold)]


def _wrap(text: str, room: float, max_lines: int, *, bold: bool) -> list[str]:
    """``text`` broken at spaces into at most ``max_lines`` lines of ``room``; a word too
    wide for a line, and the last line when the rest does not fit, end with "…"."""
    lines: list[str] = []
    cur = ""
    for word in text.split() or [""]:
        trial = f"{cur} {word}" if cur else word
        if not cur or text_width(trial, _SMALL, bold=bold) <= room:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    lines.append(cur)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1 :])]
    return [shorten(t, room, _SMALL, bold=bold) for t in lines]


def _cut(name: str, room: float, count: str, bold: bool) -> str:
    return shorten(name, room - text_width(count, _SMALL, bold=bold), _SMALL, bold=bold) + count


def sankey_svg(
    *,
    positions: Sequence[int],
    layout: Sequence[Sequence[tuple[str, str]]],
    panels: Sequence[Panel],
    anchor: str,
    unit: str,
    subtitle: str,
    colour_order: Sequence[str],
) -> str:
    """SVG text of the paths Sankey: one panel per cohort, stacked, on one layout.

    Examples
    --------
    >>> from journeymine._paths_draw import Panel, sankey_svg
    >>> end = "(end of journey)"
    >>> panel = Panel(name=None, accounts=3, with_anchor=2, anchors=2,
    ...               nodes={(-1, "Visit"): 2, (0, "Demo"): 2, (1, "Trial"): 1, (1, end): 1},
    ...               links=[(-1, "Visit", "Demo", 2), (0, "Demo", "Trial", 1), (0, "Demo", end, 1)])
    >>> layout = [[("Visit", "activity")], [("Demo", "anchor")], [("Trial", "activity"), (end, "end")]]
    >>> svg = sankey_svg(positions=[-1, 0, 1], layout=layout, panels=[panel], anchor="Demo", unit="accounts",
    ...                  subtitle="One step before and after.", colour_order=["Visit", "Trial"])
    >>> svg.startswith("<svg"), svg.count('class="link"'), svg.count('<g class="node"')
    (True, 3, 4)
    """
    g = _geometry(positions, layout, panels, subtitle)
    fill = colours(layout, colour_order)
    title = f"Paths around {anchor}"
    parts = [
        _text(
            _M,
            _M + 16,
            shorten(title, g.width - 2 * _M, _TITLE, bold=True),
            size=_TITLE,
            cls="title",
            bold=True,
        ),
        *(
            _text(_M, _M + 36 + 15 * k, line, size=_SMALL, cls="subtitle", fill=_GREY)
            for k, line in enumerate(g.subtitle)
        ),
    ]
    y = _M + 36 + 15 * len(g.subtitle) + 6
    for k, panel in enumerate(panels):
        if k:
            parts.append(
                f'<line x1="{_M:.1f}" y1="{y - 6:.1f}" x2="{g.width - _M:.1f}" y2="{y - 6:.1f}" '
                f'stroke="{_FAINT}" stroke-width="1"/>'
            )
        body, h = _panel(panel, positions, layout, g, fill, anchor, unit, y)
        parts.append(body)
        y += h + 12
    height = y + _M - 12
    label = f"{title}: {len(positions)} steps, {len(panels)} panel{'s' if len(panels) != 1 else ''}"
    return "".join(
        [
            '<svg xmlns="http://www.w3.org/2000/svg" class="jm-paths" '
            f'viewBox="0 0 {g.width:.0f} {height:.0f}" '
            f'width="100%" style="max-width: {g.width:.0f}px; height: auto" '
            f'font-family="Helvetica, Arial, sans-serif" role="img" aria-label="{_esc(label)}">',
            f"<title>{_esc(label)}</title>",
            '<rect width="100%" height="100%" fill="#ffffff"/>',
            *parts,
            "</svg>",
        ]
    )


def fixed_size(svg: str) -> str:
    """The SVG with its natural size in pixels (from the ``viewBox``) instead of
    ``width="100%"``, for renderers without a container (cairosvg)."""
    head_end = svg.index(">")
    head = svg[:head_end]
    m = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', head)
    if m is None:  # pragma: no cover - every drawing has a viewBox
        return svg
    head = head.replace('width="100%"', f'width="{m.group(1)}" height="{m.group(2)}"', 1)
    head = re.sub(r' style="[^"]*"', "", head, count=1)
    return head + svg[head_end:]
