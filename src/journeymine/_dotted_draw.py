"""The dotted chart as SVG text (it knows no log).

Dots: a disc per (account row, pixel column, colour). Density: a rectangle per (row bin,
time bin), coloured by its most frequent category, opacity by its event count (seven
levels, log scale). The marks are one embedded PNG image (drawn here with numpy and
written with zlib, at twice the plot's size), so a chart of 15,000 dots or 48,000 cells is
tens of kilobytes, not megabytes of SVG elements; the axes, ticks, legend, cohort bands and
labels around it stay vector text. The exact points or cells are
:meth:`DottedChart.to_dataframe`. Cohort bands are separated by a line and labelled on the
left; the legend lists the colours. The same input gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import struct
import zlib
from collections.abc import Sequence

import numpy as np

from ._textsize import text_width, wrap

__all__ = ["dotted_svg"]

_INK, _GREY, _FAINT = "#212529", "#5c636a", "#dee2e6"
_FONT = "Helvetica, Arial, sans-serif"
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#7F3C8D", "#8C8C3C")
_OTHER = "#adb5bd"
_M = 20.0
_PLOT_W = 900.0
_OPACITY = (0.0, 0.14, 0.26, 0.4, 0.55, 0.7, 0.85, 1.0)
_SCALE = 2  # pixels per point of the marks' image


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
    for line in wrap(caption, width - 2 * _M, 10):
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
    image = _marks_png(mode, rows, cols, cats, level, n_rows, n_cols, colours, plot_h)
    body.append(
        f'<image class="marks" x="{x0:.1f}" y="{top:.1f}" width="{_PLOT_W:.1f}" height="{plot_h:.1f}" '
        f'preserveAspectRatio="none" style="image-rendering:pixelated" '
        f'href="data:image/png;base64,{image}"/>'
    )
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


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _marks_png(
    mode: str,
    rows: np.ndarray,
    cols: np.ndarray,
    cats: np.ndarray,
    level: np.ndarray,
    n_rows: int,
    n_cols: int,
    colours: list[str],
    plot_h: float,
) -> str:
    """The marks as a base64 PNG of the plot area at twice its size (RGBA)."""
    w, h = round(_PLOT_W * _SCALE), round(plot_h * _SCALE)
    img = np.zeros((h, w, 4), dtype=np.uint8)
    palette = np.array([[*_rgb(c), 255] for c in colours] or [[0, 0, 0, 255]], dtype=np.uint8)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    cats = np.asarray(cats, dtype=np.int64)
    row_h = h / max(n_rows, 1)
    col_w = w / max(n_cols, 1)
    if rows.size and mode == "dots":
        order = np.lexsort((cats, cols, rows))  # later marks on top, in a fixed order
        cx = ((cols[order] + 0.5) * col_w).astype(np.int64)
        cy = ((rows[order] + 0.5) * row_h).astype(np.int64)
        radius = min(max(row_h * 0.42, 1.1 * _SCALE), 3.2 * _SCALE)
        reach = int(np.ceil(radius))
        dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
        inside = dx * dx + dy * dy <= radius * radius + 0.25
        dy, dx = dy[inside], dx[inside]
        ys = np.clip(cy[:, None] + dy[None, :], 0, h - 1).ravel()
        xs = np.clip(cx[:, None] + dx[None, :], 0, w - 1).ravel()
        colour = palette[cats[order]].copy()
        colour[:, 3] = 217  # 85% opaque
        img[ys, xs] = np.repeat(colour, dy.size, axis=0)
    elif rows.size:
        grid = np.zeros((max(n_rows, 1), max(n_cols, 1), 4), dtype=np.uint8)
        colour = palette[cats].copy()
        alpha = np.asarray(_OPACITY)[np.asarray(level, dtype=np.int64)] * 255
        colour[:, 3] = np.round(alpha).astype(np.uint8)
        grid[rows, cols] = colour
        row_of = np.minimum((np.arange(h) / row_h).astype(np.int64), grid.shape[0] - 1)
        col_of = np.minimum((np.arange(w) / col_w).astype(np.int64), grid.shape[1] - 1)
        img = grid[row_of][:, col_of]
    return base64.b64encode(_png(img)).decode("ascii")


def _png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an RGBA image (8 bits per channel, no filter, zlib level 9)."""
    h, w = rgba.shape[:2]
    raw = np.concatenate([np.zeros((h, 1), dtype=np.uint8), rgba.reshape(h, w * 4)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(
        b"IEND", b""
    )
