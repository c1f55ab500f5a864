"""The revenue waterfall as SVG text (it knows no log).

One panel per cohort, one column per calendar period: the recurring revenue added in the
period (new, reactivation, expansion) stacked above zero, the revenue lost (contraction,
churned) below, and the closing recurring revenue as a line with dots on its own axis
(right). A partial last period (not over at the log's end) is hatched. Every bar has a
``<title>`` with its amounts. The frame, ticks, legend and hatching are the lifecycle
chart's (:mod:`journeymine._retention_draw`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._retention_draw import (
    _GREY,
    _HATCH_ID,
    _INK,
    _M,
    _SMALL,
    _esc,
    _header,
    _step,
    _svg,
    _text,
    _ticks,
    diverging_axis,
)
from ._textsize import text_width

__all__ = ["WaterfallPanel", "waterfall_svg"]

_UP = (("new", "#009E73"), ("reactivation", "#56B4E9"), ("expansion", "#0072B2"))
_DOWN = (("contraction", "#E69F00"), ("churned", "#D55E00"))
_LINE = "#212529"


@dataclass(frozen=True, eq=False)
class WaterfallPanel:
    """One cohort's waterfall: calendar ``periods``, the amounts ``up`` [period, (new,
    reactivation, expansion)] and ``down`` [period, (contraction, churned)], the
    ``closing`` recurring revenue, and ``partial`` when the last period had not ended."""

    name: str | None
    periods: list[str]
    up: np.ndarray
    down: np.ndarray
    closing: np.ndarray
    partial: bool


def _money(v: float) -> str:
    """Amounts on axes: 1.2M, 350k, 900."""
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.3g}B"
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.0f}"


def waterfall_svg(panels: list[WaterfallPanel], *, title: str, caption: str) -> str:
    """The revenue waterfall of one or more cohorts (stacked panels), as SVG text."""
    n = max((len(p.periods) for p in panels), default=0)
    bw = min(40.0, max(4.0, 820.0 / max(n, 1)))
    top = max((float(p.up.sum(axis=1).max()) for p in panels if p.up.size), default=0.0)
    down = max((float(p.down.sum(axis=1).max()) for p in panels if p.down.size), default=0.0)
    peak = max((float(p.closing.max()) for p in panels if p.closing.size), default=0.0)
    x0 = _M + text_width(f"-{_money(max(top, down))}", _SMALL) + 10
    right_axis = text_width(_money(peak), _SMALL) + 12
    width = max(x0 + n * bw + right_axis + _M, 640.0)
    body, y = _header(title, caption, width)
    y += 10
    line_text = "closing recurring revenue (right axis)"
    items: list[tuple[str, str]] = [
        *(
            (
                f'<rect x="{{x:.1f}}" y="{{y:.1f}}" width="12" height="12" fill="{fill}"/>',
                name + (" (below zero)" if (name, fill) in _DOWN else ""),
            )
            for name, fill in (*_UP, *_DOWN)
        ),
        (
            f'<line x1="{{x:.1f}}" x2="{{x2:.1f}}" y1="{{ym:.1f}}" y2="{{ym:.1f}}" stroke="{_LINE}" '
            'stroke-width="2"/>',
            line_text,
        ),
        (
            f'<rect x="{{x:.1f}}" y="{{y:.1f}}" width="12" height="12" fill="url(#{_HATCH_ID})"/>',
            "partial period",
        ),
    ]
    lx = _M
    legend = ['<g class="legend">']
    for mark, text in items:
        item_w = 16 + text_width(text, _SMALL) + 18
        if lx > _M and lx + item_w > width - _M:  # wrap: the legend never leaves the picture
            lx, y = _M, y + 18
        legend.append(mark.format(x=lx, x2=lx + 12, y=y - 10, ym=y - 4))
        legend.append(_text(lx + 16, y, text, size=_SMALL, fill=_INK))
        lx += item_w
    legend.append("</g>")
    body.extend(legend)
    y += 16
    plot_h = 220.0 if len(panels) <= 3 else 150.0
    for p in panels:
        part, y = _panel(p, y, x0, bw, plot_h, top, down, peak)
        body.extend(part)
    return _svg(width, y + _M, title, body, "jm-revenue")


def _panel(
    p: WaterfallPanel, y0: float, x0: float, bw: float, plot_h: float, top: float, down: float, peak: float
) -> tuple[list[str], float]:
    out = ['<g class="panel">']
    y = y0
    if p.name is not None:
        out.append(_text(_M, y + 13, p.name, size=12.5, bold=True))
        y += 24
    n = len(p.periods)
    scale = plot_h / max(top + down, 1.0)
    zero = y + top * scale
    right = x0 + n * bw
    out.extend(diverging_axis(x0, right, zero, scale, top, down, _money))
    w = max(bw * 0.72, 1.0)
    bottom = zero + down * scale
    for i in range(n):
        x = x0 + i * bw + (bw - w) / 2
        last = p.partial and i == n - 1
        u, d = p.up[i], p.down[i]
        tip = (
            f"{p.periods[i]}{' (partial: not over at the log’s end)' if last else ''}: "
            + ", ".join(f"{name} {v:,.0f}" for (name, _), v in zip(_UP, u, strict=True))
            + "; "
            + ", ".join(f"{name} {v:,.0f}" for (name, _), v in zip(_DOWN, d, strict=True))
            + f"; closing {p.closing[i]:,.0f}"
        )
        out.append(f'<g class="bar"><title>{_esc(tip)}</title>')
        base = zero
        for j, (_, fill) in enumerate(_UP):
            h = u[j] * scale
            if h > 0:
                base -= h
                out.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"/>'
                )
        base = zero
        for j, (_, fill) in enumerate(_DOWN):
            h = d[j] * scale
            if h > 0:
                out.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"/>'
                )
                base += h
        if last:
            h = max((u.sum() + d.sum()) * scale, 1.0)
            out.append(
                f'<rect x="{x:.1f}" y="{zero - u.sum() * scale:.1f}" width="{w:.1f}" height="{h:.1f}" '
                f'fill="url(#{_HATCH_ID})" fill-opacity="0.7"/>'
            )
        out.append("</g>")
    # the closing recurring revenue on its own scale, from the panel's top to its bottom
    if n and peak > 0:
        line_scale = (bottom - y) / peak
        pts = [(x0 + (i + 0.5) * bw, bottom - p.closing[i] * line_scale) for i in range(n)]
        path = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="{_LINE}" stroke-width="2"/>')
        for i, (px, py) in enumerate(pts):
            out.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{_LINE}">'
                f"<title>{_esc(f'{p.periods[i]}: closing recurring revenue {p.closing[i]:,.0f}')}</title>"
                "</circle>"
            )
        for t in _ticks(peak):
            ty = bottom - t * line_scale
            out.append(_text(right + 6, ty + 3.5, _money(t), size=_SMALL, anchor="start", fill=_GREY))
    label_step = _step(max((text_width(s, _SMALL) for s in p.periods), default=0.0) + 8, bw)
    for i in range(0, n, label_step):
        out.append(
            _text(x0 + (i + 0.5) * bw, bottom + 14, p.periods[i], size=_SMALL, anchor="middle", fill=_GREY)
        )
    out.append("</g>")
    return out, bottom + 30
