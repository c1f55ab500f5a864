"""Human-readable numbers and durations for labels, tables and reports."""

from __future__ import annotations

import math

__all__ = ["count", "duration", "percent", "q_text"]


def duration(seconds: float | None) -> str:
    """Format seconds as a short duration: ``45 s``, ``12 min``, ``5.2 h``, ``3.4 d``.

    Examples
    --------
    >>> from journeymine._format import duration
    >>> duration(30), duration(600), duration(7200), duration(3 * 86400), duration(None)
    ('30 s', '10 min', '2.0 h', '3.0 d', '–')
    """
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = float(seconds)
    if abs(s) < 60:
        return f"{s:.0f} s"
    if abs(s) < 3600:
        return f"{s / 60:.0f} min"
    if abs(s) < 2 * 86400:
        return f"{s / 3600:.1f} h"
    if abs(s) < 1000 * 86400:
        return f"{s / 86400:.1f} d"
    return f"{s / 86400 / 365.25:.1f} y"


def count(n: float) -> str:
    """Format a count compactly: ``950``, ``12.3k``, ``4.5M``.

    Examples
    --------
    >>> from journeymine._format import count
    >>> count(950), count(12_345), count(4_500_000)
    ('950', '12.3k', '4.5M')
    """
    if abs(n) < 10_000:
        return f"{n:,.0f}"
    if abs(n) < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def percent(share: float) -> str:
    """A share as a whole percentage, NaN as "–".

    Examples
    --------
    >>> from journeymine._format import percent
    >>> percent(0.625), percent(float("nan"))
    ('62%', '–')
    """
    return "–" if share != share else f"{share:.0%}"


def q_text(q: float) -> str:
    """A Benjamini–Hochberg q-value as the sentences write it, NaN as "–".

    Examples
    --------
    >>> from journeymine._format import q_text
    >>> q_text(0.0004), q_text(0.0312)
    ('q < 0.001', 'q = 0.031')
    """
    if q != q:
        return "–"
    return "q < 0.001" if q < 0.001 else f"q = {q:.3f}"
