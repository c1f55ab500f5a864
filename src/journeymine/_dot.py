"""Graphviz DOT text and rendering, with every user string quoted safely.

journeymine writes DOT itself instead of going through ``graphviz.Digraph``: an activity
named ``<b>x</b>`` passed as a label there would be read as an HTML-like label, and one
named ``a"];x->y[`` must never become DOT syntax. Here every name and label is a
double-quoted DOT string (``quote``), in which Graphviz recognises no HTML; backslashes
are doubled so that ``\\N`` or ``\\l`` in a name stay text. Graphviz escapes ``<``, ``>``
and ``&`` itself when it writes SVG, so text from user data is shown as text.

Rendering runs Graphviz's ``dot`` (or ``neato`` with fixed positions) through the
``graphviz`` package, imported only when a picture is asked for; a missing executable
gives :class:`~journeymine.errors.MissingDependencyError` with the install command. A PDF's
creation date is ``SOURCE_DATE_EPOCH`` when that is set (see ``_sourcedate``).
"""

from __future__ import annotations

from typing import Any

from .errors import MissingDependencyError

__all__ = ["attrs", "quote", "render"]


def quote(text: Any) -> str:
    """Return ``text`` as a double-quoted DOT string that Graphviz shows verbatim.

    Examples
    --------
    >>> from journeymine._dot import quote
    >>> print(quote('a"];x->y['))
    "a\\"];x->y["
    >>> print(quote("<b>bold?</b>"))
    "<b>bold?</b>"
    """
    s = str(text).replace("\\", "\\\\").replace('"', '\\"')
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{s}"'


def attrs(**values: Any) -> str:
    """Format DOT attributes, quoting every value: ``[label="x", penwidth="2"]``.

    ``None`` values are left out. A value wrapped in :class:`Raw` is written as given
    (for Graphviz escapes such as ``\\n`` that journeymine writes itself).
    """
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        text = value.text if isinstance(value, Raw) else quote(value)
        parts.append(f"{key}={text}")
    return "[" + ", ".join(parts) + "]" if parts else ""


class Raw:
    """A DOT value journeymine built itself and already quoted (never user text)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def render(source: str, *, fmt: str = "svg", engine: str = "dot", fixed: bool = False) -> bytes:
    """Run Graphviz on DOT ``source`` and return the output (SVG, PNG, ``json`` …).

    ``fixed=True`` runs ``neato -n2``: nodes stay at the ``pos`` given in the source and
    only the edges are routed, which keeps maps of several cohorts comparable.
    """
    try:
        import graphviz
    except ImportError as exc:  # pragma: no cover - graphviz is a core dependency
        raise MissingDependencyError(
            "Drawing maps needs the 'graphviz' Python package: pip install graphviz"
        ) from exc
    try:
        out: bytes = graphviz.pipe(
            "neato" if fixed else engine,
            fmt,
            source.encode("utf-8"),
            neato_no_op=2 if fixed else None,
            quiet=True,
        )
    except graphviz.ExecutableNotFound as exc:
        raise MissingDependencyError(
            "Graphviz's layout programs (dot, neato) were not found. Install Graphviz: "
            "apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS) or "
            "conda install graphviz; `make setup` does this for a checkout."
        ) from exc
    if fmt == "pdf":  # cairo stamps the clock time; SOURCE_DATE_EPOCH pins it
        from ._sourcedate import pin_pdf_date, source_date

        out = pin_pdf_date(out, source_date("the PDF writer"))
    return out
