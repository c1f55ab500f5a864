"""How every result shows itself in a notebook: one HTML table, one mime bundle.

Results derive from :class:`Displayed` and write their HTML with :func:`table` and
:func:`section`; Jupyter calls :meth:`Displayed._repr_mimebundle_`, which always holds a
``text/plain`` fallback (the ``repr``), the ``text/html`` view, and ``image/svg+xml`` for a
result that draws itself (a map). Every piece of text from the data is escaped here, so a
cohort or an activity named ``<script>`` is shown as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Container, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Displayed", "GraphvizDisplayed", "error", "escape", "fit", "note", "section", "table"]

#: rows shown by :func:`table` before it says how many more there are
MAX_ROWS = 20


#: the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): inside
#: a name, U+202E reverses the text after it on the page, names of other accounts included
_BIDI_CONTROLS = {cp: f"[U+{cp:04X}]" for cp in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def visible_bidi(text: str) -> str:
    """``text`` with bidirectional control characters written out as ``[U+202E]``, so
    that a name cannot turn the text around it (as code review tools show them).

    Examples
    --------
    >>> visible_bidi("Visit \u202eevil")
    'Visit [U+202E]evil'
    """
    return text.translate(_BIDI_CONTROLS)


def escape(value: Any) -> str:
    """``value`` as HTML text (quotes escaped too)."""
    return html.escape(str(value))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "–" if value != value else f"{value:,.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def table(
    frame: pd.DataFrame,
    *,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    max_rows: int = MAX_ROWS,
    index: bool = False,
) -> str:
    """An HTML ``<table>`` of ``frame``: every header and cell escaped.

    ``formats`` maps a column to a function giving a cell's text (the default writes floats
    with four significant digits and NaN as "–"); ``index=True`` shows the index as a first
    column (headed by its name).

    Examples
    --------
    >>> import pandas as pd
    >>> from journeymine._display import table
    >>> table(pd.DataFrame({"cohort": ["<b>"], "share": [0.5]}), formats={"share": "{:.0%}".format})
    '<table><tr><th>cohort</th><th>share</th></tr><tr><td>&lt;b&gt;</td><td>50%</td></tr></table>'
    """
    fmt = dict(formats or {})
    shown = frame.head(max_rows)
    heads = ([str(frame.index.name or "")] if index else []) + [str(c) for c in frame.columns]
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    rows = []
    for label, values in zip(shown.index, shown.itertuples(index=False, name=None), strict=True):
        cells = [f"<th style='text-align:left'>{escape(label)}</th>"] if index else []
        for column, value in zip(frame.columns, values, strict=True):
            text = fmt[column](value) if column in fmt else _cell(value)
            cells.append(f"<td>{escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = ""
    if len(frame) > max_rows:
        more = f"<tr><td colspan='{len(heads)}'><em>… {len(frame) - max_rows:,} more rows</em></td></tr>"
    return f"<table><tr>{head}</tr>{''.join(rows)}{more}</table>"


def section(kind: str, title: str, *parts: str) -> str:
    """A result's HTML: a ``<div class='journeymine-{kind}'>`` with an escaped bold title
    and the given (already escaped) parts."""
    return f"<div class='journeymine-{kind}'><strong>{escape(title)}</strong>{''.join(parts)}</div>"


_SVG_TAG = re.compile(r"<svg\b[^>]*>")
_SIZE = re.compile(r'\s(width|height)="([\d.]+)(px|pt)?"')


def fit(svg: str) -> str:
    """``svg`` drawn at its own size but never wider than its container (a notebook column):
    the root element's fixed ``width``/``height`` become ``width="100%"`` with that width
    as ``max-width``, and the ``viewBox`` scales the drawing. A drawing without a viewBox,
    or one that already scales, is returned unchanged.

    Examples
    --------
    >>> from journeymine._display import fit
    >>> fit('<svg viewBox="0 0 940 300" width="940" height="300"><g/></svg>')
    '<svg viewBox="0 0 940 300" width="100%" style="max-width: 940px; height: auto"><g/></svg>'
    """
    match = _SVG_TAG.search(svg)
    if match is None:
        return svg
    tag = match.group(0)
    if "viewBox=" not in tag or "style=" in tag:
        return svg
    sizes = {m.group(1): m for m in _SIZE.finditer(tag)}
    if "width" not in sizes:
        return svg
    width = sizes["width"]
    new = tag
    for m in sizes.values():
        new = new.replace(m.group(0), "", 1)
    new = new[:-1].rstrip() + (
        f' width="100%" style="max-width: {width.group(2)}{width.group(3) or "px"}; height: auto">'
    )
    return svg[: match.start()] + new + svg[match.end():]


def note(text: str) -> str:
    """An escaped italic line under a title."""
    return f"<p><em>{escape(text)}</em></p>"


def error(exc: BaseException) -> str:
    """Why a drawing is missing (Graphviz not installed …), escaped."""
    return f"<pre>{escape(exc)}</pre>"


class Displayed:
    """The notebook display shared by every result.

    A result implements ``__repr__`` (the text view), :meth:`_display_html` and, when it
    draws itself, :meth:`_display_svg`; this class turns them into ``_repr_mimebundle_``
    (what Jupyter asks for: text, and HTML holding the drawing; the SVG alone when HTML
    is excluded) and ``_repr_html_`` (for tools that only know that one).
    """

    __slots__ = ()

    def _display_svg(self) -> str | None:
        """The result's own drawing, or None (not a drawing, or no renderer installed)."""
        return None

    def _display_html(self, svg: str | None) -> str:  # pragma: no cover - every result has one
        """The HTML view; ``svg`` is :meth:`_display_svg`, drawn once for both views."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        svg = self._display_svg()
        return self._display_html(None if svg is None else fit(svg))

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        def wanted(mime: str) -> bool:
            return (include is None or mime in include) and (exclude is None or mime not in exclude)

        bundle = {"text/plain": repr(self)}
        if not (wanted("text/html") or wanted("image/svg+xml")):
            return bundle
        svg = self._display_svg()
        if wanted("text/html"):
            # in HTML the drawing scales down to the notebook column, never scrolls
            bundle["text/html"] = self._display_html(None if svg is None else fit(svg))
        # the SVG only where the HTML (which holds it) is not wanted: a saved notebook
        # would otherwise store every drawing twice
        if svg is not None and wanted("image/svg+xml") and "text/html" not in bundle:
            bundle["image/svg+xml"] = svg
        return bundle


class GraphvizDisplayed(Displayed):
    """The display of a result drawn with Graphviz (a journey map, a process model): the
    drawing above its one-row ``summary``, or a note in its place when Graphviz is not
    installed (the text view always shows).

    Subclasses give ``_display_kind`` (the CSS class suffix), :meth:`_drawing_svg` and
    :meth:`_title`, and have a ``summary`` property.
    """

    __slots__ = ()
    _display_kind: ClassVar[str] = "drawing"

    def _drawing_svg(self) -> str:  # pragma: no cover - every subclass has one
        """The drawing as SVG text; raises MissingDependencyError without Graphviz."""
        raise NotImplementedError

    def _title(self) -> str:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    @property
    def summary(self) -> pd.DataFrame:  # pragma: no cover - every subclass has one
        """The result's figures, one row."""
        raise NotImplementedError

    def _display_svg(self) -> str | None:
        try:
            return self._drawing_svg()
        except MissingDependencyError:
            return None  # the HTML view says so; the text view still shows

    def _repr_svg_(self) -> str | None:
        return self._display_svg()

    def _display_html(self, svg: str | None) -> str:
        drawing = svg if svg is not None else note("No drawing: Graphviz is not installed.")
        return section(self._display_kind, self._title(), drawing, table(self.summary))
