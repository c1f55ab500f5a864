"""The retention heatmap and the lifecycle bars, as SVG text (they know no log).

Heatmap: one row per start period (label and size on the left), one column per period
since the start; the cell's colour is the share active (a sequential blue scale, legend
below), with the percentage written in it when there is room; censored cells (period not
over at the log's end) are hatched grey, never coloured as 0 %; cells not reached are
left blank; an empty start period is a row of its own. Every cell has a ``<title>`` with
its exact counts. Row and column labels are thinned so that they never overlap.

Lifecycle: stacked bars per calendar period, new, returning and resurrecting accounts
above zero and dormant ones below (growth accounting); a partial last period is hatched.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._textsize import text_width, wrap

__all__ = ["HeatPanel", "LifePanel", "heatmap_svg", "lifecycle_svg"]

_INK, _GREY, _FAINT = "#212529", "#5c636a", "#dee2e6"
_FONT = "Helvetica, Arial, sans-serif"
_M = 20.0
_TITLE, _LABEL, _SMALL = 15.0, 11.0, 10.0
#: the sequential scale (ColorBrewer Blues), share 0 → 1
_STOPS = ((0.0, (247, 251, 255)), (0.25, (198, 219, 239)), (0.5, (107, 174, 214)),
          (0.75, (33, 113, 181)), (1.0, (8, 48, 107)))  # fmt: skip
_LIFE = (("new", "#009E73"), ("returning", "#0072B2"), ("resurrecting", "#56B4E9"), ("dormant", "#D55E00"))
_HATCH_ID = "jm-retention-hatch"
_CENSORED_TIP = "period not over at the log's end"
_NICE = (1, 2, 3, 4, 5, 6, 7, 10, 12, 14, 20, 24, 25, 26, 28, 50, 52, 60, 100, 120, 182, 200, 364, 500, 1000)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def colour(share: float) -> str:
    """The fill of a share in [0, 1] on the sequential scale."""
    s = min(max(float(share), 0.0), 1.0)
    for (a, ca), (b, cb) in itertools.pairwise(_STOPS):
        if s <= b:
            t = (s - a) / (b - a)
            rgb = tuple(round(x + (y - x) * t) for x, y in zip(ca, cb, strict=True))
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#08306b"


def _step(needed: float, size: float) -> int:
    """The smallest nice label step so that labels ``needed`` px apart fit cells ``size`` wide."""
    want = math.ceil(needed / max(size, 1e-9))
    return next((n for n in _NICE if n >= want), want)


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = _LABEL,
    anchor: str = "start",
    fill: str = _INK,
    bold: bool = False,
    italic: bool = False,
) -> str:
    extra = (' font-weight="bold"' if bold else "") + (' font-style="italic"' if italic else "")
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" '
        f'fill="{fill}"{extra}>{_esc(text)}</text>'
    )




def _hatch_defs() -> str:
    return (
        f'<defs><pattern id="{_HATCH_ID}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f3f5"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#adb5bd" stroke-width="2"/></pattern></defs>'
    )


def _svg(width: float, height: float, label: str, body: list[str], cls: str) -> str:
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" font-family="{_FONT}" role="img" '
            f'aria-label="{_esc(label)}">',
            f"<title>{_esc(label)}</title>",
            _hatch_defs(),
            f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            *body,
            "</svg>",
        ]
    )


def _header(title: str, caption: str, width: float) -> tuple[list[str], float]:
    out = [_text(_M, _M + _TITLE, title, size=_TITLE, bold=True)]
    y = _M + _TITLE + 6
    for line in wrap(caption, width - 2 * _M, _SMALL):
        y += _SMALL + 4
        out.append(_text(_M, y, line, size=_SMALL, fill=_GREY))
    return out, y + 14


@dataclass(frozen=True, eq=False)
class HeatPanel:
    """One cohort's heatmap: ``rows`` (start-period labels), ``sizes``, and per cell
    [row, period index] the ``share``, ``active`` count (-1 where not reached),
    ``censored`` and ``reached`` flags."""

    name: str | None
    rows: list[str]
    sizes: np.ndarray
    share: np.ndarray
    active: np.ndarray
    censored: np.ndarray
    reached: np.ndarray


def _heat_geometry(panels: list[HeatPanel]) -> tuple[float, float, bool]:
    n_rows = max((len(p.rows) for p in panels), default=0)
    n_cols = max((p.share.shape[1] for p in panels if p.share.ndim == 2), default=0)
    cell_w = min(46.0, max(4.0, 860.0 / max(n_cols, 1)))
    cell_h = 22.0 if n_rows <= 24 else min(22.0, max(5.0, 640.0 / n_rows))
    return cell_w, cell_h, cell_w >= 32 and cell_h >= 15


def _heat_panel(
    p: HeatPanel, x0: float, y0: float, cell_w: float, cell_h: float, text_in: bool, unit: str
) -> tuple[list[str], float]:
    out: list[str] = ['<g class="panel">']
    y = y0
    if p.name is not None:
        out.append(_text(_M, y + 13, p.name, size=12.5, bold=True))
        y += 24
    n_rows, n_cols = p.share.shape if p.share.ndim == 2 else (len(p.rows), 0)
    col_step = _step(text_width("000", _SMALL) + 6, cell_w)
    out.append(_text(x0, y + 10, f"{unit}s since the start →", size=_SMALL, fill=_GREY))
    y += 16
    for k in range(0, n_cols, col_step):
        out.append(_text(x0 + (k + 0.5) * cell_w, y + 10, str(k), size=_SMALL, anchor="middle", fill=_GREY))
    y += 16
    out.append(_text(x0 - 8, y - 6, "accounts", size=_SMALL, anchor="end", fill=_GREY))
    out.append(_text(_M, y - 6, f"start {unit}", size=_SMALL, fill=_GREY))
    row_step = _step(_LABEL + 2, cell_h)
    for r in range(n_rows):
        top = y + r * cell_h
        size = int(p.sizes[r])
        if r % row_step == 0:
            base = top + cell_h / 2 + 4
            out.append(_text(_M, base, p.rows[r], size=_LABEL))
            out.append(_text(x0 - 8, base, f"{size:,}", size=_LABEL, anchor="end", fill=_GREY))
        if size == 0:
            reach = int(p.reached[r].sum())
            out.append(
                f'<g class="empty-row"><title>{_esc(p.rows[r])}: no account started this {unit}</title>'
                f'<rect x="{x0:.1f}" y="{top + 0.5:.1f}" width="{max(reach, 1) * cell_w:.1f}" '
                f'height="{max(cell_h - 1, 1):.1f}" fill="#ffffff" stroke="{_FAINT}" '
                f'stroke-dasharray="3,3"/></g>'
            )
            if cell_h >= 12 and reach * cell_w > 150:
                out.append(
                    _text(
                        x0 + 6,
                        top + cell_h / 2 + 4,
                        f"no account started this {unit}",
                        size=_SMALL,
                        fill=_GREY,
                        italic=True,
                    )
                )
            continue
        for k in range(n_cols):
            if not p.reached[r, k]:
                continue
            x = x0 + k * cell_w
            n_act = int(p.active[r, k])
            if p.censored[r, k]:
                tip = f"{p.rows[r]}, {unit} {k}: {_CENSORED_TIP} ({n_act:,} of {size:,} active so far)"
                fill = f"url(#{_HATCH_ID})"
                label = ""
            else:
                share = float(p.share[r, k])
                tip = f"{p.rows[r]}, {unit} {k}: {n_act:,} of {size:,} accounts active ({share:.1%})"
                fill = colour(share)
                label = f"{share:.0%}" if text_in else ""
            stroke = ' stroke="#ffffff" stroke-width="1"' if cell_w >= 8 and cell_h >= 8 else ""
            out.append(
                f'<rect x="{x:.1f}" y="{top:.1f}" width="{cell_w:.1f}" height="{cell_h:.1f}" '
                f'fill="{fill}"{stroke}><title>{_esc(tip)}</title></rect>'
            )
            if label:
                ink = "#ffffff" if float(p.share[r, k]) > 0.55 else _INK
                out.append(
                    _text(x + cell_w / 2, top + cell_h / 2 + 3.5, label, size=9.5, anchor="middle", fill=ink)
                )
    out.append("</g>")
    return out, y + n_rows * cell_h + 18


def _legend(x: float, y: float) -> tuple[list[str], float]:
    out = ['<g class="legend">', _text(x, y + 10, "share active", size=_SMALL, fill=_GREY)]
    gx = x + text_width("share active", _SMALL) + 8
    for i in range(20):
        out.append(f'<rect x="{gx + i * 8:.1f}" y="{y:.1f}" width="8" height="12" fill="{colour(i / 19)}"/>')
    for frac, lab in ((0.0, "0%"), (0.5, "50%"), (1.0, "100%")):
        out.append(_text(gx + frac * 160, y + 26, lab, size=_SMALL, anchor="middle", fill=_GREY))
    hx = gx + 190
    out.append(f'<rect x="{hx:.1f}" y="{y:.1f}" width="18" height="12" fill="url(#{_HATCH_ID})"/>')
    out.append(_text(hx + 24, y + 10, f"censored: {_CENSORED_TIP}", size=_SMALL, fill=_GREY))
    out.append("</g>")
    return out, y + 34


def heatmap_svg(panels: list[HeatPanel], *, title: str, unit: str, caption: str) -> str:
    """The retention heatmap of one or more cohorts (stacked panels), as SVG text."""
    cell_w, cell_h, text_in = _heat_geometry(panels)
    label_w = max(
        [text_width(r, _LABEL) for p in panels for r in p.rows] + [text_width(f"start {unit}", _SMALL)]
    )
    size_w = max(
        [text_width(f"{int(s):,}", _LABEL) for p in panels for s in p.sizes]
        + [text_width("accounts", _SMALL)]
    )
    x0 = _M + label_w + 12 + size_w + 8
    n_cols = max((p.share.shape[1] for p in panels if p.share.ndim == 2), default=0)
    width = max(x0 + n_cols * cell_w + _M, 640.0)
    body, y = _header(title, caption, width)
    for p in panels:
        part, y = _heat_panel(p, x0, y, cell_w, cell_h, text_in, unit)
        body.extend(part)
    legend, y = _legend(_M, y)
    body.extend(legend)
    return _svg(width, y + _M, title, body, "jm-retention")


@dataclass(frozen=True, eq=False)
class LifePanel:
    """One cohort's lifecycle: calendar ``periods`` and ``counts`` [period, (new,
    returning, resurrecting, dormant)]; ``partial`` when the last period had not ended."""

    name: str | None
    periods: list[str]
    counts: np.ndarray
    partial: bool


def _ticks(top: float) -> list[int]:
    if top <= 0:
        return [0]
    raw = top / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [round(i * step) for i in range(int(top // step) + 1)]


def _life_panel(
    p: LifePanel, y0: float, x0: float, bw: float, plot_h: float, top: float, down: float
) -> tuple[list[str], float]:
    out = ['<g class="panel">']
    y = y0
    if p.name is not None:
        out.append(_text(_M, y + 13, p.name, size=12.5, bold=True))
        y += 24
    c = p.counts.reshape(-1, 4) if p.counts.size else np.zeros((len(p.periods), 4), dtype=np.int64)
    up = c[:, :3].sum(axis=1)
    span = max(top + down, 1.0)
    scale = plot_h / span
    zero = y + top * scale
    n = len(p.periods)
    right = x0 + n * bw
    out.extend(diverging_axis(x0, right, zero, scale, top, down, lambda v: f"{v:,}"))
    w = max(bw * 0.78, 1.0)
    for i in range(n):
        x = x0 + i * bw + (bw - w) / 2
        last = p.partial and i == n - 1
        tip = (
            f"{p.periods[i]}{' (partial: not over at the log’s end)' if last else ''}: "
            f"{int(up[i]):,} active = {int(c[i, 0]):,} new + {int(c[i, 1]):,} returning + "
            f"{int(c[i, 2]):,} resurrecting; {int(c[i, 3]):,} dormant"
        )
        out.append(f'<g class="bar"><title>{_esc(tip)}</title>')
        base = zero
        for j in range(3):
            h = c[i, j] * scale
            if h > 0:
                base -= h
                out.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{w:.1f}" height="{h:.1f}" '
                    f'fill="{_LIFE[j][1]}"/>'
                )
        if c[i, 3] > 0:
            out.append(
                f'<rect x="{x:.1f}" y="{zero:.1f}" width="{w:.1f}" height="{c[i, 3] * scale:.1f}" '
                f'fill="{_LIFE[3][1]}"/>'
            )
        if last:
            y_top = zero - up[i] * scale
            out.append(
                f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{w:.1f}" '
                f'height="{max((up[i] + c[i, 3]) * scale, 1):.1f}" fill="url(#{_HATCH_ID})" '
                'fill-opacity="0.7"/>'
            )
        out.append("</g>")
    label_step = _step(max((text_width(s, _SMALL) for s in p.periods), default=0.0) + 8, bw)
    bottom = zero + down * scale
    for i in range(0, n, label_step):
        out.append(
            _text(x0 + (i + 0.5) * bw, bottom + 14, p.periods[i], size=_SMALL, anchor="middle", fill=_GREY)
        )
    out.append("</g>")
    return out, bottom + 30


def diverging_axis(
    x0: float, right: float, zero: float, scale: float, top: float, down: float, label: Callable[[int], str]
) -> list[str]:
    """Gridlines and their labels above and below a zero line (``label`` writes a tick's
    value; below zero it gets the negative), and the zero line: the frame of bars that go
    both ways (the lifecycle chart, the revenue waterfall)."""
    out = []
    for t in _ticks(max(top, down)):
        for sign in (1, -1) if t else (1,):
            if (sign == 1 and t > top) or (sign == -1 and t > down):
                continue
            ty = zero - sign * t * scale
            out.append(
                f'<line x1="{x0:.1f}" x2="{right:.1f}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{_FAINT}" '
                'stroke-width="1"/>'
            )
            text = label(-t if sign < 0 else t)
            out.append(_text(x0 - 6, ty + 3.5, text, size=_SMALL, anchor="end", fill=_GREY))
    out.append(
        f'<line x1="{x0:.1f}" x2="{right:.1f}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="{_INK}" '
        'stroke-width="1"/>'
    )
    return out


def lifecycle_svg(panels: list[LifePanel], *, title: str, caption: str) -> str:
    """The lifecycle bars of one or more cohorts (stacked panels), as SVG text."""
    n = max((len(p.periods) for p in panels), default=0)
    bw = min(36.0, max(3.0, 860.0 / max(n, 1)))
    tops = [int(p.counts.sum(axis=1).max()) if p.counts.size else 0 for p in panels]
    x0 = _M + text_width(f"-{max([*tops, 0]):,}", _SMALL) + 10
    width = max(x0 + n * bw + _M, 640.0)
    body, y = _header(title, caption, width)
    y += 10  # the legend's swatches reach 10 px above its baseline
    lx = _M
    legend = ['<g class="legend">']
    for name, fill in _LIFE:
        text = name + (" (below zero)" if name == "dormant" else "")
        legend.append(f'<rect x="{lx:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{fill}"/>')
        legend.append(_text(lx + 16, y, text, size=_SMALL, fill=_INK))
        lx += 16 + text_width(text, _SMALL) + 18
    legend.append(f'<rect x="{lx:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="url(#{_HATCH_ID})"/>')
    legend.append(_text(lx + 16, y, "partial period", size=_SMALL, fill=_INK))
    legend.append("</g>")
    body.extend(legend)
    y += 16
    plot_h = 220.0 if len(panels) <= 3 else 150.0
    # one scale for every panel, so that the cohorts' bars compare
    top = max((float(p.counts[:, :3].sum(axis=1).max()) for p in panels if p.counts.size), default=0.0)
    down = max((float(p.counts[:, 3].max()) for p in panels if p.counts.size), default=0.0)
    for p in panels:
        part, y = _life_panel(p, y, x0, bw, plot_h, top, down)
        body.extend(part)
    return _svg(width, y + _M, title, body, "jm-lifecycle")
