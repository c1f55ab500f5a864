"""The reliability diagram of an outcome model as SVG text (it knows no log).

Predicted probability (x) against the observed share (y) on equal axes (0 to the first of
2%, 5%, 10%, 20%, 25%, 50%, 100% above every dot, so that rare outcomes stay legible), with
the diagonal of perfect calibration. One series per model (the calibrated model, and the recency/frequency
baseline for comparison): a dot per bin of predictions (equal-count bins), its area growing
with the examples in the bin, joined by a line. Every dot has a ``<title>`` with its numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._retention_draw import _GREY, _INK, _M, _SMALL, _esc, _header, _svg, _text
from ._textsize import text_width

__all__ = ["ReliabilitySeries", "reliability_svg"]


def _pct(v: float) -> str:
    return f"{v:.0%}" if round(v * 100, 6).is_integer() else f"{v:.1%}"


_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")


@dataclass(frozen=True, eq=False)
class ReliabilitySeries:
    """One model's bins: mean ``predicted``, ``observed`` share and ``n`` examples."""

    name: str
    predicted: Sequence[float]
    observed: Sequence[float]
    n: Sequence[int]


def reliability_svg(series: Sequence[ReliabilitySeries], *, title: str, caption: str) -> str:
    """A square reliability diagram with a legend below it."""
    width = 420.0
    head, top = _header(title, caption, width)
    side = width - 2 * _M - 40
    x0, y0 = _M + 40, top + 6
    body = list(head)

    # the axes end at the first of these limits above every dot, so rare outcomes are legible
    top = max([0.0, *(v for s in series for v in (*s.predicted, *s.observed))])
    limit = next((c for c in (0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if top <= c), 1.0)

    def px(v: float) -> float:
        return x0 + max(0.0, min(1.0, v / limit)) * side

    def py(v: float) -> float:
        return y0 + side - max(0.0, min(1.0, v / limit)) * side

    body.append(
        f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{side:.1f}" height="{side:.1f}" fill="none" '
        f'stroke="{_GREY}" stroke-width="0.8"/>'
    )
    for t in (limit * f for f in (0.0, 0.25, 0.5, 0.75, 1.0)):
        body.append(
            f'<line x1="{px(t):.1f}" y1="{y0:.1f}" x2="{px(t):.1f}" y2="{y0 + side:.1f}" '
            'stroke="#e9ecef" stroke-width="0.8"/>'
        )
        body.append(
            f'<line x1="{x0:.1f}" y1="{py(t):.1f}" x2="{x0 + side:.1f}" y2="{py(t):.1f}" '
            'stroke="#e9ecef" stroke-width="0.8"/>'
        )
        body.append(_text(px(t), y0 + side + 14, _pct(t), size=_SMALL, anchor="middle", fill=_GREY))
        body.append(_text(x0 - 6, py(t) + 4, _pct(t), size=_SMALL, anchor="end", fill=_GREY))
    body.append(
        f'<line x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(limit):.1f}" y2="{py(limit):.1f}" '
        f'stroke="{_GREY}" stroke-dasharray="4 3" stroke-width="1"/>'
    )
    body.append(_text(x0 + side / 2, y0 + side + 30, "predicted probability", size=_SMALL, anchor="middle"))
    # the axis title clear of the widest tick label ("12.5%" reached under it)
    ticks = max(text_width(_pct(limit * f), _SMALL) for f in (0.0, 0.25, 0.5, 0.75, 1.0))
    ax = min(_M + 8, x0 - 6 - ticks - 8)
    body.append(
        f'<text x="{ax:.1f}" y="{y0 + side / 2:.1f}" font-size="{_SMALL}" fill="{_INK}" '
        'text-anchor="middle" '
        f'transform="rotate(-90 {ax:.1f} {y0 + side / 2:.1f})">observed share</text>'
    )
    total = max((sum(s.n) for s in series), default=1) or 1
    legend_y = y0 + side + 50
    for i, s in enumerate(series):
        colour = _COLOURS[i % len(_COLOURS)]
        pts = [(px(p), py(o)) for p, o in zip(s.predicted, s.observed, strict=False)]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        for (x, y), p, o, n in zip(pts, s.predicted, s.observed, s.n, strict=False):
            r = 2.5 + 9.0 * (n / total) ** 0.5
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" fill-opacity="0.75">'
                f"<title>{_esc(s.name)}: predicted {p:.1%}, observed {o:.1%} "
                f"({n:,} examples)</title></circle>"
            )
        body.append(f'<circle cx="{x0 + 6:.1f}" cy="{legend_y + 18 * i - 4:.1f}" r="5" fill="{colour}"/>')
        body.append(_text(x0 + 16, legend_y + 18 * i, s.name, size=_SMALL))
    height = legend_y + 18 * len(series) + _M
    return _svg(width, height, title, body, "jm-reliability")
