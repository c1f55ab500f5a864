"""The dotted chart as SVG text (it knows no log).

Dots: a circle per (account row, pixel column, colour). Density: a rectangle per (row bin,
time bin), coloured by its most frequent category, opacity by its event count (seven
levels, log scale); runs of equal neighbouring cells in a row are one rectangle. Cohort
bands are separated by a line and labelled on the left; the legend lists the colours.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from ._textsize import text_width

__all__ = ["dotted_svg"]

_INK, _GREY, _FAINT = "#212529", "#5c636a", "#dee2e6"
_FONT = "Helvetica, Arial, sans-serif"
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#7F3C8D", "#8C8C3C")
_OTHER = "#adb5bd"
_M = 20.0
_PLOT_W = 900.0
_OPACITY = (0.0, 0.14, 0.26, 0.4, 0.55, 0.7, 0.85, 1.0)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = 11.0,
    anchor: str = "start",
    fill: str = _INK,
    bold: bool = False,
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" fill="{fill}"'
        f"{weight}>{_esc(text)}</text>"
    )


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        trial = f"{current} {word}".strip()
        if current and text_width(trial, size) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current] if current else lines


def _short(name: str, width: float, size: float) -> str:
    if text_width(name, size, bold=True) <= width:
        return name
    while name and text_width(name + "…", size, bold=True) > width:
        name = name[:-1]
    return name + "…"


def _colours(legend: Sequence[str]) -> list[str]:
    return [
        _OTHER if name == "other" and i == len(legend) - 1 else _PALETTE[i % len(_PALETTE)]
        for i, name in enumerate(legend)
    ]


def dotted_svg(
    *,
    mode: str,
    rows: np.ndarray,
    cols: np.ndarray,
    cats: np.ndarray,
    level: np.ndarray,
    n_rows: int,
    n_cols: int,
    legend: list[str],
    bands: list[tuple[str, int, int]],
    ticks: list[tuple[float, str]],
    x_label: str,
    y_label: str,
    title: str,
    caption: str,
) -> str:
    """The chart: ``rows``/``cols`` index the row and the column (pixel or time bin),
    ``cats`` the legend, ``level`` the density opacity (1–7; 7 for dots)."""
    colours = _colours(legend)
    show_bands = len(bands) > 1 or (bands and bands[0][0] != "(all)")
    label_w = 150.0 if show_bands else 0.0
    x0 = _M + label_w + (10 if show_bands else 0)
    width = x0 + _PLOT_W + _M
    body = [_text(_M, _M + 15, title, size=15, bold=True)]
    y = _M + 21
    for line in _wrap(caption, width - 2 * _M, 10):
        y += 14
        body.append(_text(_M, y, line, size=10, fill=_GREY))
    y += 20
    lx = _M
    body.append('<g class="legend">')
    for name, fill in zip(legend, colours, strict=True):
        w = 16 + text_width(name, 10.5) + 16
        if lx + w > width - _M:
            lx, y = _M, y + 18
        body.append(f'<circle cx="{lx + 5:.1f}" cy="{y - 4:.1f}" r="5" fill="{fill}"/>')
        body.append(_text(lx + 14, y, name, size=10.5))
        lx += w
    body.append("</g>")
    top = y + 14
    plot_h = float(min(max(n_rows * 7, 240), 760))
    row_h = plot_h / max(n_rows, 1)
    col_w = _PLOT_W / max(n_cols, 1)
    body.append(
        f'<rect x="{x0:.1f}" y="{top:.1f}" width="{_PLOT_W:.1f}" height="{plot_h:.1f}" fill="#fbfcfd" '
        f'stroke="{_FAINT}"/>'
    )
    for frac, lab in ticks:
        tx = x0 + frac * _PLOT_W
        body.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top:.1f}" y2="{top + plot_h:.1f}" stroke="{_FAINT}"/>'
        )
        body.append(_text(tx, top + plot_h + 14, lab, size=10, anchor="middle", fill=_GREY))
    body.append(_text(x0 + _PLOT_W / 2, top + plot_h + 30, x_label, size=10.5, anchor="middle", fill=_GREY))
    if show_bands:
        for name, first, count in bands:
            by = top + first * row_h
            body.append(
                f'<line x1="{_M:.1f}" x2="{x0 + _PLOT_W:.1f}" y1="{by:.1f}" y2="{by:.1f}" stroke="{_GREY}" '
                'stroke-width="0.8"/>'
            )
            mid = by + count * row_h / 2
            body.append(
                f'<g class="band"><title>{_esc(name)}: {count:,} rows</title>'
                + _text(_M, mid + 4, _short(name, label_w, 11), size=11, bold=True)
                + "</g>"
            )
    body.append(_text(x0 + _PLOT_W, top - 4, y_label, size=10, anchor="end", fill=_GREY))
    body.append('<g class="marks">')
    if mode == "dots":
        r = min(max(row_h * 0.42, 1.1), 3.2)
        order = np.lexsort((cats, cols, rows))
        for i in order:
            cx = x0 + (cols[i] + 0.5) * col_w
            cy = top + (rows[i] + 0.5) * row_h
            body.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.2f}" r="{r:.2f}" fill="{colours[int(cats[i])]}" '
                'fill-opacity="0.85"/>'
            )
    else:
        order = np.lexsort((cols, rows))
        runs: list[tuple[int, int, int, int, int]] = []  # row, first col, last col, cat, level
        for i in order:
            r_, c_, k_, l_ = int(rows[i]), int(cols[i]), int(cats[i]), int(level[i])
            if (
                runs
                and runs[-1][0] == r_
                and runs[-1][2] == c_ - 1
                and runs[-1][3] == k_
                and runs[-1][4] == l_
            ):
                runs[-1] = (r_, runs[-1][1], c_, k_, l_)
            else:
                runs.append((r_, c_, c_, k_, l_))
        for r_, c0, c1, k_, l_ in runs:
            body.append(
                f'<rect x="{x0 + c0 * col_w:.1f}" y="{top + r_ * row_h:.2f}" '
                f'width="{(c1 - c0 + 1) * col_w:.1f}" '
                f'height="{max(row_h, 0.5):.2f}" fill="{colours[k_]}" fill-opacity="{_OPACITY[l_]:g}"/>'
            )
    body.append("</g>")
    height = top + plot_h + 40 + _M
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="jm-dotted" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
            f'font-family="{_FONT}" role="img" aria-label="{_esc(title)}">',
            f"<title>{_esc(title)}</title>",
            f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            *body,
            "</svg>",
        ]
    )
