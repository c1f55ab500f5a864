"""How much room a piece of SVG text takes, estimated without a font.

A drawing written as SVG does not know which font will show it: Helvetica or Arial in a
browser, DejaVu Sans when cairosvg renders a PNG on a server. Layout and the legibility
audit therefore estimate a text's extent from its font size and its characters, on the
conservative side, so that a label that fits here fits in every one of those fonts.

Per character, in ems (multiples of the font size):

* 0.65 for lower-case letters, digits, spaces and most punctuation (DejaVu Sans, the widest
  of the fonts above, is at most 0.64 for these);
* 0.80 for capitals (DejaVu Sans: at most 0.79, apart from M and W);
* 1.00 for M, W, m, w and wide symbols (% @ # & + < = > ~ … →) and for East Asian wide and
  full-width characters (CJK ideographs, kana, hangul);
* 1.25 for emoji and other pictographs (wider than a CJK cell in colour-emoji fonts);
* 0 for combining marks, zero-width joiners and variation selectors.

Bold text is 10 % wider, and ``letter-spacing`` adds its amount per character. A line of
text reaches 0.92 em above its baseline and 0.26 em below it (DejaVu Sans: 0.93 with
accents on capitals, 0.24 below).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["ASCENT", "DESCENT", "char_em", "shorten", "svg_text", "text_box", "text_width", "wrap"]

ASCENT, DESCENT = 0.92, 0.26
_WIDE_LATIN = frozenset("MWmw%@#&+<=>~^…→←↘")


@lru_cache(maxsize=4096)
def char_em(ch: str) -> float:
    """The estimated advance of one character, in ems."""
    if ch in _WIDE_LATIN:
        return 1.0
    code = ord(ch)
    if code < 0x80:
        return 0.8 if ch.isupper() else 0.65
    if unicodedata.combining(ch) or code in (0x200B, 0x200C, 0x200D, 0x2060) or 0xFE00 <= code <= 0xFE0F:
        return 0.0
    if 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0x1F900 <= code <= 0x1F9FF:
        return 1.25
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    return 0.8 if ch.isupper() else 0.65


def text_width(text: str, size: float, *, bold: bool = False, letter_spacing: float = 0.0) -> float:
    """The estimated width of one line of ``text`` at ``size`` px (see the module notes)."""
    em = sum(char_em(c) for c in text)
    return em * size * (1.1 if bold else 1.0) + letter_spacing * len(text)


def text_box(
    x: float,
    y: float,
    lines: list[str] | tuple[str, ...],
    size: float,
    *,
    anchor: str = "start",
    line_height: float | None = None,
    bold: bool = False,
    letter_spacing: float = 0.0,
) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` around lines of text whose first baseline is at ``y``.

    ``anchor`` is the SVG ``text-anchor`` (start, middle, end); the lines follow one
    another ``line_height`` apart (1.15 em by default)."""
    step = size * 1.15 if line_height is None else line_height
    width = max((text_width(t, size, bold=bold, letter_spacing=letter_spacing) for t in lines), default=0.0)
    if anchor == "middle":
        x0 = x - width / 2
    elif anchor == "end":
        x0 = x - width
    else:
        x0 = x
    return (x0, y - ASCENT * size, x0 + width, y + step * (len(lines) - 1) + DESCENT * size)


def wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` split at spaces into lines no wider than ``width`` points at font ``size``
    (a single word wider than that stays whole on its line).

    Examples
    --------
    >>> wrap("went on to the next step", 80, 11)
    ['went on to', 'the next', 'step']
    """
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


def svg_text(
    x: float,
    y: float,
    text: str,
    *,
    size: float,
    cls: str,
    anchor: str = "start",
    bold: bool = False,
    fill: str = "#212529",
    halo: bool = False,
) -> str:
    """One SVG ``<text>`` element, its text escaped, over a white halo when ``halo``.

    Examples
    --------
    >>> svg_text(1, 2, "<b>", size=10, cls="label")
    '<text class="label" x="1.0" y="2.0" font-size="10" fill="#212529">&lt;b&gt;</text>'
    """
    import html

    common = f'x="{x:.1f}" y="{y:.1f}" font-size="{size:g}"'
    if anchor != "start":
        common += f' text-anchor="{anchor}"'
    if bold:
        common += ' font-weight="bold"'
    t = html.escape(str(text), quote=True)
    under = ""
    if halo:
        under = (
            f'<text {common} fill="none" stroke="#ffffff" stroke-width="3" stroke-linejoin="round">{t}</text>'
        )
    return f'{under}<text class="{cls}" {common} fill="{fill}">{t}</text>'


def shorten(text: str, width: float, size: float, *, bold: bool = False) -> str:
    """``text``, cut and ended with "…" where it is wider than ``width`` points at font
    ``size``.

    Examples
    --------
    >>> shorten("Contract signed", 40, 10)
    'Cont…'
    """
    if text_width(text, size, bold=bold) <= width:
        return text
    room = width / (size * (1.1 if bold else 1.0)) - char_em("…")
    used = 0.0
    for i, ch in enumerate(text):
        used += char_em(ch)
        if used > room:
            return text[:i].rstrip() + "…"
    return text  # pragma: no cover - the text was wider than the room
