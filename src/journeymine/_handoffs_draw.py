"""The swimlane view of handoffs, as SVG text (it knows no log).

A lane per team, top to bottom; the journey's stages left to right; in each lane a circle
per stage whose area is the team's touches there; and an arrow per frequent handoff from the
sending team's lane to the receiving one's, at the stage where the receiver touches most,
its width growing with the count and its label giving the count and the median lag. Every
mark has a ``<title>`` with its figures; every name is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from ._textsize import text_width

__all__ = ["swimlane_svg"]

_INK, _GREY, _FAINT, _LANE = "#212529", "#5c636a", "#dee2e6", "#f8f9fa"
_FILL, _ARROW = "#0072B2", "#D55E00"
_FONT = "Helvetica, Arial, sans-serif"
_M, _LANE_H, _COL_W = 20.0, 64.0, 120.0


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def swimlane_svg(
    *,
    teams: Sequence[str],
    stages: Sequence[str],
    touches: dict[tuple[str, str], int],
    handoffs: Sequence[tuple[str, str, int, float]],
    title: str,
    note: str = "",
) -> str:
    """The swimlane SVG: ``touches[(team, stage)]``, ``handoffs`` as (from, to, count,
    median lag in days), most frequent first."""
    label_w = max((text_width(t, 12.0) for t in teams), default=40.0) + 24
    x0 = _M + label_w
    top = _M + 46
    width = x0 + max(len(stages), 1) * _COL_W + _M
    height = top + max(len(teams), 1) * _LANE_H + (62 if note else 48)
    peak = max(touches.values(), default=1)
    lane = {t: i for i, t in enumerate(teams)}
    col = {s: i for i, s in enumerate(stages)}

    def cx(stage: str) -> float:
        return x0 + (col[stage] + 0.5) * _COL_W

    def cy(team: str) -> float:
        return top + (lane[team] + 0.5) * _LANE_H

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jm-swimlane" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" font-family="{_FONT}" role="img" '
        f'aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{_M:.0f}" y="{_M + 14:.0f}" font-size="15" font-weight="bold" fill="{_INK}">'
        f"{_esc(title)}</text>",
        '<defs><marker id="jm-swim-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9" '
        f'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{_ARROW}"/></marker></defs>',
    ]
    for s in stages:
        out.append(
            f'<text x="{cx(s):.1f}" y="{top - 8:.1f}" font-size="11" text-anchor="middle" '
            f'fill="{_GREY}">{_esc(s)}</text>'
        )
    for t in teams:
        y = top + lane[t] * _LANE_H
        out.append(
            f'<rect class="lane" x="{_M:.0f}" y="{y:.1f}" width="{width - 2 * _M:.0f}" '
            f'height="{_LANE_H - 4:.0f}" fill="{_LANE}" stroke="{_FAINT}"/>'
        )
        out.append(
            f'<text x="{_M + 8:.0f}" y="{cy(t) + 4:.1f}" font-size="12" font-weight="bold" '
            f'fill="{_INK}">{_esc(t)}</text>'
        )
        for s in stages:
            n = touches.get((t, s), 0)
            if n:
                r = 4 + 18 * math.sqrt(n / peak)
                out.append(
                    f'<circle class="touches" cx="{cx(s):.1f}" cy="{cy(t):.1f}" r="{r:.1f}" fill="{_FILL}" '
                    f'fill-opacity="0.55"><title>{_esc(f"{t} at {s}: {n:,} touches")}</title></circle>'
                )
    top_count = max((h[2] for h in handoffs), default=1)
    slots: dict[str, int] = {}  # arrows already drawn at a stage: each takes the next slot
    for a, b, count, lag in handoffs:
        if a not in lane or b not in lane or a == b:
            continue
        # at the stage where the receiving team touches most
        stage = max(stages, key=lambda s: (touches.get((b, s), 0), -col[s])) if stages else None
        if stage is None:
            continue
        k = slots.get(stage, 0)
        slots[stage] = k + 1
        x = cx(stage) - 28 + 30 * (k % 3)
        y1, y2 = cy(a), cy(b)
        y1 += 14 if y2 > y1 else -14
        y2 += -16 if y2 > y1 else 16
        w = 1.5 + 5 * count / top_count
        tip = f"{a} → {b}: {count:,} handoffs, median lag {lag:.1f} days"
        out.append(
            f'<g class="handoff"><title>{_esc(tip)}</title><line x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" '
            f'y2="{y2:.1f}" stroke="{_ARROW}" stroke-width="{w:.1f}" stroke-opacity="0.8" '
            'marker-end="url(#jm-swim-arrow)"/>'
            f'<text x="{x + 6:.1f}" y="{(y1 + y2) / 2:.1f}" font-size="10" fill="{_INK}">'
            f"{count:,} · {lag:.0f} d</text></g>"
        )
    out.append(
        f'<text x="{_M:.0f}" y="{height - 22:.0f}" font-size="10" fill="{_GREY}">Circles: touches per team '
        "and stage (area). Arrows: handoffs between teams (count · median lag in days),</text>"
    )
    out.append(
        f'<text x="{_M:.0f}" y="{height - 9:.0f}" font-size="10" fill="{_GREY}">drawn at the stage where '
        "the receiving team touches most; hover for the figures.</text>"
    )
    if note:
        out.append(
            f'<text x="{_M:.0f}" y="{height - 36:.0f}" font-size="10" fill="{_GREY}">{_esc(note)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
